/*
 * u-shard.c: lib/tokstream.h and lib/shard.h through their public API:
 * the token stream round trip and its damage checks; shards of both
 * widths read back byte for byte, accepted by an independent copy of
 * llm.c's loader rules; the sharder's sizes, determinism, shuffle window
 * and held-out split; damaged shards rejected by verify.
 */
#include "tamis.h"
#include "shard.h"
#include "tokstream.h"
#include "tap.h"

#include <dirent.h>
#include <ftw.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ------------------------------------------------ llm.c's loader, re-done */

/*
 * The header check of llm.c's dataloader.h (dataloader_load_shard_),
 * written from its rules, not from tamis's code: 256 int32; magic
 * 20240520 with version 1 and uint16 tokens (the Llama 3 branch:
 * 20240801, version 7, uint32); ntok = header[2] > 0; the file size must
 * be 256 * sizeof(int) + ntok * token size.  Returns ntok, or -1.
 */
static long long llmc_load_shard(const char *path)
{
	int header[256];
	FILE *f = fopen(path, "rb");
	long long ntok, expected, size;
	size_t tok_size;

	if (!f)
		return -1;
	if (fread(header, sizeof(int), 256, f) != 256) {
		fclose(f);
		return -1;
	}
	if (header[0] == 20240520 && header[1] == 1) {
		tok_size = sizeof(uint16_t);
	} else if (header[0] == 20240801 && header[1] == 7) {
		tok_size = sizeof(uint32_t);
	} else {
		fclose(f);
		return -1;
	}
	ntok = header[2];
	if (!(ntok > 0)) {
		fclose(f);
		return -1;
	}
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fclose(f);
	expected = 256 * (long long)sizeof(int) + ntok * (long long)tok_size;
	return size == expected ? ntok : -1;
}

/* ------------------------------------------------ helpers */

/* The payload of a shard as uint32 ids, decoded here (not by lib/). */
static size_t payload(const char *path, uint32_t **ids)
{
	struct tm_buf b = TM_BUF_INIT;
	int32_t h[256];
	size_t n, i, w;

	tap_read_file(path, &b);
	if (b.len < 1024) {
		*ids = NULL;
		tm_buf_release(&b);
		return 0;
	}
	memcpy(h, b.buf, 1024);
	w = h[0] == 20240520 ? 2 : 4;
	n = (b.len - 1024) / w;
	*ids = tm_xmalloc((n + 1) * sizeof(**ids));
	for (i = 0; i < n; i++) {
		if (w == 2) {
			uint16_t s;

			memcpy(&s, b.buf + 1024 + 2 * i, 2);
			(*ids)[i] = s;
		} else {
			memcpy(&(*ids)[i], b.buf + 1024 + 4 * i, 4);
		}
	}
	tm_buf_release(&b);
	return n;
}

#define BOS 1u

/* Document k of a test stream: a unique first id (10 + k), never BOS. */
static size_t make_doc(uint32_t k, uint32_t vocab, uint32_t *ids)
{
	size_t n = 3 + (k * 7) % 23, j;

	ids[0] = 10 + k;
	for (j = 1; j < n; j++)
		ids[j] = 2 + (k * 31 + (uint32_t)j * 17) % (vocab - 2);
	return n;
}

/* A stream of ndocs documents: source "web" or, every third, "code". */
static void make_stream(const char *path, uint32_t vocab, uint32_t ndocs)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_tokstream_header h = { vocab, BOS, 2, 0 };
	struct tm_tokw *w;
	uint32_t ids[64], k;
	char id[32];

	if (tm_tokw_open(path, &h, &w, &err) < 0)
		BUG("%s", err.msg);
	for (k = 0; k < ndocs; k++) {
		size_t n = make_doc(k, vocab, ids);

		snprintf(id, sizeof(id), "doc-%u", k);
		if (tm_tokw_write_doc(w, k % 3 == 2 ? "code" : "web", id, ids, n, &err) < 0)
			BUG("%s", err.msg);
	}
	if (tm_tokw_commit(w, &err) < 0)
		BUG("%s", err.msg);
}

/* ------------------------------------------------ token stream */

