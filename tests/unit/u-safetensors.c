/*
 * u-safetensors.c: train/safetensors.h through its public API: bfloat16
 * rounding against an independent nearest-value oracle and its edge cases
 * (ties to even, NaN, inf, overflow), the F16 decoder over all 65536
 * values against the formula (and the compiler's _Float16 where there is
 * one), F32/BF16 write-read round trips bit for bit with the file layout
 * the reference writer makes, metadata, every validation rule on crafted
 * headers (code, file, offset, message), multi-file indexes, and a full
 * disk.
 */
#include "tamis.h"
#include "safetensors.h"
#include "tap.h"

#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static uint32_t bits(float x)
{
	uint32_t u;

	memcpy(&u, &x, 4);
	return u;
}

static float of_bits(uint32_t u)
{
	float x;

	memcpy(&x, &u, 4);
	return x;
}

/* ------------------------------------------------ conversions */

/*
 * The bfloat16 nearest to finite x by comparing distances in double, ties
 * to the even one: an oracle that shares nothing with the bit trick.
 * Only for |x| below bfloat16's largest finite value.
 */
static uint16_t bf16_oracle(float x)
{
	uint16_t lo = (uint16_t)(bits(x) >> 16), hi = (uint16_t)(lo + 1);
	double dl = fabs((double)x - (double)of_bits((uint32_t)lo << 16));
	double dh = fabs((double)x - (double)of_bits((uint32_t)hi << 16));

	if (dl != dh)
		return dl < dh ? lo : hi;
	return (lo & 1) ? hi : lo;
}

static void test_bf16(unsigned long seed)
{
	static const struct {
		uint32_t in;
		uint16_t out;
		const char *what;
	} cases[] = {
		{ 0x3f800000, 0x3f80, "1.0 is exact" },
		{ 0x3f808000, 0x3f80, "a tie rounds down to even" },
		{ 0x3f818000, 0x3f82, "a tie rounds up to even" },
		{ 0x3f808001, 0x3f81, "just above a tie rounds up" },
		{ 0x3f807fff, 0x3f80, "just below a tie rounds down" },
		{ 0xbf818000, 0xbf82, "negative ties to even" },
		{ 0x00008000, 0x0000, "a subnormal tie to even (zero)" },
		{ 0x00018000, 0x0002, "a subnormal tie up to even" },
		{ 0x80000000, 0x8000, "-0 keeps its sign" },
		{ 0x7f800000, 0x7f80, "inf stays inf" },
		{ 0xff800000, 0xff80, "-inf stays -inf" },
		{ 0x7f7fffff, 0x7f80, "FLT_MAX rounds to inf (as torch does)" },
		{ 0x7f7f7fff, 0x7f7f, "the largest value that stays finite" },
		{ 0x7fc00000, 0x7fc0, "the quiet NaN" },
		{ 0xffc00000, 0xffc0, "a negative NaN keeps its sign" },
	};
	uint32_t nans[] = { 0x7f800001, 0x7f80ffff, 0xff800001, 0x7fffffff };
	size_t i, bad = 0;
	uint32_t h;

	for (i = 0; i < TM_ARRAY_SIZE(cases); i++)
		is_int(tm_bf16_from_f32(of_bits(cases[i].in)), cases[i].out, cases[i].what);
	for (i = 0; i < TM_ARRAY_SIZE(nans); i++) {
		uint16_t b = tm_bf16_from_f32(of_bits(nans[i]));

		ok((b & 0x7f80) == 0x7f80 && (b & 0x7f) && (b >> 15) == nans[i] >> 31,
		   "NaN 0x%08x stays a NaN of its sign (0x%04x)", nans[i], b);
	}
	for (h = 0; h < 0x10000; h++) {
		float x = tm_f32_from_bf16((uint16_t)h);

		if (bits(x) != h << 16 || (!isnan(x) && tm_bf16_from_f32(x) != h))
			bad++;
	}
	is_u64(bad, 0, "every bfloat16 widens exactly and narrows back to itself");
	tap_srand(seed);
	for (i = 0; i < 1000000; i++) {
		float x = of_bits((uint32_t)tap_rand());

		if (!isnan(x) && fabsf(x) < 3.38e38f && tm_bf16_from_f32(x) != bf16_oracle(x))
			bad++;
	}
	is_u64(bad, 0, "a million random floats round as the nearest-value oracle says");
}

