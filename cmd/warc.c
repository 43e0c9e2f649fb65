/*
 * warc.c: tamis-warc, listing and extracting WARC records.
 *
 *   tamis warc ls [options] FILE...      one line per record (like warcio index)
 *   tamis warc cat [options] FILE --offset N   one record
 */
#include "tamis.h"
#include "common.h"
#include "stream.h"
#include "warc.h"
#include "http.h"
#include "stats.h"
#include "progress.h"
#include "ini.h"

#include <sys/stat.h>
#include <time.h>

static const char ls_synopsis[] = "tamis warc ls [options] [FILE...]";
static const char cat_synopsis[] = "tamis warc cat [options] FILE --offset N";

static bool opt_bench, opt_verify, opt_json, opt_headers, opt_block, opt_payload;
static uint64_t opt_offset = UINT64_MAX;
static struct tm_cmd_common cc = TM_CMD_COMMON_INIT;
static struct tm_stats *stats;
static struct tm_progress *progress;

static const struct tm_option ls_opts[] = {
	{ TM_OPT_FLAG, 0, "verify", &opt_verify, NULL,
	  "check WARC-Block-Digest and WARC-Payload-Digest; adds a column" },
	{ TM_OPT_FLAG, 0, "json", &opt_json, NULL,
	  "print JSON Lines instead of tab-separated columns" },
	{ TM_OPT_SIZE, 0, "max-record", &cc.max_record, "SIZE",
	  "skip blocks larger than SIZE instead of reading them (default 64M)" },
	{ TM_OPT_INT, 0, "max-errors", &cc.max_errors, "N",
	  "stop with exit 3 after more than N damaged records (default: no limit)" },
	TM_OPT_CONFIG(&cc.config, &cc.overrides),
	{ TM_OPT_STRING, 0, "stats", &cc.stats, "FILE",
	  "record counts (records by type, damage by kind) in this stats database" },
	{ TM_OPT_FLAG, 0, "progress", &cc.progress, NULL,
	  "show progress on stderr even when it is not a terminal" },
	{ TM_OPT_FLAG, 0, "bench", &opt_bench, NULL,
	  "read every record, print only 'records N bytes B seconds S'" },
	TM_OPT_END_MARK,
};

static const struct tm_option cat_opts[] = {
	{ TM_OPT_U64, 0, "offset", &opt_offset, "N",
	  "raw byte offset of the record (as printed by 'tamis warc ls')" },
	{ TM_OPT_FLAG, 0, "headers", &opt_headers, NULL, "print only the WARC header" },
	{ TM_OPT_FLAG, 0, "block", &opt_block, NULL, "print only the record block" },
	{ TM_OPT_FLAG, 0, "payload", &opt_payload, NULL,
	  "print only the payload (the HTTP body of response records, as stored)" },
	{ TM_OPT_FLAG, 0, "verify", &opt_verify, NULL,
	  "check the record's digests; exit 1 on a mismatch" },
	{ TM_OPT_SIZE, 0, "max-record", &cc.max_record, "SIZE",
	  "refuse records larger than SIZE (default 64M)" },
	TM_OPT_CONFIG(&cc.config, &cc.overrides),
	TM_OPT_END_MARK,
};

static const char ls_about[] =
	"Lists the records of WARC files (WARC/1.0, 1.1, 0.18; gzip per record or\n"
	"whole file, zstd, or uncompressed), one line each, tab-separated:\n"
	"offset, length (raw bytes in the file), WARC-Type, WARC-Target-URI,\n"
	"Content-Type, Content-Length, payload length.  Damaged records are\n"
	"reported on stderr with their offset; listing resumes at the next record.\n";

/* Writes s with tabs, newlines and backslashes escaped (TSV safety). */
static void put_field(struct tm_buf *out, const char *s)
{
	if (!s || !*s) {
		tm_buf_addch(out, '-');
		return;
	}
	for (; *s; s++) {
		switch (*s) {
		case '\t': tm_buf_addstr(out, "\\t"); break;
		case '\n': tm_buf_addstr(out, "\\n"); break;
		case '\r': tm_buf_addstr(out, "\\r"); break;
		case '\\': tm_buf_addstr(out, "\\\\"); break;
		default: tm_buf_addch(out, *s);
		}
	}
}

static void put_json_str(struct tm_buf *out, const char *s)
{
	if (!s) {
		tm_buf_addstr(out, "null");
		return;
	}
	tm_buf_addch(out, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			tm_buf_addf(out, "\\%c", c);
		else if (c < 0x20)
			tm_buf_addf(out, "\\u%04x", c);
		else
			tm_buf_addch(out, (char)c);
	}
	tm_buf_addch(out, '"');
}

