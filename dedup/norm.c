/*
 * norm.c: text and URL normalisation for de-duplication (norm.h).
 */
#include "tamis.h"
#include "norm.h"
#include "url.h"

#include <ctype.h>
#include <unicode/ubrk.h>
#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>

struct tm_norm {
	const UNormalizer2 *nfkc_cf;
	UBreakIterator *words;
	UChar *u16, *nrm;	/* one segment as UTF-16; normalised and filtered */
	int32_t cap16, capn;
	struct tm_buf out;	/* the normal form, UTF-8 */
	bool unspaced;		/* it holds a script written without spaces */
	struct tm_buf word;
	size_t *off, noff, capoff;	/* word starts (tm_norm_word_list) */
	/* ASCII: 0 dropped (punctuation), 1 kept, 2 separator; letters folded */
	unsigned char ascii_class[128], ascii_fold[128];
};

struct tm_norm *tm_norm_new(void)
{
	struct tm_norm *n = tm_xcalloc(1, sizeof(*n));
	UErrorCode e = U_ZERO_ERROR;
	int c;

	n->nfkc_cf = unorm2_getNFKCCasefoldInstance(&e);
	if (U_FAILURE(e))
		BUG("ICU NFKC_Casefold: %s", u_errorName(e));
	n->words = ubrk_open(UBRK_WORD, "", NULL, 0, &e);
	if (U_FAILURE(e))
		BUG("ICU word break iterator: %s", u_errorName(e));
	/* the ASCII fast path decides as ICU does: the table comes from ICU */
	for (c = 0; c < 128; c++) {
		n->ascii_class[c] = (U_GET_GC_MASK(c) & U_GC_P_MASK) ? 0 :
				    (u_isUWhiteSpace(c) || u_iscntrl(c)) ? 2 : 1;
		n->ascii_fold[c] = (unsigned char)u_foldCase(c, U_FOLD_CASE_DEFAULT);
	}
	tm_buf_init(&n->out, 0);
	tm_buf_init(&n->word, 64);
	return n;
}

void tm_norm_free(struct tm_norm *n)
{
	if (!n)
		return;
	ubrk_close(n->words);
	free(n->u16);
	free(n->nrm);
	tm_buf_release(&n->out);
	tm_buf_release(&n->word);
	free(n->off);
	free(n);
}

static void grow16(UChar **p, int32_t *cap, int32_t need)
{
	if (need <= *cap)
		return;
	*cap = need + need / 2 + 16;
	*p = tm_xrealloc(*p, (size_t)*cap * sizeof(**p));
}

/*
 * NFKC_Casefold of n->u16[0..l16) into n->nrm, then punctuation out and
 * white space and controls collapsed, in place; returns the length.
 */
static int32_t fold_and_filter(struct tm_norm *n, int32_t l16)
{
	UErrorCode e;
	int32_t ln, i, o = 0;

	for (;;) {
		e = U_ZERO_ERROR;
		grow16(&n->nrm, &n->capn, l16 + 16);
		ln = unorm2_normalize(n->nfkc_cf, n->u16, l16, n->nrm, n->capn, &e);
		if (e != U_BUFFER_OVERFLOW_ERROR)
			break;
		grow16(&n->nrm, &n->capn, ln + 16);
	}
	if (U_FAILURE(e))
		BUG("unorm2_normalize: %s", u_errorName(e));
	for (i = 0; i < ln;) {
		UChar32 c;
		int32_t start = i;

		U16_NEXT(n->nrm, i, ln, c);
		if (U_GET_GC_MASK(c) & U_GC_P_MASK)
			continue;
		if (u_isUWhiteSpace(c) || u_iscntrl(c)) {
			if (o && n->nrm[o - 1] != ' ')
				n->nrm[o++] = ' ';
			continue;
		}
		while (start < i)
			n->nrm[o++] = n->nrm[start++];
	}
	if (o && n->nrm[o - 1] == ' ')
		o--;
	return o;
}

