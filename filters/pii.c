/*
 * pii.c: finding PII (pii.h) and the pii filter, which replaces what it
 * finds with placeholders and leaves every other byte as it was.
 */
#include "tamis.h"
#include "filter.h"
#include "pii.h"

#include <pthread.h>

#define EMAIL_LOCAL_MAX 64
#define EMAIL_DOMAIN_MAX 253
#define LABEL_MAX 63
#define PHONE_GROUPS 8

enum {
	C_DIGIT = 1,
	C_ALPHA = 2,
	C_HEX = 4,
	C_LOCAL = 8,		/* e-mail local part: letters, digits, ._%+- */
	C_LABEL = 16,		/* domain label: letters, digits, '-' */
	C_OPEN = 32,		/* may come before an item */
	C_CLOSE = 64,		/* may come after an item */
	C_TRIGGER = 128,	/* may start an item: digit, '+', '(', '@' */
	C_TRIGGER_V6 = 256,	/* may start an IPv6 address that is not public: a-f, ':' */
};

static uint16_t cls[256];

static void init_classes(void)
{
	static const char open[] = " \t\n\r\f\v([{<\"',;:=*";
	static const char close[] = " \t\n\r\f\v)]}>\"',;:!?*.";
	int c;

	for (c = 0; c < 256; c++) {
		uint16_t k = 0;

		if (c >= '0' && c <= '9')
			k |= C_DIGIT | C_HEX | C_LOCAL | C_LABEL | C_TRIGGER;
		if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')
			k |= C_ALPHA | C_LOCAL | C_LABEL;
		if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			k |= C_HEX | C_TRIGGER_V6;
		if (c == '.' || c == '_' || c == '%' || c == '+' || c == '-')
			k |= C_LOCAL;
		if (c == '-')
			k |= C_LABEL;
		if (c == '+' || c == '(' || c == '@')
			k |= C_TRIGGER;
		if (c == ':')
			k |= C_TRIGGER_V6;
		if (c >= 0x80 || (c && strchr(open, c)))
			k |= C_OPEN;
		if (c >= 0x80 || (c && strchr(close, c)))
			k |= C_CLOSE;
		cls[c] = k;
	}
}

struct scan {
	const unsigned char *s;
	size_t n;
	const struct tm_pii_opts *o;
	size_t last;		/* the end of the last item found */
};

static inline bool is(const struct scan *sc, size_t i, uint16_t k)
{
	return i < sc->n && (cls[sc->s[i]] & k);
}

/* True when an item may start at i: the byte before opens a phrase. */
static bool left_ok(const struct scan *sc, size_t i)
{
	return i == 0 || (cls[sc->s[i - 1]] & C_OPEN);
}

/*
 * True when an item may end at i: the text ends, or the byte there closes
 * it, and it does not go on as a longer token ('.', '-' or '/' then a
 * letter or digit).  No item can start after those three (they open
 * nothing), so the answer is the same once a neighbouring item has been
 * replaced: redacting the output again finds nothing new.
 */
static bool right_ok(const struct scan *sc, size_t i)
{
	if (i >= sc->n)
		return true;
	if (!(cls[sc->s[i]] & C_CLOSE) && sc->s[i] != '-' && sc->s[i] != '/')
		return false;
	if ((sc->s[i] == '.' || sc->s[i] == '-' || sc->s[i] == '/') &&
	    is(sc, i + 1, C_DIGIT | C_ALPHA))
		return false;
	return true;
}

/*
 * True when the word of letters that ends just before i (skipping up to 3
 * of " :#=.") is one of `words` (lowercase), case-insensitively.  A word
 * that is part of an item found before is none (once replaced, it is gone).
 */
static bool word_before(const struct scan *sc, size_t i, const char *const *words)
{
	char w[16];
	size_t e = i, b, k;

	for (k = 0; k < 3 && e > 0 && sc->s[e - 1] && strchr(" :#=.", sc->s[e - 1]); k++)
		e--;
	for (b = e; b > 0 && e - b < sizeof(w) - 1 && (cls[sc->s[b - 1]] & C_ALPHA); b--)
		;
	if (b == e || b < sc->last || (b > 0 && (cls[sc->s[b - 1]] & C_ALPHA)))
		return false;
	for (k = 0; k < e - b; k++)
		w[k] = (char)(sc->s[b + k] | 0x20);
	w[k] = '\0';
	for (k = 0; words[k]; k++)
		if (!strcmp(w, words[k]))
			return true;
	return false;
}

