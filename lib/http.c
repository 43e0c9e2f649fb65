/*
 * http.c: HTTP/1.x message parsing and body decoding for WARC records.
 */
#include "tamis.h"
#include "http.h"

#include <ctype.h>
#include <zlib.h>
#include <zstd.h>

void tm_http_release(struct tm_http *h)
{
	tm_buf_release(&h->arena);
	free(h->offs);
	free(h->fields);
	h->offs = NULL;
	h->fields = NULL;
	h->offcap = h->fieldcap = 0;
	h->nfields = 0;
}

size_t tm_http_header_end(const char *d, size_t n)
{
	return tm_header_end(d, n);
}

static void push_off(struct tm_http *h, size_t off)
{
	if (h->nfields * 2 + 2 > h->offcap) {
		h->offcap = h->offcap ? h->offcap * 2 : 64;
		h->offs = tm_xrealloc(h->offs, h->offcap * sizeof(*h->offs));
	}
	h->offs[h->nfields * 2] = off;
}

static void arena_trim(struct tm_buf *a, size_t from)
{
	while (a->len > from && (a->buf[a->len - 1] == ' ' ||
				 a->buf[a->len - 1] == '\t' ||
				 a->buf[a->len - 1] == '\r'))
		tm_buf_setlen(a, a->len - 1);
}

static bool is_version(const char *p, size_t n)
{
	return n >= 8 && !memcmp(p, "HTTP/", 5) && isdigit((unsigned char)p[5]);
}

