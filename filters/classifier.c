/*
 * classifier.c: the text classifier of classifier.h (features,
 * prediction, the model file, training sets, training) and the filter
 * "classifier" that scores documents with a trained model.
 */
#include "tamis.h"
#include "classifier.h"
#include "filter.h"
#include "linear.h"
#include "text.h"
#include "stream.h"
#include "jsonl.h"
#include "hmap.h"

#include <math.h>
#include <xxhash.h>

#define MAGIC "TAMISCLF"
#define FILE_VERSION 1
#define HEADER_BYTES 48
#define FNV_PRIME 0x100000001b3ULL
#define FNV_BASIS 0xcbf29ce484222325ULL
#define NGRAM_MUL 116049371ULL		/* fastText's word n-gram hash step */
#define ORDER_MUL 0x632be59bd9b4e019ULL	/* n * this tells n-gram orders apart */
#define EOS_TAG 0x3c2f733e00000000ULL	/* "</s>": the end-of-text token */
#define CHAR_TAG 0x2545f4914f6cdd1dULL	/* character n-grams hash apart */
#define CHAR_ORDER 16			/* their orders are 16 + n */
#define MAX_CHAR_N 16

struct tm_clf_model {
	int nlabels, dim, bucket_bits, word_ngrams, minn, maxn;
	uint64_t seed;		/* of the feature hashes */
	const char **labels;	/* point into `names` or the file */
	char *names;		/* a trained model's label bytes */
	float *w;		/* [nlabels][dim] */
	int8_t *eq;		/* [2^bits] rows of dim int8 + a float scale */
	float *ef;		/* [2^bits][dim], while training (eq NULL) */
	struct tm_lin_file file;	/* a loaded model's bytes: the arrays point here */
};

/* The feature settings a context hashes with (a model's, or a training set's). */
struct feat_opts {
	int bucket_bits, word_ngrams, minn, maxn;
	uint64_t seed;
};

struct tm_clf_ctx {
	const struct tm_clf_model *m;
	struct feat_opts fo;
	uint32_t *feat;
	size_t nfeat, cap;
	uint64_t words;		/* tokens of the last text, end token included */
	float *h, *p, *grad;
	struct tm_ftext *t;	/* for texts given as bytes */
	struct tm_buf word;	/* a folded ASCII word, for character n-grams */
};

/* ---------------------------------------------------------------- features */

static inline void add_feat(struct tm_clf_ctx *c, uint64_t h, int order)
{
	if (c->nfeat == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 1024;
		c->feat = tm_xrealloc(c->feat, c->cap * sizeof(*c->feat));
	}
	c->feat[c->nfeat++] = (uint32_t)(tm_lin_mix64(h + (uint64_t)order * ORDER_MUL) >>
					 (64 - c->fo.bucket_bits));
}

static inline uint64_t fnv(uint64_t h, const unsigned char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ s[i]) * FNV_PRIME;
	return h;
}

/*
 * The character n-grams of the folded word s[0..len), padded "<" s ">",
 * as fastText's computeSubwords: every run of minn..maxn code points but
 * a lone "<" or ">".
 */
static void char_ngrams(struct tm_clf_ctx *c, const char *s, size_t len)
{
	unsigned char pad[256];
	size_t i, n = len + 2;
	const unsigned char *b;
	unsigned char *big = NULL;

	/* short words are padded on the stack, long ones on the heap */
	if (n <= sizeof(pad)) {
		b = pad;
	} else {
		big = tm_xmalloc(n);
		b = big;
	}
	((unsigned char *)b)[0] = '<';
	memcpy((unsigned char *)b + 1, s, len);
	((unsigned char *)b)[n - 1] = '>';
	for (i = 0; i < n; i++) {
		size_t j = i;
		int k;

		if ((b[i] & 0xc0) == 0x80)
			continue;
		for (k = 1; k <= c->fo.maxn && j < n; k++) {
			j++;
			while (j < n && (b[j] & 0xc0) == 0x80)
				j++;
			if (k >= c->fo.minn && !(k == 1 && (i == 0 || j == n)))
				add_feat(c, fnv(c->fo.seed ^ CHAR_TAG, b + i, j - i),
					 CHAR_ORDER + k);
		}
	}
	free(big);
}

/* The hash of one word of t (folded), adding its character n-grams. */
static uint64_t word_hash(struct tm_clf_ctx *c, struct tm_ftext *t, const char *s,
			  size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	uint64_t h = c->fo.seed ^ FNV_BASIS;
	size_t i;

	for (i = 0; i < len && u[i] < 0x80; i++) {
		unsigned char ch = u[i];

		if (ch >= 'A' && ch <= 'Z')
			ch += 32;
		h = (h ^ ch) * FNV_PRIME;
	}
	if (i == len) {
		if (c->fo.minn) {
			/* folded bytes for the n-grams: as tm_ftext_fold() gives */
			tm_buf_reset(&c->word);
			tm_buf_add(&c->word, s, len);
			for (i = 0; i < len; i++)
				if (c->word.buf[i] >= 'A' && c->word.buf[i] <= 'Z')
					c->word.buf[i] += 32;
			char_ngrams(c, c->word.buf, len);
		}
		return h;
	}
	/* not ASCII: Unicode case folding (the bytes hashed are the folded ones) */
	{
		size_t fl;
		const char *f = tm_ftext_fold(t, s, len, &fl);

		h = fnv(c->fo.seed ^ FNV_BASIS, (const unsigned char *)f, fl);
		if (c->fo.minn)
			char_ngrams(c, f, fl);
	}
	return h;
}