/* ---------------------------------------------------------------- e-mail */

static bool file_extension(const unsigned char *t, size_t len)
{
	static const char *const ext[] = { "png", "jpg", "jpeg", "gif", "svg", "webp", "ico",
					   "bmp", "css", "js", "pdf", "html", "htm", "php", NULL };
	size_t i, k;

	for (i = 0; ext[i]; i++) {
		if (strlen(ext[i]) != len)
			continue;
		for (k = 0; k < len && (t[k] | 0x20) == ext[i][k]; k++)
			;
		if (k == len)
			return true;
	}
	return false;
}

/*
 * The e-mail address around the '@' at `at`, starting at `from` or later:
 * its span in [*b, *e), or false.
 */
static bool email(const struct scan *sc, size_t at, size_t from, size_t *b, size_t *e)
{
	const unsigned char *s = sc->s;
	size_t a = at, p, label, tld = 0, tld_len = 0, end = 0, nlabels = 0;

	while (a > from && at - a < EMAIL_LOCAL_MAX + 1 && (cls[s[a - 1]] & C_LOCAL))
		a--;
	if (a == at || at - a > EMAIL_LOCAL_MAX || (a > from && (cls[s[a - 1]] & C_LOCAL)))
		return false;
	if (s[a] == '.' || s[at - 1] == '.' || memmem(s + a, at - a, "..", 2))
		return false;
	if (!left_ok(sc, a))
		return false;
	/* labels: letters, digits, '-' (not first or last), separated by '.' */
	for (p = at + 1;;) {
		label = p;
		while (p < sc->n && (cls[s[p]] & C_LABEL) && p - label <= LABEL_MAX)
			p++;
		if (p == label || p - label > LABEL_MAX || s[label] == '-' || s[p - 1] == '-')
			break;
		nlabels++;
		tld = label;
		tld_len = p - label;
		end = p;
		if (p - at > EMAIL_DOMAIN_MAX || !(p + 1 < sc->n && s[p] == '.' &&
						   (cls[s[p + 1]] & C_LABEL)))
			break;
		p++;
	}
	if (nlabels < 2 || end != p || tld_len < 2 || tld_len > 24)
		return false;
	for (p = tld; p < tld + tld_len; p++)
		if (!(cls[s[p]] & C_ALPHA))
			return false;
	if (file_extension(s + tld, tld_len) || !right_ok(sc, end) ||
	    (end < sc->n && (s[end] == '-' || s[end] == '/')))
		return false;
	*b = a;
	*e = end;
	return true;
}

/* ---------------------------------------------------------------- IP */

/* Parses a decimal octet at *p (no leading zero); -1 if none. */
static int octet(const struct scan *sc, size_t *p)
{
	size_t i = *p;
	int v = 0, k = 0;

	while (k < 4 && is(sc, i, C_DIGIT)) {
		v = v * 10 + (sc->s[i] - '0');
		i++;
		k++;
	}
	if (k == 0 || k > 3 || v > 255 || (k > 1 && sc->s[*p] == '0'))
		return -1;
	*p = i;
	return v;
}

/*
 * A dotted quad at *p: its value, *p moved past it; false if none.
 * *small: every part is 32 or less.
 */
static bool quad(const struct scan *sc, size_t *p, uint32_t *ip, bool *small)
{
	size_t i = *p;
	int k, v;

	*ip = 0;
	*small = true;
	for (k = 0; k < 4; k++) {
		if (k && !(i < sc->n && sc->s[i] == '.'))
			return false;
		i += k ? 1 : 0;
		if ((v = octet(sc, &i)) < 0)
			return false;
		*ip = *ip << 8 | (uint32_t)v;
		*small = *small && v <= 32;
	}
	*p = i;
	return true;
}

