/*
 * u-filter-safety.c: the safety filters through the filter interface
 * (url_blocklist, badwords, kl, pii as a chain would run them), plus the
 * pieces they stand on: folded words against a reference written here,
 * PII spans, and building a unigram reference.  Real text comes from
 * tests/fixtures/filter-safety/ (README.md there says where from).
 * Randomised parts take --seed.
 */
#include "tamis.h"
#include "conf.h"
#include "filter.h"
#include "kl.h"
#include "lexicon.h"
#include "pii.h"
#include "tap.h"
#include "../fuzz/lex-check.h"

#include <math.h>
#include <unistd.h>
#include <unicode/uchar.h>
#include <unicode/utf8.h>

static char data_dir[1024];

static const char *src(void)
{
	const char *s = getenv("TAMIS_SRC");

	return s && *s ? s : ".";
}

/* The whole of src()/rel. */
static void read_src(const char *rel, struct tm_buf *out)
{
	char path[1024], tmp[4096];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", src(), rel);
	tm_buf_reset(out);
	if (!(f = fopen(path, "rb")))
		BUG("cannot read %s", path);
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		tm_buf_add(out, tmp, n);
	fclose(f);
}

/* A temporary file holding `text`; its name in path (PATH_MAX). */
static void temp_file(char *path, const char *suffix, const char *text)
{
	int fd;

	snprintf(path, 256, "/tmp/u-filter-safety-XXXXXX%s", suffix);
	fd = mkstemps(path, (int)strlen(suffix));
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		BUG("cannot write a temporary file");
	close(fd);
}

/* One filter with settings "section.key=value"...; NULL with *rc on error. */
static struct tm_fchain *chain(const char *name, const char *const *set, size_t n, int *rc,
			       struct tm_err *err)
{
	struct tm_ini *ini = NULL;
	struct tm_fchain *c = NULL;

	tm_err_clear(err);
	*rc = tm_conf_load(NULL, set, n, &ini, err);
	if (!*rc)
		*rc = tm_fchain_new(name, ini, data_dir, &c, err);
	tm_ini_free(ini);
	return c;
}

struct one {
	struct tm_fchain *c;
	struct tm_fwork *w;
	struct tm_fresult res[1];
};

static void one_open(struct one *o, const char *name, const char *const *set, size_t n)
{
	struct tm_err err = TM_ERR_INIT;
	int rc;

	o->c = chain(name, set, n, &rc, &err);
	if (!o->c)
		BUG("filter %s: %s", name, err.msg);
	o->w = tm_fwork_new(o->c);
}

static void one_close(struct one *o)
{
	tm_fwork_free(o->w);
	tm_fchain_free(o->c);
}

/* Runs the filter on text; returns its reason ("" when kept). */
static const char *run(struct one *o, const char *text, const char *lang, const char *url)
{
	size_t ran;

	tm_fchain_run(o->c, o->w, text, strlen(text), lang, url, false, o->res, &ran);
	return o->res[0].reason ? o->res[0].reason : "";
}

/* The score `name` of the last run, or NAN. */
static double score(const struct one *o, const char *name)
{
	int i;

	for (i = 0; i < o->res[0].nscores; i++)
		if (!strcmp(o->res[0].scores[i].name, name))
			return o->res[0].scores[i].value;
	return NAN;
}

/* ---------------------------------------------------------------- url_blocklist */

