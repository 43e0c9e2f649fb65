/*
 * linear.c: the arithmetic and file plumbing of linear.h, shared by the
 * language identifier and the text classifier.
 */
#include "tamis.h"
#include "linear.h"
#include "stream.h"

#include <math.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#ifndef PREFETCH
#define PREFETCH 24
#endif

double tm_lin_unit(uint64_t *s)
{
	return (double)(tm_splitmix64(s) >> 11) * (1.0 / 9007199254740992.0);
}

/* ---------------------------------------------------------------- rows */

void tm_lin_init_rows(float *ef, size_t n, int dim, uint64_t *rng)
{
	size_t i;

	for (i = 0; i < n; i++)
		ef[i] = (float)((tm_lin_unit(rng) * 2 - 1) / dim);
}

/*
 * The row sums are the hot loops of prediction and training: built for
 * AVX2 too (ifunc) and vectorised over dim.  Rows are fetched ahead: the
 * table is megabytes, each feature a likely cache miss, and the ids are
 * all known.  The clones are static, called through the exported names:
 * clang emits the ifunc of a multiversioned function only in a file that
 * calls it.
 */
TM_HOT_LOOP
static void add_rows(float *restrict h, const float *restrict ef,
		     const uint32_t *restrict feat, size_t nfeat, int dim)
{
	size_t f;
	int d;

	for (f = 0; f < nfeat; f++) {
		const float *row = ef + (size_t)feat[f] * dim;

		if (f + PREFETCH < nfeat)
			__builtin_prefetch(ef + (size_t)feat[f + PREFETCH] * dim);
		for (d = 0; d < dim; d++)
			h[d] += row[d];
	}
}

void tm_lin_add_rows(float *h, const float *ef, const uint32_t *feat, size_t nfeat,
		     int dim)
{
	add_rows(h, ef, feat, nfeat, dim);
}

TM_HOT_LOOP
static void add_rows_q(float *restrict h, const int8_t *restrict eq,
		       const uint32_t *restrict feat, size_t nfeat, int dim)
{
	size_t f, stride = (size_t)dim + 4;
	int d;

	for (f = 0; f < nfeat; f++) {
		const int8_t *row = eq + feat[f] * stride;
		float s;

		if (f + PREFETCH < nfeat)
			__builtin_prefetch(eq + feat[f + PREFETCH] * stride);
		memcpy(&s, row + dim, 4);

		for (d = 0; d < dim; d++)
			h[d] += s * (float)row[d];
	}
}

void tm_lin_add_rows_q(float *h, const int8_t *eq, const uint32_t *feat, size_t nfeat,
		       int dim)
{
	add_rows_q(h, eq, feat, nfeat, dim);
}

int8_t *tm_lin_quantize(const float *ef, size_t rows, int dim)
{
	int8_t *eq = tm_xcalloc(rows, (size_t)dim + 4);
	size_t r;
	int d;

	for (r = 0; r < rows; r++) {
		const float *row = ef + r * dim;
		int8_t *q = eq + r * ((size_t)dim + 4);
		float mx = 0, scale;

		for (d = 0; d < dim; d++)
			mx = fabsf(row[d]) > mx ? fabsf(row[d]) : mx;
		scale = mx / 127.0f;
		memcpy(q + dim, &scale, 4);	/* host order = little-endian */
		if (mx == 0)
			continue;
		for (d = 0; d < dim; d++)
			q[d] = (int8_t)lrintf(row[d] / scale);
	}
	return eq;
}

TM_HOT_LOOP
static void softmax(const float *w, const float *bias, int dim, const float *h,
		    const int *allowed, int n, float *p)
{
	int j, d;
	float mx = -INFINITY;
	double sum = 0;

	for (j = 0; j < n; j++) {
		int l = allowed ? allowed[j] : j;
		const float *wl = w + (size_t)l * dim;
		float z = 0;

		for (d = 0; d < dim; d++)
			z += wl[d] * h[d];
		if (bias)
			z += bias[l];
		p[l] = z;
		if (z > mx)
			mx = z;
	}
	for (j = 0; j < n; j++) {
		int l = allowed ? allowed[j] : j;

		p[l] = expf(p[l] - mx);
		sum += p[l];
	}
	for (j = 0; j < n; j++) {
		int l = allowed ? allowed[j] : j;

		p[l] = (float)(p[l] / sum);
	}
}

