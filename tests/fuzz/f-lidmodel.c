/*
 * f-lidmodel.c: libFuzzer target for the language-id model parser
 * (filters/langid.c: tm_lid_load_mem(), plain, zstd or gzip).
 *
 * A load must return 0 and a model, or a negative TM_E* code, no model
 * and an error report.  A model that loads is queried (languages, codes,
 * scripts), used to predict fixed texts and the input itself, saved
 * again, which must give back the (plain) input byte for byte but for
 * the reserved words, and reloaded, which must predict the same; then
 * it predicts again without the size prior.  Every answer has
 * 0 <= n <= k guesses, languages in range and distinct, scores in 0..1,
 * best first, summing to at most 1, and k = 1, 3 and all agree.  A
 * mismatch aborts; leaks are found by ASan.
 *
 * An input that starts with the magic is tried a second time with a
 * valid checksum (model-fuzz.h), which lets mutations of the header
 * ranges, the language records and the tables reach parse_model() and
 * prediction.
 */
#include "tamis.h"
#include "langid.h"
#include "lid-check.h"
#include "model-fuzz.h"

#include <unistd.h>
#include <xxhash.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAGIC "TAMISLID"

static const char *const texts[] = {
	"All human beings are born free and equal in dignity and rights.",
	"Tous les êtres humains naissent libres et égaux en dignité et en droits.",
	"Все люди рождаются свободными и равными в своем достоинстве и правах.",
	"人人生而自由,在尊严和权利上一律平等。",
	"すべての人間は、生まれながらにして自由であり、かつ、尊厳と権利とについて平等である。",
	"มนุษย์ทั้งหลายเกิดมามีอิสระและเสมอภาคกัน",
	"يولد جميع الناس أحرارًا متساوين في الكرامة والحقوق.",
	"Όλοι οι άνθρωποι γεννιούνται ελεύθεροι και ίσοι",
	"mixed Latin и кириллица 和汉字",
	"",
	"123 456 !!!",
	"\xcc\x81",			/* a lone U+0301 */
	"\xff\xfe\xc3\x28 \xed\xa0\x80 a\xe2\x82",	/* invalid UTF-8 */
};

/* Where the save round trip writes (one file per process, removed after). */
static const char *scratch(struct tm_buf *path)
{
	const char *t = getenv("TMPDIR");

	tm_buf_reset(path);
	tm_buf_addf(path, "%s/f-lidmodel-%ld.tlid", t && *t ? t : "/tmp", (long)getpid());
	return path->buf;
}


/* Predicts `text` with k = 1, 3 and all (into all[]); the answers must agree. */
static int predict(struct tm_lid_ctx *c, const struct tm_lid_model *m,
		    struct tm_lid_guess *all, const char *text, size_t len)
{
	struct tm_lid_guess one, three[3];
	int nlang = tm_lid_nlang(m), n1, n3, na, i;

	n1 = tm_lid_predict(c, text, len, &one, 1);
	check_guesses(m, &one, n1, 1);
	n3 = tm_lid_predict(c, text, len, three, 3);
	check_guesses(m, three, n3, 3);
	na = tm_lid_predict(c, text, len, all, nlang);
	check_guesses(m, all, na, nlang);
	if (n1 != (na > 0) || n3 != TM_MIN(na, 3))
		BUG("k 1, 3, all give %d, %d, %d guesses", n1, n3, na);
	if (n1 && (one.lang != all[0].lang || one.score != all[0].score))
		BUG("best guess depends on k");
	for (i = 0; i < n3; i++)
		if (three[i].lang != all[i].lang || three[i].score != all[i].score)
			BUG("guess %d depends on k", i);
	return na;
}

/* The fixed texts and the input: returns the guesses (n per text) in g. */
static void predict_all(const struct tm_lid_model *m, const uint8_t *data, size_t size,
			struct tm_lid_guess *g, int *n)
{
	struct tm_lid_ctx *c = tm_lid_ctx_new(m);
	int nlang = tm_lid_nlang(m);
	size_t i;

	for (i = 0; i < TM_ARRAY_SIZE(texts); i++)
		n[i] = predict(c, m, g + i * nlang, texts[i], strlen(texts[i]));
	n[i] = predict(c, m, g + i * nlang, (const char *)data, size);
	tm_lid_ctx_free(c);
}