static void test_blocklist(void)
{
	static const struct {
		const char *url, *reason;
	} domains[] = {
		{ "http://example.com/", "blocked_domain" },
		{ "https://www.example.com/page?x=1", "blocked_domain" },
		{ "http://a.b.example.com:8080/", "blocked_domain" },
		{ "http://user:pw@Example.COM./x", "blocked_domain" },
		{ "HTTPS://EXAMPLE.COM", "blocked_domain" },
		{ "http://notexample.com/", "" },
		{ "http://example.com.evil.org/", "" },
		{ "http://example.co/", "" },
		{ "http://wild.org/", "blocked_domain" },	/* "*.wild.org" */
		{ "http://x.hosts.net/", "blocked_domain" },	/* "0.0.0.0 hosts.net" */
		{ "http://example2.com/", "blocked_domain" },	/* "EXAMPLE2.COM." */
		{ "http://10.1.2.3/", "blocked_domain" },
		{ "http://110.1.2.3/", "" },	/* an IP is no parent domain */
		{ "http://2.3/", "" },
		{ "http://[::1]/", "" },
		{ "http://com/", "" },
	};
	static const struct {
		const char *url, *reason;
	} words[] = {
		{ "http://shop.example.org/free-porn-videos", "banned_url_word" },
		{ "http://shop.example.org/Free_PORN.html", "banned_url_word" },
		{ "http://shop.example.org/%70orn", "banned_url_word" },	/* %70 = p */
		{ "http://shop.example.org/search?q=porn+videos", "banned_url_word" },
		{ "http://pornstars.example.org/", "" },	/* "pornstars" is no word of the list */
		{ "http://example.org/shop/ball-gag", "banned_url_word" },	/* a phrase */
		{ "http://example.org/shop/ballgag", "banned_url_word" },	/* written together */
		{ "http://example.org/2-girls-1-cup", "banned_url_word" },
		{ "http://example.org/ball/games/gag", "" },	/* not consecutive */
		{ "http://www.scunthorpe.gov.uk/", "" },
		{ "http://example.org/class/assessment/pass", "" },
		{ "http://example.org/sexual-health", "" },	/* one soft word */
		{ "http://example.org/sexy-nude-pics", "soft_banned_url_words" },
		{ "http://example.org/sex/sex/sex", "" },	/* one soft word, thrice */
		{ "http://example.org/ford-escort-for-sale", "" },
		{ "http://www.pornhub.com/view", "blocked_domain" },	/* the shipped sample */
	};
	char list[256], set[320];
	const char *sets[2] = { set, "filter.url_blocklist.url_words=" };
	struct one o;
	struct tm_err err = TM_ERR_INIT;
	size_t i;
	int rc;

	temp_file(list, ".txt",
		  "# a test list\nexample.com\n*.wild.org\n0.0.0.0 hosts.net # ads\n"
		  "  EXAMPLE2.COM.  \n\n10.1.2.3\n");
	snprintf(set, sizeof(set), "filter.url_blocklist.domains=%s", list);
	one_open(&o, "url_blocklist", sets, 2);
	for (i = 0; i < TM_ARRAY_SIZE(domains); i++)
		is_str(run(&o, "text", "en", domains[i].url), domains[i].reason, domains[i].url);
	is_str(run(&o, "text", "en", NULL), "", "no URL: kept");
	is_int(score(&o, "no_url"), 1, "... and scored no_url = 1");
	is_str(run(&o, "text", "en", "example.com/no-scheme"), "", "an unusable URL: kept");
	is_int(score(&o, "no_url"), 1, "... and scored no_url = 1");
	run(&o, "text", "en", "http://example.org/");
	is_int(score(&o, "no_url"), 0, "a URL: no_url = 0");
	one_close(&o);

	one_open(&o, "url_blocklist", NULL, 0);
	for (i = 0; i < TM_ARRAY_SIZE(words); i++)
		is_str(run(&o, "text", "en", words[i].url), words[i].reason, words[i].url);
	run(&o, "text", "en", "http://example.org/sexy-nude-pics");
	is_int(score(&o, "soft_words"), 2, "soft_words counts different soft words");
	one_close(&o);

	sets[0] = "filter.url_blocklist.url_soft_threshold=0";
	ok(!chain("url_blocklist", sets, 1, &rc, &err) && rc == TM_ECONFIG &&
	   strstr(err.msg, "url_soft_threshold"), "a soft threshold under 1 is refused: %s", err.msg);
	sets[0] = "filter.url_blocklist.domains=no-such-list.txt";
	ok(!chain("url_blocklist", sets, 1, &rc, &err) && rc == TM_EIO &&
	   strstr(err.file, "no-such-list.txt"), "a missing list is an I/O error naming it: %s",
	   err.file);
	unlink(list);
}

/* ---------------------------------------------------------------- badwords */

