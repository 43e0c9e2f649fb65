/*
 * extract.c: tamis-extract, WARC/WET records (or bare HTML files) to
 * main-content documents, one JSON line each, in input order.
 */
#include "tamis.h"
#include "common.h"
#include "extract.h"
#include "ini.h"
#include "pool.h"
#include "progress.h"
#include "stats.h"
#include "stream.h"
#include "warc.h"

#include <sys/stat.h>

static const char synopsis[] = "tamis extract [options] [FILE...]";

static const char about[] =
	"Turns the HTML responses (HTTP 200, HTML content types) of WARC files into\n"
	"documents holding the page's main text, boilerplate removed; WET\n"
	"conversion records become documents as they are.  Input: WARC or WET,\n"
	"any compression, files or standard input; with --html, bare HTML files.\n"
	"Output: JSON Lines documents (docs/DOCUMENTS.md) on stdout or -o FILE,\n"
	"in input order whatever -j.  Every record is counted in --stats: by type,\n"
	"and each skipped one under its reason.\n";

static bool opt_html, opt_keep_trunc, opt_whole, opt_stats_docs;
static int opt_verbose;
static const char *opt_out, *opt_status, *opt_source;
static uint64_t opt_max_html = UINT64_MAX;
static struct tm_cmd_common cc = TM_CMD_COMMON_INIT;

static const struct tm_option opts[] = {
	{ TM_OPT_STRING, 'o', "output", &opt_out, "FILE",
	  "write documents to FILE (.gz/.zst compress) instead of stdout" },
	{ TM_OPT_INT, 'j', "jobs", &cc.threads, "N", "worker threads (default: all cores)" },
	{ TM_OPT_FLAG, 0, "html", &opt_html, NULL,
	  "inputs are bare HTML files (.html or .html.gz); id = file name stem" },
	{ TM_OPT_STRING, 0, "status", &opt_status, "LIST",
	  "accepted HTTP statuses, comma-separated (default 200)" },
	{ TM_OPT_FLAG, 0, "keep-truncated", &opt_keep_trunc, NULL,
	  "also extract records cut short (WARC-Truncated, damaged)" },
	{ TM_OPT_FLAG, 0, "whole-page", &opt_whole, NULL,
	  "all visible text of the page, without boilerplate removal" },
	{ TM_OPT_SIZE, 0, "max-html", &opt_max_html, "SIZE",
	  "skip decoded HTML larger than SIZE (default 16M)" },
	{ TM_OPT_SIZE, 0, "max-record", &cc.max_record, "SIZE",
	  "skip WARC record blocks larger than SIZE unread (default 64M)" },
	{ TM_OPT_STRING, 0, "source", &opt_source, "NAME",
	  "the documents' \"source\" field (default \"web\")" },
	{ TM_OPT_INT, 0, "max-errors", &cc.max_errors, "N",
	  "stop with exit 3 after more than N damaged records (default: no limit)" },
	{ TM_OPT_STRING, 0, "stats", &cc.stats, "FILE", "record the run in this stats database" },
	{ TM_OPT_FLAG, 0, "stats-docs", &opt_stats_docs, NULL,
	  "also record every record's decision (id, kept or reason, url) in --stats" },
	{ TM_OPT_COUNT, 'v', "verbose", &opt_verbose, NULL,
	  "report every skipped record on stderr: file, offset, reason, detail" },
	{ TM_OPT_FLAG, 0, "progress", &cc.progress, NULL,
	  "show progress on stderr even when it is not a terminal" },
	TM_OPT_CONFIG(&cc.config, &cc.overrides),
	TM_OPT_END_MARK,
};

struct item {
	struct tm_extract_input in;
	struct tm_extract_output out;
	char *strs;		/* the input's strings, one allocation */
	char *block;
};

struct run {
	struct tm_extract_opts xo;
	struct tm_writer *w;
	struct tm_stats *stats;
	struct tm_progress *progress;
	uint64_t kept, skipped[TM_X__COUNT], docs_in, bytes_in, bytes_out;
	uint64_t replaced, damaged;
	uint64_t raw_done;	/* raw bytes of inputs finished */
	int write_rc;
	struct tm_err write_err;
};

static struct run R;

