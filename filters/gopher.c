/*
 * gopher.c: the quality and repetition rules of Gopher's MassiveWeb
 * (Rae et al. 2021, "Scaling Language Models: Methods, Analysis &
 * Insights from Training Gopher", appendix A.1.1 and table A1), with the
 * defaults of datatrove's GopherQualityFilter and GopherRepetitionFilter.
 * docs/filters-heur.md gives every rule, what exactly is measured, and
 * how it differs from datatrove.
 *
 * Words are those of text.h (white space, and ICU dictionary words in
 * unspaced scripts), not NLTK's: punctuation stays attached to a word, so
 * where Gopher measures a word the quality rules take it without leading
 * and trailing punctuation or symbols ("end." is "end").
 *
 * Not here: the filters' wiring into `tamis filter` (filter.c), the
 * splitting of the text (text.c).
 */
#include <jansson.h>
#include <unistd.h>
#include <unicode/uchar.h>
#include <unicode/utf8.h>

#include "tamis.h"
#include "filter.h"
#include "heur.h"

/* A list of code names ("zh ja th") holds `code` (a language tag's primary subtag). */
static bool lang_listed(const char *list, const char *lang)
{
	size_t l = strcspn(lang, "-_");

	if (!l)
		return false;
	while (*list) {
		size_t k;

		list += strspn(list, " ,\t");
		k = strcspn(list, " ,\t");
		if (k == l && !strncasecmp(list, lang, l))
			return true;
		list += k;
	}
	return false;
}

/* ======================================================== gopher_quality */

/* Stop words of one language: a set of tm_word_hash() of case-folded words. */
struct stoplist {
	char code[16];
	uint64_t *slot;		/* 0: empty */
	size_t mask;
	size_t minlen, maxlen;	/* bytes of the folded words */
	bool first[256];	/* the first bytes of the words, ASCII letters folded */
};

struct gq_state {
	int64_t min_words, max_words;
	double min_mean_len, max_mean_len;
	double max_symbol_ratio, max_bullet_ratio, max_ellipsis_ratio, min_alpha_ratio;
	int64_t min_stop_words;
	char *unspaced_langs;
	struct tm_cpset bullets;
	struct stoplist *lists;	/* [0] English (Gopher's words), then stopwords-iso's */
	size_t nlists;
};

enum {
	GQ_MIN_WORDS, GQ_MAX_WORDS, GQ_MIN_MEAN, GQ_MAX_MEAN, GQ_SYMBOL, GQ_BULLET,
	GQ_BULLETS, GQ_ELLIPSIS, GQ_ALPHA, GQ_MIN_STOP, GQ_EN_STOP, GQ_STOP_FILE,
	GQ_UNSPACED,
};

