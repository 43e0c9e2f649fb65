/*
 * common.c: die(), usage errors and option handling for cmd/ programs.
 */
#include "tamis.h"
#include "common.h"
#include "conf.h"
#include "doc.h"
#include "ini.h"
#include "pool.h"
#include "progress.h"
#include "stats.h"
#include "stream.h"

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

const char *tm_cmd_stats_file(const char *arg)
{
	const char *env = getenv("TAMIS_STATS");

	if (arg)
		return arg;
	return env && *env ? env : "stats.sqlite";
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

/* ---------------------------------------------------------------- batches */

static struct tm_line_batch *batch_new(const struct tm_batcher *b, const char *path,
				       long first_line)
{
	struct tm_line_batch *lb = tm_xcalloc(1, sizeof(*lb));

	tm_buf_init(&lb->in, 0);
	tm_buf_init(&lb->out, 0);
	tm_buf_init(&lb->aux, 0);
	lb->recs = tm_xcalloc(TM_BATCH_LINES, b->rec_size ? b->rec_size : 1);
	lb->rec_size = b->rec_size;
	lb->rec_release = b->rec_release;
	lb->first_line = first_line;
	lb->file = path;
	return lb;
}

void tm_line_batch_free(struct tm_line_batch *lb)
{
	size_t i;

	if (!lb)
		return;
	for (i = 0; lb->rec_release && i < lb->n; i++)
		lb->rec_release((char *)lb->recs + i * lb->rec_size);
	tm_buf_release(&lb->in);
	tm_buf_release(&lb->out);
	tm_buf_release(&lb->aux);
	free(lb->recs);
	free(lb);
}

void tm_line_batch_discard(void *arg, void *lb)
{
	(void)arg;
	tm_line_batch_free(lb);
}

const char *tm_line_batch_next(struct tm_line_batch *lb, size_t *len, void **rec)
{
	const char *s, *nl;
	size_t i;

	if (lb->pos >= lb->in.len)
		return NULL;
	s = lb->in.buf + lb->pos;
	nl = memchr(s, '\n', lb->in.len - lb->pos);
	*len = (size_t)(nl - s);
	i = lb->nextrec++;
	*rec = (char *)lb->recs + i * lb->rec_size;
	lb->pos += *len + 1;
	return s;
}

int tm_batcher_file(struct tm_batcher *b, const char *path)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_reader *in;
	struct tm_buf line = TM_BUF_INIT;
	struct tm_line_batch *lb = NULL;
	long lineno = 0;
	int rc, status = 0;

	if (tm_reader_open(path, &in, &err) < 0) {
		warn_err(&err);
		return -1;
	}
	for (;;) {
		rc = tm_reader_getline(in, &line, b->max_line, true, &err);
		if (rc == TM_ETOOBIG) {
			lineno++;
			if (b->too_long(b->arg, &err)) {
				status = 1;
				break;
			}
			continue;
		}
		if (rc < 0) {
			warn_err(&err);
			status = -1;
			break;
		}
		if (rc == 0)
			break;
		lineno++;
		if (!b->keep_blank && !line.len)
			continue;	/* blank lines between documents */
		if (!lb)
			lb = batch_new(b, path, lineno);
		tm_buf_add(&lb->in, line.buf, line.len);
		tm_buf_addch(&lb->in, '\n');
		lb->n++;
		if (lb->n == TM_BATCH_LINES || lb->in.len >= TM_BATCH_BYTES) {
			b->raw_done = tm_reader_raw_consumed(in);
			rc = tm_pool_submit(b->pool, lb);
			lb = NULL;
			if (rc) {
				status = 1;
				break;
			}
		}
	}
	if (lb) {
		b->raw_done = tm_reader_raw_consumed(in);
		if (tm_pool_submit(b->pool, lb) != 0 && !status)
			status = 1;
	}
	tm_buf_release(&line);
	tm_reader_free(in);
	return status;
}

int tm_batcher_run(struct tm_batcher *b, int threads, void (*work)(void *, void *),
		   int (*done)(void *, void *), void *(*init)(void *, int),
		   void (*fini)(void *), void *arg, struct tm_stats *stats,
		   char **files, int nfiles)
{
	int i, rc = 0, status = 0;

	b->pool = tm_pool_new(threads, 0, work, done, arg);
	tm_pool_set_worker(b->pool, init, fini);
	tm_pool_set_discard(b->pool, tm_line_batch_discard);
	for (i = 0; i < nfiles && rc <= 0; i++) {
		tm_stats_add_input(stats, files[i]);
		rc = tm_batcher_file(b, files[i]);
		if (rc < 0)
			status = TM_EXIT_FAIL;
	}
	tm_pool_finish(b->pool);
	tm_pool_free(b->pool);
	b->pool = NULL;
	return status;
}

void tm_cmd_epoch_progress(void *arg, int epoch, double frac, double loss)
{
	(void)arg;
	fprintf(stderr, "\r%s: epoch %d, %5.1f%%, loss %.4f ", tm_prog, epoch, 100 * frac, loss);
	if (frac >= 0.99999)
		fputc('\n', stderr);
}

int tm_cmd_run_docs(const struct tm_cmd_common *cc, const char *name, struct tm_batcher *b,
		    struct tm_progress **progress, void (*work)(void *, void *),
		    int (*done)(void *, void *), void *(*init)(void *, int), void (*fini)(void *),
		    void *arg, struct tm_stats *stats, char **files, int nfiles)
{
	int status;

	*progress = tm_cmd_progress(cc, name, files, nfiles);
	b->max_line = TM_DOC_MAX_LINE_DEFAULT;
	status = tm_batcher_run(b, (int)cc->threads, work, done, init, fini, arg, stats, files,
				nfiles);
	tm_progress_done(*progress);
	tm_progress_free(*progress);
	*progress = NULL;
	return status;
}

int tm_cmd_settle(int status, int rc, const struct tm_err *err, struct tm_writer *const *w,
		  size_t nw)
{
	struct tm_err cerr = TM_ERR_INIT;
	size_t i;

	if (rc) {
		if (rc == TM_EXIT_FAIL)
			warn_err(err);
		status = rc;
	}
	for (i = 0; i < nw; i++) {
		if (!w[i])
			continue;
		if (status) {
			tm_writer_abort(w[i]);
		} else if (tm_writer_commit(w[i], &cerr) < 0) {
			warn_err(&cerr);
			status = TM_EXIT_FAIL;
		}
	}
	return status;
}
