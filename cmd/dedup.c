/*
 * dedup.c: tamis-dedup url and exact (minhash and lines: to come).
 */
#include "tamis.h"
#include "common.h"
#include "doc.h"
#include "hmap.h"
#include "ini.h"
#include "jsonl.h"
#include "lsh.h"
#include "minhash.h"
#include "norm.h"
#include "progress.h"
#include "stats.h"
#include "stream.h"

#include <errno.h>
#include <math.h>
#include <unistd.h>
#include <xxhash.h>

static const char url_synopsis[] = "tamis dedup url [options] [FILE...]";
static const char exact_synopsis[] = "tamis dedup exact [options] [FILE...]";
static const char minhash_synopsis[] = "tamis dedup minhash [options] [FILE...]";
static const char sign_synopsis[] = "tamis dedup sign [options] FILE -o SIG";
static const char bucket_synopsis[] = "tamis dedup bucket [options] --bands A-B SIG... -o PAIRS";
static const char cluster_synopsis[] = "tamis dedup cluster [options] PAIRS... -o REMOVE";
static const char apply_synopsis[] = "tamis dedup apply [options] --remove REMOVE [FILE...]";
static const char lines_synopsis[] = "tamis dedup lines [options] [FILE...]";

static const char lines_about[] =
	"Removes, ccNet-style, the lines that occur more than --max-count times\n"
	"(default 6) in a bucket of --bucket documents (default 30000000): lines\n"
	"are compared normalised (NFKC, case folded, punctuation removed, white\n"
	"space collapsed); blank lines are kept.  A document left without a\n"
	"non-blank line is removed.  Reads its input twice per bucket.\n";

static const char minhash_about[] =
	"Removes near-duplicates: documents whose MinHash signatures (word 5-gram\n"
	"shingles of the normalised text, 14 bands x 8 rows) share a band are\n"
	"joined into clusters, and each cluster keeps its first document.  Reads\n"
	"its input twice (standard input is spooled); the cluster stages sign,\n"
	"bucket, cluster and apply keep exactly the same documents.\n";
static const char sign_about[] =
	"Cluster stage 1: writes the band keys of every document of FILE to SIG\n"
	"(docs/DEDUP.md), numbered in input order as minhash numbers them.\n";
static const char bucket_about[] =
	"Cluster stage 2: for bands A to B (0-based), sorts the band keys of all\n"
	"SIG files (given in input order) and writes the pairs of documents that\n"
	"share one: each to the first document with that key.\n";
static const char cluster_about[] =
	"Cluster stage 3: union-find over the pairs of all PAIRS files; writes the\n"
	"numbers of the documents that are not the first of their cluster, one\n"
	"per line, ascending.\n";
static const char apply_about[] =
	"Cluster stage 4: copies the documents of the FILEs (numbered from --start\n"
	"in input order) except those listed in REMOVE.\n";

static const char url_about[] =
	"Keeps, of all documents whose metadata.url is the same once normalised\n"
	"(docs/DEDUP.md), the most recent capture (metadata.warc_date; the first\n"
	"in input order among equals).  Documents without a usable URL are kept\n"
	"and counted.  Reads its input twice (standard input is spooled to a\n"
	"temporary file); output in input order.\n";

static const char exact_about[] =
	"Keeps the first of all documents whose text is the same once normalised\n"
	"(NFKC, case folded, punctuation removed, white space collapsed): the key\n"
	"is XXH3-128 of that form.  One pass, output in input order.\n";

static const char *opt_out, *opt_bands_range, *opt_remove;
/* unset (-1, UINT64_MAX, NAN) until dedup_config(): the command line wins,
 * then pipeline.conf [dedup], then the defaults */
static long opt_bands = -1, opt_rows = -1, opt_ngram = -1, opt_max_count = -1;
static uint64_t opt_seed = UINT64_MAX, opt_start, opt_bucket = UINT64_MAX,
		opt_mem = UINT64_MAX;
static double opt_verify = NAN;
static bool opt_stats_docs;
static struct tm_cmd_common cc = TM_CMD_COMMON_INIT;

#define DEDUP_OPTS \
	{ TM_OPT_STRING, 'o', "output", &opt_out, "FILE", \
	  "write to FILE (.gz/.zst compress) instead of stdout" }, \
	TM_OPT_DOC_STAGE(&cc, &opt_stats_docs)

static const struct tm_option opts[] = { DEDUP_OPTS };

#define SHAPE_OPTS \
	{ TM_OPT_INT, 0, "bands", &opt_bands, "B", "LSH bands (default 14)" }, \
	{ TM_OPT_INT, 0, "rows", &opt_rows, "R", "rows per band (default 8)" }, \
	{ TM_OPT_INT, 0, "ngram", &opt_ngram, "N", "words per shingle (default 5)" }, \
	{ TM_OPT_U64, 0, "seed", &opt_seed, "S", "hash seed (default 1)" }, \
	{ TM_OPT_DOUBLE, 0, "verify", &opt_verify, "T", \
	  "join candidates only when >= T of their signatures agree (default 0.75; 0: plain LSH)" }

static const struct tm_option minhash_opts[] = { SHAPE_OPTS, DEDUP_OPTS };
static const struct tm_option bucket_opts[] = {
	{ TM_OPT_STRING, 0, "bands", &opt_bands_range, "A-B", "the bands to bucket (required)" },
	{ TM_OPT_SIZE, 0, "mem", &opt_mem, "SIZE",
	  "sort in memory up to SIZE, beyond in sorted runs on disk (default 1G)" },
	DEDUP_OPTS };
static const struct tm_option lines_opts[] = {
	{ TM_OPT_INT, 0, "max-count", &opt_max_count, "N",
	  "remove lines occurring more than N times in a bucket (default 6)" },
	{ TM_OPT_U64, 0, "bucket", &opt_bucket, "M", "documents per bucket (default 30000000)" },
	DEDUP_OPTS };
static const struct tm_option apply_opts[] = {
	{ TM_OPT_STRING, 0, "remove", &opt_remove, "REMOVE", "the list from tamis dedup cluster" },
	{ TM_OPT_U64, 0, "start", &opt_start, "N", "the number of the first document (default 0)" },
	DEDUP_OPTS };

