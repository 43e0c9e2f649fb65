/*
 * u-bpe.c: the tiktoken-compatible BPE encoder (lib/bpe.h): ids equal to
 * tiktoken's on the shared test vectors, the pre-tokenizers, ill-formed
 * UTF-8, special-token text as ordinary text, vocabulary file errors.
 */
#include "tap.h"
#include "bpe.h"
#include "buf.h"
#include "err.h"
#include "tamis.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct tm_bpe *load(const char *file, enum tm_bpe_pattern pat)
{
	struct tm_buf path = TM_BUF_INIT;
	struct tm_err err = TM_ERR_INIT;
	struct tm_bpe *b = NULL;

	tm_buf_addf(&path, "%s/tokenizer/%s", tap_data_dir(), file);
	if (tm_bpe_load(path.buf, pat, &b, &err) < 0)
		tap_diag("%s: %s", path.buf, err.msg);
	tm_buf_release(&path);
	return b;
}

/* ids of `text` as "1 2 3". */
static void ids_str(struct tm_bpe_ctx *c, const char *text, size_t len, struct tm_buf *out)
{
	const uint32_t *ids;
	size_t n = tm_bpe_encode(c, text, len, &ids), i;

	tm_buf_reset(out);
	for (i = 0; i < n; i++)
		tm_buf_addf(out, "%s%u", i ? " " : "", ids[i]);
}

static void json_ids(json_t *a, struct tm_buf *out)
{
	size_t i;
	json_t *v;

	tm_buf_reset(out);
	json_array_foreach(a, i, v)
		tm_buf_addf(out, "%s%lld", i ? " " : "", (long long)json_integer_value(v));
}

static void test_vectors(struct tm_bpe *llama, struct tm_bpe *cl)
{
	struct tm_buf path = TM_BUF_INIT, got = TM_BUF_INIT, want = TM_BUF_INIT;
	struct tm_bpe_ctx *cl_ctx = tm_bpe_ctx_new(cl), *ll_ctx = tm_bpe_ctx_new(llama);
	char line[1 << 16];
	FILE *f;
	int n = 0, bad_ll = 0, bad_cl = 0;

	tm_buf_addf(&path, "%s/tokenizer/testvectors.jsonl", tap_data_dir());
	f = fopen(path.buf, "r");
	ok(f != NULL, "open %s", path.buf);
	while (f && fgets(line, sizeof(line), f)) {
		json_t *o = json_loads(line, 0, NULL);
		const char *text = json_string_value(json_object_get(o, "text"));
		size_t len = json_string_length(json_object_get(o, "text"));

		n++;
		ids_str(ll_ctx, text, len, &got);
		json_ids(json_object_get(o, "llama3"), &want);
		if (strcmp(got.buf, want.buf) && bad_ll++ < 3)
			tap_diag("llama3 %s: got %s want %s", text, got.buf, want.buf);
		ids_str(cl_ctx, text, len, &got);
		json_ids(json_object_get(o, "cl100k_base"), &want);
		if (strcmp(got.buf, want.buf) && bad_cl++ < 3)
			tap_diag("cl100k %s: got %s want %s", text, got.buf, want.buf);
		json_decref(o);
	}
	if (f)
		fclose(f);
	ok(n == 89, "testvectors.jsonl has 89 texts (%d)", n);
	is_int(bad_ll, 0, "llama3: every test vector as tiktoken");
	is_int(bad_cl, 0, "cl100k_base: every test vector as tiktoken");
	tm_bpe_ctx_free(cl_ctx);
	tm_bpe_ctx_free(ll_ctx);
	tm_buf_release(&path);
	tm_buf_release(&got);
	tm_buf_release(&want);
}

