/*
 * f-lidtext.c: libFuzzer target for language-id feature extraction and
 * prediction (filters/langid.c: tm_lid_predict()) on arbitrary bytes:
 * invalid UTF-8, NULs, long runs of one script, anything.
 *
 * The model is trained once, at the first input, in process
 * (tm_lid_train() on a TSV of UDHR sentences in 14 languages written to
 * a temporary file), so the replay in `make check` needs no model file;
 * $TAMIS_FUZZ_LID_MODEL may name a model (the shipped one, say) to check
 * as well.  For each input and model:
 *   - 0 <= n <= k guesses, languages in range and distinct, scores in
 *     0..1, best first, summing to at most 1; k = 1, 3 and all agree;
 *   - determinism: a context reused since the first input and a new one
 *     give bit-identical answers;
 *   - separators do not matter: ASCII punctuation, digits and NULs
 *     around the text change nothing, nor does ASCII case;
 *   - ASCII text gets an answer exactly when it has a letter (both
 *     models write Latin and the trained one has unigrams).
 * A mismatch aborts; leaks are found by ASan.
 *
 * `make fuzz` compiles targets with -Ilib only: hence the path below.
 */
#include "tamis.h"
#include "langid.h"
#include "lid-check.h"

#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* UDHR article 1 (2 in Hebrew) from shared/data/langid/udhr. */
static const char train_tsv[] =
	"en\tAll human beings are born free and equal in dignity"
	" and rights. They are endowed with reason and conscience"
	" and should act towards one another in a spirit of"
	" brotherhood.\n"
	"fr\tTous les êtres humains naissent libres et égaux en"
	" dignité et en droits. Ils sont doués de raison et de"
	" conscience et doivent agir les uns envers les autres"
	" dans un esprit de fraternité.\n"
	"de\tAlle Menschen sind frei und gleich an Würde und"
	" Rechten geboren. Sie sind mit Vernunft und Gewissen"
	" begabt und sollen einander im Geist der Brüderlichkeit"
	" begegnen.\n"
	"es\tTodos los seres humanos nacen libres e iguales en"
	" dignidad y derechos y, dotados como están de razón y"
	" conciencia, deben comportarse fraternalmente los unos"
	" con los otros.\n"
	"ru\tВсе люди рождаются свободными и равными в своем"
	" достоинстве и правах. Они наделены разумом и совестью и"
	" должны поступать в отношении друг друга в духе"
	" братства.\n"
	"uk\tВсі люди народжуються вільними і рівними у своїй"
	" гідності та правах. Вони наділені розумом і совістю і"
	" повинні діяти у відношенні один до одного в дусі"
	" братерства.\n"
	"el\tΌλοι οι άνθρωποι γεννιούνται ελεύθεροι και ίσοι στην"
	" αξιοπρέπεια και τα δικαιώματα. Είναι προικισμένοι με"
	" λογική και συνείδηση, και οφείλουν να συμπεριφέρονται"
	" μεταξύ τους με πνεύμα αδελφοσύνης.\n"
	"zh\t人人生而自由,在尊严和权利上一律平等。他们赋有理性和良心,并应以兄弟关系的精神相对待。\n"
	"ja\tすべての人間は、生まれながらにして自由であり、かつ、"
	"尊厳と権利とについて平等である。人間は、理性と良心とを授けら"
	"れており、互いに同胞の精神をもって行動しなければならない。\n"
	"ko\t모든 인간은 태어날 때부터 자유로우며 그 존엄과 권리에 있어 동등하다. 인간은 천부적으로 이성과"
	" 양심을 부여받았으며 서로 형제애의 정신으로 행동하여야 한다.\n"
	"th\tมนุษย์ทั้งหลายเกิดมามีอิสร"
	"ะและเสมอภาคกันในเกียรติศักด[เก"
	"ียรติศักดิ์]และสิทธิ"
	" ต่างมีเหตุผลและมโนธรรม"
	" และควรปฏิบัติต่อกันด้วยเจตนารมณ์แห่งภราดรภาพ\n"
	"hi\tसभी मनुष्यों को गौरव और अधिकारों के मामले में जन्मजात"
	" स्वतन्त्रता और समानता प्राप्त है । उन्हें बुद्धि और"
	" अन्तरात्मा की देन प्राप्त है और परस्पर उन्हें भाईचारे"
	" के भाव से बर्ताव करना चाहिए ।\n"
	"ar\tيولد جميع الناس أحرارًا متساوين في الكرامة والحقوق."
	" وقد وهبوا عقلاً وضميرًا وعليهم أن يعامل بعضهم بعضًا"
	" بروح الإخاء.\n"
	"he\tכל אדם זכאי לזכויות ולחרויות שנקבעו בהכרזה זו ללא"
	" הפליה כלשהיא מטעמי גזע, צבע, מין, לשון, דח, דעה פוליטית"
	" או דעה בבעיות אחרות, בגלל מוצא לאומי או חברתי, קנין,"
	" לידה או מעמד אחר.\n"
	;

struct model {
	struct tm_lid_model *m;
	struct tm_lid_ctx *reused;	/* lives across inputs */
	struct tm_lid_guess *g[2];	/* nlang guesses each */
	bool unigrams;			/* every letter gives a feature */
};

static struct model models[2];
static int nmodels = -1;

