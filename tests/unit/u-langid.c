/*
 * u-langid.c: the language identifier (filters/langid.h) through its
 * public API: the shipped model filters/langid.tlid on UDHR sentences,
 * texts without an answer, top-k, the size prior, codes; and, on tiny
 * models trained here, save/load round trips (plain, zstd, gzip),
 * deterministic training, and the errors of loading and training.
 */
#include "tamis.h"
#include "langid.h"
#include "stream.h"
#include "tap.h"

#include <math.h>
#include <pthread.h>
#include <unistd.h>

/* UDHR article 2, the start (shared/data/langid/udhr): code, text. */
static const struct {
	const char *code, *text;
} sentences[] = {
	{ "en", "Everyone is entitled to all the rights and"
	  " freedoms set forth in this Declaration, without"
	  " distinction of any" },
	{ "fr", "Chacun peut se prévaloir de tous les droits et de"
	  " toutes les libertés proclamés dans la présente"
	  " Déclaration," },
	{ "de", "Jeder hat Anspruch auf die in dieser Erklärung"
	  " verkündeten Rechte und Freiheiten ohne"
	  " irgendeinen" },
	{ "es", "Toda persona tiene todos los derechos y libertades"
	  " proclamados en esta Declaración, sin distinción"
	  " alguna de" },
	{ "ru", "Каждый человек должен обладать всеми правами и"
	  " всеми свободами, провозглашенными настоящей"
	  " Декларацией, без" },
	{ "uk", "Кожна людина повинна мати всі права і всі свободи,"
	  " проголошені цією Декларацією, незалежно від раси,"
	  " кольору" },
	{ "el", "Κάθε άνθρωπος δικαιούται να επικαλείται όλα τα"
	  " δικαιώματα και όλες τις ελευθερίες που"
	  " προκηρύσσει η παρούσα" },
	{ "he", "גדולה מזו, לא יופלה אדם על פי מעמדה המדיני, על פי"
	  " סמכותה או על פי מעמדה הבינלאומי של המדינה או הארץ"
	  " שאליה הוא" },
	{ "ar", "لكل إنسان حق التمتع بكافة الحقوق والحريات الواردة"
	  " في هذا الإعلان، دون أي تمييز، كالتمييز بسبب"
	  " العنصر أو اللون" },
	{ "hi", "सभी को इस घोषणा में सन्निहित सभी अधिकारों और"
	  " आज़ादियों को प्राप्त करने का हक़ है और इस मामले में"
	  " जाति, वर्ण," },
	{ "th", "ทุกคนย่อมมีสิทธิและอิสรภาพบรรดาที่กำหนดไว้ในปฏิญญานี้"
	  " โดยปราศจากความแตกต่างไม่ว่าชนิดใด ๆ ดังเช่น"
	  " เชื้อชาติ" },
	{ "zh", "人人有资格享有本宣言所载的一切权利和自由,不分种族、肤色、性"
	  "别、语言、宗教、政治或其他见解、国籍或社会出身、财产、出生或" },
	{ "ja", "すべて人は、人種、皮膚の色、性、言語、宗教、政治上その他の意"
	  "見、国民的もしくは社会的出身、財産、門地その他の地位又はこれ"
	  "に類するいかなる自由による差別をも受けることなく、この宣言に"
	  "掲げるすべ" },
	{ "ko", "모든 사람은 인종, 피부색, 성, 언어, 종교, 정치적 또는 기타의 견해, 민족적 또는"
	  " 사회적 출신, 재산, 출생 또는 기타의 신분과 같은 어떠한 종류의 차별이 없이, 이"
	  " 선언에 규정된 모든" },
};

