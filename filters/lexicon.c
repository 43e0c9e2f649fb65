/*
 * lexicon.c: folded words, the word map, phrases and list files
 * (lexicon.h).
 */
#include "tamis.h"
#include "filter.h"
#include "lexicon.h"
#include "stream.h"
#include "text.h"

#include <unicode/uchar.h>
#include <unicode/utf8.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* ---------------------------------------------------------------- words */

/* ASCII: 0 separates; else the folded byte.  Bytes over 0x7f: 0. */
static const unsigned char ascii_fold[256] = {
	['0'] = '0', ['1'] = '1', ['2'] = '2', ['3'] = '3', ['4'] = '4',
	['5'] = '5', ['6'] = '6', ['7'] = '7', ['8'] = '8', ['9'] = '9',
	['A'] = 'a', ['B'] = 'b', ['C'] = 'c', ['D'] = 'd', ['E'] = 'e', ['F'] = 'f',
	['G'] = 'g', ['H'] = 'h', ['I'] = 'i', ['J'] = 'j', ['K'] = 'k', ['L'] = 'l',
	['M'] = 'm', ['N'] = 'n', ['O'] = 'o', ['P'] = 'p', ['Q'] = 'q', ['R'] = 'r',
	['S'] = 's', ['T'] = 't', ['U'] = 'u', ['V'] = 'v', ['W'] = 'w', ['X'] = 'x',
	['Y'] = 'y', ['Z'] = 'z',
	['a'] = 'a', ['b'] = 'b', ['c'] = 'c', ['d'] = 'd', ['e'] = 'e', ['f'] = 'f',
	['g'] = 'g', ['h'] = 'h', ['i'] = 'i', ['j'] = 'j', ['k'] = 'k', ['l'] = 'l',
	['m'] = 'm', ['n'] = 'n', ['o'] = 'o', ['p'] = 'p', ['q'] = 'q', ['r'] = 'r',
	['s'] = 's', ['t'] = 't', ['u'] = 'u', ['v'] = 'v', ['w'] = 'w', ['x'] = 'x',
	['y'] = 'y', ['z'] = 'z',
};

/* A 64-bit word from 8 bytes read little-endian (as they were stored). */
static inline uint64_t le64(uint64_t w)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return __builtin_bswap64(w);
#else
	return w;
#endif
}

/* The steps of tm_lex_hash(): each 8 bytes (little-endian, the last zero-padded). */
static inline uint64_t hash_step(uint64_t h, uint64_t w)
{
	h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
	return h ^ (h >> 31);
}

static inline uint64_t hash_end(uint64_t h)
{
	h *= 0x94d049bb133111ebULL;
	h ^= h >> 29;
	return h ? h : 1;
}

void tm_lex_iter_init(struct tm_lex_iter *it, const char *text, size_t len, bool chars)
{
	it->s = (const unsigned char *)text;
	it->len = len;
	it->pos = 0;
	it->off = it->end = it->flen = 0;
	it->too_long = false;
	it->chars = chars;
	it->blk = SIZE_MAX;
}

/* The code point at s[*i] (advancing *i), or -1 for an invalid byte. */
static inline UChar32 next_cp(const unsigned char *s, size_t *i, size_t n)
{
	int32_t j = 0, l = (int32_t)TM_MIN(n - *i, 4);
	UChar32 c;

	U8_NEXT(s + *i, j, l, c);
	*i += (size_t)j;
	return c;
}

enum { SEP, WORD, UNSPACED };

/* What a non-ASCII code point is to words: SEP, WORD, or UNSPACED (a letter). */
static inline int cp_class(UChar32 c)
{
	if (c < 0 || !(U_GET_GC_MASK(c) & (U_GC_L_MASK | U_GC_M_MASK | U_GC_N_MASK)))
		return SEP;
	return tm_unspaced_cp((uint32_t)c) ? UNSPACED : WORD;
}