static const struct tm_fparam gq_params[] = {
	[GQ_MIN_WORDS] = { "min_words", TM_INI_INT, "50",
		"remove documents with fewer words (not counting words of only punctuation or symbols); 0: no minimum",
		"Rae et al. 2021, appendix A.1.1 (50 to 100,000 words); datatrove min_doc_words" },
	[GQ_MAX_WORDS] = { "max_words", TM_INI_INT, "100000",
		"remove documents with more such words; 0: no maximum",
		"Rae et al. 2021, appendix A.1.1; datatrove max_doc_words" },
	[GQ_MIN_MEAN] = { "min_mean_word_length", TM_INI_FLOAT, "3",
		"remove documents whose mean word length (characters, edge punctuation left out) is below; 0: off",
		"Rae et al. 2021, appendix A.1.1 (3 to 10 characters); datatrove min_avg_word_length" },
	[GQ_MAX_MEAN] = { "max_mean_word_length", TM_INI_FLOAT, "10",
		"remove documents whose mean word length is above; 0: off",
		"Rae et al. 2021, appendix A.1.1; datatrove max_avg_word_length" },
	[GQ_SYMBOL] = { "max_symbol_word_ratio", TM_INI_FLOAT, "0.1",
		"remove documents with more '#', or more '...' and U+2026, per word; 0: off",
		"Rae et al. 2021, appendix A.1.1; datatrove max_symbol_word_ratio" },
	[GQ_BULLET] = { "max_bullet_lines_ratio", TM_INI_FLOAT, "0.9",
		"remove documents with a larger share of lines starting with a bullet; 0: off",
		"Rae et al. 2021, appendix A.1.1; datatrove max_bullet_lines_ratio" },
	[GQ_BULLETS] = { "bullets", TM_INI_STRING, "• ‣ ◦ ▶ ◀ ■ □ ▪ ▫ – -",
		"the characters that start a bullet line (after white space)",
		"datatrove ('•', '-') and RedPajama-V2 rps_doc_frac_lines_start_with_bullet" },
	[GQ_ELLIPSIS] = { "max_ellipsis_lines_ratio", TM_INI_FLOAT, "0.3",
		"remove documents with a larger share of lines ending with '...' or U+2026; 0: off",
		"Rae et al. 2021, appendix A.1.1; datatrove max_ellipsis_lines_ratio" },
	[GQ_ALPHA] = { "min_alpha_words_ratio", TM_INI_FLOAT, "0.8",
		"remove documents with a smaller share of words holding a letter; 0: off",
		"Rae et al. 2021, appendix A.1.1; datatrove max_non_alpha_words_ratio" },
	[GQ_MIN_STOP] = { "min_stop_words", TM_INI_INT, "2",
		"remove documents with fewer occurrences of their language's stop words; 0: off",
		"Rae et al. 2021, appendix A.1.1 (at least two of eight English words); datatrove min_stop_words" },
	[GQ_EN_STOP] = { "english_stop_words", TM_INI_STRING, "the be to of and that have with",
		"the stop words of English documents",
		"Rae et al. 2021, appendix A.1.1; datatrove STOP_WORDS" },
	[GQ_STOP_FILE] = { "stop_words_file", TM_INI_STRING, "stopwords-iso.json",
		"stop words of the other languages ({\"code\": [words]}, in the filter data directory); empty: English only",
		"stopwords-iso 1.1.0 (MIT), as chosen by tamis" },
	[GQ_UNSPACED] = { "unspaced_langs", TM_INI_STRING, "ja km lo my th zh",
		"languages written without spaces: the mean word length rule does not apply to them",
		"tamis: their words are dictionary words of one or two characters" },
};

static const char *const gq_reasons[] = {
	"word_count", "mean_word_length", "symbol_ratio", "bullet_lines", "ellipsis_lines",
	"alpha_words", "stop_words", NULL,
};

static void stoplist_add(struct stoplist *l, const char *w, size_t len)
{
	uint64_t k = tm_word_hash(w, len);
	size_t i;

	k += !k;
	for (i = k & l->mask; l->slot[i] && l->slot[i] != k; i = (i + 1) & l->mask)
		;
	l->slot[i] = k;
	if (!l->minlen || len < l->minlen)
		l->minlen = len;
	l->maxlen = TM_MAX(l->maxlen, len);
	l->first[(unsigned char)w[0]] = true;
	if ((w[0] | 32) >= 'a' && (w[0] | 32) <= 'z')
		l->first[(unsigned char)(w[0] | 32)] = true;
}

static bool stoplist_has(const struct stoplist *l, const char *w, size_t len)
{
	uint64_t k;
	size_t i;

	if (len < l->minlen || len > l->maxlen)
		return false;
	k = tm_word_hash(w, len);
	k += !k;
	for (i = k & l->mask; l->slot[i]; i = (i + 1) & l->mask)
		if (l->slot[i] == k)
			return true;
	return false;
}

static struct stoplist *stoplist_new(struct gq_state *s, const char *code, size_t nwords)
{
	struct stoplist *l;
	size_t slots = 16;

	while (slots < 2 * nwords)
		slots *= 2;
	s->lists = tm_xrealloc(s->lists, (s->nlists + 1) * sizeof(*s->lists));
	l = &s->lists[s->nlists++];
	memset(l, 0, sizeof(*l));
	snprintf(l->code, sizeof(l->code), "%s", code);
	l->slot = tm_xcalloc(slots, sizeof(*l->slot));
	l->mask = slots - 1;
	return l;
}

static void gq_destroy(void *state)
{
	struct gq_state *s = state;
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->nlists; i++)
		free(s->lists[i].slot);
	free(s->lists);
	tm_cpset_release(&s->bullets);
	free(s->unspaced_langs);
	free(s);
}

