/*
 * bpetrain.c: byte-level BPE training (bpetrain.h for the contract).
 *
 * The classic algorithm over distinct pieces with counts: pair counts in
 * a hash table, for each pair the list of pieces that held it when it was
 * counted (entries go stale as pieces change; a stale entry only costs a
 * scan), and a max-heap of (count, pair) updated lazily: an entry popped
 * whose count is no longer the pair's is pushed again with the current
 * count, so the first entry that agrees is the true maximum.  A merge
 * takes each piece on the pair's list once, removes the piece's pairs,
 * rewrites it and adds its pairs back; pairs with the new token are
 * pushed on the heap.
 */
#include "bpetrain.h"
#include "buf.h"
#include "err.h"
#include "tamis.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

/* ---------------------------------------------------------------- hash map */

/* 128-bit keys (never both zero) to 32-bit values; grows by rehashing. */
struct map {
	uint64_t *k1, *k2;
	uint32_t *v;
	size_t cap, n;
};

static void map_init(struct map *m, size_t cap)
{
	m->cap = cap;
	m->n = 0;
	m->k1 = tm_xcalloc(cap, sizeof(*m->k1));
	m->k2 = tm_xcalloc(cap, sizeof(*m->k2));
	m->v = tm_xmalloc(cap * sizeof(*m->v));
}

static void map_release(struct map *m)
{
	free(m->k1);
	free(m->k2);
	free(m->v);
}

static size_t map_slot(const struct map *m, uint64_t k1, uint64_t k2)
{
	size_t i = k1 & (m->cap - 1);

	while ((m->k1[i] || m->k2[i]) && (m->k1[i] != k1 || m->k2[i] != k2))
		i = (i + 1) & (m->cap - 1);
	return i;
}

/* The value of the key, or UINT32_MAX. */
static uint32_t map_get(const struct map *m, uint64_t k1, uint64_t k2)
{
	size_t i = map_slot(m, k1, k2);

	return m->k1[i] || m->k2[i] ? m->v[i] : UINT32_MAX;
}

static void map_put(struct map *m, uint64_t k1, uint64_t k2, uint32_t v)
{
	size_t i;

	if ((m->n + 1) * 2 > m->cap) {
		struct map old = *m;

		map_init(m, old.cap * 2);
		for (i = 0; i < old.cap; i++)
			if (old.k1[i] || old.k2[i])
				map_put(m, old.k1[i], old.k2[i], old.v[i]);
		map_release(&old);
	}
	i = map_slot(m, k1, k2);
	if (!m->k1[i] && !m->k2[i])
		m->n++;
	m->k1[i] = k1;
	m->k2[i] = k2;
	m->v[i] = v;
}

static void bytes_key(const void *p, size_t n, uint64_t *k1, uint64_t *k2)
{
	XXH128_hash_t h = XXH3_128bits(p, n);

	*k1 = h.low64;
	*k2 = h.high64;
	if (!*k1 && !*k2)
		*k1 = 1;
}

static void pair_key(uint32_t a, uint32_t b, uint64_t *k1, uint64_t *k2)
{
	uint64_t x = (uint64_t)a << 32 | b;

	*k2 = x + 1;
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	*k1 = x;
}

/* ---------------------------------------------------------------- trainer */

struct word {
	uint64_t off;		/* its symbols: syms[off .. off + len) */
	uint32_t len;
	uint32_t stamp;		/* the last merge that visited it */
	int64_t count;
};

struct pair {
	int64_t count;
	uint32_t a, b;
	uint32_t *where;	/* words that held the pair */
	uint32_t nwhere, awhere;
	uint32_t stamp;
};

struct hent {
	int64_t count;
	uint32_t a, b;
	uint32_t pair;
};

struct tm_bpe_train {
	enum tm_bpe_pattern pat;
	struct map pieces;	/* piece bytes -> word index */
	struct word *words;
	size_t nwords, awords;
	uint32_t *syms;
	size_t nsyms, asyms;
	uint64_t total;
	struct tm_buf clean;
	/* training */
	struct map pairmap;	/* (a, b) -> pair index */
	struct pair *pairs;
	size_t npairs, apairs;
	struct hent *heap;
	size_t nheap, aheap;
	struct map tokmap;	/* token bytes -> id */
	struct tm_buf tokbytes;
	uint32_t *tokoff;	/* id: tokbytes[tokoff[id] .. tokoff[id + 1]) */
	uint32_t ntok;
	size_t where_bytes;
	size_t peak;		/* the most tm_bpe_train_bytes() was at a check */
	bool ran;
};

