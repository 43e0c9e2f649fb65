/*
 * u-stats.c: the SQLite statistics sink through its public API, checked by
 * reading the files back with plain SQL.  Files live in a mkdtemp
 * directory that is removed at the end.
 */
#include "tamis.h"
#include "stats.h"
#include "tap.h"

#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmpdir[256];

/* "<tmpdir>/<name>" in one of a few rotating static buffers. */
static const char *tpath(const char *name)
{
	static char bufs[8][512];
	static int next;
	char *p = bufs[next++ % 8];

	snprintf(p, 512, "%s/%s", tmpdir, name);
	return p;
}

static sqlite3 *qopen(const char *path)
{
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL)) {
		tap_diag("cannot open %s: %s", path, sqlite3_errmsg(db));
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, 10000);
	return db;
}

/* The first column of the first row of `sql` on `path`, as an integer. */
static int64_t qint(const char *path, const char *sql)
{
	sqlite3 *db = qopen(path);
	sqlite3_stmt *s = NULL;
	int64_t v = INT64_MIN;

	if (!db)
		return v;
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL))
		tap_diag("%s: %s", sql, sqlite3_errmsg(db));
	else if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

/* As qint() for text; "(null)" for NULL, "(none)" for no row. */
static const char *qstr(const char *path, const char *sql)
{
	static char out[4][1024];
	static int next;
	char *p = out[next++ % 4];
	sqlite3 *db = qopen(path);
	sqlite3_stmt *s = NULL;

	snprintf(p, 1024, "(none)");
	if (!db)
		return p;
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL))
		tap_diag("%s: %s", sql, sqlite3_errmsg(db));
	else if (sqlite3_step(s) == SQLITE_ROW)
		snprintf(p, 1024, "%s", sqlite3_column_type(s, 0) ==
			 SQLITE_NULL ? "(null)" :
			 (const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	sqlite3_close(db);
	return p;
}

static void qexec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;

	if (sqlite3_open(path, &db) ||
	    sqlite3_exec(db, sql, NULL, NULL, NULL))
		tap_diag("%s: %s", sql, sqlite3_errmsg(db));
	sqlite3_close(db);
}

static struct tm_stats *open_ok(const char *path, const char *tool)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_stats *st = NULL;
	char *argv[] = { (char *)"tamis-test", NULL };
	int rc = tm_stats_open(path, tool, 1, argv, &st, &err);

	if (rc)
		tap_diag("open %s: %s", path, err.msg);
	return st;
}

static int close_ok(struct tm_stats *st, int status)
{
	struct tm_err err = TM_ERR_INIT;
	int rc = tm_stats_close(st, status, &err);

	if (rc)
		tap_diag("close: %s", err.msg);
	return rc;
}