int tm_http_parse(struct tm_http *h, const char *p, size_t n, struct tm_err *err)
{
	const char *end, *eol, *sp, *line = p;
	size_t hl, ll, i, reason_off = 0, target_off = 0;
	bool request = false;

	tm_buf_reset(&h->arena);
	h->nfields = 0;
	h->status = 0;
	h->version[0] = '\0';
	h->target = NULL;
	hl = tm_http_header_end(p, n);
	if (!hl)
		return tm_err_set(err, TM_EFORMAT, NULL, TM_ERR_NO_OFFSET, 0,
				  "HTTP header does not end (no blank line in %zu bytes)", n);
	end = p + hl;
	eol = memchr(p, '\n', hl);
	ll = (size_t)(eol - p);
	if (ll && p[ll - 1] == '\r')
		ll--;
	tm_buf_addch(&h->arena, '\0'); /* offset 0 is "" */
	if (is_version(line, ll)) {
		sp = memchr(line, ' ', ll);
		if (!sp || (size_t)(sp - line) - 5 >= sizeof(h->version))
			goto bad_line;
		memcpy(h->version, line + 5, (size_t)(sp - line) - 5);
		h->version[sp - line - 5] = '\0';
		while (sp < line + ll && *sp == ' ')
			sp++;
		if (sp + 3 > line + ll || !isdigit((unsigned char)sp[0]) ||
		    !isdigit((unsigned char)sp[1]) || !isdigit((unsigned char)sp[2]))
			goto bad_line;
		h->status = (sp[0] - '0') * 100 + (sp[1] - '0') * 10 + (sp[2] - '0');
		sp += 3;
		while (sp < line + ll && *sp == ' ')
			sp++;
		reason_off = h->arena.len;
		tm_buf_add(&h->arena, sp, (size_t)(line + ll - sp));
		tm_buf_addch(&h->arena, '\0');
	} else {
		/* a request: METHOD SP TARGET SP HTTP/x.y */
		const char *sp2;

		sp = memchr(line, ' ', ll);
		sp2 = sp ? memrchr(line, ' ', ll) : NULL;
		if (!sp || sp2 == sp || !is_version(sp2 + 1, (size_t)(line + ll - sp2 - 1)))
			goto bad_line;
		request = true;
		reason_off = h->arena.len;
		tm_buf_add(&h->arena, line, (size_t)(sp - line));
		tm_buf_addch(&h->arena, '\0');
		target_off = h->arena.len;
		tm_buf_add(&h->arena, sp + 1, (size_t)(sp2 - sp - 1));
		tm_buf_addch(&h->arena, '\0');
		snprintf(h->version, sizeof(h->version), "%.*s",
			 (int)(line + ll - sp2 - 6), sp2 + 6);
	}

	for (p = eol + 1; p < end; p = eol + 1) {
		const char *colon, *v;

		eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			eol = end - 1;
		if (eol == p || (eol == p + 1 && *p == '\r'))
			break;
		if ((*p == ' ' || *p == '\t') && h->nfields) {
			const char *q = p;

			while (q < eol && (*q == ' ' || *q == '\t'))
				q++;
			h->arena.len--;
			tm_buf_addch(&h->arena, ' ');
			tm_buf_add(&h->arena, q, (size_t)(eol - q));
			arena_trim(&h->arena, 0);
			tm_buf_addch(&h->arena, '\0');
			continue;
		}
		colon = memchr(p, ':', (size_t)(eol - p));
		if (!colon)
			continue; /* junk line in a crawled header: ignore it */
		push_off(h, h->arena.len);
		tm_buf_add(&h->arena, p, (size_t)(colon - p));
		arena_trim(&h->arena, h->offs[h->nfields * 2]);
		tm_buf_addch(&h->arena, '\0');
		h->offs[h->nfields * 2 + 1] = h->arena.len;
		v = colon + 1;
		while (v < eol && (*v == ' ' || *v == '\t'))
			v++;
		tm_buf_add(&h->arena, v, (size_t)(eol - v));
		arena_trim(&h->arena, h->offs[h->nfields * 2 + 1]);
		tm_buf_addch(&h->arena, '\0');
		h->nfields++;
	}
	if (h->nfields > h->fieldcap) {
		h->fieldcap = h->nfields;
		h->fields = tm_xrealloc(h->fields, h->fieldcap * sizeof(*h->fields));
	}
	for (i = 0; i < h->nfields; i++) {
		h->fields[i].name = h->arena.buf + h->offs[2 * i];
		h->fields[i].value = h->arena.buf + h->offs[2 * i + 1];
	}
	h->reason = h->arena.buf + reason_off;
	h->target = request ? h->arena.buf + target_off : NULL;
	h->header_len = hl;
	h->body = line + hl;
	h->body_len = n - hl;
	return 0;

bad_line:
	return tm_err_set(err, TM_EFORMAT, NULL, TM_ERR_NO_OFFSET, 0,
			  "expected an HTTP status or request line, got '%.*s'",
			  (int)TM_MIN(ll, 60), line);
}

const char *tm_http_field(const struct tm_http *h, const char *name)
{
	const char *v = NULL;
	size_t i;

	for (i = 0; i < h->nfields; i++)
		if (!strcasecmp(h->fields[i].name, name))
			v = h->fields[i].value;
	return v;
}

static bool token_in(const char *list, const char *tok)
{
	size_t tl = strlen(tok);
	const char *p = list;

	while (p && *p) {
		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		if (!strncasecmp(p, tok, tl) &&
		    (!p[tl] || p[tl] == ',' || p[tl] == ' ' || p[tl] == ';'))
			return true;
		p = strchr(p, ',');
	}
	return false;
}

/* Undoes chunked coding of p[0..n) into out. */
static int dechunk(const char *p, size_t n, size_t max, struct tm_buf *out,
		   struct tm_err *err)
{
	const char *end = p + n;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		unsigned long long sz = 0;
		const char *q = p;
		int digits = 0;