static void test_f16(void)
{
	static const struct {
		uint16_t in;
		float out;
		const char *what;
	} cases[] = {
		{ 0x3c00, 1.0f, "1.0" },
		{ 0xc000, -2.0f, "-2.0" },
		{ 0x3555, 0.333251953125f, "1/3 as binary16 has it" },
		{ 0x7bff, 65504.0f, "the largest finite" },
		{ 0x0400, 0x1p-14f, "the smallest normal" },
		{ 0x03ff, 1023 * 0x1p-24f, "the largest subnormal" },
		{ 0x0001, 0x1p-24f, "the smallest subnormal" },
		{ 0x8001, -0x1p-24f, "a negative subnormal" },
		{ 0x7c00, INFINITY, "inf" },
		{ 0xfc00, -INFINITY, "-inf" },
	};
	size_t i, bad = 0;
	uint32_t h;

	for (i = 0; i < TM_ARRAY_SIZE(cases); i++)
		is_u64(bits(tm_f32_from_f16(cases[i].in)), bits(cases[i].out), cases[i].what);
	is_u64(bits(tm_f32_from_f16(0x8000)), 0x80000000, "-0");
	is_u64(bits(tm_f32_from_f16(0x7e00)), 0x7fc00000, "the quiet NaN");
	is_u64(bits(tm_f32_from_f16(0xfd01)), 0xffa02000, "a NaN keeps sign and payload");
	for (h = 0; h < 0x10000; h++) {
		int e = (h >> 10) & 0x1f, m = h & 0x3ff;
		double v = e ? ldexp(1 + m / 1024.0, e - 15) : ldexp(m, -24);
		float got = tm_f32_from_f16((uint16_t)h);

		bool neg = h & 0x8000, good;

		if (e == 31)
			good = (m ? isnan(got) : isinf(got)) && !!signbit(got) == neg;
		else
			good = (double)got == (neg ? -v : v) && !!signbit(got) == neg;
		bad += !good;
#ifdef __FLT16_MAX__
		{
			uint16_t h16 = (uint16_t)h;
			_Float16 f;

			memcpy(&f, &h16, 2);
			bad += !isnan(got) && bits(got) != bits((float)f);
		}
#endif
	}
	is_u64(bad, 0, "all 65536 binary16 values decode as the formula (and _Float16) say");
}

/* ------------------------------------------------ round trips */

/* Fills x[0..n) with values of every kind: normal, subnormal, -0, inf, NaN payloads. */
static void fill(float *x, size_t n, uint64_t seed)
{
	static const uint32_t special[] = {
		0x00000000, 0x80000000, 0x00000001, 0x807fffff, 0x7f800000, 0xff800000,
		0x7fc00000, 0x7f800001, 0xffbfffff, 0x7f7fffff, 0x3f808000, 0x3f818000,
	};
	size_t i;

	tap_srand(seed);
	for (i = 0; i < n; i++)
		x[i] = i < TM_ARRAY_SIZE(special) ? of_bits(special[i])
			: (i % 3 ? (float)((double)(tap_rand() >> 11) * 0x1p-53 - 0.5)
				 : of_bits((uint32_t)tap_rand()));
}

struct set {
	struct tm_st_out t[6];
	float data[1000];
	size_t n;
};

