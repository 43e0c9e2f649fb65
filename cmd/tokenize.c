/*
 * tokenize.c: tamis-tokenize, JSON Lines documents to the token stream of
 * docs/FORMATS.md ("Token stream"), tiktoken-compatible (lib/bpe.h).
 */
#include "tamis.h"
#include "bpe.h"
#include "bpetrain.h"
#include "common.h"
#include "doc.h"
#include "ini.h"
#include "pool.h"
#include "progress.h"
#include "stats.h"
#include "stream.h"
#include "tokstream.h"

#include <inttypes.h>
#include <limits.h>
#include <unistd.h>

static const char synopsis[] = "tamis tokenize [options] [FILE...]";

static const char about[] =
	"Tokenizes the \"text\" of each JSON Lines document (docs/DOCUMENTS.md)\n"
	"with a tiktoken-compatible byte-level BPE (the same ids as tiktoken's\n"
	"encode_ordinary: text spelling a special token is ordinary text) and\n"
	"writes the binary token stream of docs/FORMATS.md, one record per\n"
	"document with its source and id, BOS first (--no-bos: none) and EOS\n"
	"last with --eos.  --format ids writes each document's ids as a line of\n"
	"decimal numbers instead.  Output is in input order whatever -j.\n";

static bool opt_no_bos, opt_eos, opt_stats_docs;
static const char *opt_out, *opt_vocab, *opt_vocab_dir, *opt_format;
static struct tm_cmd_common cc = TM_CMD_COMMON_INIT;

static const struct tm_option opts[] = {
	{ TM_OPT_STRING, 'o', "output", &opt_out, "FILE",
	  "write to FILE (.gz/.zst compress) instead of stdout" },
	{ TM_OPT_STRING, 0, "vocab", &opt_vocab, "NAME|FILE",
	  "llama3 (default), cl100k, o200k, or a tiktoken-format FILE" },
	{ TM_OPT_STRING, 0, "vocab-dir", &opt_vocab_dir, "DIR",
	  "where the NAME vocabularies are (default: [tokenize] vocab_dir)" },
	{ TM_OPT_STRING, 0, "format", &opt_format, "FMT",
	  "stream (default: the binary token stream) or ids (text)" },
	{ TM_OPT_FLAG, 0, "no-bos", &opt_no_bos, NULL,
	  "do not begin each document with the BOS token" },
	{ TM_OPT_FLAG, 0, "eos", &opt_eos, NULL, "end each document with the EOS token" },
	{ TM_OPT_INT, 'j', "jobs", &cc.threads, "N", "worker threads (default: all cores)" },
	TM_OPT_DOC_STAGE(&cc, &opt_stats_docs),
};

/* ---------------------------------------------------------------- vocabulary */

static bool readable(const char *path)
{
	return access(path, R_OK) == 0;
}

/*
 * NAME.tiktoken of a built-in vocabulary: in --vocab-dir / [tokenize]
 * vocab_dir, else $TAMIS_DATA/tokenizer, else installed
 * (PREFIX/share/tamis/tokenizer), else the shared data directory beside
 * the source tree the program was built in (../shared/data/tokenizer).
 */
static char *find_vocab(const char *file)
{
	char exe[PATH_MAX];
	struct tm_buf p = TM_BUF_INIT;
	const char *data = getenv("TAMIS_DATA");
	ssize_t n;
	char *slash;
	int up, i;

	if (opt_vocab_dir) {
		tm_buf_addf(&p, "%s/%s", opt_vocab_dir, file);
		return tm_buf_detach(&p, NULL);
	}
	if (data && *data) {
		tm_buf_addf(&p, "%s/tokenizer/%s", data, file);
		if (readable(p.buf))
			return tm_buf_detach(&p, NULL);
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = 0;
		if ((slash = strrchr(exe, '/'))) {
			*slash = 0;
			tm_buf_reset(&p);
			tm_buf_addf(&p, "%s/../share/tamis/tokenizer/%s", exe, file);
			if (readable(p.buf))
				return tm_buf_detach(&p, NULL);
			for (up = 1; up <= 4; up++) {
				tm_buf_reset(&p);
				tm_buf_addstr(&p, exe);
				for (i = 0; i < up; i++)
					tm_buf_addstr(&p, "/..");
				tm_buf_addf(&p, "/../shared/data/tokenizer/%s", file);
				if (readable(p.buf))
					return tm_buf_detach(&p, NULL);
			}
		}
	}
	tm_buf_release(&p);
	return NULL;
}

