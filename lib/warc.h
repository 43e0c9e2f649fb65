/*
 * warc.h: reading and writing WARC files (ISO 28500: WARC/1.0, WARC/1.1,
 * and the WARC/0.18 of ClueWeb09), whatever their compression (see
 * stream.h: gzip per record or whole file, zstd, none).
 *
 * Reader contract:
 * - tm_warc_next() returns records in file order.  A record is valid until
 *   the next call; its block is in memory when its Content-Length is at most
 *   `max_record` (otherwise `block` is NULL, `block_skipped` is set and the
 *   bytes are skipped as a stream), so memory stays bounded by max_record
 *   plus max_header whatever the input.
 * - A record whose Content-Length is wrong but whose end can be found (the
 *   input ends, or the next record begins, inside the claimed block) is
 *   returned cut to its real extent, with rec->damage describing it.
 * - Other damage (garbage between records, a bad version line, a missing
 *   Content-Length, a corrupt or cut gzip member) is returned
 *   as a negative code with err naming the file and the raw offset of the
 *   damage; the reader has then already resynchronised, and the next call
 *   returns the next intact record.  Only TM_EIO is fatal.  Every call
 *   consumes input, so a loop over tm_warc_next() always terminates.
 * - Offsets are raw (compressed) file offsets of the gzip member / zstd
 *   frame that starts the record (for uncompressed input, the byte offset).
 *
 * Writer: tm_warc_write() emits one record (headers + block + CRLF CRLF),
 * ending the compressed member after it, CommonCrawl style.
 *
 * Ownership: the reader does not own the tm_reader it reads (the caller
 * frees it after the reader); records belong to the reader.
 * Depends on stream.h and buf.h; no HTTP knowledge (see http.h).
 */
#ifndef TM_WARC_H
#define TM_WARC_H

#include "tamis.h"
#include "stream.h"

enum tm_warc_type {
	TM_WARC_UNKNOWN = 0,
	TM_WARC_WARCINFO,
	TM_WARC_RESPONSE,
	TM_WARC_RESOURCE,
	TM_WARC_REQUEST,
	TM_WARC_METADATA,
	TM_WARC_REVISIT,
	TM_WARC_CONVERSION,
	TM_WARC_CONTINUATION,
	TM_WARC__NTYPES
};

const char *tm_warc_type_name(enum tm_warc_type t);
enum tm_warc_type tm_warc_type_parse(const char *s);

struct tm_warc_field {
	const char *name;	/* as written, NUL-terminated */
	const char *value;	/* trimmed, folded lines joined by one space */
};

struct tm_warc_record {
	uint64_t offset;	/* raw offset of the record's first byte/member */
	uint64_t uoffset;	/* decompressed offset of "WARC/" */
	char version[16];	/* "1.0", "1.1", "0.18" */
	enum tm_warc_type type;
	const char *type_str;	/* WARC-Type as written ("" if absent) */
	const char *target_uri;	/* WARC-Target-URI without <...>, or NULL */
	const char *record_id;	/* WARC-Record-ID, or NULL */
	const char *date;	/* WARC-Date, or NULL */
	const char *content_type; /* Content-Type, or NULL */
	const char *truncated;	/* WARC-Truncated reason, or NULL */
	uint64_t content_length;
	size_t header_len;	/* bytes from "WARC/" to the end of the blank line */

	struct tm_warc_field *fields;
	size_t nfields;

	const char *block;	/* the block, or NULL if skipped */
	size_t block_len;	/* content_length unless damaged */
	bool block_skipped;	/* longer than max_record: not kept in memory */

	/*
	 * A record whose extent is known but disagrees with its Content-Length
	 * (the input ends inside it, or the next record starts inside it) is
	 * still returned, with block_len cut to what is there and damage.code
	 * set (TM_ETRUNC or TM_EFORMAT, message and offset filled): the caller
	 * decides whether a damaged record is usable.  0 for a sound record.
	 */
	struct tm_err damage;
};

/* Case-insensitive field lookup; NULL if absent. */
const char *tm_warc_field(const struct tm_warc_record *rec, const char *name);

struct tm_warc_opts {
	size_t max_record;	/* blocks above this are skipped (default 64 MiB) */
	size_t max_header;	/* header bytes (default 1 MiB) */
};
#define TM_WARC_OPTS_INIT { 64u << 20, 1u << 20 }

struct tm_warc_reader;

int tm_warc_reader_new(struct tm_reader *in, const struct tm_warc_opts *opts,
		       struct tm_warc_reader **out);
void tm_warc_reader_free(struct tm_warc_reader *wr);

/*
 * Reads the next record into *rec.  Returns 1 for a record, 0 at the end
 * of the input, or a negative TM_E* code for damage (err filled, reader
 * already resynchronised: call again) or TM_EIO (fatal).
 */
int tm_warc_next(struct tm_warc_reader *wr, struct tm_warc_record **rec,
		 struct tm_err *err);

/*
 * Raw offset just after the last record returned (its trailing CRLFs
 * included), known once the following record or the end was reached;
 * i.e. call after the next tm_warc_next().  Used to compute record lengths.
 */
uint64_t tm_warc_reader_last_end(const struct tm_warc_reader *wr);

struct tm_warc_stats {
	uint64_t records;
	uint64_t damaged;
	uint64_t skipped_bytes;	/* raw bytes jumped over while resynchronising */
	uint64_t oversize;	/* records whose block was skipped */
};
void tm_warc_reader_stats(const struct tm_warc_reader *wr, struct tm_warc_stats *st);

/*
 * Digests: "sha1:BASE32" (also sha256/md5 and hex forms) as in
 * WARC-Block-Digest.  Returns 0 when `data` matches `digest`, TM_EDIGEST
 * when not, TM_EUNSUP for an unknown algorithm or TM_EFORMAT when
 * `digest` is malformed; err names what was expected and found.
 */
int tm_warc_digest_check(const char *digest, const void *data, size_t len,
			 struct tm_err *err);
/* Appends "sha1:" + base32 of the SHA-1 of data to out. */
void tm_warc_digest_sha1(const void *data, size_t len, struct tm_buf *out);

/* Writing. */
struct tm_warc_out_field {
	const char *name;
	const char *value;
};

/*
 * Writes one record: "WARC/1.1" (or `version`), WARC-Type, WARC-Record-ID
 * (generated <urn:uuid:...> when absent), WARC-Date (now when absent),
 * the given fields, WARC-Block-Digest (sha1) when absent, Content-Length,
 * then the block and CRLF CRLF; then ends the compressed member.
 */
int tm_warc_write(struct tm_writer *w, const char *version, const char *type,
		  const struct tm_warc_out_field *fields, size_t nfields,
		  const void *block, size_t block_len, struct tm_err *err);

/* A new "<urn:uuid:...>" from /dev/urandom, appended to out. */
void tm_warc_new_record_id(struct tm_buf *out);

#endif