/* Six tensors: 2-D, 1-D, a scalar, an empty one, 3-D, and a UTF-8 name. */
static void make_set(struct set *s)
{
	static const struct {
		const char *name;
		int ndim;
		int64_t shape[3];
	} d[] = {
		{ "model.embed_tokens.weight", 2, { 10, 7 } },
		{ "model.norm.weight", 1, { 7 } },
		{ "scalar", 0, { 0 } },
		{ "empty", 2, { 0, 3 } },
		{ "cube", 3, { 2, 3, 4 } },
		{ "z\xc3\xa9ro \"quoted\"", 1, { 5 } },
	};
	size_t i, off = 0;
	int k;

	memset(s, 0, sizeof(*s));
	fill(s->data, TM_ARRAY_SIZE(s->data), 7);
	for (i = 0; i < TM_ARRAY_SIZE(d); i++) {
		int64_t numel = 1;

		s->t[i].name = d[i].name;
		s->t[i].ndim = d[i].ndim;
		for (k = 0; k < d[i].ndim; k++) {
			s->t[i].shape[k] = d[i].shape[k];
			numel *= d[i].shape[k];
		}
		s->t[i].data = s->data + off;
		off += (size_t)numel;
	}
	s->n = TM_ARRAY_SIZE(d);
}

static int64_t numel_of(const struct tm_st_out *t)
{
	int64_t n = 1;
	int k;

	for (k = 0; k < t->ndim; k++)
		n *= t->shape[k];
	return n;
}

static void test_roundtrip(enum tm_st_dtype dtype)
{
	static const char *const meta[] = { "format", "pt", "note", "caf\xc3\xa9", NULL };
	const char *name = tm_st_dtype_name(dtype);
	const char *head = "{\"__metadata__\":{\"format\":\"pt\",\"note\":\"caf\xc3\xa9\"},"
			   "\"model.embed_tokens.weight\":{\"dtype\":\"";
	const char *path = tap_tmp(dtype == TM_ST_F32 ? "rt-f32.safetensors" : "rt-bf16.safetensors");
	struct tm_err err = TM_ERR_INIT;
	struct tm_buf file = TM_BUF_INIT;
	struct tm_st *st = NULL;
	struct set s;
	float got[200];
	uint64_t hlen, at = 0;
	size_t i, bad = 0;
	int64_t j;

	make_set(&s);
	is_int(tm_st_write(path, s.t, s.n, dtype, meta, &err), 0, "write");
	tap_read_file(path, &file);
	memcpy(&hlen, file.buf, 8);
	ok(hlen % 8 == 0 && (file.buf[8 + hlen - 1] == ' ' || file.buf[8 + hlen - 1] == '}'),
	   "%s: header length %llu is a multiple of 8, padded with spaces", name,
	   (unsigned long long)hlen);
	ok(!strncmp(file.buf + 8, head, strlen(head)),
	   "%s: compact JSON, metadata first, then the tensors in order", name);
	if (!is_int(tm_st_open(path, &st, &err), 0, "open what was written")) {
		tap_diag("%s", err.msg);
		tm_buf_release(&file);
		return;
	}
	is_u64(tm_st_count(st), s.n, "every tensor is there");
	is_str(tm_st_meta(st, "note"), "caf\xc3\xa9", "metadata");
	ok(tm_st_meta(st, "format") && !tm_st_meta(st, "absent"), "metadata lookups");
	for (i = 0; i < s.n; i++) {
		const struct tm_st_tensor *t = tm_st_get(st, i);

		if (!t || strcmp(t->name, s.t[i].name) || t->dtype != dtype ||
		    t->ndim != s.t[i].ndim || t->begin != at || t->numel != numel_of(&s.t[i]) ||
		    memcmp(t->shape, s.t[i].shape, sizeof(t->shape)) || t->file != 0 ||
		    tm_st_find(st, s.t[i].name) != t) {
			bad++;
			continue;
		}
		at = t->end;
		if (tm_st_load(st, t, got, &err)) {
			bad++;
			continue;
		}
		for (j = 0; j < t->numel; j++) {
			float want = dtype == TM_ST_F32 ? s.t[i].data[j]
				     : tm_f32_from_bf16(tm_bf16_from_f32(s.t[i].data[j]));

			bad += bits(got[j]) != bits(want);
		}
	}
	ok(bad == 0, "%s: names, shapes, data in the given order, values bit for bit", name);
	is_u64(at + 8 + hlen, file.len, "the data ends the file");
	ok(!tm_st_find(st, "nothing"), "find: an absent name");
	tm_st_free(st);
	tm_buf_release(&file);
}

