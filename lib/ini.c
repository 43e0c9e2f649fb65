/*
 * ini.c: parsing, looking up, overriding and checking INI configuration.
 *
 * The parser works line by line on a caller-owned buffer and never needs
 * the input to be NUL-terminated.  Entries and sections are each one
 * allocation (struct followed by its strings) held through pointer arrays,
 * so every pointer handed out stays put when more entries are added.
 * Distinct (section, subsection) pairs are interned through a small
 * open-addressing hash so that a file of many headers stays linear.
 */
#include "tamis.h"
#include "ini.h"

#include <locale.h>
#include <math.h>

struct ini_ent {
	struct tm_ini_entry pub;
	char data[];            /* key NUL value NUL */
};

struct ini_sec {
	const char *name;
	const char *sub;        /* NULL or points into data */
	long line;              /* first header (or entry) naming it */
	char data[];            /* name NUL [sub NUL] */
};

struct tm_ini {
	char *name;
	struct ini_ent **ents;
	size_t nents, aents;
	struct ini_sec **secs;
	size_t nsecs, asecs;
	size_t *slots;          /* index + 1 into secs; 0 is empty */
	size_t nslots;          /* a power of two, at least 2 * nsecs */
};

/* A parse in progress: where errors point and scratch space. */
struct parser {
	struct tm_ini *ini;
	const char *name;       /* err->file */
	long line;
	int code;               /* TM_ECONFIG for files, TM_EINVAL for -c */
	struct tm_err *err;
	struct tm_buf sub;      /* the subsection of the header being read */
	struct tm_buf val;      /* the value being unquoted */
};

#define SNIP_MAX 60             /* bytes of input quoted in a message */
#define SNIP_SIZE (SNIP_MAX * 4 + 8)

static bool is_ws(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_section_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

static bool is_key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == '.';
}

static bool valid_name(const char *s, size_t n, bool (*ok)(char))
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!ok(s[i]))
			return false;
	return true;
}

/*
 * Copies up to SNIP_MAX bytes of s[0..n) into out (SNIP_SIZE bytes) for
 * quoting in a message: control bytes become \xNN, a cut never splits a
 * UTF-8 sequence and is marked with "...".
 */
static const char *snip(char *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0, shown = 0;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (shown >= SNIP_MAX && (c & 0xc0) != 0x80) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (c < 0x20 || c == 0x7f) {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		} else {
			out[o++] = (char)c;
		}
		shown++;
		/* A long run of continuation bytes cannot overflow out. */
		if (o >= SNIP_SIZE - 8) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
	}
	out[o] = '\0';
	return out;
}

static const char *snips(char *out, const char *s)
{
	return snip(out, s, strlen(s));
}

static void trim(const char **s, size_t *n)
{
	while (*n && is_ws(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n && is_ws((*s)[*n - 1]))
		(*n)--;
}

/* ---- the container ---------------------------------------------------- */

struct tm_ini *tm_ini_new(const char *name)
{
	struct tm_ini *ini = tm_xcalloc(1, sizeof(*ini));

	ini->name = tm_xstrdup(name ? name : "");
	return ini;
}

void tm_ini_free(struct tm_ini *ini)
{
	size_t i;

	if (!ini)
		return;
	for (i = 0; i < ini->nents; i++)
		free(ini->ents[i]);
	for (i = 0; i < ini->nsecs; i++)
		free(ini->secs[i]);
	free(ini->ents);
	free(ini->secs);
	free(ini->slots);
	free(ini->name);
	free(ini);
}

const char *tm_ini_name(const struct tm_ini *ini)
{
	return ini->name;
}

static uint64_t sec_hash(const char *name, size_t nlen, const char *sub,
			 size_t slen)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < nlen; i++)
		h = (h ^ (unsigned char)name[i]) * 0x100000001b3ULL;
	/* 0x100 cannot be a byte: "a" + sub "b" differs from "ab" + none. */
	h = (h ^ (sub ? 0x100 : 0x200)) * 0x100000001b3ULL;
	for (i = 0; sub && i < slen; i++)
		h = (h ^ (unsigned char)sub[i]) * 0x100000001b3ULL;
	return h;
}

static bool sec_eq(const struct ini_sec *s, const char *name, size_t nlen,
		   const char *sub, size_t slen)
{
	if (strlen(s->name) != nlen || memcmp(s->name, name, nlen))
		return false;
	if (!sub || !s->sub)
		return !sub && !s->sub;
	return strlen(s->sub) == slen && !memcmp(s->sub, sub, slen);
}

static void rehash(struct tm_ini *ini)
{
	size_t i, j, n = ini->nslots ? ini->nslots * 2 : 16;

	free(ini->slots);
	ini->slots = tm_xcalloc(n, sizeof(*ini->slots));
	ini->nslots = n;
	for (i = 0; i < ini->nsecs; i++) {
		const struct ini_sec *s = ini->secs[i];

		j = sec_hash(s->name, strlen(s->name), s->sub,
			     s->sub ? strlen(s->sub) : 0) & (n - 1);
		while (ini->slots[j])
			j = (j + 1) & (n - 1);
		ini->slots[j] = i + 1;
	}
}

