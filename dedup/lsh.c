/*
 * lsh.c: band keys to clusters with union-find (lsh.h).
 */
#include "tamis.h"
#include "hmap.h"
#include "lsh.h"

struct tm_uf {
	uint64_t *parent;
	uint64_t n, cap;
};

struct tm_uf *tm_uf_new(uint64_t n)
{
	struct tm_uf *u = tm_xcalloc(1, sizeof(*u));

	tm_uf_grow(u, n);
	return u;
}

void tm_uf_free(struct tm_uf *u)
{
	if (!u)
		return;
	free(u->parent);
	free(u);
}

void tm_uf_grow(struct tm_uf *u, uint64_t n)
{
	uint64_t i;

	if (n > u->cap) {
		u->cap = TM_MAX(n, 2 * u->cap);
		u->parent = tm_xrealloc(u->parent, u->cap * sizeof(*u->parent));
	}
	for (i = u->n; i < n; i++)
		u->parent[i] = i;
	if (n > u->n)
		u->n = n;
}

uint64_t tm_uf_find(struct tm_uf *u, uint64_t x)
{
	while (u->parent[x] != x) {
		u->parent[x] = u->parent[u->parent[x]];	/* path halving */
		x = u->parent[x];
	}
	return x;
}

void tm_uf_union(struct tm_uf *u, uint64_t a, uint64_t b)
{
	a = tm_uf_find(u, a);
	b = tm_uf_find(u, b);
	if (a < b)
		u->parent[b] = a;
	else if (b < a)
		u->parent[a] = b;
}

struct tm_lsh {
	int bands, nsig, need;
	uint32_t *sigs;		/* nsig per document, when verifying */
	uint64_t capsig;
	struct tm_hmap *first;	/* (key, band) -> first document + 1 */
	struct tm_uf *uf;
};

int tm_sig_agree(const uint32_t *a, const uint32_t *b, int n)
{
	int i, same = 0;

	for (i = 0; i < n; i++)
		same += a[i] == b[i];
	return same;
}

int tm_sig_need(double t, int n)
{
	int need = (int)(t * n);

	if (t <= 0)
		return 0;
	if ((double)need < t * n - 1e-9)
		need++;
	return need < 1 ? 1 : need > n ? n : need;
}

struct tm_lsh *tm_lsh_new(int bands, int nsig, int need)
{
	struct tm_lsh *l = tm_xcalloc(1, sizeof(*l));

	l->bands = bands;
	l->nsig = nsig;
	l->need = need;
	l->first = tm_hmap_new(1 << 16);
	l->uf = tm_uf_new(0);
	return l;
}

void tm_lsh_free(struct tm_lsh *l)
{
	if (!l)
		return;
	tm_hmap_free(l->first);
	tm_uf_free(l->uf);
	free(l->sigs);
	free(l);
}

uint64_t tm_lsh_add(struct tm_lsh *l, const uint64_t *keys, const uint32_t *sig)
{
	uint64_t doc = l->uf->n;
	int j;

	tm_uf_grow(l->uf, doc + 1);
	if (l->need) {
		if (doc + 1 > l->capsig) {
			l->capsig = TM_MAX(1024, 2 * l->capsig);
			l->sigs = tm_xrealloc(l->sigs, l->capsig * (size_t)l->nsig * sizeof(*l->sigs));
		}
		if (keys)
			memcpy(l->sigs + doc * (size_t)l->nsig, sig, (size_t)l->nsig * sizeof(*sig));
	}
	if (!keys)
		return doc;
	for (j = 0; j < l->bands; j++) {
		bool created;
		struct tm_hval *v = tm_hmap_put(l->first, tm_hmap_key(keys[j], (uint64_t)j + 1),
						&created);

		if (created)
			v->a = doc + 1;
		else if (!l->need ||
			 tm_sig_agree(l->sigs + (v->a - 1) * (size_t)l->nsig,
				      l->sigs + doc * (size_t)l->nsig, l->nsig) >= l->need)
			tm_uf_union(l->uf, v->a - 1, doc);
	}
	return doc;
}

struct tm_uf *tm_lsh_uf(struct tm_lsh *l)
{
	return l->uf;
}

uint64_t tm_lsh_count(const struct tm_lsh *l)
{
	return l->uf->n;
}

size_t tm_lsh_bytes(const struct tm_lsh *l)
{
	return tm_hmap_bytes(l->first) + l->uf->cap * sizeof(uint64_t) +
	       l->capsig * (size_t)l->nsig * sizeof(uint32_t);
}