static void test_schema(void)
{
	const char *p = tpath("schema.sqlite");
	char *argv[] = { (char *)"tamis-extract", (char *)"-o",
			 (char *)"out file.jsonl", (char *)"it's.warc.gz", NULL };
	struct tm_err err = TM_ERR_INIT;
	struct tm_stats *st = NULL, *st2;
	char host[256] = "", sql[256], uuid[37];
	int rc;

	rc = tm_stats_open(p, "extract", 4, argv, &st, &err);
	is_int(rc, 0, "open creates a new stats file");
	ok(st != NULL, "open returns a handle");
	if (!st)
		return;
	is_int(qint(p, "PRAGMA user_version"), TM_STATS_SCHEMA_VERSION,
	       "user_version is the schema version");
	is_int(qint(p, "PRAGMA application_id"), TM_STATS_APP_ID,
	       "application_id marks a tamis stats file");
	is_str(qstr(p, "PRAGMA journal_mode"), "wal", "file is in WAL mode");
	is_int(qint(p, "SELECT count(*) FROM sqlite_schema WHERE type = "
		    "'table' AND name IN ('runs', 'run_inputs', "
		    "'stage_totals', 'removals', 'counters', 'histograms', "
		    "'hist_buckets', 'doc_decisions', 'train_steps', "
		    "'train_evals')"), 10, "all ten tables exist");
	is_int(qint(p, "SELECT count(*) FROM sqlite_schema WHERE type = "
		    "'view' AND name IN ('funnel', 'removal_summary')"), 2,
	       "both views exist");
	is_int(tm_stats_run_id(st), 1, "first run has id 1");
	is_str(qstr(p, "SELECT tool || '|' || stage || '|' || version "
		    "FROM runs"), "extract|extract|" TM_VERSION,
	       "tool, default stage and version recorded");
	is_str(qstr(p, "SELECT cmdline FROM runs"),
	       "tamis-extract -o 'out file.jsonl' 'it'\\''s.warc.gz'",
	       "command line is shell-quoted");
	is_int(qint(p, "SELECT pid FROM runs"), getpid(), "pid recorded");
	gethostname(host, sizeof(host) - 1);
	is_str(qstr(p, "SELECT hostname FROM runs"), host, "hostname recorded");
	snprintf(uuid, sizeof(uuid), "%s", tm_stats_run_uuid(st));
	is_str(qstr(p, "SELECT uuid FROM runs"), uuid, "uuid recorded");
	ok(strlen(uuid) == 36 && uuid[14] == '4' && uuid[8] == '-',
	   "uuid is a version 4 UUID (%s)", uuid);
	is_int(qint(p, "SELECT started GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-"
		    "[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9]"
		    "[0-9]Z' FROM runs"), 1, "started is UTC ISO 8601");
	is_str(qstr(p, "SELECT finished FROM runs"), "(null)",
	       "an open run is unfinished");
	is_int(qint(p, "SELECT count(*) FROM stage_totals WHERE run_id = 1 "
		    "AND docs_in = 0"), 1, "totals row exists from the start");

	is_int(tm_stats_set_config(st, "[filter]\nmin_words = 50\n"), 0,
	       "set_config");
	is_int(tm_stats_set_stage(st, "extract.html"), 0, "set_stage");
	is_int(tm_stats_set_stage(st, ""), TM_EINVAL, "empty stage refused");
	tm_stats_add_input(st, "b.warc.gz");
	tm_stats_add_input(st, "a.warc.gz");
	is_int(tm_stats_flush(st, &err), 0, "flush");
	tm_stats_add_input(st, "c.warc.gz");
	is_int(close_ok(st, 3), 0, "close");
	is_str(qstr(p, "SELECT config FROM runs"),
	       "[filter]\nmin_words = 50\n", "config text recorded");
	is_str(qstr(p, "SELECT stage FROM runs"), "extract.html",
	       "stage renamed");
	is_str(qstr(p, "SELECT group_concat(name, ',') FROM (SELECT name "
		    "FROM run_inputs WHERE run_id = 1 ORDER BY seq)"),
	       "b.warc.gz,a.warc.gz,c.warc.gz", "inputs in call order");
	is_int(qint(p, "SELECT exit_status FROM runs"), 3, "exit status");
	is_int(qint(p, "SELECT finished >= started AND length(finished) = 24 "
		    "FROM runs"), 1, "finished time recorded");
	is_int(qint(p, "SELECT wall_seconds > 0 AND cpu_seconds > 0 AND "
		    "peak_mem_bytes > 0 FROM stage_totals"), 1,
	       "wall, cpu and memory recorded");

	st2 = open_ok(p, "filter");
	is_int(tm_stats_run_id(st2), 2, "reopening adds a second run");
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM runs WHERE uuid = "
		 "'%s'", tm_stats_run_uuid(st2));
	is_int(qint(p, sql), 1, "second run has its own uuid");
	ok(strcmp(uuid, tm_stats_run_uuid(st2)), "uuids differ");
	close_ok(st2, 0);
}