static void add_folded(struct tm_lex_iter *it, UChar32 c)
{
	uint8_t u[8];
	int32_t k = 0;

	if (c == 0xdf || c == 0x1e9e) {
		u[k++] = 's';
		u[k++] = 's';
	} else {
		U8_APPEND_UNSAFE(u, k, u_foldCase(c, U_FOLD_CASE_DEFAULT));
	}
	if (it->too_long || it->flen + (size_t)k > TM_LEX_WORD_MAX) {
		it->too_long = true;	/* fold keeps the part that fitted */
		return;
	}
	memcpy(it->fold + it->flen, u, (size_t)k);
	it->flen += (size_t)k;
}

/*
 * The word at i (a letter or digit, or a byte over 0x7f), byte by byte
 * with full UTF-8 decoding: the path for words with non-ASCII letters,
 * and for what follows non-ASCII bytes.  Returns false when what is at i
 * starts no word (a separator); it->pos is then past it.
 */
static bool slow_word(struct tm_lex_iter *it, size_t i)
{
	const unsigned char *s = it->s;
	size_t n = it->len, at;
	UChar32 c = -1;
	int k;

	if (s[i] >= 0x80) {
		at = i;
		c = next_cp(s, &i, n);
		k = cp_class(c);
		if (k == UNSPACED && it->chars) {
			/* a word of one letter */
			it->off = at;
			it->flen = 0;
			it->too_long = false;
			it->unspaced = true;
			add_folded(it, c);
			it->end = it->pos = i;
			it->key = tm_lex_hash(it->fold, it->flen);
			return true;
		}
		if (k != WORD) {
			it->pos = i;
			return false;
		}
		i = at;
	}
	it->off = i;
	it->flen = 0;
	it->too_long = false;
	it->unspaced = false;
	for (;;) {
		/* ASCII letters and digits, in locals: stores to fold[] may alias it */
		size_t fl = it->flen, stop = it->too_long ? i : TM_MIN(n, i + (TM_LEX_WORD_MAX - fl));
		char *f = it->fold;
		unsigned char b;

		while (i < stop && (b = ascii_fold[s[i]]))
			f[fl++] = (char)b, i++;
		it->flen = fl;
		if (i >= n)
			break;
		b = s[i];
		if (b < 0x80) {
			if (!ascii_fold[b])
				break;
			it->too_long = true;	/* a letter or digit past TM_LEX_WORD_MAX */
			i++;
			continue;
		}
		at = i;
		c = next_cp(s, &i, n);
		if (cp_class(c) != WORD) {
			i = at;
			break;
		}
		add_folded(it, c);
	}
	it->end = i;
	it->pos = i;
	it->key = it->too_long ? 0 : tm_lex_hash(it->fold, it->flen);
	return true;
}

/* Bit j: p[j] is an ASCII letter or digit (*alnum), or over 0x7f (*high). */
static inline void block_masks(const unsigned char *p, uint64_t *alnum, uint64_t *high)
{
#ifdef __SSE2__
	uint64_t a = 0, h = 0;
	int k;

	for (k = 0; k < 4; k++) {
		__m128i v = _mm_loadu_si128((const __m128i *)(p + 16 * k));
		__m128i l = _mm_or_si128(v, _mm_set1_epi8(0x20));
		/* unsigned x - lo < n as a signed compare, shifted by 0x80 */
		__m128i d = _mm_cmplt_epi8(_mm_add_epi8(v, _mm_set1_epi8((char)(0x80 - '0'))),
					   _mm_set1_epi8((char)(0x80 + 10 - 256)));
		__m128i al = _mm_cmplt_epi8(_mm_add_epi8(l, _mm_set1_epi8((char)(0x80 - 'a'))),
					    _mm_set1_epi8((char)(0x80 + 26 - 256)));

		a |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_or_si128(d, al)) << (16 * k);
		h |= (uint64_t)(uint16_t)_mm_movemask_epi8(v) << (16 * k);
	}
	*alnum = a;
	*high = h;