static void test_tokstream_roundtrip(const char *name, uint32_t vocab)
{
	struct tm_err err = TM_ERR_INIT;
	const char *path = tap_tmp(name);
	struct tm_tokr *r;
	const char *source, *id;
	const uint32_t *ids;
	uint32_t want[64];
	size_t n;
	uint32_t k = 0;
	int rc, good = 1;

	make_stream(path, vocab, 50);
	is_int(tm_tokr_open(path, &r, &err), 0, "tokstream: open");
	is_u64(tm_tokr_header(r)->vocab_size, vocab, "tokstream: vocab_size");
	is_u64(tm_tokr_header(r)->bos_id, BOS, "tokstream: bos_id");
	is_u64(tm_tokr_header(r)->eos_id, 2, "tokstream: eos_id");
	is_u64(tm_tokr_header(r)->token_bytes, vocab <= 65536 ? 2 : 4, "tokstream: width");
	while ((rc = tm_tokr_next(r, &source, &id, &ids, &n, &err)) > 0) {
		char wid[32];
		size_t wn = make_doc(k, vocab, want);

		snprintf(wid, sizeof(wid), "doc-%u", k);
		if (n != wn || memcmp(ids, want, n * 4) || strcmp(id, wid) ||
		    strcmp(source, k % 3 == 2 ? "code" : "web"))
			good = 0;
		k++;
	}
	is_int(rc, 0, "tokstream: clean end");
	ok(good, "tokstream %s: every document read back as written", name);
	is_u64(k, 50, "tokstream: 50 documents");
	is_int(tm_tokr_next(r, &source, &id, &ids, &n, &err), 0, "tokstream: end stays end");
	tm_tokr_free(r);
}

/* Reads path to the end; returns the error code (0 clean) and fills err. */
static int read_all(const char *path, struct tm_err *err)
{
	struct tm_tokr *r;
	const char *source, *id;
	const uint32_t *ids;
	size_t n;
	int rc;

	tm_err_clear(err);
	if ((rc = tm_tokr_open(path, &r, err)) < 0)
		return rc;
	while ((rc = tm_tokr_next(r, &source, &id, &ids, &n, err)) > 0)
		;
	tm_tokr_free(r);
	return rc;
}

static void test_tokstream_damage(void)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_tokstream_header h = { 100, BOS, TM_TOK_NONE, 0 };
	const char *good = tap_tmp("good.tok"), *bad = tap_tmp("bad.tok");
	struct tm_buf b = TM_BUF_INIT, c = TM_BUF_INIT;
	uint32_t ids[3] = { 1, 5, 99 }, big = 100;
	struct tm_tokw *w;
	uint64_t n;

	is_int(tm_tokw_open(good, &h, &w, &err), 0, "damage: writer open");
	is_int(tm_tokw_write_doc(w, "s", "a", ids, 3, &err), 0, "damage: doc a");
	is_int(tm_tokw_write_doc(w, "s", "b", &big, 1, &err), TM_EINVAL,
	       "damage: the writer refuses an id >= vocab_size");
	is_int(tm_tokw_write_doc(w, "s", "b", ids, 2, &err), 0, "damage: doc b");
	is_int(tm_tokw_commit(w, &err), 0, "damage: commit");
	tap_read_file(good, &b);
	/* header 32; doc a: 4 + 3 + 3 + 6 = 16 bytes at 32; ids at 42 */
	is_u64(b.len, 32 + 16 + 14 + 12, "damage: stream size as FORMATS.md says");
	is_int(read_all(good, &err), 0, "damage: the good stream reads");

	tm_buf_reset(&c);
	tm_buf_add(&c, b.buf, b.len - 12);
	tap_write_file(bad, c.buf, c.len);
	is_int(read_all(bad, &err), TM_ETRUNC, "damage: no end marker: truncated");
	ok(strstr(err.msg, "end marker") != NULL, "damage: ... says so: %s", err.msg);

	tm_buf_reset(&c);
	tm_buf_add(&c, b.buf, b.len);
	n = 3;
	memcpy(c.buf + c.len - 8, &n, 8);
	tap_write_file(bad, c.buf, c.len);
	is_int(read_all(bad, &err), TM_EFORMAT, "damage: end marker count wrong");
	is_u64(err.offset, b.len - 8, "damage: ... at the count's offset");

	tm_buf_reset(&c);
	tm_buf_add(&c, b.buf, b.len);
	c.buf[46] = 100;	/* doc a's third id: 100 = vocab_size */
	tap_write_file(bad, c.buf, c.len);
	is_int(read_all(bad, &err), TM_EFORMAT, "damage: id >= vocab_size");
	is_u64(err.offset, 46, "damage: ... at the id's offset");
	ok(strstr(err.file, "bad.tok") != NULL, "damage: ... naming the file");

	tm_buf_reset(&c);
	tm_buf_add(&c, b.buf, b.len);
	c.buf[0] = 'X';
	tap_write_file(bad, c.buf, c.len);
	is_int(read_all(bad, &err), TM_EFORMAT, "damage: bad magic");
	is_u64(err.offset, 0, "damage: ... at offset 0");

	tm_buf_reset(&c);
	tm_buf_add(&c, b.buf, b.len);
	tm_buf_add(&c, "x", 1);
	tap_write_file(bad, c.buf, c.len);
	is_int(read_all(bad, &err), TM_EFORMAT, "damage: bytes after the end marker");

	tm_buf_reset(&c);
	tm_buf_add(&c, b.buf, b.len);
	c.buf[24] = 4;	/* width 4 with 2-byte ids: the record sizes break */
	c.buf[12] = 0;	/* vocabulary 0 */
	tap_write_file(bad, c.buf, c.len);
	is_int(read_all(bad, &err), TM_EFORMAT, "damage: vocabulary 0");
	tm_buf_release(&b);
	tm_buf_release(&c);
}

