/*
 * u-stream.c: lib/stream.h through its public API: decoding gzip (multi
 * member, gzip CLI, concatenated files), zstd (multi frame) and plain
 * input to the same bytes, raw offsets at member starts, seek, getline,
 * truncated/corrupt/padded/garbage-trailed input, and the atomic writer.
 */
#include "tamis.h"
#include "stream.h"
#include "tap.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

static char tmpdir[64];

#define rnd() tap_rand()

static char *path_in(const char *name)
{
	struct tm_buf b = TM_BUF_INIT;

	tm_buf_addf(&b, "%s/%s", tmpdir, name);
	return tm_buf_detach(&b, NULL);
}

static void slurp(const char *path, struct tm_buf *out)
{
	int fd = open(path, O_RDONLY);
	char tmp[65536];
	ssize_t n;

	tm_buf_reset(out);
	if (fd < 0)
		return;
	while ((n = read(fd, tmp, sizeof(tmp))) > 0)
		tm_buf_add(out, tmp, (size_t)n);
	close(fd);
}

static void spit(const char *path, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || write(fd, p, n) != (ssize_t)n)
		BUG("cannot write %s", path);
	close(fd);
}

/* The test input: NCHUNK chunks of text-like bytes with lines. */
#define NCHUNK 40
static struct tm_buf chunk[NCHUNK];
static struct tm_buf all;	/* the chunks concatenated */

static void make_chunks(void)
{
	static const char alpha[] = "abcdefghij klmnop\r\nqrstuvwxyz0123\n";
	int i;

	for (i = 0; i < NCHUNK; i++) {
		/* a few chunks larger than the 256 KiB buffers */
		size_t len = 1 + (size_t)(rnd() % (i % 13 == 5 ? 600000 : 20000));

		tm_buf_init(&chunk[i], len);
		for (size_t k = 0; k < len; k++) {
			uint64_t r = rnd();

			tm_buf_addch(&chunk[i], (r & 0x300) ? alpha[r % (sizeof(alpha) - 1)]
							     : (char)(r >> 16));
		}
		tm_buf_add(&all, chunk[i].buf, chunk[i].len);
	}
}

/* Writes the chunks, one member each; offs[i] = raw offset of chunk i. */
static void write_chunks(const char *path, enum tm_codec codec, uint64_t *offs)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_writer *w;
	int i, rc = tm_writer_open(path, codec, 0, &w, &err);

	if (rc)
		BUG("writer_open: %s", err.msg);
	for (i = 0; i < NCHUNK; i++) {
		offs[i] = tm_writer_raw_tell(w);
		/* write in two pieces to cross write calls within a member */
		rc |= tm_writer_write(w, chunk[i].buf, chunk[i].len / 2, &err);
		rc |= tm_writer_write(w, chunk[i].buf + chunk[i].len / 2,
				      chunk[i].len - chunk[i].len / 2, &err);
		rc |= tm_writer_end_member(w, &err);
	}
	rc |= tm_writer_commit(w, &err);
	if (rc)
		BUG("writer: %s", err.msg);
}

/* Reads everything through fill/consume in `step`-sized pieces. */
static int read_all(struct tm_reader *r, size_t step, struct tm_buf *out,
		    struct tm_err *err)
{
	int rc;

	tm_buf_reset(out);
	for (;;) {
		rc = tm_reader_fill(r, step, err);
		tm_buf_add(out, tm_reader_data(r), tm_reader_avail(r));
		tm_reader_consume(r, tm_reader_avail(r));
		if (rc < 0)
			return rc;
		if (tm_reader_eof(r))
			return 0;
	}
}

/*
 * Reads chunk by chunk: before each chunk, raw_tell must be offs[i] and
 * at_member_start true (for compressed input).  Returns failures.
 */
