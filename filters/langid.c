/*
 * langid.c: the language identifier of langid.h: features, the script
 * prior, prediction, the model file, and training.
 */
#include "tamis.h"
#include "langid.h"
#include "linear.h"
#include "stream.h"

#include <math.h>
#include <unicode/uchar.h>
#include <unicode/uscript.h>
#include <unicode/utf8.h>

#define BOUNDARY 0x20
#define FNV_PRIME 0x100000001b3ULL
#define SCRIPT_WORDS 4		/* bitset of UScriptCode < 256 */
#define MAX_SEEN 32		/* distinct scripts tracked per text */
#define FEAT_CHUNK 8192		/* features buffered per context when predicting */
#define MAGIC "TAMISLID"
#define FILE_VERSION 1
#define HEADER_BYTES 48
#define LANG_BYTES (TM_LID_CODE_MAX + 8 * SCRIPT_WORDS + 8)

struct tm_lid_model {
	int nlang, dim, bucket_bits, minn, maxn, max_word;
	uint64_t seed;
	char (*codes)[TM_LID_CODE_MAX];
	uint64_t (*scripts)[SCRIPT_WORDS];
	float *logsize;		/* ln(bytes of training text) per language */
	float prior;		/* weight of the size prior */
	float *bias;		/* prior * (logsize - max logsize), added to logits */
	float *w;		/* [nlang][dim] */
	int8_t *eq;		/* [2^bits] rows of dim int8 + a float scale */
	float *ef;		/* [2^bits][dim], while training (eq NULL) */
	struct tm_lin_file file;	/* a loaded model's bytes: the arrays point here */
};

struct tm_lid_ctx {
	const struct tm_lid_model *m;
	uint32_t *feat;
	size_t nfeat, cap;
	bool stream;		/* fold full feature buffers into h (predicting) */
	size_t total;		/* features folded into h so far */
	int nseen;
	int seen[MAX_SEEN];	/* scripts seen, in order of first sight */
	uint32_t count[MAX_SEEN];
	uint32_t letters;	/* letters with a script counted */
	float *h, *logit;
	int *allowed;
	int nallowed;
};

/* ---------------------------------------------------------------- features */

static void accumulate(struct tm_lid_ctx *c);

/*
 * The feature buffer is full: when predicting, its rows are added to h
 * and it starts over, so a context holds FEAT_CHUNK features whatever the
 * text's length; when training (the sample is short, its features are
 * needed for the update) it grows.
 */
static __attribute__((noinline)) void feat_full(struct tm_lid_ctx *c)
{
	if (c->stream && c->cap >= FEAT_CHUNK) {
		accumulate(c);
		c->nfeat = 0;
		return;
	}
	c->cap = c->cap ? 2 * c->cap : 1024;
	c->feat = tm_xrealloc(c->feat, c->cap * sizeof(*c->feat));
}

static inline void add_feat(struct tm_lid_ctx *c, uint64_t h)
{
	if (c->nfeat == c->cap)
		feat_full(c);
	c->feat[c->nfeat++] = (uint32_t)(tm_lin_mix64(h) >> (64 - c->m->bucket_bits));
}

static void count_script(struct tm_lid_ctx *c, int s)
{
	int i;

	if (s <= USCRIPT_INHERITED || s >= 64 * SCRIPT_WORDS)
		return;	/* Common (0), Inherited (1), out of the bitset */
	c->letters++;
	for (i = 0; i < c->nseen; i++) {
		if (c->seen[i] == s) {
			c->count[i]++;
			return;
		}
	}
	if (c->nseen < MAX_SEEN) {
		c->seen[c->nseen] = s;
		c->count[c->nseen++] = 1;
	}
}

/*
 * Case-folds `cp` into *fold and returns its script (>= 0) when it is a
 * letter or mark, else -1.
 */
