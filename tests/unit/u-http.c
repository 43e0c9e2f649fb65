/*
 * u-http.c: lib/http.h: status and request lines, header folding and
 * duplicates, chunked bodies, content codings (gzip, x-gzip, deflate in
 * zlib and raw form, zstd, unknown), the decompression-bomb cap, and the
 * responses stored in real WARC files.
 */
#include "tamis.h"
#include "stream.h"
#include "warc.h"
#include "http.h"
#include "tap.h"

#include <zlib.h>
#include <zstd.h>

static int parse(struct tm_http *h, const char *s)
{
	return tm_http_parse(h, s, strlen(s), NULL);
}

static void test_lines(void)
{
	struct tm_http h = TM_HTTP_INIT;
	struct tm_err err = TM_ERR_INIT;

	is_int(parse(&h, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\nbody"), 0,
	       "HTTP/1.1 status line");
	is_int(h.status, 200, "status 200");
	is_str(h.version, "1.1", "version 1.1");
	is_str(h.reason, "OK", "reason OK");
	ok(h.target == NULL, "no target in a response");
	is_int(h.header_len, 44, "header_len up to the blank line");
	is_mem(h.body, h.body_len, "body", 4, "body after the header");
	is_str(tm_http_field(&h, "content-type"), "text/html", "case-insensitive lookup");

	is_int(parse(&h, "HTTP/1.0 404 Not Found\r\n\r\n"), 0, "HTTP/1.0");
	is_int(h.status, 404, "status 404");
	is_str(h.version, "1.0", "version 1.0");
	is_str(h.reason, "Not Found", "multi-word reason");
	is_int(h.body_len, 0, "empty body");

	is_int(parse(&h, "HTTP/1.1 200\r\n\r\n"), 0, "status without reason");
	is_int(h.status, 200, "status 200 without reason");
	is_str(h.reason, "", "empty reason");

	is_int(parse(&h, "HTTP/1.1 301 Moved\nLocation: /x\n\nrest"), 0, "LF-only header");
	is_str(tm_http_field(&h, "Location"), "/x", "LF-only field");
	is_mem(h.body, h.body_len, "rest", 4, "LF-only body");

	is_int(parse(&h, "GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\n\r\n"), 0,
	       "request line");
	is_int(h.status, 0, "request has status 0");
	is_str(h.reason, "GET", "method in reason");
	is_str(h.target, "/index.html?q=1", "request target");
	is_str(h.version, "1.1", "request version");
	is_str(tm_http_field(&h, "Host"), "example.com", "request field");

	is_int(parse(&h, "POST / HTTP/1.0\r\nContent-Length: 3\r\n\r\na=b"), 0, "POST");
	is_str(h.reason, "POST", "POST method");
	is_mem(h.body, h.body_len, "a=b", 3, "POST body");

	is_int(parse(&h, "HTTP/1.1 200 OK\r\nX-Long: one\r\n  two\r\n\tthree\r\nNext: 1\r\n\r\n"),
	       0, "folded header");
	is_str(tm_http_field(&h, "X-Long"), "one two three", "folded lines joined by one space");
	is_str(tm_http_field(&h, "Next"), "1", "field after a folded one");
	is_int(h.nfields, 2, "two fields");

	is_int(parse(&h, "HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nX: first\r\nx: second\r\n"
		     "junk line without colon\r\nSet-Cookie: b=2\r\n\r\n"), 0, "duplicates");
	is_str(tm_http_field(&h, "X"), "second", "last duplicate wins");
	is_str(tm_http_field(&h, "Set-Cookie"), "b=2", "last Set-Cookie");
	is_int(h.nfields, 4, "all duplicates kept, junk line ignored");
	ok(tm_http_field(&h, "Missing") == NULL, "absent field is NULL");

	is_int(tm_http_parse(&h, "HTTP/1.1 200 OK\r\nA: b\r\n", 21, &err), TM_EFORMAT,
	       "header without end is TM_EFORMAT");
	is_int(parse(&h, "garbage\r\n\r\n"), TM_EFORMAT, "not HTTP is TM_EFORMAT");
	is_int(parse(&h, "HTTP/1.1 abc\r\n\r\n"), TM_EFORMAT, "non-numeric status");
	is_int(parse(&h, "HTTP/1.1\r\n\r\n"), TM_EFORMAT, "status line without status");
	is_int(tm_http_header_end("a\r\n\r\nb", 6), 5, "header_end CRLF");
	is_int(tm_http_header_end("a\n\nb", 4), 3, "header_end LF");
	is_int(tm_http_header_end("a\r\nb", 4), 0, "header_end none");
	tm_http_release(&h);
}

static int body(const char *msg, size_t len, unsigned flags, size_t max,
		struct tm_buf *out)
{
	struct tm_http h = TM_HTTP_INIT;
	int rc = tm_http_parse(&h, msg, len, NULL);

	if (!rc)
		rc = tm_http_body(&h, flags, max, out, NULL);
	tm_http_release(&h);
	return rc;
}

#define BOTH (TM_HTTP_DECHUNK | TM_HTTP_DECODE)
#define CHUNKED "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"

static int sbody(const char *msg, unsigned flags, size_t max, struct tm_buf *out)
{
	return body(msg, strlen(msg), flags, max, out);
}

static void test_chunked(void)
{
	struct tm_buf out = TM_BUF_INIT;

	is_int(sbody(CHUNKED "5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n", BOTH, 100, &out), 0,
	       "chunked body");
	is_str(out.buf, "hello, world", "chunks joined");
	is_int(sbody(CHUNKED "5;ext=1\r\nhello\r\nA; name=\"v\"\r\n0123456789\r\n0\r\n"
		     "Trailer: x\r\n\r\n", BOTH, 100, &out), 0, "extensions and trailers");
	is_str(out.buf, "hello0123456789", "extensions and trailer dropped");
	is_int(sbody(CHUNKED "5\nhello\n0\n\n", BOTH, 100, &out), 0, "LF-only chunking");
	is_str(out.buf, "hello", "LF-only chunks");
	is_int(sbody(CHUNKED "5\r\nhello\r\n10\r\nonly part", BOTH, 100, &out), TM_ETRUNC,
	       "truncated chunk is TM_ETRUNC");
	is_str(out.buf, "helloonly part", "partial data kept");
	is_int(sbody(CHUNKED "5\r\nhello\r\n", BOTH, 100, &out), TM_ETRUNC,
	       "no last chunk is TM_ETRUNC");
	is_str(out.buf, "hello", "data before the missing last chunk");
	is_int(sbody(CHUNKED "5\r\nhello\r\nzz\r\nabc\r\n0\r\n\r\n", BOTH, 100, &out),
	       TM_EFORMAT, "broken chunk size is TM_EFORMAT");
	is_int(sbody(CHUNKED "5x\r\nhello\r\n0\r\n\r\n", BOTH, 100, &out), 0,
	       "not-really-chunked body (5x) passed through");
	is_str(out.buf, "5x\r\nhello\r\n0\r\n\r\n", "body as stored");
	is_int(sbody(CHUNKED "<html>not chunked</html>", BOTH, 100, &out), 0,
	       "claims chunked, is not: passed through");
	is_str(out.buf, "<html>not chunked</html>", "body passed through");
	is_int(sbody(CHUNKED "5\r\nhello\r\n0\r\n\r\n", TM_HTTP_DECODE, 100, &out), 0,
	       "without DECHUNK");
	is_str(out.buf, "5\r\nhello\r\n0\r\n\r\n", "chunking kept without DECHUNK");
	is_int(sbody(CHUNKED "5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n", BOTH, 8, &out),
	       TM_ETOOBIG, "chunked over max is TM_ETOOBIG");
	is_int(sbody("HTTP/1.1 200 OK\r\nX-Crawler-Transfer-Encoding: chunked\r\n\r\n"
		     "5\r\nhello\r\n0\r\n\r\n", BOTH, 100, &out), 0, "crawler header ignored");
	is_str(out.buf, "5\r\nhello\r\n0\r\n\r\n", "X-Crawler-Transfer-Encoding not acted on");
	tm_buf_release(&out);
}

static void compress_gzip(const char *p, size_t n, int wbits, struct tm_buf *out)
{
	z_stream zs;

	memset(&zs, 0, sizeof(zs));
	deflateInit2(&zs, 6, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY);
	tm_buf_grow(out, deflateBound(&zs, n) + 32);
	zs.next_in = (Bytef *)(uintptr_t)p;
	zs.avail_in = (uInt)n;
	zs.next_out = (Bytef *)out->buf + out->len;
	zs.avail_out = (uInt)(out->alloc - out->len - 1);
	deflate(&zs, Z_FINISH);
	tm_buf_setlen(out, (size_t)((char *)zs.next_out - out->buf));
	deflateEnd(&zs);
}

static void message(const char *ce, const struct tm_buf *payload, struct tm_buf *msg)
{
	tm_buf_reset(msg);
	tm_buf_addf(msg, "HTTP/1.1 200 OK\r\nContent-Encoding: %s\r\n\r\n", ce);
	tm_buf_add(msg, payload->buf, payload->len);
}

static void test_codings(void)
{
	struct tm_buf text = TM_BUF_INIT, z = TM_BUF_INIT, msg = TM_BUF_INIT,
		      out = TM_BUF_INIT, big = TM_BUF_INIT;
	static const struct { const char *ce; int wbits; } g[] = {
		{ "gzip", 16 + MAX_WBITS }, { "x-gzip", 16 + MAX_WBITS },
		{ "deflate", MAX_WBITS }, { "deflate", -MAX_WBITS }, { "GZIP", 16 + MAX_WBITS },
	};

	for (int i = 0; i < 2000; i++)
		tm_buf_addf(&text, "line %d of the page\n", i);
	for (size_t k = 0; k < TM_ARRAY_SIZE(g); k++) {
		tm_buf_reset(&z);
		compress_gzip(text.buf, text.len, g[k].wbits, &z);
		message(g[k].ce, &z, &msg);
		is_int(body(msg.buf, msg.len, BOTH, 1 << 20, &out), 0, g[k].ce);
		is_mem(out.buf, out.len, text.buf, text.len, "decoded body");
		is_int(body(msg.buf, msg.len, TM_HTTP_DECHUNK, 1 << 20, &out), 0,
		       "without DECODE");
		is_mem(out.buf, out.len, z.buf, z.len, "body as stored without DECODE");
	}
	/* truncated gzip body */
	tm_buf_reset(&z);
	compress_gzip(text.buf, text.len, 16 + MAX_WBITS, &z);
	tm_buf_setlen(&z, z.len * 2 / 3);
	message("gzip", &z, &msg);
	is_int(body(msg.buf, msg.len, BOTH, 1 << 20, &out), TM_ETRUNC,
	       "truncated gzip body is TM_ETRUNC");
	ok(out.len > 1000 && out.len < text.len && !memcmp(out.buf, text.buf, out.len),
	   "partial text kept (%zu of %zu bytes)", out.len, text.len);
	/* corrupt gzip body */
	tm_buf_reset(&z);
	compress_gzip(text.buf, text.len, 16 + MAX_WBITS, &z);
	memset(z.buf + 40, 0xff, 30);
	message("gzip", &z, &msg);
	is_int(body(msg.buf, msg.len, BOTH, 1 << 20, &out), TM_ECODEC,
	       "corrupt gzip body is TM_ECODEC");

	/* gzip inside chunked */
	tm_buf_reset(&z);
	compress_gzip(text.buf, text.len, 16 + MAX_WBITS, &z);
	tm_buf_reset(&msg);
	tm_buf_addstr(&msg, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
		      "Content-Encoding: gzip\r\n\r\n");
	tm_buf_addf(&msg, "%zx\r\n", z.len / 2);
	tm_buf_add(&msg, z.buf, z.len / 2);
	tm_buf_addf(&msg, "\r\n%zx\r\n", z.len - z.len / 2);
	tm_buf_add(&msg, z.buf + z.len / 2, z.len - z.len / 2);
	tm_buf_addstr(&msg, "\r\n0\r\n\r\n");
	is_int(body(msg.buf, msg.len, BOTH, 1 << 20, &out), 0, "chunked gzip");
	is_mem(out.buf, out.len, text.buf, text.len, "chunked gzip decoded");

	/* zstd */
	tm_buf_reset(&z);
	tm_buf_grow(&z, ZSTD_compressBound(text.len));
	tm_buf_setlen(&z, ZSTD_compress(z.buf, z.alloc - 1, text.buf, text.len, 3));
	message("zstd", &z, &msg);
	is_int(body(msg.buf, msg.len, BOTH, 1 << 20, &out), 0, "zstd");
	is_mem(out.buf, out.len, text.buf, text.len, "zstd decoded");
	tm_buf_setlen(&msg, msg.len - z.len / 2);
	is_int(body(msg.buf, msg.len, BOTH, 1 << 20, &out), TM_ETRUNC, "truncated zstd");

	/* highly compressible zstd: output larger than any one buffer step */
	for (int i = 0; i < (1 << 20); i++)
		tm_buf_addch(&big, 'a');
	tm_buf_reset(&z);
	tm_buf_grow(&z, ZSTD_compressBound(big.len));
	tm_buf_setlen(&z, ZSTD_compress(z.buf, z.alloc - 1, big.buf, big.len, 3));
	message("zstd", &z, &msg);
	is_int(body(msg.buf, msg.len, BOTH, 2 << 20, &out), 0, "1 MiB of zstd from a few bytes");
	is_int(out.len, big.len, "all of it decoded");

	/* decompression bomb: 1 MiB of 'a' capped at 64 KiB */
	tm_buf_reset(&z);
	compress_gzip(big.buf, big.len, 16 + MAX_WBITS, &z);
	message("gzip", &z, &msg);
	is_int(body(msg.buf, msg.len, BOTH, 65536, &out), TM_ETOOBIG, "gzip bomb is TM_ETOOBIG");
	ok(out.len <= 65536, "at most max bytes kept (%zu)", out.len);
	tm_buf_reset(&z);
	tm_buf_grow(&z, ZSTD_compressBound(big.len));
	tm_buf_setlen(&z, ZSTD_compress(z.buf, z.alloc - 1, big.buf, big.len, 3));
	message("zstd", &z, &msg);
	is_int(body(msg.buf, msg.len, BOTH, 65536, &out), TM_ETOOBIG, "zstd bomb is TM_ETOOBIG");
	ok(out.len <= 65536, "at most max bytes kept (%zu)", out.len);

	/* unknown coding */
	is_int(sbody("HTTP/1.1 200 OK\r\nContent-Encoding: br\r\n\r\n\x0b\x02\x80stored",
		     BOTH, 100, &out), TM_EUNSUP, "br is TM_EUNSUP");
	is_str(out.buf, "\x0b\x02\x80stored", "body as stored");
	is_int(sbody("HTTP/1.1 200 OK\r\nContent-Encoding: identity\r\n\r\nplain", BOTH, 100,
		     &out), 0, "identity");
	is_str(out.buf, "plain", "identity body");
	is_int(sbody("HTTP/1.1 200 OK\r\nX-Crawler-Content-Encoding: gzip\r\n\r\nplain",
		     BOTH, 100, &out), 0, "X-Crawler-Content-Encoding not acted on");
	is_str(out.buf, "plain", "body as stored");
	is_int(sbody("HTTP/1.1 200 OK\r\n\r\n0123456789", BOTH, 5, &out), TM_ETOOBIG,
	       "plain body over max");
	tm_buf_release(&text);
	tm_buf_release(&z);
	tm_buf_release(&msg);
	tm_buf_release(&out);
	tm_buf_release(&big);
}

/* Parses every response/request in a real file; returns the status list. */
static void real_file(const char *rel, struct tm_buf *statuses, int *bad)
{
	struct tm_buf path = TM_BUF_INIT, out = TM_BUF_INIT;
	struct tm_err err = TM_ERR_INIT;
	struct tm_reader *in;
	struct tm_warc_reader *wr;
	struct tm_warc_record *rec;
	struct tm_http h = TM_HTTP_INIT;

	tm_buf_addf(&path, "%s/warc/%s", tap_data_dir(), rel);
	tm_reader_open(path.buf, &in, &err);
	tm_warc_reader_new(in, NULL, &wr);
	while (tm_warc_next(wr, &rec, &err) == 1) {
		if (rec->type != TM_WARC_RESPONSE && rec->type != TM_WARC_REQUEST)
			continue;
		if (tm_http_parse(&h, rec->block, rec->block_len, &err)) {
			(*bad)++;
			continue;
		}
		if (rec->type == TM_WARC_RESPONSE)
			tm_buf_addf(statuses, "%d ", h.status);
		else if (!h.target || !*h.reason)
			(*bad)++;
		if (tm_http_body(&h, BOTH, 8 << 20, &out, &err))
			(*bad)++;
	}
	tm_http_release(&h);
	tm_warc_reader_free(wr);
	tm_reader_free(in);
	tm_buf_release(&path);
	tm_buf_release(&out);
}

static void test_real(void)
{
	struct tm_buf st = TM_BUF_INIT;
	int bad = 0;

	real_file("whirlwind/whirlwind.warc.gz", &st, &bad);
	is_str(st.buf, "200 ", "whirlwind: one response, 200");
	tm_buf_reset(&st);
	real_file("dolma/sample-0000.warc.gz", &st, &bad);
	is_str(st.buf, "200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 "
	       "200 200 200 200 200 200 ", "dolma 0: 22 responses, all 200");
	tm_buf_reset(&st);
	real_file("dolma/sample-0001.warc.gz", &st, &bad);
	is_str(st.buf, "200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 ",
	       "dolma 1: 15 responses, all 200");
	is_int(bad, 0, "every request and response parses and decodes");
	tm_buf_release(&st);
}

static void test_iana_chunked(void)
{
	struct tm_buf path = TM_BUF_INIT, out = TM_BUF_INIT;
	struct tm_err err = TM_ERR_INIT;
	struct tm_reader *in;
	struct tm_warc_reader *wr;
	struct tm_warc_record *rec;
	struct tm_http h = TM_HTTP_INIT;
	int found = 0;

	tm_buf_addf(&path, "%s/warc/warcio/example-iana.org-chunked.warc", tap_data_dir());
	tm_reader_open(path.buf, &in, &err);
	tm_warc_reader_new(in, NULL, &wr);
	while (tm_warc_next(wr, &rec, &err) == 1) {
		if (rec->type != TM_WARC_RESPONSE)
			continue;
		found++;
		is_int(tm_http_parse(&h, rec->block, rec->block_len, &err), 0, "iana: parses");
		is_str(tm_http_field(&h, "Transfer-Encoding"), "chunked", "iana: chunked");
		is_int(tm_http_body(&h, BOTH, 1 << 20, &out, &err), 0, "iana: dechunks");
		ok(!strncmp(out.buf, "<!doctype html>", 15), "iana: body starts with <!doctype html>");
		is_int(out.len, 7223, "iana: decoded body length (checked with a Python dechunker)");
		ok(out.len >= 8 && !memcmp(out.buf + out.len - 8, "</html>\n", 8),
		   "iana: body ends with </html>");
	}
	is_int(found, 1, "iana: one response");
	tm_http_release(&h);
	tm_warc_reader_free(wr);
	tm_reader_free(in);
	tm_buf_release(&path);
	tm_buf_release(&out);
}

int main(void)
{
	test_lines();
	test_chunked();
	test_codings();
	test_real();
	test_iana_chunked();
	return tap_done();
}
