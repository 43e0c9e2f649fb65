/*
 * f-http.c: libFuzzer target for HTTP parsing and body decoding (chunked,
 * gzip, deflate, zstd) with a small output cap.
 */
#include "tamis.h"
#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tm_http h = TM_HTTP_INIT;
	struct tm_buf out = TM_BUF_INIT;
	const char *p = (const char *)data;
	size_t i;

	(void)tm_http_header_end(p, size);
	if (!tm_http_parse(&h, p, size, NULL)) {
		for (i = 0; i < h.nfields; i++)
			(void)strlen(h.fields[i].name), (void)strlen(h.fields[i].value);
		(void)tm_http_field(&h, "Content-Type");
		if (h.body < p || h.body + h.body_len != p + size)
			BUG("body outside the input");
		for (unsigned f = 0; f < 4; f++) {
			tm_http_body(&h, f, 65536, &out, NULL);
			if (out.len > 65536)
				BUG("body over max");
		}
	}
	tm_http_release(&h);
	tm_buf_release(&out);
	return 0;
}