static bool public_v4(uint32_t ip)
{
	static const struct {
		uint32_t net;
		int bits;
	} special[] = {
		{ 0x00000000, 8 },	/* "this" network */
		{ 0x0a000000, 8 },	/* private */
		{ 0x64400000, 10 },	/* shared (CGNAT) */
		{ 0x7f000000, 8 },	/* loopback */
		{ 0xa9fe0000, 16 },	/* link local */
		{ 0xac100000, 12 },	/* private */
		{ 0xc0000000, 24 },	/* IETF protocol assignments */
		{ 0xc0000200, 24 },	/* TEST-NET-1 */
		{ 0xc0a80000, 16 },	/* private */
		{ 0xc6120000, 15 },	/* benchmarking */
		{ 0xc6336400, 24 },	/* TEST-NET-2 */
		{ 0xcb007100, 24 },	/* TEST-NET-3 */
		{ 0xe0000000, 4 },	/* multicast */
		{ 0xf0000000, 4 },	/* reserved, broadcast */
	};
	size_t i;

	for (i = 0; i < TM_ARRAY_SIZE(special); i++)
		if ((ip >> (32 - special[i].bits)) == (special[i].net >> (32 - special[i].bits)))
			return false;
	return true;
}

static const char *const version_words[] = {
	"version", "ver", "v", "release", "rel", "build", "kernel", "firmware",
	"update", "patch", "revision", "rev", "linux", NULL
};

static bool ipv4(const struct scan *sc, size_t i, size_t *e)
{
	uint32_t ip;
	size_t p = i;
	bool small;

	/*
	 * Section numbers ("9.2.1.4. Syntax") and versions ("2.6.32.1") are
	 * dotted quads of small numbers: an address made only of parts up to
	 * 32 is 0.03% of the IPv4 space (and often a well-known one, 8.8.8.8).
	 */
	if (!quad(sc, &p, &ip, &small) || small || !right_ok(sc, p))
		return false;
	/* "version 1.2.3.4" (and "Chrome/120.0.0.0" starts nothing: '/' opens nothing) */
	if (word_before(sc, i, version_words))
		return false;
	if (sc->o->public_only && !public_v4(ip))
		return false;
	*e = p;
	return true;
}

