/*
 * f-jsonl.c: libFuzzer target for documents as JSON Lines (lib/doc.c).
 *
 * Splits the input into lines and parses each with one reused tm_doc.
 * Every line that parses must survive the round trip: its written form
 * parses again to an equal tree (json_equal) with the same text bytes,
 * and writing that gives the same bytes (write∘parse∘write == write).
 * A metadata key is then set and the round trip checked again.  Any
 * violation abort()s.
 */
#include "tamis.h"
#include "doc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void roundtrip(struct tm_doc *doc, struct tm_doc *again,
		      struct tm_buf *out1, struct tm_buf *out2)
{
	struct tm_err err = TM_ERR_INIT;
	const char *t1, *t2;
	size_t l1, l2;

	tm_buf_reset(out1);
	tm_doc_write(doc, out1);
	if (!out1->len || out1->buf[out1->len - 1] != '\n' ||
	    memchr(out1->buf, '\n', out1->len - 1))
		abort();
	if (tm_doc_parse(again, out1->buf, out1->len - 1, &err)) {
		fprintf(stderr, "written line does not parse: %s\n%s",
			err.msg, out1->buf);
		abort();
	}
	if (!json_equal(doc->root, again->root))
		abort();
	t1 = tm_doc_text(doc, &l1);
	t2 = tm_doc_text(again, &l2);
	if (l1 != l2 || memcmp(t1, t2, l1))
		abort();
	tm_buf_reset(out2);
	tm_doc_write(again, out2);
	if (out1->len != out2->len || memcmp(out1->buf, out2->buf, out1->len)) {
		fprintf(stderr, "write is not stable:\n%s%s", out1->buf,
			out2->buf);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tm_doc doc = TM_DOC_INIT, again = TM_DOC_INIT;
	struct tm_buf out1 = TM_BUF_INIT, out2 = TM_BUF_INIT;
	struct tm_err err = TM_ERR_INIT;
	const char *p = (const char *)data, *end = p + size, *nl;
	double d;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		if (tm_doc_parse(&doc, p, (size_t)(nl - p), &err) == 0) {
			roundtrip(&doc, &again, &out1, &out2);
			/* Mutate: a real from the line, then the id. */
			d = (double)(nl - p) / 7.0;
			if (tm_doc_meta_set_double(&doc, "fuzz", d, &err) ||
			    !tm_doc_meta_double(&doc, "fuzz", &d) ||
			    d != (double)(nl - p) / 7.0)
				abort();
			if (tm_doc_set_id(&doc, "fuzz-id", &err))
				abort();
			roundtrip(&doc, &again, &out1, &out2);
		} else if (tm_doc_loaded(&doc) || !err.msg[0]) {
			abort();
		}
		p = nl + 1;
	}
	tm_doc_release(&doc);
	tm_doc_release(&again);
	tm_buf_release(&out1);
	tm_buf_release(&out2);
	return 0;
}
