/*
 * stats.c: the SQLite statistics sink (see stats.h and docs/FORMATS.md).
 *
 * In memory a handle keeps three small hash maps (counters, removals,
 * histograms) whose entries hold the deltas since the last successful
 * flush, the pending totals, and vectors of buffered rows (documents,
 * steps, evaluations).  A flush writes all of it in one BEGIN IMMEDIATE
 * transaction and clears the deltas only after COMMIT succeeded.
 */
#include "tamis.h"
#include "stats.h"

#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* How long one BEGIN waits inside SQLite, and how long we keep retrying. */
#define BUSY_TIMEOUT_MS 5000
#define BUSY_DEADLINE_S 120.0
#define HIST_MAX_BUCKETS 4096

static const char schema_sql[] =
	"CREATE TABLE runs (\n"
	"  run_id INTEGER PRIMARY KEY,\n"
	"  uuid TEXT NOT NULL UNIQUE,\n"
	"  tool TEXT NOT NULL,\n"
	"  stage TEXT NOT NULL,\n"
	"  started TEXT NOT NULL,\n"
	"  finished TEXT,\n"
	"  hostname TEXT NOT NULL,\n"
	"  pid INTEGER NOT NULL,\n"
	"  version TEXT NOT NULL,\n"
	"  cmdline TEXT NOT NULL,\n"
	"  config TEXT,\n"
	"  exit_status INTEGER,\n"
	"  merged_from TEXT\n"
	");\n"
	"CREATE INDEX runs_stage ON runs(stage);\n"
	"CREATE TABLE run_inputs (\n"
	"  run_id INTEGER NOT NULL REFERENCES runs ON DELETE CASCADE,\n"
	"  seq INTEGER NOT NULL,\n"
	"  name TEXT NOT NULL,\n"
	"  PRIMARY KEY (run_id, seq)\n"
	");\n"
	"CREATE TABLE stage_totals (\n"
	"  run_id INTEGER PRIMARY KEY REFERENCES runs ON DELETE CASCADE,\n"
	"  docs_in INTEGER NOT NULL DEFAULT 0,\n"
	"  docs_out INTEGER NOT NULL DEFAULT 0,\n"
	"  bytes_in INTEGER NOT NULL DEFAULT 0,\n"
	"  bytes_out INTEGER NOT NULL DEFAULT 0,\n"
	"  tokens_out INTEGER NOT NULL DEFAULT 0,\n"
	"  wall_seconds REAL NOT NULL DEFAULT 0,\n"
	"  cpu_seconds REAL NOT NULL DEFAULT 0,\n"
	"  peak_mem_bytes INTEGER NOT NULL DEFAULT 0\n"
	");\n"
	"CREATE TABLE removals (\n"
	"  run_id INTEGER NOT NULL REFERENCES runs ON DELETE CASCADE,\n"
	"  reason TEXT NOT NULL,\n"
	"  docs INTEGER NOT NULL,\n"
	"  bytes INTEGER NOT NULL,\n"
	"  PRIMARY KEY (run_id, reason)\n"
	");\n"
	"CREATE INDEX removals_reason ON removals(reason);\n"
	"CREATE TABLE counters (\n"
	"  run_id INTEGER NOT NULL REFERENCES runs ON DELETE CASCADE,\n"
	"  name TEXT NOT NULL,\n"
	"  value INTEGER NOT NULL,\n"
	"  PRIMARY KEY (run_id, name)\n"
	");\n"
	"CREATE INDEX counters_name ON counters(name);\n"
	"CREATE TABLE histograms (\n"
	"  run_id INTEGER NOT NULL REFERENCES runs ON DELETE CASCADE,\n"
	"  name TEXT NOT NULL,\n"
	"  kind TEXT NOT NULL CHECK (kind IN ('linear', 'log2')),\n"
	"  lo REAL NOT NULL,\n"
	"  hi REAL NOT NULL,\n"
	"  nbuckets INTEGER NOT NULL,\n"
	"  count INTEGER NOT NULL,\n"
	"  sum REAL NOT NULL,\n"
	"  min REAL,\n"
	"  max REAL,\n"
	"  nan INTEGER NOT NULL,\n"
	"  PRIMARY KEY (run_id, name)\n"
	");\n"
	"CREATE TABLE hist_buckets (\n"
	"  run_id INTEGER NOT NULL,\n"
	"  name TEXT NOT NULL,\n"
	"  bucket INTEGER NOT NULL,\n"
	"  lower REAL,\n"
	"  upper REAL,\n"
	"  count INTEGER NOT NULL,\n"
	"  PRIMARY KEY (run_id, name, bucket),\n"
	"  FOREIGN KEY (run_id, name) REFERENCES histograms (run_id, name)\n"
	"    ON DELETE CASCADE\n"
	");\n"
	"CREATE TABLE doc_decisions (\n"
	"  run_id INTEGER NOT NULL REFERENCES runs ON DELETE CASCADE,\n"
	"  doc_id TEXT NOT NULL,\n"
	"  decision TEXT NOT NULL CHECK (decision IN ('keep', 'remove')),\n"
	"  reason TEXT,\n"
	"  score REAL,\n"
	"  url TEXT\n"
	");\n"
	"CREATE INDEX doc_decisions_doc ON doc_decisions(run_id, doc_id);\n"
	"CREATE INDEX doc_decisions_reason ON doc_decisions(reason);\n"
	"CREATE TABLE train_steps (\n"
	"  run_id INTEGER NOT NULL REFERENCES runs ON DELETE CASCADE,\n"
	"  step INTEGER NOT NULL,\n"
	"  phase TEXT,\n"
	"  loss REAL,\n"
	"  lr REAL,\n"
	"  grad_norm REAL,\n"
	"  tokens INTEGER NOT NULL,\n"
	"  seconds REAL,\n"
	"  PRIMARY KEY (run_id, step)\n"
	");\n"
	"CREATE TABLE train_evals (\n"
	"  run_id INTEGER NOT NULL REFERENCES runs ON DELETE CASCADE,\n"
	"  step INTEGER NOT NULL,\n"
	"  split TEXT NOT NULL,\n"
	"  loss REAL,\n"
	"  PRIMARY KEY (run_id, step, split)\n"
	");\n"
	"CREATE VIEW funnel AS\n"
	"  SELECT r.stage AS stage, count(*) AS runs,\n"
	"    sum(t.docs_in) AS docs_in, sum(t.docs_out) AS docs_out,\n"
	"    sum(t.docs_in) - sum(t.docs_out) AS docs_removed,\n"
	"    round(100.0 * (sum(t.docs_in) - sum(t.docs_out))\n"
	"          / nullif(sum(t.docs_in), 0), 2) AS removed_pct,\n"
	"    sum(t.bytes_in) AS bytes_in, sum(t.bytes_out) AS bytes_out,\n"
	"    sum(t.tokens_out) AS tokens_out,\n"
	"    sum(t.wall_seconds) AS wall_seconds,\n"
	"    sum(t.cpu_seconds) AS cpu_seconds\n"
	"  FROM runs r JOIN stage_totals t USING (run_id)\n"
	"  GROUP BY r.stage\n"
	"  ORDER BY docs_in DESC, stage;\n"
	"CREATE VIEW removal_summary AS\n"
	"  SELECT r.stage AS stage, m.reason AS reason,\n"
	"    sum(m.docs) AS docs, sum(m.bytes) AS bytes,\n"
	"    round(100.0 * sum(m.docs) / nullif(\n"
	"      (SELECT sum(t.docs_in) FROM stage_totals t\n"
	"       JOIN runs r2 USING (run_id) WHERE r2.stage = r.stage),\n"
	"      0), 2) AS pct_of_stage_in\n"
	"  FROM removals m JOIN runs r USING (run_id)\n"
	"  GROUP BY r.stage, m.reason\n"
	"  ORDER BY r.stage, docs DESC, reason;\n";