/* ------------------------------------------------ shard files */

static void test_shard_widths(void)
{
	static const uint32_t vocabs[2] = { 50257, 128256 };
	struct tm_err err = TM_ERR_INIT;
	int v;

	for (v = 0; v < 2; v++) {
		struct tm_shard_info meta, got, rd;
		struct tm_shard_writer *w;
		uint32_t ids[1000], *back;
		const char *path = tap_tmp(v ? "w4.bin" : "w2.bin");
		size_t i, n;

		memset(&meta, 0, sizeof(meta));
		meta.vocab_size = vocabs[v];
		meta.bos_id = vocabs[v] - 1;
		meta.index = 7;
		meta.split = TM_SHARD_VAL;
		meta.seed = 0x123456789ULL;
		for (i = 0; i < 1000; i++)
			ids[i] = i % 100 == 0 ? meta.bos_id : (uint32_t)(i * 2654435761u) % vocabs[v];
		is_int(tm_shard_open(path, &meta, &w, &err), 0, "shard: open");
		is_int(tm_shard_write(w, ids, 600, &err), 0, "shard: write");
		is_int(tm_shard_write(w, ids + 600, 400, &err), 0, "shard: write more");
		is_int(tm_shard_commit(w, &got, &err), 0, "shard: commit");
		is_u64(got.ntok, 1000, "shard: ntok");
		is_u64(got.ndocs, 10, "shard: ndocs = BOS tokens");
		is_u64(got.token_bytes, v ? 4 : 2, "shard: width follows the vocabulary");
		is_u64(got.magic, v ? 20240801 : 20240520, "shard: magic");
		is_u64(llmc_load_shard(path), 1000, "shard: llm.c's loader rules accept it");
		n = payload(path, &back);
		ok(n == 1000 && !memcmp(back, ids, sizeof(ids)), "shard: payload is the ids");
		free(back);
		is_int(tm_shard_verify(path, &rd, &err), 0, "shard: verify");
		is_u64(rd.vocab_size, vocabs[v], "shard: info vocab_size");
		is_u64(rd.bos_id, meta.bos_id, "shard: info bos_id");
		is_u64(rd.index, 7, "shard: info index");
		is_u64(rd.split, TM_SHARD_VAL, "shard: info split");
		is_u64(rd.seed, 0x123456789ULL, "shard: info seed");
		is_u64(rd.xxh64, got.xxh64, "shard: info xxh64");
		is_u64(rd.file_size, 1024 + 1000 * (v ? 4 : 2), "shard: file size");
	}
	{
		struct tm_shard_info meta;
		struct tm_shard_writer *w;
		const char *path = tap_tmp("empty.bin");
		uint32_t big = 50257;

		memset(&meta, 0, sizeof(meta));
		meta.vocab_size = 50257;
		meta.bos_id = 0;
		is_int(tm_shard_open(path, &meta, &w, &err), 0, "shard: open an empty one");
		is_int(tm_shard_write(w, &big, 1, &err), TM_EINVAL, "shard: id >= vocab refused");
		is_int(tm_shard_commit(w, NULL, &err), TM_EINVAL, "shard: no tokens, no shard");
		ok(access(path, F_OK) < 0, "shard: ... and no file");
	}
}