static struct tm_bpe *load_vocab(uint32_t *bos, uint32_t *eos)
{
	const struct tm_bpe_preset *pre = tm_bpe_preset(opt_vocab);
	struct tm_err err = TM_ERR_INIT;
	struct tm_bpe *b;
	char *path;

	if (pre) {
		if (!(path = find_vocab(pre->file)))
			die("no %s vocabulary found (%s): give --vocab-dir DIR or set "
			    "[tokenize] vocab_dir", pre->name, pre->file);
	} else {
		path = tm_xstrdup(opt_vocab);
	}
	if (tm_bpe_load(path, pre ? pre->pat : TM_BPE_PAT_CL100K, &b, &err) < 0 ||
	    tm_bpe_add_specials(b, pre, &err) < 0)
		die_err(&err);
	*bos = tm_bpe_special(b, pre ? pre->bos : "<|endoftext|>");
	*eos = tm_bpe_special(b, pre ? pre->eos : "<|endoftext|>");
	free(path);
	return b;
}

/* ---------------------------------------------------------------- tokenizing */

struct line_out {
	bool malformed;
	char *msg;		/* malformed: what was wrong */
	char *source;		/* for the per-source counters */
	char *id;		/* for --stats-docs */
	uint64_t ntokens;
	size_t in_len;
	size_t out_len;
};

struct worker {
	struct tm_bpe_ctx *bpe;
	struct tm_doc doc;
	struct tm_buf scan;	/* tm_doc_scan's unescaped text */
	struct tm_buf rest;	/* the line without its text */
};

struct run {
	struct tm_bpe *bpe;
	uint32_t bos, eos;
	int width;		/* token bytes: 2 or 4 */
	bool ids;		/* --format ids */
	struct tm_writer *w;
	struct tm_stats *stats;
	struct tm_progress *progress;
	struct tm_batcher batcher;
	uint64_t docs_in, docs_out, bytes_in, bytes_out, tokens;
	long malformed;
	int rc;
	struct tm_err err;
};

static struct run R;

static void *worker_init(void *arg, int index)
{
	struct worker *w = tm_xcalloc(1, sizeof(*w));

	(void)index;
	w->bpe = tm_bpe_ctx_new(((struct run *)arg)->bpe);
	tm_doc_init(&w->doc);
	tm_buf_init(&w->scan, 0);
	tm_buf_init(&w->rest, 0);
	return w;
}

static void worker_fini(void *p)
{
	struct worker *w = p;

	tm_bpe_ctx_free(w->bpe);
	tm_doc_release(&w->doc);
	tm_buf_release(&w->scan);
	tm_buf_release(&w->rest);
	free(w);
}

/* " 123" (no space first on a line) */
static void put_dec(struct tm_buf *out, uint32_t v, bool space)
{
	char b[12], *p = b + sizeof(b);

	do
		*--p = (char)('0' + v % 10);
	while (v /= 10);
	if (space)
		*--p = ' ';
	tm_buf_add(out, p, (size_t)(b + sizeof(b) - p));
}

static void tokenize_line(struct worker *w, const char *s, size_t len,
			  struct line_out *lo, struct tm_buf *out)
{
	struct tm_err err = TM_ERR_INIT;
	const uint32_t *ids;
	struct tm_doc_view v;
	const char *text = NULL, *src;
	size_t tlen = 0, n, i, start = out->len;

	/*
	 * The text by tm_doc_scan() (fast), the rest (id, source) by parsing
	 * the line with an empty text: a line the scan accepts stays valid.
	 */
	if (tm_doc_scan(s, len, &w->scan, &v)) {
		text = v.text;
		tlen = v.text_len;
		tm_buf_reset(&w->rest);
		tm_buf_add(&w->rest, s, v.text_start);
		tm_buf_add(&w->rest, "\"\"", 2);
		tm_buf_add(&w->rest, s + v.text_end, len - v.text_end);
		s = w->rest.buf;
		len = w->rest.len;
	}
	if (tm_doc_parse(&w->doc, s, len, &err) < 0) {
		lo->malformed = true;
		lo->msg = tm_xstrdup(err.msg);
		return;
	}
	if (!text)
		text = tm_doc_text(&w->doc, &tlen);
	n = tm_bpe_encode(w->bpe, text, tlen, &ids);
	lo->ntokens = n + (R.bos != TM_BPE_NONE) + (R.eos != TM_BPE_NONE);
	src = tm_doc_source(&w->doc);
	lo->source = tm_xstrdup(src && *src ? src : "unknown");
	if (opt_stats_docs && tm_doc_id(&w->doc))
		lo->id = tm_xstrdup(tm_doc_id(&w->doc));
	if (R.ids) {
		if (R.bos != TM_BPE_NONE)
			put_dec(out, R.bos, false);
		for (i = 0; i < n; i++)
			put_dec(out, ids[i], out->len != start);
		if (R.eos != TM_BPE_NONE)
			put_dec(out, R.eos, out->len != start);
		tm_buf_addch(out, '\n');
	} else {
		tm_toks_put_record(out, (unsigned)R.width, src, tm_doc_id(&w->doc),
				   R.bos == TM_BPE_NONE ? TM_TOK_NONE : R.bos, ids, n,
				   R.eos == TM_BPE_NONE ? TM_TOK_NONE : R.eos);
	}
	lo->out_len = out->len - start;
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
		tokenize_line(w, s, len, lo, &b->out);
	}
}

