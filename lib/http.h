/*
 * http.h: HTTP/1.x messages as stored in WARC response and request
 * records: the status line, the header fields, and the body with its
 * transfer coding (chunked) and content coding (gzip, x-gzip, deflate in
 * zlib or raw form, zstd) removed on request.
 *
 * Tolerant by design, as crawled data demands: LF-only line ends, folded
 * header lines, a missing reason phrase, "HTTP/1.1 200" and a body that
 * claims to be chunked but is not (passed through as stored) are accepted.
 * CommonCrawl stores bodies already decoded and renames the headers
 * (X-Crawler-Content-Encoding, X-Crawler-Transfer-Encoding): those are not
 * acted on.  ClueWeb09 stores them decoded under the original header: a
 * gzip or zstd body without its magic bytes is taken as already decoded.
 *
 * Ownership: struct tm_http copies the header fields into its own arena;
 * `body` points into the caller's buffer, which must outlive it.
 * Depends on buf.h, zlib and zstd; no WARC knowledge.
 */
#ifndef TM_HTTP_H
#define TM_HTTP_H

#include "tamis.h"

struct tm_http_field {
	const char *name;
	const char *value;
};

struct tm_http {
	int status;		/* 200; 0 for a request */
	char version[16];	/* "1.1" */
	const char *reason;	/* "OK" or "" (for a request: the method) */
	const char *target;	/* request target for requests, else NULL */
	struct tm_http_field *fields;
	size_t nfields;
	size_t header_len;	/* bytes up to and including the blank line */
	const char *body;	/* into the parsed buffer */
	size_t body_len;

	/* private */
	struct tm_buf arena;
	size_t *offs;
	size_t offcap, fieldcap;
};

#define TM_HTTP_INIT { 0, "", "", NULL, NULL, 0, 0, NULL, 0, TM_BUF_INIT, NULL, 0, 0 }

void tm_http_release(struct tm_http *h);

/*
 * Offset just past the blank line that ends an HTTP header in p[0..n)
 * ("\r\n\r\n" or "\n\n"), or 0 if there is none.
 */
size_t tm_http_header_end(const char *p, size_t n);

/*
 * Parses an HTTP response ("HTTP/x.y CODE REASON") or request ("METHOD
 * TARGET HTTP/x.y") at p[0..n).  Returns 0, or TM_EFORMAT (with a message
 * naming the line) when p does not start with an HTTP message or its header
 * never ends.  Reuses h's memory across calls.
 */
int tm_http_parse(struct tm_http *h, const char *p, size_t n, struct tm_err *err);

/* Case-insensitive field lookup (the last occurrence wins); NULL if absent. */
const char *tm_http_field(const struct tm_http *h, const char *name);

enum {
	TM_HTTP_DECHUNK = 1,	/* undo Transfer-Encoding: chunked */
	TM_HTTP_DECODE = 2,	/* undo Content-Encoding */
};

/*
 * Replaces `out` with the body, decoded as `flags` ask, at most `max`
 * bytes (TM_ETOOBIG beyond: a decompression bomb guard).  Returns 0;
 * TM_EFORMAT for broken chunking; TM_ECODEC for a corrupt compressed body
 * (what was decoded before the damage stays in out); TM_EUNSUP for a
 * content coding we do not know (br, compress): out then holds the body
 * as stored.  A truncated chunked or compressed body (WARC-Truncated) gives
 * what could be decoded, and TM_ETRUNC.
 */
int tm_http_body(const struct tm_http *h, unsigned flags, size_t max,
		 struct tm_buf *out, struct tm_err *err);

#endif
