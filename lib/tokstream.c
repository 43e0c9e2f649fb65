/*
 * tokstream.c: the token stream's writer and reader (tokstream.h).
 * Little-endian on disk; the host is assumed little-endian (as elsewhere
 * in tamis), which the static assertion below makes explicit.
 */
#include "tamis.h"
#include "tokstream.h"
#include "stream.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "the token stream is little-endian and written in host order");

#define END_MARK 0xFFFFFFFFu

struct tm_tokw {
	struct tm_writer *w;
	struct tm_tokstream_header h;
	struct tm_buf buf;
	uint64_t count;
};

static void put_u16(struct tm_buf *b, uint16_t v)
{
	tm_buf_add(b, &v, 2);
}

static void put_u32(struct tm_buf *b, uint32_t v)
{
	tm_buf_add(b, &v, 4);
}

static void put_u64(struct tm_buf *b, uint64_t v)
{
	tm_buf_add(b, &v, 8);
}

int tm_tokw_open(const char *path, const struct tm_tokstream_header *h,
		 struct tm_tokw **out, struct tm_err *err)
{
	struct tm_tokw *w;
	uint32_t tb = h->token_bytes;
	int rc;

	*out = NULL;
	if (!tb)
		tb = h->vocab_size <= 65536 ? 2 : 4;
	if (!h->vocab_size || (tb != 2 && tb != 4) || (tb == 2 && h->vocab_size > 65536))
		return tm_err_set(err, TM_EINVAL, path, TM_ERR_NO_OFFSET, 0,
				  "a vocabulary of %" PRIu32 " with %" PRIu32 "-byte ids",
				  h->vocab_size, tb);
	w = tm_xcalloc(1, sizeof(*w));
	w->h = *h;
	w->h.token_bytes = tb;
	tm_buf_init(&w->buf, 1 << 16);
	if ((rc = tm_writer_open(path, TM_CODEC_AUTO, 0, &w->w, err)) < 0) {
		tm_buf_release(&w->buf);
		free(w);
		return rc;
	}
	tm_toks_put_header(&w->buf, &w->h);
	*out = w;
	return 0;
}

void tm_toks_put_header(struct tm_buf *b, const struct tm_tokstream_header *h)
{
	tm_buf_add(b, TM_TOKS_MAGIC, 8);
	put_u32(b, TM_TOKS_VERSION);
	put_u32(b, h->vocab_size);
	put_u32(b, h->bos_id);
	put_u32(b, h->eos_id);
	put_u32(b, h->token_bytes);
	put_u32(b, 0);
}

static int flush(struct tm_tokw *w, size_t above, struct tm_err *err)
{
	int rc = 0;

	if (w->buf.len > above) {
		rc = tm_writer_write(w->w, w->buf.buf, w->buf.len, err);
		tm_buf_reset(&w->buf);
	}
	return rc;
}

static void put_name(struct tm_buf *b, const char *s)
{
	size_t len = s ? strlen(s) : 0;

	if (len > TM_TOKS_MAX_NAME)
		len = TM_TOKS_MAX_NAME;
	put_u16(b, (uint16_t)len);
	tm_buf_add(b, s ? s : "", len);
}

int tm_tokw_write_doc(struct tm_tokw *w, const char *source, const char *id,
		      const uint32_t *ids, size_t n, struct tm_err *err)
{
	size_t i;

	if (n >= END_MARK)
		return tm_err_set(err, TM_EINVAL, NULL, TM_ERR_NO_OFFSET, 0,
				  "a document of %zu tokens", n);
	for (i = 0; i < n; i++)
		if (ids[i] >= w->h.vocab_size)
			return tm_err_set(err, TM_EINVAL, NULL, TM_ERR_NO_OFFSET, 0,
					  "document '%s': token %zu is id %" PRIu32
					  ", not below the vocabulary size %" PRIu32,
					  id ? id : "", i, ids[i], w->h.vocab_size);
	tm_toks_put_record(&w->buf, w->h.token_bytes, source, id, TM_TOK_NONE, ids, n, TM_TOK_NONE);
	w->count++;
	return flush(w, 1 << 18, err);
}

static void put_ids(struct tm_buf *b, unsigned token_bytes, const uint32_t *ids, size_t n)
{
	size_t i, base = b->len;

	if (token_bytes == 4) {
		tm_buf_add(b, ids, n * 4);
		return;
	}
	tm_buf_grow(b, n * 2);
	for (i = 0; i < n; i++) {
		uint16_t v = (uint16_t)ids[i];

		memcpy(b->buf + base + 2 * i, &v, 2);	/* records are unaligned */
	}
	tm_buf_setlen(b, base + n * 2);
}

void tm_toks_put_record(struct tm_buf *b, unsigned token_bytes, const char *source,
			const char *id, uint32_t first, const uint32_t *ids, size_t n,
			uint32_t last)
{
	put_u32(b, (uint32_t)(n + (first != TM_TOK_NONE) + (last != TM_TOK_NONE)));
	put_name(b, source);
	put_name(b, id);
	if (first != TM_TOK_NONE)
		put_ids(b, token_bytes, &first, 1);
	put_ids(b, token_bytes, ids, n);
	if (last != TM_TOK_NONE)
		put_ids(b, token_bytes, &last, 1);
}

