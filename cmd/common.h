/*
 * common.h: what every cmd/ program shares: die(), usage errors, option
 * parsing with --help, and error reports in the one message style:
 *   tamis-warc: FILE: offset N: what was expected, got what
 * Only cmd/ may exit or print; lib/ returns errors.
 */
#ifndef TM_CMD_COMMON_H
#define TM_CMD_COMMON_H

#include "tamis.h"
#include "opt.h"

/* Exit statuses (DESIGN.md). */
enum {
	TM_EXIT_OK = 0,
	TM_EXIT_FAIL = 1,	/* runtime failure */
	TM_EXIT_USAGE = 2,	/* usage error */
	TM_EXIT_BADINPUT = 3,	/* more bad input than --max-errors */
};

/* The program name used in messages ("tamis-warc"); set by tm_cmd_init. */
extern const char *tm_prog;

void tm_cmd_init(const char *prog);
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void die_err(const struct tm_err *e) __attribute__((noreturn));
void warn_err(const struct tm_err *e);
void warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void usage_error(const char *synopsis, const struct tm_option *opts,
		 const char *fmt, ...)
	__attribute__((format(printf, 3, 4), noreturn));

/*
 * Parses options; prints usage and exits 0 on --help, reports and exits 2
 * on a usage error.  `about` is one paragraph shown under the synopsis.
 */
void tm_cmd_options(const char *synopsis, const char *about,
		    const struct tm_option *opts, int *argc, char **argv);

struct tm_ini;

/*
 * The configuration of a tool: `path` (--config; NULL: $TAMIS_CONFIG, else
 * none) with the -c overrides, checked against pipeline.conf's schema.
 * Dies with exit 2 naming file and line on any configuration error.
 */
struct tm_ini *tm_cmd_config(const char *path, const struct tm_strlist *overrides);

/* Options every tool shares: --config FILE and -c section.key=value. */
#define TM_OPT_CONFIG(path, overrides) \
	{ TM_OPT_STRING, 0, "config", (path), "FILE", \
	  "read settings from this pipeline.conf (default $TAMIS_CONFIG)" }, \
	{ TM_OPT_STRLIST, 'c', NULL, (overrides), "SECTION.KEY=VALUE", \
	  "override one configuration key (repeatable)" }

/* The options of every JSON Lines document stage, after its own. */
#define TM_OPT_DOC_STAGE(cc, stats_docs) \
	{ TM_OPT_INT, 0, "max-errors", &(cc)->max_errors, "N", \
	  "stop with exit 3 after more than N malformed lines (default: no limit)" }, \
	{ TM_OPT_STRING, 0, "stats", &(cc)->stats, "FILE", "record the run in this stats database" }, \
	{ TM_OPT_FLAG, 0, "stats-docs", (stats_docs), NULL, \
	  "also record every document's decision (id, kept or reason) in --stats" }, \
	{ TM_OPT_FLAG, 0, "progress", &(cc)->progress, NULL, \
	  "show progress on stderr even when it is not a terminal" }, \
	TM_OPT_CONFIG(&(cc)->config, &(cc)->overrides), \
	TM_OPT_END_MARK

/*
 * Settings every tool shares.  The command line sets them first (options
 * point at these fields); tm_cmd_load() fills the ones it left unset from
 * pipeline.conf ([global], [warc]) and the environment, then defaults.
 */
struct tm_cmd_common {
	const char *config;		/* --config FILE (else $TAMIS_CONFIG) */
	struct tm_strlist overrides;	/* -c SECTION.KEY=VALUE */
	const char *stats;		/* --stats, $TAMIS_STATS, [global] stats; NULL: none */
	long max_errors;		/* -1: no limit */
	long threads;			/* resolved: never 0 */
	bool progress;
	uint64_t max_record;		/* [warc] max_record */
	uint64_t max_header;		/* [warc] max_header */
};
#define TM_CMD_COMMON_INIT { NULL, { NULL, 0 }, NULL, LONG_MIN, -1, false, \
			     UINT64_MAX, UINT64_MAX }

/*
 * Loads the configuration (dying with exit 2 on any error) and resolves
 * the unset fields of cc.  Returns the configuration for the tool's own
 * keys; the caller frees it with tm_ini_free().  [global] stats applies
 * only when a configuration file is in use, so that running a tool in a
 * directory never writes a stats file nobody asked for.
 */
struct tm_ini *tm_cmd_load(struct tm_cmd_common *cc);

/*
 * True (after saying so on stderr) when `damaged` exceeds --max-errors:
 * the tool then stops with TM_EXIT_BADINPUT.
 */
bool tm_cmd_too_many_errors(const struct tm_cmd_common *cc, long damaged);

struct tm_progress;

/*
 * A byte progress meter named `name` over the input files (their sizes
 * summed; "-" and unreadable ones count 0), shown when stderr is a
 * terminal or cc->progress is set.  Free with tm_progress_free().
 */
struct tm_progress *tm_cmd_progress(const struct tm_cmd_common *cc, const char *name,
				    char *const *files, int nfiles);