struct run {
	const char *stage;
	struct tm_stats *stats;
	struct tm_progress *progress;
	struct tm_writer *w;
	struct tm_jsonl_reader *jr;	/* the input being read */
	struct tm_hmap *map;
	struct tm_norm *norm;
	struct tm_buf scratch;
	struct tm_minhash *mh;
	struct tm_lsh *lsh;
	uint32_t sig[TM_MINHASH_MAX_BANDS * TM_MINHASH_MAX_ROWS];
	uint64_t keys[TM_MINHASH_MAX_BANDS];
	uint64_t bucket_lo, bucket_hi;	/* lines: the documents of this bucket */
	uint64_t lines_removed, line_bytes_removed;
	uint64_t kept_lines;		/* lines: of the current document */
	struct tm_buf text, outline;
	uint64_t *remove;	/* apply: sorted document numbers */
	size_t nremove;
	uint64_t index;		/* documents read, over all inputs */
	uint64_t total;		/* documents in all inputs (after a scan) */
	uint64_t docs_in, docs_out, bytes_in, bytes_out, removed, removed_bytes;
	long malformed;
	int status;
};

static struct run R;

/* The text of the current document (it may have been scanned, not parsed). */
static const char *doc_text(const struct tm_doc *doc, size_t *len)
{
	return tm_jsonl_text(R.jr, doc, len);
}

/* The whole current document, parsed now if it was only scanned. */
static struct tm_doc *whole(struct tm_doc *doc)
{
	tm_jsonl_load(R.jr, doc);
	return doc;
}

/* Seconds since 1970 of an ISO 8601 UTC time "YYYY-MM-DDThh:mm:ss...", or 0. */
static int64_t iso_seconds(const char *s)
{
	int y, mo, d, h = 0, mi = 0, se = 0;
	int64_t days;

	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &se) < 3)
		return 0;
	/* days from civil (H. Hinnant) */
	y -= mo <= 2;
	{
		int64_t era = (y >= 0 ? y : y - 399) / 400;
		unsigned yoe = (unsigned)(y - era * 400);
		unsigned doy = (153u * (unsigned)(mo + (mo > 2 ? -3 : 9)) + 2) / 5 + (unsigned)d - 1;
		unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

		days = era * 146097 + (int64_t)doe - 719468;
	}
	return days * 86400 + h * 3600 + mi * 60 + se;
}

/*
 * Reads every document of `path`, calling fn for each; malformed lines are
 * reported (file:line), counted and skipped.  Returns -1 on a read
 * failure or too many errors.
 */
static int url_scan(struct tm_doc *doc, const struct tm_buf *line);
static int url_apply(struct tm_doc *doc, const struct tm_buf *line);

static int each_doc(const char *path, int fd, bool quiet,
		    int (*fn)(struct tm_doc *doc, const struct tm_buf *line))
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_reader *in;
	struct tm_jsonl_reader jr;
	struct tm_doc doc = TM_DOC_INIT;
	int rc, status = 0;

	if (fd >= 0 && lseek(fd, 0, SEEK_SET) < 0)
		die("rewinding the spooled standard input: %s", strerror(errno));
	if ((fd >= 0 ? tm_reader_open_fd(fd, "-", 0, &in, &err) :
		       tm_reader_open(path, &in, &err)) < 0) {
		warn_err(&err);
		return -1;
	}
	tm_jsonl_init(&jr, in);
	/* url reads metadata; the rest mostly only "text" */
	tm_jsonl_set_text_first(&jr, fn != url_scan && fn != url_apply);
	R.jr = &jr;
	while ((rc = tm_jsonl_next(&jr, &doc, &err)) != 0) {
		if (rc == TM_EIO || rc == TM_ECODEC) {
			warn_err(&err);
			status = -1;
			break;
		}
		if (rc < 0 && quiet)
			continue;	/* the second pass reports it */
		if (rc < 0) {
			warn_err(&err);
			tm_stats_remove(R.stats, "dedup.malformed", 1, 0);
			if (tm_cmd_too_many_errors(&cc, ++R.malformed)) {
				R.status = TM_EXIT_BADINPUT;
				status = -1;
				break;
			}
			continue;
		}
		if (fn(&doc, &jr.line) < 0) {
			status = -1;
			break;
		}
		tm_progress_set(R.progress, R.index, tm_reader_raw_consumed(in));
	}
	tm_doc_release(&doc);
	R.jr = NULL;
	tm_jsonl_release(&jr);
	tm_reader_free(in);
	return status;
}

