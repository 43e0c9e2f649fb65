/*
 * err.c: error codes, their names, and the error report.
 */
#include "tamis.h"

static const struct {
	const char *name;
	const char *key;
} names[TM_ERR__COUNT] = {
	{ "success", "ok" },
	{ "i/o error", "io" },
	{ "out of memory", "nomem" },
	{ "format error", "format" },
	{ "truncated input", "trunc" },
	{ "too large", "toobig" },
	{ "invalid argument", "inval" },
	{ "configuration error", "config" },
	{ "database error", "db" },
	{ "digest mismatch", "digest" },
	{ "unsupported", "unsup" },
	{ "corrupt compressed data", "codec" },
	{ "end of input", "eof" },
	{ "cancelled", "cancel" },
	{ "network error", "net" },
};

const char *tm_strerror(int code)
{
	if (code > 0 || -code >= TM_ERR__COUNT)
		return "unknown error";
	return names[-code].name;
}

const char *tm_errkey(int code)
{
	if (code > 0 || -code >= TM_ERR__COUNT)
		return "unknown";
	return names[-code].key;
}

void tm_err_clear(struct tm_err *e)
{
	struct tm_err z = TM_ERR_INIT;

	*e = z;
}

static void setfile(struct tm_err *e, const char *file)
{
	if (file)
		snprintf(e->file, sizeof(e->file), "%s", file);
}

int tm_err_set(struct tm_err *e, int code, const char *file, uint64_t offset,
	       long line, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return code;
	e->code = code;
	e->sys = 0;
	e->offset = offset;
	e->line = line;
	setfile(e, file);
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return code;
}

int tm_err_sys(struct tm_err *e, const char *file, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	if (!e)
		return saved == ENOMEM ? TM_ENOMEM : TM_EIO;
	e->code = saved == ENOMEM ? TM_ENOMEM : TM_EIO;
	e->sys = saved;
	e->offset = TM_ERR_NO_OFFSET;
	e->line = 0;
	setfile(e, file);
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return e->code;
}

void tm_err_format(const struct tm_err *e, struct tm_buf *out)
{
	if (e->file[0])
		tm_buf_addf(out, "%s: ", e->file);
	if (e->offset != TM_ERR_NO_OFFSET)
		tm_buf_addf(out, "offset %" PRIu64 ": ", e->offset);
	if (e->line > 0)
		tm_buf_addf(out, "line %ld: ", e->line);
	tm_buf_addstr(out, e->msg[0] ? e->msg : tm_strerror(e->code));
	if (e->sys)
		tm_buf_addf(out, ": %s", strerror(e->sys));
}

void tm_bug(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "BUG: %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}
