/*
 * langid.c: tamis-langid, the language of each document (or line of
 * text), and `tamis langid train`, which builds a model.
 */
#include "tamis.h"
#include "common.h"
#include "doc.h"
#include "ini.h"
#include "langid.h"
#include "pool.h"
#include "progress.h"
#include "stats.h"
#include "stream.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

static const char synopsis[] = "tamis langid [options] [FILE...]";
static const char train_synopsis[] = "tamis langid train [options] TSV -o MODEL";

static const char about[] =
	"Identifies the language of each JSON Lines document (docs/DOCUMENTS.md)\n"
	"and sets metadata.lang (ISO 639-1 where it exists, else 639-3; \"und\"\n"
	"when the text has no letters) and metadata.lang_score (0..1).  Documents\n"
	"scoring under --min-score, or not in --keep, are removed and counted in\n"
	"--stats by reason.  With --plain, each input line is one text and each\n"
	"output line is lang<TAB>score.  Output is in input order whatever -j.\n";

static const char train_about[] =
	"Trains a language-id model (docs/FORMATS.md) from lines lang<TAB>text\n"
	"(any compression): hashed character n-grams, a linear softmax layer,\n"
	"the ICU scripts of each language as a prior.  Deterministic for a seed.\n";

static bool opt_plain, opt_lines, opt_list, opt_stats_docs;
static const char *opt_out, *opt_model, *opt_keep, *opt_split_dir;
static const char *opt_split_ext;
static double opt_min_score = NAN, opt_prior = NAN;
static long opt_top = 1;
static struct tm_cmd_common cc = TM_CMD_COMMON_INIT;

static const struct tm_option opts[] = {
	{ TM_OPT_STRING, 'o', "output", &opt_out, "FILE",
	  "write to FILE (.gz/.zst compress) instead of stdout" },
	{ TM_OPT_STRING, 'm', "model", &opt_model, "FILE",
	  "the model (default: [langid] model, $TAMIS_LANGID_MODEL, the installed one)" },
	{ TM_OPT_STRING, 0, "keep", &opt_keep, "LIST",
	  "keep only these languages, comma-separated (e.g. en,de)" },
	{ TM_OPT_DOUBLE, 0, "min-score", &opt_min_score, "X",
	  "remove documents whose best score is under X (default 0.65; 0: keep all)" },
	{ TM_OPT_INT, 'k', "top", &opt_top, "K",
	  "also write the K best guesses to metadata.lang_top (plain: more columns)" },
	{ TM_OPT_STRING, 0, "split-dir", &opt_split_dir, "DIR",
	  "write one file per language, DIR/LANG.jsonl, instead of one output" },
	{ TM_OPT_STRING, 0, "split-ext", &opt_split_ext, "EXT",
	  "file extension under --split-dir (default .jsonl; .jsonl.zst compresses)" },
	{ TM_OPT_FLAG, 0, "lines", &opt_lines, NULL,
	  "also tag each line: metadata.lang_lines and metadata.lang_line_scores" },
	{ TM_OPT_FLAG, 0, "plain", &opt_plain, NULL,
	  "input is one text per line; output lang<TAB>score per line" },
	{ TM_OPT_DOUBLE, 0, "prior", &opt_prior, "W",
	  "weight of the language-size prior (default: the model's)" },
	{ TM_OPT_FLAG, 0, "list", &opt_list, NULL,
	  "list the model's languages with their scripts, and exit" },
	{ TM_OPT_INT, 'j', "jobs", &cc.threads, "N", "worker threads (default: all cores)" },
	TM_OPT_DOC_STAGE(&cc, &opt_stats_docs),
};

/* ---------------------------------------------------------------- model */

static bool readable(const char *path)
{
	return access(path, R_OK) == 0;
}

/*
 * The default model: next to the program when installed
 * (PREFIX/share/tamis/langid.tlid), else in the source tree the program
 * was built in (filters/langid.tlid above bin/).
 */
