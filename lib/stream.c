/*
 * stream.c: decompressing readers and atomic, compressing writers.
 *
 * The reader keeps two buffers: `raw` (bytes as read from the input) and
 * `win` (decompressed bytes not yet consumed by the caller).  Member and
 * frame starts are remembered as (decompressed offset, raw offset) pairs
 * while they are inside the window, so that raw_tell() can name the raw
 * offset of a WARC record that starts a gzip member.
 */
#include "tamis.h"
#include "stream.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <isa-l/igzip_lib.h>
#include <zlib.h>
#include <zstd.h>

#define RAW_SIZE (256 * 1024)
#define WIN_CHUNK (256 * 1024)
#define WIN_LIMIT ((size_t)1 << 31)

struct boundary {
	uint64_t upos;	/* decompressed offset of the member's first byte */
	uint64_t rpos;	/* raw offset of the member's first byte */
};

struct tm_reader {
	char *name;
	int fd;
	bool own_fd;
	bool input_end;		/* read() returned 0 */
	enum tm_codec codec;
	bool detected;

	/* raw input */
	const unsigned char *mem;	/* for open_mem: the whole input */
	unsigned char *raw;
	size_t raw_pos, raw_len;
	uint64_t raw_base;	/* raw offset of raw[0] */
	uint64_t raw_size;

	/* decompressed window: win[wstart..wend) is available */
	char *win;
	size_t wstart, wend, wcap;
	uint64_t upos_base;	/* decompressed offset of win[0] */

	/* codec state */
	bool in_member;		/* inside a gzip member / zstd frame */
	struct inflate_state *isal;	/* gzip: ISA-L's inflate (2-3x zlib) */
	ZSTD_DStream *zds;

	struct boundary *bnd;
	size_t nbnd, bndcap;
	uint64_t member_rpos;	/* raw offset of the last member started */
	bool dmg_in_member;	/* the last codec error was inside that member */
	struct tm_err dmg;	/* that error, returned again until resync */
};

const char *tm_codec_name(enum tm_codec c)
{
	switch (c) {
	case TM_CODEC_GZIP: return "gzip";
	case TM_CODEC_ZSTD: return "zstd";
	case TM_CODEC_PLAIN: return "plain";
	default: return "auto";
	}
}

static bool has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);

	return n >= m && !strcmp(s + n - m, suf);
}

enum tm_codec tm_codec_from_name(const char *path)
{
	if (!path)
		return TM_CODEC_PLAIN;
	if (has_suffix(path, ".gz"))
		return TM_CODEC_GZIP;
	if (has_suffix(path, ".zst") || has_suffix(path, ".zstd"))
		return TM_CODEC_ZSTD;
	return TM_CODEC_PLAIN;
}

static struct tm_reader *reader_new(const char *name)
{
	struct tm_reader *r = tm_xcalloc(1, sizeof(*r));

	r->name = tm_xstrdup(name ? name : "-");
	r->fd = -1;
	r->codec = TM_CODEC_PLAIN;
	return r;
}

int tm_reader_open_fd(int fd, const char *name, int own_fd,
		      struct tm_reader **out, struct tm_err *err)
{
	struct tm_reader *r = reader_new(name);
	struct stat st;

	r->fd = fd;
	r->own_fd = own_fd;
	r->raw = tm_xmalloc(RAW_SIZE);
	if (!fstat(fd, &st) && S_ISREG(st.st_mode))
		r->raw_size = (uint64_t)st.st_size;
	*out = r;
	(void)err;
	return 0;
}

int tm_reader_open(const char *path, struct tm_reader **out, struct tm_err *err)
{
	int fd;

	*out = NULL;
	if (!path || !strcmp(path, "-"))
		return tm_reader_open_fd(0, "-", 0, out, err);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return tm_err_sys(err, path, "cannot open for reading");
	return tm_reader_open_fd(fd, path, 1, out, err);
}

int tm_reader_open_mem(const void *data, size_t len, const char *name,
		       struct tm_reader **out, struct tm_err *err)
{
	struct tm_reader *r = reader_new(name);

	(void)err;
	r->mem = data;
	r->raw = (unsigned char *)(uintptr_t)data;
	r->raw_len = len;
	r->raw_size = len;
	r->input_end = true;
	*out = r;
	return 0;
}