/* UDHR article 1 (and 2 in English): a tiny training set. */
static const char tiny_tsv[] =
	"en\tAll human beings are born free and equal in dignity"
	" and rights. They are endowed with reason and conscience"
	" and should act towards one another in a spirit of"
	" brotherhood.\n"
	"en\tEveryone is entitled to all the rights and freedoms set"
	" forth in this Declaration, without distinction of any kind,"
	" such as race, colour, sex, language, religion, political or"
	" other opinion, national or social origin, property, birth or"
	" other status.\n"
	"fr\tTous les êtres humains naissent libres et égaux en"
	" dignité et en droits. Ils sont doués de raison et de"
	" conscience et doivent agir les uns envers les autres"
	" dans un esprit de fraternité.\n"
	"de\tAlle Menschen sind frei und gleich an Würde und"
	" Rechten geboren. Sie sind mit Vernunft und Gewissen"
	" begabt und sollen einander im Geist der Brüderlichkeit"
	" begegnen.\n"
	"ru\tВсе люди рождаются свободными и равными в своем"
	" достоинстве и правах. Они наделены разумом и совестью и"
	" должны поступать в отношении друг друга в духе"
	" братства.\n"
	"zh\t人人生而自由,在尊严和权利上一律平等。他们赋有理性和良心,并应以兄弟关系的精神相对待。\n"
	"th\tมนุษย์ทั้งหลายเกิดมามีอิสร"
	"ะและเสมอภาคกันในเกียรติศักด[เก"
	"ียรติศักดิ์]และสิทธิ"
	" ต่างมีเหตุผลและมโนธรรม"
	" และควรปฏิบัติต่อกันด้วยเจตนารมณ์แห่งภราดรภาพ\n"
	;

#define NSENT ((int)TM_ARRAY_SIZE(sentences))

static const char *sentence(const char *code)
{
	int i;

	for (i = 0; i < NSENT; i++)
		if (!strcmp(sentences[i].code, code))
			return sentences[i].text;
	BUG("no sentence in '%s'", code);
}

static struct tm_lid_model *load_shipped(void)
{
	const char *src = getenv("TAMIS_SRC");
	struct tm_buf path = TM_BUF_INIT;
	struct tm_err err = TM_ERR_INIT;
	struct tm_lid_model *m = NULL;
	int rc;

	tm_buf_addf(&path, "%s/filters/langid.tlid", src && *src ? src : ".");
	rc = tm_lid_load(path.buf, &m, &err);
	if (!is_int(rc, 0, "the shipped model loads"))
		tap_diag("%s: %s", err.file, err.msg);
	tm_buf_release(&path);
	return rc ? NULL : m;
}

/* The tiny model: the TSV above, options for speed; `seed` varies. */
static struct tm_lid_model *train_tiny(uint64_t seed)
{
	struct tm_lid_train_opts o = TM_LID_TRAIN_OPTS_INIT;
	struct tm_err err = TM_ERR_INIT;
	struct tm_buf path = TM_BUF_INIT;
	struct tm_lid_model *m = NULL;
	int rc;

	tap_tmp_path(&path, "tiny.tsv");
	tap_write_file(path.buf, tiny_tsv, sizeof(tiny_tsv) - 1);
	o.dim = 8;
	o.bucket_bits = 10;
	o.epochs = 3;
	o.min_bytes = 50;
	o.epoch_floor = o.epoch_cap = 4000;
	o.short_min = 5;
	o.short_max = 30;
	o.long_min = 30;
	o.long_max = 100;
	o.seed = seed;
	rc = tm_lid_train(path.buf, &o, &m, &err);
	unlink(path.buf);
	if (rc)
		tap_diag("training: %s", err.msg);
	if (!m)
		BUG("cannot train the tiny model: %d", rc);
	tm_buf_release(&path);
	return m;
}

/* n guesses are in range, distinct, in 0..1, best first, sum <= 1. */
static int sane(const struct tm_lid_model *m, const struct tm_lid_guess *g, int n)
{
	double sum = 0;
	int i, j;

	for (i = 0; i < n; i++) {
		if (g[i].lang < 0 || g[i].lang >= tm_lid_nlang(m) ||
		    !(g[i].score >= 0 && g[i].score <= 1) ||
		    (i && g[i - 1].score < g[i].score))
			return 0;
		for (j = 0; j < i; j++)
			if (g[j].lang == g[i].lang)
				return 0;
		sum += g[i].score;
	}
	return sum <= 1.0001;
}

/* Every sentence's guesses (k = nlang) by m and by m2 are bit-identical. */
static int same_answers(const struct tm_lid_model *m, const struct tm_lid_model *m2)
{
	int nlang = tm_lid_nlang(m), i, n, n2, same = nlang == tm_lid_nlang(m2);
	struct tm_lid_guess *g = tm_xcalloc((size_t)nlang, sizeof(*g));
	struct tm_lid_guess *g2 = tm_xcalloc((size_t)nlang, sizeof(*g2));
	struct tm_lid_ctx *c = tm_lid_ctx_new(m), *c2 = tm_lid_ctx_new(m2);

	for (i = 0; same && i < NSENT; i++) {
		const char *t = sentences[i].text;

		n = tm_lid_predict(c, t, strlen(t), g, nlang);
		n2 = tm_lid_predict(c2, t, strlen(t), g2, nlang);
		same = n == n2 && !memcmp(g, g2, (size_t)n * sizeof(*g));
	}
	tm_lid_ctx_free(c);
	tm_lid_ctx_free(c2);
	free(g);
	free(g2);
	return same;
}

