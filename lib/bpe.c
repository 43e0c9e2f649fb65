/*
 * bpe.c: tiktoken-compatible byte-level BPE (see bpe.h for the contract).
 *
 * The pre-tokenizers replace these regular expressions (tiktoken's
 * cl100k_base pat_str as npm tiktoken 1.0.22 and Llama 3 write it, and
 * o200k_base's), evaluated leftmost-first with backtracking as the
 * fancy-regex crate does:
 *
 * cl100k / Llama 3:
 *   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}
 *   | ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 * o200k:
 *   [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?
 *   |[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?
 *   |\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+
 *
 * \s is Unicode White_Space; (?i) uses simple case folding, so "'s" also
 * matches "'S" and "'\u017F" (LATIN SMALL LETTER LONG S).
 */
#include "bpe.h"
#include "buf.h"
#include "err.h"
#include "tamis.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unicode/uchar.h>
#include <xxhash.h>

/* ---------------------------------------------------------------- classes */

enum {
	C_L = 1,	/* \p{L} */
	C_N = 2,	/* \p{N} */
	C_WS = 4,	/* \s (White_Space) */
	C_NL = 8,	/* \r or \n */
	C_M = 16,	/* \p{M} */
	C_UP = 32,	/* Lu, Lt */
	C_LOW = 64,	/* Ll */
	C_MO = 128,	/* Lm, Lo */
};
#define C_A (C_UP | C_MO | C_M)		/* [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}] */
#define C_B (C_LOW | C_MO | C_M)	/* [\p{Ll}\p{Lm}\p{Lo}\p{M}] */

/* The classes of U+0000..U+FFFF, filled once; read-only after that. */
static uint8_t bmp_class[65536];
static pthread_once_t class_once = PTHREAD_ONCE_INIT;

static uint8_t class_of_icu(uint32_t cp)
{
	uint8_t c = 0;

	switch (u_charType((UChar32)cp)) {
	case U_UPPERCASE_LETTER:
	case U_TITLECASE_LETTER:
		c = C_L | C_UP;
		break;
	case U_LOWERCASE_LETTER:
		c = C_L | C_LOW;
		break;
	case U_MODIFIER_LETTER:
	case U_OTHER_LETTER:
		c = C_L | C_MO;
		break;
	case U_NON_SPACING_MARK:
	case U_ENCLOSING_MARK:
	case U_COMBINING_SPACING_MARK:
		c = C_M;
		break;
	case U_DECIMAL_DIGIT_NUMBER:
	case U_LETTER_NUMBER:
	case U_OTHER_NUMBER:
		c = C_N;
		break;
	default:
		break;
	}
	if (u_isUWhiteSpace((UChar32)cp))
		c |= C_WS;
	if (cp == '\r' || cp == '\n')
		c |= C_NL;
	return c;
}

static void class_init(void)
{
	uint32_t cp;

	for (cp = 0; cp < 65536; cp++)
		bmp_class[cp] = class_of_icu(cp);
}

/*
 * The class of the (well-formed) character at s[i] and its length in
 * bytes; i < n.
 */
static inline uint8_t char_at(const unsigned char *s, size_t i, size_t n, size_t *len)
{
	unsigned c = s[i];
	uint32_t cp;

	(void)n;
	if (c < 0x80) {
		*len = 1;
		return bmp_class[c];
	}
	if (c < 0xE0) {
		*len = 2;
		cp = ((c & 0x1Fu) << 6) | (s[i + 1] & 0x3Fu);
		return bmp_class[cp];
	}
	if (c < 0xF0) {
		*len = 3;
		cp = ((c & 0x0Fu) << 12) | ((s[i + 1] & 0x3Fu) << 6) | (s[i + 2] & 0x3Fu);
		return bmp_class[cp];
	}
	*len = 4;
	cp = ((c & 0x07u) << 18) | ((s[i + 1] & 0x3Fu) << 12) |
	     ((s[i + 2] & 0x3Fu) << 6) | (s[i + 3] & 0x3Fu);
	return class_of_icu(cp);
}

/* Skips characters whose class has a bit of `mask`; returns where it stops. */
static inline size_t skip_class(const unsigned char *s, size_t i, size_t n, uint8_t mask)
{
	size_t l;

	while (i < n) {
		if (s[i] < 0x80) {
			if (!(bmp_class[s[i]] & mask))
				break;
			i++;
			continue;
		}
		if (!(char_at(s, i, n, &l) & mask))
			break;
		i += l;
	}
	return i;
}

