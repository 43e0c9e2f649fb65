/*
 * c4.c: C4's page cleaning (Raffel et al. 2020, "Exploring the Limits of
 * Transfer Learning with a Unified Text-to-Text Transformer", JMLR 21,
 * section 2.2), as the code that made C4 does it: clean_page() of
 * TensorFlow Datasets' c4_utils.py, whose defaults are the paper's (lines
 * of at least 5 words, pages of at least 3 sentences; datatrove's
 * C4QualityFilter swaps the two numbers).  The bad-words rule is not here
 * (a filter of its own).
 *
 * It rewrites the text: each line (text.h lines) is stripped of white
 * space and of Wikipedia citation marks, then dropped when it lacks a
 * terminal mark, has too few words, a too long word, "javascript" or a
 * policy phrase; the kept lines, joined by '\n', are the new text.  A
 * page is removed for "lorem ipsum" or '{' in a line that would be kept,
 * for too few sentences, or when nothing is left.  docs/filters-heur.md
 * gives every rule and its source.
 *
 * Sentences are counted without NLTK's punkt: see count_sentences().
 */
#include <unicode/uchar.h>
#include <unicode/utf8.h>

#include "tamis.h"
#include "filter.h"
#include "heur.h"

enum {
	C4_PUNCT, C4_MARKS, C4_MIN_WORDS, C4_MIN_SENT, C4_MAX_WORD, C4_CITATIONS,
	C4_LOREM, C4_JS, C4_CURLY, C4_POLICY,
};

#define C4_SRC "c4_utils.py clean_page (TensorFlow Datasets), Raffel et al. 2020 section 2.2"

static const struct tm_fparam c4_params[] = {
	[C4_PUNCT] = { "filter_no_terminal_punct", TM_INI_BOOL, "true",
		"drop lines not ending with one of end_marks, or ending with '...'", C4_SRC },
	[C4_MARKS] = { "end_marks", TM_INI_STRING, ".?!\"”。！？｡।॥؟۔։።」』",
		"the characters that end a kept line",
		"c4_utils.py _END_MARKS (. ? ! \"), with the paper's end quotation mark and other scripts' full stops" },
	[C4_MIN_WORDS] = { "min_words_per_line", TM_INI_INT, "5",
		"drop lines with fewer words; 0: off",
		"c4_utils.py _MIN_WORDS_PER_LINE; Raffel et al. 2020 section 2.2 (datatrove: 3)" },
	[C4_MIN_SENT] = { "min_num_sentences", TM_INI_INT, "3",
		"remove pages whose kept lines hold fewer sentences; 0: off",
		"c4_utils.py _MIN_NUM_SENTENCES; Raffel et al. 2020 section 2.2 (datatrove: 5)" },
	[C4_MAX_WORD] = { "max_word_length", TM_INI_INT, "1000",
		"drop lines with a longer word (characters); 0: off",
		"c4_utils.py _MAX_WORD_LENGTH" },
	[C4_CITATIONS] = { "remove_citations", TM_INI_BOOL, "true",
		"remove [1], [], [edit] and [citation needed] from lines", "c4_utils.py citation_regex" },
	[C4_LOREM] = { "filter_lorem_ipsum", TM_INI_BOOL, "true",
		"remove pages with \"lorem ipsum\" (any case) in a kept line", C4_SRC },
	[C4_JS] = { "filter_javascript", TM_INI_BOOL, "true",
		"drop lines with \"javascript\" (any case)", C4_SRC },
	[C4_CURLY] = { "filter_curly_bracket", TM_INI_BOOL, "true",
		"remove pages with '{' in a kept line", C4_SRC },
	[C4_POLICY] = { "filter_policy", TM_INI_BOOL, "true",
		"drop lines with a policy phrase (terms of use, privacy policy, cookie policy, uses cookies, use of cookies, use cookies)",
		"c4_utils.py _POLICY_SUBSTRINGS" },
};

static const char *const c4_reasons[] = {
	"lorem_ipsum", "curly_bracket", "too_few_sentences", "empty", NULL,
};

static const char *const policy[] = {
	"terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies",
	"use cookies",
};