static void line_out_release(void *p)
{
	struct line_out *lo = p;

	free(lo->msg);
	free(lo->source);
	free(lo->id);
}

static int done(void *arg, void *p)
{
	struct run *r = arg;
	struct tm_line_batch *b = p;
	char name[256];
	size_t i;
	int rc = 0;

	for (i = 0; i < b->n && !rc; i++) {
		struct line_out *lo = (struct line_out *)b->recs + i;

		r->docs_in++;
		r->bytes_in += lo->in_len;
		if (lo->malformed) {
			fprintf(stderr, "%s: %s: line %ld: %s\n", tm_prog, b->file,
				b->first_line + (long)i, lo->msg);
			tm_stats_remove(r->stats, "tokenize.malformed", 1, lo->in_len);
			if (cc.max_errors >= 0 && ++r->malformed > cc.max_errors) {
				r->rc = TM_EXIT_BADINPUT;
				rc = 1;
			}
			continue;
		}
		r->docs_out++;
		r->bytes_out += lo->out_len;
		r->tokens += lo->ntokens;
		if (r->stats) {
			tm_stats_hist_add(r->stats, "tokenize.tokens_per_doc", (double)lo->ntokens);
			snprintf(name, sizeof(name), "tokenize.tokens.%s", lo->source);
			tm_stats_count(r->stats, name, (int64_t)lo->ntokens);
			if (lo->id)
				tm_stats_doc(r->stats, lo->id, 1, NULL, (double)lo->ntokens, NULL);
		}
	}
	/* records are in batch order, so the batch's bytes go out whole */
	if (!rc && b->out.len && tm_writer_write(r->w, b->out.buf, b->out.len, &r->err) < 0) {
		r->rc = TM_EXIT_FAIL;
		rc = 1;
	}
	tm_progress_set(r->progress, r->docs_in, r->batcher.raw_done);
	tm_line_batch_free(b);
	return rc;
}

static int too_long(void *arg, const struct tm_err *err)
{
	(void)arg;
	warn_err(err);
	tm_stats_remove(R.stats, "tokenize.too_long", 1, 0);
	/* a line over the cap is bad input too: it counts against --max-errors */
	if (cc.max_errors >= 0 && ++R.malformed > cc.max_errors) {
		R.rc = TM_EXIT_BADINPUT;
		return 1;
	}
	return 0;
}

static void apply_config(void)
{
	struct tm_ini *ini = tm_cmd_load(&cc);
	struct tm_err err = TM_ERR_INIT;
	bool bos = true, eos = false;
	const char *s;

	if (tm_ini_get_bool(ini, "tokenize", NULL, "bos", true, &bos, &err) < 0 ||
	    tm_ini_get_bool(ini, "tokenize", NULL, "eos", false, &eos, &err) < 0) {
		warn_err(&err);
		exit(TM_EXIT_USAGE);
	}
	if (!bos)
		opt_no_bos = true;
	if (eos)
		opt_eos = true;
	if (!opt_vocab && (s = tm_ini_get(ini, "tokenize", NULL, "vocab")) && *s)
		opt_vocab = tm_xstrdup(s);
	if (!opt_vocab_dir && (s = tm_ini_get(ini, "tokenize", NULL, "vocab_dir")) && *s)
		opt_vocab_dir = tm_xstrdup(s);
	if (!opt_vocab)
		opt_vocab = "llama3";
	tm_ini_free(ini);
}

/* The stream header (docs/FORMATS.md "Token stream"). */
static int write_header(void)
{
	struct tm_tokstream_header th = {
		tm_bpe_vocab_size(R.bpe),
		R.bos == TM_BPE_NONE ? TM_TOK_NONE : R.bos,
		R.eos == TM_BPE_NONE ? TM_TOK_NONE : R.eos,
		(uint32_t)R.width,
	};
	struct tm_buf h = TM_BUF_INIT;
	int rc;

	tm_toks_put_header(&h, &th);
	rc = tm_writer_write(R.w, h.buf, h.len, &R.err);
	tm_buf_release(&h);
	return rc;
}