struct tm_stats;

/*
 * Ends a stage's stats run: adds the stage totals (documents and bytes in
 * and out), closes the file with `status`.  Returns `status`, or
 * TM_EXIT_FAIL (after saying why) when the last write failed.  st NULL:
 * returns status.
 */
int tm_cmd_stats_close(struct tm_stats *st, uint64_t docs_in, uint64_t docs_out,
		       uint64_t bytes_in, uint64_t bytes_out, int status);

struct tm_pool;

/*
 * Input lines in batches for a tm_pool: the JSONL tools' -j.  A batch
 * holds up to TM_BATCH_LINES lines (or TM_BATCH_BYTES bytes), the tool's
 * per-line records (rec_size bytes each, zeroed) and an output buffer
 * its work function fills; its done function frees it with
 * tm_line_batch_free() after freeing what its records own.
 */
#define TM_BATCH_LINES 256
#define TM_BATCH_BYTES (1u << 20)

struct tm_line_batch {
	struct tm_buf in;	/* the lines, each ending in '\n' */
	size_t n;
	long first_line;	/* 1-based line number of the first */
	const char *file;
	struct tm_buf out;
	struct tm_buf aux;	/* a second output (filter --rejected) */
	void *recs;
	size_t rec_size;
	void (*rec_release)(void *rec);
	size_t pos, nextrec;	/* tm_line_batch_next()'s place */
};

struct tm_batcher {
	struct tm_pool *pool;
	size_t rec_size;
	void (*rec_release)(void *rec);	/* frees what a record owns; may be NULL */
	bool keep_blank;	/* blank lines are input too (else skipped) */
	size_t max_line;	/* longer lines go to too_long(), skipped */
	/* a line over max_line was skipped; non-zero stops reading */
	int (*too_long)(void *arg, const struct tm_err *err);
	void *arg;
	uint64_t raw_done;	/* raw bytes of the file read at the last submit */
};

/*
 * Reads `path` ("-": stdin) into batches submitted to b->pool.  Returns 0,
 * 1 when the pool stopped (done returned non-zero), or -1 after reporting
 * a read failure.
 */
int tm_batcher_file(struct tm_batcher *b, const char *path);
/*
 * Runs a batch tool over `files`: a pool of `threads` workers (init/fini
 * make and free each one's context), each file read by tm_batcher_file()
 * in turn (and named in `stats`), until the end or until done() or
 * too_long() stops.  b->pool is set.  Returns 0, or TM_EXIT_FAIL when an
 * input could not be read.
 */
struct tm_stats;
int tm_batcher_run(struct tm_batcher *b, int threads, void (*work)(void *, void *),
		   int (*done)(void *, void *), void *(*init)(void *, int),
		   void (*fini)(void *), void *arg, struct tm_stats *stats,
		   char **files, int nfiles);

/*
 * Runs a JSON Lines document stage over `files`: tm_batcher_run() with
 * lines up to TM_DOC_MAX_LINE_DEFAULT (b->rec_size, rec_release and
 * too_long are the caller's), while *progress is a meter named `name`
 * (done() may advance it; freed at the end, then NULL).  Returns what
 * tm_batcher_run() returns.
 */
struct tm_progress;
int tm_cmd_run_docs(const struct tm_cmd_common *cc, const char *name, struct tm_batcher *b,
		    struct tm_progress **progress, void (*work)(void *, void *),
		    int (*done)(void *, void *), void *(*init)(void *, int), void (*fini)(void *),
		    void *arg, struct tm_stats *stats, char **files, int nfiles);

struct tm_writer;
/*
 * The exit status of a stage that ran: its own stop `rc` (set by done()
 * or too_long(); TM_EXIT_FAIL is reported from `err`) before the run's
 * `status`; then the `nw` outputs are committed when that is 0 (a failed
 * commit reported, TM_EXIT_FAIL), else aborted.  NULL outputs are skipped.
 */
int tm_cmd_settle(int status, int rc, const struct tm_err *err, struct tm_writer *const *w,
		  size_t nw);

/* Releases every record (rec_release), then the batch; accepts NULL. */
void tm_line_batch_free(struct tm_line_batch *lb);
/* The same as a tm_pool discard function. */
void tm_line_batch_discard(void *arg, void *lb);
/* The next line of the batch (without its '\n') and its record, or NULL. */
const char *tm_line_batch_next(struct tm_line_batch *lb, size_t *len, void **rec);

/* A trainer's progress callback: "\rPROG: epoch E, P%, loss L" on stderr. */
void tm_cmd_epoch_progress(void *arg, int epoch, double frac, double loss);

/*
 * The stats database a reading tool (stats, report) opens: `arg` (its
 * FILE operand) if given, else $TAMIS_STATS, else "stats.sqlite".
 */
const char *tm_cmd_stats_file(const char *arg);

/* Flushes and checks stdout; dies (exit 1) if any write failed. */
void tm_cmd_finish_stdout(void);

#endif