/*
 * Fills c->feat with the features of t: per token (the words, then the
 * end token), its unigram and the n-grams ending at it, fastText's
 * addWordNgrams order aside (a bag: the order does not matter to the sum,
 * only to its rounding, which is fixed by this order).
 */
static void features(struct tm_clf_ctx *c, struct tm_ftext *t)
{
	uint64_t ring[TM_CLF_MAX_NGRAMS];
	const struct tm_span *w;
	size_t nw, i;
	int N = c->fo.word_ngrams;

	w = tm_ftext_words(t, &nw);
	c->nfeat = 0;
	for (i = 0; i <= nw; i++) {
		uint64_t h = i < nw ? word_hash(c, t, t->text + w[i].off, w[i].len) :
				      c->fo.seed ^ EOS_TAG;
		int n;

		ring[i % TM_CLF_MAX_NGRAMS] = h;
		add_feat(c, h, 1);
		for (n = 2; n <= N && (size_t)n <= i + 1; n++) {
			uint64_t g = ring[(i + 1 - (size_t)n) % TM_CLF_MAX_NGRAMS];
			size_t j;

			for (j = i + 2 - (size_t)n; j <= i; j++)
				g = g * NGRAM_MUL + ring[j % TM_CLF_MAX_NGRAMS];
			add_feat(c, g, n);
		}
	}
	c->words = nw + 1;
}

/* ---------------------------------------------------------------- prediction */

static struct tm_clf_ctx *ctx_new(const struct tm_clf_model *m, const struct feat_opts *fo,
				  int dim, int nlabels)
{
	struct tm_clf_ctx *c = tm_xcalloc(1, sizeof(*c));

	c->m = m;
	c->fo = *fo;
	c->h = tm_xcalloc((size_t)dim, sizeof(*c->h));
	c->grad = tm_xcalloc((size_t)dim, sizeof(*c->grad));
	c->p = tm_xcalloc((size_t)nlabels, sizeof(*c->p));
	tm_buf_init(&c->word, 0);
	return c;
}

struct tm_clf_ctx *tm_clf_ctx_new(const struct tm_clf_model *m)
{
	struct feat_opts fo = { m->bucket_bits, m->word_ngrams, m->minn, m->maxn, m->seed };

	return ctx_new(m, &fo, m->dim, m->nlabels);
}

void tm_clf_ctx_free(struct tm_clf_ctx *c)
{
	if (!c)
		return;
	free(c->feat);
	free(c->h);
	free(c->p);
	free(c->grad);
	tm_ftext_free(c->t);
	tm_buf_release(&c->word);
	free(c);
}

/* c->h = the mean of the rows of c->feat (never empty: the end token). */
static void hidden(struct tm_clf_ctx *c)
{
	const struct tm_clf_model *m = c->m;
	int d;

	memset(c->h, 0, (size_t)m->dim * sizeof(*c->h));
	if (m->ef)
		tm_lin_add_rows(c->h, m->ef, c->feat, c->nfeat, m->dim);
	else
		tm_lin_add_rows_q(c->h, m->eq, c->feat, c->nfeat, m->dim);
	for (d = 0; d < m->dim; d++)
		c->h[d] /= (float)c->nfeat;
}

const float *tm_clf_probs_ftext(struct tm_clf_ctx *c, struct tm_ftext *t)
{
	features(c, t);
	hidden(c);
	tm_lin_softmax(c->m->w, NULL, c->m->dim, c->h, NULL, c->m->nlabels, c->p);
	return c->p;
}

const float *tm_clf_probs(struct tm_clf_ctx *c, const char *text, size_t len)
{
	if (!c->t)
		c->t = tm_ftext_new();
	tm_ftext_set(c->t, text, len, NULL, NULL);
	return tm_clf_probs_ftext(c, c->t);
}

int tm_clf_predict(struct tm_clf_ctx *c, const char *text, size_t len,
		   struct tm_clf_guess *out, int k)
{
	const float *p = tm_clf_probs(c, text, len);
	int l, n = 0;

	if (k < 1)
		BUG("tm_clf_predict with k = %d", k);
	/* top k by insertion; ties go to the lower index */
	for (l = 0; l < c->m->nlabels; l++) {
		float s = p[l];
		int at;

		if (n == k && s <= out[n - 1].prob)
			continue;
		at = n < k ? n++ : n - 1;
		while (at > 0 && out[at - 1].prob < s) {
			out[at] = out[at - 1];
			at--;
		}
		out[at].label = l;
		out[at].prob = s;
	}
	return n;
}

/* ---------------------------------------------------------------- model */

int tm_clf_nlabels(const struct tm_clf_model *m)
{
	return m->nlabels;
}

const char *tm_clf_label(const struct tm_clf_model *m, int i)
{
	return i >= 0 && i < m->nlabels ? m->labels[i] : NULL;
}

