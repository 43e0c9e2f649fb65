/*
 * kl.h: word unigram reference distributions for the kl filter (Llama 3's
 * token-distribution KL divergence filter), and building them from text.
 *
 * A reference file, unigram-<lang>.tsv, holds one "word<TAB>count" line
 * per word, most frequent first ('#' lines are comments).  Its words are
 * the folded words of lexicon.h, made with `chars` set: in scripts
 * written without spaces (zh, ja, th, ...) each letter is a word, so a
 * reference of those languages is a character unigram distribution.
 *
 * The filter (docs/filters-safety.md): the document's words are cut
 * into windows of W consecutive words (setting window; the words after
 * the last full window are left out, a document shorter than W is not
 * judged).  For a window with c_w occurrences of reference word w and u
 * words not in the reference,
 *     P(w) = c_w / W,  P(unk) = u / W                      (the window)
 *     Q(w) = (1 - m) count_w / N,  Q(unk) = m              (the reference)
 *     KL(P || Q) = sum over the window's words and unk, with P > 0,
 *                  of P log(P / Q)                          (nats)
 * where N is the sum of the reference's counts and m the probability mass
 * left to all words outside it together (setting unknown_mass).  The
 * document's score is the mean KL of its windows: a fixed W keeps it
 * from growing as documents get shorter (the KL of a sample of n words
 * from Q itself falls as n grows).
 *
 * Ownership: the caller owns the builder (tm_unigram_builder_free()).
 * Memory: about 40 bytes plus the word per distinct word counted, bounded
 * by max_types (see tm_unigram_builder_new()).
 */
#ifndef TM_FILTER_KL_H
#define TM_FILTER_KL_H

#include <stddef.h>
#include <stdint.h>

struct tm_err;
struct tm_unigram_builder;

/*
 * A builder counting words.  When it holds more than `max_types` distinct
 * words (0: 8 million), the rarest are dropped (those with the smallest
 * count, ties all together) until at most half remain, and a word seen
 * again later starts over from 0: counts are then lower bounds, exact
 * for every word more frequent than the largest count dropped
 * (tm_unigram_builder_dropped()).  Deterministic: the same texts in the
 * same order give the same file.
 */
struct tm_unigram_builder *tm_unigram_builder_new(size_t max_types);
void tm_unigram_builder_free(struct tm_unigram_builder *b);

/* Counts the folded words of text[0..len) (UTF-8; invalid bytes separate). */
void tm_unigram_builder_add(struct tm_unigram_builder *b, const char *text, size_t len);

/* Words counted (all occurrences), and distinct words now held. */
uint64_t tm_unigram_builder_words(const struct tm_unigram_builder *b);
size_t tm_unigram_builder_types(const struct tm_unigram_builder *b);
/* The largest count dropped so far (0: counts are exact). */
uint64_t tm_unigram_builder_dropped(const struct tm_unigram_builder *b);

/*
 * Writes the reference file `path` (through a temporary name, renamed
 * when complete; .gz/.zst compress): `comment` (may be NULL; each of its
 * lines written after "# "), then the `top` most frequent words (0: all)
 * with their counts, by count descending then bytes ascending; words
 * seen fewer than `min_count` times are left out.  Returns 0, or TM_EIO
 * with err naming the file.
 */
int tm_unigram_builder_write(const struct tm_unigram_builder *b, const char *path, size_t top,
			     uint64_t min_count, const char *comment, struct tm_err *err);

#endif