static void test_write_refusals(void)
{
	static const char *const bad_meta[] = { "k", "\xff", NULL };
	static const char *const odd_meta[] = { "k", NULL };
	const char *path = tap_tmp("refused.safetensors");
	struct tm_err err = TM_ERR_INIT;
	struct set s;
	struct tm_st_out twice[2];

	make_set(&s);
	is_int(tm_st_write(path, s.t, s.n, TM_ST_F16, NULL, &err), TM_EINVAL, "F16 is not written");
	is_int(tm_st_write(path, s.t, s.n, TM_ST_F32, bad_meta, &err), TM_EINVAL,
	       "metadata that is not UTF-8");
	is_int(tm_st_write(path, s.t, s.n, TM_ST_F32, odd_meta, &err), TM_EINVAL,
	       "a metadata key without a value");
	twice[0] = s.t[0];
	twice[1] = s.t[0];
	is_int(tm_st_write(path, twice, 2, TM_ST_F32, NULL, &err), TM_EINVAL, "a name twice");
	ok(strstr(err.msg, "twice") != NULL, "... says so: %s", err.msg);
	twice[1].name = "__metadata__";
	is_int(tm_st_write(path, twice, 2, TM_ST_F32, NULL, &err), TM_EINVAL, "a reserved name");
	twice[1].name = "bad\xc3";
	is_int(tm_st_write(path, twice, 2, TM_ST_F32, NULL, &err), TM_EINVAL, "a non-UTF-8 name");
	twice[1].name = "neg";
	twice[1].shape[0] = -1;
	is_int(tm_st_write(path, twice, 2, TM_ST_F32, NULL, &err), TM_EINVAL, "a negative dimension");
	twice[1].shape[0] = INT64_MAX / 2;
	is_int(tm_st_write(path, twice, 2, TM_ST_F32, NULL, &err), TM_EINVAL, "a size past 2^63");
	twice[1].shape[0] = 4;
	twice[1].data = NULL;
	is_int(tm_st_write(path, twice, 2, TM_ST_F32, NULL, &err), TM_EINVAL, "no data");
	ok(access(path, F_OK) < 0, "nothing written by a refused write");
}

/* ------------------------------------------------ validation */

/* A file image: the header length, `json`, `data` zero bytes. */
static void image(struct tm_buf *b, uint64_t n, const char *json, size_t data)
{
	size_t i;

	tm_buf_reset(b);
	for (i = 0; i < 8; i++)
		tm_buf_addch(b, (int)(n >> 8 * i & 0xff));
	tm_buf_addstr(b, json);
	for (i = 0; i < data; i++)
		tm_buf_addch(b, 0);
}

/* An offset `k` bytes into the data, for reject(). */
#define DATA(k) ((1ULL << 62) | (k))

/*
 * Parses the image of `json` with `data` bytes and checks the verdict:
 * the code, the file name, the offset (TM_ERR_NO_OFFSET: any; DATA(k):
 * k bytes after the header) and a piece of the message.
 */
static void reject(const char *json, size_t data, int code, uint64_t off, const char *msg,
		   const char *what)
{
	struct tm_buf b = TM_BUF_INIT;
	struct tm_err err = TM_ERR_INIT;
	struct tm_st *st = NULL;
	int rc;

	image(&b, strlen(json), json, data);
	if (off != TM_ERR_NO_OFFSET && off & (1ULL << 62))
		off = 8 + strlen(json) + (off & ~(1ULL << 62));
	rc = tm_st_parse(b.buf, b.len, "x.safetensors", &st, &err);
	ok(rc == code && !strcmp(err.file, "x.safetensors") &&
	   (off == TM_ERR_NO_OFFSET || err.offset == off) && strstr(err.msg, msg),
	   "%s: %s (offset %llu)", what, err.msg, (unsigned long long)err.offset);
	if (rc != code)
		tap_diag("rc %d, want %d", rc, code);
	tm_st_free(st);
	tm_buf_release(&b);
}

