/*
 * blocklist.c: the url_blocklist filter: documents whose URL's host is on
 * a domain blocklist, or whose URL holds banned words (FineWeb's URL
 * filter, datatrove URLFilter), are removed.  docs/filters-safety.md has
 * the rules and their sources.
 *
 * Domains: each list line is a domain ("example.com"; also "*.example.com",
 * ".example.com" and hosts-file lines "0.0.0.0 example.com", whose last
 * field counts), lowercased, trailing dots removed.  A host is blocked
 * when it or any of its parent domains (the host from any of its dots on)
 * is listed, so listing example.com blocks www.example.com and
 * a.b.example.com, not notexample.com; an IPv4 or IPv6 literal host only
 * when listed as such.  Lookups: one hash per label.
 *
 * URL words: the URL (host, path, query, fragment; not the scheme,
 * userinfo or port), percent-escapes and '+' decoded, cut into folded
 * words as lexicon.h does (so at every character that is not a letter or
 * digit).  A hard word (an entry of the word lists, a phrase matching as
 * consecutive words or written together) removes the document; soft words
 * (too ambiguous alone) remove it when at least `url_soft_threshold`
 * different ones occur.  A word on both lists is soft.
 */
#include "tamis.h"
#include "filter.h"
#include "lexicon.h"
#include "url.h"

#define HARD (1u << 2)
#define SOFT (1u << 3)
#define HOST_MAX 255		/* longer hosts are not DNS names: never listed */
#define SOFT_SEEN 32		/* distinct soft words remembered per URL */

static const struct tm_fparam params[] = {
	{ "domains", TM_INI_STRING, "blocklist-sample.txt",
	  "domain blocklist files, comma-separated (one domain per line; subdomains are blocked too)",
	  "FineWeb: UT1 Toulouse adult list (datatrove URLFilter); the shipped sample is not a real list" },
	{ "url_words_dir", TM_INI_STRING, "ldnoobw",
	  "directory (under the filter data directory unless it holds a '/') of <name>.txt word lists",
	  "LDNOOBW, as the badwords filter" },
	{ "url_words", TM_INI_STRING, "en",
	  "lists of url_words_dir (<name>.txt, comma-separated) whose words and phrases in a URL remove its document (\"\": off)",
	  "datatrove URLFilter banned words (LDNOOBW English)" },
	{ "url_soft_words", TM_INI_STRING, "url-soft-words.txt",
	  "words that remove a document when url_soft_threshold different ones are in its URL",
	  "datatrove URLFilter soft_banned_words" },
	{ "url_soft_threshold", TM_INI_INT, "2",
	  "different soft words in a URL that remove its document",
	  "datatrove URLFilter soft_word_threshold=2" },
};

static const char *const reasons[] = { "blocked_domain", "banned_url_word",
				       "soft_banned_url_words", NULL };

struct blocklist {
	struct tm_lex_map *domains;
	struct tm_lex_map *words;	/* phrase map; HARD and SOFT bits */
	int64_t soft_threshold;
};

struct scratch {
	struct tm_buf url;		/* the decoded URL */
};

/* ---------------------------------------------------------------- domains */

/* Lowercases s[0..len) into out (HOST_MAX + 1 bytes); false when too long. */
static bool lower_host(const char *s, size_t len, char *out)
{
	size_t i;

	if (len > HOST_MAX)
		return false;
	for (i = 0; i < len; i++)
		out[i] = (char)((s[i] >= 'A' && s[i] <= 'Z') ? s[i] + 32 : s[i]);
	return true;
}

static bool ipv4_literal(const char *h, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!(h[i] == '.' || (h[i] >= '0' && h[i] <= '9')))
			return false;
	return true;
}

