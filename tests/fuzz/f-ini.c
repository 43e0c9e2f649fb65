/*
 * f-ini.c: libFuzzer target for the INI parser (lib/ini.c).
 *
 * Parses the input; on success runs every typed getter on every entry,
 * the subsection iterator, a schema check, an override taken from the
 * input's first line, and a round trip: the entries written back as INI
 * (every value quoted and escaped) must parse to the same entries.  The
 * input is also tried whole as a -c argument and as each kind of value.
 * A mismatch aborts; leaks are found by ASan.
 */
#include "tamis.h"
#include "ini.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct tm_ini_key schema[] = {
	{ "", "include", TM_INI_STRING, "" },
	{ "global", "threads", TM_INI_INT, "" },
	{ "global", "verbose", TM_INI_BOOL, "" },
	{ "filter", "min_score", TM_INI_FLOAT, "" },
	{ "filter", "max_bytes", TM_INI_SIZE, "" },
	{ "fetch", "timeout", TM_INI_DURATION, "" },
	{ "source *", "weight", TM_INI_FLOAT, "" },
};

/* Escapes for a quoted value, or (sub) only the two a subsection knows. */
static void quote(struct tm_buf *b, const char *s, bool sub)
{
	for (; *s; s++) {
		if (*s == '"' || *s == '\\') {
			tm_buf_addch(b, '\\');
			tm_buf_addch(b, *s);
		} else if (!sub && *s == '\n') {
			tm_buf_addstr(b, "\\n");
		} else if (!sub && *s == '\t') {
			tm_buf_addstr(b, "\\t");
		} else {
			tm_buf_addch(b, *s);
		}
	}
}

static bool same(const char *a, const char *b)
{
	if (!a || !b)
		return !a && !b;
	return !strcmp(a, b);
}

static void round_trip(const struct tm_ini *ini)
{
	struct tm_buf b = TM_BUF_INIT;
	const struct tm_ini_entry *e, *f, *prev = NULL;
	struct tm_ini *again = NULL;
	size_t i = 0, j = 0;
	int rc;

	while ((e = tm_ini_next(ini, &i))) {
		if (prev ? strcmp(prev->section, e->section) ||
			   !same(prev->subsection, e->subsection) :
			   e->section[0] != '\0') {
			if (!e->section[0])
				BUG("section \"\" after a header");
			tm_buf_addf(&b, "[%s", e->section);
			if (e->subsection) {
				tm_buf_addstr(&b, " \"");
				quote(&b, e->subsection, true);
				tm_buf_addch(&b, '"');
			}
			tm_buf_addstr(&b, "]\n");
		}
		tm_buf_addf(&b, "%s = \"", e->key);
		quote(&b, e->value, false);
		tm_buf_addstr(&b, "\"\n");
		prev = e;
	}
	rc = tm_ini_parse_buf("again", b.buf, b.len, &again, NULL);
	if (rc == TM_ETOOBIG)   /* escaping can push a line over the cap */
		goto out;
	if (rc)
		BUG("round trip does not parse: %d", rc);
	i = 0;
	while ((e = tm_ini_next(ini, &i))) {
		f = tm_ini_next(again, &j);
		if (!f || strcmp(e->section, f->section) ||
		    !same(e->subsection, f->subsection) ||
		    strcmp(e->key, f->key) || strcmp(e->value, f->value))
			BUG("round trip changed entry %zu", i);
	}
	if (tm_ini_next(again, &j))
		BUG("round trip added entries");
out:
	tm_ini_free(again);
	tm_buf_release(&b);
}

static void values(const char *s)
{
	int64_t i;
	uint64_t u;
	double d;
	bool b;

	tm_ini_to_int(s, &i);
	tm_ini_to_double(s, &d);
	tm_ini_to_bool(s, &b);
	tm_ini_to_size(s, &u);
	tm_ini_to_duration(s, &d);
}

static void exercise(struct tm_ini *ini, const char *first_line)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_buf msg = TM_BUF_INIT;
	const struct tm_ini_entry *e;
	size_t pos = 0, sp;
	int64_t i;
	uint64_t u;
	double d;
	bool b;

	round_trip(ini);
	while ((e = tm_ini_next(ini, &pos))) {
		const char *sub;

		if (tm_ini_get(ini, e->section, e->subsection, e->key) == NULL)
			BUG("entry '%s' not found", e->key);
		tm_ini_get_int(ini, e->section, e->subsection, e->key, 0, &i,
			       &err);
		tm_ini_get_double(ini, e->section, e->subsection, e->key, 0,
				  &d, &err);
		tm_ini_get_bool(ini, e->section, e->subsection, e->key, 0, &b,
				&err);
		tm_ini_get_size(ini, e->section, e->subsection, e->key, 0, &u,
				&err);
		tm_ini_get_duration(ini, e->section, e->subsection, e->key, 0,
				    &d, &err);
		sp = 0;
		while ((sub = tm_ini_next_subsection(ini, e->section, &sp)))
			if (!*sub)
				BUG("empty subsection");
	}
	if (tm_ini_check(ini, schema, TM_ARRAY_SIZE(schema), &err))
		tm_err_format(&err, &msg);
	tm_ini_set_arg(ini, first_line, &err);
	if (tm_ini_check(ini, schema, TM_ARRAY_SIZE(schema), &err))
		tm_err_format(&err, &msg);
	tm_buf_release(&msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_buf msg = TM_BUF_INIT;
	struct tm_ini *ini = NULL;
	const char *nl;
	char *text, *line;

	/* A NUL-terminated copy for the string-taking functions. */
	text = tm_xmemdup(data, size);
	nl = memchr(text, '\n', size);
	line = tm_xmemdup(text, nl ? (size_t)(nl - text) : strlen(text));

	if (tm_ini_parse_buf("fuzz.conf", (const char *)data, size, &ini,
			     &err) == 0) {
		exercise(ini, line);
	} else {
		if (ini)
			BUG("object returned with an error");
		if (err.line < 0 || !err.msg[0])
			BUG("error without a message");
		tm_err_format(&err, &msg);
	}
	tm_ini_free(ini);

	ini = tm_ini_new("none");
	tm_ini_set_arg(ini, text, &err);
	tm_ini_free(ini);
	values(line);

	tm_buf_release(&msg);
	free(line);
	free(text);
	return 0;
}