static void check_members(const char *path, enum tm_codec codec,
			  const uint64_t *offs, const char *what)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_reader *r;
	int i, bad_off = 0, bad_start = 0, bad_data = 0, rc = 0;

	tm_reader_open(path, &r, &err);
	for (i = 0; i < NCHUNK; i++) {
		rc = tm_reader_fill(r, chunk[i].len, &err);
		if (rc < 0 || tm_reader_avail(r) < chunk[i].len)
			break;
		if (tm_reader_raw_tell(r) != offs[i]) {
			if (!bad_off)
				tap_diag("%s chunk %d: raw_tell %" PRIu64 " want %" PRIu64,
					 what, i, tm_reader_raw_tell(r), offs[i]);
			bad_off++;
		}
		if (!tm_reader_at_member_start(r))
			bad_start++;
		if (memcmp(tm_reader_data(r), chunk[i].buf, chunk[i].len))
			bad_data++;
		tm_reader_consume(r, chunk[i].len);
		/* within a member, at_member_start must be false */
		if (codec != TM_CODEC_PLAIN && chunk[i].len > 1 && i + 1 < NCHUNK) {
			tm_reader_fill(r, 1, &err);
		}
	}
	is_int(i, NCHUNK, what);
	is_int(rc, 0, "no error");
	is_int(bad_off, 0, "raw_tell exact at every member start");
	is_int(bad_start, 0, "at_member_start at every member start");
	is_int(bad_data, 0, "every chunk's bytes intact");
	tm_reader_fill(r, 1, &err);
	ok(tm_reader_eof(r), "eof after the last member");
	is_int(tm_reader_codec(r), codec, "codec detected from the magic");
	tm_reader_free(r);
}

static void test_codecs(void)
{
	static const struct { const char *name; enum tm_codec codec; } t[] = {
		{ "m.gz", TM_CODEC_GZIP }, { "m.zst", TM_CODEC_ZSTD },
		{ "m.txt", TM_CODEC_PLAIN }, { "named.txt", TM_CODEC_GZIP },
	};
	uint64_t offs[NCHUNK];
	struct tm_buf got = TM_BUF_INIT;
	struct tm_err err = TM_ERR_INIT;
	size_t k;

	for (k = 0; k < TM_ARRAY_SIZE(t); k++) {
		char *p = path_in(t[k].name);
		struct tm_reader *r;
		int rc;

		write_chunks(p, t[k].codec, offs);
		is_u64(offs[0], 0, "first member at offset 0");
		check_members(p, t[k].codec, offs, t[k].name);
		tm_reader_open(p, &r, &err);
		rc = read_all(r, 1000, &got, &err);
		is_int(rc, 0, "read_all in 1000-byte steps");
		is_mem(got.buf, got.len, all.buf, all.len, "identical bytes");
		tm_reader_free(r);

		/* seek to member 7 and to member 30 */
		for (int m = 7; m <= 30; m += 23) {
			size_t before = 0;

			for (int i = 0; i < m; i++)
				before += chunk[i].len;
			tm_reader_open(p, &r, &err);
			rc = tm_reader_seek(r, offs[m], &err);
			is_int(rc, 0, "seek to a member start");
			tm_reader_fill(r, 10, &err);
			is_u64(tm_reader_raw_tell(r), offs[m], "raw_tell after seek is absolute");
			ok(tm_reader_at_member_start(r), "at member start after seek");
			rc = read_all(r, 70000, &got, &err);
			is_mem(got.buf, got.len, all.buf + before, all.len - before,
			       "bytes after seek are the following members");
			tm_reader_free(r);
		}
		free(p);
	}
	tm_buf_release(&got);
}

static void test_mem_reader(void)
{
	uint64_t offs[NCHUNK];
	struct tm_buf file = TM_BUF_INIT, got = TM_BUF_INIT;
	struct tm_err err = TM_ERR_INIT;
	struct tm_reader *r;
	char *p = path_in("mem.zst");
	int rc;

	write_chunks(p, TM_CODEC_ZSTD, offs);
	slurp(p, &file);
	tm_reader_open_mem(file.buf, file.len, "mem", &r, &err);
	tm_reader_seek(r, offs[3], &err);
	rc = read_all(r, 5000, &got, &err);
	is_int(rc, 0, "mem reader after seek");
	ok(got.len == all.len - chunk[0].len - chunk[1].len - chunk[2].len &&
	   !memcmp(got.buf, all.buf + all.len - got.len, got.len),
	   "mem reader seek gives the following members");
	is_u64(tm_reader_raw_end(r), file.len, "raw_end is the input size");
	tm_reader_free(r);
	free(p);
	tm_buf_release(&file);
	tm_buf_release(&got);
}