/* True for code points of scripts written without spaces between words. */
static bool unspaced(UChar c)
{
	return (c >= 0x0e00 && c <= 0x0eff) ||	/* Thai, Lao */
	       (c >= 0x1000 && c <= 0x109f) ||	/* Myanmar */
	       (c >= 0x1780 && c <= 0x17ff) ||	/* Khmer */
	       (c >= 0x3040 && c <= 0x30ff) ||	/* kana */
	       (c >= 0x3400 && c <= 0x9fff) ||	/* Han */
	       (c >= 0xf900 && c <= 0xfaff) ||	/* Han compatibility */
	       (c >= 0xd840 && c <= 0xd87f);	/* lead surrogates of planes 2-3: Han */
}

static void add_utf8(struct tm_buf *out, const UChar *s, int32_t len)
{
	UErrorCode e = U_ZERO_ERROR;
	int32_t need = 0;

	u_strToUTF8(NULL, 0, &need, s, len, &e);
	tm_buf_grow(out, (size_t)need + 1);
	e = U_ZERO_ERROR;
	u_strToUTF8(out->buf + out->len, (int32_t)(out->alloc - out->len), &need, s, len, &e);
	if (U_FAILURE(e) && e != U_STRING_NOT_TERMINATED_WARNING)
		BUG("u_strToUTF8: %s", u_errorName(e));
	tm_buf_setlen(out, out->len + (size_t)need);
}

/* A segment with non-ASCII bytes, through ICU, appended to n->out. */
static void segment_icu(struct tm_norm *n, const char *s, size_t len)
{
	UErrorCode e = U_ZERO_ERROR;
	int32_t l16 = 0, o, round, i;
	int32_t in = len > INT32_MAX / 4 ? INT32_MAX / 4 : (int32_t)len;

	grow16(&n->u16, &n->cap16, in + 1);
	u_strFromUTF8WithSub(n->u16, n->cap16, &l16, s, in, 0xfffd, NULL, &e);
	if (U_FAILURE(e))
		BUG("u_strFromUTF8WithSub: %s", u_errorName(e));
	o = fold_and_filter(n, l16);
	/* removing a character can bring a mark next to a letter it now
	 * composes with: repeat until the form is its own normal form */
	for (round = 0; round < 8; round++) {
		UBool done;

		e = U_ZERO_ERROR;
		done = unorm2_isNormalized(n->nfkc_cf, n->nrm, o, &e);
		if (U_FAILURE(e) || done)
			break;
		grow16(&n->u16, &n->cap16, o + 1);
		memcpy(n->u16, n->nrm, (size_t)o * sizeof(*n->u16));
		o = fold_and_filter(n, o);
	}
	if (!o)
		return;
	for (i = 0; i < o && !n->unspaced; i++)
		n->unspaced = unspaced(n->nrm[i]);
	if (n->out.len && n->out.buf[n->out.len - 1] != ' ')
		tm_buf_addch(&n->out, ' ');
	add_utf8(&n->out, n->nrm, o);
}

/*
 * n->out = the normal form of text[0..len).  The text is cut at ASCII
 * white space and controls, which compose with nothing, so each segment
 * normalises alone: pure-ASCII segments by table (folded as ICU folds,
 * punctuation dropped as ICU classes it), the others through ICU.  Most
 * web text is ASCII words between spaces: ICU then sees a few words.
 */
static void normalise(struct tm_norm *n, const char *text, size_t len)
{
	const unsigned char *p = (const unsigned char *)text, *end = p + len;

	tm_buf_reset(&n->out);
	n->unspaced = false;
	while (p < end) {
		const unsigned char *seg;
		bool ascii = true;

		while (p < end && *p < 0x80 && n->ascii_class[*p] == 2)
			p++;
		seg = p;
		while (p < end && !(*p < 0x80 && n->ascii_class[*p] == 2)) {
			ascii = ascii && *p < 0x80;
			p++;
		}
		if (seg == p)
			break;
		if (!ascii) {
			segment_icu(n, (const char *)seg, (size_t)(p - seg));
			continue;
		}
		{
			size_t start = n->out.len, sep = start && n->out.buf[start - 1] != ' ';
			const unsigned char *q;

			tm_buf_grow(&n->out, (size_t)(p - seg) + 1);
			if (sep)
				n->out.buf[n->out.len++] = ' ';
			for (q = seg; q < p; q++)
				if (n->ascii_class[*q])
					n->out.buf[n->out.len++] = (char)n->ascii_fold[*q];
			if (n->out.len == start + sep)
				n->out.len = start;	/* punctuation only */
			n->out.buf[n->out.len] = 0;
		}
	}
	if (n->out.len && n->out.buf[n->out.len - 1] == ' ')
		tm_buf_setlen(&n->out, n->out.len - 1);
}