/* Cases under one setting each ('@': the text of a fixture file). */
static const struct {
	const char *set, *text, *lang, *reason, *name;
} bw_set[] = {
	{ "filter.badwords.max_count=1", "one shit here", "en", "", "max_count=1: one match kept" },
	{ "filter.badwords.max_count=1", "shit and shit", "en", "bad_words", "... two removed" },
	{ "filter.badwords.max_ratio=0.2", "one shit in seven words here, ok", "en", "",
	  "max_ratio=0.2: 1 in 7 words kept" },
	{ "filter.badwords.max_ratio=0.2", "shit, shit, and more", "en", "bad_words",
	  "... 2 in 4 removed" },
	/* unspaced scripts: substrings */
	{ "filter.badwords.languages=zh, ja,no", "这是一个做爱的例子", "zh", "bad_words",
	  "zh: an entry inside a sentence" },
	{ "filter.badwords.languages=zh, ja,no", "他说干死GM了", "zh", "bad_words",
	  "zh: ASCII in an entry, any case" },
	{ "filter.badwords.languages=zh, ja,no", "今天天气很好，我们去公园。", "zh", "",
	  "zh: a clean sentence" },
	{ "filter.badwords.languages=zh, ja,no", "これはポルノです", "ja", "bad_words",
	  "ja: katakana entry" },
	{ "filter.badwords.languages=zh, ja,no", "きょうはいいてんきです", "ja", "",
	  "ja: a clean sentence" },
	{ "filter.badwords.languages=zh, ja,no", "this is 3p stuff", "ja", "bad_words",
	  "ja: an ASCII entry matches as a word" },
	{ "filter.badwords.languages=zh, ja,no", "13p3p", "ja", "", "... and only as a word" },
	{ "filter.badwords.languages=zh, ja,no", "@tests/fixtures/filter-safety/handbook-zh.txt", "zh",
	  "bad_words", "zh handbook prose: 安全性 holds the entry 性 (why zh is off by default)" },
	{ "filter.badwords.languages=zh, ja,no", "faen", "nb", "bad_words",
	  "nb (langid) reads the no list" },
	{ "filter.badwords.languages=*", "Scheiße", "de", "bad_words", "*: every list (de)" },
	{ "filter.badwords.languages=*", "SCHEISSE", "de", "bad_words", "... ß folds to ss" },
};

static void test_badwords(void)
{
	static const struct {
		const char *text, *reason;
	} en[] = {
		{ "This is fucking great.", "bad_words" },
		{ "ASS", "bad_words" },			/* case */
		{ "you (ass)!", "bad_words" },		/* punctuation around */
		{ "Scunthorpe United won.", "" },	/* inside a longer word */
		{ "a class assessment, passed", "" },
		{ "The cocktail and the peacock", "" },
		{ "he bought a ball gag", "bad_words" },	/* a phrase */
		{ "he bought a Ball  Gag", "bad_words" },
		{ "ball and gag", "" },
		{ "the 2 girls 1 cup video", "bad_words" },
		{ "the G-Spot", "bad_words" },		/* "g-spot": words g, spot */
		{ "S&M", "bad_words" },
		{ "a ballgag", "" },			/* joined forms only for URLs */
		{ "", "" },
	};
	const char *sets[2];
	struct tm_buf text = TM_BUF_INIT;
	struct one o;
	struct tm_err err = TM_ERR_INIT;
	size_t i;
	int rc;

	one_open(&o, "badwords", NULL, 0);
	for (i = 0; i < TM_ARRAY_SIZE(en); i++)
		is_str(run(&o, en[i].text, "en", NULL), en[i].reason, en[i].text);
	run(&o, "ass ass, and a ball gag", "en", NULL);
	is_int(score(&o, "count"), 3, "count: every occurrence, phrases included");
	is_str(run(&o, "fuck", "en-GB", NULL), "bad_words", "en-GB uses the en list");
	is_str(run(&o, "fuck", "", NULL), "", "no language: not judged");
	is_int(score(&o, "no_list"), 1, "... scored no_list = 1");
	is_str(run(&o, "fuck", "de", NULL), "", "a language not loaded: not judged");
	read_src("tests/fixtures/filter-safety/udhr-en.txt", &text);
	is_str(run(&o, text.buf, "en", NULL), "bad_words",
	       "C4's rule removes the UDHR: it says 'sex' (the rule, not a bug)");
	read_src("tests/fixtures/filter-safety/handbook-en.txt", &text);
	is_str(run(&o, text.buf, "en", NULL), "", "Debian handbook prose is kept");
	read_src("tests/fixtures/filter-safety/handbook-zh.txt", &text);
	is_str(run(&o, text.buf, "zh", NULL), "", "Chinese is not judged by default");
	one_close(&o);

	/* settings: one chain per setting, its cases in order */
	for (i = 0; i < TM_ARRAY_SIZE(bw_set); i++) {
		if (!i || strcmp(bw_set[i].set, bw_set[i - 1].set)) {
			if (i)
				one_close(&o);
			sets[0] = bw_set[i].set;
			one_open(&o, "badwords", sets, 1);
		}
		if (bw_set[i].text[0] == '@')
			read_src(bw_set[i].text + 1, &text);
		else
			tm_buf_reset(&text), tm_buf_addstr(&text, bw_set[i].text);
		is_str(run(&o, text.buf, bw_set[i].lang, NULL), bw_set[i].reason, bw_set[i].name);
		if (!strcmp(bw_set[i].set, "filter.badwords.max_ratio=0.2") && bw_set[i].reason[0])
			ok(fabs(score(&o, "ratio") - 0.5) < 1e-9, "ratio = matches per word (%g)",
			   score(&o, "ratio"));
	}
	one_close(&o);

	sets[0] = "filter.badwords.languages=xx";
	ok(!chain("badwords", sets, 1, &rc, &err) && rc == TM_EIO, "a language without a list: %s",
	   err.msg);
	sets[0] = "filter.badwords.languages=../en";
	ok(!chain("badwords", sets, 1, &rc, &err) && rc == TM_ECONFIG, "a code with '/': %s",
	   err.msg);
	tm_buf_release(&text);
}

