/*
 * filter.c: tamis-filter, the quality, safety and PII filter chain over
 * JSON Lines documents (filters/filter.h), and its helper commands.
 */
#include "tamis.h"
#include "common.h"
#include "doc.h"
#include "classifier.h"
#include "filter.h"
#include "ini.h"
#include "jsonl.h"
#include "kl.h"
#include "pool.h"
#include "progress.h"
#include "stats.h"
#include "stream.h"

#include <limits.h>
#include <math.h>
#include <unistd.h>

static const char synopsis[] = "tamis filter [options] [FILE...]";
static const char train_synopsis[] = "tamis filter train-classifier [options] FILE... -o MODEL";
static const char unigram_synopsis[] = "tamis filter build-unigram [options] [FILE...] -o TSV";

static const char about[] =
	"Runs the filter chain ([filter] chain in pipeline.conf, or --chain) over\n"
	"JSON Lines documents: heuristic quality, repetition, safety, PII and\n"
	"classifier filters (tamis filter --list; docs/FILTERS.md).  A document\n"
	"one filter removes is counted in --stats as filter.NAME.REASON and not\n"
	"shown to the next; rewriting filters (C4's line removal, PII redaction)\n"
	"hand on the new text.  --annotate writes every filter's scores to\n"
	"metadata and removes nothing.  Output is in input order whatever -j.\n";

/* The chain when neither --chain nor [filter] chain names one. */
static const char default_chain[] =
	"url_blocklist,badwords,fineweb,kl,gopher_quality,gopher_repetition,c4,pii";

static bool opt_annotate, opt_list, opt_print_chain, opt_stats_docs;
static const char *opt_out, *opt_chain, *opt_rejected, *opt_sources;
/* --sources, split: the sources the chain judges (NULL: all) */
static char **judged;
static size_t njudged;
static struct tm_cmd_common cc = TM_CMD_COMMON_INIT;

static const struct tm_option opts[] = {
	{ TM_OPT_STRING, 'o', "output", &opt_out, "FILE",
	  "write to FILE (.gz/.zst compress) instead of stdout" },
	{ TM_OPT_STRING, 0, "chain", &opt_chain, "LIST",
	  "the filters to run, in order, comma-separated (default: [filter] chain)" },
	{ TM_OPT_STRING, 0, "sources", &opt_sources, "LIST",
	  "judge only documents of these sources, pass the others (default: [filter] sources)" },
	{ TM_OPT_FLAG, 0, "annotate", &opt_annotate, NULL,
	  "write every filter's scores to metadata, remove nothing" },
	{ TM_OPT_STRING, 0, "rejected", &opt_rejected, "FILE",
	  "also write removed documents here, with metadata.filter_reason" },
	{ TM_OPT_FLAG, 0, "list", &opt_list, NULL,
	  "list the filters, their reasons and settings, and exit" },
	{ TM_OPT_FLAG, 0, "print-chain", &opt_print_chain, NULL,
	  "print the chain that would run (after --chain and the config), and exit" },
	{ TM_OPT_INT, 'j', "jobs", &cc.threads, "N", "worker threads (default: all cores)" },
	TM_OPT_DOC_STAGE(&cc, &opt_stats_docs),
};

/* ---------------------------------------------------------------- data */

/*
 * Where the filters' data files are: PREFIX/share/tamis/filters next to an
 * installed program, else filters/data of the source tree it was built in.
 */
static char *data_dir(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;
	int up;

	if (n <= 0)
		return NULL;
	exe[n] = 0;
	if (!(slash = strrchr(exe, '/')))
		return NULL;
	*slash = 0;
	for (up = 1; up <= 4; up++) {
		static const char *const where[] = { "/share/tamis/filters", "/filters/data" };
		size_t k;

		for (k = up == 1 ? 0 : 1; k < TM_ARRAY_SIZE(where); k++) {
			struct tm_buf p = TM_BUF_INIT;
			int i;

			tm_buf_addstr(&p, exe);
			for (i = 0; i < up; i++)
				tm_buf_addstr(&p, "/..");
			tm_buf_addstr(&p, where[k]);
			if (access(p.buf, R_OK | X_OK) == 0)
				return tm_buf_detach(&p, NULL);
			tm_buf_release(&p);
		}
	}
	return NULL;
}

/* ---------------------------------------------------------------- the run */

enum verdict { V_KEEP, V_REMOVE, V_MALFORMED };