int tm_reader_seek(struct tm_reader *r, uint64_t off, struct tm_err *err)
{
	if (r->detected || (!r->mem && r->raw_len))
		BUG("tm_reader_seek after reading");
	if (r->mem) {
		if (off > r->raw_size)
			return tm_err_set(err, TM_EINVAL, r->name, off, 0,
					  "offset beyond the end (%" PRIu64 " bytes)",
					  r->raw_size);
		r->raw_pos = (size_t)off;
		r->upos_base = off;
		return 0;
	}
	if (lseek(r->fd, (off_t)off, SEEK_SET) < 0)
		return tm_err_sys(err, r->name, "cannot seek to offset %" PRIu64, off);
	r->raw_base = off;
	r->upos_base = off;
	if (r->raw_size && off > r->raw_size)
		return tm_err_set(err, TM_EINVAL, r->name, off, 0,
				  "offset beyond the end (%" PRIu64 " bytes)",
				  r->raw_size);
	return 0;
}

void tm_reader_free(struct tm_reader *r)
{
	if (!r)
		return;
	if (r->own_fd && r->fd >= 0)
		close(r->fd);
	if (!r->mem)
		free(r->raw);
	free(r->isal);
	ZSTD_freeDStream(r->zds);
	free(r->win);
	free(r->bnd);
	free(r->name);
	free(r);
}

const char *tm_reader_name(const struct tm_reader *r)
{
	return r->name;
}

enum tm_codec tm_reader_codec(const struct tm_reader *r)
{
	return r->codec;
}

const char *tm_reader_data(const struct tm_reader *r)
{
	return r->win ? r->win + r->wstart : "";
}

size_t tm_reader_avail(const struct tm_reader *r)
{
	return r->wend - r->wstart;
}

uint64_t tm_reader_tell(const struct tm_reader *r)
{
	return r->upos_base + r->wstart;
}

uint64_t tm_reader_raw_consumed(const struct tm_reader *r)
{
	return r->raw_base + r->raw_pos;
}

uint64_t tm_reader_raw_size(const struct tm_reader *r)
{
	return r->raw_size;
}

uint64_t tm_reader_raw_end(const struct tm_reader *r)
{
	return r->raw_base + r->raw_len;
}

static void drop_old_boundaries(struct tm_reader *r)
{
	uint64_t here = tm_reader_tell(r);
	size_t keep = 0, i;

	/* Keep the last boundary at or before `here`, and all after it. */
	for (i = 0; i < r->nbnd; i++)
		if (r->bnd[i].upos <= here)
			keep = i;
	if (keep) {
		memmove(r->bnd, r->bnd + keep, (r->nbnd - keep) * sizeof(*r->bnd));
		r->nbnd -= keep;
	}
}

void tm_reader_consume(struct tm_reader *r, size_t n)
{
	if (n > tm_reader_avail(r))
		BUG("consume %zu > avail %zu", n, tm_reader_avail(r));
	r->wstart += n;
	if (r->nbnd > 1)
		drop_old_boundaries(r);
}

bool tm_reader_at_member_start(const struct tm_reader *r)
{
	uint64_t here = tm_reader_tell(r);
	size_t i;

	if (r->codec == TM_CODEC_PLAIN)
		return true;
	if (r->wstart == r->wend && !r->in_member)
		return true;
	for (i = 0; i < r->nbnd; i++)
		if (r->bnd[i].upos == here)
			return true;
	return false;
}

uint64_t tm_reader_raw_tell(const struct tm_reader *r)
{
	uint64_t here = tm_reader_tell(r);
	uint64_t best = 0;
	size_t i;

	if (r->codec == TM_CODEC_PLAIN)
		return here;
	/* Between members with nothing buffered: the next member's start. */
	if (r->wstart == r->wend && !r->in_member)
		return r->raw_base + r->raw_pos;
	for (i = 0; i < r->nbnd; i++)
		if (r->bnd[i].upos <= here)
			best = r->bnd[i].rpos;
	return best;
}

bool tm_reader_eof(const struct tm_reader *r)
{
	return r->input_end && r->raw_pos == r->raw_len && !r->in_member &&
	       r->wstart == r->wend;
}