static void test_shipped(struct tm_lid_model *m)
{
	struct tm_lid_ctx *c = tm_lid_ctx_new(m);
	struct tm_lid_guess g;
	int i, n;

	ok(tm_lid_nlang(m) >= 50, "the shipped model knows %d languages",
	   tm_lid_nlang(m));
	for (i = 0; i < NSENT; i++) {
		const char *code;

		n = tm_lid_predict(c, sentences[i].text, strlen(sentences[i].text),
				   &g, 1);
		code = n == 1 ? tm_lid_code(m, g.lang) : "(none)";
		ok(n == 1 && !strcmp(code, sentences[i].code) && g.score > 0.5 &&
		   g.score <= 1, "UDHR article 2 in %s: %s, score %.4f",
		   sentences[i].code, code, n == 1 ? (double)g.score : 0.0);
	}
	tm_lid_ctx_free(c);
}

static void test_no_answer(struct tm_lid_model *m)
{
	static const struct {
		const char *text, *what;
	} none[] = {
		{ "", "the empty text" },
		{ "123 456", "digits" },
		{ "!!!", "punctuation" },
		{ "\xcc\x81", "a lone U+0301 (a mark, script Inherited)" },
		{ "\xcc\x81\xcc\x81 \xcc\x88", "only combining marks" },
		{ "\xff\xfe\xc3 \xed\xa0\x80", "invalid UTF-8" },
		{ "\xf0\x9f\x99\x82 \xe2\x9c\x93 \xe2\x86\x92", "emoji and symbols" },
	};
	struct tm_lid_ctx *c = tm_lid_ctx_new(m);
	struct tm_lid_guess g[4];
	size_t i;

	for (i = 0; i < TM_ARRAY_SIZE(none); i++)
		is_int(tm_lid_predict(c, none[i].text, strlen(none[i].text), g, 4), 0,
		       none[i].what);
	is_int(tm_lid_predict(c, "x\0y", 3, g, 4) > 0, 1,
	       "letters around a NUL do get an answer");
	tm_lid_ctx_free(c);
}

static void test_topk(struct tm_lid_model *m)
{
	struct tm_lid_ctx *c = tm_lid_ctx_new(m);
	struct tm_lid_guess g[10], one;
	const char *fr = sentence("fr"), *th = sentence("th");
	static const int ks[] = { 1, 2, 5, 10 };
	double sum = 0;
	int n, i, k;

	for (i = 0; i < (int)TM_ARRAY_SIZE(ks); i++) {
		k = ks[i];
		n = tm_lid_predict(c, fr, strlen(fr), g, k);
		is_int(n, k, "top-k on French gives k guesses");
		ok(sane(m, g, n), "k %d: in range, distinct, best first, sum <= 1", k);
	}
	n = tm_lid_predict(c, fr, strlen(fr), &one, 1);
	ok(n == 1 && one.lang == g[0].lang && one.score == g[0].score,
	   "k 1 gives the head of k 10");
	for (i = 0; i < 10; i++)
		sum += g[i].score;
	ok(sum <= 1.0001 && sum > 0.9, "ten French guesses sum to %.5f", sum);

	/* fewer when fewer languages write the text's script */
	n = tm_lid_predict(c, th, strlen(th), g, 10);
	ok(n >= 1 && n < 10, "Thai: %d guesses of 10 asked (Thai-script languages)", n);
	ok(sane(m, g, n), "Thai guesses are sane");
	for (i = 0, sum = 0; i < n; i++) {
		char scripts[128];

		tm_lid_scripts(m, g[i].lang, scripts, sizeof(scripts));
		ok(strstr(scripts, "Thai") != NULL, "%s writes Thai (%s)",
		   tm_lid_code(m, g[i].lang), scripts);
		sum += g[i].score;
	}
	ok(fabs(sum - 1) < 1e-4, "all the allowed languages: scores sum to 1 (%.6f)",
	   sum);
	tm_lid_ctx_free(c);
}