int tm_clf_find(const struct tm_clf_model *m, const char *label)
{
	int lo = 0, hi = m->nlabels - 1;

	/* labels are sorted by byte value (checked at load) */
	while (lo <= hi) {
		int mid = lo + (hi - lo) / 2, r = strcmp(m->labels[mid], label);

		if (!r)
			return mid;
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

void tm_clf_info(const struct tm_clf_model *m, struct tm_clf_info *info)
{
	info->dim = m->dim;
	info->bucket_bits = m->bucket_bits;
	info->word_ngrams = m->word_ngrams;
	info->minn = m->minn;
	info->maxn = m->maxn;
}

void tm_clf_free(struct tm_clf_model *m)
{
	if (!m)
		return;
	free(m->labels);
	if (m->file.data) {
		tm_lin_file_release(&m->file);
	} else {
		free(m->names);
		free(m->w);
		free(m->eq);
	}
	free(m->ef);
	free(m);
}

/* Bytes of the label table: each label and its NUL, zero-padded to 4. */
static size_t label_bytes(const struct tm_clf_model *m)
{
	size_t n = 0;
	int l;

	for (l = 0; l < m->nlabels; l++)
		n += strlen(m->labels[l]) + 1;
	return (n + 3) & ~(size_t)3;
}

int tm_clf_save(const struct tm_clf_model *m, const char *path, struct tm_err *err)
{
	struct tm_buf b = TM_BUF_INIT;
	size_t nb = (size_t)1 << m->bucket_bits, lb = label_bytes(m);
	int l;

	if (!m->eq)
		BUG("saving a model that is not quantized");
	tm_buf_add(&b, MAGIC, 8);
	tm_lin_put32(&b, FILE_VERSION);
	tm_lin_put32(&b, (uint32_t)m->nlabels);
	tm_lin_put32(&b, (uint32_t)m->dim);
	tm_lin_put32(&b, (uint32_t)m->bucket_bits);
	tm_lin_put32(&b, (uint32_t)m->word_ngrams);
	tm_lin_put32(&b, (uint32_t)m->minn);
	tm_lin_put32(&b, (uint32_t)m->maxn);
	tm_lin_put32(&b, (uint32_t)lb);
	tm_lin_put64(&b, m->seed);
	for (l = 0; l < m->nlabels; l++)
		tm_buf_add(&b, m->labels[l], strlen(m->labels[l]) + 1);
	while (b.len % 4)
		tm_buf_addch(&b, 0);
	tm_lin_put_floats(&b, m->w, (size_t)m->nlabels * m->dim);
	tm_buf_add(&b, m->eq, nb * ((size_t)m->dim + 4));
	return tm_lin_file_save(&b, path, err);
}

/* The header's fields are in range (the label table and sizes aside). */
static bool header_ok(uint32_t nlabels, uint32_t dim, uint32_t bits, uint32_t ngrams,
		      uint32_t minn, uint32_t maxn, uint32_t lbytes)
{
	return nlabels >= 2 && nlabels <= TM_CLF_MAX_LABELS && dim >= 4 && dim <= 1024 &&
	       dim % 4 == 0 && bits >= 8 && bits <= 30 && ngrams >= 1 &&
	       ngrams <= TM_CLF_MAX_NGRAMS &&
	       ((!minn && !maxn) || (minn >= 1 && minn <= maxn && maxn <= MAX_CHAR_N)) &&
	       lbytes % 4 == 0 && lbytes >= 2 * nlabels &&
	       lbytes <= (uint64_t)nlabels * TM_CLF_LABEL_MAX + 3;
}

static size_t file_size(uint32_t nlabels, uint32_t dim, uint32_t bits, uint32_t lbytes)
{
	return HEADER_BYTES + (size_t)lbytes + 4 * (size_t)nlabels * dim +
	       ((size_t)1 << bits) * ((size_t)dim + 4) + 8;
}

/* The file size a model header implies, or 0 (see linear.h). */
static size_t implied_size(const unsigned char *p, size_t len)
{
	if (len < HEADER_BYTES || memcmp(p, MAGIC, 8) ||
	    !header_ok(tm_lin_get32(p + 12), tm_lin_get32(p + 16), tm_lin_get32(p + 20),
		       tm_lin_get32(p + 24), tm_lin_get32(p + 28), tm_lin_get32(p + 32),
		       tm_lin_get32(p + 36)))
		return 0;
	return file_size(tm_lin_get32(p + 12), tm_lin_get32(p + 16), tm_lin_get32(p + 20),
			 tm_lin_get32(p + 36));
}

static const struct tm_lin_format format = {
	MAGIC, "text classifier", HEADER_BYTES, implied_size
};

static int bad(struct tm_err *err, const char *name, uint64_t off, const char *what)
{
	return tm_lin_bad(&format, err, name, off, what);
}

/* Checks the label table at data[off..off+lbytes) and points m->labels into it. */
static int parse_labels(struct tm_clf_model *m, const char *data, size_t off, size_t lbytes,
			const char *name, struct tm_err *err)
{
	size_t at = off, end = off + lbytes;
	int l;

	m->labels = tm_xcalloc((size_t)m->nlabels, sizeof(*m->labels));
	for (l = 0; l < m->nlabels; l++) {
		const char *s = data + at;
		const char *nul = memchr(s, 0, TM_MIN(end - at, (size_t)TM_CLF_LABEL_MAX));
		size_t i;

		if (!nul || nul == s)
			return bad(err, name, at, "a label is empty, unterminated or too long");
		for (i = 0; s + i < nul; i++)
			if ((unsigned char)s[i] < 0x20)
				return bad(err, name, at + i, "a label holds a control character");
		if (l && strcmp(m->labels[l - 1], s) >= 0)
			return bad(err, name, at, "labels are not sorted and distinct");
		m->labels[l] = s;
		at += (size_t)(nul - s) + 1;
	}
	if (end - at > 3)
		return bad(err, name, at, "the label table is longer than its labels");
	for (; at < end; at++)
		if (data[at])
			return bad(err, name, at, "the label table's padding is not 0");
	if ((at - off) % 4)
		return bad(err, name, at, "the label table is not padded to 4 bytes");
	return 0;
}

/* Points the model's arrays into m->file after checking everything. */
static int parse_model(struct tm_clf_model *m, const char *name, struct tm_err *err)
{
	const char *data = m->file.data;
	const unsigned char *p = (const unsigned char *)data;
	size_t len = m->file.size, nb, off, i, lbytes;
	uint32_t ver;
	int rc;

	if (len < HEADER_BYTES + 8 || memcmp(p, MAGIC, 8))
		return bad(err, name, 0, "expected magic 'TAMISCLF'");
	ver = tm_lin_get32(p + 8);
	if (ver != FILE_VERSION)
		return tm_err_set(err, TM_EFORMAT, name, 8, 0,
				  "text classifier model version %u; this tamis reads version %d",
				  ver, FILE_VERSION);
	if (!header_ok(tm_lin_get32(p + 12), tm_lin_get32(p + 16), tm_lin_get32(p + 20),
		       tm_lin_get32(p + 24), tm_lin_get32(p + 28), tm_lin_get32(p + 32),
		       tm_lin_get32(p + 36)))
		return bad(err, name, 12, "header fields out of range");
	m->nlabels = (int)tm_lin_get32(p + 12);
	m->dim = (int)tm_lin_get32(p + 16);
	m->bucket_bits = (int)tm_lin_get32(p + 20);
	m->word_ngrams = (int)tm_lin_get32(p + 24);
	m->minn = (int)tm_lin_get32(p + 28);
	m->maxn = (int)tm_lin_get32(p + 32);
	lbytes = tm_lin_get32(p + 36);
	m->seed = tm_lin_get64(p + 40);
	if ((rc = tm_lin_check_file(&format, data, len,
				    file_size((uint32_t)m->nlabels, (uint32_t)m->dim,
					      (uint32_t)m->bucket_bits, (uint32_t)lbytes),
				    name, err)) < 0)
		return rc;
	if ((rc = parse_labels(m, data, HEADER_BYTES, lbytes, name, err)) < 0)
		return rc;
	off = HEADER_BYTES + lbytes;
	/* floats: the data is malloc- or page-aligned and off is a multiple of 4 */
	m->w = (float *)(void *)(data + off);
	for (i = 0; i < (size_t)m->nlabels * m->dim; i++)
		if (!(fabsf(m->w[i]) <= 1e6f))
			return bad(err, name, off + 4 * i,
				   "an output weight is not a finite number under 1e6");
	off += 4 * (size_t)m->nlabels * m->dim;
	m->eq = (int8_t *)(data + off);
	nb = (size_t)1 << m->bucket_bits;
	for (i = 0; i < nb; i++) {
		size_t at = i * ((size_t)m->dim + 4) + (size_t)m->dim;
		float sc;

		memcpy(&sc, m->eq + at, 4);
		if (!(sc >= 0 && sc <= 1e6f))
			return bad(err, name, off + at,
				   "a feature-row scale is not a finite number in 0..1e6");
	}
	return 0;
}

/* Parses the bytes of `file` (taken over) into a new model. */
static int new_model(struct tm_lin_file *file, const char *name,
		     struct tm_clf_model **out, struct tm_err *err)
{
	struct tm_clf_model *m = tm_xcalloc(1, sizeof(*m));
	int rc;

	m->file = *file;
	if ((rc = parse_model(m, name, err)) < 0) {
		tm_clf_free(m);
		return rc;
	}
	*out = m;
	return 0;
}

int tm_clf_load_mem(const void *data, size_t len, const char *name,
		    struct tm_clf_model **out, struct tm_err *err)
{
	struct tm_lin_file file;
	int rc;

	*out = NULL;
	if ((rc = tm_lin_file_load_mem(&format, data, len, name, &file, err)) < 0)
		return rc;
	return new_model(&file, name, out, err);
}

int tm_clf_load(const char *path, struct tm_clf_model **out, struct tm_err *err)
{
	struct tm_lin_file file;
	int rc;

	*out = NULL;
	if ((rc = tm_lin_file_load(&format, path, &file, err)) < 0)
		return rc;
	return new_model(&file, path, out, err);
}

/* ---------------------------------------------------------------- training sets */

struct example {
	uint64_t off;		/* of its features in d->feat */
	uint32_t nfeat;
	uint32_t nlab;		/* 1: lab is the label; more: lab indexes d->multi */
	uint32_t lab;
};

struct tm_clf_data {
	struct tm_clf_train_opts o;
	struct tm_clf_ctx *c;	/* hashes the texts */
	struct tm_ftext *t;
	uint32_t *feat;
	size_t nfeat, cap;
	struct example *ex;
	size_t nex, excap;
	uint32_t *multi;	/* label ids of examples with several */
	size_t nmulti, multicap;
	char **labels;		/* in order of first sight */
	int nlabels;
	struct tm_hmap *ids;	/* XXH3-128 of a label -> its index + 1 */
	struct tm_clf_data_stats st;
	const char *name;	/* the input being read, and its line, for errors */
	long line;
};

int tm_clf_check_opts(const struct tm_clf_train_opts *o, struct tm_err *err)
{
	const char *what = NULL;

	if (o->dim < 4 || o->dim > 1024 || o->dim % 4)
		what = "dim must be a multiple of 4 in 4..1024";
	else if (o->bucket_bits < 8 || o->bucket_bits > 30)
		what = "bucket bits must be in 8..30";
	else if (o->word_ngrams < 1 || o->word_ngrams > TM_CLF_MAX_NGRAMS)
		what = "word n-grams must be in 1..8";
	else if (!((!o->minn && !o->maxn) ||
		   (o->minn >= 1 && o->minn <= o->maxn && o->maxn <= MAX_CHAR_N)))
		what = "character n-grams need 1 <= minn <= maxn <= 16, or both 0";
	else if (o->epochs < 1 || o->epochs > 10000)
		what = "epochs must be in 1..10000";
	else if (!(o->lr > 0 && o->lr <= 10))
		what = "the learning rate must be in (0, 10]";
	if (what)
		return tm_err_set(err, TM_EINVAL, NULL, TM_ERR_NO_OFFSET, 0,
				  "text classifier training: %s", what);
	return 0;
}

/* The seed of the feature hashes, from the training seed. */
static uint64_t hash_seed(uint64_t seed)
{
	return seed * 0x9e3779b97f4a7c15ULL + 0x243f6a8885a308d3ULL;
}

struct tm_clf_data *tm_clf_data_new(const struct tm_clf_train_opts *o)
{
	struct tm_clf_data *d;
	struct feat_opts fo;

	if (tm_clf_check_opts(o, NULL) < 0)
		BUG("tm_clf_data_new: options out of range");
	d = tm_xcalloc(1, sizeof(*d));
	d->o = *o;
	fo.bucket_bits = o->bucket_bits;
	fo.word_ngrams = o->word_ngrams;
	fo.minn = o->minn;
	fo.maxn = o->maxn;
	fo.seed = hash_seed(o->seed);
	d->c = ctx_new(NULL, &fo, 4, 1);
	d->t = tm_ftext_new();
	d->ids = tm_hmap_new(64);
	return d;
}

void tm_clf_data_free(struct tm_clf_data *d)
{
	int l;

	if (!d)
		return;
	tm_clf_ctx_free(d->c);
	tm_ftext_free(d->t);
	free(d->feat);
	free(d->ex);
	free(d->multi);
	for (l = 0; l < d->nlabels; l++)
		free(d->labels[l]);
	free(d->labels);
	tm_hmap_free(d->ids);
	free(d);
}

const struct tm_clf_data_stats *tm_clf_data_stats(const struct tm_clf_data *d)
{
	return &d->st;
}

/* The id of label s[0..len), added when new; -1 with err when unusable. */
static int label_id(struct tm_clf_data *d, const char *s, size_t len, struct tm_err *err)
{
	XXH128_hash_t x = XXH3_128bits(s, len);
	struct tm_hval *v;
	bool created;
	size_t i;

	if (!len || len >= TM_CLF_LABEL_MAX)
		return tm_err_set(err, TM_EINVAL, d->name, TM_ERR_NO_OFFSET, d->line,
				  "a label must be 1 to %d bytes, got %zu", TM_CLF_LABEL_MAX - 1,
				  len);
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20)
			return tm_err_set(err, TM_EINVAL, d->name, TM_ERR_NO_OFFSET, d->line,
					  "a label holds a control character (byte %zu)", i);
	v = tm_hmap_put(d->ids, tm_hmap_key(x.low64, x.high64), &created);
	if (!created) {
		const char *known = d->labels[v->a - 1];

		/* a 128-bit collision would need 2^64 labels; checked anyway */
		if (strlen(known) != len || memcmp(known, s, len))
			BUG("label hash collision: '%s' and '%.*s'", known, (int)len, s);
		return (int)(v->a - 1);
	}
	if (d->nlabels >= TM_CLF_MAX_LABELS)
		return tm_err_set(err, TM_EINVAL, d->name, TM_ERR_NO_OFFSET, d->line,
				  "more than %d labels", TM_CLF_MAX_LABELS);
	d->labels = tm_xrealloc(d->labels, ((size_t)d->nlabels + 1) * sizeof(*d->labels));
	d->labels[d->nlabels] = tm_xmemdup(s, len);
	v->a = (uint64_t)++d->nlabels;
	return d->nlabels - 1;
}

/* Adds the example whose labels are ids[0..n), its text in d->t. */
static int add_example(struct tm_clf_data *d, const int *ids, int n, struct tm_err *err)
{
	struct tm_clf_ctx *c = d->c;
	struct example *e;
	int i;

	features(c, d->t);
	if (c->nfeat > UINT32_MAX)
		return tm_err_set(err, TM_ETOOBIG, d->name, TM_ERR_NO_OFFSET, d->line,
				  "a text of more than 2^32 features");
	if (d->nex == d->excap) {
		d->excap = d->excap ? 2 * d->excap : 1024;
		d->ex = tm_xrealloc(d->ex, d->excap * sizeof(*d->ex));
	}
	if (d->cap - d->nfeat < c->nfeat) {
		d->cap = TM_MAX(2 * d->cap, d->nfeat + c->nfeat);
		d->feat = tm_xrealloc(d->feat, d->cap * sizeof(*d->feat));
	}
	memcpy(d->feat + d->nfeat, c->feat, c->nfeat * sizeof(*c->feat));
	e = &d->ex[d->nex++];
	e->off = d->nfeat;
	e->nfeat = (uint32_t)c->nfeat;
	e->nlab = (uint32_t)n;
	d->nfeat += c->nfeat;
	if (n == 1) {
		e->lab = (uint32_t)ids[0];
	} else {
		if (d->multicap - d->nmulti < (size_t)n) {
			d->multicap = TM_MAX(2 * d->multicap, d->nmulti + (size_t)n);
			d->multi = tm_xrealloc(d->multi, d->multicap * sizeof(*d->multi));
		}
		e->lab = (uint32_t)d->nmulti;
		for (i = 0; i < n; i++)
			d->multi[d->nmulti++] = (uint32_t)ids[i];
	}
	d->st.examples++;
	d->st.words += c->words;
	d->st.bytes += d->t->len;
	return 0;
}

int tm_clf_data_add(struct tm_clf_data *d, const char *const *labels, int nlabels,
		    const char *text, size_t len, struct tm_err *err)
{
	int ids[64], *v = nlabels <= 64 ? ids : tm_xmalloc((size_t)nlabels * sizeof(int));
	int i, rc = 0;

	if (nlabels < 1)
		BUG("an example without a label");
	d->name = NULL;
	d->line = 0;
	for (i = 0; i < nlabels && rc >= 0; i++)
		rc = v[i] = label_id(d, labels[i], strlen(labels[i]), err);
	if (rc >= 0) {
		tm_ftext_set(d->t, text, len, NULL, NULL);
		rc = add_example(d, v, nlabels, err);
	}
	if (v != ids)
		free(v);
	return rc < 0 ? rc : 0;
}

/* A fastText line: leading label tokens, then the text. */
static int add_fasttext(struct tm_clf_data *d, const char *s, size_t len,
			const char *prefix, int **ids, size_t *cap, struct tm_err *err)
{
	size_t i = 0, pl = strlen(prefix);
	int n = 0, id;

	for (;;) {
		size_t j;

		while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\v' || s[i] == '\f' ||
				   s[i] == '\r'))
			i++;
		if (len - i < pl || memcmp(s + i, prefix, pl))
			break;
		for (j = i; j < len && s[j] != ' ' && s[j] != '\t' && s[j] != '\v' &&
			    s[j] != '\f' && s[j] != '\r'; j++)
			;
		if ((id = label_id(d, s + i + pl, j - i - pl, err)) < 0)
			return id;
		if ((size_t)n == *cap) {
			*cap = *cap ? 2 * *cap : 8;
			*ids = tm_xrealloc(*ids, *cap * sizeof(**ids));
		}
		(*ids)[n++] = id;
		i = j;
	}
	if (!n) {
		d->st.unlabelled++;
		return 0;
	}
	tm_ftext_set(d->t, s + i, len - i, NULL, NULL);
	return add_example(d, *ids, n, err);
}