static int emit(struct tm_doc *doc, const struct tm_buf *line, bool keep, const char *reason)
{
	struct tm_err err = TM_ERR_INIT;

	R.docs_in++;
	R.bytes_in += line->len + 1;
	if (opt_stats_docs && tm_doc_id(whole(doc)))
		tm_stats_doc(R.stats, tm_doc_id(doc), keep, reason, NAN,
			     tm_doc_meta_str(doc, "url"));
	if (!keep) {
		R.removed++;
		R.removed_bytes += line->len + 1;
		tm_stats_remove(R.stats, reason, 1, line->len + 1);
		return 0;
	}
	R.docs_out++;
	R.bytes_out += line->len + 1;
	if (tm_writer_write(R.w, line->buf, line->len, &err) < 0 ||
	    tm_writer_write(R.w, "\n", 1, &err) < 0) {
		warn_err(&err);
		R.status = TM_EXIT_FAIL;
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------- exact */

static int exact_doc(struct tm_doc *doc, const struct tm_buf *line)
{
	size_t len;
	const char *text = doc_text(doc, &len);
	XXH128_hash_t h;
	bool created;

	R.index++;
	tm_buf_reset(&R.scratch);
	tm_norm_text(R.norm, text, len, &R.scratch);
	h = XXH3_128bits(R.scratch.buf, R.scratch.len);
	tm_hmap_put(R.map, tm_hmap_key(h.low64, h.high64), &created);
	return emit(doc, line, created, "dedup.exact.duplicate");
}

/* ---------------------------------------------------------------- url */

static bool url_key(struct tm_doc *doc, struct tm_hkey *k)
{
	const char *url = tm_doc_meta_str(doc, "url");
	XXH128_hash_t h;

	if (!url)
		return false;
	tm_buf_reset(&R.scratch);
	if (tm_url_norm(url, &R.scratch) < 0)
		return false;
	h = XXH3_128bits(R.scratch.buf, R.scratch.len);
	*k = tm_hmap_key(h.low64, h.high64);
	return true;
}

/* Pass 1: the best capture per URL: value a = its index + 1, b = its time. */
static int url_scan(struct tm_doc *doc, const struct tm_buf *line)
{
	struct tm_hkey k;
	struct tm_hval *v;
	bool created;
	int64_t t;

	(void)line;
	R.index++;
	if (!url_key(doc, &k))
		return 0;
	t = iso_seconds(tm_doc_meta_str(doc, "warc_date"));
	v = tm_hmap_put(R.map, k, &created);
	if (created || t > (int64_t)v->b) {
		v->a = R.index;
		v->b = (uint64_t)t;
	}
	return 0;
}

/* Pass 2: keep the chosen capture of each URL and every document without one. */
static int url_apply(struct tm_doc *doc, const struct tm_buf *line)
{
	struct tm_hkey k;
	struct tm_hval *v;

	R.index++;
	if (!url_key(doc, &k)) {
		tm_stats_count(R.stats, tm_doc_meta_str(doc, "url") ? "dedup.url.unusable_url" :
				"dedup.url.no_url", 1);
		return emit(doc, line, true, NULL);
	}
	v = tm_hmap_get(R.map, k);
	return emit(doc, line, v && v->a == R.index, "dedup.url.older_capture");
}

/* ---------------------------------------------------------------- minhash */

#define SIG_MAGIC "TMSIG001"
#define SIG_END "TMSIGEND"
#define PAIRS_MAGIC "TMPAIRS1"

static int minhash_scan(struct tm_doc *doc, const struct tm_buf *line)
{
	size_t len;
	const char *text = doc_text(doc, &len);

	(void)line;
	R.index++;
	tm_lsh_add(R.lsh, tm_minhash_sign(R.mh, text, len, R.sig, R.keys) ? R.keys : NULL,
		   R.sig);
	return 0;
}

static int minhash_apply(struct tm_doc *doc, const struct tm_buf *line)
{
	uint64_t i = R.index++;

	return emit(doc, line, tm_uf_find(tm_lsh_uf(R.lsh), i) == i,
		    "dedup.minhash.near_duplicate");
}

/* The cluster sizes, into the histogram dedup.minhash.cluster_size. */
static void cluster_sizes(void)
{
	struct tm_uf *uf = tm_lsh_uf(R.lsh);
	uint64_t n = tm_lsh_count(R.lsh), i, clusters = 0;
	uint32_t *size = tm_xcalloc(n ? n : 1, sizeof(*size));

	for (i = 0; i < n; i++)
		size[tm_uf_find(uf, i)]++;
	tm_stats_hist_def(R.stats, "dedup.minhash.cluster_size", TM_HIST_LOG2, 1, 1 << 20, 20);
	for (i = 0; i < n; i++) {
		if (size[i] > 1) {
			tm_stats_hist_add(R.stats, "dedup.minhash.cluster_size", size[i]);
			clusters++;
		}
	}
	tm_stats_count(R.stats, "dedup.minhash.clusters", (int64_t)clusters);
	free(size);
}

static void put_u32(struct tm_buf *b, uint32_t v)
{
	tm_buf_add(b, &v, 4);	/* host order = little-endian (docs/DEDUP.md) */
}

static void put_u64(struct tm_buf *b, uint64_t v)
{
	tm_buf_add(b, &v, 8);
}

static int sign_doc(struct tm_doc *doc, const struct tm_buf *line)
{
	struct tm_err err = TM_ERR_INIT;
	size_t len;
	const char *text = doc_text(doc, &len);
	uint64_t has = tm_minhash_sign(R.mh, text, len, R.sig, R.keys) ? 1 : 0;
	int j;

	R.index++;
	R.docs_in++;
	R.bytes_in += line->len + 1;
	tm_buf_reset(&R.scratch);
	put_u64(&R.scratch, has);
	for (j = 0; j < opt_bands; j++)
		put_u64(&R.scratch, has ? R.keys[j] : 0);
	if (opt_verify > 0)
		for (j = 0; j < opt_bands * opt_rows; j++)
			put_u32(&R.scratch, has ? R.sig[j] : 0);
	if (tm_writer_write(R.w, R.scratch.buf, R.scratch.len, &err) < 0) {
		warn_err(&err);
		R.status = TM_EXIT_FAIL;
		return -1;
	}
	return 0;
}

static int apply_doc(struct tm_doc *doc, const struct tm_buf *line)
{
	uint64_t i = opt_start + R.index++;
	size_t lo = 0, hi = R.nremove;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (R.remove[mid] < i)
			lo = mid + 1;
		else
			hi = mid;
	}
	return emit(doc, line, !(lo < R.nremove && R.remove[lo] == i),
		    "dedup.minhash.near_duplicate");
}

static void load_remove(const char *path)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_reader *in;
	struct tm_buf line = TM_BUF_INIT;
	size_t cap = 0;
	long lineno = 0;
	int rc;

	if (tm_reader_open(path, &in, &err) < 0)
		die_err(&err);
	while ((rc = tm_reader_getline(in, &line, 64, true, &err)) > 0) {
		char *end;
		unsigned long long v;

		lineno++;
		errno = 0;
		v = strtoull(line.buf, &end, 10);
		if (!line.len || *end || errno ||
		    (R.nremove && v <= R.remove[R.nremove - 1]))
			die("%s: line %ld: expected a document number above the previous "
			    "one, got '%s'", path, lineno, line.buf);
		if (R.nremove == cap) {
			cap = cap ? 2 * cap : 1024;
			R.remove = tm_xrealloc(R.remove, cap * sizeof(*R.remove));
		}
		R.remove[R.nremove++] = v;
	}
	if (rc < 0)
		die_err(&err);
	tm_buf_release(&line);
	tm_reader_free(in);
}

/* ---------------------------------------------------------------- lines */

