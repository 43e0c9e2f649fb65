/*
 * text.c: lines, paragraphs and words of a document (see text.h).
 */
#include <unicode/ubrk.h>
#include <unicode/uchar.h>
#include <unicode/ustring.h>
#include <unicode/utf8.h>

#include "tamis.h"
#include "text.h"

struct spans {
	struct tm_span *v;
	size_t n, cap;
};

struct tm_ftext_priv {
	bool have_lines, have_paras, have_words, have_line_words;
	struct spans lines, paras, words;
	uint8_t *wclass;	/* per word, the OR of its bytes' TM_WC_* classes */
	size_t wclass_cap;
	uint32_t *line_words;
	size_t line_words_cap;
	UBreakIterator *brk;
	UChar *u16;
	int32_t cap16;
	int32_t *map;		/* UTF-16 index -> byte offset in the token */
	UChar *f16;		/* case-folded UTF-16 */
	int32_t capfold;
	struct tm_buf fold;
	const void *owner[TM_FTEXT_SLOTS];
	struct tm_ftext_slot slot[TM_FTEXT_SLOTS];
	int nslot;
};

static void push(struct spans *s, size_t off, size_t len)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 256;
		s->v = tm_xrealloc(s->v, s->cap * sizeof(*s->v));
	}
	s->v[s->n].off = (uint32_t)off;
	s->v[s->n].len = (uint32_t)len;
	s->n++;
}

struct tm_ftext *tm_ftext_new(void)
{
	struct tm_ftext *t = tm_xcalloc(1, sizeof(*t));

	t->priv = tm_xcalloc(1, sizeof(*t->priv));
	tm_buf_init(&t->priv->fold, 0);
	t->text = "";
	t->lang = "";
	t->url = "";
	return t;
}

void tm_ftext_free(struct tm_ftext *t)
{
	int i;

	if (!t)
		return;
	free(t->priv->lines.v);
	free(t->priv->paras.v);
	free(t->priv->words.v);
	free(t->priv->wclass);
	free(t->priv->line_words);
	if (t->priv->brk)
		ubrk_close(t->priv->brk);
	free(t->priv->u16);
	free(t->priv->map);
	free(t->priv->f16);
	tm_buf_release(&t->priv->fold);
	for (i = 0; i < t->priv->nslot; i++)
		if (t->priv->slot[i].free_fn)
			t->priv->slot[i].free_fn(t->priv->slot[i].data);
	free(t->priv);
	free(t);
}

void tm_ftext_set(struct tm_ftext *t, const char *text, size_t len,
		  const char *lang, const char *url)
{
	struct tm_ftext_priv *p = t->priv;
	int i;

	if (len > UINT32_MAX)
		BUG("a text of %zu bytes: over 4 GiB", len);
	t->text = text;
	t->len = len;
	t->lang = lang ? lang : "";
	t->url = url ? url : "";
	p->have_lines = p->have_paras = p->have_words = p->have_line_words = false;
	p->lines.n = p->paras.n = p->words.n = 0;
	for (i = 0; i < p->nslot; i++)
		p->slot[i].valid = false;
}

struct tm_ftext_slot *tm_ftext_slot(struct tm_ftext *t, const void *owner)
{
	struct tm_ftext_priv *p = t->priv;
	int i;

	for (i = 0; i < p->nslot; i++)
		if (p->owner[i] == owner)
			return &p->slot[i];
	if (p->nslot == TM_FTEXT_SLOTS)
		BUG("more than %d owners of tm_ftext slots", TM_FTEXT_SLOTS);
	p->owner[p->nslot] = owner;
	return &p->slot[p->nslot++];
}

/* tm_space_cp() for ASCII, inline: the line loops call it per byte. */
static inline bool ascii_space(unsigned char c)
{
	return c == ' ' || (c >= 0x09 && c <= 0x0d);
}

bool tm_space_cp(uint32_t c)
{
	if (c < 0x80)
		return c == ' ' || (c >= 0x09 && c <= 0x0d);
	return c == 0x85 || c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200a) ||
	       c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}

