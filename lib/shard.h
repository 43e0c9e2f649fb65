/*
 * shard.h: token shards for training (docs/FORMATS.md, "Token shards", is
 * normative), and the sharder that cuts token streams into them.
 *
 * A shard is a 1024-byte header of 256 little-endian int32 words followed
 * by the tokens, uint16 or uint32 each.  Words 0-2 are llm.c's (magic,
 * version, token count), so llm.c's dataloader reads tamis shards as they
 * are: magic 20240520 / version 1 with uint16 tokens when the vocabulary
 * fits 16 bits, magic 20240801 / version 7 with uint32 tokens otherwise,
 * and the file is exactly 1024 + ntok * width bytes.  Words 3-14 are
 * tamis's: a marker, its layout version, vocabulary size, token width,
 * document count, XXH64 of the payload, BOS id, shard index, split and
 * seed; the rest are zero.  Documents are separated by the BOS token (each
 * starts with one), so the document count is the number of BOS tokens.
 *
 * The sharder (struct tm_sharder) takes documents (source, id, ids) in
 * order and writes, per source, DIR/SOURCE/SOURCE_train_NNNNNN.bin shards
 * of exactly tokens_per_shard tokens (the last may be shorter; a document
 * may continue in the next shard) and the held-out SOURCE_val_NNNNNN.bin.
 * Training documents pass through a shuffle window of `window` documents
 * (a seeded reservoir: each new document evicts a random one), so memory
 * is bounded by the window; whether a document is held out depends only
 * on XXH64(id, seed), never on the order or the window.  Every shard is
 * written under a temporary name and renamed when complete.  Same input
 * and options give byte-identical shards.
 *
 * Memory: per source, the documents in its window and one 1 MiB buffer
 * per open shard (train and val).
 *
 * Ownership: the caller owns what it passes (ids are copied); the sharder
 * owns its windows and open shards until tm_sharder_free().
 * Depends on buf, err and libxxhash; no printing, no exit, no globals.
 */
#ifndef TM_SHARD_H
#define TM_SHARD_H

#include "tamis.h"

#define TM_SHARD_HEADER_INTS 256
#define TM_SHARD_HEADER_BYTES (TM_SHARD_HEADER_INTS * 4)
#define TM_SHARD_MAGIC16 20240520	/* llm.c: version 1, uint16 tokens */
#define TM_SHARD_VERSION16 1
#define TM_SHARD_MAGIC32 20240801	/* llm.c (Llama 3): version 7, uint32 tokens */
#define TM_SHARD_VERSION32 7
#define TM_SHARD_MARKER 0x53494d54	/* header[3]: "TMIS" as bytes */
#define TM_SHARD_LAYOUT 1		/* header[4]: version of tamis's words */
/* llm.c stores the token count in one int32 */
#define TM_SHARD_MAX_TOKENS ((uint64_t)INT32_MAX)
#define TM_SHARD_NO_BOS 0xFFFFFFFFu

enum tm_shard_split {
	TM_SHARD_TRAIN = 0,
	TM_SHARD_VAL = 1,
};

/* A shard's header, decoded. */
struct tm_shard_info {
	uint32_t magic, version;	/* llm.c's words 0 and 1 */
	uint64_t ntok;			/* word 2 */
	bool tamis;			/* words 3-14 are present (marker and layout) */
	uint32_t vocab_size;		/* word 5 */
	uint32_t token_bytes;		/* word 6 (else from the magic) */
	uint64_t ndocs;			/* word 7: BOS tokens in the payload */
	uint64_t xxh64;			/* words 8 (low) and 9 (high) */
	uint32_t bos_id;		/* word 10 */
	uint32_t index;			/* word 11: the shard's number in its split */
	uint32_t split;			/* word 12: enum tm_shard_split */
	uint64_t seed;			/* words 13 (low) and 14 (high) */
	uint64_t file_size;		/* of the file read (not in the header) */
};

/*
 * Decodes the 1024-byte header `hdr` of a shard of `file_size` bytes
 * (`name` for errors) with llm.c's rules (magic, version, token count >
 * 0, size == 1024 + ntok * width) and, when the tamis marker is there,
 * tamis's (layout version, width agreeing with the magic and vocabulary,
 * BOS below the vocabulary, split, words 15-255 zero).  Returns 0, or
 * TM_EFORMAT with the byte offset of the bad word.
 */
int tm_shard_parse_header(const void *hdr, uint64_t file_size, const char *name,
			  struct tm_shard_info *info, struct tm_err *err);
/* Reads and decodes the header of file `path` (as above; TM_EIO, TM_ETRUNC). */
int tm_shard_read_info(const char *path, struct tm_shard_info *info,
		       struct tm_err *err);