static void test_sums(void)
{
	const char *p = tpath("sums.sqlite");
	struct tm_err err = TM_ERR_INIT;
	struct tm_stats_totals t = { 10, 8, 1000, 700, 150 };
	struct tm_stats_step step = { 1, "warmup", 4.5, 1e-4, NAN, 2048, 0.5 };
	struct tm_stats *st = open_ok(p, "filter");
	const double v1[] = { 0, 1.99, 2, NAN }, v2[] = { 9.99, 10, -1, 5 };

	if (!st)
		return;
	tm_stats_set_flush(st, 3600, 0);
	is_int(tm_stats_hist_def(st, "len", TM_HIST_LINEAR, 0, 10, 5), 0,
	       "define a linear histogram");
	is_int(tm_stats_hist_def(st, "len", TM_HIST_LINEAR, 0, 10, 5), 0,
	       "same definition again is fine");
	is_int(tm_stats_hist_def(st, "len", TM_HIST_LINEAR, 0, 10, 6),
	       TM_EINVAL, "conflicting definition refused");
	is_int(tm_stats_hist_def(st, "bad", TM_HIST_LOG2, 0, 10, 5),
	       TM_EINVAL, "log2 histogram needs lo > 0");
	is_int(tm_stats_hist_def(st, "bad", TM_HIST_LINEAR, 1, 1, 5),
	       TM_EINVAL, "empty range refused");
	is_int(tm_stats_hist_def(st, "log", TM_HIST_LOG2, 1, 1024, 10), 0,
	       "define a log2 histogram");
	is_int(tm_stats_hist_def(st, "unused", TM_HIST_LINEAR, 0, 1, 4), 0,
	       "define an unused histogram");
	is_int(tm_stats_hist_add(st, "nosuch", 1), TM_EINVAL,
	       "adding to an undeclared histogram is refused");
	is_int(tm_stats_count(st, "", 1), TM_EINVAL, "empty counter name");

	tm_stats_count(st, "records.response", 5);
	tm_stats_remove(st, "lang.not_en", 3, 300);
	tm_stats_totals_add(st, &t);
	tm_stats_hist_addn(st, "len", v1, 4);
	tm_stats_hist_add(st, "log", 1);
	tm_stats_hist_add(st, "log", 2);
	is_int(qint(p, "SELECT count(*) FROM counters"), 0,
	       "nothing written before the first flush");
	is_int(tm_stats_flush(st, &err), 0, "first flush");
	is_int(qint(p, "SELECT value FROM counters WHERE name = "
		    "'records.response'"), 5, "counter after one flush");

	tm_stats_count(st, "records.response", 7);
	tm_stats_count(st, "skip.non_200", -2);
	tm_stats_remove(st, "lang.not_en", 1, 50);
	tm_stats_remove(st, "short", 2, 20);
	tm_stats_totals_add(st, &t);
	tm_stats_mem_peak(st, (uint64_t)1 << 50);
	is_int(tm_stats_flush(st, &err), 0, "second flush");
	is_int(tm_stats_flush(st, &err), 0, "empty flush");
	tm_stats_count(st, "records.response", 1);
	tm_stats_hist_addn(st, "len", v2, 4);
	tm_stats_hist_add(st, "log", 3);
	tm_stats_hist_add(st, "log", 1023);
	tm_stats_hist_add(st, "log", 1024);
	tm_stats_hist_add(st, "log", 0.5);
	tm_stats_train_step(st, &step);
	step.step = 2;
	step.loss = 4.25;
	step.grad_norm = 1.5;
	tm_stats_train_step(st, &step);
	step.step = 1;
	step.loss = 4.4;
	tm_stats_train_step(st, &step);
	tm_stats_train_eval(st, 2, "val/web", 4.75);
	tm_stats_doc(st, "ignored", 1, NULL, 0.5, NULL);
	tm_stats_set_docs(st, 1);
	tm_stats_doc(st, "d1", 1, NULL, 0.9, "http://a.example/");
	tm_stats_doc(st, "d2", 0, "short", NAN, NULL);
	is_int(close_ok(st, 0), 0, "close flushes the rest");

	is_int(qint(p, "SELECT value FROM counters WHERE name = "
		    "'records.response'"), 13, "counter summed over flushes");
	is_int(qint(p, "SELECT value FROM counters WHERE name = "
		    "'skip.non_200'"), -2, "negative deltas are summed");
	is_str(qstr(p, "SELECT docs || '/' || bytes FROM removals WHERE "
		    "reason = 'lang.not_en'"), "4/350", "removal summed");
	is_str(qstr(p, "SELECT docs || '/' || bytes FROM removals WHERE "
		    "reason = 'short'"), "2/20", "second removal reason");
	is_str(qstr(p, "SELECT docs_in || ' ' || docs_out || ' ' || bytes_in "
		    "|| ' ' || bytes_out || ' ' || tokens_out "
		    "FROM stage_totals"), "20 16 2000 1400 300",
	       "totals summed");
	is_int(qint(p, "SELECT peak_mem_bytes FROM stage_totals"),
	       (int64_t)1 << 50, "reported peak memory kept");

	is_str(qstr(p, "SELECT kind || ' ' || lo || ' ' || hi || ' ' || "
		    "nbuckets || ' ' || count || ' ' || sum || ' ' || min || "
		    "' ' || max || ' ' || nan FROM histograms WHERE name = "
		    "'len'"), "linear 0.0 10.0 5 7 27.98 -1.0 10.0 1",
	       "histogram count, sum, min, max, nan over flushes");
	is_str(qstr(p, "SELECT group_concat(b, ' ') FROM (SELECT bucket || "
		    "':' || coalesce(lower, '-') || ':' || coalesce(upper, '-') "
		    "|| '=' || count AS b FROM hist_buckets WHERE name = 'len' "
		    "ORDER BY bucket)"),
	       "-1:-:0.0=1 0:0.0:2.0=2 1:2.0:4.0=1 2:4.0:6.0=1 "
	       "4:8.0:10.0=1 5:10.0:-=1",
	       "linear buckets: bounds and counts");
	is_str(qstr(p, "SELECT group_concat(b, ' ') FROM (SELECT bucket || "
		    "':' || coalesce(lower, '-') || ':' || coalesce(upper, '-') "
		    "|| '=' || count AS b FROM hist_buckets WHERE name = 'log' "
		    "ORDER BY bucket)"),
	       "-1:-:1.0=1 0:1.0:2.0=1 1:2.0:4.0=2 9:512.0:1024.0=1 "
	       "10:1024.0:-=1", "log2 buckets: bounds and counts");
	is_str(qstr(p, "SELECT count || ' ' || coalesce(min, '-') FROM "
		    "histograms WHERE name = 'unused'"), "0 -",
	       "a declared, unused histogram has an empty row");
	is_int(qint(p, "SELECT count(*) FROM histograms"), 3,
	       "only valid histograms are recorded");

	is_str(qstr(p, "SELECT group_concat(r, ' ') FROM (SELECT step || ':' "
		    "|| phase || ':' || loss || ':' || coalesce(grad_norm, "
		    "'-') || ':' || tokens AS r FROM train_steps ORDER BY step)"),
	       "1:warmup:4.4:1.5:2048 2:warmup:4.25:1.5:2048",
	       "train steps, a repeated step replaces the earlier one");
	is_str(qstr(p, "SELECT step || ' ' || split || ' ' || loss FROM "
		    "train_evals"), "2 val/web 4.75", "train eval");
	is_str(qstr(p, "SELECT group_concat(r, ' ') FROM (SELECT doc_id || "
		    "':' || decision || ':' || coalesce(reason, '-') || ':' || "
		    "coalesce(score, '-') || ':' || coalesce(url, '-') AS r "
		    "FROM doc_decisions ORDER BY doc_id)"),
	       "d1:keep:-:0.9:http://a.example/ d2:remove:short:-:-",
	       "document decisions only while enabled");
}

