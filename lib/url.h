/*
 * url.h: the parts of an absolute URL ("scheme://authority/path?query"),
 * as de-duplication's URL keys and the URL filters read them.
 *
 * Rules (tm_url_parse()): the scheme is the letters before the first
 * ':', which "//" must follow; the authority runs to the first '/', '?'
 * or '#'; userinfo ends at its last '@' (as browsers read it) and is not
 * part of the host; the port follows the last ':' that comes after any
 * IPv6 ']' and must be digits (it may be empty: "host:"); trailing dots
 * of the host are not part of it.  Unusable: no scheme or "://", an empty
 * host, ':' in a host that is not a bracketed IPv6 literal, an unclosed
 * or doubled '[', a port that is not digits.  Nothing is decoded or case
 * folded: the parts point into the URL as written.
 *
 * Ownership: the parts point into the caller's string.
 * Depends on nothing but the C library.
 */
#ifndef TM_URL_H
#define TM_URL_H

#include <stddef.h>

struct tm_url {
	const char *scheme;	/* letters only */
	size_t scheme_len;
	const char *host;	/* a name, an IPv4 literal or "[IPv6]" */
	size_t host_len;
	const char *port;	/* after the ':'; NULL when there is none */
	size_t port_len;
	const char *rest;	/* path, query and fragment: the rest of the string */
};

/* Splits the NUL-terminated `url` into *u; returns 0, or -1 (unusable). */
int tm_url_parse(const char *url, struct tm_url *u);

#endif