/*
 * Everything tm_shard_read_info() checks, then the payload: the XXH64
 * checksum, every id < vocab_size, the number of BOS tokens ==
 * ndocs.  A file without tamis's words fails (TM_EFORMAT: nothing to
 * verify the payload against).  Returns 0, TM_EDIGEST (checksum),
 * TM_EFORMAT (with the offset of the first bad token), TM_EIO.
 */
int tm_shard_verify(const char *path, struct tm_shard_info *info,
		    struct tm_err *err);

struct tm_shard_writer;

/*
 * Creates shard `path` through a temporary name beside it.  From `meta`:
 * vocab_size (> 0), bos_id, index, split and seed; the width follows the
 * vocabulary (2 bytes up to 65536, else 4).  Returns 0, TM_EINVAL, TM_EIO.
 */
int tm_shard_open(const char *path, const struct tm_shard_info *meta,
		  struct tm_shard_writer **out, struct tm_err *err);
/*
 * Appends `n` ids (each < vocab_size, else TM_EINVAL and nothing is
 * written; more than TM_SHARD_MAX_TOKENS in all is TM_ETOOBIG).
 */
int tm_shard_write(struct tm_shard_writer *w, const uint32_t *ids, size_t n,
		   struct tm_err *err);
uint64_t tm_shard_tokens(const struct tm_shard_writer *w);
/*
 * Fills in the header, checks every write, closes and renames the shard
 * into place; `info` (may be NULL) receives its header.  A shard without
 * tokens is an error (llm.c refuses them): TM_EINVAL.  Frees `w`
 * whatever happens; on error nothing is left under either name.
 */
int tm_shard_commit(struct tm_shard_writer *w, struct tm_shard_info *info,
		    struct tm_err *err);
/* Removes the temporary and frees `w`; NULL ok. */
void tm_shard_abort(struct tm_shard_writer *w);

struct tm_shard_opts {
	const char *dir;		/* output directory (created if absent) */
	uint64_t tokens_per_shard;	/* 1..TM_SHARD_MAX_TOKENS */
	uint64_t window;		/* shuffle window in documents; 0 or 1: keep order */
	uint64_t seed;
	double val_fraction;		/* 0..1: share of documents held out, by id */
	uint64_t val_tokens;		/* cap of held-out tokens per source; 0: none */
	/* called after each shard is renamed into place; may be NULL */
	void (*on_shard)(void *arg, const char *source, const char *path,
			 const struct tm_shard_info *info);
	void *arg;
};

/* What the sharder wrote for one source. */
struct tm_shard_source {
	const char *name;		/* the directory name (see tm_shard_source_name()) */
	uint64_t docs[2], tokens[2], shards[2];	/* by enum tm_shard_split */
};

struct tm_sharder;

/*
 * A sharder writing under opts->dir for a tokenizer of `vocab_size` ids
 * whose begin-of-text token is `bos_id` (required: it separates the
 * documents).  Returns 0, or TM_EINVAL (bad option or no BOS).
 */
int tm_sharder_new(const struct tm_shard_opts *opts, uint32_t vocab_size,
		   uint32_t bos_id, struct tm_sharder **out, struct tm_err *err);
/*
 * Adds one document: BOS is put before its ids unless they already start
 * with it.  Returns 0, or TM_EINVAL (an id >= vocab_size), TM_EIO.
 */
int tm_sharder_add(struct tm_sharder *s, const char *source, const char *id,
		   const uint32_t *ids, size_t n, struct tm_err *err);
/* Empties the windows and commits every shard.  Returns 0 or an error. */
int tm_sharder_finish(struct tm_sharder *s, struct tm_err *err);
size_t tm_sharder_nsources(const struct tm_sharder *s);
const struct tm_shard_source *tm_sharder_source(const struct tm_sharder *s, size_t i);
/* Bytes held by the windows at their largest (for stats). */
uint64_t tm_sharder_peak_bytes(const struct tm_sharder *s);
/* Frees `s`, removing the temporaries of uncommitted shards; NULL ok. */
void tm_sharder_free(struct tm_sharder *s);

/*
 * The directory and file name stem of a document source: bytes outside
 * [A-Za-z0-9._-] become '_', a leading '.' becomes '_', "" becomes
 * "default".  Appended to `out`.
 */
void tm_shard_source_name(const char *source, struct tm_buf *out);

/*
 * True when `id` (XXH64 with `seed`) falls in the held-out fraction:
 * (hash >> 11) * 2^-53 < fraction.
 */
bool tm_shard_is_val(const char *id, uint64_t seed, double fraction);

#endif