static void *worker_init(void *arg, int index)
{
	(void)index;
	return tm_extract_ctx_new(&((struct run *)arg)->xo);
}

static void worker_fini(void *ctx)
{
	tm_extract_ctx_free(ctx);
}

static void work(void *ctx, void *p)
{
	struct item *it = p;

	tm_extract_one(ctx, &it->in, &it->out);
}

static void item_free(struct item *it)
{
	tm_extract_output_release(&it->out);
	free(it->strs);
	free(it->block);
	free(it);
}

static void discard(void *arg, void *p)
{
	(void)arg;
	item_free(p);
}

static int done(void *arg, void *p)
{
	struct run *r = arg;
	struct item *it = p;
	int rc = 0;

	r->docs_in++;
	r->bytes_in += it->in.block_len;
	r->replaced += it->out.replaced;
	if (it->out.skip == TM_X_KEEP) {
		r->kept++;
		r->bytes_out += it->out.text_len;
		tm_stats_hist_add(r->stats, "extract.text_bytes", (double)it->out.text_len);
		rc = tm_writer_write(r->w, it->out.line.buf, it->out.line.len, &r->write_err);
		if (rc < 0)
			r->write_rc = rc;
	} else {
		r->skipped[it->out.skip]++;
		tm_stats_remove(r->stats, tm_extract_skip_name(it->out.skip), 1,
				it->in.block_len);
		if (opt_verbose)
			fprintf(stderr, "%s: %s: offset %" PRIu64 ": skipped (%s): %s\n",
				tm_prog, it->in.filename ? it->in.filename : "-",
				it->in.offset, tm_extract_skip_name(it->out.skip),
				it->out.detail);
	}
	if (opt_stats_docs)
		tm_stats_doc(r->stats, it->in.record_id ? it->in.record_id : it->in.id,
			     it->out.skip == TM_X_KEEP,
			     it->out.skip == TM_X_KEEP ? NULL :
			     tm_extract_skip_name(it->out.skip),
			     (double)it->out.text_len, it->in.url);
	if (it->out.html_len)
		tm_stats_hist_add(r->stats, "extract.html_bytes", (double)it->out.html_len);
	tm_progress_set(r->progress, r->docs_in, r->raw_done);
	item_free(it);
	return rc;
}

/* Copies the strings an item needs into one allocation, it->strs. */
static void item_strings(struct item *it, const char *const *s,
			 const char **const *dst, size_t n)
{
	size_t i, total = 0, off = 0;

	for (i = 0; i < n; i++)
		total += s[i] ? strlen(s[i]) + 1 : 0;
	it->strs = tm_xmalloc(total ? total : 1);
	for (i = 0; i < n; i++) {
		if (!s[i]) {
			*dst[i] = NULL;
			continue;
		}
		memcpy(it->strs + off, s[i], strlen(s[i]) + 1);
		*dst[i] = it->strs + off;
		off += strlen(s[i]) + 1;
	}
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static int submit(struct tm_pool *pool, struct item *it)
{
	return tm_pool_submit(pool, it);
}

static void count_type(const struct tm_warc_record *rec)
{
	char name[64];

	snprintf(name, sizeof(name), "extract.records.%s", tm_warc_type_name(rec->type));
	tm_stats_count(R.stats, name, 1);
}

/* One WARC/WET input; returns -1 on a fatal read error, else damage count. */
static long extract_warc(struct tm_pool *pool, const char *path, long *damaged_total)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_reader *in;
	struct tm_warc_reader *wr;
	struct tm_warc_opts wo = TM_WARC_OPTS_INIT;
	struct tm_warc_record *rec;
	char *filename = tm_xstrdup(base_name(path));
	long damaged = 0;
	int rc;

	if (tm_reader_open(path, &in, &err) < 0) {
		warn_err(&err);
		free(filename);
		return -1;
	}
	wo.max_record = (size_t)cc.max_record;
	tm_warc_reader_new(in, &wo, &wr);
	while ((rc = tm_warc_next(wr, &rec, &err)) != 0) {
		struct item *it;

		if (rc < 0) {
			warn_err(&err);
			tm_stats_count(R.stats, "extract.damaged", 1);
			if (rc == TM_EIO) {
				damaged = -1;
				break;
			}
			damaged++;
			if (cc.max_errors >= 0 && ++*damaged_total > cc.max_errors)
				break;
			continue;
		}
		count_type(rec);
		if (rec->type == TM_WARC_WARCINFO) {
			const char *fn = tm_warc_field(rec, "WARC-Filename");

			if (fn) {
				free(filename);
				filename = tm_xstrdup(fn);
			}
			continue;
		}
		if (rec->type != TM_WARC_RESPONSE && rec->type != TM_WARC_CONVERSION)
			continue;
		if (rec->damage.code) {
			warn_err(&rec->damage);
			damaged++;
		}
		it = tm_xcalloc(1, sizeof(*it));
		{
			const char *s[] = { rec->target_uri, rec->date, rec->record_id,
					    filename, rec->truncated };
			const char **const dst[] = { &it->in.url, &it->in.date,
						     &it->in.record_id, &it->in.filename,
						     &it->in.truncated };

			item_strings(it, s, dst, TM_ARRAY_SIZE(s));
		}
		it->in.type = rec->type;
		it->in.offset = rec->offset;
		it->in.damaged = rec->damage.code != 0;
		if (rec->block) {
			it->block = tm_xmemdup(rec->block, rec->block_len);
			it->in.block = it->block;
			it->in.block_len = rec->block_len;
		} else {
			/* over --max-record: nothing to extract, but accounted for */
			it->in.block = "";
			it->in.block_len = 0;
			it->in.oversize = true;
		}
		if (submit(pool, it) != 0)
			break;
	}
	R.raw_done += tm_reader_raw_consumed(in);
	tm_warc_reader_free(wr);
	tm_reader_free(in);
	free(filename);
	return damaged;
}

