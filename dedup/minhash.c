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
	uint64_t a[TM_MINHASH_MAX_BANDS * TM_MINHASH_MAX_ROWS];
	uint64_t b[TM_MINHASH_MAX_BANDS * TM_MINHASH_MAX_ROWS];
	struct tm_norm *norm;
	struct tm_buf words;		/* the words, each followed by a space */
	size_t *off;			/* start of each word in `words` */
	size_t noff, capoff;
};

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

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
		mh->a[i] = splitmix(&s) | 1;
		mh->b[i] = splitmix(&s);
	}
	mh->norm = tm_norm_new();
	tm_buf_init(&mh->words, 0);
	return mh;
}

void tm_minhash_free(struct tm_minhash *mh)
{
	if (!mh)
		return;
	tm_norm_free(mh->norm);
	tm_buf_release(&mh->words);
	free(mh->off);
	free(mh);
}

static void add_word(void *arg, const char *w, size_t len)
{
	struct tm_minhash *mh = arg;

	if (mh->noff == mh->capoff) {
		mh->capoff = mh->capoff ? 2 * mh->capoff : 1024;
		mh->off = tm_xrealloc(mh->off, mh->capoff * sizeof(*mh->off));
	}
	mh->off[mh->noff++] = mh->words.len;
	tm_buf_add(&mh->words, w, len);
	tm_buf_addch(&mh->words, ' ');
}

/* sig[i] = min(sig[i], (a_i x + b_i) >> 32) for all i: the hot loop */
__attribute__((target_clones("avx2", "default")))
static void update(uint32_t *restrict sig, const uint64_t *restrict a,
		   const uint64_t *restrict b, uint64_t x, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		uint32_t v = (uint32_t)((a[i] * x + b[i]) >> 32);

		sig[i] = v < sig[i] ? v : sig[i];
	}
}

size_t tm_minhash_sign(struct tm_minhash *mh, const char *text, size_t len,
		       uint32_t *sig, uint64_t *keys)
{
	size_t nw, nsh, i;
	int j, k = mh->o.ngram;

	tm_buf_reset(&mh->words);
	mh->noff = 0;
	nw = tm_norm_words(mh->norm, text, len, add_word, mh);
	if (!nw)
		return 0;
	for (j = 0; j < mh->n; j++)
		sig[j] = UINT32_MAX;
	nsh = nw >= (size_t)k ? nw - (size_t)k + 1 : 1;
	for (i = 0; i < nsh; i++) {
		size_t a = mh->off[i];
		size_t e = i + (size_t)k < nw ? mh->off[i + (size_t)k] : mh->words.len;
		uint64_t x = XXH3_64bits_withSeed(mh->words.buf + a, e - a - 1, mh->o.seed);

		update(sig, mh->a, mh->b, x, mh->n);
	}
	for (j = 0; j < mh->o.bands; j++)
		keys[j] = XXH3_64bits_withSeed(sig + j * mh->o.rows,
					       (size_t)mh->o.rows * sizeof(*sig),
					       mh->o.seed + (uint64_t)j);
	return nsh;
}

double tm_minhash_similarity(const uint32_t *a, const uint32_t *b, int n)
{
	int i, same = 0;

	for (i = 0; i < n; i++)
		same += a[i] == b[i];
	return n ? (double)same / n : 0;
}