static void test_gzip_cli(void)
{
	struct tm_buf cmd = TM_BUF_INIT, file = TM_BUF_INIT, got = TM_BUF_INIT,
		      both = TM_BUF_INIT, want = TM_BUF_INIT;
	struct tm_err err = TM_ERR_INIT;
	struct tm_reader *r;
	char *plain = path_in("cli.txt"), *gz = path_in("cli.txt.gz");
	int rc;

	spit(plain, all.buf, all.len);
	tm_buf_addf(&cmd, "gzip -n -c '%s' > '%s'", plain, gz);
	rc = system(cmd.buf);
	is_int(rc, 0, "gzip CLI ran");
	tm_reader_open(gz, &r, &err);
	rc = read_all(r, 4096, &got, &err);
	is_int(rc, 0, "gzip CLI file reads without error");
	is_mem(got.buf, got.len, all.buf, all.len, "gzip CLI file decodes to the input");
	tm_reader_free(r);

	/* two gzip files concatenated (cat a.gz b.gz) */
	slurp(gz, &file);
	tm_buf_add(&both, file.buf, file.len);
	tm_buf_add(&both, file.buf, file.len);
	tm_buf_add(&want, all.buf, all.len);
	tm_buf_add(&want, all.buf, all.len);
	tm_reader_open_mem(both.buf, both.len, "cat", &r, &err);
	rc = tm_reader_fill(r, all.len + 1, &err);
	is_int(rc, 0, "concatenation: fill");
	is_u64(tm_reader_raw_tell(r), 0, "raw_tell at the first file");
	tm_reader_consume(r, all.len);
	ok(tm_reader_at_member_start(r), "second file starts a member");
	is_u64(tm_reader_raw_tell(r), file.len, "raw_tell at the second file");
	tm_reader_free(r);
	tm_reader_open_mem(both.buf, both.len, "cat", &r, &err);
	rc = read_all(r, 100000, &got, &err);
	is_int(rc, 0, "concatenation reads");
	is_mem(got.buf, got.len, want.buf, want.len, "concatenation decodes to both inputs");
	tm_reader_free(r);
	free(plain);
	free(gz);
	tm_buf_release(&cmd);
	tm_buf_release(&file);
	tm_buf_release(&got);
	tm_buf_release(&both);
	tm_buf_release(&want);
}

static void test_getline(void)
{
	static const char text[] = "one\r\ntwo\n\nthree\r\n"
		"0123456789012345678901234567890123456789\nafter\nlast";
	struct tm_buf line = TM_BUF_INIT, big = TM_BUF_INIT;
	struct tm_err err = TM_ERR_INIT;
	struct tm_reader *r;
	int rc;

	tm_reader_open_mem(text, sizeof(text) - 1, "lines", &r, &err);
	is_int(tm_reader_getline(r, &line, 20, true, &err), 1, "getline CRLF");
	is_str(line.buf, "one", "CR stripped");
	is_int(tm_reader_getline(r, &line, 20, true, &err), 1, "getline LF");
	is_str(line.buf, "two", "LF line");
	is_int(tm_reader_getline(r, &line, 20, true, &err), 1, "empty line");
	is_str(line.buf, "", "empty line is empty");
	is_int(tm_reader_getline(r, &line, 20, false, &err), 1, "no strip");
	is_str(line.buf, "three\r", "CR kept without strip_cr");
	rc = tm_reader_getline(r, &line, 20, true, &err);
	is_int(rc, TM_ETOOBIG, "over-long line is TM_ETOOBIG");
	is_int(tm_reader_getline(r, &line, 20, true, &err), 1, "next line after over-long");
	is_str(line.buf, "after", "the line after the over-long one");
	is_int(tm_reader_getline(r, &line, 20, true, &err), 1, "last line without newline");
	is_str(line.buf, "last", "last line content");
	is_int(tm_reader_getline(r, &line, 20, true, &err), 0, "then end of input");
	tm_reader_free(r);

	/* over-long line larger than the window chunks, then a short one */
	tm_buf_addstr(&big, "short\n");
	for (int i = 0; i < 300000; i++)
		tm_buf_addch(&big, (char)('a' + i % 26));
	tm_buf_addstr(&big, "\r\nok\r\n");
	tm_reader_open_mem(big.buf, big.len, "big", &r, &err);
	is_int(tm_reader_getline(r, &line, 1000, true, &err), 1, "short line");
	is_int(tm_reader_getline(r, &line, 1000, true, &err), TM_ETOOBIG,
	       "300000-byte line over max 1000");
	is_int(tm_reader_getline(r, &line, 1000, true, &err), 1, "line after it");
	is_str(line.buf, "ok", "line after the 300000-byte line");
	is_int(tm_reader_getline(r, &line, 1000, true, &err), 0, "end");
	tm_reader_free(r);
	/* an over-long last line without newline */
	tm_reader_open_mem(big.buf + 6, 300000, "big", &r, &err);
	is_int(tm_reader_getline(r, &line, 1000, true, &err), TM_ETOOBIG,
	       "over-long unterminated last line");
	is_int(tm_reader_getline(r, &line, 1000, true, &err), 0, "then end");
	tm_reader_free(r);
	tm_buf_release(&line);
	tm_buf_release(&big);
}