static void test_codes(struct tm_lid_model *m, bool greek)
{
	int nlang = tm_lid_nlang(m), i, bad_find = 0, bad_code = 0, no_script = 0;
	char scripts[256];

	for (i = 0; i < nlang; i++) {
		const char *code = tm_lid_code(m, i);

		if (tm_lid_find(m, code) != i) {
			bad_find++;
			tap_diag("find('%s') = %d, not %d", code,
				 tm_lid_find(m, code), i);
		}
		if (!code[0] || strlen(code) >= TM_LID_CODE_MAX)
			bad_code++;
		tm_lid_scripts(m, i, scripts, sizeof(scripts));
		if (!scripts[0])
			no_script++;
	}
	is_int(bad_find, 0, "tm_lid_find(tm_lid_code(i)) == i for every language");
	is_int(bad_code, 0, "every code has 1 to TM_LID_CODE_MAX - 1 bytes");
	is_int(no_script, 0, "every language writes a script");
	is_int(tm_lid_find(m, "no-such-code"), -1, "an unknown code is not found");
	is_int(tm_lid_find(m, ""), -1, "nor is the empty code");
	is_str(tm_lid_code(m, -1), "und", "code(-1) is 'und'");
	is_str(tm_lid_code(m, nlang), "und", "code(nlang) is 'und'");
	i = tm_lid_find(m, "el");
	if (greek && ok(i >= 0, "Greek is in the model")) {
		tm_lid_scripts(m, i, scripts, sizeof(scripts));
		is_str(scripts, "Grek", "Greek writes Grek");
		tm_lid_scripts(m, i, scripts, 3);
		is_str(scripts, "Gr", "scripts are cut to a small buffer");
	}
}

/* p(Thai text) is 1 or nearly with any prior; the prior only moves the bias. */
static void test_prior_shipped(struct tm_lid_model *m)
{
	const char *th = sentence("th"), *en = sentence("en");
	float dflt = tm_lid_get_prior(m);
	struct tm_lid_guess g[2], g0[2], again[2];
	struct tm_lid_ctx *c;
	int n, n0;

	ok(dflt >= 0 && dflt <= 100, "the model stores a prior (%g)", (double)dflt);
	c = tm_lid_ctx_new(m);
	n = tm_lid_predict(c, th, strlen(th), g, 2);
	tm_lid_ctx_free(c);
	tm_lid_set_prior(m, 0);
	is_int((int)(tm_lid_get_prior(m) * 1000), 0, "prior set to 0");
	c = tm_lid_ctx_new(m);
	n0 = tm_lid_predict(c, th, strlen(th), g0, 2);
	tm_lid_ctx_free(c);
	ok(n >= 1 && n0 >= 1 && g[0].lang == g0[0].lang &&
	   !strcmp(tm_lid_code(m, g[0].lang), "th"),
	   "Thai is Thai with and without the prior");
	ok(n && n0 && g[0].score > 0.99 && g0[0].score > 0.99,
	   "Thai scores %.5f with the prior, %.5f without", (double)g[0].score,
	   (double)g0[0].score);

	/* back to the default: the very same answers as before */
	tm_lid_set_prior(m, dflt);
	c = tm_lid_ctx_new(m);
	n0 = tm_lid_predict(c, th, strlen(th), again, 2);
	ok(n0 == n && !memcmp(g, again, (size_t)n * sizeof(*g)),
	   "restoring the prior restores the answers");
	n = tm_lid_predict(c, en, strlen(en), g, 1);
	ok(n == 1 && !strcmp(tm_lid_code(m, g[0].lang), "en"),
	   "English is still English");
	tm_lid_ctx_free(c);
}

/*
 * On the tiny model, the log-ratio of two languages' scores is linear in
 * the prior weight: ln(p_a / p_b) = (W h)_a - (W h)_b + w (lnsize_a -
 * lnsize_b), so d(2) - d(0) = 2 (d(1) - d(0)); and the allowed set (the
 * number of guesses) does not depend on it.
 */
