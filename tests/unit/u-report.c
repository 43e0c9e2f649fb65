/*
 * u-report.c: lib/report.h through its public API: the HTML escape and
 * the thousands separator; reports of an empty database (every section
 * says it has no data), of one with NaN and NULL values (nothing
 * non-finite reaches an SVG coordinate), of one with every kind of data
 * (every chart id), text from the database escaped, determinism, and
 * the files it must refuse.  Databases are written with lib/stats.h and
 * touched up with plain SQL.
 */
#include "tamis.h"
#include "report.h"
#include "stats.h"
#include "tap.h"

#include <math.h>
#include <sqlite3.h>

/* The scratch path of each test (tap_tmp_path()). */
static struct tm_buf pathbuf = TM_BUF_INIT;

static void sql(const char *path, const char *q)
{
	sqlite3 *db = NULL;
	char *msg = NULL;

	if (sqlite3_open(path, &db) || sqlite3_exec(db, q, NULL, NULL, &msg))
		tap_diag("%s: %s", q, msg ? msg : sqlite3_errmsg(db));
	sqlite3_free(msg);
	sqlite3_close(db);
}

static const char *escape(const char *s, size_t len)
{
	static struct tm_buf b = TM_BUF_INIT;

	tm_buf_reset(&b);
	tm_html_escape(&b, s, len);
	return b.buf;
}

static void test_escape(void)
{
	is_str(escape("a<b>&\"'c", 8), "a&lt;b&gt;&amp;&quot;&#39;c",
	       "escape: the five markup characters");
	is_str(escape("caf\xC3\xA9 \xE6\x97\xA5", 9), "caf\xC3\xA9 \xE6\x97\xA5",
	       "escape: well-formed UTF-8 as is");
	is_str(escape("a\xFF" "b\xC3", 4), "a\xEF\xBF\xBD" "b\xEF\xBF\xBD",
	       "escape: ill-formed UTF-8 becomes U+FFFD");
	is_str(escape("t\tn\nr\r", 6), "t\tn\nr\r", "escape: tab, LF, CR kept");
	is_str(escape("a\x01" "b\x7f" "c", 5), "a\xEF\xBF\xBD" "b\xEF\xBF\xBD" "c",
	       "escape: other control characters become U+FFFD");
	is_str(escape("a\0b", 3), "a\xEF\xBF\xBD" "b", "escape: an embedded NUL too");
	is_str(escape("", 0), "", "escape: empty");
	is_str(escape("&amp;", 5), "&amp;amp;", "escape: entities are text");
}

static const char *thousands(int64_t v)
{
	static struct tm_buf b = TM_BUF_INIT;

	tm_buf_reset(&b);
	tm_fmt_thousands(&b, v);
	return b.buf;
}

static void test_thousands(void)
{
	is_str(thousands(0), "0", "thousands: 0");
	is_str(thousands(999), "999", "thousands: 999");
	is_str(thousands(1000), "1,000", "thousands: 1,000");
	is_str(thousands(1234567), "1,234,567", "thousands: 1,234,567");
	is_str(thousands(-1234), "-1,234", "thousands: negative");
	is_str(thousands(-999), "-999", "thousands: -999");
	is_str(thousands(INT64_MAX), "9,223,372,036,854,775,807", "thousands: INT64_MAX");
	is_str(thousands(INT64_MIN), "-9,223,372,036,854,775,808", "thousands: INT64_MIN");
}

/* Writes the report of `path` into out (reset first); returns its code. */
static int report(const char *path, struct tm_buf *out)
{
	struct tm_err err = TM_ERR_INIT;
	int rc;

	tm_buf_reset(out);
	rc = tm_report_write(path, out, &err);
	if (rc)
		tap_diag("%s", err.msg);
	return rc;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (; (hay = strstr(hay, needle)); hay++)
		n++;
	return n;
}

