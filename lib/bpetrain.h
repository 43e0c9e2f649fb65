/*
 * bpetrain.h: training a byte-level BPE vocabulary in tiktoken's format,
 * with the pre-tokenizers of bpe.h, for `tamis tokenize train`.
 *
 * Texts are added one by one: each is split into pieces (tm_bpe_split,
 * after ill-formed UTF-8 is replaced as tm_bpe_encode does) and the
 * distinct pieces are counted.  tm_bpe_train_run() then starts from the
 * 256 single bytes (ranks 0..255 = the byte values) and repeatedly merges
 * the most frequent adjacent pair of tokens inside the pieces, weighted by
 * the pieces' counts, giving the new token the next rank, until the
 * vocabulary has `vocab_size` tokens or no pair is left.  Ties go to the
 * pair of smaller (left rank, right rank).  A merge whose bytes are
 * already a token (two merge paths to the same string) rewrites the pair
 * to that token without adding a rank.  The result is deterministic: the
 * same texts in the same order give the same file.
 *
 * Memory: a hash table entry per distinct piece and its bytes as 4-byte
 * symbols; during training an entry per distinct adjacent pair with the
 * list of pieces holding it, and a heap of pairs.  tm_bpe_train_bytes()
 * says how much is allocated.
 *
 * Ownership: the caller frees the trainer with tm_bpe_train_free()
 * (accepts NULL).  Not thread-safe.  Depends on bpe.h, buf.h, err.h.
 */
#ifndef TM_BPETRAIN_H
#define TM_BPETRAIN_H

#include "bpe.h"

#include <stddef.h>
#include <stdint.h>

struct tm_buf;
struct tm_err;
struct tm_bpe_train;

/* A trainer with pre-tokenizer `pat`; never NULL (aborts on OOM). */
struct tm_bpe_train *tm_bpe_train_new(enum tm_bpe_pattern pat);
void tm_bpe_train_free(struct tm_bpe_train *t);

/* Counts the pieces of s[0..len) (any bytes). */
void tm_bpe_train_add(struct tm_bpe_train *t, const char *s, size_t len);

/* Distinct pieces counted so far, and their total number. */
size_t tm_bpe_train_npieces(const struct tm_bpe_train *t, uint64_t *total);

/*
 * Trains a vocabulary of `vocab_size` tokens (>= 256) and appends it to
 * `out` in tiktoken's format ("BASE64 RANK\n" in rank order).  progress,
 * if not NULL, is called every 1000 merges with the vocabulary size so
 * far.  Returns the number of tokens written (less than vocab_size when
 * the pieces ran out of pairs), or TM_EINVAL for a vocab_size under 256.
 * Can be called once.
 */
long tm_bpe_train_run(struct tm_bpe_train *t, uint32_t vocab_size, struct tm_buf *out,
		      void (*progress)(void *arg, uint32_t ntokens), void *arg,
		      struct tm_err *err);

/* Bytes the trainer holds now, or the most it held while training. */
size_t tm_bpe_train_bytes(const struct tm_bpe_train *t);

#endif
