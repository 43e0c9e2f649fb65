/*
 * route.c: tamis-route, which sets each document's "source" by the rules
 * of pipeline.conf ([route]; filters/route.h, docs/ROUTE.md), so that
 * `tamis shard` writes one shard directory per source.
 */
#include "tamis.h"
#include "common.h"
#include "doc.h"
#include "ini.h"
#include "pool.h"
#include "progress.h"
#include "route.h"
#include "stats.h"
#include "stream.h"

#include <math.h>

static const char synopsis[] = "tamis route [options] [FILE...] [-o FILE]";

static const char about[] =
	"Sets the top-level \"source\" of each JSON Lines document to the first\n"
	"source whose rule matches ([route] order and [route \"NAME\"] when in\n"
	"pipeline.conf; default: code, math, multilingual, else web), so that\n"
	"tamis shard writes one shard directory per source.  Every document is\n"
	"written, in input order whatever -j: unchanged ones byte for byte, the\n"
	"others with only the \"source\" value changed.  --annotate also writes\n"
	"code_score and math_score to metadata.  docs/ROUTE.md has the rule\n"
	"language and the features.\n";

static bool opt_annotate, opt_print_rules, opt_stats_docs;
static const char *opt_out;
static struct tm_cmd_common cc = TM_CMD_COMMON_INIT;

static const struct tm_option opts[] = {
	{ TM_OPT_STRING, 'o', "output", &opt_out, "FILE",
	  "write to FILE (.gz/.zst compress) instead of stdout" },
	{ TM_OPT_FLAG, 0, "annotate", &opt_annotate, NULL,
	  "also write code_score and math_score to metadata" },
	{ TM_OPT_FLAG, 0, "print-rules", &opt_print_rules, NULL,
	  "print the sources and their rules, in order, and exit" },
	{ TM_OPT_INT, 'j', "jobs", &cc.threads, "N", "worker threads (default: all cores)" },
	TM_OPT_DOC_STAGE(&cc, &opt_stats_docs),
};

struct rec {
	size_t in_len, off, len;        /* the output line in the batch's buffer */
	bool malformed, scored;
	size_t source;
	double code, math;
	char *msg, *id;
};

static struct {
	struct tm_router *router;
	unsigned flags;
	struct tm_writer *w;
	struct tm_stats *stats;
	struct tm_progress *progress;
	struct tm_batcher batcher;
	uint64_t docs_in, docs_out, bytes_in, bytes_out;
	uint64_t *docs, *bytes;         /* per source */
	char **count_key, **bytes_key;  /* route.source.NAME, route.bytes.NAME */
	long malformed;
	int rc;
	struct tm_err err;
} R;

static void *worker_init(void *arg, int index)
{
	(void)arg;
	(void)index;
	return tm_route_work_new();
}

static void worker_fini(void *w)
{
	tm_route_work_free(w);
}

static void work(void *ctx, void *p)
{
	struct tm_line_batch *b = p;
	struct rec *r;
	const char *s;
	size_t len;

	while ((s = tm_line_batch_next(b, &len, (void **)&r))) {
		struct tm_err err = TM_ERR_INIT;
		struct tm_route_result res;

		r->in_len = len;
		r->off = b->out.len;
		if (tm_route_line(R.router, ctx, s, len, R.flags, &b->out, &res, &err) < 0) {
			r->malformed = true;
			r->msg = tm_xstrdup(err.msg);
			continue;
		}
		r->len = b->out.len - r->off;
		r->source = res.source;
		r->scored = res.scored;
		r->code = res.code_score;
		r->math = res.math_score;
		if (opt_stats_docs && res.id)
			r->id = tm_xstrdup(res.id);
	}
}

static void rec_release(void *p)
{
	struct rec *r = p;

	free(r->msg);
	free(r->id);
}

static bool too_many(void)
{
	if (!tm_cmd_too_many_errors(&cc, ++R.malformed))
		return false;
	R.rc = TM_EXIT_BADINPUT;
	return true;
}

static int done(void *arg, void *p)
{
	struct tm_line_batch *b = p;
	struct rec *recs = b->recs;
	size_t i;
	int rc = 0;

	(void)arg;
	for (i = 0; i < b->n && !rc; i++) {
		struct rec *r = &recs[i];

		R.docs_in++;
		R.bytes_in += r->in_len + 1;
		if (r->malformed) {
			fprintf(stderr, "%s: %s: line %ld: %s\n", tm_prog, b->file,
				b->first_line + (long)i, r->msg);
			tm_stats_remove(R.stats, "route.malformed", 1, r->in_len + 1);
			rc = too_many();
			continue;
		}
		R.docs[r->source]++;
		R.bytes[r->source] += r->len;
		if (r->scored && R.stats) {
			tm_stats_hist_add(R.stats, "route.code_score", r->code);
			tm_stats_hist_add(R.stats, "route.math_score", r->math);
		}
		if (r->id)
			tm_stats_doc(R.stats, r->id, 1, R.count_key[r->source],
				     r->scored ? r->code : NAN, NULL);
		R.docs_out++;
		R.bytes_out += r->len;
		if (tm_writer_write(R.w, b->out.buf + r->off, r->len, &R.err) < 0) {
			R.rc = TM_EXIT_FAIL;
			rc = 1;
		}
	}
	tm_progress_set(R.progress, R.docs_in, R.batcher.raw_done);
	tm_line_batch_free(b);
	return rc;
}