struct rec {
	enum verdict v;
	int step;		/* removing step */
	const char *reason;	/* static */
	size_t in_len;
	size_t off, len;	/* of the output line in batch->out */
	size_t roff, rlen;	/* of the rejected line in the batch's second buffer */
	bool rewritten;
	bool passed;		/* a source the chain does not judge */
	char *id;		/* for --stats-docs */
	char *msg;		/* malformed: what was wrong */
	/* per step: ran, removed, rewritten, changes and scores */
	struct step_out *steps;
};

struct step_out {
	bool ran, rewritten;
	uint64_t changes;
	int nscores;
	struct tm_fscore scores[TM_FILTER_MAX_SCORES];
};

struct worker {
	struct tm_fwork *fw;
	struct tm_fresult *res;
	struct tm_doc doc;
	struct tm_buf scan, lang, url, tmp;
};

struct run {
	struct tm_fchain *chain;
	size_t nsteps;
	struct tm_writer *w, *rej;
	struct tm_stats *stats;
	struct tm_progress *progress;
	struct tm_batcher batcher;
	uint64_t docs_in, docs_out, bytes_in, bytes_out, malformed_docs;
	uint64_t *removed, *ran, *rewritten;	/* per step */
	bool **hist_defined;			/* per step, per score slot */
	long malformed;
	int rc;
	struct tm_err err;
};

static struct run R;

static void *worker_init(void *arg, int index)
{
	struct worker *w = tm_xcalloc(1, sizeof(*w));

	(void)index;
	(void)arg;
	w->fw = tm_fwork_new(R.chain);
	w->res = tm_xcalloc(R.nsteps ? R.nsteps : 1, sizeof(*w->res));
	tm_doc_init(&w->doc);
	tm_buf_init(&w->scan, 0);
	tm_buf_init(&w->lang, 0);
	tm_buf_init(&w->url, 0);
	tm_buf_init(&w->tmp, 0);
	return w;
}

static void worker_fini(void *p)
{
	struct worker *w = p;

	tm_fwork_free(w->fw);
	free(w->res);
	tm_doc_release(&w->doc);
	tm_buf_release(&w->scan);
	tm_buf_release(&w->lang);
	tm_buf_release(&w->url);
	tm_buf_release(&w->tmp);
	free(w);
}

static const char *copy_str(struct tm_buf *b, const char *s, size_t len)
{
	if (!s)
		return NULL;
	tm_buf_reset(b);
	tm_buf_add(b, s, len);
	return b->buf;
}

/* The metadata key of a score: "<filter>_<score>". */
static void score_key(struct tm_buf *b, const char *filter, const char *score)
{
	tm_buf_reset(b);
	tm_buf_addf(b, "%s_%s", filter, score);
}

static double round6(double x)
{
	return isfinite(x) ? round(x * 1e6) / 1e6 : 0;
}

/* True when a step that ran puts its scores in metadata anyway. */
static bool scores_wanted(const struct rec *r)
{
	size_t i;

	for (i = 0; i < R.nsteps; i++)
		if (r->steps[i].ran && r->steps[i].nscores &&
		    tm_fchain_step(R.chain, i)->def->scores_to_metadata)
			return true;
	return false;
}

/*
 * Adds the scores (all, or only those of scores_to_metadata filters) and
 * the would-be reason to a parsed document's metadata.
 */
static void annotate(struct worker *w, struct rec *r, bool all)
{
	size_t i;
	int k;

	for (i = 0; i < R.nsteps; i++) {
		const char *name = tm_fchain_step(R.chain, i)->def->name;

		if (!r->steps[i].ran || (!all && !tm_fchain_step(R.chain, i)->def->scores_to_metadata))
			continue;
		for (k = 0; k < r->steps[i].nscores; k++) {
			score_key(&w->tmp, name, r->steps[i].scores[k].name);
			tm_doc_meta_set_double(&w->doc, w->tmp.buf,
					       round6(r->steps[i].scores[k].value), NULL);
		}
	}
	if (r->step >= 0 && all) {
		tm_buf_reset(&w->tmp);
		tm_buf_addf(&w->tmp, "%s.%s", tm_fchain_step(R.chain, (size_t)r->step)->def->name,
			    r->reason);
		tm_doc_meta_set_str(&w->doc, "filter_reason", w->tmp.buf, NULL);
	}
}