/* Hex digits at *p (1 to 4): the value, *p moved; -1 if none or more than 4. */
static int hex_group(const struct scan *sc, size_t *p)
{
	size_t i = *p;
	int v = 0;

	while (i < sc->n && (cls[sc->s[i]] & C_HEX) && i - *p < 5) {
		int c = sc->s[i];

		v = v * 16 + (c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
		i++;
	}
	if (i == *p || i - *p > 4 || is(sc, i, C_ALPHA))
		return -1;
	*p = i;
	return v;
}

static bool ipv6(const struct scan *sc, size_t i, size_t *e)
{
	const unsigned char *s = sc->s;
	size_t p = i;
	int ng = 0, dc_at = -1, vals[8] = { 0 };

	if (s[p] == ':') {
		if (!(p + 1 < sc->n && s[p + 1] == ':'))
			return false;
		dc_at = 0;
		p += 2;
	}
	for (;;) {
		size_t at = p;
		int v = hex_group(sc, &p);
		uint32_t ip;
		bool small;

		if (v < 0) {
			/* only "::" may end an address: "2001:db8::" */
			if (dc_at >= 0 && at >= i + 2 && s[at - 1] == ':' && s[at - 2] == ':')
				break;
			return false;
		}
		if (p < sc->n && s[p] == '.' && is(sc, p + 1, C_DIGIT)) {
			/* a final dotted quad: two groups */
			p = at;
			if (ng > 6 || !quad(sc, &p, &ip, &small))
				return false;
			ng += 2;
			break;
		}
		if (ng == 8)
			return false;
		vals[ng++] = v;
		if (p + 1 < sc->n && s[p] == ':' && s[p + 1] == ':') {
			if (dc_at >= 0)
				return false;
			dc_at = ng;
			p += 2;
			continue;
		}
		if (p + 1 < sc->n && s[p] == ':' && (cls[s[p + 1]] & C_HEX)) {
			p++;
			continue;
		}
		break;
	}
	if (dc_at >= 0 ? ng > 7 : ng != 8)
		return false;
	if (!right_ok(sc, p) || (p < sc->n && s[p] == ':'))
		return false;
	if (sc->o->public_only) {
		/* global unicast 2000::/3, not documentation 2001:db8::/32 */
		int second = dc_at == 1 ? 0 : vals[1];

		if (dc_at == 0 || vals[0] < 0x2000 || vals[0] > 0x3fff ||
		    (vals[0] == 0x2001 && second == 0xdb8))
			return false;
	}
	*e = p;
	return true;
}

/* ---------------------------------------------------------------- phone */

struct groups {
	int n;
	int digits[PHONE_GROUPS];
	bool paren[PHONE_GROUPS];
	char sep[PHONE_GROUPS];	/* before group k (0: none) */
	char first;		/* first digit of the first group */
	int total;
};

/*
 * True when another item (an e-mail address or an IP address) starts at
 * i: a phone number's groups stop before it, as they would before its
 * placeholder once it is replaced (so redacting twice changes nothing).
 */
static bool item_starts(const struct scan *sc, size_t i)
{
	size_t at, b, e;

	if (sc->o->ip && left_ok(sc, i) && (ipv4(sc, i, &e) || (i && sc->s[i - 1] != ':' &&
							      ipv6(sc, i, &e))))
		return true;
	if (!sc->o->email)
		return false;
	for (at = i; at < sc->n && at - i <= EMAIL_LOCAL_MAX && (cls[sc->s[at]] & C_LOCAL); at++)
		;
	return at < sc->n && sc->s[at] == '@' && email(sc, at, i, &b, &e) && b == i;
}

/*
 * Reads digit groups from *p: runs of digits or "(digits)", one separator
 * (' ', '-', '.', '/') between them, or none after a ')'; not into another
 * item.  *p: past the last group.
 */
static void read_groups(const struct scan *sc, size_t *p, struct groups *g)
{
	const unsigned char *s = sc->s;
	size_t i = *p;
	char sep = 0;

	g->n = 0;
	g->total = 0;
	for (;;) {
		bool paren = i < sc->n && s[i] == '(';
		size_t a = i + paren;

		for (i = a; i < sc->n && (cls[s[i]] & C_DIGIT); i++)
			;
		if (i == a || (paren && !(i < sc->n && s[i] == ')')))
			break;
		if (!g->n)
			g->first = (char)s[a];
		if (g->n < PHONE_GROUPS) {
			/* beyond, the groups are counted: a sequence too long to be one */
			g->digits[g->n] = (int)TM_MIN(i - a, 99);
			g->paren[g->n] = paren;
			g->sep[g->n] = sep;
		}
		g->total = (int)TM_MIN((size_t)g->total + (i - a), 999);
		g->n++;
		i += paren;
		*p = i;
		sep = 0;
		if (i < sc->n && (s[i] == ' ' || s[i] == '-' || s[i] == '.' || s[i] == '/'))
			sep = (char)s[i++];
		else if (!paren)
			break;
		if (!(i < sc->n && ((cls[s[i]] & C_DIGIT) || s[i] == '(')) || item_starts(sc, i))
			break;
	}
}

/* All separators from group `from` on are `c`. */
static bool seps_are(const struct groups *g, int from, const char *allowed)
{
	int k;
	char c = from < g->n ? g->sep[from] : 0;

	if (!c || !strchr(allowed, c))
		return false;
	for (k = from; k < g->n; k++)
		if (g->sep[k] != c)
			return false;
	return true;
}

/* (555) 123-4567, 555-123-4567, 1-555-123-4567 from group k on. */
static bool nanp(const struct groups *g, int k)
{
	if (g->n - k != 3 || g->digits[k] != 3 || g->digits[k + 1] != 3 || g->digits[k + 2] != 4)
		return false;
	if (g->paren[k + 1] || g->paren[k + 2] || !g->sep[k + 2] || !strchr("-. ", g->sep[k + 2]))
		return false;
	if (g->paren[k])
		return !g->sep[k + 1] || g->sep[k + 1] == ' ';
	return g->sep[k + 1] == g->sep[k + 2];
}

/*
 * A phone number at i: true with its end in *e; else false with *resume
 * past the groups read, where the next item may start (none starts inside
 * a sequence of numbers that is not one).
 */
static bool phone(const struct scan *sc, size_t i, size_t last, size_t *e, size_t *resume)
{
	struct groups g;
	size_t p = i;
	bool plus = sc->s[i] == '+';
	int k;

	/*
	 * Never inside a longer sequence of numbers ("030 1234 097 24 7958"):
	 * not after a number and a separator (unless that number ends an
	 * item already found, at `last`), and never a part of the groups
	 * read_groups() finds (it reads them all, up to the next item).
	 */
	if (i >= 2 && i - 2 >= last && sc->s[i - 1] && strchr(" -./", sc->s[i - 1]) &&
	    (cls[sc->s[i - 2]] & C_DIGIT))
		return false;
	if (plus)
		p++;
	read_groups(sc, &p, &g);
	*resume = TM_MAX(i + 1, p);
	if (!g.n || !right_ok(sc, p))
		return false;
	if (g.n > PHONE_GROUPS)
		return false;	/* more groups than a phone number has */
	for (k = 1; k < g.n; k++)
		if (g.sep[k] == '/' && (plus || g.n != 2))
			return false;
	if (plus) {
		if (g.paren[0] || g.total < 8 || g.total > 15 || (g.n > 1 && g.digits[0] > 3))
			return false;
	} else if (nanp(&g, 0) || (g.n == 4 && g.digits[0] == 1 && g.first == '1' &&
				   !g.paren[0] && nanp(&g, 1))) {
		/* North American */
	} else {
		/* a national number with a trunk 0 */
		if (g.first != '0' || g.n < 2 || g.total < 9 || g.total > 12)
			return false;
		for (k = 0; k < g.n; k++)
			if (g.digits[k] < 2 || (k && g.paren[k]))
				return false;
		if (g.digits[0] > 5)
			return false;
		/* one separator throughout; after "(0xx)" a space or none, then one */
		if (!g.paren[0] ? !seps_are(&g, 1, " -./") :
		    (g.sep[1] && g.sep[1] != ' ') || (g.n > 2 && !seps_are(&g, 2, " -.")))
			return false;
	}
	{
		static const char *const isbn[] = { "isbn", NULL };

		if (word_before(sc, i, isbn))
			return false;
	}
	*e = p;
	return true;
}

/* ---------------------------------------------------------------- scan */

size_t tm_pii_scan(const struct tm_pii_opts *o, const char *text, size_t len,
		   void (*fn)(void *arg, enum tm_pii_kind kind, size_t off, size_t len),
		   void *arg)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	struct scan sc = { (const unsigned char *)text, len, o, 0 };
	const unsigned char *s = sc.s;
	size_t i = 0, last = 0, n = 0;
	bool v6_letters = o->ip && !o->public_only;
	uint16_t trigger = C_TRIGGER | (v6_letters ? C_TRIGGER_V6 : 0);

	pthread_once(&once, init_classes);
	for (;;) {
		unsigned char c;
		size_t b, e;
		enum tm_pii_kind kind;

		/* most bytes start nothing: a tight loop over them */
		while (i < len && !(cls[s[i]] & trigger))
			i++;
		if (i >= len)
			break;
		c = s[i];
		b = i;
		if (c == '@') {
			if (!o->email || !email(&sc, i, last, &b, &e)) {
				i++;
				continue;
			}
			kind = TM_PII_EMAIL;
		} else if (!left_ok(&sc, i) || (!(cls[c] & C_DIGIT) && c != '+' && c != '(' &&
						 !(v6_letters && (c == ':' || (cls[c] & C_HEX))))) {
			i++;
			continue;
		} else if (o->ip && (cls[c] & C_DIGIT) && ipv4(&sc, i, &e)) {
			kind = TM_PII_IP;
		} else if (o->ip && (cls[c] & C_HEX || c == ':') && (!i || s[i - 1] != ':') &&
			   ipv6(&sc, i, &e)) {
			kind = TM_PII_IP;
		} else if (o->phone && c != ':' && (c == '+' || c == '(' || (cls[c] & C_DIGIT))) {
			size_t resume = i + 1;

			if (!phone(&sc, i, last, &e, &resume)) {
				i = resume;
				continue;
			}
			kind = TM_PII_PHONE;
		} else {
			i++;
			continue;
		}
		fn(arg, kind, b, e - b);
		n++;
		i = last = sc.last = e;
	}
	return n;
}