struct c4_state {
	bool punct, citations, lorem, js, curly, policy;
	int64_t min_words, min_sentences, max_word;
	struct tm_cpset marks;
};

/* Where the phrases a line is checked for occur in the text. */
enum { P_LOREM, P_JS, P_CURLY, P_POLICY, P_N };

struct hits {
	struct tm_spanv o;	/* occurrences, by offset */
	size_t k;		/* the first not before the current line */
};

/* Per thread. */
struct c4_scratch {
	struct tm_buf low;	/* the text in ASCII lowercase */
	struct hits hit[P_N];
	struct tm_buf clean;	/* a line without its citations */
	struct tm_buf clean_low;
	struct tm_spanv cut;	/* citations removed, offsets in the line */
};

static void *c4_create(const union tm_fvalue *v, const char *data_dir, struct tm_err *err)
{
	struct c4_state *s = tm_xcalloc(1, sizeof(*s));

	s->punct = v[C4_PUNCT].b;
	s->citations = v[C4_CITATIONS].b;
	s->lorem = v[C4_LOREM].b;
	s->js = v[C4_JS].b;
	s->curly = v[C4_CURLY].b;
	s->policy = v[C4_POLICY].b;
	s->min_words = v[C4_MIN_WORDS].i;
	s->min_sentences = v[C4_MIN_SENT].i;
	s->max_word = v[C4_MAX_WORD].i;
	if (!tm_cpset_parse(&s->marks, v[C4_MARKS].s)) {
		tm_err_set(err, TM_ECONFIG, NULL, TM_ERR_NO_OFFSET, 0,
			   "[filter \"c4\"] end_marks: expected UTF-8 characters");
		free(s);
		return NULL;
	}
	return s;
}

static void c4_destroy(void *state)
{
	struct c4_state *s = state;

	if (s)
		tm_cpset_release(&s->marks);
	free(s);
}

static void *c4_scratch_new(const void *state)
{
	struct c4_scratch *x = tm_xcalloc(1, sizeof(*x));

	tm_buf_init(&x->clean, 0);
	tm_buf_init(&x->clean_low, 0);
	tm_buf_init(&x->low, 0);
	return x;
}

static void c4_scratch_free(void *scratch)
{
	struct c4_scratch *x = scratch;
	int i;

	if (!x)
		return;
	tm_buf_release(&x->clean);
	tm_buf_release(&x->clean_low);
	tm_buf_release(&x->low);
	for (i = 0; i < P_N; i++)
		free(x->hit[i].o.v);
	free(x->cut.v);
	free(x);
}

/*
 * The length of the citation mark at s[0..len) (the regex
 * \[\d*\]|\[edit\]|\[citation needed\], digits ASCII), or 0.
 */
static size_t citation(const char *s, size_t len)
{
	size_t i = 1;

	if (!len || s[0] != '[')
		return 0;
	while (i < len && s[i] >= '0' && s[i] <= '9')
		i++;
	if (i < len && s[i] == ']')
		return i + 1;
	if (len >= 6 && !memcmp(s, "[edit]", 6))
		return 6;
	if (len >= 17 && !memcmp(s, "[citation needed]", 17))
		return 17;
	return 0;
}

/* x->clean: s[0..len) without citation marks (x->cut: where they were). */
static void remove_citations(struct c4_scratch *x, const char *s, size_t len)
{
	size_t i = 0, from = 0;

	tm_buf_reset(&x->clean);
	x->cut.n = 0;
	while (i < len) {
		const char *b = memchr(s + i, '[', len - i);
		size_t k;

		if (!b)
			break;
		i = (size_t)(b - s);
		k = citation(s + i, len - i);
		if (!k) {
			i++;
			continue;
		}
		tm_buf_add(&x->clean, s + from, i - from);
		tm_spanv_push(&x->cut, i, k);
		i += k;
		from = i;
	}
	tm_buf_add(&x->clean, s + from, len - from);
}

/* Whether bytes [a, b) of the line lie wholly inside removed citations. */
static bool cut_away(const struct c4_scratch *x, size_t a, size_t b)
{
	size_t j;

	for (j = 0; j < x->cut.n && a < b; j++)
		if (x->cut.v[j].off <= a && a < x->cut.v[j].off + x->cut.v[j].len)
			a = x->cut.v[j].off + x->cut.v[j].len;
	return a >= b;
}