/* ---------------------------------------------------------------- kl */

static void spam(struct tm_buf *b)
{
	static const char *const kw[] = { "cheap viagra", "buy cialis online", "replica watches" };
	int i;

	tm_buf_reset(b);
	for (i = 0; i < 300; i++)
		tm_buf_addf(b, "%s%s", kw[(i * 7) % 3], i % 10 == 9 ? ".\n" : " ");
}

static void numbers(struct tm_buf *b)
{
	uint64_t s = 42;
	int r, c;

	tm_buf_reset(b);
	tm_buf_addstr(b, "Year\tQ1\tQ2\tQ3\tQ4\n");
	for (r = 0; r < 60; r++) {
		tm_buf_addf(b, "%d", 1960 + r);
		for (c = 0; c < 4; c++)
			tm_buf_addf(b, "\t%d.%02d", (int)(tm_splitmix64(&s) % 1000),
				    (int)(tm_splitmix64(&s) % 100));
		tm_buf_addch(b, '\n');
	}
}

static void test_kl(void)
{
	static const char *const real[] = {
		"tests/fixtures/filter-safety/handbook-en.txt",
		"tests/fixtures/filter-safety/handbook-en-2.txt",
		"tests/fixtures/filter-safety/cc-mission.txt",
		"tests/fixtures/filter-safety/udhr-en.txt",
	};
	struct tm_buf text = TM_BUF_INIT;
	char ref[256];
	const char *sets[3];
	struct one o;
	struct tm_err err = TM_ERR_INIT;
	size_t i;
	int rc;

	one_open(&o, "kl", NULL, 0);
	for (i = 0; i < TM_ARRAY_SIZE(real); i++) {
		read_src(real[i], &text);
		is_str(run(&o, text.buf, "en", NULL), "", real[i]);
		tap_diag("kl %.2f over %g words", score(&o, "kl"), score(&o, "words"));
	}
	read_src("lib/buf.c", &text);
	is_str(run(&o, text.buf, "en", NULL), "token_kl", "C source is removed");
	tap_diag("kl %.2f", score(&o, "kl"));
	read_src("tests/fixtures/filter-safety/table.csv", &text);
	is_str(run(&o, text.buf, "en", NULL), "token_kl", "a CSV table of URLs and numbers is removed");
	tap_diag("kl %.2f", score(&o, "kl"));
	numbers(&text);
	is_str(run(&o, text.buf, "en", NULL), "token_kl", "a table of numbers is removed");
	tap_diag("kl %.2f", score(&o, "kl"));
	spam(&text);
	is_str(run(&o, text.buf, "en", NULL), "token_kl", "keyword spam is removed");
	tap_diag("kl %.2f", score(&o, "kl"));
	is_str(run(&o, "Too short to judge: only a few words here.", "en", NULL), "",
	       "under one window: kept");
	ok(isnan(score(&o, "kl")) && score(&o, "words") == 9, "... without a kl score");
	is_str(run(&o, text.buf, "fr", NULL), "", "no reference for fr: kept");
	is_int(score(&o, "no_reference"), 1, "... scored no_reference = 1");
	one_close(&o);

	/* the definition, on a reference small enough to work by hand */
	{
		char dir[] = "/tmp/u-filter-safety-XXXXXX", saved[sizeof(data_dir)];
		FILE *f;

		if (!mkdtemp(dir))
			BUG("mkdtemp");
		snprintf(ref, sizeof(ref), "%s/unigram-t.tsv", dir);
		if (!(f = fopen(ref, "w")))
			BUG("cannot write %s", ref);
		fputs("# a test reference\na\t1\nB\t1\n", f);
		fclose(f);
		memcpy(saved, data_dir, sizeof(saved));
		snprintf(data_dir, sizeof(data_dir), "%s", dir);
		sets[0] = "filter.kl.languages=t";
		sets[1] = "filter.kl.window=4";
		sets[2] = "filter.kl.unknown_mass=0.5";
		one_open(&o, "kl", sets, 3);
		memcpy(data_dir, saved, sizeof(saved));
		/* Q(a) = Q(b) = 0.25, Q(unk) = 0.5; P(a) = .5, P(b) = .25, P(unk) = .25 */
		run(&o, "a A b c", "t", NULL);
		ok(fabs(score(&o, "kl") - 0.25 * log(2)) < 1e-6, "KL(P||Q) = 0.25 ln 2 (%.6f)",
		   score(&o, "kl"));
		run(&o, "a A b c a a a a x", "t", NULL);	/* windows "a a b c", "a a a a" */
		ok(fabs(score(&o, "kl") - (0.25 * log(2) + log(4)) / 2) < 1e-6,
		   "two windows: their mean; the tail is left out (%.6f)", score(&o, "kl"));
		ok(fabs(score(&o, "unknown") - 2.0 / 9) < 1e-9, "unknown: share of all words");
		one_close(&o);
		unlink(ref);
		rmdir(dir);
	}

	sets[0] = "filter.kl.unknown_mass=0";
	ok(!chain("kl", sets, 1, &rc, &err) && rc == TM_ECONFIG, "unknown_mass 0 is refused: %s",
	   err.msg);
	sets[0] = "filter.kl.languages=xx";
	ok(!chain("kl", sets, 1, &rc, &err) && rc == TM_EIO, "a missing reference: %s", err.msg);
	tm_buf_release(&text);
}