static void test_prior_linear(struct tm_lid_model *m)
{
	const char *texts[] = { sentence("en"), sentence("fr"), sentence("de"),
				"Liberté, Gleichheit, brotherhood" };
	int nlang = tm_lid_nlang(m), t, w, l, n[3], bad = 0, moved = 0, pairs = 0;
	struct tm_lid_guess g[3][8];
	float dflt = tm_lid_get_prior(m);

	if (nlang > 8)
		BUG("tiny model with %d languages", nlang);
	for (t = 0; t < (int)TM_ARRAY_SIZE(texts); t++) {
		double lp[3][8];

		for (w = 0; w < 3; w++) {
			struct tm_lid_ctx *c;

			tm_lid_set_prior(m, (float)w);
			c = tm_lid_ctx_new(m);
			n[w] = tm_lid_predict(c, texts[t], strlen(texts[t]), g[w], nlang);
			tm_lid_ctx_free(c);
			for (l = 0; l < nlang; l++)
				lp[w][l] = NAN;
			for (l = 0; l < n[w]; l++)
				lp[w][g[w][l].lang] = log(g[w][l].score);
		}
		if (n[0] != n[1] || n[0] != n[2] || n[0] < 2) {
			bad++;
			tap_diag("text %d: %d, %d, %d guesses", t, n[0], n[1], n[2]);
			continue;
		}
		for (l = 0; l < n[0]; l++) {
			int a = g[0][0].lang, b = g[0][l].lang;
			double d0, d1, d2;

			if (a == b)
				continue;
			d0 = lp[0][a] - lp[0][b];
			d1 = lp[1][a] - lp[1][b];
			d2 = lp[2][a] - lp[2][b];
			if (!isfinite(d0) || !isfinite(d1) || !isfinite(d2))
				continue;	/* a score underflowed */
			pairs++;
			if (fabs((d2 - d0) - 2 * (d1 - d0)) >
			    1e-3 * (1 + fabs(d2 - d0))) {
				bad++;
				tap_diag("text %d, %s/%s: %g %g %g", t, tm_lid_code(m, a),
					 tm_lid_code(m, b), d0, d1, d2);
			}
			if (fabs(d1 - d0) > 0.01)
				moved++;
		}
	}
	ok(pairs >= 4, "%d pairs of Latin-script languages compared", pairs);
	is_int(bad, 0, "log score ratios are linear in the prior weight");
	ok(moved > 0, "and the prior does move them (languages of different sizes)");
	tm_lid_set_prior(m, dflt);
}

static void test_round_trip(struct tm_lid_model *m)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_buf p1 = TM_BUF_INIT, p2 = TM_BUF_INIT, b1 = TM_BUF_INIT,
		      b2 = TM_BUF_INIT;
	struct tm_lid_model *m2 = NULL, *m3 = NULL;
	int rc;

	rc = tm_lid_save(m, tap_tmp_path(&p1, "a.tlid"), &err);
	is_int(rc, 0, "a trained model saves");
	rc = tm_lid_load(p1.buf, &m2, &err);
	if (!is_int(rc, 0, "and loads"))
		tap_diag("%s", err.msg);
	if (!m2)
		goto out;
	rc = tm_lid_save(m2, tap_tmp_path(&p2, "b.tlid"), &err);
	is_int(rc, 0, "the loaded model saves");
	tap_read_file(p1.buf, &b1);
	tap_read_file(p2.buf, &b2);
	is_mem(b2.buf, b2.len, b1.buf, b1.len, "save(load(save(m))) is byte-identical");
	is_int(tm_lid_nlang(m2), tm_lid_nlang(m), "same languages");
	ok(tm_lid_get_prior(m2) == tm_lid_get_prior(m), "same prior");
	ok(same_answers(m, m2), "the loaded model predicts exactly as the trained one");

	rc = tm_lid_load_mem(b1.buf, b1.len, "mem", &m3, &err);
	is_int(rc, 0, "tm_lid_load_mem loads the same bytes");
	ok(m3 && same_answers(m2, m3), "and predicts the same");
out:
	tm_lid_free(m2);
	tm_lid_free(m3);
	unlink(p1.buf);
	unlink(p2.buf);
	tm_buf_release(&p1);
	tm_buf_release(&p2);
	tm_buf_release(&b1);
	tm_buf_release(&b2);
}