/*
 * The tables hanging off runs, with their columns other than run_id, in
 * an order where a referenced table comes first: what merge copies.
 */
static const struct {
	const char *table;
	const char *cols;
} child_tables[] = {
	{ "run_inputs", "seq, name" },
	{ "stage_totals", "docs_in, docs_out, bytes_in, bytes_out, "
	  "tokens_out, wall_seconds, cpu_seconds, peak_mem_bytes" },
	{ "removals", "reason, docs, bytes" },
	{ "counters", "name, value" },
	{ "histograms", "name, kind, lo, hi, nbuckets, count, sum, min, max, "
	  "nan" },
	{ "hist_buckets", "name, bucket, lower, upper, count" },
	{ "doc_decisions", "doc_id, decision, reason, score, url" },
	{ "train_steps", "step, phase, loss, lr, grad_norm, tokens, seconds" },
	{ "train_evals", "step, split, loss" },
};

static const char run_cols[] =
	"uuid, tool, stage, started, finished, hostname, pid, version, "
	"cmdline, config, exit_status";

/* ---- the in-memory accumulators ---------------------------------- */

struct hist {
	enum tm_stats_hist_kind kind;
	double lo, hi;
	int n;
	uint64_t *delta;        /* n + 2: [0] underflow, [n + 1] overflow */
	uint64_t count, nan;
	double sum, min, max;   /* min/max valid when count > 0 */
};

struct ent {
	char *key;              /* NULL: empty slot */
	uint32_t hash;
	bool dirty;
	int64_t a, b;           /* counter: a; removal: docs a, bytes b */
	struct hist *h;         /* histograms only */
};

struct map {
	struct ent *slots;
	size_t cap, n;          /* cap is 0 or a power of two */
};

struct doc_row {
	char *doc_id, *reason, *url;
	int keep;
	double score;
};

struct step_row {
	int64_t step;
	char *phase;
	double loss, lr, grad_norm, seconds;
	uint64_t tokens;
};

struct eval_row {
	int64_t step;
	char *split;
	double loss;
};

enum stmt_id {
	S_BEGIN, S_COMMIT, S_ROLLBACK,
	S_TOTALS, S_COUNTER, S_REMOVAL, S_HIST, S_BUCKET,
	S_DOC, S_STEP, S_EVAL, S_CONFIG, S_STAGE, S_INPUT, S_FINISH,
	S__COUNT
};

static const char *const stmt_sql[S__COUNT] = {
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_TOTALS] = "UPDATE stage_totals SET docs_in = docs_in + ?2, "
		"docs_out = docs_out + ?3, bytes_in = bytes_in + ?4, "
		"bytes_out = bytes_out + ?5, tokens_out = tokens_out + ?6, "
		"wall_seconds = ?7, cpu_seconds = ?8, "
		"peak_mem_bytes = max(peak_mem_bytes, ?9) WHERE run_id = ?1",
	[S_COUNTER] = "INSERT INTO counters (run_id, name, value) "
		"VALUES (?1, ?2, ?3) ON CONFLICT (run_id, name) "
		"DO UPDATE SET value = value + excluded.value",
	[S_REMOVAL] = "INSERT INTO removals (run_id, reason, docs, bytes) "
		"VALUES (?1, ?2, ?3, ?4) ON CONFLICT (run_id, reason) "
		"DO UPDATE SET docs = docs + excluded.docs, "
		"bytes = bytes + excluded.bytes",
	[S_HIST] = "INSERT INTO histograms (run_id, name, kind, lo, hi, "
		"nbuckets, count, sum, min, max, nan) "
		"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) "
		"ON CONFLICT (run_id, name) DO UPDATE SET "
		"count = count + excluded.count, sum = sum + excluded.sum, "
		"min = min(coalesce(min, excluded.min), "
		"coalesce(excluded.min, min)), "
		"max = max(coalesce(max, excluded.max), "
		"coalesce(excluded.max, max)), nan = nan + excluded.nan",
	[S_BUCKET] = "INSERT INTO hist_buckets (run_id, name, bucket, lower, "
		"upper, count) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
		"ON CONFLICT (run_id, name, bucket) "
		"DO UPDATE SET count = count + excluded.count",
	[S_DOC] = "INSERT INTO doc_decisions (run_id, doc_id, decision, "
		"reason, score, url) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[S_STEP] = "INSERT OR REPLACE INTO train_steps (run_id, step, phase, "
		"loss, lr, grad_norm, tokens, seconds) "
		"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[S_EVAL] = "INSERT OR REPLACE INTO train_evals (run_id, step, split, "
		"loss) VALUES (?1, ?2, ?3, ?4)",
	[S_CONFIG] = "UPDATE runs SET config = ?2 WHERE run_id = ?1",
	[S_STAGE] = "UPDATE runs SET stage = ?2 WHERE run_id = ?1",
	[S_INPUT] = "INSERT OR REPLACE INTO run_inputs (run_id, seq, name) "
		"VALUES (?1, ?2, ?3)",
	[S_FINISH] = "UPDATE runs SET finished = ?2, exit_status = ?3 "
		"WHERE run_id = ?1",
};

struct tm_stats {
	pthread_mutex_t lock;
	sqlite3 *db;
	sqlite3_stmt *stmt[S__COUNT];
	char *path;
	int64_t run_id;
	char uuid[37];
	double t0;              /* monotonic seconds at open */
	double last_flush;
	double interval;
	size_t max_rows;
	bool docs_on;

	struct map counters, removals, hists;
	struct tm_stats_totals totals;
	bool totals_dirty;
	uint64_t peak_mem;

	char *config, *stage;
	bool config_dirty, stage_dirty;
	char **inputs;
	size_t ninputs, inputs_written, inputs_alloc;

	struct doc_row *docs;
	size_t ndocs, docs_alloc;
	struct step_row *steps;
	size_t nsteps, steps_alloc;
	struct eval_row *evals;
	size_t nevals, evals_alloc;

};

static uint32_t hash_str(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static struct ent *map_find(struct map *m, const char *key, uint32_t h)
{
	size_t i;

	if (!m->cap)
		return NULL;
	for (i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		struct ent *e = &m->slots[i];

		if (!e->key)
			return NULL;
		if (e->hash == h && !strcmp(e->key, key))
			return e;
	}
}

static struct ent *map_slot(struct map *m, uint32_t h)
{
	size_t i = h & (m->cap - 1);

	while (m->slots[i].key)
		i = (i + 1) & (m->cap - 1);
	return &m->slots[i];
}

/* Returns the entry of `key`, adding a zeroed one if absent. */
static struct ent *map_get(struct map *m, const char *key)
{
	uint32_t h = hash_str(key);
	struct ent *e = map_find(m, key, h);
	size_t i;

	if (e)
		return e;
	if ((m->n + 1) * 4 > m->cap * 3) {
		struct map g = { NULL, m->cap ? m->cap * 2 : 16, m->n };

		g.slots = tm_xcalloc(g.cap, sizeof(*g.slots));
		for (i = 0; i < m->cap; i++)
			if (m->slots[i].key)
				*map_slot(&g, m->slots[i].hash) = m->slots[i];
		free(m->slots);
		*m = g;
	}
	e = map_slot(m, h);
	memset(e, 0, sizeof(*e));
	e->key = tm_xstrdup(key);
	e->hash = h;
	m->n++;
	return e;
}

static void map_release(struct map *m)
{
	size_t i;

	for (i = 0; i < m->cap; i++) {
		free(m->slots[i].key);
		if (m->slots[i].h)
			free(m->slots[i].h->delta);
		free(m->slots[i].h);
	}
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

static void *grow(void *p, size_t *alloc, size_t need, size_t size)
{
	if (need <= *alloc)
		return p;
	*alloc = TM_MAX(need, *alloc * 2 + 8);
	return tm_xrealloc(p, *alloc * size);
}

static char *xstrdup_null(const char *s)
{
	return s ? tm_xstrdup(s) : NULL;
}

static double now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_seconds(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru))
		return 0;
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static uint64_t peak_rss(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru))
		return 0;
	return (uint64_t)ru.ru_maxrss * 1024; /* Linux: kilobytes */
}