/* Balanced tags and sections, and no non-finite number in an attribute. */
static void check_shape(const char *html, const char *what)
{
	static const char *const bad[] = { "=\"nan", "=\"-nan", "=\"inf", "=\"-inf",
					   " nan,", ",nan", " inf,", ",inf", ",-nan" };
	size_t i, nbad = 0;

	ok(!strncmp(html, "<!DOCTYPE html>", 15), "%s: a doctype first", what);
	ok(count(html, "</html>") == 1, "%s: one </html>", what);
	is_int(count(html, "<svg "), count(html, "</svg>"), "svg tags balance");
	is_int(count(html, "<section "), count(html, "</section>"), "section tags balance");
	is_int(count(html, "<table>"), count(html, "</table>"), "table tags balance");
	for (i = 0; i < TM_ARRAY_SIZE(bad); i++)
		if (strstr(html, bad[i])) {
			tap_diag("%s: found %s", what, bad[i]);
			nbad++;
		}
	ok(!nbad, "%s: no NaN or infinity in coordinates", what);
	ok(!strstr(html, "src=") && !strstr(html, "http://") && !strstr(html, "https://"),
	   "%s: nothing to fetch", what);
	ok(!strstr(html, "<script"), "%s: no script", what);
}

/* A stats file with one run of `tool`, closed with `status`. */
static struct tm_stats *open_run(const char *path, const char *tool)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_stats *st = NULL;
	char *argv[] = { (char *)tool, NULL };

	if (tm_stats_open(path, tool, 1, argv, &st, &err))
		tap_diag("open %s: %s", path, err.msg);
	return st;
}

static void close_run(struct tm_stats *st, int status)
{
	struct tm_err err = TM_ERR_INIT;

	if (tm_stats_close(st, status, &err))
		tap_diag("close: %s", err.msg);
}

static void test_empty(void)
{
	const char *path = tap_tmp_path(&pathbuf, "empty.sqlite");
	struct tm_buf out = TM_BUF_INIT;
	static const char *const sections[] = {
		"runs", "funnel", "removals", "languages", "tokens", "training", "histograms"
	};
	size_t i;

	close_run(open_run(path, "extract"), 0);
	sql(path, "DELETE FROM stage_totals; DELETE FROM runs");
	is_int(report(path, &out), 0, "empty: report written");
	for (i = 0; i < TM_ARRAY_SIZE(sections); i++) {
		struct tm_buf id = TM_BUF_INIT;

		tm_buf_addf(&id, "<section id=\"%s\">", sections[i]);
		ok(strstr(out.buf, id.buf), "empty: section %s is there", sections[i]);
		tm_buf_release(&id);
	}
	is_int(count(out.buf, "<p class=\"nodata\">no data</p>"), 6,
	       "empty: six sections say no data");
	ok(strstr(out.buf, "<p class=\"nodata\">no training runs</p>"),
	   "empty: training says no training runs");
	ok(!strstr(out.buf, "<svg"), "empty: no chart");
	check_shape(out.buf, "empty");
	tm_buf_release(&out);
}

static void test_only_extract(void)
{
	const char *path = tap_tmp_path(&pathbuf, "extract.sqlite");
	struct tm_buf out = TM_BUF_INIT;
	struct tm_stats *st = open_run(path, "extract");

	tm_stats_totals_add(st, &(struct tm_stats_totals){ 10, 8, 5000, 900, 0 });
	tm_stats_remove(st, "empty", 2, 40);
	close_run(st, 0);
	is_int(report(path, &out), 0, "extract only: report written");
	ok(strstr(out.buf, "id=\"chart-funnel\""), "extract only: a funnel");
	ok(strstr(out.buf, "id=\"chart-removals\""), "extract only: removal reasons");
	is_int(count(out.buf, "<p class=\"nodata\">no data</p>"), 3,
	       "extract only: languages, tokens and histograms have no data");
	ok(strstr(out.buf, "All finished with exit status 0."), "extract only: runs all fine");
	check_shape(out.buf, "extract only");
	tm_buf_release(&out);
}

