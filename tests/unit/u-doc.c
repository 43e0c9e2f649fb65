/*
 * u-doc.c: struct tm_doc (documents as JSON Lines) through its public API.
 */
#include "tamis.h"
#include "doc.h"
#include "tap.h"

#include <math.h>

#define S(lit) (lit), sizeof(lit) - 1

/* Parses `in`, writes it, and checks the line against `want` (no "\n"). */
static void is_rewrite(struct tm_doc *doc, const char *in, size_t inlen,
		       const char *want, size_t wlen, const char *name)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_buf out = TM_BUF_INIT, again = TM_BUF_INIT;
	int rc = tm_doc_parse(doc, in, inlen, &err);

	if (rc) {
		ok(0, "%s (parse failed: %s)", name, err.msg);
		return;
	}
	tm_doc_write(doc, &out);
	ok(out.len && out.buf[out.len - 1] == '\n', "%s: ends in newline",
	   name);
	is_mem(out.buf, out.len ? out.len - 1 : 0, want, wlen, name);
	rc = tm_doc_parse(doc, out.buf, out.len - 1, &err);
	is_int(rc, 0, "rewritten line parses again");
	tm_doc_write(doc, &again);
	is_mem(again.buf, again.len, out.buf, out.len,
	       "write(parse(write)) is byte-identical");
	tm_buf_release(&out);
	tm_buf_release(&again);
}

/* Parses `in`, expecting failure `code` with message `msg`. */
static void is_error(struct tm_doc *doc, const char *in, size_t inlen,
		     int code, const char *msg)
{
	struct tm_err err = TM_ERR_INIT;
	int rc = tm_doc_parse(doc, in, inlen, &err);

	is_int(rc, code, msg);
	is_int(err.code, code, "err->code is the returned code");
	is_str(err.msg, msg, "error message");
	is_int(err.line, 0, "err->line is left to the caller");
	ok(!tm_doc_loaded(doc), "doc is empty after a failed parse");
	ok(tm_doc_text(doc, NULL) == NULL, "no text after a failed parse");
}

static void test_unicode(void)
{
	static const char raw[] = "日本語テキスト 👩‍👩‍👧 ñ a\xcc\x8a";
	struct tm_doc doc = TM_DOC_INIT;
	size_t len;
	const char *t;

	is_rewrite(&doc, S("{\"id\":\"u1\",\"text\":\"\\u4e2d\\u6587 \\ud83d\\ude00 e\\u0301\"}"),
		   S("{\"id\":\"u1\",\"text\":\"中文 😀 e\xcc\x81\"}"),
		   "\\u escapes (CJK, surrogate pair, combining) become UTF-8");
	is_rewrite(&doc, S("{\"text\":\"日本語テキスト 👩‍👩‍👧 ñ a\xcc\x8a\"}"),
		   S("{\"text\":\"日本語テキスト 👩‍👩‍👧 ñ a\xcc\x8a\"}"),
		   "raw UTF-8 (CJK, ZWJ emoji, combining ring) kept as is");
	t = tm_doc_text(&doc, &len);
	is_mem(t, len, raw, sizeof(raw) - 1, "text bytes");
	is_str(tm_doc_id(&doc), NULL, "absent id is NULL");
	is_str(tm_doc_source(&doc), NULL, "absent source is NULL");
	ok(tm_doc_meta(&doc) == NULL, "absent metadata is NULL");
	tm_doc_release(&doc);
}

static void test_nul_and_escapes(void)
{
	struct tm_doc doc = TM_DOC_INIT;
	const char *t;
	size_t len;

	is_rewrite(&doc, S("{\"text\":\"a\\u0000b\"}"),
		   S("{\"text\":\"a\\u0000b\"}"), "U+0000 inside text");
	t = tm_doc_text(&doc, &len);
	is_mem(t, len, "a\0b", 3, "text keeps its length across U+0000");
	is_rewrite(&doc,
		   S("{\"text\":\"q\\\"b\\\\s\\/n\\nt\\tr\\rb\\bf\\f\\u0001\\u001F\\u007f\"}"),
		   S("{\"text\":\"q\\\"b\\\\s/n\\nt\\tr\\rb\\bf\\f\\u0001\\u001f\x7f\"}"),
		   "escapes: short forms, \\u00XX for other controls, '/' and DEL raw");
	is_rewrite(&doc, S("{\"text\":\"\",\"\\u00e9\\\"k\":\"\\u2028\"}"),
		   S("{\"text\":\"\",\"é\\\"k\":\"\xe2\x80\xa8\"}"),
		   "keys are escaped like values; U+2028 is not escaped");
	tm_doc_release(&doc);
}

