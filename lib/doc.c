/*
 * doc.c: documents as JSON Lines, on top of jansson.
 *
 * jansson parses and holds the tree (its objects keep insertion order);
 * this file adds the checks of the document schema, error messages with
 * byte columns, and its own writer.  The writer exists because jansson
 * prints reals with "%.17g" (0.97 becomes 0.96999999999999997) and we
 * want the shortest form that reads back to the same double; everything
 * else it writes the way jansson would with JSON_COMPACT and without
 * JSON_ENSURE_ASCII.
 */
#include "tamis.h"
#include "doc.h"

#include <locale.h>
#include <math.h>

void tm_doc_init(struct tm_doc *doc)
{
	struct tm_doc z = TM_DOC_INIT;

	*doc = z;
}

void tm_doc_clear(struct tm_doc *doc)
{
	json_decref(doc->root);
	doc->root = NULL;
}

void tm_doc_release(struct tm_doc *doc)
{
	tm_doc_clear(doc);
}

struct tm_doc *tm_doc_new(void)
{
	struct tm_doc *doc = tm_xmalloc(sizeof(*doc));

	tm_doc_init(doc);
	return doc;
}

void tm_doc_free(struct tm_doc *doc)
{
	if (!doc)
		return;
	tm_doc_release(doc);
	free(doc);
}

void tm_doc_set_max_line(struct tm_doc *doc, size_t max)
{
	doc->max_line = max ? max : TM_DOC_MAX_LINE_DEFAULT;
}

bool tm_doc_loaded(const struct tm_doc *doc)
{
	return doc->root != NULL;
}

size_t tm_utf8_bad_at(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, k, n;
	uint32_t cp, min;

	while (i < len) {
		unsigned c = s[i];

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1, cp = c & 0x1f, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2, cp = c & 0x0f, min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return i;
		}
		if (len - i <= n)
			return i;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return i;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return i;
		i += n + 1;
	}
	return len;
}

static bool utf8_ok(const char *s, size_t len)
{
	return tm_utf8_bad_at(s, len) == len;
}

/* A new jansson string from bytes known to be UTF-8; aborts on OOM. */
static json_t *xstring(const char *s, size_t len)
{
	json_t *v = json_stringn_nocheck(s, len);

	if (!v)
		tm_die_oom(len);
	return v;
}

/* Sets root[key] = v (a new reference, stolen); aborts on OOM. */
static void xset(json_t *obj, const char *key, json_t *v)
{
	if (!v)
		tm_die_oom(0);
	if (json_object_set_new_nocheck(obj, key, v) < 0)
		tm_die_oom(strlen(key));
}

const char *tm_json_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
		return "true";
	case JSON_FALSE:
		return "false";
	case JSON_NULL:
		return "null";
	}
	return "an unknown value";
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Turns a jansson parse failure into a TM_EFORMAT report. */
static int parse_error(const json_error_t *je, const char *line, size_t len,
		       struct tm_err *err)
{
	size_t i, bad;

	for (i = 0; i < len && is_space(line[i]); i++)
		;
	if (i == len)
		return tm_err_set(err, TM_EFORMAT, NULL, TM_ERR_NO_OFFSET, 0,
				  "empty line, expected a JSON object");
	switch (json_error_code(je)) {
	case json_error_out_of_memory:
		tm_die_oom(len);
	case json_error_invalid_utf8:
		/* jansson's position is not the bad byte's: find it. */
		bad = tm_utf8_bad_at(line, len);
		if (bad < len)
			return tm_err_set(err, TM_EFORMAT, NULL,
					  TM_ERR_NO_OFFSET, 0,
					  "column %zu: invalid UTF-8 (byte 0x%02x)",
					  bad + 1, (unsigned char)line[bad]);
		break;
	default:
		break;
	}
	/* je->position counts the bytes read up to the offending one. */
	return tm_err_set(err, TM_EFORMAT, NULL, TM_ERR_NO_OFFSET, 0,
			  "column %d: %s", je->position > 0 ? je->position : 1,
			  je->text);
}

/* Checks an optional top-level string field without U+0000. */
static int check_cstr_field(json_t *root, const char *key, struct tm_err *err)
{
	json_t *v = json_object_get(root, key);

	if (!v)
		return 0;
	if (!json_is_string(v))
		return tm_err_set(err, TM_EFORMAT, NULL, TM_ERR_NO_OFFSET, 0,
				  "\"%s\" must be a string, got %s", key,
				  tm_json_type_name(v));
	if (memchr(json_string_value(v), '\0', json_string_length(v)))
		return tm_err_set(err, TM_EFORMAT, NULL, TM_ERR_NO_OFFSET, 0,
				  "\"%s\" must not contain U+0000", key);
	return 0;
}

