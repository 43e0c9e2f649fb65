/*
 * u-charset.c: lib/charset.h: every BOM, HTTP and <meta> declarations
 * (quoting, comments, http-equiv, unknown labels), WHATWG label mapping,
 * counted replacement, NFC, control characters, the UTF-8 fast path and
 * its chunk boundaries, ICU detection, the fall-backs from a failing
 * declaration, the size cap, and the responses of two real WARC files
 * (Chinese/Russian/German pages, and EUC-JP ClueWeb09 pages).
 */
#include "tamis.h"
#include "charset.h"
#include "stream.h"
#include "warc.h"
#include "http.h"
#include "tap.h"

#include <unicode/ucnv.h>

static struct tm_charset_ctx *ctx;

static int conv(const char *p, size_t n, const char *ct, struct tm_buf *out,
		struct tm_charset_info *info)
{
	return tm_charset_to_utf8(ctx, p, n, ct, out, info, NULL);
}

static int sconv(const char *p, const char *ct, struct tm_buf *out, struct tm_charset_info *info)
{
	return conv(p, strlen(p), ct, out, info);
}

/* UTF-8 text in the charset `to` (through ICU), into out. */
static void encode(const char *to, const char *utf8, struct tm_buf *out)
{
	UErrorCode e = U_ZERO_ERROR;
	int32_t n;

	tm_buf_reset(out);
	tm_buf_grow(out, strlen(utf8) * 4 + 16);
	n = ucnv_convert(to, "UTF-8", out->buf, (int32_t)out->alloc - 1, utf8,
			 (int32_t)strlen(utf8), &e);
	if (U_FAILURE(e))
		BUG("ucnv_convert %s: %s", to, u_errorName(e));
	tm_buf_setlen(out, (size_t)n);
}

static void test_bom(void)
{
	struct tm_buf out = TM_BUF_INIT;
	struct tm_charset_info in;
	static const struct {
		const char *bytes;
		size_t len;
		const char *cs;
	} t[] = {
		{ "\xef\xbb\xbfh\xc3\xa9\xf0\x9f\x98\x80", 10, "UTF-8" },
		{ "\xff\xfeh\0\xe9\0\x3d\xd8\x00\xde", 10, "UTF-16LE" },
		{ "\xfe\xff\0h\0\xe9\xd8\x3d\xde\x00", 10, "UTF-16BE" },
		{ "\xff\xfe\0\0h\0\0\0\xe9\0\0\0\x00\xf6\x01\0", 16, "UTF-32LE" },
		{ "\0\0\xfe\xff\0\0\0h\0\0\0\xe9\0\x01\xf6\x00", 16, "UTF-32BE" },
	};

	for (size_t i = 0; i < TM_ARRAY_SIZE(t); i++) {
		is_int(conv(t[i].bytes, t[i].len, "text/html; charset=windows-1251", &out, &in),
		       0, t[i].cs);
		is_str(in.charset, t[i].cs, "BOM charset beats HTTP");
		is_int(in.source, TM_CHARSET_BOM, "source bom");
		is_int(in.confidence, 100, "confidence 100");
		is_str(out.buf, "h\xc3\xa9\xf0\x9f\x98\x80", "BOM stripped, h e-acute emoji");
		is_int(in.replaced, 0, "nothing replaced");
	}
	/* an odd byte at the end of UTF-16 is one replacement */
	is_int(conv("\xff\xfeh\0i\0!", 7, NULL, &out, &in), 0, "UTF-16LE with odd tail");
	is_str(out.buf, "hi\xef\xbf\xbd", "odd tail replaced");
	is_int(in.replaced, 1, "one replacement");
	/* a BOM alone */
	is_int(conv("\xef\xbb\xbf", 3, NULL, &out, &in), 0, "UTF-8 BOM alone");
	is_int(out.len, 0, "empty output");
	is_str(in.charset, "UTF-8", "UTF-8 from the BOM");
	tm_buf_release(&out);
}

