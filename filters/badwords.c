/*
 * badwords.c: the badwords filter: C4's "bad words" rule (Raffel et al.
 * 2020: a page holding any word of the List of Dirty, Naughty, Obscene or
 * Otherwise Bad Words is removed), per language, with a settable
 * threshold.  docs/filters-safety.md has the rules.
 *
 * Each language's list (LISTS_DIR/<lang>.txt, one entry per line) is
 * split in two at create():
 *  - entries in scripts written with spaces are matched on word
 *    boundaries: the text is cut into folded words (lexicon.h) and an
 *    entry of several words matches as consecutive words, so "Ass" and
 *    "ass!" match "ass" while "Scunthorpe", "class" and "assessment" do
 *    not; "ball gag" matches "Ball  gag" and "ball-gag";
 *  - entries holding a character of a script written without spaces
 *    (zh, ja, th) are matched as substrings of the text, anywhere (those
 *    scripts have no word boundaries to anchor them), by an Aho-Corasick
 *    automaton over bytes (ASCII letters case-insensitive).
 * A document whose metadata.lang has no list loaded (or no lang) is not
 * judged: it is kept and scored no_list = 1.
 */
#include "tamis.h"
#include "filter.h"
#include "lexicon.h"

#include <dirent.h>
#include <unicode/utf8.h>

#define CODE_MAX 32

static const struct tm_fparam params[] = {
	{ "lists", TM_INI_STRING, "ldnoobw",
	  "directory (under the filter data directory unless it holds a '/') of <lang>.txt word lists",
	  "LDNOOBW, the list C4 used (github.com/LDNOOBW, CC-BY-4.0)" },
	{ "languages", TM_INI_STRING, "en",
	  "languages whose list is used, comma-separated, or * for every list in the directory",
	  "C4 (Raffel et al. 2020) filtered English with the English list" },
	{ "max_count", TM_INI_INT, "0",
	  "a document with more matches than this is removed (if also over max_ratio)",
	  "C4: any bad word removes the page" },
	{ "max_ratio", TM_INI_FLOAT, "0",
	  "... and with more matches per word (text.h words) than this; 0: no ratio condition",
	  "C4 (no ratio); a knob for lists that are too broad" },
};

static const char *const reasons[] = { "bad_words", NULL };

/* Aho-Corasick over byte classes, as a full DFA. */
struct ac {
	uint8_t cls[256];	/* byte -> class (0: in no entry) */
	uint32_t nclass, nstate;
	uint32_t *next;		/* [nstate][nclass] */
	uint32_t *out;		/* entries ending at each state (fail chain included) */
};

struct list {
	char code[CODE_MAX];
	struct tm_lex_map *words;	/* spaced entries (phrase map) */
	size_t nwords;
	struct ac *ac;			/* unspaced entries, or NULL */
};

struct badwords {
	struct list *lists;
	size_t n;
	int64_t max_count;
	double max_ratio;
};

/* ---------------------------------------------------------------- Aho-Corasick */

struct trie {
	uint32_t (*go)[256];	/* while building: per state, per byte (0: none) */
	uint32_t *out;
	uint32_t n, cap;
};

static uint32_t trie_state(struct trie *t)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 64;
		t->go = tm_xrealloc(t->go, t->cap * sizeof(*t->go));
		t->out = tm_xrealloc(t->out, t->cap * sizeof(*t->out));
	}
	memset(t->go[t->n], 0, sizeof(*t->go));
	t->out[t->n] = 0;
	return t->n++;
}

static unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

static void trie_add(struct trie *t, const char *s, size_t len)
{
	uint32_t st = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = lower((unsigned char)s[i]);

		if (!t->go[st][c]) {
			uint32_t n = trie_state(t);

			t->go[st][c] = n;
		}
		st = t->go[st][c];
	}
	t->out[st]++;
}

/* The DFA of the trie's patterns (breadth-first fail links). */
static struct ac *ac_build(struct trie *t)
{
	struct ac *a = tm_xcalloc(1, sizeof(*a));
	uint32_t *fail = tm_xcalloc(t->n, sizeof(*fail)), *queue = tm_xmalloc(t->n * sizeof(*queue));
	uint32_t head = 0, tail = 0, s, c;
	bool used[256] = { false };

