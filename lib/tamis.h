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

/* A broken invariant: a bug in tamis, never bad input.  Aborts. */
void tm_bug(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), noreturn));
#define BUG(...) tm_bug(__FILE__, __LINE__, __VA_ARGS__)

#include "buf.h"
#include "err.h"
#include "banned.h"

#endif
