/*
 * hmap.h: a hash map from 128-bit keys to 128-bit values for the dedup
 * stages (content hashes, URL hashes), growing without pauses.
 *
 * Open addressing with linear probing in a power-of-two table.  When the
 * load passes 1/2 a table twice the size is allocated and entries move to
 * it incrementally, a few buckets at each insert and lookup (as Redis's
 * dict does), so no single call rehashes millions of keys: a lookup looks
 * in the new table and then the old one until the move is complete.
 *
 * Keys are hashes already (uniform), so the low 64 bits pick the bucket.
 * The all-zero key is reserved (it marks an empty bucket); callers map a
 * zero key to 1 (tm_hmap_key()).
 * Memory: 32 bytes per bucket; between 2 and 4 buckets per key, plus the
 * old table while a move is in progress (at most 1.5x).
 * Ownership: the caller owns the map (tm_hmap_free()); not thread-safe.
 */
#ifndef TM_DEDUP_HMAP_H
#define TM_DEDUP_HMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tm_hkey {
	uint64_t lo, hi;
};

struct tm_hval {
	uint64_t a, b;
};

struct tm_hmap;

struct tm_hmap *tm_hmap_new(size_t expected);
void tm_hmap_free(struct tm_hmap *m);

/* A key from a 128-bit hash, never the reserved zero key. */
struct tm_hkey tm_hmap_key(uint64_t lo, uint64_t hi);

/*
 * Finds `k`; returns its value slot (valid until the next insert), or
 * NULL.  tm_hmap_put() inserts `k` if absent (value zeroed), returns the
 * slot and sets *created.
 */
struct tm_hval *tm_hmap_get(struct tm_hmap *m, struct tm_hkey k);
struct tm_hval *tm_hmap_put(struct tm_hmap *m, struct tm_hkey k, bool *created);

size_t tm_hmap_count(const struct tm_hmap *m);
/* Bytes allocated now. */
size_t tm_hmap_bytes(const struct tm_hmap *m);

#endif