static void test_preserve(void)
{
	static const char line[] =
		"{\"z\":1,\"text\":\"t\",\"a\":[1,{\"b\":null},[]],"
		"\"metadata\":{\"y\":true,\"x\":\"s\",\"n\":{\"deep\":[false]}},"
		"\"id\":\"i\",\"extra\":{\"k\":-3}}";
	struct tm_doc doc = TM_DOC_INIT;
	struct tm_err err = TM_ERR_INIT;
	struct tm_buf out = TM_BUF_INIT;

	is_rewrite(&doc, S(line), S(line),
		   "unknown top-level and metadata fields kept in order");
	is_rewrite(&doc, S(" { \"text\" : \"a\" ,\t\"id\" : \"b\" } \r"),
		   S("{\"text\":\"a\",\"id\":\"b\"}"),
		   "whitespace (and a CR from CRLF) is dropped");
	is_rewrite(&doc, S("{\"text\":\"a\",\"k\":1,\"text\":\"b\",\"k\":[2]}"),
		   S("{\"text\":\"b\",\"k\":[2]}"),
		   "duplicate keys: last value wins, at the first position");

	tm_doc_parse(&doc, S(line), &err);
	is_int(tm_doc_meta_set_str(&doc, "x", "new", &err), 0, "overwrite x");
	is_int(tm_doc_meta_set_double(&doc, "lang_score", 0.97, &err), 0,
	       "add lang_score");
	is_int(tm_doc_set_text(&doc, S("T2"), &err), 0, "set text");
	is_int(tm_doc_set_source(&doc, "cc", &err), 0, "add source");
	tm_doc_write(&doc, &out);
	is_str(out.buf,
	       "{\"z\":1,\"text\":\"T2\",\"a\":[1,{\"b\":null},[]],"
	       "\"metadata\":{\"y\":true,\"x\":\"new\",\"n\":{\"deep\":[false]},"
	       "\"lang_score\":0.97},\"id\":\"i\",\"extra\":{\"k\":-3},"
	       "\"source\":\"cc\"}\n",
	       "set fields keep their place, new ones are appended");
	tm_doc_release(&doc);
	tm_buf_release(&out);
}