static int too_long(void *arg, const struct tm_err *err)
{
	(void)arg;
	warn_err(err);
	tm_stats_remove(R.stats, "route.malformed", 1, 0);
	return too_many();
}

static void print_rules(void)
{
	size_t i, n = tm_router_nsources(R.router);

	for (i = 0; i < n; i++)
		printf("%s\t%s\n", tm_router_source(R.router, i),
		       i + 1 < n ? tm_router_rule_text(R.router, i) : "(default)");
	tm_cmd_finish_stdout();
}

/* Counters per source (every source, 0 too: the funnel shows them all). */
static void stats_close_sources(size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (R.stats) {
			tm_stats_count(R.stats, R.count_key[i], (int64_t)R.docs[i]);
			tm_stats_count(R.stats, R.bytes_key[i], (int64_t)R.bytes[i]);
		}
		free(R.count_key[i]);
		free(R.bytes_key[i]);
	}
}

int main(int argc, char **argv)
{
	struct tm_err err = TM_ERR_INIT;
	char *stdin_only[] = { (char *)"-", NULL };
	char **files;
	struct tm_ini *ini;
	int nfiles, status;
	size_t i, n;

	tm_cmd_init("tamis-route");
	tm_cmd_options(synopsis, about, opts, &argc, argv);
	ini = tm_cmd_load(&cc);
	if (tm_router_new(ini, &R.router, &err) < 0) {
		warn_err(&err);
		tm_ini_free(ini);
		return TM_EXIT_USAGE;
	}
	tm_ini_free(ini);
	if (opt_print_rules) {
		print_rules();
		tm_router_free(R.router);
		return 0;
	}
	files = argc > 1 ? argv + 1 : stdin_only;
	nfiles = argc > 1 ? argc - 1 : 1;
	n = tm_router_nsources(R.router);
	R.docs = tm_xcalloc(n, sizeof(*R.docs));
	R.bytes = tm_xcalloc(n, sizeof(*R.bytes));
	R.count_key = tm_xcalloc(n, sizeof(*R.count_key));
	R.bytes_key = tm_xcalloc(n, sizeof(*R.bytes_key));
	for (i = 0; i < n; i++) {
		struct tm_buf k = TM_BUF_INIT;

		tm_buf_addf(&k, "route.source.%s", tm_router_source(R.router, i));
		R.count_key[i] = tm_buf_detach(&k, NULL);
		tm_buf_addf(&k, "route.bytes.%s", tm_router_source(R.router, i));
		R.bytes_key[i] = tm_buf_detach(&k, NULL);
	}

	if (cc.stats && tm_stats_open(cc.stats, "route", argc, argv, &R.stats, &err) < 0)
		die_err(&err);
	tm_stats_set_docs(R.stats, opt_stats_docs);
	if (R.stats) {
		R.flags |= TM_ROUTE_SCORES;
		tm_stats_hist_def(R.stats, "route.code_score", TM_HIST_LINEAR, 0, 1.0001, 20);
		tm_stats_hist_def(R.stats, "route.math_score", TM_HIST_LINEAR, 0, 1.0001, 20);
	}
	if (opt_annotate)
		R.flags |= TM_ROUTE_ANNOTATE;
	if (tm_writer_open(opt_out, TM_CODEC_AUTO, 0, &R.w, &err) < 0)
		die_err(&err);
	R.batcher.rec_size = sizeof(struct rec);
	R.batcher.rec_release = rec_release;
	R.batcher.too_long = too_long;
	status = tm_cmd_run_docs(&cc, "route", &R.batcher, &R.progress, work, done, worker_init,
				 worker_fini, &R, R.stats, files, nfiles);
	status = tm_cmd_settle(status, R.rc, &R.err, &R.w, 1);
	stats_close_sources(n);
	status = tm_cmd_stats_close(R.stats, R.docs_in, R.docs_out, R.bytes_in, R.bytes_out,
				    status);
	free(R.docs);
	free(R.bytes);
	free(R.count_key);
	free(R.bytes_key);
	tm_router_free(R.router);
	return status;
}