static void test_flush_policy(void)
{
	const char *p = tpath("policy.sqlite");
	struct tm_stats *st = open_ok(p, "filter");

	if (!st)
		return;
	tm_stats_set_flush(st, 3600, 3);
	tm_stats_set_docs(st, 1);
	tm_stats_doc(st, "a", 1, NULL, 1, NULL);
	tm_stats_doc(st, "b", 1, NULL, 1, NULL);
	is_int(qint(p, "SELECT count(*) FROM doc_decisions"), 0,
	       "rows stay buffered below max_rows");
	tm_stats_doc(st, "c", 1, NULL, 1, NULL);
	is_int(qint(p, "SELECT count(*) FROM doc_decisions"), 3,
	       "max_rows buffered rows trigger a flush");
	tm_stats_count(st, "n", 1);
	is_int(qint(p, "SELECT count(*) FROM counters"), 0,
	       "counters wait for the interval");
	tm_stats_set_flush(st, 0, 0);
	tm_stats_count(st, "n", 1);
	is_int(qint(p, "SELECT value FROM counters"), 2,
	       "interval 0 flushes on every addition");
	close_ok(st, 0);
}

static void test_null(void)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_stats *st = (struct tm_stats *)&err; /* must be reset */
	struct tm_stats_totals t = { 1, 1, 1, 1, 1 };
	struct tm_stats_step step = { 1, "x", 1, 1, 1, 1, 1 };
	struct tm_buf b = TM_BUF_INIT;
	double v = 1;

	is_int(tm_stats_open(NULL, "x", 0, NULL, &st, &err), 0,
	       "NULL path: stats disabled");
	ok(st == NULL, "disabled stats are a NULL handle");
	is_int(tm_stats_count(NULL, "a", 1), 0, "count(NULL)");
	is_int(tm_stats_remove(NULL, "a", 1, 1), 0, "remove(NULL)");
	is_int(tm_stats_totals_add(NULL, &t), 0, "totals_add(NULL)");
	is_int(tm_stats_mem_peak(NULL, 1), 0, "mem_peak(NULL)");
	is_int(tm_stats_hist_def(NULL, "h", TM_HIST_LINEAR, 0, 1, 1), 0,
	       "hist_def(NULL)");
	is_int(tm_stats_hist_add(NULL, "h", 1), 0, "hist_add(NULL)");
	is_int(tm_stats_hist_addn(NULL, "h", &v, 1), 0, "hist_addn(NULL)");
	is_int(tm_stats_doc(NULL, "d", 1, NULL, 0, NULL), 0, "doc(NULL)");
	is_int(tm_stats_train_step(NULL, &step), 0, "train_step(NULL)");
	is_int(tm_stats_train_eval(NULL, 1, "val", 1), 0, "train_eval(NULL)");
	is_int(tm_stats_set_config(NULL, "x"), 0, "set_config(NULL)");
	is_int(tm_stats_set_stage(NULL, "x"), 0, "set_stage(NULL)");
	is_int(tm_stats_add_input(NULL, "x"), 0, "add_input(NULL)");
	tm_stats_set_flush(NULL, 1, 1);
	tm_stats_set_docs(NULL, 1);
	is_int(tm_stats_flush(NULL, &err), 0, "flush(NULL)");
	is_str(tm_stats_run_uuid(NULL), "", "run_uuid(NULL)");
	is_int(tm_stats_run_id(NULL), 0, "run_id(NULL)");
	is_int(tm_stats_close(NULL, 0, &err), 0, "close(NULL)");
	is_int(err.code, 0, "no error recorded");
	is_int(tm_stats_open(tpath("x.sqlite"), NULL, 0, NULL, &st, &err),
	       TM_EINVAL, "a tool name is required");
	is_int(tm_stats_funnel(tpath("missing.sqlite"), &b, &err), TM_EDB,
	       "funnel of a missing file fails");
	is_int(access(tpath("missing.sqlite"), F_OK), -1,
	       "and does not create it");
	tm_buf_release(&b);
}

