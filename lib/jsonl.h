/*
 * jsonl.h: reading a stream of documents, one JSON object per line
 * (DESIGN.md "Documents"), through stream.h (any compression) and doc.h.
 *
 * A malformed line is an error that names the file and the line number
 * (tm_jsonl_next() returns it; the caller counts it against --max-errors
 * and calls again: reading goes on at the next line).  Blank lines are
 * skipped silently; a line longer than the document cap is TM_ETOOBIG.
 *
 * Ownership: the reader does not own the tm_reader it reads or the
 * tm_doc it fills.  Memory: one line buffer (the longest line seen).
 */
#ifndef TM_JSONL_H
#define TM_JSONL_H

#include "tamis.h"
#include "stream.h"
#include "doc.h"

struct tm_jsonl_reader {
	struct tm_reader *in;
	struct tm_buf line;
	long lineno;		/* of the last line read, 1-based */
	uint64_t errors;	/* malformed lines so far */
	/* text-first reading (tm_jsonl_set_text_first()) */
	bool text_first;
	bool scanned;		/* the last line was scanned, not parsed */
	const char *text;	/* its "text" then */
	size_t text_len;
	struct tm_buf unescaped;
};

void tm_jsonl_init(struct tm_jsonl_reader *jr, struct tm_reader *in);
void tm_jsonl_release(struct tm_jsonl_reader *jr);

/*
 * Parses the next document into `doc`.  Returns 1, 0 at the end, or a
 * negative code with err naming the file and line: TM_EFORMAT/TM_EINVAL
 * (a malformed line, skipped: call again), TM_ETOOBIG (over the cap,
 * skipped), TM_EIO or TM_ECODEC (the input itself failed).
 */
int tm_jsonl_next(struct tm_jsonl_reader *jr, struct tm_doc *doc,
		  struct tm_err *err);

/*
 * Text-first reading, for stages that mostly need only "text": when on,
 * tm_jsonl_next() scans each line with tm_doc_scan_text() and leaves the
 * doc empty where that succeeds (same acceptance, same errors, a fraction
 * of the time); tm_jsonl_text() then gives the text and tm_jsonl_load()
 * parses the full document when a stage needs more of it.
 */
void tm_jsonl_set_text_first(struct tm_jsonl_reader *jr, bool on);

/* The "text" of the document tm_jsonl_next() last returned (not NUL-terminated). */
const char *tm_jsonl_text(const struct tm_jsonl_reader *jr, const struct tm_doc *doc,
			  size_t *len);

/* Makes sure `doc` holds the whole document tm_jsonl_next() last returned. */
void tm_jsonl_load(const struct tm_jsonl_reader *jr, struct tm_doc *doc);

#endif