/* Returns the section (name, sub), adding it with `line` when new. */
static const struct ini_sec *intern(struct tm_ini *ini, const char *name,
				    size_t nlen, const char *sub, size_t slen,
				    long line)
{
	struct ini_sec *s;
	size_t j;

	if (2 * (ini->nsecs + 1) > ini->nslots)
		rehash(ini);
	j = sec_hash(name, nlen, sub, slen) & (ini->nslots - 1);
	while (ini->slots[j]) {
		s = ini->secs[ini->slots[j] - 1];
		if (sec_eq(s, name, nlen, sub, slen))
			return s;
		j = (j + 1) & (ini->nslots - 1);
	}
	s = tm_xmalloc(sizeof(*s) + nlen + 1 + (sub ? slen + 1 : 0));
	memcpy(s->data, name, nlen);
	s->data[nlen] = '\0';
	s->name = s->data;
	s->sub = NULL;
	if (sub) {
		memcpy(s->data + nlen + 1, sub, slen);
		s->data[nlen + 1 + slen] = '\0';
		s->sub = s->data + nlen + 1;
	}
	s->line = line;
	if (ini->nsecs == ini->asecs) {
		ini->asecs = ini->asecs ? ini->asecs * 2 : 8;
		ini->secs = tm_xrealloc(ini->secs,
					ini->asecs * sizeof(*ini->secs));
	}
	ini->secs[ini->nsecs++] = s;
	ini->slots[j] = ini->nsecs;
	return s;
}

static void add_entry(struct tm_ini *ini, const struct ini_sec *sec,
		      const char *key, size_t klen, const char *val,
		      size_t vlen, long line)
{
	struct ini_ent *e = tm_xmalloc(sizeof(*e) + klen + vlen + 2);

	memcpy(e->data, key, klen);
	e->data[klen] = '\0';
	memcpy(e->data + klen + 1, val, vlen);
	e->data[klen + 1 + vlen] = '\0';
	e->pub.section = sec->name;
	e->pub.subsection = sec->sub;
	e->pub.key = e->data;
	e->pub.value = e->data + klen + 1;
	e->pub.line = line;
	if (ini->nents == ini->aents) {
		ini->aents = ini->aents ? ini->aents * 2 : 16;
		ini->ents = tm_xrealloc(ini->ents,
					ini->aents * sizeof(*ini->ents));
	}
	ini->ents[ini->nents++] = e;
}

/* ---- the parser ------------------------------------------------------- */