#define NTHREADS 4
#define THREAD_ITERS 20000

struct worker {
	struct tm_stats *st;
	int failures;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	int i;

	for (i = 0; i < THREAD_ITERS; i++) {
		w->failures += tm_stats_count(w->st, "t.count", 1) != 0;
		w->failures += tm_stats_hist_add(w->st, "h", i % 10) != 0;
		if (i % 100 == 0)
			w->failures += tm_stats_remove(w->st, "r", 1, 10) != 0;
	}
	return NULL;
}

static void test_threads(void)
{
	const char *p = tpath("threads.sqlite");
	struct worker w[NTHREADS];
	pthread_t tid[NTHREADS];
	struct tm_stats *st = open_ok(p, "dedup");
	int i, failures = 0;

	if (!st)
		return;
	tm_stats_set_flush(st, 0.001, 0);
	tm_stats_hist_def(st, "h", TM_HIST_LINEAR, 0, 10, 10);
	for (i = 0; i < NTHREADS; i++) {
		w[i].st = st;
		w[i].failures = 0;
		pthread_create(&tid[i], NULL, worker_main, &w[i]);
	}
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(tid[i], NULL);
		failures += w[i].failures;
	}
	is_int(failures, 0, "no addition failed in 4 threads");
	is_int(close_ok(st, 0), 0, "close after threads");
	is_int(qint(p, "SELECT value FROM counters WHERE name = 't.count'"),
	       NTHREADS * THREAD_ITERS, "threads: exact counter total");
	is_str(qstr(p, "SELECT docs || '/' || bytes FROM removals"),
	       "800/8000", "threads: exact removal totals");
	is_int(qint(p, "SELECT count FROM histograms"), NTHREADS * THREAD_ITERS,
	       "threads: exact histogram count");
	is_int(qint(p, "SELECT sum FROM histograms"),
	       NTHREADS * (THREAD_ITERS / 10) * 45, "threads: exact sum");
	is_int(qint(p, "SELECT count(*) FROM hist_buckets WHERE count = "
		    "8000 AND bucket BETWEEN 0 AND 9"), 10,
	       "threads: every bucket exact");
}

#define NPROCS 4
#define PROC_ITERS 2000

/* One child: its own run in the shared file, a flush per addition. */
static int child_main(const char *p)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_stats *st = NULL;
	char *argv[] = { (char *)"child", NULL };
	int i, fails = 0, rc;

	rc = tm_stats_open(p, "proc", 1, argv, &st, &err);
	if (rc) {
		fprintf(stderr, "# child open: %s\n", err.msg);
		return 1;
	}
	tm_stats_set_flush(st, 0, 0);
	tm_stats_hist_def(st, "h", TM_HIST_LOG2, 1, 1024, 10);
	for (i = 0; i < PROC_ITERS; i++) {
		fails += tm_stats_count(st, "p.count", 5) != 0;
		if (i % 10 == 0) {
			fails += tm_stats_remove(st, "dup", 1, 2) != 0;
			fails += tm_stats_hist_add(st, "h", 3) != 0;
			fails += tm_stats_flush(st, &err) != 0;
		}
	}
	rc = tm_stats_close(st, 0, &err);
	if (rc || fails)
		fprintf(stderr, "# child: %d failures, close %d: %s\n", fails,
			rc, err.msg);
	return rc || fails;
}

