/*
 * u-bpetrain.c: BPE training (lib/bpetrain.h): the merge order on a known
 * example, ties, duplicate merges, determinism, and that a trained
 * vocabulary loads and round-trips text through tm_bpe_encode.
 */
#include "tap.h"
#include "bpe.h"
#include "bpetrain.h"
#include "buf.h"
#include "err.h"
#include "tamis.h"

#include <string.h>

static long train(const char *text, uint32_t size, struct tm_buf *out)
{
	struct tm_bpe_train *t = tm_bpe_train_new(TM_BPE_PAT_CL100K);
	struct tm_err err = TM_ERR_INIT;
	long n;

	tm_bpe_train_add(t, text, strlen(text));
	tm_buf_reset(out);
	n = tm_bpe_train_run(t, size, out, NULL, NULL, &err);
	tm_bpe_train_free(t);
	return n;
}

/* Line `rank` of a tiktoken file (without the newline). */
static const char *line_of(const struct tm_buf *v, int rank, struct tm_buf *line)
{
	const char *p = v->buf;
	int i;

	for (i = 0; i < rank && p; i++)
		if ((p = strchr(p, '\n')))
			p++;
	tm_buf_reset(line);
	if (p)
		tm_buf_add(line, p, strcspn(p, "\n"));
	return line->buf;
}

static void test_merges(void)
{
	struct tm_buf v = TM_BUF_INIT, l = TM_BUF_INIT;

	/* aa (4), then ab (2) before aa+a (2): ties go to the smaller left rank */
	is_int(train("aaabdaaabac", 259, &v), 259, "259 tokens");
	is_str(line_of(&v, 0, &l), "AA== 0", "rank 0 is the byte 0");
	is_str(line_of(&v, 97, &l), "YQ== 97", "ranks 0..255 are the bytes");
	is_str(line_of(&v, 256, &l), "YWE= 256", "first merge: aa");
	is_str(line_of(&v, 257, &l), "YWI= 257", "a tie: ab (a < aa)");
	is_str(line_of(&v, 258, &l), "YWFhYg== 258", "then aa+ab");
	/* pieces: "ab", " ab", ... merges stop when no pair is left */
	is_int(train("ab", 1000, &v), 257, "no pairs left: fewer tokens than asked");
	is_int(train("x", 100, &v), TM_EINVAL, "vocabulary size under 256");
	tm_buf_release(&v);
	tm_buf_release(&l);
}

static void test_roundtrip(void)
{
	static const char text[] =
		"The quick brown fox jumps over the lazy dog. The dog sleeps; the fox "
		"runs away. Der schnelle braune Fuchs springt \xC3\xBC" "ber den faulen "
		"Hund. \xE4\xB8\x96\xE7\x95\x8C\xE4\xBD\xA0\xE5\xA5\xBD  \n\n  x = 12345; "
		"y = x * 2; // don't repeat yourself, don't!\r\n";
	struct tm_buf v = TM_BUF_INIT, v2 = TM_BUF_INIT, dec = TM_BUF_INIT;
	struct tm_err err = TM_ERR_INIT;
	struct tm_bpe *b = NULL;
	struct tm_bpe_ctx *c;
	const uint32_t *ids;
	size_t n, i, len;
	long nt = train(text, 300, &v);

	is_int(nt, 300, "300 tokens trained");
	train(text, 300, &v2);
	ok(v.len == v2.len && !memcmp(v.buf, v2.buf, v.len), "training is deterministic");
	ok(tm_bpe_load_mem(v.buf, v.len, "trained", TM_BPE_PAT_CL100K, &b, &err) == 0,
	   "the trained vocabulary loads: %s", err.msg);
	if (!b) {
		tm_buf_release(&v);
		tm_buf_release(&v2);
		return;
	}
	c = tm_bpe_ctx_new(b);
	n = tm_bpe_encode(c, text, strlen(text), &ids);
	for (i = 0; i < n; i++) {
		const char *tok = tm_bpe_token(b, ids[i], &len);

		tm_buf_add(&dec, tok, len);
	}
	is_mem(dec.buf, dec.len, text, strlen(text), "encode then decode gives the text");
	ok(n < strlen(text) * 3 / 4, "the trained tokens compress the text (%zu ids)", n);
	tm_bpe_ctx_free(c);
	tm_bpe_free(b);
	tm_buf_release(&v);
	tm_buf_release(&v2);
	tm_buf_release(&dec);
}

int main(void)
{
	test_merges();
	test_roundtrip();
	return tap_done();
}