		if (!eol)
			return tm_err_set(err, TM_ETRUNC, NULL, TM_ERR_NO_OFFSET, 0,
					  "chunked body ends inside a chunk-size line");
		while (q < eol && isxdigit((unsigned char)*q) && digits < 16) {
			sz = sz * 16 + (unsigned)(isdigit((unsigned char)*q) ?
				*q - '0' : (tolower((unsigned char)*q) - 'a' + 10));
			q++;
			digits++;
		}
		if (!digits || (q < eol && *q != ';' && *q != '\r' && *q != ' '))
			return tm_err_set(err, TM_EFORMAT, NULL, TM_ERR_NO_OFFSET, 0,
					  "bad chunk-size line '%.*s'",
					  (int)TM_MIN((size_t)(eol - p), 30), p);
		p = eol + 1;
		if (sz == 0)
			return 0; /* trailers ignored */
		if (sz > (unsigned long long)(end - p)) {
			tm_buf_add(out, p, TM_MIN((size_t)(end - p), max - TM_MIN(max, out->len)));
			return tm_err_set(err, TM_ETRUNC, NULL, TM_ERR_NO_OFFSET, 0,
					  "chunked body cut short");
		}
		if (out->len + sz > max)
			return tm_err_set(err, TM_ETOOBIG, NULL, TM_ERR_NO_OFFSET, 0,
					  "body larger than %zu bytes", max);
		tm_buf_add(out, p, (size_t)sz);
		p += sz;
		if (p < end && *p == '\r')
			p++;
		if (p < end && *p == '\n')
			p++;
	}
	return tm_err_set(err, TM_ETRUNC, NULL, TM_ERR_NO_OFFSET, 0,
			  "chunked body has no last chunk");
}

/* Looks like chunked coding: hex digits then CRLF at the start. */
static bool looks_chunked(const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && i < 16 && isxdigit((unsigned char)p[i]))
		i++;
	if (!i || i >= n)
		return false;
	if (p[i] == ';' || p[i] == ' ')
		return true;
	return p[i] == '\n' || (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n');
}

static int inflate_body(const char *p, size_t n, int wbits, size_t max,
			struct tm_buf *out, struct tm_err *err)
{
	z_stream zs;
	int zrc;

	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, wbits) != Z_OK)
		tm_die_oom(sizeof(zs));
	zs.next_in = (Bytef *)(uintptr_t)p;
	zs.avail_in = (uInt)n;
	do {
		tm_buf_grow(out, TM_MAX(n * 2, (size_t)16384));
		zs.next_out = (Bytef *)out->buf + out->len;
		zs.avail_out = (uInt)TM_MIN(out->alloc - out->len - 1, (size_t)UINT_MAX);
		zrc = inflate(&zs, Z_NO_FLUSH);
		tm_buf_setlen(out, (size_t)((char *)zs.next_out - out->buf));
		if (out->len > max) {
			inflateEnd(&zs);
			tm_buf_setlen(out, max);
			return tm_err_set(err, TM_ETOOBIG, NULL, TM_ERR_NO_OFFSET, 0,
					  "decoded body larger than %zu bytes", max);
		}
		if (zrc == Z_STREAM_END && zs.avail_in > 8 && wbits > 15 &&
		    ((const unsigned char *)zs.next_in)[0] == 0x1f) {
			inflateReset(&zs); /* another gzip member */
			zrc = Z_OK;
		}
	} while (zrc == Z_OK && (zs.avail_in || zs.avail_out == 0));
	inflateEnd(&zs);
	if (zrc == Z_STREAM_END)
		return 0;
	if (zrc == Z_OK || zrc == Z_BUF_ERROR)
		return tm_err_set(err, TM_ETRUNC, NULL, TM_ERR_NO_OFFSET, 0,
				  "compressed body cut short");
	return tm_err_set(err, TM_ECODEC, NULL, TM_ERR_NO_OFFSET, 0,
			  "corrupt compressed body: %s", zs.msg ? zs.msg : "inflate failed");
}

static int zstd_body(const char *p, size_t n, size_t max, struct tm_buf *out,
		     struct tm_err *err)
{
	ZSTD_DCtx *dc = ZSTD_createDCtx();
	ZSTD_inBuffer in = { p, n, 0 };
	size_t zrc = 1;