#else
	uint64_t a = 0, h = 0;
	int j;

	for (j = 0; j < 64; j++) {
		a |= (uint64_t)(ascii_fold[p[j]] != 0) << j;
		h |= (uint64_t)(p[j] >> 7) << j;
	}
	*alnum = a;
	*high = h;
#endif
}

/* Makes it->alnum/high describe the block holding byte i (i < len). */
static inline void load_block(struct tm_lex_iter *it, size_t i)
{
	size_t b = i & ~(size_t)63;

	if (b == it->blk)
		return;
	it->blk = b;
	if (b + 64 <= it->len) {
		block_masks(it->s + b, &it->alnum, &it->high);
	} else {
		unsigned char tail[64] = { 0 };	/* 0 is neither */

		memcpy(tail, it->s + b, it->len - b);
		block_masks(tail, &it->alnum, &it->high);
	}
}

/* 8 bytes of the text at i, zeros past its end. */
static inline uint64_t load8(const struct tm_lex_iter *it, size_t i)
{
	uint64_t w = 0;

	if (i + 8 <= it->len)
		memcpy(&w, it->s + i, 8);
	else if (i < it->len)
		memcpy(&w, it->s + i, it->len - i);
	return w;
}

bool tm_lex_next(struct tm_lex_iter *it)
{
	size_t i = it->pos, n = it->len, e, l, k;
	uint64_t bits, h;

	for (;;) {
		/* the next letter, digit or non-ASCII byte */
		for (;;) {
			if (i >= n) {
				it->pos = n;
				return false;
			}
			load_block(it, i);
			bits = (it->alnum | it->high) >> (i & 63);
			if (bits)
				break;
			i = it->blk + 64;
		}
		i += (size_t)__builtin_ctzll(bits);
		if (it->s[i] >= 0x80) {
			if (slow_word(it, i))
				return true;
			i = it->pos;
			continue;
		}
		/* an ASCII run: its end is the next byte that is not a letter or digit */
		for (e = i;;) {
			load_block(it, e);
			bits = ~it->alnum >> (e & 63);
			if (bits) {
				e += (size_t)__builtin_ctzll(bits);
				break;
			}
			e = it->blk + 64;
			if (e >= n) {
				e = n;
				break;
			}
		}
		if (e < n && it->s[e] >= 0x80)
			return slow_word(it, i);	/* it goes on beyond ASCII */
		break;
	}
	/* fold (letters and digits fold by setting bit 5) and hash together */
	l = e - i;
	it->off = i;
	it->end = it->pos = e;
	it->too_long = l > TM_LEX_WORD_MAX;
	it->unspaced = false;
	it->flen = TM_MIN(l, TM_LEX_WORD_MAX);
	h = 0x9e3779b97f4a7c15ULL ^ it->flen;
	if (it->flen <= 16) {
		/* most words: two 8-byte steps without branches, the second kept if needed */
		size_t r1 = it->flen > 8 ? it->flen - 8 : 0;
		uint64_t m0 = ~0ULL >> (64 - 8 * TM_MIN(it->flen, 8));
		uint64_t m1 = -(uint64_t)(r1 > 0) & (~0ULL >> (64 - 8 * (r1 ? r1 : 1)));
		uint64_t w0 = le64(load8(it, i) | 0x2020202020202020ULL) & m0;
		uint64_t w1 = le64(load8(it, i + 8) | 0x2020202020202020ULL) & m1;
		uint64_t h1 = hash_step(h, w0), h2 = hash_step(h1, w1), o0 = le64(w0), o1 = le64(w1);

		memcpy(it->fold, &o0, 8);
		memcpy(it->fold + 8, &o1, 8);
		it->key = hash_end(r1 ? h2 : h1);
		return true;
	}
	for (k = 0; k < it->flen; k += 8) {
		uint64_t w = le64(load8(it, i + k) | 0x2020202020202020ULL), out;

		if (it->flen - k < 8)
			w &= (1ULL << (8 * (it->flen - k))) - 1;
		out = le64(w);
		memcpy(it->fold + k, &out, 8);
		h = hash_step(h, w);
	}
	it->key = it->too_long ? 0 : hash_end(h);
	return true;
}