/* Reads stopwords-iso's {"code": ["word", ...], ...} into s->lists (English skipped). */
static int gq_load_stop_words(struct gq_state *s, const char *path, struct tm_err *err)
{
	struct tm_ftext *t = tm_ftext_new();
	json_error_t jerr;
	json_t *root = json_load_file(path, 0, &jerr), *arr;
	const char *code;
	int rc = 0;

	if (!root) {
		rc = tm_err_set(err, access(path, R_OK) ? TM_EIO : TM_EFORMAT, path,
				TM_ERR_NO_OFFSET, jerr.line > 0 ? jerr.line : 0,
				"cannot read the stop words: %s", jerr.text);
		goto out;
	}
	if (!json_is_object(root)) {
		rc = tm_err_set(err, TM_EFORMAT, path, TM_ERR_NO_OFFSET, 0,
				"expected an object of stop word lists, got another JSON value");
		goto out;
	}
	json_object_foreach(root, code, arr) {
		struct stoplist *l;
		size_t i;
		json_t *w;

		if (!json_is_array(arr) || !*code || strlen(code) >= sizeof(l->code)) {
			rc = tm_err_set(err, TM_EFORMAT, path, TM_ERR_NO_OFFSET, 0,
					"expected \"code\": [words], got a bad entry '%.20s'", code);
			goto out;
		}
		if (lang_listed("en", code))
			continue;	/* English: Gopher's own words */
		l = stoplist_new(s, code, json_array_size(arr));
		json_array_foreach(arr, i, w) {
			const char *f;
			size_t flen;

			if (!json_is_string(w)) {
				rc = tm_err_set(err, TM_EFORMAT, path, TM_ERR_NO_OFFSET, 0,
						"expected words in \"%s\", got another JSON value", code);
				goto out;
			}
			f = tm_ftext_fold(t, json_string_value(w), json_string_length(w), &flen);
			if (flen)
				stoplist_add(l, f, flen);
		}
	}
out:
	json_decref(root);
	tm_ftext_free(t);
	return rc;
}

static void *gq_create(const union tm_fvalue *v, const char *data_dir, struct tm_err *err)
{
	struct gq_state *s = tm_xcalloc(1, sizeof(*s));
	struct stoplist *en;
	const char *p;
	size_t n = 0;

	s->min_words = v[GQ_MIN_WORDS].i;
	s->max_words = v[GQ_MAX_WORDS].i;
	s->min_mean_len = v[GQ_MIN_MEAN].f;
	s->max_mean_len = v[GQ_MAX_MEAN].f;
	s->max_symbol_ratio = v[GQ_SYMBOL].f;
	s->max_bullet_ratio = v[GQ_BULLET].f;
	s->max_ellipsis_ratio = v[GQ_ELLIPSIS].f;
	s->min_alpha_ratio = v[GQ_ALPHA].f;
	s->min_stop_words = v[GQ_MIN_STOP].i;
	s->unspaced_langs = tm_xstrdup(v[GQ_UNSPACED].s);
	if (!tm_cpset_parse(&s->bullets, v[GQ_BULLETS].s)) {
		tm_err_set(err, TM_ECONFIG, NULL, TM_ERR_NO_OFFSET, 0,
			   "[filter \"gopher_quality\"] bullets: expected UTF-8 characters");
		goto fail;
	}
	/* English: the words of the setting, white-space separated, lowercase */
	for (p = v[GQ_EN_STOP].s; *p; p += strcspn(p, " \t"), p += strspn(p, " \t"))
		n += !strchr(" \t", *p);
	en = stoplist_new(s, "en", n);
	for (p = v[GQ_EN_STOP].s + strspn(v[GQ_EN_STOP].s, " \t"); *p;) {
		size_t k = strcspn(p, " \t");

		stoplist_add(en, p, k);
		p += k;
		p += strspn(p, " \t");
	}
	if (*v[GQ_STOP_FILE].s) {
		struct tm_buf path = TM_BUF_INIT;
		int rc;

		tm_filter_data_path(data_dir, v[GQ_STOP_FILE].s, &path);
		rc = gq_load_stop_words(s, path.buf, err);
		tm_buf_release(&path);
		if (rc)
			goto fail;
	}
	return s;
fail:
	gq_destroy(s);
	return NULL;
}

/*
 * What one pass over the words finds.  A word of only punctuation and
 * symbols that text.h cut off the word before it (no white space
 * between: "，" after a Chinese word) is taken as part of that word, as
 * it is in spaced text ("word,"): it is not one of `words`.
 */
struct gq_words {
	uint64_t words;		/* all words */
	uint64_t counted;	/* words with a character that is not punctuation or a symbol */
	uint64_t chars;		/* their characters, edge punctuation and symbols left out */
	uint64_t alpha;		/* words holding a letter */
	uint64_t unspaced;	/* counted words holding a character of an unspaced script */
	uint64_t stop;		/* occurrences of stop words */
};