/* Rewrites one byte of `src` into `dst`. */
static void patch(const char *src, const char *dst, size_t off, int byte)
{
	struct tm_buf b = TM_BUF_INIT;

	tap_read_file(src, &b);
	b.buf[off] = (char)byte;
	tap_write_file(dst, b.buf, b.len);
	tm_buf_release(&b);
}

static void test_verify_rejects(void)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_shard_info in;
	struct tm_buf b = TM_BUF_INIT;
	const char *good = tap_tmp("w2.bin"), *bad = tap_tmp("bad.bin");

	tap_read_file(good, &b);
	patch(good, bad, 1024 + 5, b.buf[1024 + 5] ^ 0x01);
	is_int(tm_shard_verify(bad, &in, &err), TM_EDIGEST, "verify: a flipped payload bit");
	ok(strstr(err.msg, "XXH64") != NULL, "verify: ... the checksum: %s", err.msg);
	is_int(tm_shard_read_info(bad, &in, &err), 0, "verify: ... though the header is fine");

	patch(good, bad, 1024 + 3, 0xff);	/* token 1 = 0xffxx >= 50257 */
	is_int(tm_shard_verify(bad, &in, &err), TM_EFORMAT, "verify: id >= vocab_size");
	is_u64(err.offset, 1026, "verify: ... at its offset");

	patch(good, bad, 0, 0);
	is_int(tm_shard_verify(bad, &in, &err), TM_EFORMAT, "verify: bad magic");
	ok(llmc_load_shard(bad) < 0, "verify: ... llm.c refuses it too");
	patch(good, bad, 4, 2);
	is_int(tm_shard_verify(bad, &in, &err), TM_EFORMAT, "verify: bad version");
	is_u64(err.offset, 4, "verify: ... at offset 4");
	patch(good, bad, 8, 0xe9);	/* ntok 1001 */
	is_int(tm_shard_verify(bad, &in, &err), TM_ETRUNC, "verify: size below ntok's");
	ok(llmc_load_shard(bad) < 0, "verify: ... llm.c refuses it too");
	patch(good, bad, 28, 11);
	is_int(tm_shard_verify(bad, &in, &err), TM_EFORMAT, "verify: document count wrong");
	ok(strstr(err.msg, "BOS") != NULL, "verify: ... counted in BOS tokens: %s", err.msg);
	patch(good, bad, 100, 1);
	is_int(tm_shard_verify(bad, &in, &err), TM_EFORMAT, "verify: a reserved word set");
	is_u64(err.offset, 100, "verify: ... at its offset");

	tap_write_file(bad, b.buf, b.len - 1);
	is_int(tm_shard_verify(bad, &in, &err), TM_ETRUNC, "verify: a truncated file");
	ok(llmc_load_shard(bad) < 0, "verify: ... llm.c refuses it too");
	tap_write_file(bad, b.buf, 100);
	is_int(tm_shard_verify(bad, &in, &err), TM_ETRUNC, "verify: a cut header");
	tm_buf_release(&b);
}

/* ------------------------------------------------ the sharder */

struct shard_run {
	size_t nshards;
};

static void count_shard(void *arg, const char *source, const char *path,
			const struct tm_shard_info *info)
{
	struct shard_run *r = arg;

	(void)source;
	(void)info;
	ok(access(path, F_OK) == 0, "on_shard: %s is in place", path);
	r->nshards++;
}

