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

/* Flushes and checks stdout; dies (exit 1) if any write failed. */
void tm_cmd_finish_stdout(void);

#endif
