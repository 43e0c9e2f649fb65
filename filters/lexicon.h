/*
 * lexicon.h: what the word-list filters (badwords, url_blocklist, kl)
 * share: the folded words of a text, a read-only hash map keyed by word,
 * phrases (sequences of words) matched word by word, and reading list
 * files.
 *
 * Folded words (struct tm_lex_iter): maximal runs of letters, marks and
 * digits (ASCII A-Z a-z 0-9; beyond ASCII, Unicode general categories L,
 * M and N) in a script written with spaces; everything else separates:
 * white space, punctuation, symbols (an emoji), invalid UTF-8, and every
 * character of a script written without spaces (tm_unspaced_cp(): Han,
 * kana, Thai, ...), which the filters match as substrings instead; or,
 * when asked (chars), each letter of those scripts is a word alone.  So
 * "Self-made" is two words, "don't" two ("don", "t").  A word is case
 * folded code point by code point: ASCII by table, the rest by Unicode
 * simple case folding (ICU u_foldCase) plus ß and ẞ to "ss" (as full
 * folding does), so "STRASSE" and "Straße" fold alike.  This is a single
 * pass, with no allocation and no ICU call on ASCII text.
 *
 * Word keys: a 64-bit hash of the folded bytes (tm_lex_hash(), taken 8
 * bytes at a time, each step a bijection, so two words of up to 8 bytes
 * never share a key), computed by the iterator as it folds; a word over
 * TM_LEX_WORD_MAX folded bytes has key 0, which no list holds.
 *
 * The map (struct tm_lex_map): word keys (or phrase keys) to 24-bit
 * values, open addressing in one array of 64-bit slots that keep 40 bits
 * of the key beside the value, optionally behind a bit filter (4 bits per
 * slot) that answers most misses from one cache line; built once, then
 * read-only and
 * shared by threads.  Two different keys collide with probability about
 * 2^-40 per lookup: a list match is then wrong once in 10^12 words.
 *
 * Ownership: the caller owns maps (tm_lex_map_free()) and iterators (on
 * its stack; they point into the caller's text).  Depends on ICU (uchar),
 * xxhash, stream.h (list files) and text.h (tm_unspaced_cp()).
 */
#ifndef TM_FILTER_LEXICON_H
#define TM_FILTER_LEXICON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tm_err;

/* Longest folded word, in bytes, that can match a list entry. */
#define TM_LEX_WORD_MAX 64

struct tm_lex_iter {
	const unsigned char *s;
	size_t len, pos;
	/* the current word: text[off..end), folded into fold[0..flen) */
	size_t off, end;
	size_t flen;
	uint64_t key;		/* tm_lex_hash() of fold, or 0 when too long */
	bool too_long;		/* longer than TM_LEX_WORD_MAX folded bytes */
	bool unspaced;		/* a letter of an unspaced script, alone (chars) */
	bool chars;		/* unspaced letters are one-letter words */
	char fold[TM_LEX_WORD_MAX + 8];
	/* the 64-byte block at `blk`: its ASCII letters and digits, its bytes > 0x7f */
	size_t blk;
	uint64_t alnum, high;
};

/* Starts at text[0]; `chars`: unspaced letters are words (else separators). */
void tm_lex_iter_init(struct tm_lex_iter *it, const char *text, size_t len, bool chars);

/*
 * Moves to the next word; false at the end of the text.  ASCII text goes
 * 64 bytes at a time (bit masks of letters and digits, SSE2 where there
 * is SSE2), so the cost is per word rather than per byte.
 */
bool tm_lex_next(struct tm_lex_iter *it);

/* The key of folded bytes (never 0). */
uint64_t tm_lex_hash(const char *s, size_t len);

/*
 * A document's words, computed once and shared by the filters that ask
 * (a tm_ftext slot: the chain cuts the text once however many filters
 * read words): the iterator's words with `chars` set, 16 bytes each.
 */
