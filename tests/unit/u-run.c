/*
 * u-run.c: the plan tamis run makes from pipeline.conf (lib/run.c): the
 * tasks of each phase, their pipes and outputs, band ranges, what
 * switching MinHash, line dedup and the vocabulary off leaves, the
 * fingerprint, and argv quoting for messages.
 */
#include "tamis.h"
#include "run.h"
#include "tap.h"

static const char *conf_path(struct tm_buf *b)
{
	const char *src = getenv("TAMIS_SRC");

	tm_buf_reset(b);
	tm_buf_addf(b, "%s/pipeline.conf", src ? src : ".");
	return b->buf;
}

static struct tm_run *plan(const char *const *ov, size_t nov, const char *const *files, size_t n)
{
	struct tm_buf conf = TM_BUF_INIT;
	struct tm_strlist o = { (const char **)ov, nov };
	struct tm_run_opts opts = { 0 };
	struct tm_err err = TM_ERR_INIT;
	struct tm_run *r = NULL;
	int rc;

	opts.conf = conf_path(&conf);
	opts.overrides = &o;
	opts.bin_dir = "/opt/tamis/bin";
	opts.work = "/tmp/w";
	opts.files = files;
	opts.nfiles = n;
	opts.jobs = -1;
	opts.threads = -1;
	rc = tm_run_plan(&opts, &r, &err);
	if (!is_int(rc, 0, "plan"))
		tap_diag("%s", err.msg);
	tm_buf_release(&conf);
	return r;
}

/* The argv of step s, pipe position k, as one string. */
static char *argv_str(const struct tm_run_task *t, size_t s, size_t k)
{
	struct tm_buf b = TM_BUF_INIT;

	tm_run_quote_argv(&b, t->steps[s].cmds[k].argv, t->steps[s].cmds[k].argc);
	return tm_buf_detach(&b, NULL);
}

static bool has(const char *hay, const char *needle)
{
	return strstr(hay, needle) != NULL;
}

static void test_default(void)
{
	static const char *const ov[] = { "run.bucket_tasks=3", "run.jobs=2", "run.threads=3" };
	const char *files[] = { "/d/a.warc.gz", "/d/b.warc.gz", "/d/c.warc.gz" };
	struct tm_run *r = plan(ov, 3, files, 3);
	const struct tm_run_task *t;
	char *s;

	if (!r)
		return;
	is_u64(r->phase_start[TM_RUN_BUCKET], 3, "three file tasks");
	is_u64(r->phase_start[TM_RUN_FINAL] - r->phase_start[TM_RUN_BUCKET], 3, "three bucket tasks");
	is_u64(r->ntasks - r->phase_start[TM_RUN_FINAL], 5,
	       "final: cluster, docs, shards, stats, report");
	is_int(r->jobs, 2, "[run] jobs");
	is_int(r->threads, 3, "[run] threads");
	t = &r->tasks[1];
	is_str(t->name, "file-000001", "file task name");
	is_str(t->what, "/d/b.warc.gz", "file task input");
	is_u64(t->nsteps, 2, "a pipe, then sign");
	is_u64(t->steps[0].ncmds, 6, "extract | langid | route | filter | dedup url | dedup exact");
	s = argv_str(t, 0, 0);
	ok(has(s, "/opt/tamis/bin/tamis-extract --config ") && has(s, " /d/b.warc.gz") &&
	   has(s, "-c global.stats=/tmp/w/stats/file-000001.sqlite") &&
	   has(s, "-c global.threads=3") && has(s, "-c run.bucket_tasks=3"), "extract's argv: %s", s);
	free(s);
	s = argv_str(t, 0, 5);
	ok(has(s, "tamis-dedup exact ") && has(s, "-o /tmp/w/docs/000001.jsonl.zst"),
	   "the pipe's last program writes the docs: %s", s);
	free(s);
	s = argv_str(t, 1, 0);
	ok(has(s, "tamis-dedup sign ") && has(s, "/tmp/w/docs/000001.jsonl.zst -o /tmp/w/sig/000001.sig"),
	   "sign: %s", s);
	free(s);
	is_str(t->marker, "/tmp/w/tasks/file-000001.done", "marker");
	is_str(t->log, "/tmp/w/logs/file-000001.log", "log");

	/* 14 bands in three ranges */
	s = argv_str(&r->tasks[3], 0, 0);
	ok(has(s, "--bands 0-3 ") && has(s, "/tmp/w/sig/000000.sig /tmp/w/sig/000001.sig /tmp/w/sig/000002.sig"),
	   "bucket 0: %s", s);
	free(s);
	is_str(r->tasks[4].what, "bands 4-8", "bucket 1");
	is_str(r->tasks[5].what, "bands 9-13", "bucket 2");

	t = tm_run_find(r, "final-docs");
	ok(t && t->steps[0].ncmds == 2, "apply | lines");
	if (t) {
		s = argv_str(t, 0, 0);
		ok(has(s, "tamis-dedup apply ") && has(s, "--remove /tmp/w/remove.txt") &&
		   has(s, "/tmp/w/docs/000000.jsonl.zst /tmp/w/docs/000001.jsonl.zst"), "apply: %s", s);
		free(s);
	}
	t = tm_run_find(r, "final-shards");
	ok(t && t->rename_from && !strcmp(t->rename_from, "/tmp/w/shards.part") &&
	   !strcmp(t->rename_to, "/tmp/w/shards"), "shards renamed into place");
	ok(!tm_run_find(r, "final-vocab"), "no vocabulary task without [run] vocab_size");
	ok(tm_run_find(r, "final-stats") && !tm_run_find(r, "final-stats")->stats,
	   "the merge has no stats file of its own");
	ok(r->fingerprint && strlen(r->fingerprint) == 16, "fingerprint");
	tm_run_free(r);
}

