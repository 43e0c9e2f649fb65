/*
 * tap.h: a minimal TAP producer for the C unit tests (run by prove).
 *
 * ok(cond, name...) prints "ok N - name" or "not ok N - name" with the
 * failing file:line; is_int/is_u64/is_str/is_mem compare and show both sides
 * on failure.  tap_done() prints the plan and returns the exit status.
 * Randomised tests take --seed (tap_seed()) and print it as a comment.
 */
#ifndef TM_TAP_H
#define TM_TAP_H

#include <stddef.h>
#include <stdint.h>

int tap_ok(int pass, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
int tap_is_int(long long got, long long want, const char *file, int line,
	       const char *name);
int tap_is_u64(uint64_t got, uint64_t want, const char *file, int line,
	       const char *name);
int tap_is_str(const char *got, const char *want, const char *file, int line,
	       const char *name);
int tap_is_mem(const void *got, size_t glen, const void *want, size_t wlen,
	       const char *file, int line, const char *name);
void tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void tap_skip(const char *why);
int tap_done(void);
/* Parses --seed N from argv (or picks one from the clock) and prints it. */
unsigned long tap_seed(int argc, char **argv);
/* A seeded xorshift64* generator for randomised tests (seed with tap_seed()). */
void tap_srand(uint64_t seed);
uint64_t tap_rand(void);
/* The directory holding ../shared/data (env TAMIS_DATA, else "../shared/data"). */
const char *tap_data_dir(void);

struct tm_buf;
/*
 * Scratch files: tap_tmp_path() puts "DIR/name" into b (reset first) and
 * returns b->buf, DIR being a fresh directory under $TMPDIR (or /tmp)
 * made on first use and removed by tap_done() when the test left it
 * empty.  tap_write_file() and tap_read_file() (into out, reset first)
 * move whole files; a failure aborts the test.
 */
const char *tap_tmp_path(struct tm_buf *b, const char *name);
/* tap_tmp_path() into one of 8 static buffers used in turn: for a few names at once. */
const char *tap_tmp(const char *name);
/* Removes everything under the scratch directory (files and directories). */
void tap_tmp_clean(void);
void tap_write_file(const char *path, const void *data, size_t len);
void tap_read_file(const char *path, struct tm_buf *out);

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_int(g, w, n) tap_is_int((long long)(g), (long long)(w), __FILE__, __LINE__, (n))
#define is_u64(g, w, n) tap_is_u64((uint64_t)(g), (uint64_t)(w), __FILE__, __LINE__, (n))
#define is_str(g, w, n) tap_is_str((g), (w), __FILE__, __LINE__, (n))
#define is_mem(g, gl, w, wl, n) tap_is_mem((g), (gl), (w), (wl), __FILE__, __LINE__, (n))

#endif
