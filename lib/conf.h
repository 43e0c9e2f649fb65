/*
 * conf.h: pipeline.conf, the one configuration file of a tamis pipeline.
 *
 * Holds the schema (every section and key any tool knows, with its type
 * and help) and loads a file against it: tm_conf_load() parses, applies
 * the `-c section.key=value` overrides and checks every entry, so an
 * unknown key or a malformed value is an error naming file and line before
 * any work starts.  A new stage adds its keys to the table in conf.c and
 * documents them in pipeline.conf (tests/unit/u-conf.c checks that the
 * shipped pipeline.conf and the schema agree, key for key).
 *
 * Ownership: the caller frees the struct tm_ini it gets (tm_ini_free).
 * Depends on ini.h only.
 */
#ifndef TM_CONF_H
#define TM_CONF_H

#include "tamis.h"
#include "ini.h"

/* The schema; tm_conf_schema_len entries. */
extern const struct tm_ini_key tm_conf_schema[];
extern const size_t tm_conf_schema_len;

/*
 * Loads `path` (NULL: an empty configuration), then applies each of the
 * `n` overrides ("section.key=value", see tm_ini_set_arg), then checks
 * everything against the schema.  Returns 0 with *out set, or TM_ECONFIG /
 * TM_EIO / TM_ETOOBIG with err naming the file and line (or "command line").
 */
int tm_conf_load(const char *path, const char *const *overrides, size_t n,
		 struct tm_ini **out, struct tm_err *err);

#endif