/* Byte classes (text.h's TM_WC_*), or-ed over a word. */
enum { B_ALPHA = TM_WC_ALPHA, B_PS = TM_WC_PUNCT, B_OTHER = TM_WC_OTHER, B_HIGH = TM_WC_HIGH };
#define bcls tm_wc_table

/* Folds s[0..len) for a stop list lookup: ASCII here, the rest by ICU. */
static bool stop_word(struct tm_ftext *t, const struct stoplist *stop, const char *s, size_t len,
		      bool ascii)
{
	char low[64];
	const char *f = low;
	size_t j;

	if (len < stop->minlen)
		return false;
	if (ascii && len <= sizeof(low)) {
		if (len > stop->maxlen || !stop->first[(unsigned char)(s[0] | 32)])
			return false;
		for (j = 0; j < len; j++)
			low[j] = (char)(s[j] >= 'A' && s[j] <= 'Z' ? s[j] + 32 : s[j]);
	} else {
		f = tm_ftext_fold(t, s, len, &len);
	}
	return stoplist_has(stop, f, len);
}

/* A word with a non-ASCII character: code point by code point. */
static void gq_word_slow(struct tm_ftext *t, const struct stoplist *stop, const uint8_t *s,
			 int32_t len, bool attached, struct gq_words *r)
{
	int32_t i = 0, a = -1, b = 0;
	uint32_t k = 0, ka = 0, kb = 0;
	bool alpha = false, unsp = false;

	/* [a, b): the word without leading and trailing punctuation and symbols */
	while (i < len) {
		int32_t at = i;
		UChar32 c;
		bool ps;

		U8_NEXT(s, i, len, c);
		if (c < 0) {
			ps = false;	/* an invalid byte: a character, not a letter */
		} else if (c < 0x80) {
			alpha |= bcls[c] == B_ALPHA;
			ps = bcls[c] == B_PS;
		} else {
			int8_t gc = u_charType(c);

			alpha |= (U_MASK(gc) & U_GC_L_MASK) != 0;
			ps = (U_MASK(gc) & (U_GC_P_MASK | U_GC_S_MASK)) != 0;
			unsp |= tm_unspaced_cp((uint32_t)c);
		}
		if (!ps) {
			if (a < 0) {
				a = at;
				ka = k;
			}
			b = i;
			kb = k + 1;
		}
		k++;
	}
	r->alpha += alpha;
	if (a < 0) {
		r->words -= attached;
		return;		/* only punctuation and symbols */
	}
	r->counted++;
	r->chars += kb - ka;
	r->unspaced += unsp;
	if (stop)
		r->stop += stop_word(t, stop, (const char *)s + a, (size_t)(b - a), false);
}

static void gq_scan_words(struct tm_ftext *t, const struct stoplist *stop, struct gq_words *r)
{
	size_t nw, w;
	const struct tm_span *v = tm_ftext_words(t, &nw);
	const uint8_t *wc = tm_ftext_word_class(t);
	const uint8_t *text = (const uint8_t *)t->text;

	memset(r, 0, sizeof(*r));
	r->words = nw;
	for (w = 0; w < nw; w++) {
		const uint8_t *s = text + v[w].off;
		uint32_t len = v[w].len, a = 0, b = len;
		unsigned m = wc[w];	/* the B_* classes of its bytes (text.h's TM_WC_*) */

		bool attached = w && v[w].off == v[w - 1].off + v[w - 1].len;

		if (m & B_HIGH) {
			gq_word_slow(t, stop, s, (int32_t)len, attached, r);
			continue;
		}
		r->alpha += m & B_ALPHA;
		if (!(m & (B_ALPHA | B_OTHER))) {
			r->words -= attached;
			continue;	/* only punctuation and symbols */
		}
		while (bcls[s[a]] == B_PS)
			a++;
		while (bcls[s[b - 1]] == B_PS)
			b--;
		r->counted++;
		r->chars += b - a;
		if (stop)
			r->stop += stop_word(t, stop, (const char *)s + a, b - a, true);
	}
}

TM_HOT_LOOP
static uint64_t count_byte(const char *s, size_t len, char c)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; i < len; i++)
		n += s[i] == c;
	return n;
}

/* '#' and the ellipses ("..." not overlapping, as str.count() finds them, and U+2026) of the text. */
static void gq_scan_symbols(const char *text, size_t len, uint64_t *hash, uint64_t *ellipsis)
{
	const char *p = text, *end = text + len;
	uint64_t e = 0;

	*hash = count_byte(text, len, '#');
	while ((p = memchr(p, '.', (size_t)(end - p)))) {
		const char *q = p;

		while (q < end && *q == '.')
			q++;
		e += (uint64_t)(q - p) / 3;
		p = q;
	}
	for (p = text; (p = memchr(p, 0xe2, (size_t)(end - p))); p++)
		e += end - p >= 3 && p[1] == '\x80' && p[2] == '\xa6';
	*ellipsis = e;
}

