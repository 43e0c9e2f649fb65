/*
 * safetensors.h: Hugging Face's safetensors format: a writer of fp32
 * tensors (stored as F32 or BF16) and a validating reader (F32, BF16 and
 * F16 converted to fp32), one file or several through an index
 * (model.safetensors.index.json).
 *
 * The format (https://github.com/huggingface/safetensors, "Format"):
 * an 8-byte little-endian unsigned N, then N bytes of a UTF-8 JSON object
 * (the header), then the data.  The header maps each tensor's name to
 * {"dtype": "F32", "shape": [d0, ...], "data_offsets": [begin, end]}
 * (byte offsets into the data, which begins right after the header) and
 * may hold "__metadata__", an object of strings.  The reference writer
 * pads the header with spaces so that N is a multiple of 8 (the data is
 * then 8-byte aligned); this writer does the same and lays the tensors
 * out in the order it is given them, so its output is a function of its
 * input.
 *
 * The reader accepts what the reference implementation accepts
 * (safetensors/src/tensor.rs, Metadata::validate), said as rules, with one
 * rule stricter (an entry holds nothing but its three fields): N is at
 * most 100,000,000 and fits the file; the header is valid UTF-8 and JSON,
 * starts with '{' and names no key twice; each entry has exactly the
 * three fields, a known dtype, a shape of non-negative integers (at most
 * TM_ST_MAX_DIM of them) and 0 <= begin <= end; shape product x dtype
 * size == end - begin; sorted by offset, the tensors cover the data
 * exactly: no overlap, no gap, nothing after the last.  Unknown dtypes
 * (not in the format's list) are format errors; known ones tamis does
 * not convert (integers, F64, FP8) parse but do not load (TM_EUNSUP).
 *
 * Errors (struct tm_err) name the file, the byte offset when one applies
 * (a header problem: the header's first byte, 8, or where JSON parsing
 * stopped; a data problem: the tensor's first byte) and what was wrong.
 *
 * The host must be little-endian (the format is; checked at build time).
 * Ownership: tm_st_open/tm_st_parse return a reader the caller frees with
 * tm_st_free; the tensor entries and names it hands out live as long as
 * it does.  tm_st_parse does not copy `data`: it must outlive the reader.
 * Depends on jansson and lib/ (err, buf); not on the model.
 */
#ifndef TM_SAFETENSORS_H
#define TM_SAFETENSORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tm_buf;
struct tm_err;

/* The format's dtypes, each with its byte size (tm_st_dtype_size). */
enum tm_st_dtype {
	TM_ST_F32, TM_ST_BF16, TM_ST_F16,	/* read as fp32; F32 and BF16 written */
	TM_ST_F64, TM_ST_BOOL, TM_ST_U8, TM_ST_I8, TM_ST_F8_E5M2, TM_ST_F8_E4M3,
	TM_ST_F8_E8M0, TM_ST_I16, TM_ST_U16, TM_ST_I32, TM_ST_U32, TM_ST_I64,
	TM_ST_U64, TM_ST_C64,
	TM_ST__COUNT
};

/* "F32", "BF16", ...; NULL for a value out of range. */
const char *tm_st_dtype_name(enum tm_st_dtype d);
/* Bytes per element. */
size_t tm_st_dtype_size(enum tm_st_dtype d);
/* The dtype named `name` (as the header spells it), or -1. */
int tm_st_dtype_from_name(const char *name);

#define TM_ST_MAX_DIM 8
/* The reference implementation's limit on N (MAX_HEADER_SIZE). */
#define TM_ST_MAX_HEADER 100000000ULL

/* ---- element conversions ---------------------------------------------- */

/* bfloat16 bits of x, rounded to nearest, ties to even (torch's
 * x.to(torch.bfloat16)); a NaN stays a NaN (quietened, sign kept), inf
 * stays inf, and finite values past bfloat16's range round to inf. */
uint16_t tm_bf16_from_f32(float x);
/* The fp32 value of bfloat16 bits (exact). */
float tm_f32_from_bf16(uint16_t h);
/* The fp32 value of IEEE binary16 bits (exact: subnormals, inf, NaN
 * with its payload). */
float tm_f32_from_f16(uint16_t h);

/* ---- writing ---------------------------------------------------------- */

/* One tensor to write: `numel` fp32 values in row-major order. */
struct tm_st_out {
	const char *name;	/* UTF-8, unique in the file */
	int ndim;		/* 0 (a scalar) to TM_ST_MAX_DIM */
	int64_t shape[TM_ST_MAX_DIM];
	const float *data;	/* shape product values */
};