static void test_processes(void)
{
	const char *p = tpath("procs.sqlite");
	pid_t pid[NPROCS];
	int i, status, good = 0;

	fflush(stdout);
	fflush(stderr);
	/* The children also race to create the file and its schema. */
	for (i = 0; i < NPROCS; i++) {
		pid[i] = fork();
		if (pid[i] == 0)
			_exit(child_main(p));
	}
	for (i = 0; i < NPROCS; i++) {
		if (pid[i] > 0 && waitpid(pid[i], &status, 0) == pid[i] &&
		    WIFEXITED(status) && WEXITSTATUS(status) == 0)
			good++;
	}
	is_int(good, NPROCS, "every child wrote without a busy failure");
	is_int(qint(p, "SELECT count(*) FROM runs WHERE exit_status = 0"),
	       NPROCS, "one finished run per process");
	is_int(qint(p, "SELECT sum(value) FROM counters WHERE name = "
		    "'p.count'"), NPROCS * PROC_ITERS * 5,
	       "processes: exact counter total");
	is_int(qint(p, "SELECT count(*) FROM counters WHERE value = 10000"),
	       NPROCS, "processes: each run has its exact count");
	is_str(qstr(p, "SELECT sum(docs) || '/' || sum(bytes) FROM removals"),
	       "800/1600", "processes: exact removals");
	is_int(qint(p, "SELECT sum(count) FROM hist_buckets WHERE bucket = 1"),
	       800, "processes: exact histogram buckets");
}

/* Aggregates that a merge must preserve: dest equals the sum of srcs. */
static const char *const merge_checks[] = {
	"SELECT count(*) FROM runs",
	"SELECT count(DISTINCT uuid) FROM runs",
	"SELECT total(value) FROM counters",
	"SELECT total(docs) * 1000003 + total(bytes) FROM removals",
	"SELECT total(docs_in) * 1000003 + total(docs_out) FROM stage_totals",
	"SELECT total(bytes_in) * 1000003 + total(tokens_out) "
	"FROM stage_totals",
	"SELECT total(count) * 1000003 + total(sum) FROM histograms",
	"SELECT total(count) * 1000003 + total(bucket) FROM hist_buckets",
	"SELECT count(*) FROM doc_decisions",
	"SELECT total(loss) * 1000 FROM train_steps",
	"SELECT total(loss) * 1000 FROM train_evals",
	"SELECT count(*) FROM run_inputs",
};

static void check_merge_sums(const char *dest, const char *const *srcs,
			     size_t n, const char *what)
{
	size_t i, j;
	int bad = 0;

	for (i = 0; i < TM_ARRAY_SIZE(merge_checks); i++) {
		int64_t want = 0, got = qint(dest, merge_checks[i]);

		for (j = 0; j < n; j++)
			want += qint(srcs[j], merge_checks[i]);
		if (got != want) {
			tap_diag("%s: got %" PRId64 ", want %" PRId64,
				 merge_checks[i], got, want);
			bad++;
		}
	}
	ok(!bad, "%s: merged sums equal the sources'", what);
}

static void fill(const char *p, const char *tool, int64_t k)
{
	struct tm_stats *st = open_ok(p, tool);
	struct tm_stats_totals t = { 100 * k, 90 * k, 1000 * k, 900 * k, k };
	struct tm_stats_step step = { k, "main", 3.0 + k, 1e-3, 1, 4096, 1 };

	tm_stats_add_input(st, tool);
	tm_stats_count(st, "c", k);
	tm_stats_count(st, tool, 2 * k);
	tm_stats_remove(st, "why", k, 10 * k);
	tm_stats_totals_add(st, &t);
	tm_stats_hist_def(st, "h", TM_HIST_LINEAR, 0, 100, 10);
	tm_stats_hist_add(st, "h", (double)k);
	tm_stats_hist_add(st, "h", 50);
	tm_stats_set_docs(st, 1);
	tm_stats_doc(st, "d", k & 1, "why", 0.25 * k, NULL);
	tm_stats_train_step(st, &step);
	tm_stats_train_eval(st, k, "val", 2.0 + k);
	close_ok(st, 0);
}

