/*
 * f-charset.c: libFuzzer target for lib/charset.c.
 *
 * The first input byte picks a Content-Type from a small table (none,
 * UTF-8, legacy single- and multi-byte charsets, UTF-16, an unknown label,
 * quoting quirks); the rest is the page.  Checks the output contract:
 * valid UTF-8, NFC, no BOM first, no C0 control but TAB LF CR, and a
 * charset name always set.  Also runs the <meta> prescan and the HTTP
 * parameter parser on the page.  A broken contract aborts.
 */
#include "tamis.h"
#include "charset.h"

#include <unicode/unorm2.h>
#include <unicode/ustring.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const types[] = {
	NULL,
	"text/html",
	"text/html; charset=utf-8",
	"text/html; charset=\"windows-1251\"",
	"text/html; charset=iso-8859-1",
	"text/html; charset=Shift_JIS",
	"text/html; charset=euc-jp",
	"text/html; charset=gbk",
	"text/html; charset=big5",
	"text/html; charset=euc-kr",
	"text/html; charset=utf-16",
	"text/html; charset=utf-16be",
	"text/html; charset=iso-2022-jp",
	"text/html; charset=koi8-r",
	"text/html; charset=x-bogus",
	"text/html; charset='windows-1258'",
};

static void check(const struct tm_buf *out, const struct tm_charset_info *in)
{
	UErrorCode e = U_ZERO_ERROR;
	const UNormalizer2 *nfc = unorm2_getNFCInstance(&e);
	int32_t ulen = 0;
	UChar *u;

	if (!in->charset[0])
		BUG("no charset named");
	if (out->len >= 3 && !memcmp(out->buf, "\xef\xbb\xbf", 3))
		BUG("output starts with a BOM");
	for (size_t i = 0; i < out->len; i++) {
		unsigned char b = (unsigned char)out->buf[i];

		if (b < 0x20 && b != '\t' && b != '\n' && b != '\r')
			BUG("control 0x%02x at %zu", b, i);
	}
	u_strFromUTF8(NULL, 0, &ulen, out->buf, (int32_t)out->len, &e);
	if (e != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(e))
		BUG("output is not UTF-8: %s", u_errorName(e));
	u = tm_xmalloc(((size_t)ulen + 1) * sizeof(*u));
	e = U_ZERO_ERROR;
	u_strFromUTF8(u, ulen + 1, &ulen, out->buf, (int32_t)out->len, &e);
	if (U_FAILURE(e))
		BUG("output is not UTF-8: %s", u_errorName(e));
	if (!unorm2_isNormalized(nfc, u, ulen, &e) || U_FAILURE(e))
		BUG("output is not NFC");
	free(u);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tm_charset_ctx *ctx;
	struct tm_buf out = TM_BUF_INIT;
	struct tm_charset_info in;
	const char *ct, *p;
	char name[32];
	int rc;

	if (!ctx) {
		ctx = tm_charset_new();
		if (!ctx)
			BUG("tm_charset_new");
		tm_charset_set_max(ctx, 1 << 20);
	}
	if (!size)
		return 0;
	ct = types[data[0] % TM_ARRAY_SIZE(types)];
	p = (const char *)data + 1;
	size--;
	rc = tm_charset_to_utf8(ctx, p, size, ct, &out, &in, NULL);
	if (rc == 0)
		check(&out, &in);
	else if (rc != TM_ETOOBIG && rc != TM_EUNSUP)
		BUG("unexpected error %d", rc);
	(void)tm_charset_html_meta(p, size, name, sizeof(name));
	if (size < 4096) {
		char *s = tm_xmemdup(p, size);

		(void)tm_charset_http(s, name, sizeof(name));
		free(s);
	}
	tm_buf_release(&out);
	return 0;
}