static void test_http(void)
{
	struct tm_buf out = TM_BUF_INIT;
	struct tm_charset_info in;
	char b[32];
	static const struct {
		const char *ct;
		const char *want;
	} t[] = {
		{ "text/html; charset=windows-1251", "windows-1251" },
		{ "text/html;charset=\"CP1251\"", "windows-1251" },
		{ "text/html; Charset='koi8-r'", "KOI8-R" },
		{ "text/html; CHARSET = utf8 ; foo=bar", "UTF-8" },
		{ "text/html; charset=Shift_JIS", "Shift_JIS" },
		{ "text/html; charset=x-sjis", "Shift_JIS" },
		{ "text/html; charset=GB2312", "gb18030" },
		{ "text/html; charset=gbk", "gb18030" },
		{ "text/html; charset=ISO-8859-1", "windows-1252" },
		{ "text/html; charset=latin1", "windows-1252" },
		{ "text/html; charset=us-ascii", "windows-1252" },
		{ "text/html; charset=ascii", "windows-1252" },
		{ "text/html; charset=iso-8859-9", "windows-1254" },
		{ "text/html; charset=tis-620", "windows-874" },
		{ "text/html; charset=ks_c_5601-1987", "EUC-KR" },
		{ "text/html; charset=big5", "Big5" },
		{ "text/html; charset=euc-jp", "EUC-JP" },
		{ "text/html; xcharset; charset=utf-8", "UTF-8" },
	};
	static const char *const none[] = {
		"text/html", "text/html; charset=", "text/html; charset=x-bogus",
		"text/html; charset=\"utf-8", "text/html; charset=replacement",
		"text/html; charset=iso-2022-kr", "text/html; charset=x-user-defined", "",
	};

	for (size_t i = 0; i < TM_ARRAY_SIZE(t); i++)
		is_str(tm_charset_http(t[i].ct, b, sizeof(b)), t[i].want, t[i].ct);
	for (size_t i = 0; i < TM_ARRAY_SIZE(none); i++)
		ok(!tm_charset_http(none[i], b, sizeof(b)), "no charset in '%s'", none[i]);
	ok(!tm_charset_http(NULL, b, sizeof(b)), "NULL content type");

	/* "Привет, мир" in windows-1251 */
	is_int(sconv("\xcf\xf0\xe8\xe2\xe5\xf2, \xec\xe8\xf0", "text/html; charset=\"windows-1251\"",
		     &out, &in), 0, "cp1251 by HTTP");
	is_str(out.buf, "Привет, мир", "cp1251 decoded");
	is_str(in.charset, "windows-1251", "charset windows-1251");
	is_int(in.source, TM_CHARSET_HTTP, "source http");
	ok(!in.fast, "through ICU");
	is_str(in.declared, "", "declaration kept");

	/* latin1 is windows-1252: 0x80 is the euro sign */
	is_int(sconv("\x80 5, caf\xe9, \x93quoted\x94", "text/html; charset=iso-8859-1", &out, &in),
	       0, "latin1");
	is_str(out.buf, "€ 5, café, “quoted”", "0x80 is the euro sign, 0x93/0x94 quotes");
	is_str(in.charset, "windows-1252", "latin1 reported as windows-1252");
	is_int(in.replaced, 0, "nothing replaced");

	/* UTF-16 claimed over ASCII bytes: ignored, the meta wins */
	is_int(sconv("<meta charset=koi8-r>\xf0\xd2\xc9\xd7\xc5\xd4", "text/html; charset=utf-16",
		     &out, &in), 0, "UTF-16 claim without NULs");
	is_str(in.charset, "KOI8-R", "falls through to the meta");
	is_int(in.source, TM_CHARSET_META, "source meta");
	is_str(out.buf, "<meta charset=koi8-r>Привет", "KOI8-R decoded");
	/* UTF-16 with NULs and no BOM */
	is_int(conv("h\0i\0", 4, "text/html; charset=utf-16le", &out, &in), 0, "UTF-16LE by HTTP");
	is_str(out.buf, "hi", "UTF-16LE decoded");
	is_int(in.source, TM_CHARSET_HTTP, "UTF-16LE from http");

	/* unknown label: fall through to the meta, then to detection */
	is_int(sconv("<meta charset=koi8-r>\xf0\xd2\xc9\xd7\xc5\xd4", "text/html; charset=x-bogus",
		     &out, &in), 0, "unknown HTTP label");
	is_str(in.charset, "KOI8-R", "unknown HTTP label falls through to the meta");
	is_int(in.source, TM_CHARSET_META, "source meta");
	is_int(sconv("plain ascii", "text/html; charset=x-bogus", &out, &in), 0,
	       "unknown label, no meta");
	is_str(in.charset, "UTF-8", "valid UTF-8 detected");
	is_int(in.source, TM_CHARSET_DETECTED, "source detected");
	ok(in.fast, "fast path");
	is_str(out.buf, "plain ascii", "copied");
	tm_buf_release(&out);
}