static bool is_lower_at(const char *s, size_t len)
{
	int32_t i = 0;
	UChar32 c;

	if ((unsigned char)s[0] < 0x80)
		return s[0] >= 'a' && s[0] <= 'z';
	U8_NEXT((const uint8_t *)s, i, (int32_t)TM_MIN(len, 4), c);
	return c >= 0 && u_islower(c);
}

/* Sentence enders: those after which a sentence ends without a space. */
static int ender(int32_t c)
{
	switch (c) {
	case '.': case '!': case '?':
	case 0x0964: case 0x0965: case 0x061f: case 0x06d4: case 0x0589: case 0x1362:
		return 1;	/* । ॥ ؟ ۔ ։ ። */
	case 0x3002: case 0xff01: case 0xff1f: case 0xff61:
		return 2;	/* 。 ！ ？ ｡ */
	default:
		return 0;
	}
}

/* The bytes that may start an ender: . ! ? and the lead bytes of the others. */
static const bool maybe_ender[256] = {
	['.'] = true, ['!'] = true, ['?'] = true,
	[0xd6] = true, [0xd8] = true, [0xdb] = true, [0xe0] = true, [0xe1] = true,
	[0xe3] = true, [0xef] = true,
};

static bool closer(int32_t c)
{
	return c == '"' || c == '\'' || c == ')' || c == ']' || c == 0x201d || c == 0x2019 ||
	       c == 0xbb || c == 0x300d || c == 0x300f;
}

/* Does the word ending at s[e] (exclusive) before a '.' let the sentence go on? */
static bool abbreviation(const char *s, size_t e)
{
	static const char *const abbr[] = { "mr", "mrs", "ms", "dr", "prof", "st", "vs", "e.g", "i.e" };
	size_t a = e, i;

	while (a > 0 && !((unsigned char)s[a - 1] < 0x80 && tm_space_cp((unsigned char)s[a - 1])))
		a--;
	if (e - a == 1 && ((s[a] | 32) >= 'a' && (s[a] | 32) <= 'z'))
		return true;	/* an initial: "J. Smith" */
	for (i = 0; i < TM_ARRAY_SIZE(abbr); i++)
		if (e - a == strlen(abbr[i]) && !strncasecmp(s + a, abbr[i], e - a))
			return true;
	return false;
}

/*
 * The sentences of a kept line, instead of NLTK punkt's: one, plus one
 * for each run of enders (. ! ? and other scripts' full stops), with any
 * closing quotes or brackets after it, that is followed by more text and
 * ends a sentence: a run holding an ideographic full stop (。！？｡) always
 * does; another does when white space follows and then a character that
 * is not a lowercase letter, unless it is a single '.' after an initial
 * or a common abbreviation (Mr. Dr. e.g. ...).
 */
static uint64_t count_sentences(const char *s, size_t len)
{
	const uint8_t *u = (const uint8_t *)s;
	int32_t i = 0, l = (int32_t)len;
	uint64_t n = 1;

	while (i < l) {
		int32_t at = i, j, k, kind = 0, run = 0;
		bool dot = false;
		uint32_t off, rest;
		UChar32 c;

		if (!maybe_ender[u[i]]) {
			i++;
			continue;
		}
		U8_NEXT(u, i, l, c);
		if (!ender(c))
			continue;
		for (j = at; j < l; j = k) {	/* the run of enders */
			k = j;
			U8_NEXT(u, k, l, c);
			if (!ender(c))
				break;
			kind = TM_MAX(kind, ender(c));
			dot = c == '.';
			run++;
		}
		for (; j < l; j = k) {		/* closing quotes and brackets */
			k = j;
			U8_NEXT(u, k, l, c);
			if (!closer(c))
				break;
		}
		i = j;
		if (j >= l)
			break;
		if (kind == 2) {
			n++;
			continue;
		}
		k = j;
		U8_NEXT(u, k, l, c);
		if (c < 0 || !tm_space_cp((uint32_t)c))
			continue;
		off = (uint32_t)j;
		rest = (uint32_t)(l - j);
		tm_span_strip(s, &off, &rest);
		if (!rest)
			break;
		if (is_lower_at(s + off, rest) || (run == 1 && dot && abbreviation(s, (size_t)at)))
			continue;
		n++;
	}
	return n;
}