/* Shards the stream `in` into dir; returns 0 or the error. */
static int shard(const char *in, const char *dir, uint64_t tps, uint64_t window, uint64_t seed,
		 double val, struct shard_run *run)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_shard_opts o;
	struct tm_sharder *s;
	struct tm_tokr *r;
	const char *source, *id;
	const uint32_t *ids;
	size_t n;
	int rc;

	memset(&o, 0, sizeof(o));
	o.dir = dir;
	o.tokens_per_shard = tps;
	o.window = window;
	o.seed = seed;
	o.val_fraction = val;
	o.on_shard = count_shard;
	o.arg = run;
	if ((rc = tm_tokr_open(in, &r, &err)) < 0)
		return rc;
	if ((rc = tm_sharder_new(&o, tm_tokr_header(r)->vocab_size, tm_tokr_header(r)->bos_id,
				 &s, &err)) < 0) {
		tm_tokr_free(r);
		return rc;
	}
	while ((rc = tm_tokr_next(r, &source, &id, &ids, &n, &err)) > 0)
		if ((rc = tm_sharder_add(s, source, id, ids, n, &err)) < 0)
			break;
	if (!rc)
		rc = tm_sharder_finish(s, &err);
	tm_sharder_free(s);
	tm_tokr_free(r);
	return rc;
}

/* All shards of one split of a source, concatenated (payloads). */
static size_t gather(const char *dir, const char *src, const char *split, uint32_t **out,
		     size_t *nfiles)
{
	struct tm_buf p = TM_BUF_INIT;
	size_t total = 0, k;

	*out = NULL;
	for (k = 0;; k++) {
		uint32_t *ids;
		size_t n;

		tm_buf_reset(&p);
		tm_buf_addf(&p, "%s/%s/%s_%s_%06zu.bin", dir, src, src, split, k);
		if (access(p.buf, F_OK) < 0)
			break;
		n = payload(p.buf, &ids);
		*out = tm_xrealloc(*out, (total + n + 1) * sizeof(**out));
		memcpy(*out + total, ids, n * sizeof(*ids));
		total += n;
		free(ids);
	}
	*nfiles = k;
	tm_buf_release(&p);
	return total;
}

/* The documents (by first id - 10) of a BOS-separated payload, in order. */
static size_t doc_order(const uint32_t *ids, size_t n, uint32_t *order)
{
	size_t i, m = 0;

	for (i = 0; i + 1 < n; i++)
		if (ids[i] == BOS)
			order[m++] = ids[i + 1] - 10;
	return m;
}

static bool same_files(const char *a, const char *b)
{
	struct tm_buf x = TM_BUF_INIT, y = TM_BUF_INIT;
	bool same;

	tap_read_file(a, &x);
	tap_read_file(b, &y);
	same = x.len == y.len && !memcmp(x.buf, y.buf, x.len);
	tm_buf_release(&x);
	tm_buf_release(&y);
	return same;
}