static int32_t first_cp(const char *s, size_t len)
{
	int32_t i = 0;
	UChar32 c;

	U8_NEXT((const uint8_t *)s, i, (int32_t)TM_MIN(len, 4), c);
	return c;
}

static bool ends_with_ellipsis(const char *s, size_t len)
{
	return len >= 3 && (!memcmp(s + len - 3, "...", 3) || !memcmp(s + len - 3, "\xe2\x80\xa6", 3));
}

static double ratio(uint64_t a, uint64_t b)
{
	return b ? (double)a / (double)b : 0.0;
}

static void gq_apply(const void *state, void *scratch, struct tm_ftext *t, struct tm_fresult *res)
{
	const struct gq_state *s = state;
	const struct stoplist *stop = NULL;
	const struct tm_span *l;
	struct gq_words w;
	uint64_t hash, ell, bullets = 0, ell_lines = 0;
	size_t nl, i;
	double mean, hash_r, ell_r, bullet_r, ell_line_r, alpha_r;
	bool judge_len;

	if (s->min_stop_words > 0)
		for (i = 0; i < s->nlists && !stop; i++)
			if (lang_listed(s->lists[i].code, t->lang))
				stop = &s->lists[i];
	gq_scan_words(t, stop, &w);
	gq_scan_symbols(t->text, t->len, &hash, &ell);
	l = tm_ftext_lines(t, &nl);
	for (i = 0; i < nl; i++) {
		uint32_t off = l[i].off, len = l[i].len;

		tm_span_strip(t->text, &off, &len);
		if (!len)
			continue;
		bullets += tm_cpset_has(&s->bullets, first_cp(t->text + off, len));
		ell_lines += ends_with_ellipsis(t->text + off, len);
	}

	mean = w.counted ? (double)w.chars / (double)w.counted : 0.0;
	hash_r = ratio(hash, w.words);
	ell_r = ratio(ell, w.words);
	bullet_r = ratio(bullets, nl);
	ell_line_r = ratio(ell_lines, nl);
	alpha_r = ratio(w.alpha, w.words);
	tm_fresult_score(res, "word_count", (double)w.counted);
	tm_fresult_score(res, "mean_word_length", mean);
	tm_fresult_score(res, "hash_ratio", hash_r);
	tm_fresult_score(res, "ellipsis_ratio", ell_r);
	tm_fresult_score(res, "bullet_lines_ratio", bullet_r);
	tm_fresult_score(res, "ellipsis_lines_ratio", ell_line_r);
	tm_fresult_score(res, "alpha_words_ratio", alpha_r);
	if (stop)
		tm_fresult_score(res, "stop_words", (double)w.stop);

	/* unspaced scripts: by the language, or by the words when it is unknown */
	judge_len = *t->lang ? !lang_listed(s->unspaced_langs, t->lang)
			     : 2 * w.unspaced <= w.counted;
	if ((s->min_words > 0 && w.counted < (uint64_t)s->min_words) ||
	    (s->max_words > 0 && w.counted > (uint64_t)s->max_words))
		res->reason = "word_count";
	else if (judge_len && ((s->min_mean_len > 0 && mean < s->min_mean_len) ||
			       (s->max_mean_len > 0 && mean > s->max_mean_len)))
		res->reason = "mean_word_length";
	else if (s->max_symbol_ratio > 0 && (hash_r > s->max_symbol_ratio || ell_r > s->max_symbol_ratio))
		res->reason = "symbol_ratio";
	else if (s->max_bullet_ratio > 0 && bullet_r > s->max_bullet_ratio)
		res->reason = "bullet_lines";
	else if (s->max_ellipsis_ratio > 0 && ell_line_r > s->max_ellipsis_ratio)
		res->reason = "ellipsis_lines";
	else if (s->min_alpha_ratio > 0 && alpha_r < s->min_alpha_ratio)
		res->reason = "alpha_words";
	else if (stop && w.stop < (uint64_t)s->min_stop_words)
		res->reason = "stop_words";
}

