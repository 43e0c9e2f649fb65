/*
 * stream.h: byte streams with transparent decompression, and output files
 * that appear under their final name only when complete.
 *
 * Reading: struct tm_reader detects gzip (any number of members, the
 * CommonCrawl "one member per record" layout included), zstd (any number
 * of frames) or plain data from the first bytes, whatever the file name.
 * Decompressed bytes are exposed through a window: tm_reader_fill() makes
 * at least N bytes available (unless the input ends first),
 * tm_reader_data()/tm_reader_avail() show them and tm_reader_consume()
 * drops them.  Positions are tracked both in decompressed bytes (tell) and
 * in raw, compressed bytes (raw_tell): raw_tell is exact at gzip member and
 * zstd frame starts, which is what WARC offsets need.
 *
 * A corrupt or truncated compressed member is an error (TM_ECODEC or
 * TM_ETRUNC, with the raw offset) returned by fill; data decoded before it
 * stays readable.  tm_reader_resync() then skips to the next member or
 * frame magic in the raw input, so one damaged member loses only itself.
 *
 * Writing: struct tm_writer writes to "NAME.tmp-PID-XXXXXX" beside NAME
 * and renames it to NAME in tm_writer_commit(), after flushing, fsync-free
 * close and error checks; tm_writer_abort() (or freeing an uncommitted
 * writer) removes the temporary.  "-" is stdout, written directly.  The
 * codec follows the name's extension (.gz, .zst/.zstd, else plain) unless
 * forced.  tm_writer_end_member() closes the current gzip member or zstd
 * frame so that the next bytes start a new one (per-record compression).
 *
 * Memory: a reader holds one raw buffer (256 KiB) and a window that grows
 * to the largest fill request; a writer holds one 256 KiB buffer.
 *
 * Ownership: the caller owns what it passes; tm_reader/tm_writer own their
 * buffers and file descriptors (unless opened from an fd with own_fd 0).
 * Depends on zlib, zstd and ISA-L only; knows nothing of WARC or JSON.
 */
#ifndef TM_STREAM_H
#define TM_STREAM_H

#include "tamis.h"

enum tm_codec {
	TM_CODEC_AUTO = -1,
	TM_CODEC_PLAIN = 0,
	TM_CODEC_GZIP = 1,
	TM_CODEC_ZSTD = 2,
};

const char *tm_codec_name(enum tm_codec c);
/* The codec a file name's extension asks for (.gz, .zst, .zstd; else plain). */
enum tm_codec tm_codec_from_name(const char *path);

struct tm_reader;

/*
 * Opens `path` ("-" or NULL: standard input) for reading and detects its
 * codec.  Returns 0, or TM_EIO with err naming the file.
 */
int tm_reader_open(const char *path, struct tm_reader **out, struct tm_err *err);
/* Reads from `fd`; `name` is used in error reports; closes fd if own_fd. */
int tm_reader_open_fd(int fd, const char *name, int own_fd,
		      struct tm_reader **out, struct tm_err *err);
/* Reads `len` bytes at `data` (not copied: they must outlive the reader). */
int tm_reader_open_mem(const void *data, size_t len, const char *name,
		       struct tm_reader **out, struct tm_err *err);
void tm_reader_free(struct tm_reader *r);
/*
 * Starts reading at raw offset `off` (a member start, for compressed
 * input): only before the first fill, and only on a seekable input.
 * Offsets reported afterwards are absolute.  TM_EIO if it cannot seek.
 */
int tm_reader_seek(struct tm_reader *r, uint64_t off, struct tm_err *err);

const char *tm_reader_name(const struct tm_reader *r);
/* The detected codec; detection happens on the first fill. */
enum tm_codec tm_reader_codec(const struct tm_reader *r);

/*
 * Makes at least `want` decompressed bytes available in the window, unless
 * the input ends first (then fewer, possibly 0, are available and 0 is
 * returned: test tm_reader_avail()).  Returns 0, TM_EIO, TM_ECODEC
 * (corrupt compressed data), TM_ETRUNC (compressed member cut short) or
 * TM_ETOOBIG (want > the window limit); on error the bytes decoded before
 * the damage are still available.
 */
