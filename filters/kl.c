/*
 * kl.c: the kl filter (Llama 3: "token-distribution Kullback-Leibler
 * divergence to filter out documents containing excessive numbers of
 * outlier tokens compared to the training corpus distribution"), and
 * building its reference files (kl.h).
 */
#include "tamis.h"
#include "filter.h"
#include "kl.h"
#include "lexicon.h"
#include "stream.h"

#include <math.h>

#define CODE_MAX 32
#define CLOGC_TABLE 1024	/* c log c by table below this */

/* ---------------------------------------------------------------- building */

struct bentry {
	uint64_t hash, count;
	uint32_t off, len;	/* the word in b->arena */
};

struct tm_unigram_builder {
	struct bentry *t;	/* open addressing; count 0: empty */
	size_t mask, n, max_types;
	struct tm_buf arena;
	uint64_t words, dropped;
};

struct tm_unigram_builder *tm_unigram_builder_new(size_t max_types)
{
	struct tm_unigram_builder *b = tm_xcalloc(1, sizeof(*b));

	b->max_types = max_types ? max_types : 8u << 20;
	b->mask = 4095;
	b->t = tm_xcalloc(b->mask + 1, sizeof(*b->t));
	tm_buf_init(&b->arena, 1 << 16);
	return b;
}

void tm_unigram_builder_free(struct tm_unigram_builder *b)
{
	if (!b)
		return;
	free(b->t);
	tm_buf_release(&b->arena);
	free(b);
}

uint64_t tm_unigram_builder_words(const struct tm_unigram_builder *b)
{
	return b->words;
}

size_t tm_unigram_builder_types(const struct tm_unigram_builder *b)
{
	return b->n;
}

uint64_t tm_unigram_builder_dropped(const struct tm_unigram_builder *b)
{
	return b->dropped;
}

/* Rebuilds the table with `cap` buckets, keeping entries with count > floor. */
static void rebuild(struct tm_unigram_builder *b, size_t cap, uint64_t floor)
{
	struct bentry *old = b->t;
	struct tm_buf arena = TM_BUF_INIT;
	size_t i, oldcap = b->mask + 1;

	b->t = tm_xcalloc(cap, sizeof(*b->t));
	b->mask = cap - 1;
	b->n = 0;
	tm_buf_init(&arena, b->arena.len + 1);
	for (i = 0; i < oldcap; i++) {
		struct bentry e = old[i];
		size_t j;

		if (e.count <= floor)
			continue;
		for (j = e.hash & b->mask; b->t[j].count; j = (j + 1) & b->mask)
			;
		tm_buf_add(&arena, b->arena.buf + e.off, e.len);
		e.off = (uint32_t)(arena.len - e.len);
		b->t[j] = e;
		b->n++;
	}
	free(old);
	tm_buf_release(&b->arena);
	b->arena = arena;
}

