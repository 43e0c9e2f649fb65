/*
 * report.h: the HTML report of a statistics database (`tamis report`).
 *
 * One self-contained HTML file, read by a browser with no network: the
 * runs (failed ones marked), the funnel of documents, bytes and tokens
 * per stage, removal reasons by stage, languages, tokens per source, the
 * training curves when the trainer wrote any, and every histogram, each
 * as an inline SVG chart (class "chart", a stable id) followed by a table
 * of its numbers.  No script, no external font, style sheet or image; a
 * Content-Security-Policy forbids fetching anything.  A section without
 * data says so ("no data", "no training runs") instead of disappearing.
 * docs/FORMATS.md, "The HTML report", lists the sections and chart ids.
 *
 * The output depends on the database only (no clock, no host): the same
 * file gives the same bytes.  Every text from the database is escaped
 * with tm_html_escape().
 *
 * Ownership: the caller owns what it passes; functions append to `out`.
 * Must not depend on: any tamis module but buf, err, stats (its read-only
 * open and version checks) and bpe (its UTF-8 sanitizer); no printing, no
 * exit, no globals.
 */
#ifndef TM_REPORT_H
#define TM_REPORT_H

#include <stddef.h>
#include <stdint.h>

struct tm_buf;
struct tm_err;

/*
 * Appends the report of stats file `db_path` (opened read-only, with
 * tm_stats_funnel()'s version checks) to `out`.  Returns 0, or TM_EDB
 * with err naming the file (missing, not a tamis stats database, another
 * schema version, an SQLite error); `out` is then unchanged.
 */
int tm_report_write(const char *db_path, struct tm_buf *out,
		    struct tm_err *err);

/*
 * Appends s[0..len) as HTML text, safe both between tags and inside a
 * quoted attribute: & < > " ' become entities, ill-formed UTF-8 and
 * control characters other than tab, LF and CR become U+FFFD.
 */
void tm_html_escape(struct tm_buf *out, const char *s, size_t len);

/* Appends `v` in decimal with a comma between thousands: "-1,234,567". */
void tm_fmt_thousands(struct tm_buf *out, int64_t v);

#endif
