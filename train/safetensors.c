/*
 * safetensors.c: the safetensors writer and validating reader
 * (safetensors.h).  The header is JSON through jansson; the data is
 * mapped read-only and converted to fp32 on request.
 */
#include "tamis.h"
#include "safetensors.h"
#include "doc.h"

#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.c reads and writes little-endian data with memcpy"
#endif

static const struct {
	const char *name;
	size_t size;
} dtypes[TM_ST__COUNT] = {
	[TM_ST_F32] = { "F32", 4 },	[TM_ST_BF16] = { "BF16", 2 },
	[TM_ST_F16] = { "F16", 2 },	[TM_ST_F64] = { "F64", 8 },
	[TM_ST_BOOL] = { "BOOL", 1 },	[TM_ST_U8] = { "U8", 1 },
	[TM_ST_I8] = { "I8", 1 },	[TM_ST_F8_E5M2] = { "F8_E5M2", 1 },
	[TM_ST_F8_E4M3] = { "F8_E4M3", 1 }, [TM_ST_F8_E8M0] = { "F8_E8M0", 1 },
	[TM_ST_I16] = { "I16", 2 },	[TM_ST_U16] = { "U16", 2 },
	[TM_ST_I32] = { "I32", 4 },	[TM_ST_U32] = { "U32", 4 },
	[TM_ST_I64] = { "I64", 8 },	[TM_ST_U64] = { "U64", 8 },
	[TM_ST_C64] = { "C64", 8 },
};

/* Dtypes of the format whose elements are not whole bytes: not read. */
static const char *const subbyte_dtypes[] = { "F4", "F6_E2M3", "F6_E3M2" };

const char *tm_st_dtype_name(enum tm_st_dtype d)
{
	return (unsigned)d < TM_ST__COUNT ? dtypes[d].name : NULL;
}

size_t tm_st_dtype_size(enum tm_st_dtype d)
{
	return (unsigned)d < TM_ST__COUNT ? dtypes[d].size : 0;
}

int tm_st_dtype_from_name(const char *name)
{
	int i;

	for (i = 0; i < TM_ST__COUNT; i++)
		if (!strcmp(dtypes[i].name, name))
			return i;
	return -1;
}

/* ---- element conversions ---------------------------------------------- */

static uint32_t f32_bits(float x)
{
	uint32_t u;

	memcpy(&u, &x, 4);
	return u;
}

static float f32_of_bits(uint32_t u)
{
	float x;

	memcpy(&x, &u, 4);
	return x;
}

uint16_t tm_bf16_from_f32(float x)
{
	uint32_t u = f32_bits(x);

	if ((u & 0x7fffffff) > 0x7f800000)	/* NaN: keep it one (quiet bit) */
		return (uint16_t)((u >> 16) | 0x40);
	u += 0x7fff + ((u >> 16) & 1);		/* to nearest, ties to even */
	return (uint16_t)(u >> 16);
}

float tm_f32_from_bf16(uint16_t h)
{
	return f32_of_bits((uint32_t)h << 16);
}

float tm_f32_from_f16(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000) << 16;
	uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff;

	if (exp == 0x1f)		/* inf, NaN (payload kept) */
		return f32_of_bits(sign | 0x7f800000 | man << 13);
	if (exp)
		return f32_of_bits(sign | (exp + 112) << 23 | man << 13);
	if (!man)
		return f32_of_bits(sign);
	/* a subnormal: man * 2^-24, exact in fp32 */
	return sign ? -(float)man * 0x1p-24f : (float)man * 0x1p-24f;
}

/* ---- small shared pieces ------------------------------------------------ */

void *tm_st_json_object(const char *text, size_t len, const char *path, uint64_t base,
			struct tm_err *err)
{
	const char *nul = memchr(text, '\0', len);
	size_t bad;
	json_error_t je;
	json_t *root;