struct tm_lex_word {
	uint64_t key;		/* tm_lex_key(): 0 for a word too long */
	uint32_t off;		/* its bytes in the text: off, len */
	uint32_t len : 31;
	uint32_t unspaced : 1;	/* a letter of an unspaced script, alone */
};

struct tm_ftext;

const struct tm_lex_word *tm_lex_words(struct tm_ftext *t, size_t *n);

/* The key of the iterator's current word (0 when too long). */
static inline uint64_t tm_lex_key(const struct tm_lex_iter *it)
{
	return it->key;
}

/* The key of a phrase whose first words have key `prefix`, then `word`. */
static inline uint64_t tm_lex_extend(uint64_t prefix, uint64_t word)
{
	uint64_t x = prefix * 0x9e3779b97f4a7c15ULL + word;

	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ULL;
	return (x ^ (x >> 29)) | 1;
}

/* ---- the map ------------------------------------------------------------ */

#define TM_LEX_VALUE_MAX ((1u << 24) - 1)

/*
 * A slot is 0 (empty) or fp << 24 | value, fp being the key's top 40
 * bits (never 0); the bucket is chosen by fp too, so the table can grow
 * from the slots alone.  (Here for the inline lookup; use the functions.)
 */
struct tm_lex_map {
	uint64_t *slot;
	size_t mask, count;
	uint64_t *filter;	/* NULL, or 4 bits per slot: bit tm_lex_fbit(fp) of each key */
	int fshift;
};

static inline uint64_t tm_lex_fp(uint64_t key)
{
	uint64_t fp = key >> 24;

	return fp ? fp : 1;
}

static inline size_t tm_lex_bucket(uint64_t fp)
{
	return (size_t)(fp * 0x9e3779b97f4a7c15ULL >> 20);
}

/* The filter bit of a fingerprint (bits independent of its bucket). */
static inline uint64_t tm_lex_fbit(const struct tm_lex_map *m, uint64_t fp)
{
	return (fp * 0xc2b2ae3d27d4eb4fULL) >> m->fshift;
}

/*
 * An empty map sized for `expected` keys (it grows past them).  `filter`:
 * keep the bit filter, for maps that most lookups miss (word lists); a
 * map that most lookups find (a vocabulary) is faster without.
 */
struct tm_lex_map *tm_lex_map_new(size_t expected, bool filter);
void tm_lex_map_free(struct tm_lex_map *m);

/*
 * Finds `key`: true with *value set, or false.  Keys are word or phrase
 * keys (0 is never found).
 */
static inline bool tm_lex_map_get(const struct tm_lex_map *m, uint64_t key, uint32_t *value)
{
	uint64_t fp = tm_lex_fp(key), s, b;
	size_t i = tm_lex_bucket(fp) & m->mask;

	if (!key)
		return false;
	if (m->filter) {
		b = tm_lex_fbit(m, fp);
		if (!(m->filter[b >> 6] & (1ULL << (b & 63))))
			return false;
	}
	while ((s = m->slot[i])) {
		if (s >> 24 == fp) {
			*value = (uint32_t)(s & TM_LEX_VALUE_MAX);
			return true;
		}
		i = (i + 1) & m->mask;
	}
	return false;
}

/* Starts loading what tm_lex_map_get(m, key) will read first. */
static inline void tm_lex_map_prefetch(const struct tm_lex_map *m, uint64_t key)
{
	__builtin_prefetch(&m->slot[tm_lex_bucket(tm_lex_fp(key)) & m->mask]);
}

/*
 * Sets the value of `key` (inserted when absent; value <= TM_LEX_VALUE_MAX)
 * and returns the old value, or `none` when it was absent.
 */
uint32_t tm_lex_map_put(struct tm_lex_map *m, uint64_t key, uint32_t value, uint32_t none);

size_t tm_lex_map_count(const struct tm_lex_map *m);

/* ---- phrases ------------------------------------------------------------ */

