/*
 * extract.c: one record to one document (see extract.h).
 */
#include "tamis.h"
#include "extract.h"
#include "charset.h"
#include "doc.h"
#include "html.h"
#include "http.h"

#include <ctype.h>

static const char *const skip_names[TM_X__COUNT] = {
	"kept", "non_200", "non_html", "truncated", "too_large", "binary",
	"empty", "parse_failure", "charset_failure",
};

const char *tm_extract_skip_name(enum tm_extract_skip s)
{
	return (unsigned)s < TM_X__COUNT ? skip_names[s] : "unknown";
}

struct tm_extract_ctx {
	struct tm_extract_opts opts;
	struct tm_http http;
	struct tm_html_ctx *html;
	struct tm_charset_ctx *cs;
	struct tm_html_result res;
	struct tm_buf body, utf8;
	struct tm_doc doc;
};

void tm_extract_output_release(struct tm_extract_output *o)
{
	tm_buf_release(&o->line);
}

struct tm_extract_ctx *tm_extract_ctx_new(const struct tm_extract_opts *opts)
{
	struct tm_extract_ctx *c = tm_xcalloc(1, sizeof(*c));
	struct tm_extract_opts def = TM_EXTRACT_OPTS_INIT;
	struct tm_html_opts ho = TM_HTML_OPTS_INIT;
	struct tm_http h0 = TM_HTTP_INIT;
	struct tm_html_result r0 = TM_HTML_RESULT_INIT;

	c->opts = opts ? *opts : def;
	if (!c->opts.nstatuses) {
		c->opts.statuses[0] = 200;
		c->opts.nstatuses = 1;
	}
	if (!c->opts.max_html)
		c->opts.max_html = def.max_html;
	if (!c->opts.source)
		c->opts.source = def.source;
	ho.max_size = c->opts.max_html;
	ho.whole_page = c->opts.whole_page;
	c->html = tm_html_ctx_new(&ho);
	c->cs = tm_charset_new();
	c->http = h0;
	c->res = r0;
	tm_buf_init(&c->body, 0);
	tm_buf_init(&c->utf8, 0);
	tm_doc_init(&c->doc);
	return c;
}

void tm_extract_ctx_free(struct tm_extract_ctx *c)
{
	if (!c)
		return;
	tm_http_release(&c->http);
	tm_html_ctx_free(c->html);
	tm_charset_free(c->cs);
	tm_html_result_release(&c->res);
	tm_buf_release(&c->body);
	tm_buf_release(&c->utf8);
	tm_doc_release(&c->doc);
	free(c);
}

static bool is_html_type(const char *ct)
{
	size_t n;

	if (!ct)
		return false;
	while (*ct == ' ')
		ct++;
	n = strcspn(ct, "; ");
	return (n == 9 && !strncasecmp(ct, "text/html", 9)) ||
	       (n == 21 && !strncasecmp(ct, "application/xhtml+xml", 21));
}

/*
 * Binary sniffing (after the WHATWG MIME Sniffing "binary data byte"
 * rule): a NUL or other control bytes that text never holds in the first
 * 1 KiB, or the magic of a common binary format, mean "not text" whatever
 * the Content-Type claims.  UTF-16 (with a BOM) is text.
 */
static bool looks_binary(const char *p, size_t n)
{
	static const struct { const char *magic; size_t len; } magics[] = {
		{ "%PDF-", 5 }, { "\x89PNG", 4 }, { "GIF8", 4 }, { "\xff\xd8\xff", 3 },
		{ "PK\x03\x04", 4 }, { "\x1f\x8b", 2 }, { "RIFF", 4 }, { "\x00\x00\x01\x00", 4 },
		{ "OggS", 4 }, { "ID3", 3 }, { "\x7f" "ELF", 4 }, { "wOFF", 4 }, { "wOF2", 4 },
	};
	size_t i, lim = TM_MIN(n, (size_t)1024), bad = 0;

	if (n >= 2 && (((unsigned char)p[0] == 0xff && (unsigned char)p[1] == 0xfe) ||
		       ((unsigned char)p[0] == 0xfe && (unsigned char)p[1] == 0xff)))
		return false;
	for (i = 0; i < TM_ARRAY_SIZE(magics); i++)
		if (n >= magics[i].len && !memcmp(p, magics[i].magic, magics[i].len))
			return true;
	for (i = 0; i < lim; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c <= 0x08 || c == 0x0b || (c >= 0x0e && c <= 0x1a) ||
		    (c >= 0x1c && c <= 0x1f))
			bad++;
	}
	return bad > 0 && bad * 100 > lim; /* more than 1% control bytes */
}

