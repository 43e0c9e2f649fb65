/*
 * u-ini.c: the INI configuration module through its public API.
 */
#include "tamis.h"
#include "ini.h"
#include "tap.h"

#include <unistd.h>

static struct tm_ini *parse(const char *text)
{
	struct tm_err e = TM_ERR_INIT;
	struct tm_ini *ini = NULL;
	int rc;

	rc = tm_ini_parse_buf("t.conf", text, strlen(text), &ini, &e);
	if (rc)
		tap_diag("unexpected error: %s", e.msg);
	ok(rc == 0 && ini, "parses a %zu-byte sample", strlen(text));
	return ini;
}

/* The formatted report of a failing parse of `text`, checked for `code`. */
static void fails(const char *text, size_t len, int code, const char *report)
{
	struct tm_err e = TM_ERR_INIT;
	struct tm_buf b = TM_BUF_INIT;
	struct tm_ini *ini = (struct tm_ini *)&e;
	int rc;

	rc = tm_ini_parse_buf("t.conf", text, len, &ini, &e);
	is_int(rc, code, report);
	ok(ini == NULL, "no object on error");
	is_int(e.code, code, "err->code set");
	tm_err_format(&e, &b);
	is_str(b.buf, report, "error report");
	tm_buf_release(&b);
}

static void fails_s(const char *text, int code, const char *report)
{
	fails(text, strlen(text), code, report);
}

static void is_entry(const struct tm_ini_entry *e, const char *sec,
		     const char *sub, const char *key, const char *val,
		     long line)
{
	ok(e != NULL, "entry for %s exists", key);
	if (!e)
		return;
	is_str(e->section, sec, "entry section");
	if (sub)
		is_str(e->subsection, sub, "entry subsection");
	else
		ok(e->subsection == NULL, "entry has no subsection");
	is_str(e->key, key, "entry key");
	is_str(e->value, val, "entry value");
	is_int(e->line, line, "entry line");
}

static void test_syntax(void)
{
	static const char text[] =
		"# a comment\n"                          /* 1 */
		"; another comment\n"                    /* 2 */
		"\n"                                     /* 3 */
		"top = level\n"                          /* 4 */
		"[global]\n"                             /* 5 */
		"threads = 4\n"                          /* 6 */
		"  indented\t=\t  spaced out  \n"        /* 7 */
		"empty =\n"                              /* 8 */
		"url = http://x.org/a#frag;b # note\n"   /* 9 */
		"tight=#not-a-comment\n"                 /* 10 */
		"only_comment = ; gone\n"                /* 11 */
		"[ filter.gopher-v2 ]   # trailing\n"    /* 12 */
		"min_words = 50\n"                       /* 13 */
		"q = \"  keep #this; \\\"x\\\" \\\\ \\n\\t \"  # c\n" /* 14 */
		"qe = \"\"\n"                            /* 15 */
		"[source \"web crawl\"]\n"               /* 16 */
		"weight = 2.5\n"                         /* 17 */
		"[source \"a\\\"b\\\\c\"];x\n"           /* 18 */
		"w.x-y_z9 = 1\n"                         /* 19 */
		"[global]\n"                             /* 20 */
		"threads = 8\n"                          /* 21 */
		"partly = \"a\" b\"\n";                  /* 22 */
	struct tm_ini *ini;
	size_t pos = 0;

	/* Line 22 is bad on purpose: the error, then the rest without it. */
	fails_s(text, TM_ECONFIG,
		"t.conf: line 22: expected end of line after the quoted value of 'partly', got 'b\"'");
	{
		/* The same file without its last line. */
		size_t len = strlen(text) - strlen("partly = \"a\" b\"\n");
		struct tm_err e = TM_ERR_INIT;

		ini = NULL;
		is_int(tm_ini_parse_buf("t.conf", text, len, &ini, &e), 0,
		       "full syntax sample parses");
	}
	if (!ini)
		return;
	is_str(tm_ini_name(ini), "t.conf", "name kept");
	is_entry(tm_ini_next(ini, &pos), "", NULL, "top", "level", 4);
	is_entry(tm_ini_next(ini, &pos), "global", NULL, "threads", "4", 6);
	is_entry(tm_ini_next(ini, &pos), "global", NULL, "indented",
		 "spaced out", 7);
	is_entry(tm_ini_next(ini, &pos), "global", NULL, "empty", "", 8);
	is_entry(tm_ini_next(ini, &pos), "global", NULL, "url",
		 "http://x.org/a#frag;b", 9);
	is_entry(tm_ini_next(ini, &pos), "global", NULL, "tight",
		 "#not-a-comment", 10);
	is_entry(tm_ini_next(ini, &pos), "global", NULL, "only_comment", "",
		 11);
	is_entry(tm_ini_next(ini, &pos), "filter.gopher-v2", NULL,
		 "min_words", "50", 13);
	is_entry(tm_ini_next(ini, &pos), "filter.gopher-v2", NULL, "q",
		 "  keep #this; \"x\" \\ \n\t ", 14);
	is_entry(tm_ini_next(ini, &pos), "filter.gopher-v2", NULL, "qe", "",
		 15);
	is_entry(tm_ini_next(ini, &pos), "source", "web crawl", "weight",
		 "2.5", 17);
	is_entry(tm_ini_next(ini, &pos), "source", "a\"b\\c", "w.x-y_z9", "1",
		 19);
	is_entry(tm_ini_next(ini, &pos), "global", NULL, "threads", "8", 21);
	ok(tm_ini_next(ini, &pos) == NULL, "13 entries, then the end");
	ok(tm_ini_next(ini, &pos) == NULL, "the end stays the end");

	is_str(tm_ini_get(ini, "global", NULL, "threads"), "8",
	       "a later entry overrides an earlier one");
	ok(tm_ini_get(ini, "Global", NULL, "threads") == NULL,
	   "section names are case-sensitive");
	ok(tm_ini_get(ini, "global", NULL, "Threads") == NULL,
	   "keys are case-sensitive");
	ok(tm_ini_get(ini, "source", NULL, "weight") == NULL,
	   "NULL subsection does not match a subsection");
	ok(tm_ini_get(ini, "source", "web", "weight") == NULL,
	   "subsections match exactly");
	is_str(tm_ini_get(ini, "", NULL, "top"), "level",
	       "keys before the first header are in section \"\"");
	is_int(tm_ini_find(ini, "global", NULL, "threads")->line, 21,
	       "find returns the winning entry");
	tm_ini_free(ini);
}