static void test_sharder(void)
{
	const char *in = tap_tmp("s.tok");
	const char *d0 = tap_tmp("out0"), *d1 = tap_tmp("out1"), *d2 = tap_tmp("out2");
	const char *d3 = tap_tmp("out3");
	struct shard_run run = { 0 };
	uint32_t *all, *order, want[64];
	size_t n, nf, m, i, k, expect_tokens = 0;
	struct tm_buf a = TM_BUF_INIT, b = TM_BUF_INIT;
	bool good;

	make_stream(in, 50257, 300);
	for (k = 0; k < 300; k++)
		if (k % 3 != 2)
			expect_tokens += make_doc((uint32_t)k, 50257, want) + 1;

	/* no window, no held-out: the documents in order, BOS before each */
	is_int(shard(in, d0, 1000, 0, 1, 0, &run), 0, "sharder: in order");
	n = gather(d0, "web", "train", &all, &nf);
	is_u64(n, expect_tokens, "sharder: every web token, plus one BOS per document");
	is_u64(nf, (expect_tokens + 999) / 1000, "sharder: shards of 1000 tokens, the last short");
	order = tm_xmalloc(300 * sizeof(*order));
	m = doc_order(all, n, order);
	is_u64(m, 200, "sharder: 200 web documents");
	good = true;
	for (i = 0, k = 0; k < 300; k++) {
		size_t dn;

		if (k % 3 == 2)
			continue;
		dn = make_doc((uint32_t)k, 50257, want);
		if (all[i] != BOS || memcmp(all + i + 1, want, dn * 4))
			good = false;
		i += dn + 1;
	}
	ok(good, "sharder: window 0 keeps the input order, documents intact");
	free(all);
	tm_buf_reset(&a);
	tm_buf_addf(&a, "%s/web/web_train_000000.bin", d0);
	is_u64(llmc_load_shard(a.buf), 1000, "sharder: llm.c's loader accepts a full shard");
	tm_buf_reset(&a);
	tm_buf_addf(&a, "%s/web/web_train_%06zu.bin", d0, nf - 1);
	is_u64(llmc_load_shard(a.buf), expect_tokens - 1000 * (nf - 1),
	       "sharder: ... and the short last one");
	n = gather(d0, "code", "train", &all, &nf);
	is_u64(doc_order(all, n, order), 100, "sharder: 100 code documents in code/");
	free(all);
	is_u64(run.nshards, (expect_tokens + 999) / 1000 + nf, "sharder: on_shard per shard");

	/* window 50: a permutation, each document at most 50 places early */
	is_int(shard(in, d1, 1000, 50, 7, 0, &run), 0, "sharder: window 50");
	n = gather(d1, "web", "train", &all, &nf);
	is_u64(n, expect_tokens, "sharder: window: every token");
	m = doc_order(all, n, order);
	{
		uint32_t seen[300] = { 0 };
		bool moved = false, early = false;

		good = m == 200;
		for (i = 0; i < m; i++) {
			uint32_t d = order[i], rank = d - d / 3;	/* its place among web docs */

			if (d >= 300 || d % 3 == 2 || seen[d]++)
				good = false;
			if (rank != i)
				moved = true;
			if (i + 50 < rank)
				early = true;
		}
		ok(good, "sharder: window: every document exactly once");
		ok(moved, "sharder: window: the order changed");
		ok(!early, "sharder: window: none leaves more than 50 places early");
	}
	free(all);

	/* the same again: byte-identical; another seed: another order */
	is_int(shard(in, d2, 1000, 50, 7, 0, &run), 0, "sharder: again");
	tm_buf_reset(&a);
	tm_buf_reset(&b);
	good = true;
	for (k = 0; k < nf; k++) {
		tm_buf_reset(&a);
		tm_buf_reset(&b);
		tm_buf_addf(&a, "%s/web/web_train_%06zu.bin", d1, k);
		tm_buf_addf(&b, "%s/web/web_train_%06zu.bin", d2, k);
		if (!same_files(a.buf, b.buf))
			good = false;
	}
	ok(good, "sharder: same input and seed: byte-identical shards");
	is_int(shard(in, d3, 1000, 50, 8, 0, &run), 0, "sharder: another seed");
	tm_buf_reset(&a);
	tm_buf_reset(&b);
	tm_buf_addf(&a, "%s/web/web_train_000000.bin", d1);
	tm_buf_addf(&b, "%s/web/web_train_000000.bin", d3);
	ok(!same_files(a.buf, b.buf), "sharder: another seed: another order");
	free(order);
	tm_buf_release(&a);
	tm_buf_release(&b);
}

/* The ids of the held-out documents of dir/web. */
static size_t val_docs(const char *dir, uint32_t *order)
{
	uint32_t *all;
	size_t n, nf, m;

	n = gather(dir, "web", "val", &all, &nf);
	m = doc_order(all, n, order);
	free(all);
	return m;
}

