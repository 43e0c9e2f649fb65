/*
 * route.h: which source (shard directory) each document goes to, by rules
 * over its metadata and its structure: the stage `tamis route`
 * (docs/ROUTE.md is the user-facing description of all of this).
 *
 * Three parts:
 *  - structural features of a text: code_score (the share of non-blank
 *    lines that look like source code) and math_score (LaTeX commands,
 *    math delimiters and math symbols per word), computed over the lines
 *    and words of a struct tm_ftext;
 *  - rules: one expression per source, e.g.
 *      lang != en and lang != und
 *      code_score >= 0.3 or url ~ "github\.com/"
 *    compiled once (struct tm_rule) and evaluated per document;
 *  - the router: the rules of pipeline.conf ([route] order and default,
 *    [route "NAME"] when) in order, and the per-line work of the stage:
 *    a document line in, the same line with "source" set out, every
 *    other byte as it came (the "source" string spliced in place, or
 *    appended to the object when the line had none).
 *
 * Missing fields: a comparison (==, !=, <, in, not in, ~, !~ ...) with a
 * field the document does not have is false, whatever the operator;
 * `not` turns that around (`not lang == en` holds for a document without
 * a lang).
 *
 * Ownership: tm_rule and tm_router own what they compiled and are
 * read-only after creation (shared by every worker thread); a
 * tm_route_work is one thread's scratch, reused across documents.
 * Must not depend on: streams, stats, the command line.
 */
#ifndef TM_ROUTE_H
#define TM_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct tm_buf;
struct tm_err;
struct tm_ftext;
struct tm_ini;

/* ---- structural features ------------------------------------------------ */

/*
 * The share of the text's non-blank lines that look like source code
 * (docs/ROUTE.md lists the line rules and where each comes from), in
 * [0, 1], rounded to 6 decimals; 0 for a text without non-blank lines.
 */
double tm_route_code_score(struct tm_ftext *t);

/*
 * LaTeX math commands, math delimiters (\( \) \[ \] $$ and $...$ pairs
 * that hold math) and math symbols of Unicode, per word of the text,
 * capped at 1, rounded to 6 decimals; 0 for a text without words.
 */
double tm_route_math_score(struct tm_ftext *t);

/* ---- rules -------------------------------------------------------------- */

struct tm_rule;
struct tm_route_work;

/*
 * Compiles the rule `src` (NUL-terminated; the grammar is docs/ROUTE.md's).
 * Returns 0 with *out set (free with tm_rule_free()), or TM_ECONFIG with
 * *out NULL and err->msg "column N: what was expected, got what" (N is
 * the 1-based byte of `src`); err->file and err->line are left for the
 * caller.  Regular expressions are compiled here, once.
 */
int tm_rule_compile(const char *src, struct tm_rule **out, struct tm_err *err);

/* Frees a compiled rule; accepts NULL. */
void tm_rule_free(struct tm_rule *r);

/* True when the rule reads the text or a feature computed from it. */
bool tm_rule_needs_text(const struct tm_rule *r);

/*
 * Evaluates the rule on the document last given to tm_route_work_set()
 * (features are computed on first use and kept for that document).
 */
bool tm_rule_eval(const struct tm_rule *r, struct tm_route_work *w);

/* One worker's scratch: features, the document parse, buffers. */
struct tm_route_work *tm_route_work_new(void);
void tm_route_work_free(struct tm_route_work *w);

/*
 * Makes the document the one rules see: its text (len bytes, UTF-8),
 * "id" and "source" (NUL-terminated, NULL when absent) and "metadata"
 * (NULL when absent).  Borrowed: they must stay valid while rules are
 * evaluated.
 */
void tm_route_work_set(struct tm_route_work *w, const char *text, size_t len,
		       const char *id, const char *source, const json_t *meta);

/* The features of that document (computed once per document). */
double tm_route_work_code_score(struct tm_route_work *w);
double tm_route_work_math_score(struct tm_route_work *w);

/* ---- the router ------------------------------------------------------- */

struct tm_router;

/* The rules when pipeline.conf names none (and what it ships). */
#define TM_ROUTE_ORDER_DEFAULT "code, math, multilingual"
#define TM_ROUTE_DEFAULT_SOURCE "web"
#define TM_ROUTE_CODE_DEFAULT "code_score >= 0.4"
#define TM_ROUTE_MATH_DEFAULT "math_score >= 0.02"
#define TM_ROUTE_MULTILINGUAL_DEFAULT "lang != en and lang != und"

/*
 * Builds the router from `ini` (NULL: the defaults above): [route] order
 * (names, comma- or space-separated, tried in that order), [route]
 * default (the source when no rule matches), and one [route "NAME"]
 * when = RULE per name.  The three built-in names (code, math,
 * multilingual) have the rules above unless a section says otherwise;
 * any other name needs its section.  Returns 0, or TM_ECONFIG with err
 * naming the file and line (TM_INI_CMDLINE and 0 for an override) when a
 * rule does not compile, a name is not a valid source name (letters,
 * digits, '_', '-'), a name repeats in order, a name in order has no rule,
 * or a [route "NAME"] section is not in order.
 */
int tm_router_new(const struct tm_ini *ini, struct tm_router **out, struct tm_err *err);
void tm_router_free(struct tm_router *r);

/* The sources: the rules in order (0 .. n-2), then the default (n-1). */
size_t tm_router_nsources(const struct tm_router *r);
const char *tm_router_source(const struct tm_router *r, size_t i);
/* The rule text of source i, or NULL for the default. */
const char *tm_router_rule_text(const struct tm_router *r, size_t i);

/* What tm_route_line() found. */
struct tm_route_result {
	size_t source;          /* index into the router's sources */
	bool changed;           /* "source" was absent or another value */
	bool scored;            /* the two scores below were computed */
	double code_score, math_score;
	const char *id;         /* the document's "id" or NULL; valid until the
				   next line on the same tm_route_work */
};

enum {
	TM_ROUTE_SCORES = 1,    /* compute both scores for every document */
	TM_ROUTE_ANNOTATE = 2,  /* and write them to metadata (implies SCORES) */
};

/*
 * Routes one document line (`len` bytes without its newline) and appends
 * the line to write, newline included, to `out`: the input bytes when the
 * source stays, else the input with only the "source" value changed
 * (lines that the fast scanner of doc.h cannot vouch for, and every line
 * under TM_ROUTE_ANNOTATE, are written by tm_doc_write() instead).
 * Returns 0, or TM_EFORMAT / TM_ETOOBIG for a malformed line (err->msg
 * says why; nothing is appended).
 */
int tm_route_line(const struct tm_router *r, struct tm_route_work *w, const char *line,
		  size_t len, unsigned flags, struct tm_buf *out, struct tm_route_result *res,
		  struct tm_err *err);

#endif
