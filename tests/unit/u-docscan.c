/*
 * u-docscan.c: tm_doc_scan_text(), the tree-less reader of "text".
 *
 * A table of lines says which ones the scanner must take on its own (the
 * common shapes: plain, escaped, every JSON type in metadata) and which
 * it must leave to tm_doc_parse() ("not sure": invalid, or where only
 * jansson knows, e.g. integer overflow); for every line, whenever the
 * scanner is sure, jansson must agree and give the same text.  Then
 * random documents written by tm_doc_write() (what every stage outputs),
 * with random text over the whole of Unicode, must all be scanned without
 * jansson and read back to the same text.
 */
#include "tamis.h"
#include "doc.h"
#include "tap.h"

static struct tm_buf buf = TM_BUF_INIT;

/* Scans `line`; checks agreement with jansson; returns the verdict. */
static int scan(const char *line, size_t len, const char *name)
{
	struct tm_doc doc = TM_DOC_INIT;
	const char *text, *want;
	size_t tlen, wlen;
	bool sure = tm_doc_scan_text(line, len, &buf, &text, &tlen);

	if (!sure)
		return 0;
	if (tm_doc_parse(&doc, line, len, NULL) < 0) {
		ok(0, "%s: scanned, but jansson refuses it", name);
		return -1;
	}
	want = tm_doc_text(&doc, &wlen);
	if (wlen != tlen || memcmp(want, text, tlen)) {
		is_mem(text, tlen, want, wlen, name);
		tm_doc_release(&doc);
		return -1;
	}
	tm_doc_release(&doc);
	return 1;
}