/*
 * A phrase map holds entries of one or more words.  Its values are flags:
 * TM_LEX_WHOLE (an entry ends here), TM_LEX_PREFIX (a longer entry goes
 * on), plus whatever the caller keeps in the bits above them.
 */
#define TM_LEX_WHOLE 1u
#define TM_LEX_PREFIX 2u
#define TM_LEX_PHRASE_MAX 8	/* most words in one entry */

/*
 * Adds `entry` (its folded words, as tm_lex_iter cuts them) to `m` with
 * the extra value bits `extra` (ORed into the entry's last word).  Returns
 * its number of words: 0 (nothing added) when it has none, a word over
 * TM_LEX_WORD_MAX or more than TM_LEX_PHRASE_MAX words.  When `joined` is
 * true an entry of several words is also added as the one word of its
 * words written together ("blow job" also as "blowjob").
 */
int tm_lex_add_phrase(struct tm_lex_map *m, const char *entry, size_t len,
		      uint32_t extra, bool joined);

/* Matching phrases over a stream of word keys: starts empty. */
struct tm_lex_match {
	uint64_t active[TM_LEX_PHRASE_MAX];
	int nactive;
};

/*
 * Feeds the next word's key (0: a word that matches nothing, which also
 * breaks phrases); returns how many entries end at this word, and ORs
 * their values into *values when it is not NULL.
 */
int tm_lex_match_more(const struct tm_lex_map *m, struct tm_lex_match *st, uint64_t key,
		      uint32_t *values);

static inline int tm_lex_match_word(const struct tm_lex_map *m, struct tm_lex_match *st,
				    uint64_t key, uint32_t *values)
{
	uint32_t v;

	/* most words start nothing and continue nothing */
	if (!st->nactive && !tm_lex_map_get(m, key, &v))
		return 0;
	return tm_lex_match_more(m, st, key, values);
}

/* ---- languages ---------------------------------------------------------- */

/*
 * Which of n language codes (NUL-terminated strings at code0 + i * stride,
 * as in an array of structs) serves a document of metadata.lang `lang`:
 * the one equal to it, else the one equal to its primary subtag ("pt" for
 * "pt-BR"), with the codes langid gives mapped to LDNOOBW's (nb and nn to
 * no, tl to fil).  Returns its index, or -1.
 */
long tm_lex_lang_pick(const char *lang, const char *code0, size_t n, size_t stride);

/* ---- list files --------------------------------------------------------- */

/*
 * Calls fn(arg, name) for each name of `list`, comma-separated, white
 * space around each removed, empty ones skipped (name is NUL-terminated,
 * valid during the call).  Stops at the first non-zero return of fn and
 * returns it; else 0.
 */
int tm_lex_each_name(const char *list, int (*fn)(void *arg, const char *name), void *arg);

/*
 * Reads the list file `path` (plain, gzip or zstd): calls fn(arg, line,
 * len) for each line that is not empty or a comment, with a UTF-8 BOM,
 * a final "\r" and the white space around the line removed; a comment
 * line starts with '#' (after white space).  line[len] is '\0' and fn
 * may modify line[0..len).  A non-zero return from fn stops reading and
 * is returned.  Returns 0, TM_EIO (with err naming the file) or
 * TM_EFORMAT (a line over 64 KiB, naming its number).
 */
int tm_lex_read_list(const char *path, int (*fn)(void *arg, char *line, size_t len),
		     void *arg, struct tm_err *err);

/*
 * As tm_lex_read_list() for each file of `names`, a comma-separated list
 * (white space around each name ignored; "" names none), each resolved by
 * tm_filter_data_path() against `data_dir`, with `ext` (may be NULL)
 * appended to the name.  Returns 0 or the first error.
 */
int tm_lex_read_lists(const char *names, const char *data_dir, const char *ext,
		      int (*fn)(void *arg, char *line, size_t len), void *arg,
		      struct tm_err *err);

#endif