static void test_meta(void)
{
	char b[32];
	struct tm_buf big = TM_BUF_INIT;
	static const struct {
		const char *html;
		const char *want;
	} t[] = {
		{ "<meta charset=\"windows-1251\">", "windows-1251" },
		{ "<META CHARSET=KOI8-R>", "KOI8-R" },
		{ "<meta charset='gbk'/>", "gb18030" },
		{ "<meta/charset=x-sjis>", "Shift_JIS" },
		{ "<!-- <meta charset=\"koi8-r\"> --><meta charset=\"windows-1251\">", "windows-1251" },
		{ "<!--><meta charset=euc-jp>", "EUC-JP" },
		{ "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=ISO-8859-2\">",
		  "ISO-8859-2" },
		{ "<meta content='text/html;charset=euc-kr' http-equiv='content-type'>", "EUC-KR" },
		{ "<meta http-equiv=Content-Type content=\"text/html; charset='big5'\">", "Big5" },
		{ "<META HTTP-EQUIV='CHARSET' CONTENT='EUC-JP'> "
		  "<meta http-equiv='Content-Type' content='text/html; charset=EUC-JP'>", "EUC-JP" },
		{ "<meta content=\"text/html; charset=koi8-r\"><meta charset=utf-8>", "UTF-8" },
		{ "<div title=\"<meta charset=koi8-r>\"><meta charset=iso-8859-5>", "ISO-8859-5" },
		{ "<meta charset=x-unknown><meta charset=cp1250>", "windows-1250" },
		{ "<meta charset=utf-16le>", "UTF-8" },
		{ "<meta charset=\"  utf-8  \">", "UTF-8" },
		{ "<?xml version=\"1.0\"?><!DOCTYPE html></p><meta charset=latin2>", "ISO-8859-2" },
		{ "<script>var a = 1 < 2;</script><meta name=x charset=koi8-u>", "KOI8-U" },
		{ "<meta charset=koi8-r charset=utf-8>", "KOI8-R" },
	};
	static const char *const none[] = {
		"", "<html><head><title>x</title></head>",
		"<meta content=\"text/html; charset=koi8-r\">",
		"<meta http-equiv=\"refresh\" content=\"0; charset=koi8-r\">",
		"<!-- <meta charset=koi8-r>", "<metacharset=koi8-r>",
		"<meta charset=\"koi8-r>", "<meta charset=replacement>",
		"<x <meta charset=koi8-r>", "<meta charset=bogus>",
		"<p title='<meta charset=koi8-r>'>",
	};

	for (size_t i = 0; i < TM_ARRAY_SIZE(t); i++)
		is_str(tm_charset_html_meta(t[i].html, strlen(t[i].html), b, sizeof(b)), t[i].want,
		       t[i].html);
	for (size_t i = 0; i < TM_ARRAY_SIZE(none); i++)
		ok(!tm_charset_html_meta(none[i], strlen(none[i]), b, sizeof(b)), "nothing in '%s'",
		   none[i]);
	/* only the first 4 KiB are scanned */
	for (int i = 0; i < 4090; i++)
		tm_buf_addch(&big, ' ');
	tm_buf_addstr(&big, "<meta charset=koi8-r>");
	ok(!tm_charset_html_meta(big.buf, big.len, b, sizeof(b)), "meta past 4 KiB not seen");
	tm_buf_setlen(&big, 4096 - 21);
	tm_buf_addstr(&big, "<meta charset=koi8-r>");
	is_str(tm_charset_html_meta(big.buf, big.len, b, sizeof(b)), "KOI8-R",
	       "meta ending at 4 KiB seen");
	is_str(tm_charset_html_meta("<meta charset=windows-1251>", 27, b, 8), "windows",
	       "cut to bufsz");
	ok(!tm_charset_html_meta("<meta charset=windows-1251>", 27, b, 0), "bufsz 0");
	tm_buf_release(&big);

	is_str(tm_charset_canonical("  LATIN1 ", 9), "windows-1252", "canonical latin1");
	is_str(tm_charset_canonical("utf8", 4), "UTF-8", "canonical utf8");
	ok(!tm_charset_canonical("utf-7", 5), "utf-7 unknown");
	is_str(tm_charset_source_name(TM_CHARSET_META), "meta", "source name meta");
	is_str(tm_charset_source_name(TM_CHARSET_DEFAULT), "default", "source name default");
}

static void test_names(void)
{
	struct tm_buf out = TM_BUF_INIT, ct = TM_BUF_INIT;
	struct tm_charset_info in;
	static const char *const names[] = {
		"UTF-8", "IBM866", "ISO-8859-2", "ISO-8859-3", "ISO-8859-4", "ISO-8859-5",
		"ISO-8859-6", "ISO-8859-7", "ISO-8859-8", "ISO-8859-8-I", "ISO-8859-10",
		"ISO-8859-13", "ISO-8859-14", "ISO-8859-15", "KOI8-R", "KOI8-U",
		"macintosh", "windows-874", "windows-1250", "windows-1251", "windows-1252",
		"windows-1253", "windows-1254", "windows-1255", "windows-1256", "windows-1257",
		"windows-1258", "x-mac-cyrillic", "gb18030", "Big5", "EUC-JP", "ISO-2022-JP",
		"Shift_JIS", "EUC-KR",
	};
	UErrorCode e = U_ZERO_ERROR;
	UConverter *cnv;
	int fails = 0;

	for (size_t i = 0; i < TM_ARRAY_SIZE(names); i++) {
		tm_buf_reset(&ct);
		tm_buf_addf(&ct, "text/html; charset=%s", names[i]);
		if (!tm_charset_canonical(names[i], strlen(names[i])) ||
		    strcmp(tm_charset_canonical(names[i], strlen(names[i])), names[i]) ||
		    sconv("<p>abc</p>", ct.buf, &out, &in) || strcmp(in.charset, names[i]) ||
		    in.source != TM_CHARSET_HTTP || strcmp(out.buf, "<p>abc</p>")) {
			tap_diag("charset %s: %s", names[i], in.charset);
			fails++;
		}
	}
	is_int(fails, 0, "every canonical name is its own label and ICU opens it");

	/* ISO-8859-16 is WHATWG's but not in the stock ICU data */
	cnv = ucnv_open("ISO-8859-16", &e);
	is_int(sconv("abc", "text/html; charset=iso-8859-16", &out, &in),
	       cnv ? 0 : TM_EUNSUP, "ISO-8859-16: TM_EUNSUP when ICU lacks it");
	is_str(in.charset, "ISO-8859-16", "info names the charset tried");
	if (!cnv)
		is_int(out.len, 0, "empty output on error");
	if (cnv)
		ucnv_close(cnv);
	tm_buf_release(&out);
	tm_buf_release(&ct);
}