/* The label of a document: metadata.FIELD, else FIELD, as text into out. */
static bool doc_label(const struct tm_doc *doc, const char *field, struct tm_buf *out)
{
	json_t *meta = tm_doc_meta(doc), *v = NULL;

	if (meta)
		v = json_object_get(meta, field);
	if (!v)
		v = json_object_get(doc->root, field);
	tm_buf_reset(out);
	if (json_is_string(v))
		tm_buf_add(out, json_string_value(v), json_string_length(v));
	else if (json_is_integer(v))
		tm_buf_addf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_boolean(v))
		tm_buf_addstr(out, json_is_true(v) ? "true" : "false");
	else
		return false;
	return true;
}

static int read_jsonl(struct tm_clf_data *d, struct tm_reader *r,
		      const struct tm_clf_input_opts *in, struct tm_err *err)
{
	struct tm_jsonl_reader jr;
	struct tm_doc doc = TM_DOC_INIT;
	struct tm_buf label = TM_BUF_INIT;
	int rc;

	tm_jsonl_init(&jr, r);
	for (;;) {
		const char *text;
		size_t len;
		int id;

		rc = tm_jsonl_next(&jr, &doc, err);
		if (rc == 0)
			break;
		if (rc == TM_EFORMAT || rc == TM_EINVAL || rc == TM_ETOOBIG) {
			d->st.malformed++;
			if (in->max_errors >= 0 && d->st.malformed > (uint64_t)in->max_errors) {
				rc = TM_EFORMAT;
				break;
			}
			continue;
		}
		if (rc < 0)
			break;
		if (!doc_label(&doc, in->label_field, &label)) {
			d->st.unlabelled++;
			continue;
		}
		d->line = jr.lineno;
		if ((rc = id = label_id(d, label.buf, label.len, err)) < 0)
			break;
		text = tm_doc_text(&doc, &len);
		tm_ftext_set(d->t, text, len, NULL, NULL);
		if ((rc = add_example(d, &id, 1, err)) < 0)
			break;
	}
	tm_buf_release(&label);
	tm_doc_release(&doc);
	tm_jsonl_release(&jr);
	return rc < 0 ? rc : 0;
}

