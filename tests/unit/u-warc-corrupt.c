/*
 * u-warc-corrupt.c: the WARC reader on damaged input ("truncate at 100
 * random offsets, flip bits, bogus lengths: never crashes and recovers
 * every intact record").  A file of NREC records is written with the
 * writer (gzip per record, and uncompressed), then damaged in memory; the
 * reader must terminate, and return every record whose bytes were not
 * touched, with its block intact (checked by record id and a digest kept
 * here, not the one in the file).
 */
#include "tamis.h"
#include "stream.h"
#include "warc.h"
#include "tap.h"

#include <fcntl.h>
#include <unistd.h>

#define NREC 200
#define MAX_RECORD (1u << 20)


#define rnd() tap_rand()

struct orig {
	char id[64];
	struct tm_buf block;
	char digest[64];
	uint64_t off, end;	/* raw extent in the file */
};

static struct orig recs[NREC];

struct got {
	int n, errors, iterations;
	bool seen[NREC];
	bool intact[NREC];	/* returned with its original block, no damage */
	bool hung;
};

static void make_records(void)
{
	for (int i = 0; i < NREC; i++) {
		size_t len = (size_t)(rnd() % (i % 10 == 3 ? 30000 : 2500));

		snprintf(recs[i].id, sizeof(recs[i].id),
			 "<urn:uuid:00000000-0000-4000-8000-%012d>", i);
		tm_buf_init(&recs[i].block, len);
		for (size_t k = 0; k < len; k++) {
			uint64_t r = rnd();

			tm_buf_addch(&recs[i].block, r % 40 == 0 ? '\n' : (char)('a' + r % 26));
		}
		struct tm_buf d = TM_BUF_INIT;

		tm_warc_digest_sha1(recs[i].block.buf, len, &d);
		snprintf(recs[i].digest, sizeof(recs[i].digest), "%s", d.buf);
		tm_buf_release(&d);
	}
}

/*
 * Writes the records to `path`; record `bogus` (if >= 0) gets the header
 * line `cl_line` instead of its Content-Length ("" for none), and garbage
 * `garbage` is written (in its own member) before record `garbage_at`.
 */
static void write_file(const char *path, enum tm_codec codec, int bogus,
		       const char *cl_line, int garbage_at, const char *garbage,
		       struct tm_buf *out)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_writer *w;
	int fd;
	char tmp[65536];
	ssize_t n;

	if (tm_writer_open(path, codec, 1, &w, &err))
		BUG("open: %s", err.msg);
	for (int i = 0; i < NREC; i++) {
		struct tm_warc_out_field f[] = {
			{ "WARC-Record-ID", recs[i].id },
			{ "WARC-Date", "2024-05-18T00:00:00Z" },
			{ "WARC-Target-URI", "http://example.com/x" },
		};

		if (i == garbage_at) {
			tm_writer_write(w, garbage, strlen(garbage), &err);
			tm_writer_end_member(w, &err);
		}
		recs[i].off = tm_writer_raw_tell(w);
		if (i == bogus) {
			struct tm_buf h = TM_BUF_INIT;

			tm_buf_addf(&h, "WARC/1.1\r\nWARC-Type: resource\r\n"
				    "WARC-Record-ID: %s\r\n%s\r\n\r\n", recs[i].id, cl_line);
			tm_writer_write(w, h.buf, h.len, &err);
			tm_writer_write(w, recs[i].block.buf, recs[i].block.len, &err);
			tm_writer_write(w, "\r\n\r\n", 4, &err);
			tm_writer_end_member(w, &err);
			tm_buf_release(&h);
		} else if (tm_warc_write(w, NULL, "resource", f, 3, recs[i].block.buf,
					 recs[i].block.len, &err)) {
			BUG("write: %s", err.msg);
		}
		recs[i].end = tm_writer_raw_tell(w);
	}
	if (tm_writer_commit(w, &err))
		BUG("commit: %s", err.msg);
	tm_buf_reset(out);
	fd = open(path, O_RDONLY);
	while ((n = read(fd, tmp, sizeof(tmp))) > 0)
		tm_buf_add(out, tmp, (size_t)n);
	close(fd);
	unlink(path);
}

