/*
 * err.h: error codes and the error report of libtamis.
 *
 * Every lib/ function that can fail returns 0 (TM_OK) or a negative
 * TM_E* code from the one numbered enum below, and, when it takes one,
 * fills a struct tm_err with what went wrong and where: the file, the byte
 * offset and/or line, and a message.  lib/ never prints and never exits;
 * cmd/ prints the report with tm_err_format() and maps codes to exit
 * statuses.  The numbers are stable: they appear in stats and logs.
 *
 * struct tm_err holds fixed-size arrays so that reporting an error never
 * allocates (it must work when memory is exhausted).
 */
#ifndef TM_ERR_H
#define TM_ERR_H

#include <stdint.h>

enum tm_errcode {
	TM_OK = 0,
	TM_EIO = -1,        /* read/write/open failed (errno in err->sys) */
	TM_ENOMEM = -2,     /* allocation failed or a size limit of the host */
	TM_EFORMAT = -3,    /* the input is not what the format requires */
	TM_ETRUNC = -4,     /* the input ends before the format says it does */
	TM_ETOOBIG = -5,    /* a record/line/document exceeds a configured cap */
	TM_EINVAL = -6,     /* bad argument or option value */
	TM_ECONFIG = -7,    /* bad configuration file */
	TM_EDB = -8,        /* SQLite failure */
	TM_EDIGEST = -9,    /* a digest did not match */
	TM_EUNSUP = -10,    /* valid but unsupported (e.g. an unknown codec) */
	TM_ECODEC = -11,    /* compressed data is corrupt */
	TM_EEOF = -12,      /* clean end of input (not an error for most callers) */
	TM_ECANCEL = -13,   /* stopped on request */
	TM_ENET = -14,      /* network transfer failed */
	TM_ERR__COUNT = 15
};

#define TM_ERR_NO_OFFSET UINT64_MAX

struct tm_err {
	int code;           /* TM_E*, 0 when no error is recorded */
	int sys;            /* errno at the failure, 0 if none */
	uint64_t offset;    /* byte offset in `file`, TM_ERR_NO_OFFSET if none */
	long line;          /* 1-based line in `file`, 0 if none */
	char file[512];     /* the input named; "" if none ("-" is stdin) */
	char msg[512];      /* what was expected and what was found */
};

#define TM_ERR_INIT { 0, 0, TM_ERR_NO_OFFSET, 0, "", "" }

void tm_err_clear(struct tm_err *e);

/*
 * Records an error in `e` (which may be NULL) and returns `code`, so that
 * `return tm_err_set(e, TM_EFORMAT, ...)` is the usual idiom.  `file` may
 * be NULL to keep what `e` already names; `offset` TM_ERR_NO_OFFSET and
 * `line` 0 mean "not applicable".
 */
int tm_err_set(struct tm_err *e, int code, const char *file, uint64_t offset,
	       long line, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

/* As tm_err_set() but also records errno (captured before anything else). */
int tm_err_sys(struct tm_err *e, const char *file, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A stable lowercase name of the code ("format error", ...). */
const char *tm_strerror(int code);

/* A short machine-friendly key of the code ("format", "trunc", ...). */
const char *tm_errkey(int code);

struct tm_buf;
/*
 * Appends "FILE: offset N: line L: MESSAGE" (parts that do not apply are
 * left out; with errno, ": STRERROR" follows) to `out`.
 */
void tm_err_format(const struct tm_err *e, struct tm_buf *out);

#endif