bool tm_unspaced_cp(uint32_t c)
{
	return (c >= 0x0e00 && c <= 0x0eff) ||	/* Thai, Lao */
	       (c >= 0x1000 && c <= 0x109f) ||	/* Myanmar */
	       (c >= 0x1780 && c <= 0x17ff) ||	/* Khmer */
	       (c >= 0x3040 && c <= 0x30ff) ||	/* kana */
	       (c >= 0x3400 && c <= 0x9fff) ||	/* Han */
	       (c >= 0xf900 && c <= 0xfaff) ||	/* Han compatibility */
	       (c >= 0x20000 && c < 0x40000);	/* Han, planes 2-3 */
}

/* ---------------------------------------------------------------- lines */

static bool blank(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		UChar32 c;
		int32_t j = 0, l = (int32_t)TM_MIN(len - i, 4);

		if ((unsigned char)s[i] < 0x80) {
			if (!ascii_space((unsigned char)s[i]))
				return false;
			i++;
			continue;
		}
		U8_NEXT((const uint8_t *)s + i, j, l, c);
		if (c < 0 || !tm_space_cp((uint32_t)c))
			return false;
		i += (size_t)j;
	}
	return true;
}

const struct tm_span *tm_ftext_lines(struct tm_ftext *t, size_t *n)
{
	struct tm_ftext_priv *p = t->priv;

	if (!p->have_lines) {
		size_t a = 0;

		while (a < t->len) {
			const char *nl = memchr(t->text + a, '\n', t->len - a);
			size_t b = nl ? (size_t)(nl - t->text) : t->len, e = b;

			if (e > a && t->text[e - 1] == '\r')
				e--;
			push(&p->lines, a, e - a);
			a = b + 1;
		}
		p->have_lines = true;
	}
	*n = p->lines.n;
	return p->lines.v;
}

const struct tm_span *tm_ftext_paras(struct tm_ftext *t, size_t *n)
{
	struct tm_ftext_priv *p = t->priv;

	if (!p->have_paras) {
		size_t nl, i, start = 0;
		const struct tm_span *l = tm_ftext_lines(t, &nl);
		bool open = false;

		for (i = 0; i <= nl; i++) {
			bool b = i == nl || blank(t->text + l[i].off, l[i].len);

			if (!b && !open) {
				start = i;
				open = true;
			} else if (b && open) {
				push(&p->paras, l[start].off,
				     l[i - 1].off + l[i - 1].len - l[start].off);
				open = false;
			}
		}
		p->have_paras = true;
	}
	*n = p->paras.n;
	return p->paras.v;
}

/* ---------------------------------------------------------------- words */

/* TM_WC_* of each byte (text.h): Python's string.punctuation is TM_WC_PUNCT. */
const uint8_t tm_wc_table[256] = {
	[0x00 ... 0x1f] = TM_WC_OTHER, [' '] = TM_WC_OTHER,
	['!' ... '/'] = TM_WC_PUNCT, ['0' ... '9'] = TM_WC_OTHER, [':' ... '@'] = TM_WC_PUNCT,
	['A' ... 'Z'] = TM_WC_ALPHA, ['[' ... '`'] = TM_WC_PUNCT, ['a' ... 'z'] = TM_WC_ALPHA,
	['{' ... '~'] = TM_WC_PUNCT, [0x7f] = TM_WC_OTHER, [0x80 ... 0xff] = TM_WC_HIGH,
};

static void push_word(struct tm_ftext_priv *p, size_t off, size_t len, uint8_t cls)
{
	if (p->words.n == p->wclass_cap) {
		p->wclass_cap = p->wclass_cap ? 2 * p->wclass_cap : 256;
		p->wclass = tm_xrealloc(p->wclass, p->wclass_cap);
	}
	p->wclass[p->words.n] = cls;
	push(&p->words, off, len);
}

static uint8_t span_class(const unsigned char *s, size_t len)
{
	uint8_t m = 0;
	size_t i;

	for (i = 0; i < len; i++)
		m |= tm_wc_table[s[i]];
	return m;
}