static void accept(const char *json, size_t data, size_t count, const char *what)
{
	struct tm_buf b = TM_BUF_INIT;
	struct tm_err err = TM_ERR_INIT;
	struct tm_st *st = NULL;

	image(&b, strlen(json), json, data);
	ok(tm_st_parse(b.buf, b.len, "x.safetensors", &st, &err) == 0 &&
	   tm_st_count(st) == count, "%s %s", what, err.msg);
	tm_st_free(st);
	tm_buf_release(&b);
}

#define T(name, dt, shape, b, e) \
	"\"" name "\":{\"dtype\":\"" dt "\",\"shape\":" shape ",\"data_offsets\":[" #b "," #e "]}"

static void test_validation(void)
{
	struct tm_buf b = TM_BUF_INIT;
	struct tm_err err = TM_ERR_INIT;
	struct tm_st *st = NULL;
	float v[2];

	accept("{}", 0, 0, "no tensors");
	accept("{" T("a", "F32", "[2]", 0, 8) "}   \n ", 8, 1, "trailing whitespace");
	accept("{\"__metadata__\":null," T("a", "I64", "[]", 0, 8) "," T("e", "F32", "[0]", 8, 8) "}",
	       8, 2, "null metadata, a scalar I64, an empty tensor");
	accept("{" T("b", "BF16", "[1]", 2, 4) "," T("a", "U8", "[2]", 0, 2) "}", 4, 2,
	       "offsets in another order than the keys");

	tm_buf_addstr(&b, "abc");
	is_int(tm_st_parse(b.buf, b.len, "x.safetensors", &st, &err), TM_ETRUNC, "3 bytes");
	ok(err.offset == 0 && strstr(err.msg, "8-byte"), "... %s", err.msg);
	image(&b, 1ULL << 40, "{}", 0);
	is_int(tm_st_parse(b.buf, b.len, "x.safetensors", &st, &err), TM_ETOOBIG,
	       "a header length of 2^40");
	ok(strstr(err.msg, "exceeds the limit") != NULL, "... %s", err.msg);
	image(&b, TM_ST_MAX_HEADER + 1, "{}", 0);
	is_int(tm_st_parse(b.buf, b.len, "x.safetensors", &st, &err), TM_ETOOBIG,
	       "one byte over the reference's limit");
	image(&b, 40, "{}", 0);
	is_int(tm_st_parse(b.buf, b.len, "x.safetensors", &st, &err), TM_ETRUNC,
	       "a truncated header");
	ok(strstr(err.msg, "runs past the end") != NULL, "... %s", err.msg);
	tm_buf_release(&b);

	reject(" {}", 0, TM_EFORMAT, 8, "starting with '{'", "a header with a leading space");
	reject("[]", 0, TM_EFORMAT, 8, "starting with '{'", "an array");
	reject("{", 0, TM_EFORMAT, 8, "must be a JSON object", "one byte");
	reject("{\"a\":", 0, TM_EFORMAT, TM_ERR_NO_OFFSET, "invalid JSON", "cut JSON");
	reject("{} x", 0, TM_EFORMAT, TM_ERR_NO_OFFSET, "invalid JSON", "garbage after the object");
	reject("{\"a\xff\":1}", 0, TM_EFORMAT, 11, "invalid UTF-8 (byte 0xff)", "bad UTF-8");
	reject("{\"\xed\xa0\x80\":1}", 0, TM_EFORMAT, 10, "invalid UTF-8", "an encoded surrogate");
	reject("{\"a\":{}, \"a\":{}}", 0, TM_EFORMAT, TM_ERR_NO_OFFSET, "duplicate",
	       "a name twice");
	reject("{" T("a", "Q4", "[2]", 0, 8) "}", 8, TM_EFORMAT, 8, "unknown dtype 'Q4'",
	       "an unknown dtype");
	reject("{" T("a", "F4", "[2]", 0, 1) "}", 1, TM_EUNSUP, 8, "sub-byte", "F4");
	reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", 4,
	       TM_EFORMAT, 8, "exactly", "an extra field");
	reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, TM_EFORMAT, 8, "exactly",
	       "no data_offsets");
	reject("{\"a\":[]}", 0, TM_EFORMAT, 8, "expected an object, got an array",
	       "an entry that is not an object");
	reject("{" T("a", "F32", "[-1]", 0, 4) "}", 4, TM_EFORMAT, 8, "shape[0]",
	       "a negative dimension");
	reject("{" T("a", "F32", "[1.0]", 0, 4) "}", 4, TM_EFORMAT, 8, "shape[0]",
	       "a real dimension");
	reject("{" T("a", "U8", "[1,1,1,1,1,1,1,1,1]", 0, 1) "}", 1, TM_EUNSUP, 8,
	       "9 dimensions", "nine dimensions");
	reject("{" T("a", "U8", "[4611686018427387904,4]", 0, 0) "}", 0, TM_EFORMAT, 8,
	       "overflows", "a shape product past 2^63");
	reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4, TM_EFORMAT,
	       8, "[begin, end]", "one offset");
	reject("{" T("a", "F32", "[1]", 4, 0) "}", 4, TM_EFORMAT, 8, "begin <= end",
	       "begin after end");
	reject("{" T("a", "F32", "[2]", 0, 4) "}", 4, TM_EFORMAT, 8,
	       "2 elements of F32 need 8 bytes, data_offsets [0, 4] hold 4", "a wrong length");
	reject("{" T("a", "F32", "[2]", 0, 8) "," T("b", "F32", "[2]", 4, 12) "}", 12,
	       TM_EFORMAT, DATA(4), "overlaps tensor 'a'", "overlapping tensors");
	reject("{" T("a", "F32", "[1]", 0, 4) "," T("b", "F32", "[1]", 8, 12) "}", 12,
	       TM_EFORMAT, DATA(4), "bytes [4, 8) of the data belong to no tensor", "a gap");
	reject("{" T("a", "F32", "[1]", 4, 8) "}", 8, TM_EFORMAT, DATA(0),
	       "bytes [0, 4)", "a gap at the start");
	reject("{" T("a", "F32", "[2]", 0, 8) "}", 16, TM_EFORMAT, DATA(8),
	       "8 bytes of data after the last tensor", "trailing data");
	reject("{" T("a", "F32", "[2]", 0, 8) "}", 4, TM_ETRUNC, DATA(0),
	       "ends at byte 8 of the data, which holds 4 bytes", "a tensor past the end");
	reject("{\"__metadata__\":[]}", 0, TM_EFORMAT, 8, "\"__metadata__\" must be an object",
	       "metadata as an array");
	reject("{\"__metadata__\":{\"k\":1}}", 0, TM_EFORMAT, 8, "'k' must be a string, got a number",
	       "a metadata number");

	/* a NUL cannot come through strlen: build it by hand */
	image(&b, 7, "{\"a\":1}", 0);
	b.buf[8 + 3] = '\0';
	is_int(tm_st_parse(b.buf, b.len, "x.safetensors", &st, &err), TM_EFORMAT, "a raw NUL");
	ok(err.offset == 11 && strstr(err.msg, "NUL"), "... at its offset: %s", err.msg);

	/* a dtype that parses but does not load */
	image(&b, strlen("{" T("a", "I64", "[1]", 0, 8) "}"), "{" T("a", "I64", "[1]", 0, 8) "}", 8);
	if (!is_int(tm_st_parse(b.buf, b.len, "x.safetensors", &st, &err), 0, "I64 parses"))
		return;
	is_int(tm_st_load(st, tm_st_get(st, 0), v, &err), TM_EUNSUP, "... and does not load");
	ok(strstr(err.msg, "F32, BF16 and F16") != NULL, "... %s", err.msg);
	tm_st_free(st);
	tm_buf_release(&b);
}