static void test_unigram_builder(void)
{
	struct tm_unigram_builder *b = tm_unigram_builder_new(0);
	struct tm_err err = TM_ERR_INIT;
	struct tm_buf got = TM_BUF_INIT;
	char path[256];
	int i;

	tm_unigram_builder_add(b, "The cat, the DOG; the cat.", 26);
	tm_unigram_builder_add(b, "Über über 中文", strlen("Über über 中文"));
	is_u64(tm_unigram_builder_words(b), 10, "words counted (中 and 文 one each)");
	is_u64(tm_unigram_builder_types(b), 6, "distinct words");
	temp_file(path, ".tsv", "");
	is_int(tm_unigram_builder_write(b, path, 0, 1, "made by\nthe test", &err), 0, "written");
	FILE *f = fopen(path, "rb");
	char tmp[512];
	size_t n = fread(tmp, 1, sizeof(tmp), f);

	fclose(f);
	tm_buf_add(&got, tmp, n);
	is_str(got.buf, "# made by\n# the test\nthe\t3\ncat\t2\nüber\t2\ndog\t1\n中\t1\n文\t1\n",
	       "count descending, then bytes ascending; comment lines first");
	is_int(tm_unigram_builder_write(b, path, 2, 1, NULL, &err), 0, "top 2");
	tm_unigram_builder_free(b);

	/* pruning: a small max_types keeps the frequent words exact */
	b = tm_unigram_builder_new(8);
	for (i = 0; i < 200; i++) {
		char w[64];

		snprintf(w, sizeof(w), "common rare%d common", i);
		tm_unigram_builder_add(b, w, strlen(w));
	}
	ok(tm_unigram_builder_types(b) <= 8, "at most max_types words held");
	ok(tm_unigram_builder_dropped(b) >= 1, "dropped counts reported (%llu)",
	   (unsigned long long)tm_unigram_builder_dropped(b));
	is_int(tm_unigram_builder_write(b, path, 1, 1, NULL, &err), 0, "written");
	f = fopen(path, "rb");
	n = fread(tmp, 1, sizeof(tmp) - 1, f);
	fclose(f);
	tmp[n] = '\0';
	is_str(tmp, "common\t400\n", "a word more frequent than any dropped keeps its exact count");
	is_int(tm_unigram_builder_write(b, "/nonexistent-dir/x.tsv", 0, 1, NULL, &err), TM_EIO,
	       "an unwritable path is TM_EIO");
	tm_unigram_builder_free(b);
	unlink(path);
	tm_buf_release(&got);
}