static int write_trailer(void)
{
	struct tm_buf h = TM_BUF_INIT;
	int rc;

	tm_toks_put_end(&h, R.docs_out);
	rc = tm_writer_write(R.w, h.buf, h.len, &R.err);
	tm_buf_release(&h);
	return rc;
}

static int tokenize_main(int argc, char **argv)
{
	struct tm_err err = TM_ERR_INIT;
	char *stdin_only[] = { (char *)"-", NULL };
	char **files;
	int nfiles, status = TM_EXIT_OK;

	tm_cmd_options(synopsis, about, opts, &argc, argv);
	apply_config();
	if (opt_format && strcmp(opt_format, "stream") && strcmp(opt_format, "ids"))
		usage_error(synopsis, opts, "--format expects stream or ids, got '%s'", opt_format);
	R.ids = opt_format && !strcmp(opt_format, "ids");
	R.bpe = load_vocab(&R.bos, &R.eos);
	if (opt_no_bos)
		R.bos = TM_BPE_NONE;
	if (!opt_eos)
		R.eos = TM_BPE_NONE;
	R.width = tm_bpe_vocab_size(R.bpe) <= 65536 ? 2 : 4;
	files = argc > 1 ? argv + 1 : stdin_only;
	nfiles = argc > 1 ? argc - 1 : 1;

	if (cc.stats && tm_stats_open(cc.stats, "tokenize", argc, argv, &R.stats, &err) < 0)
		die_err(&err);
	tm_stats_set_docs(R.stats, opt_stats_docs);
	tm_stats_hist_def(R.stats, "tokenize.tokens_per_doc", TM_HIST_LOG2, 1, 16777216, 48);
	if (tm_writer_open(opt_out, TM_CODEC_AUTO, 0, &R.w, &err) < 0)
		die_err(&err);
	if (!R.ids && write_header() < 0)
		die_err(&R.err);
	R.progress = tm_cmd_progress(&cc, "tokenize", files, nfiles);
	R.batcher.rec_size = sizeof(struct line_out);
	R.batcher.rec_release = line_out_release;
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
	if (!status && !R.ids && write_trailer() < 0) {
		warn_err(&R.err);
		status = TM_EXIT_FAIL;
	}
	if (status) {
		tm_writer_abort(R.w);
	} else if (tm_writer_commit(R.w, &err) < 0) {
		warn_err(&err);
		status = TM_EXIT_FAIL;
	}
	if (R.stats) {
		struct tm_stats_totals t = { 0 };

		t.tokens_out = R.tokens;
		tm_stats_totals_add(R.stats, &t);
	}
	status = tm_cmd_stats_close(R.stats, R.docs_in, R.docs_out, R.bytes_in,
				    R.bytes_out, status);
	tm_bpe_free(R.bpe);
	return status;
}

/* ---------------------------------------------------------------- train */

static const char train_synopsis[] = "tamis tokenize train [options] FILE... -o VOCAB";

static const char train_about[] =
	"Trains a byte-level BPE vocabulary on the \"text\" of JSON Lines documents\n"
	"(--plain: on each line) with the pre-tokenizer of cl100k/Llama 3 (or\n"
	"o200k's) and writes it in tiktoken's format, ready for --vocab FILE:\n"
	"ranks 0..255 are the bytes, then one token per merge of the most frequent\n"
	"adjacent pair.  Deterministic: the same input gives the same file.\n";

static const char *t_out, *t_pattern;
static uint64_t t_size = 32000;
static bool t_plain, t_progress;

static const struct tm_option train_opts[] = {
	{ TM_OPT_STRING, 'o', "output", &t_out, "VOCAB",
	  "write the vocabulary here (required)" },
	{ TM_OPT_U64, 0, "vocab-size", &t_size, "N",
	  "tokens in the vocabulary, the 256 bytes included (default 32000)" },
	{ TM_OPT_STRING, 0, "pattern", &t_pattern, "NAME",
	  "the pre-tokenizer: cl100k (default; Llama 3's too) or o200k" },
	{ TM_OPT_FLAG, 0, "plain", &t_plain, NULL, "each input line is one text" },
	{ TM_OPT_FLAG, 0, "progress", &t_progress, NULL,
	  "show progress on stderr even when it is not a terminal" },
	TM_OPT_END_MARK,
};