static void test_deterministic(struct tm_lid_model *m)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_buf p = TM_BUF_INIT, b1 = TM_BUF_INIT, b2 = TM_BUF_INIT,
		      b3 = TM_BUF_INIT;
	struct tm_lid_model *again = train_tiny(1), *other = train_tiny(2);

	tm_lid_save(m, tap_tmp_path(&p, "s1.tlid"), &err);
	tap_read_file(p.buf, &b1);
	unlink(p.buf);
	tm_lid_save(again, tap_tmp_path(&p, "s1b.tlid"), &err);
	tap_read_file(p.buf, &b2);
	unlink(p.buf);
	tm_lid_save(other, tap_tmp_path(&p, "s2.tlid"), &err);
	tap_read_file(p.buf, &b3);
	unlink(p.buf);
	ok(b1.len > 1000, "a tiny model is %zu bytes", b1.len);
	if (!is_mem(b2.buf, b2.len, b1.buf, b1.len,
		    "training twice with seed 1: identical files")) {
		size_t i;

		for (i = 0; i < b1.len && i < b2.len && b1.buf[i] == b2.buf[i]; i++)
			;
		tap_diag("first difference at byte %zu", i);
	}
	ok(b3.len == b1.len && memcmp(b3.buf, b1.buf, b1.len),
	   "seed 2: same size, different bytes");
	ok(same_answers(m, again), "and identical answers");
	tm_lid_free(again);
	tm_lid_free(other);
	tm_buf_release(&p);
	tm_buf_release(&b1);
	tm_buf_release(&b2);
	tm_buf_release(&b3);
}

static void test_compressed(struct tm_lid_model *m)
{
	static const unsigned char zstd_magic[4] = { 0x28, 0xb5, 0x2f, 0xfd };
	struct tm_err err = TM_ERR_INIT;
	struct tm_buf p = TM_BUF_INIT, plain = TM_BUF_INIT, b = TM_BUF_INIT;
	struct tm_lid_model *mz = NULL, *mg = NULL, *mm = NULL;
	struct tm_writer *w;
	int rc;

	rc = tm_lid_save(m, tap_tmp_path(&p, "z.tlid.zst"), &err);
	is_int(rc, 0, "saves to .zst");
	tap_read_file(p.buf, &b);
	ok(b.len > 4 && !memcmp(b.buf, zstd_magic, 4), "zstd-compressed (%zu bytes)",
	   b.len);
	rc = tm_lid_load(p.buf, &mz, &err);
	if (!is_int(rc, 0, "the .zst model loads"))
		tap_diag("%s", err.msg);
	ok(mz && same_answers(m, mz), "and predicts identically");
	rc = tm_lid_load_mem(b.buf, b.len, "z", &mm, &err);
	ok(rc == 0 && mm && same_answers(m, mm), "tm_lid_load_mem takes zstd too");
	unlink(p.buf);

	/* gzip: the plain file through a gzip writer */
	tm_lid_save(m, tap_tmp_path(&p, "g.tlid"), &err);
	tap_read_file(p.buf, &plain);
	unlink(p.buf);
	rc = tm_writer_open(tap_tmp_path(&p, "g.tlid.gz"), TM_CODEC_AUTO, 0, &w, &err);
	if (rc == 0 && (rc = tm_writer_write(w, plain.buf, plain.len, &err)) == 0)
		rc = tm_writer_commit(w, &err);
	is_int(rc, 0, "a gzip copy is written");
	rc = tm_lid_load(p.buf, &mg, &err);
	if (!is_int(rc, 0, "the .gz model loads"))
		tap_diag("%s", err.msg);
	ok(mg && same_answers(m, mg), "and predicts identically");
	unlink(p.buf);
	/* tm_lid_save() to .gz (it once passed zstd's level 19 to gzip) */
	tm_lid_free(mg);
	mg = NULL;
	rc = tm_lid_save(m, tap_tmp_path(&p, "s.tlid.gz"), &err);
	is_int(rc, 0, "tm_lid_save writes a .gz model");
	rc = tm_lid_load(p.buf, &mg, &err);
	ok(rc == 0 && mg && same_answers(m, mg), "which loads and predicts identically");
	unlink(p.buf);

	tm_lid_free(mz);
	tm_lid_free(mg);
	tm_lid_free(mm);
	tm_buf_release(&p);
	tm_buf_release(&plain);
	tm_buf_release(&b);
}