/* ---------------------------------------------------------------- pii */

static const struct {
	const char *in, *out;
} pii_yes[] = {
	{ "Mail john.doe@example.com now", "Mail |||EMAIL_ADDRESS||| now" },
	{ "<Jane_Roe+news@mail.example.co.uk>", "<|||EMAIL_ADDRESS|||>" },
	{ "mailto:a@b.org.", "mailto:|||EMAIL_ADDRESS|||." },
	{ "(x-y%z@sub-1.example.museum)", "(|||EMAIL_ADDRESS|||)" },
	{ "邮箱：fyzw88@126.com。", "邮箱：|||EMAIL_ADDRESS|||。" },
	{ "from 82.50.72.202 at", "from |||IP_ADDRESS||| at" },
	{ "connect to 82.50.72.202:1024", "connect to |||IP_ADDRESS|||:1024" },
	{ "ip4:199.127.61.96 +a", "ip4:|||IP_ADDRESS||| +a" },
	{ "[8.8.4.40]", "[|||IP_ADDRESS|||]" },
	{ "host 2a00:1450:4001:82b::200e end", "host |||IP_ADDRESS||| end" },
	{ "2001:67c:2564:a119::7", "|||IP_ADDRESS|||" },
	{ "addr 2600:1f18:0:0:0:0:0:1.", "addr |||IP_ADDRESS|||." },
	{ "::ffff:203.0.114.7 mapped", "::ffff:|||IP_ADDRESS||| mapped" },
	{ "Call (555) 123-4567.", "Call |||PHONE_NUMBER|||." },
	{ "Call 555-123-4567 or 555.987.6543", "Call |||PHONE_NUMBER||| or |||PHONE_NUMBER|||" },
	{ "tel 1-800-555-0199", "tel |||PHONE_NUMBER|||" },
	{ "tel 1 (800) 555-0199", "tel |||PHONE_NUMBER|||" },
	{ "+44 20 7946 0958", "|||PHONE_NUMBER|||" },
	{ "+44 (0)20 7946 0958,", "|||PHONE_NUMBER|||," },
	{ "+1-202-555-0143", "|||PHONE_NUMBER|||" },
	{ "+33 1 23 45 67 89", "|||PHONE_NUMBER|||" },
	{ "+4915112345678", "|||PHONE_NUMBER|||" },
	{ "Tel.: 020 7946 0958", "Tel.: |||PHONE_NUMBER|||" },
	{ "appelez le 01 23 45 67 89 !", "appelez le |||PHONE_NUMBER||| !" },
	{ "Telefon 030/1234567", "Telefon |||PHONE_NUMBER|||" },
	{ "(030) 1234567", "|||PHONE_NUMBER|||" },
	{ "传真：021-56692669 ", "传真：|||PHONE_NUMBER||| " },
	{ "a@b.com, 555-123-4567 and 82.50.72.202",
	  "|||EMAIL_ADDRESS|||, |||PHONE_NUMBER||| and |||IP_ADDRESS|||" },
};