/* Whether the document's "source" is one of --sources (no source: ""). */
static bool source_judged(const char *line, size_t len, const struct tm_doc_view *v,
			  const struct tm_doc *doc)
{
	const char *src = "";
	size_t slen = 0, i;

	if (v && v->source_end > v->source_start + 1 &&
	    !memchr(line + v->source_start + 1, '\\', v->source_end - v->source_start - 2)) {
		src = line + v->source_start + 1;
		slen = v->source_end - v->source_start - 2;
	} else if (v && v->source_end) {
		struct tm_doc d;
		struct tm_err err = TM_ERR_INIT;
		bool yes = false;

		tm_doc_init(&d);
		/* an escaped source: read it properly */
		if (tm_doc_parse(&d, line, len, &err) == 0)
			yes = source_judged(line, len, NULL, &d);
		tm_doc_release(&d);
		return yes;
	} else if (doc && tm_doc_source(doc)) {
		src = tm_doc_source(doc);
		slen = strlen(src);
	}
	for (i = 0; i < njudged; i++)
		if (strlen(judged[i]) == slen && !memcmp(judged[i], src, slen))
			return true;
	return false;
}

static void doc_line(struct worker *w, const char *s, size_t len, struct rec *r,
		     struct tm_buf *out, struct tm_buf *rej)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_doc_view v;
	const char *text, *lang, *url, *id, *final;
	size_t tlen, flen, ran, i;
	bool parsed = false, scanned, rewritten, scores;
	int removed;

	scanned = tm_doc_scan(s, len, &w->scan, &v) && !v.meta_escaped;
	if (scanned) {
		text = v.text;
		tlen = v.text_len;
		lang = copy_str(&w->lang, v.lang, v.lang_len);
		url = copy_str(&w->url, v.url, v.url_len);
	} else {
		if (tm_doc_parse(&w->doc, s, len, &err) < 0) {
			r->v = V_MALFORMED;
			r->msg = tm_xstrdup(err.msg);
			return;
		}
		parsed = true;
		text = tm_doc_text(&w->doc, &tlen);
		lang = tm_doc_meta_str(&w->doc, "lang");
		url = tm_doc_meta_str(&w->doc, "url");
	}
	if (judged && !source_judged(s, len, scanned ? &v : NULL, parsed ? &w->doc : NULL)) {
		r->passed = true;
		r->v = V_KEEP;
		r->steps = tm_xcalloc(R.nsteps ? R.nsteps : 1, sizeof(*r->steps));
		r->off = out->len;
		tm_buf_add(out, s, len);
		tm_buf_addch(out, '\n');
		r->len = out->len - r->off;
		return;
	}
	removed = tm_fchain_run(R.chain, w->fw, text, tlen, lang, url, opt_annotate, w->res, &ran);
	r->steps = tm_xcalloc(R.nsteps ? R.nsteps : 1, sizeof(*r->steps));
	for (i = 0; i < ran; i++) {
		r->steps[i].ran = true;
		r->steps[i].rewritten = w->res[i].rewritten;
		r->steps[i].changes = w->res[i].changes;
		r->steps[i].nscores = w->res[i].nscores;
		memcpy(r->steps[i].scores, w->res[i].scores,
		       (size_t)w->res[i].nscores * sizeof(struct tm_fscore));
	}
	r->step = removed;
	r->reason = removed >= 0 ? w->res[removed].reason : NULL;
	r->v = removed >= 0 && !opt_annotate ? V_REMOVE : V_KEEP;
	final = tm_fwork_text(w->fw, &flen, &rewritten);
	r->rewritten = rewritten;
	scores = r->v == V_KEEP && scores_wanted(r);
	/* the tree only where metadata changes or the id is wanted */
	if (!parsed && (opt_stats_docs || opt_annotate || scores ||
			(r->v == V_REMOVE && opt_rejected))) {
		if (tm_doc_parse(&w->doc, s, len, &err) < 0)
			BUG("a scanned line failed to parse: %s", err.msg);
		parsed = true;
	}
	if (opt_stats_docs && (id = tm_doc_id(&w->doc)))
		r->id = tm_xstrdup(id);
	if (r->v == V_REMOVE) {
		if (opt_rejected) {
			annotate(w, r, true);
			r->roff = rej->len;
			tm_doc_write(&w->doc, rej);
			r->rlen = rej->len - r->roff;
		}
		return;
	}
	r->off = out->len;
	if (opt_annotate || scores) {
		annotate(w, r, opt_annotate);
		if (rewritten && tm_doc_set_text(&w->doc, final, flen, &err) < 0)
			BUG("a filter wrote text that is not UTF-8: %s", err.msg);
		tm_doc_write(&w->doc, out);
	} else if (!rewritten) {
		tm_buf_add(out, s, len);	/* unchanged: the line as it came */
		tm_buf_addch(out, '\n');
	} else if (scanned) {
		/* only the text changed: splice it, every other byte as it was */
		tm_buf_add(out, s, v.text_start);
		tm_json_escape(final, flen, out);
		tm_buf_add(out, s + v.text_end, len - v.text_end);
		tm_buf_addch(out, '\n');
	} else {
		if (tm_doc_set_text(&w->doc, final, flen, &err) < 0)
			BUG("a filter wrote text that is not UTF-8: %s", err.msg);
		tm_doc_write(&w->doc, out);
	}
	r->len = out->len - r->off;
}