static char *default_model(void)
{
	char exe[PATH_MAX], path[PATH_MAX + 64];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;
	int up;

	if (n <= 0)
		return NULL;
	exe[n] = 0;
	if (!(slash = strrchr(exe, '/')))
		return NULL;
	*slash = 0;
	snprintf(path, sizeof(path), "%s/../share/tamis/langid.tlid", exe);
	if (readable(path))
		return tm_xstrdup(path);
	for (up = 1; up <= 4; up++) {
		struct tm_buf p = TM_BUF_INIT;
		int i;

		tm_buf_addstr(&p, exe);
		for (i = 0; i < up; i++)
			tm_buf_addstr(&p, "/..");
		tm_buf_addstr(&p, "/filters/langid.tlid");
		if (readable(p.buf))
			return tm_buf_detach(&p, NULL);
		tm_buf_release(&p);
	}
	return NULL;
}

static struct tm_lid_model *load_model(void)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_lid_model *m;
	char *def = NULL;
	const char *path = opt_model;

	if (!path)
		path = getenv("TAMIS_LANGID_MODEL");
	if (!path || !*path)
		path = def = default_model();
	if (!path)
		die("no language-id model found: give --model FILE (the default, "
		    "filters/langid.tlid, is made by 'make langid-model')");
	if (tm_lid_load(path, &m, &err) < 0)
		die_err(&err);
	free(def);
	return m;
}

/* ---------------------------------------------------------------- tagging */

enum verdict { V_KEEP, V_LOW, V_NOT_KEPT, V_NO_LETTERS, V_MALFORMED };

static const char *const reason[] = {
	[V_KEEP] = NULL,
	[V_LOW] = "langid.low_score",
	[V_NOT_KEPT] = "langid.not_kept",
	[V_NO_LETTERS] = "langid.no_letters",
	[V_MALFORMED] = "langid.malformed",
};

struct line_out {
	enum verdict v;
	int lang;		/* -1: und */
	float score;
	size_t in_len;
	size_t off, len;	/* of the output line in batch->out */
	char *id;		/* for --stats-docs */
	char *msg;		/* malformed: what was wrong */
};


struct worker {
	struct tm_lid_ctx *lid;
	struct tm_doc doc;
	struct tm_buf scratch;
	struct tm_lid_guess *g;
};

struct run {
	const struct tm_lid_model *m;
	bool *keep;		/* per language; NULL: all */
	bool keep_und;
	double min_score;
	int top;
	struct tm_writer *w;
	struct tm_writer **split;	/* per language + 1 for und */
	struct tm_stats *stats;
	struct tm_progress *progress;
	struct tm_batcher batcher;
	uint64_t docs_in, docs_out, bytes_in, bytes_out, removed[V_MALFORMED + 1];
	uint64_t *per_lang;	/* nlang + 1 */
	bool *hist_defined;
	long malformed;
	int rc;
	struct tm_err err;
};

static struct run R;

static double round4(double x)
{
	return floor(x * 10000 + 0.5) / 10000;
}

static void *worker_init(void *arg, int index)
{
	struct worker *w = tm_xcalloc(1, sizeof(*w));

	(void)index;
	w->lid = tm_lid_ctx_new(((struct run *)arg)->m);
	tm_doc_init(&w->doc);
	tm_buf_init(&w->scratch, 0);
	w->g = tm_xcalloc((size_t)TM_MAX(R.top, 1), sizeof(*w->g));
	return w;
}

static void worker_fini(void *p)
{
	struct worker *w = p;

	tm_lid_ctx_free(w->lid);
	tm_doc_release(&w->doc);
	tm_buf_release(&w->scratch);
	free(w->g);
	free(w);
}

static enum verdict decide(int lang, float score)
{
	if (lang < 0)
		return R.min_score > 0 ? V_NO_LETTERS : (R.keep && !R.keep_und) ?
		       V_NOT_KEPT : V_KEEP;
	if (score < R.min_score)
		return V_LOW;
	if (R.keep && !R.keep[lang])
		return V_NOT_KEPT;
	return V_KEEP;
}

static void plain_line(struct worker *w, const char *s, size_t len,
		       struct line_out *lo, struct tm_buf *out)
{
	int n = tm_lid_predict(w->lid, s, len, w->g, R.top), i;

	lo->lang = n ? w->g[0].lang : -1;
	lo->score = n ? w->g[0].score : 0;
	lo->v = V_KEEP;
	if (!n) {
		tm_buf_addstr(out, "und\t0");
	}
	for (i = 0; i < n; i++)
		tm_buf_addf(out, "%s%s\t%.4f", i ? "\t" : "",
			    tm_lid_code(R.m, w->g[i].lang), round4(w->g[i].score));
	tm_buf_addch(out, '\n');
}

