/*
 * progress.h: a progress line for long work (documents, bytes, rate, ETA).
 *
 * The caller calls tm_progress_update() per document; it is cheap (a
 * coarse clock read and a comparison) and draws at most every 0.25 s on a
 * terminal, as one line rewritten with '\r', and at most every 10 s
 * otherwise, as newline-terminated lines that keep logs readable.
 * tm_progress_done() prints the totals and the elapsed time and ends the
 * line.  A disabled progress object counts but never prints.
 *
 * Line (total known):  "extract: 1200 items, 1.5 MB, 600 items/s,
 *                       0.8 MB/s, 40.0%, ETA 3.0s"
 * Final line:          "extract: done: 1200 items, 1.5 MB in 2.0s,
 *                       600 items/s, 0.8 MB/s"
 *
 * Invariants: rates are averages since creation; sizes use base-1000
 * units with one decimal; the sink and terminal mode are the caller's
 * choice (lib/ never picks stderr nor asks whether it is a terminal
 * unless the caller calls tm_progress_auto()).  Output errors are
 * ignored: progress is advice, the real output is checked elsewhere.
 *
 * A NULL progress object is accepted by update, set, done and free (no
 * progress wanted), as a NULL stats handle is by stats.h.
 *
 * Threads: one progress object is updated from one thread (with the
 * pool, the submitting thread, in done); it keeps no other state.
 *
 * Ownership: the caller owns the object (tm_progress_free) and the sink;
 * the object keeps its own copy of the label.
 *
 * Depends on buf.h only; knows nothing of documents or the pool.
 */
#ifndef TM_PROGRESS_H
#define TM_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct tm_buf;
struct tm_progress;

#define TM_PROGRESS_ENABLED 0x1u  /* print at all */
#define TM_PROGRESS_TTY 0x2u      /* the sink is a terminal: '\r' redraws */
#define TM_PROGRESS_BYTES 0x4u    /* `total` counts bytes, not items */

/* Seconds on any monotonic scale; the injectable time source. */
typedef double (*tm_progress_clock_fn)(void *arg);

/*
 * The ENABLED and TTY flags that DESIGN.md asks for: enabled when `out` is
 * a terminal or `force` (--progress) is set, TTY when it is a terminal.
 */
unsigned tm_progress_auto(FILE *out, bool force);

/*
 * Creates a progress object named `label` (copied) writing to `out`.
 * `total` is the expected number of items, or of bytes with
 * TM_PROGRESS_BYTES; 0 means unknown (no percent, no ETA).  The clock
 * starts now.  Never fails (allocation failure aborts).
 */
struct tm_progress *tm_progress_new(const char *label, uint64_t total,
				    unsigned flags, FILE *out);

/*
 * Replaces the clock (default: CLOCK_MONOTONIC_COARSE) with now(arg), for
 * tests, and restarts the elapsed time from its current value.
 */
void tm_progress_set_clock(struct tm_progress *p, tm_progress_clock_fn now,
			   void *arg);

/* Adds `items` and `bytes` to the counts; redraws if it is time to. */
void tm_progress_update(struct tm_progress *p, uint64_t items,
			uint64_t bytes);

/* As tm_progress_update() but sets the counts (e.g. an input offset). */
void tm_progress_set(struct tm_progress *p, uint64_t items, uint64_t bytes);

/*
 * Prints the final line (totals, elapsed time, average rates) and a
 * newline, if enabled.  Later calls print nothing.
 */
void tm_progress_done(struct tm_progress *p);

/* Frees the object (without printing); NULL is fine. */
void tm_progress_free(struct tm_progress *p);

/*
 * Appends `n` bytes in base-1000 units: "999 B", "1.0 KB", "999.9 KB",
 * "1.0 MB", ... up to "18.4 EB", rounded half up to one decimal (a value
 * that would round to 1000.0 moves to the next unit).
 */
void tm_format_bytes(uint64_t n, struct tm_buf *out);

/*
 * Appends a duration: "0.0s".."59.9s", "1m00s".."59m59s",
 * "1h00m".."23h59m", then "1d00h"...; rounded to the shown precision.
 * Negative values print as 0, NaN and infinity as "--".
 */
void tm_format_duration(double seconds, struct tm_buf *out);

#endif