static void test_replace(void)
{
	struct tm_buf out = TM_BUF_INIT, t = TM_BUF_INIT;
	struct tm_charset_info in;
	struct tm_err err = TM_ERR_INIT;

	/* declared UTF-8 with a few bad sequences: kept, bad ones counted */
	is_int(sconv("é ü ö ß ä ab\xff cd\xe2\x82 ef\xed\xa0\x80!", "text/html; charset=utf-8",
		     &out, &in), 0, "invalid UTF-8");
	is_str(out.buf, "é ü ö ß ä ab\xef\xbf\xbd cd\xef\xbf\xbd ef\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd!",
	       "FF, a cut E2 82 and a surrogate (3 maximal subparts) replaced");
	is_int(in.replaced, 5, "five replacements");
	is_str(in.charset, "UTF-8", "still UTF-8");
	is_int(in.source, TM_CHARSET_HTTP, "still from http");
	ok(!in.fast, "not the fast path");

	/* declared UTF-8, mostly latin1: ICU detection takes over */
	tm_buf_addstr(&t, "Le caf\xe9 de la gare est ferm\xe9 le dimanche. Les cr\xe8mes "
		      "br\xfbl\xe9\x65s y sont tr\xe8s appr\xe9\x63i\xe9\x65s, et le g\xe2teau "
		      "\xe0 la fran\xe7\x61ise aussi. Nous y all\xe2mes souvent \xe0 "
		      "No\xebl avec nos fr\xe8res et s\x9curs.");
	is_int(conv(t.buf, t.len, "text/html; charset=utf-8", &out, &in), 0, "latin1 as utf-8");
	is_str(in.charset, "windows-1252", "detected windows-1252");
	is_int(in.source, TM_CHARSET_DETECTED, "source detected");
	is_str(in.declared, "UTF-8", "the declaration overridden");
	ok(in.confidence > 0 && in.confidence <= 100, "confidence %d", in.confidence);
	ok(strstr(out.buf, "crèmes brûlées") && strstr(out.buf, "sœurs"), "French text decoded");
	is_int(in.replaced, 0, "nothing replaced");

	/* mislabelled UTF-8 under a legacy label */
	is_int(sconv("caf\xc3\xa9 cr\xc3\xa8me", "text/html; charset=iso-8859-1", &out, &in), 0,
	       "UTF-8 labelled latin1");
	is_str(out.buf, "café crème", "read as UTF-8");
	is_str(in.charset, "UTF-8", "charset UTF-8");
	is_int(in.source, TM_CHARSET_DETECTED, "source detected");
	is_str(in.declared, "windows-1252", "declared windows-1252 overridden");
	ok(in.fast, "fast path");

	/* unmappable in a DBCS: U+FFFD (not U+001A), under 1%: the label holds */
	encode("Shift_JIS", "東京は日本の首都であり、世界で最も人口の多い都市圏の一つです。"
	       "東京は日本の首都であり、世界で最も人口の多い都市圏の一つです。", &t);
	tm_buf_addstr(&t, "a\x80\xff" "b");
	is_int(conv(t.buf, t.len, "text/html; charset=shift_jis", &out, &in), 0, "bad SJIS");
	ok(out.len > 8 && !strcmp(out.buf + out.len - 8, "a\xef\xbf\xbd\xef\xbf\xbd" "b"),
	   "two replacements");
	is_int(in.replaced, 2, "counted");
	is_str(in.charset, "Shift_JIS", "label kept");
	is_int(in.source, TM_CHARSET_HTTP, "source http");
	/* a short one over 1%: detection is asked, and finds nothing better */
	is_int(sconv("a\x80\xff" "b", "text/html; charset=shift_jis", &out, &in), 0, "short bad SJIS");
	ok(in.replaced <= 2, "at most two replaced (%s, %" PRIu64 ")", in.charset, in.replaced);

	/* the size cap */
	tm_charset_set_max(ctx, 10);
	is_int(tm_charset_to_utf8(ctx, "0123456789a", 11, NULL, &out, &in, &err), TM_ETOOBIG,
	       "over the cap is TM_ETOOBIG");
	ok(strstr(err.msg, "11 bytes") != NULL, "message names the size: %s", err.msg);
	is_int(sconv("0123456789", NULL, &out, &in), 0, "at the cap is fine");
	tm_charset_set_max(ctx, 32u << 20);
	tm_buf_release(&out);
	tm_buf_release(&t);
}