int tm_clf_data_read(struct tm_clf_data *d, struct tm_reader *r,
		     const struct tm_clf_input_opts *in, struct tm_err *err)
{
	struct tm_buf line = TM_BUF_INIT;
	enum tm_clf_format fmt = in->format;
	int *ids = NULL, rc;
	size_t cap = 0;

	if (fmt == TM_CLF_AUTO) {
		/* the first byte that is not white space decides */
		for (;;) {
			const char *p;
			size_t i, n;

			if ((rc = tm_reader_fill(r, 4096, err)) < 0)
				return rc;
			p = tm_reader_data(r);
			n = tm_reader_avail(r);
			for (i = 0; i < n && p[i] && strchr(" \t\r\n\v\f", p[i]); i++)
				;
			if (i < n || tm_reader_eof(r) || n >= ((size_t)1 << 20)) {
				fmt = i < n && p[i] == '{' ? TM_CLF_JSONL : TM_CLF_FASTTEXT;
				break;
			}
			if ((rc = tm_reader_fill(r, 2 * n, err)) < 0)
				return rc;
		}
	}
	d->name = tm_reader_name(r);
	d->line = 0;
	if (fmt == TM_CLF_JSONL)
		return read_jsonl(d, r, in, err);
	while ((rc = tm_reader_getline(r, &line, TM_DOC_MAX_LINE_DEFAULT, true, err)) > 0) {
		d->line++;
		if ((rc = add_fasttext(d, line.buf, line.len, in->label_prefix, &ids, &cap,
				       err)) < 0)
			break;
	}
	free(ids);
	tm_buf_release(&line);
	return rc < 0 ? rc : 0;
}