static void add_boundary(struct tm_reader *r)
{
	if (r->nbnd == r->bndcap) {
		r->bndcap = r->bndcap ? r->bndcap * 2 : 16;
		r->bnd = tm_xrealloc(r->bnd, r->bndcap * sizeof(*r->bnd));
	}
	r->bnd[r->nbnd].upos = r->upos_base + r->wend;
	r->bnd[r->nbnd].rpos = r->raw_base + r->raw_pos;
	r->nbnd++;
	r->member_rpos = r->raw_base + r->raw_pos;
}

/* Reads more raw input; returns 0 (check input_end) or TM_EIO. */
static int raw_refill(struct tm_reader *r, struct tm_err *err)
{
	ssize_t n;

	if (r->input_end)
		return 0;
	if (r->raw_pos > 0) {
		memmove(r->raw, r->raw + r->raw_pos, r->raw_len - r->raw_pos);
		r->raw_base += r->raw_pos;
		r->raw_len -= r->raw_pos;
		r->raw_pos = 0;
	}
	while (r->raw_len < RAW_SIZE) {
		n = read(r->fd, r->raw + r->raw_len, RAW_SIZE - r->raw_len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return tm_err_sys(err, r->name, "read failed");
		}
		if (n == 0) {
			r->input_end = true;
			break;
		}
		r->raw_len += (size_t)n;
		break;
	}
	return 0;
}

/* Makes sure at least `n` raw bytes are buffered, if the input has them. */
static int raw_need(struct tm_reader *r, size_t n, struct tm_err *err)
{
	int rc;

	while (r->raw_len - r->raw_pos < n && !r->input_end)
		if ((rc = raw_refill(r, err)) < 0)
			return rc;
	return 0;
}

static void detect(struct tm_reader *r)
{
	const unsigned char *p = r->raw + r->raw_pos;
	size_t n = r->raw_len - r->raw_pos;

	r->detected = true;
	if (n >= 2 && p[0] == 0x1f && p[1] == 0x8b)
		r->codec = TM_CODEC_GZIP;
	else if (n >= 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f &&
		 p[3] == 0xfd)
		r->codec = TM_CODEC_ZSTD;
	else
		r->codec = TM_CODEC_PLAIN;
}

/* Room for at least `want` more bytes after wend, compacting first. */
static void win_reserve(struct tm_reader *r, size_t want)
{
	size_t avail = r->wend - r->wstart;

	if (r->wstart > 0 && (r->wcap - r->wend < want || r->wstart > r->wcap / 2)) {
		memmove(r->win, r->win + r->wstart, avail);
		r->upos_base += r->wstart;
		r->wend = avail;
		r->wstart = 0;
	}
	if (r->wcap - r->wend < want) {
		size_t cap = r->wcap ? r->wcap : WIN_CHUNK;

		while (cap - r->wend < want)
			cap *= 2;
		r->win = tm_xrealloc(r->win, cap);
		r->wcap = cap;
	}
}

static uint64_t raw_here(const struct tm_reader *r)
{
	return r->raw_base + r->raw_pos;
}

/* Inside a member: more raw input, or TM_ETRUNC if the input ended. */
static int member_input(struct tm_reader *r, const char *what, struct tm_err *err)
{
	int rc;

	if (r->raw_pos < r->raw_len)
		return 0;
	if ((rc = raw_refill(r, err)) < 0)
		return rc;
	if (r->raw_pos == r->raw_len) {
		r->dmg_in_member = true;
		return tm_err_set(err, TM_ETRUNC, r->name, raw_here(r), 0,
				  "%s cut short at end of input", what);
	}
	return 0;
}

static const char *isal_error(int rc)
{
	switch (rc) {
	case ISAL_INVALID_BLOCK: return "invalid deflate block";
	case ISAL_INVALID_SYMBOL: return "invalid deflate symbol";
	case ISAL_INVALID_LOOKBACK: return "invalid back-reference distance";
	case ISAL_INVALID_WRAPPER: return "invalid gzip header";
	case ISAL_UNSUPPORTED_METHOD: return "unsupported compression method";
	case ISAL_INCORRECT_CHECKSUM: return "CRC-32 mismatch";
	case ISAL_NEED_DICT: return "needs a preset dictionary";
	default: return "inflate failed";
	}
}