/* getline over a gzip file where lines span member boundaries */
static void test_getline_members(void)
{
	uint64_t offs[NCHUNK];
	struct tm_buf line = TM_BUF_INIT, got = TM_BUF_INIT;
	struct tm_err err = TM_ERR_INIT;
	struct tm_reader *r;
	char *p = path_in("lines.gz");
	int rc;

	write_chunks(p, TM_CODEC_GZIP, offs);
	tm_reader_open(p, &r, &err);
	while ((rc = tm_reader_getline(r, &line, 1u << 20, false, &err)) == 1) {
		tm_buf_add(&got, line.buf, line.len);
		tm_buf_addch(&got, '\n');
	}
	is_int(rc, 0, "getline over members ends cleanly");
	tm_buf_reset(&line);
	tm_buf_add(&line, all.buf, all.len);
	if (line.len && line.buf[line.len - 1] != '\n')
		tm_buf_addch(&line, '\n');
	is_mem(got.buf, got.len, line.buf, line.len, "lines joined give the input");
	tm_reader_free(r);
	free(p);
	tm_buf_release(&line);
	tm_buf_release(&got);
}

static size_t before_chunk(int k)
{
	size_t n = 0;

	for (int i = 0; i < k; i++)
		n += chunk[i].len;
	return n;
}

