/*
 * minhash.c: MinHash signatures and band keys (minhash.h).
 */
#include "tamis.h"
#include "minhash.h"
#include "norm.h"

#include <xxhash.h>

struct tm_minhash {
	struct tm_minhash_opts o;
	int n;				/* bands * rows */
	uint32_t alo[TM_MINHASH_MAX_BANDS * TM_MINHASH_MAX_ROWS];
	uint32_t ahi[TM_MINHASH_MAX_BANDS * TM_MINHASH_MAX_ROWS];
	uint64_t b[TM_MINHASH_MAX_BANDS * TM_MINHASH_MAX_ROWS];
	struct tm_norm *norm;
};

struct tm_minhash *tm_minhash_new(const struct tm_minhash_opts *o)
{
	struct tm_minhash *mh = tm_xcalloc(1, sizeof(*mh));
	uint64_t s = o->seed;
	int i;

	if (o->bands < 1 || o->bands > TM_MINHASH_MAX_BANDS || o->rows < 1 ||
	    o->rows > TM_MINHASH_MAX_ROWS || o->ngram < 1)
		BUG("minhash shape %dx%d, ngram %d", o->bands, o->rows, o->ngram);
	mh->o = *o;
	mh->n = o->bands * o->rows;
	for (i = 0; i < mh->n; i++) {
		uint64_t a = tm_splitmix64(&s) | 1;

		mh->alo[i] = (uint32_t)a;
		mh->ahi[i] = (uint32_t)(a >> 32);
		mh->b[i] = tm_splitmix64(&s);
	}
	mh->norm = tm_norm_new();
	return mh;
}

void tm_minhash_free(struct tm_minhash *mh)
{
	if (!mh)
		return;
	tm_norm_free(mh->norm);
	free(mh);
}

/*
 * sig[i] = min(sig[i], h_i(x)) for all i: the hot loop.  h_i is
 * Dietzfelbinger's multiply-add-shift on the 32-bit fold of x,
 * (a_i x + b_i) >> 32 with 64-bit a_i, b_i, computed from native 32x32
 * products: the high word of a_i only adds (a_hi x) mod 2^32 to the
 * result, so no 64x64 multiply is needed (AVX2 has none).
 */
TM_HOT_LOOP
static void update(uint32_t *restrict sig, const uint32_t *restrict alo,
		   const uint32_t *restrict ahi, const uint64_t *restrict b, uint64_t x64, int n)
{
	uint32_t x = (uint32_t)(x64 ^ (x64 >> 32));
	int i;

	for (i = 0; i < n; i++) {
		uint32_t v = (uint32_t)(((uint64_t)alo[i] * x + b[i]) >> 32) + ahi[i] * x;

		sig[i] = v < sig[i] ? v : sig[i];
	}
}

size_t tm_minhash_sign(struct tm_minhash *mh, const char *text, size_t len,
		       uint32_t *sig, uint64_t *keys)
{
	const char *words;
	const size_t *off;
	size_t nw, nsh, i, end;
	int j, k = mh->o.ngram;

	nw = tm_norm_word_list(mh->norm, text, len, &words, &off);
	if (!nw)
		return 0;
	end = off[nw - 1] + strlen(words + off[nw - 1]);
	for (j = 0; j < mh->n; j++)
		sig[j] = UINT32_MAX;
	nsh = nw >= (size_t)k ? nw - (size_t)k + 1 : 1;
	for (i = 0; i < nsh; i++) {
		size_t a = off[i];
		size_t e = i + (size_t)k < nw ? off[i + (size_t)k] : end;
		uint64_t x = XXH3_64bits_withSeed(words + a, e - a - 1, mh->o.seed);

		update(sig, mh->alo, mh->ahi, mh->b, x, mh->n);
	}
	for (j = 0; j < mh->o.bands; j++)
		keys[j] = XXH3_64bits_withSeed(sig + j * mh->o.rows,
					       (size_t)mh->o.rows * sizeof(*sig),
					       mh->o.seed + (uint64_t)j);
	return nsh;
}
