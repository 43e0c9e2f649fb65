/*
 * u-warc.c: lib/warc.h on every real WARC file in shared/data/warc (exact
 * record counts, offsets, types, URIs, lengths, damage), digests, and a
 * seeded writer/reader round trip over gzip, zstd and plain output.
 */
#include "tamis.h"
#include "stream.h"
#include "warc.h"
#include "tap.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>
#include <openssl/evp.h>

static char tmpdir[64];

#define rnd() tap_rand()

static char *data_path(const char *rel)
{
	struct tm_buf b = TM_BUF_INIT;

	tm_buf_addf(&b, "%s/warc/%s", tap_data_dir(), rel);
	return tm_buf_detach(&b, NULL);
}

/* What reading a whole file gives. */
struct summary {
	int records, errors, damaged_recs, digests, digest_bad;
	uint64_t first_off, last_off, sum_cl, sum_block;
	char first_type[32], last_type[32];
	char first_uri[128], last_uri[128];
	uint64_t err_off[8];
	int err_code[8];
	int first_damage;
};

static void scan(const char *rel, struct summary *s)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_reader *in;
	struct tm_warc_reader *wr;
	struct tm_warc_record *rec;
	char *p = data_path(rel);
	int rc, guard = 0;

	memset(s, 0, sizeof(*s));
	if (tm_reader_open(p, &in, &err)) {
		s->records = -1;
		free(p);
		return;
	}
	tm_warc_reader_new(in, NULL, &wr);
	while ((rc = tm_warc_next(wr, &rec, &err)) != 0 && guard++ < 10000) {
		const char *bd;

		if (rc < 0) {
			if (s->errors < 8) {
				s->err_off[s->errors] = err.offset;
				s->err_code[s->errors] = rc;
			}
			s->errors++;
			if (rc == TM_EIO)
				break;
			continue;
		}
		if (!s->records) {
			s->first_off = rec->offset;
			snprintf(s->first_type, sizeof(s->first_type), "%s", rec->type_str);
			snprintf(s->first_uri, sizeof(s->first_uri), "%s",
				 rec->target_uri ? rec->target_uri : "-");
			s->first_damage = rec->damage.code;
		}
		s->records++;
		s->last_off = rec->offset;
		snprintf(s->last_type, sizeof(s->last_type), "%s", rec->type_str);
		snprintf(s->last_uri, sizeof(s->last_uri), "%s",
			 rec->target_uri ? rec->target_uri : "-");
		s->sum_cl += rec->content_length;
		s->sum_block += rec->block_len;
		if (rec->damage.code)
			s->damaged_recs++;
		bd = tm_warc_field(rec, "WARC-Block-Digest");
		if (bd && rec->block) {
			s->digests++;
			if (tm_warc_digest_check(bd, rec->block, rec->block_len, NULL))
				s->digest_bad++;
		}
	}
	ok(guard < 10000, "%s: reading terminates", rel);
	tm_warc_reader_free(wr);
	tm_reader_free(in);
	free(p);
}

struct expect {
	const char *file;
	int records, errors;
	uint64_t first_off;
	const char *first_type, *first_uri;
	uint64_t last_off;
	const char *last_type, *last_uri;
	uint64_t sum_cl, sum_block;
	int digests;		/* records with a Block-Digest; all must match, -1: don't care */
};

