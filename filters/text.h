/*
 * text.h: a document's text as the filters see it, cut once for the whole
 * chain into lines, paragraphs and words (struct tm_ftext).
 *
 * Lines: the text split at '\n'; a '\r' before the '\n' is not part of
 * the line; a final '\n' does not start an empty last line; an empty text
 * has no lines.  Blank lines (only white space) are lines.
 * Paragraphs: maximal runs of non-blank lines; a span from the first
 * line's start to the last line's end.
 * Words: the text split at white space (Unicode White_Space); inside each
 * such token, a run of a script written without spaces (Han, kana, Thai,
 * Lao, Khmer, Myanmar) is further cut at ICU's dictionary word boundaries
 * (white-space segments dropped), so a Chinese or Thai sentence has words
 * as an English one does.  Punctuation stays attached ("end." is one
 * word): filters that ignore punctuation-only words say so.
 * Everything is computed on first use and kept until the next
 * tm_ftext_set(); spans are byte offsets into the text.
 *
 * Invalid UTF-8 bytes are taken as non-space, non-letter characters.
 *
 * Ownership: the caller owns the text (it must outlive the analysis) and
 * the tm_ftext (tm_ftext_free()); one per thread, reused across documents.
 * Memory: 8 bytes per word, line and paragraph, plus UTF-16 scratch for
 * the longest unspaced token.  Texts over 4 GiB are a BUG.
 * Depends on ICU (ubrk, uchar, ustring) and buf.h only.
 */
#ifndef TM_FILTER_TEXT_H
#define TM_FILTER_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tm_buf;

struct tm_span {
	uint32_t off, len;
};

struct tm_ftext {
	const char *text;
	size_t len;
	const char *lang;       /* metadata.lang, or "" when unknown */
	const char *url;        /* metadata.url, or "" when unknown */
	struct tm_ftext_priv *priv;
};

struct tm_ftext *tm_ftext_new(void);
void tm_ftext_free(struct tm_ftext *t);

/* Starts a new document (lang and url may be NULL). */
void tm_ftext_set(struct tm_ftext *t, const char *text, size_t len,
		  const char *lang, const char *url);

const struct tm_span *tm_ftext_lines(struct tm_ftext *t, size_t *n);
const struct tm_span *tm_ftext_paras(struct tm_ftext *t, size_t *n);
const struct tm_span *tm_ftext_words(struct tm_ftext *t, size_t *n);

/*
 * For each word (tm_ftext_words() order), the OR of the classes of its
 * bytes: TM_WC_ALPHA an ASCII letter, TM_WC_PUNCT ASCII punctuation or
 * symbol (Python's string.punctuation), TM_WC_OTHER an ASCII digit or
 * control, TM_WC_HIGH a byte of a non-ASCII character (then the word's
 * characters are fewer than its bytes, or not).  Computed with the words.
 */
enum { TM_WC_ALPHA = 1, TM_WC_PUNCT = 2, TM_WC_OTHER = 4, TM_WC_HIGH = 8 };
const uint8_t *tm_ftext_word_class(struct tm_ftext *t);
/* The TM_WC_* class of each byte. */
extern const uint8_t tm_wc_table[256];

/* For each line (tm_ftext_lines() order), the number of words in it. */
const uint32_t *tm_ftext_line_words(struct tm_ftext *t);

/*
 * The case-folded form (Unicode full case folding; ASCII by table) of
 * s[0..len), in a buffer of the tm_ftext valid until the next call;
 * *out_len receives its length.  For comparing words with word lists.
 */
const char *tm_ftext_fold(struct tm_ftext *t, const char *s, size_t len, size_t *out_len);

/*
 * A per-document cache for what several filters derive from the text
 * beyond lines and words (lexicon.h's folded words and their keys): the
 * slot of `owner`, an address that names the kind of data, created empty
 * on first use.  tm_ftext_set() marks every slot stale (valid = false);
 * the data stays allocated for the next document and tm_ftext_free()
 * frees it with the slot's free_fn (when set).  At most TM_FTEXT_SLOTS
 * owners (a BUG beyond).
 */
#define TM_FTEXT_SLOTS 8

struct tm_ftext_slot {
	bool valid;
	void *data;
	void (*free_fn)(void *data);
};

struct tm_ftext_slot *tm_ftext_slot(struct tm_ftext *t, const void *owner);

/* True for code points of scripts written without spaces between words. */
bool tm_unspaced_cp(uint32_t c);

/* True for Unicode White_Space code points. */
bool tm_space_cp(uint32_t c);

#endif