/* UTC ISO 8601 with milliseconds: 2024-05-01T12:34:56.789Z */
static void utc_now(char out[32])
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 32 - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

/* ---- SQLite helpers ------------------------------------------------ */

static int db_fail(struct tm_err *err, sqlite3 *db, const char *path,
		   const char *what)
{
	return tm_err_set(err, TM_EDB, path, TM_ERR_NO_OFFSET, 0, "%s: %s",
			  what, db ? sqlite3_errmsg(db) : "out of memory");
}

static bool is_busy(int rc)
{
	return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED;
}

/* A short randomised pause (1..16 ms) so that retrying writers spread. */
static void busy_sleep(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	sqlite3_sleep(1 + (int)((ts.tv_nsec / 1000) % 16));
}

/*
 * Runs `sql` (no results wanted), retrying while the file is busy past
 * SQLite's own busy_timeout, until BUSY_DEADLINE_S.
 */
static int exec_retry(sqlite3 *db, const char *sql)
{
	double start = now_mono();
	int rc;

	for (;;) {
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
		if (!is_busy(rc) || now_mono() - start > BUSY_DEADLINE_S)
			return rc;
		busy_sleep();
	}
}

/* Reads one integer of a query such as "PRAGMA main.user_version". */
static int query_int(sqlite3 *db, const char *sql, int64_t *v)
{
	sqlite3_stmt *s;
	int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);

	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*v = sqlite3_column_int64(s, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(s);
	return rc;
}

/*
 * Checks that schema `sch` ("main", "src") of db is a tamis stats file
 * of our version.  *fresh tells an empty database (allowed only when
 * `fresh` is non-NULL: the caller will create the schema).
 */
static int check_version(sqlite3 *db, const char *sch, const char *path,
			 bool *fresh, struct tm_err *err)
{
	char sql[128];
	int64_t uv = 0, app = 0, ntab = 0;
	bool own_txn = sqlite3_get_autocommit(db);
	int rc;

	/*
	 * One read transaction for the three reads: another process may be
	 * creating the schema right now, and we must see all of it or none.
	 */
	if (own_txn && exec_retry(db, "BEGIN"))
		return db_fail(err, db, path, "cannot begin a transaction");
	snprintf(sql, sizeof(sql), "PRAGMA %s.user_version", sch);
	rc = query_int(db, sql, &uv);
	if (!rc) {
		snprintf(sql, sizeof(sql), "PRAGMA %s.application_id", sch);
		rc = query_int(db, sql, &app);
	}
	if (!rc) {
		snprintf(sql, sizeof(sql),
			 "SELECT count(*) FROM %s.sqlite_schema", sch);
		rc = query_int(db, sql, &ntab);
	}
	if (rc)
		db_fail(err, db, path, "cannot read the schema version");
	if (own_txn)
		sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (rc)
		return TM_EDB;
	if (fresh)
		*fresh = false;
	if (uv == 0 && app == 0 && ntab == 0 && fresh) {
		*fresh = true;
		return 0;
	}
	if (app != TM_STATS_APP_ID || uv <= 0)
		return tm_err_set(err, TM_EDB, path, TM_ERR_NO_OFFSET, 0,
				  "not a tamis stats database "
				  "(application_id %" PRId64 ", "
				  "user_version %" PRId64 ")", app, uv);
	if (uv > TM_STATS_SCHEMA_VERSION)
		return tm_err_set(err, TM_EDB, path, TM_ERR_NO_OFFSET, 0,
				  "stats schema version %" PRId64 " is newer "
				  "than this tamis supports (%d): upgrade "
				  "tamis or use another --stats file",
				  uv, TM_STATS_SCHEMA_VERSION);
	if (uv < TM_STATS_SCHEMA_VERSION)
		return tm_err_set(err, TM_EDB, path, TM_ERR_NO_OFFSET, 0,
				  "stats schema version %" PRId64 " is older "
				  "than this tamis supports (%d)",
				  uv, TM_STATS_SCHEMA_VERSION);
	return 0;
}

static int set_wal(sqlite3 *db, const char *path, struct tm_err *err)
{
	double start = now_mono();
	sqlite3_stmt *s;
	int rc;

	/*
	 * Switching to WAL needs an exclusive lock; a concurrent opener may
	 * hold it or have switched already.  Retry until we see "wal".
	 */
	for (;;) {
		rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &s,
					NULL);
		if (rc != SQLITE_OK)
			break;
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW) {
			const char *m = (const char *)sqlite3_column_text(s, 0);

			rc = m && !strcmp(m, "wal") ? SQLITE_OK : SQLITE_BUSY;
		}
		sqlite3_finalize(s);
		if (!is_busy(rc) || now_mono() - start > BUSY_DEADLINE_S)
			break;
		busy_sleep();
	}
	if (rc != SQLITE_OK)
		return db_fail(err, db, path, "cannot switch to WAL mode");
	return 0;
}

/*
 * Opens `path` for reading and writing, creating the file and schema if
 * absent, or read-only (`ro`), checking the version either way.
 */
static int db_open(const char *path, bool ro, sqlite3 **out,
		   struct tm_err *err)
{
	sqlite3 *db = NULL;
	bool fresh;
	int flags = ro ? SQLITE_OPEN_READONLY :
		SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	int rc;

	*out = NULL;
	rc = sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		rc = db_fail(err, db, path, "cannot open");
		goto fail;
	}
	sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
	rc = check_version(db, "main", path, ro ? NULL : &fresh, err);
	if (rc)
		goto fail;
	if (ro) {
		*out = db;
		return 0;
	}
	rc = set_wal(db, path, err);
	if (rc)
		goto fail;
	/* WAL + NORMAL: a crash of tamis loses no commit, power loss may. */
	if (sqlite3_exec(db, "PRAGMA synchronous=NORMAL; "
			 "PRAGMA foreign_keys=ON", NULL, NULL, NULL)) {
		rc = db_fail(err, db, path, "cannot set pragmas");
		goto fail;
	}
	if (fresh) {
		/* Another process may have created it since we looked. */
		if (exec_retry(db, "BEGIN IMMEDIATE")) {
			rc = db_fail(err, db, path, "cannot lock");
			goto fail;
		}
		rc = check_version(db, "main", path, &fresh, err);
		if (!rc && fresh) {
			char sql[128];

			snprintf(sql, sizeof(sql), "PRAGMA user_version = %d; "
				 "PRAGMA application_id = %d",
				 TM_STATS_SCHEMA_VERSION, TM_STATS_APP_ID);
			if (sqlite3_exec(db, schema_sql, NULL, NULL, NULL) ||
			    sqlite3_exec(db, sql, NULL, NULL, NULL))
				rc = db_fail(err, db, path,
					     "cannot create the schema");
		}
		if (!rc && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL))
			rc = db_fail(err, db, path, "cannot commit the schema");
		if (rc)
			goto fail;
	}
	*out = db;
	return 0;