static void test_val_split(void)
{
	const char *in = tap_tmp("v.tok");
	const char *d0 = tap_tmp("val0"), *d1 = tap_tmp("val1"), *d2 = tap_tmp("val2");
	struct shard_run run = { 0 };
	uint32_t a[2000], b[2000], c[2000];
	size_t na, nb, nc, i, want = 0;
	char id[32];
	bool good = true;

	make_stream(in, 50257, 3000);
	is_int(shard(in, d0, 100000, 0, 5, 0.1, &run), 0, "val: window 0");
	is_int(shard(in, d1, 100000, 100, 5, 0.1, &run), 0, "val: window 100");
	is_int(shard(in, d2, 100000, 100, 6, 0.1, &run), 0, "val: another seed");
	na = val_docs(d0, a);
	nb = val_docs(d1, b);
	nc = val_docs(d2, c);
	for (i = 0; i < 3000; i++) {
		snprintf(id, sizeof(id), "doc-%zu", i);
		if (i % 3 != 2 && tm_shard_is_val(id, 5, 0.1))
			want++;
	}
	is_u64(na, want, "val: the documents whose id hash falls below 0.1");
	ok(na > 150 && na < 250, "val: about a tenth of 2000 (%zu)", na);
	ok(na == nb && !memcmp(a, b, na * sizeof(*a)),
	   "val: the same documents, same order, whatever the window");
	ok(nc != na || memcmp(a, c, na * sizeof(*a)), "val: another seed, other documents");
	for (i = 0; i < na; i++) {
		snprintf(id, sizeof(id), "doc-%u", a[i]);
		if (!tm_shard_is_val(id, 5, 0.1))
			good = false;
	}
	ok(good, "val: each held-out document is one tm_shard_is_val() picks");
	{
		uint32_t *all, order[3000];
		size_t n, nf, m;

		n = gather(d1, "web", "train", &all, &nf);
		m = doc_order(all, n, order);
		is_u64(m + na, 2000, "val: train and val together hold every document");
		free(all);
	}
}

/*
 * A full disk: in a child whose files may not grow past 3000 bytes (and
 * which ignores SIGXFSZ, so write fails with EFBIG), sharding fails with
 * TM_EIO and leaves no file at all, final or temporary.
 */
static void test_write_failure(void)
{
	const char *in = tap_tmp("f.tok"), *dir = tap_tmp("full");
	struct tm_buf p = TM_BUF_INIT;
	pid_t pid;
	int status;

	make_stream(in, 50257, 300);
	pid = fork();
	if (pid == 0) {
		struct rlimit rl = { 3000, 3000 };
		struct shard_run run = { 0 };

		signal(SIGXFSZ, SIG_IGN);
		setrlimit(RLIMIT_FSIZE, &rl);
		_exit(shard(in, dir, 100000, 0, 1, 0, &run) == TM_EIO ? 0 : 1);
	}
	ok(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	   WEXITSTATUS(status) == 0, "full disk: the sharder says TM_EIO");
	tm_buf_addf(&p, "%s/web", dir);
	{
		DIR *d = opendir(p.buf);
		struct dirent *e;
		int files = 0;

		while (d && (e = readdir(d)))
			files += e->d_name[0] != '.';
		if (d)
			closedir(d);
		is_int(files, 0, "full disk: no shard and no temporary left");
	}
	tm_buf_release(&p);
}

static void test_source_names(void)
{
	struct tm_buf b = TM_BUF_INIT;

	tm_shard_source_name("web", &b);
	is_str(b.buf, "web", "source name: plain");
	tm_buf_reset(&b);
	tm_shard_source_name("../etc/x y", &b);
	is_str(b.buf, "_._etc_x_y", "source name: no way out of the directory");
	tm_buf_reset(&b);
	tm_shard_source_name("", &b);
	is_str(b.buf, "default", "source name: empty");
	tm_buf_release(&b);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

/* Removes what the tests wrote, so that tap_done() can remove the directory. */
static void cleanup(void)
{
	static const char *const dirs[] = { "out0", "out1", "out2", "out3", "val0", "val1",
					    "val2", "full" };
	static const char *const files[] = { "r2.tok", "r4.tok.zst", "r2.tok.gz", "good.tok",
					     "bad.tok", "w2.bin", "w4.bin", "bad.bin",
					     "s.tok", "v.tok", "f.tok" };
	size_t i;

	for (i = 0; i < TM_ARRAY_SIZE(dirs); i++)
		nftw(tap_tmp(dirs[i]), rm_one, 8, FTW_DEPTH | FTW_PHYS);
	for (i = 0; i < TM_ARRAY_SIZE(files); i++)
		remove(tap_tmp(files[i]));
}

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	test_tokstream_roundtrip("r2.tok", 50257);
	test_tokstream_roundtrip("r4.tok.zst", 128256);
	test_tokstream_roundtrip("r2.tok.gz", 1000);
	test_tokstream_damage();
	test_shard_widths();
	test_verify_rejects();
	test_sharder();
	test_val_split();
	test_source_names();
	test_write_failure();
	cleanup();
	return tap_done();
}