static const struct expect files[] = {
	{ "whirlwind/whirlwind.warc.gz", 4, 0, 0, "warcinfo", "-", 18374, "metadata",
	  "https://an.wikipedia.org/wiki/Escopete", 75533, 75533, 4 },
	{ "whirlwind/whirlwind.warc.wet.gz", 2, 0, 0, "warcinfo", "-", 466, "conversion",
	  "https://an.wikipedia.org/wiki/Escopete", 4824, 4824, 2 },
	{ "whirlwind/whirlwind.warc.wat.gz", 2, 0, 0, "warcinfo", "-", 443, "metadata",
	  "https://an.wikipedia.org/wiki/Escopete", 1664, 1664, 2 },
	{ "resiliparse/warcfile.warc.gz", 50, 0, 0, "warcinfo", "-", 135468, "request",
	  "http://0974400.com/play_hg1mkl3.shtml", 527846, 527846, 16 },
	{ "resiliparse/clueweb-quirk.warc.gz", 30, 0, 0, "warcinfo", "-", 251856, "response",
	  "http://www.uraharajuku.st/shopdetail/001034000010/order/", 921046, 921046, 29 },
	{ "resiliparse/block-sized-records.warc.gz", 3, 0, 0, "unknown", "-", 409, "unknown",
	  "-", 3 * 16229, 3 * 16229, 0 },
	{ "dolma/sample-0000.warc.gz", 48, 0, 0, "warcinfo", "-", 212955, "resource",
	  "metadata://gnu.org/software/wget/warc/wget.log", 762509, 762509, 48 },
	{ "dolma/sample-0001.warc.gz", 34, 0, 0, "warcinfo", "-", 235920, "resource",
	  "metadata://gnu.org/software/wget/warc/wget.log", 1001092, 1001092, 34 },
	{ "warcio/example.warc", 6, 0, 0, "warcinfo", "-", 4316, "request",
	  "http://example.com/", 3049, 3049, -1 },
	{ "warcio/example.warc.gz", 6, 0, 0, "warcinfo", "-", 3207, "request",
	  "http://example.com/", 3049, 3049, -1 },
	{ "warcio/example-iana.org-chunked.warc", 3, 0, 0, "warcinfo", "-", 8379, "request",
	  "http://www.iana.org/", 7779, 7779, -1 },
	{ "warcio/example-resource.warc.gz", 3, 0, 0, "warcinfo", "-", 802, "resource",
	  "http://example.com/", 1951, 1951, -1 },
	{ "warcio/example-space-in-target-uri.warc.gz", 2, 0, 0, "warcinfo", "-", 241,
	  "resource", "file:///example with spaces.png", 143, 143, -1 },
	{ "warcio/example-wget-bad-target-uri.warc.gz", 6, 0, 0, "warcinfo", "-", 2681,
	  "resource", "metadata://gnu.org/software/wget/warc/wget.log", 2539, 2539, 6 },
	{ "warcio/example-wrong-chunks.warc.gz", 2, 0, 0, "response", "http://example.com/",
	  1130, "request", "http://example.com/", 1750, 1750, -1 },
	{ "warcio/example-bad-non-chunked.warc.gz", 6, 0, 0, "warcinfo", "-", 0, "request",
	  "http://example.com/", 3049, 3049, -1 },
	{ "warcio/post-test.warc.gz", 6, 0, 0, "response", "http://httpbin.org/post", 3118,
	  "request", "http://httpbin.org/post?foo=bar", 2886, 2886, 6 },
	{ "warcio/example-trunc.warc", 4, 1, 0, "warcinfo", "-", 2566, "request",
	  "http://example.com/", 2185, 2185, -1 },
};

static void test_files(void)
{
	size_t i;

	for (i = 0; i < TM_ARRAY_SIZE(files); i++) {
		const struct expect *e = &files[i];
		struct summary s;

		scan(e->file, &s);
		if (getenv("U_WARC_DUMP"))
			tap_diag("%s %d %d %" PRIu64 " %s %s %" PRIu64 " %s %s cl=%" PRIu64
				 " block=%" PRIu64 " dig=%d/%d", e->file, s.records, s.errors,
				 s.first_off, s.first_type, s.first_uri, s.last_off,
				 s.last_type, s.last_uri, s.sum_cl, s.sum_block, s.digests,
				 s.digest_bad);
		is_int(s.records, e->records, e->file);
		is_int(s.errors, e->errors, "damage reports");
		is_u64(s.first_off, e->first_off, "first record offset");
		is_str(s.first_type, e->first_type, "first record type");
		is_str(s.first_uri, e->first_uri, "first record URI");
		is_u64(s.last_off, e->last_off, "last record offset");
		is_str(s.last_type, e->last_type, "last record type");
		is_str(s.last_uri, e->last_uri, "last record URI");
		if (e->sum_cl) {
			is_u64(s.sum_cl, e->sum_cl, "sum of Content-Length");
			is_u64(s.sum_block, e->sum_block, "sum of block lengths");
		}
		if (e->digests >= 0)
			is_int(s.digests, e->digests, "records with WARC-Block-Digest");
		if (e->digests > 0)
			is_int(s.digest_bad, 0, "every WARC-Block-Digest matches");
	}
}