static void test_line_endings(void)
{
	struct tm_ini *ini;
	size_t pos = 0;

	ini = parse("\xef\xbb\xbf[a]\r\nk = v\r\n\r\n; c\r\nq = \"x \"\r\nlast=1");
	is_str(tm_ini_get(ini, "a", NULL, "k"), "v", "CRLF stripped");
	is_str(tm_ini_get(ini, "a", NULL, "q"), "x ", "CRLF after a quote");
	is_entry(tm_ini_find(ini, "a", NULL, "last"), "a", NULL, "last", "1",
		 6);
	tm_ini_free(ini);

	ini = parse("\xef\xbb\xbfk=1\n");
	is_entry(tm_ini_next(ini, &pos), "", NULL, "k", "1", 1);
	tm_ini_free(ini);

	ini = parse("");
	pos = 0;
	ok(tm_ini_next(ini, &pos) == NULL, "empty file has no entries");
	tm_ini_free(ini);

	ini = parse("\xef\xbb\xbf");
	pos = 0;
	ok(tm_ini_next(ini, &pos) == NULL, "a lone BOM is an empty file");
	tm_ini_free(ini);

	fails_s("[a]\n\xef\xbb\xbfk = 1\n", TM_ECONFIG,
		"t.conf: line 2: expected a key (lowercase letters, digits, '_', '-', '.'), got '\xef\xbb\xbfk'");
	fails_s("[a]\nk = \"x\r\n", TM_ECONFIG,
		"t.conf: line 2: expected '\"' to end the quoted value, got end of line");
}

