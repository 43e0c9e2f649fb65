/*
 * lsh.h: LSH candidate clusters in one process: band keys -> union-find.
 *
 * Documents are added in input order and numbered 0, 1, ...  A document
 * is joined to the first earlier document that had the same key in the
 * same band (a star per key: the same components as joining every pair).
 * Union by smallest number, so each cluster's root is its first document:
 * the survivor, in this streaming mode and in the cluster stages
 * (tamis dedup bucket/cluster), which join the same pairs.
 * Memory: 8 bytes per document (its parent) plus the band-key map, 64 to
 * 128 bytes per distinct (band, key): about 1 to 2 KB per document with
 * 14 bands.  Not thread-safe.
 */
#ifndef TM_DEDUP_LSH_H
#define TM_DEDUP_LSH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tm_lsh;

/*
 * `nsig` values per signature; `need` > 0: a document joins the first one
 * of a (band, key) only when at least `need` of their nsig values agree
 * (candidate verification; the signatures are then kept, 4 * nsig bytes
 * per document); need 0: every candidate joins (plain LSH).
 */
struct tm_lsh *tm_lsh_new(int bands, int nsig, int need);
void tm_lsh_free(struct tm_lsh *l);

/* Adds the next document (keys NULL: it has no signature, joins nothing;
 * sig: its nsig values, needed when verifying); returns its number. */
uint64_t tm_lsh_add(struct tm_lsh *l, const uint64_t *keys, const uint32_t *sig);

/* The number of equal values of two signatures of n values. */
int tm_sig_agree(const uint32_t *a, const uint32_t *b, int n);

/* The agreement `need` for a verification threshold t (0..1) of n values:
 * ceil(t * n), exactly as every stage computes it; 0 when t is 0. */
int tm_sig_need(double t, int n);

/* Union-find on any numbered set: used by the cluster stage too. */
struct tm_uf;
struct tm_uf *tm_uf_new(uint64_t n);
void tm_uf_free(struct tm_uf *u);
void tm_uf_grow(struct tm_uf *u, uint64_t n);
uint64_t tm_uf_find(struct tm_uf *u, uint64_t x);
void tm_uf_union(struct tm_uf *u, uint64_t a, uint64_t b);

/* The union-find of an LSH (to ask who survives: find(i) == i). */
struct tm_uf *tm_lsh_uf(struct tm_lsh *l);
uint64_t tm_lsh_count(const struct tm_lsh *l);
size_t tm_lsh_bytes(const struct tm_lsh *l);

#endif
