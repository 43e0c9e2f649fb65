/*
 * warc.c: the WARC reader (with damage recovery) and writer.
 *
 * Reading a record: find the end of its header block (the first empty
 * line), parse the fields into a per-reader arena, then make the whole
 * block available in the stream window (when it is within max_record) and
 * check that what follows it is the record separator and then the next
 * record or the end.  Anything else is damage: the reader reports it and
 * scans forward for the next "WARC/<digit>" at the start of a line (or of
 * a gzip member) before returning.
 */
#include "tamis.h"
#include "warc.h"

#include <ctype.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>

#define SCAN_CHUNK (64 * 1024)

static const char *const type_names[TM_WARC__NTYPES] = {
	"unknown", "warcinfo", "response", "resource", "request",
	"metadata", "revisit", "conversion", "continuation",
};

const char *tm_warc_type_name(enum tm_warc_type t)
{
	return (unsigned)t < TM_WARC__NTYPES ? type_names[t] : "unknown";
}

enum tm_warc_type tm_warc_type_parse(const char *s)
{
	int i;

	for (i = 1; i < TM_WARC__NTYPES; i++)
		if (!strcasecmp(s, type_names[i]))
			return (enum tm_warc_type)i;
	return TM_WARC_UNKNOWN;
}

struct tm_warc_reader {
	struct tm_reader *in;
	struct tm_warc_opts opts;
	struct tm_warc_record rec;
	struct tm_buf arena;		/* NUL-separated field names and values */
	size_t *field_off;		/* (name, value) offsets into arena */
	size_t fieldcap;
	size_t pending;			/* bytes of the last record still in the window */
	bool have_rec;
	uint64_t last_end;
	struct tm_warc_stats st;
};

int tm_warc_reader_new(struct tm_reader *in, const struct tm_warc_opts *opts,
		       struct tm_warc_reader **out)
{
	struct tm_warc_reader *wr = tm_xcalloc(1, sizeof(*wr));
	struct tm_warc_opts def = TM_WARC_OPTS_INIT;

	wr->in = in;
	wr->opts = opts ? *opts : def;
	if (!wr->opts.max_header)
		wr->opts.max_header = def.max_header;
	tm_buf_init(&wr->arena, 1024);
	*out = wr;
	return 0;
}

void tm_warc_reader_free(struct tm_warc_reader *wr)
{
	if (!wr)
		return;
	tm_buf_release(&wr->arena);
	free(wr->field_off);
	free(wr->rec.fields);
	free(wr);
}

uint64_t tm_warc_reader_last_end(const struct tm_warc_reader *wr)
{
	return wr->last_end;
}

void tm_warc_reader_stats(const struct tm_warc_reader *wr, struct tm_warc_stats *st)
{
	*st = wr->st;
}

const char *tm_warc_field(const struct tm_warc_record *rec, const char *name)
{
	size_t i;

	for (i = 0; i < rec->nfields; i++)
		if (!strcasecmp(rec->fields[i].name, name))
			return rec->fields[i].value;
	return NULL;
}

static bool is_version_at(const char *p, size_t n)
{
	return n >= 6 && !memcmp(p, "WARC/", 5) && isdigit((unsigned char)p[5]);
}

/*
 * "WARC/" digits and dots, then a line end: a version line wherever it
 * stands.  0 when it is not one, -1 when `n` bytes cannot tell.
 */