static void test_syntax_errors(void)
{
	fails_s("[a]\nfoo\n", TM_ECONFIG,
		"t.conf: line 2: expected 'key = value', got 'foo'");
	fails_s("\n\n[filter\n", TM_ECONFIG,
		"t.conf: line 3: unterminated section header: expected ']', got '[filter'");
	fails_s("[]\n", TM_ECONFIG,
		"t.conf: line 1: expected a section name, got '[]'");
	fails_s("[fil!ter]\n", TM_ECONFIG,
		"t.conf: line 1: expected a section name (letters, digits, '-', '_', '.'), got 'fil!ter'");
	fails_s("[source web]\n", TM_ECONFIG,
		"t.conf: line 1: expected '\"' to start a subsection, got 'web'");
	fails_s("[source \"web]\n", TM_ECONFIG,
		"t.conf: line 1: expected '\"' to end the subsection, got end of line");
	fails_s("[source \"\"]\n", TM_ECONFIG,
		"t.conf: line 1: expected a subsection name, got '\"\"'");
	fails_s("[source \"a\\x\"]\n", TM_ECONFIG,
		"t.conf: line 1: unknown escape '\\x' in the subsection: expected \\\" or \\\\");
	fails_s("[source \"a\" x]\n", TM_ECONFIG,
		"t.conf: line 1: expected ']' after the subsection, got 'x]'");
	fails_s("[source \"a\"\n", TM_ECONFIG,
		"t.conf: line 1: unterminated section header: expected ']', got '[source \"a\"'");
	fails_s("[a] junk\n", TM_ECONFIG,
		"t.conf: line 1: expected end of line after ']', got 'junk'");
	fails_s("[a]\n = 1\n", TM_ECONFIG,
		"t.conf: line 2: expected a key before '=', got '= 1'");
	fails_s("[a]\nMinScore = 1\n", TM_ECONFIG,
		"t.conf: line 2: expected a key (lowercase letters, digits, '_', '-', '.'), got 'MinScore'");
	fails_s("[a]\nmin score = 1\n", TM_ECONFIG,
		"t.conf: line 2: expected a key (lowercase letters, digits, '_', '-', '.'), got 'min score'");
	fails_s("[a]\nk = \"abc\n", TM_ECONFIG,
		"t.conf: line 2: expected '\"' to end the quoted value, got end of line");
	fails_s("[a]\nk = \"abc\\", TM_ECONFIG,
		"t.conf: line 2: expected '\"' to end the quoted value, got end of line");
	fails_s("[a]\nk = \"a\\qb\"\n", TM_ECONFIG,
		"t.conf: line 2: unknown escape '\\q' in the quoted value: expected \\\", \\\\, \\n or \\t");
	fails_s("[a]\nk = \"a\" b\n", TM_ECONFIG,
		"t.conf: line 2: expected end of line after the quoted value of 'k', got 'b'");
	fails("[a]\nk = a\0b\n", 10, TM_ECONFIG,
	      "t.conf: line 2: expected text, got a NUL byte");
	fails_s("[a]\n\x01\x7f\n", TM_ECONFIG,
		"t.conf: line 2: expected 'key = value', got '\\x01\\x7f'");
	/* A long offending line is cut in the message, not in a character. */
	fails_s("[a]\n"
		"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		"0123456789012345678901234567890123456789\n",
		TM_ECONFIG,
		"t.conf: line 2: expected 'key = value', got '"
		"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		"...'");
}

static void test_limits(void)
{
	struct tm_buf b = TM_BUF_INIT;
	struct tm_ini *ini = NULL;
	struct tm_err e = TM_ERR_INIT;
	size_t i;

	tm_buf_addstr(&b, "[a]\nk = ");
	while (b.len < 4 + TM_INI_MAX_LINE)
		tm_buf_addch(&b, 'v');
	tm_buf_addstr(&b, "\r\n");
	is_int(tm_ini_parse_buf("t.conf", b.buf, b.len, &ini, &e), 0,
	       "a line of exactly 64 KiB (plus CRLF) is accepted");
	is_int(strlen(tm_ini_get(ini, "a", NULL, "k")), TM_INI_MAX_LINE - 4,
	       "and kept whole");
	tm_ini_free(ini);

	tm_buf_setlen(&b, b.len - 2);
	tm_buf_addstr(&b, "v\n");
	fails(b.buf, b.len, TM_ETOOBIG,
	      "t.conf: line 2: line longer than 65536 bytes");

	tm_buf_reset(&b);
	tm_buf_addstr(&b, "[a]\n");
	for (i = 0; b.len <= TM_INI_MAX_FILE; i++)
		tm_buf_addstr(&b, "; padding padding padding padding\n");
	fails(b.buf, b.len, TM_ETOOBIG,
	      "t.conf: file larger than 16777216 bytes (16 MiB)");
	tm_buf_release(&b);
}

static void test_file(void)
{
	char path[] = "/tmp/u-ini-XXXXXX";
	struct tm_ini *ini = NULL;
	struct tm_err e = TM_ERR_INIT;
	int fd, rc;
	FILE *f;

	fd = mkstemp(path);
	ok(fd >= 0, "temp file created");
	if (fd < 0)
		return;
	f = fdopen(fd, "w");
	fputs("[global]\nthreads = 3\n[x]\nbad\n", f);
	fclose(f);
	rc = tm_ini_parse_file(path, &ini, &e);
	is_int(rc, TM_ECONFIG, "file errors are reported");
	is_str(e.file, path, "with the path as the file");
	is_int(e.line, 4, "and the line");

	f = fopen(path, "w");
	fputs("[global]\nthreads = 3\n", f);
	fclose(f);
	rc = tm_ini_parse_file(path, &ini, &e);
	is_int(rc, 0, "file parses");
	is_str(tm_ini_name(ini), path, "named by its path");
	is_str(tm_ini_get(ini, "global", NULL, "threads"), "3", "file value");
	tm_ini_free(ini);
	unlink(path);

	ini = (struct tm_ini *)&e;
	rc = tm_ini_parse_file(path, &ini, &e);
	is_int(rc, TM_EIO, "a missing file is an I/O error");
	is_int(e.sys, ENOENT, "with errno");
	is_str(e.file, path, "naming the path");
	ok(ini == NULL, "and no object");

	rc = tm_ini_parse_file("/", &ini, &e);
	is_int(rc, TM_EIO, "a directory is an I/O error");
	tm_ini_free(NULL);
	ok(1, "tm_ini_free(NULL) is a no-op");
}

static void test_values(void)
{
	int64_t i = 7;
	uint64_t u = 7;
	double d = 7;
	bool b = false;

	is_int(tm_ini_to_int("42", &i), 0, "int");
	is_int(i, 42, "int value");
	ok(!tm_ini_to_int("-17", &i) && i == -17, "negative int");
	ok(!tm_ini_to_int("+3", &i) && i == 3, "explicit plus");
	ok(!tm_ini_to_int("2k", &i) && i == 2000, "k is 1000");
	ok(!tm_ini_to_int("2K", &i) && i == 2000, "K is 1000");
	ok(!tm_ini_to_int("3M", &i) && i == 3000000, "M is 10^6");
	ok(!tm_ini_to_int("1G", &i) && i == 1000000000, "G is 10^9");
	ok(!tm_ini_to_int("1T", &i) && i == 1000000000000LL, "T is 10^12");
	ok(!tm_ini_to_int("2Ki", &i) && i == 2048, "Ki is 1024");
	ok(!tm_ini_to_int("1Mi", &i) && i == 1048576, "Mi is 2^20");
	ok(!tm_ini_to_int("1Gi", &i) && i == 1073741824, "Gi is 2^30");
	ok(!tm_ini_to_int("1Ti", &i) && i == 1099511627776LL, "Ti is 2^40");
	ok(!tm_ini_to_int("-2k", &i) && i == -2000, "negative with suffix");
	ok(!tm_ini_to_int("9223372036854775807", &i) && i == INT64_MAX,
	   "INT64_MAX");
	ok(!tm_ini_to_int("-9223372036854775808", &i) && i == INT64_MIN,
	   "INT64_MIN");
	i = 5;
	is_int(tm_ini_to_int("9223372036854775808", &i), TM_ETOOBIG,
	       "INT64_MAX + 1 is out of range");
	is_int(tm_ini_to_int("99999999999999999999999", &i), TM_ETOOBIG,
	       "huge is out of range");
	is_int(tm_ini_to_int("10000000T", &i), TM_ETOOBIG,
	       "suffix overflow is out of range");
	is_int(i, 5, "out untouched on error");
	is_int(tm_ini_to_int("", &i), TM_EINVAL, "empty is not an int");
	is_int(tm_ini_to_int("-", &i), TM_EINVAL, "a sign alone");
	is_int(tm_ini_to_int("1.5", &i), TM_EINVAL, "no fractions");
	is_int(tm_ini_to_int("12x", &i), TM_EINVAL, "trailing junk");
	is_int(tm_ini_to_int("1m", &i), TM_EINVAL, "m is not a suffix");
	is_int(tm_ini_to_int(" 1", &i), TM_EINVAL, "no leading space");
	is_int(tm_ini_to_int("0x10", &i), TM_EINVAL, "no hex");
	is_int(tm_ini_to_int("1KiB", &i), TM_EINVAL, "no byte suffix");

	ok(!tm_ini_to_double("0.5", &d) && d == 0.5, "double");
	ok(!tm_ini_to_double("-3", &d) && d == -3, "integral double");
	ok(!tm_ini_to_double("1e-4", &d) && d == 1e-4, "exponent");
	ok(!tm_ini_to_double(".25", &d) && d == 0.25, "leading point");
	d = 9;
	is_int(tm_ini_to_double("inf", &d), TM_EINVAL, "no inf");
	is_int(tm_ini_to_double("nan", &d), TM_EINVAL, "no nan");
	is_int(tm_ini_to_double("0x1p3", &d), TM_EINVAL, "no hex float");
	is_int(tm_ini_to_double("1e999", &d), TM_ETOOBIG, "overflow");
	is_int(tm_ini_to_double("", &d), TM_EINVAL, "empty");
	is_int(tm_ini_to_double(".", &d), TM_EINVAL, "a point alone");
	is_int(tm_ini_to_double("e5", &d), TM_EINVAL, "no mantissa");
	is_int(tm_ini_to_double("1.2.3", &d), TM_EINVAL, "two points");
	is_int(tm_ini_to_double("0,5", &d), TM_EINVAL, "no comma");
	ok(d == 9, "out untouched on error");

	ok(!tm_ini_to_bool("true", &b) && b, "true");
	ok(!tm_ini_to_bool("YES", &b) && b, "YES");
	ok(!tm_ini_to_bool("On", &b) && b, "On");
	ok(!tm_ini_to_bool("1", &b) && b, "1");
	ok(!tm_ini_to_bool("false", &b) && !b, "false");
	ok(!tm_ini_to_bool("no", &b) && !b, "no");
	ok(!tm_ini_to_bool("OFF", &b) && !b, "OFF");
	ok(!tm_ini_to_bool("0", &b) && !b, "0");
	is_int(tm_ini_to_bool("maybe", &b), TM_EINVAL, "maybe");
	is_int(tm_ini_to_bool("", &b), TM_EINVAL, "empty bool");
	is_int(tm_ini_to_bool("2", &b), TM_EINVAL, "2 is not a bool");

	ok(!tm_ini_to_size("123", &u) && u == 123, "bare size is bytes");
	ok(!tm_ini_to_size("123B", &u) && u == 123, "B");
	ok(!tm_ini_to_size("4K", &u) && u == 4096, "K is 1024");
	ok(!tm_ini_to_size("4k", &u) && u == 4096, "k is 1024 too");
	ok(!tm_ini_to_size("4KB", &u) && u == 4096, "KB is 1024");
	ok(!tm_ini_to_size("4KiB", &u) && u == 4096, "KiB");
	ok(!tm_ini_to_size("64 MiB", &u) && u == 64ULL << 20, "space, MiB");
	ok(!tm_ini_to_size("2g", &u) && u == 2ULL << 30, "g");
	ok(!tm_ini_to_size("3TiB", &u) && u == 3ULL << 40, "TiB");
	ok(!tm_ini_to_size("18446744073709551615", &u) && u == UINT64_MAX,
	   "UINT64_MAX");
	u = 1;
	is_int(tm_ini_to_size("18446744073709551616", &u), TM_ETOOBIG,
	       "UINT64_MAX + 1");
	is_int(tm_ini_to_size("16777216T", &u), TM_ETOOBIG, "2^64 via T");
	is_int(tm_ini_to_size("-1", &u), TM_EINVAL, "negative size");
	is_int(tm_ini_to_size("1.5G", &u), TM_EINVAL, "fractional size");
	is_int(tm_ini_to_size("1P", &u), TM_EINVAL, "unknown unit");
	is_int(tm_ini_to_size("1BB", &u), TM_EINVAL, "BB");
	is_int(tm_ini_to_size("1KiBx", &u), TM_EINVAL, "junk after unit");
	is_int(tm_ini_to_size("1 ", &u), TM_EINVAL, "trailing space");
	is_int(tm_ini_to_size("K", &u), TM_EINVAL, "unit alone");
	ok(u == 1, "out untouched on error");

	ok(!tm_ini_to_duration("30", &d) && d == 30, "bare duration is s");
	ok(!tm_ini_to_duration("30s", &d) && d == 30, "s");
	ok(!tm_ini_to_duration("5m", &d) && d == 300, "m");
	ok(!tm_ini_to_duration("1.5h", &d) && d == 5400, "fractional h");
	ok(!tm_ini_to_duration("2d", &d) && d == 172800, "d");
	ok(!tm_ini_to_duration("250ms", &d) && d == 0.25, "ms");
	ok(!tm_ini_to_duration("1h30m", &d) && d == 5400, "compound");
	ok(!tm_ini_to_duration("1m0.5s", &d) && d == 60.5, "compound frac");
	d = 3;
	is_int(tm_ini_to_duration("", &d), TM_EINVAL, "empty duration");
	is_int(tm_ini_to_duration("h", &d), TM_EINVAL, "unit alone");
	is_int(tm_ini_to_duration("5x", &d), TM_EINVAL, "unknown unit");
	is_int(tm_ini_to_duration("-5s", &d), TM_EINVAL, "negative");
	is_int(tm_ini_to_duration("1h30", &d), TM_EINVAL,
	       "bare number after a unit");
	is_int(tm_ini_to_duration("5 s", &d), TM_EINVAL, "no space");
	ok(d == 3, "out untouched on error");

	is_str(tm_ini_type_name(TM_INI_INT), "an integer", "type name");
}

static void getter_fails(int rc, struct tm_err *e, const char *report)
{
	struct tm_buf b = TM_BUF_INIT;

	is_int(rc, TM_ECONFIG, report);
	tm_err_format(e, &b);
	is_str(b.buf, report, "getter error report");
	tm_buf_release(&b);
}

static void test_getters(void)
{
	struct tm_ini *ini;
	struct tm_err e = TM_ERR_INIT;
	int64_t i;
	uint64_t u;
	double d;
	bool b;

	ini = parse("[global]\n"
		    "threads = 4\n"
		    "ratio = 0.75\n"
		    "verbose = yes\n"
		    "mem = 2GiB\n"
		    "timeout = 1m30s\n"
		    "many = many\n"
		    "huge = 99999999999999999999\n"
		    "[source \"web\"]\n"
		    "weight = 3\n");
	if (!ini)
		return;
	ok(!tm_ini_get_int(ini, "global", NULL, "threads", 1, &i, &e) &&
	   i == 4, "get_int");
	ok(!tm_ini_get_int(ini, "global", NULL, "absent", -1, &i, &e) &&
	   i == -1, "get_int default");
	ok(!tm_ini_get_int(ini, "source", "web", "weight", 0, &i, &e) &&
	   i == 3, "get_int in a subsection");
	ok(!tm_ini_get_double(ini, "global", NULL, "ratio", 0, &d, &e) &&
	   d == 0.75, "get_double");
	ok(!tm_ini_get_double(ini, "global", NULL, "nope", 1.5, &d, &e) &&
	   d == 1.5, "get_double default");
	ok(!tm_ini_get_bool(ini, "global", NULL, "verbose", false, &b, &e) &&
	   b, "get_bool");
	ok(!tm_ini_get_bool(ini, "global", NULL, "nope", true, &b, &e) && b,
	   "get_bool default");
	ok(!tm_ini_get_size(ini, "global", NULL, "mem", 0, &u, &e) &&
	   u == 2ULL << 30, "get_size");
	ok(!tm_ini_get_size(ini, "global", NULL, "nope", 9, &u, &e) && u == 9,
	   "get_size default");
	ok(!tm_ini_get_duration(ini, "global", NULL, "timeout", 0, &d, &e) &&
	   d == 90, "get_duration");
	ok(!tm_ini_get_duration(ini, "global", NULL, "nope", 2, &d, &e) &&
	   d == 2, "get_duration default");

	getter_fails(tm_ini_get_int(ini, "global", NULL, "many", 5, &i, &e),
		     &e, "t.conf: line 7: 'many': expected an integer, got 'many'");
	is_int(i, 5, "default stored on error");
	getter_fails(tm_ini_get_int(ini, "global", NULL, "huge", 5, &i, &e),
		     &e, "t.conf: line 8: 'huge': expected an integer, got '99999999999999999999' (out of range)");
	getter_fails(tm_ini_get_double(ini, "global", NULL, "many", 0, &d, &e),
		     &e, "t.conf: line 7: 'many': expected a number, got 'many'");
	getter_fails(tm_ini_get_bool(ini, "global", NULL, "many", 0, &b, &e),
		     &e, "t.conf: line 7: 'many': expected a boolean (true/false, yes/no, on/off, 1/0), got 'many'");
	getter_fails(tm_ini_get_size(ini, "global", NULL, "ratio", 0, &u, &e),
		     &e, "t.conf: line 3: 'ratio': expected a size in bytes (e.g. 512K, 64MiB, 2G), got '0.75'");
	getter_fails(tm_ini_get_duration(ini, "global", NULL, "mem", 0, &d,
					 &e),
		     &e, "t.conf: line 5: 'mem': expected a duration (e.g. 250ms, 30s, 5m, 1h30m), got '2GiB'");

	ok(!tm_ini_set(ini, "global", NULL, "threads", "lots", &e),
	   "override a value");
	getter_fails(tm_ini_get_int(ini, "global", NULL, "threads", 1, &i, &e),
		     &e, "command line: 'global.threads': expected an integer, got 'lots'");
	ok(!tm_ini_set(ini, "source", "web", "weight", "x", &e), "override");
	getter_fails(tm_ini_get_int(ini, "source", "web", "weight", 1, &i, &e),
		     &e, "command line: 'source.web.weight': expected an integer, got 'x'");
	tm_ini_free(ini);
}

static void test_overrides(void)
{
	struct tm_ini *ini;
	struct tm_err e = TM_ERR_INIT;
	struct tm_buf b = TM_BUF_INIT;
	const struct tm_ini_entry *ent;

	ini = parse("[filter]\nmin_score = 0.5\n[source \"web\"]\nweight = 1\n");
	if (!ini)
		return;
	ent = tm_ini_find(ini, "filter", NULL, "min_score");
	is_int(tm_ini_set_arg(ini, "filter.min_score=0.9", &e), 0, "set_arg");
	is_entry(tm_ini_find(ini, "filter", NULL, "min_score"), "filter", NULL,
		 "min_score", "0.9", 0);
	is_str(ent->value, "0.5", "earlier entries stay valid and unchanged");
	is_int(tm_ini_set_arg(ini, " source.web.weight = 2 ", &e), 0,
	       "set_arg with a subsection");
	is_entry(tm_ini_find(ini, "source", "web", "weight"), "source", "web",
		 "weight", "2", 0);
	is_int(tm_ini_set_arg(ini, "source.common.crawl.weight= 3", &e), 0,
	       "a subsection with dots");
	is_str(tm_ini_get(ini, "source", "common.crawl", "weight"), "3",
	       "middle part is the subsection");
	is_int(tm_ini_set_arg(ini, "jobs=\"4\" # not a comment", &e), 0,
	       "no section");
	is_str(tm_ini_get(ini, "", NULL, "jobs"), "\"4\" # not a comment",
	       "the value is literal");
	is_int(tm_ini_set_arg(ini, "filter.expr=a=b", &e), 0, "= in value");
	is_str(tm_ini_get(ini, "filter", NULL, "expr"), "a=b",
	       "split at the first '='");
	is_int(tm_ini_set_arg(ini, "filter.empty=", &e), 0, "empty value");
	is_str(tm_ini_get(ini, "filter", NULL, "empty"), "", "empty kept");
	is_int(tm_ini_set_arg(ini, "[filter.gopher \"x y\"] max.ratio = 0.1",
			      &e), 0, "bracket form");
	is_entry(tm_ini_find(ini, "filter.gopher", "x y", "max.ratio"),
		 "filter.gopher", "x y", "max.ratio", "0.1", 0);
	is_int(tm_ini_set_arg(ini, "[dedup]k.v=1", &e), 0,
	       "bracket form without spaces");
	is_str(tm_ini_get(ini, "dedup", NULL, "k.v"), "1", "key with a dot");
	is_int(tm_ini_set(ini, "filter", NULL, "min_score", "1.0", &e), 0,
	       "tm_ini_set");
	is_str(tm_ini_get(ini, "filter", NULL, "min_score"), "1.0",
	       "the latest override wins");

#define ARG_FAILS(arg, report) do {					\
		int rc_ = tm_ini_set_arg(ini, (arg), &e);		\
		is_int(rc_, TM_EINVAL, "bad -c " arg);			\
		tm_buf_reset(&b);					\
		tm_err_format(&e, &b);					\
		is_str(b.buf, (report), "set_arg error " arg);		\
	} while (0)
	ARG_FAILS("filter.min_score",
		  "command line: expected 'section.key=value', got 'filter.min_score'");
	ARG_FAILS("filter.=1",
		  "command line: expected a key (lowercase letters, digits, '_', '-', '.'), got ''");
	ARG_FAILS("=1",
		  "command line: expected a key (lowercase letters, digits, '_', '-', '.'), got ''");
	ARG_FAILS("Filter.Key=1",
		  "command line: expected a key (lowercase letters, digits, '_', '-', '.'), got 'Key'");
	ARG_FAILS("fil ter.key=1",
		  "command line: expected a section name (letters, digits, '-', '_', '.'), got 'fil ter'");
	ARG_FAILS("source..weight=1",
		  "command line: expected a subsection name between the dots, got 'source..weight'");
	ARG_FAILS("[source \"x\" key=1",
		  "command line: expected ']' after the subsection, got 'key=1'");
	ARG_FAILS("[filter] key",
		  "command line: expected 'key=value' after ']', got ' key'");
	ARG_FAILS("[newsec] Bad=1",
		  "command line: expected a key (lowercase letters, digits, '_', '-', '.'), got 'Bad'");
#undef ARG_FAILS
	{
		size_t pos = 0;
		const char *s;
		int n = 0;

		while ((s = tm_ini_next_subsection(ini, "newsec", &pos)))
			n++;
		ok(tm_ini_get(ini, "newsec", NULL, "Bad") == NULL && n == 0,
		   "a failed set_arg adds nothing");
	}
	is_int(tm_ini_set(ini, "", "sub", "k", "v", &e), TM_EINVAL,
	       "no subsection without a section");
	is_int(tm_ini_set(ini, "s", "", "k", "v", &e), TM_EINVAL,
	       "no empty subsection");
	is_str(e.msg, "expected a subsection name, got ''", "message");
	tm_ini_free(ini);

	ini = tm_ini_new("none");
	is_str(tm_ini_name(ini), "none", "tm_ini_new names the object");
	ok(tm_ini_get(ini, "a", NULL, "b") == NULL, "empty object");
	is_int(tm_ini_set_arg(ini, "a.b=c", NULL), 0, "err may be NULL");
	is_str(tm_ini_get(ini, "a", NULL, "b"), "c", "set on an empty object");
	is_int(tm_ini_set_arg(ini, "a.b", NULL), TM_EINVAL,
	       "errors without err");
	tm_ini_free(ini);
	tm_buf_release(&b);
}

