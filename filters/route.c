/*
 * route.c: the rule language of `tamis route`, the router built from
 * pipeline.conf, and the per-line work of the stage (route.h).
 *
 * A rule is parsed once by recursive descent into a tree:
 *   rule    := or
 *   or      := and { "or" and }
 *   and     := unary { "and" unary }
 *   unary   := "not" unary | "(" or ")" | compare
 *   compare := FIELD OP VALUE | FIELD ["not"] "in" "(" VALUE { "," VALUE } ")"
 *   OP      := == != < <= > >= ~ !~
 * The left of a comparison is always a field and the right always a
 * literal, so a bare word needs no quotes on either side.  Evaluation
 * reads fields through a tm_route_work, which computes the features of a
 * document on first use.
 */
#include "tamis.h"
#include "route.h"
#include "doc.h"
#include "ini.h"
#include "text.h"

#include <math.h>
#include <regex.h>

/* Deeper nesting of parentheses and `not` is refused (the parser recurses). */
#define MAX_DEPTH 64

/* ---- the tree ----------------------------------------------------------- */

enum op {
	OP_OR, OP_AND, OP_NOT,
	OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE,
	OP_IN, OP_NOTIN, OP_MATCH, OP_NOMATCH,
};

enum field {
	F_META, F_ID, F_SOURCE, F_TEXT, F_CODE, F_MATH, F_LENGTH, F_LINES,
};

struct lit {
	char *s;                /* the value as written (unquoted) */
	size_t len;
	bool is_num;            /* a bare word that reads as a number */
	double num;
};

struct node {
	enum op op;
	struct node *a, *b;     /* OR/AND: both; NOT: a */
	enum field field;
	char *key;              /* F_META: the metadata key */
	struct lit *lits;       /* one, or the list of in/not in */
	size_t nlits;
	regex_t re;             /* OP_MATCH, OP_NOMATCH */
	bool has_re;
};

struct tm_rule {
	struct node *root;
	bool needs_text;
};

static void node_free(struct node *n)
{
	size_t i;

	if (!n)
		return;
	node_free(n->a);
	node_free(n->b);
	for (i = 0; i < n->nlits; i++)
		free(n->lits[i].s);
	free(n->lits);
	free(n->key);
	if (n->has_re)
		regfree(&n->re);
	free(n);
}

void tm_rule_free(struct tm_rule *r)
{
	if (!r)
		return;
	node_free(r->root);
	free(r);
}

bool tm_rule_needs_text(const struct tm_rule *r)
{
	return r->needs_text;
}

/* ---- the lexer ---------------------------------------------------------- */

enum tok { T_END, T_LPAREN, T_RPAREN, T_COMMA, T_OP, T_WORD, T_STRING, T_BAD };

struct parser {
	const char *src, *p;
	enum tok tok;
	const char *start;      /* of the current token */
	size_t len;             /* of the current token as written */
	enum op op;             /* T_OP */
	struct tm_buf str;      /* T_STRING: unquoted; T_WORD: the word */
	int depth;
	bool needs_text;
	struct tm_err *err;
};

static bool is_word_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-' || c == '+' || c == ':' || c == '/' ||
	       c == '@' || c == '%' || c >= 0x80;
}

/* The current token as quoted in messages: cut, control bytes escaped. */
static const char *tok_text(struct parser *ps, char *buf, size_t size)
{
	size_t i, o = 0, n = ps->tok == T_END ? 0 : TM_MAX(ps->len, (size_t)1);

	if (ps->tok == T_END)
		return "end of rule";
	buf[o++] = '\'';
	for (i = 0; i < n && i < 40 && o + 6 < size; i++) {
		unsigned char c = (unsigned char)ps->start[i];

		if (c < 0x20 || c == 0x7f)
			o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
		else
			buf[o++] = (char)c;
	}
	if (i < n && o + 4 < size) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o++] = '\'';
	buf[o] = 0;
	return buf;
}

