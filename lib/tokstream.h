/*
 * tokstream.h: the token stream between `tamis tokenize` and `tamis shard`
 * (docs/FORMATS.md, "Token stream", is normative).
 *
 * A 32-byte header (magic "TMTOKS01", version, vocabulary size, BOS and
 * EOS ids, token width), one record per document (token count, source,
 * id, the ids) and an end marker carrying the document count, all
 * little-endian.  The writer goes through lib/stream.h, so the output
 * appears under its final name only when complete and is compressed by
 * extension; the reader decompresses whatever it is given.
 *
 * Invariants: every id written or read is < vocab_size; token_bytes is 2
 * (vocab_size <= 65536) or 4; a stream without its end marker, or whose
 * marker's count differs from the records read, is an error.
 *
 * Memory: a writer holds one stream buffer; a reader holds one stream
 * window plus the largest document seen (its ids, source and id).
 *
 * Ownership: the caller owns what it passes; what tm_tokr_next() returns
 * belongs to the reader and stays valid until the next call or free.
 * Depends on stream, buf and err only; no printing, no exit.
 */
#ifndef TM_TOKSTREAM_H
#define TM_TOKSTREAM_H

#include "tamis.h"

#define TM_TOKS_MAGIC "TMTOKS01"
#define TM_TOKS_VERSION 1
#define TM_TOKS_HEADER_BYTES 32
/* bos_id/eos_id of a tokenizer without that token */
#define TM_TOK_NONE 0xFFFFFFFFu
/* the longest source or id a record holds (longer ones are cut) */
#define TM_TOKS_MAX_NAME 65535u

struct tm_tokstream_header {
	uint32_t vocab_size;	/* every id is < vocab_size; 1..2^32-1 */
	uint32_t bos_id;	/* TM_TOK_NONE: none */
	uint32_t eos_id;	/* TM_TOK_NONE: none */
	uint32_t token_bytes;	/* 2 or 4; 0 in tm_tokw_open(): the narrowest that fits */
};

struct tm_tokw;

/*
 * The format's encoders, for writers that build records themselves (the
 * workers of tamis tokenize); tm_tokw uses them too.  A record's ids are
 * `first` (TM_TOK_NONE: none), ids[0..n), `last` (TM_TOK_NONE: none), each
 * of token_bytes (2 or 4; the caller has checked them against the
 * vocabulary); source and id are NUL-terminated (NULL as ""), cut at
 * TM_TOKS_MAX_NAME bytes.
 */
void tm_toks_put_header(struct tm_buf *b, const struct tm_tokstream_header *h);
void tm_toks_put_record(struct tm_buf *b, unsigned token_bytes, const char *source,
			const char *id, uint32_t first, const uint32_t *ids, size_t n,
			uint32_t last);
void tm_toks_put_end(struct tm_buf *b, uint64_t count);

/*
 * Creates the stream `path` ("-" or NULL: standard output) through a
 * temporary name (compressed by extension, as tm_writer_open()) and
 * writes the header `h`.  Returns 0 and *out, TM_EINVAL (vocab_size 0,
 * token_bytes neither 0, 2 nor 4, or 2 with vocab_size > 65536) or
 * TM_EIO.
 */
int tm_tokw_open(const char *path, const struct tm_tokstream_header *h,
		 struct tm_tokw **out, struct tm_err *err);
/*
 * Appends one document: its source and id (NUL-terminated, NULL as "";
 * cut at TM_TOKS_MAX_NAME bytes) and its `n` ids, written as they are
 * (add BOS/EOS first if wanted).  Returns 0, TM_EINVAL (an id >=
 * vocab_size, nothing written; n >= 2^32 - 1) or TM_EIO.
 */
int tm_tokw_write_doc(struct tm_tokw *w, const char *source, const char *id,
		      const uint32_t *ids, size_t n, struct tm_err *err);
/* Documents written so far. */
uint64_t tm_tokw_count(const struct tm_tokw *w);
/*
 * Writes the end marker, checks every write and renames the output into
 * place.  Frees `w` whatever happens.  Returns 0 or TM_EIO.
 */
int tm_tokw_commit(struct tm_tokw *w, struct tm_err *err);
/* Discards the output (nothing appears under the final name); NULL ok. */
void tm_tokw_abort(struct tm_tokw *w);

struct tm_tokr;

/*
 * Opens the stream `path` ("-" or NULL: standard input; any compression)
 * and reads its header.  Returns 0 and *out, TM_EIO, a codec error, or
 * TM_EFORMAT/TM_ETRUNC naming the file and byte offset (bad magic,
 * version, token width, vocab_size 0, 2-byte ids with vocab_size >
 * 65536, bos/eos id >= vocab_size).
 */
int tm_tokr_open(const char *path, struct tm_tokr **out, struct tm_err *err);
/* The same on an open reader (not freed by tm_tokr_free; `r` must outlive it). */
struct tm_reader;
int tm_tokr_open_reader(struct tm_reader *in, struct tm_tokr **out,
			struct tm_err *err);
const struct tm_tokstream_header *tm_tokr_header(const struct tm_tokr *r);
/*
 * The next document: its source and id (NUL-terminated) and its ids
 * (widened to uint32).  Returns 1, 0 after the end marker (checked:
 * its count equals the documents read and nothing follows it), or an
 * error naming the file and the decompressed byte offset: TM_ETRUNC (the
 * stream ends early: no end marker), TM_EFORMAT (an id >= vocab_size,
 * a count mismatch, bytes after the marker), TM_EIO or TM_ECODEC.  After
 * an error the reader is unusable.
 */
int tm_tokr_next(struct tm_tokr *r, const char **source, const char **id,
		 const uint32_t **ids, size_t *n, struct tm_err *err);
/* Documents returned so far. */
uint64_t tm_tokr_count(const struct tm_tokr *r);
/* Decompressed bytes consumed so far (for stats and progress). */
uint64_t tm_tokr_tell(const struct tm_tokr *r);
/* Raw (compressed) bytes read so far. */
uint64_t tm_tokr_raw_consumed(const struct tm_tokr *r);
void tm_tokr_free(struct tm_tokr *r);

#endif