struct tm_bpe_train *tm_bpe_train_new(enum tm_bpe_pattern pat)
{
	struct tm_bpe_train *t = tm_xcalloc(1, sizeof(*t));

	t->pat = pat;
	map_init(&t->pieces, 1 << 16);
	tm_buf_init(&t->clean, 0);
	tm_buf_init(&t->tokbytes, 0);
	return t;
}

void tm_bpe_train_free(struct tm_bpe_train *t)
{
	size_t i;

	if (!t)
		return;
	map_release(&t->pieces);
	free(t->words);
	free(t->syms);
	tm_buf_release(&t->clean);
	if (t->ran) {
		map_release(&t->pairmap);
		map_release(&t->tokmap);
	}
	for (i = 0; i < t->npairs; i++)
		free(t->pairs[i].where);
	free(t->pairs);
	free(t->heap);
	tm_buf_release(&t->tokbytes);
	free(t->tokoff);
	free(t);
}

static void add_piece(void *arg, const char *p, size_t n)
{
	struct tm_bpe_train *t = arg;
	uint64_t k1, k2;
	uint32_t w;
	size_t i;

	t->total++;
	bytes_key(p, n, &k1, &k2);
	if ((w = map_get(&t->pieces, k1, k2)) != UINT32_MAX) {
		t->words[w].count++;
		return;
	}
	if (t->nwords == t->awords) {
		t->awords = t->awords ? t->awords * 2 : 4096;
		t->words = tm_xrealloc(t->words, t->awords * sizeof(*t->words));
	}
	while (t->nsyms + n > t->asyms) {
		t->asyms = t->asyms ? t->asyms * 2 : 1 << 16;
		t->syms = tm_xrealloc(t->syms, t->asyms * sizeof(*t->syms));
	}
	w = (uint32_t)t->nwords++;
	t->words[w].off = t->nsyms;
	t->words[w].len = (uint32_t)n;
	t->words[w].stamp = 0;
	t->words[w].count = 1;
	for (i = 0; i < n; i++)
		t->syms[t->nsyms++] = (unsigned char)p[i];
	map_put(&t->pieces, k1, k2, w);
}

void tm_bpe_train_add(struct tm_bpe_train *t, const char *s, size_t len)
{
	tm_buf_reset(&t->clean);
	if (tm_utf8_sanitize(s, len, &t->clean)) {
		s = t->clean.buf;
		len = t->clean.len;
	}
	tm_bpe_split(t->pat, s, len, add_piece, t);
}

size_t tm_bpe_train_npieces(const struct tm_bpe_train *t, uint64_t *total)
{
	if (total)
		*total = t->total;
	return t->nwords;
}

size_t tm_bpe_train_bytes(const struct tm_bpe_train *t)
{
	size_t b = sizeof(*t);

	b += t->pieces.cap * 20 + t->awords * sizeof(*t->words) + t->asyms * 4;
	b += t->clean.alloc + t->tokbytes.alloc;
	if (t->ran)
		b += t->pairmap.cap * 20 + t->tokmap.cap * 20;
	b += t->apairs * sizeof(*t->pairs) + t->aheap * sizeof(*t->heap) + t->where_bytes;
	b += (size_t)t->ntok * 4;
	return TM_MAX(b, t->peak);
}

/* ---------------------------------------------------------------- heap */

static bool hent_before(const struct hent *x, const struct hent *y)
{
	if (x->count != y->count)
		return x->count > y->count;
	if (x->a != y->a)
		return x->a < y->a;
	return x->b < y->b;
}