/* Files that exist or not, a damaged one. */
static void test_open_errors(void)
{
	const char *path = tap_tmp("cut.safetensors");
	struct tm_err err = TM_ERR_INIT;
	struct tm_st *st = NULL;
	struct stat sb;
	struct set s;

	make_set(&s);
	is_int(tm_st_open(tap_tmp("absent.safetensors"), &st, &err), TM_EIO, "a missing file");
	ok(err.sys == ENOENT, "... with errno");
	mkdir(tap_tmp("adir"), 0777);
	is_int(tm_st_open(tap_tmp("adir"), &st, &err), TM_EIO, "a directory");
	rmdir(tap_tmp("adir"));
	is_int(tm_st_write(path, s.t, s.n, TM_ST_F32, NULL, &err), 0, "write one");
	ok(stat(path, &sb) == 0 && truncate(path, sb.st_size - 4) == 0, "cut 4 bytes off");
	is_int(tm_st_open(path, &st, &err), TM_ETRUNC, "a cut file");
	ok(strstr(err.file, "cut.safetensors") && strstr(err.msg, "tensor 'z\xc3\xa9ro"),
	   "... names the file and the tensor: %s", err.msg);
	ok(truncate(path, 0) == 0, "empty it");
	is_int(tm_st_open(path, &st, &err), TM_ETRUNC, "an empty file");
	unlink(path);
}

