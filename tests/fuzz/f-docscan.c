/*
 * f-docscan.c: libFuzzer target for tm_doc_scan_text() (lib/docscan.c),
 * the tree-less reader of a document's "text", against tm_doc_parse()
 * (jansson).
 *
 * Whenever the scanner accepts a line, tm_doc_parse() must accept it too
 * and tm_doc_text() must be the same bytes; a mismatch aborts.  (The other
 * way round is allowed: the scanner may say "not sure" of a valid line,
 * whose parse then costs the usual time.)  The first byte of the input
 * picks a frame so that mutations also land inside a valid document: 0
 * uses the bytes as the whole line, 1 as the text string's inside, 2 as a
 * metadata value, 3 as the value of an unknown key.
 */
#include "tamis.h"
#include "doc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const char *line, size_t len)
{
	static struct tm_buf buf = TM_BUF_INIT;
	struct tm_doc doc = TM_DOC_INIT;
	const char *text, *want;
	size_t tlen, wlen;

	if (!tm_doc_scan_text(line, len, &buf, &text, &tlen))
		return;
	if (tm_doc_parse(&doc, line, len, NULL) < 0)
		BUG("the scanner accepted a line jansson refuses: '%.*s'", (int)len, line);
	want = tm_doc_text(&doc, &wlen);
	if (wlen != tlen || memcmp(want, text, tlen))
		BUG("the scanner's text differs from jansson's: '%.*s'", (int)len, line);
	tm_doc_release(&doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const frame[][2] = {
		{ "", "" },
		{ "{\"id\":\"x\",\"text\":\"", "\",\"metadata\":{}}" },
		{ "{\"text\":\"a b\",\"metadata\":{\"k\":", "}}" },
		{ "{\"text\":\"a\",\"x\":", ",\"id\":\"1\"}" },
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
