/*
 * f-html.c: the HTML-to-text path (libxml2 parse, measure, score, write)
 * on arbitrary bytes, with small limits so deep and long inputs are cheap.
 * Checks that the text is NUL-free UTF-8-as-given and that extraction is
 * deterministic (the same input twice gives the same text).
 */
#include "tamis.h"
#include "html.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tm_html_ctx *ctx;
	struct tm_html_opts o = TM_HTML_OPTS_INIT;
	struct tm_html_result a = TM_HTML_RESULT_INIT, b = TM_HTML_RESULT_INIT;
	struct tm_err err = TM_ERR_INIT;
	int rc1, rc2;

	if (!ctx) {
		o.max_size = 1u << 20;
		o.max_depth = 64;
		ctx = tm_html_ctx_new(&o);
	}
	rc1 = tm_html_extract(ctx, (const char *)data, size, NULL, &a, &err);
	rc2 = tm_html_extract(ctx, (const char *)data, size, NULL, &b, &err);
	if (rc1 != rc2 || a.text.len != b.text.len ||
	    memcmp(a.text.buf, b.text.buf, a.text.len))
		abort();
	if (rc1 == 0 && memchr(a.text.buf, '\0', a.text.len))
		abort();
	tm_html_result_release(&a);
	tm_html_result_release(&b);
	return 0;
}