/* TestPlans.txt: "EncodingName: X\nSample: TEXT\nEncoded: [ids]\n\n". */
static void test_plans(struct tm_bpe *cl, struct tm_bpe *o200k)
{
	struct tm_buf path = TM_BUF_INIT, got = TM_BUF_INIT, want = TM_BUF_INIT;
	struct tm_bpe_ctx *cc = tm_bpe_ctx_new(cl), *oc = tm_bpe_ctx_new(o200k);
	char enc[64] = "", sample[1 << 16], line[1 << 16];
	FILE *f;
	int n_cl = 0, n_o = 0, bad = 0;

	tm_buf_addf(&path, "%s/tokenizer/TestPlans.txt", tap_data_dir());
	f = fopen(path.buf, "r");
	ok(f != NULL, "open %s", path.buf);
	while (f && fgets(line, sizeof(line), f)) {
		size_t l = strcspn(line, "\n");

		line[l] = 0;
		if (!strncmp(line, "EncodingName: ", 14)) {
			snprintf(enc, sizeof(enc), "%.60s", line + 14);
		} else if (!strncmp(line, "Sample: ", 8)) {
			snprintf(sample, sizeof(sample), "%s", line + 8);
		} else if (!strncmp(line, "Encoded: [", 10)) {
			struct tm_bpe_ctx *c = !strcmp(enc, "cl100k_base") ? cc :
					       !strcmp(enc, "o200k_base") ? oc : NULL;
			char *p;

			/* cases with special tokens were encoded with them allowed */
			if (!c || strstr(sample, "<|"))
				continue;
			tm_buf_reset(&want);
			for (p = line + 10; *p && *p != ']'; p++)
				if (*p != ',')
					tm_buf_addch(&want, *p);
			ids_str(c, sample, strlen(sample), &got);
			if (c == cc)
				n_cl++;
			else
				n_o++;
			if (strcmp(got.buf, want.buf) && bad++ < 3)
				tap_diag("%s '%s': got %s want %s", enc, sample, got.buf, want.buf);
		}
	}
	if (f)
		fclose(f);
	ok(n_cl > 50 && n_o > 40, "TestPlans: %d cl100k and %d o200k cases", n_cl, n_o);
	is_int(bad, 0, "TestPlans: every cl100k and o200k case as tiktoken");
	tm_bpe_ctx_free(cc);
	tm_bpe_ctx_free(oc);
	tm_buf_release(&path);
	tm_buf_release(&got);
	tm_buf_release(&want);
}

static void piece_cb(void *arg, const char *p, size_t n)
{
	struct tm_buf *out = arg;

	tm_buf_addch(out, '[');
	tm_buf_add(out, p, n);
	tm_buf_addch(out, ']');
}

static void split_is(enum tm_bpe_pattern pat, const char *text, const char *want)
{
	struct tm_buf got = TM_BUF_INIT, name = TM_BUF_INIT;
	const char *p;

	for (p = text; *p; p++)		/* no newlines in TAP names */
		if (*p == '\n' || *p == '\r' || *p == '\t')
			tm_buf_addstr(&name, *p == '\n' ? "\\n" : *p == '\r' ? "\\r" : "\\t");
		else
			tm_buf_addch(&name, *p);
	tm_bpe_split(pat, text, strlen(text), piece_cb, &got);
	is_str(got.buf, want, name.buf);
	tm_buf_release(&got);
	tm_buf_release(&name);
}

static void test_split(void)
{
	split_is(TM_BPE_PAT_CL100K, "Hello world!", "[Hello][ world][!]");
	split_is(TM_BPE_PAT_CL100K, "don't I'LL 'S", "[don]['t][ I]['LL][ '][S]");
	split_is(TM_BPE_PAT_CL100K, "a\xC5\xBF'\xC5\xBF", "[a\xC5\xBF]['\xC5\xBF]");
	split_is(TM_BPE_PAT_CL100K, "12345 x", "[123][45][ x]");
	split_is(TM_BPE_PAT_CL100K, "a  b\n\n  c  ", "[a][ ][ b][\n\n][ ][ c][  ]");
	split_is(TM_BPE_PAT_CL100K, "x ...\n\ny", "[x][ ...\n\n][y]");
	split_is(TM_BPE_PAT_CL100K, "\t(foo) \xC2\xA0" "bar", "[\t][(foo][)][ ][\xC2\xA0" "bar]");
	split_is(TM_BPE_PAT_O200K, "HelloWorld HELLO", "[Hello][World][ HELLO]");
	split_is(TM_BPE_PAT_O200K, "it's a/b/\n", "[it's][ a][/b][/\n]");
	split_is(TM_BPE_PAT_O200K, "\xE4\xB8\x96\xE7\x95\x8C!", "[\xE4\xB8\x96\xE7\x95\x8C][!]");
}