static int gzip_step(struct tm_reader *r, struct tm_err *err)
{
	struct inflate_state *s;
	size_t before_in, before_out;
	int irc, rc;

	if (!r->in_member) {
		if ((rc = raw_need(r, 2, err)) < 0)
			return rc;
		if (r->raw_pos == r->raw_len)
			return 1; /* clean end */
		if (r->raw_len - r->raw_pos < 2 || r->raw[r->raw_pos] != 0x1f ||
		    r->raw[r->raw_pos + 1] != 0x8b) {
			/* Zero padding after the last member is common: accept. */
			while (1) {
				while (r->raw_pos < r->raw_len && !r->raw[r->raw_pos])
					r->raw_pos++;
				if (r->raw_pos < r->raw_len || r->input_end)
					break;
				if ((rc = raw_refill(r, err)) < 0)
					return rc;
			}
			if (r->raw_pos == r->raw_len)
				return 1;
			r->dmg_in_member = false;
			return tm_err_set(err, TM_ECODEC, r->name, raw_here(r), 0,
					  "expected a gzip member (1f 8b), got %02x",
					  r->raw[r->raw_pos]);
		}
		if (!r->isal) {
			r->isal = tm_xmalloc(sizeof(*r->isal));
			isal_inflate_init(r->isal);
		} else {
			isal_inflate_reset(r->isal);
		}
		r->isal->crc_flag = ISAL_GZIP;
		add_boundary(r);
		r->in_member = true;
	}
	if ((rc = member_input(r, "gzip member", err)) < 0)
		return rc;
	s = r->isal;
	s->next_in = r->raw + r->raw_pos;
	s->avail_in = (uint32_t)TM_MIN(r->raw_len - r->raw_pos, (size_t)UINT32_MAX);
	s->next_out = (uint8_t *)r->win + r->wend;
	s->avail_out = (uint32_t)TM_MIN(r->wcap - r->wend, (size_t)UINT32_MAX);
	before_in = s->avail_in;
	before_out = s->avail_out;
	irc = isal_inflate(s);
	r->raw_pos += before_in - s->avail_in;
	r->wend += before_out - s->avail_out;
	if (irc < 0 || irc == ISAL_NEED_DICT) {
		r->in_member = false;
		r->dmg_in_member = true;
		return tm_err_set(err, TM_ECODEC, r->name, raw_here(r), 0,
				  "corrupt gzip data: %s", isal_error(irc));
	}
	if (s->block_state == ISAL_BLOCK_FINISH)
		r->in_member = false;
	return 0;
}

static int zstd_step(struct tm_reader *r, struct tm_err *err)
{
	ZSTD_inBuffer in;
	ZSTD_outBuffer out;
	size_t zrc;
	int rc;

	if (!r->in_member) {
		if ((rc = raw_need(r, 4, err)) < 0)
			return rc;
		if (r->raw_pos == r->raw_len)
			return 1;
		if (!r->zds) {
			r->zds = ZSTD_createDStream();
			if (!r->zds)
				tm_die_oom(0);
		}
		ZSTD_DCtx_reset(r->zds, ZSTD_reset_session_only);
		add_boundary(r);
		r->in_member = true;
	}
	if ((rc = member_input(r, "zstd frame", err)) < 0)
		return rc;
	in.src = r->raw;
	in.size = r->raw_len;
	in.pos = r->raw_pos;
	out.dst = r->win;
	out.size = r->wcap;
	out.pos = r->wend;
	zrc = ZSTD_decompressStream(r->zds, &out, &in);
	r->raw_pos = in.pos;
	r->wend = out.pos;
	if (ZSTD_isError(zrc)) {
		r->in_member = false;
		r->dmg_in_member = true;
		return tm_err_set(err, TM_ECODEC, r->name, raw_here(r), 0,
				  "corrupt zstd data: %s", ZSTD_getErrorName(zrc));
	}
	if (zrc == 0)
		r->in_member = false;
	return 0;
}

