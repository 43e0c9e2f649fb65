/*
 * dedup.c: tamis-dedup url and exact (minhash and lines: to come).
 */
#include "tamis.h"
#include "common.h"
#include "doc.h"
#include "hmap.h"
#include "ini.h"
#include "jsonl.h"
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

static const char *opt_out;
static bool opt_stats_docs;
static struct tm_cmd_common cc = TM_CMD_COMMON_INIT;

#define DEDUP_OPTS \
	{ TM_OPT_STRING, 'o', "output", &opt_out, "FILE", \
	  "write to FILE (.gz/.zst compress) instead of stdout" }, \
	{ TM_OPT_INT, 0, "max-errors", &cc.max_errors, "N", \
	  "stop with exit 3 after more than N malformed lines (default: no limit)" }, \
	{ TM_OPT_STRING, 0, "stats", &cc.stats, "FILE", "record the run in this stats database" }, \
	{ TM_OPT_FLAG, 0, "stats-docs", &opt_stats_docs, NULL, \
	  "also record every document's decision (id, kept or reason)" }, \
	{ TM_OPT_FLAG, 0, "progress", &cc.progress, NULL, \
	  "show progress on stderr even when it is not a terminal" }, \
	TM_OPT_CONFIG(&cc.config, &cc.overrides), \
	TM_OPT_END_MARK

static const struct tm_option opts[] = { DEDUP_OPTS };

struct run {
	const char *stage;
	struct tm_stats *stats;
	struct tm_progress *progress;
	struct tm_writer *w;
	struct tm_hmap *map;
	struct tm_norm *norm;
	struct tm_buf scratch;
	uint64_t index;		/* documents read, over all inputs */
	uint64_t docs_in, docs_out, bytes_in, bytes_out, removed, removed_bytes;
	long malformed;
	int status;
};

static struct run R;

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
	tm_jsonl_release(&jr);
	tm_reader_free(in);
	return status;
}

static int emit(struct tm_doc *doc, const struct tm_buf *line, bool keep, const char *reason)
{
	struct tm_err err = TM_ERR_INIT;

	R.docs_in++;
	R.bytes_in += line->len + 1;
	if (opt_stats_docs && tm_doc_id(doc))
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
	const char *text = tm_doc_text(doc, &len);
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

static int run(const char *stage, int argc, char **argv, bool twice)
{
	struct tm_err err = TM_ERR_INIT;
	char *stdin_only[] = { (char *)"-", NULL };
	char **files = argc > 1 ? argv + 1 : stdin_only;
	int nfiles = argc > 1 ? argc - 1 : 1, i;
	int spool = -1;

	tm_ini_free(tm_cmd_load(&cc));
	R.stage = stage;
	R.map = tm_hmap_new(1 << 16);
	R.norm = tm_norm_new();
	tm_buf_init(&R.scratch, 0);
	if (twice && nfiles == 1 && !strcmp(files[0], "-"))
		spool = spool_stdin();
	if (cc.stats && tm_stats_open(cc.stats, stage, argc, argv, &R.stats, &err) < 0)
		die_err(&err);
	tm_stats_set_docs(R.stats, opt_stats_docs);
	if (tm_writer_open(opt_out, TM_CODEC_AUTO, 0, &R.w, &err) < 0)
		die_err(&err);
	R.progress = tm_cmd_progress(&cc, stage, files, nfiles);
	if (twice) {
		for (i = 0; i < nfiles && !R.status; i++)
			if (each_doc(files[i], spool, true, url_scan) < 0 && !R.status)
				R.status = TM_EXIT_FAIL;
		R.index = 0;
		R.malformed = 0;
	}
	for (i = 0; i < nfiles && !R.status; i++) {
		tm_stats_add_input(R.stats, files[i]);
		if (each_doc(files[i], spool, false, twice ? url_apply : exact_doc) < 0 &&
		    !R.status)
			R.status = TM_EXIT_FAIL;
	}
	tm_progress_done(R.progress);
	tm_progress_free(R.progress);
	if (R.status) {
		tm_writer_abort(R.w);
	} else if (tm_writer_commit(R.w, &err) < 0) {
		warn_err(&err);
		R.status = TM_EXIT_FAIL;
	}
	tm_stats_mem_peak(R.stats, tm_hmap_bytes(R.map));
	R.status = tm_cmd_stats_close(R.stats, R.docs_in, R.docs_out, R.bytes_in,
				      R.bytes_out, R.status);
	tm_hmap_free(R.map);
	tm_norm_free(R.norm);
	tm_buf_release(&R.scratch);
	if (spool >= 0)
		close(spool);
	return R.status;
}

static void usage(void)
{
	fprintf(stderr, "usage: %s\n       %s\n", url_synopsis, exact_synopsis);
}

int main(int argc, char **argv)
{
	tm_cmd_init("tamis-dedup");
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage();
		return argc < 2 ? TM_EXIT_USAGE : TM_EXIT_OK;
	}
	if (!strcmp(argv[1], "url")) {
		tm_cmd_init("tamis-dedup url");
		argc--, argv++;
		tm_cmd_options(url_synopsis, url_about, opts, &argc, argv);
		return run("dedup-url", argc, argv, true);
	}
	if (!strcmp(argv[1], "exact")) {
		tm_cmd_init("tamis-dedup exact");
		argc--, argv++;
		tm_cmd_options(exact_synopsis, exact_about, opts, &argc, argv);
		return run("dedup-exact", argc, argv, false);
	}
	fprintf(stderr, "tamis-dedup: '%s' is not a dedup command (url, exact; minhash and "
		"lines are not built yet).\nTry 'tamis dedup --help'.\n", argv[1]);
	return TM_EXIT_USAGE;
}