	if (!dc)
		tm_die_oom(0);
	while (in.pos < in.size) {
		ZSTD_outBuffer o;

		tm_buf_grow(out, TM_MAX(n * 2, (size_t)16384));
		o.dst = out->buf;
		o.size = out->alloc - 1;
		o.pos = out->len;
		zrc = ZSTD_decompressStream(dc, &o, &in);
		tm_buf_setlen(out, o.pos);
		if (ZSTD_isError(zrc)) {
			ZSTD_freeDCtx(dc);
			return tm_err_set(err, TM_ECODEC, NULL, TM_ERR_NO_OFFSET, 0,
					  "corrupt zstd body: %s", ZSTD_getErrorName(zrc));
		}
		if (out->len > max) {
			ZSTD_freeDCtx(dc);
			tm_buf_setlen(out, max);
			return tm_err_set(err, TM_ETOOBIG, NULL, TM_ERR_NO_OFFSET, 0,
					  "decoded body larger than %zu bytes", max);
		}
	}
	ZSTD_freeDCtx(dc);
	if (zrc != 0)
		return tm_err_set(err, TM_ETRUNC, NULL, TM_ERR_NO_OFFSET, 0,
				  "compressed body cut short");
	return 0;
}

int tm_http_body(const struct tm_http *h, unsigned flags, size_t max,
		 struct tm_buf *out, struct tm_err *err)
{
	const char *te = tm_http_field(h, "Transfer-Encoding");
	const char *ce = tm_http_field(h, "Content-Encoding");
	struct tm_buf tmp = TM_BUF_INIT;
	const char *p = h->body;
	size_t n = h->body_len;
	int rc = 0, rc2;

	tm_buf_reset(out);
	if ((flags & TM_HTTP_DECHUNK) && te && token_in(te, "chunked") &&
	    looks_chunked(p, n)) {
		rc = dechunk(p, n, max, &tmp, err);
		if (rc == TM_EFORMAT || rc == TM_ETOOBIG) {
			tm_buf_release(&tmp);
			return rc;
		}
		p = tmp.buf;
		n = tmp.len;
	}
	/*
	 * No content coding to undo, or a body that does not start with its
	 * coding's magic: archives often store the body already decoded but
	 * keep the header (ClueWeb09 does; CommonCrawl renames it).
	 */
	if (!(flags & TM_HTTP_DECODE) || !ce || !*ce || !strcasecmp(ce, "identity") ||
	    ((!strcasecmp(ce, "gzip") || !strcasecmp(ce, "x-gzip")) &&
	     !(n >= 2 && (unsigned char)p[0] == 0x1f && (unsigned char)p[1] == 0x8b)) ||
	    (!strcasecmp(ce, "zstd") &&
	     !(n >= 4 && !memcmp(p, "\x28\xb5\x2f\xfd", 4)))) {
		if (n > max)
			rc = tm_err_set(err, TM_ETOOBIG, NULL, TM_ERR_NO_OFFSET, 0,
					"body larger than %zu bytes", max);
		else
			tm_buf_add(out, p, n);
		tm_buf_release(&tmp);
		return rc;
	}
	if (!strcasecmp(ce, "gzip") || !strcasecmp(ce, "x-gzip")) {
		rc2 = inflate_body(p, n, 16 + MAX_WBITS, max, out, err);
	} else if (!strcasecmp(ce, "deflate")) {
		/* RFC says zlib-wrapped; many servers send raw deflate */
		bool zlib = n >= 2 && (((unsigned char)p[0] << 8) | (unsigned char)p[1]) % 31 == 0 &&
			    ((unsigned char)p[0] & 0x0f) == 8;

		rc2 = inflate_body(p, n, zlib ? MAX_WBITS : -MAX_WBITS, max, out, err);
	} else if (!strcasecmp(ce, "zstd")) {
		rc2 = zstd_body(p, n, max, out, err);
	} else {
		tm_buf_add(out, p, TM_MIN(n, max));
		rc2 = tm_err_set(err, TM_EUNSUP, NULL, TM_ERR_NO_OFFSET, 0,
				 "unsupported Content-Encoding '%.40s'", ce);
	}
	tm_buf_release(&tmp);
	return rc2 ? rc2 : rc;
}