static inline int classify(UChar32 cp, UChar32 *fold)
{
	UErrorCode e = U_ZERO_ERROR;
	int s;

	if (cp < 0x80) {
		if (cp >= 'A' && cp <= 'Z') {
			*fold = cp + 32;
			return USCRIPT_LATIN;
		}
		if (cp >= 'a' && cp <= 'z') {
			*fold = cp;
			return USCRIPT_LATIN;
		}
		return -1;
	}
	if (cp < 0 || !(U_GET_GC_MASK(cp) & (U_GC_L_MASK | U_GC_M_MASK)))
		return -1;
	*fold = u_foldCase(cp, U_FOLD_CASE_DEFAULT);
	s = uscript_getScript(cp, &e);
	return U_FAILURE(e) ? USCRIPT_COMMON : s;
}

/*
 * Fills c->feat and the script counts from `text`.  The n-grams ending at
 * each code point are hashed right to left, so that one pass of at most
 * maxn steps gives all orders.
 */
static void features(struct tm_lid_ctx *c, const char *text, size_t len)
{
	const struct tm_lid_model *m = c->m;
	uint32_t ring[8];
	int32_t i = 0, n = len > INT32_MAX ? INT32_MAX : (int32_t)len;
	size_t inword = 0;	/* code points of the word so far, boundary included */
	int wlen = 0;
	uint64_t wh = 0;

	c->nfeat = 0;
	c->total = 0;
	memset(c->h, 0, (size_t)m->dim * sizeof(*c->h));
	c->nseen = 0;
	c->letters = 0;
	for (;;) {
		UChar32 cp = 0, fold = 0;
		int s = -1, k, kmax;
		bool end = i >= n;
		uint64_t h;

		if (!end) {
			U8_NEXT((const uint8_t *)text, i, n, cp);
			s = classify(cp, &fold);
		}
		if (s >= 0) {
			if (!inword) {
				ring[0] = BOUNDARY;
				inword = 1;
				wlen = 0;
				wh = m->seed ^ 0x9e3779b97f4a7c15ULL;
			}
			ring[inword++ & 7] = (uint32_t)fold;
			wlen++;
			wh = (wh ^ (uint32_t)fold) * FNV_PRIME;
			count_script(c, s);
		} else if (inword) {
			ring[inword++ & 7] = BOUNDARY;
		} else {
			if (end)
				break;
			continue;
		}
		/* the n-grams ending at the code point just placed */
		kmax = (int)TM_MIN((size_t)m->maxn, inword);
		h = m->seed;
		for (k = 1; k <= kmax; k++) {
			h = (h ^ ring[(inword - (size_t)k) & 7]) * FNV_PRIME;
			if (k >= m->minn && !(k == 1 && s < 0))
				add_feat(c, h + (uint64_t)k * 0x632be59bd9b4e019ULL);
		}
		if (s < 0) {
			if (m->max_word && wlen <= m->max_word)
				add_feat(c, wh);
			inword = 0;
			if (end)
				break;
		}
	}
}

/*
 * Sets c->allowed to the languages the script prior lets through: those
 * writing at least one of the text's main scripts (the most frequent one
 * and any other holding a quarter of its letters).  A language with two
 * scripts (Bosnian, Malay) gains nothing on a text mixing them.
 */
static void script_prior(struct tm_lid_ctx *c)
{
	const struct tm_lid_model *m = c->m;
	uint64_t main_set[SCRIPT_WORDS] = { 0 };
	uint32_t top = 0;
	int l, j;

	for (j = 0; j < c->nseen; j++)
		top = c->count[j] > top ? c->count[j] : top;
	for (j = 0; j < c->nseen; j++) {
		int s = c->seen[j];

		if (c->count[j] == top || 4 * (uint64_t)c->count[j] >= c->letters)
			main_set[s >> 6] |= 1ULL << (s & 63);
	}
	c->nallowed = 0;
	for (l = 0; l < m->nlang; l++) {
		for (j = 0; j < SCRIPT_WORDS; j++) {
			if (m->scripts[l][j] & main_set[j]) {
				c->allowed[c->nallowed++] = l;
				break;
			}
		}
	}
}

/* Adds the rows of c->feat[0..nfeat) to h. */
static void accumulate(struct tm_lid_ctx *c)
{
	const struct tm_lid_model *m = c->m;

	/* h = mean of the feature rows: half the time of a prediction */
	if (m->ef)
		tm_lin_add_rows(c->h, m->ef, c->feat, c->nfeat, m->dim);
	else
		tm_lin_add_rows_q(c->h, m->eq, c->feat, c->nfeat, m->dim);
	c->total += c->nfeat;
}