/*
 * Calls fn(line, len, hash) for each '\n'-separated line of text whose
 * normalised form is not empty; hash is XXH3-64 of that form.
 */
static void each_line(const char *text, size_t len,
		      void (*fn)(const char *line, size_t llen, uint64_t hash, void *arg), void *arg)
{
	size_t a = 0;

	for (;;) {
		const char *nl = memchr(text + a, '\n', len - a);
		size_t b = nl ? (size_t)(nl - text) : len;

		tm_buf_reset(&R.scratch);
		tm_norm_text(R.norm, text + a, b - a, &R.scratch);
		fn(text + a, b - a, R.scratch.len ? XXH3_64bits_withSeed(R.scratch.buf,
			R.scratch.len, opt_seed) : 0, arg);
		if (!nl)
			break;
		a = b + 1;
	}
}

static void count_line(const char *line, size_t llen, uint64_t hash, void *arg)
{
	bool created;

	(void)line;
	(void)llen;
	(void)arg;
	if (hash)
		tm_hmap_put(R.map, tm_hmap_key(hash, 0), &created)->a++;
}

static int lines_scan(struct tm_doc *doc, const struct tm_buf *line)
{
	size_t len;
	const char *text;
	uint64_t i = R.index++;

	(void)line;
	if (i < R.bucket_lo || i >= R.bucket_hi)
		return 0;
	text = doc_text(doc, &len);
	each_line(text, len, count_line, NULL);
	return 0;
}

static void keep_line(const char *line, size_t llen, uint64_t hash, void *arg)
{
	struct tm_hval *v = hash ? tm_hmap_get(R.map, tm_hmap_key(hash, 0)) : NULL;
	bool *any = arg;

	if (v && v->a > (uint64_t)opt_max_count) {
		R.lines_removed++;
		R.line_bytes_removed += llen + 1;
		return;
	}
	if (R.kept_lines++)
		tm_buf_addch(&R.text, '\n');
	tm_buf_add(&R.text, line, llen);
	*any = *any || hash;
}

static int lines_apply(struct tm_doc *doc, const struct tm_buf *line)
{
	struct tm_err err = TM_ERR_INIT;
	size_t len;
	const char *text;
	uint64_t i = R.index++, before = R.lines_removed;
	bool any = false;

	if (i < R.bucket_lo || i >= R.bucket_hi)
		return 0;
	text = doc_text(doc, &len);
	tm_buf_reset(&R.text);
	R.kept_lines = 0;
	each_line(text, len, keep_line, &any);
	if (R.lines_removed == before)
		return emit(doc, line, true, NULL);
	if (!any)
		return emit(doc, line, false, "dedup.lines.no_line_left");
	if (tm_doc_set_text(whole(doc), R.text.buf, R.text.len, &err) < 0)
		BUG("lines of valid text are valid: %s", err.msg);
	tm_buf_reset(&R.outline);
	tm_doc_write(doc, &R.outline);
	tm_buf_setlen(&R.outline, R.outline.len - 1);	/* emit() adds the newline */
	return emit(doc, &R.outline, true, NULL);
}

/* Standard input, copied to a temporary file so that it can be read twice. */
static int spool_stdin(void)
{
	const char *dir = getenv("TMPDIR");
	struct tm_buf path = TM_BUF_INIT;
	char buf[1 << 16];
	ssize_t n;
	int fd;

	if (!dir || !*dir)
		dir = "/tmp";
	tm_buf_addf(&path, "%s/tamis-dedup-XXXXXX", dir);
	if ((fd = mkstemp(path.buf)) < 0)
		die("cannot create a temporary file in %s: %s", dir, strerror(errno));
	unlink(path.buf);	/* gone whatever happens; read through /proc/self/fd */
	while ((n = read(0, buf, sizeof(buf))) > 0)
		if (write(fd, buf, (size_t)n) != n)
			die("writing the spool file in %s: %s", dir, strerror(errno));
	if (n < 0)
		die("reading standard input: %s", strerror(errno));
	tm_buf_release(&path);
	return fd;
}

/* Settings: the command line wins, then pipeline.conf [dedup], then defaults. */
static void dedup_config(void)
{
	struct tm_ini *ini = tm_cmd_load(&cc);
	struct tm_err err = TM_ERR_INIT;
	int64_t bands, rows, ngram, seed, max_count, bucket;
	uint64_t mem;
	double verify;

	if (tm_ini_get_int(ini, "dedup", NULL, "bands", 14, &bands, &err) < 0 ||
	    tm_ini_get_int(ini, "dedup", NULL, "rows", 8, &rows, &err) < 0 ||
	    tm_ini_get_int(ini, "dedup", NULL, "ngram", 5, &ngram, &err) < 0 ||
	    tm_ini_get_int(ini, "dedup", NULL, "seed", 1, &seed, &err) < 0 ||
	    tm_ini_get_double(ini, "dedup", NULL, "verify", 0.75, &verify, &err) < 0 ||
	    tm_ini_get_int(ini, "dedup", NULL, "line_max_count", 6, &max_count, &err) < 0 ||
	    tm_ini_get_int(ini, "dedup", NULL, "line_bucket", 30000000, &bucket, &err) < 0 ||
	    tm_ini_get_size(ini, "dedup", NULL, "bucket_mem", (uint64_t)1 << 30, &mem, &err) < 0) {
		warn_err(&err);
		exit(TM_EXIT_USAGE);
	}
	tm_ini_free(ini);
	if (opt_bands < 0)
		opt_bands = (long)bands;
	if (opt_rows < 0)
		opt_rows = (long)rows;
	if (opt_ngram < 0)
		opt_ngram = (long)ngram;
	if (opt_seed == UINT64_MAX)
		opt_seed = (uint64_t)seed;
	if (isnan(opt_verify))
		opt_verify = verify;
	if (opt_max_count < 0)
		opt_max_count = (long)max_count;
	if (opt_bucket == UINT64_MAX)
		opt_bucket = bucket > 0 ? (uint64_t)bucket : 0;
	if (opt_mem == UINT64_MAX)
		opt_mem = mem;
}

typedef int (*doc_fn)(struct tm_doc *doc, const struct tm_buf *line);