static int perr(struct parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int perr(struct parser *p, const char *fmt, ...)
{
	va_list ap;

	tm_err_set(p->err, p->code, p->name, TM_ERR_NO_OFFSET, p->line, "%s",
		   "");
	if (p->err) {
		va_start(ap, fmt);
		vsnprintf(p->err->msg, sizeof(p->err->msg), fmt, ap);
		va_end(ap);
	}
	return p->code;
}

/*
 * Reads a section header at s[0] == '[' of the n-byte line s.  On success
 * stores the section in *sec and the offset just past ']' in *end.
 */
static int parse_header(struct parser *p, const char *s, size_t n,
			const struct ini_sec **sec, size_t *end)
{
	char g[SNIP_SIZE];
	size_t i = 1, name, nlen;
	bool has_sub = false;

	while (i < n && is_ws(s[i]))
		i++;
	name = i;
	while (i < n && is_section_char(s[i]))
		i++;
	nlen = i - name;
	if (i < n && is_ws(s[i])) {
		while (i < n && is_ws(s[i]))
			i++;
		if (i < n && s[i] != '"' && s[i] != ']') {
			size_t j = i;

			while (j < n && s[j] != ']' && !is_ws(s[j]))
				j++;
			return perr(p, "expected '\"' to start a subsection, got '%s'",
				    snip(g, s + i, j - i));
		}
	}
	if (i == n)
		return perr(p, "unterminated section header: expected ']', got '%s'",
			    snip(g, s, n));
	if (s[i] != ']' && s[i] != '"') {
		size_t j = i;

		while (j < n && s[j] != ']' && !is_ws(s[j]))
			j++;
		return perr(p, "expected a section name (letters, digits, '-', '_', '.'), got '%s'",
			    snip(g, s + name, j - name));
	}
	if (!nlen)
		return perr(p, "expected a section name, got '%s'",
			    snip(g, s, i + 1));
	tm_buf_reset(&p->sub);
	if (s[i] == '"') {
		size_t open = i++;

		has_sub = true;
		for (;;) {
			if (i == n)
				return perr(p, "expected '\"' to end the subsection, got end of line");
			if (s[i] == '"')
				break;
			if (s[i] == '\\') {
				if (i + 1 == n || (s[i + 1] != '"' &&
						   s[i + 1] != '\\'))
					return perr(p, "unknown escape '%s' in the subsection: expected \\\" or \\\\",
						    snip(g, s + i,
							 i + 1 < n ? 2 : 1));
				i++;
			}
			tm_buf_addch(&p->sub, s[i]);
			i++;
		}
		i++;
		if (!p->sub.len)
			return perr(p, "expected a subsection name, got '%s'",
				    snip(g, s + open, i - open));
		while (i < n && is_ws(s[i]))
			i++;
		if (i == n)
			return perr(p, "unterminated section header: expected ']', got '%s'",
				    snip(g, s, n));
		if (s[i] != ']')
			return perr(p, "expected ']' after the subsection, got '%s'",
				    snip(g, s + i, n - i));
	}
	*sec = intern(p->ini, s + name, nlen, has_sub ? p->sub.buf : NULL,
		      p->sub.len, p->line);
	*end = i + 1;
	return 0;
}

/* Unquotes the value at s[0] == '"' into p->val; *end: past the quote. */
static int parse_quoted(struct parser *p, const char *s, size_t n,
			size_t *end)
{
	char g[SNIP_SIZE];
	size_t i = 1;

	tm_buf_reset(&p->val);
	for (;;) {
		char c;

		if (i == n)
			return perr(p, "expected '\"' to end the quoted value, got end of line");
		c = s[i];
		if (c == '"')
			break;
		if (c == '\\') {
			if (i + 1 == n)
				return perr(p, "expected '\"' to end the quoted value, got end of line");
			switch (s[i + 1]) {
			case '"':
				c = '"';
				break;
			case '\\':
				c = '\\';
				break;
			case 'n':
				c = '\n';
				break;
			case 't':
				c = '\t';
				break;
			default:
				return perr(p, "unknown escape '%s' in the quoted value: expected \\\", \\\\, \\n or \\t",
					    snip(g, s + i, 2));
			}
			i++;
		}
		tm_buf_addch(&p->val, c);
		i++;
	}
	*end = i + 1;
	return 0;
}

static int parse_line(struct parser *p, const char *s, size_t n,
		      const struct ini_sec **cur)
{
	char g[SNIP_SIZE], g2[SNIP_SIZE];
	const char *eq, *key, *val;
	size_t i, klen, vlen;
	int rc;

	trim(&s, &n);
	if (!n || s[0] == '#' || s[0] == ';')
		return 0;
	if (s[0] == '[') {
		rc = parse_header(p, s, n, cur, &i);
		if (rc)
			return rc;
		while (i < n && is_ws(s[i]))
			i++;
		if (i < n && s[i] != '#' && s[i] != ';')
			return perr(p, "expected end of line after ']', got '%s'",
				    snip(g, s + i, n - i));
		return 0;
	}
	eq = memchr(s, '=', n);
	if (!eq)
		return perr(p, "expected 'key = value', got '%s'",
			    snip(g, s, n));
	key = s;
	klen = (size_t)(eq - s);
	trim(&key, &klen);
	if (!klen)
		return perr(p, "expected a key before '=', got '%s'",
			    snip(g, s, n));
	if (!valid_name(key, klen, is_key_char))
		return perr(p, "expected a key (lowercase letters, digits, '_', '-', '.'), got '%s'",
			    snip(g, key, klen));
	i = (size_t)(eq - s) + 1;
	while (i < n && is_ws(s[i]))
		i++;
	if (i < n && s[i] == '"') {
		size_t start = i;

		rc = parse_quoted(p, s + i, n - i, &i);
		if (rc)
			return rc;
		i += start;
		while (i < n && is_ws(s[i]))
			i++;
		if (i < n && s[i] != '#' && s[i] != ';')
			return perr(p, "expected end of line after the quoted value of '%s', got '%s'",
				    snip(g2, key, klen), snip(g, s + i, n - i));
		val = p->val.buf;
		vlen = p->val.len;
	} else {
		/* A comment starts at '#' or ';' after whitespace. */
		val = s + i;
		for (; i < n; i++)
			if ((s[i] == '#' || s[i] == ';') && is_ws(s[i - 1]))
				break;
		vlen = (size_t)(s + i - val);
		trim(&val, &vlen);
	}
	if (!*cur)
		*cur = intern(p->ini, "", 0, NULL, 0, p->line);
	add_entry(p->ini, *cur, key, klen, val, vlen, p->line);
	return 0;
}

static int parse_all(struct parser *p, const char *data, size_t len)
{
	const struct ini_sec *cur = NULL;
	size_t pos = 0;
	int rc;

	if (len >= 3 && !memcmp(data, "\xef\xbb\xbf", 3))
		pos = 3;
	while (pos < len) {
		const char *nl = memchr(data + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - data) : len;
		size_t n = end - pos;

		p->line++;
		if (n && data[pos + n - 1] == '\r')
			n--;
		if (n > TM_INI_MAX_LINE)
			return tm_err_set(p->err, TM_ETOOBIG, p->name,
					  TM_ERR_NO_OFFSET, p->line,
					  "line longer than %d bytes",
					  TM_INI_MAX_LINE);
		if (memchr(data + pos, '\0', n))
			return perr(p, "expected text, got a NUL byte");
		rc = parse_line(p, data + pos, n, &cur);
		if (rc)
			return rc;
		pos = end + 1;
	}
	return 0;
}

static void parser_init(struct parser *p, struct tm_ini *ini,
			const char *name, int code, struct tm_err *err)
{
	p->ini = ini;
	p->name = name;
	p->line = 0;
	p->code = code;
	p->err = err;
	tm_buf_init(&p->sub, 0);
	tm_buf_init(&p->val, 0);
}

static void parser_release(struct parser *p)
{
	tm_buf_release(&p->sub);
	tm_buf_release(&p->val);
}

int tm_ini_parse_buf(const char *name, const char *data, size_t len,
		     struct tm_ini **out, struct tm_err *err)
{
	struct parser p;
	struct tm_ini *ini;
	int rc;

	*out = NULL;
	if (len > TM_INI_MAX_FILE)
		return tm_err_set(err, TM_ETOOBIG, name, TM_ERR_NO_OFFSET, 0,
				  "file larger than %d bytes (16 MiB)",
				  TM_INI_MAX_FILE);
	ini = tm_ini_new(name);
	parser_init(&p, ini, ini->name, TM_ECONFIG, err);
	rc = parse_all(&p, data, len);
	parser_release(&p);
	if (rc) {
		tm_ini_free(ini);
		return rc;
	}
	*out = ini;
	return 0;
}

int tm_ini_parse_file(const char *path, struct tm_ini **out,
		      struct tm_err *err)
{
	struct tm_buf b = TM_BUF_INIT;
	FILE *f;
	size_t got;
	int rc;

	*out = NULL;
	f = fopen(path, "rb");
	if (!f)
		return tm_err_sys(err, path, "cannot open");
	do {
		tm_buf_grow(&b, 65536);
		got = fread(b.buf + b.len, 1, b.alloc - b.len - 1, f);
		tm_buf_setlen(&b, b.len + got);
	} while (got && b.len <= TM_INI_MAX_FILE);
	if (ferror(f)) {
		rc = tm_err_sys(err, path, "cannot read");
		fclose(f);
		tm_buf_release(&b);
		return rc;
	}
	fclose(f);
	rc = tm_ini_parse_buf(path, b.buf, b.len, out, err);
	tm_buf_release(&b);
	return rc;
}

/* ---- lookups ---------------------------------------------------------- */

static bool same_sub(const char *a, const char *b)
{
	if (!a || !b)
		return !a && !b;
	return !strcmp(a, b);
}

const struct tm_ini_entry *tm_ini_find(const struct tm_ini *ini,
				       const char *section,
				       const char *subsection,
				       const char *key)
{
	size_t i;

	for (i = ini->nents; i-- > 0;) {
		const struct tm_ini_entry *e = &ini->ents[i]->pub;

		if (!strcmp(e->key, key) && !strcmp(e->section, section) &&
		    same_sub(e->subsection, subsection))
			return e;
	}
	return NULL;
}

const char *tm_ini_get(const struct tm_ini *ini, const char *section,
		       const char *subsection, const char *key)
{
	const struct tm_ini_entry *e;

	e = tm_ini_find(ini, section, subsection, key);
	return e ? e->value : NULL;
}

const struct tm_ini_entry *tm_ini_next(const struct tm_ini *ini, size_t *pos)
{
	if (*pos >= ini->nents)
		return NULL;
	return &ini->ents[(*pos)++]->pub;
}

const char *tm_ini_next_subsection(const struct tm_ini *ini,
				   const char *section, size_t *pos)
{
	while (*pos < ini->nsecs) {
		const struct ini_sec *s = ini->secs[(*pos)++];

		if (s->sub && !strcmp(s->name, section))
			return s->sub;
	}
	return NULL;
}

long tm_ini_section_line(const struct tm_ini *ini, const char *section,
			 const char *subsection)
{
	size_t i;

	for (i = 0; i < ini->nsecs; i++)
		if (!strcmp(ini->secs[i]->name, section) &&
		    same_sub(ini->secs[i]->sub, subsection))
			return ini->secs[i]->line;
	return -1;
}

/* ---- values ----------------------------------------------------------- */

const char *tm_ini_type_name(enum tm_ini_type type)
{
	switch (type) {
	case TM_INI_STRING:
		return "a string";
	case TM_INI_INT:
		return "an integer";
	case TM_INI_FLOAT:
		return "a number";
	case TM_INI_BOOL:
		return "a boolean (true/false, yes/no, on/off, 1/0)";
	case TM_INI_SIZE:
		return "a size in bytes (e.g. 512K, 64MiB, 2G)";
	case TM_INI_DURATION:
		return "a duration (e.g. 250ms, 30s, 5m, 1h30m)";
	}
	return "a value";
}

/* Reads decimal digits at *s into *v; TM_EINVAL if none, TM_ETOOBIG. */
static int read_u64(const char **s, uint64_t *v)
{
	const char *p = *s;
	uint64_t x = 0;
	int rc = 0;

	if (*p < '0' || *p > '9')
		return TM_EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');

		if (x > (UINT64_MAX - d) / 10)
			rc = TM_ETOOBIG;
		else
			x = x * 10 + d;
	}
	*s = p;
	*v = x;
	return rc;
}