/* Cuts the token s[0..len) (at byte `base`), which holds unspaced text, with ICU. */
static void split_icu(struct tm_ftext *t, size_t base, const char *s, size_t len)
{
	struct tm_ftext_priv *p = t->priv;
	UErrorCode e = U_ZERO_ERROR;
	int32_t i = 0, l = (int32_t)len, k = 0, a, b;

	if (p->cap16 < l + 1) {
		p->cap16 = l + 1;
		p->u16 = tm_xrealloc(p->u16, (size_t)p->cap16 * sizeof(*p->u16));
		p->map = tm_xrealloc(p->map, (size_t)p->cap16 * sizeof(*p->map));
	}
	/* UTF-16 with a map back to bytes (invalid bytes: U+FFFD each) */
	while (i < l) {
		int32_t at = i;
		UChar32 c;

		U8_NEXT((const uint8_t *)s, i, l, c);
		if (c < 0)
			c = 0xfffd;
		if (c > 0xffff) {
			p->map[k] = at;
			p->u16[k++] = U16_LEAD(c);
			p->map[k] = at;
			p->u16[k++] = U16_TRAIL(c);
		} else {
			p->map[k] = at;
			p->u16[k++] = (UChar)c;
		}
	}
	p->map[k] = l;
	if (!p->brk) {
		p->brk = ubrk_open(UBRK_WORD, "", NULL, 0, &e);
		if (U_FAILURE(e))
			BUG("ubrk_open: %s", u_errorName(e));
	}
	ubrk_setText(p->brk, p->u16, k, &e);
	if (U_FAILURE(e))
		BUG("ubrk_setText: %s", u_errorName(e));
	for (a = ubrk_first(p->brk); (b = ubrk_next(p->brk)) != UBRK_DONE; a = b) {
		int32_t j;
		bool space = true;

		for (j = a; j < b && space; j++)
			space = U16_IS_SURROGATE(p->u16[j]) ? false : tm_space_cp(p->u16[j]);
		if (!space)
			push_word(p, base + (size_t)p->map[a], (size_t)(p->map[b] - p->map[a]),
				  span_class((const unsigned char *)s + p->map[a],
					     (size_t)(p->map[b] - p->map[a])));
	}
}

/* Byte classes: 0 ASCII non-space, 1 ASCII white space, 2 not ASCII. */
static const unsigned char byte_class[256] = {
	['\t'] = 1, ['\n'] = 1, ['\v'] = 1, ['\f'] = 1, ['\r'] = 1, [' '] = 1,
	[0x80 ... 0xff] = 2,
};

const struct tm_span *tm_ftext_words(struct tm_ftext *t, size_t *n)
{
	struct tm_ftext_priv *p = t->priv;

	if (!p->have_words) {
		const unsigned char *s = (const unsigned char *)t->text;
		size_t i = 0, len = t->len;

		while (i < len) {
			size_t start;
			bool unsp = false;
			uint8_t m = 0;

			/* white space */
			while (i < len && byte_class[s[i]]) {
				int32_t j = 0, l;
				UChar32 c;

				if (byte_class[s[i]] == 1) {
					i++;
					continue;
				}
				l = (int32_t)TM_MIN(len - i, 4);
				U8_NEXT(s + i, j, l, c);
				if (c < 0 || !tm_space_cp((uint32_t)c))
					break;
				i += (size_t)j;
			}
			if (i >= len)
				break;
			start = i;
			/* the token: ASCII by table, the rest decoded */
			while (i < len) {
				int32_t j = 0, l;
				UChar32 c;

				while (i < len && !byte_class[s[i]])
					m |= tm_wc_table[s[i++]];
				if (i >= len || byte_class[s[i]] == 1)
					break;
				/* U+00C0..U+07FF (Latin, Greek, Cyrillic, Hebrew, Arabic...):
				 * neither white space nor unspaced, no need to decode */
				if (s[i] >= 0xc3 && s[i] <= 0xdf && i + 1 < len && (s[i + 1] & 0xc0) == 0x80) {
					m |= TM_WC_HIGH;
					i += 2;
					continue;
				}
				l = (int32_t)TM_MIN(len - i, 4);
				U8_NEXT(s + i, j, l, c);
				if (c >= 0 && tm_space_cp((uint32_t)c))
					break;
				unsp = unsp || (c >= 0 && tm_unspaced_cp((uint32_t)c));
				m |= TM_WC_HIGH;
				i += (size_t)j;
			}
			if (unsp)
				split_icu(t, start, t->text + start, i - start);
			else
				push_word(p, start, i - start, m);
		}
		p->have_words = true;
	}
	*n = p->words.n;
	return p->words.v;
}