	for (s = 0; s < t->n; s++)
		for (c = 0; c < 256; c++)
			used[c] = used[c] || t->go[s][c];
	a->nclass = 1;
	for (c = 0; c < 256; c++)
		if (used[c])
			a->cls[c] = (uint8_t)a->nclass++;
	for (c = 'A'; c <= 'Z'; c++)
		a->cls[c] = a->cls[c + 32];
	a->nstate = t->n;
	a->next = tm_xcalloc((size_t)t->n * a->nclass, sizeof(*a->next));
	a->out = tm_xcalloc(t->n, sizeof(*a->out));
	/* breadth first: a state's fail target is complete before it */
	queue[tail++] = 0;
	while (head < tail) {
		uint32_t u = queue[head++];

		a->out[u] = t->out[u] + (u ? a->out[fail[u]] : 0);
		for (c = 0; c < 256; c++) {
			uint32_t v = t->go[u][c], k = a->cls[c];

			if (!k || (c >= 'A' && c <= 'Z'))
				continue;
			if (v) {
				fail[v] = u ? a->next[(size_t)fail[u] * a->nclass + k] : 0;
				a->next[(size_t)u * a->nclass + k] = v;
				queue[tail++] = v;
			} else {
				a->next[(size_t)u * a->nclass + k] =
					u ? a->next[(size_t)fail[u] * a->nclass + k] : 0;
			}
		}
	}
	free(fail);
	free(queue);
	return a;
}

static void ac_free(struct ac *a)
{
	if (!a)
		return;
	free(a->next);
	free(a->out);
	free(a);
}

/* Occurrences of the entries in s[0..len), overlapping ones included. */
static uint64_t ac_count(const struct ac *a, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *e = p + len;
	uint64_t n = 0;
	uint32_t st = 0;

	for (; p < e; p++) {
		st = a->next[(size_t)st * a->nclass + a->cls[*p]];
		n += a->out[st];
	}
	return n;
}

/* ---------------------------------------------------------------- lists */

/* True when s[0..len) holds a character of a script written without spaces. */
static bool has_unspaced(const char *s, size_t len)
{
	int32_t i = 0, n = (int32_t)TM_MIN(len, INT32_MAX);

	while (i < n) {
		UChar32 c;

		U8_NEXT((const uint8_t *)s, i, n, c);
		if (c > 0 && tm_unspaced_cp((uint32_t)c))
			return true;
	}
	return false;
}

struct loading {
	struct list *l;
	struct trie trie;
};

static int add_entry(void *arg, char *line, size_t len)
{
	struct loading *ld = arg;

	if (has_unspaced(line, len))
		trie_add(&ld->trie, line, len);
	else if (tm_lex_add_phrase(ld->l->words, line, len, 0, false))
		ld->l->nwords++;
	return 0;
}

static int load_list(struct badwords *b, const char *dir, const char *code, struct tm_err *err)
{
	struct tm_buf name = TM_BUF_INIT;
	struct loading ld = { NULL, { NULL, NULL, 0, 0 } };
	struct list *l;
	int rc;

	if (strlen(code) >= CODE_MAX || !code[0] || strchr(code, '/'))
		return tm_err_set(err, TM_ECONFIG, NULL, TM_ERR_NO_OFFSET, 0,
				  "[filter \"badwords\"] languages: '%s' is not a language code", code);
	b->lists = tm_xrealloc(b->lists, (b->n + 1) * sizeof(*b->lists));
	l = &b->lists[b->n++];
	memset(l, 0, sizeof(*l));
	memcpy(l->code, code, strlen(code) + 1);
	l->words = tm_lex_map_new(512, true);
	ld.l = l;
	trie_state(&ld.trie);
	tm_buf_addf(&name, "%s/%s.txt", dir, code);
	rc = tm_lex_read_list(name.buf, add_entry, &ld, err);
	if (!rc && ld.trie.n > 1)
		l->ac = ac_build(&ld.trie);
	free(ld.trie.go);
	free(ld.trie.out);
	tm_buf_release(&name);
	return rc;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every <code>.txt of dir (code: a lowercase letter first), sorted. */
static int load_all(struct badwords *b, const char *dir, struct tm_err *err)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, i;
	int rc = 0;

	if (!d)
		return tm_err_sys(err, dir, "cannot open the word list directory");
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);

		if (l > 4 && l - 4 < CODE_MAX && !strcmp(e->d_name + l - 4, ".txt") &&
		    e->d_name[0] >= 'a' && e->d_name[0] <= 'z') {
			names = tm_xrealloc(names, (n + 1) * sizeof(*names));
			names[n] = tm_xmemdup(e->d_name, l - 4);
			n++;
		}
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof(*names), by_name);
	for (i = 0; i < n; i++) {
		if (!rc)
			rc = load_list(b, dir, names[i], err);
		free(names[i]);
	}
	free(names);
	return rc;
}