static void test_ordinary_special(struct tm_bpe *cl)
{
	struct tm_bpe_ctx *c = tm_bpe_ctx_new(cl);
	struct tm_err err = TM_ERR_INIT;
	const uint32_t *ids;
	size_t n, i;
	bool special = false;

	ok(tm_bpe_add_special(cl, "<|endoftext|>", 100257, &err) == 0, "add <|endoftext|>");
	ok(tm_bpe_add_special(cl, "<|x|>", 5, &err) == TM_EINVAL, "a special id inside the ranks");
	is_int(tm_bpe_special(cl, "<|endoftext|>"), 100257, "special id");
	is_int(tm_bpe_vocab_size(cl), 100258, "vocab size with specials");
	n = tm_bpe_encode(c, "a<|endoftext|>b", 15, &ids);
	for (i = 0; i < n; i++)
		special |= ids[i] >= tm_bpe_nranks(cl);
	ok(n > 3 && !special, "special-token text is ordinary text (%zu ids)", n);
	tm_bpe_ctx_free(c);
}

/* The llama3 preset's 256 special tokens are those of the shared JSON. */
static void test_llama3_specials(struct tm_bpe *llama)
{
	struct tm_buf path = TM_BUF_INIT;
	struct tm_err err = TM_ERR_INIT;
	json_t *root, *sp, *v;
	const char *name;
	int bad = 0, n = 0;

	ok(tm_bpe_add_specials(llama, tm_bpe_preset("llama3"), &err) == 0, "llama3 specials: %s",
	   err.msg);
	is_int(tm_bpe_vocab_size(llama), 128256, "llama3: 128256 ids");
	tm_buf_addf(&path, "%s/tokenizer/llama3-special-tokens.json", tap_data_dir());
	root = json_load_file(path.buf, 0, NULL);
	sp = json_object_get(root, "special_tokens");
	json_object_foreach(sp, name, v) {
		n++;
		if (tm_bpe_special(llama, name) != (uint32_t)json_integer_value(v) && bad++ < 3)
			tap_diag("%s: %u, want %lld", name, tm_bpe_special(llama, name),
				 (long long)json_integer_value(v));
	}
	is_int(n, 256, "the JSON lists 256 special tokens");
	is_int(bad, 0, "every one has the JSON's id");
	is_int(tm_bpe_special(llama, "<|eot_id|>"), 128009, "<|eot_id|> 128009");
	ok(tm_bpe_preset("gpt2") == NULL, "no preset gpt2");
	json_decref(root);
	tm_buf_release(&path);
}

static void test_invalid_utf8(struct tm_bpe *cl)
{
	static const struct { const char *bad, *good; } cases[] = {
		{ "a\xFF" "b", "a\xEF\xBF\xBD" "b" },
		{ "\xED\xA0\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD" },	/* surrogate */
		{ "x\xE2\x82", "x\xEF\xBF\xBD" },				/* cut short */
		{ "\xF0\x9F\x98" "a", "\xEF\xBF\xBD" "a" },			/* one subpart */
		{ "\xC0\xAF", "\xEF\xBF\xBD\xEF\xBF\xBD" },			/* overlong */
		{ "\xF4\x90\x80\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD" },
	};
	struct tm_bpe_ctx *c = tm_bpe_ctx_new(cl);
	struct tm_buf a = TM_BUF_INIT, b = TM_BUF_INIT;
	size_t i;

	for (i = 0; i < TM_ARRAY_SIZE(cases); i++) {
		tm_buf_reset(&a);
		is_int(tm_utf8_sanitize(cases[i].bad, strlen(cases[i].bad), &a) > 0, 1,
		       "ill-formed input is replaced");
		is_str(a.buf, cases[i].good, "replaced by U+FFFD per maximal subpart");
		ids_str(c, cases[i].bad, strlen(cases[i].bad), &a);
		ids_str(c, cases[i].good, strlen(cases[i].good), &b);
		is_str(a.buf, b.buf, "ids of ill-formed text are those of the replaced text");
	}
	tm_buf_reset(&a);
	is_int(tm_utf8_sanitize("h\xC3\xA9", 3, &a), 0, "well-formed: nothing replaced");
	tm_bpe_ctx_free(c);
	tm_buf_release(&a);
	tm_buf_release(&b);
}

