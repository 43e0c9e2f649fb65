/*
 * linear.h: what the linear text models of filters/ share: the language
 * identifier (langid.c) and the text classifier (classifier.c).  Both are
 * fastText's model: a table E of 2^bits hashed feature rows (dim floats
 * each), a hidden vector h = the mean of the rows of a text's features,
 * logits W h (one row of W per class), a softmax, and plain SGD with
 * fastText's update; the table is stored int8-quantised per row.
 *
 * Here: the row arithmetic (sums, softmax, the SGD step, quantisation),
 * the seeded sequences, and the model-file plumbing: little-endian fields,
 * the XXH64 trailer, loading (a plain file is memory-mapped; a compressed
 * one is read, never past the size its header implies) and saving through
 * a tm_writer.  What the features are, and what a file's header holds, is
 * each model's own.
 *
 * The order of every floating-point operation is part of the contract:
 * the shipped language-id model is reproduced byte for byte by training
 * it again, so a change here that reorders a sum is a change of langid's
 * model.  Rows are summed feature by feature; the vector loops run over
 * dim, so vectorising them (TM_HOT_LOOP) does not change a result.
 *
 * Ownership: functions write only into the arrays they are given; a
 * struct tm_lin_file is the caller's and owns its bytes (release with
 * tm_lin_file_release()).  Must not depend on: ICU, documents, stats.
 */
#ifndef TM_LINEAR_H
#define TM_LINEAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct tm_err;

/* The largest model file accepted (a compressed one is never inflated
 * past it, nor past the size its header implies). */
#define TM_LIN_MAX_FILE ((size_t)1 << 31)

/* The murmur3 64-bit finaliser: spreads a hash over all 64 bits. */
static inline uint64_t tm_lin_mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/* A uniform double in [0, 1) from the splitmix64 sequence *s. */
double tm_lin_unit(uint64_t *s);

/* ---- rows ------------------------------------------------------------ */

/*
 * Fills ef[0..n) with fastText's initial values, uniform in
 * (-1/dim, 1/dim), drawn from *rng in order.
 */
void tm_lin_init_rows(float *ef, size_t n, int dim, uint64_t *rng);

/*
 * h[0..dim) += the rows feat[0..nfeat) of a float table ef ([rows][dim]),
 * in feature order.
 */
void tm_lin_add_rows(float *h, const float *ef, const uint32_t *feat, size_t nfeat,
		     int dim);

/*
 * As tm_lin_add_rows() over an int8 table eq: rows of dim int8 values q
 * followed by a float scale s (host order), the row being s * q.
 */
void tm_lin_add_rows_q(float *h, const int8_t *eq, const uint32_t *feat, size_t nfeat,
		       int dim);

/*
 * The int8 table of the float table ef ([rows][dim]): per row, q =
 * round(v / s) with s = max |v| / 127 (an all-zero row: q 0, s 0).
 * Returns rows * (dim + 4) bytes, which the caller frees.
 */
int8_t *tm_lin_quantize(const float *ef, size_t rows, int dim);

/*
 * The softmax over the classes allowed[0..n) (allowed NULL: classes
 * 0..n-1): z_l = W[l] . h (+ bias[l] when bias is not NULL), then p[l] =
 * exp(z_l - max z) / sum, the sum taken in double.  Writes p[l] for those
 * classes only.  w is [classes][dim].
 */
void tm_lin_softmax(const float *w, const float *bias, int dim, const float *h,
		    const int *allowed, int n, float *p);

/*
 * fastText's SGD step for softmax cross-entropy, after tm_lin_softmax()
 * gave p: for each allowed class l (allowed NULL: 0..n-1), with g = p[l] -
 * [l == label], grad += g W[l] (W before its update) and W[l] -= lr g h;
 * then every feature row of ef gets -= grad * lr / nfeat (a feature that
 * repeats is updated as often).  grad is dim floats of scratch.
 */
void tm_lin_sgd(float *w, float *ef, int dim, const float *h, const float *p,
		const int *allowed, int n, int label, const uint32_t *feat,
		size_t nfeat, float lr, float *grad);

/* ---- model files ----------------------------------------------------- */

static inline uint32_t tm_lin_get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t tm_lin_get64(const unsigned char *p)
{
	return tm_lin_get32(p) | (uint64_t)tm_lin_get32(p + 4) << 32;
}

void tm_lin_put32(struct tm_buf *b, uint32_t v);
void tm_lin_put64(struct tm_buf *b, uint64_t v);
/* Floats as IEEE 754 binary32, little-endian (the host's order on every
 * machine tamis builds for). */
void tm_lin_put_floats(struct tm_buf *b, const float *v, size_t n);

/* What the loader needs to know of a model format. */
struct tm_lin_format {
	const char *magic;	/* 8 bytes, the file's first */
	const char *what;	/* for messages: "language-id", "text classifier" */
	size_t header_bytes;	/* what implied_size() reads */
	/*
	 * The file size the first header_bytes of p imply, or 0 when they
	 * are not (yet) a model's header: reading is then bounded by
	 * TM_LIN_MAX_FILE only, and the parser gives the error.
	 */
	size_t (*implied_size)(const unsigned char *p, size_t len);
};

/* A model file's bytes: read into `buf`, or mapped. */
struct tm_lin_file {
	struct tm_buf buf;
	void *map;
	size_t map_len;
	const char *data;	/* the bytes in use (NULL: none) */
	size_t size;
};

/*
 * Loads `path`: a plain file starting with the magic is mapped (no copy;
 * processes share its pages), any other is read through a tm_reader
 * (zstd, gzip) up to the size its header implies plus one byte (so a
 * file too long is seen), never past TM_LIN_MAX_FILE.  The bytes are not
 * checked here beyond that: the model's parser does.  Returns 0, or
 * TM_EIO ("cannot open the WHAT model"), a reader's error, or TM_EFORMAT
 * (larger than 2 GiB), with `file` empty.
 */
int tm_lin_file_load(const struct tm_lin_format *f, const char *path,
		     struct tm_lin_file *file, struct tm_err *err);

/* As tm_lin_file_load() from memory (copied; any compression). */
int tm_lin_file_load_mem(const struct tm_lin_format *f, const void *data, size_t len,
			 const char *name, struct tm_lin_file *file, struct tm_err *err);

/* Unmaps or frees the bytes; the file is empty after.  An empty one is fine. */
void tm_lin_file_release(struct tm_lin_file *file);

/*
 * The usual first checks of a parser: the file is `need` bytes exactly,
 * and its last 8 are the XXH64 (seed 0) of the rest.  Returns 0 or
 * TM_EFORMAT naming the offset.
 */
int tm_lin_check_file(const struct tm_lin_format *f, const char *data, size_t len,
		      size_t need, const char *name, struct tm_err *err);

/*
 * Records TM_EFORMAT "not a usable tamis WHAT model: <what>" at byte
 * `off` of `name`; returns TM_EFORMAT.
 */
int tm_lin_bad(const struct tm_lin_format *f, struct tm_err *err, const char *name,
	       uint64_t off, const char *what);

/*
 * Appends the XXH64 of b's bytes to b and writes b to `path` through a
 * temporary name (.zst and .gz compress; zstd at level 19).  Releases b.
 */
int tm_lin_file_save(struct tm_buf *b, const char *path, struct tm_err *err);

#endif