static int add_domain(void *arg, char *line, size_t len)
{
	struct blocklist *b = arg;
	char *d = line, *e = line + len, *sp, host[HOST_MAX + 1];

	/* a comment after the domain */
	for (sp = d; sp < e; sp++)
		if (*sp == '#' && sp > d && (sp[-1] == ' ' || sp[-1] == '\t'))
			e = sp;
	while (e > d && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	/* a hosts-file line: the last field */
	while ((sp = memchr(d, ' ', (size_t)(e - d))) || (sp = memchr(d, '\t', (size_t)(e - d))))
		d = sp + 1;
	if (e - d >= 2 && d[0] == '*' && d[1] == '.')
		d += 2;
	while (d < e && *d == '.')
		d++;
	while (e > d && e[-1] == '.')
		e--;
	if (e > d && lower_host(d, (size_t)(e - d), host))
		tm_lex_map_put(b->domains, tm_lex_hash(host, (size_t)(e - d)), 0, 0);
	return 0;
}

/* True when host[0..len) or a parent domain of it is listed. */
static bool blocked(const struct blocklist *b, const char *h, size_t len)
{
	char host[HOST_MAX + 1];
	uint32_t v;
	size_t i;

	if (!lower_host(h, len, host))
		return false;
	if (tm_lex_map_get(b->domains, tm_lex_hash(host, len), &v))
		return true;
	if (host[0] == '[' || ipv4_literal(host, len))
		return false;
	for (i = 0; i < len; i++)
		if (host[i] == '.' && i + 1 < len &&
		    tm_lex_map_get(b->domains, tm_lex_hash(host + i + 1, len - i - 1), &v))
			return true;
	return false;
}

/* ---------------------------------------------------------------- words */

static int add_hard(void *arg, char *line, size_t len)
{
	tm_lex_add_phrase(((struct blocklist *)arg)->words, line, len, HARD, true);
	return 0;
}

static int add_soft(void *arg, char *line, size_t len)
{
	tm_lex_add_phrase(((struct blocklist *)arg)->words, line, len, SOFT, true);
	return 0;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Appends s[0..len) to out with %XX and '+' decoded. */
static void decode(const char *s, size_t len, struct tm_buf *out)
{
	size_t i;

	tm_buf_grow(out, len + 1);
	for (i = 0; i < len; i++) {
		int hi, lo;

		if (s[i] == '%' && i + 2 < len && (hi = hexval((unsigned char)s[i + 1])) >= 0 &&
		    (lo = hexval((unsigned char)s[i + 2])) >= 0) {
			out->buf[out->len++] = (char)(hi * 16 + lo);
			i += 2;
		} else {
			out->buf[out->len++] = s[i] == '+' ? ' ' : s[i];
		}
	}
	out->buf[out->len] = '\0';
}

/* ---------------------------------------------------------------- filter */

static void destroy(void *state)
{
	struct blocklist *b = state;

	if (!b)
		return;
	tm_lex_map_free(b->domains);
	tm_lex_map_free(b->words);
	free(b);
}

static void *create(const union tm_fvalue *v, const char *data_dir, struct tm_err *err)
{
	struct blocklist *b = tm_xcalloc(1, sizeof(*b));
	struct tm_buf dir = TM_BUF_INIT;

	b->domains = tm_lex_map_new(1024, true);
	b->words = tm_lex_map_new(1024, true);
	b->soft_threshold = v[4].i;
	if (b->soft_threshold < 1) {
		tm_err_set(err, TM_ECONFIG, NULL, TM_ERR_NO_OFFSET, 0,
			   "[filter \"url_blocklist\"] url_soft_threshold: expected 1 or more, got %" PRId64,
			   b->soft_threshold);
		destroy(b);
		return NULL;
	}
	tm_filter_data_path(data_dir, v[1].s, &dir);
	if (tm_lex_read_lists(v[0].s, data_dir, NULL, add_domain, b, err) < 0 ||
	    tm_lex_read_lists(v[2].s, dir.buf, ".txt", add_hard, b, err) < 0 ||
	    tm_lex_read_lists(v[3].s, data_dir, NULL, add_soft, b, err) < 0) {
		tm_buf_release(&dir);
		destroy(b);
		return NULL;
	}
	tm_buf_release(&dir);
	return b;
}

static void *scratch_new(const void *state)
{
	struct scratch *s = tm_xcalloc(1, sizeof(*s));

	(void)state;
	tm_buf_init(&s->url, 256);
	return s;
}

static void scratch_free(void *scratch)
{
	struct scratch *s = scratch;

	if (!s)
		return;
	tm_buf_release(&s->url);
	free(s);
}

static void apply(const void *state, void *scratch, struct tm_ftext *t, struct tm_fresult *res)
{
	const struct blocklist *b = state;
	struct scratch *s = scratch;
	struct tm_lex_iter it;
	struct tm_lex_match m = { .nactive = 0 };
	uint64_t soft[SOFT_SEEN];
	size_t nsoft = 0;
	bool hard = false;
	struct tm_url u;

	if (!t->url[0] || tm_url_parse(t->url, &u) < 0) {
		tm_fresult_score(res, "no_url", 1);
		return;
	}
	tm_fresult_score(res, "no_url", 0);
	if (blocked(b, u.host, u.host_len)) {
		res->reason = "blocked_domain";
		return;
	}
	/* host, then the path and the rest, as one text: a '/' separates */
	tm_buf_reset(&s->url);
	decode(u.host, u.host_len, &s->url);
	tm_buf_addch(&s->url, '/');
	decode(u.rest, strlen(u.rest), &s->url);
	tm_lex_iter_init(&it, s->url.buf, s->url.len, false);
	while (tm_lex_next(&it)) {
		uint64_t key = tm_lex_key(&it);
		uint32_t v = 0;
		size_t i;

		if (!tm_lex_match_word(b->words, &m, key, &v))
			continue;
		if (v & SOFT) {
			for (i = 0; i < nsoft && soft[i] != key; i++)
				;
			if (i == nsoft && nsoft < SOFT_SEEN)
				soft[nsoft++] = key;
		} else if (v & HARD) {
			hard = true;
		}
	}
	tm_fresult_score(res, "soft_words", (double)nsoft);
	if (hard)
		res->reason = "banned_url_word";
	else if ((int64_t)nsoft >= b->soft_threshold)
		res->reason = "soft_banned_url_words";
}

const struct tm_filter_def tm_filter_url_blocklist = {
	.name = "url_blocklist",
	.about = "remove documents whose URL's domain is blocklisted or whose URL holds banned words",
	.langs = "all (it reads metadata.url only)",
	.params = params,
	.nparams = TM_ARRAY_SIZE(params),
	.reasons = reasons,
	.create = create,
	.destroy = destroy,
	.scratch_new = scratch_new,
	.scratch_free = scratch_free,
	.apply = apply,
};