static int mul_u64(uint64_t *v, uint64_t m)
{
	if (m && *v > UINT64_MAX / m)
		return TM_ETOOBIG;
	*v *= m;
	return 0;
}

int tm_ini_to_int(const char *s, int64_t *out)
{
	static const struct {
		const char *suffix;
		uint64_t mult;
	} sfx[] = {
		{ "", 1 },
		{ "k", 1000 }, { "K", 1000 }, { "M", 1000000 },
		{ "G", 1000000000 }, { "T", 1000000000000ULL },
		{ "Ki", 1ULL << 10 }, { "Mi", 1ULL << 20 },
		{ "Gi", 1ULL << 30 }, { "Ti", 1ULL << 40 },
	};
	bool neg = false;
	uint64_t v;
	size_t i;
	int rc;

	if (*s == '+' || *s == '-')
		neg = *s++ == '-';
	rc = read_u64(&s, &v);
	if (rc == TM_EINVAL)
		return rc;
	for (i = 0; i < TM_ARRAY_SIZE(sfx); i++)
		if (!strcmp(s, sfx[i].suffix))
			break;
	if (i == TM_ARRAY_SIZE(sfx))
		return TM_EINVAL;
	if (rc || mul_u64(&v, sfx[i].mult))
		return TM_ETOOBIG;
	if (v > (uint64_t)INT64_MAX + neg)
		return TM_ETOOBIG;
	if (neg)
		*out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
	else
		*out = (int64_t)v;
	return 0;
}