static int by_count(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Drops the rarest words until at most half of max_types remain. */
static void prune(struct tm_unigram_builder *b)
{
	uint64_t *c = tm_xmalloc(b->n * sizeof(*c)), floor;
	size_t i, k = 0;

	for (i = 0; i <= b->mask; i++)
		if (b->t[i].count)
			c[k++] = b->t[i].count;
	qsort(c, k, sizeof(*c), by_count);
	floor = c[k - b->max_types / 2 - 1];
	free(c);
	if (floor > b->dropped)
		b->dropped = floor;
	rebuild(b, b->mask + 1, floor);
}

void tm_unigram_builder_add(struct tm_unigram_builder *b, const char *text, size_t len)
{
	struct tm_lex_iter it;

	tm_lex_iter_init(&it, text, len, true);
	while (tm_lex_next(&it)) {
		uint64_t h;
		size_t j;

		if (it.too_long)
			continue;
		h = tm_lex_hash(it.fold, it.flen);
		b->words++;
		for (j = h & b->mask; b->t[j].count; j = (j + 1) & b->mask) {
			struct bentry *e = &b->t[j];

			if (e->hash == h && e->len == it.flen &&
			    !memcmp(b->arena.buf + e->off, it.fold, it.flen))
				break;
		}
		if (b->t[j].count) {
			b->t[j].count++;
			continue;
		}
		if (b->arena.len + it.flen > UINT32_MAX)
			BUG("unigram builder: over 4 GiB of distinct words");
		b->t[j].hash = h;
		b->t[j].count = 1;
		b->t[j].off = (uint32_t)b->arena.len;
		b->t[j].len = (uint32_t)it.flen;
		tm_buf_add(&b->arena, it.fold, it.flen);
		b->n++;
		if (b->n > b->max_types)
			prune(b);
		else if (2 * b->n > b->mask + 1)
			rebuild(b, 2 * (b->mask + 1), 0);
	}
}

static int by_frequency(const void *a, const void *b, void *arg)
{
	const struct bentry *x = a, *y = b;
	const char *words = arg;
	int c;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	c = memcmp(words + x->off, words + y->off, TM_MIN(x->len, y->len));
	return c ? c : (x->len > y->len) - (x->len < y->len);
}

int tm_unigram_builder_write(const struct tm_unigram_builder *b, const char *path, size_t top,
			     uint64_t min_count, const char *comment, struct tm_err *err)
{
	struct bentry *v = tm_xmalloc((b->n ? b->n : 1) * sizeof(*v));
	struct tm_writer *w;
	struct tm_buf out = TM_BUF_INIT;
	size_t i, k = 0;
	int rc;

	for (i = 0; i <= b->mask; i++)
		if (b->t[i].count && b->t[i].count >= min_count)
			v[k++] = b->t[i];
	qsort_r(v, k, sizeof(*v), by_frequency, b->arena.buf);
	if (top && k > top)
		k = top;
	while (comment && *comment) {
		size_t l = strcspn(comment, "\n");

		tm_buf_addf(&out, "# %.*s\n", (int)l, comment);
		comment += l + (comment[l] == '\n');
	}
	if ((rc = tm_writer_open(path, TM_CODEC_AUTO, 0, &w, err)) < 0) {
		free(v);
		tm_buf_release(&out);
		return rc;
	}
	for (i = 0; i < k && !rc; i++) {
		tm_buf_add(&out, b->arena.buf + v[i].off, v[i].len);
		tm_buf_addf(&out, "\t%" PRIu64 "\n", v[i].count);
		if (out.len >= 1 << 16 || i + 1 == k) {
			rc = tm_writer_write(w, out.buf, out.len, err);
			tm_buf_reset(&out);
		}
	}
	if (!rc && out.len)
		rc = tm_writer_write(w, out.buf, out.len, err);
	if (rc)
		tm_writer_abort(w);
	else
		rc = tm_writer_commit(w, err);
	free(v);
	tm_buf_release(&out);
	return rc;
}

/* ---------------------------------------------------------------- the filter */

static const struct tm_fparam params[] = {
	{ "languages", TM_INI_STRING, "en",
	  "languages with a reference, comma-separated: unigram-<lang>.tsv in the data directory",
	  "Llama 3 (one reference: the training distribution); English from SymSpell's counts" },
	{ "threshold", TM_INI_FLOAT, "4.0",
	  "remove documents whose KL(document || reference) in nats is above this",
	  "measured here on extracted web text vs lists, tables, code, keyword spam" },
	{ "window", TM_INI_INT, "100",
	  "words per window: the score is the mean KL of the document's windows; shorter documents are not judged",
	  "measured here: a fixed window makes the KL independent of the document's length" },
	{ "unknown_mass", TM_INI_FLOAT, "0.01",
	  "reference probability of all the words outside it together",
	  "measured here (share of unknown words in extracted English text)" },
};

static const char *const reasons[] = { "token_kl", NULL };

/*
 * A reference: words numbered by frequency rank; the HOT most frequent
 * in a map of their own, small enough to stay in cache (they are most of
 * any text's words), the others in a second map.
 */
#define HOT 16384

struct ref {
	char code[CODE_MAX];
	struct tm_lex_map *hot, *cold;	/* word -> rank */
	float *logq;			/* log Q(w), by rank */
	size_t n;
};

/* A reference while its file is read: words in file order. */
struct loading {
	struct tm_lex_map *map;		/* word -> line index */
	uint64_t *key;
	double *count;
	size_t n;
};

struct kl {
	struct ref *refs;
	size_t nrefs, maxn;
	double threshold, mass, log_mass;
	int64_t window;
	double clogc[CLOGC_TABLE];
};

struct scratch {
	uint32_t *count;	/* by reference index */
	uint32_t *touched;
	size_t cap;
};

static int add_ref_word(void *arg, char *line, size_t len)
{
	struct loading *r = arg;
	char *tab = memrchr(line, '\t', len), *end;
	struct tm_lex_iter it;
	unsigned long long c;
	uint32_t idx;

	if (!tab)
		return 0;
	errno = 0;
	c = strtoull(tab + 1, &end, 10);
	if (errno || end == tab + 1 || *end || !c)
		return 0;
	tm_lex_iter_init(&it, line, (size_t)(tab - line), true);
	if (!tm_lex_next(&it) || it.too_long || it.end != (size_t)(tab - line) || it.off)
		return 0;
	if (tm_lex_map_get(r->map, tm_lex_key(&it), &idx)) {
		r->count[idx] += (double)c;	/* two lines fold to one word */
		return 0;
	}
	if (r->n > TM_LEX_VALUE_MAX)
		return TM_ETOOBIG;
	tm_lex_map_put(r->map, tm_lex_key(&it), (uint32_t)r->n, 0);
	if ((r->n & (r->n - 1)) == 0) {
		r->count = tm_xrealloc(r->count, (r->n ? 2 * r->n : 1) * sizeof(*r->count));
		r->key = tm_xrealloc(r->key, (r->n ? 2 * r->n : 1) * sizeof(*r->key));
	}
	r->key[r->n] = tm_lex_key(&it);
	r->count[r->n++] = (double)c;
	return 0;
}

static int by_count_desc(const void *a, const void *b, void *arg)
{
	const double *c = arg;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	if (c[x] != c[y])
		return c[x] > c[y] ? -1 : 1;
	return (x > y) - (x < y);
}

/* Numbers the loaded words by rank into r: maps and log Q(w). */
static void rank_words(struct ref *r, const struct loading *ld, double mass)
{
	uint32_t *order = tm_xmalloc((ld->n ? ld->n : 1) * sizeof(*order));
	double total = 0;
	size_t i;

	for (i = 0; i < ld->n; i++) {
		order[i] = (uint32_t)i;
		total += ld->count[i];
	}
	qsort_r(order, ld->n, sizeof(*order), by_count_desc, ld->count);
	r->n = ld->n;
	r->logq = tm_xmalloc((ld->n ? ld->n : 1) * sizeof(*r->logq));
	r->hot = tm_lex_map_new(HOT, false);
	r->cold = tm_lex_map_new(ld->n > HOT ? ld->n - HOT : 1, false);
	for (i = 0; i < ld->n; i++) {
		tm_lex_map_put(i < HOT ? r->hot : r->cold, ld->key[order[i]], (uint32_t)i, 0);
		r->logq[i] = (float)log((1 - mass) * ld->count[order[i]] / total);
	}
	free(order);
}

static void destroy(void *state)
{
	struct kl *k = state;
	size_t i;

	if (!k)
		return;
	for (i = 0; i < k->nrefs; i++) {
		tm_lex_map_free(k->refs[i].hot);
		tm_lex_map_free(k->refs[i].cold);
		free(k->refs[i].logq);
	}
	free(k->refs);
	free(k);
}

static int load_ref(struct kl *k, const char *data_dir, const char *code, struct tm_err *err)
{
	struct tm_buf name = TM_BUF_INIT, path = TM_BUF_INIT;
	struct loading ld = { NULL, NULL, NULL, 0 };
	struct ref *r;
	int rc;

	if (!code[0] || strlen(code) >= CODE_MAX || strchr(code, '/'))
		return tm_err_set(err, TM_ECONFIG, NULL, TM_ERR_NO_OFFSET, 0,
				  "[filter \"kl\"] languages: '%s' is not a language code", code);
	k->refs = tm_xrealloc(k->refs, (k->nrefs + 1) * sizeof(*k->refs));
	r = &k->refs[k->nrefs++];
	memset(r, 0, sizeof(*r));
	memcpy(r->code, code, strlen(code) + 1);
	ld.map = tm_lex_map_new(1 << 16, false);
	tm_buf_addf(&name, "unigram-%s.tsv", code);
	tm_filter_data_path(data_dir, name.buf, &path);
	rc = tm_lex_read_list(path.buf, add_ref_word, &ld, err);
	if (rc == TM_ETOOBIG)
		rc = tm_err_set(err, TM_EFORMAT, path.buf, TM_ERR_NO_OFFSET, 0,
				"more than %u words in a reference", TM_LEX_VALUE_MAX);
	if (!rc && !ld.n)
		rc = tm_err_set(err, TM_EFORMAT, path.buf, TM_ERR_NO_OFFSET, 0,
				"no 'word<TAB>count' line in the reference");
	rank_words(r, &ld, k->mass);
	if (r->n > k->maxn)
		k->maxn = r->n;
	tm_lex_map_free(ld.map);
	free(ld.key);
	free(ld.count);
	tm_buf_release(&name);
	tm_buf_release(&path);
	return rc;
}

struct loading_all {
	struct kl *k;
	const char *data_dir;
	struct tm_err *err;
};

static int load_named(void *arg, const char *name)
{
	struct loading_all *ld = arg;

	return load_ref(ld->k, ld->data_dir, name, ld->err);
}

static void *create(const union tm_fvalue *v, const char *data_dir, struct tm_err *err)
{
	struct kl *k = tm_xcalloc(1, sizeof(*k));
	int rc = 0, c;

	k->threshold = v[1].f;
	k->window = v[2].i;
	k->mass = v[3].f;
	if (!(k->mass > 0 && k->mass < 1))
		rc = tm_err_set(err, TM_ECONFIG, NULL, TM_ERR_NO_OFFSET, 0,
				"[filter \"kl\"] unknown_mass: expected a number between 0 and 1 "
				"(both excluded), got %g", k->mass);
	if (!rc && k->window < 1)
		rc = tm_err_set(err, TM_ECONFIG, NULL, TM_ERR_NO_OFFSET, 0,
				"[filter \"kl\"] window: expected 1 or more, got %" PRId64, k->window);
	k->log_mass = log(k->mass);
	for (c = 1; c < CLOGC_TABLE; c++)
		k->clogc[c] = c * log(c);
	if (!rc) {
		struct loading_all ld = { k, data_dir, err };

		rc = tm_lex_each_name(v[0].s, load_named, &ld);
	}
	if (rc) {
		destroy(k);
		return NULL;
	}
	return k;
}

static void *scratch_new(const void *state)
{
	const struct kl *k = state;
	struct scratch *s = tm_xcalloc(1, sizeof(*s));

	s->cap = k->maxn;
	s->count = tm_xcalloc(s->cap ? s->cap : 1, sizeof(*s->count));
	s->touched = tm_xmalloc((s->cap ? s->cap : 1) * sizeof(*s->touched));
	return s;
}

static void scratch_free(void *scratch)
{
	struct scratch *s = scratch;

	if (!s)
		return;
	free(s->count);
	free(s->touched);
	free(s);
}

static inline double clogc(const struct kl *k, uint64_t c)
{
	return c < CLOGC_TABLE ? k->clogc[c] : (double)c * log((double)c);
}

/*
 * The KL of one window of n words (u unknown), from the counts of its
 * touched reference words and the sum of their log Q over its tokens:
 *     sum P log P - sum P log Q, with P = c / n,
 *   = (1/n) (sum c log c) - log n - (1/n) (sum over tokens of log Q).
 * The counts are reset.
 */
static double window_kl(const struct kl *k, struct scratch *s, size_t nt, uint64_t n, uint64_t u,
			double sum_logq)
{
	double sum_clogc = clogc(k, u);
	size_t i;

	for (i = 0; i < nt; i++) {
		sum_clogc += clogc(k, s->count[s->touched[i]]);
		s->count[s->touched[i]] = 0;
	}
	sum_logq += (double)u * k->log_mass;
	return sum_clogc / (double)n - log((double)n) - sum_logq / (double)n;
}

static void apply(const void *state, void *scratch, struct tm_ftext *t, struct tm_fresult *res)
{
	const struct kl *k = state;
	struct scratch *s = scratch;
	long ri = k->nrefs ? tm_lex_lang_pick(t->lang, k->refs[0].code, k->nrefs,
					      sizeof(*k->refs)) : -1;
	const struct ref *r;
	const struct tm_lex_word *words;
	uint64_t n = 0, unk = 0, wn = 0, wu = 0, windows = 0;
	size_t nt = 0, i, nw;
	double sum_logq = 0, sum_kl = 0, kl;

	tm_fresult_score(res, "no_reference", ri < 0);
	if (ri < 0)
		return;
	r = &k->refs[ri];
	words = tm_lex_words(t, &nw);
	for (i = 0; i < nw; i++) {
		uint64_t key = words[i].key;
		uint32_t idx;

		/* one word ahead: the lookups miss the cache but for frequent words */
		if (i + 1 < nw) {
			tm_lex_map_prefetch(r->hot, words[i + 1].key);
			tm_lex_map_prefetch(r->cold, words[i + 1].key);
		}
		n++;
		wn++;
		if (!tm_lex_map_get(r->hot, key, &idx) && !tm_lex_map_get(r->cold, key, &idx)) {
			unk++;
			wu++;
		} else {
			if (!s->count[idx]++)
				s->touched[nt++] = idx;
			sum_logq += r->logq[idx];
		}
		if (wn == (uint64_t)k->window) {
			sum_kl += window_kl(k, s, nt, wn, wu, sum_logq);
			windows++;
			nt = 0;
			wn = wu = 0;
			sum_logq = 0;
		}
	}
	/* the words after the last full window are not judged */
	for (i = 0; i < nt; i++)
		s->count[s->touched[i]] = 0;
	tm_fresult_score(res, "words", (double)n);
	if (!windows)
		return;
	kl = sum_kl / (double)windows;
	tm_fresult_score(res, "kl", kl);
	tm_fresult_score(res, "unknown", (double)unk / (double)n);
	if (kl > k->threshold)
		res->reason = "token_kl";
}

const struct tm_filter_def tm_filter_kl = {
	.name = "kl",
	.about = "remove documents whose word distribution is far from the reference (Llama 3)",
	.langs = "those with a unigram-<lang>.tsv reference (shipped: en)",
	.params = params,
	.nparams = TM_ARRAY_SIZE(params),
	.reasons = reasons,
	.create = create,
	.destroy = destroy,
	.scratch_new = scratch_new,
	.scratch_free = scratch_free,
	.apply = apply,
};