/*
 * One document stage: `scan` (may be NULL) reads every input first, then
 * `apply` reads them again and decides; output to -o or stdout.
 */
static int run(const char *stage, int argc, char **argv, doc_fn scan, doc_fn apply)
{
	struct tm_err err = TM_ERR_INIT;
	char *stdin_only[] = { (char *)"-", NULL };
	char **files = argc > 1 ? argv + 1 : stdin_only;
	int nfiles = argc > 1 ? argc - 1 : 1, i;
	int spool = -1;

	dedup_config();
	R.stage = stage;
	R.map = tm_hmap_new(1 << 16);
	R.norm = tm_norm_new();
	tm_buf_init(&R.scratch, 0);
	tm_buf_init(&R.text, 0);
	tm_buf_init(&R.outline, 0);
	if (scan == lines_scan && (opt_max_count < 1 || opt_bucket < 1))
		die("--max-count and --bucket must be at least 1");
	if (scan == minhash_scan || apply == sign_doc) {
		struct tm_minhash_opts mo = TM_MINHASH_OPTS_INIT;

		if (opt_bands < 1 || opt_bands > TM_MINHASH_MAX_BANDS || opt_rows < 1 ||
		    opt_rows > TM_MINHASH_MAX_ROWS || opt_ngram < 1 || opt_ngram > 100)
			die("--bands 1..%d, --rows 1..%d and --ngram 1..100 expected",
			    TM_MINHASH_MAX_BANDS, TM_MINHASH_MAX_ROWS);
		mo.bands = (int)opt_bands;
		mo.rows = (int)opt_rows;
		mo.ngram = (int)opt_ngram;
		mo.seed = opt_seed;
		R.mh = tm_minhash_new(&mo);
		if (!(opt_verify >= 0 && opt_verify <= 1))
			die("--verify expects 0..1, got %g", opt_verify);
		R.lsh = tm_lsh_new(mo.bands, mo.bands * mo.rows,
				   tm_sig_need(opt_verify, mo.bands * mo.rows));
	}
	if (apply == apply_doc)
		load_remove(opt_remove);
	if (scan && nfiles == 1 && !strcmp(files[0], "-"))
		spool = spool_stdin();
	if (cc.stats && tm_stats_open(cc.stats, stage, argc, argv, &R.stats, &err) < 0)
		die_err(&err);
	tm_stats_set_docs(R.stats, opt_stats_docs);
	if (tm_writer_open(opt_out, TM_CODEC_AUTO, 0, &R.w, &err) < 0)
		die_err(&err);
	if (apply == sign_doc) {
		tm_buf_reset(&R.scratch);
		tm_buf_add(&R.scratch, SIG_MAGIC, 8);
		put_u32(&R.scratch, (uint32_t)opt_bands);
		put_u32(&R.scratch, (uint32_t)opt_rows);
		put_u32(&R.scratch, (uint32_t)opt_ngram);
		/* the agreement a candidate pair needs; > 0: signatures follow keys */
		put_u32(&R.scratch, (uint32_t)tm_sig_need(opt_verify, (int)(opt_bands * opt_rows)));
		put_u64(&R.scratch, opt_seed);
		if (tm_writer_write(R.w, R.scratch.buf, R.scratch.len, &err) < 0)
			die_err(&err);
	}
	R.progress = tm_cmd_progress(&cc, stage, files, nfiles);
	for (i = 0; i < nfiles; i++)
		tm_stats_add_input(R.stats, files[i]);
	R.bucket_lo = 0;
	R.bucket_hi = scan == lines_scan ? opt_bucket : UINT64_MAX;
	do {
		if (scan) {
			for (i = 0; i < nfiles && !R.status; i++)
				if (each_doc(files[i], spool, true, scan) < 0 && !R.status)
					R.status = TM_EXIT_FAIL;
			R.total = R.index;
			R.index = 0;
			R.malformed = 0;
			if (scan == minhash_scan)
				cluster_sizes();
		}
		for (i = 0; i < nfiles && !R.status; i++)
			if (each_doc(files[i], spool, false, apply) < 0 && !R.status)
				R.status = TM_EXIT_FAIL;
		if (scan != lines_scan || R.bucket_hi >= R.total)
			break;
		/* the next bucket: the map starts afresh, memory bounded by one bucket */
		tm_hmap_free(R.map);
		R.map = tm_hmap_new(1 << 16);
		R.bucket_lo = R.bucket_hi;
		R.bucket_hi = R.bucket_hi + opt_bucket;
		R.index = 0;
	} while (!R.status);
	if (scan == lines_scan) {
		tm_stats_count(R.stats, "dedup.lines.removed_lines", (int64_t)R.lines_removed);
		tm_stats_count(R.stats, "dedup.lines.removed_bytes",
			       (int64_t)R.line_bytes_removed);
	}
	if (apply == sign_doc && !R.status) {
		tm_buf_reset(&R.scratch);
		put_u64(&R.scratch, R.index);
		tm_buf_add(&R.scratch, SIG_END, 8);
		if (tm_writer_write(R.w, R.scratch.buf, R.scratch.len, &err) < 0) {
			warn_err(&err);
			R.status = TM_EXIT_FAIL;
		}
	}
	tm_progress_done(R.progress);
	tm_progress_free(R.progress);
	if (R.status) {
		tm_writer_abort(R.w);
	} else if (tm_writer_commit(R.w, &err) < 0) {
		warn_err(&err);
		R.status = TM_EXIT_FAIL;
	}
	tm_stats_mem_peak(R.stats, tm_hmap_bytes(R.map) + (R.lsh ? tm_lsh_bytes(R.lsh) : 0));
	/* sign removes nothing: every document read is signed (docs out) */
	R.status = tm_cmd_stats_close(R.stats, R.docs_in,
				      apply == sign_doc ? R.docs_in : R.docs_out, R.bytes_in,
				      R.bytes_out, R.status);
	tm_hmap_free(R.map);
	tm_norm_free(R.norm);
	tm_minhash_free(R.mh);
	tm_lsh_free(R.lsh);
	free(R.remove);
	tm_buf_release(&R.scratch);
	tm_buf_release(&R.text);
	tm_buf_release(&R.outline);
	if (spool >= 0)
		close(spool);
	return R.status;
}

