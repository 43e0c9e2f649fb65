/*
 * docscan.c: the "text" of a document line without building a tree (see
 * tm_doc_scan_text() in doc.h).
 *
 * The scanner walks the whole line once, checking the JSON grammar, UTF-8,
 * escapes and the document schema, and remembers where the top-level
 * "text" string is; it decodes that string only.  It must never accept a
 * line tm_doc_parse() refuses, and must then give the same text: whatever
 * it is unsure of (numbers jansson could overflow on, deep nesting,
 * escaped or repeated top-level keys, U+0000 in a key, a byte-order mark)
 * it hands back as "not sure" and the caller parses the line fully, which
 * also produces the exact error message.  tests/fuzz/f-docscan.c holds it
 * to that against jansson.
 */
#include <string.h>

#include "tamis.h"
#include "doc.h"

/* Deeper nesting is left to jansson (its own limit is 2048). */
#define SCAN_MAX_DEPTH 512

/* The top-level keys the schema constrains. */
enum { K_OTHER, K_TEXT, K_ID, K_SOURCE, K_META };

struct scan {
	const unsigned char *p, *end;
	int depth;
	/* the string just scanned */
	const unsigned char *s, *s_end;	/* its bytes between the quotes */
	bool s_escaped;			/* holds a backslash */
	bool s_nul;			/* holds \u0000 */
};

static bool is_ws(unsigned c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void skip_ws(struct scan *sc)
{
	while (sc->p < sc->end && is_ws(*sc->p))
		sc->p++;
}

static int hex4(const unsigned char *p)
{
	int v = 0, i;

	for (i = 0; i < 4; i++) {
		unsigned c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (int)(c - '0');
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			v |= (int)((c | 0x20) - 'a' + 10);
		else
			return -1;
	}
	return v;
}

/*
 * Length of the well-formed UTF-8 sequence at p (lead byte >= 0x80): no
 * overlong forms, no surrogates, nothing above U+10FFFF; 0 if invalid.
 */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end)
{
	unsigned c = p[0];
	size_t n = (size_t)(end - p);

	if (c >= 0xc2 && c <= 0xdf)
		return n >= 2 && (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if (n < 3 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] >= 0xa0))
			return 0;
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (n < 4 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 ||
		    (p[3] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] >= 0x90))
			return 0;
		return 4;
	}
	return 0;
}

/* True when none of the 8 bytes is >= 0x80, '"', '\\' or < 0x20. */
static bool plain8(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
	uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');

	/* zero bytes of q or b, bytes below 0x20, and bytes >= 0x80 */
	return !(((q - ones) & ~q & high) | ((b - ones) & ~b & high) |
		 ((w - ones * 0x20) & ~w & high) | (w & high));
}

/* A string at sc->p (on its opening quote); fills s, s_end, flags. */
static bool scan_string(struct scan *sc)
{
	const unsigned char *p = sc->p + 1, *end = sc->end;

	sc->s = p;
	sc->s_escaped = false;
	sc->s_nul = false;
	for (;;) {
		uint64_t w;

		while (end - p >= 8) {
			memcpy(&w, p, 8);
			if (!plain8(w))
				break;
			p += 8;
		}
		if (p >= end)
			return false;
		if (*p == '"')
			break;
		if (*p < 0x20)
			return false;
		if (*p < 0x80 && *p != '\\') {
			p++;
			continue;
		}
		if (*p >= 0x80) {
			size_t n = utf8_seq(p, end);

			if (!n)
				return false;
			p += n;
			continue;
		}
		/* an escape */
		sc->s_escaped = true;
		if (end - p < 2)
			return false;
		switch (p[1]) {
		case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
			p += 2;
			continue;
		case 'u':
			break;
		default:
			return false;
		}
		{
			int u = end - p >= 6 ? hex4(p + 2) : -1;

			if (u < 0 || (u >= 0xdc00 && u <= 0xdfff))
				return false;
			p += 6;
			if (u == 0)
				sc->s_nul = true;
			if (u >= 0xd800 && u <= 0xdbff) {
				int lo = end - p >= 6 && p[0] == '\\' && p[1] == 'u' ? hex4(p + 2) : -1;

				if (lo < 0xdc00 || lo > 0xdfff)
					return false;
				p += 6;
			}
		}
	}
	sc->s_end = p;
	sc->p = p + 1;
	return true;
}

static bool digit(const unsigned char *p, const unsigned char *end)
{
	return p < end && *p >= '0' && *p <= '9';
}

/*
 * A number, accepted only where jansson surely reads it: integers of at
 * most 18 digits (a long long), reals whose magnitude stays below 1e301.
 */