/* Lengths of the big files, checked separately (sums in one place). */
static void test_sums(void)
{
	struct summary s;

	scan("resiliparse/warcfile.warc.gz", &s);
	is_u64(s.sum_cl, s.sum_block, "warcfile: blocks as long as claimed");
	is_int(s.damaged_recs, 0, "warcfile: no damaged record");
	scan("dolma/sample-0000.warc.gz", &s);
	is_u64(s.sum_block, s.sum_cl, "dolma 0: blocks as long as claimed");
	scan("resiliparse/clueweb-quirk.warc.gz", &s);
	is_int(s.damaged_recs, 0, "clueweb: no damaged record");
}

static void test_clueweb_version(void)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_reader *in;
	struct tm_warc_reader *wr;
	struct tm_warc_record *rec;
	char *p = data_path("resiliparse/clueweb-quirk.warc.gz");
	int n018 = 0, rc;

	tm_reader_open(p, &in, &err);
	tm_warc_reader_new(in, NULL, &wr);
	while ((rc = tm_warc_next(wr, &rec, &err)) == 1)
		n018 += !strcmp(rec->version, "0.18");
	is_int(n018, 30, "clueweb: 30 records of WARC/0.18");
	tm_warc_reader_free(wr);
	tm_reader_free(in);
	free(p);
}

/* Files that are damaged or not WARC: the exact sequence of results. */
static void test_broken(void)
{
	struct summary s;

	scan("resiliparse/clipped.warc.gz", &s);
	is_int(s.records, 0, "clipped: no record");
	is_int(s.errors, 1, "clipped: one damage report");
	ok(s.err_code[0] == TM_ETRUNC || s.err_code[0] == TM_ECODEC,
	   "clipped: TM_ETRUNC or TM_ECODEC (%d)", s.err_code[0]);
	is_u64(s.err_off[0], 0, "clipped: damage at offset 0");

	scan("warcio/example-trunc.warc", &s);
	is_u64(s.err_off[0], 2560, "example-trunc: damage at 2560 (zero bytes)");
	is_int(s.err_code[0], TM_EFORMAT, "example-trunc: TM_EFORMAT");

	scan("cc_net/sample.warc.wet.txt", &s);
	is_int(s.records, 4, "cc_net WET: 4 records");
	is_int(s.first_damage, TM_EFORMAT, "cc_net WET: first record damaged "
	       "(Content-Length runs past it: LF-only edits)");
	is_str(s.first_type, "warcinfo", "cc_net WET: warcinfo first");
	is_str(s.last_uri, "http://sample_russian.ru", "cc_net WET: last URI");
	is_u64(s.last_off, 1959, "cc_net WET: last offset");
	is_int(s.errors, 3, "cc_net WET: 3 damage reports");
	is_u64(s.err_off[0], 1307, "cc_net WET: damage offsets");
	is_u64(s.err_off[1], 1755, "cc_net WET: damage offsets");
	is_u64(s.err_off[2], 2650, "cc_net WET: damage offsets");

	static const char *const arcs[] = {
		"warcio/example.arc", "warcio/example.arc.gz", "warcio/bad.arc",
		"warcio/example-space-in-url.arc",
	};
	for (size_t i = 0; i < TM_ARRAY_SIZE(arcs); i++) {
		scan(arcs[i], &s);
		is_int(s.records, 0, arcs[i]);
		is_int(s.errors, 1, "ARC: one damage report");
		is_int(s.err_code[0], TM_EFORMAT, "ARC: TM_EFORMAT");
		is_u64(s.err_off[0], 0, "ARC: at offset 0");
	}
	scan("whirlwind/CC-MAIN-2024-22.warc.paths.gz", &s);
	ok(s.records == 0 && s.errors == 1 && s.err_code[0] == TM_EFORMAT,
	   "a gzip text file is reported as not WARC");
}

static void sha_hex(const char *alg, const void *p, size_t n, struct tm_buf *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	EVP_Digest(p, n, md, &len, EVP_get_digestbyname(alg), NULL);
	tm_buf_addf(out, "%s:", alg);
	for (unsigned i = 0; i < len; i++)
		tm_buf_addf(out, "%02x", md[i]);
}