	/* jansson stops at a raw NUL and says something else; name it */
	if (nul) {
		tm_err_set(err, TM_EFORMAT, path, base + (uint64_t)(nul - text), 0,
			   "raw NUL byte in JSON");
		return NULL;
	}
	bad = tm_utf8_bad_at(text, len);
	if (bad < len) {
		tm_err_set(err, TM_EFORMAT, path, base + bad, 0,
			   "invalid UTF-8 (byte 0x%02x) in JSON", (unsigned char)text[bad]);
		return NULL;
	}
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		if (json_error_code(&je) == json_error_out_of_memory)
			tm_die_oom(len);
		tm_err_set(err, TM_EFORMAT, path, base + (uint64_t)TM_MAX(je.position, 0),
			   TM_MAX(je.line, 1), "invalid JSON: %s", je.text);
		return NULL;
	}
	if (!json_is_object(root)) {
		tm_err_set(err, TM_EFORMAT, path, base, 0, "expected a JSON object, got %s",
			   tm_json_type_name(root));
		json_decref(root);
		return NULL;
	}
	return root;
}

int tm_st_read_small(const char *path, size_t max, struct tm_buf *out, struct tm_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	ssize_t got;
	int rc = 0;

	tm_buf_reset(out);
	if (fd < 0)
		return tm_err_sys(err, path, "cannot open");
	if (fstat(fd, &st) < 0) {
		rc = tm_err_sys(err, path, "cannot stat");
	} else if (!S_ISREG(st.st_mode)) {
		rc = tm_err_set(err, TM_EIO, path, TM_ERR_NO_OFFSET, 0, "not a regular file");
	} else if ((uint64_t)st.st_size > max) {
		rc = tm_err_set(err, TM_ETOOBIG, path, TM_ERR_NO_OFFSET, 0,
				"%lld bytes exceed the limit of %zu bytes",
				(long long)st.st_size, max);
	} else {
		tm_buf_grow(out, (size_t)st.st_size);
		for (;;) {
			tm_buf_grow(out, 4096);
			got = read(fd, out->buf + out->len, out->alloc - out->len - 1);
			if (got < 0 && errno == EINTR)
				continue;
			if (got < 0) {
				rc = tm_err_sys(err, path, "read failed");
				break;
			}
			if (!got)
				break;
			tm_buf_setlen(out, out->len + (size_t)got);
			if (out->len > max) {
				rc = tm_err_set(err, TM_ETOOBIG, path, TM_ERR_NO_OFFSET, 0,
						"more than the limit of %zu bytes", max);
				break;
			}
		}
	}
	close(fd);
	return rc;
}

/* a * b into *r, false on overflow past INT64_MAX (a, b >= 0) */
static bool mul_ok(int64_t a, int64_t b, int64_t *r)
{
	return !__builtin_mul_overflow(a, b, r);
}

/* ---- writing ---------------------------------------------------------- */