/* h = the mean of all feature rows (those folded in already included). */
static void hidden(struct tm_lid_ctx *c)
{
	int d;

	accumulate(c);
	for (d = 0; d < c->m->dim; d++)
		c->h[d] /= (float)c->total;
}

/* Logits and softmax over c->allowed; c->logit[l] becomes p(l). */
static void softmax(struct tm_lid_ctx *c)
{
	tm_lin_softmax(c->m->w, c->m->bias, c->m->dim, c->h, c->allowed, c->nallowed,
		       c->logit);
}

struct tm_lid_ctx *tm_lid_ctx_new(const struct tm_lid_model *m)
{
	struct tm_lid_ctx *c = tm_xcalloc(1, sizeof(*c));

	c->m = m;
	c->stream = true;
	c->h = tm_xcalloc((size_t)m->dim, sizeof(*c->h));
	c->logit = tm_xcalloc((size_t)m->nlang, sizeof(*c->logit));
	c->allowed = tm_xcalloc((size_t)m->nlang, sizeof(*c->allowed));
	return c;
}

void tm_lid_ctx_free(struct tm_lid_ctx *c)
{
	if (!c)
		return;
	free(c->feat);
	free(c->h);
	free(c->logit);
	free(c->allowed);
	free(c);
}

int tm_lid_predict(struct tm_lid_ctx *c, const char *text, size_t len,
		   struct tm_lid_guess *out, int k)
{
	int j, n = 0;

	features(c, text, len);
	if (!c->letters || !(c->nfeat + c->total))
		return 0;
	script_prior(c);
	if (!c->nallowed)
		return 0;
	hidden(c);
	softmax(c);
	/* top k by insertion; ties go to the lower index (allowed[] ascends) */
	for (j = 0; j < c->nallowed; j++) {
		int l = c->allowed[j], p;
		float s = c->logit[l];

		if (n == k && s <= out[n - 1].score)
			continue;
		p = n < k ? n++ : n - 1;
		while (p > 0 && out[p - 1].score < s) {
			out[p] = out[p - 1];
			p--;
		}
		out[p].lang = l;
		out[p].score = s;
	}
	return n;
}

/* ---------------------------------------------------------------- model */

int tm_lid_nlang(const struct tm_lid_model *m)
{
	return m->nlang;
}

const char *tm_lid_code(const struct tm_lid_model *m, int i)
{
	return i >= 0 && i < m->nlang ? m->codes[i] : "und";
}

int tm_lid_find(const struct tm_lid_model *m, const char *code)
{
	int i;

	for (i = 0; i < m->nlang; i++)
		if (!strcmp(m->codes[i], code))
			return i;
	return -1;
}

void tm_lid_set_prior(struct tm_lid_model *m, float weight)
{
	float mx = 0;
	int l;

	if (!m->bias)
		m->bias = tm_xcalloc((size_t)m->nlang, sizeof(*m->bias));
	m->prior = weight;
	for (l = 0; l < m->nlang; l++)
		mx = m->logsize[l] > mx ? m->logsize[l] : mx;
	for (l = 0; l < m->nlang; l++)
		m->bias[l] = weight * (m->logsize[l] - mx);
}

float tm_lid_get_prior(const struct tm_lid_model *m)
{
	return m->prior;
}

void tm_lid_scripts(const struct tm_lid_model *m, int i, char *buf, size_t size)
{
	size_t off = 0;
	int s;

	if (size)
		buf[0] = 0;
	for (s = 0; s < 64 * SCRIPT_WORDS && off + 1 < size; s++) {
		if (m->scripts[i][s >> 6] >> (s & 63) & 1) {
			const char *name = uscript_getShortName((UScriptCode)s);
			int w = snprintf(buf + off, size - off, "%s%s", off ? " " : "",
					 name ? name : "?");

			if (w < 0)
				break;
			off += (size_t)w;
		}
	}
}

void tm_lid_free(struct tm_lid_model *m)
{
	if (!m)
		return;
	free(m->codes);
	free(m->scripts);
	free(m->logsize);
	free(m->bias);
	if (m->file.data) {
		tm_lin_file_release(&m->file);
	} else {
		free(m->w);
		free(m->eq);
	}
	free(m->ef);
	free(m);
}