/* (?i:'s|'t|'re|'ve|'m|'ll|'d) at s[i] == '\'': the end, or 0. */
static size_t contraction(const unsigned char *s, size_t i, size_t n)
{
	unsigned a, b;

	if (i + 1 >= n)
		return 0;
	a = s[i + 1] | 0x20;
	if (a == 's' || a == 't' || a == 'm' || a == 'd')
		return i + 2;
	if (s[i + 1] == 0xC5 && i + 2 < n && s[i + 2] == 0xBF)	/* U+017F */
		return i + 3;
	if (i + 2 >= n || s[i + 1] >= 0x80)
		return 0;
	b = s[i + 2] | 0x20;
	if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l'))
		return i + 3;
	return 0;
}

/*
 * The whitespace alternatives at s[p] (a White_Space character):
 * \s*[\r\n]+ | \s+(?!\S) | \s+
 */
static size_t match_space(const unsigned char *s, size_t p, size_t n)
{
	size_t i = p, last = p, nl_end = 0, l;
	uint8_t c;

	while (i < n) {
		c = char_at(s, i, n, &l);
		if (!(c & C_WS))
			break;
		last = i;
		i += l;
		if (c & C_NL)
			nl_end = i;
	}
	if (nl_end)
		return nl_end;
	if (i == n || last == p)
		return i;
	return last;
}

/* ' '?[^\s\p{L}\p{N}]+ then any of `tail` ([\r\n] or [\r\n/]): 0 if none. */
static size_t match_punct(const unsigned char *s, size_t p, size_t n, bool slash)
{
	size_t q = p, l;

	if (s[q] == ' ')
		q++;
	if (q >= n || (char_at(s, q, n, &l) & (C_WS | C_L | C_N)))
		return 0;
	while (q < n && !(char_at(s, q, n, &l) & (C_WS | C_L | C_N)))
		q += l;
	while (q < n && (s[q] == '\r' || s[q] == '\n' || (slash && s[q] == '/')))
		q++;
	return q;
}

/* \p{N}{1,3} at s[p] (a number). */
static size_t match_digits(const unsigned char *s, size_t p, size_t n)
{
	size_t l;
	int k;

	for (k = 0; k < 3 && p < n && (char_at(s, p, n, &l) & C_N); k++)
		p += l;
	return p;
}

static size_t next_cl100k(const unsigned char *s, size_t p, size_t n)
{
	size_t l0, l, e;
	uint8_t c0 = char_at(s, p, n, &l0);

	if (s[p] == '\'' && (e = contraction(s, p, n)))
		return e;
	if (c0 & C_L)
		return skip_class(s, p + l0, n, C_L);
	if (!(c0 & (C_N | C_NL)) && p + l0 < n && (char_at(s, p + l0, n, &l) & C_L))
		return skip_class(s, p + l0 + l, n, C_L);
	if (c0 & C_N)
		return match_digits(s, p, n);
	if ((e = match_punct(s, p, n, false)))
		return e;
	return match_space(s, p, n);
}

/*
 * [A]*[B]+ at q: the end, or 0.  Greedy A* then B+, backtracking: if the
 * character after the A run is in B, B+ runs on from there; else B+ is
 * the last B character inside the run.
 */
static size_t o200k_astar_bplus(const unsigned char *s, size_t q, size_t n)
{
	size_t i = q, l, lastb_end = 0;
	uint8_t c;

	while (i < n) {
		c = char_at(s, i, n, &l);
		if (!(c & C_A)) {
			if (c & C_B)
				return skip_class(s, i + l, n, C_B);
			break;
		}
		i += l;
		if (c & C_B)
			lastb_end = i;
	}
	return lastb_end;
}

/* [A]+[B]* at q: the end, or 0. */
static size_t o200k_aplus_bstar(const unsigned char *s, size_t q, size_t n)
{
	size_t i = skip_class(s, q, n, C_A);

	if (i == q)
		return 0;
	return skip_class(s, i, n, C_B);
}