/* ------------------------------------------------ several files */

static void write_index(const char *path, const char *json)
{
	tap_write_file(path, json, strlen(json));
}

static void test_index(void)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_st *st = NULL;
	struct set s;
	const struct tm_st_tensor *t;
	const char *idx = tap_tmp("model.safetensors.index.json");
	float got[100];
	size_t i;

	make_set(&s);
	is_int(tm_st_write(tap_tmp("m-1.safetensors"), s.t, 2, TM_ST_F32, NULL, &err), 0, "file 1");
	is_int(tm_st_write(tap_tmp("m-2.safetensors"), s.t + 4, 2, TM_ST_BF16, NULL, &err), 0,
	       "file 2");
	write_index(idx, "{\"metadata\":{\"total_size\":316},\"weight_map\":{"
		    "\"model.embed_tokens.weight\":\"m-1.safetensors\","
		    "\"cube\":\"m-2.safetensors\",\"model.norm.weight\":\"m-1.safetensors\","
		    "\"z\xc3\xa9ro \\\"quoted\\\"\":\"m-2.safetensors\"}}");
	if (!is_int(tm_st_open(idx, &st, &err), 0, "open the index"))
		tap_diag("%s", err.msg);
	is_u64(st ? tm_st_count(st) : 0, 4, "four tensors in two files");
	t = st ? tm_st_find(st, "cube") : NULL;
	ok(t && t->file == 1 && t->dtype == TM_ST_BF16 &&
	   strstr(tm_st_file_name(st, t->file), "m-2.safetensors"), "cube is in file 2, BF16");
	if (t && !tm_st_load(st, t, got, &err)) {
		for (i = 0; i < 24; i++)
			if (bits(got[i]) != bits(tm_f32_from_bf16(tm_bf16_from_f32(s.t[4].data[i]))))
				break;
		is_u64(i, 24, "cube's values");
	}
	t = st ? tm_st_find(st, "model.norm.weight") : NULL;
	ok(t && t->file == 0 && !tm_st_load(st, t, got, &err) &&
	   !memcmp(got, s.t[1].data, 7 * 4), "model.norm.weight from file 1, bit for bit");
	tm_st_free(st);
	st = NULL;

	write_index(idx, "{\"weight_map\":{\"model.embed_tokens.weight\":\"m-1.safetensors\","
		    "\"cube\":\"m-1.safetensors\",\"model.norm.weight\":\"m-1.safetensors\","
		    "\"z\xc3\xa9ro \\\"quoted\\\"\":\"m-2.safetensors\"}}");
	is_int(tm_st_open(idx, &st, &err), TM_EFORMAT, "a tensor mapped to the wrong file");
	ok(strstr(err.msg, "'cube' is here, but the index") && strstr(err.file, "m-2"),
	   "... %s: %s", err.file, err.msg);
	write_index(idx, "{\"weight_map\":{\"model.embed_tokens.weight\":\"m-1.safetensors\","
		    "\"model.norm.weight\":\"m-1.safetensors\","
		    "\"z\xc3\xa9ro \\\"quoted\\\"\":\"m-2.safetensors\"}}");
	is_int(tm_st_open(idx, &st, &err), TM_EFORMAT, "a tensor the index does not list");
	ok(strstr(err.msg, "does not list it") != NULL, "... %s", err.msg);
	write_index(idx, "{\"weight_map\":{\"model.embed_tokens.weight\":\"m-1.safetensors\","
		    "\"cube\":\"m-2.safetensors\",\"model.norm.weight\":\"m-1.safetensors\","
		    "\"ghost\":\"m-1.safetensors\","
		    "\"z\xc3\xa9ro \\\"quoted\\\"\":\"m-2.safetensors\"}}");
	is_int(tm_st_open(idx, &st, &err), TM_EFORMAT, "the index lists a tensor no file holds");
	ok(strstr(err.msg, "'ghost'") != NULL, "... %s", err.msg);
	write_index(idx, "{\"weight_map\":{\"a\":\"../m-1.safetensors\"}}");
	is_int(tm_st_open(idx, &st, &err), TM_EFORMAT, "a file outside the directory");
	write_index(idx, "{\"weight_map\":{\"a\":\"absent.safetensors\"}}");
	is_int(tm_st_open(idx, &st, &err), TM_EIO, "a missing file");
	ok(strstr(err.file, "absent.safetensors") != NULL, "... named: %s", err.file);
	write_index(idx, "{\"metadata\":{}}");
	is_int(tm_st_open(idx, &st, &err), TM_EFORMAT, "no weight_map");
	write_index(idx, "{\"weight_map\":{}");
	is_int(tm_st_open(idx, &st, &err), TM_EFORMAT, "bad JSON");
	ok(err.line == 1 && err.offset > 0, "... with line and offset");
	write_index(idx, "{\"weight_map\":{\"model.norm.weight\":\"m-1.safetensors\","
		    "\"model.embed_tokens.weight\":\"m-3.safetensors\"}}");
	is_int(tm_st_write(tap_tmp("m-3.safetensors"), s.t, 2, TM_ST_F32, NULL, &err), 0,
	       "a third file repeating file 1");
	is_int(tm_st_open(idx, &st, &err), TM_EFORMAT, "a tensor in two files");
	unlink(tap_tmp("m-1.safetensors"));
	unlink(tap_tmp("m-2.safetensors"));
	unlink(tap_tmp("m-3.safetensors"));
	unlink(idx);
}