static void test_damage(enum tm_codec codec, const char *name)
{
	uint64_t offs[NCHUNK];
	struct tm_buf file = TM_BUF_INIT, bad = TM_BUF_INIT, got = TM_BUF_INIT;
	struct tm_err err = TM_ERR_INIT;
	struct tm_reader *r;
	char *p = path_in(name);
	size_t cut, k = 11, pre = before_chunk(11);
	int rc;

	write_chunks(p, codec, offs);
	slurp(p, &file);

	/* truncated inside member k */
	cut = (size_t)(offs[k] + (offs[k + 1] - offs[k]) / 2);
	tm_reader_open_mem(file.buf, cut, "cut", &r, &err);
	rc = read_all(r, 3000, &got, &err);
	is_int(rc, TM_ETRUNC, "truncated member: TM_ETRUNC");
	is_u64(err.offset, cut, "TM_ETRUNC at the end of the input");
	ok(got.len >= pre && got.len < pre + chunk[k].len &&
	   !memcmp(got.buf, all.buf, got.len),
	   "the bytes before the cut are returned (%zu of %zu before the member)",
	   got.len, pre);
	tm_reader_free(r);

	/*
	 * Corrupt member k in the middle, in its last byte (gzip: the length
	 * trailer) and, for gzip, in its header (FEXTRA set: the decoder reads
	 * an "extra field" over the following members).
	 */
	for (int where = 0; where < (codec == TM_CODEC_GZIP ? 3 : 2); where++) {
		size_t at, total = 0;
		int errors = 0;
		bool rest_ok = false;

		tm_buf_reset(&bad);
		tm_buf_add(&bad, file.buf, file.len);
		if (where == 0) {
			at = (size_t)(offs[k] + (offs[k + 1] - offs[k]) / 2);
			for (size_t i = 0; i < 16; i++)
				bad.buf[at + i] ^= 0x5a;
		} else if (where == 1) {
			at = (size_t)offs[k + 1] - 1;
			bad.buf[at] ^= 0x01;
		} else {
			at = (size_t)offs[k] + 3;
			bad.buf[at] ^= 0x04;
		}
		tm_reader_open_mem(bad.buf, bad.len, "bad", &r, &err);
		tm_buf_reset(&got);
		for (int guard = 0; guard < 1000; guard++) {
			rc = tm_reader_fill(r, 4096, &err);
			total += tm_reader_avail(r);
			if (rc == TM_ECODEC) {
				errors++;
				ok(err.offset >= offs[k] && (where == 2 || err.offset <= offs[k + 1]),
				   "%s: damage offset %" PRIu64 " within member [%" PRIu64 ",%" PRIu64 "]",
				   where == 2 ? "header" : where ? "last byte" : "middle", err.offset, offs[k], offs[k + 1]);
				tm_buf_add(&got, tm_reader_data(r), tm_reader_avail(r));
				tm_reader_resync(r, NULL, &err);
				/* the next member comes out whole */
				rc = tm_reader_fill(r, 1, &err);
				is_u64(tm_reader_raw_tell(r), offs[k + 1],
				       "resync lands on the next member");
				rest_ok = true;
				continue;
			}
			if (rc < 0)
				break;
			if (rest_ok) {
				struct tm_buf rest = TM_BUF_INIT;

				read_all(r, 100000, &rest, &err);
				is_mem(rest.buf, rest.len, all.buf + pre + chunk[k].len,
				       all.len - pre - chunk[k].len,
				       "members after the damaged one are intact");
				tm_buf_release(&rest);
				break;
			}
			tm_buf_add(&got, tm_reader_data(r), tm_reader_avail(r));
			tm_reader_consume(r, tm_reader_avail(r));
			if (tm_reader_eof(r))
				break;
		}
		is_int(errors, 1, "exactly one TM_ECODEC");
		ok(got.len >= pre && !memcmp(got.buf, all.buf, pre),
		   "members before the damaged one are intact");
		tm_reader_free(r);
	}
	free(p);
	tm_buf_release(&file);
	tm_buf_release(&bad);
	tm_buf_release(&got);
}

static void test_padding_garbage(void)
{
	uint64_t offs[NCHUNK];
	struct tm_buf file = TM_BUF_INIT, got = TM_BUF_INIT;
	struct tm_err err = TM_ERR_INIT;
	struct tm_reader *r;
	char *p = path_in("pad.gz");
	size_t len;
	int rc;

	write_chunks(p, TM_CODEC_GZIP, offs);
	slurp(p, &file);
	len = file.len;
	for (int i = 0; i < 1000; i++)
		tm_buf_addch(&file, 0);
	tm_reader_open_mem(file.buf, file.len, "pad", &r, &err);
	rc = read_all(r, 50000, &got, &err);
	is_int(rc, 0, "zero padding after the last member accepted");
	is_mem(got.buf, got.len, all.buf, all.len, "data intact before the padding");
	ok(tm_reader_eof(r), "eof after padding");
	tm_reader_free(r);

	tm_buf_setlen(&file, len);
	tm_buf_addstr(&file, "trailing garbage\n");
	tm_reader_open_mem(file.buf, file.len, "garbage", &r, &err);
	rc = read_all(r, 50000, &got, &err);
	is_int(rc, TM_ECODEC, "trailing garbage reported");
	is_u64(err.offset, len, "at the garbage's offset");
	is_mem(got.buf, got.len, all.buf, all.len, "data intact before the garbage");
	tm_reader_resync(r, NULL, &err);
	tm_reader_fill(r, 1, &err);
	ok(tm_reader_eof(r), "resync past trailing garbage reaches eof");
	tm_reader_free(r);
	free(p);
	tm_buf_release(&file);
	tm_buf_release(&got);
}