static bool scan_number(struct scan *sc)
{
	const unsigned char *p = sc->p, *end = sc->end, *d;
	long intdigits, exp = 0, expdigits = 0;
	bool real = false, neg = false;

	if (*p == '-')
		p++;
	d = p;
	if (!digit(p, end))
		return false;
	if (*p == '0')
		p++;
	else
		while (digit(p, end))
			p++;
	intdigits = p - d;
	if (p < end && *p == '.') {
		real = true;
		if (!digit(++p, end))
			return false;
		while (digit(p, end))
			p++;
	}
	if (p < end && (*p | 0x20) == 'e') {
		real = true;
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			neg = *p++ == '-';
		if (!digit(p, end))
			return false;
		for (; digit(p, end); p++)
			if (++expdigits <= 4)
				exp = exp * 10 + (*p - '0');
		if (expdigits > 4)
			return false;
	}
	if (!real ? intdigits > 18 : intdigits + (neg ? 0 : exp) > 300)
		return false;
	sc->p = p;
	return true;
}

static bool scan_literal(struct scan *sc, const char *word, size_t n)
{
	if ((size_t)(sc->end - sc->p) < n || memcmp(sc->p, word, n))
		return false;
	sc->p += n;
	return true;
}

static bool scan_value(struct scan *sc);

/* After a member or element: 1 at the closing bracket, 0 after a comma, -1 bad. */
static int after_member(struct scan *sc, unsigned char close)
{
	skip_ws(sc);
	if (sc->p >= sc->end)
		return -1;
	if (*sc->p == close) {
		sc->p++;
		sc->depth--;
		return 1;
	}
	if (*sc->p++ != ',')
		return -1;
	skip_ws(sc);
	return 0;
}

/* An object or array at sc->p (on '{' or '['). */
static bool scan_container(struct scan *sc)
{
	bool object = *sc->p == '{';
	unsigned char close = object ? '}' : ']';

	if (++sc->depth > SCAN_MAX_DEPTH)
		return false;
	sc->p++;
	skip_ws(sc);
	if (sc->p < sc->end && *sc->p == close) {
		sc->p++;
		sc->depth--;
		return true;
	}
	for (;;) {
		if (object) {
			if (sc->p >= sc->end || *sc->p != '"' || !scan_string(sc) || sc->s_nul)
				return false;
			skip_ws(sc);
			if (sc->p >= sc->end || *sc->p++ != ':')
				return false;
		}
		if (!scan_value(sc))
			return false;
		switch (after_member(sc, close)) {
		case 1:
			return true;
		case -1:
			return false;
		}
	}
}

static bool scan_value(struct scan *sc)
{
	skip_ws(sc);
	if (sc->p >= sc->end)
		return false;
	switch (*sc->p) {
	case '"':
		return scan_string(sc);
	case '{':
	case '[':
		return scan_container(sc);
	case 't':
		return scan_literal(sc, "true", 4);
	case 'f':
		return scan_literal(sc, "false", 5);
	case 'n':
		return scan_literal(sc, "null", 4);
	default:
		return scan_number(sc);
	}
}

/*
 * The metadata object at sc->p (on '{'): as scan_container(), noting the
 * string values of "lang" and "url" (the last of each, as jansson keeps;
 * an escaped key is left to jansson, it might spell one of them).
 */
static bool scan_meta(struct scan *sc, struct tm_doc_view *v)
{
	sc->depth++;
	sc->p++;
	skip_ws(sc);
	if (sc->p < sc->end && *sc->p == '}') {
		sc->p++;
		sc->depth--;
		return true;
	}
	for (;;) {
		const unsigned char *k, *k_end;

		if (sc->p >= sc->end || *sc->p != '"' || !scan_string(sc) || sc->s_nul ||
		    sc->s_escaped)
			return false;
		k = sc->s;
		k_end = sc->s_end;
		skip_ws(sc);
		if (sc->p >= sc->end || *sc->p++ != ':')
			return false;
		skip_ws(sc);
		if (sc->p >= sc->end)
			return false;
		if (*sc->p == '"') {
			const char **dst = NULL;
			size_t *dlen = NULL;

			if (!scan_string(sc))
				return false;
			if (k_end - k == 4 && !memcmp(k, "lang", 4)) {
				dst = &v->lang;
				dlen = &v->lang_len;
			} else if (k_end - k == 3 && !memcmp(k, "url", 3)) {
				dst = &v->url;
				dlen = &v->url_len;
			}
			if (dst && (sc->s_escaped || sc->s_nul)) {
				*dst = NULL;	/* escaped: the caller parses for it */
				v->meta_escaped = true;
			} else if (dst) {
				*dst = (const char *)sc->s;
				*dlen = (size_t)(sc->s_end - sc->s);
			}
		} else {
			if ((k_end - k == 4 && !memcmp(k, "lang", 4)) ||
			    (k_end - k == 3 && !memcmp(k, "url", 3))) {
				if (k_end - k == 4)
					v->lang = NULL;
				else
					v->url = NULL;
			}
			if (!scan_value(sc))
				return false;
		}
		switch (after_member(sc, '}')) {
		case 1:
			return true;
		case -1:
			return false;
		}
	}
}

static int key_kind(const unsigned char *s, size_t n)
{
	if (n == 4 && !memcmp(s, "text", 4))
		return K_TEXT;
	if (n == 2 && !memcmp(s, "id", 2))
		return K_ID;
	if (n == 6 && !memcmp(s, "source", 6))
		return K_SOURCE;
	if (n == 8 && !memcmp(s, "metadata", 8))
		return K_META;
	return K_OTHER;
}