/* Writes all of p[0..n) to fd; -1 with errno on failure (ENOSPC for a 0). */
static int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t w = write(fd, c, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (!w)
				errno = ENOSPC;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* fsync of the directory holding `path`, so that a rename into it lasts. */
static int fsync_parent(const char *path)
{
	char *copy = tm_xstrdup(path);
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = -1;

	free(copy);
	if (fd >= 0) {
		rc = fsync(fd);
		close(fd);
	}
	return rc;
}

/*
 * A temporary file beside `path` (its name into tmp): the fd, or a
 * negative TM_E* code.
 */
static int tmp_open(const char *path, struct tm_buf *tmp, struct tm_err *err)
{
	int fd;

	tm_buf_reset(tmp);
	tm_buf_addf(tmp, "%s.tmp-%ld-XXXXXX", path, (long)getpid());
	fd = mkostemp(tmp->buf, O_CLOEXEC);
	if (fd < 0)
		return tm_err_sys(err, path, "cannot create a temporary file '%s'", tmp->buf);
	return fd;
}

/*
 * Ends the temporary file fd (named tmp) that was written with result rc:
 * fsync, close and rename to path when all went well, else remove it.
 */
static int tmp_finish(int fd, const char *tmp, const char *path, int rc, struct tm_err *err)
{
	if (!rc && fsync(fd) < 0)
		rc = tm_err_sys(err, tmp, "fsync failed");
	if (close(fd) < 0 && !rc)
		rc = tm_err_sys(err, tmp, "close failed");
	if (!rc && rename(tmp, path) < 0)
		rc = tm_err_sys(err, path, "cannot rename '%s' into place", tmp);
	if (rc)
		unlink(tmp);
	else if (fsync_parent(path) < 0)
		rc = tm_err_sys(err, path, "fsync of the directory failed");
	return rc;
}

int tm_st_write_small(const char *path, const void *data, size_t len, struct tm_err *err)
{
	struct tm_buf tmp = TM_BUF_INIT;
	int fd = tmp_open(path, &tmp, err), rc = 0;

	if (fd < 0) {
		rc = fd;
	} else {
		if (write_all(fd, data, len))
			rc = tm_err_sys(err, tmp.buf, "write failed");
		rc = tmp_finish(fd, tmp.buf, path, rc, err);
	}
	tm_buf_release(&tmp);
	return rc;
}

static int set_new(json_t *obj, const char *key, json_t *v)
{
	if (!v)
		tm_die_oom(0);
	return json_object_set_new(obj, key, v);
}

/* The JSON header of a write (without padding), or an error. */
static int build_header(const struct tm_st_out *t, size_t n, enum tm_st_dtype dtype,
			const char *const *meta, const char *path, json_t **out,
			struct tm_err *err)
{
	json_t *root = json_object(), *m, *e, *shape;
	int64_t off = 0, numel, bytes;
	size_t i;
	int d, rc = 0;

	if (!root)
		tm_die_oom(0);
	for (i = 0; meta && meta[i]; i += 2) {
		json_t *v;

		if (!meta[i + 1]) {
			rc = tm_err_set(err, TM_EINVAL, path, TM_ERR_NO_OFFSET, 0,
					"metadata key '%s' has no value", meta[i]);
			goto out;
		}
		m = json_object_get(root, "__metadata__");
		if (!m) {
			m = json_object();
			set_new(root, "__metadata__", m);
		}
		v = json_string(meta[i + 1]);
		if (!v || json_object_get(m, meta[i]) || json_object_set_new(m, meta[i], v) < 0) {
			rc = tm_err_set(err, TM_EINVAL, path, TM_ERR_NO_OFFSET, 0,
					"metadata '%s': a key twice, or a string that is not UTF-8",
					meta[i]);
			goto out;
		}
	}
	for (i = 0; i < n; i++) {
		if (!strcmp(t[i].name, "__metadata__") || json_object_get(root, t[i].name)) {
			rc = tm_err_set(err, TM_EINVAL, path, TM_ERR_NO_OFFSET, 0,
					"tensor name '%s' is reserved or given twice", t[i].name);
			goto out;
		}
		if (t[i].ndim < 0 || t[i].ndim > TM_ST_MAX_DIM) {
			rc = tm_err_set(err, TM_EINVAL, path, TM_ERR_NO_OFFSET, 0,
					"tensor '%s': %d dimensions", t[i].name, t[i].ndim);
			goto out;
		}
		shape = json_array();
		numel = 1;
		for (d = 0; d < t[i].ndim; d++) {
			if (t[i].shape[d] < 0 || !mul_ok(numel, t[i].shape[d], &numel))
				numel = -1;
			if (!shape || json_array_append_new(shape, json_integer(t[i].shape[d])))
				tm_die_oom(0);
		}
		if (numel < 0 || !mul_ok(numel, (int64_t)dtypes[dtype].size, &bytes) ||
		    __builtin_add_overflow(off, bytes, &bytes) || (numel && !t[i].data)) {
			json_decref(shape);
			rc = tm_err_set(err, TM_EINVAL, path, TM_ERR_NO_OFFSET, 0,
					"tensor '%s': %s", t[i].name, numel && !t[i].data ?
					"no data" : "a negative dimension or a size past 2^63");
			goto out;
		}
		e = json_object();
		if (!e)
			tm_die_oom(0);
		set_new(e, "dtype", json_string(dtypes[dtype].name));
		set_new(e, "shape", shape);
		set_new(e, "data_offsets", json_pack("[II]", (json_int_t)off, (json_int_t)bytes));
		off = bytes;
		if (set_new(root, t[i].name, e) < 0) {
			rc = tm_err_set(err, TM_EINVAL, path, TM_ERR_NO_OFFSET, 0,
					"tensor name '%s' is not UTF-8", t[i].name);
			goto out;
		}
	}
out:
	if (rc)
		json_decref(root);
	else
		*out = root;
	return rc;
}

static int64_t out_numel(const struct tm_st_out *t)
{
	int64_t numel = 1;
	int d;

	for (d = 0; d < t->ndim; d++)
		numel *= t->shape[d];
	return numel;
}

/* The values of t as `dtype`, converted through buf (CHUNK elements). */
#define CHUNK (1 << 19)
static int write_data(int fd, const struct tm_st_out *t, enum tm_st_dtype dtype,
		      uint16_t *buf)
{
	int64_t numel = out_numel(t), i, j, k;

	if (dtype == TM_ST_F32)
		return write_all(fd, t->data, (size_t)numel * 4);
	for (i = 0; i < numel; i += k) {
		k = TM_MIN(CHUNK, numel - i);
		for (j = 0; j < k; j++)
			buf[j] = tm_bf16_from_f32(t->data[i + j]);
		if (write_all(fd, buf, (size_t)k * 2))
			return -1;
	}
	return 0;
}

int tm_st_write(const char *path, const struct tm_st_out *t, size_t n,
		enum tm_st_dtype dtype, const char *const *meta, struct tm_err *err)
{
	struct tm_buf tmp = TM_BUF_INIT, head = TM_BUF_INIT;
	uint16_t *buf = NULL;
	json_t *root;
	char *json;
	uint64_t hlen;
	size_t i;
	int fd, rc;

	if (dtype != TM_ST_F32 && dtype != TM_ST_BF16)
		return tm_err_set(err, TM_EINVAL, path, TM_ERR_NO_OFFSET, 0,
				  "cannot write dtype %s (F32 or BF16)",
				  tm_st_dtype_name(dtype) ? tm_st_dtype_name(dtype) : "?");
	rc = build_header(t, n, dtype, meta, path, &root, err);
	if (rc)
		return rc;
	json = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	if (!json)
		tm_die_oom(0);
	/* the reference pads with spaces so that the data is 8-byte aligned */
	hlen = (strlen(json) + 7) / 8 * 8;
	for (i = 0; i < 8; i++)
		tm_buf_addch(&head, (int)(hlen >> (8 * i) & 0xff));
	tm_buf_addstr(&head, json);
	free(json);
	while (head.len < 8 + hlen)
		tm_buf_addch(&head, ' ');

	fd = tmp_open(path, &tmp, err);
	if (fd < 0) {
		rc = fd;
		goto out;
	}
	if (dtype == TM_ST_BF16)
		buf = tm_xmalloc(CHUNK * sizeof(*buf));
	if (write_all(fd, head.buf, head.len))
		rc = tm_err_sys(err, tmp.buf, "write failed");
	for (i = 0; !rc && i < n; i++)
		if (write_data(fd, &t[i], dtype, buf))
			rc = tm_err_sys(err, tmp.buf, "write failed (tensor '%s')", t[i].name);
	rc = tmp_finish(fd, tmp.buf, path, rc, err);
out:
	free(buf);
	tm_buf_release(&head);
	tm_buf_release(&tmp);
	return rc;
}

/* ---- reading ---------------------------------------------------------- */

struct st_file {
	char *path;
	const unsigned char *base;	/* the whole file */
	size_t size;
	void *map;			/* base, when tm_st_open mapped it */
	uint64_t data;			/* where the data begins: 8 + N */
	json_t *meta;			/* "__metadata__" (a reference), or NULL */
};

struct tm_st {
	struct st_file *files;
	int nfiles;
	struct tm_st_tensor *t;
	size_t n, alloc;
	size_t *by_name;		/* indices into t, sorted by name */
};

static struct tm_st *st_new(void)
{
	return tm_xcalloc(1, sizeof(struct tm_st));
}

static struct st_file *add_file(struct tm_st *st, const char *path)
{
	struct st_file *f;

	st->files = tm_xrealloc(st->files, (size_t)(st->nfiles + 1) * sizeof(*st->files));
	f = &st->files[st->nfiles++];
	memset(f, 0, sizeof(*f));
	f->path = tm_xstrdup(path);
	return f;
}

void tm_st_free(struct tm_st *st)
{
	size_t i;
	int k;

	if (!st)
		return;
	for (k = 0; k < st->nfiles; k++) {
		if (st->files[k].map)
			munmap(st->files[k].map, st->files[k].size);
		json_decref(st->files[k].meta);
		free(st->files[k].path);
	}
	for (i = 0; i < st->n; i++)
		free((char *)st->t[i].name);
	free(st->files);
	free(st->t);
	free(st->by_name);
	free(st);
}

/* An integer >= 0 from a JSON value, or -1. */
static int64_t json_count(const json_t *v)
{
	return json_is_integer(v) && json_integer_value(v) >= 0 ? json_integer_value(v) : -1;
}

/*
 * Checks one header entry `v` named `name` and fills *t.  `f` and `hoff`
 * (the header's offset) are for messages.
 */
static int parse_entry(const struct st_file *f, const char *name, json_t *v,
		       uint64_t data_len, struct tm_st_tensor *t, struct tm_err *err)
{
	const uint64_t hoff = 8;
	json_t *dt = json_object_get(v, "dtype"), *shape = json_object_get(v, "shape");
	json_t *offs = json_object_get(v, "data_offsets");
	int64_t b, e, bytes;
	size_t i, nd;
	int d;

	memset(t, 0, sizeof(*t));
	if (!json_is_object(v))
		return tm_err_set(err, TM_EFORMAT, f->path, hoff, 0,
				  "tensor '%s': expected an object, got %s", name,
				  tm_json_type_name(v));
	if (!json_is_string(dt) || !json_is_array(shape) || !json_is_array(offs) ||
	    json_object_size(v) != 3)
		return tm_err_set(err, TM_EFORMAT, f->path, hoff, 0,
				  "tensor '%s': expected exactly \"dtype\" (a string), \"shape\" "
				  "and \"data_offsets\" (arrays)", name);
	d = tm_st_dtype_from_name(json_string_value(dt));
	if (d < 0) {
		for (i = 0; i < TM_ARRAY_SIZE(subbyte_dtypes); i++)
			if (!strcmp(json_string_value(dt), subbyte_dtypes[i]))
				return tm_err_set(err, TM_EUNSUP, f->path, hoff, 0,
						  "tensor '%s': dtype %s (sub-byte) is not supported",
						  name, subbyte_dtypes[i]);
		return tm_err_set(err, TM_EFORMAT, f->path, hoff, 0,
				  "tensor '%s': unknown dtype '%s'", name,
				  json_string_value(dt));
	}
	t->dtype = (enum tm_st_dtype)d;
	nd = json_array_size(shape);
	if (nd > TM_ST_MAX_DIM)
		return tm_err_set(err, TM_EUNSUP, f->path, hoff, 0,
				  "tensor '%s': %zu dimensions, more than %d", name, nd,
				  TM_ST_MAX_DIM);
	t->ndim = (int)nd;
	t->numel = 1;
	for (i = 0; i < nd; i++) {
		t->shape[i] = json_count(json_array_get(shape, i));
		if (t->shape[i] < 0)
			return tm_err_set(err, TM_EFORMAT, f->path, hoff, 0,
					  "tensor '%s': shape[%zu] is not an integer >= 0",
					  name, i);
		if (!mul_ok(t->numel, t->shape[i], &t->numel))
			return tm_err_set(err, TM_EFORMAT, f->path, hoff, 0,
					  "tensor '%s': the shape's product overflows", name);
	}
	b = json_count(json_array_get(offs, 0));
	e = json_count(json_array_get(offs, 1));
	if (json_array_size(offs) != 2 || b < 0 || e < b)
		return tm_err_set(err, TM_EFORMAT, f->path, hoff, 0,
				  "tensor '%s': data_offsets must be [begin, end] with "
				  "0 <= begin <= end", name);
	if (!mul_ok(t->numel, (int64_t)dtypes[d].size, &bytes) || bytes != e - b)
		return tm_err_set(err, TM_EFORMAT, f->path, hoff, 0,
				  "tensor '%s': %" PRId64 " elements of %s need %" PRId64
				  " bytes, data_offsets [%" PRId64 ", %" PRId64 "] hold %" PRId64,
				  name, t->numel, dtypes[d].name, bytes < 0 ? INT64_MAX : bytes,
				  b, e, e - b);
	if ((uint64_t)e > data_len)
		return tm_err_set(err, TM_ETRUNC, f->path, f->data + (uint64_t)b, 0,
				  "tensor '%s' ends at byte %" PRId64 " of the data, which "
				  "holds %" PRIu64 " bytes", name, e, data_len);
	t->begin = (uint64_t)b;
	t->end = (uint64_t)e;
	return 0;
}

static int by_offset(const void *a, const void *b)
{
	const struct tm_st_tensor *x = a, *y = b;

	if (x->begin != y->begin)
		return x->begin < y->begin ? -1 : 1;
	if (x->end != y->end)
		return x->end < y->end ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Sorted by offset, the tensors t[0..n) must tile [0, data_len). */
static int check_coverage(const struct st_file *f, const struct tm_st_tensor *t, size_t n,
			  uint64_t data_len, struct tm_err *err)
{
	uint64_t at = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (t[i].begin < at)
			return tm_err_set(err, TM_EFORMAT, f->path, f->data + t[i].begin, 0,
					  "tensor '%s' (data_offsets [%" PRIu64 ", %" PRIu64
					  "]) overlaps tensor '%s' (ending at %" PRIu64 ")",
					  t[i].name, t[i].begin, t[i].end, t[i - 1].name, at);
		if (t[i].begin > at)
			return tm_err_set(err, TM_EFORMAT, f->path, f->data + at, 0,
					  "bytes [%" PRIu64 ", %" PRIu64 ") of the data belong "
					  "to no tensor", at, t[i].begin);
		at = t[i].end;
	}
	if (at != data_len)
		return tm_err_set(err, TM_EFORMAT, f->path, f->data + at, 0,
				  "%" PRIu64 " bytes of data after the last tensor",
				  data_len - at);
	return 0;
}

static int parse_meta(struct st_file *f, json_t *m, struct tm_err *err)
{
	const char *key;
	json_t *v;

	if (json_is_null(m))
		return 0;
	if (!json_is_object(m))
		return tm_err_set(err, TM_EFORMAT, f->path, 8, 0,
				  "\"__metadata__\" must be an object, got %s", tm_json_type_name(m));
	json_object_foreach(m, key, v) {
		if (!json_is_string(v))
			return tm_err_set(err, TM_EFORMAT, f->path, 8, 0,
					  "\"__metadata__\": '%s' must be a string, got %s",
					  key, tm_json_type_name(v));
	}
	f->meta = json_incref(m);
	return 0;
}

/* Validates the file f (base and size set) and appends its tensors to st. */
static int parse_file(struct tm_st *st, struct st_file *f, struct tm_err *err)
{
	uint64_t n, data_len;
	size_t first = st->n;
	const char *key;
	json_t *root, *v;
	int rc = 0;

	if (f->size < 8)
		return tm_err_set(err, TM_ETRUNC, f->path, 0, 0,
				  "%zu bytes, shorter than the 8-byte header length", f->size);
	n = 0;
	memcpy(&n, f->base, 8);
	if (n > TM_ST_MAX_HEADER)
		return tm_err_set(err, TM_ETOOBIG, f->path, 0, 0,
				  "header length %" PRIu64 " exceeds the limit of %llu bytes",
				  n, TM_ST_MAX_HEADER);
	if (n > f->size - 8)
		return tm_err_set(err, TM_ETRUNC, f->path, 0, 0,
				  "header length %" PRIu64 " runs past the end of the file "
				  "(%zu bytes)", n, f->size);
	if (n < 2 || f->base[8] != '{')
		return tm_err_set(err, TM_EFORMAT, f->path, 8, 0,
				  "the header must be a JSON object starting with '{'");
	f->data = 8 + n;
	data_len = f->size - f->data;
	root = tm_st_json_object((const char *)f->base + 8, n, f->path, 8, err);
	if (!root)
		return TM_EFORMAT;
	json_object_foreach(root, key, v) {
		if (!strcmp(key, "__metadata__")) {
			rc = parse_meta(f, v, err);
		} else {
			if (st->n == st->alloc) {
				st->alloc = st->alloc ? 2 * st->alloc : 64;
				st->t = tm_xrealloc(st->t, st->alloc * sizeof(*st->t));
			}
			rc = parse_entry(f, key, v, data_len, &st->t[st->n], err);
			if (!rc) {
				st->t[st->n].name = tm_xstrdup(key);
				st->t[st->n].file = (int)(f - st->files);
				st->n++;
			}
		}
		if (rc)
			break;
	}
	json_decref(root);
	if (rc)
		return rc;
	if (st->n == first)	/* no tensor: the data must be empty */
		return check_coverage(f, NULL, 0, data_len, err);
	qsort(st->t + first, st->n - first, sizeof(*st->t), by_offset);
	return check_coverage(f, st->t + first, st->n - first, data_len, err);
}

static int by_name_cmp(const void *a, const void *b, void *arg)
{
	const struct tm_st_tensor *t = arg;

	return strcmp(t[*(const size_t *)a].name, t[*(const size_t *)b].name);
}

/* Builds the name index; two tensors of one name (two files) are an error. */
static int index_names(struct tm_st *st, struct tm_err *err)
{
	size_t i;

	st->by_name = tm_xmalloc((st->n ? st->n : 1) * sizeof(*st->by_name));
	for (i = 0; i < st->n; i++)
		st->by_name[i] = i;
	if (st->n)
		qsort_r(st->by_name, st->n, sizeof(*st->by_name), by_name_cmp, st->t);
	for (i = 1; i < st->n; i++) {
		const struct tm_st_tensor *a = &st->t[st->by_name[i - 1]];
		const struct tm_st_tensor *b = &st->t[st->by_name[i]];

		if (!strcmp(a->name, b->name))
			return tm_err_set(err, TM_EFORMAT, st->files[b->file].path,
					  TM_ERR_NO_OFFSET, 0,
					  "tensor '%s' is also in '%s'", b->name,
					  st->files[a->file].path);
	}
	return 0;
}

int tm_st_parse(const void *data, size_t size, const char *name, struct tm_st **out,
		struct tm_err *err)
{
	struct tm_st *st = st_new();
	struct st_file *f = add_file(st, name);
	int rc;

	f->base = data;
	f->size = size;
	rc = parse_file(st, f, err);
	if (!rc)
		rc = index_names(st, err);
	if (rc) {
		tm_st_free(st);
		return rc;
	}
	*out = st;
	return 0;
}

/* Maps the file f->path read-only. */
static int map_file(struct st_file *f, struct tm_err *err)
{
	int fd = open(f->path, O_RDONLY | O_CLOEXEC), rc = 0;
	struct stat sb;

	if (fd < 0)
		return tm_err_sys(err, f->path, "cannot open");
	if (fstat(fd, &sb) < 0) {
		rc = tm_err_sys(err, f->path, "cannot stat");
	} else if (!S_ISREG(sb.st_mode)) {
		rc = tm_err_set(err, TM_EIO, f->path, TM_ERR_NO_OFFSET, 0, "not a regular file");
	} else if (sb.st_size > 0) {
		f->map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (f->map == MAP_FAILED) {
			f->map = NULL;
			rc = tm_err_sys(err, f->path, "cannot map %lld bytes",
					(long long)sb.st_size);
		} else {
			f->base = f->map;
			f->size = (size_t)sb.st_size;
		}
	}
	close(fd);
	return rc;
}

/* The last component of a path (not modified, unlike basename(3)'s). */
static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/* Plain file names only: an index may not point outside its directory. */
static bool plain_name(const char *s)
{
	return *s && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, "..");
}