/* A body without Content-Type that starts like HTML. */
static bool sniff_html(const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && i < 512 && isspace((unsigned char)p[i]))
		i++;
	if (n - i >= 3 && (unsigned char)p[i] == 0xef)
		i += 3; /* BOM */
	return n - i >= 5 && p[i] == '<' &&
	       (!strncasecmp(p + i, "<!doctype html", TM_MIN(n - i, (size_t)14)) ||
		!strncasecmp(p + i, "<html", 5) || !strncasecmp(p + i, "<head", 5) ||
		!strncasecmp(p + i, "<!--", 4) || !strncasecmp(p + i, "<body", 5));
}

static void skip(struct tm_extract_output *o, enum tm_extract_skip s,
		 const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void skip(struct tm_extract_output *o, enum tm_extract_skip s,
		 const char *fmt, ...)
{
	va_list ap;

	o->skip = s;
	va_start(ap, fmt);
	vsnprintf(o->detail, sizeof(o->detail), fmt, ap);
	va_end(ap);
}

static void set_meta(struct tm_doc *d, const char *k, const char *v)
{
	if (v)
		tm_doc_meta_set_str(d, k, v, NULL);
}

/* The id: the record id without <urn:uuid:...> brackets, else given. */
static void make_id(const struct tm_extract_input *in, struct tm_buf *id)
{
	const char *r = in->record_id;

	tm_buf_reset(id);
	if (in->id) {
		tm_buf_addstr(id, in->id);
	} else if (r) {
		size_t n = strlen(r);

		if (n >= 2 && r[0] == '<' && r[n - 1] == '>')
			tm_buf_add(id, r + 1, n - 2);
		else
			tm_buf_add(id, r, n);
	}
}

static void emit(struct tm_extract_ctx *c, const struct tm_extract_input *in,
		 const char *text, size_t len, const char *content_type,
		 const char *charset, struct tm_extract_output *o)
{
	struct tm_buf id = TM_BUF_INIT;
	struct tm_err err = TM_ERR_INIT;
	struct tm_doc *d = &c->doc;

	make_id(in, &id);
	if (tm_doc_from(d, id.len ? id.buf : NULL, text, len, c->opts.source, &err) < 0) {
		skip(o, TM_X_PARSE, "document: %s", err.msg);
		tm_buf_release(&id);
		return;
	}
	set_meta(d, "url", in->url);
	set_meta(d, "warc_date", in->date);
	set_meta(d, "warc_record_id", in->record_id);
	if (in->type != TM_WARC_UNKNOWN) {
		set_meta(d, "warc_filename", in->filename);
		tm_doc_meta_set_int(d, "warc_offset", (int64_t)in->offset, NULL);
	} else {
		set_meta(d, "file", in->filename);
	}
	set_meta(d, "content_type", content_type);
	set_meta(d, "charset", charset);
	if (o->http_status)
		tm_doc_meta_set_int(d, "http_status", o->http_status, NULL);
	if (c->res.lang.len)
		set_meta(d, "html_lang", c->res.lang.buf);
	if (c->res.title.len)
		set_meta(d, "title", c->res.title.buf);
	if (in->truncated)
		set_meta(d, "warc_truncated", in->truncated);
	tm_buf_reset(&o->line);
	tm_doc_write(d, &o->line);
	o->skip = TM_X_KEEP;
	o->text_len = len;
	tm_buf_release(&id);
}

/* HTML bytes (any charset) to a document. */
static void from_html(struct tm_extract_ctx *c, const struct tm_extract_input *in,
		      const char *p, size_t n, const char *content_type,
		      struct tm_extract_output *o)
{
	struct tm_charset_info info;
	struct tm_err err = TM_ERR_INIT;
	int rc;

	o->html_len = n;
	if (n > c->opts.max_html) {
		skip(o, TM_X_TOO_LARGE, "%zu bytes of HTML", n);
		return;
	}
	if (looks_binary(p, n)) {
		skip(o, TM_X_BINARY, "binary data served as %s",
		     content_type ? content_type : "HTML");
		return;
	}
	rc = tm_charset_to_utf8(c->cs, p, n, content_type, &c->utf8, &info, &err);
	if (rc < 0) {
		skip(o, TM_X_CHARSET, "%s", err.msg);
		return;
	}
	o->replaced = info.replaced;
	rc = tm_html_extract(c->html, c->utf8.buf, c->utf8.len, in->url, &c->res, &err);
	if (rc == TM_ETOOBIG) {
		skip(o, TM_X_TOO_LARGE, "%s", err.msg);
		return;
	}
	if (rc < 0) {
		skip(o, TM_X_PARSE, "%s", err.msg);
		return;
	}
	if (!c->res.text.len) {
		skip(o, TM_X_EMPTY, "no text after extraction");
		return;
	}
	emit(c, in, c->res.text.buf, c->res.text.len, content_type, info.charset, o);
}

void tm_extract_one(struct tm_extract_ctx *c, const struct tm_extract_input *in,
		    struct tm_extract_output *o)
{
	struct tm_err err = TM_ERR_INIT;
	const char *ct;
	size_t i;
	int rc;

	o->skip = TM_X_KEEP;
	o->text_len = o->html_len = 0;
	o->replaced = 0;
	o->http_status = 0;
	o->detail[0] = '\0';
	tm_buf_reset(&o->line);
	tm_html_result_release(&c->res);

	if (in->oversize) {
		skip(o, TM_X_TOO_LARGE, "record block over --max-record, not read");
		return;
	}
	if ((in->damaged || in->truncated) && !c->opts.keep_truncated) {
		skip(o, TM_X_TRUNCATED, "%s", in->damaged ? "damaged record" :
		     in->truncated);
		return;
	}
	if (in->type == TM_WARC_UNKNOWN) {	/* a bare HTML file */
		from_html(c, in, in->block, in->block_len, NULL, o);
		return;
	}
	if (in->type == TM_WARC_CONVERSION) {
		/* WET text is UTF-8 already; still validated and normalised */
		struct tm_charset_info info;

		rc = tm_charset_to_utf8(c->cs, in->block, in->block_len,
					"text/plain; charset=utf-8", &c->utf8, &info, &err);
		if (rc < 0) {
			skip(o, TM_X_CHARSET, "%s", err.msg);
			return;
		}
		o->replaced = info.replaced;
		while (c->utf8.len && isspace((unsigned char)c->utf8.buf[c->utf8.len - 1]))
			tm_buf_setlen(&c->utf8, c->utf8.len - 1);
		if (!c->utf8.len) {
			skip(o, TM_X_EMPTY, "empty conversion record");
			return;
		}
		emit(c, in, c->utf8.buf, c->utf8.len, "text/plain", "utf-8", o);
		return;
	}
	rc = tm_http_parse(&c->http, in->block, in->block_len, &err);
	if (rc < 0) {
		skip(o, TM_X_PARSE, "HTTP: %s", err.msg);
		return;
	}
	o->http_status = c->http.status;
	for (i = 0; i < c->opts.nstatuses; i++)
		if (c->opts.statuses[i] == c->http.status)
			break;
	if (i == c->opts.nstatuses) {
		skip(o, TM_X_NON_200, "HTTP status %d", c->http.status);
		return;
	}
	ct = tm_http_field(&c->http, "Content-Type");
	if (ct ? !is_html_type(ct) : !sniff_html(c->http.body, c->http.body_len)) {
		skip(o, TM_X_NON_HTML, "Content-Type %.80s", ct ? ct : "(none)");
		return;
	}
	rc = tm_http_body(&c->http, TM_HTTP_DECHUNK | TM_HTTP_DECODE,
			  c->opts.max_html + 1, &c->body, &err);
	if (rc == TM_ETOOBIG) {
		skip(o, TM_X_TOO_LARGE, "%s", err.msg);
		return;
	}
	if (rc == TM_ETRUNC && !c->opts.keep_truncated) {
		skip(o, TM_X_TRUNCATED, "%s", err.msg);
		return;
	}
	if (rc < 0 && rc != TM_ETRUNC) {
		skip(o, TM_X_PARSE, "HTTP body: %s", err.msg);
		return;
	}
	from_html(c, in, c->body.buf, c->body.len, ct, o);
}