static size_t opt_contraction(const unsigned char *s, size_t e, size_t n)
{
	size_t c;

	if (e < n && s[e] == '\'' && (c = contraction(s, e, n)))
		return c;
	return e;
}

static size_t next_o200k(const unsigned char *s, size_t p, size_t n)
{
	size_t l0, e;
	uint8_t c0 = char_at(s, p, n, &l0);
	bool prefix = !(c0 & (C_L | C_N | C_NL)) && p + l0 < n;

	if (prefix && (e = o200k_astar_bplus(s, p + l0, n)))
		return opt_contraction(s, e, n);
	if ((e = o200k_astar_bplus(s, p, n)))
		return opt_contraction(s, e, n);
	if (prefix && (e = o200k_aplus_bstar(s, p + l0, n)))
		return opt_contraction(s, e, n);
	if ((e = o200k_aplus_bstar(s, p, n)))
		return opt_contraction(s, e, n);
	if (c0 & C_N)
		return match_digits(s, p, n);
	if ((e = match_punct(s, p, n, true)))
		return e;
	return match_space(s, p, n);
}

void tm_bpe_split(enum tm_bpe_pattern pat, const char *text, size_t len,
		  void (*fn)(void *arg, const char *piece, size_t n), void *arg)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t p = 0, e;

	pthread_once(&class_once, class_init);
	while (p < len) {
		e = pat == TM_BPE_PAT_O200K ? next_o200k(s, p, len) : next_cl100k(s, p, len);
		fn(arg, text + p, e - p);
		p = e;
	}
}

/* ---------------------------------------------------------------- UTF-8 */

/*
 * The length of the well-formed character at s[i], or 0 when s[i] starts
 * an ill-formed subsequence; *bad is then the length of its maximal
 * subpart (Unicode 3.9, table 3-7).
 */
static size_t utf8_char(const unsigned char *s, size_t i, size_t n, size_t *bad)
{
	unsigned c = s[i], lo = 0x80, hi = 0xBF;
	size_t need, k;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		need = 1;
	else if (c >= 0xE0 && c <= 0xEF) {
		need = 2;
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		need = 3;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
	} else {
		*bad = 1;
		return 0;
	}
	for (k = 1; k <= need; k++) {
		unsigned b;

		if (i + k >= n)
			break;
		b = s[i + k];
		if (k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF))
			break;
	}
	if (k > need)
		return need + 1;
	*bad = k;
	return 0;
}

/* True when s[0..n) is well-formed UTF-8. */
static bool utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0, l, bad;

	while (i < n) {
		while (i + 8 <= n) {
			uint64_t w;

			memcpy(&w, s + i, 8);
			if (w & 0x8080808080808080ull)
				break;
			i += 8;
		}
		if (i >= n)
			break;
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if (!(l = utf8_char(s, i, n, &bad)))
			return false;
		i += l;
	}
	return true;
}

size_t tm_utf8_sanitize(const char *text, size_t len, struct tm_buf *out)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t i = 0, from = 0, l, bad = 0, nrep = 0;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((l = utf8_char(s, i, len, &bad))) {
			i += l;
			continue;
		}
		tm_buf_add(out, text + from, i - from);
		tm_buf_add(out, "\xEF\xBF\xBD", 3);
		nrep++;
		i += bad;
		from = i;
	}
	tm_buf_add(out, text + from, len - from);
	return nrep;
}

/* ---------------------------------------------------------------- vocabulary */

struct special {
	char *name;
	uint32_t id;
};

struct tm_bpe {
	enum tm_bpe_pattern pat;
	uint32_t nranks;
	char *bytes;		/* the tokens' bytes, in rank order */
	uint32_t *off;		/* rank r: bytes[off[r]..off[r + 1]) */
	uint32_t *slot;		/* hash table of rank + 1 (0: empty) */
	uint32_t *slot_hash;	/* the low 32 bits of each slot's hash */
	size_t mask;
	uint32_t byte_rank[256];
	uint32_t *pair_rank;	/* [65536]: the rank of each 2-byte token */
	struct special *special;
	size_t nspecial;
	uint32_t vocab_size;
};

static inline uint64_t hash_bytes(const void *p, size_t n)
{
	return XXH3_64bits(p, n);
}

