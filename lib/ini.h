/*
 * ini.h: the INI configuration files of tamis (pipeline.conf, mixes/NAME.conf).
 *
 * A file is parsed once into a struct tm_ini: the ordered list of its
 * `key = value` entries, each tagged with its section, optional quoted
 * subsection (`[source "web"]`, git-config style) and 1-based line.
 * Command-line overrides (`-c section.key=value`) are appended as entries
 * with line 0, so that "the last entry wins" is the one lookup rule and an
 * override always beats the file.  A caller declares the keys it knows in a
 * struct tm_ini_key schema; tm_ini_check() rejects unknown sections and keys
 * (with a did-you-mean hint) and malformed values, naming file and line.
 * docs/CONFIG.md is the user-facing description of the syntax.
 *
 * Invariants: every string reachable from a struct tm_ini is NUL-terminated
 * and contains no NUL; section names are non-empty runs of letters, digits,
 * '-', '_', '.' (or "" for keys before the first header); subsections are
 * NULL or non-empty; keys are non-empty runs of lowercase letters, digits,
 * '_', '-', '.'.  Input is bounded: lines over TM_INI_MAX_LINE bytes and
 * files over TM_INI_MAX_FILE bytes are rejected with TM_ETOOBIG.
 *
 * Ownership: struct tm_ini owns every entry and string it hands out, and
 * they all stay valid (and at the same address) until tm_ini_free().
 *
 * Must not depend on: anything but the C library and buf/err; in
 * particular no shell, no environment variables, no global state.
 */
#ifndef TM_INI_H
#define TM_INI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tm_err;

#define TM_INI_MAX_LINE (64 * 1024)        /* bytes, without the newline */
#define TM_INI_MAX_FILE (16 * 1024 * 1024) /* bytes */

/* The `file` that errors about command-line overrides (line 0) name. */
#define TM_INI_CMDLINE "command line"

enum tm_ini_type {
	TM_INI_STRING,   /* anything */
	TM_INI_INT,      /* int64; k K M G T (powers of 1000), Ki Mi Gi Ti */
	TM_INI_FLOAT,    /* a finite decimal number: 0.5, -3, 1e-4 */
	TM_INI_BOOL,     /* true/false yes/no on/off 1/0, any case */
	TM_INI_SIZE,     /* uint64 bytes; B, K/KB/KiB ... T/TB/TiB, all x1024 */
	TM_INI_DURATION, /* seconds; 250ms 30s 5m 1.5h 2d 1h30m, bare = s */
};

struct tm_ini_entry {
	const char *section;    /* "" for keys before the first header */
	const char *subsection; /* NULL when the header has none */
	const char *key;
	const char *value;      /* unquoted, unescaped, trimmed */
	long line;              /* 1-based; 0 for an override (tm_ini_set) */
};

/*
 * One known key.  `section` is a section name, "" for keys before the
 * first header, "NAME *" for section NAME with any (required)
 * subsection, or `NAME "SUB"` for that subsection only; a plain "NAME"
 * matches only headers without a subsection.
 */
struct tm_ini_key {
	const char *section;
	const char *key;
	enum tm_ini_type type;
	const char *help;
};

struct tm_ini;

/*
 * Returns a new, empty configuration named `name` (copied; used as the
 * file in error reports), for a run with overrides but no file.  Never
 * fails (aborts on OOM like every x-allocator).  Free with tm_ini_free().
 */
struct tm_ini *tm_ini_new(const char *name);

/*
 * Parses `len` bytes at `data` (need not be NUL-terminated; a leading
 * UTF-8 BOM is skipped; lines end with LF or CRLF).  `name` is copied and
 * names the file in errors.  On success stores a new struct tm_ini in
 * *out (the caller frees it with tm_ini_free()) and returns 0.  On error
 * stores NULL and returns TM_ECONFIG (syntax; err->line is the 1-based
 * line, err->msg says what was expected and what was found) or TM_ETOOBIG
 * (a line over TM_INI_MAX_LINE, with its line, or a file over
 * TM_INI_MAX_FILE).  `err` may be NULL.
 */
int tm_ini_parse_buf(const char *name, const char *data, size_t len,
		     struct tm_ini **out, struct tm_err *err);

/*
 * Reads the file at `path` and parses it as tm_ini_parse_buf() does, with
 * `path` as the name.  Additionally returns TM_EIO (err->sys set) when the
 * file cannot be opened or read.
 */
int tm_ini_parse_file(const char *path, struct tm_ini **out,
		      struct tm_err *err);

/* Frees `ini` and everything it handed out.  Accepts NULL. */
void tm_ini_free(struct tm_ini *ini);

/* The name given at parse or creation time. */
const char *tm_ini_name(const struct tm_ini *ini);

/*
 * Returns the last entry for `key` in `section` with `subsection` (NULL:
 * the header without one; sections and subsections match exactly), or
 * NULL.  Later entries override earlier ones, overrides come last.
 */
const struct tm_ini_entry *tm_ini_find(const struct tm_ini *ini,
				       const char *section,
				       const char *subsection,
				       const char *key);

