/*
 * extract.h: one WARC record (or bare HTML file) to one document: the
 * logic of `tamis extract`, independent of threads and output.
 *
 * A response record becomes a document when its HTTP status is accepted
 * (200 by default), its Content-Type is HTML (or absent and the body
 * sniffs as HTML), it is not cut short (WARC-Truncated, damage) unless
 * allowed, its body is not binary; the body is decoded (chunked,
 * gzip/deflate/zstd), converted to NFC UTF-8 (charset.h) and reduced to
 * its main text (html.h).  A WET conversion record becomes a document as
 * it is.  Everything else is skipped with one reason from
 * enum tm_extract_skip, so that every record is accounted for in stats.
 *
 * Ownership: inputs are borrowed; the output's buffers belong to the
 * output struct (reused across calls).  One struct tm_extract_ctx per
 * worker thread.  Depends on http, charset, html, doc.
 */
#ifndef TM_EXTRACT_H
#define TM_EXTRACT_H

#include "tamis.h"
#include "warc.h"

enum tm_extract_skip {
	TM_X_KEEP = 0,
	TM_X_NON_200,		/* HTTP status not accepted */
	TM_X_NON_HTML,		/* Content-Type not HTML */
	TM_X_TRUNCATED,		/* WARC-Truncated or a damaged record */
	TM_X_TOO_LARGE,		/* over max_html after decoding */
	TM_X_BINARY,		/* sniffed binary despite its Content-Type */
	TM_X_EMPTY,		/* no text after extraction */
	TM_X_PARSE,		/* HTTP or HTML could not be parsed */
	TM_X_CHARSET,		/* the declared charset cannot be converted */
	TM_X__COUNT
};

/* "non_200", "non_html", ... (the removal reasons in stats). */
const char *tm_extract_skip_name(enum tm_extract_skip s);

struct tm_extract_opts {
	int statuses[8];	/* accepted HTTP statuses; {200} by default */
	size_t nstatuses;
	bool keep_truncated;	/* extract records cut at the crawler's limit */
	size_t max_html;	/* decoded body limit (default 16 MiB) */
	bool whole_page;	/* all visible text, no boilerplate removal */
	const char *source;	/* the documents' "source" (default "web") */
};
#define TM_EXTRACT_OPTS_INIT { { 200 }, 1, false, 16u << 20, false, "web" }

/* One record's fields, as the worker needs them (all borrowed). */
struct tm_extract_input {
	enum tm_warc_type type;	/* RESPONSE, CONVERSION, or UNKNOWN for --html */
	const char *id;		/* document id (--html: file stem) or NULL */
	const char *url;
	const char *date;
	const char *record_id;
	const char *filename;	/* WARC-Filename or the input file name */
	uint64_t offset;	/* raw offset of the record */
	const char *truncated;	/* WARC-Truncated reason or NULL */
	bool damaged;		/* rec->damage was set */
	bool oversize;		/* the block was over --max-record: not read */
	const char *block;	/* HTTP message, WET text, or bare HTML */
	size_t block_len;
};

struct tm_extract_output {
	enum tm_extract_skip skip;
	struct tm_buf line;	/* the JSONL document, with its newline */
	size_t text_len;	/* bytes of extracted text */
	size_t html_len;	/* bytes of decoded HTML */
	uint64_t replaced;	/* invalid bytes replaced while converting */
	int http_status;
	char detail[160];	/* why it was skipped, for --stats-docs/debug */
};

void tm_extract_output_release(struct tm_extract_output *o);

struct tm_extract_ctx;

struct tm_extract_ctx *tm_extract_ctx_new(const struct tm_extract_opts *opts);
void tm_extract_ctx_free(struct tm_extract_ctx *c);

/* Turns `in` into `out` (line filled when out->skip is TM_X_KEEP). */
void tm_extract_one(struct tm_extract_ctx *c, const struct tm_extract_input *in,
		    struct tm_extract_output *out);

#endif
