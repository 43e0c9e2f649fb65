/*
 * f-bpe.c: libFuzzer target for the BPE vocabulary parser and encoder
 * (lib/bpe.c).
 *
 * The first byte picks what the rest is.  Even: a tiktoken vocabulary for
 * tm_bpe_load_mem(); when it loads, the input itself is encoded with it.
 * Odd: a text, encoded with a small vocabulary (the 256 bytes and a few
 * merges) under both pre-tokenizers.  Either way the ids must decode to
 * the text as tm_utf8_sanitize() makes it, and the pre-tokenizer's pieces
 * must cover that text exactly.  A mismatch aborts.
 */
#include "tamis.h"
#include "bpe.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void cover(void *arg, const char *p, size_t n)
{
	struct tm_buf *b = arg;

	if (!n)
		abort();
	tm_buf_add(b, p, n);
}

static void check(struct tm_bpe *b, const char *text, size_t len)
{
	struct tm_buf clean = TM_BUF_INIT, dec = TM_BUF_INIT, pieces = TM_BUF_INIT;
	struct tm_bpe_ctx *c = tm_bpe_ctx_new(b);
	const uint32_t *ids;
	size_t n, i, l;

	tm_utf8_sanitize(text, len, &clean);
	n = tm_bpe_encode(c, text, len, &ids);
	for (i = 0; i < n; i++) {
		const char *t = tm_bpe_token(b, ids[i], &l);

		if (!t || ids[i] >= tm_bpe_nranks(b))
			abort();
		tm_buf_add(&dec, t, l);
	}
	if (dec.len != clean.len || memcmp(dec.buf, clean.buf, dec.len))
		abort();
	tm_bpe_split(tm_bpe_pattern(b), clean.buf, clean.len, cover, &pieces);
	if (pieces.len != clean.len || memcmp(pieces.buf, clean.buf, clean.len))
		abort();
	tm_bpe_ctx_free(c);
	tm_buf_release(&clean);
	tm_buf_release(&dec);
	tm_buf_release(&pieces);
}

static struct tm_bpe *small(enum tm_bpe_pattern pat)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	struct tm_buf v = TM_BUF_INIT;
	struct tm_bpe *b = NULL;
	int i;

	for (i = 0; i < 256; i++)
		tm_buf_addf(&v, "%c%c== %d\n", b64[i >> 2], b64[(i & 3) << 4], i);
	/* "aa" "ab" "aaab" " a" "==" "====" "\xC3\xA9" */
	tm_buf_addstr(&v, "YWE= 256\nYWI= 257\nYWFhYg== 258\nIGE= 259\nPT0= 260\n"
		      "PT09PQ== 261\nw6k= 262\n");
	if (tm_bpe_load_mem(v.buf, v.len, "small", pat, &b, NULL) < 0)
		abort();
	tm_buf_release(&v);
	return b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tm_bpe *b;

	if (!size)
		return 0;
	if (!(data[0] & 1)) {
		if (tm_bpe_load_mem((const char *)data + 1, size - 1, "fuzz",
				    (data[0] & 2) ? TM_BPE_PAT_O200K : TM_BPE_PAT_CL100K,
				    &b, NULL) == 0) {
			check(b, (const char *)data + 1, size - 1);
			tm_bpe_free(b);
		}
		return 0;
	}
	b = small(TM_BPE_PAT_CL100K);
	check(b, (const char *)data + 1, size - 1);
	tm_bpe_free(b);
	b = small(TM_BPE_PAT_O200K);
	check(b, (const char *)data + 1, size - 1);
	tm_bpe_free(b);
	return 0;
}