static int check_schema(json_t *root, struct tm_err *err)
{
	json_t *v;
	int rc;

	v = json_object_get(root, "text");
	if (!v)
		return tm_err_set(err, TM_EFORMAT, NULL, TM_ERR_NO_OFFSET, 0,
				  "missing \"text\"");
	if (!json_is_string(v))
		return tm_err_set(err, TM_EFORMAT, NULL, TM_ERR_NO_OFFSET, 0,
				  "\"text\" must be a string, got %s",
				  tm_json_type_name(v));
	rc = check_cstr_field(root, "id", err);
	if (!rc)
		rc = check_cstr_field(root, "source", err);
	if (rc)
		return rc;
	v = json_object_get(root, "metadata");
	if (v && !json_is_object(v))
		return tm_err_set(err, TM_EFORMAT, NULL, TM_ERR_NO_OFFSET, 0,
				  "\"metadata\" must be an object, got %s",
				  tm_json_type_name(v));
	return 0;
}

int tm_doc_parse(struct tm_doc *doc, const char *line, size_t len,
		 struct tm_err *err)
{
	json_error_t je;
	json_t *root;
	const char *nul;
	size_t i;
	int rc;

	tm_doc_clear(doc);
	if (len > doc->max_line)
		return tm_err_set(err, TM_ETOOBIG, NULL, TM_ERR_NO_OFFSET, 0,
				  "line of %zu bytes exceeds the limit of %zu bytes",
				  len, doc->max_line);
	/*
	 * jansson stops at a raw NUL with a misleading message; a raw NUL
	 * is never valid JSON, so name it.
	 */
	nul = memchr(line, '\0', len);
	if (nul)
		return tm_err_set(err, TM_EFORMAT, NULL, TM_ERR_NO_OFFSET, 0,
				  "column %zu: raw NUL byte (U+0000 must be written \\u0000)",
				  (size_t)(nul - line) + 1);
	root = json_loadb(line, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
	if (!root)
		return parse_error(&je, line, len, err);
	if (!json_is_object(root)) {
		for (i = 0; i < len && is_space(line[i]); i++)
			;
		rc = tm_err_set(err, TM_EFORMAT, NULL, TM_ERR_NO_OFFSET, 0,
				"column %zu: expected a JSON object, got %s",
				i + 1, tm_json_type_name(root));
		json_decref(root);
		return rc;
	}
	rc = check_schema(root, err);
	if (rc) {
		json_decref(root);
		return rc;
	}
	doc->root = root;
	return 0;
}

static void need_doc(const struct tm_doc *doc, const char *what)
{
	if (!doc->root)
		BUG("%s on an empty tm_doc", what);
}

static int bad_utf8(struct tm_err *err, int code, const char *what)
{
	return tm_err_set(err, code, NULL, TM_ERR_NO_OFFSET, 0,
			  "%s is not valid UTF-8", what);
}

/* Sets or (val NULL) removes a top-level string field. */
static int set_cstr(struct tm_doc *doc, const char *key, const char *val,
		    struct tm_err *err)
{
	size_t len;

	need_doc(doc, "setting a field");
	if (!val) {
		json_object_del(doc->root, key);
		return 0;
	}
	len = strlen(val);
	if (!utf8_ok(val, len))
		return bad_utf8(err, TM_EFORMAT, key);
	xset(doc->root, key, xstring(val, len));
	return 0;
}

int tm_doc_set_id(struct tm_doc *doc, const char *id, struct tm_err *err)
{
	return set_cstr(doc, "id", id, err);
}

int tm_doc_set_source(struct tm_doc *doc, const char *source,
		      struct tm_err *err)
{
	return set_cstr(doc, "source", source, err);
}

int tm_doc_set_text(struct tm_doc *doc, const char *text, size_t len,
		    struct tm_err *err)
{
	need_doc(doc, "tm_doc_set_text");
	if (!utf8_ok(text, len))
		return bad_utf8(err, TM_EFORMAT, "text");
	xset(doc->root, "text", xstring(text, len));
	return 0;
}

int tm_doc_from(struct tm_doc *doc, const char *id, const char *text,
		size_t text_len, const char *source, struct tm_err *err)
{
	json_t *root;

	tm_doc_clear(doc);
	if (id && !utf8_ok(id, strlen(id)))
		return bad_utf8(err, TM_EFORMAT, "id");
	if (!utf8_ok(text, text_len))
		return bad_utf8(err, TM_EFORMAT, "text");
	if (source && !utf8_ok(source, strlen(source)))
		return bad_utf8(err, TM_EFORMAT, "source");
	root = json_object();
	if (!root)
		tm_die_oom(0);
	if (id)
		xset(root, "id", xstring(id, strlen(id)));
	xset(root, "text", xstring(text, text_len));
	if (source)
		xset(root, "source", xstring(source, strlen(source)));
	xset(root, "metadata", json_object());
	doc->root = root;
	return 0;
}

struct tm_doc *tm_doc_new_from(const char *id, const char *text,
			       size_t text_len, const char *source,
			       struct tm_err *err)
{
	struct tm_doc *doc = tm_doc_new();

