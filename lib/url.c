/*
 * url.c: the parts of an absolute URL (url.h).
 */
#include "tamis.h"
#include "url.h"

#include <ctype.h>

int tm_url_parse(const char *url, struct tm_url *u)
{
	const char *colon = strchr(url, ':'), *auth, *auth_end, *host, *host_end, *at, *p;
	const char *port = NULL;
	size_t i;

	if (!colon || colon == url || strncmp(colon, "://", 3))
		return -1;
	for (i = 0; url + i < colon; i++)
		if (!isalpha((unsigned char)url[i]))
			return -1;
	auth = colon + 3;
	auth_end = auth + strcspn(auth, "/?#");
	at = memrchr(auth, '@', (size_t)(auth_end - auth));	/* as browsers: the last */
	host = at ? at + 1 : auth;
	host_end = auth_end;
	/* the port: after the last ':' that follows any IPv6 ']' */
	for (p = host_end; p > host; p--) {
		if (p[-1] == ']')
			break;
		if (p[-1] == ':') {
			port = p;
			host_end = p - 1;
			break;
		}
	}
	while (host_end > host && host_end[-1] == '.')
		host_end--;
	if (host_end == host)
		return -1;
	/* an IPv6 literal is closed; a port is digits */
	if (*host == '[' && (host_end - host < 2 || host_end[-1] != ']' ||
			     memchr(host + 1, '[', (size_t)(host_end - host - 1))))
		return -1;
	if (*host != '[' && (memchr(host, ']', (size_t)(host_end - host)) ||
			     memchr(host, ':', (size_t)(host_end - host))))
		return -1;
	for (p = port; p && p < auth_end; p++)
		if (!isdigit((unsigned char)*p))
			return -1;
	u->scheme = url;
	u->scheme_len = (size_t)(colon - url);
	u->host = host;
	u->host_len = (size_t)(host_end - host);
	u->port = port;
	u->port_len = port ? (size_t)(auth_end - port) : 0;
	u->rest = auth_end;
	return 0;
}
