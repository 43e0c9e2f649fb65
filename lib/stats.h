/*
 * stats.h: the statistics sink, one SQLite file per `--stats FILE`.
 *
 * Every tool records what it did into a stats database: one `runs` row
 * per process (tool, stage, times, host, pid, version, command line,
 * config, inputs, exit status) and, per run, stage totals, removal
 * reasons, named counters, histograms, optional per-document decisions
 * and the trainer's steps and evaluations.  docs/FORMATS.md, "Statistics
 * database", is the normative schema; TM_STATS_SCHEMA_VERSION is its
 * version (PRAGMA user_version).  A newer file is refused, never altered.
 *
 * Model: additions accumulate in memory inside struct tm_stats and are
 * written as one transaction (BEGIN IMMEDIATE, retried while the file is
 * busy) every `interval` seconds, every `max_rows` buffered rows, on
 * tm_stats_flush() and at tm_stats_close().  Counters, removals, totals
 * and histogram buckets are sums, so each flush adds its deltas with an
 * UPSERT; a failed flush keeps the deltas for the next one.  The file is
 * in WAL mode, so the stages of one shell pipe (separate processes, one
 * run each) can write the same file at the same time.
 *
 * Invariants: every function accepts a NULL `struct tm_stats *` and then
 * does nothing and returns 0 ("stats disabled"), so callers need no ifs.
 * All functions on one handle are thread-safe (one mutex); hot paths
 * should still accumulate locally and add in batches.  A handle must not
 * be used across fork(): the child opens its own.
 *
 * Ownership: the caller owns every string it passes (copied when kept)
 * and the handle tm_stats_open() returns, released by tm_stats_close().
 *
 * Must not depend on: any tamis module but buf and err; no printing, no
 * exit, no globals.  SQLite stays behind this header (cmd/ never sees it).
 */
#ifndef TM_STATS_H
#define TM_STATS_H

#include <stddef.h>
#include <stdint.h>

#define TM_STATS_SCHEMA_VERSION 1
/* PRAGMA application_id of a tamis stats file: "TMST". */
#define TM_STATS_APP_ID 0x544d5354

/* Defaults of the flush policy (see tm_stats_set_flush()). */
#define TM_STATS_FLUSH_INTERVAL 2.0
#define TM_STATS_FLUSH_ROWS 4096

struct tm_buf;
struct tm_err;
struct tm_stats;

enum tm_stats_hist_kind {
	TM_HIST_LINEAR = 0, /* nbuckets equal widths from lo to hi */
	TM_HIST_LOG2 = 1,   /* nbuckets equal widths in log2(v), 0 < lo < hi */
};

/* Deltas of a run's stage totals (tm_stats_totals_add()). */
struct tm_stats_totals {
	uint64_t docs_in;
	uint64_t docs_out;
	uint64_t bytes_in;
	uint64_t bytes_out;
	uint64_t tokens_out;
};

/* One optimizer step of the trainer (tm_stats_train_step()). */
struct tm_stats_step {
	int64_t step;
	const char *phase;  /* "warmup", "main", "anneal", ...; may be NULL */
	double loss;
	double lr;
	double grad_norm;   /* NaN when unknown (stored as NULL) */
	uint64_t tokens;    /* tokens in this step */
	double seconds;     /* wall time of this step */
};

/*
 * Opens (creating it and its schema if absent) the stats file `path` and
 * records a new run of `tool` started now: UTC start time, hostname, pid,
 * TM_VERSION, the command line (argv shell-quoted), a random run UUID.
 * The stage name defaults to `tool`.  `path` NULL means stats disabled:
 * *out is set to NULL and 0 returned.  Waits (retrying) while other
 * processes hold the write lock.
 *
 * Returns 0 and *out, or TM_EINVAL (no tool), TM_EIO (randomness), or
 * TM_EDB with err naming `path`: SQLite failures (the SQLite message is
 * quoted), a file that is not a tamis stats database, or a schema newer
 * than TM_STATS_SCHEMA_VERSION ("stats schema version N is newer than
 * this tamis supports (1): upgrade tamis or use another --stats file").
 * On error *out is NULL and nothing is left open.
 */
int tm_stats_open(const char *path, const char *tool, int argc, char **argv,
		  struct tm_stats **out, struct tm_err *err);

/*
 * Flushes everything, sets the run's finish time, exit status, wall and
 * cpu seconds and peak memory, closes the file and frees `st` (always,
 * even on error).  Returns 0, or TM_EDB (err filled) when this last
 * flush failed: what was not yet written is then lost.  Earlier failed
 * periodic flushes do not matter once this one succeeds (nothing was
 * dropped: their deltas were kept and are written here).
 */
int tm_stats_close(struct tm_stats *st, int exit_status, struct tm_err *err);

/*
 * Writes the accumulated deltas now, as one transaction.  Returns 0 or
 * TM_EDB (err filled); on error the deltas are kept for the next flush.
 */
int tm_stats_flush(struct tm_stats *st, struct tm_err *err);

/*
 * Sets the flush policy: a flush is attempted by the first addition after
 * `interval_s` seconds since the last one (0: after every addition) or
 * when `max_rows` document/step/eval rows are buffered (0: default).
 */
void tm_stats_set_flush(struct tm_stats *st, double interval_s,
			size_t max_rows);

/*
 * Run metadata, written at the next flush: the effective configuration
 * text (replaces any earlier one), the stage name shown by the funnel
 * (default: the tool name), and one more input name (file or URL; kept in
 * call order).  Return 0, or TM_EINVAL when a string is NULL.
 */