/* The rank of s[0..n), or TM_BPE_NONE. */
static inline uint32_t rank_of(const struct tm_bpe *b, const unsigned char *s, size_t n)
{
	uint64_t h;
	size_t i;
	uint32_t r;

	if (n == 1)
		return b->byte_rank[s[0]];
	if (n == 2)
		return b->pair_rank[s[0] << 8 | s[1]];
	h = hash_bytes(s, n);
	for (i = h & b->mask;; i = (i + 1) & b->mask) {
		if (!(r = b->slot[i]))
			return TM_BPE_NONE;
		r--;
		if (b->slot_hash[i] == (uint32_t)h && b->off[r + 1] - b->off[r] == n &&
		    !memcmp(b->bytes + b->off[r], s, n))
			return r;
	}
}

static int b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Decodes base64 s[0..n) (padded or not) onto out; false if malformed. */
static bool b64decode(const char *s, size_t n, struct tm_buf *out)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t i;

	while (n && s[n - 1] == '=')
		n--;
	for (i = 0; i < n; i++) {
		int v = b64val((unsigned char)s[i]);

		if (v < 0)
			return false;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			tm_buf_addch(out, (int)((acc >> bits) & 0xFF));
		}
	}
	return true;
}

struct loaded {
	uint32_t off, len;
};

int tm_bpe_load_mem(const char *data, size_t len, const char *name,
		    enum tm_bpe_pattern pat, struct tm_bpe **out, struct tm_err *err)
{
	struct tm_bpe *b = tm_xcalloc(1, sizeof(*b));
	struct tm_buf raw = TM_BUF_INIT;
	struct loaded *tok = NULL;
	size_t ntok = 0, atok = 0, pos = 0, i, cap;
	long line = 0;
	uint32_t r, maxrank = 0;
	int rc = 0;

	pthread_once(&class_once, class_init);
	*out = NULL;
	b->pat = pat;
	while (pos < len) {
		const char *ln = data + pos, *nl = memchr(ln, '\n', len - pos), *sp;
		size_t l = nl ? (size_t)(nl - ln) : len - pos;
		char *end;
		unsigned long v;
		size_t before = raw.len;

		pos += l + (nl != NULL);
		line++;
		if (l && ln[l - 1] == '\r')
			l--;
		if (!l)
			continue;
		sp = memchr(ln, ' ', l);
		errno = 0;
		if (!sp || sp == ln || !b64decode(ln, (size_t)(sp - ln), &raw) ||
		    raw.len == before || sp + 1 == ln + l ||
		    (v = strtoul(sp + 1, &end, 10), end != ln + l) || errno ||
		    v >= UINT32_MAX - 1) {
			rc = tm_err_set(err, TM_EFORMAT, name, TM_ERR_NO_OFFSET, line,
					"expected 'BASE64 RANK'");
			goto fail;
		}
		r = (uint32_t)v;
		if (r >= atok) {
			size_t na = TM_MAX((size_t)r + 1, atok * 2);

			if (na > 16u << 20) {
				rc = tm_err_set(err, TM_EFORMAT, name, TM_ERR_NO_OFFSET, line,
						"rank %u is too large", r);
				goto fail;
			}
			tok = tm_xrealloc(tok, na * sizeof(*tok));
			memset(tok + atok, 0xFF, (na - atok) * sizeof(*tok));
			atok = na;
		}
		if (tok[r].len != UINT32_MAX) {
			rc = tm_err_set(err, TM_EFORMAT, name, TM_ERR_NO_OFFSET, line,
					"rank %u appears twice", r);
			goto fail;
		}
		tok[r].off = (uint32_t)before;
		tok[r].len = (uint32_t)(raw.len - before);
		if (r > maxrank || !ntok)
			maxrank = TM_MAX(maxrank, r);
		ntok++;
	}
	if (!ntok) {
		rc = tm_err_set(err, TM_EFORMAT, name, TM_ERR_NO_OFFSET, 0, "no tokens");
		goto fail;
	}
	if (ntok != (size_t)maxrank + 1) {
		for (r = 0; tok[r].len != UINT32_MAX; r++)
			;
		rc = tm_err_set(err, TM_EFORMAT, name, TM_ERR_NO_OFFSET, 0,
				"rank %u is missing (ranks must be 0..N-1)", r);
		goto fail;
	}
	b->nranks = (uint32_t)ntok;
	b->vocab_size = b->nranks;
	b->bytes = tm_xmalloc(raw.len + 1);
	b->off = tm_xmalloc((ntok + 1) * sizeof(*b->off));
	for (i = 0, pos = 0; i < ntok; i++) {
		b->off[i] = (uint32_t)pos;
		memcpy(b->bytes + pos, raw.buf + tok[i].off, tok[i].len);
		pos += tok[i].len;
	}
	b->off[ntok] = (uint32_t)pos;
	for (cap = 1024; cap < ntok * 2; cap <<= 1)
		;
	b->mask = cap - 1;
	b->slot = tm_xcalloc(cap, sizeof(*b->slot));
	b->slot_hash = tm_xcalloc(cap, sizeof(*b->slot_hash));
	b->pair_rank = tm_xmalloc(65536 * sizeof(*b->pair_rank));
	memset(b->pair_rank, 0xFF, 65536 * sizeof(*b->pair_rank));
	memset(b->byte_rank, 0xFF, sizeof(b->byte_rank));
	for (r = 0; r < b->nranks; r++) {
		const unsigned char *s = (const unsigned char *)b->bytes + b->off[r];
		size_t n = b->off[r + 1] - b->off[r];
		uint64_t h = hash_bytes(s, n);

		if (rank_of(b, s, n) != TM_BPE_NONE) {
			rc = tm_err_set(err, TM_EFORMAT, name, TM_ERR_NO_OFFSET, 0,
					"the token of rank %u appears twice", r);
			goto fail;
		}
		if (n == 1)
			b->byte_rank[s[0]] = r;
		else if (n == 2)
			b->pair_rank[s[0] << 8 | s[1]] = r;
		else {
			for (i = h & b->mask; b->slot[i]; i = (i + 1) & b->mask)
				;
			b->slot[i] = r + 1;
			b->slot_hash[i] = (uint32_t)h;
		}
	}
	for (i = 0; i < 256; i++) {
		if (b->byte_rank[i] == TM_BPE_NONE) {
			rc = tm_err_set(err, TM_EFORMAT, name, TM_ERR_NO_OFFSET, 0,
					"no token for the byte 0x%02zX (a byte-level "
					"vocabulary has all 256)", i);
			goto fail;
		}
	}
	free(tok);
	tm_buf_release(&raw);
	*out = b;
	return 0;
fail:
	free(tok);
	tm_buf_release(&raw);
	tm_bpe_free(b);
	return rc;
}

