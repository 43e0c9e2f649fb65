/*
 * doc.h: one document of the stream between stages, as one JSON Lines line.
 *
 * A document is a JSON object such as
 *   {"id":"...","text":"...","source":"...","metadata":{"url":"...",...}}
 * (docs/DOCUMENTS.md is the normative description).  struct tm_doc parses
 * one line (without its newline) into a jansson tree, gives fast access to
 * "id", "text", "source" and "metadata", lets stages add or change fields,
 * and writes the line back.
 *
 * Invariants:
 *  - A tm_doc either holds a document (after tm_doc_parse() or
 *    tm_doc_from() succeeded) or is empty (after init, clear, or a failed
 *    parse).  Mutators and tm_doc_write() on an empty doc are bugs.
 *  - A held document is an object whose "text" is a string; "id" and
 *    "source" are absent or strings without U+0000; "metadata" is absent
 *    or an object.
 *  - Every field the input had, known or not, is kept in its original
 *    order; a field that is set again keeps its position, a new field is
 *    appended.  Duplicate keys in the input: the last value wins, at the
 *    position of the first.
 *  - tm_doc_write() is deterministic: compact, UTF-8 unescaped, reals in
 *    the shortest form that reads back to the same double, so that
 *    write(parse(write(d))) == write(d) byte for byte.
 *
 * Ownership: the caller owns the struct tm_doc (or what tm_doc_new*()
 * returns, freed with tm_doc_free()) and every string it passes in (they
 * are copied); pointers returned by getters are borrowed and stay valid
 * until the next parse, clear, or change of that field.
 *
 * Allocation failure inside jansson aborts through tm_die_oom(), as for
 * struct tm_buf.
 *
 * Must not depend on: streams, compression, the line reader, stats, or
 * anything beyond jansson and tm_buf/tm_err.  One tm_doc per thread.
 */
#ifndef TM_DOC_H
#define TM_DOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

struct tm_buf;
struct tm_err;

/* The default cap on one line, in bytes (64 MiB). */
#define TM_DOC_MAX_LINE_DEFAULT ((size_t)64 << 20)

struct tm_doc {
	json_t *root;       /* the document object; NULL when empty */
	size_t max_line;    /* tm_doc_parse() refuses longer lines */
};

#define TM_DOC_INIT { NULL, TM_DOC_MAX_LINE_DEFAULT }

/* Initialises an empty doc with the default line cap. */
void tm_doc_init(struct tm_doc *doc);

/* Drops the document held (the doc becomes empty); keeps the line cap. */
void tm_doc_clear(struct tm_doc *doc);

/* Releases what the doc holds; the struct itself is the caller's. */
void tm_doc_release(struct tm_doc *doc);

/* Allocates an empty doc (never NULL; aborts on OOM). */
struct tm_doc *tm_doc_new(void);

/* Releases and frees a doc from tm_doc_new*(); accepts NULL. */
void tm_doc_free(struct tm_doc *doc);

/*
 * Sets the longest line tm_doc_parse() accepts, in bytes; 0 restores
 * TM_DOC_MAX_LINE_DEFAULT.
 */
void tm_doc_set_max_line(struct tm_doc *doc, size_t max);

/*
 * Parses one line (`len` bytes, without the newline; need not be
 * NUL-terminated) into `doc`, replacing what it held.
 *
 * Returns 0, or fills `err` (may be NULL) and returns:
 *   TM_ETOOBIG  len exceeds the doc's line cap;
 *   TM_EFORMAT  not JSON, not UTF-8, not an object, or a required field
 *               has the wrong type.  err->msg starts with "column N: "
 *               (1-based, in bytes of the line) when a position is known.
 * err->line, err->offset and err->file are left for the caller to set.
 * On error the doc is empty.
 */
int tm_doc_parse(struct tm_doc *doc, const char *line, size_t len,
		 struct tm_err *err);

/*
 * The "text" of one document line without parsing it into a tree: true
 * when tm_doc_parse() would surely accept the line, with *text and
 * *text_len set (pointing into `line` when the string has no escapes,
 * else into `buf`, which this overwrites; valid until either changes;
 * not NUL-terminated).  False means "not sure": parse the line with
 * tm_doc_parse(), which gives the verdict and its message.  Never true
 * for a line tm_doc_parse() refuses (the line cap aside: check it first),
 * and the text is the one tm_doc_text() would give (tests/fuzz/
 * f-docscan.c).  Several times faster than tm_doc_parse() on long texts.
 */
bool tm_doc_scan_text(const char *line, size_t len, struct tm_buf *buf,
		      const char **text, size_t *text_len);

/*
 * As tm_doc_scan_text(), with more of the line: where the "text" string
 * lies in it (text_start on its opening quote, text_end after its closing
 * one: a stage that only changes the text can splice a new string there
 * and leave every other byte as it was), where the "source" string lies
 * (source_start on its opening quote, source_end after its closing one;
 * both 0 when the line has no "source": a stage that only sets the source
 * splices there), and the string values of metadata.lang and metadata.url
 * (pointing into the line; NULL when absent or not a string).
 * meta_escaped: one of them holds an escape and was left NULL: parse the
 * line to read it.
 */
struct tm_doc_view {
	const char *text;
	size_t text_len;
	size_t text_start, text_end;
	size_t source_start, source_end;
	const char *lang, *url;
	size_t lang_len, url_len;
	bool meta_escaped;
};

