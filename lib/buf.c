/*
 * buf.c: struct tm_buf, the growable byte buffer, and the x-allocators.
 */
#include "tamis.h"

char tm_buf_slopbuf[1];

void tm_die_oom(size_t size)
{
	/* lib/ never prints, except here: there is nobody left to tell. */
	fprintf(stderr, "tamis: out of memory allocating %zu bytes\n", size);
	abort();
}

void *tm_xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (!p)
		tm_die_oom(size);
	return p;
}

void *tm_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		tm_die_oom(n * size);
	return p;
}

void *tm_xrealloc(void *p, size_t size)
{
	void *q = realloc(p, size ? size : 1);

	if (!q)
		tm_die_oom(size);
	return q;
}

char *tm_xmemdup(const void *p, size_t len)
{
	char *q = tm_xmalloc(len + 1);

	memcpy(q, p, len);
	q[len] = '\0';
	return q;
}

char *tm_xstrdup(const char *s)
{
	return tm_xmemdup(s, strlen(s));
}

void tm_buf_init(struct tm_buf *sb, size_t hint)
{
	sb->buf = tm_buf_slopbuf;
	sb->len = 0;
	sb->alloc = 0;
	if (hint)
		tm_buf_grow(sb, hint);
}

void tm_buf_release(struct tm_buf *sb)
{
	if (sb->alloc)
		free(sb->buf);
	tm_buf_init(sb, 0);
}

char *tm_buf_detach(struct tm_buf *sb, size_t *len)
{
	char *p;

	if (len)
		*len = sb->len;
	if (!sb->alloc)
		return tm_xstrdup("");
	p = sb->buf;
	tm_buf_init(sb, 0);
	return p;
}

void tm_buf_grow(struct tm_buf *sb, size_t extra)
{
	size_t need;
	int fresh = !sb->alloc;

	if (extra > SIZE_MAX - sb->len - 1)
		tm_die_oom(SIZE_MAX);
	need = sb->len + extra + 1;
	if (need <= sb->alloc)
		return;
	if (need < sb->alloc + sb->alloc / 2)
		need = sb->alloc + sb->alloc / 2;
	if (need < 64)
		need = 64;
	sb->buf = tm_xrealloc(fresh ? NULL : sb->buf, need);
	sb->alloc = need;
	if (fresh)
		sb->buf[0] = '\0';
}

void tm_buf_add(struct tm_buf *sb, const void *data, size_t len)
{
	if (!len)
		return;
	tm_buf_grow(sb, len);
	memcpy(sb->buf + sb->len, data, len);
	tm_buf_setlen(sb, sb->len + len);
}

void tm_buf_addstr(struct tm_buf *sb, const char *s)
{
	tm_buf_add(sb, s, strlen(s));
}

void tm_buf_addch(struct tm_buf *sb, int c)
{
	tm_buf_grow(sb, 1);
	sb->buf[sb->len] = (char)c;
	tm_buf_setlen(sb, sb->len + 1);
}

void tm_buf_vaddf(struct tm_buf *sb, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	tm_buf_grow(sb, 64);
	va_copy(cp, ap);
	n = vsnprintf(sb->buf + sb->len, sb->alloc - sb->len, fmt, cp);
	va_end(cp);
	if (n < 0)
		BUG("vsnprintf failed on format '%s'", fmt);
	if ((size_t)n >= sb->alloc - sb->len) {
		tm_buf_grow(sb, (size_t)n);
		n = vsnprintf(sb->buf + sb->len, sb->alloc - sb->len, fmt, ap);
	}
	tm_buf_setlen(sb, sb->len + (size_t)n);
}

void tm_buf_add_utf8(struct tm_buf *sb, uint32_t cp)
{
	char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | cp >> 12);
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | cp >> 18);
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	tm_buf_add(sb, u, n);
}

void tm_buf_addf(struct tm_buf *sb, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tm_buf_vaddf(sb, fmt, ap);
	va_end(ap);
}

void tm_buf_consume(struct tm_buf *sb, size_t n)
{
	if (n >= sb->len) {
		tm_buf_reset(sb);
		return;
	}
	memmove(sb->buf, sb->buf + n, sb->len - n);
	tm_buf_setlen(sb, sb->len - n);
}

size_t tm_header_end(const char *d, size_t n)
{
	const char *p = d;

	while ((p = memchr(p, '\n', (size_t)(d + n - p)))) {
		p++;
		if (p < d + n && *p == '\n')
			return (size_t)(p - d) + 1;
		if (p + 1 < d + n && p[0] == '\r' && p[1] == '\n')
			return (size_t)(p - d) + 2;
	}
	return 0;
}