static size_t implied_size(const unsigned char *p, size_t len);

static const struct tm_lin_format format = {
	MAGIC, "language-id", HEADER_BYTES, implied_size
};

int tm_lid_save(const struct tm_lid_model *m, const char *path, struct tm_err *err)
{
	struct tm_buf b = TM_BUF_INIT;
	size_t nb = (size_t)1 << m->bucket_bits;
	int l, j;

	if (!m->eq)
		BUG("saving a model that is not quantized");
	tm_buf_add(&b, MAGIC, 8);
	tm_lin_put32(&b, FILE_VERSION);
	tm_lin_put32(&b, (uint32_t)m->nlang);
	tm_lin_put32(&b, (uint32_t)m->dim);
	tm_lin_put32(&b, (uint32_t)m->bucket_bits);
	tm_lin_put32(&b, (uint32_t)m->minn);
	tm_lin_put32(&b, (uint32_t)m->maxn);
	tm_lin_put32(&b, (uint32_t)m->max_word);
	tm_lin_put_floats(&b, &m->prior, 1);
	tm_lin_put64(&b, m->seed);
	for (l = 0; l < m->nlang; l++) {
		tm_buf_add(&b, m->codes[l], TM_LID_CODE_MAX);
		for (j = 0; j < SCRIPT_WORDS; j++)
			tm_lin_put64(&b, m->scripts[l][j]);
		tm_lin_put_floats(&b, &m->logsize[l], 1);
		tm_lin_put32(&b, 0);
	}
	tm_lin_put_floats(&b, m->w, (size_t)m->nlang * m->dim);
	tm_buf_add(&b, m->eq, nb * ((size_t)m->dim + 4));
	return tm_lin_file_save(&b, path, err);
}

static int bad(struct tm_err *err, const char *name, uint64_t off, const char *what)
{
	return tm_lin_bad(&format, err, name, off, what);
}