/* ---------------------------------------------------------------- bucket, cluster */

struct keydoc {
	uint64_t key, doc;
};

static int cmp_keydoc(const void *a, const void *b)
{
	const struct keydoc *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->doc < y->doc ? -1 : x->doc > y->doc;
}

struct sigfile {
	const char *path;
	FILE *f;
	int fd;
	uint32_t bands, rows, need;
	uint64_t ndocs, first;	/* documents, number of the first */
	size_t rec;		/* bytes per document */
};

static void open_sig(struct sigfile *sf, const char *path, uint64_t first)
{
	unsigned char h[32], t[16];
	uint32_t rows, ngram;
	uint64_t seed;
	long size;

	sf->path = path;
	sf->first = first;
	if (!(sf->f = fopen(path, "rb")))
		die("%s: cannot open: %s", path, strerror(errno));
	if (fread(h, 1, 32, sf->f) != 32 || memcmp(h, SIG_MAGIC, 8))
		die("%s: offset 0: expected a signature file (magic '%s')", path, SIG_MAGIC);
	memcpy(&sf->bands, h + 8, 4);
	memcpy(&rows, h + 12, 4);
	memcpy(&ngram, h + 16, 4);
	memcpy(&sf->need, h + 20, 4);
	memcpy(&seed, h + 24, 8);
	sf->rows = rows;
	if (!sf->bands || sf->bands > TM_MINHASH_MAX_BANDS || !rows ||
	    rows > TM_MINHASH_MAX_ROWS || sf->need > sf->bands * rows)
		die("%s: offset 8: bands %u, rows %u, agreement %u out of range", path,
		    sf->bands, rows, sf->need);
	sf->rec = 8 * (1 + (size_t)sf->bands) + (sf->need ? 4 * (size_t)sf->bands * rows : 0);
	sf->fd = fileno(sf->f);
	if (fseek(sf->f, -16, SEEK_END) < 0 || fread(t, 1, 16, sf->f) != 16 ||
	    memcmp(t + 8, SIG_END, 8) || (size = ftell(sf->f)) < 0)
		die("%s: the end marker '%s' is missing: truncated or still being written",
		    path, SIG_END);
	memcpy(&sf->ndocs, t, 8);
	if ((uint64_t)size != 32 + 16 + sf->ndocs * sf->rec)
		die("%s: %ld bytes do not hold %" PRIu64 " documents of %u bands", path, size,
		    sf->ndocs, sf->bands);
	(void)ngram;
	(void)seed;
}

static bool kd_less(const struct keydoc *x, const struct keydoc *y)
{
	return x->key < y->key || (x->key == y->key && x->doc < y->doc);
}

/*
 * Sorts in place (glibc's qsort() merge-sorts through a copy as large as
 * the array, which would double what --mem promises): quicksort on the
 * median of three, the smaller side first by recursion (depth O(log n)),
 * insertion sort for short ranges.  Keys are hashes, so no adversary.
 */
static void sort_kd(struct keydoc *v, size_t n)
{
	while (n > 16) {
		struct keydoc t, p;
		size_t i = 0, j = n - 1, mid = n / 2;

		if (kd_less(&v[mid], &v[0])) { t = v[mid]; v[mid] = v[0]; v[0] = t; }
		if (kd_less(&v[j], &v[0])) { t = v[j]; v[j] = v[0]; v[0] = t; }
		if (kd_less(&v[j], &v[mid])) { t = v[j]; v[j] = v[mid]; v[mid] = t; }
		p = v[mid];
		for (;;) {
			while (kd_less(&v[i], &p))
				i++;
			while (kd_less(&p, &v[j]))
				j--;
			if (i >= j)
				break;
			t = v[i];
			v[i++] = v[j];
			v[j--] = t;
		}
		/* [0, j] <= p <= [j + 1, n) */
		if (j + 1 < n - j - 1) {
			sort_kd(v, j + 1);
			v += j + 1;
			n -= j + 1;
		} else {
			sort_kd(v + j + 1, n - j - 1);
			n = j + 1;
		}
	}
	for (size_t i = 1; i < n; i++) {
		struct keydoc t = v[i];
		size_t j = i;

		while (j > 0 && kd_less(&t, &v[j - 1])) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = t;
	}
}

/* Where pairs go; the running key and its first document. */
struct pairs_out {
	struct tm_writer *w;
	struct tm_buf *buf;
	uint64_t *pairs;
	bool have;
	uint64_t key, first;
	/* verification: the SIG files, and the first document's signature */
	const struct sigfile *sf;
	int nsf;
	uint32_t fsig[TM_MINHASH_MAX_BANDS * TM_MINHASH_MAX_ROWS];
};

/* Reads document `doc`'s signature from its SIG file. */
static void read_sig(const struct sigfile *sf, int nsf, uint64_t doc, uint32_t *sig)
{
	int i = nsf - 1;
	size_t n = (size_t)sf[0].bands * sf[0].rows;
	off_t off;

	while (i > 0 && sf[i].first > doc)
		i--;
	off = (off_t)(32 + (doc - sf[i].first) * sf[i].rec + 8 * (1 + (size_t)sf[i].bands));
	if (pread(sf[i].fd, sig, 4 * n, off) != (ssize_t)(4 * n))
		die("%s: short read at offset %lld", sf[i].path, (long long)off);
}

/*
 * Takes the records of one band in (key, doc) order: each document pairs
 * with the first one that had its key (linear: no pairs within a run but
 * to its first).  NULL ends the band.
 */
static void pair_step(struct pairs_out *po, const struct keydoc *r)
{
	struct tm_err err = TM_ERR_INIT;

	if (!r) {
		po->have = false;
		return;
	}
	if (!po->have || r->key != po->key) {
		po->have = true;
		po->key = r->key;
		po->first = r->doc;
		po->fsig[0] = 0;
		if (po->sf[0].need)
			read_sig(po->sf, po->nsf, r->doc, po->fsig);
		return;
	}
	if (po->sf[0].need) {
		uint32_t sig[TM_MINHASH_MAX_BANDS * TM_MINHASH_MAX_ROWS];
		int n = (int)(po->sf[0].bands * po->sf[0].rows);

		read_sig(po->sf, po->nsf, r->doc, sig);
		if (tm_sig_agree(po->fsig, sig, n) < (int)po->sf[0].need)
			return;
	}
	put_u64(po->buf, po->first);
	put_u64(po->buf, r->doc);
	(*po->pairs)++;
	if (po->buf->len >= 1 << 20) {
		if (tm_writer_write(po->w, po->buf->buf, po->buf->len, &err) < 0)
			die_err(&err);
		tm_buf_reset(po->buf);
	}
}