static int is_version_line(const char *p, size_t n)
{
	size_t i;

	if (!is_version_at(p, n))
		return n < 6 ? -1 : 0;
	for (i = 5; i < n && i < 16 && (isdigit((unsigned char)p[i]) || p[i] == '.'); i++)
		;
	if (i == n)
		return -1;
	if (p[i] == '\n' || (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n'))
		return 1;
	return p[i] == '\r' && i + 1 == n ? -1 : 0;
}

/*
 * Scans forward for the next "WARC/<digit>" at the start of a line or of a
 * compressed member, or a whole version line anywhere (garbage may end
 * without a line break), consuming everything before it.  Codec damage on the
 * way is skipped (tm_reader_resync).  Returns 0 or TM_EIO.
 */
static int resync_scan(struct tm_warc_reader *wr, bool line_start,
		       struct tm_err *err)
{
	struct tm_reader *in = wr->in;
	uint64_t start = tm_reader_raw_tell(in);
	struct tm_err e2 = TM_ERR_INIT;
	int rc;

	for (;;) {
		const char *d, *p;
		size_t n, i, want = tm_reader_avail(in) + SCAN_CHUNK;
		bool ended;

		rc = tm_reader_fill(in, want, &e2);
		if (rc == TM_EIO) {
			*err = e2;
			return rc;
		}
		d = tm_reader_data(in);
		n = tm_reader_avail(in);
		ended = rc >= 0 && n < want;
		for (i = 0; i < n; i = (size_t)(p - d) + 1) {
			int vl;

			p = memchr(d + i, 'W', n - i);
			if (!p || p + 6 > d + n)
				break;
			if (!is_version_at(p, 6))
				continue;
			vl = is_version_line(p, (size_t)(d + n - p));
			if (vl < 0 && !ended && rc >= 0)
				break; /* decide once more is buffered */
			if (vl <= 0 && (p == d ? !line_start : p[-1] != '\n')) {
				/* not at a line start: maybe at a member start */
				tm_reader_consume(in, (size_t)(p - d));
				d = p = tm_reader_data(in);
				n = tm_reader_avail(in);
				line_start = false;
				if (!tm_reader_at_member_start(in))
					continue;
			}
			tm_reader_consume(in, (size_t)(p - d));
			wr->st.skipped_bytes += tm_reader_raw_tell(in) - start;
			return 0;
		}
		if (rc < 0) {
			/* codec damage: drop the member, go on at the next one */
			tm_reader_consume(in, n);
			if ((rc = tm_reader_resync(in, NULL, &e2)) < 0) {
				*err = e2;
				return rc;
			}
			line_start = true;
			continue;
		}
		if (ended) {
			tm_reader_consume(in, n);
			wr->st.skipped_bytes += tm_reader_raw_end(in) - start;
			return 0;
		}
		/* keep the last 18 bytes: they may begin a version line */
		if (n > 18) {
			line_start = d[n - 19] == '\n';
			tm_reader_consume(in, n - 18);
		}
	}
}

/* Skips CR and LF bytes (the separator after a record). */
static int skip_newlines(struct tm_reader *in, struct tm_err *err)
{
	int rc;

	for (;;) {
		const char *d;
		size_t n, i;

		if (!tm_reader_avail(in) && (rc = tm_reader_fill(in, 1, err)) < 0)
			return rc;
		d = tm_reader_data(in);
		n = tm_reader_avail(in);
		if (!n)
			return 0;
		for (i = 0; i < n && (d[i] == '\r' || d[i] == '\n'); i++)
			;
		tm_reader_consume(in, i);
		if (i < n)
			return 0;
	}
}

static void add_field(struct tm_warc_reader *wr, size_t nf, size_t name_off,
		      size_t val_off)
{
	if (2 * nf + 2 > wr->fieldcap) {
		wr->fieldcap = wr->fieldcap ? wr->fieldcap * 2 : 64;
		wr->field_off = tm_xrealloc(wr->field_off,
					    wr->fieldcap * sizeof(*wr->field_off));
	}
	wr->field_off[2 * nf] = name_off;
	wr->field_off[2 * nf + 1] = val_off;
}

static void rtrim_arena(struct tm_buf *a, size_t from)
{
	while (a->len > from && (a->buf[a->len - 1] == ' ' ||
				 a->buf[a->len - 1] == '\t' ||
				 a->buf[a->len - 1] == '\r'))
		tm_buf_setlen(a, a->len - 1);
}

/*
 * Parses the header block h[0..n) into the arena and rec.  Returns 0 or
 * TM_EFORMAT with a message (offset filled by the caller).
 */
static int parse_header(struct tm_warc_reader *wr, const char *h, size_t n,
			struct tm_err *err)
{
	struct tm_warc_record *rec = &wr->rec;
	const char *p = h, *end = h + n, *eol, *colon;
	size_t nf = 0, i, vlen;
	const char *cl = NULL;
	char *ep;

	tm_buf_reset(&wr->arena);
	eol = memchr(p, '\n', n);
	vlen = (size_t)(eol - p);
	if (vlen && p[vlen - 1] == '\r')
		vlen--;
	if (vlen < 6 || vlen - 5 >= sizeof(rec->version))
		return tm_err_set(err, TM_EFORMAT, NULL, 0, 0,
				  "bad version line '%.*s'", (int)TM_MIN(vlen, 40), p);
	for (i = 5; i < vlen; i++)
		if (!isdigit((unsigned char)p[i]) && p[i] != '.')
			return tm_err_set(err, TM_EFORMAT, NULL, 0, 0,
					  "bad version line '%.*s'",
					  (int)TM_MIN(vlen, 40), p);
	memcpy(rec->version, p + 5, vlen - 5);
	rec->version[vlen - 5] = '\0';
	p = eol + 1;

	while (p < end) {
		eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			eol = end;
		if (eol == p || (eol == p + 1 && *p == '\r'))
			break; /* the blank line */
		if ((*p == ' ' || *p == '\t') && nf) {
			/* continuation: append to the previous value */
			const char *q = p;

			while (q < eol && (*q == ' ' || *q == '\t'))
				q++;
			wr->arena.len--; /* drop the NUL of the previous value */
			tm_buf_addch(&wr->arena, ' ');
			tm_buf_add(&wr->arena, q, (size_t)(eol - q));
			rtrim_arena(&wr->arena, 0);
			tm_buf_addch(&wr->arena, '\0');
			p = eol + 1;
			continue;
		}
		colon = memchr(p, ':', (size_t)(eol - p));
		if (!colon || colon == p)
			return tm_err_set(err, TM_EFORMAT, NULL, 0, 0,
					  "expected 'Name: value' in header, got '%.*s'",
					  (int)TM_MIN((size_t)(eol - p), 60), p);
		add_field(wr, nf, wr->arena.len, 0);
		tm_buf_add(&wr->arena, p, (size_t)(colon - p));
		rtrim_arena(&wr->arena, wr->field_off[2 * nf]);
		tm_buf_addch(&wr->arena, '\0');
		wr->field_off[2 * nf + 1] = wr->arena.len;
		colon++;
		while (colon < eol && (*colon == ' ' || *colon == '\t'))
			colon++;
		tm_buf_add(&wr->arena, colon, (size_t)(eol - colon));
		rtrim_arena(&wr->arena, wr->field_off[2 * nf + 1]);
		tm_buf_addch(&wr->arena, '\0');
		nf++;
		p = eol + 1;
	}

	free(rec->fields);
	rec->fields = tm_xcalloc(nf ? nf : 1, sizeof(*rec->fields));
	rec->nfields = nf;
	for (i = 0; i < nf; i++) {
		rec->fields[i].name = wr->arena.buf + wr->field_off[2 * i];
		rec->fields[i].value = wr->arena.buf + wr->field_off[2 * i + 1];
	}
	rec->type_str = tm_warc_field(rec, "WARC-Type");
	if (!rec->type_str)
		rec->type_str = "";
	rec->type = tm_warc_type_parse(rec->type_str);
	rec->target_uri = tm_warc_field(rec, "WARC-Target-URI");
	if (rec->target_uri && rec->target_uri[0] == '<') {
		/* wget writes <uri>: strip the brackets in the arena copy */
		char *u = (char *)rec->target_uri;
		size_t ul = strlen(u);

		if (ul >= 2 && u[ul - 1] == '>') {
			u[ul - 1] = '\0';
			rec->target_uri = u + 1;
		}
	}
	rec->record_id = tm_warc_field(rec, "WARC-Record-ID");
	rec->date = tm_warc_field(rec, "WARC-Date");
	rec->content_type = tm_warc_field(rec, "Content-Type");
	rec->truncated = tm_warc_field(rec, "WARC-Truncated");
	cl = tm_warc_field(rec, "Content-Length");
	if (!cl)
		return tm_err_set(err, TM_EFORMAT, NULL, 0, 0,
				  "record has no Content-Length");
	errno = 0;
	if (!isdigit((unsigned char)cl[0]))
		return tm_err_set(err, TM_EFORMAT, NULL, 0, 0,
				  "bad Content-Length '%.40s'", cl);
	rec->content_length = strtoull(cl, &ep, 10);
	if (errno || *ep)
		return tm_err_set(err, TM_EFORMAT, NULL, 0, 0,
				  "bad Content-Length '%.40s'", cl);
	return 0;
}

/* Damage at `off`: count it, finish the report, resynchronise. */
static int damage(struct tm_warc_reader *wr, int code, uint64_t off,
		  size_t drop, struct tm_err *err)
{
	struct tm_err e2 = TM_ERR_INIT;
	int rc;

	wr->st.damaged++;
	err->code = code;
	err->offset = off;
	snprintf(err->file, sizeof(err->file), "%s", tm_reader_name(wr->in));
	if (drop > tm_reader_avail(wr->in))
		drop = tm_reader_avail(wr->in);
	tm_reader_consume(wr->in, drop);
	rc = resync_scan(wr, false, &e2);
	if (rc < 0) {
		*err = e2;
		return rc;
	}
	return code;
}

/*
 * After the block: the separator, then "WARC/" or the end.  Looks at the
 * bytes from `at` in the window without consuming.  Returns true if fine.
 */
static bool record_end_ok(struct tm_reader *in, size_t at)
{
	const char *d = tm_reader_data(in);
	size_t n = tm_reader_avail(in), i = at;

	while (i < n && (d[i] == '\r' || d[i] == '\n'))
		i++;
	if (i == n)
		return true; /* end of input (the caller filled enough) */
	return is_version_at(d + i, n - i);
}

/* Looks for a record start inside d[from..n) (a lying Content-Length). */
static size_t find_record_start(const char *d, size_t from, size_t n)
{
	const char *p = d + from;

	while ((p = memmem(p, (size_t)(d + n - p), "\nWARC/", 6))) {
		if (is_version_at(p + 1, (size_t)(d + n - p - 1)))
			return (size_t)(p - d) + 1;
		p++;
	}
	return 0;
}

/*
 * Returns a record whose real extent d[hl..end) differs from its
 * Content-Length (rec->damage already set): the record separator before
 * `end`, if any, is not part of the block.
 */
static int damaged_record(struct tm_warc_reader *wr, struct tm_warc_record *rec,
			  const char *d, size_t hl, size_t end,
			  struct tm_warc_record **recp)
{
	size_t b = end;

	if (b - hl >= 4 && !memcmp(d + b - 4, "\r\n\r\n", 4))
		b -= 4;
	else if (b - hl >= 2 && !memcmp(d + b - 2, "\n\n", 2))
		b -= 2;
	rec->block = d + hl;
	rec->block_len = b - hl;
	wr->pending = end;
	wr->have_rec = true;
	wr->st.records++;
	wr->st.damaged++;
	*recp = rec;
	return 1;
}

/*
 * True when `len` decompressed bytes cannot follow the window start in what
 * is left of an input of known size (deflate expands at most 1032:1; zstd
 * has no useful bound).
 */
static bool claim_impossible(const struct tm_reader *in, uint64_t len)
{
	uint64_t size = tm_reader_raw_size(in), at = tm_reader_raw_tell(in), left;

	if (!size || at > size)
		return false;
	left = size - at;
	switch (tm_reader_codec(in)) {
	case TM_CODEC_PLAIN:
		return len > left;
	case TM_CODEC_GZIP:
		return len / 1032 > left;
	default:
		return false;
	}
}

/* Streams over an oversize block; returns 0, damage code, or TM_EIO. */
static int skip_block(struct tm_warc_reader *wr, uint64_t len, struct tm_err *err)
{
	struct tm_reader *in = wr->in;
	int rc;

	while (len > 0) {
		size_t n;

		rc = tm_reader_fill(in, (size_t)TM_MIN(len, (uint64_t)SCAN_CHUNK), err);
		if (rc < 0)
			return rc;
		n = (size_t)TM_MIN((uint64_t)tm_reader_avail(in), len);
		if (!n)
			return tm_err_set(err, TM_ETRUNC, NULL, 0, 0,
					  "input ends %" PRIu64 " bytes before the end of the record",
					  len);
		tm_reader_consume(in, n);
		len -= n;
	}
	return 0;
}

/*
 * Codec damage (already in *err): count it, drop the damaged member, and
 * go on at the next record.  Returns err->code, or TM_EIO.
 */
static int codec_recover(struct tm_warc_reader *wr, struct tm_err *err)
{
	struct tm_err e2 = TM_ERR_INIT;
	int rc;

	wr->st.damaged++;
	tm_reader_consume(wr->in, tm_reader_avail(wr->in));
	if ((rc = tm_reader_resync(wr->in, NULL, &e2)) < 0 ||
	    (rc = resync_scan(wr, true, &e2)) < 0) {
		*err = e2;
		return rc;
	}
	return err->code;
}

int tm_warc_next(struct tm_warc_reader *wr, struct tm_warc_record **recp,
		 struct tm_err *err)
{
	struct tm_reader *in = wr->in;
	struct tm_warc_record *rec = &wr->rec;
	struct tm_err e2 = TM_ERR_INIT;
	const char *d;
	size_t n, hl, want;
	uint64_t off;
	int rc;

	*recp = NULL;
	if (wr->have_rec) {
		tm_reader_consume(in, TM_MIN(wr->pending, tm_reader_avail(in)));
		wr->have_rec = false;
		wr->pending = 0;
		rc = skip_newlines(in, &e2);
		wr->last_end = tm_reader_raw_tell(in);
		if (rc == TM_EIO) {
			*err = e2;
			return rc;
		}
	}

	/* leading blank lines and codec damage before a record */
	rc = skip_newlines(in, &e2);
	if (rc < 0) {
		if (rc == TM_EIO) {
			*err = e2;
			return rc;
		}
		*err = e2;
		return codec_recover(wr, err);
	}
	rc = tm_reader_fill(in, 6, &e2);
	n = tm_reader_avail(in);
	if (!n && rc >= 0)
		return 0;
	off = tm_reader_raw_tell(in);
	tm_err_clear(err);
	d = tm_reader_data(in);
	if (rc < 0 && n < 6)
		goto codec_damage;
	if (!is_version_at(d, n)) {
		struct tm_buf shown = TM_BUF_INIT;

		for (size_t i = 0; i < TM_MIN(n, (size_t)24); i++) {
			unsigned char c = (unsigned char)d[i];

			if (c == '\r')
				tm_buf_addstr(&shown, "\\r");
			else if (c == '\n')
				tm_buf_addstr(&shown, "\\n");
			else if (c < 0x20 || c >= 0x7f)
				tm_buf_addf(&shown, "\\x%02x", c);
			else
				tm_buf_addch(&shown, (char)c);
		}
		tm_err_set(err, TM_EFORMAT, NULL, 0, 0,
			   "expected 'WARC/<version>', got '%s'", shown.buf);
		tm_buf_release(&shown);
		return damage(wr, TM_EFORMAT, off, 1, err);
	}

	/* the header block */
	hl = 0;
	want = 4096;
	for (;;) {
		d = tm_reader_data(in);
		n = tm_reader_avail(in);
		if ((hl = tm_header_end(d, n)))
			break;
		if (n >= wr->opts.max_header) {
			tm_err_set(err, TM_ETOOBIG, NULL, 0, 0,
				   "record header longer than %zu bytes",
				   wr->opts.max_header);
			return damage(wr, TM_ETOOBIG, off, 1, err);
		}
		if (rc < 0)
			goto codec_damage;
		rc = tm_reader_fill(in, TM_MIN(n + want, wr->opts.max_header + 4), &e2);
		want *= 2;
		if (rc >= 0 && tm_reader_avail(in) == n) {
			tm_err_set(err, TM_ETRUNC, NULL, 0, 0,
				   "input ends inside the record header");
			return damage(wr, TM_ETRUNC, off, n, err);
		}
	}
	tm_err_clear(&rec->damage);
	rec->offset = off;
	rec->uoffset = tm_reader_tell(in);
	rec->header_len = hl;
	rc = parse_header(wr, d, hl, err);
	if (rc < 0)
		return damage(wr, rc, off, 1, err);

	rec->block = NULL;
	rec->block_len = 0;
	rec->block_skipped = false;
	if (rec->content_length > wr->opts.max_record &&
	    claim_impossible(in, rec->content_length)) {
		/*
		 * More than the rest of the input could hold: a lying length,
		 * not a big record.  Look for the real end within max_record
		 * rather than streaming over every record after it.
		 */
		size_t s, look = hl + wr->opts.max_record;

		rc = tm_reader_fill(in, look, &e2);
		d = tm_reader_data(in);
		n = TM_MIN(tm_reader_avail(in), look);
		s = find_record_start(d, hl, n);
		if (s || (rc >= 0 && n < look)) {
			tm_err_set(&rec->damage, TM_ETRUNC, tm_reader_name(in), off, 0,
				   "Content-Length %" PRIu64 " exceeds the input; the "
				   "record ends after %zu bytes", rec->content_length,
				   (s ? s : n) - hl);
			return damaged_record(wr, rec, d, hl, s ? s : n, recp);
		}
	}
	if (rec->content_length > wr->opts.max_record) {
		tm_reader_consume(in, hl);
		rc = skip_block(wr, rec->content_length, &e2);
		if (rc < 0) {
			*err = e2;
			if (rc == TM_EIO)
				return rc;
			err->offset = off;
			snprintf(err->file, sizeof(err->file), "%s", tm_reader_name(in));
			return damage(wr, rc, off, 0, err);
		}
		rec->block_skipped = true;
		wr->st.oversize++;
		wr->st.records++;
		wr->have_rec = true;
		wr->pending = 0;
		*recp = rec;
		return 1;
	}

	want = hl + (size_t)rec->content_length;
	rc = tm_reader_fill(in, want + 16, &e2);
	d = tm_reader_data(in);
	n = tm_reader_avail(in);
	if (n < want) {
		size_t s;

		if (rc < 0)
			goto codec_damage;
		/* Cut short: maybe a lying Content-Length swallowed records. */
		s = find_record_start(d, hl, n);
		tm_err_set(&rec->damage, TM_ETRUNC, tm_reader_name(in), off, 0,
			   "record is cut short: Content-Length %" PRIu64
			   " but only %zu bytes follow its header",
			   rec->content_length, (s ? s : n) - hl);
		return damaged_record(wr, rec, d, hl, s ? s : n, recp);
	}
	if (!record_end_ok(in, want)) {
		size_t s;

		/*
		 * Codec damage right after a complete block belongs to what
		 * follows: return this record, the next call reports it.
		 */
		/*
		 * A record start that begins inside the claimed block (the
		 * "\nWARC/1" may reach a few bytes past its end).
		 */
		s = find_record_start(d, hl, TM_MIN(n, want + 7));
		if (s && s <= want) {
			tm_err_set(&rec->damage, TM_EFORMAT, tm_reader_name(in),
				   off, 0, "Content-Length %" PRIu64
				   " runs past the end of the record (%zu bytes)",
				   rec->content_length, s - hl);
			return damaged_record(wr, rec, d, hl, s, recp);
		}
		/* Too short or garbage after it: the next call reports that. */
	}
	/* Header fields were copied; the block points into the window. */
	rec->block = d + hl;
	rec->block_len = (size_t)rec->content_length;
	wr->pending = want;
	wr->have_rec = true;
	wr->st.records++;
	*recp = rec;
	return 1;

codec_damage:
	*err = e2;
	err->offset = off;
	return codec_recover(wr, err);
}

/* Digests */

static const char b32alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

static void base32(const unsigned char *p, size_t n, struct tm_buf *out)
{
	uint64_t acc = 0;
	int bits = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		acc = (acc << 8) | p[i];
		bits += 8;
		while (bits >= 5) {
			tm_buf_addch(out, b32alpha[(acc >> (bits - 5)) & 31]);
			bits -= 5;
		}
	}
	if (bits > 0)
		tm_buf_addch(out, b32alpha[(acc << (5 - bits)) & 31]);
	while (out->len % 8)
		tm_buf_addch(out, '=');
}

static void hexstr(const unsigned char *p, size_t n, struct tm_buf *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		tm_buf_addf(out, "%02x", p[i]);
}

static size_t hash(const char *alg, const void *data, size_t len,
		   unsigned char *md)
{
	const EVP_MD *type = NULL;
	unsigned int mdlen = 0;

	if (!strcasecmp(alg, "sha1"))
		type = EVP_sha1();
	else if (!strcasecmp(alg, "sha256"))
		type = EVP_sha256();
	else if (!strcasecmp(alg, "md5"))
		type = EVP_md5();
	if (!type)
		return 0;
	if (!EVP_Digest(data, len, md, &mdlen, type, NULL))
		return 0;
	return mdlen;
}

void tm_warc_digest_sha1(const void *data, size_t len, struct tm_buf *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	struct tm_buf b = TM_BUF_INIT;
	size_t n = hash("sha1", data, len, md);

	base32(md, n, &b);
	tm_buf_addstr(out, "sha1:");
	tm_buf_add(out, b.buf, b.len);
	tm_buf_release(&b);
}

int tm_warc_digest_check(const char *digest, const void *data, size_t len,
			 struct tm_err *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	const char *colon = strchr(digest, ':');
	struct tm_buf want = TM_BUF_INIT, got = TM_BUF_INIT;
	char alg[16];
	size_t n, vl;
	int rc = 0;

	if (!colon || colon == digest || (size_t)(colon - digest) >= sizeof(alg))
		return tm_err_set(err, TM_EFORMAT, NULL, TM_ERR_NO_OFFSET, 0,
				  "expected 'ALGORITHM:VALUE' digest, got '%.60s'",
				  digest);
	memcpy(alg, digest, (size_t)(colon - digest));
	alg[colon - digest] = '\0';
	n = hash(alg, data, len, md);
	if (!n)
		return tm_err_set(err, TM_EUNSUP, NULL, TM_ERR_NO_OFFSET, 0,
				  "unsupported digest algorithm '%s'", alg);
	tm_buf_addstr(&want, colon + 1);
	vl = want.len;
	while (vl && want.buf[vl - 1] == '=')
		vl--;
	if (vl == n * 2) {
		hexstr(md, n, &got);
		for (size_t i = 0; i < want.len; i++)
			want.buf[i] = (char)tolower((unsigned char)want.buf[i]);
	} else {
		base32(md, n, &got);
		for (size_t i = 0; i < want.len; i++)
			want.buf[i] = (char)toupper((unsigned char)want.buf[i]);
		while (got.len && got.buf[got.len - 1] == '=')
			tm_buf_setlen(&got, got.len - 1);
		tm_buf_setlen(&want, vl);
	}
	if (got.len != want.len || memcmp(got.buf, want.buf, got.len))
		rc = tm_err_set(err, TM_EDIGEST, NULL, TM_ERR_NO_OFFSET, 0,
				"%s digest mismatch: record says %.80s, content has %s:%s",
				alg, colon + 1, alg, got.buf);
	tm_buf_release(&want);
	tm_buf_release(&got);
	return rc;
}

void tm_warc_new_record_id(struct tm_buf *out)
{
	unsigned char u[16];
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	ssize_t got = -1;

	if (fd >= 0) {
		got = read(fd, u, sizeof(u));
		close(fd);
	}
	if (got != (ssize_t)sizeof(u)) {
		/* no /dev/urandom: fall back to time and address entropy */
		uint64_t x = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)out;

		for (size_t i = 0; i < sizeof(u); i++) {
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
			u[i] = (unsigned char)(x >> 56);
		}
	}
	u[6] = (unsigned char)((u[6] & 0x0f) | 0x40);
	u[8] = (unsigned char)((u[8] & 0x3f) | 0x80);
	tm_buf_addf(out, "<urn:uuid:%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		    "%02x%02x%02x%02x%02x%02x>",
		    u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9],
		    u[10], u[11], u[12], u[13], u[14], u[15]);
}