	if (tm_doc_from(doc, id, text, text_len, source, err)) {
		tm_doc_free(doc);
		return NULL;
	}
	return doc;
}

static const char *get_cstr(const struct tm_doc *doc, const char *key)
{
	if (!doc->root)
		return NULL;
	return json_string_value(json_object_get(doc->root, key));
}

const char *tm_doc_id(const struct tm_doc *doc)
{
	return get_cstr(doc, "id");
}

const char *tm_doc_source(const struct tm_doc *doc)
{
	return get_cstr(doc, "source");
}

const char *tm_doc_text(const struct tm_doc *doc, size_t *len)
{
	json_t *v = doc->root ? json_object_get(doc->root, "text") : NULL;

	if (len)
		*len = v ? json_string_length(v) : 0;
	return v ? json_string_value(v) : NULL;
}

json_t *tm_doc_meta(const struct tm_doc *doc)
{
	return doc->root ? json_object_get(doc->root, "metadata") : NULL;
}

static json_t *meta_get(const struct tm_doc *doc, const char *key)
{
	json_t *meta = tm_doc_meta(doc);

	return meta ? json_object_get(meta, key) : NULL;
}

const char *tm_doc_meta_str(const struct tm_doc *doc, const char *key)
{
	return json_string_value(meta_get(doc, key));
}

bool tm_doc_meta_double(const struct tm_doc *doc, const char *key,
			double *out)
{
	json_t *v = meta_get(doc, key);

	if (!json_is_number(v))
		return false;
	*out = json_number_value(v);
	return true;
}

bool tm_doc_meta_int(const struct tm_doc *doc, const char *key, int64_t *out)
{
	json_t *v = meta_get(doc, key);

	if (!json_is_integer(v))
		return false;
	*out = json_integer_value(v);
	return true;
}

bool tm_doc_meta_bool(const struct tm_doc *doc, const char *key, bool *out)
{
	json_t *v = meta_get(doc, key);

	if (!json_is_boolean(v))
		return false;
	*out = json_is_true(v);
	return true;
}

/* Sets metadata[key] = v (stolen), creating "metadata" when absent. */
static int meta_set(struct tm_doc *doc, const char *key, json_t *v,
		    struct tm_err *err)
{
	json_t *meta;