struct pending {
	bool have;
	uint64_t offset;
	struct tm_buf line;	/* everything after "offset\tlength\t" */
	struct tm_buf json_rest;
};

/* The payload of a record: the HTTP body for application/http records. */
static void record_payload(const struct tm_warc_record *rec, const char **p,
			   size_t *n)
{
	size_t body;

	*p = rec->block;
	*n = rec->block_len;
	if (!rec->block || !rec->content_type ||
	    strncasecmp(rec->content_type, "application/http", 16))
		return;
	body = tm_http_header_end(rec->block, rec->block_len);
	if (body) {
		*p = rec->block + body;
		*n = rec->block_len - body;
	}
}

static const char *verify_record(const struct tm_warc_record *rec)
{
	const char *bd = tm_warc_field(rec, "WARC-Block-Digest");
	const char *pd = tm_warc_field(rec, "WARC-Payload-Digest");
	const char *p;
	size_t n;

	if (!rec->block)
		return "skipped";
	if (!bd && !pd)
		return "none";
	if (bd && tm_warc_digest_check(bd, rec->block, rec->block_len, NULL))
		return "block-mismatch";
	/* a revisit's payload digest is the original's: nothing to check */
	if (pd && rec->type != TM_WARC_REVISIT) {
		record_payload(rec, &p, &n);
		if (tm_warc_digest_check(pd, p, n, NULL))
			return "payload-mismatch";
	}
	return "ok";
}

static void emit(struct pending *pd, uint64_t end)
{
	if (!pd->have)
		return;
	if (opt_json)
		printf("{\"offset\":%" PRIu64 ",\"length\":%" PRIu64 ",%s}\n",
		       pd->offset, end - pd->offset, pd->json_rest.buf);
	else
		printf("%" PRIu64 "\t%" PRIu64 "\t%s\n", pd->offset,
		       end - pd->offset, pd->line.buf);
	pd->have = false;
}

static void remember(struct pending *pd, const struct tm_warc_record *rec)
{
	const char *p;
	size_t n;
	char num[32];

	pd->have = true;
	pd->offset = rec->offset;
	record_payload(rec, &p, &n);
	if (opt_json) {
		struct tm_buf *j = &pd->json_rest;

		tm_buf_reset(j);
		tm_buf_addstr(j, "\"type\":");
		put_json_str(j, rec->type_str);
		tm_buf_addstr(j, ",\"uri\":");
		put_json_str(j, rec->target_uri);
		tm_buf_addstr(j, ",\"content_type\":");
		put_json_str(j, rec->content_type);
		tm_buf_addf(j, ",\"content_length\":%" PRIu64, rec->content_length);
		if (rec->block)
			tm_buf_addf(j, ",\"payload_length\":%zu", n);
		if (rec->truncated) {
			tm_buf_addstr(j, ",\"truncated\":");
			put_json_str(j, rec->truncated);
		}
		if (opt_verify) {
			tm_buf_addstr(j, ",\"verify\":");
			put_json_str(j, verify_record(rec));
		}
		return;
	}
	tm_buf_reset(&pd->line);
	put_field(&pd->line, rec->type_str);
	tm_buf_addch(&pd->line, '\t');
	put_field(&pd->line, rec->target_uri);
	tm_buf_addch(&pd->line, '\t');
	put_field(&pd->line, rec->content_type);
	tm_buf_addf(&pd->line, "\t%" PRIu64 "\t", rec->content_length);
	snprintf(num, sizeof(num), "%zu", n);
	put_field(&pd->line, rec->block ? num : NULL);
	if (opt_verify) {
		tm_buf_addch(&pd->line, '\t');
		put_field(&pd->line, verify_record(rec));
	}
}