int tm_bpe_load(const char *path, enum tm_bpe_pattern pat, struct tm_bpe **out,
		struct tm_err *err)
{
	struct tm_buf data = TM_BUF_INIT;
	FILE *f = fopen(path, "rb");
	char chunk[65536];
	size_t n;
	int rc;

	*out = NULL;
	if (!f)
		return tm_err_sys(err, path, "cannot open the vocabulary");
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		tm_buf_add(&data, chunk, n);
	if (ferror(f)) {
		rc = tm_err_sys(err, path, "cannot read the vocabulary");
		fclose(f);
		tm_buf_release(&data);
		return rc;
	}
	fclose(f);
	rc = tm_bpe_load_mem(data.buf, data.len, path, pat, out, err);
	tm_buf_release(&data);
	return rc;
}

void tm_bpe_free(struct tm_bpe *b)
{
	size_t i;

	if (!b)
		return;
	for (i = 0; i < b->nspecial; i++)
		free(b->special[i].name);
	free(b->special);
	free(b->bytes);
	free(b->off);
	free(b->slot);
	free(b->slot_hash);
	free(b->pair_rank);
	free(b);
}

int tm_bpe_add_special(struct tm_bpe *b, const char *name, uint32_t id, struct tm_err *err)
{
	size_t i;

	if (id < b->nranks || id == TM_BPE_NONE)
		return tm_err_set(err, TM_EINVAL, NULL, TM_ERR_NO_OFFSET, 0,
				  "special token '%s': id %u is a rank of the vocabulary",
				  name, id);
	for (i = 0; i < b->nspecial; i++)
		if (b->special[i].id == id || !strcmp(b->special[i].name, name))
			return tm_err_set(err, TM_EINVAL, NULL, TM_ERR_NO_OFFSET, 0,
					  "special token '%s' (%u) clashes with '%s' (%u)",
					  name, id, b->special[i].name, b->special[i].id);
	b->special = tm_xrealloc(b->special, (b->nspecial + 1) * sizeof(*b->special));
	b->special[b->nspecial].name = tm_xstrdup(name);
	b->special[b->nspecial].id = id;
	b->nspecial++;
	if (id >= b->vocab_size)
		b->vocab_size = id + 1;
	return 0;
}

