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
}

void tm_jsonl_release(struct tm_jsonl_reader *jr)
{
	tm_buf_release(&jr->line);
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
