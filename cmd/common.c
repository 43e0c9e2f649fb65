/*
 * common.c: die(), usage errors and option handling for cmd/ programs.
 */
#include "tamis.h"
#include "common.h"
#include "conf.h"
#include "ini.h"
#include "pool.h"
#include "progress.h"
#include "stats.h"

#include <sys/stat.h>

#include <unistd.h>

const char *tm_prog = "tamis";

void tm_cmd_init(const char *prog)
{
	tm_prog = prog;
}

static void vreport(const char *prefix, const char *fmt, va_list ap)
{
	struct tm_buf b = TM_BUF_INIT;

	tm_buf_addf(&b, "%s: %s", tm_prog, prefix);
	tm_buf_vaddf(&b, fmt, ap);
	tm_buf_addch(&b, '\n');
	fflush(stdout);
	fwrite(b.buf, 1, b.len, stderr);
	tm_buf_release(&b);
}

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport("", fmt, ap);
	va_end(ap);
	exit(TM_EXIT_FAIL);
}

void warning(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport("warning: ", fmt, ap);
	va_end(ap);
}

void warn_err(const struct tm_err *e)
{
	struct tm_buf b = TM_BUF_INIT;

	tm_err_format(e, &b);
	fflush(stdout);
	fprintf(stderr, "%s: %s\n", tm_prog, b.buf);
	tm_buf_release(&b);
}

void die_err(const struct tm_err *e)
{
	warn_err(e);
	exit(e->code == TM_EINVAL ? TM_EXIT_USAGE : TM_EXIT_FAIL);
}

void usage_error(const char *synopsis, const struct tm_option *opts,
		 const char *fmt, ...)
{
	va_list ap;

	(void)opts;
	va_start(ap, fmt);
	vreport("", fmt, ap);
	va_end(ap);
	fprintf(stderr, "usage: %s\nTry '%s --help' for more information.\n",
		synopsis, tm_prog);
	exit(TM_EXIT_USAGE);
}

void tm_cmd_options(const char *synopsis, const char *about,
		    const struct tm_option *opts, int *argc, char **argv)
{
	struct tm_err e = TM_ERR_INIT;
	struct tm_buf b = TM_BUF_INIT;
	int rc = tm_opt_parse(opts, argc, argv, &e);

	if (rc == 1) {
		tm_opt_usage(synopsis, opts, &b);
		if (about)
			printf("usage: %s\n\n%s\n%s", synopsis, about,
			       b.buf + strlen("usage: ") + strlen(synopsis) + 1);
		else
			fputs(b.buf, stdout);
		tm_buf_release(&b);
		tm_cmd_finish_stdout();
		exit(TM_EXIT_OK);
	}
	if (rc < 0)
		usage_error(synopsis, opts, "%s", e.msg);
}

void tm_cmd_finish_stdout(void)
{
	if (fflush(stdout) || ferror(stdout) || fclose(stdout))
		die("error writing standard output: %s", strerror(errno));
}

struct tm_ini *tm_cmd_config(const char *path, const struct tm_strlist *overrides)
{
	struct tm_err e = TM_ERR_INIT;
	struct tm_ini *ini;

	if (!path) {
		path = getenv("TAMIS_CONFIG");
		if (path && !*path)
			path = NULL;
	}
	if (tm_conf_load(path, overrides->v, overrides->n, &ini, &e) < 0) {
		warn_err(&e);
		exit(e.code == TM_EIO ? TM_EXIT_FAIL : TM_EXIT_USAGE);
	}
	return ini;
}

struct tm_ini *tm_cmd_load(struct tm_cmd_common *cc)
{
	struct tm_ini *ini;
	struct tm_err err = TM_ERR_INIT;
	const char *path = cc->config, *st;
	int64_t me, th;
	uint64_t mr, mh;
	bool prog = false;

	if (!path && (path = getenv("TAMIS_CONFIG")) && !*path)
		path = NULL;
	ini = tm_cmd_config(path, &cc->overrides);
	free(cc->overrides.v);
	cc->overrides.v = NULL;
	if (tm_ini_get_size(ini, "warc", NULL, "max_record", 64u << 20, &mr, &err) < 0 ||
	    tm_ini_get_size(ini, "warc", NULL, "max_header", 1u << 20, &mh, &err) < 0 ||
	    tm_ini_get_int(ini, "global", NULL, "max_errors", -1, &me, &err) < 0 ||
	    tm_ini_get_int(ini, "global", NULL, "threads", 0, &th, &err) < 0 ||
	    tm_ini_get_bool(ini, "global", NULL, "progress", false, &prog, &err) < 0) {
		warn_err(&err);
		exit(TM_EXIT_USAGE);
	}
	if (cc->max_record == UINT64_MAX)
		cc->max_record = mr;
	if (cc->max_header == UINT64_MAX)
		cc->max_header = mh;
	if (cc->max_errors == LONG_MIN)
		cc->max_errors = (long)me;
	if (cc->threads <= 0)
		cc->threads = th > 0 ? (long)th : tm_ncpus();
	cc->progress = cc->progress || prog;
	if (!cc->stats)
		cc->stats = getenv("TAMIS_STATS");
	st = tm_ini_get(ini, "global", NULL, "stats");
	if (!cc->stats && st && *st && path)
		cc->stats = tm_xstrdup(st);	/* outlives ini: kept for the run */
	if (cc->stats && !*cc->stats)
		cc->stats = NULL;
	return ini;
}

bool tm_cmd_too_many_errors(const struct tm_cmd_common *cc, long damaged)
{
	if (cc->max_errors < 0 || damaged <= cc->max_errors)
		return false;
	fprintf(stderr, "%s: more than %ld damaged records, stopping\n", tm_prog,
		cc->max_errors);
	return true;
}

struct tm_progress *tm_cmd_progress(const struct tm_cmd_common *cc, const char *name,
				    char *const *files, int nfiles)
{
	uint64_t total = 0;
	struct stat st;
	int i;

	for (i = 0; i < nfiles; i++)
		if (strcmp(files[i], "-") && !stat(files[i], &st))
			total += (uint64_t)st.st_size;
	return tm_progress_new(name, total, tm_progress_auto(stderr, cc->progress) |
			       TM_PROGRESS_BYTES, stderr);
}

int tm_cmd_stats_close(struct tm_stats *st, uint64_t docs_in, uint64_t docs_out,
		       uint64_t bytes_in, uint64_t bytes_out, int status)
{
	struct tm_stats_totals t = { 0 };
	struct tm_err err = TM_ERR_INIT;

	if (!st)
		return status;
	t.docs_in = docs_in;
	t.docs_out = docs_out;
	t.bytes_in = bytes_in;
	t.bytes_out = bytes_out;
	tm_stats_totals_add(st, &t);
	if (tm_stats_close(st, status, &err) < 0) {
		warn_err(&err);
		return TM_EXIT_FAIL;
	}
	return status;
}