TM_HOT_LOOP
static void ascii_lower(char *dst, const char *src, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		dst[i] = (char)(src[i] + ((unsigned char)(src[i] - 'A') < 26 ? 32 : 0));
}

/* Adds every occurrence of pat in low[0..n) to h. */
static void find_all(struct hits *h, const char *low, size_t n, const char *pat)
{
	size_t l = strlen(pat);
	const char *p = low, *end = low + n;

	while ((p = memmem(p, (size_t)(end - p), pat, l))) {
		tm_spanv_push(&h->o, (size_t)(p - low), l);
		p++;
	}
}

static int cmp_span(const void *a, const void *b)
{
	const struct tm_span *x = a, *y = b;

	return (x->off > y->off) - (x->off < y->off);
}

/*
 * Finds the phrases in the whole text at once (a few passes of memmem
 * over it) rather than in each line: lines are then checked against the
 * occurrences, in order.
 */
static void find_phrases(const struct c4_state *s, struct c4_scratch *x, const char *text, size_t n)
{
	const char *low;
	size_t i;

	tm_buf_reset(&x->low);
	tm_buf_grow(&x->low, n + 1);
	ascii_lower(x->low.buf, text, n);
	tm_buf_setlen(&x->low, n);
	low = x->low.buf;
	for (i = 0; i < P_N; i++)
		x->hit[i].o.n = x->hit[i].k = 0;
	if (s->lorem)
		find_all(&x->hit[P_LOREM], low, n, "lorem ipsum");
	if (s->js)
		find_all(&x->hit[P_JS], low, n, "javascript");
	if (s->curly)
		find_all(&x->hit[P_CURLY], low, n, "{");
	if (s->policy) {
		struct hits *h = &x->hit[P_POLICY];

		find_all(h, low, n, "terms of use");
		find_all(h, low, n, "privacy policy");
		if (memmem(low, n, "cookie", 6))
			for (i = 2; i < TM_ARRAY_SIZE(policy); i++)
				find_all(h, low, n, policy[i]);
		if (h->o.n > 1)
			qsort(h->o.v, h->o.n, sizeof(*h->o.v), cmp_span);
	}
}

/* Whether an occurrence of phrase p lies in the line at [a, b) (lines come in order). */
static bool line_has(struct c4_scratch *x, int p, size_t a, size_t b)
{
	struct hits *h = &x->hit[p];

	while (h->k < h->o.n && h->o.v[h->k].off < a)
		h->k++;
	return h->k < h->o.n && h->o.v[h->k].off + h->o.v[h->k].len <= b;
}

/* The same in x->clean, a line that lost citations (a phrase may now join). */
static bool clean_has(struct c4_scratch *x, int p)
{
	const char *low = x->clean_low.buf;
	size_t n = x->clean_low.len, i;

	switch (p) {
	case P_LOREM:
		return memmem(low, n, "lorem ipsum", 11);
	case P_JS:
		return memmem(low, n, "javascript", 10);
	case P_CURLY:
		return memchr(low, '{', n);
	default:
		for (i = 0; i < TM_ARRAY_SIZE(policy); i++)
			if (memmem(low, n, policy[i], strlen(policy[i])))
				return true;
		return false;
	}
}

enum {
	S_LINES, S_REMOVED, S_NO_PUNCT, S_FEW_WORDS, S_LONG_WORD, S_JS, S_POLICY, S_SENT, S_N
};

static const char *const c4_scores[] = {
	"lines", "lines_removed", "lines_no_terminal_punct", "lines_too_few_words",
	"lines_long_word", "lines_javascript", "lines_policy", "sentences",
};

