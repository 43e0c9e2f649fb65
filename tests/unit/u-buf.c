/*
 * u-buf.c: struct tm_buf and struct tm_err through their public API.
 */
#include "tamis.h"
#include "tap.h"

static void test_buf(void)
{
	struct tm_buf b = TM_BUF_INIT;
	char *p;
	size_t len;
	int i;

	is_int(b.len, 0, "empty buffer has length 0");
	is_str(b.buf, "", "empty buffer is the empty string");
	tm_buf_addstr(&b, "hello");
	tm_buf_addch(&b, ' ');
	tm_buf_addf(&b, "%d-%s", 42, "x");
	is_str(b.buf, "hello 42-x", "add, addch and addf append");
	tm_buf_add(&b, "\0z", 2);
	is_int(b.len, 12, "embedded NUL counted");
	ok(b.buf[12] == '\0', "always NUL-terminated");
	tm_buf_consume(&b, 6);
	is_mem(b.buf, b.len, "42-x\0z", 6, "consume drops the front");
	tm_buf_reset(&b);
	for (i = 0; i < 10000; i++)
		tm_buf_addf(&b, "%05d", i);
	is_int(b.len, 50000, "grows past many reallocations");
	ok(!memcmp(b.buf + 49995, "09999", 5), "content survives growth");
	p = tm_buf_detach(&b, &len);
	is_int(len, 50000, "detach reports the length");
	is_str(b.buf, "", "detached buffer is empty again");
	free(p);
	tm_buf_release(&b);
}

static void test_err(void)
{
	struct tm_err e = TM_ERR_INIT;
	struct tm_buf b = TM_BUF_INIT;
	int rc;

	rc = tm_err_set(&e, TM_EFORMAT, "x.warc.gz", 1834220, 0,
			"expected 'WARC/1.0', got '%s'", "HTTP/1.1");
	is_int(rc, TM_EFORMAT, "tm_err_set returns the code");
	tm_err_format(&e, &b);
	is_str(b.buf, "x.warc.gz: offset 1834220: expected 'WARC/1.0', got 'HTTP/1.1'",
	       "report names file, offset and message");
	tm_buf_reset(&b);
	tm_err_set(&e, TM_ECONFIG, "pipeline.conf", TM_ERR_NO_OFFSET, 12,
		   "unknown key '%s'", "foo");
	tm_err_format(&e, &b);
	is_str(b.buf, "pipeline.conf: line 12: unknown key 'foo'", "line form");
	is_str(tm_strerror(TM_ETRUNC), "truncated input", "strerror");
	is_str(tm_errkey(TM_ETOOBIG), "toobig", "errkey");
	is_str(tm_strerror(-999), "unknown error", "unknown codes are named");
	tm_buf_release(&b);
}

int main(void)
{
	test_buf();
	test_err();
	return tap_done();
}
