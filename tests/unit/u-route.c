/*
 * u-route.c: the routing rules (filters/route.h): what each operator
 * does with numbers, strings and missing fields, compile errors with
 * their columns, the router built from pipeline.conf sections with its
 * errors by file and line, the lines tm_route_line() writes (unchanged
 * bytes, the source spliced or appended, canonical rewrites), and the
 * structural features on small texts.
 */
#include "tamis.h"
#include "doc.h"
#include "ini.h"
#include "route.h"
#include "text.h"
#include "tap.h"

/* A test name from a format (one at a time: a static buffer). */
static const char *nm(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static const char *nm(const char *fmt, ...)
{
	static char b[400];
	va_list ap;
	char *p;

	va_start(ap, fmt);
	vsnprintf(b, sizeof(b), fmt, ap);
	va_end(ap);
	for (p = b; (p = strchr(p, '\n')); )
		*p = '|';	/* one TAP line */
	return b;
}

/* Evaluates `rule` on the document `line`; -1 when it does not compile. */
static int eval_on(const char *rule, const char *line)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_doc doc = TM_DOC_INIT;
	struct tm_route_work *w = tm_route_work_new();
	struct tm_rule *r;
	const char *text;
	size_t len;
	int got;

	if (tm_rule_compile(rule, &r, &err) < 0) {
		tap_diag("%s: %s", rule, err.msg);
		tm_route_work_free(w);
		return -1;
	}
	if (tm_doc_parse(&doc, line, strlen(line), &err) < 0)
		BUG("test document: %s", err.msg);
	text = tm_doc_text(&doc, &len);
	tm_route_work_set(w, text, len, tm_doc_id(&doc), tm_doc_source(&doc), tm_doc_meta(&doc));
	got = tm_rule_eval(r, w);
	tm_rule_free(r);
	tm_doc_release(&doc);
	tm_route_work_free(w);
	return got;
}

static const char en[] = "{\"id\":\"doc 1\",\"text\":\"one\\ntwo\\nthree\",\"source\":\"web\","
	"\"metadata\":{\"lang\":\"en\",\"lang_score\":0.95,\"http_status\":200,\"n\":9,"
	"\"s\":\"9\",\"flag\":true,\"nothing\":null,\"list\":[1],\"length\":5,"
	"\"url\":\"https://github.com/tamis/x\"}}";
static const char de[] = "{\"text\":\"eins zwei\",\"metadata\":{\"lang\":\"de\",\"lang_score\":0.5}}";
static const char bare[] = "{\"text\":\"no metadata at all\"}";
static const char nul[] = "{\"text\":\"a\\u0000b\",\"metadata\":{\"k\":\"x\\u0000y\"}}";