static int plain_step(struct tm_reader *r, struct tm_err *err)
{
	size_t n;
	int rc;

	if (r->raw_pos == r->raw_len) {
		if (r->mem) {
			return 1;
		}
		/* Large reads go straight into the window, skipping `raw`. */
		if (r->input_end)
			return 1;
		while (1) {
			ssize_t got = read(r->fd, r->win + r->wend, r->wcap - r->wend);

			if (got < 0 && errno == EINTR)
				continue;
			if (got < 0)
				return tm_err_sys(err, r->name, "read failed");
			if (got == 0) {
				r->input_end = true;
				return 1;
			}
			r->wend += (size_t)got;
			r->raw_base += (uint64_t)got;
			return 0;
		}
	}
	n = TM_MIN(r->raw_len - r->raw_pos, r->wcap - r->wend);
	memcpy(r->win + r->wend, r->raw + r->raw_pos, n);
	r->raw_pos += n;
	r->wend += n;
	rc = 0;
	return rc;
}

int tm_reader_fill(struct tm_reader *r, size_t want, struct tm_err *err)
{
	int rc;

	if (want > WIN_LIMIT)
		return tm_err_set(err, TM_ETOOBIG, r->name, TM_ERR_NO_OFFSET, 0,
				  "read window of %zu bytes requested", want);
	if (!r->detected) {
		if ((rc = raw_need(r, 4, err)) < 0)
			return rc;
		detect(r);
	}
	while (tm_reader_avail(r) < want) {
		if (r->dmg.code) {
			/* no more data past codec damage until tm_reader_resync() */
			if (err)
				*err = r->dmg;
			return r->dmg.code;
		}
		win_reserve(r, TM_MAX(want - tm_reader_avail(r), (size_t)WIN_CHUNK / 4));
		switch (r->codec) {
		case TM_CODEC_GZIP:
			rc = gzip_step(r, err);
			break;
		case TM_CODEC_ZSTD:
			rc = zstd_step(r, err);
			break;
		default:
			rc = plain_step(r, err);
			break;
		}
		if (rc < 0) {
			if (rc != TM_EIO) {
				if (err)
					r->dmg = *err;
				else
					tm_err_set(&r->dmg, rc, r->name, raw_here(r), 0,
						   "codec damage");
			}
			return rc;
		}
		if (rc > 0)
			break; /* end of input */
	}
	return 0;
}

int tm_reader_resync(struct tm_reader *r, uint64_t *skipped, struct tm_err *err)
{
	uint64_t start = raw_here(r);
	int rc;

	r->wstart = r->wend; /* drop what is left of the damaged member */
	r->in_member = false;
	tm_err_clear(&r->dmg);
	if (r->codec == TM_CODEC_PLAIN) {
		if (skipped)
			*skipped = 0;
		return 0;
	}
	/*
	 * Damage inside a member: look for the next magic from just after
	 * the member's start, not from where the decoder stopped: a corrupt
	 * length trailer stops it exactly at the next member, and a corrupt
	 * header (FEXTRA, FNAME) lets it read on over the members after it.
	 * When that start has left the buffer, everything before raw_pos
	 * belonged to the damaged member.  Damage outside a member (not a
	 * member magic) is at raw_pos: skip that byte.
	 */
	if (r->dmg_in_member && r->member_rpos >= r->raw_base &&
	    r->member_rpos <= raw_here(r) &&
	    r->member_rpos < r->raw_base + r->raw_len) {
		r->raw_pos = (size_t)(r->member_rpos - r->raw_base) + 1;
		start = raw_here(r);
	} else if (!r->dmg_in_member && r->raw_pos < r->raw_len) {
		r->raw_pos++;
	}
	r->dmg_in_member = false;
	for (;;) {
		const unsigned char *p = r->raw + r->raw_pos;
		size_t n = r->raw_len - r->raw_pos, i;
		bool found = false;

		for (i = 0; i + 3 < n || (r->input_end && i < n); i++) {
			if (r->codec == TM_CODEC_GZIP && i + 2 < n &&
			    p[i] == 0x1f && p[i + 1] == 0x8b && p[i + 2] == 8) {
				found = true;
				break;
			}
			if (r->codec == TM_CODEC_ZSTD && i + 3 < n &&
			    p[i] == 0x28 && p[i + 1] == 0xb5 && p[i + 2] == 0x2f &&
			    p[i + 3] == 0xfd) {
				found = true;
				break;
			}
		}
		r->raw_pos += i;
		if (found || r->input_end) {
			if (!found)
				r->raw_pos = r->raw_len;
			break;
		}
		if ((rc = raw_refill(r, err)) < 0)
			return rc;
	}
	if (skipped)
		*skipped = raw_here(r) - start;
	return 0;
}