int tm_clf_data_read_file(struct tm_clf_data *d, const char *path,
			  const struct tm_clf_input_opts *in, struct tm_err *err)
{
	struct tm_reader *r;
	int rc;

	if ((rc = tm_reader_open(path, &r, err)) < 0)
		return rc;
	rc = tm_clf_data_read(d, r, in, err);
	tm_reader_free(r);
	return rc;
}

/* ---------------------------------------------------------------- training */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int tm_clf_train(const struct tm_clf_data *d, const struct tm_clf_train_opts *o,
		 struct tm_clf_model **out, struct tm_err *err)
{
	const struct tm_clf_train_opts *f = &d->o;
	struct tm_clf_model *m;
	struct tm_clf_ctx *c;
	uint64_t rng = o->seed ^ 0x5deece66dULL, done = 0, total;
	uint32_t *order, *remap;
	char **sorted;
	size_t nb, i, lb = 0;
	double loss = 0;
	uint64_t nloss = 0;
	int rc, l, epoch;

	*out = NULL;
	if ((rc = tm_clf_check_opts(o, err)) < 0)
		return rc;
	if (o->bucket_bits != f->bucket_bits || o->word_ngrams != f->word_ngrams ||
	    o->minn != f->minn || o->maxn != f->maxn || o->seed != f->seed)
		return tm_err_set(err, TM_EINVAL, NULL, TM_ERR_NO_OFFSET, 0,
				  "text classifier training: the feature options differ from "
				  "the training set's");
	if (!d->nex || d->nlabels < 2)
		return tm_err_set(err, TM_EINVAL, NULL, TM_ERR_NO_OFFSET, 0,
				  "text classifier training: %s", !d->nex ?
				  "no labelled examples" :
				  "one label only: a classifier needs two or more");