static const struct {
	const char *rule, *doc;
	int want;
} evals[] = {
	{ "lang == en", en, 1 },
	{ "lang == en", de, 0 },
	{ "lang == en", bare, 0 },
	/* a missing field: every comparison is false, != too; `not` turns it */
	{ "lang != en", de, 1 },
	{ "lang != en", en, 0 },
	{ "lang != en", bare, 0 },
	{ "not lang == en", bare, 1 },
	{ "not lang == en", en, 0 },
	{ "lang in (de, fr, \"zh-Hant\")", de, 1 },
	{ "lang in (de, fr)", en, 0 },
	{ "lang not in (en, und)", de, 1 },
	{ "lang not in (en, und)", en, 0 },
	{ "lang not in (en, und)", bare, 0 },
	{ "lang ~ \"\"", bare, 0 },	/* the presence test */
	{ "lang ~ \"\"", de, 1 },
	{ "lang !~ \"^e\"", de, 1 },
	{ "lang !~ \"^e\"", en, 0 },
	{ "lang !~ \"^e\"", bare, 0 },
	/* numbers when both sides are numbers, else strings */
	{ "lang_score >= 0.9", en, 1 },
	{ "lang_score >= 0.9", de, 0 },
	{ "lang_score < 1", de, 1 },
	{ "n < 10", en, 1 },		/* 9 < 10 */
	{ "s < 10", en, 0 },		/* "9" > "10" as strings */
	{ "s == 9", en, 1 },
	{ "http_status == 200", en, 1 },
	{ "http_status == \"200\"", en, 1 },	/* its string form */
	{ "http_status in (301, 200)", en, 1 },
	{ "http_status > 2e2", en, 0 },
	{ "lang_score == \"0.95\"", en, 1 },
	{ "flag == true", en, 1 },
	{ "nothing == null", en, 0 },	/* null, arrays, objects: missing */
	{ "not nothing ~ \"\"", en, 1 },
	{ "list == 1", en, 0 },
	{ "lang == EN", en, 0 },	/* case matters */
	/* regular expressions, POSIX extended */
	{ "url ~ \"github\\.com/\"", en, 1 },
	{ "url ~ \"gitlab\\.com/\"", en, 0 },
	{ "url ~ \"^https://(www\\.)?github\\.com/[a-z]+/\"", en, 1 },
	{ "url ~ \"git(hub|lab)\"", en, 1 },
	{ "url ~ \"t{2}p[s:]+/{2,3}(git[^.]{3}\\.){1,2}\"", en, 1 },
	{ "url ~ \"[]a]x\"", en, 0 },
	{ "text ~ \"b$\"", nul, 1 },	/* past a U+0000 */
	{ "k ~ \"y$\"", nul, 1 },
	/* top-level fields and features */
	{ "source == web", en, 1 },
	{ "source == web", de, 0 },
	{ "not source ~ \"\"", de, 1 },
	{ "id == \"doc 1\"", en, 1 },
	{ "length == 13", en, 1 },
	{ "metadata.length == 5", en, 1 },
	{ "lines == 3", en, 1 },
	{ "text == \"eins zwei\"", de, 1 },
	{ "code_score == 0", de, 1 },
	{ "math_score < 0.01", en, 1 },
	/* and binds tighter than or; parentheses; not */
	{ "lang == de or lang == en and n == 1", en, 0 },
	{ "lang == de or lang == en and n == 9", en, 1 },
	{ "(lang == de or lang == en) and n == 1", en, 0 },
	{ "not (lang == de or lang == fr)", en, 1 },
	{ "not not lang == en", en, 1 },
	{ "lang==en and(n>8)", en, 1 },
};

static void test_eval(void)
{
	size_t i;

	for (i = 0; i < TM_ARRAY_SIZE(evals); i++)
		is_int(eval_on(evals[i].rule, evals[i].doc), evals[i].want,
		       nm("%s on %.40s...", evals[i].rule, evals[i].doc));
}

static const struct {
	const char *rule, *msg;
} bad_rules[] = {
	{ "", "column 1: expected a rule, got an empty value" },
	{ "   ", "column 4: expected a rule, got an empty value" },
	{ "lang = en", "column 6: expected an operator (== != < <= > >= ~ !~ in, not in) after "
	  "'lang', got '='; did you mean '=='?" },
	{ "lang en", "column 6: expected an operator (== != < <= > >= ~ !~ in, not in) after "
	  "'lang', got 'en'" },
	{ "lang == ", "column 9: expected a value (a word, a number or a \"string\"), got end of rule" },
	{ "lang == \"en", "column 9: unterminated string: expected '\"'" },
	{ "(lang == en", "column 12: expected ')' to close the '(' of column 1, got end of rule" },
	{ "lang == en foo", "column 12: expected 'and', 'or' or the end of the rule, got 'foo'" },
	{ "lang == en and", "column 15: expected a field name (a metadata key, id, source, text, "
	  "code_score, math_score, length or lines), got end of rule" },
	{ "0.5 <= code_score", "column 1: expected a field name (a metadata key, id, source, text, "
	  "code_score, math_score, length or lines), got '0.5'; the field comes first, as in "
	  "'lang == en'" },
	{ "\"lang\" == en", "column 1: expected a field name (a metadata key, id, source, text, "
	  "code_score, math_score, length or lines), got '\"lang\"'; the field comes first, as in "
	  "'lang == en'" },
	{ "lang in en", "column 9: expected '(' to start the list after 'in', got 'en'" },
	{ "lang in (en de)", "column 13: expected ',' or ')' in the list, got 'de'" },
	{ "lang in ()", "column 10: expected a value (a word, a number or a \"string\"), got ')'" },
	{ "lang not en", "column 10: expected 'in' after 'not', got 'en'" },
	{ "lang == en & n == 1", "column 12: expected 'and', 'or' or the end of the rule, got '&'" },
	{ "lang == en\x01", "column 11: expected 'and', 'or' or the end of the rule, got '\\x01'" },
	{ "url ~ \"(\"", "column 7: bad regular expression '(': " },
	{ "url ~ \"a++\"", "column 7: regular expression 'a++' refused: a repetition follows a "
	  "repetition" },
	{ "url ~ \"((a{100}){100}){100}\"", "column 7: regular expression '((a{100}){100}){100}' "
	  "refused: it would expand to too many states" },
	{ "url ~", "column 6: expected a value (a word, a number or a \"string\"), got end of rule" },
};

