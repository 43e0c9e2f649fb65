/*
 * norm.h: what de-duplication compares: normalised text, its words, and
 * normalised URLs.
 *
 * Text: NFKC with case folding (ICU's NFKC_Casefold: "Ｆｕｌｌ" and "full",
 * "ß" and "ss" are the same), punctuation (Unicode P*) removed, every run
 * of white space and control characters one space, no space at either
 * end.  Invalid UTF-8 becomes U+FFFD first.  Two texts are exact
 * duplicates when their normalised forms are byte-identical.
 *
 * Words: ICU word boundaries (UAX #29 plus ICU's dictionaries for Chinese,
 * Japanese, Thai, Lao, Khmer, Burmese) over the normalised text; only
 * segments that hold a letter, number or ideograph count (spaces do not).
 * So a Thai or Chinese text without spaces has words as a Latin one does.
 *
 * URLs: see tm_url_norm().
 *
 * Ownership: the caller owns what it passes and the context; one context
 * per thread (it holds ICU objects and buffers), reused across documents.
 * Memory: buffers growing to about 6 bytes per byte of the longest text.
 * Depends on ICU (unorm2, ubrk) and buf.h only.
 */
#ifndef TM_DEDUP_NORM_H
#define TM_DEDUP_NORM_H

#include <stddef.h>
#include <stdint.h>

struct tm_buf;
struct tm_norm;

struct tm_norm *tm_norm_new(void);
void tm_norm_free(struct tm_norm *n);

/* Appends the normalised form of text[0..len) to `out`. */
void tm_norm_text(struct tm_norm *n, const char *text, size_t len, struct tm_buf *out);

/*
 * Normalises text[0..len) and splits it into words; calls fn(arg, word,
 * word_len) for each, in order (word points into the context's buffer,
 * valid during the call).  Returns the number of words.
 */
size_t tm_norm_words(struct tm_norm *n, const char *text, size_t len,
		     void (*fn)(void *arg, const char *word, size_t wlen), void *arg);

/*
 * As tm_norm_words() without a callback: returns the number of words and
 * sets *words to a buffer holding them, each followed by one space, and
 * *offsets to their starts (both owned by the context, valid until its
 * next call).  Word i ends at offsets[i + 1] - 1 (the last one at the
 * buffer's last space), so runs of consecutive words are contiguous.
 */
size_t tm_norm_word_list(struct tm_norm *n, const char *text, size_t len,
			 const char **words, const size_t **offsets);

/*
 * The de-duplication key of a URL, appended to `out`; returns 0, or -1
 * when `url` is not an absolute http(s)/ftp URL with a host (nothing is
 * appended).  Rules (docs/DEDUP.md):
 *  - the scheme is dropped for http and https (one page, two captures),
 *    kept for others; the host is lowercased, a trailing dot and a
 *    default port (:80, :443, :21) removed; user:password@ removed;
 *  - the fragment (#...) is removed; an empty path is "/";
 *  - percent-escapes of unreserved characters (A-Z a-z 0-9 - . _ ~) are
 *    decoded, the others written with upper-case hex;
 *  - a '%' that starts no escape becomes "%25" (so keys are stable);
 *  - unusable: a port that is not digits, ':' in a host that is not a
 *    bracketed IPv6 literal, an unclosed '['; userinfo ends at the last '@';
 *  - query parameters that only track (utm_*, fbclid, gclid, dclid,
 *    msclkid, mc_cid, mc_eid, _ga, yclid) are removed, the others kept in
 *    their order; an empty query ("?" alone) is removed.
 */
int tm_url_norm(const char *url, struct tm_buf *out);

#endif
