/*
 * opt.h: declared command-line options (after git's parse-options).
 *
 * Each tool lists its options once in a `static const struct tm_option[]`
 * terminated by TM_OPT_END; tm_opt_parse() fills the targets, leaves the
 * operands in argv, and tm_opt_usage() renders the same table as --help,
 * so the two cannot disagree.  Short options may be bundled (-vq), values
 * may be attached (-j4, --jobs=4) or separate (-j 4); "--" ends options;
 * options and operands may be mixed (operands keep their order).
 *
 * Ownership: string targets point into argv (not copied).  lib/ never
 * prints: errors come back in struct tm_err for cmd/ to report (exit 2).
 */
#ifndef TM_OPT_H
#define TM_OPT_H

#include "tamis.h"

enum tm_opt_type {
	TM_OPT_END = 0,
	TM_OPT_FLAG,	/* bool *, set to true */
	TM_OPT_COUNT,	/* int *, incremented */
	TM_OPT_STRING,	/* const char **, last one wins */
	TM_OPT_INT,	/* long *, decimal, may be negative */
	TM_OPT_U64,	/* uint64_t *, decimal or 0x hex */
	TM_OPT_SIZE,	/* uint64_t *, as a config size (ini.h: 64M, 1G, 4096) */
	TM_OPT_DOUBLE,	/* double * */
	TM_OPT_GROUP,	/* a heading in --help; no option */
	TM_OPT_STRLIST,	/* struct tm_strlist *, every occurrence appended */
};

/* The target of TM_OPT_STRLIST: strings point into argv; free `v` only. */
struct tm_strlist {
	const char **v;
	size_t n;
};

struct tm_option {
	enum tm_opt_type type;
	int short_name;		/* 0 if none */
	const char *long_name;	/* NULL if none */
	void *target;
	const char *argh;	/* the value's name in --help, e.g. "FILE" */
	const char *help;
};

#define TM_OPT_END_MARK { TM_OPT_END, 0, NULL, NULL, NULL, NULL }

/*
 * Parses options out of argv[1..argc), removing them; on return
 * argv[0..*argc) holds the program name and the operands.  Returns 0,
 * 1 when --help was given (the caller prints usage and exits 0), or
 * TM_EINVAL with a message (unknown option, missing or bad value).
 */
int tm_opt_parse(const struct tm_option *opts, int *argc, char **argv,
		 struct tm_err *err);

/* Appends "usage: SYNOPSIS\n\n" and the option table to out. */
void tm_opt_usage(const char *synopsis, const struct tm_option *opts,
		  struct tm_buf *out);

#endif