static void test_subsections(void)
{
	struct tm_ini *ini;
	const char *s;
	size_t pos = 0;
	struct tm_buf b = TM_BUF_INIT;
	int i;

	ini = parse("[source \"web\"]\nweight = 1\n"
		    "[source]\nx = 1\n"
		    "[source \"code\"]\n"
		    "[other \"zzz\"]\n"
		    "[source \"web\"]\nweight = 2\n"
		    "[source \"books\"]\nweight = 3\n");
	if (!ini)
		return;
	tm_ini_set(ini, "source", "wiki", "weight", "4", NULL);
	tm_ini_set(ini, "source", "code", "weight", "5", NULL);
	while ((s = tm_ini_next_subsection(ini, "source", &pos))) {
		tm_buf_addstr(&b, s);
		tm_buf_addch(&b, ',');
	}
	is_str(b.buf, "web,code,books,wiki,",
	       "distinct subsections in order of first appearance");
	ok(tm_ini_next_subsection(ini, "source", &pos) == NULL,
	   "the end stays the end");
	pos = 0;
	ok(tm_ini_next_subsection(ini, "nope", &pos) == NULL,
	   "no subsections of an unknown section");
	is_str(tm_ini_get(ini, "source", "web", "weight"), "2",
	       "a repeated header continues the section");
	tm_ini_free(ini);

	/* Many headers: the section table grows and stays consistent. */
	tm_buf_reset(&b);
	for (i = 0; i < 3000; i++)
		tm_buf_addf(&b, "[s \"n%d\"]\nk = %d\n[t%d]\nk = %d\n", i, i,
			    i % 7, i);
	ini = parse(b.buf);
	if (!ini)
		return;
	pos = 0;
	for (i = 0; (s = tm_ini_next_subsection(ini, "s", &pos)); i++)
		;
	is_int(i, 3000, "3000 subsections");
	is_str(tm_ini_get(ini, "s", "n2999", "k"), "2999", "last one");
	is_str(tm_ini_get(ini, "t2", NULL, "k"), "2998",
	       "plain sections interleaved");
	tm_ini_free(ini);
	tm_buf_release(&b);
}