static void test_nfc(void)
{
	struct tm_buf out = TM_BUF_INIT, t = TM_BUF_INIT;
	struct tm_charset_info in;
	int i;

	is_int(sconv("caf" "e\xcc\x81", NULL, &out, &in), 0, "NFD input");
	is_str(out.buf, "caf\xc3\xa9", "e + U+0301 becomes U+00E9");
	ok(in.normalized, "normalized");
	ok(!in.fast, "not fast");
	is_str(in.charset, "UTF-8", "UTF-8");

	is_int(sconv("\xe1\x84\x92\xe1\x85\xa1\xe1\x86\xab", NULL, &out, &in), 0, "Hangul jamo");
	is_str(out.buf, "한", "jamo compose to U+D55C");
	ok(in.normalized, "normalized");

	is_int(sconv("caf\xc3\xa9 中文 Привет", NULL, &out, &in), 0, "NFC input");
	is_str(out.buf, "caf\xc3\xa9 中文 Привет", "unchanged");
	ok(!in.normalized, "not normalized");
	ok(in.fast, "fast path");

	/* a Maybe character that composes with nothing: not changed */
	is_int(sconv("x\xcc\x81", NULL, &out, &in), 0, "x + U+0301");
	is_str(out.buf, "x\xcc\x81", "no precomposed x-acute");
	ok(!in.normalized, "quick check said maybe, NFC changed nothing");

	/* through a legacy charset: NFD in windows-1258 (Vietnamese uses combining tones) */
	is_int(sconv("a\xec", "text/html; charset=windows-1258", &out, &in), 0, "cp1258 tone");
	is_str(out.buf, "\xc3\xa1", "a + combining acute (0xEC) is U+00E1");
	ok(in.normalized, "normalized after conversion");

	/* long CJK text: chunked quick check; a mark after 16 KiB */
	for (i = 0; i < 8000; i++)
		tm_buf_addstr(&t, "中");
	is_int(conv(t.buf, t.len, NULL, &out, &in), 0, "24000 bytes of CJK");
	ok(in.fast && !in.normalized && out.len == t.len, "fast, unchanged");
	tm_buf_addstr(&t, "e\xcc\x81");
	is_int(conv(t.buf, t.len, NULL, &out, &in), 0, "CJK then NFD");
	ok(in.normalized && !in.fast, "normalized");
	ok(out.len == t.len - 1 && !memcmp(out.buf + out.len - 2, "\xc3\xa9", 2), "é at the end");

	/*
	 * Canonical order broken exactly at the 16 KiB chunk edge: aleph,
	 * U+0591 (ccc 220) | U+05B0 (ccc 10).  Both marks are NFC_QC=Yes, so
	 * only a chunk split that keeps them together sees the misordering.
	 */
	tm_buf_reset(&t);
	for (i = 0; i < 5460; i++)
		tm_buf_addstr(&t, "中");
	tm_buf_addstr(&t, "\xd7\x90\xd6\x91");
	is_int(t.len, 16384, "marks straddle offset 16384");
	tm_buf_addstr(&t, "\xd6\xb0 tail");
	is_int(conv(t.buf, t.len, NULL, &out, &in), 0, "misordered marks at the edge");
	ok(in.normalized, "reordering found across the chunk edge");
	ok(out.len == t.len && !memcmp(out.buf + 16380, "\xd7\x90\xd6\xb0\xd6\x91 tail", 11),
	   "reordered to U+05B0 U+0591");
	tm_buf_release(&out);
	tm_buf_release(&t);
}

