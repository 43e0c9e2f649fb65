/*
 * norm.c: text and URL normalisation for de-duplication (norm.h).
 */
#include "tamis.h"
#include "norm.h"

#include <ctype.h>
#include <unicode/ubrk.h>
#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>

struct tm_norm {
	const UNormalizer2 *nfkc_cf;
	UBreakIterator *words;
	UChar *u16, *nrm;	/* input as UTF-16; normalised and filtered */
	int32_t cap16, capn, nlen;
	struct tm_buf word;
};

struct tm_norm *tm_norm_new(void)
{
	struct tm_norm *n = tm_xcalloc(1, sizeof(*n));
	UErrorCode e = U_ZERO_ERROR;

	n->nfkc_cf = unorm2_getNFKCCasefoldInstance(&e);
	if (U_FAILURE(e))
		BUG("ICU NFKC_Casefold: %s", u_errorName(e));
	n->words = ubrk_open(UBRK_WORD, "", NULL, 0, &e);
	if (U_FAILURE(e))
		BUG("ICU word break iterator: %s", u_errorName(e));
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
	tm_buf_release(&n->word);
	free(n);
}

static void grow16(UChar **p, int32_t *cap, int32_t need)
{
	if (need <= *cap)
		return;
	*cap = need + need / 2 + 16;
	*p = tm_xrealloc(*p, (size_t)*cap * sizeof(**p));
}

/* Fills n->nrm[0..nlen): normalised, punctuation out, spaces collapsed. */
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

/*
 * Fills n->nrm[0..nlen): normalised, punctuation out, spaces collapsed.
 * Removing a character can bring a mark next to a letter it now composes
 * with, so the two steps repeat until nothing changes (the form is then
 * its own normal form: exact dedup keys are stable).
 */
static void normalise(struct tm_norm *n, const char *text, size_t len)
{
	UErrorCode e = U_ZERO_ERROR;
	int32_t l16 = 0, o, round;
	int32_t in = len > INT32_MAX / 4 ? INT32_MAX / 4 : (int32_t)len;

	grow16(&n->u16, &n->cap16, in + 1);
	u_strFromUTF8WithSub(n->u16, n->cap16, &l16, text, in, 0xfffd, NULL, &e);
	if (U_FAILURE(e))
		BUG("u_strFromUTF8WithSub: %s", u_errorName(e));
	o = fold_and_filter(n, l16);
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
	n->nlen = o;
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

void tm_norm_text(struct tm_norm *n, const char *text, size_t len, struct tm_buf *out)
{
	normalise(n, text, len);
	add_utf8(out, n->nrm, n->nlen);
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

size_t tm_norm_words(struct tm_norm *n, const char *text, size_t len,
		     void (*fn)(void *arg, const char *word, size_t wlen), void *arg)
{
	UErrorCode e = U_ZERO_ERROR;
	int32_t a, b, i;
	size_t count = 0;

	normalise(n, text, len);
	for (i = 0; i < n->nlen && !unspaced(n->nrm[i]); i++)
		;
	if (i == n->nlen) {
		/* spaced scripts only: after normalise() the words are exactly
		 * the space-separated runs, as ICU would find them */
		const char *p, *end, *sp;

		tm_buf_reset(&n->word);
		add_utf8(&n->word, n->nrm, n->nlen);
		p = n->word.buf;
		end = p + n->word.len;
		while (p < end) {
			sp = memchr(p, ' ', (size_t)(end - p));
			if (!sp)
				sp = end;
			fn(arg, p, (size_t)(sp - p));
			count++;
			p = sp + 1;
		}
		return count;
	}
	ubrk_setText(n->words, n->nrm, n->nlen, &e);
	if (U_FAILURE(e))
		BUG("ubrk_setText: %s", u_errorName(e));
	for (a = ubrk_first(n->words); (b = ubrk_next(n->words)) != UBRK_DONE; a = b) {
		if (ubrk_getRuleStatus(n->words) == UBRK_WORD_NONE)
			continue;	/* spaces and the like */
		tm_buf_reset(&n->word);
		add_utf8(&n->word, n->nrm + a, b - a);
		fn(arg, n->word.buf, n->word.len);
		count++;
	}
	return count;
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
	const char *p = url, *colon = strchr(url, ':'), *auth, *auth_end, *host, *host_end;
	const char *port = NULL, *path, *query = NULL, *frag, *at;
	size_t slen, i;
	bool http;

	if (!colon || colon == url || strncmp(colon, "://", 3))
		return -1;
	slen = (size_t)(colon - url);
	for (i = 0; i < slen; i++)
		if (!isalpha((unsigned char)url[i]))
			return -1;
	http = (slen == 4 && !strncasecmp(url, "http", 4)) ||
	       (slen == 5 && !strncasecmp(url, "https", 5));
	if (!http && !(slen == 3 && !strncasecmp(url, "ftp", 3)))
		return -1;
	auth = colon + 3;
	auth_end = auth + strcspn(auth, "/?#");
	at = memrchr(auth, '@', (size_t)(auth_end - auth));	/* as browsers: the last */
	host = at ? at + 1 : auth;
	host_end = auth_end;
	/* the port: after the last ':' that follows any IPv6 ']' */
	for (p = host_end; p > host; p--) {
		if (p[-1] == ']')
			break;
		if (p[-1] == ':') {
			port = p;
			host_end = p - 1;
			break;
		}
	}
	while (host_end > host && host_end[-1] == '.')
		host_end--;
	if (host_end == host)
		return -1;
	/* an IPv6 literal is closed; a port is digits */
	if (*host == '[' && (host_end - host < 2 || host_end[-1] != ']' ||
			     memchr(host + 1, '[', (size_t)(host_end - host - 1))))
		return -1;
	if (*host != '[' && (memchr(host, ']', (size_t)(host_end - host)) ||
			     memchr(host, ':', (size_t)(host_end - host))))
		return -1;
	for (p = port; p && p < auth_end; p++)
		if (!isdigit((unsigned char)*p))
			return -1;
	if (!http) {
		for (i = 0; i < slen; i++)
			tm_buf_addch(out, tolower((unsigned char)url[i]));
		tm_buf_addstr(out, "://");
	}
	for (p = host; p < host_end; p++)
		tm_buf_addch(out, tolower((unsigned char)*p));
	if (port && port < auth_end) {
		size_t pl = (size_t)(auth_end - port);
		bool dflt = (pl == 2 && !memcmp(port, "80", 2) && slen == 4) ||
			    (pl == 3 && !memcmp(port, "443", 3) && slen == 5) ||
			    (pl == 2 && !memcmp(port, "21", 2) && slen == 3) || pl == 0;

		if (!dflt) {
			tm_buf_addch(out, ':');
			tm_buf_add(out, port, pl);
		}
	}
	path = auth_end;
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