static void heap_push(struct tm_bpe_train *t, uint32_t p)
{
	struct hent e = { t->pairs[p].count, t->pairs[p].a, t->pairs[p].b, p };
	size_t i;

	if (t->nheap == t->aheap) {
		t->aheap = t->aheap ? t->aheap * 2 : 1 << 16;
		t->heap = tm_xrealloc(t->heap, t->aheap * sizeof(*t->heap));
	}
	i = t->nheap++;
	while (i && hent_before(&e, &t->heap[(i - 1) / 2])) {
		t->heap[i] = t->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	t->heap[i] = e;
}

static struct hent heap_pop(struct tm_bpe_train *t)
{
	struct hent top = t->heap[0], last = t->heap[--t->nheap];
	size_t i = 0, c;

	for (;;) {
		c = 2 * i + 1;
		if (c >= t->nheap)
			break;
		if (c + 1 < t->nheap && hent_before(&t->heap[c + 1], &t->heap[c]))
			c++;
		if (!hent_before(&t->heap[c], &last))
			break;
		t->heap[i] = t->heap[c];
		i = c;
	}
	if (t->nheap)
		t->heap[i] = last;
	return top;
}

/* ---------------------------------------------------------------- pairs */

static uint32_t pair_get(struct tm_bpe_train *t, uint32_t a, uint32_t b, bool create)
{
	uint64_t k1, k2;
	uint32_t p;

	pair_key(a, b, &k1, &k2);
	if ((p = map_get(&t->pairmap, k1, k2)) != UINT32_MAX || !create)
		return p;
	if (t->npairs == t->apairs) {
		t->apairs = t->apairs ? t->apairs * 2 : 1 << 16;
		t->pairs = tm_xrealloc(t->pairs, t->apairs * sizeof(*t->pairs));
	}
	p = (uint32_t)t->npairs++;
	memset(&t->pairs[p], 0, sizeof(t->pairs[p]));
	t->pairs[p].a = a;
	t->pairs[p].b = b;
	map_put(&t->pairmap, k1, k2, p);
	return p;
}

static void where_add(struct tm_bpe_train *t, uint32_t p, uint32_t w)
{
	struct pair *q = &t->pairs[p];

	if (q->nwhere && q->where[q->nwhere - 1] == w)
		return;
	if (q->nwhere == q->awhere) {
		uint32_t na = q->awhere ? q->awhere * 2 : 2;

		t->where_bytes += (size_t)(na - q->awhere) * 4;
		q->where = tm_xrealloc(q->where, na * sizeof(*q->where));
		q->awhere = na;
	}
	q->where[q->nwhere++] = w;
}

static uint32_t new_token(struct tm_bpe_train *t, const void *bytes, size_t n)
{
	uint64_t k1, k2;
	uint32_t id;

	bytes_key(bytes, n, &k1, &k2);
	if ((id = map_get(&t->tokmap, k1, k2)) != UINT32_MAX)
		return id;
	id = t->ntok++;
	tm_buf_add(&t->tokbytes, bytes, n);
	t->tokoff = tm_xrealloc(t->tokoff, (t->ntok + 1) * sizeof(*t->tokoff));
	t->tokoff[t->ntok] = (uint32_t)t->tokbytes.len;
	map_put(&t->tokmap, k1, k2, id);
	return id;
}

/* Merges pair p (a, b) into z everywhere; pushes the pairs made with z. */
static void merge(struct tm_bpe_train *t, uint32_t p, uint32_t z, uint32_t stamp)
{
	uint32_t a = t->pairs[p].a, b = t->pairs[p].b;
	uint32_t *where = t->pairs[p].where, nwhere = t->pairs[p].nwhere, k;
	uint32_t *touched = NULL;
	size_t ntouched = 0, atouched = 0, i, j;

	for (k = 0; k < nwhere; k++) {
		uint32_t w = where[k];
		struct word *wd = &t->words[w];
		uint32_t *s = t->syms + wd->off, n = wd->len;
		bool found = false;

		if (wd->stamp == stamp)
			continue;
		wd->stamp = stamp;
		for (i = 0; i + 1 < n && !found; i++)
			found = s[i] == a && s[i + 1] == b;
		if (!found)
			continue;
		for (i = 0; i + 1 < n; i++)
			t->pairs[pair_get(t, s[i], s[i + 1], false)].count -= wd->count;
		for (i = 0, j = 0; i < n; j++) {
			if (i + 1 < n && s[i] == a && s[i + 1] == b) {
				s[j] = z;
				i += 2;
			} else {
				s[j] = s[i++];
			}
		}
		wd->len = n = (uint32_t)j;
		for (i = 0; i + 1 < n; i++) {
			uint32_t q = pair_get(t, s[i], s[i + 1], true);

			t->pairs[q].count += wd->count;
			if (s[i] != z && s[i + 1] != z)
				continue;
			where_add(t, q, w);
			if (t->pairs[q].stamp != stamp) {
				t->pairs[q].stamp = stamp;
				if (ntouched == atouched) {
					atouched = atouched ? atouched * 2 : 64;
					touched = tm_xrealloc(touched, atouched * sizeof(*touched));
				}
				touched[ntouched++] = q;
			}
		}
	}
	for (i = 0; i < ntouched; i++)
		if (t->pairs[touched[i]].count > 0)
			heap_push(t, touched[i]);
	free(touched);
	t->where_bytes -= (size_t)t->pairs[p].awhere * 4;
	free(t->pairs[p].where);
	t->pairs[p].where = NULL;
	t->pairs[p].nwhere = t->pairs[p].awhere = 0;
}

static void b64encode(const unsigned char *s, size_t n, struct tm_buf *out)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];

		tm_buf_addch(out, tab[v >> 18]);
		tm_buf_addch(out, tab[(v >> 12) & 63]);
		tm_buf_addch(out, tab[(v >> 6) & 63]);
		tm_buf_addch(out, tab[v & 63]);
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)s[i] << 16;

		tm_buf_addch(out, tab[v >> 18]);
		tm_buf_addch(out, tab[(v >> 12) & 63]);
		tm_buf_addstr(out, "==");
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8;

		tm_buf_addch(out, tab[v >> 18]);
		tm_buf_addch(out, tab[(v >> 12) & 63]);
		tm_buf_addch(out, tab[(v >> 6) & 63]);
		tm_buf_addch(out, '=');
	}
}