/* metadata.lang_lines / lang_line_scores: one entry per '\n'-separated line. */
static void tag_lines(struct worker *w, const char *text, size_t len)
{
	json_t *langs = json_array(), *scores = json_array();
	json_t *meta = tm_doc_meta(&w->doc);
	size_t a = 0;

	for (;;) {
		const char *nl = memchr(text + a, '\n', len - a);
		size_t b = nl ? (size_t)(nl - text) : len;
		struct tm_lid_guess g;
		int n = tm_lid_predict(w->lid, text + a, b - a, &g, 1);

		json_array_append_new(langs, json_string(n ? tm_lid_code(R.m, g.lang) : "und"));
		json_array_append_new(scores, json_real(n ? round4(g.score) : 0.0));
		if (!nl)
			break;
		a = b + 1;
	}
	json_object_set_new(meta, "lang_lines", langs);
	json_object_set_new(meta, "lang_line_scores", scores);
}

static void doc_line(struct worker *w, const char *s, size_t len,
		     struct line_out *lo, struct tm_buf *out)
{
	struct tm_err err = TM_ERR_INIT;
	const char *text, *id;
	size_t tlen;
	int n, i;

	if (tm_doc_parse(&w->doc, s, len, &err) < 0) {
		lo->v = V_MALFORMED;
		lo->msg = tm_xstrdup(err.msg);
		return;
	}
	text = tm_doc_text(&w->doc, &tlen);
	n = tm_lid_predict(w->lid, text, tlen, w->g, R.top);
	lo->lang = n ? w->g[0].lang : -1;
	lo->score = n ? w->g[0].score : 0;
	lo->v = decide(lo->lang, lo->score);
	if (opt_stats_docs && (id = tm_doc_id(&w->doc)))
		lo->id = tm_xstrdup(id);
	if (lo->v != V_KEEP)
		return;
	tm_doc_meta_set_str(&w->doc, "lang", n ? tm_lid_code(R.m, lo->lang) : "und", NULL);
	tm_doc_meta_set_double(&w->doc, "lang_score", round4(lo->score), NULL);
	if (R.top > 1) {
		json_t *top = json_object();

		for (i = 0; i < n; i++)
			json_object_set_new(top, tm_lid_code(R.m, w->g[i].lang),
					    json_real(round4(w->g[i].score)));
		json_object_set_new(tm_doc_meta(&w->doc), "lang_top", top);
	}
	if (opt_lines)
		tag_lines(w, text, tlen);
	tm_doc_write(&w->doc, out);
}

static void work(void *ctx, void *p)
{
	struct worker *w = ctx;
	struct tm_line_batch *b = p;
	struct line_out *lo;
	const char *s;
	size_t len;

	while ((s = tm_line_batch_next(b, &len, (void **)&lo))) {
		lo->in_len = len;
		lo->off = b->out.len;
		if (opt_plain)
			plain_line(w, s, len, lo, &b->out);
		else
			doc_line(w, s, len, lo, &b->out);
		lo->len = b->out.len - lo->off;
	}
}

static void line_out_release(void *p)
{
	struct line_out *lo = p;

	free(lo->id);
	free(lo->msg);
}

static struct tm_writer *split_writer(int lang)
{
	struct tm_err err = TM_ERR_INIT;
	int slot = lang < 0 ? tm_lid_nlang(R.m) : lang;	/* und: the last slot */

	if (!R.split[slot]) {
		struct tm_buf path = TM_BUF_INIT;

		tm_buf_addf(&path, "%s/%s%s", opt_split_dir,
			    lang < 0 ? "und" : tm_lid_code(R.m, lang),
			    opt_split_ext ? opt_split_ext : ".jsonl");
		if (tm_writer_open(path.buf, TM_CODEC_AUTO, 0, &R.split[slot], &err) < 0)
			die_err(&err);
		tm_buf_release(&path);
	}
	return R.split[slot];
}

static void lang_stats(int lang, float score)
{
	char name[64];
	const char *code = lang < 0 ? "und" : tm_lid_code(R.m, lang);
	int slot = lang < 0 ? tm_lid_nlang(R.m) : lang;

	R.per_lang[slot]++;
	if (!R.stats)
		return;
	snprintf(name, sizeof(name), "langid.lang.%s", code);
	tm_stats_count(R.stats, name, 1);
	tm_stats_hist_add(R.stats, "langid.score", score);
	snprintf(name, sizeof(name), "langid.score.%s", code);
	if (!R.hist_defined[slot]) {
		tm_stats_hist_def(R.stats, name, TM_HIST_LINEAR, 0, 1.0001, 20);
		R.hist_defined[slot] = true;
	}
	tm_stats_hist_add(R.stats, name, score);
}