static int count_tmp(const char *prefix)
{
	DIR *d = opendir(tmpdir);
	struct dirent *de;
	int n = 0;

	while (d && (de = readdir(d)))
		if (!strncmp(de->d_name, prefix, strlen(prefix)) &&
		    strstr(de->d_name, ".tmp-"))
			n++;
	if (d)
		closedir(d);
	return n;
}

static void test_writer_files(void)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_writer *w;
	struct tm_buf got = TM_BUF_INIT;
	char *p = path_in("out.txt"), *q = path_in("aborted.txt"),
	     *s = path_in("stdout.txt");
	struct stat st;
	int fd, saved;

	is_int(tm_writer_open(p, TM_CODEC_AUTO, 0, &w, &err), 0, "writer open");
	tm_writer_write(w, "hello\n", 6, &err);
	ok(stat(p, &st) < 0, "final name absent before commit");
	is_int(count_tmp("out.txt"), 1, "one temporary beside it");
	is_int(tm_writer_commit(w, &err), 0, "commit");
	slurp(p, &got);
	is_str(got.buf, "hello\n", "committed content under the final name");
	is_int(count_tmp("out.txt"), 0, "temporary renamed away");

	is_int(tm_writer_open(q, TM_CODEC_AUTO, 0, &w, &err), 0, "writer open");
	tm_writer_write(w, "x", 1, &err);
	is_int(count_tmp("aborted.txt"), 1, "temporary exists");
	tm_writer_abort(w);
	is_int(count_tmp("aborted.txt"), 0, "abort removes the temporary");
	ok(stat(q, &st) < 0, "abort leaves no final file");
	tm_writer_abort(NULL);

	/* "-" is stdout, written directly */
	fflush(stdout);
	fd = open(s, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	saved = dup(1);
	dup2(fd, 1);
	close(fd);
	if (!tm_writer_open("-", TM_CODEC_GZIP, 0, &w, &err)) {
		tm_writer_write(w, "to stdout", 9, &err);
		tm_writer_commit(w, &err);
	}
	dup2(saved, 1);
	close(saved);
	{
		struct tm_reader *r;

		tm_reader_open(s, &r, &err);
		read_all(r, 100, &got, &err);
		is_str(got.buf, "to stdout", "'-' writes gzip to stdout");
		is_int(tm_reader_codec(r), TM_CODEC_GZIP, "forced codec on stdout");
		tm_reader_free(r);
	}
	is_int(count_tmp("-"), 0, "no temporary for stdout");
	free(p);
	free(q);
	free(s);
	tm_buf_release(&got);
}

/* Decodes gzip members with zlib directly. */
static int zlib_gunzip(const struct tm_buf *in, struct tm_buf *out)
{
	z_stream zs;
	size_t pos = 0;
	int zrc = Z_OK;

	tm_buf_reset(out);
	while (pos < in->len) {
		memset(&zs, 0, sizeof(zs));
		inflateInit2(&zs, 16 + MAX_WBITS);
		zs.next_in = (Bytef *)in->buf + pos;
		zs.avail_in = (uInt)(in->len - pos);
		do {
			tm_buf_grow(out, 65536);
			zs.next_out = (Bytef *)out->buf + out->len;
			zs.avail_out = 65536;
			zrc = inflate(&zs, Z_NO_FLUSH);
			tm_buf_setlen(out, out->len + 65536 - zs.avail_out);
		} while (zrc == Z_OK);
		pos = in->len - zs.avail_in;
		inflateEnd(&zs);
		if (zrc != Z_STREAM_END)
			return -1;
	}
	return 0;
}