	/* labels sorted by byte value; remap[first-sight id] = sorted index */
	m = tm_xcalloc(1, sizeof(*m));
	m->nlabels = d->nlabels;
	m->dim = o->dim;
	m->bucket_bits = o->bucket_bits;
	m->word_ngrams = o->word_ngrams;
	m->minn = o->minn;
	m->maxn = o->maxn;
	m->seed = hash_seed(o->seed);
	sorted = tm_xmalloc((size_t)d->nlabels * sizeof(*sorted));
	memcpy(sorted, d->labels, (size_t)d->nlabels * sizeof(*sorted));
	qsort(sorted, (size_t)d->nlabels, sizeof(*sorted), cmp_str);
	for (l = 0; l < d->nlabels; l++)
		lb += strlen(sorted[l]) + 1;
	m->names = tm_xmalloc(lb);
	m->labels = tm_xmalloc((size_t)d->nlabels * sizeof(*m->labels));
	remap = tm_xmalloc((size_t)d->nlabels * sizeof(*remap));
	for (l = 0, lb = 0; l < d->nlabels; l++) {
		size_t n = strlen(sorted[l]) + 1;
		XXH128_hash_t x = XXH3_128bits(sorted[l], n - 1);
		struct tm_hval *v = tm_hmap_get(d->ids, tm_hmap_key(x.low64, x.high64));

		memcpy(m->names + lb, sorted[l], n);
		m->labels[l] = m->names + lb;
		lb += n;
		remap[v->a - 1] = (uint32_t)l;
	}
	free(sorted);

	m->w = tm_xcalloc((size_t)m->nlabels * m->dim, sizeof(*m->w));
	nb = (size_t)1 << m->bucket_bits;
	m->ef = tm_xmalloc(nb * m->dim * sizeof(*m->ef));
	tm_lin_init_rows(m->ef, nb * m->dim, m->dim, &rng);
	c = tm_clf_ctx_new(m);
	order = tm_xmalloc(d->nex * sizeof(*order));
	for (i = 0; i < d->nex; i++)
		order[i] = (uint32_t)i;
	total = (uint64_t)o->epochs * d->nfeat;
	for (epoch = 0; epoch < o->epochs; epoch++) {
		if (o->shuffle) {
			for (i = d->nex; i > 1; i--) {
				size_t j = (size_t)(tm_splitmix64(&rng) % i);
				uint32_t tmp = order[i - 1];

				order[i - 1] = order[j];
				order[j] = tmp;
			}
		}
		for (i = 0; i < d->nex; i++) {
			const struct example *e = &d->ex[order[i]];
			double frac = (double)done / (double)total;
			float lr = (float)(o->lr * (1.0 - frac));
			uint32_t lab = e->nlab == 1 ? e->lab :
				       d->multi[e->lab + tm_splitmix64(&rng) % e->nlab];
			int label = (int)remap[lab];

			/* the features are the set's: point the context at them */
			c->feat = d->feat + e->off;
			c->nfeat = e->nfeat;
			hidden(c);
			tm_lin_softmax(m->w, NULL, m->dim, c->h, NULL, m->nlabels, c->p);
			loss -= log(c->p[label] > 1e-30f ? c->p[label] : 1e-30);
			nloss++;
			tm_lin_sgd(m->w, m->ef, m->dim, c->h, c->p, NULL, m->nlabels, label,
				   c->feat, c->nfeat, lr, c->grad);
			done += e->nfeat;
			if (o->progress && (i % 20000 == 19999 || i + 1 == d->nex)) {
				o->progress(o->progress_arg, epoch + 1,
					    i + 1 == d->nex ? (epoch + 1.0) / o->epochs :
					    (double)done / (double)total, loss / (double)nloss);
				loss = 0;
				nloss = 0;
			}
		}
	}
	c->feat = NULL;
	tm_clf_ctx_free(c);
	free(order);
	free(remap);
	m->eq = tm_lin_quantize(m->ef, nb, m->dim);
	free(m->ef);
	m->ef = NULL;
	*out = m;
	return 0;
}