/* Points the model's arrays into m->file after checking every size. */
static int parse_model(struct tm_lid_model *m, const char *name, struct tm_err *err)
{
	const char *data = m->file.data;
	const unsigned char *p = (const unsigned char *)data;
	size_t len = m->file.size, need, nb, off;
	uint32_t ver;
	int l, rc;

	if (len < HEADER_BYTES + 8 || memcmp(p, MAGIC, 8))
		return bad(err, name, 0, "expected magic 'TAMISLID'");
	ver = tm_lin_get32(p + 8);
	if (ver != FILE_VERSION)
		return tm_err_set(err, TM_EFORMAT, name, 8, 0,
				  "model file version %u; this tamis reads version %d",
				  ver, FILE_VERSION);
	m->nlang = (int)tm_lin_get32(p + 12);
	m->dim = (int)tm_lin_get32(p + 16);
	m->bucket_bits = (int)tm_lin_get32(p + 20);
	m->minn = (int)tm_lin_get32(p + 24);
	m->maxn = (int)tm_lin_get32(p + 28);
	m->max_word = (int)tm_lin_get32(p + 32);
	memcpy(&m->prior, p + 36, 4);
	m->seed = tm_lin_get64(p + 40);
	if (m->nlang < 1 || m->nlang > 100000 || m->dim < 1 || m->dim > 1024 ||
	    m->dim % 4 || m->bucket_bits < 8 || m->bucket_bits > 30 || m->minn < 1 ||
	    m->maxn < m->minn || m->maxn > 7 || m->max_word < 0 || m->max_word > 1000 ||
	    !(m->prior >= 0 && m->prior <= 100))
		return bad(err, name, 12, "header fields out of range");
	nb = (size_t)1 << m->bucket_bits;
	need = HEADER_BYTES + (size_t)m->nlang * LANG_BYTES +
	       4 * (size_t)m->nlang * m->dim + nb * ((size_t)m->dim + 4) + 8;
	if ((rc = tm_lin_check_file(&format, data, len, need, name, err)) < 0)
		return rc;
	off = HEADER_BYTES;
	m->scripts = tm_xcalloc((size_t)m->nlang, sizeof(*m->scripts));
	m->logsize = tm_xcalloc((size_t)m->nlang, sizeof(*m->logsize));
	for (l = 0; l < m->nlang; l++, off += LANG_BYTES) {
		const char *code = data + off;
		int j;

		if (!memchr(code, 0, TM_LID_CODE_MAX) || !code[0]) {
			free(m->scripts);
			m->scripts = NULL;
			return bad(err, name, off, "a language code is empty or unterminated");
		}
		for (j = 0; j < SCRIPT_WORDS; j++)
			m->scripts[l][j] = tm_lin_get64(p + off + TM_LID_CODE_MAX + 8 * j);
		memcpy(&m->logsize[l], p + off + TM_LID_CODE_MAX + 8 * SCRIPT_WORDS, 4);
		if (!(m->logsize[l] >= 0 && m->logsize[l] < 64))
			return bad(err, name, off, "a language's text size is out of range");
		if (tm_lin_get32(p + off + TM_LID_CODE_MAX + 8 * SCRIPT_WORDS + 4))
			return bad(err, name, off, "a reserved field is not 0");
	}
	/* codes sit LANG_BYTES apart: copy them to a dense array */
	{
		char (*codes)[TM_LID_CODE_MAX] = tm_xcalloc((size_t)m->nlang,
							     sizeof(*codes));

		for (l = 0; l < m->nlang; l++)
			memcpy(codes[l], data + HEADER_BYTES + (size_t)l * LANG_BYTES,
			       TM_LID_CODE_MAX);
		m->codes = codes;
	}
	/* floats: the data is malloc- or page-aligned and these offsets are
	 * multiples of 4 */
	m->w = (float *)(void *)(data + off);
	off += 4 * (size_t)m->nlang * m->dim;
	m->eq = (int8_t *)(data + off);
	/* NaN or huge weights would make every score NaN: refuse them */
	for (l = 0; l < m->nlang * m->dim; l++)
		if (!(fabsf(m->w[l]) <= 1e6f))
			return bad(err, name, HEADER_BYTES + (size_t)m->nlang * LANG_BYTES + 4 * (size_t)l,
				   "an output weight is not a finite number under 1e6");
	for (off = 0; off < nb; off++) {
		float sc;

		memcpy(&sc, m->eq + off * ((size_t)m->dim + 4) + m->dim, 4);
		if (!(sc >= 0 && sc <= 1e6f))
			return bad(err, name, (size_t)((const char *)m->eq - data) +
				   off * ((size_t)m->dim + 4) + m->dim,
				   "a feature-row scale is not a finite number in 0..1e6");
	}
	tm_lid_set_prior(m, m->prior);
	return 0;
}

/*
 * The file size a model header implies, or 0 when the header is not
 * (yet) a model's: then the bytes read so far decide the error.
 */
static size_t implied_size(const unsigned char *p, size_t len)
{
	uint32_t nlang, dim, bits;

	if (len < HEADER_BYTES || memcmp(p, MAGIC, 8))
		return 0;
	nlang = tm_lin_get32(p + 12);
	dim = tm_lin_get32(p + 16);
	bits = tm_lin_get32(p + 20);
	if (!nlang || nlang > 100000 || !dim || dim > 1024 || bits > 30)
		return 0;
	return HEADER_BYTES + (size_t)nlang * LANG_BYTES + 4 * (size_t)nlang * dim +
	       ((size_t)1 << bits) * ((size_t)dim + 4) + 8;
}

/* Parses the bytes of `file` (taken over) into a new model. */
static int new_model(struct tm_lin_file *file, const char *name,
		     struct tm_lid_model **out, struct tm_err *err)
{
	struct tm_lid_model *m = tm_xcalloc(1, sizeof(*m));
	int rc;

	m->file = *file;
	if ((rc = parse_model(m, name, err)) < 0) {
		tm_lid_free(m);
		return rc;
	}
	*out = m;
	return 0;
}

int tm_lid_load_mem(const void *data, size_t len, const char *name,
		    struct tm_lid_model **out, struct tm_err *err)
{
	struct tm_lin_file file;
	int rc;

	*out = NULL;
	if ((rc = tm_lin_file_load_mem(&format, data, len, name, &file, err)) < 0)
		return rc;
	return new_model(&file, name, out, err);
}