/* Settings: the command line wins, then pipeline.conf, then defaults. */
static void apply_config(void)
{
	tm_ini_free(tm_cmd_load(&cc));
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void count_damage(int code)
{
	char name[64];

	snprintf(name, sizeof(name), "warc.damage.%s", tm_errkey(code));
	tm_stats_count(stats, name, 1);
}

static void count_record(const struct tm_warc_record *rec)
{
	char name[64];

	snprintf(name, sizeof(name), "warc.records.%s", tm_warc_type_name(rec->type));
	tm_stats_count(stats, name, 1);
	if (rec->truncated)
		tm_stats_count(stats, "warc.truncated", 1);
	if (rec->block_skipped)
		tm_stats_count(stats, "warc.oversize", 1);
}

static uint64_t done_bytes;	/* raw bytes of the files already listed */

/* Lists one file; returns the number of damaged records, or -1 if unreadable. */
static long ls_file(const char *path, uint64_t *records, uint64_t *bytes,
		    long *damaged_total)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_reader *in;
	struct tm_warc_reader *wr;
	struct tm_warc_opts wo = TM_WARC_OPTS_INIT;
	struct tm_warc_record *rec;
	struct pending pd = { false, 0, TM_BUF_INIT, TM_BUF_INIT };
	long damaged = 0;
	uint64_t file_records = 0;
	int rc;

	if (tm_reader_open(path, &in, &err) < 0) {
		warn_err(&err);
		return -1;
	}
	wo.max_record = (size_t)cc.max_record;
	wo.max_header = (size_t)cc.max_header;
	tm_warc_reader_new(in, &wo, &wr);
	for (;;) {
		rc = tm_warc_next(wr, &rec, &err);
		if (!opt_bench && pd.have)
			emit(&pd, rc == 0 ? tm_reader_raw_end(in) :
			     tm_warc_reader_last_end(wr));
		if (rc == 0)
			break;
		if (rc < 0) {
			warn_err(&err);
			count_damage(rc);
			if (rc == TM_EIO) {
				damaged = -1;
				break;
			}
			damaged++;
			(*damaged_total)++;
			if (cc.max_errors >= 0 && *damaged_total > cc.max_errors)
				break;
			continue;
		}
		(*records)++;
		file_records++;
		tm_progress_set(progress, *records, done_bytes + tm_reader_raw_consumed(in));
		count_record(rec);
		if (rec->damage.code) {
			warn_err(&rec->damage);
			count_damage(rec->damage.code);
			damaged++;
			(*damaged_total)++;
		}
		if (opt_bench) {
			/* touch the payload, as a consumer would */
			volatile char sink = 0;

			if (rec->block && rec->block_len)
				sink ^= rec->block[rec->block_len - 1];
			(void)sink;
			*bytes += rec->content_length;
			continue;
		}
		remember(&pd, rec);
	}
	tm_buf_release(&pd.line);
	tm_buf_release(&pd.json_rest);
	done_bytes += tm_reader_raw_consumed(in);
	tm_warc_reader_free(wr);
	tm_reader_free(in);
	if (damaged > 0 && !file_records) {
		fprintf(stderr, "%s: %s: not a WARC file (no record found)\n",
			tm_prog, path);
		return -1;
	}
	return damaged;
}

static int cmd_ls(int argc, char **argv)
{
	uint64_t records = 0, bytes = 0;
	long damaged = 0;
	double t0 = now_seconds();
	int i, status = TM_EXIT_OK;
	char *stdin_only[] = { (char *)"-", NULL };
	char **files;
	int nfiles;

	tm_cmd_options(ls_synopsis, ls_about, ls_opts, &argc, argv);
	apply_config();
	if (cc.stats) {
		struct tm_err err = TM_ERR_INIT;

		if (tm_stats_open(cc.stats, "warc-ls", argc, argv, &stats, &err) < 0)
			die_err(&err);
	}
	files = argc > 1 ? argv + 1 : stdin_only;
	nfiles = argc > 1 ? argc - 1 : 1;
	progress = tm_cmd_progress(&cc, "warc ls", files, nfiles);
	for (i = 0; i < nfiles; i++) {
		long d;

		tm_stats_add_input(stats, files[i]);
		d = ls_file(files[i], &records, &bytes, &damaged);

		if (d < 0)
			status = TM_EXIT_FAIL;
		if (tm_cmd_too_many_errors(&cc, damaged)) {
			status = TM_EXIT_BADINPUT;
			break;
		}
	}
	tm_progress_done(progress);
	tm_progress_free(progress);
	if (opt_bench)
		printf("records %" PRIu64 " bytes %" PRIu64 " seconds %.3f\n",
		       records, bytes, now_seconds() - t0);
	if (damaged)
		fprintf(stderr, "%s: %ld damaged record%s reported\n", tm_prog,
			damaged, damaged == 1 ? "" : "s");
	tm_cmd_finish_stdout();
	if (stats) {
		struct tm_err err = TM_ERR_INIT;
		struct tm_stats_totals t = { 0 };

		t.docs_in = t.docs_out = records;
		t.bytes_in = done_bytes;
		tm_stats_totals_add(stats, &t);
		if (tm_stats_close(stats, status, &err) < 0)
			die_err(&err);
	}
	return status;
}

