/*
 * f-docscan.c: libFuzzer target for tm_doc_scan_text() (lib/docscan.c),
 * the tree-less reader of a document's "text", against tm_doc_parse()
 * (jansson).
 *
 * Whenever the scanner accepts a line, tm_doc_parse() must accept it too
 * and tm_doc_text() must be the same bytes, and the "source" span must
 * hold the string jansson read as "source"; a mismatch aborts.  (The other
 * way round is allowed: the scanner may say "not sure" of a valid line,
 * whose parse then costs the usual time.)  The first byte of the input
 * picks a frame so that mutations also land inside a valid document: 0
 * uses the bytes as the whole line, 1 as the text string's inside, 2 as a
 * metadata value, 3 as the value of an unknown key, 4 as the source
 * string's inside.
 */
#include "tamis.h"
#include "doc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* metadata.KEY as the scanner saw it agrees with jansson's. */
static void same_meta(struct tm_doc *doc, const char *key, const char *got, size_t glen,
		      bool escaped, const char *line, size_t len)
{
	const char *want = tm_doc_meta_str(doc, key);

	if (got ? !want || strlen(want) != glen || memcmp(want, got, glen) : want && !escaped)
		BUG("the scanner's metadata.%s differs from jansson's: '%.*s'", key, (int)len, line);
}

static void check(const char *line, size_t len)
{
	static struct tm_buf buf = TM_BUF_INIT, spliced = TM_BUF_INIT;
	struct tm_doc doc = TM_DOC_INIT, doc2 = TM_DOC_INIT;
	struct tm_doc_view v;
	const char *want;
	size_t wlen;

	if (!tm_doc_scan(line, len, &buf, &v))
		return;
	if (tm_doc_parse(&doc, line, len, NULL) < 0)
		BUG("the scanner accepted a line jansson refuses: '%.*s'", (int)len, line);
	want = tm_doc_text(&doc, &wlen);
	if (wlen != v.text_len || memcmp(want, v.text, wlen))
		BUG("the scanner's text differs from jansson's: '%.*s'", (int)len, line);
	same_meta(&doc, "lang", v.lang, v.lang_len, v.meta_escaped, line, len);
	same_meta(&doc, "url", v.url, v.url_len, v.meta_escaped, line, len);
	/* the source's span holds the string jansson read, or nothing */
	if (!tm_doc_source(&doc) != !v.source_end)
		BUG("the scanner's source span disagrees with jansson: '%.*s'", (int)len, line);
	if (v.source_end) {
		if (line[v.source_start] != '"' || line[v.source_end - 1] != '"')
			BUG("the source's span is not its string: '%.*s'", (int)len, line);
		tm_buf_reset(&spliced);
		tm_buf_addstr(&spliced, "{\"text\":\"\",\"source\":");
		tm_buf_add(&spliced, line + v.source_start, v.source_end - v.source_start);
		tm_buf_addch(&spliced, '}');
		if (tm_doc_parse(&doc2, spliced.buf, spliced.len, NULL) < 0 ||
		    strcmp(tm_doc_source(&doc2), tm_doc_source(&doc)))
			BUG("the source's span reads another source: '%.*s'", (int)len, line);
		tm_doc_clear(&doc2);
	}
	/* splicing the text, escaped again, where it was gives the same document */
	if (line[v.text_start] != '"' || line[v.text_end - 1] != '"')
		BUG("the text's span is not its string: '%.*s'", (int)len, line);
	tm_buf_reset(&spliced);
	tm_buf_add(&spliced, line, v.text_start);
	tm_json_escape(v.text, v.text_len, &spliced);
	tm_buf_add(&spliced, line + v.text_end, len - v.text_end);
	if (tm_doc_parse(&doc2, spliced.buf, spliced.len, NULL) < 0)
		BUG("a spliced line does not parse: '%.*s'", (int)spliced.len, spliced.buf);
	want = tm_doc_text(&doc2, &wlen);
	if (wlen != v.text_len || memcmp(want, v.text, wlen))
		BUG("a spliced line has another text: '%.*s'", (int)len, line);
	tm_doc_release(&doc);
	tm_doc_release(&doc2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const frame[][2] = {
		{ "", "" },
		{ "{\"id\":\"x\",\"text\":\"", "\",\"metadata\":{}}" },
		{ "{\"text\":\"a b\",\"metadata\":{\"lang\":\"en\",\"k\":", ",\"url\":\"u\"}}" },
		{ "{\"text\":\"a\",\"x\":", ",\"id\":\"1\"}" },
		{ "{\"text\":\"a\",\"source\":\"", "\",\"metadata\":{}}" },
	};
	struct tm_buf line = TM_BUF_INIT;
	unsigned f;

	if (!size || size > 1 << 16)
		return 0;
	f = data[0] % TM_ARRAY_SIZE(frame);
	tm_buf_add(&line, frame[f][0], strlen(frame[f][0]));
	tm_buf_add(&line, data + 1, size - 1);
	tm_buf_add(&line, frame[f][1], strlen(frame[f][1]));
	check(line.buf, line.len);
	tm_buf_release(&line);
	return 0;
}