static int rec_index(const char *id)
{
	int i;

	if (!id || strncmp(id, "<urn:uuid:00000000-0000-4000-8000-", 34))
		return -1;
	i = atoi(id + 34);
	return i >= 0 && i < NREC && !strcmp(id, recs[i].id) ? i : -1;
}

static void read_mem(const char *p, size_t len, struct got *g)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_reader *in;
	struct tm_warc_reader *wr;
	struct tm_warc_record *rec;
	struct tm_warc_opts o = { MAX_RECORD, 64 * 1024 };
	int rc;

	memset(g, 0, sizeof(*g));
	tm_reader_open_mem(p, len, "corrupt", &in, &err);
	tm_warc_reader_new(in, &o, &wr);
	while ((rc = tm_warc_next(wr, &rec, &err)) != 0) {
		int i;

		if (++g->iterations > 4 * NREC + 100) {
			g->hung = true;
			break;
		}
		if (rc < 0) {
			g->errors++;
			if (rc == TM_EIO)
				break;
			continue;
		}
		g->n++;
		i = rec_index(rec->record_id);
		if (i < 0)
			continue;
		g->seen[i] = true;
		if (rec->block && !rec->damage.code &&
		    rec->offset == recs[i].off &&
		    !tm_warc_digest_check(recs[i].digest, rec->block, rec->block_len, NULL))
			g->intact[i] = true;
	}
	tm_warc_reader_free(wr);
	tm_reader_free(in);
}

/* (a) truncation at random offsets */
static void test_truncate(const struct tm_buf *file, const char *what)
{
	int bad_missing = 0, bad_extra = 0, bad_errors = 0, hung = 0;

	for (int t = 0; t < 100; t++) {
		size_t cut = (size_t)(rnd() % file->len);
		struct got g;
		int extra = 0;

		read_mem(file->buf, cut, &g);
		hung += g.hung;
		for (int i = 0; i < NREC; i++) {
			if (recs[i].end <= cut && !g.intact[i]) {
				if (!bad_missing)
					tap_diag("%s cut %zu: record %d [%" PRIu64 ",%" PRIu64
						 ") not returned intact", what, cut, i,
						 recs[i].off, recs[i].end);
				bad_missing++;
			}
			if (recs[i].end > cut && g.seen[i]) {
				/* only the record the cut falls in */
				if (recs[i].off > cut || ++extra > 1)
					bad_extra++;
			}
		}
		if (g.errors > 2)
			bad_errors++;
	}
	is_int(hung, 0, "truncation: reader terminates");
	is_int(bad_missing, 0, "truncation: every record before the cut is returned intact");
	is_int(bad_extra, 0, "truncation: nothing after the cut is returned");
	is_int(bad_errors, 0, "truncation: damage reported at most twice");
}

/* (b) bit flips in random records */
static void test_flips(const struct tm_buf *file, const char *what)
{
	struct tm_buf bad = TM_BUF_INIT;
	int lost = 0, hung = 0;

	for (int t = 0; t < 40; t++) {
		bool touched[NREC] = { false };
		int nrec = 1 + (int)(rnd() % 6);
		struct got g;

		tm_buf_reset(&bad);
		tm_buf_add(&bad, file->buf, file->len);
		for (int k = 0; k < nrec; k++) {
			int i = (int)(rnd() % NREC);
			int bits = 1 + (int)(rnd() % 3);

			touched[i] = true;
			for (int b = 0; b < bits; b++) {
				uint64_t at = recs[i].off + rnd() % (recs[i].end - recs[i].off);

				bad.buf[at] ^= (char)(1 << (rnd() % 8));
			}
		}
		read_mem(bad.buf, bad.len, &g);
		hung += g.hung;
		for (int i = 0; i < NREC; i++)
			if (!touched[i] && !g.intact[i]) {
				if (!lost)
					tap_diag("%s flip round %d: untouched record %d lost",
						 what, t, i);
				lost++;
			}
	}
	is_int(hung, 0, "bit flips: reader terminates");
	is_int(lost, 0, "bit flips: every untouched record is returned intact");
	tm_buf_release(&bad);
}