/* Sorts kd[0..m) and writes it to an unlinked temporary file, rewound. */
static FILE *write_run(struct keydoc *kd, size_t m)
{
	const char *dir = getenv("TMPDIR");
	struct tm_buf path = TM_BUF_INIT;
	FILE *f;
	int fd;

	if (!dir || !*dir)
		dir = "/tmp";
	tm_buf_addf(&path, "%s/tamis-bucket-XXXXXX", dir);
	if ((fd = mkstemp(path.buf)) < 0 || !(f = fdopen(fd, "w+b")))
		die("cannot create a temporary file for a sorted run in %s: %s", dir,
		    strerror(errno));
	unlink(path.buf);	/* gone when closed, or if we die */
	tm_buf_release(&path);
	sort_kd(kd, m);
	if (fwrite(kd, sizeof(*kd), m, f) != m || fflush(f) || fseek(f, 0, SEEK_SET))
		die("writing a sorted run: %s (is $TMPDIR full?)", strerror(errno));
	return f;
}

/* k-way merge of sorted runs (a binary heap of their heads). */
static void merge_runs(FILE **runs, size_t nruns, struct pairs_out *po)
{
	struct head {
		struct keydoc r;
		size_t run;
	} *h = tm_xmalloc(nruns * sizeof(*h)), t;
	size_t nh = 0, i, c;

	for (i = 0; i < nruns; i++) {
		if (fread(&h[nh].r, sizeof(h[nh].r), 1, runs[i]) == 1) {
			h[nh].run = i;
			/* sift up */
			for (c = nh++; c && cmp_keydoc(&h[c].r, &h[(c - 1) / 2].r) < 0; c = (c - 1) / 2) {
				t = h[c];
				h[c] = h[(c - 1) / 2];
				h[(c - 1) / 2] = t;
			}
		}
	}
	while (nh) {
		pair_step(po, &h[0].r);
		if (fread(&h[0].r, sizeof(h[0].r), 1, runs[h[0].run]) != 1)
			h[0] = h[--nh];
		/* sift down */
		for (i = 0;;) {
			size_t l = 2 * i + 1, r = l + 1, m = i;

			if (l < nh && cmp_keydoc(&h[l].r, &h[m].r) < 0)
				m = l;
			if (r < nh && cmp_keydoc(&h[r].r, &h[m].r) < 0)
				m = r;
			if (m == i)
				break;
			t = h[i];
			h[i] = h[m];
			h[m] = t;
			i = m;
		}
	}
	for (i = 0; i < nruns; i++) {
		if (ferror(runs[i]))
			die("reading a sorted run: %s", strerror(errno));
		fclose(runs[i]);
	}
	free(h);
}

static int bucket_main(int argc, char **argv)
{
	struct tm_err err = TM_ERR_INIT;
	struct sigfile *sf;
	struct tm_writer *w;
	struct tm_buf out = TM_BUF_INIT;
	unsigned a, b;
	uint64_t total = 0, pairs = 0;
	struct keydoc *kd;
	size_t cap;
	int i, n = argc - 1;
	char c;

	tm_cmd_options(bucket_synopsis, bucket_about, bucket_opts, &argc, argv);
	dedup_config();
	n = argc - 1;
	if (!opt_bands_range || sscanf(opt_bands_range, "%u-%u%c", &a, &b, &c) != 2 || a > b)
		usage_error(bucket_synopsis, bucket_opts, "--bands A-B is required (e.g. 0-13)");
	if (n < 1 || !opt_out)
		usage_error(bucket_synopsis, bucket_opts, "SIG files and -o PAIRS are required");
	sf = tm_xcalloc((size_t)n, sizeof(*sf));
	for (i = 0; i < n; i++) {
		open_sig(&sf[i], argv[i + 1], total);
		total += sf[i].ndocs;
		if (sf[i].bands != sf[0].bands || sf[i].rows != sf[0].rows ||
		    sf[i].need != sf[0].need)
			die("%s: %ux%u bands, agreement %u; %s has %ux%u, %u", sf[i].path,
			    sf[i].bands, sf[i].rows, sf[i].need, sf[0].path, sf[0].bands,
			    sf[0].rows, sf[0].need);
		if (b >= sf[i].bands)
			die("--bands %s: the signatures have bands 0-%u", opt_bands_range,
			    sf[i].bands - 1);
	}
	if (tm_writer_open(opt_out, TM_CODEC_AUTO, 0, &w, &err) < 0)
		die_err(&err);
	tm_buf_add(&out, PAIRS_MAGIC, 8);
	put_u64(&out, total);
	cap = TM_MAX(opt_mem / sizeof(struct keydoc), 16);
	cap = TM_MIN(cap, total ? total : 1);
	kd = tm_xmalloc(cap * sizeof(*kd));
	for (unsigned band = a; band <= b; band++) {
		struct pairs_out po = { w, &out, &pairs, false, 0, 0, sf, n, { 0 } };
		FILE **runs = NULL;
		size_t nruns = 0, m = 0;
		uint64_t k, rec[1 + TM_MINHASH_MAX_BANDS + TM_MINHASH_MAX_BANDS * TM_MINHASH_MAX_ROWS / 2];

		for (i = 0; i < n; i++) {
			if (fseek(sf[i].f, 32, SEEK_SET) < 0)
				die("%s: %s", sf[i].path, strerror(errno));
			for (k = 0; k < sf[i].ndocs; k++) {
				if (fread(rec, 1, sf[i].rec, sf[i].f) != sf[i].rec)
					die("%s: short read", sf[i].path);
				if (!rec[0])
					continue;
				if (m == cap) {
					runs = tm_xrealloc(runs, (nruns + 1) * sizeof(*runs));
					runs[nruns++] = write_run(kd, m);
					m = 0;
				}
				kd[m].key = rec[1 + band];
				kd[m++].doc = sf[i].first + k;
			}
		}
		sort_kd(kd, m);
		if (!nruns) {
			for (k = 0; k < m; k++)
				pair_step(&po, &kd[k]);
		} else {
			runs = tm_xrealloc(runs, (nruns + 1) * sizeof(*runs));
			runs[nruns++] = write_run(kd, m);
			merge_runs(runs, nruns, &po);
		}
		pair_step(&po, NULL);
		free(runs);
	}
	free(kd);
	if (tm_writer_write(w, out.buf, out.len, &err) < 0 || tm_writer_commit(w, &err) < 0)
		die_err(&err);
	fprintf(stderr, "%s: bands %u-%u of %" PRIu64 " documents: %" PRIu64 " pairs\n",
		tm_prog, a, b, total, pairs);
	for (i = 0; i < n; i++)
		fclose(sf[i].f);
	free(sf);
	tm_buf_release(&out);
	return 0;
}