void tm_lin_softmax(const float *w, const float *bias, int dim, const float *h,
		    const int *allowed, int n, float *p)
{
	softmax(w, bias, dim, h, allowed, n, p);
}

TM_HOT_LOOP
static void sgd(float *restrict w, float *restrict ef, int dim, const float *restrict h,
		const float *restrict p, const int *allowed, int n, int label,
		const uint32_t *restrict feat, size_t nfeat, float lr, float *restrict grad)
{
	size_t f;
	int j, d;

	memset(grad, 0, (size_t)dim * sizeof(*grad));
	for (j = 0; j < n; j++) {
		int l = allowed ? allowed[j] : j;
		float g = p[l] - (l == label ? 1.0f : 0.0f);
		float *wl = w + (size_t)l * dim;

		for (d = 0; d < dim; d++) {
			grad[d] += g * wl[d];
			wl[d] -= lr * g * h[d];
		}
	}
	for (d = 0; d < dim; d++)
		grad[d] *= lr / (float)nfeat;
	for (f = 0; f < nfeat; f++) {
		float *row = ef + (size_t)feat[f] * dim;

		if (f + PREFETCH < nfeat)
			__builtin_prefetch(ef + (size_t)feat[f + PREFETCH] * dim);
		for (d = 0; d < dim; d++)
			row[d] -= grad[d];
	}
}

void tm_lin_sgd(float *w, float *ef, int dim, const float *h, const float *p,
		const int *allowed, int n, int label, const uint32_t *feat, size_t nfeat,
		float lr, float *grad)
{
	sgd(w, ef, dim, h, p, allowed, n, label, feat, nfeat, lr, grad);
}

/* ---------------------------------------------------------------- files */

void tm_lin_put32(struct tm_buf *b, uint32_t v)
{
	unsigned char p[4] = { (unsigned char)v, (unsigned char)(v >> 8),
			       (unsigned char)(v >> 16), (unsigned char)(v >> 24) };

	tm_buf_add(b, p, 4);
}

void tm_lin_put64(struct tm_buf *b, uint64_t v)
{
	tm_lin_put32(b, (uint32_t)v);
	tm_lin_put32(b, (uint32_t)(v >> 32));
}

void tm_lin_put_floats(struct tm_buf *b, const float *v, size_t n)
{
	size_t i;
	uint32_t u;

	for (i = 0; i < n; i++) {
		memcpy(&u, &v[i], 4);
		tm_lin_put32(b, u);
	}
}

int tm_lin_bad(const struct tm_lin_format *f, struct tm_err *err, const char *name,
	       uint64_t off, const char *what)
{
	return tm_err_set(err, TM_EFORMAT, name, off, 0,
			  "not a usable tamis %s model: %s", f->what, what);
}

int tm_lin_check_file(const struct tm_lin_format *f, const char *data, size_t len,
		      size_t need, const char *name, struct tm_err *err)
{
	const unsigned char *p = (const unsigned char *)data;

	if (len != need)
		return tm_err_set(err, TM_EFORMAT, name, len < need ? len : need, 0,
				  "not a usable tamis %s model: %zu bytes, "
				  "its header says %zu", f->what, len, need);
	if (XXH64(p, len - 8, 0) != tm_lin_get64(p + len - 8))
		return tm_lin_bad(f, err, name, len - 8, "checksum mismatch (damaged file)");
	return 0;
}

void tm_lin_file_release(struct tm_lin_file *file)
{
	if (file->map)
		munmap(file->map, file->map_len);
	else if (file->data)
		tm_buf_release(&file->buf);
	memset(file, 0, sizeof(*file));
}

/*
 * Reads (inflating) what `r` holds, never past the size the header
 * implies (one byte more shows that the file is too long) nor
 * TM_LIN_MAX_FILE: a small compressed file cannot make us allocate
 * gigabytes.  Frees r.
 */