static const struct tm_ini_key schema[] = {
	{ "", "include", TM_INI_STRING, "another file" },
	{ "global", "threads", TM_INI_INT, "worker threads" },
	{ "global", "stats", TM_INI_STRING, "stats database" },
	{ "filter", "min_score", TM_INI_FLOAT, "quality threshold" },
	{ "filter", "max_bytes", TM_INI_SIZE, "document cap" },
	{ "filter", "enabled", TM_INI_BOOL, "run the stage" },
	{ "fetch", "timeout", TM_INI_DURATION, "per request" },
	{ "source *", "weight", TM_INI_FLOAT, "sampling weight" },
	{ "source *", "path", TM_INI_STRING, "shard directory" },
};

static void check_fails(const char *text, const char *set,
			const char *report)
{
	struct tm_ini *ini = parse(text);
	struct tm_err e = TM_ERR_INIT;
	struct tm_buf b = TM_BUF_INIT;

	if (!ini)
		return;
	if (set)
		ok(!tm_ini_set_arg(ini, set, &e), "override %s", set);
	is_int(tm_ini_check(ini, schema, TM_ARRAY_SIZE(schema), &e),
	       TM_ECONFIG, report);
	tm_err_format(&e, &b);
	is_str(b.buf, report, "check report");
	tm_buf_release(&b);
	tm_ini_free(ini);
}