/* One bare HTML file. */
static int extract_html_file(struct tm_pool *pool, const char *path)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_reader *in;
	struct tm_buf data = TM_BUF_INIT, stem = TM_BUF_INIT;
	const char *b = base_name(path);
	struct item *it;
	char buf[65536];
	size_t got;
	int rc;

	if (tm_reader_open(path, &in, &err) < 0) {
		warn_err(&err);
		return -1;
	}
	while ((rc = tm_reader_read(in, buf, sizeof(buf), &got, &err)) == 0 && got) {
		tm_buf_add(&data, buf, got);
		if (data.len > R.xo.max_html + 1)
			break; /* the extractor will refuse it; no need to read on */
	}
	R.raw_done += tm_reader_raw_consumed(in);
	tm_reader_free(in);
	if (rc < 0) {
		warn_err(&err);
		tm_buf_release(&data);
		return -1;
	}
	tm_buf_addstr(&stem, b);
	for (const char *const *ext = (const char *const[]){ ".gz", ".zst", ".html",
			".htm", ".xhtml", NULL }; *ext; ext++) {
		size_t el = strlen(*ext);

		if (stem.len > el && !strcmp(stem.buf + stem.len - el, *ext))
			tm_buf_setlen(&stem, stem.len - el);
	}
	it = tm_xcalloc(1, sizeof(*it));
	{
		const char *s[] = { stem.buf, path };
		const char **const dst[] = { &it->in.id, &it->in.filename };

		item_strings(it, s, dst, 2);
	}
	it->in.type = TM_WARC_UNKNOWN;
	it->block = tm_buf_detach(&data, &it->in.block_len);
	it->in.block = it->block;
	tm_buf_release(&stem);
	return submit(pool, it) != 0 ? -1 : 0;
}

static void parse_statuses(void)
{
	const char *p = opt_status;

	R.xo.nstatuses = 0;
	while (p && *p) {
		char *end;
		long v = strtol(p, &end, 10);

		if (end == p || v < 100 || v > 999 ||
		    R.xo.nstatuses == TM_ARRAY_SIZE(R.xo.statuses) ||
		    (*end && *end != ','))
			usage_error(synopsis, opts, "--status expects up to 8 HTTP "
				    "statuses like 200,203, got '%s'", opt_status);
		R.xo.statuses[R.xo.nstatuses++] = (int)v;
		p = *end ? end + 1 : end;
	}
}