static int done(void *arg, void *p)
{
	struct run *r = arg;
	struct tm_line_batch *b = p;
	size_t i;
	int rc = 0;

	for (i = 0; i < b->n && !rc; i++) {
		struct line_out *lo = (struct line_out *)b->recs + i;

		r->docs_in++;
		r->bytes_in += lo->in_len;
		if (lo->v == V_MALFORMED) {
			fprintf(stderr, "%s: %s: line %ld: %s\n", tm_prog, b->file,
				b->first_line + (long)i, lo->msg);
			r->removed[V_MALFORMED]++;
			tm_stats_remove(r->stats, reason[V_MALFORMED], 1, lo->in_len);
			if (cc.max_errors >= 0 && ++r->malformed > cc.max_errors) {
				r->rc = TM_EXIT_BADINPUT;
				rc = 1;
			}
			continue;
		}
		lang_stats(lo->lang, lo->score);
		if (opt_stats_docs && lo->id)
			tm_stats_doc(r->stats, lo->id, lo->v == V_KEEP, reason[lo->v],
				     lo->score, NULL);
		if (lo->v != V_KEEP) {
			r->removed[lo->v]++;
			tm_stats_remove(r->stats, reason[lo->v], 1, lo->in_len);
			continue;
		}
		r->docs_out++;
		r->bytes_out += lo->len;
		if (tm_writer_write(opt_split_dir ? split_writer(lo->lang) : r->w,
				    b->out.buf + lo->off, lo->len, &r->err) < 0) {
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
	R.removed[V_MALFORMED]++;
	tm_stats_remove(R.stats, "langid.too_long", 1, 0);
	/* a line over the cap is bad input too: it counts against --max-errors */
	if (cc.max_errors >= 0 && ++R.malformed > cc.max_errors) {
		R.rc = TM_EXIT_BADINPUT;
		return 1;
	}
	return 0;
}

static void list_languages(const struct tm_lid_model *m)
{
	char scripts[256];
	int i;

	for (i = 0; i < tm_lid_nlang(m); i++) {
		tm_lid_scripts(m, i, scripts, sizeof(scripts));
		printf("%s\t%s\n", tm_lid_code(m, i), scripts);
	}
	tm_cmd_finish_stdout();
}

static void parse_keep(const char *list)
{
	char *copy = tm_xstrdup(list), *save = NULL, *tok;

	R.keep = tm_xcalloc((size_t)tm_lid_nlang(R.m), sizeof(*R.keep));
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int l;

		while (*tok == ' ')
			tok++;
		if (!strcmp(tok, "und")) {
			R.keep_und = true;
			continue;
		}
		if ((l = tm_lid_find(R.m, tok)) < 0)
			usage_error(synopsis, opts, "--keep: the model has no language "
				    "'%s' (see tamis langid --list)", tok);
		R.keep[l] = true;
	}
	free(copy);
}

static void apply_config(void)
{
	struct tm_ini *ini = tm_cmd_load(&cc);
	struct tm_err err = TM_ERR_INIT;
	double ms;
	const char *s;

	if (tm_ini_get_double(ini, "langid", NULL, "min_score", 0.65, &ms, &err) < 0) {
		warn_err(&err);
		exit(TM_EXIT_USAGE);
	}
	if (isnan(opt_min_score))
		opt_min_score = ms;
	if (!opt_model && (s = tm_ini_get(ini, "langid", NULL, "model")) && *s)
		opt_model = tm_xstrdup(s);
	if (!opt_keep && (s = tm_ini_get(ini, "langid", NULL, "keep")) && *s)
		opt_keep = tm_xstrdup(s);
	tm_ini_free(ini);
}

static int tag_main(int argc, char **argv)
{
	struct tm_err err = TM_ERR_INIT;
	char *stdin_only[] = { (char *)"-", NULL };
	char **files;
	int nfiles, i, status = TM_EXIT_OK, nl;

	tm_cmd_options(synopsis, about, opts, &argc, argv);
	apply_config();
	if (opt_min_score < 0 || opt_min_score > 1)
		usage_error(synopsis, opts, "--min-score expects 0..1, got %g", opt_min_score);
	if (opt_top < 1 || opt_top > 1000)
		usage_error(synopsis, opts, "--top expects 1..1000, got %ld", opt_top);
	if (opt_split_dir && opt_out)
		usage_error(synopsis, opts, "--split-dir and --output exclude each other");
	if (opt_split_dir && opt_plain)
		usage_error(synopsis, opts, "--split-dir does not apply to --plain");
	R.m = load_model();
	if (!isnan(opt_prior)) {
		if (!(opt_prior >= 0 && opt_prior <= 100))
			usage_error(synopsis, opts, "--prior expects 0..100, got %g", opt_prior);
		tm_lid_set_prior((struct tm_lid_model *)R.m, (float)opt_prior);
	}
	if (opt_list) {
		list_languages(R.m);
		return 0;
	}
	nl = tm_lid_nlang(R.m);
	if (opt_keep)
		parse_keep(opt_keep);
	R.min_score = opt_plain ? 0 : opt_min_score;
	R.top = (int)opt_top;
	R.per_lang = tm_xcalloc((size_t)nl + 1, sizeof(*R.per_lang));
	R.hist_defined = tm_xcalloc((size_t)nl + 1, sizeof(*R.hist_defined));
	files = argc > 1 ? argv + 1 : stdin_only;
	nfiles = argc > 1 ? argc - 1 : 1;

	if (cc.stats && tm_stats_open(cc.stats, "langid", argc, argv, &R.stats, &err) < 0)
		die_err(&err);
	tm_stats_set_docs(R.stats, opt_stats_docs);
	tm_stats_hist_def(R.stats, "langid.score", TM_HIST_LINEAR, 0, 1.0001, 20);
	if (opt_split_dir) {
		if (mkdir(opt_split_dir, 0777) < 0 && errno != EEXIST)
			die("%s: cannot create directory: %s", opt_split_dir, strerror(errno));
		R.split = tm_xcalloc((size_t)nl + 1, sizeof(*R.split));
	} else if (tm_writer_open(opt_out, TM_CODEC_AUTO, 0, &R.w, &err) < 0) {
		die_err(&err);
	}
	R.progress = tm_cmd_progress(&cc, "langid", files, nfiles);
	R.batcher.rec_size = sizeof(struct line_out);
	R.batcher.rec_release = line_out_release;
	R.batcher.keep_blank = opt_plain;
	R.batcher.max_line = TM_DOC_MAX_LINE_DEFAULT;
	R.batcher.too_long = too_long;
	status = tm_batcher_run(&R.batcher, (int)cc.threads, work, done, worker_init, worker_fini,
				&R, R.stats, files, nfiles);
	tm_progress_done(R.progress);
	tm_progress_free(R.progress);
	if (R.rc) {
		if (R.rc == TM_EXIT_FAIL)
			warn_err(&R.err);
		else
			fprintf(stderr, "%s: more than %ld malformed lines: stopped\n",
				tm_prog, cc.max_errors);
		status = R.rc;
	}
	if (opt_split_dir) {
		for (i = 0; i <= nl; i++) {
			if (!R.split[i])
				continue;
			if (status) {
				tm_writer_abort(R.split[i]);
			} else if (tm_writer_commit(R.split[i], &err) < 0) {
				warn_err(&err);
				status = TM_EXIT_FAIL;
			}
		}
	} else if (R.rc) {
		tm_writer_abort(R.w);
	} else if (tm_writer_commit(R.w, &err) < 0) {
		warn_err(&err);
		status = TM_EXIT_FAIL;
	}
	status = tm_cmd_stats_close(R.stats, R.docs_in, R.docs_out, R.bytes_in,
				    R.bytes_out, status);
	tm_lid_free((struct tm_lid_model *)R.m);
	free(R.keep);
	free(R.per_lang);
	free(R.hist_defined);
	free(R.split);
	return status;
}

/* ---------------------------------------------------------------- train */

static long t_dim = 16, t_bits = 18, t_minn = 1, t_maxn = 4, t_max_word = 32;
static long t_epochs = 10, t_short_max = 150, t_long_max = 700;
static double t_lr = 0.3, t_prior = 0.5;
static uint64_t t_seed = 1, t_min_bytes = 8000, t_floor = 60000, t_cap = 600000;
static const char *t_out;
static bool t_progress;

static const struct tm_option train_opts[] = {
	{ TM_OPT_STRING, 'o', "output", &t_out, "MODEL",
	  "write the model here (.zst compresses; required)" },
	{ TM_OPT_INT, 0, "dim", &t_dim, "N", "embedding width (default 16)" },
	{ TM_OPT_INT, 0, "bucket-bits", &t_bits, "B", "2^B hashed feature rows (default 18)" },
	{ TM_OPT_INT, 0, "minn", &t_minn, "N", "shortest character n-gram (default 1)" },
	{ TM_OPT_INT, 0, "maxn", &t_maxn, "N", "longest character n-gram (default 4, at most 7)" },
	{ TM_OPT_INT, 0, "max-word", &t_max_word, "N",
	  "whole words up to N code points are features too; 0: none (default 32)" },
	{ TM_OPT_INT, 0, "epochs", &t_epochs, "N", "passes over fresh samples (default 10)" },
	{ TM_OPT_DOUBLE, 0, "lr", &t_lr, "X", "initial learning rate, decaying to 0 (default 0.3)" },
	{ TM_OPT_U64, 0, "seed", &t_seed, "N", "random seed (default 1)" },
	{ TM_OPT_DOUBLE, 0, "prior", &t_prior, "W",
	  "weight of the language-size prior stored in the model (default 0.5)" },
	{ TM_OPT_SIZE, 0, "min-bytes", &t_min_bytes, "SIZE",
	  "leave out languages with less text (default 8000)" },
	{ TM_OPT_SIZE, 0, "epoch-floor", &t_floor, "SIZE",
	  "bytes drawn per language and epoch, at least (default 60000)" },
	{ TM_OPT_SIZE, 0, "epoch-cap", &t_cap, "SIZE",
	  "and at most (default 600000)" },
	{ TM_OPT_INT, 0, "short-max", &t_short_max, "N",
	  "half the samples are 15..N code points long (default 150)" },
	{ TM_OPT_INT, 0, "long-max", &t_long_max, "N",
	  "the other half short-max..N code points long (default 700)" },
	{ TM_OPT_FLAG, 0, "progress", &t_progress, NULL,
	  "show progress on stderr even when it is not a terminal" },
	TM_OPT_END_MARK,
};

static int train_main(int argc, char **argv)
{
	struct tm_lid_train_opts o = TM_LID_TRAIN_OPTS_INIT;
	struct tm_err err = TM_ERR_INIT;
	struct tm_lid_model *m;

	tm_cmd_options(train_synopsis, train_about, train_opts, &argc, argv);
	if (argc != 2)
		usage_error(train_synopsis, train_opts, "expected one TSV file, got %d",
			    argc - 1);
	if (!t_out)
		usage_error(train_synopsis, train_opts, "-o MODEL is required");
	o.dim = (int)t_dim;
	o.bucket_bits = (int)t_bits;
	o.minn = (int)t_minn;
	o.maxn = (int)t_maxn;
	o.max_word = (int)t_max_word;
	o.epochs = (int)t_epochs;
	o.lr = t_lr;
	o.seed = t_seed;
	o.prior = t_prior;
	o.min_bytes = (size_t)t_min_bytes;
	o.epoch_floor = (size_t)t_floor;
	o.epoch_cap = (size_t)t_cap;
	o.short_max = (int)t_short_max;
	o.long_min = (int)t_short_max;
	o.long_max = (int)t_long_max;
	if (t_progress || isatty(2))
		o.progress = tm_cmd_epoch_progress;
	if (tm_lid_train(argv[1], &o, &m, &err) < 0)
		die_err(&err);
	if (tm_lid_save(m, t_out, &err) < 0)
		die_err(&err);
	fprintf(stderr, "%s: %d languages written to %s\n", tm_prog, tm_lid_nlang(m), t_out);
	tm_lid_free(m);
	return 0;
}

int main(int argc, char **argv)
{
	tm_cmd_init("tamis-langid");
	if (argc >= 2 && !strcmp(argv[1], "train")) {
		tm_cmd_init("tamis-langid train");
		return train_main(argc - 1, argv + 1);
	}
	return tag_main(argc, argv);
}