static void train_progress(void *arg, uint32_t ntok)
{
	(void)arg;
	fprintf(stderr, "\r%s: %u of %" PRIu64 " tokens ", tm_prog, ntok, t_size);
}

/* Adds every text of `path` to the trainer; returns the malformed lines. */
static long train_file(struct tm_bpe_train *t, const char *path, uint64_t *docs)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_buf line = TM_BUF_INIT, scan = TM_BUF_INIT;
	struct tm_reader *r;
	struct tm_doc doc;
	const char *text;
	size_t tlen;
	long lineno = 0, bad = 0;
	int rc;

	tm_doc_init(&doc);
	if (tm_reader_open(path, &r, &err) < 0)
		die_err(&err);
	while ((rc = tm_reader_getline(r, &line, TM_DOC_MAX_LINE_DEFAULT, false, &err)) != 0) {
		lineno++;
		if (rc < 0) {
			if (rc != TM_ETOOBIG)
				die_err(&err);
			warn_err(&err);
			bad++;
			continue;
		}
		if (t_plain) {
			tm_bpe_train_add(t, line.buf, line.len);
			++*docs;
			continue;
		}
		if (!line.len)
			continue;
		if (!tm_doc_scan_text(line.buf, line.len, &scan, &text, &tlen)) {
			if (tm_doc_parse(&doc, line.buf, line.len, &err) < 0) {
				fprintf(stderr, "%s: %s: line %ld: %s\n", tm_prog, path, lineno, err.msg);
				bad++;
				continue;
			}
			text = tm_doc_text(&doc, &tlen);
		}
		tm_bpe_train_add(t, text, tlen);
		++*docs;
	}
	tm_reader_free(r);
	tm_doc_release(&doc);
	tm_buf_release(&line);
	tm_buf_release(&scan);
	return bad;
}

static int train_main(int argc, char **argv)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_buf out = TM_BUF_INIT;
	struct tm_bpe_train *t;
	struct tm_writer *w;
	enum tm_bpe_pattern pat = TM_BPE_PAT_CL100K;
	uint64_t docs = 0, total;
	size_t npieces, peak;
	long ntok, bad = 0;
	int i;

	tm_cmd_options(train_synopsis, train_about, train_opts, &argc, argv);
	if (argc < 2)
		usage_error(train_synopsis, train_opts, "expected at least one FILE");
	if (!t_out)
		usage_error(train_synopsis, train_opts, "-o VOCAB is required");
	if (t_size < 256 || t_size > (1u << 24))
		usage_error(train_synopsis, train_opts, "--vocab-size expects 256..16777216, got %" PRIu64,
			    t_size);
	if (t_pattern && !strcmp(t_pattern, "o200k"))
		pat = TM_BPE_PAT_O200K;
	else if (t_pattern && strcmp(t_pattern, "cl100k"))
		usage_error(train_synopsis, train_opts, "--pattern expects cl100k or o200k, got '%s'",
			    t_pattern);
	t = tm_bpe_train_new(pat);
	for (i = 1; i < argc; i++)
		bad += train_file(t, argv[i], &docs);
	npieces = tm_bpe_train_npieces(t, &total);
	ntok = tm_bpe_train_run(t, (uint32_t)t_size, &out,
				t_progress || isatty(2) ? train_progress : NULL, NULL, &err);
	if (ntok < 0)
		die_err(&err);
	if (t_progress || isatty(2))
		fputc('\n', stderr);
	peak = tm_bpe_train_bytes(t);
	tm_bpe_train_free(t);
	if (tm_writer_open(t_out, TM_CODEC_AUTO, 0, &w, &err) < 0 ||
	    tm_writer_write(w, out.buf, out.len, &err) < 0 || tm_writer_commit(w, &err) < 0)
		die_err(&err);
	tm_buf_release(&out);
	fprintf(stderr, "%s: %" PRIu64 " texts, %" PRIu64 " pieces (%zu distinct): "
		"%ld tokens written to %s; trainer memory %.1f MB\n", tm_prog, docs, total,
		npieces, ntok, t_out, (double)peak / 1e6);
	if (ntok < (long)t_size)
		fprintf(stderr, "%s: the text had no pairs left to merge after %ld tokens\n",
			tm_prog, ntok);
	return bad ? TM_EXIT_BADINPUT : TM_EXIT_OK;
}

int main(int argc, char **argv)
{
	tm_cmd_init("tamis-tokenize");
	if (argc >= 2 && !strcmp(argv[1], "train")) {
		tm_cmd_init("tamis-tokenize train");
		return train_main(argc - 1, argv + 1);
	}
	return tokenize_main(argc, argv);
}