static void work(void *ctx, void *p)
{
	struct worker *w = ctx;
	struct tm_line_batch *b = p;
	struct rec *r;
	const char *s;
	size_t len;

	while ((s = tm_line_batch_next(b, &len, (void **)&r))) {
		r->in_len = len;
		r->step = -1;
		doc_line(w, s, len, r, &b->out, &b->aux);
	}
}

static void rec_release(void *p)
{
	struct rec *r = p;

	free(r->id);
	free(r->msg);
	free(r->steps);
}

static bool fraction_name(const char *name)
{
	return strstr(name, "ratio") || strstr(name, "frac") || strstr(name, "score") ||
	       strstr(name, "prob");
}

static void step_stats(size_t i, const struct step_out *so)
{
	const char *name = tm_fchain_step(R.chain, i)->def->name;
	char key[160];
	int k;

	R.ran[i]++;
	if (so->rewritten)
		R.rewritten[i]++;
	if (!R.stats)
		return;
	if (so->changes) {
		snprintf(key, sizeof(key), "filter.%s.changes", name);
		tm_stats_count(R.stats, key, (int64_t)so->changes);
	}
	for (k = 0; k < so->nscores; k++) {
		snprintf(key, sizeof(key), "filter.%s.%s", name, so->scores[k].name);
		if (!R.hist_defined[i][k]) {
			if (fraction_name(so->scores[k].name))
				tm_stats_hist_def(R.stats, key, TM_HIST_LINEAR, 0, 1.0001, 20);
			else
				tm_stats_hist_def(R.stats, key, TM_HIST_LOG2, 1, 1 << 24, 24);
			R.hist_defined[i][k] = true;
		}
		tm_stats_hist_add(R.stats, key, so->scores[k].value);
	}
}

static int done(void *arg, void *p)
{
	struct run *r = arg;
	struct tm_line_batch *b = p;
	struct rec *recs = b->recs;
	struct tm_buf *rej = &b->aux;
	size_t i, j;
	int rc = 0;
	char reason[160];

	for (i = 0; i < b->n && !rc; i++) {
		struct rec *lo = &recs[i];

		r->docs_in++;
		r->bytes_in += lo->in_len + 1;
		if (lo->v == V_MALFORMED) {
			fprintf(stderr, "%s: %s: line %ld: %s\n", tm_prog, b->file,
				b->first_line + (long)i, lo->msg);
			r->malformed_docs++;
			tm_stats_remove(r->stats, "filter.malformed", 1, lo->in_len + 1);
			if (tm_cmd_too_many_errors(&cc, ++r->malformed)) {
				r->rc = TM_EXIT_BADINPUT;
				rc = 1;
			}
			continue;
		}
		if (lo->passed)
			tm_stats_count(r->stats, "filter.passed_source", 1);
		for (j = 0; j < r->nsteps; j++)
			if (lo->steps[j].ran)
				step_stats(j, &lo->steps[j]);
		if (lo->step >= 0)
			snprintf(reason, sizeof(reason), "filter.%s.%s",
				 tm_fchain_step(r->chain, (size_t)lo->step)->def->name, lo->reason);
		if (lo->id)
			tm_stats_doc(r->stats, lo->id, lo->v == V_KEEP,
				     lo->v == V_REMOVE ? reason : NULL, NAN, NULL);
		if (lo->v == V_REMOVE) {
			r->removed[lo->step]++;
			tm_stats_remove(r->stats, reason, 1, lo->in_len + 1);
			if (r->rej && tm_writer_write(r->rej, rej->buf + lo->roff, lo->rlen,
						      &r->err) < 0) {
				r->rc = TM_EXIT_FAIL;
				rc = 1;
			}
			continue;
		}
		if (opt_annotate && lo->step >= 0)
			tm_stats_count(r->stats, reason, 1);	/* would have removed */
		r->docs_out++;
		r->bytes_out += lo->len;
		if (tm_writer_write(r->w, b->out.buf + lo->off, lo->len, &r->err) < 0) {
			r->rc = TM_EXIT_FAIL;
			rc = 1;
		}
	}
	tm_progress_set(r->progress, r->docs_in, r->batcher.raw_done);
	tm_line_batch_free(b);
	return rc;
}