const struct tm_filter_def tm_filter_gopher_quality = {
	.name = "gopher_quality",
	.about = "Gopher's quality rules: word count and length, symbols, bullets, ellipses, letters, stop words",
	.langs = "all; the mean word length rule not for unspaced scripts (unspaced_langs); "
		 "stop words for English (Gopher's) and the 57 other languages of stopwords-iso",
	.params = gq_params,
	.nparams = TM_ARRAY_SIZE(gq_params),
	.reasons = gq_reasons,
	.create = gq_create,
	.destroy = gq_destroy,
	.apply = gq_apply,
};

/* ===================================================== gopher_repetition */

/*
 * Table A1 of Rae et al. 2021, in datatrove's order of checks: a document
 * is removed when a fraction is above its threshold (0: rule off).
 */
enum {
	GR_PARA, GR_PARA_CHAR, GR_LINE, GR_LINE_CHAR, GR_TOP2, GR_TOP3, GR_TOP4,
	GR_DUP5, GR_DUP6, GR_DUP7, GR_DUP8, GR_DUP9, GR_DUP10, GR_NPARAMS
};

#define GR_SRC "Rae et al. 2021, table A1; datatrove GopherRepetitionFilter"

static const struct tm_fparam gr_params[] = {
	[GR_PARA] = { "dup_para_frac", TM_INI_FLOAT, "0.3",
		"remove documents with a larger share of paragraphs (split at 2+ newlines) repeating an earlier one", GR_SRC },
	[GR_PARA_CHAR] = { "dup_para_char_frac", TM_INI_FLOAT, "0.2",
		"remove documents whose repeated paragraphs hold a larger share of the characters", GR_SRC },
	[GR_LINE] = { "dup_line_frac", TM_INI_FLOAT, "0.3",
		"remove documents with a larger share of lines (split at newlines) repeating an earlier one", GR_SRC },
	[GR_LINE_CHAR] = { "dup_line_char_frac", TM_INI_FLOAT, "0.2",
		"remove documents whose repeated lines hold a larger share of the characters", GR_SRC },
	[GR_TOP2] = { "top_2_gram_frac", TM_INI_FLOAT, "0.2",
		"remove documents whose most frequent word 2-gram covers a larger share of the characters", GR_SRC },
	[GR_TOP3] = { "top_3_gram_frac", TM_INI_FLOAT, "0.18",
		"the same for word 3-grams", GR_SRC },
	[GR_TOP4] = { "top_4_gram_frac", TM_INI_FLOAT, "0.16",
		"the same for word 4-grams", GR_SRC },
	[GR_DUP5] = { "dup_5_gram_frac", TM_INI_FLOAT, "0.15",
		"remove documents whose repeated word 5-grams cover a larger share of the characters", GR_SRC },
	[GR_DUP6] = { "dup_6_gram_frac", TM_INI_FLOAT, "0.14", "the same for word 6-grams", GR_SRC },
	[GR_DUP7] = { "dup_7_gram_frac", TM_INI_FLOAT, "0.13", "the same for word 7-grams", GR_SRC },
	[GR_DUP8] = { "dup_8_gram_frac", TM_INI_FLOAT, "0.12", "the same for word 8-grams", GR_SRC },
	[GR_DUP9] = { "dup_9_gram_frac", TM_INI_FLOAT, "0.11", "the same for word 9-grams", GR_SRC },
	[GR_DUP10] = { "dup_10_gram_frac", TM_INI_FLOAT, "0.1", "the same for word 10-grams", GR_SRC },
};

/* Reasons and scores, one per rule, in gr_params[] order. */
static const char *const gr_reasons[] = {
	"dup_para_frac", "dup_para_char_frac", "dup_line_frac", "dup_line_char_frac",
	"top_2_gram", "top_3_gram", "top_4_gram",
	"duplicated_5_n_grams", "duplicated_6_n_grams", "duplicated_7_n_grams",
	"duplicated_8_n_grams", "duplicated_9_n_grams", "duplicated_10_n_grams", NULL,
};

static const char *const gr_scores[] = {
	"dup_para_frac", "dup_para_char_frac", "dup_line_frac", "dup_line_char_frac",
	"top_2_gram_frac", "top_3_gram_frac", "top_4_gram_frac",
	"dup_5_gram_frac", "dup_6_gram_frac", "dup_7_gram_frac",
	"dup_8_gram_frac", "dup_9_gram_frac", "dup_10_gram_frac",
};

struct gr_state {
	double thr[GR_NPARAMS];
};

/*
 * Per thread.  Memory for a document of W words and E lines or
 * paragraphs: 32 bytes per word (hashes, character offsets, slots,
 * position lists) plus the counter, 32 to 64 bytes per word or element.
 */