static void test_switches(void)
{
	static const char *const ov[] = { "run.minhash=false", "run.lines=false",
					   "run.report=false", "run.vocab_size=4096",
					   "run.file_stages=extract" };
	const char *files[] = { "/d/a.warc.gz", "https://h.example/x/b.warc.gz" };
	struct tm_run *r = plan(ov, 5, files, 2);
	const struct tm_run_task *t;
	char *s;

	if (!r)
		return;
	is_u64(r->phase_start[TM_RUN_FINAL] - r->phase_start[TM_RUN_BUCKET], 0, "no buckets");
	ok(!tm_run_find(r, "final-cluster") && !tm_run_find(r, "final-docs") &&
	   !tm_run_find(r, "final-report"), "no cluster, docs or report task");
	t = &r->tasks[0];
	is_u64(t->nsteps, 1, "no sign");
	s = argv_str(t, 0, 0);
	ok(has(s, "tamis-extract ") && has(s, "-o /tmp/w/docs/000000.jsonl.zst /d/a.warc.gz"),
	   "one-stage pipe: %s", s);
	free(s);
	t = &r->tasks[1];
	is_u64(t->nsteps, 2, "a URL is fetched first");
	s = argv_str(t, 0, 0);
	ok(has(s, "tamis-fetch ") && has(s, "-d /tmp/w/fetched https://h.example/x/b.warc.gz"),
	   "fetch: %s", s);
	free(s);
	s = argv_str(t, 1, 0);
	ok(has(s, " /tmp/w/fetched/x/b.warc.gz"), "extract reads the fetched file: %s", s);
	free(s);
	ok(t->drop_after && !strcmp(t->drop_after, "/tmp/w/fetched/x/b.warc.gz"),
	   "the fetched file is removed after the task");
	t = tm_run_find(r, "final-vocab");
	if (ok(t != NULL, "a vocabulary task")) {
		s = argv_str(t, 0, 0);
		ok(has(s, "tamis-tokenize train --vocab-size 4096 -o /tmp/w/vocab.tiktoken "
			  "/tmp/w/docs/000000.jsonl.zst /tmp/w/docs/000001.jsonl.zst"), "train: %s", s);
		free(s);
	}
	t = tm_run_find(r, "final-shards");
	if (t) {
		s = argv_str(t, 0, 0);
		ok(has(s, "--vocab /tmp/w/vocab.tiktoken /tmp/w/docs/000000.jsonl.zst"),
		   "tokenize reads every document file with the trained vocabulary: %s", s);
		free(s);
	}
	tm_run_free(r);
}

static void test_fingerprint(void)
{
	static const char *const a[] = { "shard.seed=1" };
	static const char *const b[] = { "shard.seed=2" };
	static const char *const c[] = { "shard.seed=1", "run.jobs=7", "global.threads=3" };
	const char *files[] = { "/d/a.warc.gz" };
	const char *files2[] = { "/d/a.warc.gz", "/d/b.warc.gz" };
	struct tm_run *ra = plan(a, 1, files, 1), *rb = plan(b, 1, files, 1);
	struct tm_run *rc = plan(c, 3, files, 1), *rd = plan(a, 1, files2, 2);

	if (ra && rb && rc && rd) {
		ok(strcmp(ra->fingerprint, rb->fingerprint), "another setting: another fingerprint");
		is_str(rc->fingerprint, ra->fingerprint, "parallelism does not change it");
		ok(strcmp(ra->fingerprint, rd->fingerprint), "another input list: another fingerprint");
	}
	tm_run_free(ra);
	tm_run_free(rb);
	tm_run_free(rc);
	tm_run_free(rd);
}

static void test_errors(void)
{
	struct tm_buf conf = TM_BUF_INIT;
	static const char *const ov[] = { "run.file_stages=extract, sieve" };
	struct tm_strlist o = { (const char **)ov, 1 };
	const char *files[] = { "/d/a.warc.gz" };
	struct tm_run_opts opts = { 0 };
	struct tm_err err = TM_ERR_INIT;
	struct tm_run *r = NULL;

	opts.conf = conf_path(&conf);
	opts.overrides = &o;
	opts.bin_dir = "/b";
	opts.files = files;
	opts.nfiles = 1;
	opts.jobs = opts.threads = -1;
	is_int(tm_run_plan(&opts, &r, &err), TM_ECONFIG, "an unknown stage is a config error");
	ok(has(err.msg, "unknown stage 'sieve'"), "named: %s", err.msg);
	tm_err_clear(&err);
	opts.overrides = NULL;
	opts.nfiles = 0;
	is_int(tm_run_plan(&opts, &r, &err), TM_ECONFIG, "no input is a config error");
	ok(has(err.msg, "no input"), "said: %s", err.msg);
	tm_buf_release(&conf);
}

static void test_quote(void)
{
	static const char *const args[] = { "/bin/x", "plain-1.5/a:b=c", "two words", "it's", "" };
	char *argv[5];
	struct tm_buf b = TM_BUF_INIT;
	size_t i;

	for (i = 0; i < 5; i++)
		argv[i] = tm_xstrdup(args[i]);
	tm_run_quote_argv(&b, argv, 5);
	for (i = 0; i < 5; i++)
		free(argv[i]);
	is_str(b.buf, "/bin/x plain-1.5/a:b=c 'two words' 'it'\\''s' ''", "shell quoting");
	tm_buf_release(&b);
}

int main(void)
{
	test_default();
	test_switches();
	test_fingerprint();
	test_errors();
	test_quote();
	return tap_done();
}