struct words {
	struct tm_lex_word *v;
	size_t n, cap;
};

static void free_words(void *data)
{
	struct words *w = data;

	if (w)
		free(w->v);
	free(w);
}

const struct tm_lex_word *tm_lex_words(struct tm_ftext *t, size_t *n)
{
	static const char owner = 0;
	struct tm_ftext_slot *slot = tm_ftext_slot(t, &owner);
	struct words *w = slot->data;
	struct tm_lex_iter it;

	if (!w) {
		slot->data = w = tm_xcalloc(1, sizeof(*w));
		slot->free_fn = free_words;
	}
	if (!slot->valid) {
		w->n = 0;
		tm_lex_iter_init(&it, t->text, t->len, true);
		while (tm_lex_next(&it)) {
			struct tm_lex_word *x;

			if (w->n == w->cap) {
				w->cap = w->cap ? 2 * w->cap : 1024;
				w->v = tm_xrealloc(w->v, w->cap * sizeof(*w->v));
			}
			x = &w->v[w->n++];
			x->key = it.key;
			x->off = (uint32_t)it.off;
			x->len = (uint32_t)TM_MIN(it.end - it.off, 0x7fffffffu);
			x->unspaced = it.unspaced;
		}
		slot->valid = true;
	}
	*n = w->n;
	return w->v;
}

uint64_t tm_lex_hash(const char *s, size_t len)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ len, w;
	size_t i;

	for (i = 0; i < len; i += 8) {
		w = 0;
		memcpy(&w, s + i, TM_MIN(8, len - i));
		h = hash_step(h, le64(w));
	}
	return hash_end(h);
}

/* ---------------------------------------------------------------- map */

/*
 * A slot is 0 (empty) or fp << 24 | value, fp being the key's top 40
 * bits (never 0); the bucket is chosen by fp too, so the table can grow
 * from the slots alone.
 */
static void set_filter(struct tm_lex_map *m, size_t cap)
{
	size_t bits = 4 * cap, i;

	free(m->filter);
	m->filter = tm_xcalloc(bits / 64, sizeof(*m->filter));
	for (m->fshift = 64; (size_t)1 << (64 - m->fshift) < bits; m->fshift--)
		;
	for (i = 0; i < cap; i++) {
		if (m->slot[i]) {
			uint64_t b = tm_lex_fbit(m, m->slot[i] >> 24);

			m->filter[b >> 6] |= 1ULL << (b & 63);
		}
	}
}

struct tm_lex_map *tm_lex_map_new(size_t expected, bool filter)
{
	struct tm_lex_map *m = tm_xcalloc(1, sizeof(*m));
	size_t cap = 16;

	while (cap < 2 * expected + 16)
		cap *= 2;
	m->slot = tm_xcalloc(cap, sizeof(*m->slot));
	m->mask = cap - 1;
	if (filter)
		set_filter(m, cap);
	return m;
}

void tm_lex_map_free(struct tm_lex_map *m)
{
	if (!m)
		return;
	free(m->slot);
	free(m->filter);
	free(m);
}

size_t tm_lex_map_count(const struct tm_lex_map *m)
{
	return m->count;
}

static void grow(struct tm_lex_map *m)
{
	size_t cap = 2 * (m->mask + 1), i;
	uint64_t *old = m->slot;

	m->slot = tm_xcalloc(cap, sizeof(*m->slot));
	for (i = 0; i <= m->mask; i++) {
		size_t j;

		if (!old[i])
			continue;
		j = tm_lex_bucket(old[i] >> 24) & (cap - 1);
		while (m->slot[j])
			j = (j + 1) & (cap - 1);
		m->slot[j] = old[i];
	}
	m->mask = cap - 1;
	free(old);
	if (m->filter)
		set_filter(m, cap);
}