static void test_nan_null(void)
{
	const char *path = tap_tmp_path(&pathbuf, "nan.sqlite");
	struct tm_buf out = TM_BUF_INIT;
	struct tm_stats *st = open_run(path, "filter");

	tm_stats_hist_def(st, "only_nan", TM_HIST_LINEAR, 0, 1, 10);
	tm_stats_hist_add(st, "only_nan", NAN);
	tm_stats_hist_add(st, "only_nan", NAN);
	tm_stats_hist_def(st, "huge", TM_HIST_LOG2, 1, 1024, 10);
	tm_stats_hist_add(st, "huge", 1e308);
	tm_stats_hist_add(st, "huge", 1e308);
	tm_stats_hist_add(st, "huge", -5);
	tm_stats_train_step(st, &(struct tm_stats_step){ 0, "warmup", NAN, NAN, NAN, 10, 1 });
	tm_stats_train_step(st, &(struct tm_stats_step){ 1, NULL, 2.5, 1e-4, NAN, 10, 1 });
	tm_stats_train_step(st, &(struct tm_stats_step){ 2, NULL, INFINITY, 1e-4, NAN, 10, 1 });
	tm_stats_train_eval(st, 1, "val", NAN);
	close_run(st, 0);
	/* what other writers might leave: NULL sums, a bucket out of range */
	sql(path, "INSERT INTO histograms VALUES (1, 'nulls', 'linear', 0, 1, 4, 3, 0, "
		  "NULL, NULL, 0); "
		  "INSERT INTO hist_buckets VALUES (1, 'nulls', -1, NULL, 0, 1), "
		  "(1, 'nulls', 4, 1, NULL, 1), (1, 'nulls', 99, NULL, NULL, 1); "
		  "INSERT INTO histograms VALUES (1, 'flat', 'linear', 2, 2, 4, 0, 0, "
		  "NULL, NULL, 0); "
		  "UPDATE stage_totals SET wall_seconds = 1e999");
	is_int(report(path, &out), 0, "NaN/NULL: report written");
	ok(strstr(out.buf, "id=\"chart-hist-only_nan\""), "NaN/NULL: a NaN-only histogram is drawn");
	ok(strstr(out.buf, "id=\"chart-hist-nulls\""), "NaN/NULL: a NULL-valued one too");
	ok(strstr(out.buf, "id=\"chart-hist-flat\""), "NaN/NULL: and one with lo = hi");
	ok(strstr(out.buf, "id=\"chart-train-loss-1\""), "NaN/NULL: the loss chart");
	ok(strstr(out.buf, "min n/a"), "NaN/NULL: a NULL min says n/a");
	ok(strstr(out.buf, "NaN 2"), "NaN/NULL: the NaN count is shown");
	ok(strstr(out.buf, "mean inf"), "NaN/NULL: an infinite mean says inf");
	check_shape(out.buf, "NaN/NULL");
	tm_buf_release(&out);
}

static void test_full(void)
{
	const char *path = tap_tmp_path(&pathbuf, "full.sqlite");
	struct tm_buf out = TM_BUF_INIT, again = TM_BUF_INIT;
	struct tm_stats *st = open_run(path, "langid");
	static const char *const ids[] = {
		"chart-funnel", "chart-removals", "chart-languages", "chart-tokens",
		"chart-hist-langid.score", "chart-hist-score", "chart-hist-score-2",
		"chart-hist-a_b_c_", "chart-train-loss-3", "chart-train-lr-3",
	};
	size_t i;
	int k;

	tm_stats_set_stage(st, "lang<id>");
	tm_stats_totals_add(st, &(struct tm_stats_totals){ 1000, 700, 123456789, 99999, 0 });
	tm_stats_remove(st, "langid.low_score", 300, 4000);
	tm_stats_count(st, "langid.lang.en", 600);
	tm_stats_count(st, "langid.lang.<b>", 100);
	tm_stats_hist_def(st, "langid.score", TM_HIST_LINEAR, 0, 1.0001, 20);
	tm_stats_hist_def(st, "score", TM_HIST_LINEAR, 0, 1, 10);
	tm_stats_hist_def(st, "a b\"c'", TM_HIST_LINEAR, 0, 1, 4096);
	for (k = 0; k < 1000; k++) {
		tm_stats_hist_add(st, "langid.score", k / 1000.0);
		tm_stats_hist_add(st, "a b\"c'", k / 1000.0);
	}
	close_run(st, 0);
	st = open_run(path, "shard");
	tm_stats_hist_def(st, "score", TM_HIST_LINEAR, 0, 1, 20);
	tm_stats_hist_add(st, "score", 0.5);
	tm_stats_count(st, "shard.tokens.web", 5000000);
	tm_stats_count(st, "shard.val_tokens.web", 50000);
	tm_stats_count(st, "tokenize.tokens.code", 7000);
	close_run(st, 0);
	st = open_run(path, "train");
	for (k = 0; k < 5000; k++)
		tm_stats_train_step(st, &(struct tm_stats_step){
			k, k < 100 ? "warmup" : k < 4000 ? "main" : "anneal",
			3 + 8 * exp(-k / 300.0), 3e-4, 1, 4096, 0.1 });
	for (k = 0; k < 5000; k += 500)
		tm_stats_train_eval(st, k, "val/web", 3.2 + 8 * exp(-k / 300.0));
	close_run(st, 1);
	is_int(report(path, &out), 0, "full: report written");
	for (i = 0; i < TM_ARRAY_SIZE(ids); i++) {
		struct tm_buf id = TM_BUF_INIT;

		tm_buf_addf(&id, "<svg id=\"%s\" class=\"chart\"", ids[i]);
		ok(strstr(out.buf, id.buf), "full: chart %s", ids[i]);
		tm_buf_release(&id);
	}
	ok(!strstr(out.buf, "lang<id>") && strstr(out.buf, "lang&lt;id&gt;"),
	   "full: a stage name is escaped");
	ok(!strstr(out.buf, "<b>") && strstr(out.buf, "&lt;b&gt;"),
	   "full: a language code is escaped");
	ok(strstr(out.buf, "a b&quot;c&#39;"), "full: a histogram name is escaped");
	ok(strstr(out.buf, "123,456,789"), "full: numbers with thousands separators");
	ok(strstr(out.buf, "<strong class=\"bad\">1 failed or unfinished</strong>"),
	   "full: the failed run is counted");
	ok(strstr(out.buf, "<tr class=\"fail\">"), "full: and its row highlighted");
	ok(strstr(out.buf, ">warmup<") && strstr(out.buf, ">anneal<"),
	   "full: training phases are labelled");
	ok(out.len < 400000, "full: 5000 steps stay small (%zu bytes)", out.len);
	check_shape(out.buf, "full");
	is_int(report(path, &again), 0, "full: written again");
	ok(out.len == again.len && !memcmp(out.buf, again.buf, out.len),
	   "full: the same bytes from the same file");
	tm_buf_release(&out);
	tm_buf_release(&again);
}