static void query(const struct tm_lid_model *m)
{
	char buf[256], tiny[3];
	int nlang = tm_lid_nlang(m), i, j;

	if (nlang < 1)
		BUG("a model with %d languages", nlang);
	for (i = 0; i < nlang; i++) {
		const char *code = tm_lid_code(m, i);

		if (!code || !code[0] || strlen(code) >= TM_LID_CODE_MAX)
			BUG("language %d: bad code", i);
		j = tm_lid_find(m, code);
		/* the loader takes duplicate codes; find gives the first */
		if (j < 0 || j > i || strcmp(tm_lid_code(m, j), code))
			BUG("find('%s') = %d, not %d", code, j, i);
		tm_lid_scripts(m, i, buf, sizeof(buf));
		if (strlen(buf) >= sizeof(buf))
			BUG("scripts overflow");
		tm_lid_scripts(m, i, tiny, sizeof(tiny));
		if (strlen(tiny) >= sizeof(tiny))
			BUG("scripts overflow a small buffer");
	}
	if (strcmp(tm_lid_code(m, -1), "und") || strcmp(tm_lid_code(m, nlang), "und"))
		BUG("code out of range is not 'und'");
	if (tm_lid_find(m, "") != -1)
		BUG("find('') found a language");
}

/* Saves the model; the bytes must be `plain`, and reload to the same answers. */
static void round_trip(const struct tm_lid_model *m, const void *plain, size_t len,
		       const uint8_t *data, size_t size,
		       const struct tm_lid_guess *g, const int *n)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_lid_model *again = NULL;
	struct tm_buf path = TM_BUF_INIT, back = TM_BUF_INIT;
	struct tm_lid_guess *g2;
	int nlang = tm_lid_nlang(m), *n2, rc;
	size_t i, nt = TM_ARRAY_SIZE(texts) + 1;
	FILE *f;
	char chunk[4096];
	size_t got;

	if ((rc = tm_lid_save(m, scratch(&path), &err)) < 0)
		BUG("save: %d %s", rc, err.msg);
	f = fopen(path.buf, "rb");
	if (!f)
		BUG("reopen %s", path.buf);
	while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
		tm_buf_add(&back, chunk, got);
	fclose(f);
	if (plain) {
		/* the u32 after each language's size is written as 0 and not
		 * checked when reading: compare with it zeroed */
		unsigned char *want = (unsigned char *)tm_xmemdup(plain, len);
		uint64_t sum;
		int l;

		for (l = 0; l < nlang; l++)
			memset(want + 48 + 56 * (size_t)l + 52, 0, 4);
		sum = XXH64(want, len - 8, 0);
		for (l = 0; l < 8; l++)
			want[len - 8 + l] = (unsigned char)(sum >> (8 * l));
		if (back.len != len || memcmp(back.buf, want, len))
			BUG("save does not give back the file (%zu bytes, %zu read)",
			    back.len, len);
		free(want);
	}
	rc = tm_lid_load(path.buf, &again, &err);
	unlink(path.buf);
	if (rc < 0)
		BUG("a saved model does not load: %d %s", rc, err.msg);
	if (tm_lid_nlang(again) != nlang ||
	    tm_lid_get_prior(again) != tm_lid_get_prior(m))
		BUG("reloaded model differs");
	g2 = tm_xcalloc(nt * (size_t)nlang, sizeof(*g2));
	n2 = tm_xcalloc(nt, sizeof(*n2));
	predict_all(again, data, size, g2, n2);
	for (i = 0; i < nt; i++)
		if (n[i] != n2[i] ||
		    memcmp(g + i * nlang, g2 + i * nlang, (size_t)n[i] * sizeof(*g)))
			BUG("reloaded model predicts text %zu differently", i);
	free(g2);
	free(n2);
	tm_lid_free(again);
	tm_buf_release(&path);
	tm_buf_release(&back);
}

static void try_load(const uint8_t *data, size_t size, const uint8_t *text, size_t tlen)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_lid_model *m = (struct tm_lid_model *)&err;
	struct tm_lid_guess *g;
	size_t nt = TM_ARRAY_SIZE(texts) + 1;
	int rc, nlang, *n;
	bool plain = size >= 8 && !memcmp(data, MAGIC, 8);

	rc = tm_lid_load_mem(data, size, "fuzz.tlid", &m, &err);
	if (rc < 0) {
		check_refused(rc, m, &err);
		return;
	}
	if (rc != 0 || !m)
		BUG("load returned %d and %p", rc, (void *)m);
	query(m);
	nlang = tm_lid_nlang(m);
	g = tm_xcalloc(nt * (size_t)nlang, sizeof(*g));
	n = tm_xcalloc(nt, sizeof(*n));
	predict_all(m, text, tlen, g, n);
	round_trip(m, plain ? data : NULL, size, text, tlen, g, n);

	/* without the size prior (set before the contexts, as langid.h says) */
	tm_lid_set_prior(m, 0);
	if (tm_lid_get_prior(m) != 0)
		BUG("prior not set");
	predict_all(m, text, tlen, g, n);
	free(g);
	free(n);
	tm_lid_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_model(data, size, MAGIC, 56, try_load);
	return 0;
}
