/*
 * f-route.c: libFuzzer target for the routing rules and the route stage's
 * line writer (filters/route.c).
 *
 * The input's first line is a rule, the rest a document line.  The rule
 * compiles, or fails with a "column N: " message whose column lies
 * inside it; a compiled rule is evaluated on the document (when it
 * parses).  The document also goes through tm_route_line() with the
 * built-in rules and with the rule as the one source: a malformed line is
 * refused and writes nothing; otherwise the written line parses, has the
 * chosen source, equals the input byte for byte when the source did not
 * change, and else differs from the input document only in "source".
 * Scores lie in [0, 1].  A mismatch aborts; leaks are found by ASan.
 */
#include "tamis.h"
#include "doc.h"
#include "ini.h"
#include "route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_line(const struct tm_router *r, struct tm_route_work *w, const char *line,
		       size_t len, unsigned flags)
{
	struct tm_buf out = TM_BUF_INIT;
	struct tm_err err = TM_ERR_INIT;
	struct tm_doc in = TM_DOC_INIT, got = TM_DOC_INIT;
	struct tm_route_result res;
	const char *name;
	int rc = tm_route_line(r, w, line, len, flags, &out, &res, &err), prc;

	prc = tm_doc_parse(&in, line, len, NULL);
	if ((rc < 0) != (prc < 0))
		BUG("tm_route_line() and tm_doc_parse() disagree: %d, %d", rc, prc);
	if (rc < 0) {
		if (out.len || !err.msg[0])
			BUG("a refused line wrote %zu bytes or said nothing", out.len);
		goto done;
	}
	if (!out.len || out.buf[out.len - 1] != '\n')
		BUG("the written line does not end in a newline");
	if (tm_doc_parse(&got, out.buf, out.len - 1, &err) < 0)
		BUG("the written line does not parse: %s", err.msg);
	name = tm_router_source(r, res.source);
	if (strcmp(tm_doc_source(&got), name))
		BUG("written source '%s', routed to '%s'", tm_doc_source(&got), name);
	if (res.scored && (!(res.code_score >= 0 && res.code_score <= 1) ||
			   !(res.math_score >= 0 && res.math_score <= 1)))
		BUG("scores out of [0, 1]: %g %g", res.code_score, res.math_score);
	if (!res.changed && !(flags & TM_ROUTE_ANNOTATE) &&
	    (out.len != len + 1 || memcmp(out.buf, line, len)))
		BUG("an unchanged document was not written byte for byte");
	/* apart from the source (and the scores when annotating), the same document */
	tm_doc_set_source(&in, NULL, NULL);
	tm_doc_set_source(&got, NULL, NULL);
	if (flags & TM_ROUTE_ANNOTATE) {
		tm_doc_meta_del(&got, "code_score");
		tm_doc_meta_del(&got, "math_score");
		tm_doc_meta_del(&in, "code_score");
		tm_doc_meta_del(&in, "math_score");
		if (tm_doc_meta(&got) && !json_object_size(tm_doc_meta(&got)) && !tm_doc_meta(&in))
			json_object_del(got.root, "metadata");
	}
	if (!json_equal(in.root, got.root))
		BUG("routing changed more than the source");
done:
	tm_doc_release(&in);
	tm_doc_release(&got);
	tm_buf_release(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tm_router *builtin;
	struct tm_err err = TM_ERR_INIT;
	struct tm_route_work *w;
	struct tm_rule *rule = NULL;
	struct tm_doc doc = TM_DOC_INIT;
	const char *nl = memchr(data, '\n', size), *line;
	char *src;
	size_t len, col;

	if (size > 1 << 16)
		return 0;
	if (!builtin && tm_router_new(NULL, &builtin, &err) < 0)
		BUG("the built-in rules: %s", err.msg);
	src = tm_xmemdup(data, nl ? (size_t)(nl - (const char *)data) : size);
	line = nl ? nl + 1 : "";
	len = nl ? size - (size_t)(nl + 1 - (const char *)data) : 0;
	w = tm_route_work_new();

	if (tm_rule_compile(src, &rule, &err) < 0) {
		if (rule || sscanf(err.msg, "column %zu: ", &col) != 1 || !col ||
		    col > strlen(src) + 1)
			BUG("a refused rule without a column in it: '%s'", err.msg);
	} else if (tm_doc_parse(&doc, line, len, NULL) == 0) {
		size_t tlen;
		const char *text = tm_doc_text(&doc, &tlen);

		tm_route_work_set(w, text, tlen, tm_doc_id(&doc), tm_doc_source(&doc),
				  tm_doc_meta(&doc));
		tm_rule_eval(rule, w);
	}
	tm_rule_free(rule);
	tm_doc_release(&doc);

	check_line(builtin, w, line, len, 0);
	check_line(builtin, w, line, len, TM_ROUTE_SCORES);
	check_line(builtin, w, line, len, TM_ROUTE_ANNOTATE);
	/* the rule as the one source of a router built from a file */
	{
		struct tm_buf conf = TM_BUF_INIT;
		struct tm_ini *ini = NULL;
		struct tm_router *r;

		tm_buf_addstr(&conf, "[route]\norder = fuzz\n[route \"fuzz\"]\nwhen = \"");
		for (col = 0; src[col]; col++) {
			if (src[col] == '"' || src[col] == '\\')
				tm_buf_addch(&conf, '\\');
			tm_buf_addch(&conf, src[col]);
		}
		tm_buf_addstr(&conf, "\"\n");
		if (tm_ini_parse_buf("f.conf", conf.buf, conf.len, &ini, NULL) == 0 &&
		    tm_router_new(ini, &r, &err) == 0) {
			check_line(r, w, line, len, 0);
			tm_router_free(r);
		}
		tm_ini_free(ini);
		tm_buf_release(&conf);
	}
	tm_route_work_free(w);
	free(src);
	return 0;
}