static int too_long(void *arg, const struct tm_err *err)
{
	(void)arg;
	warn_err(err);
	R.malformed_docs++;
	tm_stats_remove(R.stats, "filter.too_long", 1, 0);
	if (tm_cmd_too_many_errors(&cc, ++R.malformed)) {
		R.rc = TM_EXIT_BADINPUT;
		return 1;
	}
	return 0;
}

/* ---------------------------------------------------------------- --list */

static void list_filters(void)
{
	size_t i, j;

	for (i = 0; tm_filters[i]; i++) {
		const struct tm_filter_def *d = tm_filters[i];

		printf("%s\t%s\n", d->name, d->about);
		printf("  languages: %s\n", d->langs);
		printf("  removes as:");
		for (j = 0; d->reasons && d->reasons[j]; j++)
			printf(" filter.%s.%s", d->name, d->reasons[j]);
		printf("%s\n", d->reasons && d->reasons[0] ? "" : " (never removes)");
		for (j = 0; j < d->nparams; j++)
			printf("  %-24s %-10s %s (%s)\n", d->params[j].key,
			       *d->params[j].def ? d->params[j].def : "\"\"", d->params[j].help,
			       d->params[j].source);
	}
	tm_cmd_finish_stdout();
}

/* ---------------------------------------------------------------- main */

