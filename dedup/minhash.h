/*
 * minhash.h: MinHash signatures and LSH band keys of documents.
 *
 * A document's shingles are its runs of `ngram` consecutive words (of the
 * normalised text, norm.h; a text of fewer words is one shingle).  Each
 * shingle is hashed once, XXH3-64 with the seed, folded to 32 bits
 * (x = lo ^ hi), and the signature holds, for each of bands * rows hash
 * functions h_i(x) = (a_i x + b_i) >> 32 mod 2^32 with 64-bit a_i (odd) and
 * b_i from the seed (Dietzfelbinger's multiply-add-shift), the minimum over
 * the shingles: P(two signatures agree at i) ~ Jaccard(shingle sets).
 * Band j's key is XXH3-64 of its `rows` values (seeded by j): two
 * documents are candidates when any band key is equal, with probability
 * 1 - (1 - s^rows)^bands for Jaccard s (14 x 8: 0.5 at s ~ 0.72, 0.95 at
 * s ~ 0.85).
 *
 * Word splitting: the normalised text's spaces, or ICU's word boundaries
 * when the text holds a script written without spaces (Han, kana, Thai,
 * Lao, Khmer, Myanmar): the same words the ICU path gives on spaced text,
 * at a fraction of its cost.
 *
 * A text without words has no signature (tm_minhash_sign() returns 0).
 * Ownership: one context per thread; the caller owns what it passes.
 * Memory: the normaliser's buffers plus 8 bytes per shingle of the
 * longest document.
 */
#ifndef TM_DEDUP_MINHASH_H
#define TM_DEDUP_MINHASH_H

#include <stddef.h>
#include <stdint.h>

#define TM_MINHASH_MAX_BANDS 64
#define TM_MINHASH_MAX_ROWS 32

struct tm_minhash_opts {
	int bands, rows, ngram;
	uint64_t seed;
};

#define TM_MINHASH_OPTS_INIT { 14, 8, 5, 1 }

struct tm_minhash;

struct tm_minhash *tm_minhash_new(const struct tm_minhash_opts *o);
void tm_minhash_free(struct tm_minhash *mh);

/*
 * Signs text[0..len): fills sig[bands * rows] and keys[bands]; returns
 * the number of shingles (0: no words, nothing filled).
 */
size_t tm_minhash_sign(struct tm_minhash *mh, const char *text, size_t len,
		       uint32_t *sig, uint64_t *keys);

#endif