static void test_metadata(void)
{
	struct tm_doc doc = TM_DOC_INIT;
	struct tm_err err = TM_ERR_INIT;
	struct tm_buf out = TM_BUF_INIT;
	double d = -1;
	int64_t i = -1;
	bool b = false;

	tm_doc_parse(&doc, S("{\"text\":\"x\"}"), &err);
	ok(!tm_doc_meta_double(&doc, "lang_score", &d) && d == -1,
	   "absent key: getter false, *out untouched");
	is_str(tm_doc_meta_str(&doc, "url"), NULL, "absent metadata: NULL");
	ok(!tm_doc_meta_del(&doc, "url"), "deleting without metadata");
	is_int(tm_doc_meta_set_str(&doc, "url", "https://a.example/x?y=1", &err),
	       0, "set url");
	is_int(tm_doc_meta_set_str(&doc, "lang", "en", &err), 0, "set lang");
	is_int(tm_doc_meta_set_double(&doc, "lang_score", 0.97, &err), 0,
	       "set score");
	is_int(tm_doc_meta_set_int(&doc, "n", INT64_MIN, &err), 0, "set int");
	is_int(tm_doc_meta_set_bool(&doc, "dup", true, &err), 0, "set bool");
	tm_doc_write(&doc, &out);
	is_str(out.buf,
	       "{\"text\":\"x\",\"metadata\":{\"url\":\"https://a.example/x?y=1\","
	       "\"lang\":\"en\",\"lang_score\":0.97,"
	       "\"n\":-9223372036854775808,\"dup\":true}}\n",
	       "metadata created at the end, keys in order, '/' unescaped");
	is_str(tm_doc_meta_str(&doc, "url"), "https://a.example/x?y=1",
	       "get url");
	ok(tm_doc_meta_double(&doc, "lang_score", &d) && d == 0.97,
	   "get double");
	ok(tm_doc_meta_double(&doc, "n", &d) && d == (double)INT64_MIN,
	   "an integer reads as a double");
	ok(tm_doc_meta_int(&doc, "n", &i) && i == INT64_MIN, "get int");
	ok(!tm_doc_meta_int(&doc, "lang_score", &i) && i == INT64_MIN,
	   "a real is not an int");
	ok(tm_doc_meta_bool(&doc, "dup", &b) && b, "get bool");
	ok(!tm_doc_meta_bool(&doc, "n", &b), "an int is not a bool");
	is_str(tm_doc_meta_str(&doc, "n"), NULL, "an int is not a string");

	is_int(tm_doc_meta_set_str(&doc, "lang", "fr", &err), 0, "overwrite");
	is_int(tm_doc_meta_set_bool(&doc, "url", false, &err), 0,
	       "overwrite with another type");
	ok(tm_doc_meta_del(&doc, "lang_score"), "delete present key");
	ok(!tm_doc_meta_del(&doc, "lang_score"), "delete it again");
	tm_buf_reset(&out);
	tm_doc_write(&doc, &out);
	is_str(out.buf,
	       "{\"text\":\"x\",\"metadata\":{\"url\":false,\"lang\":\"fr\","
	       "\"n\":-9223372036854775808,\"dup\":true}}\n",
	       "overwrite keeps the position, delete removes");
	ok(json_object_size(tm_doc_meta(&doc)) == 4, "raw metadata object");
	json_object_set_new(tm_doc_meta(&doc), "raw", json_array());
	tm_buf_reset(&out);
	tm_doc_write(&doc, &out);
	ok(strstr(out.buf, "\"dup\":true,\"raw\":[]}}\n") != NULL,
	   "changes through the raw object are written");

	is_int(tm_doc_meta_set_double(&doc, "bad", NAN, &err), TM_EINVAL,
	       "NaN refused");
	is_str(err.msg, "metadata \"bad\": nan cannot be written in JSON",
	       "NaN message");
	is_int(tm_doc_meta_set_double(&doc, "bad", -INFINITY, &err),
	       TM_EINVAL, "-inf refused");
	is_int(tm_doc_meta_set_str(&doc, "bad", "\xc3", &err), TM_EFORMAT,
	       "non-UTF-8 value refused");
	is_int(tm_doc_meta_set_int(&doc, "b\xffkey", 1, &err), TM_EINVAL,
	       "non-UTF-8 key refused");
	is_str(err.msg, "metadata key is not valid UTF-8", "bad key message");
	ok(!tm_doc_meta_bool(&doc, "bad", &b), "refused values not stored");
	tm_doc_release(&doc);
	tm_buf_release(&out);
}

static void test_numbers(void)
{
	struct tm_doc doc = TM_DOC_INIT;

	is_rewrite(&doc, S("{\"text\":\"\",\"m\":[0.97,0.1,1.5,-2.25,3.0]}"),
		   S("{\"text\":\"\",\"m\":[0.97,0.1,1.5,-2.25,3.0]}"),
		   "reals stay short (0.97, not 0.96999999999999997)");
	is_rewrite(&doc, S("{\"text\":\"\",\"m\":[0,42,-7,9223372036854775807,-9223372036854775808]}"),
		   S("{\"text\":\"\",\"m\":[0,42,-7,9223372036854775807,-9223372036854775808]}"),
		   "integers stay integers, int64 range");
	is_rewrite(&doc, S("{\"text\":\"\",\"m\":[1e300,-1E-300,1e16,1e15,1e-5,0.0001,1E2,5e-324]}"),
		   S("{\"text\":\"\",\"m\":[1e+300,-1e-300,1e+16,1000000000000000.0,1e-05,0.0001,100.0,5e-324]}"),
		   "exponents: fixed for -5 < e < 16, else scientific");
	is_rewrite(&doc, S("{\"text\":\"\",\"m\":[-0,-0.0,0.0,1e-400]}"),
		   S("{\"text\":\"\",\"m\":[0,-0.0,0.0,0.0]}"),
		   "-0 is the integer 0, -0.0 keeps its sign, underflow is 0.0");
	is_rewrite(&doc, S("{\"text\":\"\",\"m\":[0.30000000000000004,1.7976931348623157e308,2.2250738585072014e-308,123456.789]}"),
		   S("{\"text\":\"\",\"m\":[0.30000000000000004,1.7976931348623157e+308,2.2250738585072014e-308,123456.789]}"),
		   "17-digit reals and extremes round-trip");
	tm_doc_release(&doc);
}