/* Decodes the escapes of a scanned, valid string into b. */
static void unescape(const unsigned char *p, const unsigned char *end, struct tm_buf *b)
{
	while (p < end) {
		const unsigned char *q = memchr(p, '\\', (size_t)(end - p));
		unsigned u;
		char c;

		if (!q)
			q = end;
		tm_buf_add(b, p, (size_t)(q - p));
		if (q == end)
			break;
		switch (q[1]) {
		case 'b': c = '\b'; break;
		case 'f': c = '\f'; break;
		case 'n': c = '\n'; break;
		case 'r': c = '\r'; break;
		case 't': c = '\t'; break;
		case 'u': c = 0; break;
		default: c = (char)q[1]; break;
		}
		if (q[1] != 'u') {
			tm_buf_addch(b, c);
			p = q + 2;
			continue;
		}
		u = (unsigned)hex4(q + 2);
		p = q + 6;
		if (u >= 0xd800 && u <= 0xdbff) {
			u = 0x10000 + ((u - 0xd800) << 10) + ((unsigned)hex4(p + 2) - 0xdc00);
			p += 6;
		}
		tm_buf_add_utf8(b, u);
	}
}

bool tm_doc_scan(const char *line, size_t len, struct tm_buf *buf, struct tm_doc_view *v)
{
	struct scan sc = { (const unsigned char *)line, (const unsigned char *)line + len,
			   1, NULL, NULL, false, false };
	const unsigned char *t = NULL, *t_end = NULL;
	bool t_escaped = false, seen[5] = { false };
	int rc;

	memset(v, 0, sizeof(*v));
	skip_ws(&sc);
	if (sc.p >= sc.end || *sc.p++ != '{')
		return false;
	skip_ws(&sc);
	if (sc.p < sc.end && *sc.p == '}')
		return false;	/* no "text" */
	for (;;) {
		int kind;

		if (sc.p >= sc.end || *sc.p != '"' || !scan_string(&sc) || sc.s_escaped)
			return false;
		kind = key_kind(sc.s, (size_t)(sc.s_end - sc.s));
		if (kind != K_OTHER && seen[kind])
			return false;	/* the last value wins: leave that to jansson */
		seen[kind] = true;
		skip_ws(&sc);
		if (sc.p >= sc.end || *sc.p++ != ':')
			return false;
		skip_ws(&sc);
		if (sc.p >= sc.end)
			return false;
		switch (kind) {
		case K_TEXT:
			if (*sc.p != '"' || !scan_string(&sc))
				return false;
			t = sc.s;
			t_end = sc.s_end;
			t_escaped = sc.s_escaped;
			break;
		case K_ID:
		case K_SOURCE:
			if (*sc.p != '"' || !scan_string(&sc) || sc.s_nul)
				return false;
			if (kind == K_SOURCE) {
				v->source_start = (size_t)(sc.s - (const unsigned char *)line) - 1;
				v->source_end = (size_t)(sc.s_end - (const unsigned char *)line) + 1;
			}
			break;
		case K_META:
			if (*sc.p != '{' || !scan_meta(&sc, v))
				return false;
			break;
		default:
			if (!scan_value(&sc))
				return false;
			break;
		}
		rc = after_member(&sc, '}');
		if (rc < 0)
			return false;
		if (rc)
			break;
	}
	skip_ws(&sc);
	if (sc.p != sc.end || !t)
		return false;
	v->text_start = (size_t)(t - (const unsigned char *)line) - 1;
	v->text_end = (size_t)(t_end - (const unsigned char *)line) + 1;
	if (!t_escaped) {
		v->text = (const char *)t;
		v->text_len = (size_t)(t_end - t);
		return true;
	}
	tm_buf_reset(buf);
	unescape(t, t_end, buf);
	v->text = buf->buf;
	v->text_len = buf->len;
	return true;
}

bool tm_doc_scan_text(const char *line, size_t len, struct tm_buf *buf,
		      const char **text, size_t *text_len)
{
	struct tm_doc_view v;

	if (!tm_doc_scan(line, len, buf, &v))
		return false;
	*text = v.text;
	*text_len = v.text_len;
	return true;
}

void tm_json_escape(const char *s, size_t len, struct tm_buf *out)
{
	static const char hex[] = "0123456789ABCDEF";	/* as jansson writes */
	size_t i, a = 0;

	tm_buf_addch(out, '"');
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char e;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		tm_buf_add(out, s + a, i - a);
		a = i + 1;
		switch (c) {
		case '"': e = '"'; break;
		case '\\': e = '\\'; break;
		case '\b': e = 'b'; break;
		case '\f': e = 'f'; break;
		case '\n': e = 'n'; break;
		case '\r': e = 'r'; break;
		case '\t': e = 't'; break;
		default: e = 0; break;
		}
		if (e) {
			tm_buf_addch(out, '\\');
			tm_buf_addch(out, e);
		} else {
			tm_buf_addstr(out, "\\u00");
			tm_buf_addch(out, hex[c >> 4]);
			tm_buf_addch(out, hex[c & 15]);
		}
	}
	tm_buf_add(out, s + a, len - a);
	tm_buf_addch(out, '"');
}
