/*
 * tamis.h: the first include of every lib/ and cmd/ source file.
 *
 * Pulls in the C library headers nearly every file needs, the BUG()
 * invariant macro, the byte buffer and error types, and finally banned.h.
 * Module headers (warc.h, stream.h, ...) are included after it.
 */
#ifndef TM_TAMIS_H
#define TM_TAMIS_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#define TM_VERSION "0.1.0"

#define TM_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define TM_MIN(a, b) ((a) < (b) ? (a) : (b))
#define TM_MAX(a, b) ((a) > (b) ? (a) : (b))

/*
 * For a few hot loops over arrays: also built for AVX2 (the clone is
 * chosen at load time, ifunc) and, with GCC, vectorised at -O3 whatever
 * the build's -O (GCC's -O2 cost model leaves loops of unknown count
 * scalar).  The AVX2 clone has no FMA, so no contraction either: both
 * clones compute the same bits for element-wise work.
 */
#if defined(__clang__)
#define TM_HOT_LOOP __attribute__((target_clones("avx2", "default")))
#else
#define TM_HOT_LOOP __attribute__((target_clones("avx2", "default"), optimize("O3")))
#endif

/*
 * splitmix64: the next value of the deterministic sequence whose state is
 * *s (seeded parameters and training samples; not for anything secret).
 */
static inline uint64_t tm_splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* A broken invariant: a bug in tamis, never bad input.  Aborts. */
void tm_bug(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), noreturn));
#define BUG(...) tm_bug(__FILE__, __LINE__, __VA_ARGS__)

#include "buf.h"
#include "err.h"
#include "banned.h"

#endif