const uint8_t *tm_ftext_word_class(struct tm_ftext *t)
{
	size_t n;

	tm_ftext_words(t, &n);
	return t->priv->wclass;
}

const uint32_t *tm_ftext_line_words(struct tm_ftext *t)
{
	struct tm_ftext_priv *p = t->priv;

	if (!p->have_line_words) {
		size_t nl, nw, i, w = 0;
		const struct tm_span *l = tm_ftext_lines(t, &nl);
		const struct tm_span *wd = tm_ftext_words(t, &nw);

		if (p->line_words_cap < nl + 1) {
			p->line_words_cap = nl + 1;
			p->line_words = tm_xrealloc(p->line_words, p->line_words_cap * sizeof(uint32_t));
		}
		/* words never hold '\n' (white space): each lies in one line */
		memset(p->line_words, 0, (nl + 1) * sizeof(uint32_t));
		for (i = 0; w < nw; w++) {
			while (i + 1 < nl && wd[w].off >= l[i + 1].off)
				i++;
			p->line_words[i]++;
		}
		p->have_line_words = true;
	}
	return p->line_words;
}

/* ---------------------------------------------------------------- folding */

const char *tm_ftext_fold(struct tm_ftext *t, const char *s, size_t len, size_t *out_len)
{
	struct tm_buf *b = &t->priv->fold;
	size_t i;

	tm_buf_reset(b);
	for (i = 0; i < len && (unsigned char)s[i] < 0x80; i++)
		;
	if (i == len) {
		tm_buf_grow(b, len + 1);
		for (i = 0; i < len; i++)
			b->buf[i] = (char)((s[i] >= 'A' && s[i] <= 'Z') ? s[i] + 32 : s[i]);
		tm_buf_setlen(b, len);
	} else {
		struct tm_ftext_priv *p = t->priv;
		UErrorCode e = U_ZERO_ERROR;
		int32_t l16 = 0, need, cap;
		UChar *f;

		if (len > INT32_MAX / 4)
			len = INT32_MAX / 4;
		if (p->cap16 < (int32_t)len + 1) {
			p->cap16 = (int32_t)len + 1;
			p->u16 = tm_xrealloc(p->u16, (size_t)p->cap16 * sizeof(*p->u16));
			p->map = tm_xrealloc(p->map, (size_t)p->cap16 * sizeof(*p->map));
		}
		u_strFromUTF8WithSub(p->u16, p->cap16, &l16, s, (int32_t)len, 0xfffd, NULL, &e);
		if (U_FAILURE(e))
			BUG("u_strFromUTF8WithSub: %s", u_errorName(e));
		cap = 3 * l16 + 1;
		if (p->capfold < cap) {
			p->capfold = cap;
			p->f16 = tm_xrealloc(p->f16, (size_t)cap * sizeof(*p->f16));
		}
		f = p->f16;
		need = u_strFoldCase(f, cap, p->u16, l16, U_FOLD_CASE_DEFAULT, &e);
		if (U_FAILURE(e))
			BUG("u_strFoldCase: %s", u_errorName(e));
		e = U_ZERO_ERROR;
		u_strToUTF8(NULL, 0, &l16, f, need, &e);
		tm_buf_grow(b, (size_t)l16 + 1);
		e = U_ZERO_ERROR;
		u_strToUTF8(b->buf, (int32_t)b->alloc, &l16, f, need, &e);
		if (U_FAILURE(e))
			BUG("u_strToUTF8: %s", u_errorName(e));
		tm_buf_setlen(b, (size_t)l16);
	}
	*out_len = b->len;
	return b->buf;
}