/* tm_doc_format_double() on random bit patterns: exact and shortest. */
static void test_double_random(unsigned long seed)
{
	struct tm_buf b = TM_BUF_INIT;
	uint64_t x = seed | 1;
	int k, bad_rt = 0, bad_short = 0, bad_real = 0;

	for (k = 0; k < 20000; k++) {
		double v;
		char shorter[40], mant[40];
		const char *p, *e, *end, *dot;
		size_t digits, n, first;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		memcpy(&v, &x, sizeof(v));
		if (k % 2)
			v = (double)(x % 100000) / 1000;  /* decimal-ish */
		if (!isfinite(v))
			continue;
		tm_buf_reset(&b);
		tm_doc_format_double(v, &b);
		if (strtod(b.buf, NULL) != v || signbit(strtod(b.buf, NULL)) != signbit(v))
			bad_rt++;
		if (!strpbrk(b.buf, ".e"))
			bad_real++;
		/*
		 * Significant digits of the mantissa (no sign, point, leading
		 * or trailing zeros); one fewer must not round-trip.
		 */
		e = strchr(b.buf, 'e');
		end = e ? e : b.buf + b.len;
		for (p = b.buf, n = 0; p < end; p++)
			if (*p >= '0' && *p <= '9')
				mant[n++] = *p;
		for (first = 0; first < n && mant[first] == '0'; first++)
			;
		while (n > first && mant[n - 1] == '0')
			n--;
		digits = n - first;
		/* No padding zeros after the point, except a lone ".0". */
		dot = memchr(b.buf, '.', (size_t)(end - b.buf));
		if (dot && end - dot > 2 && end[-1] == '0')
			bad_short++;
		if (digits > 1) {
			snprintf(shorter, sizeof(shorter), "%.*e",
				 (int)digits - 2, v);
			if (strtod(shorter, NULL) == v)
				bad_short++;
		}
	}
	is_int(bad_rt, 0, "random doubles: strtod(format(v)) == v, sign too");
	is_int(bad_real, 0, "random doubles: always a '.' or an exponent");
	is_int(bad_short, 0, "random doubles: no shorter form round-trips");
	tm_buf_release(&b);
}