int tm_ini_to_double(const char *s, double *out)
{
	locale_t c;
	char *end;
	double d;
	size_t i;

	/* Only plain decimals: strtod would also take hex, inf and nan. */
	if (!*s || strspn(s, "0123456789+-.eE") != strlen(s))
		return TM_EINVAL;
	for (i = 0; s[i] && !(s[i] >= '0' && s[i] <= '9'); i++)
		;
	if (!s[i])
		return TM_EINVAL;
	/* The caller's locale may use ',' as its decimal point. */
	c = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
	if (!c)
		return TM_ENOMEM;
	errno = 0;
	d = strtod_l(s, &end, c);
	freelocale(c);
	if (end == s || *end)
		return TM_EINVAL;
	if (!isfinite(d))
		return TM_ETOOBIG;
	*out = d;
	return 0;
}

int tm_ini_to_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };
	size_t i;

	for (i = 0; i < TM_ARRAY_SIZE(yes); i++) {
		if (!strcasecmp(s, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(s, no[i])) {
			*out = false;
			return 0;
		}
	}
	return TM_EINVAL;
}

int tm_ini_to_size(const char *s, uint64_t *out)
{
	static const char units[] = "BKMGT";
	const char *u;
	uint64_t v;
	int rc, shift;

	rc = read_u64(&s, &v);
	if (rc == TM_EINVAL)
		return rc;
	/* One run of spaces may separate the number from a unit. */
	if (is_ws(*s)) {
		while (is_ws(*s))
			s++;
		if (!*s)
			return TM_EINVAL;
	}
	if (!*s) {
		shift = 0;
	} else {
		u = strchr(units, *s >= 'a' && *s <= 'z' ? *s - 32 : *s);
		if (!u || !*u)
			return TM_EINVAL;
		shift = 10 * (int)(u - units);
		s++;
		/* B alone; K, KB, KiB (any case) for the others. */
		if (shift && (*s == 'i' || *s == 'I'))
			s++;
		if (shift && (*s == 'b' || *s == 'B'))
			s++;
		if (*s)
			return TM_EINVAL;
	}
	if (rc || mul_u64(&v, 1ULL << shift))
		return TM_ETOOBIG;
	*out = v;
	return 0;
}

int tm_ini_to_duration(const char *s, double *out)
{
	static const struct {
		const char *unit;
		double secs;
	} units[] = {
		/* "ms" before "m" so that the longest unit matches. */
		{ "ms", 0.001 }, { "s", 1 }, { "m", 60 }, { "h", 3600 },
		{ "d", 86400 },
	};
	double total = 0;
	bool first = true;

	if (!*s)
		return TM_EINVAL;
	while (*s) {
		double v = 0, scale = 1;
		bool digits = false;
		size_t i, ul = 0;

		for (; *s >= '0' && *s <= '9'; s++, digits = true)
			v = v * 10 + (*s - '0');
		if (*s == '.') {
			for (s++; *s >= '0' && *s <= '9'; s++, digits = true)
				v += (*s - '0') * (scale /= 10);
		}
		if (!digits)
			return TM_EINVAL;
		for (i = 0; i < TM_ARRAY_SIZE(units); i++) {
			ul = strlen(units[i].unit);
			if (!strncmp(s, units[i].unit, ul))
				break;
		}
		if (i == TM_ARRAY_SIZE(units)) {
			/* A bare number is seconds, but only on its own. */
			if (*s || !first)
				return TM_EINVAL;
			total += v;
		} else {
			total += v * units[i].secs;
			s += ul;
		}
		first = false;
	}
	if (!isfinite(total))
		return TM_ETOOBIG;
	*out = total;
	return 0;
}

/* ---- errors about entries --------------------------------------------- */

/* "[name]" or "[name "sub"]" into out (2 * SNIP_SIZE + 8 bytes). */
static const char *sec_label(char *out, const char *name, const char *sub)
{
	char a[SNIP_SIZE], b[SNIP_SIZE];

	snips(a, name);
	if (sub)
		snprintf(out, 2 * SNIP_SIZE + 8, "[%s \"%s\"]", a,
			 snips(b, sub));
	else
		snprintf(out, 2 * SNIP_SIZE + 8, "[%s]", a);
	return out;
}

/*
 * Records `fmt` about entry `e`: at its file and line, or at
 * TM_INI_CMDLINE for an override.
 */