static void test_writer_roundtrip(void)
{
	struct tm_buf data = TM_BUF_INIT, file = TM_BUF_INIT, got = TM_BUF_INIT;
	struct tm_err err = TM_ERR_INIT;
	int bad_gz = 0, bad_zst = 0, bad_members = 0;

	for (int round = 0; round < 12; round++) {
		size_t len = (size_t)(rnd() % (round % 4 == 3 ? 2000000 : 70000));
		int members = 1 + (int)(rnd() % 5);
		char *p;
		struct tm_writer *w;

		tm_buf_reset(&data);
		for (size_t i = 0; i < len; i++)
			tm_buf_addch(&data, (char)(round & 1 ? rnd() : rnd() % 4 + 'a'));
		for (int c = 1; c <= 2; c++) {
			uint64_t expect_members = 0;

			p = path_in(c == 1 ? "rt.gz" : "rt.zst");
			tm_writer_open(p, TM_CODEC_AUTO, (int)(rnd() % 9) + 1, &w, &err);
			for (int m = 0; m < members; m++) {
				size_t a = len * (size_t)m / (size_t)members,
				       b = len * (size_t)(m + 1) / (size_t)members;

				tm_writer_write(w, data.buf + a, b - a, &err);
				tm_writer_end_member(w, &err);
				expect_members++;
			}
			if (tm_writer_commit(w, &err))
				BUG("commit: %s", err.msg);
			slurp(p, &file);
			if (c == 1) {
				if (zlib_gunzip(&file, &got) || got.len != data.len ||
				    memcmp(got.buf, data.buf, len))
					bad_gz++;
			} else {
				unsigned long long sz = (unsigned long long)len + 1;
				size_t n;

				tm_buf_reset(&got);
				tm_buf_grow(&got, (size_t)sz + 1);
				n = ZSTD_decompress(got.buf, (size_t)sz + 1, file.buf, file.len);
				if (ZSTD_isError(n) || n != len || memcmp(got.buf, data.buf, len))
					bad_zst++;
				{
					/* count frames */
					size_t pos = 0;
					uint64_t frames = 0;

					while (pos < file.len) {
						size_t fs = ZSTD_findFrameCompressedSize(file.buf + pos,
											file.len - pos);
						if (ZSTD_isError(fs))
							break;
						pos += fs;
						frames++;
					}
					if (frames != expect_members)
						bad_members++;
				}
			}
			free(p);
		}
	}
	is_int(bad_gz, 0, "writer gzip output decodes with zlib");
	is_int(bad_zst, 0, "writer zstd output decodes with libzstd");
	is_int(bad_members, 0, "one zstd frame per end_member");
	tm_buf_release(&data);
	tm_buf_release(&file);
	tm_buf_release(&got);
}

static void test_errors(void)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_reader *r = NULL;
	struct tm_buf got = TM_BUF_INIT;
	char *p = path_in("no/such/file");

	is_int(tm_reader_open(p, &r, &err), TM_EIO, "missing file is TM_EIO");
	ok(r == NULL, "no reader on failure");
	ok(strstr(err.file, "no/such/file") != NULL, "error names the file");
	is_int(tm_writer_open(p, TM_CODEC_AUTO, 0, (struct tm_writer **)&r, &err),
	       TM_EIO, "writer into a missing directory is TM_EIO");
	tm_reader_open_mem("", 0, "empty", &r, &err);
	is_int(read_all(r, 10, &got, &err), 0, "empty input");
	ok(tm_reader_eof(r) && got.len == 0, "empty input is at eof");
	tm_reader_free(r);
	tm_reader_free(NULL);
	free(p);
	tm_buf_release(&got);
}

static void cleanup(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *de;

	while (d && (de = readdir(d))) {
		char *p;

		if (de->d_name[0] == '.')
			continue;
		p = path_in(de->d_name);
		unlink(p);
		free(p);
	}
	if (d)
		closedir(d);
	rmdir(tmpdir);
}

int main(int argc, char **argv)
{
	tap_srand(tap_seed(argc, argv));
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/u-stream-XXXXXX");
	if (!mkdtemp(tmpdir))
		BUG("mkdtemp");
	make_chunks();
	test_codecs();
	test_mem_reader();
	test_gzip_cli();
	test_getline();
	test_getline_members();
	test_damage(TM_CODEC_GZIP, "dmg.gz");
	test_damage(TM_CODEC_ZSTD, "dmg.zst");
	test_padding_garbage();
	test_writer_files();
	test_writer_roundtrip();
	test_errors();
	cleanup();
	for (int i = 0; i < NCHUNK; i++)
		tm_buf_release(&chunk[i]);
	tm_buf_release(&all);
	return tap_done();
}