void tm_norm_text(struct tm_norm *n, const char *text, size_t len, struct tm_buf *out)
{
	normalise(n, text, len);
	tm_buf_add(out, n->out.buf, n->out.len);
}

static void add_off(struct tm_norm *n, size_t off)
{
	if (n->noff == n->capoff) {
		n->capoff = n->capoff ? 2 * n->capoff : 1024;
		n->off = tm_xrealloc(n->off, n->capoff * sizeof(*n->off));
	}
	n->off[n->noff++] = off;
}

/* True when the UTF-8 token holds a code point of an unspaced script. */
static bool token_unspaced(const char *t, size_t len)
{
	int32_t i = 0, l = (int32_t)TM_MIN(len, INT32_MAX);

	while (i < l) {
		UChar32 c;

		U8_NEXT((const uint8_t *)t, i, l, c);
		if (c >= 0x80 && (c > 0xffff ? (c >= 0x20000 && c < 0x40000) :
				  unspaced((UChar)c)))
			return true;
	}
	return false;
}

size_t tm_norm_word_list(struct tm_norm *n, const char *text, size_t len,
			 const char **words, const size_t **offsets)
{
	const char *q, *end, *sp;

	normalise(n, text, len);
	n->noff = 0;
	tm_buf_reset(&n->word);
	if (!n->out.len) {
		*words = n->out.buf;
		*offsets = n->off;
		return 0;
	}
	tm_buf_addch(&n->out, ' ');	/* every word ends in a space */
	if (!n->unspaced) {
		/* spaced scripts only: the words are the space-separated runs
		 * of the normal form, as ICU would find them */
		q = n->out.buf;
		end = q + n->out.len;
		while (q < end) {
			sp = memchr(q, ' ', (size_t)(end - q));
			add_off(n, (size_t)(q - n->out.buf));
			q = sp + 1;
		}
		*words = n->out.buf;
		*offsets = n->off;
		return n->noff;
	}
	/* a token of an unspaced script goes through ICU's word boundaries
	 * (dictionaries for zh, ja, th, ...); the others are words as they are */
	q = n->out.buf;
	end = q + n->out.len;
	while (q < end) {
		sp = memchr(q, ' ', (size_t)(end - q));
		if (!token_unspaced(q, (size_t)(sp - q))) {
			add_off(n, n->word.len);
			tm_buf_add(&n->word, q, (size_t)(sp - q) + 1);
		} else {
			UErrorCode e = U_ZERO_ERROR;
			int32_t a, b, l16 = 0;

			grow16(&n->u16, &n->cap16, (int32_t)(sp - q) + 1);
			u_strFromUTF8WithSub(n->u16, n->cap16, &l16, q, (int32_t)(sp - q),
					     0xfffd, NULL, &e);
			ubrk_setText(n->words, n->u16, l16, &e);
			if (U_FAILURE(e))
				BUG("ICU word breaks: %s", u_errorName(e));
			for (a = ubrk_first(n->words); (b = ubrk_next(n->words)) != UBRK_DONE;
			     a = b) {
				if (ubrk_getRuleStatus(n->words) == UBRK_WORD_NONE)
					continue;
				add_off(n, n->word.len);
				add_utf8(&n->word, n->u16 + a, b - a);
				tm_buf_addch(&n->word, ' ');
			}
		}
		q = sp + 1;
	}
	*words = n->word.buf;
	*offsets = n->off;
	return n->noff;
}

