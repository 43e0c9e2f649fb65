/*
 * f-clfmodel.c: libFuzzer target for the text classifier's model parser
 * (filters/classifier.c: tm_clf_load_mem(), plain, zstd or gzip).
 *
 * A load must return 0 and a model, or a negative TM_E* code, no model
 * and an error report.  A model that loads is queried (labels in strictly
 * increasing order, each found at its index, info in range), used to
 * predict fixed texts and the input itself (probabilities finite, in
 * 0..1, summing to 1; top-k best first, agreeing for k = 1, 3 and all),
 * saved again, which must give back a plain input byte for byte, and
 * reloaded, which must predict the same, bit for bit.  A mismatch aborts;
 * leaks are found by ASan.
 *
 * An input that starts with the magic is tried a second time with a
 * valid checksum (model-fuzz.h), so that mutations reach the field checks
 * and prediction.
 */
#include "tamis.h"
#include "classifier.h"
#include "model-fuzz.h"

#include <math.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAGIC "TAMISCLF"
#define NTEXTS 9

static const char *const texts[NTEXTS - 1] = {
	"All human beings are born free and equal in dignity and rights.",
	"Tous les êtres humains naissent libres et égaux en dignité et en droits.",
	"人人生而自由,在尊严和权利上一律平等。",
	"มนุษย์ทั้งหลายเกิดมามีอิสระและเสมอภาคกัน",
	"",
	" \t\n ",
	"\xff\xfe\xc3\x28 \xed\xa0\x80 a\xe2\x82",	/* invalid UTF-8 */
	"Supercalifragilisticexpialidocious-Supercalifragilisticexpialidocious-"
	"Supercalifragilisticexpialidocious-Supercalifragilisticexpialidocious-"
	"Supercalifragilisticexpialidocious-Supercalifragilisticexpialidocious-"
	"Supercalifragilisticexpialidocious-Supercalifragilisticexpialidocious",
};

static void query(const struct tm_clf_model *m)
{
	struct tm_clf_info info;
	int n = tm_clf_nlabels(m), i;

	if (n < 2 || n > TM_CLF_MAX_LABELS)
		BUG("a model with %d labels", n);
	for (i = 0; i < n; i++) {
		const char *l = tm_clf_label(m, i);

		if (!l || !l[0] || strlen(l) >= TM_CLF_LABEL_MAX)
			BUG("label %d: bad", i);
		if (i && strcmp(tm_clf_label(m, i - 1), l) >= 0)
			BUG("labels %d and %d out of order", i - 1, i);
		if (tm_clf_find(m, l) != i)
			BUG("find('%s') is not %d", l, i);
	}
	if (tm_clf_label(m, -1) || tm_clf_label(m, n) || tm_clf_find(m, "") != -1)
		BUG("out-of-range queries answered");
	tm_clf_info(m, &info);
	if (info.dim < 4 || info.dim > 1024 || info.bucket_bits < 8 || info.bucket_bits > 30 ||
	    info.word_ngrams < 1 || info.word_ngrams > TM_CLF_MAX_NGRAMS || info.minn < 0 ||
	    info.maxn < info.minn)
		BUG("info out of range");
}

/* Probabilities of one text (copied into p), checked, and top-k agreeing. */
static void predict(struct tm_clf_ctx *c, int n, const char *text, size_t len, float *p)
{
	struct tm_clf_guess one, three[3], *all = tm_xcalloc((size_t)n, sizeof(*all));
	double sum = 0;
	int i, n1, n3, na;

	memcpy(p, tm_clf_probs(c, text, len), (size_t)n * sizeof(*p));
	for (i = 0; i < n; i++) {
		if (!(p[i] >= 0 && p[i] <= 1))
			BUG("probability %d is %g", i, p[i]);
		sum += p[i];
	}
	if (!(fabs(sum - 1) < 1e-3))
		BUG("probabilities sum to %g", sum);
	n1 = tm_clf_predict(c, text, len, &one, 1);
	n3 = tm_clf_predict(c, text, len, three, 3);
	na = tm_clf_predict(c, text, len, all, n);
	if (n1 != 1 || n3 != TM_MIN(n, 3) || na != n)
		BUG("k 1, 3, all give %d, %d, %d guesses", n1, n3, na);
	for (i = 0; i < na; i++) {
		if (all[i].label < 0 || all[i].label >= n || all[i].prob != p[all[i].label])
			BUG("guess %d is not its label's probability", i);
		if (i && all[i - 1].prob < all[i].prob)
			BUG("guesses not best first");
		if (i < n3 && (three[i].label != all[i].label || three[i].prob != all[i].prob))
			BUG("guess %d depends on k", i);
	}
	if (one.label != all[0].label)
		BUG("best guess depends on k");
	free(all);
}

/* p[t * n ...]: the probabilities of every text and the input. */
static float *predict_all(const struct tm_clf_model *m, const uint8_t *data, size_t size)
{
	struct tm_clf_ctx *c = tm_clf_ctx_new(m);
	int n = tm_clf_nlabels(m), t;
	float *p = tm_xcalloc((size_t)NTEXTS * n, sizeof(*p));

	for (t = 0; t < NTEXTS - 1; t++)
		predict(c, n, texts[t], strlen(texts[t]), p + (size_t)t * n);
	predict(c, n, (const char *)data, size, p + (size_t)t * n);
	tm_clf_ctx_free(c);
	return p;
}

static void round_trip(const struct tm_clf_model *m, const uint8_t *plain, size_t len,
		       const uint8_t *text, size_t tlen, const float *p)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_buf path = TM_BUF_INIT, back = TM_BUF_INIT;
	struct tm_clf_model *again;
	const char *t = getenv("TMPDIR");
	char chunk[4096];
	float *p2;
	size_t got;
	FILE *f;
	int rc;

	tm_buf_addf(&path, "%s/f-clfmodel-%ld.tclf", t && *t ? t : "/tmp", (long)getpid());
	if ((rc = tm_clf_save(m, path.buf, &err)) < 0)
		BUG("save: %d %s", rc, err.msg);
	if (plain) {
		if (!(f = fopen(path.buf, "rb")))
			BUG("reopen %s", path.buf);
		while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
			tm_buf_add(&back, chunk, got);
		fclose(f);
		if (back.len != len || memcmp(back.buf, plain, len))
			BUG("save does not give back the file (%zu bytes, %zu read)", back.len, len);
	}
	rc = tm_clf_load(path.buf, &again, &err);
	unlink(path.buf);
	if (rc < 0)
		BUG("a saved model does not load: %d %s", rc, err.msg);
	p2 = predict_all(again, text, tlen);
	if (memcmp(p, p2, (size_t)NTEXTS * tm_clf_nlabels(m) * sizeof(*p)))
		BUG("the reloaded model predicts differently");
	free(p2);
	tm_clf_free(again);
	tm_buf_release(&path);
	tm_buf_release(&back);
}

static void try_load(const uint8_t *data, size_t size, const uint8_t *text, size_t tlen)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_clf_model *m = (struct tm_clf_model *)&err;
	bool plain = size >= 8 && !memcmp(data, MAGIC, 8);
	float *p;
	int rc;

	rc = tm_clf_load_mem(data, size, "fuzz.tclf", &m, &err);
	if (rc < 0) {
		check_refused(rc, m, &err);
		return;
	}
	if (rc != 0 || !m)
		BUG("load returned %d and %p", rc, (void *)m);
	query(m);
	p = predict_all(m, text, tlen);
	round_trip(m, plain ? data : NULL, size, text, tlen, p);
	free(p);
	tm_clf_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_model(data, size, MAGIC, 56, try_load);
	return 0;
}