/* A vocabulary of the 256 bytes plus `extra` (base64 lines). */
static int load_small(const char *extra, struct tm_bpe **b, struct tm_err *err)
{
	struct tm_buf v = TM_BUF_INIT;
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	int i, rc;

	for (i = 0; i < 256; i++)
		tm_buf_addf(&v, "%c%c== %d\n", b64[i >> 2], b64[(i & 3) << 4], i);
	tm_buf_addstr(&v, extra);
	rc = tm_bpe_load_mem(v.buf, v.len, "small.tiktoken", TM_BPE_PAT_CL100K, b, err);
	tm_buf_release(&v);
	return rc;
}

static void test_merge_order(void)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_bpe *b;
	struct tm_bpe_ctx *c;
	struct tm_buf got = TM_BUF_INIT;

	/* "bc" 256, "ab" 257, "abc" 258, "aa" 259, "aaaa" 260 */
	ok(load_small("YmM= 256\nYWI= 257\nYWJj 258\nYWE= 259\nYWFhYQ== 260\n", &b, &err) == 0,
	   "small vocabulary loads: %s", err.msg);
	c = tm_bpe_ctx_new(b);
	ids_str(c, "abc", 3, &got);
	is_str(got.buf, "258", "a piece that is a token is that token");
	ids_str(c, "abcd", 4, &got);
	is_str(got.buf, "258 100", "lowest rank first: bc (not ab), then a+bc");
	ids_str(c, "aaaaa", 5, &got);
	is_str(got.buf, "260 97", "ties go leftmost: aa aa a, then aaaa");
	ids_str(c, "", 0, &got);
	is_str(got.buf, "", "empty text: no ids");
	tm_bpe_ctx_free(c);
	tm_bpe_free(b);
	tm_buf_release(&got);
}

static void test_load_errors(void)
{
	static const struct { const char *extra, *msg; } cases[] = {
		{ "YWI=\n", "expected 'BASE64 RANK'" },
		{ "YWI= x\n", "expected 'BASE64 RANK'" },
		{ "Y*I= 256\n", "expected 'BASE64 RANK'" },
		{ "YWI= 255\n", "rank 255 appears twice" },
		{ "YWI= 257\n", "rank 256 is missing" },
		{ "YQ== 256\n", "the token of rank 256 appears twice" },
	};
	struct tm_err err = TM_ERR_INIT;
	struct tm_bpe *b;
	size_t i;

	for (i = 0; i < TM_ARRAY_SIZE(cases); i++) {
		tm_err_clear(&err);
		is_int(load_small(cases[i].extra, &b, &err), TM_EFORMAT, cases[i].msg);
		ok(strstr(err.msg, cases[i].msg) != NULL, "message: %s", err.msg);
		ok(b == NULL, "no vocabulary on error");
	}
	ok(tm_bpe_load_mem("YWI= 0\n", 7, "x", TM_BPE_PAT_CL100K, &b, &err) == TM_EFORMAT &&
	   strstr(err.msg, "no token for the byte 0x00"), "all 256 bytes required: %s", err.msg);
	ok(tm_bpe_load_mem("", 0, "x", TM_BPE_PAT_CL100K, &b, &err) == TM_EFORMAT &&
	   strstr(err.msg, "no tokens"), "empty file: %s", err.msg);
	ok(tm_bpe_load("/nonexistent/x.tiktoken", TM_BPE_PAT_CL100K, &b, &err) == TM_EIO,
	   "missing file: TM_EIO");
}

int main(void)
{
	struct tm_bpe *llama = load("llama3.tiktoken", TM_BPE_PAT_CL100K);
	struct tm_bpe *cl = load("cl100k_base.tiktoken", TM_BPE_PAT_CL100K);
	struct tm_bpe *o200k = load("o200k_base.tiktoken", TM_BPE_PAT_O200K);

	test_split();
	test_merge_order();
	test_load_errors();
	if (llama && cl && o200k) {
		is_int(tm_bpe_nranks(llama), 128000, "llama3: 128000 ranks");
		is_int(tm_bpe_nranks(cl), 100256, "cl100k: 100256 ranks");
		is_int(tm_bpe_nranks(o200k), 199998, "o200k: 199998 ranks");
		test_vectors(llama, cl);
		test_plans(cl, o200k);
		test_ordinary_special(cl);
		test_llama3_specials(llama);
		test_invalid_utf8(cl);
	} else {
		tap_skip("the vocabularies under $TAMIS_DATA/tokenizer are missing");
	}
	tm_bpe_free(llama);
	tm_bpe_free(cl);
	tm_bpe_free(o200k);
	return tap_done();
}
