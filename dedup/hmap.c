/*
 * hmap.c: 128-bit-key hash map with incremental growth (hmap.h).
 */
#include "tamis.h"
#include "hmap.h"

struct bucket {
	struct tm_hkey k;
	struct tm_hval v;
};

struct table {
	struct bucket *b;
	size_t mask, used;
};

struct tm_hmap {
	struct table t[2];	/* t[0] the current table; t[1] the old one while moving */
	size_t move;		/* next bucket of t[1] to move */
	size_t count;
};

#define MOVE_STEP 16

static void table_init(struct table *t, size_t n)
{
	t->b = tm_xcalloc(n, sizeof(*t->b));
	t->mask = n - 1;
	t->used = 0;
}

struct tm_hmap *tm_hmap_new(size_t expected)
{
	struct tm_hmap *m = tm_xcalloc(1, sizeof(*m));
	size_t n = 64;

	while (n < 2 * expected)
		n *= 2;
	table_init(&m->t[0], n);
	return m;
}

void tm_hmap_free(struct tm_hmap *m)
{
	if (!m)
		return;
	free(m->t[0].b);
	free(m->t[1].b);
	free(m);
}

struct tm_hkey tm_hmap_key(uint64_t lo, uint64_t hi)
{
	struct tm_hkey k = { lo, hi };

	if (!lo && !hi)
		k.lo = 1;
	return k;
}

static bool empty(const struct bucket *b)
{
	return !b->k.lo && !b->k.hi;
}

static bool same(struct tm_hkey a, struct tm_hkey b)
{
	return a.lo == b.lo && a.hi == b.hi;
}

static struct bucket *probe(struct table *t, struct tm_hkey k)
{
	size_t i = k.lo & t->mask;

	while (!empty(&t->b[i]) && !same(t->b[i].k, k))
		i = (i + 1) & t->mask;
	return &t->b[i];
}

/* Moves up to MOVE_STEP buckets of the old table into the new one. */
static void move_some(struct tm_hmap *m)
{
	struct table *old = &m->t[1];
	size_t n = 0;

	if (!old->b)
		return;
	while (m->move <= old->mask && n < MOVE_STEP) {
		struct bucket *b = &old->b[m->move++];

		if (!empty(b)) {
			*probe(&m->t[0], b->k) = *b;
			m->t[0].used++;
			n++;
		}
	}
	if (m->move > old->mask) {
		free(old->b);
		memset(old, 0, sizeof(*old));
	}
}

struct tm_hval *tm_hmap_get(struct tm_hmap *m, struct tm_hkey k)
{
	struct bucket *b;

	move_some(m);
	b = probe(&m->t[0], k);
	if (!empty(b))
		return &b->v;
	if (m->t[1].b) {
		b = probe(&m->t[1], k);
		if (!empty(b))
			return &b->v;
	}
	return NULL;
}

struct tm_hval *tm_hmap_put(struct tm_hmap *m, struct tm_hkey k, bool *created)
{
	struct tm_hval *v = tm_hmap_get(m, k);
	struct bucket *b;

	*created = false;
	if (v)
		return v;
	/* grow at load 1/2, only when no move is in progress: the new table
	 * is 4x the keys, so the move ends before it fills again */
	if (!m->t[1].b && 2 * (m->t[0].used + 1) > m->t[0].mask + 1) {
		m->t[1] = m->t[0];
		table_init(&m->t[0], 2 * (m->t[1].mask + 1));
		m->move = 0;
		move_some(m);
	}
	b = probe(&m->t[0], k);
	b->k = k;
	memset(&b->v, 0, sizeof(b->v));
	m->t[0].used++;
	m->count++;
	*created = true;
	return &b->v;
}

size_t tm_hmap_count(const struct tm_hmap *m)
{
	return m->count;
}

size_t tm_hmap_bytes(const struct tm_hmap *m)
{
	return ((m->t[0].b ? m->t[0].mask + 1 : 0) + (m->t[1].b ? m->t[1].mask + 1 : 0)) *
	       sizeof(struct bucket);
}
