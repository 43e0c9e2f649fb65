/*
 * jsonl.c: JSON Lines document streams (see jsonl.h).
 */
#include "tamis.h"
#include "jsonl.h"

void tm_jsonl_init(struct tm_jsonl_reader *jr, struct tm_reader *in)
{
	jr->in = in;
	tm_buf_init(&jr->line, 0);
	jr->lineno = 0;
	jr->errors = 0;
	jr->text_first = false;
	jr->scanned = false;
	jr->text = NULL;
	jr->text_len = 0;
	tm_buf_init(&jr->unescaped, 0);
}

void tm_jsonl_set_text_first(struct tm_jsonl_reader *jr, bool on)
{
	jr->text_first = on;
}

const char *tm_jsonl_text(const struct tm_jsonl_reader *jr, const struct tm_doc *doc,
			  size_t *len)
{
	if (jr->scanned) {
		*len = jr->text_len;
		return jr->text;
	}
	return tm_doc_text(doc, len);
}

void tm_jsonl_load(const struct tm_jsonl_reader *jr, struct tm_doc *doc)
{
	struct tm_err err = TM_ERR_INIT;

	if (tm_doc_loaded(doc))
		return;
	if (!jr->scanned || tm_doc_parse(doc, jr->line.buf, jr->line.len, &err) < 0)
		BUG("tm_jsonl_load: a scanned line failed to parse: %s", err.msg);
}

void tm_jsonl_release(struct tm_jsonl_reader *jr)
{
	tm_buf_release(&jr->line);
	tm_buf_release(&jr->unescaped);
}

int tm_jsonl_next(struct tm_jsonl_reader *jr, struct tm_doc *doc,
		  struct tm_err *err)
{
	size_t cap = doc->max_line ? doc->max_line : TM_DOC_MAX_LINE_DEFAULT;
	int rc;

	for (;;) {
		rc = tm_reader_getline(jr->in, &jr->line, cap, true, err);
		if (rc == 0)
			return 0;
		jr->lineno++;
		if (rc < 0) {
			if (rc == TM_ETOOBIG)
				jr->errors++;
			err->line = jr->lineno;
			snprintf(err->file, sizeof(err->file), "%s",
				 tm_reader_name(jr->in));
			if (rc == TM_ETOOBIG)
				err->offset = TM_ERR_NO_OFFSET;
			return rc;
		}
		if (!jr->line.len)
			continue;
		jr->scanned = false;
		if (jr->text_first && jr->line.len <= cap &&
		    tm_doc_scan_text(jr->line.buf, jr->line.len, &jr->unescaped,
				     &jr->text, &jr->text_len)) {
			tm_doc_clear(doc);
			jr->scanned = true;
			return 1;
		}
		rc = tm_doc_parse(doc, jr->line.buf, jr->line.len, err);
		if (rc < 0) {
			jr->errors++;
			err->line = jr->lineno;
			err->offset = TM_ERR_NO_OFFSET;
			snprintf(err->file, sizeof(err->file), "%s",
				 tm_reader_name(jr->in));
			return rc;
		}
		return 1;
	}
}
