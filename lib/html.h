/*
 * html.h: HTML (already UTF-8) to the main-content text of the page.
 *
 * Parses with libxml2's HTML parser (recover mode, no network, no entity
 * loading), removes boilerplate (navigation, headers, footers, sidebars,
 * cookie, share and comment blocks) by structure, class/id vocabulary and
 * text and link density, chooses the element that holds the main content
 * (readability-style scores) with the siblings that belong to it, and
 * writes its text: headings, paragraphs, lists, tables as rows (cells
 * separated by a tab), <pre>/<code> with their whitespace, math (TeX
 * sources of MathJax/KaTeX, MathML, alt text of formula images) and image
 * alt text, without markup of any kind.  docs/EXTRACT.md describes the
 * algorithm and justifies each rule.
 *
 * Bounds: input beyond opts.max_size is refused (TM_ETOOBIG); elements
 * deeper than opts.max_depth are not visited; libxml2's own limits cap
 * text nodes (10 MB) and names.  Time is linear in the input.
 *
 * Ownership: struct tm_html_ctx is one per thread, reused across pages
 * (it keeps the parser context and scratch arrays); the result's buffers
 * belong to the caller.  Depends on libxml2 and buf.h; knows nothing of
 * WARC, HTTP or charsets (the caller converts to UTF-8 first).
 */
#ifndef TM_HTML_H
#define TM_HTML_H

#include "tamis.h"

struct tm_html_opts {
	size_t max_size;	/* bytes of HTML (default 32 MiB) */
	int max_depth;		/* elements deeper are skipped (default 256) */
	bool whole_page;	/* no boilerplate removal: all visible text */
	bool keep_alt;		/* image alt text (default true) */
};
#define TM_HTML_OPTS_INIT { 32u << 20, 256, false, true }

struct tm_html_result {
	struct tm_buf text;	/* the main text, UTF-8, lines joined by \n */
	struct tm_buf title;	/* <title>, whitespace collapsed */
	struct tm_buf lang;	/* <html lang>, as written */
	size_t nodes;		/* elements in the document */
	size_t too_deep;	/* elements skipped for depth */
};
#define TM_HTML_RESULT_INIT { TM_BUF_INIT, TM_BUF_INIT, TM_BUF_INIT, 0, 0 }

void tm_html_result_release(struct tm_html_result *r);

struct tm_html_ctx;

struct tm_html_ctx *tm_html_ctx_new(const struct tm_html_opts *opts);
void tm_html_ctx_free(struct tm_html_ctx *c);

/*
 * Extracts the main text of `html` (UTF-8, `len` bytes) into `res`
 * (cleared first).  `url` (may be NULL) is only a hint for relative
 * links.  Returns 0 (possibly with empty text), TM_ETOOBIG over the size
 * limit, or TM_EFORMAT when libxml2 could not build a document at all.
 */
int tm_html_extract(struct tm_html_ctx *c, const char *html, size_t len,
		    const char *url, struct tm_html_result *res,
		    struct tm_err *err);

#endif
