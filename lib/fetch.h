/*
 * fetch.h: downloading many files over HTTP(S) reliably (libcurl multi).
 *
 * A fetch takes a list of paths (appended to a base URL) or URLs and
 * brings each to DIR/PATH, through DIR/PATH.part which is renamed only
 * when the file is complete: its length agrees with the server's
 * Content-Length / Content-Range, and, for .gz names, every gzip member
 * decompresses.  Transfers run in parallel on one thread (libcurl's multi
 * interface: keep-alive connection reuse, HTTP/2 when offered).  A failed
 * attempt (connection error, timeout, a stall below the low-speed limit,
 * 5xx, 429, a short body, bad gzip) is retried with exponential backoff and
 * jitter, honouring Retry-After, resuming with a Range request when the
 * server supports it; 4xx other than 429 fail at once.  A file that exists
 * under its final name is complete (only complete files get there) and is
 * skipped, so a rerun transfers nothing.
 *
 * Memory: one curl handle and a few KiB per parallel transfer; the data
 * goes straight to disk (or stdout).  Ownership: the caller owns the
 * options and the path list; the fetcher copies what it keeps.
 * Depends on libcurl, stream.h (gzip verification), stats.h, progress.h.
 */
#ifndef TM_FETCH_H
#define TM_FETCH_H

#include "tamis.h"

struct tm_stats;
struct tm_progress;

struct tm_fetch_opts {
	const char *base;		/* prefix for paths that are not URLs */
	const char *dir;		/* destination root ("." by default) */
	bool to_stdout;			/* stream the single path to stdout */
	int parallel;			/* transfers at once (default 4) */
	int retries;			/* retries per file after the first try (8) */
	double retry_delay;		/* first backoff, seconds (1) */
	double retry_max;		/* backoff cap, seconds (60) */
	long connect_timeout;		/* seconds (10) */
	long low_speed_time;		/* seconds below low_speed_limit (30) */
	long low_speed_limit;		/* bytes/s (1000) */
	uint64_t limit_rate;		/* total bytes/s, 0 = none */
	bool verbose;			/* report each retry on `log` */
	FILE *log;			/* where retries/failures are reported */
	const char *prog;		/* program name for those reports */
	struct tm_stats *stats;		/* may be NULL */
	struct tm_progress *progress;	/* may be NULL */
	unsigned long seed;		/* jitter seed (deterministic tests) */
	bool no_fsync;			/* rename without waiting for the disk */
};
#define TM_FETCH_OPTS_INIT { "https://data.commoncrawl.org/", ".", false, 4, 8, \
			     1.0, 60.0, 10, 30, 1000, 0, false, NULL, "tamis-fetch", \
			     NULL, NULL, 0, false }

struct tm_fetch_result {
	uint64_t ok, failed, skipped, retries, bytes;
};

/*
 * Fetches the `n` paths.  Returns 0 when every file arrived (or was
 * already complete), TM_ENET when some failed (each reported on opts->log
 * and counted in res), or TM_EIO / TM_EINVAL for local failures (err).
 */
int tm_fetch_run(const struct tm_fetch_opts *opts, const char *const *paths,
		 size_t n, struct tm_fetch_result *res, struct tm_err *err);

/*
 * Checks that the file at `path` is complete gzip: every member
 * decompresses and the input ends at a member boundary.  Returns 0,
 * TM_ECODEC/TM_ETRUNC (err says where), or TM_EIO.
 */
int tm_fetch_verify_gzip(const char *path, struct tm_err *err);

#endif