/*
 * Writes the n tensors `t`, in that order, to the safetensors file
 * `path`, each stored as `dtype` (TM_ST_F32 or TM_ST_BF16), with
 * `meta` (NULL, or "key", "value", ..., NULL: UTF-8 strings) as
 * "__metadata__" when it holds a pair.  The file is written under a
 * temporary name in the same directory, fsynced and renamed: `path` is
 * either the old file or the complete new one.  Memory: a 1 MiB
 * conversion buffer, whatever the tensors' size.  Returns 0, TM_EINVAL
 * (a dtype not written, a name or string that is not UTF-8, a duplicate
 * name, a negative dimension, sizes past 2^63) or TM_EIO.
 */
int tm_st_write(const char *path, const struct tm_st_out *t, size_t n,
		enum tm_st_dtype dtype, const char *const *meta, struct tm_err *err);

/* ---- reading ---------------------------------------------------------- */

/* One tensor of a reader. */
struct tm_st_tensor {
	const char *name;
	enum tm_st_dtype dtype;
	int ndim;
	int64_t shape[TM_ST_MAX_DIM];
	int64_t numel;		/* shape product (1 for a scalar) */
	uint64_t begin, end;	/* data_offsets: bytes, relative to the data */
	int file;		/* which file of an index holds it (0 for one file) */
};

struct tm_st;

/*
 * Opens `path`: a .safetensors file (mapped read-only), or a
 * model.safetensors.index.json whose "weight_map" ({tensor: file}) names
 * files in the index's directory; every file is opened and validated,
 * every tensor of a file must be mapped to that file and every mapped
 * tensor must be in its file.  Returns 0 with *out set, or TM_EIO,
 * TM_ETRUNC, TM_EFORMAT, TM_ETOOBIG (a header past TM_ST_MAX_HEADER),
 * TM_EUNSUP (more than TM_ST_MAX_DIM dimensions, sub-byte dtypes).
 */
int tm_st_open(const char *path, struct tm_st **out, struct tm_err *err);

/*
 * As tm_st_open for one file already in memory, `data[0..size)`, named
 * `name` in errors.  `data` is not copied and must outlive the reader.
 */
int tm_st_parse(const void *data, size_t size, const char *name, struct tm_st **out,
		struct tm_err *err);

void tm_st_free(struct tm_st *st);

/* The tensors: file by file, each file's in the order of their data. */
size_t tm_st_count(const struct tm_st *st);
const struct tm_st_tensor *tm_st_get(const struct tm_st *st, size_t i);
/* The tensor named `name`, or NULL. */
const struct tm_st_tensor *tm_st_find(const struct tm_st *st, const char *name);
/* The value of "__metadata__"'s `key` (the first file that has it), or NULL. */
const char *tm_st_meta(const struct tm_st *st, const char *key);
/* The path of file i (for messages); the index's files in weight_map order. */
const char *tm_st_file_name(const struct tm_st *st, int i);

/*
 * Converts tensor t (one of st's) to fp32 into out[0..t->numel).
 * Returns 0, or TM_EUNSUP for a dtype other than F32, BF16, F16.
 */
int tm_st_load(const struct tm_st *st, const struct tm_st_tensor *t, float *out,
	       struct tm_err *err);

/* ---- JSON files beside the tensors (config.json, the index) ------------ */

/*
 * Reads the file `path` whole into `out` (reset first), refusing files
 * over `max` bytes (TM_ETOOBIG).  Returns 0, TM_EIO, TM_ETOOBIG.
 */
int tm_st_read_small(const char *path, size_t max, struct tm_buf *out, struct tm_err *err);

/*
 * Writes data[0..len) to `path` as tm_st_write does (a temporary name,
 * fsync, rename).  Returns 0 or TM_EIO.
 */
int tm_st_write_small(const char *path, const void *data, size_t len, struct tm_err *err);

/*
 * Parses text[0..len) as one JSON object (duplicate keys rejected),
 * returned as a new jansson reference (void * here, json_t * to the
 * caller, so this header does not need jansson's).  On failure returns
 * NULL and reports TM_EFORMAT naming `path`, the byte offset (base + the
 * parser's position), the line and what was wrong.
 */
void *tm_st_json_object(const char *text, size_t len, const char *path, uint64_t base,
			struct tm_err *err);

#endif