static void test_compile_errors(void)
{
	struct tm_buf deep = TM_BUF_INIT;
	struct tm_err err = TM_ERR_INIT;
	struct tm_rule *r;
	size_t i;

	for (i = 0; i < TM_ARRAY_SIZE(bad_rules); i++) {
		err.msg[0] = 0;
		is_int(tm_rule_compile(bad_rules[i].rule, &r, &err), TM_ECONFIG,
		       nm("refused: %s", bad_rules[i].rule));
		ok(r == NULL, "... with no rule");
		/* the regex message is the C library's: compare the start */
		is_mem(err.msg, TM_MIN(strlen(err.msg), strlen(bad_rules[i].msg)), bad_rules[i].msg,
		       strlen(bad_rules[i].msg), nm("... %s", bad_rules[i].msg));
	}
	for (i = 0; i < 64; i++)
		tm_buf_addch(&deep, '(');
	tm_buf_addstr(&deep, "n == 1");
	for (i = 0; i < 64; i++)
		tm_buf_addch(&deep, ')');
	is_int(tm_rule_compile(deep.buf, &r, &err), 0, "64 levels of parentheses compile");
	tm_rule_free(r);
	tm_buf_reset(&deep);
	for (i = 0; i < 10000; i++)
		tm_buf_addstr(&deep, "not ");
	tm_buf_addstr(&deep, "n == 1");
	is_int(tm_rule_compile(deep.buf, &r, &err), TM_ECONFIG, "10000 nots are refused");
	is_str(err.msg, "column 257: rule nested deeper than 64 levels", "... saying so");
	tm_buf_reset(&deep);
	for (i = 0; i < 65; i++)
		tm_buf_addch(&deep, '(');
	is_int(tm_rule_compile(deep.buf, &r, &err), TM_ECONFIG, "65 parentheses are refused");
	is_str(err.msg, "column 65: rule nested deeper than 64 levels", "... at the 65th");
	tm_buf_release(&deep);
}

/* The router of `conf` (with one override when set): its report or rules. */
static void router_says(const char *conf, const char *set, const char *want)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_buf got = TM_BUF_INIT;
	struct tm_ini *ini = NULL;
	struct tm_router *r;
	size_t i;

	if (tm_ini_parse_buf("t.conf", conf, strlen(conf), &ini, &err) < 0)
		BUG("test config: %s", err.msg);
	if (set && tm_ini_set_arg(ini, set, &err) < 0)
		BUG("test override: %s", err.msg);
	if (tm_router_new(ini, &r, &err) < 0) {
		tm_err_format(&err, &got);
	} else {
		for (i = 0; i < tm_router_nsources(r); i++)
			tm_buf_addf(&got, "%s%s: %s", i ? "; " : "", tm_router_source(r, i),
				    tm_router_rule_text(r, i) ? tm_router_rule_text(r, i) : "*");
		tm_router_free(r);
	}
	is_str(got.buf, want, nm("%s%s%s", conf, set ? " -c " : "", set ? set : ""));
	tm_buf_release(&got);
	tm_ini_free(ini);
}