size_t tm_norm_words(struct tm_norm *n, const char *text, size_t len,
		     void (*fn)(void *arg, const char *word, size_t wlen), void *arg)
{
	const char *w;
	const size_t *off;
	size_t nw = tm_norm_word_list(n, text, len, &w, &off), i;

	for (i = 0; i < nw; i++) {
		size_t e = i + 1 < nw ? off[i + 1] : strlen(w + off[i]) + off[i];

		fn(arg, w + off[i], e - off[i] - 1);
	}
	return nw;
}

/* ---------------------------------------------------------------- URLs */

static bool unreserved(int c)
{
	return isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Appends s[0..len) with escapes made canonical. */
static void add_escaped(struct tm_buf *out, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		int hi, lo;

		if (s[i] == '%' && i + 2 < len && (hi = hexval((unsigned char)s[i + 1])) >= 0 &&
		    (lo = hexval((unsigned char)s[i + 2])) >= 0) {
			int c = hi * 16 + lo;

			if (unreserved(c))
				tm_buf_addch(out, c);
			else
				tm_buf_addf(out, "%%%02X", c);
			i += 2;
			continue;
		}
		if (s[i] == '%') {
			/* a '%' that starts no escape is one itself: "%25" */
			tm_buf_addstr(out, "%25");
			continue;
		}
		tm_buf_addch(out, s[i]);
	}
}

static bool tracking_param(const char *p, size_t len)
{
	static const char *const names[] = { "fbclid", "gclid", "dclid", "msclkid", "mc_cid",
					     "mc_eid", "_ga", "yclid" };
	const char *eq = memchr(p, '=', len);
	size_t kl = eq ? (size_t)(eq - p) : len, i;

	if (kl > 4 && !strncasecmp(p, "utm_", 4))
		return true;
	for (i = 0; i < TM_ARRAY_SIZE(names); i++)
		if (kl == strlen(names[i]) && !strncasecmp(p, names[i], kl))
			return true;
	return false;
}

int tm_url_norm(const char *url, struct tm_buf *out)
{
	struct tm_url u;
	const char *p, *path, *query, *frag;
	size_t slen, i;
	bool http;

	if (tm_url_parse(url, &u) < 0)
		return -1;
	slen = u.scheme_len;
	http = (slen == 4 && !strncasecmp(url, "http", 4)) ||
	       (slen == 5 && !strncasecmp(url, "https", 5));
	if (!http && !(slen == 3 && !strncasecmp(url, "ftp", 3)))
		return -1;
	if (!http) {
		for (i = 0; i < slen; i++)
			tm_buf_addch(out, tolower((unsigned char)url[i]));
		tm_buf_addstr(out, "://");
	}
	for (p = u.host; p < u.host + u.host_len; p++)
		tm_buf_addch(out, tolower((unsigned char)*p));
	if (u.port) {
		size_t pl = u.port_len;
		const char *port = u.port;
		bool dflt = (pl == 2 && !memcmp(port, "80", 2) && slen == 4) ||
			    (pl == 3 && !memcmp(port, "443", 3) && slen == 5) ||
			    (pl == 2 && !memcmp(port, "21", 2) && slen == 3) || pl == 0;

		if (!dflt) {
			tm_buf_addch(out, ':');
			tm_buf_add(out, port, pl);
		}
	}
	path = u.rest;
	frag = path + strcspn(path, "#");
	query = memchr(path, '?', (size_t)(frag - path));
	if (*path != '/')
		tm_buf_addch(out, '/');
	add_escaped(out, path, (size_t)((query ? query : frag) - path));
	if (query) {
		const char *q = query + 1;
		bool first = true;

		while (q < frag) {
			const char *amp = memchr(q, '&', (size_t)(frag - q));
			const char *e = amp ? amp : frag;

			if (e > q && !tracking_param(q, (size_t)(e - q))) {
				tm_buf_addch(out, first ? '?' : '&');
				add_escaped(out, q, (size_t)(e - q));
				first = false;
			}
			q = amp ? amp + 1 : frag;
		}
	}
	return 0;
}