static const struct {
	const char *line;
	int sure;
	const char *text;	/* when sure */
} cases[] = {
	{ "{\"id\":\"a\",\"text\":\"hello world\",\"metadata\":{\"url\":\"http://x/\"}}", 1, "hello world" },
	{ " {\t\"text\" : \"a\" , \"id\" : \"b\" }\r", 1, "a" },
	{ "{\"text\":\"\"}", 1, "" },
	{ "{\"text\":\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\te\"}", 1, "a\"b\\c/d\b\f\n\r\te" },
	{ "{\"text\":\"\\u00e9\\u20ac\\ud83d\\ude00\"}", 1, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80" },
	{ "{\"text\":\"Gr\xc3\xbc\xc3\x9f" "e \xe4\xb8\x96\xe7\x95\x8c \xf0\x9f\x98\x80\"}", 1,
	  "Gr\xc3\xbc\xc3\x9f" "e \xe4\xb8\x96\xe7\x95\x8c \xf0\x9f\x98\x80" },
	{ "{\"text\":\"a\",\"metadata\":{\"n\":[1,-0,2.5,-1.25e-3,1E+2,true,false,null,{},[]]}}", 1, "a" },
	{ "{\"x\":{\"text\":5},\"text\":\"top\"}", 1, "top" },
	{ "{\"text\":\"a\",\"m\":123456789012345678}", 1, "a" },
	{ "{\"text\":\"a\",\"m\":1e299}", 1, "a" },
	{ "{\"text\":\"a\",\"m\":1.5e-400}", 1, "a" },
	/* left to jansson */
	{ "{\"text\":\"a\",\"m\":9223372036854775807}", 0, NULL },	/* fits, but 19 digits */
	{ "{\"text\":\"a\",\"m\":9223372036854775808}", 0, NULL },	/* overflows */
	{ "{\"text\":\"a\",\"m\":1e309}", 0, NULL },
	{ "{\"text\":\"a\",\"text\":\"b\"}", 0, NULL },
	{ "{\"t\\u0065xt\":\"a\"}", 0, NULL },
	{ "\xef\xbb\xbf{\"text\":\"a\"}", 0, NULL },
	/* invalid: never sure */
	{ "", 0, NULL },
	{ "{}", 0, NULL },
	{ "[\"text\"]", 0, NULL },
	{ "{\"id\":\"a\"}", 0, NULL },
	{ "{\"text\":1}", 0, NULL },
	{ "{\"text\":\"a\",\"id\":3}", 0, NULL },
	{ "{\"text\":\"a\",\"id\":\"\\u0000\"}", 0, NULL },
	{ "{\"text\":\"a\",\"source\":null}", 0, NULL },
	{ "{\"text\":\"a\",\"metadata\":[]}", 0, NULL },
	{ "{\"text\":\"a\",\"k\\u0000\":1}", 0, NULL },
	{ "{\"text\":\"a\x01" "b\"}", 0, NULL },
	{ "{\"text\":\"\\ud83d x\"}", 0, NULL },
	{ "{\"text\":\"\\ude00\"}", 0, NULL },
	{ "{\"text\":\"\\x\"}", 0, NULL },
	{ "{\"text\":\"\\u12\"}", 0, NULL },
	{ "{\"text\":\"\xc0\xaf\"}", 0, NULL },
	{ "{\"text\":\"\xed\xa0\x80\"}", 0, NULL },
	{ "{\"text\":\"\xf4\x90\x80\x80\"}", 0, NULL },
	{ "{\"text\":\"\xe4\xb8\"}", 0, NULL },
	{ "{\"text\":\"a\"} x", 0, NULL },
	{ "{\"text\":\"a\",}", 0, NULL },
	{ "{\"text\":\"a\",\"m\":[1,]}", 0, NULL },
	{ "{\"text\":\"a\",\"m\":01}", 0, NULL },
	{ "{\"text\":\"a\",\"m\":1.}", 0, NULL },
	{ "{\"text\":\"a\",\"m\":.5}", 0, NULL },
	{ "{\"text\":\"a\",\"m\":+1}", 0, NULL },
	{ "{\"text\":\"a\",\"m\":tru}", 0, NULL },
	{ "{\"text\":\"a\",\"m\":truex}", 0, NULL },
	{ "{\"text\":\"a\"", 0, NULL },
	{ "{\"text\":\"a", 0, NULL },
};

/* A random code point: ASCII (with the escaped ones) most of the time. */
static uint32_t random_cp(void)
{
	uint64_t r = tap_rand();

	switch (r % 8) {
	case 0:
		return (uint32_t)(r >> 8) % 0x20;	/* controls, U+0000 too */
	case 1:
		return 0x80 + (uint32_t)(r >> 8) % 0x780;
	case 2: {
		uint32_t c = 0x800 + (uint32_t)(r >> 8) % 0xf800;

		return c >= 0xd800 && c <= 0xdfff ? 0xfffd : c;
	}
	case 3:
		return 0x10000 + (uint32_t)(r >> 8) % 0x100000;
	default:
		return 0x20 + (uint32_t)(r >> 8) % 0x60;
	}
}

/* Where the "source" string lies: its quotes, or 0 and 0 when absent. */
static void test_source_span(void)
{
	static const char a[] = "{\"text\":\"x\",\"source\" : \"we\\\"b\",\"metadata\":{\"source\":\"no\"}}";
	static const char b[] = "{\"text\":\"x\",\"metadata\":{\"source\":\"no\"}}";
	struct tm_doc_view v;

	ok(tm_doc_scan(a, strlen(a), &buf, &v), "a line with a source is scanned");
	is_mem(a + v.source_start, v.source_end - v.source_start, "\"we\\\"b\"", 7,
	       "source span: the string with its quotes, as written");
	ok(tm_doc_scan(b, strlen(b), &buf, &v), "a line without one too");
	ok(v.source_start == 0 && v.source_end == 0, "no top-level source: an empty span");
}

int main(int argc, char **argv)
{
	struct tm_buf text = TM_BUF_INIT, line = TM_BUF_INIT;
	size_t i;
	int n, unsure = 0, wrong = 0;

	tap_srand(tap_seed(argc, argv));
	for (i = 0; i < TM_ARRAY_SIZE(cases); i++) {
		const char *l = cases[i].line;
		int got = scan(l, strlen(l), l);

		if (got < 0)
			continue;
		if (!ok(got == cases[i].sure, "%s: %s", cases[i].sure ? "scanned" : "left to jansson", l))
			continue;
		if (got) {
			const char *t;
			size_t tl;

			tm_doc_scan_text(l, strlen(l), &buf, &t, &tl);
			is_mem(t, tl, cases[i].text, strlen(cases[i].text), "its text");
		}
	}

	/* Documents as the stages write them: always scanned, same text. */
	for (n = 0; n < 3000; n++) {
		struct tm_doc doc = TM_DOC_INIT;
		struct tm_err err = TM_ERR_INIT;
		size_t len = tap_rand() % 300, j;
		const char *t;
		size_t tl;

		tm_buf_reset(&text);
		for (j = 0; j < len; j++)
			tm_buf_add_utf8(&text, random_cp());
		if (tm_doc_from(&doc, "id-1", text.buf, text.len, "test", &err) < 0 ||
		    tm_doc_meta_set_int(&doc, "n", (int64_t)(tap_rand() % 2000000000000000) -
					1000000000000000, &err) < 0 ||
		    tm_doc_meta_set_double(&doc, "score", (double)(tap_rand() % 100000) / 7.0, &err) < 0 ||
		    tm_doc_meta_set_str(&doc, "url", "https://example.org/a?b=\"c\"", &err) < 0)
			BUG("building a document: %s", err.msg);
		tm_buf_reset(&line);
		tm_doc_write(&doc, &line);
		tm_doc_release(&doc);
		switch (scan(line.buf, line.len - 1, "a written document")) {
		case 0:
			if (unsure++ < 3)
				tap_diag("not scanned: %.*s", (int)line.len - 1, line.buf);
			break;
		case -1:
			wrong++;
			break;
		default:
			break;
		}
		if (tm_doc_scan_text(line.buf, line.len - 1, &buf, &t, &tl) &&
		    (tl != text.len || memcmp(t, text.buf, tl)))
			wrong++;
	}
	is_int(unsure, 0, "3000 written documents: all scanned without jansson");
	is_int(wrong, 0, "... and each gives back its text");
	test_source_span();
	tm_buf_release(&text);
	tm_buf_release(&line);
	tm_buf_release(&buf);
	return tap_done();
}