int tm_stats_set_config(struct tm_stats *st, const char *text);
int tm_stats_set_stage(struct tm_stats *st, const char *stage);
int tm_stats_add_input(struct tm_stats *st, const char *name);

/*
 * The additions.  Each records its values (copying strings) and may run a
 * periodic flush.  Return 0; TM_EINVAL for a bad argument (nothing is
 * recorded); or the error of a periodic flush that failed (the values ARE
 * recorded and kept for the next flush, so do not add them again).
 *
 * tm_stats_count: adds `delta` to the named counter ("records.response").
 * tm_stats_remove: adds to a removal reason ("lang.not_en").
 * tm_stats_totals_add: adds to the run's docs/bytes/tokens totals.
 * tm_stats_mem_peak: raises the run's peak memory to `bytes` if larger
 *   (the process's peak RSS is recorded anyway).
 */
int tm_stats_count(struct tm_stats *st, const char *name, int64_t delta);
int tm_stats_remove(struct tm_stats *st, const char *reason, uint64_t docs,
		    uint64_t bytes);
int tm_stats_totals_add(struct tm_stats *st,
			const struct tm_stats_totals *d);
int tm_stats_mem_peak(struct tm_stats *st, uint64_t bytes);

/*
 * Declares histogram `name` with `nbuckets` (1..4096) buckets between
 * `lo` and `hi` (lo < hi; for TM_HIST_LOG2 also 0 < lo), plus an
 * underflow (v < lo) and an overflow (v >= hi) bucket.  Buckets are
 * half-open [lower, upper).  Declaring the same name again with the same
 * parameters is a no-op.  Returns 0, or TM_EINVAL for bad parameters or
 * a redeclaration with other parameters.
 */
int tm_stats_hist_def(struct tm_stats *st, const char *name,
		      enum tm_stats_hist_kind kind, double lo, double hi,
		      int nbuckets);

/*
 * Adds one value (or `n` values) to histogram `name`, updating its
 * bucket, count, sum, min and max; NaN is counted apart (column `nan`).
 * Returns as the additions above; TM_EINVAL if `name` was not declared.
 */
int tm_stats_hist_add(struct tm_stats *st, const char *name, double v);
int tm_stats_hist_addn(struct tm_stats *st, const char *name,
		       const double *v, size_t n);

/*
 * Per-document decisions (`--stats-docs`): off by default; while off,
 * tm_stats_doc() is a no-op, so tools call it unconditionally.
 * `doc_id` is required; `reason` and `url` may be NULL; `score` NaN is
 * stored as NULL.
 */
void tm_stats_set_docs(struct tm_stats *st, int enable);
int tm_stats_doc(struct tm_stats *st, const char *doc_id, int keep,
		 const char *reason, double score, const char *url);

/*
 * The trainer's curves.  A step or (step, split) recorded again replaces
 * the earlier row (a rollback re-runs steps).  `split` names the held-out
 * set or source ("val", "val/web").
 */
int tm_stats_train_step(struct tm_stats *st, const struct tm_stats_step *s);
int tm_stats_train_eval(struct tm_stats *st, int64_t step, const char *split,
			double loss);

/* The run's UUID (36 characters) and id in its file; "" and 0 for NULL. */
const char *tm_stats_run_uuid(const struct tm_stats *st);
int64_t tm_stats_run_id(const struct tm_stats *st);

/*
 * Merges the stats files `srcs[0..n)` into `dest` (created if absent):
 * every run, with its rows, gets a new run id in `dest`.  Idempotent: a
 * run whose UUID is already in `dest` is skipped, unless the copy in
 * `dest` is unfinished (finished IS NULL), which is then replaced by the
 * source's copy.  Each source is one transaction; `runs.merged_from`
 * records the file a run was first merged from.  Do not merge into a file
 * that tools are still writing.
 *
 * Returns 0, or TM_EIO (a source does not exist), TM_EINVAL (a source is
 * `dest` itself), TM_EDB (SQLite failure, not a tamis stats file, newer
 * schema), with err naming the file at fault.  Sources merged before the
 * failing one stay merged.
 */
int tm_stats_merge(const char *dest, const char *const *srcs, size_t n,
		   struct tm_err *err);

/*
 * Appends the funnel of stats file `path` (read-only) to `out` as an
 * aligned text table, one line per stage, header first:
 *
 *   stage    runs  docs_in  docs_out  removed  removed%  bytes_in ...
 *
 * Columns: runs, docs_in, docs_out, removed, removed% (of docs_in, two
 * decimals, "-" when docs_in is 0), bytes_in, bytes_out, tokens_out.
 * Stages are ordered by docs_in descending, then name.  Returns 0, or
 * TM_EDB as tm_stats_open() (a missing file is TM_EDB too).
 */
int tm_stats_funnel(const char *path, struct tm_buf *out, struct tm_err *err);

/*
 * Opens stats file `path` read-only for the lib/ modules that read the
 * schema (tm_stats_funnel(), report.c), with the checks of
 * tm_stats_open(): a missing file, another kind of database or a schema
 * of another version is TM_EDB with err naming `path`.  The caller
 * closes *db with sqlite3_close().  cmd/ never calls it: SQLite stays
 * behind lib/.
 */
struct sqlite3;
int tm_stats_open_read(const char *path, struct sqlite3 **db,
		       struct tm_err *err);

#endif