uint32_t tm_bpe_special(const struct tm_bpe *b, const char *name)
{
	size_t i;

	for (i = 0; i < b->nspecial; i++)
		if (!strcmp(b->special[i].name, name))
			return b->special[i].id;
	return TM_BPE_NONE;
}

uint32_t tm_bpe_nranks(const struct tm_bpe *b)
{
	return b->nranks;
}

uint32_t tm_bpe_vocab_size(const struct tm_bpe *b)
{
	return b->vocab_size;
}

enum tm_bpe_pattern tm_bpe_pattern(const struct tm_bpe *b)
{
	return b->pat;
}

const char *tm_bpe_token(const struct tm_bpe *b, uint32_t id, size_t *len)
{
	size_t i;

	if (id < b->nranks) {
		*len = b->off[id + 1] - b->off[id];
		return b->bytes + b->off[id];
	}
	for (i = 0; i < b->nspecial; i++) {
		if (b->special[i].id == id) {
			*len = strlen(b->special[i].name);
			return b->special[i].name;
		}
	}
	return NULL;
}

static const struct tm_bpe_preset presets[] = {
	{ "llama3", "llama3.tiktoken", TM_BPE_PAT_CL100K, "<|begin_of_text|>", "<|end_of_text|>" },
	{ "cl100k", "cl100k_base.tiktoken", TM_BPE_PAT_CL100K, "<|endoftext|>", "<|endoftext|>" },
	{ "o200k", "o200k_base.tiktoken", TM_BPE_PAT_O200K, "<|endoftext|>", "<|endoftext|>" },
};

const struct tm_bpe_preset *tm_bpe_preset(const char *name)
{
	size_t i;

	for (i = 0; i < TM_ARRAY_SIZE(presets); i++)
		if (!strcmp(presets[i].name, name))
			return &presets[i];
	return NULL;
}

int tm_bpe_add_specials(struct tm_bpe *b, const struct tm_bpe_preset *p, struct tm_err *err)
{
	static const char *const llama3[] = {
		"<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
		"<|reserved_special_token_1|>", "<|finetune_right_pad_id|>",
		"<|reserved_special_token_2|>", "<|start_header_id|>", "<|end_header_id|>",
		"<|eom_id|>", "<|eot_id|>", "<|python_tag|>",
	};
	static const struct { const char *name; uint32_t id; } cl100k[] = {
		{ "<|endoftext|>", 100257 }, { "<|fim_prefix|>", 100258 },
		{ "<|fim_middle|>", 100259 }, { "<|fim_suffix|>", 100260 },
		{ "<|endofprompt|>", 100276 },
	}, o200k[] = {
		{ "<|endoftext|>", 199999 }, { "<|endofprompt|>", 200018 },
	};
	char name[64];
	uint32_t i;
	int rc = 0;

	if (!p)
		return tm_bpe_add_special(b, "<|endoftext|>", b->nranks, err);
	if (!strcmp(p->name, "llama3")) {
		for (i = 0; i < 256 && !rc; i++) {
			if (i < TM_ARRAY_SIZE(llama3))
				snprintf(name, sizeof(name), "%s", llama3[i]);
			else
				snprintf(name, sizeof(name), "<|reserved_special_token_%u|>",
					 i - (uint32_t)TM_ARRAY_SIZE(llama3) + 3);
			rc = tm_bpe_add_special(b, name, 128000 + i, err);
		}
	} else if (!strcmp(p->name, "cl100k")) {
		for (i = 0; i < TM_ARRAY_SIZE(cl100k) && !rc; i++)
			rc = tm_bpe_add_special(b, cl100k[i].name, cl100k[i].id, err);
	} else {
		for (i = 0; i < TM_ARRAY_SIZE(o200k) && !rc; i++)
			rc = tm_bpe_add_special(b, o200k[i].name, o200k[i].id, err);
	}
	return rc;
}

/* ---------------------------------------------------------------- encoding */