int tm_lid_load(const char *path, struct tm_lid_model **out, struct tm_err *err)
{
	struct tm_lin_file file;
	int rc;

	*out = NULL;
	if ((rc = tm_lin_file_load(&format, path, &file, err)) < 0)
		return rc;
	return new_model(&file, path, out, err);
}

/* ---------------------------------------------------------------- training */

struct lang_text {
	char code[TM_LID_CODE_MAX];
	struct tm_buf text;	/* paragraphs joined by '\n' */
};

struct sample {
	uint32_t lang;
	uint32_t len;
	uint64_t off;
};


static int cmp_lang(const void *a, const void *b)
{
	return strcmp(((const struct lang_text *)a)->code,
		      ((const struct lang_text *)b)->code);
}

/* Reads "lang<TAB>text" lines into per-language texts, sorted by code. */
static int read_tsv(const char *path, struct lang_text **out, int *nout,
		    struct tm_err *err)
{
	struct tm_reader *r;
	struct tm_buf line = TM_BUF_INIT;
	struct lang_text *v = NULL;
	int n = 0, cap = 0, last = -1, rc, i;
	long lineno = 0;

	if ((rc = tm_reader_open(path, &r, err)) < 0)
		return rc;
	while ((rc = tm_reader_getline(r, &line, (size_t)64 << 20, true, err)) > 0) {
		char *tab = memchr(line.buf, '\t', line.len);
		size_t cl;

		lineno++;
		if (!line.len)
			continue;
		cl = tab ? (size_t)(tab - line.buf) : 0;
		if (!tab || !cl || cl >= TM_LID_CODE_MAX) {
			rc = tm_err_set(err, TM_EFORMAT, path, TM_ERR_NO_OFFSET, lineno,
					"expected 'lang<TAB>text' with a code of 1 to %d bytes",
					TM_LID_CODE_MAX - 1);
			break;
		}
		*tab = 0;
		if (last < 0 || strcmp(v[last].code, line.buf)) {
			for (last = 0; last < n && strcmp(v[last].code, line.buf); last++)
				;
			if (last == n) {
				if (n == cap) {
					cap = cap ? 2 * cap : 64;
					v = tm_xrealloc(v, (size_t)cap * sizeof(*v));
				}
				memset(v[n].code, 0, sizeof(v[n].code));
				memcpy(v[n].code, line.buf, cl + 1);
				tm_buf_init(&v[n].text, 0);
				n++;
			}
		}
		tm_buf_add(&v[last].text, tab + 1, line.len - cl - 1);
		tm_buf_addch(&v[last].text, '\n');
	}
	tm_buf_release(&line);
	tm_reader_free(r);
	if (rc < 0) {
		for (i = 0; i < n; i++)
			tm_buf_release(&v[i].text);
		free(v);
		return rc;
	}
	if (n)
		qsort(v, (size_t)n, sizeof(*v), cmp_lang);
	*out = v;
	*nout = n;
	return 0;
}

/*
 * The scripts of a language: those of at least 10% of its letters, Latin
 * only at 25% unless it is the main script (catalogues and man pages of
 * most languages carry untranslated English).
 */
static void lang_scripts(const struct tm_buf *t, uint64_t set[SCRIPT_WORDS])
{
	uint64_t cnt[64 * SCRIPT_WORDS] = { 0 }, total = 0, top = 0;
	int32_t i = 0, n = t->len > INT32_MAX ? INT32_MAX : (int32_t)t->len;
	int s, main_s = -1;

	while (i < n) {
		UChar32 cp, fold;

		U8_NEXT((const uint8_t *)t->buf, i, n, cp);
		s = classify(cp, &fold);
		if (s > USCRIPT_INHERITED && s < 64 * SCRIPT_WORDS) {
			cnt[s]++;
			total++;
		}
	}
	memset(set, 0, SCRIPT_WORDS * sizeof(*set));
	for (s = 0; s < 64 * SCRIPT_WORDS; s++) {
		if (cnt[s] > top) {
			top = cnt[s];
			main_s = s;
		}
	}
	for (s = 0; s < 64 * SCRIPT_WORDS; s++) {
		uint64_t pct = total ? 100 * cnt[s] / total : 0;

		if (cnt[s] && (s == main_s ||
			       (pct >= 10 && (s != USCRIPT_LATIN || pct >= 25))))
			set[s >> 6] |= 1ULL << (s & 63);
	}
}

