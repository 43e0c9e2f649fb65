/*
 * heur.h: small pieces the heuristic filters (gopher.c, c4.c, fineweb.c)
 * share: a per-document hash counter, duplicate elements (lines,
 * paragraphs) the way Gopher and FineWeb count them, code point sets
 * read from a setting, and code point helpers on UTF-8 spans.
 *
 * Not a general library: keys are 64-bit hashes taken as the elements
 * themselves (two different elements with the same XXH3-64 are counted
 * as one: about one chance in 2^64/n^2 per document of n elements).
 * Characters are code points; the text is UTF-8 (documents are valid
 * UTF-8; an invalid byte counts as one character unless it is a
 * continuation byte, which counts as none).
 * Ownership: the caller owns each struct and releases it with its
 * _release(); one per thread (filter scratch), reused across documents.
 * Depends on buf.h, text.h (struct tm_span) and libxxhash only.
 */
#ifndef TM_FILTER_HEUR_H
#define TM_FILTER_HEUR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <string.h>
#include <xxhash.h>

#include "text.h"

/* ---- a counter of 64-bit keys, emptied per document -------------------- */

struct tm_hent {
	uint64_t key;		/* never 0 (tm_htab_add maps 0 to 1); 0: empty */
	uint32_t count;		/* times added */
	uint32_t first;		/* `pos` given when the key was first added */
};

struct tm_htab {
	struct tm_hent *e;
	size_t mask;		/* slots - 1 */
	size_t alloc;		/* slots allocated */
};

/*
 * Empties t and makes room for n keys (load at most 1/2, so adding more
 * than n distinct keys is a BUG).  Memory: 16 bytes per slot, 2 to 4
 * slots per key; kept for the next document.
 */
void tm_htab_reset(struct tm_htab *t, size_t n);
void tm_htab_release(struct tm_htab *t);

/*
 * Adds key (count + 1; `first` = pos when new) and returns its entry,
 * whose address stays valid until the next reset.
 */
static inline struct tm_hent *tm_htab_add(struct tm_htab *t, uint64_t key, uint32_t pos)
{
	size_t i;

	key += !key;
	for (i = key & t->mask;; i = (i + 1) & t->mask) {
		struct tm_hent *e = &t->e[i];

		if (e->key == key) {
			e->count++;
			return e;
		}
		if (!e->key) {
			e->key = key;
			e->count = 1;
			e->first = pos;
			return e;
		}
	}
}

/*
 * A 64-bit hash of a word, inline: XXH3-64 for words over 16 bytes; a
 * shorter word (nearly all) is read as two overlapping 8- or 4-byte
 * loads, which with its length identify it, and mixed by one 128-bit
 * multiplication (wyhash's mum).  A call to the library per word cost more
 * than all the rest a filter does with it.
 */
static inline uint64_t tm_hash_mum(uint64_t a, uint64_t b)
{
	__uint128_t r = (__uint128_t)a * b;

	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t tm_word_hash(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	uint64_t a, b;

	if (len > 16)
		return XXH3_64bits(s, len);
	if (len >= 8) {
		memcpy(&a, s, 8);
		memcpy(&b, s + len - 8, 8);
	} else if (len >= 4) {
		uint32_t x, y;

		memcpy(&x, s, 4);
		memcpy(&y, s + len - 4, 4);
		a = x;
		b = y;
	} else {
		a = len ? (uint64_t)u[0] << 16 | (uint64_t)u[len >> 1] << 8 | u[len - 1] : 0;
		b = 0;
	}
	return tm_hash_mum(a ^ 0xa0761d6478bd642fULL, b ^ 0xe7037ed1a0b428dbULL ^ len);
}

/* The characters of a short span (a word), inline. */
static inline uint32_t tm_cp_count_short(const char *s, size_t len)
{
	uint32_t n = 0;
	size_t i;

	for (i = 0; i < len; i++)
		n += ((unsigned char)s[i] & 0xc0) != 0x80;
	return n;
}

/* ---- a growing array of spans ------------------------------------------ */

struct tm_spanv {
	struct tm_span *v;
	size_t n, cap;
};

void tm_spanv_grow(struct tm_spanv *a);

static inline void tm_spanv_push(struct tm_spanv *a, size_t off, size_t len)
{
	if (a->n == a->cap)
		tm_spanv_grow(a);
	a->v[a->n].off = (uint32_t)off;
	a->v[a->n++].len = (uint32_t)len;
}

/* ---- duplicate elements ------------------------------------------------- */

/*
 * Over the elements text[v[i].off .. +v[i].len) in order, the number of
 * elements equal to an earlier one (*dups) and their characters
 * (*dup_chars): datatrove's find_duplicates(), which Gopher's repetition
 * rules and FineWeb's char_dup_ratio use.  t is scratch.
 */
void tm_dup_spans(struct tm_htab *t, const char *text, const struct tm_span *v, size_t n,
		  uint64_t *dups, uint64_t *dup_chars);

/* ---- code points ---------------------------------------------------------- */

/* The characters (code points) of s[0..len). */
size_t tm_cp_count(const char *s, size_t len);

/* The last code point of s[0..len), or -1 when len is 0 or it is invalid. */
int32_t tm_cp_last(const char *s, size_t len);

/* The span (*off, *len) narrowed to leave out white space (tm_space_cp) at both ends. */
void tm_span_strip(const char *text, uint32_t *off, uint32_t *len);

/* A set of code points, written in a setting as the characters themselves. */
struct tm_cpset {
	uint32_t *cp;		/* the non-ASCII ones, sorted */
	size_t n;
	bool ascii[128];
};

/*
 * Fills s with every code point of the UTF-8 string str except white
 * space (so "• - *" is three).  Returns false (s empty) when str is not
 * valid UTF-8.
 */
bool tm_cpset_parse(struct tm_cpset *s, const char *str);
bool tm_cpset_has(const struct tm_cpset *s, int32_t c);
void tm_cpset_release(struct tm_cpset *s);

#endif
