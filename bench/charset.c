/*
 * bench/charset.c: throughput of tm_charset_to_utf8() per kind of page,
 * one thread, 100 KB documents built from real-looking markup and text:
 * the UTF-8 fast path (ASCII, Chinese, Russian), the same with a NUL (the
 * filtering copy), and the ICU paths (windows-1251, EUC-JP, NFD input).
 * Prints one line per case: MB/s of input, and whether the fast path ran.
 */
#include "tamis.h"
#include "charset.h"

#include <time.h>
#include <unicode/ucnv.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void page(const char *text, struct tm_buf *out)
{
	tm_buf_reset(out);
	tm_buf_addstr(out, "<!DOCTYPE html><html><head><title>t</title>"
		      "<script>var x = 1; function f(a) { return a + 1; }</script></head><body>\n");
	while (out->len < 100000)
		tm_buf_addf(out, "<div class=\"c\"><a href=\"/x/y?z=1\">%s</a>\n<p>%s</p></div>\n",
			    text, text);
	tm_buf_addstr(out, "</body></html>\n");
}

static void encode(const char *to, const struct tm_buf *in, struct tm_buf *out)
{
	UErrorCode e = U_ZERO_ERROR;

	tm_buf_reset(out);
	tm_buf_grow(out, in->len * 2);
	tm_buf_setlen(out, (size_t)ucnv_convert(to, "UTF-8", out->buf, (int32_t)out->alloc - 1,
						in->buf, (int32_t)in->len, &e));
	if (U_FAILURE(e))
		BUG("%s", u_errorName(e));
}

static void run(struct tm_charset_ctx *c, const char *name, const struct tm_buf *doc,
		const char *ct)
{
	struct tm_buf out = TM_BUF_INIT;
	struct tm_charset_info in;
	double t0 = now(), t;
	size_t bytes = 0;
	int reps = 0;

	do {
		if (tm_charset_to_utf8(c, doc->buf, doc->len, ct, &out, &in, NULL))
			BUG("%s failed", name);
		bytes += doc->len;
		reps++;
	} while ((t = now() - t0) < 0.5);
	printf("%-28s %-13s %-5s %8.0f MB/s  (%d docs of %zu bytes)\n", name, in.charset,
	       in.fast ? "fast" : "icu", (double)bytes / t / 1e6, reps, doc->len);
	tm_buf_release(&out);
}

int main(void)
{
	struct tm_charset_ctx *c = tm_charset_new();
	struct tm_buf d = TM_BUF_INIT, e = TM_BUF_INIT;
	const char *zh = "上海聚一行工艺礼品有限公司提供商务礼品，庆典礼品，会议礼品，工艺品，纪念品";
	const char *ru = "Москва является столицей Российской Федерации и крупнейшим городом страны";
	const char *ja = "東京は日本の首都であり、世界で最も人口の多い都市圏の一つです";

	page("The quick brown fox jumps over the lazy dog, again and again.", &d);
	run(c, "utf-8 ascii", &d, "text/html; charset=utf-8");
	page(zh, &d);
	run(c, "utf-8 chinese", &d, "text/html; charset=utf-8");
	page(ru, &d);
	run(c, "utf-8 russian", &d, NULL);
	d.buf[20] = '\0';	/* in the <head>: ASCII */
	run(c, "utf-8 russian + NUL", &d, NULL);
	page(ru, &d);
	encode("windows-1251", &d, &e);
	run(c, "windows-1251 (http)", &e, "text/html; charset=windows-1251");
	run(c, "windows-1251 (detected)", &e, NULL);
	page(ja, &d);
	encode("EUC-JP", &d, &e);
	run(c, "euc-jp (http)", &e, "text/html; charset=euc-jp");
	page("cafe\xcc\x81 cre\xcc\x80me", &d);
	run(c, "utf-8 nfd latin", &d, NULL);
	tm_buf_release(&d);
	tm_buf_release(&e);
	tm_charset_free(c);
	return 0;
}