/* Moves `off` past the next whitespace within 32 bytes (if any), else to
 * a character start. */
static size_t snap_start(const struct tm_buf *t, size_t off)
{
	size_t i;

	for (i = off; i < t->len && i < off + 32; i++) {
		if (t->buf[i] == ' ' || t->buf[i] == '\n')
			return i + 1;
	}
	while (off < t->len && ((unsigned char)t->buf[off] & 0xc0) == 0x80)
		off++;
	return off;
}

/* Bytes of up to `cps` code points from `off`. */
static size_t span_bytes(const struct tm_buf *t, size_t off, int cps)
{
	size_t i = off;

	while (i < t->len && cps > 0) {
		i++;
		while (i < t->len && ((unsigned char)t->buf[i] & 0xc0) == 0x80)
			i++;
		cps--;
	}
	return i - off;
}

/*
 * One epoch's samples: per language, spans of alternately short and long
 * length at random places until its byte budget is drawn; then shuffled.
 */
static void draw_samples(const struct lang_text *v, int n,
			 const struct tm_lid_train_opts *o, uint64_t *rng,
			 struct sample **out, size_t *nout)
{
	struct sample *s = NULL;
	size_t ns = 0, cap = 0, i;
	int l;

	for (l = 0; l < n; l++) {
		const struct tm_buf *t = &v[l].text;
		size_t budget = TM_MAX(o->epoch_floor, TM_MIN(o->epoch_cap, t->len));
		size_t got = 0;
		bool shrt = false;

		while (got < budget) {
			int lo = shrt ? o->short_min : o->long_min;
			int hi = shrt ? o->short_max : o->long_max;
			int cps = lo + (int)(tm_lin_unit(rng) * (hi - lo + 1));
			size_t off = snap_start(t, (size_t)(tm_lin_unit(rng) * (double)t->len));
			size_t b = span_bytes(t, off, cps);

			shrt = !shrt;
			got += b ? b : 1;
			if (b < 2)
				continue;
			if (ns == cap) {
				cap = cap ? 2 * cap : 4096;
				s = tm_xrealloc(s, cap * sizeof(*s));
			}
			s[ns].lang = (uint32_t)l;
			s[ns].off = off;
			s[ns].len = (uint32_t)b;
			ns++;
		}
	}
	for (i = ns; i > 1; i--) {
		size_t j = (size_t)(tm_splitmix64(rng) % i);
		struct sample tmp = s[i - 1];

		s[i - 1] = s[j];
		s[j] = tmp;
	}
	*out = s;
	*nout = ns;
}

/*
 * One SGD step on one sample (softmax cross-entropy over the languages
 * the script prior allows); returns its loss, or -1 when skipped (no
 * letters, or the label's scripts are not the sample's).
 */
static double sgd_step(struct tm_lid_ctx *c, struct tm_lid_model *m, int label,
		       const char *text, size_t len, float lr, float *grad)
{
	int j, ok = 0;
	double p_label;

	features(c, text, len);
	if (!c->letters || !c->nfeat)
		return -1;
	script_prior(c);
	for (j = 0; j < c->nallowed; j++)
		ok |= c->allowed[j] == label;
	if (!ok)
		return -1;
	hidden(c);
	softmax(c);
	p_label = c->logit[label];
	tm_lin_sgd(m->w, m->ef, m->dim, c->h, c->logit, c->allowed, c->nallowed, label,
		   c->feat, c->nfeat, lr, grad);
	return -log(p_label > 1e-30 ? p_label : 1e-30);
}

/* Float table -> per-row int8 with a scale (max |v| / 127). */
static void quantize(struct tm_lid_model *m)
{
	m->eq = tm_lin_quantize(m->ef, (size_t)1 << m->bucket_bits, m->dim);
	free(m->ef);
	m->ef = NULL;
}