struct gr_scratch {
	struct tm_htab tab;
	struct tm_spanv el;	/* lines or paragraphs */
	uint64_t *hw, *g;	/* word hashes; n-gram hashes */
	uint32_t *pc;		/* pc[i]: characters of words 0..i-1 */
	uint32_t *slot;		/* the counter slot of the n-gram at i */
	uint32_t *rep, *cand;	/* positions of repeated n-grams; of candidates */
	size_t cap;
};

static void *gr_create(const union tm_fvalue *v, const char *data_dir, struct tm_err *err)
{
	struct gr_state *s = tm_xcalloc(1, sizeof(*s));
	int i;

	for (i = 0; i < GR_NPARAMS; i++)
		s->thr[i] = v[i].f;
	return s;
}

static void gr_destroy(void *state)
{
	free(state);
}

static void *gr_scratch_new(const void *state)
{
	return tm_xcalloc(1, sizeof(struct gr_scratch));
}

static void gr_scratch_free(void *scratch)
{
	struct gr_scratch *x = scratch;

	if (!x)
		return;
	tm_htab_release(&x->tab);
	free(x->el.v);
	free(x->hw);
	free(x->g);
	free(x->pc);
	free(x->slot);
	free(x->rep);
	free(x->cand);
	free(x);
}

/*
 * The pieces of text[a..b) between runs of at least min_run newlines (a
 * run is one separator), as Python's re.split("\n{min_run,}") gives them:
 * empty pieces included, into x->el.
 */
static void split_runs(struct gr_scratch *x, const char *text, size_t a, size_t b, size_t min_run)
{
	size_t start = a, i = a;

	x->el.n = 0;
	while (i < b) {
		const char *nl = memchr(text + i, '\n', b - i);
		size_t e, r;

		if (!nl)
			break;
		e = r = (size_t)(nl - text);
		while (r < b && text[r] == '\n')
			r++;
		if (r - e >= min_run) {
			tm_spanv_push(&x->el, start, e - start);
			start = r;
		}
		i = r;
	}
	tm_spanv_push(&x->el, start, b - start);
}