/* (c) bogus Content-Length values, (d) garbage between records */
static void test_bogus(const char *path, enum tm_codec codec, const char *what)
{
	static const char *const lines[] = {
		"Content-Length: %zu", /* + 5, formatted below */
		"Content-Length: 2147483648",
		"Content-Length: 99999999999999999999999",
		"Content-Length: -12",
		"Content-Length: twelve",
		"X-No-Content-Length: 1",
		"Content-Length: %zu", /* - 5 */
	};
	struct tm_buf file = TM_BUF_INIT, line = TM_BUF_INIT;
	int at = 100;

	for (size_t k = 0; k < TM_ARRAY_SIZE(lines); k++) {
		struct got g;
		int lost = 0;

		tm_buf_reset(&line);
		if (k == 0)
			tm_buf_addf(&line, "Content-Length: %zu", recs[at].block.len + 5);
		else if (k == TM_ARRAY_SIZE(lines) - 1)
			tm_buf_addf(&line, "Content-Length: %zu", recs[at].block.len - 5);
		else
			tm_buf_addstr(&line, lines[k]);
		write_file(path, codec, at, line.buf, -1, NULL, &file);
		read_mem(file.buf, file.len, &g);
		for (int i = 0; i < NREC; i++)
			if (i != at && !g.intact[i])
				lost++;
		ok(!g.hung && !lost, "%s '%s': all %d other records returned intact "
		   "(%d lost, %d errors)", what, line.buf, NREC - 1, lost, g.errors);
		ok(g.errors <= 2, "%s: damage reported at most twice (%d)", what, g.errors);
	}

	/* (d) garbage between records */
	static const char *const garbage[] = {
		"garbage between records\r\n\r\n",
		"\r\nWARC/x.y not a record\r\nWARCWARC/",
		"\x1f\x8b\x08\x00 half a gzip header",
		"WARC/1.0\r\nWARC-Type: response\r\n", /* a header that never ends */
	};
	for (size_t k = 0; k < TM_ARRAY_SIZE(garbage); k++) {
		struct got g;
		int lost = 0;

		write_file(path, codec, -1, NULL, 57, garbage[k], &file);
		read_mem(file.buf, file.len, &g);
		for (int i = 0; i < NREC; i++)
			if (!g.intact[i])
				lost++;
		ok(!g.hung && !lost, "%s garbage %zu: all records returned intact (%d lost)",
		   what, k, lost);
		ok(g.errors >= 1 && g.errors <= 2, "%s garbage %zu: damage reported (%d)",
		   what, k, g.errors);
	}
	tm_buf_release(&file);
	tm_buf_release(&line);
}

int main(int argc, char **argv)
{
	char dir[64] = "/tmp/u-warc-corrupt-XXXXXX", path[128];
	struct tm_buf file = TM_BUF_INIT;
	struct got g;

	tap_srand(tap_seed(argc, argv));
	if (!mkdtemp(dir))
		BUG("mkdtemp");
	make_records();
	for (int c = 0; c < 2; c++) {
		enum tm_codec codec = c ? TM_CODEC_PLAIN : TM_CODEC_GZIP;
		const char *what = c ? "plain" : "gzip";

		snprintf(path, sizeof(path), "%s/f.warc%s", dir, c ? "" : ".gz");
		write_file(path, codec, -1, NULL, -1, NULL, &file);
		read_mem(file.buf, file.len, &g);
		is_int(g.n, NREC, what);
		is_int(g.errors, 0, "sound file: no damage");
		test_truncate(&file, what);
		test_flips(&file, what);
		test_bogus(path, codec, what);
	}
	for (int i = 0; i < NREC; i++)
		tm_buf_release(&recs[i].block);
	tm_buf_release(&file);
	rmdir(dir);
	return tap_done();
}