static int cluster_main(int argc, char **argv)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_uf *uf = tm_uf_new(0);
	struct tm_writer *w;
	struct tm_buf out = TM_BUF_INIT;
	uint64_t total = 0, i, removed = 0;
	int f;

	tm_cmd_options(cluster_synopsis, cluster_about, opts, &argc, argv);
	dedup_config();
	if (argc < 2 || !opt_out)
		usage_error(cluster_synopsis, opts, "PAIRS files and -o REMOVE are required");
	for (f = 1; f < argc; f++) {
		FILE *in = fopen(argv[f], "rb");
		unsigned char h[16];
		uint64_t p[2], n;

		if (!in)
			die("%s: cannot open: %s", argv[f], strerror(errno));
		if (fread(h, 1, 16, in) != 16 || memcmp(h, PAIRS_MAGIC, 8))
			die("%s: offset 0: expected a pairs file (magic '%s')", argv[f], PAIRS_MAGIC);
		memcpy(&n, h + 8, 8);
		if (total && n != total)
			die("%s: made from %" PRIu64 " documents, the others from %" PRIu64,
			    argv[f], n, total);
		total = n;
		tm_uf_grow(uf, total);
		while (fread(p, 8, 2, in) == 2) {
			if (p[0] >= total || p[1] >= total)
				die("%s: document %" PRIu64 " of %" PRIu64, argv[f],
				    TM_MAX(p[0], p[1]), total);
			tm_uf_union(uf, p[0], p[1]);
		}
		if (ferror(in))
			die("%s: read error", argv[f]);
		fclose(in);
	}
	if (tm_writer_open(opt_out, TM_CODEC_AUTO, 0, &w, &err) < 0)
		die_err(&err);
	for (i = 0; i < total; i++) {
		if (tm_uf_find(uf, i) != i) {
			tm_buf_addf(&out, "%" PRIu64 "\n", i);
			removed++;
		}
		if (out.len >= 1 << 20 || i + 1 == total) {
			if (tm_writer_write(w, out.buf, out.len, &err) < 0)
				die_err(&err);
			tm_buf_reset(&out);
		}
	}
	if (tm_writer_commit(w, &err) < 0)
		die_err(&err);
	fprintf(stderr, "%s: %" PRIu64 " of %" PRIu64 " documents to remove\n", tm_prog,
		removed, total);
	tm_uf_free(uf);
	tm_buf_release(&out);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: %s\n       %s\n       %s\n       %s\n       %s\n"
		"       %s\n       %s\n       %s\n", url_synopsis, exact_synopsis,
		minhash_synopsis, sign_synopsis, bucket_synopsis, cluster_synopsis,
		apply_synopsis, lines_synopsis);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		const char *synopsis, *about;
		const struct tm_option *opts;
		doc_fn scan, apply;
	} cmds[] = {
		{ "url", url_synopsis, url_about, opts, url_scan, url_apply },
		{ "exact", exact_synopsis, exact_about, opts, NULL, exact_doc },
		{ "minhash", minhash_synopsis, minhash_about, minhash_opts, minhash_scan,
		  minhash_apply },
		{ "sign", sign_synopsis, sign_about, minhash_opts, NULL, sign_doc },
		{ "apply", apply_synopsis, apply_about, apply_opts, NULL, apply_doc },
		{ "lines", lines_synopsis, lines_about, lines_opts, lines_scan, lines_apply },
	};
	char prog[64];
	size_t i;

	tm_cmd_init("tamis-dedup");
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? TM_EXIT_USAGE : TM_EXIT_OK;
	}
	snprintf(prog, sizeof(prog), "tamis-dedup %s", argv[1]);
	if (!strcmp(argv[1], "bucket")) {
		tm_cmd_init(prog);
		return bucket_main(argc - 1, argv + 1);
	}
	if (!strcmp(argv[1], "cluster")) {
		tm_cmd_init(prog);
		return cluster_main(argc - 1, argv + 1);
	}
	for (i = 0; i < TM_ARRAY_SIZE(cmds); i++) {
		if (strcmp(argv[1], cmds[i].name))
			continue;
		tm_cmd_init(prog);
		argc--, argv++;
		tm_cmd_options(cmds[i].synopsis, cmds[i].about, cmds[i].opts, &argc, argv);
		if (cmds[i].apply == sign_doc && (argc != 2 || !opt_out))
			usage_error(sign_synopsis, minhash_opts, "one FILE and -o SIG are required");
		if (cmds[i].apply == apply_doc && !opt_remove)
			usage_error(apply_synopsis, apply_opts, "--remove REMOVE is required");
		snprintf(prog, sizeof(prog), "dedup-%s", cmds[i].name);
		return run(prog, argc, argv, cmds[i].scan, cmds[i].apply);
	}
	fprintf(stderr, "tamis-dedup: '%s' is not a dedup command (url, exact, minhash, sign, "
		"bucket, cluster, apply, lines).\nTry 'tamis dedup --help'.\n",
		argv[1]);
	return TM_EXIT_USAGE;
}