	need_doc(doc, "setting metadata");
	if (!utf8_ok(key, strlen(key))) {
		json_decref(v);
		return bad_utf8(err, TM_EINVAL, "metadata key");
	}
	meta = json_object_get(doc->root, "metadata");
	if (!meta) {
		meta = json_object();
		xset(doc->root, "metadata", meta);
	}
	xset(meta, key, v);
	return 0;
}

int tm_doc_meta_set_str(struct tm_doc *doc, const char *key,
			const char *val, struct tm_err *err)
{
	size_t len = strlen(val);

	if (!utf8_ok(val, len))
		return tm_err_set(err, TM_EFORMAT, NULL, TM_ERR_NO_OFFSET, 0,
				  "value of metadata \"%s\" is not valid UTF-8",
				  utf8_ok(key, strlen(key)) ? key : "?");
	return meta_set(doc, key, xstring(val, len), err);
}

int tm_doc_meta_set_double(struct tm_doc *doc, const char *key, double val,
			   struct tm_err *err)
{
	if (!isfinite(val))
		return tm_err_set(err, TM_EINVAL, NULL, TM_ERR_NO_OFFSET, 0,
				  "metadata \"%s\": %g cannot be written in JSON",
				  utf8_ok(key, strlen(key)) ? key : "?", val);
	return meta_set(doc, key, json_real(val), err);
}

int tm_doc_meta_set_int(struct tm_doc *doc, const char *key, int64_t val,
			struct tm_err *err)
{
	return meta_set(doc, key, json_integer((json_int_t)val), err);
}

int tm_doc_meta_set_bool(struct tm_doc *doc, const char *key, bool val,
			 struct tm_err *err)
{
	return meta_set(doc, key, json_boolean(val), err);
}

bool tm_doc_meta_del(struct tm_doc *doc, const char *key)
{
	json_t *meta = tm_doc_meta(doc);

	return meta && json_object_del(meta, key) == 0;
}

/* The writer. */

static void put_string(struct tm_buf *out, const char *str, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	size_t i, run = 0;

	tm_buf_grow(out, len + 2);
	tm_buf_addch(out, '"');
	for (i = 0; i < len; i++) {
		unsigned char c = s[i];
		char esc[6];
		size_t n = 2;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		tm_buf_add(out, s + run, i - run);
		run = i + 1;
		esc[0] = '\\';
		switch (c) {
		case '"':  esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			esc[1] = 'u', esc[2] = '0', esc[3] = '0';
			esc[4] = hex[c >> 4], esc[5] = hex[c & 15];
			n = 6;
		}
		tm_buf_add(out, esc, n);
	}
	tm_buf_add(out, s + run, len - run);
	tm_buf_addch(out, '"');
}

/*
 * printf's %e/%f honour LC_NUMERIC; JSON wants '.'.  Replaces the
 * locale's (single-byte) decimal point in s, as jansson does.
 */
static void fix_decimal_point(char *s)
{
	const char *dp = localeconv()->decimal_point;
	char *p;

	if (!dp || dp[0] == '.' || !dp[0] || dp[1])
		return;
	p = strchr(s, dp[0]);
	if (p)
		*p = '.';
}

void tm_doc_format_double(double v, struct tm_buf *out)
{
	char sci[40], fix[64];
	const char *e, *res;
	int prec, exp10;

	if (!isfinite(v))
		BUG("tm_doc_format_double(%g)", v);
	/* The fewest significant digits that read back as v (17 always do). */
	for (prec = 1; prec < 17; prec++) {
		snprintf(sci, sizeof(sci), "%.*e", prec - 1, v);
		if (strtod(sci, NULL) == v)
			break;
	}
	if (prec == 17)
		snprintf(sci, sizeof(sci), "%.16e", v);
	e = strchr(sci, 'e');
	if (!e)
		BUG("no exponent in '%s'", sci);
	exp10 = atoi(e + 1);
	res = sci;
	if (exp10 > -5 && exp10 < 16) {
		/* Same digits in fixed notation: 0.97, 100.0, 123456.5. */
		int decimals = prec - 1 - exp10;

		snprintf(fix, sizeof(fix), "%.*f", decimals > 0 ? decimals : 0,
			 v);
		if (strtod(fix, NULL) == v)
			res = fix;
	}
	fix_decimal_point(res == fix ? fix : sci);
	tm_buf_addstr(out, res);
	/* Keep it a real when read back: 100 -> 100.0. */
	if (!strpbrk(res, ".e"))
		tm_buf_addstr(out, ".0");
}

static void put_value(struct tm_buf *out, json_t *v)
{
	const char *key;
	size_t klen, i;
	json_t *x;
	bool first = true;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		tm_buf_addch(out, '{');
		json_object_keylen_foreach(v, key, klen, x) {
			if (!first)
				tm_buf_addch(out, ',');
			first = false;
			put_string(out, key, klen);
			tm_buf_addch(out, ':');
			put_value(out, x);
		}
		tm_buf_addch(out, '}');
		break;
	case JSON_ARRAY:
		tm_buf_addch(out, '[');
		json_array_foreach(v, i, x) {
			if (i)
				tm_buf_addch(out, ',');
			put_value(out, x);
		}
		tm_buf_addch(out, ']');
		break;
	case JSON_STRING:
		put_string(out, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		tm_buf_addf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		break;
	case JSON_REAL:
		tm_doc_format_double(json_real_value(v), out);
		break;
	case JSON_TRUE:
		tm_buf_addstr(out, "true");
		break;
	case JSON_FALSE:
		tm_buf_addstr(out, "false");
		break;
	case JSON_NULL:
		tm_buf_addstr(out, "null");
		break;
	}
}

void tm_doc_write(const struct tm_doc *doc, struct tm_buf *out)
{
	need_doc(doc, "tm_doc_write");
	put_value(out, doc->root);
	tm_buf_addch(out, '\n');
}