struct loading_all {
	struct badwords *b;
	const char *dir;
	struct tm_err *err;
};

/* One name of the setting `languages`: a code, or '*' for all. */
static int load_named(void *arg, const char *name)
{
	struct loading_all *ld = arg;

	if (!strcmp(name, "*"))
		return load_all(ld->b, ld->dir, ld->err);
	return load_list(ld->b, ld->dir, name, ld->err);
}

/* The list for metadata.lang `lang`, or NULL. */
static const struct list *find_list(const struct badwords *b, const char *lang)
{
	long i = b->n ? tm_lex_lang_pick(lang, b->lists[0].code, b->n, sizeof(*b->lists)) : -1;

	return i < 0 ? NULL : &b->lists[i];
}

/* ---------------------------------------------------------------- filter */

static void destroy(void *state)
{
	struct badwords *b = state;
	size_t i;

	if (!b)
		return;
	for (i = 0; i < b->n; i++) {
		tm_lex_map_free(b->lists[i].words);
		ac_free(b->lists[i].ac);
	}
	free(b->lists);
	free(b);
}

static void *create(const union tm_fvalue *v, const char *data_dir, struct tm_err *err)
{
	struct badwords *b = tm_xcalloc(1, sizeof(*b));
	struct tm_buf dir = TM_BUF_INIT;
	int rc = 0;

	b->max_count = v[2].i;
	b->max_ratio = v[3].f;
	tm_filter_data_path(data_dir, v[0].s, &dir);
	if (b->max_count < 0 || b->max_ratio < 0)
		rc = tm_err_set(err, TM_ECONFIG, NULL, TM_ERR_NO_OFFSET, 0,
				"[filter \"badwords\"] max_count and max_ratio must not be negative");
	if (!rc) {
		struct loading_all ld = { b, dir.buf, err };

		rc = tm_lex_each_name(v[1].s, load_named, &ld);
	}
	tm_buf_release(&dir);
	if (rc) {
		destroy(b);
		return NULL;
	}
	return b;
}

static void apply(const void *state, void *scratch, struct tm_ftext *t, struct tm_fresult *res)
{
	const struct badwords *b = state;
	const struct list *l = find_list(b, t->lang);
	struct tm_lex_match m = { .nactive = 0 };
	uint64_t count = 0;
	double ratio = 0;

	(void)scratch;
	tm_fresult_score(res, "no_list", l ? 0 : 1);
	if (!l)
		return;
	if (l->nwords) {
		size_t nw, i;
		const struct tm_lex_word *w = tm_lex_words(t, &nw);

		/* a letter of an unspaced script matches no entry here, and breaks phrases */
		for (i = 0; i < nw; i++)
			count += (uint64_t)tm_lex_match_word(l->words, &m,
							     w[i].unspaced ? 0 : w[i].key, NULL);
	}
	if (l->ac)
		count += ac_count(l->ac, t->text, t->len);
	tm_fresult_score(res, "count", (double)count);
	if (b->max_ratio > 0) {
		size_t nw;

		tm_ftext_words(t, &nw);
		ratio = nw ? (double)count / (double)nw : 0;
		tm_fresult_score(res, "ratio", ratio);
	}
	if ((int64_t)count > b->max_count && (b->max_ratio <= 0 || ratio > b->max_ratio))
		res->reason = "bad_words";
}

const struct tm_filter_def tm_filter_badwords = {
	.name = "badwords",
	.about = "remove documents holding words of the LDNOOBW list of their language (C4)",
	.langs = "those with a list (28 in LDNOOBW); by default English only, as C4",
	.params = params,
	.nparams = TM_ARRAY_SIZE(params),
	.reasons = reasons,
	.create = create,
	.destroy = destroy,
	.apply = apply,
};