int tm_clf_train_files(const char *const *paths, size_t npaths,
		       const struct tm_clf_input_opts *in,
		       const struct tm_clf_train_opts *o, struct tm_clf_model **out,
		       struct tm_clf_data_stats *stats, struct tm_err *err)
{
	struct tm_clf_data *d;
	size_t i;
	int rc;

	*out = NULL;
	if ((rc = tm_clf_check_opts(o, err)) < 0)
		return rc;
	d = tm_clf_data_new(o);
	for (i = 0, rc = 0; i < npaths && rc >= 0; i++)
		rc = tm_clf_data_read_file(d, paths[i], in, err);
	if (stats)
		*stats = d->st;
	if (rc >= 0)
		rc = tm_clf_train(d, o, out, err);
	tm_clf_data_free(d);
	return rc;
}

/* ---------------------------------------------------------------- the filter */

struct clf_state {
	struct tm_clf_model *m;
	int label;
	double min_score;
	char *score;
};

static const struct tm_fparam clf_params[] = {
	{ "model", TM_INI_STRING, "",
	  "the model file (tamis filter train-classifier); required",
	  "fastText supervised (Joulin et al. 2017); DCLM's fastText quality filter" },
	{ "label", TM_INI_STRING, "hq",
	  "the label whose probability is the document's score",
	  "DCLM's classifier labels its positives __label__hq" },
	{ "min_score", TM_INI_FLOAT, "0",
	  "remove documents scoring under this; 0 only annotates",
	  "none: a threshold depends on the model (DCLM keeps its top 10%)" },
	{ "score", TM_INI_STRING, "score",
	  "the score's name: metadata classifier_<score>",
	  "tamis" },
};

static const char *const clf_reasons[] = { "low_score", NULL };

static void *clf_create(const union tm_fvalue *v, const char *data_dir, struct tm_err *err)
{
	struct clf_state *s;
	struct tm_buf path = TM_BUF_INIT;
	struct tm_clf_model *m;
	const char *p;
	int rc, label;

	if (!v[0].s[0]) {
		tm_err_set(err, TM_ECONFIG, NULL, TM_ERR_NO_OFFSET, 0,
			   "[filter \"classifier\"] model: no model given (train one with "
			   "tamis filter train-classifier)");
		return NULL;
	}
	if (!(v[2].f >= 0 && v[2].f <= 1)) {
		tm_err_set(err, TM_ECONFIG, NULL, TM_ERR_NO_OFFSET, 0,
			   "[filter \"classifier\"] min_score: expected 0..1, got %g", v[2].f);
		return NULL;
	}
	for (p = v[3].s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
			break;
	if (*p || !v[3].s[0]) {
		tm_err_set(err, TM_ECONFIG, NULL, TM_ERR_NO_OFFSET, 0,
			   "[filter \"classifier\"] score: expected [a-z0-9_]+, got '%s'",
			   v[3].s);
		return NULL;
	}
	tm_filter_data_path(data_dir, v[0].s, &path);
	rc = tm_clf_load(path.buf, &m, err);
	tm_buf_release(&path);
	if (rc < 0)
		return NULL;
	if ((label = tm_clf_find(m, v[1].s)) < 0) {
		struct tm_buf all = TM_BUF_INIT;
		int l;

		for (l = 0; l < tm_clf_nlabels(m) && all.len < 200; l++)
			tm_buf_addf(&all, "%s'%s'", l ? ", " : "", tm_clf_label(m, l));
		tm_err_set(err, TM_ECONFIG, NULL, TM_ERR_NO_OFFSET, 0,
			   "[filter \"classifier\"] label: the model has no label '%s' "
			   "(it has %s)", v[1].s, all.buf);
		tm_buf_release(&all);
		tm_clf_free(m);
		return NULL;
	}
	s = tm_xcalloc(1, sizeof(*s));
	s->m = m;
	s->label = label;
	s->min_score = v[2].f;
	s->score = tm_xstrdup(v[3].s);
	return s;
}

static void clf_destroy(void *state)
{
	struct clf_state *s = state;

	tm_clf_free(s->m);
	free(s->score);
	free(s);
}

static void *clf_scratch_new(const void *state)
{
	return tm_clf_ctx_new(((const struct clf_state *)state)->m);
}

static void clf_scratch_free(void *scratch)
{
	tm_clf_ctx_free(scratch);
}

static void clf_apply(const void *state, void *scratch, struct tm_ftext *t,
		      struct tm_fresult *res)
{
	const struct clf_state *s = state;
	double p = tm_clf_probs_ftext(scratch, t)[s->label];

	tm_fresult_score(res, s->score, p);
	if (p < s->min_score)
		res->reason = "low_score";
}

const struct tm_filter_def tm_filter_classifier = {
	.name = "classifier",
	.about = "a fastText-style linear classifier's probability of one label",
	.langs = "those of the model's training text",
	.params = clf_params,
	.nparams = TM_ARRAY_SIZE(clf_params),
	.reasons = clf_reasons,
	.create = clf_create,
	.destroy = clf_destroy,
	.scratch_new = clf_scratch_new,
	.scratch_free = clf_scratch_free,
	.apply = clf_apply,
	.scores_to_metadata = true,
};