static void test_router(void)
{
	struct tm_router *r;
	struct tm_err err = TM_ERR_INIT;

	is_int(tm_router_new(NULL, &r, &err), 0, "no configuration: the built-in rules");
	is_int(tm_router_nsources(r), 4, "code, math, multilingual, web");
	is_str(tm_router_source(r, 3), "web", "web is the default");
	is_str(tm_router_rule_text(r, 0), TM_ROUTE_CODE_DEFAULT, "code's rule");
	tm_router_free(r);

	router_says("", NULL, "code: " TM_ROUTE_CODE_DEFAULT "; math: " TM_ROUTE_MATH_DEFAULT
		    "; multilingual: " TM_ROUTE_MULTILINGUAL_DEFAULT "; web: *");
	router_says("[route]\norder = multilingual code\ndefault = rest\n"
		    "[route \"code\"]\nwhen = lines > 2\n", NULL,
		    "multilingual: " TM_ROUTE_MULTILINGUAL_DEFAULT "; code: lines > 2; rest: *");
	router_says("[route]\norder = books, code\n[route \"books\"]\nwhen = url ~ gutenberg\n",
		    NULL, "books: url ~ gutenberg; code: " TM_ROUTE_CODE_DEFAULT "; web: *");
	router_says("[route]\norder =\n", NULL, "web: *");
	router_says("[route]\norder = code\n", "route.code.when=length > 1",
		    "code: length > 1; web: *");
	router_says("[route]\n\norder = code, bogus\n", NULL,
		    "t.conf: line 3: [route] order: 'bogus' has no rule: expected a "
		    "[route \"bogus\"] section with when = RULE");
	router_says("[route]\norder = code\n\n[route \"code\"]\nwhen = lines > 2\n"
		    "[route \"extra\"]\n# no keys\n", NULL,
		    "t.conf: line 6: [route \"extra\"] is not in [route] order (code)");
	router_says("[route]\norder = code\n", "route.books.when=x == 1",
		    "command line: [route \"books\"] is not in [route] order (code)");
	router_says("[route \"math\"]\nwhen = math_score => 0.1\n", NULL,
		    "t.conf: line 2: [route \"math\"] when: column 12: expected an operator "
		    "(== != < <= > >= ~ !~ in, not in) after 'math_score', got '='; did you mean '=='?");
	router_says("", "route.code.when=(code_score", "command line: [route \"code\"] when: "
		    "column 12: expected an operator (== != < <= > >= ~ !~ in, not in) after "
		    "'code_score', got end of rule");
	router_says("[route]\norder = code, my.src\n", NULL,
		    "t.conf: line 2: [route] order: 'my.src' is not a source name (letters, digits, "
		    "'_', '-'; at most 64)");
	router_says("[route]\norder = code, math, code\n", NULL,
		    "t.conf: line 2: [route] order: 'code' is named twice");
	router_says("[route]\ndefault = web/x\n", NULL,
		    "t.conf: line 2: [route] default: 'web/x' is not a source name (letters, digits, "
		    "'_', '-'; at most 64)");
	router_says("[route]\norder = code\n[route \"a b\"]\nwhen = n == 1\n", NULL,
		    "t.conf: line 3: [route \"a b\"] is not in [route] order (code); and a source "
		    "name is letters, digits, '_' and '-'");
}

/* tm_route_line() on `line` with the built-in rules: the line it writes. */
static int route_line(const char *line, unsigned flags, struct tm_buf *out,
		      struct tm_route_result *res, struct tm_err *err)
{
	static struct tm_router *r;
	struct tm_route_work *w = tm_route_work_new();
	int rc;

	if (!r && tm_router_new(NULL, &r, err) < 0)
		BUG("the built-in rules: %s", err->msg);
	tm_buf_reset(out);
	rc = tm_route_line(r, w, line, strlen(line), flags, out, res, err);
	tm_route_work_free(w);
	return rc;
}