static int ent_err(const struct tm_ini *ini, const struct tm_ini_entry *e,
		   struct tm_err *err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int ent_err(const struct tm_ini *ini, const struct tm_ini_entry *e,
		   struct tm_err *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return TM_ECONFIG;
	tm_err_set(err, TM_ECONFIG, e->line ? ini->name : TM_INI_CMDLINE,
		   TM_ERR_NO_OFFSET, e->line, "%s", "");
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return TM_ECONFIG;
}

static int parse_typed(enum tm_ini_type type, const char *s)
{
	int64_t i;
	uint64_t u;
	double d;
	bool b;

	switch (type) {
	case TM_INI_STRING:
		return 0;
	case TM_INI_INT:
		return tm_ini_to_int(s, &i);
	case TM_INI_FLOAT:
		return tm_ini_to_double(s, &d);
	case TM_INI_BOOL:
		return tm_ini_to_bool(s, &b);
	case TM_INI_SIZE:
		return tm_ini_to_size(s, &u);
	case TM_INI_DURATION:
		return tm_ini_to_duration(s, &d);
	}
	BUG("unknown tm_ini_type %d", (int)type);
}

/* The key as a message names it: "threads", or "filter.threads" for -c. */
static const char *key_label(char *out, const struct tm_ini_entry *e)
{
	char a[SNIP_SIZE], b[SNIP_SIZE], k[SNIP_SIZE];

	snips(k, e->key);
	if (e->line || !e->section[0])
		snprintf(out, 3 * SNIP_SIZE + 8, "%s", k);
	else if (e->subsection)
		snprintf(out, 3 * SNIP_SIZE + 8, "%s.%s.%s",
			 snips(a, e->section), snips(b, e->subsection), k);
	else
		snprintf(out, 3 * SNIP_SIZE + 8, "%s.%s",
			 snips(a, e->section), k);
	return out;
}

static int bad_value(const struct tm_ini *ini, const struct tm_ini_entry *e,
		     enum tm_ini_type type, int why, struct tm_err *err)
{
	char k[3 * SNIP_SIZE + 8], g[SNIP_SIZE];

	if (why == TM_ENOMEM)
		return tm_err_set(err, TM_ENOMEM, NULL, TM_ERR_NO_OFFSET, 0,
				  "cannot create the C locale");
	return ent_err(ini, e, err, "'%s': expected %s, got '%s'%s",
		       key_label(k, e), tm_ini_type_name(type),
		       snips(g, e->value),
		       why == TM_ETOOBIG ? " (out of range)" : "");
}

int tm_ini_get_int(const struct tm_ini *ini, const char *section,
		   const char *subsection, const char *key, int64_t def,
		   int64_t *out, struct tm_err *err)
{
	const struct tm_ini_entry *e;
	int rc;

	*out = def;
	e = tm_ini_find(ini, section, subsection, key);
	if (e && (rc = tm_ini_to_int(e->value, out)))
		return bad_value(ini, e, TM_INI_INT, rc, err);
	return 0;
}

int tm_ini_get_double(const struct tm_ini *ini, const char *section,
		      const char *subsection, const char *key, double def,
		      double *out, struct tm_err *err)
{
	const struct tm_ini_entry *e;
	int rc;

	*out = def;
	e = tm_ini_find(ini, section, subsection, key);
	if (e && (rc = tm_ini_to_double(e->value, out)))
		return bad_value(ini, e, TM_INI_FLOAT, rc, err);
	return 0;
}

int tm_ini_get_bool(const struct tm_ini *ini, const char *section,
		    const char *subsection, const char *key, bool def,
		    bool *out, struct tm_err *err)
{
	const struct tm_ini_entry *e;
	int rc;

	*out = def;
	e = tm_ini_find(ini, section, subsection, key);
	if (e && (rc = tm_ini_to_bool(e->value, out)))
		return bad_value(ini, e, TM_INI_BOOL, rc, err);
	return 0;
}

int tm_ini_get_size(const struct tm_ini *ini, const char *section,
		    const char *subsection, const char *key, uint64_t def,
		    uint64_t *out, struct tm_err *err)
{
	const struct tm_ini_entry *e;
	int rc;

	*out = def;
	e = tm_ini_find(ini, section, subsection, key);
	if (e && (rc = tm_ini_to_size(e->value, out)))
		return bad_value(ini, e, TM_INI_SIZE, rc, err);
	return 0;
}

int tm_ini_get_duration(const struct tm_ini *ini, const char *section,
			const char *subsection, const char *key, double def,
			double *out, struct tm_err *err)
{
	const struct tm_ini_entry *e;
	int rc;

	*out = def;
	e = tm_ini_find(ini, section, subsection, key);
	if (e && (rc = tm_ini_to_duration(e->value, out)))
		return bad_value(ini, e, TM_INI_DURATION, rc, err);
	return 0;
}

/* ---- overrides -------------------------------------------------------- */

int tm_ini_set(struct tm_ini *ini, const char *section,
	       const char *subsection, const char *key, const char *value,
	       struct tm_err *err)
{
	char g[SNIP_SIZE];
	const struct ini_sec *sec;
	size_t slen = strlen(section);

	if (!valid_name(section, slen, is_section_char) ||
	    (!slen && subsection))
		return tm_err_set(err, TM_EINVAL, TM_INI_CMDLINE,
				  TM_ERR_NO_OFFSET, 0,
				  "expected a section name (letters, digits, '-', '_', '.'), got '%s'",
				  snips(g, section));
	if (subsection && !*subsection)
		return tm_err_set(err, TM_EINVAL, TM_INI_CMDLINE,
				  TM_ERR_NO_OFFSET, 0,
				  "expected a subsection name, got ''");
	if (!*key || !valid_name(key, strlen(key), is_key_char))
		return tm_err_set(err, TM_EINVAL, TM_INI_CMDLINE,
				  TM_ERR_NO_OFFSET, 0,
				  "expected a key (lowercase letters, digits, '_', '-', '.'), got '%s'",
				  snips(g, key));
	sec = intern(ini, section, slen, subsection, subsection ?
		     strlen(subsection) : 0, 0);
	add_entry(ini, sec, key, strlen(key), value, strlen(value), 0);
	return 0;
}

int tm_ini_set_arg(struct tm_ini *ini, const char *arg, struct tm_err *err)
{
	char g[SNIP_SIZE];
	const char *name, *eq, *val, *dot1, *dot2;
	size_t n, nlen, vlen;
	struct tm_buf sec = TM_BUF_INIT, sub = TM_BUF_INIT, key = TM_BUF_INIT;
	int rc;

	n = strlen(arg);
	name = arg;
	trim(&name, &n);
	if (n && name[0] == '[') {
		/* The file grammar for the header, then "key=value". */
		/* Parse on a scratch object: a bad key must not add [sec]. */
		struct tm_ini *scratch = tm_ini_new("");
		const struct ini_sec *s = NULL;
		struct parser p;
		size_t end;

		eq = NULL;
		parser_init(&p, scratch, TM_INI_CMDLINE, TM_EINVAL, err);
		rc = parse_header(&p, name, n, &s, &end);
		if (!rc) {
			tm_buf_addstr(&sec, s->name);
			if (s->sub)
				tm_buf_addstr(&sub, s->sub);
			name += end;
			n -= end;
			eq = memchr(name, '=', n);
			if (!eq)
				rc = tm_err_set(err, TM_EINVAL, TM_INI_CMDLINE,
						TM_ERR_NO_OFFSET, 0,
						"expected 'key=value' after ']', got '%s'",
						snip(g, name, n));
		}
		tm_ini_free(scratch);
		parser_release(&p);
		if (rc)
			goto out;
		nlen = (size_t)(eq - name);
		trim(&name, &nlen);
		tm_buf_add(&key, name, nlen);
	} else {
		eq = strchr(arg, '=');
		if (!eq) {
			rc = tm_err_set(err, TM_EINVAL, TM_INI_CMDLINE,
					TM_ERR_NO_OFFSET, 0,
					"expected 'section.key=value', got '%s'",
					snips(g, arg));
			goto out;
		}
		nlen = (size_t)(eq - name);
		trim(&name, &nlen);
		dot1 = memchr(name, '.', nlen);
		dot2 = memrchr(name, '.', nlen);
		if (!dot1) {
			tm_buf_add(&key, name, nlen);
		} else {
			tm_buf_add(&sec, name, (size_t)(dot1 - name));
			if (dot2 != dot1)
				tm_buf_add(&sub, dot1 + 1,
					   (size_t)(dot2 - dot1 - 1));
			tm_buf_add(&key, dot2 + 1,
				   (size_t)(name + nlen - dot2 - 1));
			if (dot2 != dot1 && !sub.len) {
				rc = tm_err_set(err, TM_EINVAL, TM_INI_CMDLINE,
						TM_ERR_NO_OFFSET, 0,
						"expected a subsection name between the dots, got '%s'",
						snip(g, name, nlen));
				goto out;
			}
		}
	}
	val = eq + 1;
	vlen = strlen(val);
	trim(&val, &vlen);
	{
		char *v = tm_xmemdup(val, vlen);

		rc = tm_ini_set(ini, sec.buf, sub.len ? sub.buf : NULL,
				key.buf, v, err);
		free(v);
	}
out:
	tm_buf_release(&sec);
	tm_buf_release(&sub);
	tm_buf_release(&key);
	return rc;
}

/* ---- schema ----------------------------------------------------------- */

/* Does schema section `pat` ("name" or "name *") match (name, sub)? */
static bool sec_match(const char *pat, const char *name, const char *sub)
{
	size_t n = strlen(pat);
	const char *q = strstr(pat, " \"");

	if (q && n >= 3 && pat[n - 1] == '"')	/* NAME "SUB": that subsection only */
		return sub && strlen(name) == (size_t)(q - pat) && !memcmp(pat, name, (size_t)(q - pat)) &&
		       strlen(sub) == (size_t)(pat + n - 1 - (q + 2)) &&
		       !memcmp(q + 2, sub, strlen(sub));
	if (n >= 2 && !strcmp(pat + n - 2, " *"))
		return sub && strlen(name) == n - 2 && !memcmp(pat, name, n - 2);
	return !sub && !strcmp(pat, name);
}

/* Length of the name part of a schema section pattern. */
static size_t pat_len(const char *pat, bool *wild)
{
	size_t n = strlen(pat);

	*wild = n >= 2 && !strcmp(pat + n - 2, " *");
	return *wild ? n - 2 : n;
}

/*
 * Optimal string alignment distance between a[0..la) and b[0..lb), or 3
 * when it is surely more than 2 (all that the hints need).
 */
static size_t edit_distance(const char *a, size_t la, const char *b,
			    size_t lb)
{
	size_t *rows, *r0, *r1, *r2, *t, i, j, d;

	if ((la > lb ? la - lb : lb - la) > 2)
		return 3;
	rows = tm_xcalloc(3 * (lb + 1), sizeof(*rows));
	r0 = rows;
	r1 = r0 + lb + 1;
	r2 = r1 + lb + 1;
	for (j = 0; j <= lb; j++)
		r1[j] = j;
	for (i = 1; i <= la; i++) {
		r2[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] != b[j - 1];

			d = TM_MIN(r1[j] + 1, r2[j - 1] + 1);
			d = TM_MIN(d, r1[j - 1] + cost);
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1])
				d = TM_MIN(d, r0[j - 2] + 1);
			r2[j] = d;
		}
		t = r0;
		r0 = r1;
		r1 = r2;
		r2 = t;
	}
	d = r1[lb];
	free(rows);
	return d;
}