long tm_bpe_train_run(struct tm_bpe_train *t, uint32_t vocab_size, struct tm_buf *out,
		      void (*progress)(void *arg, uint32_t ntokens), void *arg,
		      struct tm_err *err)
{
	struct tm_buf cat = TM_BUF_INIT;
	uint32_t stamp = 0, id;
	size_t w, i;

	if (t->ran)
		return tm_err_set(err, TM_EINVAL, NULL, TM_ERR_NO_OFFSET, 0,
				  "a trainer runs once");
	if (vocab_size < 256)
		return tm_err_set(err, TM_EINVAL, NULL, TM_ERR_NO_OFFSET, 0,
				  "the vocabulary size must be at least 256, got %u", vocab_size);
	t->ran = true;
	map_init(&t->pairmap, 1 << 16);
	map_init(&t->tokmap, 1024);
	t->tokoff = tm_xcalloc(1, sizeof(*t->tokoff));
	for (i = 0; i < 256; i++) {
		unsigned char c = (unsigned char)i;

		new_token(t, &c, 1);
	}
	for (w = 0; w < t->nwords; w++) {
		const uint32_t *s = t->syms + t->words[w].off;

		for (i = 0; i + 1 < t->words[w].len; i++) {
			uint32_t p = pair_get(t, s[i], s[i + 1], true);

			t->pairs[p].count += t->words[w].count;
			where_add(t, p, (uint32_t)w);
		}
	}
	for (i = 0; i < t->npairs; i++)
		heap_push(t, (uint32_t)i);
	t->peak = tm_bpe_train_bytes(t);
	while (t->ntok < vocab_size && t->nheap) {
		struct hent e = heap_pop(t);
		struct pair *q = &t->pairs[e.pair];

		if (q->count <= 0)
			continue;
		if (q->count != e.count) {
			heap_push(t, e.pair);
			continue;
		}
		tm_buf_reset(&cat);
		tm_buf_add(&cat, t->tokbytes.buf + t->tokoff[e.a], t->tokoff[e.a + 1] - t->tokoff[e.a]);
		tm_buf_add(&cat, t->tokbytes.buf + t->tokoff[e.b], t->tokoff[e.b + 1] - t->tokoff[e.b]);
		id = new_token(t, cat.buf, cat.len);
		merge(t, e.pair, id, ++stamp);
		if (!(stamp % 1000)) {
			t->peak = tm_bpe_train_bytes(t);
			if (progress)
				progress(arg, t->ntok);
		}
	}
	tm_buf_release(&cat);
	for (id = 0; id < t->ntok; id++) {
		b64encode((const unsigned char *)t->tokbytes.buf + t->tokoff[id],
			  t->tokoff[id + 1] - t->tokoff[id], out);
		tm_buf_addf(out, " %u\n", id);
	}
	return t->ntok;
}