static void test_controls(void)
{
	struct tm_buf out = TM_BUF_INIT;
	struct tm_charset_info in;

	is_int(conv("a\0b\x01" "c\td\fe\r\n\x1b[0m\x7f", 16, NULL, &out, &in), 0, "controls UTF-8");
	is_mem(out.buf, out.len, "abc\td e\r\n[0m\x7f", 13, "NUL, 01, ESC dropped, FF a space");
	is_int(in.dropped, 4, "four counted");
	ok(in.fast, "still the fast path");

	is_int(conv("\xcf\0\xf0\x01", 4, "text/html; charset=windows-1251", &out, &in), 0,
	       "controls cp1251");
	is_str(out.buf, "Пр", "dropped after conversion");
	is_int(in.dropped, 2, "two counted");

	is_int(conv("\0e\xcc\x81\0", 5, NULL, &out, &in), 0, "controls and NFD");
	is_str(out.buf, "\xc3\xa9", "dropped and normalized");
	is_int(in.dropped, 2, "two dropped");
	ok(in.normalized, "normalized");

	/* U+FEFF inside the text stays (a ZWNBSP), only leading ones go */
	is_int(sconv("\xef\xbb\xbf\xef\xbb\xbfx\xef\xbb\xbf", NULL, &out, &in), 0, "two BOMs");
	is_str(out.buf, "x\xef\xbb\xbf", "both leading BOMs stripped, the inner one kept");
	is_int(sconv("\x01\xef\xbb\xbfx", NULL, &out, &in), 0, "control then BOM");
	is_str(out.buf, "x", "a BOM first once the control is gone is stripped");
	ok(in.fast, "still fast");
	is_int(conv("\xff\xfe\xff\xfe\0\0x\0", 8, NULL, &out, &in), 0, "UTF-16LE: BOM, ZWNBSP, NUL");
	is_str(out.buf, "x", "all stripped in the ICU path");
	is_int(sconv("a\xef\xbb\xbf" "b", NULL, &out, &in), 0, "inner FEFF");
	is_str(out.buf, "a\xef\xbb\xbf" "b", "inner FEFF kept");
	is_int(conv("\x84\x31\x95\x33x", 5, "text/html; charset=gb18030", &out, &in), 0,
	       "gb18030 U+FEFF first");
	is_str(out.buf, "x", "leading U+FEFF stripped after conversion");
	tm_buf_release(&out);
}

static const char ja[] =
	"日本語の文章を書くときには、漢字と平仮名と片仮名を使い分けます。"
	"東京は日本の首都であり、世界で最も人口の多い都市圏の一つです。"
	"今日はとても良い天気なので、公園へ散歩に行きましょう。"
	"この商品は送料無料で、注文の翌日にお届けいたします。"
	"私たちは毎朝七時に起きて、朝ご飯を食べてから学校へ行きます。"
	"図書館で借りた本を読み終わったので、明日返しに行くつもりです。";
static const char ru[] =
	"Москва является столицей Российской Федерации и крупнейшим городом страны. "
	"В городе много музеев, театров и парков, которые привлекают туристов со всего мира. "
	"Сегодня хорошая погода, поэтому мы пойдём гулять в парк после обеда. "
	"Наша компания предлагает широкий выбор товаров по доступным ценам. "
	"Пожалуйста, свяжитесь с нами по телефону или электронной почте.";

static void test_detect(void)
{
	struct tm_buf out = TM_BUF_INIT, t = TM_BUF_INIT, html = TM_BUF_INIT;
	struct tm_charset_info in;
	static const struct {
		const char *icu, *want, *text;
	} t2[] = {
		{ "Shift_JIS", "Shift_JIS", ja },
		{ "EUC-JP", "EUC-JP", ja },
		{ "KOI8-R", "KOI8-R", ru },
		{ "windows-1251", "windows-1251", ru },
	};

	for (size_t i = 0; i < TM_ARRAY_SIZE(t2); i++) {
		tm_buf_reset(&html);
		tm_buf_addf(&html, "<html><head><title>t</title></head><body><p>%s</p><p>%s</p>"
			    "</body></html>", t2[i].text, t2[i].text);
		encode(t2[i].icu, html.buf, &t);
		is_int(conv(t.buf, t.len, "text/html", &out, &in), 0, t2[i].icu);
		is_str(in.charset, t2[i].want, "detected charset");
		is_int(in.source, TM_CHARSET_DETECTED, "source detected");
		ok(in.confidence >= 10 && in.confidence <= 100, "confidence %d", in.confidence);
		is_str(out.buf, html.buf, "round trip to the original UTF-8");
		is_int(in.replaced, 0, "nothing replaced");
	}

	/* a declared legacy charset that fails badly: EUC-JP labelled Shift_JIS */
	encode("EUC-JP", ja, &t);
	is_int(conv(t.buf, t.len, "text/html; charset=shift_jis", &out, &in), 0, "EUC-JP as SJIS");
	is_str(in.charset, "EUC-JP", "detection wins");
	is_str(in.declared, "Shift_JIS", "declaration overridden");
	is_int(in.source, TM_CHARSET_DETECTED, "source detected");
	is_str(out.buf, ja, "decoded right");

	/* no declaration, no detection: windows-1252 by default */
	is_int(conv("\xff", 1, NULL, &out, &in), 0, "one byte 0xFF");
	ok(in.source == TM_CHARSET_DEFAULT || in.source == TM_CHARSET_DETECTED,
	   "default or detected (%s %s)", tm_charset_source_name(in.source), in.charset);
	is_int(conv("", 0, NULL, &out, &in), 0, "empty input");
	is_int(out.len, 0, "empty output");
	is_str(in.charset, "UTF-8", "empty is UTF-8");
	tm_buf_release(&out);
	tm_buf_release(&t);
	tm_buf_release(&html);
}