void tm_toks_put_end(struct tm_buf *b, uint64_t count)
{
	put_u32(b, END_MARK);
	put_u64(b, count);
}

uint64_t tm_tokw_count(const struct tm_tokw *w)
{
	return w->count;
}

int tm_tokw_commit(struct tm_tokw *w, struct tm_err *err)
{
	int rc;

	tm_toks_put_end(&w->buf, w->count);
	rc = flush(w, 0, err);
	if (rc < 0)
		tm_writer_abort(w->w);
	else
		rc = tm_writer_commit(w->w, err);
	tm_buf_release(&w->buf);
	free(w);
	return rc;
}

void tm_tokw_abort(struct tm_tokw *w)
{
	if (!w)
		return;
	tm_writer_abort(w->w);
	tm_buf_release(&w->buf);
	free(w);
}

/* ---------------------------------------------------------------- reader */

struct tm_tokr {
	struct tm_reader *in;
	bool own_in;
	bool done;		/* the end marker was read, or an error */
	struct tm_tokstream_header h;
	uint64_t count;
	struct tm_buf source, id;
	uint32_t *ids;
	size_t cap;
};

static uint16_t get_u16(const char *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return v;
}

static uint32_t get_u32(const char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/* Makes `want` bytes available or says the stream ended while reading `what`. */
static int need(struct tm_tokr *r, size_t want, const char *what, struct tm_err *err)
{
	int rc = tm_reader_fill(r->in, want, err);

	if (rc < 0)
		return rc;
	if (tm_reader_avail(r->in) < want)
		return tm_err_set(err, TM_ETRUNC, tm_reader_name(r->in),
				  tm_reader_tell(r->in) + tm_reader_avail(r->in), 0,
				  "the token stream ends inside %s (no end marker): truncated",
				  what);
	return 0;
}

static int bad(struct tm_tokr *r, uint64_t off, struct tm_err *err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int bad(struct tm_tokr *r, uint64_t off, struct tm_err *err, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r->done = true;
	return tm_err_set(err, TM_EFORMAT, tm_reader_name(r->in), off, 0, "%s", msg);
}

int tm_tokr_open_reader(struct tm_reader *in, struct tm_tokr **out,
			struct tm_err *err)
{
	struct tm_tokr *r = tm_xcalloc(1, sizeof(*r));
	const char *p;
	int rc;

	*out = NULL;
	r->in = in;
	tm_buf_init(&r->source, 0);
	tm_buf_init(&r->id, 0);
	if ((rc = need(r, TM_TOKS_HEADER_BYTES, "the header", err)) < 0)
		goto fail;
	p = tm_reader_data(in);
	rc = TM_EFORMAT;
	if (memcmp(p, TM_TOKS_MAGIC, 8)) {
		bad(r, 0, err, "expected a token stream (magic '%s')", TM_TOKS_MAGIC);
		goto fail;
	}
	if (get_u32(p + 8) != TM_TOKS_VERSION) {
		bad(r, 8, err, "token stream version %" PRIu32 ", this tamis reads %d",
		    get_u32(p + 8), TM_TOKS_VERSION);
		goto fail;
	}
	r->h.vocab_size = get_u32(p + 12);
	r->h.bos_id = get_u32(p + 16);
	r->h.eos_id = get_u32(p + 20);
	r->h.token_bytes = get_u32(p + 24);
	if (!r->h.vocab_size) {
		bad(r, 12, err, "vocabulary size 0");
		goto fail;
	}
	if (r->h.bos_id != TM_TOK_NONE && r->h.bos_id >= r->h.vocab_size) {
		bad(r, 16, err, "BOS id %" PRIu32 " is not below the vocabulary size %" PRIu32,
		    r->h.bos_id, r->h.vocab_size);
		goto fail;
	}
	if (r->h.eos_id != TM_TOK_NONE && r->h.eos_id >= r->h.vocab_size) {
		bad(r, 20, err, "EOS id %" PRIu32 " is not below the vocabulary size %" PRIu32,
		    r->h.eos_id, r->h.vocab_size);
		goto fail;
	}
	if ((r->h.token_bytes != 2 && r->h.token_bytes != 4) ||
	    (r->h.token_bytes == 2 && r->h.vocab_size > 65536)) {
		bad(r, 24, err, "token width %" PRIu32 " for a vocabulary of %" PRIu32
		    " (expected 2 or 4, and 4 above 65536)", r->h.token_bytes, r->h.vocab_size);
		goto fail;
	}
	tm_reader_consume(in, TM_TOKS_HEADER_BYTES);
	*out = r;
	return 0;
fail:
	tm_buf_release(&r->source);
	tm_buf_release(&r->id);
	free(r);
	return rc;
}

int tm_tokr_open(const char *path, struct tm_tokr **out, struct tm_err *err)
{
	struct tm_reader *in;
	int rc;

	*out = NULL;
	if ((rc = tm_reader_open(path, &in, err)) < 0)
		return rc;
	if ((rc = tm_tokr_open_reader(in, out, err)) < 0) {
		tm_reader_free(in);
		return rc;
	}
	(*out)->own_in = true;
	return 0;
}

const struct tm_tokstream_header *tm_tokr_header(const struct tm_tokr *r)
{
	return &r->h;
}

/* Reads a u16-length-prefixed name into b (NUL-terminated). */
static int get_name(struct tm_tokr *r, struct tm_buf *b, const char *what,
		    struct tm_err *err)
{
	size_t len;
	int rc;

	if ((rc = need(r, 2, what, err)) < 0)
		return rc;
	len = get_u16(tm_reader_data(r->in));
	if ((rc = need(r, 2 + len, what, err)) < 0)
		return rc;
	tm_buf_reset(b);
	tm_buf_add(b, tm_reader_data(r->in) + 2, len);
	tm_reader_consume(r->in, 2 + len);
	return 0;
}

/* At the end marker: checks its count and that nothing follows. */
static int end_marker(struct tm_tokr *r, uint64_t off, struct tm_err *err)
{
	uint64_t n;
	int rc;

	if ((rc = need(r, 12, "the end marker", err)) < 0)
		return rc;
	memcpy(&n, tm_reader_data(r->in) + 4, 8);
	if (n != r->count)
		return bad(r, off + 4, err, "the end marker counts %" PRIu64
			   " documents, the stream holds %" PRIu64, n, r->count);
	tm_reader_consume(r->in, 12);
	if ((rc = tm_reader_fill(r->in, 1, err)) < 0)
		return rc;
	if (tm_reader_avail(r->in))
		return bad(r, off + 12, err, "bytes after the end marker");
	r->done = true;
	return 0;
}

int tm_tokr_next(struct tm_tokr *r, const char **source, const char **id,
		 const uint32_t **ids, size_t *n, struct tm_err *err)
{
	uint64_t off = tm_reader_tell(r->in), data_off;
	uint32_t ntok, i;
	size_t bytes;
	const char *p;
	int rc;

	if (r->done)
		return 0;
	if ((rc = need(r, 4, "a record", err)) < 0)
		goto fail;
	ntok = get_u32(tm_reader_data(r->in));
	if (ntok == END_MARK) {
		if ((rc = end_marker(r, off, err)) < 0)
			goto fail;
		return 0;
	}
	tm_reader_consume(r->in, 4);
	if ((rc = get_name(r, &r->source, "a record's source", err)) < 0 ||
	    (rc = get_name(r, &r->id, "a record's id", err)) < 0)
		goto fail;
	/*
	 * In pieces, so the window never holds a whole long document, and
	 * growing the array as the ids arrive, so a damaged count fails as
	 * truncated rather than asking for gigabytes first.
	 */
	for (i = 0; i < ntok;) {
		uint32_t k = TM_MIN(ntok - i, 1u << 16), j;

		if ((size_t)i + k > r->cap) {
			r->cap = TM_MAX((size_t)i + k, r->cap * 2);
			r->ids = tm_xrealloc(r->ids, r->cap * sizeof(*r->ids));
		}

		bytes = (size_t)k * r->h.token_bytes;
		if ((rc = need(r, bytes, "a record's ids", err)) < 0)
			goto fail;
		p = tm_reader_data(r->in);
		data_off = tm_reader_tell(r->in);
		if (r->h.token_bytes == 2)
			for (j = 0; j < k; j++)
				r->ids[i + j] = get_u16(p + 2 * j);
		else
			memcpy(r->ids + i, p, bytes);
		for (j = 0; j < k; j++)
			if (r->ids[i + j] >= r->h.vocab_size)
				return bad(r, data_off + (uint64_t)j * r->h.token_bytes, err,
					   "document '%s': id %" PRIu32
					   " is not below the vocabulary size %" PRIu32,
					   r->id.buf, r->ids[i + j], r->h.vocab_size);
		tm_reader_consume(r->in, bytes);
		i += k;
	}
	r->count++;
	*source = r->source.buf;
	*id = r->id.buf;
	*ids = r->ids;
	*n = ntok;
	return 1;
fail:
	r->done = true;
	return rc;
}

uint64_t tm_tokr_count(const struct tm_tokr *r)
{
	return r->count;
}

uint64_t tm_tokr_tell(const struct tm_tokr *r)
{
	return tm_reader_tell(r->in);
}

uint64_t tm_tokr_raw_consumed(const struct tm_tokr *r)
{
	return tm_reader_raw_consumed(r->in);
}

void tm_tokr_free(struct tm_tokr *r)
{
	if (!r)
		return;
	if (r->own_in)
		tm_reader_free(r->in);
	tm_buf_release(&r->source);
	tm_buf_release(&r->id);
	free(r->ids);
	free(r);
}