struct part {
	uint32_t start;
	uint32_t rank;		/* of the pair starting here */
};

struct hpair;

struct tm_bpe_ctx {
	const struct tm_bpe *bpe;
	uint32_t *ids;
	size_t nids, aids;
	struct part *parts;
	size_t aparts;
	struct tm_buf clean;
	/* merge_piece_long() */
	uint32_t *next, *prev;
	struct hpair *heap;
	size_t along;
};

struct tm_bpe_ctx *tm_bpe_ctx_new(const struct tm_bpe *bpe)
{
	struct tm_bpe_ctx *c = tm_xcalloc(1, sizeof(*c));

	c->bpe = bpe;
	c->aids = 1024;
	c->ids = tm_xmalloc(c->aids * sizeof(*c->ids));
	c->aparts = 256;
	c->parts = tm_xmalloc(c->aparts * sizeof(*c->parts));
	tm_buf_init(&c->clean, 0);
	return c;
}

void tm_bpe_ctx_free(struct tm_bpe_ctx *c)
{
	if (!c)
		return;
	free(c->ids);
	free(c->parts);
	free(c->next);
	free(c->prev);
	free(c->heap);
	tm_buf_release(&c->clean);
	free(c);
}

static inline void push_id(struct tm_bpe_ctx *c, uint32_t id)
{
	if (c->nids == c->aids) {
		c->aids *= 2;
		c->ids = tm_xrealloc(c->ids, c->aids * sizeof(*c->ids));
	}
	c->ids[c->nids++] = id;
}

/*
 * tiktoken's _byte_pair_merge over s[0..n) (n >= 2, not itself a token):
 * parts[i].rank is the rank of the bytes from parts[i].start to
 * parts[i + 2].start; merge the lowest (leftmost on ties) until none.
 */
static void merge_piece(struct tm_bpe_ctx *c, const unsigned char *s, size_t n)
{
	const struct tm_bpe *b = c->bpe;
	struct part *pt;
	size_t np = n + 1, i, best;
	uint32_t min = TM_BPE_NONE;

	if (np > c->aparts) {
		while (c->aparts < np)
			c->aparts *= 2;
		c->parts = tm_xrealloc(c->parts, c->aparts * sizeof(*c->parts));
	}
	pt = c->parts;
	best = 0;
	for (i = 0; i + 1 < n; i++) {
		uint32_t r = b->pair_rank[s[i] << 8 | s[i + 1]];

		pt[i].start = (uint32_t)i;
		pt[i].rank = r;
		if (r < min) {
			min = r;
			best = i;
		}
	}
	pt[n - 1].start = (uint32_t)(n - 1);
	pt[n - 1].rank = TM_BPE_NONE;
	pt[n].start = (uint32_t)n;
	pt[n].rank = TM_BPE_NONE;
	while (min != TM_BPE_NONE) {
		i = best;
		if (i > 0)
			pt[i - 1].rank = i + 2 < np ?
				rank_of(b, s + pt[i - 1].start, pt[i + 2].start - pt[i - 1].start) :
				TM_BPE_NONE;
		pt[i].rank = i + 3 < np ?
			rank_of(b, s + pt[i].start, pt[i + 3].start - pt[i].start) : TM_BPE_NONE;
		memmove(pt + i + 1, pt + i + 2, (np - i - 2) * sizeof(*pt));
		np--;
		min = TM_BPE_NONE;
		for (i = 0; i + 1 < np; i++) {
			if (pt[i].rank < min) {
				min = pt[i].rank;
				best = i;
			}
		}
	}
	for (i = 0; i + 1 < np; i++)
		push_id(c, rank_of(b, s + pt[i].start, pt[i + 1].start - pt[i].start));
}

/*
 * The same merge for long pieces in O(n log n): parts in a linked list,
 * candidate pairs in a min-heap ordered by (rank, start), so the first
 * valid entry is the lowest rank, leftmost on ties, as in the scan above.
 * An entry (rank, l, r) is valid while the pair starting at part l spans
 * exactly bytes [l, r); its rank depends only on those bytes.
 */
struct hpair {
	uint32_t rank, l, r;
};

static bool hpair_less(const struct hpair *x, const struct hpair *y)
{
	return x->rank != y->rank ? x->rank < y->rank : x->l < y->l;
}