int tm_reader_fill(struct tm_reader *r, size_t want, struct tm_err *err);
const char *tm_reader_data(const struct tm_reader *r);
size_t tm_reader_avail(const struct tm_reader *r);
void tm_reader_consume(struct tm_reader *r, size_t n);
/* True once the input is exhausted and the window is empty. */
bool tm_reader_eof(const struct tm_reader *r);

/* Decompressed offset of the window start. */
uint64_t tm_reader_tell(const struct tm_reader *r);
/*
 * Raw (compressed) offset of the window start: exact when it is the start
 * of a gzip member or zstd frame (or for plain input); otherwise the start
 * of the member that holds it.
 */
uint64_t tm_reader_raw_tell(const struct tm_reader *r);
/* True when the window start is the first byte of a member/frame. */
bool tm_reader_at_member_start(const struct tm_reader *r);
/* Raw bytes read from the input so far, and the input size (0 if unknown). */
uint64_t tm_reader_raw_consumed(const struct tm_reader *r);
uint64_t tm_reader_raw_size(const struct tm_reader *r);
/* Raw offset at which the input ended (valid once tm_reader_eof()). */
uint64_t tm_reader_raw_end(const struct tm_reader *r);

/*
 * After a codec error: drops the window and continues decoding at the next
 * gzip member or zstd frame magic after the damage.  Returns 0 when one was
 * found (or the input ended: check tm_reader_eof()), or TM_EIO.  `skipped`
 * (may be NULL) receives the number of raw bytes skipped.
 */
int tm_reader_resync(struct tm_reader *r, uint64_t *skipped, struct tm_err *err);

/*
 * Copies up to `n` bytes into `buf`; *got = 0 means end of input.
 */
int tm_reader_read(struct tm_reader *r, void *buf, size_t n, size_t *got,
		   struct tm_err *err);
/*
 * Replaces `line` with the next line, without its "\n" (and without a
 * "\r" before it when strip_cr).  Returns 1 for a line, 0 at end of input,
 * TM_ETOOBIG when a line exceeds `max` bytes (the line is skipped), or a
 * read error.  The last line need not end in "\n".
 */
int tm_reader_getline(struct tm_reader *r, struct tm_buf *line, size_t max,
		      bool strip_cr, struct tm_err *err);

struct tm_writer;

/*
 * Creates `path` ("-" or NULL: stdout) through a temporary name.  `codec`
 * TM_CODEC_AUTO follows the extension; `level` 0 means the codec default.
 */
int tm_writer_open(const char *path, enum tm_codec codec, int level,
		   struct tm_writer **out, struct tm_err *err);
int tm_writer_write(struct tm_writer *w, const void *data, size_t len,
		    struct tm_err *err);
/* Ends the current gzip member / zstd frame; no-op for plain output. */
int tm_writer_end_member(struct tm_writer *w, struct tm_err *err);
/* Raw bytes written so far (compressed), i.e. the offset of the next member. */
uint64_t tm_writer_raw_tell(const struct tm_writer *w);
/*
 * Finishes the stream, checks every write, closes and renames the
 * temporary to the final name.  Frees `w` whatever happens.
 */
int tm_writer_commit(struct tm_writer *w, struct tm_err *err);
/* Discards the output (the temporary is removed) and frees `w`; NULL ok. */
void tm_writer_abort(struct tm_writer *w);

/*
 * Creates directory `path` and its missing parents (mkdir -p).  Returns 0,
 * or TM_EIO naming the directory that could not be made.
 */
int tm_mkdir_p(const char *path, struct tm_err *err);

/*
 * Writes data (a C string) to `path` through a temporary name
 * (PATH.tmp-PID), fsynced, then renamed: readers see the old file or the
 * whole new one.  Returns 0, or TM_EIO naming the file.
 */
int tm_write_file_atomic(const char *path, const char *data, struct tm_err *err);

/*
 * The content of a small file (its first 255 bytes) without trailing
 * newlines and spaces, malloc'ed; NULL when it cannot be read.
 */
char *tm_read_small_line(const char *path);

/* rm -rf `path`; quiet about what is already gone. */
void tm_remove_tree(const char *path);

#endif