static bool has_field(const struct tm_warc_out_field *f, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcasecmp(f[i].name, name))
			return true;
	return false;
}

int tm_warc_write(struct tm_writer *w, const char *version, const char *type,
		  const struct tm_warc_out_field *fields, size_t nfields,
		  const void *block, size_t block_len, struct tm_err *err)
{
	struct tm_buf h = TM_BUF_INIT;
	size_t i;
	int rc;

	tm_buf_addf(&h, "WARC/%s\r\nWARC-Type: %s\r\n", version ? version : "1.1",
		    type);
	if (!has_field(fields, nfields, "WARC-Record-ID")) {
		tm_buf_addstr(&h, "WARC-Record-ID: ");
		tm_warc_new_record_id(&h);
		tm_buf_addstr(&h, "\r\n");
	}
	if (!has_field(fields, nfields, "WARC-Date")) {
		char date[32];
		time_t now = time(NULL);
		struct tm tm;

		gmtime_r(&now, &tm);
		strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", &tm);
		tm_buf_addf(&h, "WARC-Date: %s\r\n", date);
	}
	for (i = 0; i < nfields; i++) {
		if (strpbrk(fields[i].name, ":\r\n") ||
		    strpbrk(fields[i].value, "\r\n")) {
			tm_buf_release(&h);
			return tm_err_set(err, TM_EINVAL, NULL, TM_ERR_NO_OFFSET, 0,
					  "WARC field '%.40s' contains a line break or colon",
					  fields[i].name);
		}
		tm_buf_addf(&h, "%s: %s\r\n", fields[i].name, fields[i].value);
	}
	if (!has_field(fields, nfields, "WARC-Block-Digest")) {
		tm_buf_addstr(&h, "WARC-Block-Digest: ");
		tm_warc_digest_sha1(block, block_len, &h);
		tm_buf_addstr(&h, "\r\n");
	}
	tm_buf_addf(&h, "Content-Length: %zu\r\n\r\n", block_len);
	rc = tm_writer_write(w, h.buf, h.len, err);
	if (!rc && block_len)
		rc = tm_writer_write(w, block, block_len, err);
	if (!rc)
		rc = tm_writer_write(w, "\r\n\r\n", 4, err);
	if (!rc)
		rc = tm_writer_end_member(w, err);
	tm_buf_release(&h);
	return rc;
}