static void test_errors(void)
{
	struct tm_doc doc = TM_DOC_INIT;
	struct tm_err err = TM_ERR_INIT;
	char *big;

	is_error(&doc, S("{\"text\":\"abc"), TM_EFORMAT,
		 "column 12: premature end of input near '\"abc'");
	is_error(&doc, S("{\"text\":\"abc\""), TM_EFORMAT,
		 "column 13: '}' expected near end of file");
	is_error(&doc, S("{\"text\":\"a\",}"), TM_EFORMAT,
		 "column 13: string or '}' expected near '}'");
	is_error(&doc, S("{\"text\":\"a\"} x"), TM_EFORMAT,
		 "column 14: end of file expected near 'x'");
	is_error(&doc, S("{\"text\":\"a\"}{\"text\":\"b\"}"), TM_EFORMAT,
		 "column 13: end of file expected near '{'");
	is_error(&doc, S("{\"text\" \"a\"}"), TM_EFORMAT,
		 "column 11: ':' expected near '\"a\"'");
	is_error(&doc, S("  [1,2]"), TM_EFORMAT,
		 "column 3: expected a JSON object, got an array");
	is_error(&doc, S("\"text\""), TM_EFORMAT,
		 "column 1: expected a JSON object, got a string");
	is_error(&doc, S("null"), TM_EFORMAT,
		 "column 1: expected a JSON object, got null");
	is_error(&doc, S(""), TM_EFORMAT, "empty line, expected a JSON object");
	is_error(&doc, S(" \t\r"), TM_EFORMAT,
		 "empty line, expected a JSON object");
	is_error(&doc, S("{\"id\":\"a\"}"), TM_EFORMAT, "missing \"text\"");
	is_error(&doc, S("{\"text\":5}"), TM_EFORMAT,
		 "\"text\" must be a string, got a number");
	is_error(&doc, S("{\"text\":null}"), TM_EFORMAT,
		 "\"text\" must be a string, got null");
	is_error(&doc, S("{\"text\":\"\",\"id\":7}"), TM_EFORMAT,
		 "\"id\" must be a string, got a number");
	is_error(&doc, S("{\"text\":\"\",\"id\":\"a\\u0000\"}"), TM_EFORMAT,
		 "\"id\" must not contain U+0000");
	is_error(&doc, S("{\"text\":\"\",\"source\":[]}"), TM_EFORMAT,
		 "\"source\" must be a string, got an array");
	is_error(&doc, S("{\"text\":\"\",\"metadata\":[]}"), TM_EFORMAT,
		 "\"metadata\" must be an object, got an array");
	is_error(&doc, S("{\"text\":\"ab\xff\"}"), TM_EFORMAT,
		 "column 12: invalid UTF-8 (byte 0xff)");
	is_error(&doc, S("{\"text\":\"é\xe4\xb8\"}"), TM_EFORMAT,
		 "column 12: invalid UTF-8 (byte 0xe4)");
	is_error(&doc, S("{\"text\":\"\xc0\x80\"}"), TM_EFORMAT,
		 "column 10: invalid UTF-8 (byte 0xc0)");
	is_error(&doc, S("{\"text\":\"\xed\xa0\x80\"}"), TM_EFORMAT,
		 "column 10: invalid UTF-8 (byte 0xed)");
	is_error(&doc, S("{\"text\":\"\\ud800\"}"), TM_EFORMAT,
		 "column 16: invalid Unicode '\\uD800' near '\"\\ud800\"'");
	is_error(&doc, S("{\"text\":\"a\0b\"}"), TM_EFORMAT,
		 "column 11: raw NUL byte (U+0000 must be written \\u0000)");
	is_error(&doc, S("{\"text\":\"\",\"n\":18446744073709551615}"),
		 TM_EFORMAT,
		 "column 35: too big integer near '18446744073709551615'");
	is_error(&doc, S("{\"text\":\"\",\"n\":1e400}"), TM_EFORMAT,
		 "column 20: real number overflow near '1e400'");
	is_error(&doc, S("\xef\xbb\xbf{\"text\":\"\"}"), TM_EFORMAT,
		 "column 3: invalid token near '\xef\xbb\xbf'");

	/* The size cap. */
	tm_doc_set_max_line(&doc, 13);
	is_int(tm_doc_parse(&doc, S("{\"text\":\"ab\"}"), &err), 0,
	       "a line at the cap parses");
	is_error(&doc, S("{\"text\":\"abc\"}"), TM_ETOOBIG,
		 "line of 14 bytes exceeds the limit of 13 bytes");
	tm_doc_set_max_line(&doc, 0);
	big = tm_xmalloc(TM_DOC_MAX_LINE_DEFAULT + 1);
	memset(big, ' ', TM_DOC_MAX_LINE_DEFAULT + 1);
	is_error(&doc, big, TM_DOC_MAX_LINE_DEFAULT + 1, TM_ETOOBIG,
		 "line of 67108865 bytes exceeds the limit of 67108864 bytes");
	free(big);
	tm_doc_release(&doc);
}

static void test_from(void)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_buf out = TM_BUF_INIT;
	struct tm_doc *doc;

	doc = tm_doc_new_from("<urn:uuid:1>", "Hello\0world", 11, "cc-main",
			      &err);
	ok(doc != NULL, "new_from builds a document");
	tm_doc_write(doc, &out);
	is_str(out.buf,
	       "{\"id\":\"<urn:uuid:1>\",\"text\":\"Hello\\u0000world\","
	       "\"source\":\"cc-main\",\"metadata\":{}}\n",
	       "fields in the DESIGN order, empty metadata");
	is_int(tm_doc_set_id(doc, NULL, &err), 0, "remove id");
	is_int(tm_doc_set_id(doc, "i2", &err), 0, "add id back");
	is_str(tm_doc_id(doc), "i2", "id getter");
	is_int(tm_doc_set_source(doc, "s\xff", &err), TM_EFORMAT,
	       "non-UTF-8 source refused");
	is_str(err.msg, "source is not valid UTF-8", "message");
	is_str(tm_doc_source(doc), "cc-main", "source unchanged");
	is_int(tm_doc_set_text(doc, S("ok\xf4\x90\x80\x80"), &err), TM_EFORMAT,
	       "text above U+10FFFF refused");
	tm_buf_reset(&out);
	tm_doc_write(doc, &out);
	is_str(out.buf,
	       "{\"text\":\"Hello\\u0000world\",\"source\":\"cc-main\","
	       "\"metadata\":{},\"id\":\"i2\"}\n",
	       "a removed then re-added field goes last");
	tm_doc_free(doc);
	tm_doc_free(NULL);

	doc = tm_doc_new_from(NULL, "", 0, NULL, &err);
	tm_buf_reset(&out);
	tm_doc_write(doc, &out);
	is_str(out.buf, "{\"text\":\"\",\"metadata\":{}}\n",
	       "id and source may be left out");
	is_int(tm_doc_from(doc, "a", "\xe2\x82", 2, NULL, &err), TM_EFORMAT,
	       "from with non-UTF-8 text fails");
	ok(!tm_doc_loaded(doc), "and leaves the doc empty");
	tm_doc_free(doc);
	ok(tm_doc_new_from("\x80", "t", 1, NULL, &err) == NULL,
	   "new_from with a non-UTF-8 id returns NULL");
	is_str(err.msg, "id is not valid UTF-8", "message");
	tm_buf_release(&out);
}