fail:
	sqlite3_close(db);
	return rc;
}

static sqlite3_stmt *stmt(struct tm_stats *st, enum stmt_id id)
{
	if (!st->stmt[id] &&
	    sqlite3_prepare_v3(st->db, stmt_sql[id], -1,
			       SQLITE_PREPARE_PERSISTENT, &st->stmt[id], NULL))
		return NULL;
	return st->stmt[id];
}

/* Steps a cached statement once to completion and resets it. */
static int step_done(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

static void bind_text_or_null(sqlite3_stmt *s, int i, const char *t)
{
	if (t)
		sqlite3_bind_text(s, i, t, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, i);
}

/* SQLite turns NaN into NULL; do it explicitly so the intent is clear. */
static void bind_real_or_null(sqlite3_stmt *s, int i, double v)
{
	if (isnan(v))
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_double(s, i, v);
}

/* ---- flush -------------------------------------------------------- */

static void hist_bucket_bounds(const struct hist *h, int b, double *lo,
			       double *hi);

/* Writes every pending delta and row; the caller holds the transaction. */
static int write_pending(struct tm_stats *st)
{
	sqlite3_stmt *s;
	size_t i;
	int j, rc;

	if (st->config_dirty) {
		if (!(s = stmt(st, S_CONFIG)))
			return SQLITE_ERROR;
		sqlite3_bind_int64(s, 1, st->run_id);
		bind_text_or_null(s, 2, st->config);
		if ((rc = step_done(s)))
			return rc;
	}
	if (st->stage_dirty) {
		if (!(s = stmt(st, S_STAGE)))
			return SQLITE_ERROR;
		sqlite3_bind_int64(s, 1, st->run_id);
		sqlite3_bind_text(s, 2, st->stage, -1, SQLITE_STATIC);
		if ((rc = step_done(s)))
			return rc;
	}
	for (i = st->inputs_written; i < st->ninputs; i++) {
		if (!(s = stmt(st, S_INPUT)))
			return SQLITE_ERROR;
		sqlite3_bind_int64(s, 1, st->run_id);
		sqlite3_bind_int64(s, 2, (int64_t)i);
		sqlite3_bind_text(s, 3, st->inputs[i], -1, SQLITE_STATIC);
		if ((rc = step_done(s)))
			return rc;
	}

	if (!(s = stmt(st, S_TOTALS)))
		return SQLITE_ERROR;
	sqlite3_bind_int64(s, 1, st->run_id);
	sqlite3_bind_int64(s, 2, (int64_t)st->totals.docs_in);
	sqlite3_bind_int64(s, 3, (int64_t)st->totals.docs_out);
	sqlite3_bind_int64(s, 4, (int64_t)st->totals.bytes_in);
	sqlite3_bind_int64(s, 5, (int64_t)st->totals.bytes_out);
	sqlite3_bind_int64(s, 6, (int64_t)st->totals.tokens_out);
	sqlite3_bind_double(s, 7, now_mono() - st->t0);
	sqlite3_bind_double(s, 8, cpu_seconds());
	sqlite3_bind_int64(s, 9, (int64_t)TM_MAX(st->peak_mem, peak_rss()));
	if ((rc = step_done(s)))
		return rc;

	for (i = 0; i < st->counters.cap; i++) {
		struct ent *e = &st->counters.slots[i];

		if (!e->key || !e->dirty)
			continue;
		if (!(s = stmt(st, S_COUNTER)))
			return SQLITE_ERROR;
		sqlite3_bind_int64(s, 1, st->run_id);
		sqlite3_bind_text(s, 2, e->key, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 3, e->a);
		if ((rc = step_done(s)))
			return rc;
	}
	for (i = 0; i < st->removals.cap; i++) {
		struct ent *e = &st->removals.slots[i];

		if (!e->key || !e->dirty)
			continue;
		if (!(s = stmt(st, S_REMOVAL)))
			return SQLITE_ERROR;
		sqlite3_bind_int64(s, 1, st->run_id);
		sqlite3_bind_text(s, 2, e->key, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 3, e->a);
		sqlite3_bind_int64(s, 4, e->b);
		if ((rc = step_done(s)))
			return rc;
	}
	for (i = 0; i < st->hists.cap; i++) {
		struct ent *e = &st->hists.slots[i];
		struct hist *h = e->h;

		if (!e->key || !e->dirty)
			continue;
		if (!(s = stmt(st, S_HIST)))
			return SQLITE_ERROR;
		sqlite3_bind_int64(s, 1, st->run_id);
		sqlite3_bind_text(s, 2, e->key, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, h->kind == TM_HIST_LOG2 ? "log2" :
				  "linear", -1, SQLITE_STATIC);
		sqlite3_bind_double(s, 4, h->lo);
		sqlite3_bind_double(s, 5, h->hi);
		sqlite3_bind_int(s, 6, h->n);
		sqlite3_bind_int64(s, 7, (int64_t)h->count);
		sqlite3_bind_double(s, 8, h->sum);
		if (h->count) {
			sqlite3_bind_double(s, 9, h->min);
			sqlite3_bind_double(s, 10, h->max);
		}
		sqlite3_bind_int64(s, 11, (int64_t)h->nan);
		if ((rc = step_done(s)))
			return rc;
		for (j = 0; j < h->n + 2; j++) {
			double lo, hi;
			int b = j - 1;

			if (!h->delta[j])
				continue;
			if (!(s = stmt(st, S_BUCKET)))
				return SQLITE_ERROR;
			sqlite3_bind_int64(s, 1, st->run_id);
			sqlite3_bind_text(s, 2, e->key, -1, SQLITE_STATIC);
			sqlite3_bind_int(s, 3, b);
			hist_bucket_bounds(h, b, &lo, &hi);
			if (b >= 0)
				sqlite3_bind_double(s, 4, lo);
			if (b < h->n)
				sqlite3_bind_double(s, 5, hi);
			sqlite3_bind_int64(s, 6, (int64_t)h->delta[j]);
			if ((rc = step_done(s)))
				return rc;
		}
	}
	for (i = 0; i < st->ndocs; i++) {
		struct doc_row *d = &st->docs[i];

		if (!(s = stmt(st, S_DOC)))
			return SQLITE_ERROR;
		sqlite3_bind_int64(s, 1, st->run_id);
		sqlite3_bind_text(s, 2, d->doc_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, d->keep ? "keep" : "remove", -1,
				  SQLITE_STATIC);
		bind_text_or_null(s, 4, d->reason);
		bind_real_or_null(s, 5, d->score);
		bind_text_or_null(s, 6, d->url);
		if ((rc = step_done(s)))
			return rc;
	}
	for (i = 0; i < st->nsteps; i++) {
		struct step_row *r = &st->steps[i];

		if (!(s = stmt(st, S_STEP)))
			return SQLITE_ERROR;
		sqlite3_bind_int64(s, 1, st->run_id);
		sqlite3_bind_int64(s, 2, r->step);
		bind_text_or_null(s, 3, r->phase);
		bind_real_or_null(s, 4, r->loss);
		bind_real_or_null(s, 5, r->lr);
		bind_real_or_null(s, 6, r->grad_norm);
		sqlite3_bind_int64(s, 7, (int64_t)r->tokens);
		bind_real_or_null(s, 8, r->seconds);
		if ((rc = step_done(s)))
			return rc;
	}
	for (i = 0; i < st->nevals; i++) {
		struct eval_row *r = &st->evals[i];

		if (!(s = stmt(st, S_EVAL)))
			return SQLITE_ERROR;
		sqlite3_bind_int64(s, 1, st->run_id);
		sqlite3_bind_int64(s, 2, r->step);
		sqlite3_bind_text(s, 3, r->split, -1, SQLITE_STATIC);
		bind_real_or_null(s, 4, r->loss);
		if ((rc = step_done(s)))
			return rc;
	}
	return SQLITE_OK;
}

/* After a successful COMMIT: forget what was written. */
static void clear_pending(struct tm_stats *st)
{
	size_t i;

	for (i = 0; i < st->counters.cap; i++) {
		st->counters.slots[i].dirty = false;
		st->counters.slots[i].a = 0;
	}
	for (i = 0; i < st->removals.cap; i++) {
		st->removals.slots[i].dirty = false;
		st->removals.slots[i].a = st->removals.slots[i].b = 0;
	}
	for (i = 0; i < st->hists.cap; i++) {
		struct hist *h = st->hists.slots[i].h;

		st->hists.slots[i].dirty = false;
		if (!h)
			continue;
		memset(h->delta, 0, (size_t)(h->n + 2) * sizeof(*h->delta));
		h->count = h->nan = 0;
		h->sum = 0;
	}
	memset(&st->totals, 0, sizeof(st->totals));
	st->totals_dirty = false;
	st->config_dirty = st->stage_dirty = false;
	st->inputs_written = st->ninputs;
	for (i = 0; i < st->ndocs; i++) {
		free(st->docs[i].doc_id);
		free(st->docs[i].reason);
		free(st->docs[i].url);
	}
	st->ndocs = 0;
	for (i = 0; i < st->nsteps; i++)
		free(st->steps[i].phase);
	st->nsteps = 0;
	for (i = 0; i < st->nevals; i++)
		free(st->evals[i].split);
	st->nevals = 0;
}

/*
 * One flush transaction; `final` also finishes the run row.  Caller
 * holds st->lock.
 */
static int flush_locked(struct tm_stats *st, bool final, int exit_status,
			struct tm_err *err)
{
	sqlite3_stmt *s;
	const char *what = "cannot begin a transaction";
	int rc;

	st->last_flush = now_mono();
	if (!(s = stmt(st, S_BEGIN)))
		return db_fail(err, st->db, st->path, what);
	for (;;) {
		rc = step_done(s);
		if (!is_busy(rc) ||
		    now_mono() - st->last_flush > BUSY_DEADLINE_S)
			break;
		busy_sleep();
	}
	if (rc)
		return db_fail(err, st->db, st->path, what);
	what = "cannot write statistics";
	rc = write_pending(st);
	if (!rc && final) {
		char ts[32];

		utc_now(ts);
		what = "cannot finish the run";
		if (!(s = stmt(st, S_FINISH))) {
			rc = SQLITE_ERROR;
		} else {
			sqlite3_bind_int64(s, 1, st->run_id);
			sqlite3_bind_text(s, 2, ts, -1, SQLITE_TRANSIENT);
			sqlite3_bind_int(s, 3, exit_status);
			rc = step_done(s);
		}
	}
	if (!rc) {
		what = "cannot commit";
		s = stmt(st, S_COMMIT);
		rc = s ? step_done(s) : SQLITE_ERROR;
	}
	if (rc) {
		/* Message first: ROLLBACK would overwrite it. */
		db_fail(err, st->db, st->path, what);
		if (!sqlite3_get_autocommit(st->db) &&
		    (s = stmt(st, S_ROLLBACK)))
			step_done(s);
		return TM_EDB;
	}
	clear_pending(st);
	return 0;
}

/* Called with the lock held after every addition. */
static int maybe_flush(struct tm_stats *st)
{
	size_t rows = st->ndocs + st->nsteps + st->nevals;

	struct tm_err tmp = TM_ERR_INIT;

	if (rows < st->max_rows &&
	    now_mono() - st->last_flush < st->interval)
		return 0;
	/* On failure the deltas stay; the next flush or close retries. */
	return flush_locked(st, false, 0, &tmp);
}

/* ---- lifecycle ----------------------------------------------------- */

static bool shell_safe(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr("_-+=./,:@%^", *s)))
			return false;
	return true;
}