/* Loads `path`, expecting `code`; checks the report names it. */
static void load_fails(const char *path, int code, uint64_t offset, const char *what)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_lid_model *m = (struct tm_lid_model *)&err;
	int rc = tm_lid_load(path, &m, &err);

	struct tm_buf name = TM_BUF_INIT;

	is_int(rc, code, what);
	ok(m == NULL, "%s: no model", what);
	tm_buf_addf(&name, "%s: err.code", what);
	is_int(err.code, code, name.buf);
	tm_buf_reset(&name);
	tm_buf_addf(&name, "%s: err.file names the file", what);
	is_str(err.file, path, name.buf);
	ok(err.msg[0] != 0, "%s: says %s", what, err.msg);
	if (offset != TM_ERR_NO_OFFSET) {
		tm_buf_reset(&name);
		tm_buf_addf(&name, "%s: err.offset", what);
		is_u64(err.offset, offset, name.buf);
	}
	tm_lid_free(rc ? NULL : m);
	tm_buf_release(&name);
}

static void test_load_errors(struct tm_lid_model *m)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_buf p = TM_BUF_INIT, b = TM_BUF_INIT, p2 = TM_BUF_INIT;
	struct tm_lid_model *mm = (struct tm_lid_model *)&err;
	size_t len;
	int rc;

	load_fails(tap_tmp_path(&p, "missing.tlid"), TM_EIO, TM_ERR_NO_OFFSET,
		   "a missing file");
	tap_write_file(tap_tmp_path(&p, "wrong-magic.tlid"), "TAMISLIX\1\0\0\0", 12);
	load_fails(p.buf, TM_EFORMAT, 0, "a wrong magic");
	unlink(p.buf);
	tap_write_file(tap_tmp_path(&p, "text.tlid"), tiny_tsv, sizeof(tiny_tsv) - 1);
	load_fails(p.buf, TM_EFORMAT, 0, "a text file");
	unlink(p.buf);
	tap_write_file(tap_tmp_path(&p, "empty.tlid"), "", 0);
	load_fails(p.buf, TM_EFORMAT, 0, "an empty file");
	unlink(p.buf);

	tm_lid_save(m, tap_tmp_path(&p2, "good.tlid"), &err);
	tap_read_file(p2.buf, &b);
	unlink(p2.buf);
	len = b.len;
	tap_write_file(tap_tmp_path(&p, "short.tlid"), b.buf, len - 1);
	load_fails(p.buf, TM_EFORMAT, len - 1, "a file one byte short");
	unlink(p.buf);
	b.buf[len / 2] ^= 1;
	tap_write_file(tap_tmp_path(&p, "flipped.tlid"), b.buf, len);
	load_fails(p.buf, TM_EFORMAT, len - 8, "a flipped bit (checksum)");
	unlink(p.buf);
	b.buf[len / 2] ^= 1;
	b.buf[8] = 2;
	tap_write_file(tap_tmp_path(&p, "v2.tlid"), b.buf, len);
	load_fails(p.buf, TM_EFORMAT, 8, "version 2");
	unlink(p.buf);
	b.buf[8] = 1;

	rc = tm_lid_load_mem(b.buf, len / 2, "half.tlid", &mm, &err);
	is_int(rc, TM_EFORMAT, "tm_lid_load_mem: half a file");
	ok(mm == NULL, "no model");
	is_str(err.file, "half.tlid", "err.file is the name given");
	rc = tm_lid_load_mem(b.buf, len, "whole.tlid", &mm, &err);
	is_int(rc, 0, "and the whole file loads");
	tm_lid_free(mm);
	tm_buf_release(&p);
	tm_buf_release(&p2);
	tm_buf_release(&b);
}

static int train_error(const char *tsv, size_t len, const struct tm_lid_train_opts *o,
		       struct tm_err *err)
{
	struct tm_buf p = TM_BUF_INIT;
	struct tm_lid_model *m = (struct tm_lid_model *)err;
	int rc;

	tm_err_clear(err);
	tap_tmp_path(&p, "bad.tsv");
	if (tsv)
		tap_write_file(p.buf, tsv, len);
	rc = tm_lid_train(p.buf, o, &m, err);
	ok(m == NULL, "no model on error %d", rc);
	tm_lid_free(rc ? NULL : m);
	unlink(p.buf);
	tm_buf_release(&p);
	return rc;
}