static void test_check(void)
{
	struct tm_ini *ini;
	struct tm_err e = TM_ERR_INIT;

	ini = parse("include = base.conf\n"
		    "[global]\nthreads = 8\nstats = s.db\n"
		    "[filter]\nmin_score = 0.5\nmax_bytes = 1MiB\nenabled = on\n"
		    "[fetch]\ntimeout = 30s\n"
		    "[source \"web\"]\nweight = 2\npath = shards/web\n"
		    "[source \"code\"]\nweight = 0.5\n");
	if (ini) {
		is_int(tm_ini_check(ini, schema, TM_ARRAY_SIZE(schema), &e), 0,
		       "a valid file passes the check");
		is_int(tm_ini_set_arg(ini, "source.books.weight=1", &e), 0,
		       "override");
		is_int(tm_ini_check(ini, schema, TM_ARRAY_SIZE(schema), &e), 0,
		       "a valid override passes too");
		tm_ini_free(ini);
	}
	check_fails("[filter]\nmin_score = 1\n\nmin_scor = 0.5\n", NULL,
		    "t.conf: line 4: unknown key 'min_scor' in [filter]; did you mean 'min_score'?");
	check_fails("[filter]\nmni_score = 1\n", NULL,
		    "t.conf: line 2: unknown key 'mni_score' in [filter]; did you mean 'min_score'?");
	check_fails("[filter]\nminimum_score = 1\n", NULL,
		    "t.conf: line 2: unknown key 'minimum_score' in [filter]");
	check_fails("[filter]\nthreads = 1\n", NULL,
		    "t.conf: line 2: unknown key 'threads' in [filter]; it belongs in [global]");
	check_fails("[filter]\nwieght = 1\n", NULL,
		    "t.conf: line 2: unknown key 'wieght' in [filter]");
	check_fails("[global]\npath = 1\n", NULL,
		    "t.conf: line 2: unknown key 'path' in [global]; it belongs in [source \"...\"]");
	check_fails("[global]\ninclude = x\n", NULL,
		    "t.conf: line 2: unknown key 'include' in [global]; it belongs before the first section");
	check_fails("[source \"web\"]\nwieght = 1\n", NULL,
		    "t.conf: line 2: unknown key 'wieght' in [source \"web\"]; did you mean 'weight'?");
	check_fails("[fliter]\nmin_score = 1\n", NULL,
		    "t.conf: line 2: unknown section [fliter]; did you mean [filter]?");
	check_fails("[sources \"x\"]\nweight = 1\n", NULL,
		    "t.conf: line 2: unknown section [sources \"x\"]; did you mean [source]?");
	check_fails("[quux]\nweight = 1\n", NULL,
		    "t.conf: line 2: unknown section [quux]");
	check_fails("\n[source]\nweight = 1\n", NULL,
		    "t.conf: line 3: section [source] needs a subsection, as in [source \"name\"]");
	check_fails("[filter \"x\"]\nenabled = 1\n", NULL,
		    "t.conf: line 2: section [filter \"x\"] takes no subsection: expected [filter]");
	check_fails("threads = 4\n", NULL,
		    "t.conf: line 1: key 'threads' outside any section; it belongs in [global]");
	check_fails("[global]\nthreads = many\n", NULL,
		    "t.conf: line 2: 'threads': expected an integer, got 'many'");
	check_fails("[filter]\nenabled = maybe\n", NULL,
		    "t.conf: line 2: 'enabled': expected a boolean (true/false, yes/no, on/off, 1/0), got 'maybe'");
	check_fails("[filter]\nmax_bytes = 1.5G\n", NULL,
		    "t.conf: line 2: 'max_bytes': expected a size in bytes (e.g. 512K, 64MiB, 2G), got '1.5G'");
	check_fails("[fetch]\ntimeout = soon\n", NULL,
		    "t.conf: line 2: 'timeout': expected a duration (e.g. 250ms, 30s, 5m, 1h30m), got 'soon'");
	check_fails("[filter]\nmin_score = high\n", NULL,
		    "t.conf: line 2: 'min_score': expected a number, got 'high'");
	check_fails("[global]\nthreads = 4\n", "global.thread=4",
		    "command line: unknown key 'thread' in [global]; did you mean 'threads'?");
	check_fails("[global]\nthreads = 4\n", "global.threads=x",
		    "command line: 'global.threads': expected an integer, got 'x'");
	check_fails("[global]\nthreads = 4\nbad = 1\n", "global.threads=x",
		    "t.conf: line 3: unknown key 'bad' in [global]");

	ini = parse("jobs = 4\n");
	if (ini) {
		struct tm_buf b = TM_BUF_INIT;

		is_int(tm_ini_check(ini, schema + 1, TM_ARRAY_SIZE(schema) - 1,
				    &e), TM_ECONFIG,
		       "no key is allowed before the first section");
		tm_err_format(&e, &b);
		is_str(b.buf, "t.conf: line 1: key 'jobs' outside any section",
		       "when the schema has no section \"\"");
		tm_buf_release(&b);
		tm_ini_free(ini);
	}
	ini = parse("[global]\nthreads = 4\n");
	if (ini) {
		is_int(tm_ini_check(ini, schema, 0, NULL), TM_ECONFIG,
		       "an empty schema knows nothing (err may be NULL)");
		tm_ini_free(ini);
	}
}