static int perr(struct parser *ps, const char *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int perr(struct parser *ps, const char *at, const char *fmt, ...)
{
	char what[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return tm_err_set(ps->err, TM_ECONFIG, NULL, TM_ERR_NO_OFFSET, 0, "column %zu: %s",
			  (size_t)(at - ps->src) + 1, what);
}

/* Reads the next token; returns TM_ECONFIG for an unterminated string. */
static int next(struct parser *ps)
{
	const char *p = ps->p;

	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	ps->start = p;
	switch (*p) {
	case 0:
		ps->tok = T_END;
		ps->len = 0;
		ps->p = p;
		return 0;
	case '(':
		ps->tok = T_LPAREN;
		break;
	case ')':
		ps->tok = T_RPAREN;
		break;
	case ',':
		ps->tok = T_COMMA;
		break;
	case '~':
		ps->tok = T_OP;
		ps->op = OP_MATCH;
		break;
	case '=': case '!': case '<': case '>':
		ps->tok = T_OP;
		if (p[1] == '=') {
			ps->op = *p == '=' ? OP_EQ : *p == '!' ? OP_NE : *p == '<' ? OP_LE : OP_GE;
			p++;
		} else if (*p == '!' && p[1] == '~') {
			ps->op = OP_NOMATCH;
			p++;
		} else if (*p == '<' || *p == '>') {
			ps->op = *p == '<' ? OP_LT : OP_GT;
		} else {
			ps->tok = T_BAD;
		}
		break;
	case '"':
		tm_buf_reset(&ps->str);
		for (p++; *p != '"'; p++) {
			if (!*p)
				return perr(ps, ps->start, "unterminated string: expected '\"'");
			/* \" and \\ are escapes; any other backslash stays (regex) */
			if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
				p++;
			tm_buf_addch(&ps->str, *p);
		}
		ps->tok = T_STRING;
		break;
	default:
		if (!is_word_char((unsigned char)*p)) {
			ps->tok = T_BAD;
			break;
		}
		while (is_word_char((unsigned char)p[1]))
			p++;
		ps->tok = T_WORD;
		tm_buf_reset(&ps->str);
		tm_buf_add(&ps->str, ps->start, (size_t)(p + 1 - ps->start));
		break;
	}
	ps->p = p + 1;
	ps->len = (size_t)(ps->p - ps->start);
	return 0;
}

static bool is_kw(const struct parser *ps, const char *kw)
{
	return ps->tok == T_WORD && !strcmp(ps->str.buf, kw);
}

static bool is_keyword(const char *w)
{
	return !strcmp(w, "and") || !strcmp(w, "or") || !strcmp(w, "not") || !strcmp(w, "in");
}

/* ---- the parser ------------------------------------------------------- */

static int parse_or(struct parser *ps, struct node **out);

static struct node *new_node(enum op op)
{
	struct node *n = tm_xcalloc(1, sizeof(*n));

	n->op = op;
	return n;
}

/* A literal (bare word or string) at the current token into *l. */
static int parse_lit(struct parser *ps, struct lit *l)
{
	char t[200];

	if (ps->tok != T_WORD && ps->tok != T_STRING)
		return perr(ps, ps->start, "expected a value (a word, a number or a \"string\"), got %s",
			    tok_text(ps, t, sizeof(t)));
	l->len = ps->str.len;
	l->s = tm_xmemdup(ps->str.buf, ps->str.len);
	l->is_num = ps->tok == T_WORD && tm_ini_to_double(ps->str.buf, &l->num) == 0;
	return next(ps);
}

static const struct {
	const char *name;
	enum field field;
} builtin_fields[] = {
	{ "id", F_ID }, { "source", F_SOURCE }, { "text", F_TEXT },
	{ "code_score", F_CODE }, { "math_score", F_MATH },
	{ "length", F_LENGTH }, { "lines", F_LINES },
};

static int parse_field(struct parser *ps, struct node *n)
{
	const char *w = ps->str.buf;
	char t[200];
	size_t i;
	double d;

	if (ps->tok != T_WORD || is_keyword(w) || tm_ini_to_double(w, &d) == 0)
		return perr(ps, ps->start, "expected a field name (a metadata key, id, source, text, "
			    "code_score, math_score, length or lines), got %s%s",
			    tok_text(ps, t, sizeof(t)),
			    ps->tok == T_STRING || (ps->tok == T_WORD && !is_keyword(w)) ?
			    "; the field comes first, as in 'lang == en'" : "");
	n->field = F_META;
	if (!strncmp(w, "metadata.", 9) && w[9]) {
		n->key = tm_xstrdup(w + 9);
	} else {
		for (i = 0; i < TM_ARRAY_SIZE(builtin_fields); i++)
			if (!strcmp(w, builtin_fields[i].name))
				n->field = builtin_fields[i].field;
		if (n->field == F_META)
			n->key = tm_xstrdup(w);
	}
	if (n->field == F_TEXT || n->field == F_CODE || n->field == F_MATH ||
	    n->field == F_LENGTH || n->field == F_LINES)
		ps->needs_text = true;
	return next(ps);
}

static int parse_list(struct parser *ps, struct node *n)
{
	char t[200];
	int rc;

	if (ps->tok != T_LPAREN)
		return perr(ps, ps->start, "expected '(' to start the list after 'in', got %s",
			    tok_text(ps, t, sizeof(t)));
	if ((rc = next(ps)) < 0)
		return rc;
	for (;;) {
		n->lits = tm_xrealloc(n->lits, (n->nlits + 1) * sizeof(*n->lits));
		memset(&n->lits[n->nlits], 0, sizeof(*n->lits));
		if ((rc = parse_lit(ps, &n->lits[n->nlits++])) < 0)
			return rc;
		if (ps->tok == T_RPAREN)
			return next(ps);
		if (ps->tok != T_COMMA)
			return perr(ps, ps->start, "expected ',' or ')' in the list, got %s",
				    tok_text(ps, t, sizeof(t)));
		if ((rc = next(ps)) < 0)
			return rc;
	}
}

/* The most nodes a regular expression may expand to (glibc copies repeats). */
#define MAX_REGEX_COST 20000

/*
 * Refuses what glibc's regcomp() would take gigabytes for: repetitions
 * after repetitions ("a++++", which POSIX leaves undefined anyway) and
 * counted repetitions that multiply beyond MAX_REGEX_COST nodes
 * ("((a{100}){100}){100}").  Returns NULL or what is wrong.
 */
static const char *regex_too_big(const char *re)
{
	size_t sum[MAX_DEPTH + 2], last[MAX_DEPTH + 2];
	int d = 0;
	bool rep = false;
	const char *p;

	sum[0] = last[0] = 0;
	for (p = re; *p; p++) {
		if (*p == '*' || *p == '+' || *p == '?' || *p == '{') {
			size_t k = 1;

			if (rep)
				return "a repetition follows a repetition";
			if (*p == '{') {
				size_t m = 0;

				for (p++; *p && *p != '}'; p++)
					if (*p >= '0' && *p <= '9')
						m = TM_MIN(m * 10 + (size_t)(*p - '0'), (size_t)MAX_REGEX_COST);
					else if (*p == ',')
						k = TM_MAX(k, m), m = 0;
				k = TM_MAX(k, m);
				if (!*p)
					break;
			}
			sum[d] += last[d] * (k ? k - 1 : 0) + 1;
			last[d] *= k ? k : 1;
			rep = true;
		} else {
			rep = false;
			if (*p == '(') {
				if (++d > MAX_DEPTH)
					return "groups nested too deep";
				sum[d] = last[d] = 0;
				continue;
			}
			if (*p == ')' && d > 0) {
				d--;
				last[d] = sum[d + 1] + 1;
			} else if (*p == '[') {
				/* a bracket expression: one atom; ']' first is a member */
				p += p[1] == '^';
				p += p[1] == ']';
				while (p[1] && p[1] != ']')
					p++;
				p += !!p[1];
				last[d] = 1;
			} else {
				p += *p == '\\' && p[1];
				last[d] = 1;
			}
			sum[d] += last[d];
		}
		if (sum[d] > MAX_REGEX_COST || last[d] > MAX_REGEX_COST)
			return "it would expand to too many states";
	}
	return NULL;
}

static int parse_compare(struct parser *ps, struct node **out)
{
	struct node *n = new_node(OP_EQ);
	char t[200], f[200];
	int rc;

	*out = n;
	tok_text(ps, f, sizeof(f));
	if ((rc = parse_field(ps, n)) < 0)
		return rc;
	if (is_kw(ps, "not")) {
		if ((rc = next(ps)) < 0)
			return rc;
		if (is_kw(ps, "in")) {
			n->op = OP_NOTIN;
			if ((rc = next(ps)) < 0)
				return rc;
			return parse_list(ps, n);
		}
		return perr(ps, ps->start, "expected 'in' after 'not', got %s",
			    tok_text(ps, t, sizeof(t)));
	}
	if (is_kw(ps, "in")) {
		n->op = OP_IN;
		if ((rc = next(ps)) < 0)
			return rc;
		return parse_list(ps, n);
	}
	if (ps->tok != T_OP) {
		bool eq = ps->tok == T_BAD && *ps->start == '=';

		return perr(ps, ps->start, "expected an operator (== != < <= > >= ~ !~ in, not in) "
			    "after %s, got %s%s", f, tok_text(ps, t, sizeof(t)),
			    eq ? "; did you mean '=='?" : "");
	}
	n->op = ps->op;
	if ((rc = next(ps)) < 0)
		return rc;
	n->lits = tm_xcalloc(1, sizeof(*n->lits));
	n->nlits = 1;
	if (n->op == OP_MATCH || n->op == OP_NOMATCH) {
		const char *at = ps->start, *why;

		if ((rc = parse_lit(ps, &n->lits[0])) < 0)
			return rc;
		if ((why = regex_too_big(n->lits[0].s)))
			return perr(ps, at, "regular expression '%.60s' refused: %s", n->lits[0].s, why);
		rc = regcomp(&n->re, n->lits[0].s, REG_EXTENDED | REG_NOSUB);
		if (rc) {
			char msg[200];

			regerror(rc, &n->re, msg, sizeof(msg));
			return perr(ps, at, "bad regular expression '%.60s': %s", n->lits[0].s, msg);
		}
		n->has_re = true;
		return 0;
	}
	return parse_lit(ps, &n->lits[0]);
}

static int parse_unary(struct parser *ps, struct node **out)
{
	char t[200];
	int rc;

	*out = NULL;
	if (!is_kw(ps, "not") && ps->tok != T_LPAREN)
		return parse_compare(ps, out);
	/* `not` and '(' nest: the parser recurses, so it stops somewhere */
	if (++ps->depth > MAX_DEPTH)
		return perr(ps, ps->start, "rule nested deeper than %d levels", MAX_DEPTH);
	if (is_kw(ps, "not")) {
		struct node *n = new_node(OP_NOT);

		*out = n;
		if ((rc = next(ps)) < 0)
			return rc;
		rc = parse_unary(ps, &n->a);
	} else {
		const char *open = ps->start;

		if ((rc = next(ps)) < 0 || (rc = parse_or(ps, out)) < 0)
			return rc;
		if (ps->tok != T_RPAREN)
			return perr(ps, ps->start, "expected ')' to close the '(' of column %zu, got %s",
				    (size_t)(open - ps->src) + 1, tok_text(ps, t, sizeof(t)));
		rc = next(ps);
	}
	ps->depth--;
	return rc;
}

/* and/or: a left-leaning chain of `sub` joined by the keyword `kw`. */
static int parse_chain(struct parser *ps, struct node **out, const char *kw, enum op op,
		       int (*sub)(struct parser *, struct node **))
{
	int rc;

	if ((rc = sub(ps, out)) < 0)
		return rc;
	while (is_kw(ps, kw)) {
		struct node *n = new_node(op);

		n->a = *out;
		*out = n;
		if ((rc = next(ps)) < 0 || (rc = sub(ps, &n->b)) < 0)
			return rc;
	}
	return 0;
}

static int parse_and(struct parser *ps, struct node **out)
{
	return parse_chain(ps, out, "and", OP_AND, parse_unary);
}

static int parse_or(struct parser *ps, struct node **out)
{
	return parse_chain(ps, out, "or", OP_OR, parse_and);
}

int tm_rule_compile(const char *src, struct tm_rule **out, struct tm_err *err)
{
	struct parser ps = { src, src, T_END, src, 0, OP_EQ, TM_BUF_INIT, 0, false, err };
	struct node *root = NULL;
	char t[200];
	int rc;

	*out = NULL;
	if ((rc = next(&ps)) < 0)
		goto fail;
	if (ps.tok == T_END) {
		rc = perr(&ps, ps.start, "expected a rule, got an empty value");
		goto fail;
	}
	if ((rc = parse_or(&ps, &root)) < 0)
		goto fail;
	if (ps.tok != T_END) {
		rc = perr(&ps, ps.start, "expected 'and', 'or' or the end of the rule, got %s",
			  tok_text(&ps, t, sizeof(t)));
		goto fail;
	}
	*out = tm_xcalloc(1, sizeof(**out));
	(*out)->root = root;
	(*out)->needs_text = ps.needs_text;
	tm_buf_release(&ps.str);
	return 0;
fail:
	node_free(root);
	tm_buf_release(&ps.str);
	return rc;
}

/* ---- evaluation ------------------------------------------------------- */

struct tm_route_work {
	/* the document */
	const char *text;
	size_t text_len;
	const char *id, *source;
	const json_t *meta;
	/* its features, on first use */
	struct tm_ftext *ft;
	bool have_code, have_math, have_ft;
	double code, math;
	/* a number's string form, for string comparisons */
	struct tm_buf num;
	/* tm_route_line()'s parses */
	struct tm_doc doc;
	struct tm_buf scan, rest;
};

struct tm_route_work *tm_route_work_new(void)
{
	struct tm_route_work *w = tm_xcalloc(1, sizeof(*w));

	w->ft = tm_ftext_new();
	tm_buf_init(&w->num, 0);
	tm_buf_init(&w->scan, 0);
	tm_buf_init(&w->rest, 0);
	tm_doc_init(&w->doc);
	return w;
}

void tm_route_work_free(struct tm_route_work *w)
{
	if (!w)
		return;
	tm_ftext_free(w->ft);
	tm_buf_release(&w->num);
	tm_buf_release(&w->scan);
	tm_buf_release(&w->rest);
	tm_doc_release(&w->doc);
	free(w);
}

void tm_route_work_set(struct tm_route_work *w, const char *text, size_t len,
		       const char *id, const char *source, const json_t *meta)
{
	w->text = text;
	w->text_len = len;
	w->id = id;
	w->source = source;
	w->meta = meta;
	w->have_code = w->have_math = w->have_ft = false;
}

static struct tm_ftext *work_ftext(struct tm_route_work *w)
{
	if (!w->have_ft) {
		tm_ftext_set(w->ft, w->text, w->text_len, NULL, NULL);
		w->have_ft = true;
	}
	return w->ft;
}

double tm_route_work_code_score(struct tm_route_work *w)
{
	if (!w->have_code) {
		w->code = tm_route_code_score(work_ftext(w));
		w->have_code = true;
	}
	return w->code;
}

double tm_route_work_math_score(struct tm_route_work *w)
{
	if (!w->have_math) {
		w->math = tm_route_math_score(work_ftext(w));
		w->have_math = true;
	}
	return w->math;
}

struct val {
	enum { V_MISSING, V_NUM, V_STR } kind;
	double num;
	const char *s;          /* V_STR; for V_NUM, set by val_str() */
	size_t len;
	const json_t *json;     /* a metadata number, for its string form */
};

static struct val field_value(const struct node *n, struct tm_route_work *w)
{
	struct val v = { V_MISSING, 0, NULL, 0, NULL };
	const json_t *j;
	size_t nlines;

	switch (n->field) {
	case F_ID:
	case F_SOURCE:
		if ((v.s = n->field == F_ID ? w->id : w->source)) {
			v.kind = V_STR;
			v.len = strlen(v.s);
		}
		return v;
	case F_TEXT:
		v.kind = V_STR;
		v.s = w->text;
		v.len = w->text_len;
		return v;
	case F_CODE:
		v.kind = V_NUM;
		v.num = tm_route_work_code_score(w);
		return v;
	case F_MATH:
		v.kind = V_NUM;
		v.num = tm_route_work_math_score(w);
		return v;
	case F_LENGTH:
		v.kind = V_NUM;
		v.num = (double)w->text_len;
		return v;
	case F_LINES:
		tm_ftext_lines(work_ftext(w), &nlines);
		v.kind = V_NUM;
		v.num = (double)nlines;
		return v;
	case F_META:
		break;
	}
	if (!w->meta || !(j = json_object_get(w->meta, n->key)))
		return v;
	switch (json_typeof(j)) {
	case JSON_STRING:
		v.kind = V_STR;
		v.s = json_string_value(j);
		v.len = json_string_length(j);
		break;
	case JSON_INTEGER:
	case JSON_REAL:
		v.kind = V_NUM;
		v.num = json_number_value(j);
		v.json = j;
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		v.kind = V_STR;
		v.s = json_is_true(j) ? "true" : "false";
		v.len = strlen(v.s);
		break;
	default:	/* null, arrays and objects compare as missing */
		break;
	}
	return v;
}

/* The string form of a value: a number as tamis writes it in JSON. */
static void val_str(struct val *v, struct tm_route_work *w)
{
	if (v->kind != V_NUM || v->s)
		return;
	tm_buf_reset(&w->num);
	if (v->json && json_is_integer(v->json))
		tm_buf_addf(&w->num, "%" PRId64, (int64_t)json_integer_value(v->json));
	else if (v->num == floor(v->num) && fabs(v->num) < 1e15)
		tm_buf_addf(&w->num, "%.0f", v->num);	/* features: 12, not 12.0 */
	else
		tm_doc_format_double(v->num, &w->num);
	v->s = w->num.buf;
	v->len = w->num.len;
}

/* <0, 0, >0 as value `v` sorts before, with or after literal `l`. */
static int compare(struct val *v, const struct lit *l, struct tm_route_work *w)
{
	int c;

	if (v->kind == V_NUM && l->is_num)
		return (v->num > l->num) - (v->num < l->num);
	val_str(v, w);
	c = memcmp(v->s, l->s, TM_MIN(v->len, l->len));
	return c ? c : (v->len > l->len) - (v->len < l->len);
}

static bool matches(struct val *v, const regex_t *re, struct tm_route_work *w)
{
	val_str(v, w);
#ifdef REG_STARTEND
	{
		/* the whole string, NUL bytes (U+0000) and all */
		regmatch_t m[1];

		m[0].rm_so = 0;
		m[0].rm_eo = (regoff_t)v->len;
		return regexec(re, v->s, 1, m, REG_STARTEND) == 0;
	}
#else
	return regexec(re, v->s, 0, NULL, 0) == 0;
#endif
}

static bool eval(const struct node *n, struct tm_route_work *w)
{
	struct val v;
	size_t i;
	int c;

	switch (n->op) {
	case OP_OR:
		return eval(n->a, w) || eval(n->b, w);
	case OP_AND:
		return eval(n->a, w) && eval(n->b, w);
	case OP_NOT:
		return !eval(n->a, w);
	default:
		break;
	}
	v = field_value(n, w);
	if (v.kind == V_MISSING)
		return false;
	switch (n->op) {
	case OP_IN:
	case OP_NOTIN:
		for (i = 0; i < n->nlits; i++)
			if (!compare(&v, &n->lits[i], w))
				return n->op == OP_IN;
		return n->op == OP_NOTIN;
	case OP_MATCH:
		return matches(&v, &n->re, w);
	case OP_NOMATCH:
		return !matches(&v, &n->re, w);
	default:
		break;
	}
	c = compare(&v, &n->lits[0], w);
	switch (n->op) {
	case OP_EQ: return c == 0;
	case OP_NE: return c != 0;
	case OP_LT: return c < 0;
	case OP_LE: return c <= 0;
	case OP_GT: return c > 0;
	case OP_GE: return c >= 0;
	default: BUG("operator %d", (int)n->op);
	}
}

bool tm_rule_eval(const struct tm_rule *r, struct tm_route_work *w)
{
	return eval(r->root, w);
}

/* ---- the router --------------------------------------------------------- */

struct route_src {
	char *name;
	char *text;             /* the rule as written; NULL for the default */
	struct tm_rule *rule;
};

struct tm_router {
	struct route_src *src;
	size_t n;               /* rules + the default */
	bool needs_text;
};

static const struct {
	const char *name, *rule;
} builtin_rules[] = {
	{ "code", TM_ROUTE_CODE_DEFAULT },
	{ "math", TM_ROUTE_MATH_DEFAULT },
	{ "multilingual", TM_ROUTE_MULTILINGUAL_DEFAULT },
};

static bool valid_source(const char *s, size_t n)
{
	size_t i;

	if (!n || n > 64)
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

/* An error about entry `e` (NULL: the built-in default) of `ini`. */
static int conf_err(const struct tm_ini *ini, const struct tm_ini_entry *e, struct tm_err *err,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int conf_err(const struct tm_ini *ini, const struct tm_ini_entry *e, struct tm_err *err,
		    const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return tm_err_set(err, TM_ECONFIG, !e ? "(built-in rules)" : e->line ? tm_ini_name(ini) :
			  TM_INI_CMDLINE, TM_ERR_NO_OFFSET, e ? e->line : 0, "%s", msg);
}

static void add_source(struct tm_router *r, const char *name, size_t len)
{
	r->src = tm_xrealloc(r->src, (r->n + 1) * sizeof(*r->src));
	memset(&r->src[r->n], 0, sizeof(*r->src));
	r->src[r->n++].name = tm_xmemdup(name, len);
}

/* Compiles the rule of source `s` from [route "NAME"] when or a built-in. */
static int compile_source(const struct tm_ini *ini, struct route_src *s,
			  const struct tm_ini_entry *order, struct tm_err *err)
{
	const struct tm_ini_entry *e = ini ? tm_ini_find(ini, "route", s->name, "when") : NULL;
	const char *text = e ? e->value : NULL;
	struct tm_err rerr = TM_ERR_INIT;
	size_t i;

	for (i = 0; !text && i < TM_ARRAY_SIZE(builtin_rules); i++)
		if (!strcmp(s->name, builtin_rules[i].name))
			text = builtin_rules[i].rule;
	if (!text)
		return conf_err(ini, order, err, "[route] order: '%s' has no rule: expected a "
				"[route \"%s\"] section with when = RULE", s->name, s->name);
	s->text = tm_xstrdup(text);
	if (tm_rule_compile(text, &s->rule, &rerr) < 0)
		return conf_err(ini, e, err, "[route \"%s\"] when: %s", s->name, rerr.msg);
	return 0;
}

int tm_router_new(const struct tm_ini *ini, struct tm_router **out, struct tm_err *err)
{
	struct tm_router *r = tm_xcalloc(1, sizeof(*r));
	const struct tm_ini_entry *oe = ini ? tm_ini_find(ini, "route", NULL, "order") : NULL;
	const struct tm_ini_entry *de = ini ? tm_ini_find(ini, "route", NULL, "default") : NULL;
	const char *order = oe ? oe->value : TM_ROUTE_ORDER_DEFAULT;
	const char *def = de ? de->value : TM_ROUTE_DEFAULT_SOURCE;
	const char *p = order, *sub;
	size_t i, j, pos = 0;
	int rc = 0;

	*out = NULL;
	while (*p) {
		size_t len = strcspn(p, ", \t");

		if (len) {
			if (!valid_source(p, len)) {
				rc = conf_err(ini, oe, err, "[route] order: '%.*s' is not a source name "
					      "(letters, digits, '_', '-'; at most 64)", (int)TM_MIN(len, 80),
					      p);
				goto fail;
			}
			for (j = 0; j < r->n; j++)
				if (strlen(r->src[j].name) == len && !memcmp(r->src[j].name, p, len)) {
					rc = conf_err(ini, oe, err, "[route] order: '%.*s' is named twice",
						      (int)len, p);
					goto fail;
				}
			add_source(r, p, len);
		}
		p += len;
		p += strspn(p, ", \t");
	}
	for (i = 0; i < r->n; i++)
		if ((rc = compile_source(ini, &r->src[i], oe, err)) < 0)
			goto fail;
	/* every [route "NAME"] is a rule in order */
	while (ini && (sub = tm_ini_next_subsection(ini, "route", &pos))) {
		for (j = 0; j < r->n && strcmp(r->src[j].name, sub); j++)
			;
		if (j < r->n)
			continue;
		{
			long line = tm_ini_section_line(ini, "route", sub);

			rc = tm_err_set(err, TM_ECONFIG, line ? tm_ini_name(ini) : TM_INI_CMDLINE,
					TM_ERR_NO_OFFSET, line, "[route \"%.80s\"] is not in [route] order (%s)%s",
					sub, order, valid_source(sub, strlen(sub)) ? "" :
					"; and a source name is letters, digits, '_' and '-'");
			goto fail;
		}
	}
	if (!valid_source(def, strlen(def))) {
		rc = conf_err(ini, de, err, "[route] default: '%.80s' is not a source name "
			      "(letters, digits, '_', '-'; at most 64)", def);
		goto fail;
	}
	add_source(r, def, strlen(def));
	for (i = 0; i + 1 < r->n; i++)
		r->needs_text |= tm_rule_needs_text(r->src[i].rule);
	*out = r;
	return 0;
fail:
	tm_router_free(r);
	return rc;
}

void tm_router_free(struct tm_router *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->n; i++) {
		free(r->src[i].name);
		free(r->src[i].text);
		tm_rule_free(r->src[i].rule);
	}
	free(r->src);
	free(r);
}

size_t tm_router_nsources(const struct tm_router *r)
{
	return r->n;
}

const char *tm_router_source(const struct tm_router *r, size_t i)
{
	return r->src[i].name;
}

const char *tm_router_rule_text(const struct tm_router *r, size_t i)
{
	return r->src[i].text;
}

/* ---- one line --------------------------------------------------------- */

static size_t route_doc(const struct tm_router *r, struct tm_route_work *w, unsigned flags,
			struct tm_route_result *res)
{
	size_t i;

	for (i = 0; i + 1 < r->n && !tm_rule_eval(r->src[i].rule, w); i++)
		;
	res->source = i;
	res->id = w->id;
	res->scored = flags & (TM_ROUTE_SCORES | TM_ROUTE_ANNOTATE);
	if (res->scored) {
		res->code_score = tm_route_work_code_score(w);
		res->math_score = tm_route_work_math_score(w);
	}
	return i;
}

int tm_route_line(const struct tm_router *r, struct tm_route_work *w, const char *line,
		  size_t len, unsigned flags, struct tm_buf *out, struct tm_route_result *res,
		  struct tm_err *err)
{
	struct tm_doc_view v;
	const char *name, *old;
	size_t k, end;
	int rc;

	memset(res, 0, sizeof(*res));
	if (len > w->doc.max_line)
		return tm_err_set(err, TM_ETOOBIG, NULL, TM_ERR_NO_OFFSET, 0,
				  "line of %zu bytes exceeds the limit of %zu bytes", len,
				  w->doc.max_line);
	if (!(flags & TM_ROUTE_ANNOTATE) && tm_doc_scan(line, len, &w->scan, &v)) {
		/* the text from the scan; id, source and metadata from the rest */
		tm_buf_reset(&w->rest);
		tm_buf_add(&w->rest, line, v.text_start);
		tm_buf_add(&w->rest, "\"\"", 2);
		tm_buf_add(&w->rest, line + v.text_end, len - v.text_end);
		if ((rc = tm_doc_parse(&w->doc, w->rest.buf, w->rest.len, err)) < 0)
			BUG("a scanned line's rest failed to parse: %s", err ? err->msg : "");
		old = tm_doc_source(&w->doc);
		tm_route_work_set(w, v.text, v.text_len, tm_doc_id(&w->doc), old,
				  tm_doc_meta(&w->doc));
		k = route_doc(r, w, flags, res);
		name = r->src[k].name;
		res->changed = !old || strcmp(old, name);
		if (!res->changed) {
			tm_buf_add(out, line, len);
		} else if (v.source_end) {
			tm_buf_add(out, line, v.source_start);
			tm_json_escape(name, strlen(name), out);
			tm_buf_add(out, line + v.source_end, len - v.source_end);
		} else {
			/* no "source": appended before the object's closing brace */
			for (end = len; end && line[end - 1] != '}'; end--)
				;
			tm_buf_add(out, line, end - 1);
			tm_buf_addstr(out, ",\"source\":");
			tm_json_escape(name, strlen(name), out);
			tm_buf_add(out, line + end - 1, len - end + 1);
		}
		tm_buf_addch(out, '\n');
		return 0;
	}
	if ((rc = tm_doc_parse(&w->doc, line, len, err)) < 0)
		return rc;
	{
		size_t tlen;
		const char *text = tm_doc_text(&w->doc, &tlen);

		old = tm_doc_source(&w->doc);
		tm_route_work_set(w, text, tlen, tm_doc_id(&w->doc), old, tm_doc_meta(&w->doc));
	}
	k = route_doc(r, w, flags, res);
	name = r->src[k].name;
	res->changed = !old || strcmp(old, name);
	if (!res->changed && !(flags & TM_ROUTE_ANNOTATE)) {
		tm_buf_add(out, line, len);
		tm_buf_addch(out, '\n');
		return 0;
	}
	if (flags & TM_ROUTE_ANNOTATE) {
		tm_doc_meta_set_double(&w->doc, "code_score", res->code_score, NULL);
		tm_doc_meta_set_double(&w->doc, "math_score", res->math_score, NULL);
	}
	if (res->changed && tm_doc_set_source(&w->doc, name, NULL) < 0)
		BUG("a source name is not UTF-8");
	tm_doc_write(&w->doc, out);
	return 0;
}