/* Settings: the command line wins, then pipeline.conf, then defaults. */
static void apply_config(void)
{
	struct tm_ini *ini = tm_cmd_load(&cc);
	struct tm_err err = TM_ERR_INIT;
	bool kt = false, wp = false;
	uint64_t mh;

	if (tm_ini_get_bool(ini, "extract", NULL, "keep_truncated", false, &kt, &err) < 0 ||
	    tm_ini_get_bool(ini, "extract", NULL, "whole_page", false, &wp, &err) < 0 ||
	    tm_ini_get_size(ini, "extract", NULL, "max_html", 16u << 20, &mh, &err) < 0) {
		warn_err(&err);
		exit(TM_EXIT_USAGE);
	}
	opt_keep_trunc = opt_keep_trunc || kt;
	opt_whole = opt_whole || wp;
	if (opt_max_html == UINT64_MAX)
		opt_max_html = mh;
	/* strings outlive ini: copied, kept for the run */
	if (!opt_status && tm_ini_get(ini, "extract", NULL, "status"))
		opt_status = tm_xstrdup(tm_ini_get(ini, "extract", NULL, "status"));
	if (!opt_source && tm_ini_get(ini, "extract", NULL, "source"))
		opt_source = tm_xstrdup(tm_ini_get(ini, "extract", NULL, "source"));
	tm_ini_free(ini);
}

int main(int argc, char **argv)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_extract_opts def = TM_EXTRACT_OPTS_INIT;
	struct tm_pool *pool;
	char *stdin_only[] = { (char *)"-", NULL };
	char **files;
	int nfiles, i, status = TM_EXIT_OK, rc;
	long damaged = 0;

	tm_cmd_init("tamis-extract");
	tm_cmd_options(synopsis, about, opts, &argc, argv);
	apply_config();
	R.xo = def;
	if (opt_status)
		parse_statuses();
	R.xo.keep_truncated = opt_keep_trunc;
	R.xo.whole_page = opt_whole;
	if (opt_max_html != UINT64_MAX)
		R.xo.max_html = (size_t)opt_max_html;
	if (opt_source)
		R.xo.source = opt_source;
	files = argc > 1 ? argv + 1 : stdin_only;
	nfiles = argc > 1 ? argc - 1 : 1;

	if (cc.stats && tm_stats_open(cc.stats, "extract", argc, argv, &R.stats, &err) < 0)
		die_err(&err);
	tm_stats_set_docs(R.stats, opt_stats_docs);
	tm_stats_hist_def(R.stats, "extract.text_bytes", TM_HIST_LOG2, 1, 1 << 24, 24);
	tm_stats_hist_def(R.stats, "extract.html_bytes", TM_HIST_LOG2, 1, 1 << 26, 26);
	if (tm_writer_open(opt_out, TM_CODEC_AUTO, 0, &R.w, &err) < 0)
		die_err(&err);
	R.progress = tm_cmd_progress(&cc, "extract", files, nfiles);

	pool = tm_pool_new((int)cc.threads, 0, work, done, &R);
	tm_pool_set_worker(pool, worker_init, worker_fini);
	tm_pool_set_discard(pool, discard);
	for (i = 0; i < nfiles && !R.write_rc; i++) {
		tm_stats_add_input(R.stats, files[i]);
		if (opt_html) {
			if (extract_html_file(pool, files[i]) < 0 && !R.write_rc)
				status = TM_EXIT_FAIL;
			continue;
		}
		rc = (int)extract_warc(pool, files[i], &damaged);
		if (rc < 0)
			status = TM_EXIT_FAIL;
		if (tm_cmd_too_many_errors(&cc, damaged)) {
			status = TM_EXIT_BADINPUT;
			break;
		}
	}
	tm_pool_finish(pool);
	tm_pool_free(pool);
	tm_progress_done(R.progress);
	tm_progress_free(R.progress);

	if (R.write_rc) {
		warn_err(&R.write_err);
		tm_writer_abort(R.w);
		status = TM_EXIT_FAIL;
	} else if (tm_writer_commit(R.w, &err) < 0) {
		warn_err(&err);
		status = TM_EXIT_FAIL;
	}
	tm_stats_count(R.stats, "extract.replaced_bytes", (int64_t)R.replaced);
	status = tm_cmd_stats_close(R.stats, R.docs_in, R.kept, R.bytes_in, R.bytes_out,
				    status);
	return status;
}
