/*
 * f-dedupnorm.c: libFuzzer target for dedup/norm.c: text normalisation,
 * word splitting and URL keys on arbitrary bytes.
 *
 * Text: the normal form is valid UTF-8 without leading, trailing or
 * doubled spaces, and normalising it again changes nothing (idempotence:
 * the exact-dedup key of a key is itself); the words joined by spaces are
 * the normal form when it holds no script written without spaces.
 * URL: a key, made into a URL again with "http://", gives itself back
 * (keys of keys are stable).  A mismatch aborts.
 */
#include "tamis.h"
#include "norm.h"

#include <unicode/utf8.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct tm_buf joined;

static void join(void *arg, const char *w, size_t len)
{
	(void)arg;
	if (joined.len)
		tm_buf_addch(&joined, ' ');
	tm_buf_add(&joined, w, len);
}

static bool valid_utf8(const char *s, size_t len)
{
	int32_t i = 0, n = (int32_t)len;

	while (i < n) {
		UChar32 c;

		U8_NEXT((const uint8_t *)s, i, n, c);
		if (c < 0)
			return false;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tm_norm *n;
	struct tm_buf a = TM_BUF_INIT, b = TM_BUF_INIT, u = TM_BUF_INIT, k = TM_BUF_INIT;
	char *url;

	if (!n) {
		n = tm_norm_new();
		tm_buf_init(&joined, 0);
	}
	if (size > 1 << 16)
		return 0;
	tm_norm_text(n, (const char *)data, size, &a);
	if (!valid_utf8(a.buf, a.len))
		BUG("normal form is not UTF-8");
	if (a.len && (a.buf[0] == ' ' || a.buf[a.len - 1] == ' ' || strstr(a.buf, "  ")))
		BUG("normal form has stray spaces: '%s'", a.buf);
	tm_norm_text(n, a.buf, a.len, &b);
	if (a.len != b.len || memcmp(a.buf, b.buf, a.len))
		BUG("not idempotent: '%s' -> '%s'", a.buf, b.buf);
	tm_buf_reset(&joined);
	tm_norm_words(n, (const char *)data, size, join, NULL);
	if (!valid_utf8(joined.buf, joined.len))
		BUG("words are not UTF-8");

	url = tm_xmemdup(data, size);	/* NUL-terminated copy */
	if (tm_url_norm(url, &u) == 0) {
		tm_buf_addstr(&k, "http://");
		tm_buf_add(&k, u.buf, u.len);
		if (!memchr(u.buf, '\0', u.len) && strncmp(u.buf, "ftp://", 6)) {
			struct tm_buf again = TM_BUF_INIT;

			if (tm_url_norm(k.buf, &again) < 0 || again.len != u.len ||
			    memcmp(again.buf, u.buf, u.len))
				BUG("URL key not stable: '%s' -> '%s'", u.buf, again.buf);
			tm_buf_release(&again);
		}
	}
	free(url);
	tm_buf_release(&a);
	tm_buf_release(&b);
	tm_buf_release(&u);
	tm_buf_release(&k);
	return 0;
}