/* ---------------------------------------------------------------- filter */

static const struct tm_fparam params[] = {
	{ "email", TM_INI_BOOL, "true", "replace e-mail addresses",
	  "Dolma (Soldaini et al. 2024) and datatrove PIIFormatter: e-mail and IP addresses" },
	{ "ip", TM_INI_BOOL, "true", "replace IP addresses (IPv4 and IPv6)",
	  "Dolma, datatrove PIIFormatter" },
	{ "phone", TM_INI_BOOL, "true", "replace phone numbers", "Dolma" },
	{ "ip_public_only", TM_INI_BOOL, "true",
	  "only IP addresses a host on the internet could have (not 10.x, 192.168.x, 127.x, ...)",
	  "datatrove PIIFormatter only_remove_public_ips=True" },
	{ "email_replacement", TM_INI_STRING, "|||EMAIL_ADDRESS|||", "what replaces an e-mail address",
	  "Dolma's placeholders (special tokens of the OLMo tokenizer)" },
	{ "ip_replacement", TM_INI_STRING, "|||IP_ADDRESS|||", "what replaces an IP address",
	  "Dolma" },
	{ "phone_replacement", TM_INI_STRING, "|||PHONE_NUMBER|||", "what replaces a phone number",
	  "Dolma" },
};

static const char *const reasons[] = { NULL };