/* Is `cand` a plausible typo of `given` (distance <= 2, shorter than it)? */
static size_t typo_distance(const char *given, const char *cand, size_t clen)
{
	size_t gl = strlen(given), d;

	d = edit_distance(given, gl, cand, clen);
	return d <= 2 && d < gl ? d : SIZE_MAX;
}

static int unknown_key(const struct tm_ini *ini, const struct tm_ini_entry *e,
		       const struct tm_ini_key *schema, size_t n,
		       struct tm_err *err)
{
	char what[3 * SNIP_SIZE + 40], k[SNIP_SIZE], hint[SNIP_SIZE];
	size_t i, d, best = SIZE_MAX;
	const char *home = NULL;
	bool wild;

	snips(k, e->key);
	if (e->section[0]) {
		char lab[2 * SNIP_SIZE + 8];

		snprintf(what, sizeof(what), "unknown key '%s' in %s", k,
			 sec_label(lab, e->section, e->subsection));
	} else {
		snprintf(what, sizeof(what), "key '%s' outside any section", k);
	}
	for (i = 0; i < n; i++) {
		if (!sec_match(schema[i].section, e->section, e->subsection)) {
			if (!home && !strcmp(schema[i].key, e->key))
				home = schema[i].section;
			continue;
		}
		d = typo_distance(e->key, schema[i].key,
				  strlen(schema[i].key));
		if (d < best) {
			best = d;
			snips(hint, schema[i].key);
		}
	}
	if (best != SIZE_MAX)
		return ent_err(ini, e, err, "%s; did you mean '%s'?", what,
			       hint);
	if (!home)
		return ent_err(ini, e, err, "%s", what);
	i = pat_len(home, &wild);
	if (!i)
		return ent_err(ini, e, err,
			       "%s; it belongs before the first section", what);
	return ent_err(ini, e, err, "%s; it belongs in [%s%s]", what,
		       snip(hint, home, i), wild ? " \"...\"" : "");
}