static void test_lines(void)
{
	struct tm_buf out = TM_BUF_INIT;
	struct tm_err err = TM_ERR_INIT;
	struct tm_route_result res;
	static const char same[] = "{\"text\":\"Hello.\" , \"source\":\"web\",\"x\":1.50,"
		"\"metadata\":{\"lang\":\"en\",\"t\":\"\\u00e9\"}}";
	static const char other[] = "{\"source\":\"cc\",\"text\":\"Hallo Welt.\","
		"\"metadata\":{\"lang\":\"de\",\"n\":1E2}}";
	static const char none[] = " {\"text\":\"Bonjour.\",\"metadata\":{\"lang\":\"fr\"}} \t";
	static const char escaped[] = "{\"te\\u0078t\":\"Hola.\",\"metadata\":{\"lang\":\"es\"}}";
	static const char code[] = "{\"text\":\"int main(void)\\n{\\n\\treturn 0;\\n}\","
		"\"source\":\"web\"}";

	is_int(route_line(same, 0, &out, &res, &err), 0, "an English web page");
	is_int((long long)out.len, (long long)strlen(same) + 1, "... written byte for byte:");
	ok(!memcmp(out.buf, same, strlen(same)) && out.buf[strlen(same)] == '\n', "... same bytes");
	ok(!res.changed && res.source == 3 && !res.scored, "... as unchanged web, not scored");

	is_int(route_line(other, 0, &out, &res, &err), 0, "a German page from source cc");
	is_str(out.buf, "{\"source\":\"multilingual\",\"text\":\"Hallo Welt.\","
	       "\"metadata\":{\"lang\":\"de\",\"n\":1E2}}\n", "... only the source's value changed");
	ok(res.changed && res.source == 2, "... changed, to multilingual");

	is_int(route_line(none, 0, &out, &res, &err), 0, "a page without a source");
	is_str(out.buf, " {\"text\":\"Bonjour.\",\"metadata\":{\"lang\":\"fr\"},"
	       "\"source\":\"multilingual\"} \t\n", "... source appended to the object");

	is_int(route_line(code, TM_ROUTE_SCORES, &out, &res, &err), 0, "a C program");
	ok(res.source == 0 && res.scored && res.code_score == 1 && res.math_score == 0,
	   "... code, scores 1 and 0");

	is_int(route_line(escaped, 0, &out, &res, &err), 0, "an escaped key (not scanned)");
	is_str(out.buf, "{\"text\":\"Hola.\",\"metadata\":{\"lang\":\"es\"},\"source\":\"multilingual\"}\n",
	       "... written whole by tm_doc_write()");

	is_int(route_line(same, TM_ROUTE_ANNOTATE, &out, &res, &err), 0, "--annotate");
	is_str(out.buf, "{\"text\":\"Hello.\",\"source\":\"web\",\"x\":1.5,\"metadata\":"
	       "{\"lang\":\"en\",\"t\":\"é\",\"code_score\":0.0,\"math_score\":0.0}}\n",
	       "... the scores in metadata, the line rewritten");

	is_int(route_line("{\"text\":1}", 0, &out, &res, &err), TM_EFORMAT, "a malformed line");
	is_str(err.msg, "\"text\" must be a string, got a number", "... says why");
	is_int((long long)out.len, 0, "... and writes nothing");
	is_int(route_line("", 0, &out, &res, &err), TM_EFORMAT, "an empty line is malformed");
	tm_buf_release(&out);
}

static double score(const char *text, bool math)
{
	struct tm_ftext *t = tm_ftext_new();
	double s;

	tm_ftext_set(t, text, strlen(text), NULL, NULL);
	s = math ? tm_route_math_score(t) : tm_route_code_score(t);
	tm_ftext_free(t);
	return s;
}

static void test_features(void)
{
	ok(score("", false) == 0 && score("", true) == 0, "empty text: 0 and 0");
	ok(score("It was a bright cold day in April, and the clocks were striking thirteen.\n"
		 "Winston Smith slipped quickly through the glass doors.\n", false) == 0,
	   "prose: code_score 0");
	ok(score("import json\n\ndef f(x):\n    return json.dumps(x)\n", false) == 1,
	   "Python: code_score 1");
	ok(score(">>> print(1)\n1\n$ ls -l\n# apt install tamis\n", false) == 0.75,
	   "prompts: 3 of 4 lines (the output is not code)");
	ok(score("Price: $5 and $10, 3 × 4 m, 20 m² flat.\n", true) < 0.2,
	   "prices, one ×, m²: little math (%g)", score("Price: $5 and $10, 3 × 4 m, 20 m² flat.\n",
						      true));
	ok(score("Let $f(x) = \\frac{1}{x}$ for all $x \\in \\mathbb{R}$.\n", true) >= 0.5,
	   "inline LaTeX: math_score high");
	ok(score("For all x ∈ ℝ we have x ≥ 0 or x < 0, and ∑ converges.\n", true) > 0.2,
	   "Unicode math symbols");
	ok(score("C:\\Users\\Name\\Documents and \\n escapes\n", true) == 0,
	   "Windows paths and escapes are no LaTeX");
}

int main(void)
{
	test_eval();
	test_compile_errors();
	test_router();
	test_lines();
	test_features();
	return tap_done();
}
