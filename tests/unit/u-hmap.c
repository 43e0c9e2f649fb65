/*
 * u-hmap.c: the dedup hash map: every key inserted is found with its
 * value through many incremental growths, absent keys are not, the
 * reserved zero key is mapped away, and memory stays within the bound
 * hmap.h states.
 */
#include "tamis.h"
#include "hmap.h"
#include "tap.h"

static struct tm_hkey key_of(uint64_t i)
{
	/* distinct, spread keys (a bijection of i), one of them zero */
	uint64_t x = i * 0x9e3779b97f4a7c15ULL;

	return tm_hmap_key(x ^ (x >> 29), i);
}

int main(int argc, char **argv)
{
	struct tm_hmap *m = tm_hmap_new(0);
	const uint64_t n = 300000;
	uint64_t i, bad = 0, missing = 0, ghosts = 0;
	size_t peak = 0;
	bool created;

	(void)tap_seed(argc, argv);
	{
		struct tm_hkey z = tm_hmap_key(0, 0);

		ok(z.lo == 1 && z.hi == 0, "the zero key is mapped to (1, 0)");
	}
	for (i = 0; i < n; i++) {
		struct tm_hval *v = tm_hmap_put(m, key_of(i), &created);

		if (!created)
			bad++;
		v->a = i;
		v->b = ~i;
		/* lookups of earlier keys while a move may be in progress */
		if (i % 7 == 0) {
			struct tm_hval *w = tm_hmap_get(m, key_of(i / 2));

			if (!w || w->a != i / 2)
				missing++;
		}
		if (tm_hmap_bytes(m) > peak)
			peak = tm_hmap_bytes(m);
	}
	is_u64(bad, 0, "300000 distinct keys are each created once");
	is_u64(missing, 0, "earlier keys are found during growth");
	is_u64(tm_hmap_count(m), n, "count");
	for (i = 0; i < n; i++) {
		struct tm_hval *v = tm_hmap_get(m, key_of(i));

		if (!v || v->a != i || v->b != ~i)
			missing++;
		if (tm_hmap_get(m, tm_hmap_key(key_of(i).lo, n + i)))
			ghosts++;
	}
	is_u64(missing, 0, "every key has its value after all growths");
	is_u64(ghosts, 0, "keys never inserted are not found");
	for (i = 0; i < 1000; i++) {
		tm_hmap_put(m, key_of(i), &created);
		if (created)
			bad++;
	}
	is_u64(bad, 0, "putting an existing key does not create it");
	ok(peak <= 32 * 6 * n + 32 * 128, "peak %zu bytes for %" PRIu64 " keys (<= 6 buckets of 32 bytes a key)",
	   peak, n);
	tm_hmap_free(m);
	tm_hmap_free(NULL);
	return tap_done();
}