/* Every response body of a real WARC file; `gzip_raw` as in ClueWeb09. */
struct page {
	char url[256];
	char ct[128];
	struct tm_buf body;
};

static size_t read_pages(const char *rel, struct page *pages, size_t max, int *decode_rc)
{
	struct tm_buf path = TM_BUF_INIT;
	struct tm_err err = TM_ERR_INIT;
	struct tm_reader *in;
	struct tm_warc_reader *wr;
	struct tm_warc_record *rec;
	struct tm_http h = TM_HTTP_INIT;
	size_t n = 0;
	int rc;

	tm_buf_addf(&path, "%s/warc/%s", tap_data_dir(), rel);
	if (tm_reader_open(path.buf, &in, &err)) {
		tap_diag("%s: %s", path.buf, err.msg);
		tm_buf_release(&path);
		return 0;
	}
	tm_warc_reader_new(in, NULL, &wr);
	while (tm_warc_next(wr, &rec, &err) == 1 && n < max) {
		if (rec->type != TM_WARC_RESPONSE || tm_http_parse(&h, rec->block, rec->block_len,
								  &err))
			continue;
		struct page *p = &pages[n++];

		snprintf(p->url, sizeof(p->url), "%s", rec->target_uri ? rec->target_uri : "");
		snprintf(p->ct, sizeof(p->ct), "%s",
			 tm_http_field(&h, "Content-Type") ? tm_http_field(&h, "Content-Type") : "");
		tm_buf_init(&p->body, 0);
		rc = tm_http_body(&h, TM_HTTP_DECHUNK | TM_HTTP_DECODE, 8 << 20, &p->body, &err);
		if (rc) {
			/* stored decoded despite Content-Encoding: use as stored */
			*decode_rc = rc;
			tm_buf_reset(&p->body);
			tm_buf_add(&p->body, h.body, h.body_len);
		}
	}
	tm_http_release(&h);
	tm_warc_reader_free(wr);
	tm_reader_free(in);
	tm_buf_release(&path);
	return n;
}

static void test_warcfile(void)
{
	static struct page pages[32];
	struct tm_buf out = TM_BUF_INIT;
	struct tm_charset_info in;
	int rc = 0;
	static const struct {
		const char *cs;
		enum tm_charset_source src;
		const char *phrase;
	} want[] = {
		{ "UTF-8", TM_CHARSET_META, "湖北屹倍烁有限责任公司" },
		{ "windows-1251", TM_CHARSET_HTTP, "Стратегия пожарной безопасности" },
		/* two Content-Type fields; the last, "text/html", has no charset */
		{ "UTF-8", TM_CHARSET_META, "大有网上开户" },
		{ "gb18030", TM_CHARSET_HTTP, "视频" },
		{ "gb18030", TM_CHARSET_META, "_主页" },
		{ "UTF-8", TM_CHARSET_META, "福码堂" },
		{ "UTF-8", TM_CHARSET_HTTP, "在线观看" },
		{ "UTF-8", TM_CHARSET_BOM, "视频" },
		{ "windows-1252", TM_CHARSET_META, "d’Italia" },
		{ "windows-1252", TM_CHARSET_META, "Übersichten" },
		{ "UTF-8", TM_CHARSET_HTTP, "上海聚一行工艺礼品有限公司" },
		{ "gb18030", TM_CHARSET_META, "_主页" },
		{ "gb18030", TM_CHARSET_HTTP, "三乡招聘" },
		{ "gb18030", TM_CHARSET_META, "_主页" },
		{ "UTF-8", TM_CHARSET_HTTP, "één" },
		{ "gb18030", TM_CHARSET_META, "正在播放" },
	};
	size_t n = read_pages("resiliparse/warcfile.warc.gz", pages, TM_ARRAY_SIZE(pages), &rc);

	is_int(n, TM_ARRAY_SIZE(want), "warcfile: 16 responses");
	is_int(rc, 0, "warcfile: bodies decode");
	for (size_t i = 0; i < n && i < TM_ARRAY_SIZE(want); i++) {
		struct page *p = &pages[i];

		is_int(conv(p->body.buf, p->body.len, p->ct, &out, &in), 0, p->url);
		is_str(in.charset, want[i].cs, "charset");
		is_str(tm_charset_source_name(in.source), tm_charset_source_name(want[i].src),
		       "source");
		ok(strstr(out.buf, want[i].phrase) != NULL, "'%s' in the output", want[i].phrase);
		is_int(in.replaced, 0, "nothing replaced");
		ok(!memchr(out.buf, '\0', out.len), "no NUL");
		is_str(in.declared, "", "declaration held");
		ok(in.fast == !strcmp(want[i].cs, "UTF-8"), "fast path exactly for UTF-8");
	}
	/* the BOM page: no BOM in the output */
	ok(n > 7 && memcmp(pages[7].body.buf, "\xef\xbb\xbf", 3) == 0, "page 7 starts with a BOM");
	is_int(conv(pages[7].body.buf, pages[7].body.len, NULL, &out, &in), 0, "page 7");
	ok(memcmp(out.buf, "\xef\xbb\xbf", 3) != 0, "BOM stripped");
	is_int(out.len, pages[7].body.len - 3, "only the BOM removed");

	/* without the HTTP header the meta decides; without both, ICU */
	is_int(conv(pages[1].body.buf, pages[1].body.len, NULL, &out, &in), 0, "cp1251 page, no http");
	is_str(in.charset, "windows-1251", "meta windows-1251");
	is_int(in.source, TM_CHARSET_META, "source meta");
	for (char *q = pages[1].body.buf; (q = strstr(q, "charset")) != NULL; q++)
		*q = 'x';
	is_int(conv(pages[1].body.buf, pages[1].body.len, NULL, &out, &in), 0,
	       "cp1251 page without declarations");
	is_str(in.charset, "windows-1251", "detected windows-1251");
	is_int(in.source, TM_CHARSET_DETECTED, "source detected");
	ok(strstr(out.buf, "Стратегия пожарной безопасности") != NULL, "Russian text decoded");
	tm_buf_release(&out);
	for (size_t i = 0; i < n; i++)
		tm_buf_release(&pages[i].body);
}