static void apply_config(struct tm_ini **ini_out)
{
	struct tm_ini *ini = tm_cmd_load(&cc);
	struct tm_err err = TM_ERR_INIT;
	const char *s;
	bool ann;

	if (tm_ini_get_bool(ini, "filter", NULL, "annotate", false, &ann, &err) < 0) {
		warn_err(&err);
		exit(TM_EXIT_USAGE);
	}
	opt_annotate = opt_annotate || ann;
	if (!opt_chain && (s = tm_ini_get(ini, "filter", NULL, "chain")) && *s)
		opt_chain = tm_xstrdup(s);
	if (!opt_chain)
		opt_chain = default_chain;
	if (!opt_sources && (s = tm_ini_get(ini, "filter", NULL, "sources")))
		opt_sources = s;
	if (opt_sources && *opt_sources) {
		char *list = tm_xstrdup(opt_sources), *tok, *save = NULL;

		for (tok = strtok_r(list, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
			judged = tm_xrealloc(judged, (njudged + 1) * sizeof(*judged));
			judged[njudged++] = tm_xstrdup(tok);
		}
		free(list);
	}
	*ini_out = ini;
}

static int filter_main(int argc, char **argv)
{
	struct tm_err err = TM_ERR_INIT;
	char *stdin_only[] = { (char *)"-", NULL };
	char **files;
	struct tm_ini *ini;
	char *dir;
	int nfiles, rc, status = TM_EXIT_OK;
	size_t j;

	tm_cmd_options(synopsis, about, opts, &argc, argv);
	if (opt_list) {
		list_filters();
		return 0;
	}
	apply_config(&ini);
	if (opt_print_chain) {
		printf("%s\n", opt_chain);
		tm_cmd_finish_stdout();
		return 0;
	}
	dir = data_dir();
	rc = tm_fchain_new(opt_chain, ini, dir, &R.chain, &err);
	free(dir);
	tm_ini_free(ini);
	if (rc < 0) {
		warn_err(&err);
		return TM_EXIT_USAGE;
	}
	R.nsteps = tm_fchain_len(R.chain);
	R.removed = tm_xcalloc(R.nsteps + 1, sizeof(*R.removed));
	R.ran = tm_xcalloc(R.nsteps + 1, sizeof(*R.ran));
	R.rewritten = tm_xcalloc(R.nsteps + 1, sizeof(*R.rewritten));
	R.hist_defined = tm_xcalloc(R.nsteps + 1, sizeof(*R.hist_defined));
	for (j = 0; j < R.nsteps; j++)
		R.hist_defined[j] = tm_xcalloc(TM_FILTER_MAX_SCORES, sizeof(bool));
	files = argc > 1 ? argv + 1 : stdin_only;
	nfiles = argc > 1 ? argc - 1 : 1;

	if (cc.stats && tm_stats_open(cc.stats, "filter", argc, argv, &R.stats, &err) < 0)
		die_err(&err);
	tm_stats_set_docs(R.stats, opt_stats_docs);
	if (tm_writer_open(opt_out, TM_CODEC_AUTO, 0, &R.w, &err) < 0)
		die_err(&err);
	if (opt_rejected && tm_writer_open(opt_rejected, TM_CODEC_AUTO, 0, &R.rej, &err) < 0)
		die_err(&err);
	R.batcher.rec_size = sizeof(struct rec);
	R.batcher.rec_release = rec_release;
	R.batcher.too_long = too_long;
	status = tm_cmd_run_docs(&cc, "filter", &R.batcher, &R.progress, work, done, worker_init,
				 worker_fini, &R, R.stats, files, nfiles);
	{
		struct tm_writer *outs[] = { R.w, R.rej };

		status = tm_cmd_settle(status, R.rc, &R.err, outs, 2);
	}
	for (j = 0; j < R.nsteps && R.stats; j++) {
		char key[160];
		const char *name = tm_fchain_step(R.chain, j)->def->name;

		snprintf(key, sizeof(key), "filter.%s.docs", name);
		tm_stats_count(R.stats, key, (int64_t)R.ran[j]);
		snprintf(key, sizeof(key), "filter.%s.rewritten_docs", name);
		tm_stats_count(R.stats, key, (int64_t)R.rewritten[j]);
	}
	status = tm_cmd_stats_close(R.stats, R.docs_in, R.docs_out, R.bytes_in,
				    R.bytes_out, status);
	for (j = 0; j < R.nsteps; j++)
		free(R.hist_defined[j]);
	free(R.hist_defined);
	free(R.removed);
	free(R.ran);
	free(R.rewritten);
	tm_fchain_free(R.chain);
	return status;
}

/* ---------------------------------------------------------------- train */

static const char train_about[] =
	"Trains the text classifier of the classifier filter (docs/FILTERS.md,\n"
	"model format in docs/FORMATS.md): hashed word n-grams (and optionally\n"
	"character n-grams), a mean embedding, softmax, SGD with a linearly\n"
	"decaying rate, as fastText supervised.  Input: fastText's lines\n"
	"(__label__X text) or JSON Lines documents labelled by --label-field;\n"
	"any compression.  One thread; the same input, options and seed give\n"
	"the same model byte for byte.\n";

static struct tm_clf_train_opts t_opts = TM_CLF_TRAIN_OPTS_INIT;
static long t_dim = -1, t_bits = -1, t_ngrams = -1, t_minn = -1, t_maxn = -1, t_epochs = -1;
static long t_max_errors = 0;
static double t_lr = NAN;
static uint64_t t_seed = UINT64_MAX;
static const char *t_out, *t_format, *t_label_field, *t_label_prefix;
static bool t_progress, t_no_shuffle;

static const struct tm_option train_opts[] = {
	{ TM_OPT_STRING, 'o', "output", &t_out, "MODEL",
	  "write the model here (.zst/.gz compress; required)" },
	{ TM_OPT_STRING, 0, "format", &t_format, "F",
	  "fasttext or jsonl (default: by the first line)" },
	{ TM_OPT_STRING, 0, "label-field", &t_label_field, "NAME",
	  "JSONL: the label is metadata.NAME, else the field NAME (default label)" },
	{ TM_OPT_STRING, 0, "label-prefix", &t_label_prefix, "P",
	  "fastText: label tokens start with P (default __label__)" },
	{ TM_OPT_INT, 0, "dim", &t_dim, "N", "embedding width, a multiple of 4 (default 16)" },
	{ TM_OPT_INT, 0, "bucket-bits", &t_bits, "B", "2^B hashed feature rows (default 21)" },
	{ TM_OPT_INT, 0, "word-ngrams", &t_ngrams, "N", "word n-grams up to N (default 2)" },
	{ TM_OPT_INT, 0, "minn", &t_minn, "N", "shortest character n-gram; 0: none (default 0)" },
	{ TM_OPT_INT, 0, "maxn", &t_maxn, "N", "longest character n-gram (default 0)" },
	{ TM_OPT_INT, 0, "epochs", &t_epochs, "N", "passes over the examples (default 10)" },
	{ TM_OPT_DOUBLE, 0, "lr", &t_lr, "X", "initial learning rate, decaying to 0 (default 0.5)" },
	{ TM_OPT_U64, 0, "seed", &t_seed, "N", "random seed (default 1)" },
	{ TM_OPT_FLAG, 0, "no-shuffle", &t_no_shuffle, NULL,
	  "keep the input order in every epoch" },
	{ TM_OPT_INT, 0, "max-errors", &t_max_errors, "N",
	  "skip up to N malformed JSONL lines, -1: any number (default 0)" },
	{ TM_OPT_FLAG, 0, "progress", &t_progress, NULL,
	  "show progress on stderr even when it is not a terminal" },
	TM_OPT_END_MARK,
};

static int train_main(int argc, char **argv)
{
	struct tm_clf_input_opts in = TM_CLF_INPUT_OPTS_INIT;
	struct tm_clf_data_stats st;
	struct tm_err err = TM_ERR_INIT;
	struct tm_clf_model *m;

	tm_cmd_options(train_synopsis, train_about, train_opts, &argc, argv);
	if (argc < 2)
		usage_error(train_synopsis, train_opts, "expected at least one FILE");
	if (!t_out)
		usage_error(train_synopsis, train_opts, "-o MODEL is required");
	if (t_format && !strcmp(t_format, "fasttext"))
		in.format = TM_CLF_FASTTEXT;
	else if (t_format && !strcmp(t_format, "jsonl"))
		in.format = TM_CLF_JSONL;
	else if (t_format)
		usage_error(train_synopsis, train_opts, "--format: fasttext or jsonl, got '%s'",
			    t_format);
	if (t_label_field)
		in.label_field = t_label_field;
	if (t_label_prefix)
		in.label_prefix = t_label_prefix;
	in.max_errors = t_max_errors;
	if (t_dim >= 0)
		t_opts.dim = (int)TM_MIN(t_dim, INT_MAX);
	if (t_bits >= 0)
		t_opts.bucket_bits = (int)TM_MIN(t_bits, INT_MAX);
	if (t_ngrams >= 0)
		t_opts.word_ngrams = (int)TM_MIN(t_ngrams, INT_MAX);
	if (t_minn >= 0)
		t_opts.minn = (int)TM_MIN(t_minn, INT_MAX);
	if (t_maxn >= 0)
		t_opts.maxn = (int)TM_MIN(t_maxn, INT_MAX);
	if (t_epochs >= 0)
		t_opts.epochs = (int)TM_MIN(t_epochs, INT_MAX);
	if (!isnan(t_lr))
		t_opts.lr = t_lr;
	if (t_seed != UINT64_MAX)
		t_opts.seed = t_seed;
	t_opts.shuffle = !t_no_shuffle;
	if (tm_clf_check_opts(&t_opts, &err) < 0)
		usage_error(train_synopsis, train_opts, "%s", err.msg);
	if (t_progress || isatty(2))
		t_opts.progress = tm_cmd_epoch_progress;
	if (tm_clf_train_files((const char *const *)argv + 1, (size_t)argc - 1, &in, &t_opts, &m,
			       &st, &err) < 0)
		die_err(&err);
	if (tm_clf_save(m, t_out, &err) < 0)
		die_err(&err);
	fprintf(stderr, "%s: %d labels, %" PRIu64 " examples (%" PRIu64 " unlabelled, %" PRIu64
		" malformed skipped) written to %s\n", tm_prog, tm_clf_nlabels(m), st.examples,
		st.unlabelled, st.malformed, t_out);
	tm_clf_free(m);
	return 0;
}

/* ---------------------------------------------------------------- unigrams */

static const char unigram_about[] =
	"Counts the folded words of JSON Lines documents (as the kl filter cuts\n"
	"them) and writes a reference unigram distribution for the kl filter:\n"
	"word<TAB>count lines, most frequent first (docs/FILTERS.md, kl).  Name\n"
	"the file unigram-LANG.tsv in the filter data directory, or give it to\n"
	"[filter \"kl\"].  Memory is bounded by --max-types.\n";

static const char *u_out, *u_lang;
static uint64_t u_top = 50000, u_min_count = 2, u_max_types = 0;
static bool u_progress;
static long u_max_errors = -1;

static const struct tm_option unigram_opts[] = {
	{ TM_OPT_STRING, 'o', "output", &u_out, "TSV",
	  "write the reference here (.gz/.zst compress; required)" },
	{ TM_OPT_STRING, 0, "lang", &u_lang, "CODE",
	  "count only documents whose metadata.lang is CODE" },
	{ TM_OPT_U64, 0, "top", &u_top, "N", "keep the N most frequent words; 0: all (default 50000)" },
	{ TM_OPT_U64, 0, "min-count", &u_min_count, "N",
	  "leave out words seen fewer than N times (default 2)" },
	{ TM_OPT_U64, 0, "max-types", &u_max_types, "N",
	  "distinct words held at most; beyond, the rarest are dropped (default 8M)" },
	{ TM_OPT_INT, 0, "max-errors", &u_max_errors, "N",
	  "stop with exit 3 after more than N malformed lines (default: no limit)" },
	{ TM_OPT_FLAG, 0, "progress", &u_progress, NULL,
	  "show progress on stderr even when it is not a terminal" },
	TM_OPT_END_MARK,
};

static int unigram_main(int argc, char **argv)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_unigram_builder *b;
	char *stdin_only[] = { (char *)"-", NULL };
	char **files;
	struct tm_buf comment = TM_BUF_INIT;
	uint64_t docs = 0, skipped = 0, malformed = 0;
	int nfiles, i, rc;

	tm_cmd_options(unigram_synopsis, unigram_about, unigram_opts, &argc, argv);
	if (!u_out)
		usage_error(unigram_synopsis, unigram_opts, "-o TSV is required");
	files = argc > 1 ? argv + 1 : stdin_only;
	nfiles = argc > 1 ? argc - 1 : 1;
	b = tm_unigram_builder_new((size_t)u_max_types);
	for (i = 0; i < nfiles; i++) {
		struct tm_reader *in;
		struct tm_jsonl_reader jr;
		struct tm_doc doc = TM_DOC_INIT;

		if (tm_reader_open(files[i], &in, &err) < 0)
			die_err(&err);
		tm_jsonl_init(&jr, in);
		tm_jsonl_set_text_first(&jr, !u_lang);
		while ((rc = tm_jsonl_next(&jr, &doc, &err)) != 0) {
			const char *text, *lang;
			size_t len;

			if (rc == TM_EIO || rc == TM_ECODEC)
				die_err(&err);
			if (rc < 0) {
				warn_err(&err);
				if (u_max_errors >= 0 && (long)++malformed > u_max_errors) {
					fprintf(stderr, "%s: more than %ld malformed lines: stopped\n",
						tm_prog, u_max_errors);
					return TM_EXIT_BADINPUT;
				}
				continue;
			}
			if (u_lang && (!(lang = tm_doc_meta_str(&doc, "lang")) || strcmp(lang, u_lang))) {
				skipped++;
				continue;
			}
			text = tm_jsonl_text(&jr, &doc, &len);
			tm_unigram_builder_add(b, text, len);
			if (++docs % 100000 == 0 && (u_progress || isatty(2)))
				fprintf(stderr, "\r%s: %" PRIu64 " documents, %zu distinct words ",
					tm_prog, docs, tm_unigram_builder_types(b));
		}
		tm_doc_release(&doc);
		tm_jsonl_release(&jr);
		tm_reader_free(in);
	}
	tm_buf_addf(&comment, "tamis filter build-unigram: %" PRIu64 " documents%s%s, %" PRIu64
		    " words, %zu distinct%s", docs, u_lang ? " in " : "", u_lang ? u_lang : "",
		    tm_unigram_builder_words(b), tm_unigram_builder_types(b),
		    tm_unigram_builder_dropped(b) ? " (rare words dropped: counts are lower bounds)" : "");
	if (tm_unigram_builder_write(b, u_out, (size_t)u_top, u_min_count, comment.buf, &err) < 0)
		die_err(&err);
	fprintf(stderr, "%s%s: %" PRIu64 " documents (%" PRIu64 " in other languages, %" PRIu64
		" malformed), %zu distinct words; written to %s\n",
		(u_progress || isatty(2)) && docs >= 100000 ? "\n" : "", tm_prog, docs, skipped,
		malformed, tm_unigram_builder_types(b), u_out);
	tm_buf_release(&comment);
	tm_unigram_builder_free(b);
	return 0;
}

int main(int argc, char **argv)
{
	tm_cmd_init("tamis-filter");
	if (argc >= 2 && !strcmp(argv[1], "build-unigram")) {
		tm_cmd_init("tamis-filter build-unigram");
		return unigram_main(argc - 1, argv + 1);
	}
	if (argc >= 2 && !strcmp(argv[1], "train-classifier")) {
		tm_cmd_init("tamis-filter train-classifier");
		return train_main(argc - 1, argv + 1);
	}
	return filter_main(argc, argv);
}