/* Whether the scratch directory holds a file whose name starts with `prefix`. */
static bool leftovers(const char *prefix)
{
	DIR *d = opendir(tap_tmp(""));
	struct dirent *e;
	bool found = false;

	while (d && (e = readdir(d)))
		found |= !strncmp(e->d_name, prefix, strlen(prefix));
	if (d)
		closedir(d);
	return found;
}

/*
 * A full disk: in a child whose files may not grow past 3000 bytes (and
 * which ignores SIGXFSZ, so write fails with EFBIG), the write fails with
 * TM_EIO and leaves nothing, final or temporary.
 */
static void test_full_disk(void)
{
	static float big[4096];
	struct tm_st_out t = { "big", 1, { 4096 }, big };
	const char *path = tap_tmp("full.safetensors");
	pid_t pid;
	int status;

	pid = fork();
	if (pid == 0) {
		struct rlimit rl = { 3000, 3000 };
		struct tm_err err = TM_ERR_INIT;

		signal(SIGXFSZ, SIG_IGN);
		setrlimit(RLIMIT_FSIZE, &rl);
		_exit(tm_st_write(path, &t, 1, TM_ST_F32, NULL, &err) == TM_EIO &&
		      err.sys == EFBIG ? 0 : 1);
	}
	ok(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	   WEXITSTATUS(status) == 0, "full disk: TM_EIO with errno EFBIG");
	ok(access(path, F_OK) < 0 && !leftovers("full.safetensors"),
	   "full disk: no file left, final or temporary");
}

int main(int argc, char **argv)
{
	unsigned long seed = tap_seed(argc, argv);

	test_bf16(seed);
	test_f16();
	test_roundtrip(TM_ST_F32);
	test_roundtrip(TM_ST_BF16);
	test_write_refusals();
	test_validation();
	test_open_errors();
	test_index();
	test_full_disk();
	tap_tmp_clean();
	return tap_done();
}