static int read_file(const struct tm_lin_format *f, struct tm_reader *r, const char *name,
		     size_t hint, struct tm_lin_file *file, struct tm_err *err)
{
	struct tm_buf *b = &file->buf;
	size_t got, limit = TM_LIN_MAX_FILE;
	int rc = 0;

	memset(file, 0, sizeof(*file));
	tm_buf_init(b, TM_MIN(hint, TM_LIN_MAX_FILE) + 1);
	for (;;) {
		size_t want;

		if (b->len >= f->header_bytes && limit == TM_LIN_MAX_FILE) {
			size_t need = f->implied_size((const unsigned char *)b->buf, b->len);

			limit = need && need < TM_LIN_MAX_FILE ? need + 1 : TM_LIN_MAX_FILE;
		}
		if (b->len >= limit)
			break;
		if (b->alloc - b->len < (1 << 16))
			tm_buf_grow(b, TM_MIN(b->len, limit));
		want = TM_MIN(b->alloc - b->len - 1, limit - b->len);
		rc = tm_reader_read(r, b->buf + b->len, want, &got, err);
		if (rc < 0 || !got)
			break;
		tm_buf_setlen(b, b->len + got);
	}
	tm_reader_free(r);
	file->data = b->buf;
	file->size = b->len;
	if (rc < 0 || (file->size >= TM_LIN_MAX_FILE &&
		       (rc = tm_lin_bad(f, err, name, TM_LIN_MAX_FILE, "larger than 2 GiB")) < 0)) {
		tm_lin_file_release(file);
		return rc;
	}
	return 0;
}

int tm_lin_file_load_mem(const struct tm_lin_format *f, const void *data, size_t len,
			 const char *name, struct tm_lin_file *file, struct tm_err *err)
{
	struct tm_reader *r;
	int rc;

	memset(file, 0, sizeof(*file));
	if ((rc = tm_reader_open_mem(data, len, name, &r, err)) < 0)
		return rc;
	return read_file(f, r, name, len, file, err);
}

/*
 * A plain (uncompressed) model file is mapped, not read.  Returns 1 when
 * the file is not plain (the caller reads it through a tm_reader).
 */
static int map_plain(const struct tm_lin_format *f, const char *path,
		     struct tm_lin_file *file, struct tm_err *err)
{
	struct stat st;
	char head[8];
	void *p;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return tm_err_sys(err, path, "cannot open the %s model", f->what);
	if (fstat(fd, &st) < 0 || pread(fd, head, 8, 0) != 8 || memcmp(head, f->magic, 8) ||
	    (p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE,
		      fd, 0)) == MAP_FAILED) {
		close(fd);
		return 1;
	}
	close(fd);
	file->map = p;
	file->map_len = (size_t)st.st_size;
	file->data = p;
	file->size = file->map_len;
	return 0;
}

int tm_lin_file_load(const struct tm_lin_format *f, const char *path,
		     struct tm_lin_file *file, struct tm_err *err)
{
	struct tm_reader *r;
	struct stat st;
	int rc;

	memset(file, 0, sizeof(*file));
	if ((rc = map_plain(f, path, file, err)) != 1)
		return rc;
	if ((rc = tm_reader_open(path, &r, err)) < 0)
		return rc;
	return read_file(f, r, path, stat(path, &st) == 0 ? (size_t)st.st_size : 1 << 20,
			 file, err);
}

int tm_lin_file_save(struct tm_buf *b, const char *path, struct tm_err *err)
{
	struct tm_writer *w;
	size_t len = strlen(path);
	int rc;

	tm_lin_put64(b, XXH64(b->buf, b->len, 0));
	if ((rc = tm_writer_open(path, TM_CODEC_AUTO,
				 len > 4 && !strcmp(path + len - 4, ".zst") ? 19 : 0,
				 &w, err)) < 0) {
		tm_buf_release(b);
		return rc;
	}
	rc = tm_writer_write(w, b->buf, b->len, err);
	tm_buf_release(b);
	if (rc < 0) {
		tm_writer_abort(w);
		return rc;
	}
	return tm_writer_commit(w, err);
}