static void test_merge(void)
{
	const char *s[3] = { tpath("m1.sqlite"), tpath("m2.sqlite"),
			     tpath("m3.sqlite") };
	const char *d = tpath("merged.sqlite"), *d2 = tpath("merged2.sqlite");
	const char *live = tpath("live.sqlite"), *bad = tpath("other.sqlite");
	const char *one[1];
	struct tm_err err = TM_ERR_INIT;
	struct tm_stats *st;
	int rc;

	fill(s[0], "extract", 1);
	fill(s[0], "filter", 2);
	fill(s[1], "extract", 3);
	fill(s[2], "filter", 4);
	rc = tm_stats_merge(d, s, 3, &err);
	is_int(rc, 0, "merge three files");
	if (rc)
		tap_diag("%s", err.msg);
	check_merge_sums(d, s, 3, "first merge");
	is_int(qint(d, "SELECT value FROM counters c JOIN runs r USING "
		    "(run_id) WHERE r.uuid = (SELECT uuid FROM runs WHERE "
		    "tool = 'filter' AND run_id = (SELECT max(run_id) FROM "
		    "runs)) AND c.name = 'filter'"), 8,
	       "rows follow their remapped run");
	is_int(qint(d, "SELECT count(*) FROM runs WHERE merged_from IS "
		    "NOT NULL AND finished IS NOT NULL"), 4,
	       "merged runs name their source");
	is_int(tm_stats_merge(d, s, 3, &err), 0, "merge the same files again");
	check_merge_sums(d, s, 3, "second merge (idempotent)");
	one[0] = s[1];
	is_int(tm_stats_merge(d, one, 1, &err), 0, "merge one source again");
	check_merge_sums(d, s, 3, "third merge (idempotent)");

	one[0] = d;
	is_int(tm_stats_merge(d2, one, 1, &err), 0, "merge a merged file");
	is_int(tm_stats_merge(d2, s, 3, &err), 0, "then its sources");
	check_merge_sums(d2, s, 3, "merges compose without double counts");

	/* A run merged while unfinished is replaced once it finishes. */
	st = open_ok(live, "train");
	tm_stats_count(st, "u", 1);
	tm_stats_flush(st, &err);
	one[0] = live;
	is_int(tm_stats_merge(d, one, 1, &err), 0, "merge a live file");
	is_int(qint(d, "SELECT value FROM counters WHERE name = 'u'"), 1,
	       "live run merged as far as flushed");
	tm_stats_count(st, "u", 2);
	close_ok(st, 0);
	is_int(tm_stats_merge(d, one, 1, &err), 0, "merge it after it ended");
	is_str(qstr(d, "SELECT group_concat(value) FROM counters WHERE name = "
		    "'u'"), "3", "the unfinished copy was replaced");
	is_int(qint(d, "SELECT count(*) FROM runs WHERE tool = 'train' AND "
		    "finished IS NOT NULL"), 1, "and is finished now");

	one[0] = d;
	is_int(tm_stats_merge(d, one, 1, &err), TM_EINVAL,
	       "merging a file into itself is refused");
	one[0] = tpath("nosuch.sqlite");
	is_int(tm_stats_merge(d, one, 1, &err), TM_EIO,
	       "a missing source is an i/o error");
	is_int(access(one[0], F_OK), -1, "and is not created");
	qexec(bad, "CREATE TABLE t (x)");
	one[0] = bad;
	is_int(tm_stats_merge(d, one, 1, &err), TM_EDB,
	       "a foreign database is refused");
	is_str(err.msg, "not a tamis stats database (application_id 0, "
	       "user_version 0)", "with a clear message");
	is_str(err.file, bad, "naming the source");
}

static void set_totals(const char *p, const char *tool, uint64_t in,
		       uint64_t out, uint64_t bin, uint64_t bout, uint64_t tok)
{
	struct tm_stats *st = open_ok(p, tool);
	struct tm_stats_totals t = { in, out, bin, bout, tok };

	tm_stats_totals_add(st, &t);
	close_ok(st, 0);
}