static const char *const score_names[TM_PII__COUNT] = { "emails", "ips", "phones" };

struct pii {
	struct tm_pii_opts opts;
	const char *repl[TM_PII__COUNT];
};

struct rewrite {
	const struct pii *p;
	const char *text;
	struct tm_buf *out;
	size_t done;		/* text[0..done) is in out */
	uint64_t count[TM_PII__COUNT];
};

static void replace(void *arg, enum tm_pii_kind kind, size_t off, size_t len)
{
	struct rewrite *r = arg;

	tm_buf_add(r->out, r->text + r->done, off - r->done);
	tm_buf_addstr(r->out, r->p->repl[kind]);
	r->done = off + len;
	r->count[kind]++;
}

static void *create(const union tm_fvalue *v, const char *data_dir, struct tm_err *err)
{
	struct pii *p = tm_xcalloc(1, sizeof(*p));

	(void)data_dir;
	(void)err;
	p->opts.email = v[0].b;
	p->opts.ip = v[1].b;
	p->opts.phone = v[2].b;
	p->opts.public_only = v[3].b;
	p->repl[TM_PII_EMAIL] = v[4].s;
	p->repl[TM_PII_IP] = v[5].s;
	p->repl[TM_PII_PHONE] = v[6].s;
	return p;
}

static void destroy(void *state)
{
	free(state);
}

static void apply(const void *state, void *scratch, struct tm_ftext *t, struct tm_fresult *res)
{
	const struct pii *p = state;
	struct rewrite r = { p, t->text, res->text, 0, { 0 } };
	int k;

	(void)scratch;
	res->changes = tm_pii_scan(&p->opts, t->text, t->len, replace, &r);
	for (k = 0; k < TM_PII__COUNT; k++)
		tm_fresult_score(res, score_names[k], (double)r.count[k]);
	if (res->changes) {
		tm_buf_add(res->text, t->text + r.done, t->len - r.done);
		res->rewritten = true;
	}
}

const struct tm_filter_def tm_filter_pii = {
	.name = "pii",
	.about = "replace e-mail addresses, IP addresses and phone numbers with placeholders",
	.langs = "all (the forms are language-neutral; phone formats: international, "
		 "North American, national with a trunk 0)",
	.params = params,
	.nparams = TM_ARRAY_SIZE(params),
	.reasons = reasons,
	.create = create,
	.destroy = destroy,
	.apply = apply,
};