static int cmd_cat(int argc, char **argv)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_reader *in;
	struct tm_warc_reader *wr;
	struct tm_warc_opts wo = TM_WARC_OPTS_INIT;
	struct tm_warc_record *rec;
	const char *p;
	size_t n;
	int rc, status = TM_EXIT_OK;

	tm_cmd_options(cat_synopsis, "Prints one record of a WARC file.\n",
		       cat_opts, &argc, argv);
	if (argc != 2)
		usage_error(cat_synopsis, cat_opts, "expected one FILE, got %d",
			    argc - 1);
	if (opt_offset == UINT64_MAX)
		usage_error(cat_synopsis, cat_opts, "--offset is required");
	if ((int)opt_headers + (int)opt_block + (int)opt_payload > 1)
		usage_error(cat_synopsis, cat_opts,
			    "--headers, --block and --payload are exclusive");
	apply_config();
	if (tm_reader_open(argv[1], &in, &err) < 0 ||
	    tm_reader_seek(in, opt_offset, &err) < 0)
		die_err(&err);
	wo.max_record = (size_t)cc.max_record;
	wo.max_header = (size_t)cc.max_header;
	tm_warc_reader_new(in, &wo, &wr);
	rc = tm_warc_next(wr, &rec, &err);
	if (rc == 0)
		die("%s: offset %" PRIu64 ": no record there (end of file)",
		    argv[1], opt_offset);
	if (rc < 0)
		die_err(&err);
	if (rec->offset != opt_offset)
		die("%s: offset %" PRIu64 ": no record starts there", argv[1],
		    opt_offset);
	if (!rec->block)
		die("%s: offset %" PRIu64 ": record of %" PRIu64
		    " bytes is larger than --max-record", argv[1], opt_offset,
		    rec->content_length);
	if (opt_verify) {
		const char *bd = tm_warc_field(rec, "WARC-Block-Digest");
		const char *pd = tm_warc_field(rec, "WARC-Payload-Digest");

		if (!bd && !pd)
			fprintf(stderr, "%s: no digests to verify\n", tm_prog);
		if (bd) {
			if (tm_warc_digest_check(bd, rec->block, rec->block_len, &err) < 0) {
				warn_err(&err);
				status = TM_EXIT_FAIL;
			} else {
				fprintf(stderr, "block digest %s: ok\n", bd);
			}
		}
		if (pd && rec->type == TM_WARC_REVISIT) {
			fprintf(stderr, "payload digest %s: not checked (revisit: "
				"it is the original's)\n", pd);
		} else if (pd) {
			record_payload(rec, &p, &n);
			if (tm_warc_digest_check(pd, p, n, &err) < 0) {
				warn_err(&err);
				status = TM_EXIT_FAIL;
			} else {
				fprintf(stderr, "payload digest %s: ok\n", pd);
			}
		}
	}
	if (opt_payload) {
		record_payload(rec, &p, &n);
		fwrite(p, 1, n, stdout);
	} else if (opt_block) {
		fwrite(rec->block, 1, rec->block_len, stdout);
	} else {
		/* the header as stored, then the block */
		fwrite(rec->block - rec->header_len, 1, rec->header_len, stdout);
		if (!opt_headers)
			fwrite(rec->block, 1, rec->block_len, stdout);
	}
	tm_warc_reader_free(wr);
	tm_reader_free(in);
	tm_cmd_finish_stdout();
	return status;
}

int main(int argc, char **argv)
{
	tm_cmd_init("tamis-warc");
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		printf("usage: tamis warc <command> [options]\n\n"
		       "commands:\n"
		       "    ls     list the records of WARC files\n"
		       "    cat    print one record (with --verify: check its digests)\n");
		tm_cmd_finish_stdout();
		return argc < 2 ? TM_EXIT_USAGE : TM_EXIT_OK;
	}
	if (!strcmp(argv[1], "ls")) {
		tm_cmd_init("tamis-warc ls");
		return cmd_ls(argc - 1, argv + 1);
	}
	if (!strcmp(argv[1], "cat")) {
		tm_cmd_init("tamis-warc cat");
		return cmd_cat(argc - 1, argv + 1);
	}
	fprintf(stderr, "tamis-warc: unknown command '%s'\n"
		"Try 'tamis warc --help'.\n", argv[1]);
	return TM_EXIT_USAGE;
}