/*
 * A section with fixed keys and user-named subsections of the same name
 * ([route] order and [route "NAME"] when, as pipeline.conf has): each key
 * is checked where it belongs, and tm_ini_section_line() finds headers
 * even without keys.
 */
static void test_named_subsections(void)
{
	static const struct tm_ini_key rs[] = {
		{ "route", "order", TM_INI_STRING, "rules in order" },
		{ "route *", "when", TM_INI_STRING, "the rule" },
	};
	static const struct {
		const char *text, *report;
	} bad[] = {
		{ "[route]\nwhen = x\n",
		  "t.conf: line 2: unknown key 'when' in [route]; it belongs in [route \"...\"]" },
		{ "[route \"code\"]\norder = x\n",
		  "t.conf: line 2: unknown key 'order' in [route \"code\"]; it belongs in [route]" },
		{ "[route \"code\"]\nwhne = x\n",
		  "t.conf: line 2: unknown key 'whne' in [route \"code\"]; did you mean 'when'?" },
	};
	struct tm_err e = TM_ERR_INIT;
	struct tm_ini *ini;
	size_t i;

	ini = parse("[route]\norder = code, my-src\n[route \"code\"]\nwhen = a\n"
		    "[route \"my-src\"]\nwhen = b\n\n[route \"empty\"]\n");
	if (ini) {
		is_int(tm_ini_check(ini, rs, TM_ARRAY_SIZE(rs), &e), 0,
		       "[route] and any [route \"NAME\"] pass one schema");
		is_int(tm_ini_section_line(ini, "route", NULL), 1, "section line of [route]");
		is_int(tm_ini_section_line(ini, "route", "my-src"), 5, "... of [route \"my-src\"]");
		is_int(tm_ini_section_line(ini, "route", "empty"), 8, "... of a header without keys");
		is_int(tm_ini_section_line(ini, "route", "web"), -1, "... -1 when absent");
		tm_ini_set_arg(ini, "route.web.when=c", &e);
		is_int(tm_ini_section_line(ini, "route", "web"), 0, "... 0 when only overrides name it");
		is_int(tm_ini_check(ini, rs, TM_ARRAY_SIZE(rs), &e), 0,
		       "an override adds a named subsection");
		tm_ini_free(ini);
	}
	for (i = 0; i < TM_ARRAY_SIZE(bad); i++) {
		struct tm_buf b = TM_BUF_INIT;

		if (!(ini = parse(bad[i].text)))
			continue;
		is_int(tm_ini_check(ini, rs, TM_ARRAY_SIZE(rs), &e), TM_ECONFIG, bad[i].report);
		tm_err_format(&e, &b);
		is_str(b.buf, bad[i].report, "check report");
		tm_buf_release(&b);
		tm_ini_free(ini);
	}
}

int main(void)
{
	test_syntax();
	test_line_endings();
	test_syntax_errors();
	test_limits();
	test_file();
	test_values();
	test_getters();
	test_overrides();
	test_subsections();
	test_check();
	test_named_subsections();
	return tap_done();
}