/* The value of tm_ini_find()'s entry, or NULL when there is none. */
const char *tm_ini_get(const struct tm_ini *ini, const char *section,
		       const char *subsection, const char *key);

/*
 * Typed getters.  Each looks the key up as tm_ini_get() does; when it is
 * absent, stores `def` in *out and returns 0.  When present and well
 * formed, stores the value and returns 0.  Otherwise stores `def` and
 * returns TM_ECONFIG with err->file and err->line naming the entry (the
 * file is TM_INI_CMDLINE and the line 0 for an override) and a message
 * such as "'threads': expected an integer, got 'many'".  The value syntax
 * is that of the tm_ini_to_*() functions below.
 */
int tm_ini_get_int(const struct tm_ini *ini, const char *section,
		   const char *subsection, const char *key, int64_t def,
		   int64_t *out, struct tm_err *err);
int tm_ini_get_double(const struct tm_ini *ini, const char *section,
		      const char *subsection, const char *key, double def,
		      double *out, struct tm_err *err);
int tm_ini_get_bool(const struct tm_ini *ini, const char *section,
		    const char *subsection, const char *key, bool def,
		    bool *out, struct tm_err *err);
int tm_ini_get_size(const struct tm_ini *ini, const char *section,
		    const char *subsection, const char *key, uint64_t def,
		    uint64_t *out, struct tm_err *err);
/* A duration in seconds. */
int tm_ini_get_duration(const struct tm_ini *ini, const char *section,
			const char *subsection, const char *key, double def,
			double *out, struct tm_err *err);

/*
 * Iterates over all entries in order (file order, then overrides).  Start
 * with *pos = 0; returns the next entry and advances *pos, or NULL at the
 * end.
 */
const struct tm_ini_entry *tm_ini_next(const struct tm_ini *ini, size_t *pos);

/*
 * Iterates over the distinct subsections of `section`, in order of first
 * appearance (headers without keys and overrides included).  Start with
 * *pos = 0; returns the next subsection name or NULL at the end.
 */
const char *tm_ini_next_subsection(const struct tm_ini *ini,
				   const char *section, size_t *pos);

/*
 * The 1-based line of the first header (or entry) naming `section` with
 * `subsection` (NULL: none), for errors about a section as a whole (one
 * that has no keys, say); 0 when only overrides name it; -1 when nothing
 * does.
 */
long tm_ini_section_line(const struct tm_ini *ini, const char *section,
			 const char *subsection);

/*
 * Adds the override `key = value` in `section` (not NULL; "" for no
 * section) and `subsection` (NULL for none), with line 0; it wins over
 * every earlier entry.  All strings are copied; `value` is taken as is.
 * Returns 0, or TM_EINVAL (err->file TM_INI_CMDLINE) when a name is not
 * valid by the rules of the file syntax.
 */
int tm_ini_set(struct tm_ini *ini, const char *section,
	       const char *subsection, const char *key, const char *value,
	       struct tm_err *err);

/*
 * Parses one `-c` argument and adds it as tm_ini_set() does.  Two forms:
 *   "section.key=value", "section.sub.key=value", "key=value": the section
 *     is the text before the first '.', the key the text after the last
 *     '.', and anything between is the subsection;
 *   "[section \"sub\"] key=value": the header as in a file, for section
 *     names and keys that contain '.'.
 * The name part is split at the first '=' (after the header) and trimmed;
 * the value is trimmed of spaces and tabs but otherwise taken literally
 * (no quotes, escapes or comments).  Returns 0 or TM_EINVAL.
 */
int tm_ini_set_arg(struct tm_ini *ini, const char *arg, struct tm_err *err);

/*
 * Checks every entry against the `n` keys of `schema`: an entry whose
 * section matches no schema section, whose key is not declared for its
 * section, or whose value does not parse as the declared type is an
 * error.  Returns 0, or TM_ECONFIG for the first bad entry with file and
 * line as for the getters and a message such as
 * "unknown key 'min_scor' in [filter]; did you mean 'min_score'?".
 */
int tm_ini_check(const struct tm_ini *ini, const struct tm_ini_key *schema,
		 size_t n, struct tm_err *err);

/*
 * Value parsers, shared by the getters, tm_ini_check() and option
 * parsing.  `s` is the whole value (no surrounding whitespace allowed).
 * Each returns 0 and stores the value, TM_EINVAL on bad syntax or
 * TM_ETOOBIG when the value is out of range; *out is untouched on error.
 * tm_ini_to_double() may also return TM_ENOMEM (no C locale available).
 */
int tm_ini_to_int(const char *s, int64_t *out);
int tm_ini_to_double(const char *s, double *out);
int tm_ini_to_bool(const char *s, bool *out);
int tm_ini_to_size(const char *s, uint64_t *out);
int tm_ini_to_duration(const char *s, double *out);

/* What a value of `type` must be, for messages: "an integer", ... */
const char *tm_ini_type_name(enum tm_ini_type type);

#endif