static void hpush(struct hpair *h, size_t *n, struct hpair e)
{
	size_t i = (*n)++;

	while (i && hpair_less(&e, &h[(i - 1) / 2])) {
		h[i] = h[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h[i] = e;
}

static struct hpair hpop(struct hpair *h, size_t *n)
{
	struct hpair top = h[0], last = h[--*n];
	size_t i = 0, c;

	for (;;) {
		c = 2 * i + 1;
		if (c >= *n)
			break;
		if (c + 1 < *n && hpair_less(&h[c + 1], &h[c]))
			c++;
		if (!hpair_less(&h[c], &last))
			break;
		h[i] = h[c];
		i = c;
	}
	if (*n)
		h[i] = last;
	return top;
}

static void merge_piece_long(struct tm_bpe_ctx *c, const unsigned char *s, size_t n)
{
	const struct tm_bpe *b = c->bpe;
	uint32_t *next, *prev, i, r, nx;
	struct hpair *h;
	size_t nh = 0;

	if (c->along < n + 1) {
		c->along = n + 1;
		c->next = tm_xrealloc(c->next, c->along * sizeof(*c->next));
		c->prev = tm_xrealloc(c->prev, c->along * sizeof(*c->prev));
		c->heap = tm_xrealloc(c->heap, 3 * c->along * sizeof(*c->heap));
	}
	next = c->next;
	prev = c->prev;
	h = c->heap;
	/* next[i]: the start of the part after the one starting at i (n: none) */
	for (i = 0; i < n; i++) {
		next[i] = i + 1;
		prev[i] = i ? i - 1 : UINT32_MAX;
		if (i + 1 < n && (r = b->pair_rank[s[i] << 8 | s[i + 1]]) != TM_BPE_NONE)
			hpush(h, &nh, (struct hpair){ r, i, i + 2 });
	}
	while (nh) {
		struct hpair e = hpop(h, &nh);

		/* valid: e.l starts a part and the pair from it ends at e.r */
		if (prev[e.l] == UINT32_MAX - 1 || next[e.l] >= n || next[next[e.l]] != e.r)
			continue;
		nx = next[e.l];
		next[e.l] = e.r;
		prev[nx] = UINT32_MAX - 1;	/* nx no longer starts a part */
		if (e.r < n)
			prev[e.r] = e.l;
		if (prev[e.l] != UINT32_MAX &&
		    (r = rank_of(b, s + prev[e.l], e.r - prev[e.l])) != TM_BPE_NONE)
			hpush(h, &nh, (struct hpair){ r, prev[e.l], e.r });
		if (e.r < n && (r = rank_of(b, s + e.l, next[e.r] - e.l)) != TM_BPE_NONE)
			hpush(h, &nh, (struct hpair){ r, e.l, next[e.r] });
	}
	for (i = 0; i < n; i = next[i])
		push_id(c, rank_of(b, s + i, next[i] - i));
}

/*
 * Pieces longer than this merge through the heap: tiktoken's scan is
 * quadratic in the piece (a 100 kB run of one letter is one piece).
 */
#define TM_BPE_LONG_PIECE 256

static void encode_piece(struct tm_bpe_ctx *c, const unsigned char *s, size_t n)
{
	uint32_t r = rank_of(c->bpe, s, n);

	if (r != TM_BPE_NONE)
		push_id(c, r);
	else if (n > TM_BPE_LONG_PIECE)
		merge_piece_long(c, s, n);
	else
		merge_piece(c, s, n);
}

size_t tm_bpe_encode(struct tm_bpe_ctx *c, const char *text, size_t len,
		     const uint32_t **ids)
{
	const unsigned char *s = (const unsigned char *)text;
	bool o200k = c->bpe->pat == TM_BPE_PAT_O200K;
	size_t p = 0, e;

	c->nids = 0;
	if (!utf8_valid(s, len)) {
		tm_buf_reset(&c->clean);
		tm_utf8_sanitize(text, len, &c->clean);
		s = (const unsigned char *)c->clean.buf;
		len = c->clean.len;
	}
	while (p < len) {
		e = o200k ? next_o200k(s, p, len) : next_cl100k(s, p, len);
		encode_piece(c, s + p, e - p);
		p = e;
	}
	*ids = c->ids;
	return c->nids;
}