/*
 * Opens the files of the index `path` (parsed: root) and checks the
 * weight_map against what they hold.
 */
static int open_index(struct tm_st *st, const char *path, json_t *root, struct tm_err *err)
{
	json_t *map = json_object_get(root, "weight_map"), *v;
	struct tm_buf p = TM_BUF_INIT;
	char *copy = tm_xstrdup(path);
	const char *dir = dirname(copy), *key;
	size_t i;
	int rc = 0, k;

	if (!json_is_object(map)) {
		rc = tm_err_set(err, TM_EFORMAT, path, TM_ERR_NO_OFFSET, 0,
				"expected \"weight_map\", an object of tensor: file");
		goto out;
	}
	json_object_foreach(map, key, v) {
		const char *file = json_string_value(v);

		if (!file || !plain_name(file)) {
			rc = tm_err_set(err, TM_EFORMAT, path, TM_ERR_NO_OFFSET, 0,
					"weight_map: '%s' must map to a file name in the "
					"index's directory", key);
			goto out;
		}
		for (k = 0; k < st->nfiles; k++)
			if (!strcmp(base_name(st->files[k].path), file))
				break;
		if (k < st->nfiles)
			continue;
		tm_buf_reset(&p);
		tm_buf_addf(&p, "%s/%s", dir, file);
		rc = map_file(add_file(st, p.buf), err);
		if (!rc)
			rc = parse_file(st, &st->files[st->nfiles - 1], err);
		if (rc)
			goto out;
	}
	for (i = 0; i < st->n; i++) {
		const struct st_file *f = &st->files[st->t[i].file];
		const char *want = json_string_value(json_object_get(map, st->t[i].name));

		if (!want || strcmp(want, base_name(f->path))) {
			rc = tm_err_set(err, TM_EFORMAT, f->path, TM_ERR_NO_OFFSET, 0,
					"tensor '%s' is here, but the index '%s' %s%s", st->t[i].name,
					path, want ? "maps it to " : "does not list it",
					want ? want : "");
			goto out;
		}
	}
	rc = index_names(st, err);
	if (!rc && st->n != json_object_size(map)) {
		json_object_foreach(map, key, v) {
			if (!tm_st_find(st, key)) {
				rc = tm_err_set(err, TM_EFORMAT, path, TM_ERR_NO_OFFSET, 0,
						"weight_map maps '%s' to '%s', which does not "
						"hold it", key, json_string_value(v));
				break;
			}
		}
	}
out:
	free(copy);
	tm_buf_release(&p);
	return rc;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

int tm_st_open(const char *path, struct tm_st **out, struct tm_err *err)
{
	struct tm_st *st = st_new();
	struct tm_buf text = TM_BUF_INIT;
	json_t *root;
	int rc;

	if (ends_with(path, ".json")) {
		rc = tm_st_read_small(path, 64 << 20, &text, err);
		if (!rc) {
			root = tm_st_json_object(text.buf, text.len, path, 0, err);
			rc = root ? open_index(st, path, root, err) : TM_EFORMAT;
			json_decref(root);
		}
	} else {
		struct st_file *f = add_file(st, path);

		rc = map_file(f, err);
		if (!rc)
			rc = parse_file(st, f, err);
		if (!rc)
			rc = index_names(st, err);
	}
	tm_buf_release(&text);
	if (rc) {
		tm_st_free(st);
		return rc;
	}
	*out = st;
	return 0;
}

size_t tm_st_count(const struct tm_st *st)
{
	return st->n;
}

const struct tm_st_tensor *tm_st_get(const struct tm_st *st, size_t i)
{
	return i < st->n ? &st->t[i] : NULL;
}

const struct tm_st_tensor *tm_st_find(const struct tm_st *st, const char *name)
{
	size_t lo = 0, hi = st->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(st->t[st->by_name[mid]].name, name);

		if (!c)
			return &st->t[st->by_name[mid]];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const char *tm_st_meta(const struct tm_st *st, const char *key)
{
	int k;

	for (k = 0; k < st->nfiles; k++) {
		const char *v = json_string_value(json_object_get(st->files[k].meta, key));

		if (v)
			return v;
	}
	return NULL;
}

const char *tm_st_file_name(const struct tm_st *st, int i)
{
	return i >= 0 && i < st->nfiles ? st->files[i].path : NULL;
}

int tm_st_load(const struct tm_st *st, const struct tm_st_tensor *t, float *out,
	       struct tm_err *err)
{
	const struct st_file *f = &st->files[t->file];
	const unsigned char *p = f->base + f->data + t->begin;
	int64_t i;
	uint16_t h;

	switch (t->dtype) {
	case TM_ST_F32:
		memcpy(out, p, (size_t)t->numel * 4);
		return 0;
	case TM_ST_BF16:
		for (i = 0; i < t->numel; i++) {
			memcpy(&h, p + 2 * i, 2);
			out[i] = tm_f32_from_bf16(h);
		}
		return 0;
	case TM_ST_F16:
		for (i = 0; i < t->numel; i++) {
			memcpy(&h, p + 2 * i, 2);
			out[i] = tm_f32_from_f16(h);
		}
		return 0;
	default:
		return tm_err_set(err, TM_EUNSUP, f->path, f->data + t->begin, 0,
				  "tensor '%s' is %s; tamis reads F32, BF16 and F16",
				  t->name, dtypes[t->dtype].name);
	}
}