static inline uint64_t gram_mix(uint64_t g, uint64_t h)
{
	uint64_t z = g ^ (h * 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void gr_grow(struct gr_scratch *x, size_t nw)
{
	if (nw + 1 <= x->cap)
		return;
	x->cap = nw + 1;
	x->hw = tm_xrealloc(x->hw, x->cap * sizeof(*x->hw));
	x->g = tm_xrealloc(x->g, x->cap * sizeof(*x->g));
	x->pc = tm_xrealloc(x->pc, x->cap * sizeof(*x->pc));
	x->slot = tm_xrealloc(x->slot, x->cap * sizeof(*x->slot));
	x->rep = tm_xrealloc(x->rep, x->cap * sizeof(*x->rep));
	x->cand = tm_xrealloc(x->cand, x->cap * sizeof(*x->cand));
}

#define SEEN UINT32_MAX

/*
 * The word n-gram fractions: out[n] for n = 2..10 (characters over
 * `chars`).  For n <= 4, the most frequent n-gram (ties: the one seen
 * first) times its count, each n-gram measured with single spaces between
 * its words (datatrove's " ".join); for n >= 5, datatrove's
 * find_all_duplicate(): walking the n-grams, one already seen adds its
 * characters (words only, "".join) and the walk jumps past it, any other
 * is remembered and the walk steps one word.
 *
 * An n-gram can occur twice only where both of its (n-1)-grams do, so
 * each n counts only those positions (all of them for n = 2): on most
 * text the work for n >= 3 is small.  Every other n-gram occurs once,
 * which is all the walk needs to know of it (it is never met again).
 */
static void gr_ngrams(struct gr_scratch *x, struct tm_ftext *t, double chars, double *out)
{
	size_t nw, i, n, nrep = 0;
	const struct tm_span *w = tm_ftext_words(t, &nw);
	const uint8_t *wc = tm_ftext_word_class(t);

	gr_grow(x, nw);
	x->pc[0] = 0;
	for (i = 0; i < nw; i++) {
		const char *s = t->text + w[i].off;

		x->hw[i] = x->g[i] = tm_word_hash(s, w[i].len);
		/* an ASCII word's characters are its bytes */
		x->pc[i + 1] = x->pc[i] + (wc[i] & TM_WC_HIGH ? tm_cp_count_short(s, w[i].len) : w[i].len);
	}
	for (n = 2; n <= 10; n++) {
		size_t m = nw >= n ? nw - n + 1 : 0, ncand = 0, k;
		uint32_t *tmp;

		out[n] = 0;
		if (!m)
			continue;
		/* candidates: every position, then where two (n-1)-grams in a row repeat */
		if (n == 2) {
			for (i = 0; i < m; i++)
				x->cand[i] = (uint32_t)i;
			ncand = m;
		} else {
			for (k = 0; k + 1 < nrep; k++)
				if (x->rep[k + 1] == x->rep[k] + 1)
					x->cand[ncand++] = x->rep[k];
		}
		tm_htab_reset(&x->tab, ncand);
		for (k = 0; k < ncand; k++) {
			uint32_t p = x->cand[k];

			x->g[p] = gram_mix(x->g[p], x->hw[p + n - 1]);
			x->slot[p] = (uint32_t)(tm_htab_add(&x->tab, x->g[p], p) - x->tab.e);
		}
		/* the candidates that repeat become the positions for n + 1 */
		for (k = 0, nrep = 0; k < ncand; k++)
			if (x->tab.e[x->slot[x->cand[k]]].count >= 2)
				x->cand[nrep++] = x->cand[k];
		tmp = x->rep;
		x->rep = x->cand;
		x->cand = tmp;
		if (n <= 4) {
			uint32_t best = 1, first = 0;

			for (k = 0; k < nrep; k++) {
				const struct tm_hent *e = &x->tab.e[x->slot[x->rep[k]]];

				if (e->count > best || (e->count == best && e->first < first)) {
					best = e->count;
					first = e->first;
				}
			}
			out[n] = (double)(x->pc[first + n] - x->pc[first] + n - 1) * best / chars;
		} else {
			uint64_t dup = 0;
			size_t next = 0;	/* where the walk is */

			for (k = 0; k < nrep; k++) {
				uint32_t p = x->rep[k];
				struct tm_hent *e;

				if (p < next)
					continue;
				e = &x->tab.e[x->slot[p]];
				if (e->first == SEEN) {
					dup += x->pc[p + n] - x->pc[p];
					next = p + n;
				} else {
					e->first = SEEN;
					next = p + 1;
				}
			}
			out[n] = (double)dup / chars;
		}
	}
}

static void gr_apply(const void *state, void *scratch, struct tm_ftext *t, struct tm_fresult *res)
{
	const struct gr_state *s = state;
	struct gr_scratch *x = scratch;
	double f[GR_NPARAMS] = { 0 }, gram[11] = { 0 }, chars = (double)tm_cp_count(t->text, t->len);
	uint64_t dups, dup_chars;
	uint32_t off = 0, len = (uint32_t)t->len;
	int i;

	if (chars > 0) {
		/* paragraphs: re.split(r"\n{2,}", text.strip()) */
		tm_span_strip(t->text, &off, &len);
		split_runs(x, t->text, off, off + len, 2);
		tm_dup_spans(&x->tab, t->text, x->el.v, x->el.n, &dups, &dup_chars);
		f[GR_PARA] = (double)dups / (double)x->el.n;
		f[GR_PARA_CHAR] = (double)dup_chars / chars;
		/* lines: re.split("\n+", text) */
		split_runs(x, t->text, 0, t->len, 1);
		tm_dup_spans(&x->tab, t->text, x->el.v, x->el.n, &dups, &dup_chars);
		f[GR_LINE] = (double)dups / (double)x->el.n;
		f[GR_LINE_CHAR] = (double)dup_chars / chars;
		gr_ngrams(x, t, chars, gram);
		for (i = GR_TOP2; i <= GR_DUP10; i++)
			f[i] = gram[i - GR_TOP2 + 2];
	}
	for (i = 0; i < GR_NPARAMS; i++) {
		tm_fresult_score(res, gr_scores[i], f[i]);
		if (!res->reason && s->thr[i] > 0 && f[i] > s->thr[i])
			res->reason = gr_reasons[i];
	}
}

const struct tm_filter_def tm_filter_gopher_repetition = {
	.name = "gopher_repetition",
	.about = "Gopher's repetition rules: repeated lines, paragraphs and word n-grams",
	.langs = "all (words as text.h cuts them, dictionary words in unspaced scripts)",
	.params = gr_params,
	.nparams = TM_ARRAY_SIZE(gr_params),
	.reasons = gr_reasons,
	.create = gr_create,
	.destroy = gr_destroy,
	.scratch_new = gr_scratch_new,
	.scratch_free = gr_scratch_free,
	.apply = gr_apply,
};