static void c4_apply(const void *state, void *scratch, struct tm_ftext *t, struct tm_fresult *res)
{
	const struct c4_state *s = state;
	struct c4_scratch *x = scratch;
	const struct tm_span *l, *w;
	const uint32_t *lw;
	uint64_t sc[S_N] = { 0 };
	const char *reason = NULL;
	size_t nl, nw, i, wi = 0, j;

	l = tm_ftext_lines(t, &nl);
	w = tm_ftext_words(t, &nw);
	lw = tm_ftext_line_words(t);
	find_phrases(s, x, t->text, t->len);
	for (i = 0; i < nl; wi += lw[i], i++) {
		uint32_t off = l[i].off, len = l[i].len;
		const char *line;
		size_t n, words = 0;
		bool long_word = false;
		int32_t last;

		tm_span_strip(t->text, &off, &len);
		if (!len)
			continue;	/* blank: dropped, not counted */
		sc[S_LINES]++;
		for (j = wi; j < wi + lw[i]; j++)
			long_word |= s->max_word > 0 && w[j].len > (uint64_t)s->max_word &&
				     tm_cp_count(t->text + w[j].off, w[j].len) > (uint64_t)s->max_word;
		if (long_word) {
			sc[S_LONG_WORD]++;
			continue;
		}
		line = t->text + off;
		n = len;
		x->cut.n = 0;
		if (s->citations && memchr(line, '[', len)) {
			remove_citations(x, line, len);
			line = x->clean.buf;
			n = x->clean.len;
		}
		last = tm_cp_last(line, n);
		if (s->punct && (!tm_cpset_has(&s->marks, last) ||
				 (n >= 3 && !memcmp(line + n - 3, "...", 3)))) {
			sc[S_NO_PUNCT]++;
			continue;
		}
		if (!x->cut.n)
			words = lw[i];
		for (j = wi; x->cut.n && j < wi + lw[i]; j++)
			words += !cut_away(x, w[j].off - off, w[j].off - off + w[j].len);
		if (s->min_words > 0 && words < (uint64_t)s->min_words) {
			sc[S_FEW_WORDS]++;
			continue;
		}
		if (x->cut.n) {
			tm_buf_reset(&x->clean_low);
			tm_buf_grow(&x->clean_low, n + 1);
			ascii_lower(x->clean_low.buf, line, n);
			tm_buf_setlen(&x->clean_low, n);
		}
#define HAS(p) (x->cut.n ? clean_has(x, (p)) : line_has(x, (p), off, (size_t)off + len))
		if (s->lorem && !reason && HAS(P_LOREM))
			reason = "lorem_ipsum";
		if (s->js && HAS(P_JS)) {
			sc[S_JS]++;
			continue;
		}
		if (s->curly && !reason && HAS(P_CURLY))
			reason = "curly_bracket";
		if (s->policy && HAS(P_POLICY)) {
			sc[S_POLICY]++;
			continue;
		}
#undef HAS
		sc[S_SENT] += count_sentences(line, n);
		if (res->text->len)
			tm_buf_addch(res->text, '\n');
		tm_buf_add(res->text, line, n);
	}
	sc[S_REMOVED] = sc[S_NO_PUNCT] + sc[S_FEW_WORDS] + sc[S_LONG_WORD] + sc[S_JS] + sc[S_POLICY];
	for (j = 0; j < S_N; j++)
		tm_fresult_score(res, c4_scores[j], (double)sc[j]);
	res->changes = sc[S_REMOVED];
	if (!reason && s->min_sentences > 0 && sc[S_SENT] < (uint64_t)s->min_sentences)
		reason = "too_few_sentences";
	if (!reason && !res->text->len)
		reason = "empty";
	res->reason = reason;
	if (!reason)
		res->rewritten = res->text->len != t->len || memcmp(res->text->buf, t->text, t->len);
}

const struct tm_filter_def tm_filter_c4 = {
	.name = "c4",
	.about = "C4's line cleaning (terminal punctuation, words, javascript, policies) and page rules",
	.langs = "all; terminal marks of Latin, CJK, Indic, Arabic, Armenian and Ethiopic scripts; "
		 "words of unspaced scripts are dictionary words",
	.params = c4_params,
	.nparams = TM_ARRAY_SIZE(c4_params),
	.reasons = c4_reasons,
	.create = c4_create,
	.destroy = c4_destroy,
	.scratch_new = c4_scratch_new,
	.scratch_free = c4_scratch_free,
	.apply = c4_apply,
};