uint32_t tm_lex_map_put(struct tm_lex_map *m, uint64_t key, uint32_t value, uint32_t none)
{
	uint64_t fp = tm_lex_fp(key);
	size_t i;

	if (value > TM_LEX_VALUE_MAX)
		BUG("lexicon value %u over %u", value, TM_LEX_VALUE_MAX);
	if (2 * (m->count + 1) > m->mask + 1)
		grow(m);
	for (i = tm_lex_bucket(fp) & m->mask; m->slot[i]; i = (i + 1) & m->mask) {
		if (m->slot[i] >> 24 == fp) {
			uint32_t old = (uint32_t)(m->slot[i] & TM_LEX_VALUE_MAX);

			m->slot[i] = fp << 24 | value;
			return old;
		}
	}
	m->slot[i] = fp << 24 | value;
	m->count++;
	if (m->filter) {
		uint64_t b = tm_lex_fbit(m, fp);

		m->filter[b >> 6] |= 1ULL << (b & 63);
	}
	return none;
}

/* ---------------------------------------------------------------- phrases */

static void add_flags(struct tm_lex_map *m, uint64_t key, uint32_t flags)
{
	uint32_t v = 0;

	tm_lex_map_get(m, key, &v);
	tm_lex_map_put(m, key, v | flags, 0);
}

int tm_lex_add_phrase(struct tm_lex_map *m, const char *entry, size_t len,
		      uint32_t extra, bool joined)
{
	struct tm_lex_iter it;
	uint64_t keys[TM_LEX_PHRASE_MAX], k = 0;
	char cat[TM_LEX_WORD_MAX];
	size_t clen = 0;
	int n = 0, j;
	bool cat_ok = true;

	tm_lex_iter_init(&it, entry, len, false);
	while (tm_lex_next(&it)) {
		if (it.too_long || n == TM_LEX_PHRASE_MAX)
			return 0;
		keys[n++] = tm_lex_key(&it);
		if (clen + it.flen <= sizeof(cat)) {
			memcpy(cat + clen, it.fold, it.flen);
			clen += it.flen;
		} else {
			cat_ok = false;
		}
	}
	for (j = 0; j < n; j++) {
		k = j ? tm_lex_extend(k, keys[j]) : keys[0];
		add_flags(m, k, j + 1 < n ? TM_LEX_PREFIX : TM_LEX_WHOLE | extra);
	}
	if (joined && n > 1 && cat_ok)
		add_flags(m, tm_lex_hash(cat, clen), TM_LEX_WHOLE | extra);
	return n;
}

/* tm_lex_match_word() when the word is in the map or a phrase is open. */
int tm_lex_match_more(const struct tm_lex_map *m, struct tm_lex_match *st, uint64_t key,
		      uint32_t *values)
{
	uint64_t next[TM_LEX_PHRASE_MAX];
	int n = 0, found = 0, i;
	uint32_t v;

	if (!key) {
		st->nactive = 0;
		return 0;
	}
	for (i = 0; i < st->nactive; i++) {
		uint64_t k = tm_lex_extend(st->active[i], key);

		if (!tm_lex_map_get(m, k, &v))
			continue;
		if (v & TM_LEX_WHOLE) {
			found++;
			if (values)
				*values |= v;
		}
		if ((v & TM_LEX_PREFIX) && n < TM_LEX_PHRASE_MAX)
			next[n++] = k;
	}
	if (tm_lex_map_get(m, key, &v)) {
		if (v & TM_LEX_WHOLE) {
			found++;
			if (values)
				*values |= v;
		}
		if ((v & TM_LEX_PREFIX) && n < TM_LEX_PHRASE_MAX)
			next[n++] = key;
	}
	memcpy(st->active, next, (size_t)n * sizeof(*next));
	st->nactive = n;
	return found;
}