static void test_train_errors(void)
{
	static const char notab[] = "en\tsome text here\nno tab on this line\n";
	static const char longcode[] = "abcdefghijklmnop\ttext\n";
	static const char nocode[] = "\ttext\n";
	struct tm_lid_train_opts o = TM_LID_TRAIN_OPTS_INIT, bad;
	struct tm_err err = TM_ERR_INIT;
	int rc;

	o.bucket_bits = 8;
	o.dim = 4;
	o.epochs = 1;
	o.min_bytes = 10;
	o.epoch_floor = o.epoch_cap = 100;
	rc = train_error(NULL, 0, &o, &err);
	is_int(rc, TM_EIO, "a missing TSV: TM_EIO");
	rc = train_error(notab, sizeof(notab) - 1, &o, &err);
	is_int(rc, TM_EFORMAT, "a line without a tab: TM_EFORMAT");
	is_int(err.line, 2, "on line 2");
	ok(strstr(err.file, "bad.tsv") != NULL, "naming the file");
	rc = train_error(longcode, sizeof(longcode) - 1, &o, &err);
	is_int(rc, TM_EFORMAT, "a 16-byte code: TM_EFORMAT");
	is_int(err.line, 1, "on line 1");
	rc = train_error(nocode, sizeof(nocode) - 1, &o, &err);
	is_int(rc, TM_EFORMAT, "an empty code: TM_EFORMAT");
	o.min_bytes = 1 << 20;
	rc = train_error(tiny_tsv, sizeof(tiny_tsv) - 1, &o, &err);
	is_int(rc, TM_EINVAL, "no language with min_bytes of text: TM_EINVAL");
	o.min_bytes = 10;
	bad = o;
	bad.dim = 6;
	is_int(train_error(tiny_tsv, sizeof(tiny_tsv) - 1, &bad, &err), TM_EINVAL,
	       "dim not a multiple of 4: TM_EINVAL");
	bad = o;
	bad.maxn = 8;
	is_int(train_error(tiny_tsv, sizeof(tiny_tsv) - 1, &bad, &err), TM_EINVAL,
	       "maxn 8: TM_EINVAL");
	bad = o;
	bad.bucket_bits = 7;
	is_int(train_error(tiny_tsv, sizeof(tiny_tsv) - 1, &bad, &err), TM_EINVAL,
	       "bucket_bits 7: TM_EINVAL");
}

/* One model, contexts in four threads: the answers of one thread. */
struct thread_arg {
	const struct tm_lid_model *m;
	struct tm_lid_guess g[TM_ARRAY_SIZE(sentences)][3];
	int n[TM_ARRAY_SIZE(sentences)];
};

static void *predict_all(void *p)
{
	struct thread_arg *a = p;
	struct tm_lid_ctx *c = tm_lid_ctx_new(a->m);
	int i, rep;

	for (rep = 0; rep < 20; rep++)
		for (i = 0; i < NSENT; i++)
			a->n[i] = tm_lid_predict(c, sentences[i].text,
						 strlen(sentences[i].text), a->g[i], 3);
	tm_lid_ctx_free(c);
	return NULL;
}

static void test_threads(const struct tm_lid_model *m)
{
	static struct thread_arg one, four[4];
	pthread_t t[4];
	int i, same = 1;

	one.m = m;
	predict_all(&one);
	for (i = 0; i < 4; i++) {
		four[i].m = m;
		if (pthread_create(&t[i], NULL, predict_all, &four[i]))
			BUG("pthread_create");
	}
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		same &= !memcmp(four[i].n, one.n, sizeof(one.n)) &&
			!memcmp(four[i].g, one.g, sizeof(one.g));
	}
	ok(same, "four threads sharing the model answer as one does");
}

int main(void)
{
	struct tm_lid_model *shipped, *tiny;

	shipped = load_shipped();
	if (shipped) {
		test_shipped(shipped);
		test_no_answer(shipped);
		test_topk(shipped);
		test_codes(shipped, true);
		test_prior_shipped(shipped);
		test_threads(shipped);
	}
	tiny = train_tiny(1);
	is_int(tm_lid_nlang(tiny), 6, "the tiny model has its 6 languages");
	test_no_answer(tiny);
	test_codes(tiny, false);
	test_prior_linear(tiny);
	test_round_trip(tiny);
	test_deterministic(tiny);
	test_compressed(tiny);
	test_load_errors(tiny);
	test_train_errors();

	tm_lid_free(tiny);
	tm_lid_free(shipped);
	return tap_done();
}