/* tm_doc_set_text() and jansson must agree on what UTF-8 is. */
static void test_utf8_agrees(unsigned long seed)
{
	static const unsigned char pool[] = {
		'a', 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1,
		0xc2, 0xdf, 0xe0, 0xe1, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1,
		0xf3, 0xf4, 0xf5, 0xf8, 0xfe, 0xff,
	};
	struct tm_doc doc = TM_DOC_INIT;
	struct tm_err err = TM_ERR_INIT;
	unsigned char s[6];
	int k, i, n, valid = 0, disagree = 0;

	srand((unsigned)seed);
	tm_doc_from(&doc, NULL, "", 0, NULL, &err);
	for (k = 0; k < 200000; k++) {
		json_t *j;
		bool mine;

		n = 1 + rand() % (int)sizeof(s);
		for (i = 0; i < n; i++)
			s[i] = pool[rand() % (int)sizeof(pool)];
		j = json_stringn((const char *)s, n);
		mine = tm_doc_set_text(&doc, (const char *)s, n, &err) == 0;
		if (mine != (j != NULL) && disagree++ < 5)
			tap_diag("disagree on %d bytes %02x %02x %02x...", n,
				 s[0], s[1 % n], s[2 % n]);
		valid += mine;
		json_decref(j);
	}
	is_int(disagree, 0, "UTF-8 validation agrees with jansson");
	ok(valid > 1000, "and the sample held valid sequences (%d)", valid);
	tm_doc_release(&doc);
}

/* One tm_doc across many lines, good and bad (ASan checks for leaks). */
static void test_reuse(void)
{
	struct tm_doc doc = TM_DOC_INIT;
	struct tm_err err = TM_ERR_INIT;
	struct tm_buf line = TM_BUF_INIT, out = TM_BUF_INIT;
	int k, good = 0, bad = 0, wrong = 0;

	for (k = 0; k < 10000; k++) {
		tm_buf_reset(&line);
		switch (k % 4) {
		case 0:
			tm_buf_addf(&line, "{\"id\":\"d%d\",\"text\":\"text %d \\u00e9\","
				    "\"metadata\":{\"n\":%d}}", k, k, k);
			break;
		case 1:
			tm_buf_addf(&line, "{\"text\":\"%0*d\",\"x\":[%d]}",
				    k % 200, 0, k);
			break;
		case 2:
			tm_buf_addf(&line, "{\"text\":%d}", k);
			break;
		case 3:
			tm_buf_addf(&line, "{\"text\":\"%d\"", k);
			break;
		}
		if (tm_doc_parse(&doc, line.buf, line.len, &err)) {
			bad++;
			continue;
		}
		good++;
		if (k % 4 == 0) {
			int64_t n = -1;
			char want[64];

			snprintf(want, sizeof(want), "d%d", k);
			if (!tm_doc_meta_int(&doc, "n", &n) || n != k ||
			    strcmp(tm_doc_id(&doc), want))
				wrong++;
			tm_doc_meta_set_str(&doc, "lang", "fr", &err);
		}
		tm_buf_reset(&out);
		tm_doc_write(&doc, &out);
	}
	is_int(good, 5000, "10k lines: good ones parse");
	is_int(bad, 5000, "10k lines: bad ones fail");
	is_int(wrong, 0, "10k lines: fields read back each time");
	tm_doc_release(&doc);
	tm_buf_release(&line);
	tm_buf_release(&out);
}

int main(int argc, char **argv)
{
	unsigned long seed = tap_seed(argc, argv);

	test_unicode();
	test_nul_and_escapes();
	test_preserve();
	test_metadata();
	test_numbers();
	test_double_random(seed);
	test_errors();
	test_from();
	test_utf8_agrees(seed);
	test_reuse();
	return tap_done();
}