int tm_lid_train(const char *tsv, const struct tm_lid_train_opts *o,
		 struct tm_lid_model **out, struct tm_err *err)
{
	struct lang_text *v;
	struct tm_lid_model *m;
	struct tm_lid_ctx *c;
	uint64_t rng = o->seed ^ 0x5deece66dULL;
	float *grad;
	int n, l, keep, epoch, rc;
	size_t nb, i;

	*out = NULL;
	if (o->dim < 4 || o->dim > 1024 || o->dim % 4 || o->bucket_bits < 8 || o->bucket_bits > 30 ||
	    o->minn < 1 || o->maxn < o->minn || o->maxn > 7 || o->epochs < 1 ||
	    !(o->lr > 0) || o->max_word < 0 || o->short_min < 1 ||
	    o->short_max < o->short_min || o->long_min < 1 || o->long_max < o->long_min)
		return tm_err_set(err, TM_EINVAL, NULL, TM_ERR_NO_OFFSET, 0,
				  "training options out of range");
	if ((rc = read_tsv(tsv, &v, &n, err)) < 0)
		return rc;
	for (l = keep = 0; l < n; l++) {
		if (v[l].text.len >= o->min_bytes)
			v[keep++] = v[l];
		else
			tm_buf_release(&v[l].text);
	}
	n = keep;
	if (!n) {
		free(v);
		return tm_err_set(err, TM_EINVAL, tsv, TM_ERR_NO_OFFSET, 0,
				  "no language has %zu bytes of text to train on",
				  o->min_bytes);
	}
	m = tm_xcalloc(1, sizeof(*m));
	m->nlang = n;
	m->dim = o->dim;
	m->bucket_bits = o->bucket_bits;
	m->minn = o->minn;
	m->maxn = o->maxn;
	m->max_word = o->max_word;
	m->seed = o->seed * 0x9e3779b97f4a7c15ULL + 0x243f6a8885a308d3ULL;
	m->codes = tm_xcalloc((size_t)n, sizeof(*m->codes));
	m->scripts = tm_xcalloc((size_t)n, sizeof(*m->scripts));
	m->logsize = tm_xcalloc((size_t)n, sizeof(*m->logsize));
	m->w = tm_xcalloc((size_t)n * o->dim, sizeof(*m->w));
	nb = (size_t)1 << o->bucket_bits;
	m->ef = tm_xmalloc(nb * o->dim * sizeof(*m->ef));
	tm_lin_init_rows(m->ef, nb * o->dim, o->dim, &rng);
	for (l = 0; l < n; l++) {
		memcpy(m->codes[l], v[l].code, TM_LID_CODE_MAX);
		lang_scripts(&v[l].text, m->scripts[l]);
		m->logsize[l] = (float)log((double)v[l].text.len);
	}
	/* samples are balanced: learn without the prior, store it for use */
	tm_lid_set_prior(m, 0);
	c = tm_lid_ctx_new(m);
	c->stream = false;
	grad = tm_xcalloc((size_t)o->dim, sizeof(*grad));
	for (epoch = 0; epoch < o->epochs; epoch++) {
		struct sample *s;
		size_t ns, nloss = 0;
		double loss = 0;

		draw_samples(v, n, o, &rng, &s, &ns);
		for (i = 0; i < ns; i++) {
			double frac = ((double)epoch + (double)i / (double)ns) / o->epochs;
			float lr = (float)(o->lr * (1.0 - frac));
			double x = sgd_step(c, m, (int)s[i].lang,
					    v[s[i].lang].text.buf + s[i].off, s[i].len,
					    lr, grad);

			if (x >= 0) {
				loss += x;
				nloss++;
			}
			if (o->progress && (i % 20000 == 19999 || i + 1 == ns)) {
				o->progress(o->progress_arg, epoch + 1,
					    i + 1 == ns ? (epoch + 1.0) / o->epochs : frac,
					    nloss ? loss / (double)nloss : 0);
				loss = 0;
				nloss = 0;
			}
		}
		free(s);
	}
	free(grad);
	tm_lid_ctx_free(c);
	for (l = 0; l < n; l++)
		tm_buf_release(&v[l].text);
	free(v);
	quantize(m);
	tm_lid_set_prior(m, (float)o->prior);
	*out = m;
	return 0;
}