static void test_clueweb(void)
{
	static struct page pages[40];
	struct tm_buf out = TM_BUF_INIT;
	struct tm_charset_info in;
	char b[32];
	int rc = 0, bad = 0;
	size_t n = read_pages("resiliparse/clueweb-quirk.warc.gz", pages, TM_ARRAY_SIZE(pages), &rc);

	is_int(n, 29, "clueweb: 29 responses");
	/*
	 * "Content-Encoding: gzip" but ClueWeb09 stored the bodies decoded:
	 * tm_http_body sees no gzip magic and passes them through.
	 */
	is_int(rc, 0, "clueweb: bodies stored decoded under a gzip header pass through");
	for (size_t i = 0; i < n; i++) {
		struct page *p = &pages[i];

		if (conv(p->body.buf, p->body.len, p->ct, &out, &in) ||
		    strcmp(in.charset, "EUC-JP") || in.source != TM_CHARSET_HTTP ||
		    in.replaced || !strstr(out.buf, "ヘッドポーター") ||
		    !strstr(out.buf, "吉田カバン") ||
		    strcmp(tm_charset_html_meta(p->body.buf, p->body.len, b, sizeof(b)), "EUC-JP")) {
			tap_diag("%s: %s %s %" PRIu64, p->url, in.charset,
				 tm_charset_source_name(in.source), in.replaced);
			bad++;
		}
	}
	is_int(bad, 0, "every clueweb page: EUC-JP from http, meta EUC-JP, Japanese text");
	is_str(pages[0].ct, "text/html; charset=EUC-JP", "clueweb content type");

	/* no declarations at all: ICU detection finds EUC-JP */
	for (char *q = pages[0].body.buf; (q = strstr(q, "EUC-JP")) != NULL; q++)
		*q = 'x';
	is_int(conv(pages[0].body.buf, pages[0].body.len, NULL, &out, &in), 0,
	       "clueweb page without declarations");
	is_str(in.charset, "EUC-JP", "detected EUC-JP");
	is_int(in.source, TM_CHARSET_DETECTED, "source detected");
	ok(strstr(out.buf, "ヘッドポーター") != NULL, "Japanese text decoded");
	/* declared wrongly: Shift_JIS fails on every kana, detection takes over */
	is_int(conv(pages[1].body.buf, pages[1].body.len, "text/html; charset=Shift_JIS", &out, &in),
	       0, "clueweb page labelled Shift_JIS");
	is_str(in.charset, "EUC-JP", "EUC-JP detected");
	is_str(in.declared, "Shift_JIS", "declaration overridden");
	ok(strstr(out.buf, "ヘッドポーター") != NULL, "Japanese text decoded");
	tm_buf_release(&out);
	for (size_t i = 0; i < n; i++)
		tm_buf_release(&pages[i].body);
}

int main(void)
{
	ctx = tm_charset_new();
	if (!ctx)
		BUG("tm_charset_new");
	test_bom();
	test_http();
	test_meta();
	test_names();
	test_replace();
	test_nfc();
	test_controls();
	test_detect();
	test_warcfile();
	test_clueweb();
	tm_charset_free(ctx);
	tm_charset_free(NULL);
	return tap_done();
}