static void shell_quote_argv(struct tm_buf *b, int argc, char **argv)
{
	int i;
	const char *p;

	for (i = 0; i < argc && argv && argv[i]; i++) {
		if (i)
			tm_buf_addch(b, ' ');
		if (shell_safe(argv[i])) {
			tm_buf_addstr(b, argv[i]);
			continue;
		}
		tm_buf_addch(b, '\'');
		for (p = argv[i]; *p; p++) {
			if (*p == '\'')
				tm_buf_addstr(b, "'\\''");
			else
				tm_buf_addch(b, *p);
		}
		tm_buf_addch(b, '\'');
	}
}

static int make_uuid(char out[37], struct tm_err *err)
{
	unsigned char r[16];
	size_t got = 0;
	ssize_t n;

	while (got < sizeof(r)) {
		n = getrandom(r + got, sizeof(r) - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return tm_err_sys(err, NULL,
					  "cannot make a run uuid");
		got += (size_t)n;
	}
	r[6] = (r[6] & 0x0f) | 0x40; /* version 4 */
	r[8] = (r[8] & 0x3f) | 0x80; /* RFC 4122 variant */
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4],
		 r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13],
		 r[14], r[15]);
	return 0;
}

static void stats_free(struct tm_stats *st)
{
	size_t i;

	if (!st)
		return;
	clear_pending(st);
	for (i = 0; i < S__COUNT; i++)
		sqlite3_finalize(st->stmt[i]);
	sqlite3_close(st->db);
	map_release(&st->counters);
	map_release(&st->removals);
	map_release(&st->hists);
	for (i = 0; i < st->ninputs; i++)
		free(st->inputs[i]);
	free(st->inputs);
	free(st->docs);
	free(st->steps);
	free(st->evals);
	free(st->config);
	free(st->stage);
	free(st->path);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

static int insert_run(struct tm_stats *st, const char *tool, int argc,
		      char **argv, struct tm_err *err)
{
	static const char sql[] =
		"INSERT INTO runs (uuid, tool, stage, started, hostname, pid, "
		"version, cmdline) VALUES (?1, ?2, ?2, ?3, ?4, ?5, ?6, ?7)";
	struct tm_buf cmd = TM_BUF_INIT;
	char host[256], ts[32];
	sqlite3_stmt *s = NULL;
	int rc;

	if (gethostname(host, sizeof(host)))
		snprintf(host, sizeof(host), "unknown");
	host[sizeof(host) - 1] = '\0';
	utc_now(ts);
	shell_quote_argv(&cmd, argc, argv);
	if (exec_retry(st->db, "BEGIN IMMEDIATE"))
		return db_fail(err, st->db, st->path, "cannot lock");
	rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
	if (!rc) {
		sqlite3_bind_text(s, 1, st->uuid, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, tool, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, ts, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 4, host, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 5, (int64_t)getpid());
		sqlite3_bind_text(s, 6, TM_VERSION, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 7, cmd.buf, (int)cmd.len, SQLITE_STATIC);
		rc = step_done(s);
	}
	sqlite3_finalize(s);
	st->run_id = sqlite3_last_insert_rowid(st->db);
	if (!rc) {
		char tot[96];

		snprintf(tot, sizeof(tot), "INSERT INTO stage_totals (run_id) "
			 "VALUES (%" PRId64 ")", st->run_id);
		rc = sqlite3_exec(st->db, tot, NULL, NULL, NULL);
	}
	if (!rc)
		rc = sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
	tm_buf_release(&cmd);
	if (rc) {
		db_fail(err, st->db, st->path, "cannot record the run");
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		return TM_EDB;
	}
	return 0;
}

int tm_stats_open(const char *path, const char *tool, int argc, char **argv,
		  struct tm_stats **out, struct tm_err *err)
{
	struct tm_stats *st;
	int rc;

	*out = NULL;
	if (!path)
		return 0;
	if (!tool || !*tool)
		return tm_err_set(err, TM_EINVAL, path, TM_ERR_NO_OFFSET, 0,
				  "stats need a tool name");
	st = tm_xcalloc(1, sizeof(*st));
	pthread_mutex_init(&st->lock, NULL);
	st->path = tm_xstrdup(path);
	st->stage = tm_xstrdup(tool);
	st->interval = TM_STATS_FLUSH_INTERVAL;
	st->max_rows = TM_STATS_FLUSH_ROWS;
	st->t0 = st->last_flush = now_mono();
	rc = make_uuid(st->uuid, err);
	if (!rc)
		rc = db_open(path, false, &st->db, err);
	if (!rc)
		rc = insert_run(st, tool, argc, argv, err);
	if (rc) {
		stats_free(st);
		return rc;
	}
	*out = st;
	return 0;
}

int tm_stats_flush(struct tm_stats *st, struct tm_err *err)
{
	int rc;

	if (!st)
		return 0;
	pthread_mutex_lock(&st->lock);
	rc = flush_locked(st, false, 0, err);
	pthread_mutex_unlock(&st->lock);
	return rc;
}

int tm_stats_close(struct tm_stats *st, int exit_status, struct tm_err *err)
{
	int rc;

	if (!st)
		return 0;
	pthread_mutex_lock(&st->lock);
	rc = flush_locked(st, true, exit_status, err);
	pthread_mutex_unlock(&st->lock);
	stats_free(st);
	return rc;
}

void tm_stats_set_flush(struct tm_stats *st, double interval_s,
			size_t max_rows)
{
	if (!st)
		return;
	pthread_mutex_lock(&st->lock);
	st->interval = interval_s > 0 ? interval_s : 0;
	st->max_rows = max_rows ? max_rows : TM_STATS_FLUSH_ROWS;
	pthread_mutex_unlock(&st->lock);
}

static int set_string(struct tm_stats *st, char **dst, bool *dirty,
		      const char *s)
{
	if (!st)
		return 0;
	if (!s)
		return TM_EINVAL;
	pthread_mutex_lock(&st->lock);
	free(*dst);
	*dst = tm_xstrdup(s);
	*dirty = true;
	pthread_mutex_unlock(&st->lock);
	return 0;
}

int tm_stats_set_config(struct tm_stats *st, const char *text)
{
	return st ? set_string(st, &st->config, &st->config_dirty, text) : 0;
}

int tm_stats_set_stage(struct tm_stats *st, const char *stage)
{
	if (!st)
		return 0;
	if (stage && !*stage)
		return TM_EINVAL;
	return set_string(st, &st->stage, &st->stage_dirty, stage);
}

int tm_stats_add_input(struct tm_stats *st, const char *name)
{
	if (!st)
		return 0;
	if (!name)
		return TM_EINVAL;
	pthread_mutex_lock(&st->lock);
	st->inputs = grow(st->inputs, &st->inputs_alloc, st->ninputs + 1,
			  sizeof(*st->inputs));
	st->inputs[st->ninputs++] = tm_xstrdup(name);
	pthread_mutex_unlock(&st->lock);
	return 0;
}

/* ---- additions ------------------------------------------------------ */

int tm_stats_count(struct tm_stats *st, const char *name, int64_t delta)
{
	struct ent *e;
	int rc;

	if (!st)
		return 0;
	if (!name || !*name)
		return TM_EINVAL;
	pthread_mutex_lock(&st->lock);
	e = map_get(&st->counters, name);
	e->a += delta;
	e->dirty = true;
	rc = maybe_flush(st);
	pthread_mutex_unlock(&st->lock);
	return rc;
}

int tm_stats_remove(struct tm_stats *st, const char *reason, uint64_t docs,
		    uint64_t bytes)
{
	struct ent *e;
	int rc;

	if (!st)
		return 0;
	if (!reason || !*reason)
		return TM_EINVAL;
	pthread_mutex_lock(&st->lock);
	e = map_get(&st->removals, reason);
	e->a += (int64_t)docs;
	e->b += (int64_t)bytes;
	e->dirty = true;
	rc = maybe_flush(st);
	pthread_mutex_unlock(&st->lock);
	return rc;
}

int tm_stats_totals_add(struct tm_stats *st, const struct tm_stats_totals *d)
{
	int rc;

	if (!st)
		return 0;
	if (!d)
		return TM_EINVAL;
	pthread_mutex_lock(&st->lock);
	st->totals.docs_in += d->docs_in;
	st->totals.docs_out += d->docs_out;
	st->totals.bytes_in += d->bytes_in;
	st->totals.bytes_out += d->bytes_out;
	st->totals.tokens_out += d->tokens_out;
	st->totals_dirty = true;
	rc = maybe_flush(st);
	pthread_mutex_unlock(&st->lock);
	return rc;
}

int tm_stats_mem_peak(struct tm_stats *st, uint64_t bytes)
{
	if (!st)
		return 0;
	pthread_mutex_lock(&st->lock);
	st->peak_mem = TM_MAX(st->peak_mem, bytes);
	pthread_mutex_unlock(&st->lock);
	return 0;
}

/* ---- histograms ----------------------------------------------------- */

/* The edge below bucket i (0..n); exact at both ends. */
static double hist_edge(const struct hist *h, int i)
{
	double f;

	if (i <= 0)
		return h->lo;
	if (i >= h->n)
		return h->hi;
	f = (double)i / h->n;
	if (h->kind == TM_HIST_LOG2)
		return exp2(log2(h->lo) + f * (log2(h->hi) - log2(h->lo)));
	return h->lo + f * (h->hi - h->lo);
}

/* Bounds of bucket b (-1 underflow .. n overflow; infinite ends). */
static void hist_bucket_bounds(const struct hist *h, int b, double *lo,
			       double *hi)
{
	*lo = b < 0 ? -INFINITY : hist_edge(h, b);
	*hi = b >= h->n ? INFINITY : hist_edge(h, b + 1);
}

/* The bucket of v (not NaN): -1 .. n, consistent with hist_edge(). */
static int hist_bucket(const struct hist *h, double v)
{
	double f;
	int i;

	if (v < h->lo)
		return -1;
	if (v >= h->hi)
		return h->n;
	if (h->kind == TM_HIST_LOG2)
		f = (log2(v) - log2(h->lo)) / (log2(h->hi) - log2(h->lo));
	else
		f = (v - h->lo) / (h->hi - h->lo);
	i = (int)(f * h->n);
	i = TM_MAX(0, TM_MIN(i, h->n - 1));
	/* Rounding may put v one bucket off its stored edges. */
	while (i > 0 && v < hist_edge(h, i))
		i--;
	while (i < h->n - 1 && v >= hist_edge(h, i + 1))
		i++;
	return i;
}

int tm_stats_hist_def(struct tm_stats *st, const char *name,
		      enum tm_stats_hist_kind kind, double lo, double hi,
		      int nbuckets)
{
	struct ent *e;
	struct hist *h;
	int rc = 0;

	if (!st)
		return 0;
	if (!name || !*name || (kind != TM_HIST_LINEAR &&
				kind != TM_HIST_LOG2) ||
	    !isfinite(lo) || !isfinite(hi) || !(lo < hi) ||
	    (kind == TM_HIST_LOG2 && !(lo > 0)) ||
	    nbuckets < 1 || nbuckets > HIST_MAX_BUCKETS)
		return TM_EINVAL;
	pthread_mutex_lock(&st->lock);
	e = map_get(&st->hists, name);
	if (e->h) {
		h = e->h;
		if (h->kind != kind || h->lo != lo || h->hi != hi ||
		    h->n != nbuckets)
			rc = TM_EINVAL;
	} else {
		h = tm_xcalloc(1, sizeof(*h));
		h->kind = kind;
		h->lo = lo;
		h->hi = hi;
		h->n = nbuckets;
		h->delta = tm_xcalloc((size_t)nbuckets + 2, sizeof(*h->delta));
		e->h = h;
		e->dirty = true; /* the definition row exists even if unused */
	}
	pthread_mutex_unlock(&st->lock);
	return rc;
}

int tm_stats_hist_addn(struct tm_stats *st, const char *name,
		       const double *v, size_t n)
{
	struct ent *e;
	struct hist *h;
	size_t i;
	int rc;

	if (!st)
		return 0;
	if (!name || (n && !v))
		return TM_EINVAL;
	pthread_mutex_lock(&st->lock);
	e = map_find(&st->hists, name, hash_str(name));
	if (!e || !e->h) {
		pthread_mutex_unlock(&st->lock);
		return TM_EINVAL;
	}
	h = e->h;
	for (i = 0; i < n; i++) {
		if (isnan(v[i])) {
			h->nan++;
			continue;
		}
		h->delta[hist_bucket(h, v[i]) + 1]++;
		if (!h->count || v[i] < h->min)
			h->min = v[i];
		if (!h->count || v[i] > h->max)
			h->max = v[i];
		h->count++;
		h->sum += v[i];
	}
	e->dirty = true;
	rc = maybe_flush(st);
	pthread_mutex_unlock(&st->lock);
	return rc;
}

int tm_stats_hist_add(struct tm_stats *st, const char *name, double v)
{
	return tm_stats_hist_addn(st, name, &v, 1);
}

/* ---- rows ------------------------------------------------------------ */

void tm_stats_set_docs(struct tm_stats *st, int enable)
{
	if (!st)
		return;
	pthread_mutex_lock(&st->lock);
	st->docs_on = enable != 0;
	pthread_mutex_unlock(&st->lock);
}

int tm_stats_doc(struct tm_stats *st, const char *doc_id, int keep,
		 const char *reason, double score, const char *url)
{
	struct doc_row *d;
	int rc;

	if (!st)
		return 0;
	if (!doc_id)
		return TM_EINVAL;
	pthread_mutex_lock(&st->lock);
	if (!st->docs_on) {
		pthread_mutex_unlock(&st->lock);
		return 0;
	}
	st->docs = grow(st->docs, &st->docs_alloc, st->ndocs + 1,
			sizeof(*st->docs));
	d = &st->docs[st->ndocs++];
	d->doc_id = tm_xstrdup(doc_id);
	d->reason = xstrdup_null(reason);
	d->url = xstrdup_null(url);
	d->keep = keep != 0;
	d->score = score;
	rc = maybe_flush(st);
	pthread_mutex_unlock(&st->lock);
	return rc;
}

int tm_stats_train_step(struct tm_stats *st, const struct tm_stats_step *s)
{
	struct step_row *r;
	int rc;

	if (!st)
		return 0;
	if (!s)
		return TM_EINVAL;
	pthread_mutex_lock(&st->lock);
	st->steps = grow(st->steps, &st->steps_alloc, st->nsteps + 1,
			 sizeof(*st->steps));
	r = &st->steps[st->nsteps++];
	r->step = s->step;
	r->phase = xstrdup_null(s->phase);
	r->loss = s->loss;
	r->lr = s->lr;
	r->grad_norm = s->grad_norm;
	r->tokens = s->tokens;
	r->seconds = s->seconds;
	rc = maybe_flush(st);
	pthread_mutex_unlock(&st->lock);
	return rc;
}

int tm_stats_train_eval(struct tm_stats *st, int64_t step, const char *split,
			double loss)
{
	struct eval_row *r;
	int rc;

	if (!st)
		return 0;
	if (!split || !*split)
		return TM_EINVAL;
	pthread_mutex_lock(&st->lock);
	st->evals = grow(st->evals, &st->evals_alloc, st->nevals + 1,
			 sizeof(*st->evals));
	r = &st->evals[st->nevals++];
	r->step = step;
	r->split = tm_xstrdup(split);
	r->loss = loss;
	rc = maybe_flush(st);
	pthread_mutex_unlock(&st->lock);
	return rc;
}

const char *tm_stats_run_uuid(const struct tm_stats *st)
{
	return st ? st->uuid : "";
}

int64_t tm_stats_run_id(const struct tm_stats *st)
{
	return st ? st->run_id : 0;
}

/* ---- merge ----------------------------------------------------------- */

static int merge_one(sqlite3 *db, const char *src, struct tm_err *err)
{
	struct tm_buf sql = TM_BUF_INIT;
	sqlite3_stmt *s = NULL;
	size_t i;
	int rc;

	rc = sqlite3_prepare_v2(db, "ATTACH ?1 AS src", -1, &s, NULL);
	if (!rc) {
		sqlite3_bind_text(s, 1, src, -1, SQLITE_STATIC);
		rc = step_done(s);
	}
	sqlite3_finalize(s);
	if (rc)
		return db_fail(err, db, src, "cannot attach");
	rc = check_version(db, "src", src, NULL, err);
	if (rc)
		goto detach;
	if (exec_retry(db, "BEGIN IMMEDIATE")) {
		rc = db_fail(err, db, src, "cannot lock the destination");
		goto detach;
	}
	/*
	 * idmap: source run id -> destination run id, for the runs to copy:
	 * those absent from main, and those main holds unfinished (deleted
	 * first, with their rows, by ON DELETE CASCADE).
	 */
	tm_buf_addstr(&sql,
		"CREATE TEMP TABLE IF NOT EXISTS idmap "
		"(old INTEGER PRIMARY KEY, new INTEGER);"
		"DELETE FROM temp.idmap;"
		"DELETE FROM main.runs WHERE finished IS NULL "
		"AND uuid IN (SELECT uuid FROM src.runs);"
		"INSERT INTO temp.idmap (old) SELECT run_id FROM src.runs "
		"WHERE uuid NOT IN (SELECT uuid FROM main.runs);");
	tm_buf_addf(&sql, "INSERT INTO main.runs (%s, merged_from) "
		    "SELECT %s, coalesce(merged_from, ?1) FROM src.runs "
		    "WHERE run_id IN (SELECT old FROM temp.idmap) "
		    "ORDER BY run_id;", run_cols, run_cols);
	tm_buf_addstr(&sql,
		"UPDATE temp.idmap SET new = (SELECT m.run_id "
		"FROM main.runs m JOIN src.runs s ON s.uuid = m.uuid "
		"WHERE s.run_id = idmap.old);");
	for (i = 0; i < TM_ARRAY_SIZE(child_tables); i++)
		tm_buf_addf(&sql, "INSERT INTO main.%s (run_id, %s) "
			    "SELECT i.new, %s FROM src.%s s "
			    "JOIN temp.idmap i ON i.old = s.run_id;",
			    child_tables[i].table, child_tables[i].cols,
			    child_tables[i].cols, child_tables[i].table);
	{
		const char *tail = sql.buf;

		while (!rc && tail && *tail) {
			rc = sqlite3_prepare_v2(db, tail, -1, &s, &tail);
			if (rc || !s)
				break;
			if (sqlite3_bind_parameter_count(s))
				sqlite3_bind_text(s, 1, src, -1, SQLITE_STATIC);
			rc = sqlite3_step(s);
			rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
			sqlite3_finalize(s);
		}
	}
	if (!rc)
		rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (rc) {
		rc = db_fail(err, db, src, "cannot merge");
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	}
detach:
	tm_buf_release(&sql);
	if (sqlite3_exec(db, "DETACH src", NULL, NULL, NULL) && !rc)
		rc = db_fail(err, db, src, "cannot detach");
	return rc;
}

int tm_stats_merge(const char *dest, const char *const *srcs, size_t n,
		   struct tm_err *err)
{
	struct stat dst, sst;
	sqlite3 *db;
	size_t i;
	int rc;

	if (!dest || (n && !srcs))
		return tm_err_set(err, TM_EINVAL, dest, TM_ERR_NO_OFFSET, 0,
				  "merge needs a destination and sources");
	rc = db_open(dest, false, &db, err);
	if (rc)
		return rc;
	if (stat(dest, &dst))
		rc = tm_err_sys(err, dest, "cannot stat");
	for (i = 0; !rc && i < n; i++) {
		/* ATTACH would create a missing file: check first. */
		if (stat(srcs[i], &sst)) {
			rc = tm_err_sys(err, srcs[i], "cannot open");
			break;
		}
		if (sst.st_dev == dst.st_dev && sst.st_ino == dst.st_ino) {
			rc = tm_err_set(err, TM_EINVAL, srcs[i],
					TM_ERR_NO_OFFSET, 0,
					"cannot merge a file into itself");
			break;
		}
		rc = merge_one(db, srcs[i], err);
	}
	sqlite3_close(db);
	return rc;
}

/* ---- funnel ---------------------------------------------------------- */

int tm_stats_open_read(const char *path, sqlite3 **db, struct tm_err *err)
{
	return db_open(path, true, db, err);
}

/*
 * Appends the rows of `sql` (ncols columns) as an aligned text table under
 * `head`: the columns in the mask `left` left-aligned, the others right-aligned; NULL
 * prints "-", a column named in `pct` (a mask) as "12.34%".  No rows:
 * nothing, unless `always`.
 */
static int text_table(sqlite3 *db, const char *path, const char *sql,
		      const char *const *head, int ncols, unsigned left, unsigned pct, bool always,
		      struct tm_buf *out, struct tm_err *err)
{
	char **cell = NULL;
	size_t ncell = 0, alloc = 0, i, w[16] = { 0 };
	sqlite3_stmt *s = NULL;
	int rc, c;

	rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
	for (c = 0; c < ncols; c++) {
		cell = grow(cell, &alloc, ncell + 1, sizeof(*cell));
		cell[ncell++] = tm_xstrdup(head[c]);
	}
	while (!rc && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		rc = 0;
		for (c = 0; c < ncols; c++) {
			struct tm_buf v = TM_BUF_INIT;
			int type = sqlite3_column_type(s, c);

			if (type == SQLITE_NULL)
				tm_buf_addch(&v, '-');
			else if (pct & (1u << c))
				tm_buf_addf(&v, "%.2f%%", sqlite3_column_double(s, c));
			else if (type == SQLITE_TEXT)
				tm_buf_addstr(&v, (const char *)sqlite3_column_text(s, c));
			else
				tm_buf_addf(&v, "%" PRId64, (int64_t)sqlite3_column_int64(s, c));
			cell = grow(cell, &alloc, ncell + 1, sizeof(*cell));
			cell[ncell++] = tm_buf_detach(&v, NULL);
		}
	}
	if (rc == SQLITE_DONE)
		rc = 0;
	if (rc)
		rc = db_fail(err, db, path, "cannot read the statistics");
	sqlite3_finalize(s);
	if (!rc && (always || ncell > (size_t)ncols)) {
		for (i = 0; i < ncell; i++)
			w[i % ncols] = TM_MAX(w[i % ncols], strlen(cell[i]));
		for (i = 0; i < ncell; i++) {
			c = (int)(i % ncols);
			if (left & (1u << c))
				tm_buf_addf(out, "%s%-*s", c ? "  " : "",
					    c == ncols - 1 ? 0 : (int)w[c], cell[i]);
			else
				tm_buf_addf(out, "%s%*s", c ? "  " : "", (int)w[c], cell[i]);
			if (c == ncols - 1)
				tm_buf_addch(out, '\n');
		}
	}
	for (i = 0; i < ncell; i++)
		free(cell[i]);
	free(cell);
	return rc;
}

int tm_stats_funnel(const char *path, struct tm_buf *out, struct tm_err *err)
{
	static const char *const funnel[] = {
		"stage", "runs", "docs_in", "docs_out", "removed", "removed%",
		"bytes_in", "bytes_out", "tokens_out"
	};
	static const char *const reasons[] = {
		"stage", "reason", "docs", "bytes", "of stage in"
	};
	sqlite3 *db;
	int rc;

	rc = tm_stats_open_read(path, &db, err);
	if (rc)
		return rc;
	rc = text_table(db, path, "SELECT stage, runs, docs_in, docs_out, docs_removed, "
			"removed_pct, bytes_in, bytes_out, tokens_out FROM funnel",
			funnel, 9, 1u, 1u << 5, true, out, err);
	if (!rc) {
		size_t len = out->len;

		tm_buf_addstr(out, "\nremovals by reason:\n");
		rc = text_table(db, path, "SELECT stage, reason, docs, bytes, pct_of_stage_in "
				"FROM removal_summary", reasons, 5, 3u, 1u << 4, false, out, err);
		if (out->len == len + strlen("\nremovals by reason:\n"))
			tm_buf_setlen(out, len);
	}
	sqlite3_close(db);
	return rc;
}