static void test_digests(void)
{
	struct tm_buf d = TM_BUF_INIT;
	struct tm_err err = TM_ERR_INIT;
	static const char txt[] = "The quick brown fox";

	/* known value: sha1 of "" */
	tm_warc_digest_sha1("", 0, &d);
	is_str(d.buf, "sha1:3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ", "sha1 of empty, base32");
	is_int(tm_warc_digest_check(d.buf, "", 0, &err), 0, "base32 digest verifies");
	is_int(tm_warc_digest_check("sha1:3i42h3s6nnfq2msvx7xzkyayscx5qbyj", "", 0, &err), 0,
	       "lowercase base32 verifies");
	is_int(tm_warc_digest_check(d.buf, "x", 1, &err), TM_EDIGEST, "mismatch is TM_EDIGEST");
	ok(strstr(err.msg, "3I42H3S6") != NULL, "mismatch message names the digest");
	tm_buf_reset(&d);
	sha_hex("sha1", txt, strlen(txt), &d);
	is_int(tm_warc_digest_check(d.buf, txt, strlen(txt), &err), 0, "sha1 hex verifies");
	for (size_t i = 5; i < d.len; i++)
		d.buf[i] = (char)toupper((unsigned char)d.buf[i]);
	is_int(tm_warc_digest_check(d.buf, txt, strlen(txt), &err), 0, "uppercase hex verifies");
	is_int(tm_warc_digest_check(d.buf, txt, strlen(txt) - 1, &err), TM_EDIGEST,
	       "hex mismatch is TM_EDIGEST");
	tm_buf_reset(&d);
	sha_hex("sha256", txt, strlen(txt), &d);
	is_int(tm_warc_digest_check(d.buf, txt, strlen(txt), &err), 0, "sha256 hex verifies");
	tm_buf_reset(&d);
	sha_hex("md5", txt, strlen(txt), &d);
	is_int(tm_warc_digest_check(d.buf, txt, strlen(txt), &err), 0, "md5 hex verifies");
	is_int(tm_warc_digest_check("crc32:abcd", txt, 3, &err), TM_EUNSUP,
	       "unknown algorithm is TM_EUNSUP");
	is_int(tm_warc_digest_check("nocolon", txt, 3, &err), TM_EFORMAT,
	       "malformed digest is TM_EFORMAT");
	is_int(tm_warc_digest_check(":abc", txt, 3, &err), TM_EFORMAT,
	       "empty algorithm is TM_EFORMAT");
	tm_buf_release(&d);
}

/* The round trip. */
#define NREC 1000
struct wrec {
	char type[24];
	char id[64];
	char uri[64];
	int nextra;
	char extra[3][2][48];
	struct tm_buf block;
	uint64_t off;
};

static struct wrec recs[NREC];

static void make_records(void)
{
	static const char *const types[] = {
		"warcinfo", "response", "resource", "request", "metadata",
		"revisit", "conversion", "continuation", "x-custom",
	};

	for (int i = 0; i < NREC; i++) {
		struct wrec *r = &recs[i];
		size_t len = rnd() % 7 == 0 ? 0 :
			     (size_t)(rnd() % (rnd() % 50 == 0 ? 300000 : 3000));
		int binary = (int)(rnd() % 2);

		snprintf(r->type, sizeof(r->type), "%s", types[rnd() % TM_ARRAY_SIZE(types)]);
		snprintf(r->id, sizeof(r->id), "<urn:uuid:%08x-0000-4000-8000-%012d>",
			 (unsigned)rnd(), i);
		snprintf(r->uri, sizeof(r->uri), "http://example.org/%d?q=%u", i,
			 (unsigned)rnd() % 1000);
		r->nextra = (int)(rnd() % 4);
		for (int k = 0; k < r->nextra; k++) {
			snprintf(r->extra[k][0], 48, "X-Field-%d", k);
			snprintf(r->extra[k][1], 48, "value %u: with colon",
				 (unsigned)rnd());
		}
		tm_buf_init(&r->block, len);
		for (size_t k = 0; k < len; k++) {
			/* blocks may contain "WARC/1.0" lines and CRLFs */
			if (!binary && k % 97 == 0 && k + 10 < len) {
				tm_buf_addstr(&r->block, "\nWARC/1.0\r\n");
				k += 10;
				continue;
			}
			tm_buf_addch(&r->block, binary ? (char)rnd() : (char)(' ' + rnd() % 90));
		}
	}
}