int tm_reader_read(struct tm_reader *r, void *buf, size_t n, size_t *got,
		   struct tm_err *err)
{
	size_t take;
	int rc;

	*got = 0;
	if (!tm_reader_avail(r) && (rc = tm_reader_fill(r, TM_MIN(n, (size_t)WIN_CHUNK), err)) < 0)
		return rc;
	take = TM_MIN(n, tm_reader_avail(r));
	memcpy(buf, tm_reader_data(r), take);
	tm_reader_consume(r, take);
	*got = take;
	return 0;
}

int tm_reader_getline(struct tm_reader *r, struct tm_buf *line, size_t max,
		      bool strip_cr, struct tm_err *err)
{
	size_t scanned = 0, avail;
	const char *nl;
	bool toolong = false;
	int rc;

	tm_buf_reset(line);
	for (;;) {
		avail = tm_reader_avail(r);
		nl = avail > scanned ?
			memchr(tm_reader_data(r) + scanned, '\n', avail - scanned) : NULL;
		if (nl) {
			size_t len = (size_t)(nl - tm_reader_data(r));

			if (!toolong && len <= max) {
				tm_buf_add(line, tm_reader_data(r), len);
				if (strip_cr && line->len && line->buf[line->len - 1] == '\r')
					tm_buf_setlen(line, line->len - 1);
			}
			tm_reader_consume(r, len + 1);
			return toolong || len > max ?
				tm_err_set(err, TM_ETOOBIG, r->name,
					   TM_ERR_NO_OFFSET, 0,
					   "line longer than %zu bytes", max) : 1;
		}
		if (avail > max) {
			/* Drop the over-long prefix and keep looking for its end. */
			toolong = true;
			tm_reader_consume(r, avail);
			avail = 0;
		}
		scanned = avail;
		rc = tm_reader_fill(r, avail + WIN_CHUNK / 4, err);
		if (rc < 0)
			return rc;
		if (tm_reader_avail(r) == avail) {
			/* end of input */
			if (!avail && !toolong)
				return 0;
			if (toolong)
				return tm_err_set(err, TM_ETOOBIG, r->name,
						  TM_ERR_NO_OFFSET, 0,
						  "line longer than %zu bytes", max);
			tm_buf_add(line, tm_reader_data(r), avail);
			if (strip_cr && line->len && line->buf[line->len - 1] == '\r')
				tm_buf_setlen(line, line->len - 1);
			tm_reader_consume(r, avail);
			return 1;
		}
	}
}

/* Writers */

#define OUT_SIZE (256 * 1024)

struct tm_writer {
	char *path;		/* final name, NULL for stdout */
	char *tmp;		/* temporary name */
	int fd;
	enum tm_codec codec;
	int level;
	bool member_open;
	z_stream zs;
	bool zs_init;
	ZSTD_CStream *zcs;
	unsigned char *out;
	size_t out_len;
	uint64_t raw_written;
	bool failed;
};

static int flush_out(struct tm_writer *w, struct tm_err *err)
{
	size_t off = 0;

	while (off < w->out_len) {
		ssize_t n = write(w->fd, w->out + off, w->out_len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			w->failed = true;
			return tm_err_sys(err, w->path ? w->path : "-",
					  "write failed");
		}
		off += (size_t)n;
	}
	w->raw_written += w->out_len;
	w->out_len = 0;
	return 0;
}

int tm_writer_open(const char *path, enum tm_codec codec, int level,
		   struct tm_writer **out, struct tm_err *err)
{
	struct tm_writer *w = tm_xcalloc(1, sizeof(*w));
	struct tm_buf tmp = TM_BUF_INIT;

