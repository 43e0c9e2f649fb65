/*
 * buf.h: the one growable byte buffer of tamis (after git's strbuf).
 *
 * Invariants: `buf` is never NULL (an empty buffer points at a shared
 * static ""), `buf[len]` is always '\0', embedded NULs are allowed, and
 * `len < alloc` whenever `alloc > 0`.  A buffer is initialised with
 * TM_BUF_INIT or tm_buf_init() and released with tm_buf_release().
 *
 * Ownership: the caller owns the struct; the buffer owns `buf` until
 * tm_buf_detach() hands it to the caller (who frees it with free()).
 * Growing functions may move `buf`: never keep a pointer into it across a
 * call that can grow it.
 *
 * Allocation failure is a bug-level event here (all growers abort through
 * tm_die_oom()): text pipelines cannot make progress without memory, and
 * threading ENOMEM through every append would hide the real errors.
 */
#ifndef TM_BUF_H
#define TM_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct tm_buf {
	char *buf;
	size_t len;
	size_t alloc;
};

extern char tm_buf_slopbuf[];
#define TM_BUF_INIT { tm_buf_slopbuf, 0, 0 }

void tm_buf_init(struct tm_buf *sb, size_t hint);
void tm_buf_release(struct tm_buf *sb);
/* Returns the NUL-terminated buffer (malloc'ed) and resets sb to empty. */
char *tm_buf_detach(struct tm_buf *sb, size_t *len);
/* Ensures room for `extra` more bytes plus the NUL. */
void tm_buf_grow(struct tm_buf *sb, size_t extra);

static inline void tm_buf_setlen(struct tm_buf *sb, size_t len)
{
	sb->len = len;
	if (sb->alloc)
		sb->buf[len] = '\0';
}

static inline void tm_buf_reset(struct tm_buf *sb)
{
	tm_buf_setlen(sb, 0);
}

void tm_buf_add(struct tm_buf *sb, const void *data, size_t len);
void tm_buf_addstr(struct tm_buf *sb, const char *s);
void tm_buf_addch(struct tm_buf *sb, int c);
/* Appends code point `cp` (< 0x110000, not a surrogate) as UTF-8. */
void tm_buf_add_utf8(struct tm_buf *sb, uint32_t cp);
void tm_buf_addf(struct tm_buf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void tm_buf_vaddf(struct tm_buf *sb, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* Removes `n` bytes from the front. */
void tm_buf_consume(struct tm_buf *sb, size_t n);

/*
 * The end of a header block in p[0..n): the offset just past the first
 * empty line ("\r\n\r\n" or "\n\n", also mixed), or 0 if there is none.
 * WARC and HTTP headers both end this way.
 */
size_t tm_header_end(const char *p, size_t n);

/* Aborts the process after printing a message: for allocation failure only. */
void tm_die_oom(size_t size) __attribute__((noreturn));
void *tm_xmalloc(size_t size);
void *tm_xcalloc(size_t n, size_t size);
void *tm_xrealloc(void *p, size_t size);
char *tm_xstrdup(const char *s);
char *tm_xmemdup(const void *p, size_t len);

#endif