/* Look-alikes that must stay as they are. */
static const char *const pii_no[] = {
	"version 1.2.3.4", "Version: 10.20.30.40", "v1.2.3.4", "Linux 2.6.32.1",
	"kernel 4.19.112.1", "Chrome/120.0.0.0 Safari", "9.2.1.4. Cert-Based Authentication",
	"see section 11.1.7.3", "1.3.3.1. Existing Debian Sub-Projects",
	"10.0.0.1 and 192.168.1.1 and 127.0.0.1 and 172.16.5.4", "0.0.0.0", "255.255.255.0",
	"192.0.2.33 (TEST-NET)", "224.0.0.251", "1.2.3.4.5", "300.1.2.3", "01.02.03.04",
	"2024-05-01", "12/05/2024", "05.12.2024", "2024-05-01 12:30:45", "12:30:45",
	"$1,234.56", "€1.234,56", "1,000,000", "10 000 000", "3.14159265358979",
	"ISBN 978-3-16-148410-0", "ISBN 0-306-40615-2", "ISBN-10: 0-306-40615-2",
	"978-0-306-40615-7", "00:1A:2B:3C:4D:5E", "std::map<int, int>", "a::b::c",
	"Foo::Bar()", "::", "2001:db8::1 documentation", "2001:DB8:1000:2000::19", "fe80::1",
	"::1", "12345678901234", "order #555-123-4567", "id=5551234567",
	"4111 1111 1111 1111", "pp. 123-456", "1990-2000", "40.7128, -74.0060",
	"python@2.7", "logo@2x.png", "user@localhost", "@babel/core", "a@b",
	"user@example.c", "x@y.123", "john..doe@example.com", ".john@example.com",
	"ftp://anonymous@ftp.example.com/pub", "12345-6789", "123-45-6789",
	"0 800 12 34 56", "01 23", "Call 555-1234", "555-123-45678", "5555-123-4567",
	"|||EMAIL_ADDRESS||| |||IP_ADDRESS||| |||PHONE_NUMBER|||",
};

struct spans {
	size_t n, off[64], len[64];
	enum tm_pii_kind kind[64];
};

static void collect(void *arg, enum tm_pii_kind kind, size_t off, size_t len)
{
	struct spans *s = arg;

	if (s->n < 64) {
		s->off[s->n] = off;
		s->len[s->n] = len;
		s->kind[s->n] = kind;
	}
	s->n++;
}

static void test_pii(void)
{
	struct tm_buf text = TM_BUF_INIT, want = TM_BUF_INIT;
	const char *sets[4];
	struct one o;
	size_t i, len;
	const char *out;
	bool rw;

	one_open(&o, "pii", NULL, 0);
	for (i = 0; i < TM_ARRAY_SIZE(pii_yes); i++) {
		run(&o, pii_yes[i].in, "en", NULL);
		out = tm_fwork_text(o.w, &len, &rw);
		is_str(out, pii_yes[i].out, pii_yes[i].in);
		/* a second pass changes nothing */
		run(&o, pii_yes[i].out, "en", NULL);
		ok(!o.res[0].rewritten, "... and again: nothing more");
	}
	for (i = 0; i < TM_ARRAY_SIZE(pii_no); i++) {
		run(&o, pii_no[i], "en", NULL);
		out = tm_fwork_text(o.w, &len, &rw);
		ok(!rw && !o.res[0].changes && len == strlen(pii_no[i]) && !memcmp(out, pii_no[i], len),
		   "kept: %s", pii_no[i]);
	}
	run(&o, "a@b.com c@d.org 82.50.72.202 (555) 123-4567", "en", NULL);
	is_int(o.res[0].changes, 4, "changes counts the items");
	ok(score(&o, "emails") == 2 && score(&o, "ips") == 1 && score(&o, "phones") == 1,
	   "scores per kind");
	ok(o.res[0].reason == NULL, "never removes");

	/* real prose: nothing found, nothing changed */
	read_src("tests/fixtures/filter-safety/handbook-en.txt", &text);
	run(&o, text.buf, "en", NULL);
	ok(!o.res[0].rewritten && !o.res[0].changes, "handbook prose (section numbers, versions) kept");
	read_src("tests/fixtures/filter-safety/table.csv", &text);
	run(&o, text.buf, "en", NULL);
	ok(!o.res[0].rewritten, "a CSV of numbers and URLs kept");

	/* every byte outside the items is the input's */
	read_src("tests/fixtures/filter-safety/udhr-en.txt", &text);
	{
		struct tm_buf mixed = TM_BUF_INIT;
		struct spans sp = { 0 };
		struct tm_pii_opts po = { true, true, true, true };
		size_t at = 0, k, a = 0;

		for (k = 0; k < 5; k++) {
			size_t cut = text.len * (k + 1) / 6;

			while (cut < text.len && text.buf[cut] != ' ')
				cut++;
			tm_buf_add(&mixed, text.buf + at, cut - at);
			tm_buf_addstr(&mixed, k % 2 ? " +49 30 1234567" : " someone@example.net");
			at = cut;
		}
		tm_buf_add(&mixed, text.buf + at, text.len - at);
		tm_pii_scan(&po, mixed.buf, mixed.len, collect, &sp);
		is_int(sp.n, 5, "five items in the UDHR with five inserted");
		run(&o, mixed.buf, "en", NULL);
		out = tm_fwork_text(o.w, &len, &rw);
		tm_buf_reset(&want);
		for (k = 0; k < sp.n && k < 64; k++) {
			tm_buf_add(&want, mixed.buf + a, sp.off[k] - a);
			tm_buf_addstr(&want, sp.kind[k] == TM_PII_EMAIL ? "|||EMAIL_ADDRESS|||" :
					     "|||PHONE_NUMBER|||");
			a = sp.off[k] + sp.len[k];
		}
		tm_buf_add(&want, mixed.buf + a, mixed.len - a);
		is_mem(out, len, want.buf, want.len, "the rewritten text is the input with the spans replaced");
		tm_buf_release(&mixed);
	}
	one_close(&o);

	sets[0] = "filter.pii.email=false";
	sets[1] = "filter.pii.phone=false";
	sets[2] = "filter.pii.ip_replacement=<IP>";
	sets[3] = "filter.pii.ip_public_only=false";
	one_open(&o, "pii", sets, 4);
	run(&o, "a@b.com 555-123-4567 192.168.1.1 fe80::1 82.50.72.202", "en", NULL);
	out = tm_fwork_text(o.w, &len, &rw);
	is_str(out, "a@b.com 555-123-4567 <IP> <IP> <IP>", "kinds switched off; private IPs; own placeholder");
	one_close(&o);
	tm_buf_release(&text);
	tm_buf_release(&want);
}