	*out = NULL;
	if (path && !strcmp(path, "-"))
		path = NULL;
	w->codec = codec == TM_CODEC_AUTO ? tm_codec_from_name(path) : codec;
	w->level = level;
	w->out = tm_xmalloc(OUT_SIZE);
	if (!path) {
		w->fd = 1;
	} else {
		w->path = tm_xstrdup(path);
		tm_buf_addf(&tmp, "%s.tmp-%ld-XXXXXX", path, (long)getpid());
		w->fd = mkostemp(tmp.buf, O_CLOEXEC);
		if (w->fd < 0) {
			tm_buf_release(&tmp);
			free(w->out);
			free(w->path);
			free(w);
			return tm_err_sys(err, path, "cannot create");
		}
		/* mkstemp makes 0600; outputs follow the umask like any file */
		{
			mode_t um = umask(0);

			umask(um);
			fchmod(w->fd, 0666 & ~um);
		}
		w->tmp = tm_buf_detach(&tmp, NULL);
	}
	*out = w;
	return 0;
}

uint64_t tm_writer_raw_tell(const struct tm_writer *w)
{
	return w->raw_written + w->out_len;
}

static int start_member(struct tm_writer *w)
{
	if (w->codec == TM_CODEC_GZIP) {
		if (!w->zs_init) {
			memset(&w->zs, 0, sizeof(w->zs));
			if (deflateInit2(&w->zs, w->level ? w->level : 6, Z_DEFLATED,
					 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
				tm_die_oom(sizeof(w->zs));
			w->zs_init = true;
		} else {
			deflateReset(&w->zs);
		}
	} else if (w->codec == TM_CODEC_ZSTD) {
		if (!w->zcs) {
			w->zcs = ZSTD_createCStream();
			if (!w->zcs)
				tm_die_oom(0);
		}
		ZSTD_CCtx_reset(w->zcs, ZSTD_reset_session_only);
		ZSTD_CCtx_setParameter(w->zcs, ZSTD_c_compressionLevel,
				       w->level ? w->level : 3);
		ZSTD_CCtx_setParameter(w->zcs, ZSTD_c_checksumFlag, 1);
	}
	w->member_open = true;
	return 0;
}

/* Compresses data (or finishes the member when `end`) into w->out. */
static int codec_push(struct tm_writer *w, const void *data, size_t len,
		      bool end, struct tm_err *err)
{
	int rc;

	if (w->codec == TM_CODEC_GZIP) {
		w->zs.next_in = (Bytef *)(uintptr_t)data;
		w->zs.avail_in = (uInt)len;
		for (;;) {
			int zrc;

			w->zs.next_out = w->out + w->out_len;
			w->zs.avail_out = (uInt)(OUT_SIZE - w->out_len);
			zrc = deflate(&w->zs, end ? Z_FINISH : Z_NO_FLUSH);
			w->out_len = OUT_SIZE - w->zs.avail_out;
			if (zrc == Z_STREAM_ERROR)
				BUG("deflate stream error");
			if (w->out_len == OUT_SIZE && (rc = flush_out(w, err)) < 0)
				return rc;
			if (end ? zrc == Z_STREAM_END : w->zs.avail_in == 0)
				break;
		}
	} else {
		ZSTD_inBuffer in = { data, len, 0 };

		for (;;) {
			ZSTD_outBuffer o = { w->out, OUT_SIZE, w->out_len };
			size_t zrc = ZSTD_compressStream2(w->zcs, &o, &in,
							  end ? ZSTD_e_end : ZSTD_e_continue);

			if (ZSTD_isError(zrc))
				return tm_err_set(err, TM_ECODEC, w->path ? w->path : "-",
						  TM_ERR_NO_OFFSET, 0, "zstd: %s",
						  ZSTD_getErrorName(zrc));
			w->out_len = o.pos;
			if (w->out_len == OUT_SIZE && (rc = flush_out(w, err)) < 0)
				return rc;
			if (end ? zrc == 0 : in.pos == in.size)
				break;
		}
	}
	return 0;
}

int tm_writer_write(struct tm_writer *w, const void *data, size_t len,
		    struct tm_err *err)
{
	int rc;

	if (w->failed)
		return tm_err_set(err, TM_EIO, w->path ? w->path : "-",
				  TM_ERR_NO_OFFSET, 0, "earlier write failed");
	if (w->codec != TM_CODEC_PLAIN) {
		if (!w->member_open)
			start_member(w);
		return codec_push(w, data, len, false, err);
	}
	if (w->out_len + len > OUT_SIZE && (rc = flush_out(w, err)) < 0)
		return rc;
	if (len >= OUT_SIZE) {
		/* large writes go straight out, without a copy */
		unsigned char *keep = w->out;

		w->out = (unsigned char *)(uintptr_t)data;
		w->out_len = len;
		rc = flush_out(w, err);
		w->out = keep;
		w->out_len = 0;
		return rc;
	}
	memcpy(w->out + w->out_len, data, len);
	w->out_len += len;
	return 0;
}

int tm_writer_end_member(struct tm_writer *w, struct tm_err *err)
{
	if (w->codec == TM_CODEC_PLAIN || !w->member_open)
		return 0;
	w->member_open = false;
	return codec_push(w, NULL, 0, true, err);
}

static void writer_release(struct tm_writer *w)
{
	if (w->zs_init)
		deflateEnd(&w->zs);
	ZSTD_freeCStream(w->zcs);
	free(w->out);
	free(w->path);
	free(w->tmp);
	free(w);
}

int tm_writer_commit(struct tm_writer *w, struct tm_err *err)
{
	int rc;

	rc = tm_writer_end_member(w, err);
	if (!rc)
		rc = flush_out(w, err);
	if (w->path) {
		if (close(w->fd) < 0 && !rc)
			rc = tm_err_sys(err, w->path, "close failed");
		if (!rc && rename(w->tmp, w->path) < 0)
			rc = tm_err_sys(err, w->path, "cannot rename '%s' into place",
					w->tmp);
		if (rc)
			unlink(w->tmp);
	}
	writer_release(w);
	return rc;
}

void tm_writer_abort(struct tm_writer *w)
{
	if (!w)
		return;
	if (w->path) {
		close(w->fd);
		unlink(w->tmp);
	}
	writer_release(w);
}

/* mkdir -p */
int tm_mkdir_p(const char *path, struct tm_err *err)
{
	struct tm_buf b = TM_BUF_INIT;
	size_t i;
	int rc = 0;

	tm_buf_addstr(&b, path);
	for (i = 1; i <= b.len && !rc; i++) {
		if (i < b.len && b.buf[i] != '/')
			continue;
		b.buf[i] = '\0';
		if (mkdir(b.buf, 0777) < 0 && errno != EEXIST)
			rc = tm_err_sys(err, b.buf, "cannot create the directory");
		if (i < b.len)
			b.buf[i] = '/';
	}
	tm_buf_release(&b);
	return rc;
}

/* Writes `data` to `path` through a temporary name. */
int tm_write_file_atomic(const char *path, const char *data, struct tm_err *err)
{
	struct tm_buf tb = TM_BUF_INIT;
	char *tmp;

	tm_buf_addf(&tb, "%s.tmp-%ld", path, (long)getpid());
	tmp = tm_buf_detach(&tb, NULL);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	size_t len = strlen(data);
	int rc = 0;

	if (fd < 0) {
		rc = tm_err_sys(err, tmp, "cannot create");
		free(tmp);
		return rc;
	}
	if (write(fd, data, len) != (ssize_t)len)
		rc = tm_err_sys(err, tmp, "cannot write");
	if (!rc && fsync(fd) < 0)
		rc = tm_err_sys(err, tmp, "cannot fsync");
	if (close(fd) < 0 && !rc)
		rc = tm_err_sys(err, tmp, "cannot write");
	if (!rc && rename(tmp, path) < 0)
		rc = tm_err_sys(err, path, "cannot rename '%s' into place", tmp);
	if (rc)
		unlink(tmp);
	free(tmp);
	return rc;
}

/* The first bytes (up to 255) of a small file, trailing blanks cut; NULL if unreadable. */
char *tm_read_small_line(const char *path)
{
	FILE *f = fopen(path, "re");
	char buf[256];
	size_t n;

	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return tm_xstrdup(buf);
}

/* rm -rf; quiet about what is already gone. */
void tm_remove_tree(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *e;

	if (lstat(path, &st) < 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		unlink(path);
		return;
	}
	if ((d = opendir(path))) {
		while ((e = readdir(d))) {
			char *sub;

			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			{
				struct tm_buf sb = TM_BUF_INIT;

				tm_buf_addf(&sb, "%s/%s", path, e->d_name);
				sub = tm_buf_detach(&sb, NULL);
			}
			tm_remove_tree(sub);
			free(sub);
		}
		closedir(d);
	}
	rmdir(path);
}