/* ---------------------------------------------------------------- languages */

long tm_lex_lang_pick(const char *lang, const char *code0, size_t n, size_t stride)
{
	static const char *const alias[][2] = { { "nb", "no" }, { "nn", "no" }, { "tl", "fil" } };
	char base[16];
	size_t i, l = strcspn(lang, "-_");

	for (i = 0; i < n; i++)
		if (!strcmp(code0 + i * stride, lang))
			return (long)i;
	if (!l || l >= sizeof(base))
		return -1;
	memcpy(base, lang, l);
	base[l] = '\0';
	for (i = 0; i < TM_ARRAY_SIZE(alias); i++)
		if (!strcmp(base, alias[i][0]))
			snprintf(base, sizeof(base), "%s", alias[i][1]);
	for (i = 0; i < n; i++)
		if (!strcmp(code0 + i * stride, base))
			return (long)i;
	return -1;
}

/* ---------------------------------------------------------------- files */

int tm_lex_read_list(const char *path, int (*fn)(void *arg, char *line, size_t len),
		     void *arg, struct tm_err *err)
{
	struct tm_reader *r;
	struct tm_buf line = TM_BUF_INIT;
	long lineno = 0;
	int rc, frc = 0;

	if ((rc = tm_reader_open(path, &r, err)) < 0)
		return rc;
	while ((rc = tm_reader_getline(r, &line, 65536, true, err)) == 1) {
		char *p = line.buf, *e = line.buf + line.len;

		if (++lineno == 1 && line.len >= 3 && !memcmp(p, "\xef\xbb\xbf", 3))
			p += 3;
		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if (p == e || *p == '#')
			continue;
		*e = '\0';
		if ((frc = fn(arg, p, (size_t)(e - p))))
			break;
	}
	if (rc == TM_ETOOBIG)
		rc = tm_err_set(err, TM_EFORMAT, path, TM_ERR_NO_OFFSET, lineno + 1,
				"a line of over 64 KiB: not a word list");
	tm_reader_free(r);
	tm_buf_release(&line);
	return frc ? frc : rc < 0 ? rc : 0;
}

int tm_lex_each_name(const char *list, int (*fn)(void *arg, const char *name), void *arg)
{
	struct tm_buf name = TM_BUF_INIT;
	const char *p = list;
	int rc = 0;

	while (*p && !rc) {
		size_t l = strcspn(p, ",");
		const char *a = p, *e = p + l;

		while (a < e && (*a == ' ' || *a == '\t'))
			a++;
		while (e > a && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if (e > a) {
			tm_buf_reset(&name);
			tm_buf_add(&name, a, (size_t)(e - a));
			rc = fn(arg, name.buf);
		}
		p += l + (p[l] == ',');
	}
	tm_buf_release(&name);
	return rc;
}

struct read_lists {
	const char *data_dir, *ext;
	int (*fn)(void *arg, char *line, size_t len);
	void *arg;
	struct tm_err *err;
	struct tm_buf path;
};

static int read_one(void *arg, const char *name)
{
	struct read_lists *r = arg;
	struct tm_buf file = TM_BUF_INIT;
	int rc;

	tm_buf_addf(&file, "%s%s", name, r->ext ? r->ext : "");
	tm_filter_data_path(r->data_dir, file.buf, &r->path);
	rc = tm_lex_read_list(r->path.buf, r->fn, r->arg, r->err);
	tm_buf_release(&file);
	return rc;
}

int tm_lex_read_lists(const char *names, const char *data_dir, const char *ext,
		      int (*fn)(void *arg, char *line, size_t len), void *arg,
		      struct tm_err *err)
{
	struct read_lists r = { data_dir, ext, fn, arg, err, TM_BUF_INIT };
	int rc = tm_lex_each_name(names, read_one, &r);

	tm_buf_release(&r.path);
	return rc;
}