bool tm_doc_scan(const char *line, size_t len, struct tm_buf *buf, struct tm_doc_view *v);

/*
 * Appends s[0..len) (UTF-8) as a JSON string, quotes included, escaped as
 * tm_doc_write() escapes: '"', '\\' and control characters only.
 */
void tm_json_escape(const char *s, size_t len, struct tm_buf *out);

/*
 * The offset of the first byte of `s` that does not start a well-formed
 * UTF-8 sequence (overlong forms, surrogates and code points above
 * U+10FFFF are ill-formed, as jansson has them), or `len` when all is
 * well-formed.
 */
size_t tm_utf8_bad_at(const char *s, size_t len);

/* What a JSON value is, for messages: "an object", "a number", "true", ... */
const char *tm_json_type_name(const json_t *v);

/*
 * Replaces what `doc` held with a fresh document
 * {"id":ID,"text":TEXT,"source":SOURCE,"metadata":{}}; `id` and `source`
 * may be NULL to leave them out.  Strings are copied.
 * Returns 0, or TM_EFORMAT when `text` (len bytes, may hold NULs), `id`
 * or `source` is not UTF-8; the doc is then empty.
 */
int tm_doc_from(struct tm_doc *doc, const char *id, const char *text,
		size_t text_len, const char *source, struct tm_err *err);

/*
 * As tm_doc_from() into a newly allocated doc; returns NULL (with `err`
 * filled) on the same errors.  Free with tm_doc_free().
 */
struct tm_doc *tm_doc_new_from(const char *id, const char *text,
			       size_t text_len, const char *source,
			       struct tm_err *err);

/* True when the doc holds a document. */
bool tm_doc_loaded(const struct tm_doc *doc);

/* The "id", or NULL when absent (or the doc is empty). */
const char *tm_doc_id(const struct tm_doc *doc);

/*
 * The "text" (NUL-terminated, but it may also hold NULs: use *len, which
 * may be NULL), or NULL with *len 0 when the doc is empty.
 */
const char *tm_doc_text(const struct tm_doc *doc, size_t *len);

/* The "source", or NULL when absent. */
const char *tm_doc_source(const struct tm_doc *doc);

/*
 * Setters of the top-level fields: copy the value, keep the field's
 * position or append it.  Return 0, or TM_EFORMAT when the value is not
 * UTF-8 (the doc is then unchanged).
 * tm_doc_set_id(doc, NULL, err) and tm_doc_set_source(doc, NULL, err)
 * remove the field.
 */
int tm_doc_set_id(struct tm_doc *doc, const char *id, struct tm_err *err);
int tm_doc_set_text(struct tm_doc *doc, const char *text, size_t len,
		    struct tm_err *err);
int tm_doc_set_source(struct tm_doc *doc, const char *source,
		      struct tm_err *err);

/*
 * The "metadata" object (borrowed), or NULL when absent.  Callers may
 * change it in place with jansson; the rules of this header (keep unknown
 * keys, no NaN) are theirs to follow.
 */
json_t *tm_doc_meta(const struct tm_doc *doc);

/*
 * Metadata getters.  tm_doc_meta_str() returns the string value of `key`
 * (borrowed) or NULL when absent or not a string.  The others store the
 * value in *out and return true when `key` is present with the right
 * type, else return false and leave *out alone: _double accepts integers
 * and reals, _int only integers, _bool only true/false.
 */
const char *tm_doc_meta_str(const struct tm_doc *doc, const char *key);
bool tm_doc_meta_double(const struct tm_doc *doc, const char *key,
			double *out);
bool tm_doc_meta_int(const struct tm_doc *doc, const char *key,
		     int64_t *out);
bool tm_doc_meta_bool(const struct tm_doc *doc, const char *key, bool *out);

/*
 * Metadata setters: create "metadata" (appended) when absent, replace the
 * value of `key` in place or append it.  Return 0, or TM_EFORMAT when a
 * string value is not UTF-8, or TM_EINVAL when `key` is not UTF-8 or a
 * double is NaN or infinite (the doc is then unchanged).
 */
int tm_doc_meta_set_str(struct tm_doc *doc, const char *key,
			const char *val, struct tm_err *err);
int tm_doc_meta_set_double(struct tm_doc *doc, const char *key, double val,
			   struct tm_err *err);
int tm_doc_meta_set_int(struct tm_doc *doc, const char *key, int64_t val,
			struct tm_err *err);
int tm_doc_meta_set_bool(struct tm_doc *doc, const char *key, bool val,
			 struct tm_err *err);

/* Removes metadata `key`; returns true when it was there. */
bool tm_doc_meta_del(struct tm_doc *doc, const char *key);

/*
 * Appends the document to `out` as one line ending in "\n": compact, keys
 * in order, UTF-8 as is, only '"', '\\' and U+0000..U+001F escaped, reals
 * in the shortest round-tripping form (0.97, 1e+300, 100.0, -0.0).
 * Writing an empty doc is a bug.
 */
void tm_doc_write(const struct tm_doc *doc, struct tm_buf *out);

/*
 * Appends `v` the way tm_doc_write() writes a JSON real: the fewest
 * significant digits that strtod() reads back as `v`, fixed notation for
 * exponents -5 < e < 16, always with a '.' or an exponent.  `v` must be
 * finite.
 */
void tm_doc_format_double(double v, struct tm_buf *out);

#endif