static void test_funnel(void)
{
	const char *p = tpath("funnel.sqlite");
	struct tm_err err = TM_ERR_INIT;
	struct tm_buf b = TM_BUF_INIT;
	int rc;

	set_totals(p, "fetch", 0, 0, 0, 123456789, 0);
	set_totals(p, "extract", 1000, 900, 123456789, 4500000, 0);
	set_totals(p, "langid", 600, 400, 3000000, 2000000, 0);
	set_totals(p, "langid", 300, 200, 1500000, 1000000, 0);
	set_totals(p, "filter", 600, 600, 3000000, 3000000, 0);
	set_totals(p, "tokenize", 600, 597, 3000000, 2900000, 750000);
	rc = tm_stats_funnel(p, &b, &err);
	is_int(rc, 0, "funnel renders");
	is_str(b.buf,
	       "stage     runs  docs_in  docs_out  removed  removed%   bytes_in  bytes_out  tokens_out\n"
	       "extract      1     1000       900      100    10.00%  123456789    4500000           0\n"
	       "langid       2      900       600      300    33.33%    4500000    3000000           0\n"
	       "filter       1      600       600        0     0.00%    3000000    3000000           0\n"
	       "tokenize     1      600       597        3     0.50%    3000000    2900000      750000\n"
	       "fetch        1        0         0        0         -          0  123456789           0\n",
	       "funnel text of a known fixture");
	is_str(qstr(p, "SELECT group_concat(stage || ':' || removed_pct) FROM "
		    "funnel WHERE docs_in > 0"),
	       "extract:10.0,langid:33.33,filter:0.0,tokenize:0.5",
	       "funnel view");
	tm_buf_release(&b);

	/* removals: a second table, by stage then documents */
	{
		struct tm_stats *st = open_ok(p, "langid");
		struct tm_stats_totals t = { 100, 70, 1000, 700, 0 };

		tm_stats_totals_add(st, &t);
		tm_stats_remove(st, "langid.low_score", 20, 200);
		tm_stats_remove(st, "langid.not_kept", 10, 100);
		close_ok(st, 0);
	}
	tm_buf_init(&b, 0);
	is_int(tm_stats_funnel(p, &b, &err), 0, "funnel with removals renders");
	ok(strstr(b.buf, "\nremovals by reason:\n"
		  "stage   reason            docs  bytes  of stage in\n"
		  "langid  langid.low_score    20    200        2.00%\n"
		  "langid  langid.not_kept     10    100        1.00%\n") != NULL,
	   "removals by reason follow the funnel");
	tm_buf_release(&b);
}

static void test_version(void)
{
	const char *p = tpath("future.sqlite"), *srcs[1];
	static const char want[] = "stats schema version 2 is newer than this "
		"tamis supports (1): upgrade tamis or use another --stats file";
	struct tm_err err = TM_ERR_INIT;
	struct tm_buf b = TM_BUF_INIT;
	struct tm_stats *st = NULL;
	char sql[128];

	snprintf(sql, sizeof(sql), "PRAGMA application_id = %d; PRAGMA "
		 "user_version = 2; CREATE TABLE runs (x)", TM_STATS_APP_ID);
	qexec(p, sql);
	is_int(tm_stats_open(p, "extract", 0, NULL, &st, &err), TM_EDB,
	       "a newer schema is refused");
	ok(st == NULL, "no handle on failure");
	is_str(err.msg, want, "with the documented message");
	is_str(err.file, p, "naming the file");
	is_str(qstr(p, "PRAGMA journal_mode"), "delete",
	       "the refused file is left alone");
	is_int(qint(p, "PRAGMA user_version"), 2, "its version unchanged");
	tm_err_clear(&err);
	is_int(tm_stats_funnel(p, &b, &err), TM_EDB, "funnel refuses it too");
	is_str(err.msg, want, "funnel message");
	tm_err_clear(&err);
	srcs[0] = p;
	is_int(tm_stats_merge(tpath("fm.sqlite"), srcs, 1, &err), TM_EDB,
	       "merge refuses it as a source");
	is_str(err.msg, want, "merge message");
	is_int(tm_stats_merge(p, NULL, 0, &err), TM_EDB,
	       "and as a destination");
	qexec(tpath("plain.sqlite"), "CREATE TABLE t (x)");
	is_int(tm_stats_open(tpath("plain.sqlite"), "x", 0, NULL, &st, &err),
	       TM_EDB, "a foreign database is refused by open");
	tm_buf_release(&b);
}

static void rm_tmpdir(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;

	while (d && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			unlink(tpath(e->d_name));
	if (d)
		closedir(d);
	if (rmdir(tmpdir))
		tap_diag("cannot remove %s", tmpdir);
}

int main(void)
{
	const char *t = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/u-stats-XXXXXX",
		 t && *t ? t : "/tmp");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	test_schema();
	test_sums();
	test_flush_policy();
	test_null();
	test_threads();
	test_processes();
	test_merge();
	test_funnel();
	test_version();
	rm_tmpdir();
	return tap_done();
}