static void train(struct model *md)
{
	struct tm_lid_train_opts o = TM_LID_TRAIN_OPTS_INIT;
	struct tm_err err = TM_ERR_INIT;
	char path[] = "/tmp/f-lidtext.XXXXXX";
	int fd = mkstemp(path), rc;

	if (fd < 0)
		BUG("mkstemp: %s", strerror(errno));
	if (write(fd, train_tsv, sizeof(train_tsv) - 1) != (ssize_t)sizeof(train_tsv) - 1)
		BUG("write %s: %s", path, strerror(errno));
	close(fd);
	o.dim = 8;
	o.bucket_bits = 10;
	o.max_word = 8;
	o.epochs = 2;
	o.min_bytes = 50;
	o.epoch_floor = o.epoch_cap = 3000;
	o.short_min = 5;
	o.short_max = 30;
	o.long_min = 30;
	o.long_max = 100;
	rc = tm_lid_train(path, &o, &md->m, &err);
	unlink(path);
	if (rc < 0)
		BUG("training the fuzz model: %d %s", rc, err.msg);
	if (tm_lid_nlang(md->m) != 14)
		BUG("trained %d languages, not 14", tm_lid_nlang(md->m));
	md->unigrams = true;
}

static void setup(void)
{
	const char *path = getenv("TAMIS_FUZZ_LID_MODEL");
	struct tm_err err = TM_ERR_INIT;
	int i;

	nmodels = 0;
	train(&models[nmodels++]);
	if (path && *path) {
		if (tm_lid_load(path, &models[nmodels].m, &err) < 0)
			BUG("%s: %s", path, err.msg);
		nmodels++;
	}
	for (i = 0; i < nmodels; i++) {
		struct model *md = &models[i];
		size_t nlang = (size_t)tm_lid_nlang(md->m);

		if (tm_lid_find(md->m, "en") < 0)
			BUG("model %d has no English", i);
		md->reused = tm_lid_ctx_new(md->m);
		md->g[0] = tm_xcalloc(nlang, sizeof(*md->g[0]));
		md->g[1] = tm_xcalloc(nlang, sizeof(*md->g[1]));
	}
}


static void same(const char *what, const struct tm_lid_guess *a, int na,
		 const struct tm_lid_guess *b, int nb)
{
	if (na != nb)
		BUG("%s: %d guesses, then %d", what, na, nb);
	if (memcmp(a, b, (size_t)na * sizeof(*a)))
		BUG("%s: different guesses (%d %.9g, then %d %.9g)", what, a[0].lang,
		    (double)a[0].score, b[0].lang, (double)b[0].score);
}

static void check(struct model *md, const char *text, size_t len)
{
	static const char pre[] = " 0!\n", post[] = "\t.9\0 ";
	const struct tm_lid_model *m = md->m;
	struct tm_lid_ctx *fresh = tm_lid_ctx_new(m);
	struct tm_lid_guess one, three[3];
	int nlang = tm_lid_nlang(m), n, n2, i;
	bool ascii = true, letter = false;
	size_t j;
	char *t;

	/* all k, in the context used since the first input */
	n = tm_lid_predict(md->reused, text, len, md->g[0], nlang);
	check_guesses(m, md->g[0], n, nlang);

	/* determinism: a new context */
	n2 = tm_lid_predict(fresh, text, len, md->g[1], nlang);
	same("a new context", md->g[0], n, md->g[1], n2);

	/* k = 1 and 3 are the head of the list */
	i = tm_lid_predict(fresh, text, len, &one, 1);
	check_guesses(m, &one, i, 1);
	same("k = 1", md->g[0], TM_MIN(n, 1), &one, i);
	i = tm_lid_predict(fresh, text, len, three, 3);
	check_guesses(m, three, i, 3);
	same("k = 3", md->g[0], TM_MIN(n, 3), three, i);

	/* separators around the text and ASCII case change nothing */
	t = tm_xmalloc(sizeof(pre) - 1 + len + sizeof(post) - 1);
	memcpy(t, pre, sizeof(pre) - 1);
	memcpy(t + sizeof(pre) - 1, text, len);
	memcpy(t + sizeof(pre) - 1 + len, post, sizeof(post) - 1);
	n2 = tm_lid_predict(fresh, t, sizeof(pre) - 1 + len + sizeof(post) - 1,
			    md->g[1], nlang);
	same("separators around", md->g[0], n, md->g[1], n2);
	for (j = 0; j < len; j++) {
		unsigned char ch = (unsigned char)text[j];

		t[j] = ch >= 'a' && ch <= 'z' ? (char)(ch - 32) :
		       ch >= 'A' && ch <= 'Z' ? (char)(ch + 32) : (char)ch;
		ascii &= ch < 0x80;
		letter |= (ch | 32) >= 'a' && (ch | 32) <= 'z';
	}
	n2 = tm_lid_predict(md->reused, t, len, md->g[1], nlang);
	same("ASCII case swapped", md->g[0], n, md->g[1], n2);
	free(t);

	if (ascii && !letter && n)
		BUG("an answer for ASCII text without letters");
	if (ascii && letter && md->unigrams && !n)
		BUG("no answer for ASCII text with letters");
	tm_lid_ctx_free(fresh);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int i;

	if (nmodels < 0)
		setup();
	for (i = 0; i < nmodels; i++)
		check(&models[i], (const char *)data, size);
	return 0;
}