static void roundtrip(const char *name)
{
	struct tm_buf path = TM_BUF_INIT;
	struct tm_err err = TM_ERR_INIT;
	struct tm_writer *w;
	struct tm_reader *in;
	struct tm_warc_reader *wr;
	struct tm_warc_record *rec;
	int i, rc, bad_fields = 0, bad_block = 0, bad_off = 0, bad_digest = 0, n = 0;

	tm_buf_addf(&path, "%s/%s", tmpdir, name);
	tm_writer_open(path.buf, TM_CODEC_AUTO, 0, &w, &err);
	for (i = 0; i < NREC; i++) {
		struct tm_warc_out_field f[6];
		size_t nf = 0;

		f[nf++] = (struct tm_warc_out_field){ "WARC-Record-ID", recs[i].id };
		f[nf++] = (struct tm_warc_out_field){ "WARC-Date", "2024-05-18T01:02:03Z" };
		f[nf++] = (struct tm_warc_out_field){ "WARC-Target-URI", recs[i].uri };
		for (int k = 0; k < recs[i].nextra; k++)
			f[nf++] = (struct tm_warc_out_field){ recs[i].extra[k][0],
							      recs[i].extra[k][1] };
		recs[i].off = tm_writer_raw_tell(w);
		rc = tm_warc_write(w, i % 2 ? "1.0" : NULL, recs[i].type, f, nf,
				   recs[i].block.buf, recs[i].block.len, &err);
		if (rc)
			BUG("tm_warc_write: %s", err.msg);
	}
	is_int(tm_writer_commit(w, &err), 0, "commit");

	tm_reader_open(path.buf, &in, &err);
	tm_warc_reader_new(in, NULL, &wr);
	while ((rc = tm_warc_next(wr, &rec, &err)) != 0 && n < NREC + 10) {
		struct wrec *r;
		const char *bd;

		if (rc < 0 || n >= NREC) {
			n++;
			bad_fields++;
			continue;
		}
		r = &recs[n++];
		if (rec->offset != r->off)
			bad_off++;
		if (strcmp(rec->type_str, r->type) || strcmp(rec->version, n % 2 ? "1.1" : "1.0") ||
		    !rec->record_id || strcmp(rec->record_id, r->id) ||
		    !rec->target_uri || strcmp(rec->target_uri, r->uri) ||
		    !rec->date || strcmp(rec->date, "2024-05-18T01:02:03Z") ||
		    rec->content_length != r->block.len || rec->damage.code ||
		    rec->nfields != (size_t)(6 + r->nextra))
			bad_fields++;
		for (int k = 0; k < r->nextra; k++) {
			const char *v = tm_warc_field(rec, r->extra[k][0]);

			if (!v || strcmp(v, r->extra[k][1]))
				bad_fields++;
		}
		if (!rec->block || rec->block_len != r->block.len ||
		    (r->block.len && memcmp(rec->block, r->block.buf, r->block.len)))
			bad_block++;
		bd = tm_warc_field(rec, "WARC-Block-Digest");
		if (!bd || tm_warc_digest_check(bd, rec->block, rec->block_len, NULL))
			bad_digest++;
	}
	is_int(n, NREC, name);
	is_int(bad_fields, 0, "every field read back");
	is_int(bad_block, 0, "every block byte-identical");
	is_int(bad_off, 0, "offsets equal the writer's raw_tell");
	is_int(bad_digest, 0, "every Block-Digest verifies");
	tm_warc_reader_free(wr);
	tm_reader_free(in);
	unlink(path.buf);
	tm_buf_release(&path);
}

int main(int argc, char **argv)
{
	tap_srand(tap_seed(argc, argv));
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/u-warc-XXXXXX");
	if (!mkdtemp(tmpdir))
		BUG("mkdtemp");
	test_files();
	test_sums();
	test_clueweb_version();
	test_broken();
	test_digests();
	make_records();
	roundtrip("rt.warc.gz");
	roundtrip("rt.warc.zst");
	roundtrip("rt.warc");
	for (int i = 0; i < NREC; i++)
		tm_buf_release(&recs[i].block);
	rmdir(tmpdir);
	return tap_done();
}