static void test_refused(void)
{
	struct tm_buf out = TM_BUF_INIT;
	struct tm_err err = TM_ERR_INIT;
	const char *path;

	tm_buf_addstr(&out, "kept");
	is_int(tm_report_write(tap_tmp_path(&pathbuf, "missing.sqlite"), &out, &err), TM_EDB,
	       "refused: a missing file");
	is_str(out.buf, "kept", "refused: out is unchanged");
	path = tap_tmp_path(&pathbuf, "foreign.sqlite");
	sql(path, "CREATE TABLE t (x)");
	is_int(tm_report_write(path, &out, &err), TM_EDB, "refused: another database");
	ok(strstr(err.msg, "not a tamis stats database"), "refused: says so (%s)", err.msg);
	path = tap_tmp_path(&pathbuf, "newer.sqlite");
	close_run(open_run(path, "extract"), 0);
	sql(path, "PRAGMA user_version = 99");
	is_int(tm_report_write(path, &out, &err), TM_EDB, "refused: a newer schema");
	ok(strstr(err.msg, "newer than this tamis supports"), "refused: says so (%s)", err.msg);
	is_str(out.buf, "kept", "refused: out is still unchanged");
	tm_buf_release(&out);
}

/* Removes the databases and their -wal, -shm, so that tap_done() can rmdir. */
static void cleanup(void)
{
	static const char *const files[] = {
		"empty.sqlite", "extract.sqlite", "nan.sqlite", "full.sqlite",
		"foreign.sqlite", "newer.sqlite",
	};
	static const char *const suffix[] = { "", "-wal", "-shm" };
	struct tm_buf name = TM_BUF_INIT;
	size_t i, j;

	for (i = 0; i < TM_ARRAY_SIZE(files); i++)
		for (j = 0; j < TM_ARRAY_SIZE(suffix); j++) {
			tm_buf_reset(&name);
			tm_buf_addf(&name, "%s%s", files[i], suffix[j]);
			remove(tap_tmp_path(&pathbuf, name.buf));
		}
	tm_buf_release(&name);
}

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	test_escape();
	test_thousands();
	test_empty();
	test_only_extract();
	test_nan_null();
	test_full();
	test_refused();
	cleanup();
	tm_buf_release(&pathbuf);
	return tap_done();
}