/* ---------------------------------------------------------------- words */

static void test_words(int argc, char **argv)
{
	static const char *const atoms[] = {
		"a", "Z", "q", "9", "0", " ", "  ", "\n", "\t", ".", ",", "-", "'", "_", "@",
		"é", "É", "ß", "ẞ", "Ж", "ж", "中", "文", "ー", "ก", "Σ", "ς", "ǅ", "İ", "́",
		"’", "—", "\xc2\xa0", "\xe3\x80\x80", "🖕", "\xff", "\x80", "\xe4\xb8", "\0",
		"word", "WORD", "Hello", "x1y2",
	};
	struct tm_buf s = TM_BUF_INIT, a = TM_BUF_INIT, b = TM_BUF_INIT;
	int round, bad = 0;

	tap_srand(tap_seed(argc, argv));
	for (round = 0; round < 4000 && bad < 3; round++) {
		int k, n = (int)(tap_rand() % 90);
		bool chars = round & 1;

		tm_buf_reset(&s);
		for (k = 0; k < n; k++) {
			const char *t = atoms[tap_rand() % TM_ARRAY_SIZE(atoms)];

			if (!*t && !(tap_rand() % 2))
				tm_buf_addch(&s, 0);
			else if (tap_rand() % 16 == 0)
				for (int r = 0; r < 70; r++)	/* a long ASCII word */
					tm_buf_addch(&s, 'a' + (r % 26));
			else
				tm_buf_addstr(&s, t);
		}
		lex_reference_words(s.buf, s.len, chars, &a);
		lex_iter_words(s.buf, s.len, chars, &b);
		if (a.len != b.len || memcmp(a.buf, b.buf, a.len)) {
			bad++;
			is_str(b.buf, a.buf, "words as defined");
		}
	}
	ok(!bad, "the iterator agrees with the definition on %d random texts", round);
	/* the ASCII 64-byte blocks, at every alignment */
	for (round = 0; round < 130; round++) {
		tm_buf_reset(&s);
		for (int k = 0; k < round; k++)
			tm_buf_addch(&s, k % 7 == 6 ? ' ' : "AbCdEfGh"[k % 8]);
		tm_buf_addstr(&s, "Straße");
		lex_reference_words(s.buf, s.len, false, &a);
		lex_iter_words(s.buf, s.len, false, &b);
		if (a.len != b.len || memcmp(a.buf, b.buf, a.len))
			bad++;
	}
	ok(!bad, "... and across 64-byte blocks");
	tm_buf_release(&s);
	tm_buf_release(&a);
	tm_buf_release(&b);
}

int main(int argc, char **argv)
{
	snprintf(data_dir, sizeof(data_dir), "%s/filters/data", src());
	test_words(argc, argv);
	test_blocklist();
	test_badwords();
	test_kl();
	test_unigram_builder();
	test_pii();
	return tap_done();
}