/* True when the schema names subsections of `section` one by one. */
static bool named_subsections(const struct tm_ini_key *schema, size_t n, const char *section)
{
	size_t i, l = strlen(section);

	for (i = 0; i < n; i++)
		if (!strncmp(schema[i].section, section, l) && !strncmp(schema[i].section + l, " \"", 2))
			return true;
	return false;
}

static int unknown_section(const struct tm_ini *ini,
			   const struct tm_ini_entry *e,
			   const struct tm_ini_key *schema, size_t n,
			   struct tm_err *err)
{
	char lab[2 * SNIP_SIZE + 8], hint[SNIP_SIZE];
	size_t i, best = SIZE_MAX;
	bool wild;

	if (!e->section[0])
		return unknown_key(ini, e, schema, n, err);
	sec_label(lab, e->section, e->subsection);
	for (i = 0; i < n; i++) {
		size_t pl = pat_len(schema[i].section, &wild), d;
		const char *q = strstr(schema[i].section, " \"");

		if (!q && e->subsection && pl == strlen(e->section) && !wild &&
		    !memcmp(schema[i].section, e->section, pl) && named_subsections(schema, n, e->section))
			continue;	/* [filter] and [filter "NAME"]: hint at a NAME */

		if (q) {	/* NAME "SUB": hint at the closest subsection */
			size_t nl = (size_t)(q - schema[i].section);

			if (e->subsection && nl == strlen(e->section) &&
			    !memcmp(schema[i].section, e->section, nl) &&
			    (d = typo_distance(e->subsection, q + 2, strlen(q + 2) - 1)) < best) {
				best = d;
				snip(hint, schema[i].section, strlen(schema[i].section));
			}
			continue;
		}
		if (pl == strlen(e->section) &&
		    !memcmp(schema[i].section, e->section, pl))
			return ent_err(ini, e, err, wild ?
				       "section %s needs a subsection, as in [%s \"name\"]" :
				       "section %s takes no subsection: expected [%s]",
				       lab, snips(hint, e->section));
		d = pl ? typo_distance(e->section, schema[i].section, pl) :
			 SIZE_MAX;
		if (d < best) {
			best = d;
			snip(hint, schema[i].section, pl);
		}
	}
	if (best != SIZE_MAX)
		return ent_err(ini, e, err,
			       "unknown section %s; did you mean [%s]?", lab,
			       hint);
	return ent_err(ini, e, err, "unknown section %s", lab);
}

int tm_ini_check(const struct tm_ini *ini, const struct tm_ini_key *schema,
		 size_t n, struct tm_err *err)
{
	size_t i, j;

	for (i = 0; i < ini->nents; i++) {
		const struct tm_ini_entry *e = &ini->ents[i]->pub;
		const struct tm_ini_key *k = NULL;
		bool known = false;
		int rc;

		for (j = 0; j < n && !k; j++) {
			if (!sec_match(schema[j].section, e->section,
				       e->subsection))
				continue;
			known = true;
			if (!strcmp(schema[j].key, e->key))
				k = &schema[j];
		}
		if (!known)
			return unknown_section(ini, e, schema, n, err);
		if (!k)
			return unknown_key(ini, e, schema, n, err);
		rc = parse_typed(k->type, e->value);
		if (rc)
			return bad_value(ini, e, k->type, rc, err);
	}
	return 0;
}
