/*
 * run.c: the pipeline driver (see run.h for the graph and its rules).
 */
#include "tamis.h"
#include "run.h"
#include "ini.h"
#include "conf.h"
#include "stats.h"
#include "stream.h"
#include "pool.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

/* The per-file stages [run] file_stages may name, and their programs. */
static const struct {
	const char *name;
	const char *tool;
	const char *sub;
} file_stages[] = {
	{ "extract", "extract", NULL },
	{ "langid", "langid", NULL },
	{ "filter", "filter", NULL },
	{ "route", "route", NULL },
	{ "dedup_url", "dedup", "url" },
	{ "dedup_exact", "dedup", "exact" },
	{ "dedup_lines", "dedup", "lines" },
};

/* [run], as read from the configuration. */
struct run_conf {
	const char *input, *base, *work, *file_stages;
	int64_t jobs, threads, bucket_tasks, vocab_size, bands;
	bool minhash, lines, keep_fetched, keep_rejected, report;
};

static char *xabspath(const char *p)
{
	struct tm_buf b = TM_BUF_INIT;
	char cwd[PATH_MAX];

	if (p[0] == '/' || !getcwd(cwd, sizeof(cwd)))
		return tm_xstrdup(p);
	tm_buf_addf(&b, "%s/%s", cwd, p);
	return tm_buf_detach(&b, NULL);
}

static char *xfmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xfmt(const char *fmt, ...)
{
	struct tm_buf b = TM_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	tm_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	return tm_buf_detach(&b, NULL);
}

static bool is_url(const char *s)
{
	return !strncmp(s, "http://", 7) || !strncmp(s, "https://", 8);
}

/* ---- building commands ------------------------------------------------ */

struct planner {
	const struct tm_run_opts *o;
	struct tm_run *r;
	size_t cap;
};

static void cmd_add(struct tm_run_cmd *c, const char *arg)
{
	c->argv = tm_xrealloc(c->argv, (c->argc + 2) * sizeof(*c->argv));
	c->argv[c->argc++] = tm_xstrdup(arg);
	c->argv[c->argc] = NULL;
}

/*
 * A tamis program with the run's configuration: --config CONF, the -c
 * overrides, then the task's stats file, thread count and no progress
 * (stderr is the task's log).  `configured` false: a program without
 * --config (tokenize train).
 */
static struct tm_run_cmd tool_cmd(struct planner *p, const struct tm_run_task *t,
				  const char *tool, const char *sub, bool configured)
{
	struct tm_run_cmd c = { NULL, 0 };
	char *path = xfmt("%s/tamis-%s", p->o->bin_dir, tool);
	size_t i;

	cmd_add(&c, path);
	free(path);
	if (sub)
		cmd_add(&c, sub);
	if (!configured)
		return c;
	cmd_add(&c, "--config");
	cmd_add(&c, p->r->conf);
	for (i = 0; p->o->overrides && i < p->o->overrides->n; i++) {
		cmd_add(&c, "-c");
		cmd_add(&c, p->o->overrides->v[i]);
	}
	path = xfmt("global.stats=%s", t->stats);
	cmd_add(&c, "-c");
	cmd_add(&c, path);
	free(path);
	path = xfmt("global.threads=%ld", p->r->threads);
	cmd_add(&c, "-c");
	cmd_add(&c, path);
	free(path);
	cmd_add(&c, "-c");
	cmd_add(&c, "global.progress=false");
	return c;
}

static struct tm_run_task *task_new(struct planner *p, enum tm_run_phase phase,
				    size_t index, const char *name, const char *what)
{
	struct tm_run *r = p->r;
	struct tm_run_task *t;

	if (r->ntasks == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 64;
		r->tasks = tm_xrealloc(r->tasks, p->cap * sizeof(*r->tasks));
	}
	t = &r->tasks[r->ntasks++];
	memset(t, 0, sizeof(*t));
	t->name = tm_xstrdup(name);
	t->what = tm_xstrdup(what);
	t->phase = phase;
	t->index = index;
	t->marker = xfmt("%s/tasks/%s.done", r->work, name);
	t->log = xfmt("%s/logs/%s.log", r->work, name);
	t->stats = xfmt("%s/stats/%s.sqlite", r->work, name);
	return t;
}

static struct tm_run_step *step_new(struct tm_run_task *t, enum tm_run_step_kind kind)
{
	struct tm_run_step *s;

	t->steps = tm_xrealloc(t->steps, (t->nsteps + 1) * sizeof(*t->steps));
	s = &t->steps[t->nsteps++];
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	return s;
}

static void step_add(struct tm_run_step *s, struct tm_run_cmd c)
{
	s->cmds = tm_xrealloc(s->cmds, (s->ncmds + 1) * sizeof(*s->cmds));
	s->cmds[s->ncmds++] = c;
}

static void task_output(struct tm_run_task *t, char *path)
{
	t->outputs = tm_xrealloc(t->outputs, (t->noutputs + 1) * sizeof(*t->outputs));
	t->outputs[t->noutputs++] = path;
}

/* ---- reading the configuration and the inputs ------------------------- */

static const char *ini_str(const struct tm_ini *ini, const char *key, const char *def)
{
	const char *v = tm_ini_get(ini, "run", NULL, key);

	return v ? v : def;
}

static int read_conf(const struct tm_ini *ini, struct run_conf *rc, struct tm_err *err)
{
	memset(rc, 0, sizeof(*rc));
	rc->input = ini_str(ini, "input", "");
	rc->base = ini_str(ini, "base", "https://data.commoncrawl.org/");
	rc->work = ini_str(ini, "work", "run");
	rc->file_stages = ini_str(ini, "file_stages",
				  "extract, langid, route, filter, dedup_url, dedup_exact");
	if (tm_ini_get_int(ini, "run", NULL, "jobs", 0, &rc->jobs, err) < 0 ||
	    tm_ini_get_int(ini, "run", NULL, "threads", 0, &rc->threads, err) < 0 ||
	    tm_ini_get_int(ini, "run", NULL, "bucket_tasks", 2, &rc->bucket_tasks, err) < 0 ||
	    tm_ini_get_int(ini, "run", NULL, "vocab_size", 0, &rc->vocab_size, err) < 0 ||
	    tm_ini_get_int(ini, "dedup", NULL, "bands", 14, &rc->bands, err) < 0 ||
	    tm_ini_get_bool(ini, "run", NULL, "minhash", true, &rc->minhash, err) < 0 ||
	    tm_ini_get_bool(ini, "run", NULL, "lines", true, &rc->lines, err) < 0 ||
	    tm_ini_get_bool(ini, "run", NULL, "keep_fetched", false, &rc->keep_fetched, err) < 0 ||
	    tm_ini_get_bool(ini, "run", NULL, "keep_rejected", false, &rc->keep_rejected, err) < 0 ||
	    tm_ini_get_bool(ini, "run", NULL, "report", true, &rc->report, err) < 0)
		return err->code;
	if (rc->jobs < 0 || rc->threads < 0 || rc->bucket_tasks < 1 || rc->vocab_size < 0 ||
	    (rc->vocab_size && rc->vocab_size < 257) || rc->bands < 1)
		return tm_err_set(err, TM_ECONFIG, tm_ini_name(ini), TM_ERR_NO_OFFSET, 0,
				  "[run] jobs and threads must be >= 0, bucket_tasks >= 1, "
				  "vocab_size 0 or >= 257");
	return 0;
}

struct strvec {
	char **v;
	size_t n, cap;
};

static void sv_push(struct strvec *s, char *str)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->v = tm_xrealloc(s->v, s->cap * sizeof(*s->v));
	}
	s->v[s->n++] = str;
}

static void sv_free(struct strvec *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* The listing: one path per line (plain or gzip), blank and '#' lines skipped. */
static int read_listing(const char *path, struct strvec *out, struct tm_err *err)
{
	struct tm_reader *rd;
	struct tm_buf line = TM_BUF_INIT;
	int rc;

	if ((rc = tm_reader_open(path, &rd, err)) < 0)
		return rc;
	while ((rc = tm_reader_getline(rd, &line, 64 * 1024, true, err)) > 0) {
		char *s = line.buf;
		size_t n = line.len;

		while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
			n--;
		while (n && *s == ' ') {
			s++;
			n--;
		}
		if (!n || *s == '#')
			continue;
		sv_push(out, tm_xmemdup(s, n));
	}
	tm_buf_release(&line);
	tm_reader_free(rd);
	return rc < 0 ? rc : 0;
}

/* ---- the plan --------------------------------------------------------- */

/* The per-file pipe, from "extract, langid, ..." */
static int plan_file_stages(struct planner *p, const char *list, const char *conf_name,
			    struct strvec *names, struct tm_err *err)
{
	const char *s = list;

	while (*s) {
		size_t n, i;

		while (*s == ' ' || *s == ',' || *s == '\t')
			s++;
		n = strcspn(s, " ,\t");
		if (!n)
			break;
		for (i = 0; i < TM_ARRAY_SIZE(file_stages); i++)
			if (strlen(file_stages[i].name) == n && !memcmp(file_stages[i].name, s, n))
				break;
		if (i == TM_ARRAY_SIZE(file_stages))
			return tm_err_set(err, TM_ECONFIG, conf_name, TM_ERR_NO_OFFSET, 0,
					  "[run] file_stages: unknown stage '%.*s' (known: extract, "
					  "langid, filter, route, dedup_url, dedup_exact, dedup_lines)",
					  (int)n, s);
		sv_push(names, xfmt("%zu", i));
		s += n;
	}
	if (!names->n)
		return tm_err_set(err, TM_ECONFIG, conf_name, TM_ERR_NO_OFFSET, 0,
				  "[run] file_stages is empty");
	(void)p;
	return 0;
}

static void plan_file_task(struct planner *p, const struct run_conf *rc, size_t i,
			   const char *path, bool listed, const struct strvec *stages)
{
	struct tm_run *r = p->r;
	char *name = xfmt("file-%06zu", i);
	struct tm_run_task *t = task_new(p, TM_RUN_FILE, i, name, path);
	struct tm_run_step *s;
	char *input, *docs;
	size_t k;

	free(name);
	if ((listed && is_url(rc->base)) || is_url(path)) {
		struct tm_run_cmd c = tool_cmd(p, t, "fetch", NULL, true);
		const char *rel = path;

		if (is_url(path)) {
			/* a URL: its path part under WORK/fetched */
			rel = strchr(path + 8, '/');
			rel = rel ? rel + 1 : "index";
		} else {
			cmd_add(&c, "--base");
			cmd_add(&c, rc->base);
		}
		cmd_add(&c, "-d");
		input = xfmt("%s/fetched", r->work);
		cmd_add(&c, input);
		free(input);
		cmd_add(&c, path);
		input = xfmt("%s/fetched/%s", r->work, rel);
		step_add(step_new(t, TM_RUN_PIPE), c);
		if (!r->keep_fetched)
			t->drop_after = tm_xstrdup(input);
	} else if (listed && *rc->base) {
		char *rel = xfmt("%s/%s", rc->base, path);

		input = xabspath(rel);
		free(rel);
	} else {
		input = xabspath(path);
	}

	docs = xfmt("%s/docs/%06zu.jsonl.zst", r->work, i);
	s = step_new(t, TM_RUN_PIPE);
	for (k = 0; k < stages->n; k++) {
		size_t j = (size_t)strtoul(stages->v[k], NULL, 10);
		struct tm_run_cmd c = tool_cmd(p, t, file_stages[j].tool, file_stages[j].sub, true);

		if (!strcmp(file_stages[j].name, "filter") && rc->keep_rejected) {
			char *rej = xfmt("%s/rejected/%06zu.jsonl.zst", r->work, i);

			cmd_add(&c, "--rejected");
			cmd_add(&c, rej);
			task_output(t, rej);
		}
		if (k + 1 == stages->n) {
			cmd_add(&c, "-o");
			cmd_add(&c, docs);
		}
		if (k == 0)
			cmd_add(&c, input);
		step_add(s, c);
	}
	task_output(t, docs);
	if (rc->minhash) {
		struct tm_run_cmd c = tool_cmd(p, t, "dedup", "sign", true);
		char *sig = xfmt("%s/sig/%06zu.sig", r->work, i);

		cmd_add(&c, docs);
		cmd_add(&c, "-o");
		cmd_add(&c, sig);
		step_add(step_new(t, TM_RUN_PIPE), c);
		task_output(t, sig);
	}
	free(input);
}

int tm_run_plan(const struct tm_run_opts *o, struct tm_run **out, struct tm_err *err)
{
	struct tm_ini *ini = NULL;
	struct run_conf rc;
	struct planner p = { o, NULL, 0 };
	struct tm_run *r;
	struct strvec inputs = { 0 }, stages = { 0 }, docs = { 0 };
	const char *conf_name;
	size_t i;
	int rc_;
	XXH64_state_t *h;
	char *s;

	*out = NULL;
	if ((rc_ = tm_conf_load(o->conf, o->overrides ? o->overrides->v : NULL,
				o->overrides ? o->overrides->n : 0, &ini, err)) < 0)
		return rc_;
	conf_name = tm_ini_name(ini);
	if ((rc_ = read_conf(ini, &rc, err)) < 0)
		goto fail_ini;
	if (o->input)
		rc.input = o->input;
	if (o->base)
		rc.base = o->base;
	if (o->work)
		rc.work = o->work;
	if (o->jobs >= 0)
		rc.jobs = o->jobs;
	if (o->threads >= 0)
		rc.threads = o->threads;

	r = tm_xcalloc(1, sizeof(*r));
	p.r = r;
	r->work = xabspath(*rc.work ? rc.work : "run");
	r->conf = xabspath(o->conf);
	r->jobs = rc.jobs ? rc.jobs : tm_ncpus();
	r->threads = rc.threads ? rc.threads : (tm_ncpus() + r->jobs - 1) / r->jobs;
	if (r->threads < 1)
		r->threads = 1;
	r->keep_fetched = rc.keep_fetched;

	/* files named by their absolute, resolved path: the same plan (and
	 * fingerprint) from any directory, and for Slurm's tasks */
	for (i = 0; i < o->nfiles; i++) {
		char *rp = is_url(o->files[i]) ? NULL : realpath(o->files[i], NULL);

		sv_push(&inputs, rp ? rp : is_url(o->files[i]) ? tm_xstrdup(o->files[i]) :
			xabspath(o->files[i]));
	}
	if (!o->nfiles && *rc.input && (rc_ = read_listing(rc.input, &inputs, err)) < 0)
		goto fail;
	if (!inputs.n) {
		rc_ = tm_err_set(err, TM_ECONFIG, conf_name, TM_ERR_NO_OFFSET, 0,
				 "no input: set [run] input (a listing such as warc.paths.gz), "
				 "give --input LIST, or name the files");
		goto fail;
	}
	if ((rc_ = plan_file_stages(&p, rc.file_stages, conf_name, &stages, err)) < 0)
		goto fail;

	r->phase_start[TM_RUN_FILE] = 0;
	for (i = 0; i < inputs.n; i++)
		plan_file_task(&p, &rc, i, inputs.v[i], !o->nfiles, &stages);
	for (i = 0; i < inputs.n; i++)
		sv_push(&docs, xfmt("%s/docs/%06zu.jsonl.zst", r->work, i));

	r->phase_start[TM_RUN_BUCKET] = r->ntasks;
	if (rc.minhash) {
		int64_t nb = rc.bucket_tasks < rc.bands ? rc.bucket_tasks : rc.bands;
		int64_t k;

		for (k = 0; k < nb; k++) {
			int64_t a = rc.bands * k / nb, b = rc.bands * (k + 1) / nb - 1;
			char *name = xfmt("bucket-%02" PRId64, k);
			char *what = xfmt("bands %" PRId64 "-%" PRId64, a, b);
			struct tm_run_task *t = task_new(&p, TM_RUN_BUCKET, (size_t)k, name, what);
			struct tm_run_cmd c = tool_cmd(&p, t, "dedup", "bucket", true);
			char *pairs = xfmt("%s/pairs/%02" PRId64 ".pairs", r->work, k);

			free(name);
			cmd_add(&c, "--bands");
			cmd_add(&c, what + 6);
			cmd_add(&c, "-o");
			cmd_add(&c, pairs);
			for (i = 0; i < inputs.n; i++) {
				char *sig = xfmt("%s/sig/%06zu.sig", r->work, i);

				cmd_add(&c, sig);
				free(sig);
			}
			free(what);
			step_add(step_new(t, TM_RUN_PIPE), c);
			task_output(t, pairs);
		}
	}

	r->phase_start[TM_RUN_FINAL] = r->ntasks;
	{
		struct tm_run_task *t;
		struct tm_run_cmd c;
		struct tm_run_step *st;
		char *remove = xfmt("%s/remove.txt", r->work);
		char *final = xfmt("%s/final.jsonl.zst", r->work);
		char *vocab = xfmt("%s/vocab.tiktoken", r->work);
		size_t k = 0;

		if (rc.minhash) {
			t = task_new(&p, TM_RUN_FINAL, k++, "final-cluster", "MinHash clusters");
			c = tool_cmd(&p, t, "dedup", "cluster", true);
			cmd_add(&c, "-o");
			cmd_add(&c, remove);
			for (i = r->phase_start[TM_RUN_BUCKET]; i < r->phase_start[TM_RUN_FINAL]; i++)
				cmd_add(&c, r->tasks[i].outputs[0]);
			step_add(step_new(t, TM_RUN_PIPE), c);
			task_output(t, tm_xstrdup(remove));
		}
		if (rc.minhash || rc.lines) {
			t = task_new(&p, TM_RUN_FINAL, k++, "final-docs",
				     rc.minhash && rc.lines ? "near-duplicates and lines" :
				     rc.minhash ? "near-duplicates" : "repeated lines");
			st = step_new(t, TM_RUN_PIPE);
			if (rc.minhash) {
				c = tool_cmd(&p, t, "dedup", "apply", true);
				cmd_add(&c, "--remove");
				cmd_add(&c, remove);
				if (!rc.lines) {
					cmd_add(&c, "-o");
					cmd_add(&c, final);
				}
				for (i = 0; i < docs.n; i++)
					cmd_add(&c, docs.v[i]);
				step_add(st, c);
			}
			if (rc.lines) {
				c = tool_cmd(&p, t, "dedup", "lines", true);
				cmd_add(&c, "-o");
				cmd_add(&c, final);
				for (i = 0; !rc.minhash && i < docs.n; i++)
					cmd_add(&c, docs.v[i]);
				step_add(st, c);
			}
			task_output(t, tm_xstrdup(final));
			sv_free(&docs);
			sv_push(&docs, tm_xstrdup(final));
		}
		if (rc.vocab_size) {
			char *n = xfmt("%" PRId64, rc.vocab_size);

			t = task_new(&p, TM_RUN_FINAL, k++, "final-vocab", "BPE vocabulary");
			c = tool_cmd(&p, t, "tokenize", "train", false);
			cmd_add(&c, "--vocab-size");
			cmd_add(&c, n);
			cmd_add(&c, "-o");
			cmd_add(&c, vocab);
			for (i = 0; i < docs.n; i++)
				cmd_add(&c, docs.v[i]);
			step_add(step_new(t, TM_RUN_PIPE), c);
			task_output(t, tm_xstrdup(vocab));
			free(n);
		}
		t = task_new(&p, TM_RUN_FINAL, k++, "final-shards", "tokens and shards");
		st = step_new(t, TM_RUN_PIPE);
		c = tool_cmd(&p, t, "tokenize", NULL, true);
		if (rc.vocab_size) {
			cmd_add(&c, "--vocab");
			cmd_add(&c, vocab);
		}
		for (i = 0; i < docs.n; i++)
			cmd_add(&c, docs.v[i]);
		step_add(st, c);
		r->shards = xfmt("%s/shards", r->work);
		t->rename_from = xfmt("%s/shards.part", r->work);
		t->rename_to = tm_xstrdup(r->shards);
		c = tool_cmd(&p, t, "shard", NULL, true);
		cmd_add(&c, "-o");
		cmd_add(&c, t->rename_from);
		cmd_add(&c, "-");
		step_add(st, c);
		task_output(t, tm_xstrdup(t->rename_from));
		task_output(t, tm_xstrdup(t->rename_to));

		r->stats = xfmt("%s/stats.sqlite", r->work);
		t = task_new(&p, TM_RUN_FINAL, k++, "final-stats", "stats merge");
		free(t->stats);
		t->stats = NULL;
		step_new(t, TM_RUN_MERGE_STATS);
		task_output(t, tm_xstrdup(r->stats));

		if (rc.report) {
			r->report = xfmt("%s/report.html", r->work);
			t = task_new(&p, TM_RUN_FINAL, k++, "final-report", "HTML report");
			free(t->stats);
			t->stats = NULL;
			c = tool_cmd(&p, t, "report", NULL, false);
			cmd_add(&c, r->stats);
			cmd_add(&c, "-o");
			cmd_add(&c, r->report);
			step_add(step_new(t, TM_RUN_PIPE), c);
			task_output(t, tm_xstrdup(r->report));
		}
		free(remove);
		free(final);
		free(vocab);
	}
	r->phase_start[TM_RUN_NPHASES] = r->ntasks;

	/* What the outputs depend on: the configuration, its overrides (but
	 * not those of parallelism), the inputs. */
	h = XXH64_createState();
	XXH64_reset(h, 0);
	{
		struct tm_reader *rd;

		if (tm_reader_open(o->conf, &rd, err) == 0) {
			while (tm_reader_fill(rd, 1, err) > 0) {
				XXH64_update(h, tm_reader_data(rd), tm_reader_avail(rd));
				tm_reader_consume(rd, tm_reader_avail(rd));
			}
			tm_reader_free(rd);
		}
		tm_err_clear(err);
	}
	for (i = 0; o->overrides && i < o->overrides->n; i++) {
		const char *ov = o->overrides->v[i];

		if (!strncmp(ov, "run.jobs=", 9) || !strncmp(ov, "run.threads=", 12) ||
		    !strncmp(ov, "global.", 7) || !strncmp(ov, "run.report=", 11))
			continue;
		XXH64_update(h, ov, strlen(ov) + 1);
	}
	for (i = 0; i < inputs.n; i++)
		XXH64_update(h, inputs.v[i], strlen(inputs.v[i]) + 1);
	XXH64_update(h, rc.base, strlen(rc.base) + 1);
	s = xfmt("%016llx", (unsigned long long)XXH64_digest(h));
	XXH64_freeState(h);
	r->fingerprint = s;

	sv_free(&inputs);
	sv_free(&stages);
	sv_free(&docs);
	tm_ini_free(ini);
	*out = r;
	return 0;
fail:
	sv_free(&inputs);
	sv_free(&stages);
	sv_free(&docs);
	tm_run_free(p.r);
fail_ini:
	tm_ini_free(ini);
	return rc_;
}

static int lock_fd = -1;

void tm_run_free(struct tm_run *r)
{
	size_t i, j, k;

	if (!r)
		return;
	for (i = 0; i < r->ntasks; i++) {
		struct tm_run_task *t = &r->tasks[i];

		for (j = 0; j < t->nsteps; j++) {
			for (k = 0; k < t->steps[j].ncmds; k++) {
				struct tm_run_cmd *c = &t->steps[j].cmds[k];
				size_t a;

				for (a = 0; a < c->argc; a++)
					free(c->argv[a]);
				free(c->argv);
			}
			free(t->steps[j].cmds);
		}
		free(t->steps);
		for (j = 0; j < t->noutputs; j++)
			free(t->outputs[j]);
		free(t->outputs);
		free(t->name);
		free(t->what);
		free(t->rename_from);
		free(t->rename_to);
		free(t->drop_after);
		free(t->marker);
		free(t->log);
		free(t->stats);
	}
	free(r->tasks);
	free(r->work);
	free(r->conf);
	free(r->shards);
	free(r->stats);
	free(r->report);
	free(r->fingerprint);
	free(r);
	if (lock_fd >= 0) {
		close(lock_fd);
		lock_fd = -1;
	}
}

const struct tm_run_task *tm_run_find(const struct tm_run *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->ntasks; i++)
		if (!strcmp(r->tasks[i].name, name))
			return &r->tasks[i];
	return NULL;
}

void tm_run_quote_argv(struct tm_buf *out, char *const *argv, size_t argc)
{
	size_t i;

	for (i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (i)
			tm_buf_addch(out, ' ');
		if (*a && strspn(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "0123456789-_./:=,+@%") == strlen(a)) {
			tm_buf_addstr(out, a);
			continue;
		}
		tm_buf_addch(out, '\'');
		for (; *a; a++) {
			if (*a == '\'')
				tm_buf_addstr(out, "'\\''");
			else
				tm_buf_addch(out, *a);
		}
		tm_buf_addch(out, '\'');
	}
}

/* ---- the work directory ----------------------------------------------- */

/* Removes `path` and the temporary files the tools make beside it
 * (PATH.tmp-PID-XXXXXX). */
static void remove_output(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? tm_xmemdup(path, (size_t)(slash - path)) : tm_xstrdup(".");
	const char *base = slash ? slash + 1 : path;
	size_t blen = strlen(base);
	DIR *d;
	struct dirent *e;

	tm_remove_tree(path);
	if ((d = opendir(dir))) {
		while ((e = readdir(d))) {
			if (!strncmp(e->d_name, base, blen) &&
			    !strncmp(e->d_name + blen, ".tmp-", 5)) {
				char *sub = xfmt("%s/%s", dir, e->d_name);

				tm_remove_tree(sub);
				free(sub);
			}
		}
		closedir(d);
	}
	free(dir);
}

int tm_run_prepare(struct tm_run *r, bool restart, bool task, struct tm_err *err)
{
	static const char *const dirs[] = {
		"tasks", "logs", "stats", "docs", "sig", "pairs", "fetched", "rejected",
	};
	char *path, *old;
	size_t i;
	int rc;

	for (i = 0; i < TM_ARRAY_SIZE(dirs); i++) {
		path = xfmt("%s/%s", r->work, dirs[i]);
		rc = tm_mkdir_p(path, err);
		free(path);
		if (rc < 0)
			return rc;
	}
	if (task) {
		path = xfmt("%s/fingerprint", r->work);
		old = tm_read_small_line(path);
		rc = old && !strcmp(old, r->fingerprint) ? 0 :
			tm_err_set(err, TM_ECONFIG, r->work, TM_ERR_NO_OFFSET, 0,
				   "fingerprint %s, expected %s: the configuration or the "
				   "input list changed since the jobs were submitted",
				   old ? old : "missing", r->fingerprint);
		free(old);
		free(path);
		return rc;
	}
	path = xfmt("%s/run.lock", r->work);
	lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
	if (lock_fd < 0) {
		rc = tm_err_sys(err, path, "cannot open the lock file");
		free(path);
		return rc;
	}
	if (flock(lock_fd, LOCK_EX | LOCK_NB) < 0) {
		rc = tm_err_set(err, TM_EINVAL, r->work, TM_ERR_NO_OFFSET, 0,
				"another tamis run is working in this directory");
		free(path);
		return rc;
	}
	free(path);

	path = xfmt("%s/fingerprint", r->work);
	old = tm_read_small_line(path);
	if (old && strcmp(old, r->fingerprint) && !restart) {
		rc = tm_err_set(err, TM_ECONFIG, r->work, TM_ERR_NO_OFFSET, 0,
				"made from another configuration or input list (fingerprint %s, "
				"now %s): use another work directory, or --restart to start over",
				old, r->fingerprint);
		free(old);
		free(path);
		return rc;
	}
	if (restart) {
		for (i = 0; i < r->ntasks; i++)
			unlink(r->tasks[i].marker);
	}
	free(old);
	rc = tm_write_file_atomic(path, r->fingerprint, err);
	free(path);
	return rc;
}

bool tm_run_task_done(const struct tm_run *r, const struct tm_run_task *t)
{
	(void)r;
	return access(t->marker, F_OK) == 0;
}

/* ---- executing -------------------------------------------------------- */

struct proc {
	pid_t pid;
	int status;
	bool exited;
};

struct running {
	struct tm_run_task *t;
	size_t step;
	struct proc *procs;
	size_t nprocs, left;
	pid_t pgid;
	double started;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The child's side: stdin, stdout, stderr in place, then exec. */
static void __attribute__((noreturn)) child_exec(const struct tm_run_cmd *c, int in, int out,
						 int logfd, pid_t pgid, pid_t parent)
{
	setpgid(0, pgid);
#ifdef __linux__
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
#else
	(void)parent;
#endif
	signal(SIGPIPE, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(logfd, 2) < 0)
		_exit(127);
	execv(c->argv[0], c->argv);
	{
		char msg[512];
		int n = snprintf(msg, sizeof(msg), "tamis run: cannot run %s: %s\n",
				 c->argv[0], strerror(errno));

		if (n > 0 && write(2, msg, (size_t)n) < 0)
			_exit(127);
	}
	_exit(127);
}

static int start_pipe(struct running *rn, const struct tm_run_step *s, struct tm_err *err)
{
	const struct tm_run_task *t = rn->t;
	int logfd, devnull, in, rc = 0;
	size_t i;
	pid_t parent = getpid();

	logfd = open(t->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
	if (logfd < 0)
		return tm_err_sys(err, t->log, "cannot open the task's log");
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0) {
		close(logfd);
		return tm_err_sys(err, "/dev/null", "cannot open");
	}
	{
		struct tm_buf b = TM_BUF_INIT;

		tm_buf_addstr(&b, "+ ");
		for (i = 0; i < s->ncmds; i++) {
			if (i)
				tm_buf_addstr(&b, " |\n    ");
			tm_run_quote_argv(&b, s->cmds[i].argv, s->cmds[i].argc);
		}
		tm_buf_addch(&b, '\n');
		if (write(logfd, b.buf, b.len) < 0)
			rc = tm_err_sys(err, t->log, "cannot write the task's log");
		tm_buf_release(&b);
		if (rc) {
			close(logfd);
			close(devnull);
			return rc;
		}
	}
	free(rn->procs);
	rn->procs = tm_xcalloc(s->ncmds, sizeof(*rn->procs));
	rn->nprocs = s->ncmds;
	rn->left = 0;
	rn->pgid = 0;
	in = devnull;
	for (i = 0; i < s->ncmds; i++) {
		int pfd[2] = { -1, -1 }, out = devnull;
		pid_t pid;

		if (i + 1 < s->ncmds) {
			if (pipe2(pfd, O_CLOEXEC) < 0) {
				rc = tm_err_sys(err, NULL, "cannot make a pipe");
				break;
			}
			out = pfd[1];
		}
		pid = fork();
		if (pid < 0) {
			rc = tm_err_sys(err, NULL, "cannot fork");
			if (pfd[0] >= 0) {
				close(pfd[0]);
				close(pfd[1]);
			}
			break;
		}
		if (pid == 0)
			child_exec(&s->cmds[i], in, out, logfd, rn->pgid, parent);
		if (!rn->pgid)
			rn->pgid = pid;
		setpgid(pid, rn->pgid);	/* both sides, against the race */
		rn->procs[i].pid = pid;
		rn->left++;
		if (in != devnull)
			close(in);
		if (pfd[1] >= 0)
			close(pfd[1]);
		in = pfd[0] >= 0 ? pfd[0] : devnull;
	}
	if (in != devnull)
		close(in);
	close(devnull);
	close(logfd);
	if (rc < 0 && rn->pgid)
		kill(-rn->pgid, SIGTERM);
	return rc;
}

/* How process i of the step ended, for a message; NULL if it succeeded. */
static char *proc_failure(const struct tm_run_step *s, const struct proc *pr, size_t n)
{
	size_t i;
	const struct proc *first = NULL;
	size_t fi = 0;

	/* The first that failed other than by a broken pipe: an upstream
	 * process killed by SIGPIPE is a consequence, not the cause. */
	for (i = 0; i < n; i++) {
		int st = pr[i].status;

		if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
			continue;
		if (WIFSIGNALED(st) && WTERMSIG(st) == SIGPIPE && first)
			continue;
		if (!first || (WIFSIGNALED(first->status) && WTERMSIG(first->status) == SIGPIPE)) {
			first = &pr[i];
			fi = i;
		}
	}
	if (!first)
		return NULL;
	{
		const char *prog = strrchr(s->cmds[fi].argv[0], '/');
		int st = first->status;

		prog = prog ? prog + 1 : s->cmds[fi].argv[0];
		if (WIFEXITED(st))
			return xfmt("%s%s%s exited with status %d", prog,
				    s->cmds[fi].argc > 1 && s->cmds[fi].argv[1][0] != '-' ? " " : "",
				    s->cmds[fi].argc > 1 && s->cmds[fi].argv[1][0] != '-' ?
				    s->cmds[fi].argv[1] : "", WEXITSTATUS(st));
		return xfmt("%s was killed by signal %d (%s)", prog, WTERMSIG(st),
			    strsignal(WTERMSIG(st)));
	}
}

/* The merge step: every task's stats file that exists, in task order. */
static int merge_stats(struct tm_run *r, struct tm_err *err)
{
	const char **srcs = tm_xcalloc(r->ntasks, sizeof(*srcs));
	char *tmp = xfmt("%s.tmp-%ld", r->stats, (long)getpid());
	size_t i, n = 0;
	int rc;

	for (i = 0; i < r->ntasks; i++)
		if (r->tasks[i].stats && access(r->tasks[i].stats, F_OK) == 0)
			srcs[n++] = r->tasks[i].stats;
	unlink(tmp);
	rc = tm_stats_merge(tmp, srcs, n, err);
	if (!rc && rename(tmp, r->stats) < 0)
		rc = tm_err_sys(err, r->stats, "cannot rename '%s' into place", tmp);
	if (rc < 0) {
		unlink(tmp);
	} else {
		/* SQLite's side files of the temporary name */
		char *side = xfmt("%s-wal", tmp);

		unlink(side);
		free(side);
		side = xfmt("%s-shm", tmp);
		unlink(side);
		free(side);
	}
	free(tmp);
	free(srcs);
	return rc;
}

/* Before a task starts: what an interrupted attempt may have left. */
static void clean_task(struct tm_run_task *t)
{
	size_t i;

	for (i = 0; i < t->noutputs; i++)
		remove_output(t->outputs[i]);
	if (t->stats) {
		char *side;

		remove_output(t->stats);
		side = xfmt("%s-wal", t->stats);
		unlink(side);
		free(side);
		side = xfmt("%s-shm", t->stats);
		unlink(side);
		free(side);
	}
	unlink(t->log);
}

static int finish_task(struct tm_run *r, struct running *rn, double secs, struct tm_err *err)
{
	struct tm_run_task *t = rn->t;
	char *body;
	int rc;

	(void)r;
	if (t->rename_from && rename(t->rename_from, t->rename_to) < 0)
		return tm_err_sys(err, t->rename_to, "cannot rename '%s' into place",
				  t->rename_from);
	body = xfmt("task %s (%s) done in %.1f s\n", t->name, t->what, secs);
	rc = tm_write_file_atomic(t->marker, body, err);
	free(body);
	if (!rc && t->drop_after)
		unlink(t->drop_after);
	return rc;
}

/*
 * Advances rn to its next step: runs in-process steps at once, starts a
 * pipe.  Returns 1 while a pipe is running, 0 when the task is finished,
 * < 0 on failure (err set).
 */
static int advance(struct tm_run *r, struct running *rn, struct tm_err *err)
{
	while (rn->step < rn->t->nsteps) {
		const struct tm_run_step *s = &rn->t->steps[rn->step];
		int rc;

		if (s->kind == TM_RUN_MERGE_STATS) {
			if ((rc = merge_stats(r, err)) < 0)
				return rc;
			rn->step++;
			continue;
		}
		if ((rc = start_pipe(rn, s, err)) < 0)
			return rc;
		return 1;
	}
	return 0;
}

int tm_run_exec(struct tm_run *r, enum tm_run_phase from, enum tm_run_phase to,
		const struct tm_run_task *only, volatile sig_atomic_t *stop,
		tm_run_event_fn *ev, void *arg, struct tm_err *err)
{
	struct running *run;
	size_t nrun = 0, maxrun = (size_t)(r->jobs > 0 ? r->jobs : 1);
	size_t failed = 0;
	int phase, rc = 0;
	bool stopping = false;

	run = tm_xcalloc(maxrun, sizeof(*run));
	for (phase = (int)from; phase <= (int)to && !failed && !stopping; phase++) {
		size_t next = r->phase_start[phase], end = r->phase_start[phase + 1];
		size_t cap = phase == TM_RUN_FINAL ? 1 : maxrun;

		for (;;) {
			/* start what may start */
			while (!failed && !stopping && nrun < cap && next < end) {
				struct tm_run_task *t = &r->tasks[next++];
				struct running *rn = &run[nrun];
				int a;

				if (only && t != only)
					continue;
				if (tm_run_task_done(r, t)) {
					ev(arg, TM_RUN_EV_SKIP, t, 0, NULL);
					continue;
				}
				clean_task(t);
				memset(rn, 0, sizeof(*rn));
				rn->t = t;
				rn->started = now_s();
				ev(arg, TM_RUN_EV_START, t, 0, NULL);
				a = advance(r, rn, err);
				if (a == 1) {
					nrun++;
					continue;
				}
				if (a == 0)
					a = finish_task(r, rn, now_s() - rn->started, err);
				free(rn->procs);
				if (a < 0) {
					struct tm_buf m = TM_BUF_INIT;

					tm_err_format(err, &m);
					ev(arg, TM_RUN_EV_FAIL, t, now_s() - rn->started, m.buf);
					tm_buf_release(&m);
					tm_err_clear(err);
					failed++;
				} else {
					ev(arg, TM_RUN_EV_DONE, t, now_s() - rn->started, NULL);
				}
			}
			if (!nrun)
				break;
			/* wait for a process */
			{
				int st;
				pid_t pid = waitpid(-1, &st, 0);
				size_t i, j;

				if (pid < 0) {
					if (errno == EINTR) {
						if (stop && *stop && !stopping) {
							stopping = true;
							for (i = 0; i < nrun; i++)
								if (run[i].pgid)
									kill(-run[i].pgid, SIGTERM);
						}
						continue;
					}
					rc = tm_err_sys(err, NULL, "waitpid failed");
					break;
				}
				for (i = 0; i < nrun; i++) {
					for (j = 0; j < run[i].nprocs; j++)
						if (run[i].procs[j].pid == pid)
							break;
					if (j < run[i].nprocs)
						break;
				}
				if (i == nrun)
					continue;	/* not ours */
				run[i].procs[j].status = st;
				run[i].procs[j].exited = true;
				if (--run[i].left)
					continue;
				/* the step's pipe is over */
				{
					struct running *rn = &run[i];
					const struct tm_run_step *s = &rn->t->steps[rn->step];
					char *why = proc_failure(s, rn->procs, rn->nprocs);
					int a = -1;

					if (!why && !stopping) {
						rn->step++;
						a = advance(r, rn, err);
						if (a == 1)
							continue;
						if (a == 0)
							a = finish_task(r, rn, now_s() - rn->started, err);
						if (a < 0) {
							struct tm_buf m = TM_BUF_INIT;

							tm_err_format(err, &m);
							why = tm_buf_detach(&m, NULL);
							tm_err_clear(err);
						}
					}
					if (why || stopping) {
						if (!stopping) {
							char *d = xfmt("%s; its log: %s", why, rn->t->log);

							ev(arg, TM_RUN_EV_FAIL, rn->t,
							   now_s() - rn->started, d);
							free(d);
							failed++;
						}
					} else {
						ev(arg, TM_RUN_EV_DONE, rn->t, now_s() - rn->started, NULL);
					}
					free(why);
					free(rn->procs);
					run[i] = run[--nrun];
				}
			}
			if (stop && *stop && !stopping) {
				size_t i;

				stopping = true;
				for (i = 0; i < nrun; i++)
					if (run[i].pgid)
						kill(-run[i].pgid, SIGTERM);
			}
		}
		if (rc < 0)
			break;
	}
	free(run);
	if (rc < 0)
		return rc;
	if (stopping)
		return tm_err_set(err, TM_ECANCEL, r->work, TM_ERR_NO_OFFSET, 0,
				  "stopped; rerun to go on where it stopped");
	if (failed)
		return tm_err_set(err, TM_EIO, r->work, TM_ERR_NO_OFFSET, 0,
				  "%zu task%s failed; rerun to retry %s", failed,
				  failed == 1 ? "" : "s", failed == 1 ? "it" : "them");
	return 0;
}

/* ---- Slurm ------------------------------------------------------------ */

int tm_run_capture(const char *const *argv, struct tm_buf *out, struct tm_err *err)
{
	int pfd[2], st;
	pid_t pid;
	char buf[4096];
	ssize_t n;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return tm_err_sys(err, argv[0], "cannot make a pipe");
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return tm_err_sys(err, argv[0], "cannot fork");
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);

		if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(pfd[1], 1) < 0 ||
		    dup2(pfd[1], 2) < 0)
			_exit(127);
		execvp(argv[0], (char *const *)argv);
		n = snprintf(buf, sizeof(buf), "cannot run %s: %s\n", argv[0], strerror(errno));
		if (n > 0 && write(1, buf, (size_t)n) < 0)
			_exit(127);
		_exit(127);
	}
	close(pfd[1]);
	while ((n = read(pfd[0], buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		tm_buf_add(out, buf, (size_t)n);
	}
	close(pfd[0]);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return tm_err_sys(err, argv[0], "waitpid failed");
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		while (out->len && out->buf[out->len - 1] == '\n')
			out->buf[--out->len] = '\0';
		return tm_err_set(err, TM_EIO, argv[0], TM_ERR_NO_OFFSET, 0, "%s %d: %s",
				  WIFEXITED(st) ? "exited with status" : "killed by signal",
				  WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st),
				  out->len ? out->buf : "(no output)");
	}
	return 0;
}

static const char *const phase_names[TM_RUN_NPHASES] = { "file", "bucket", "final" };

const char *tm_run_phase_name(enum tm_run_phase p)
{
	return phase_names[p];
}

/* Adds "a,b-c,..." of the sorted indexes v[0..n) to out. */
static void add_ranges(struct tm_buf *out, const size_t *v, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t j = i;

		while (j + 1 < n && v[j + 1] == v[j] + 1)
			j++;
		if (out->len)
			tm_buf_addch(out, ',');
		if (j == i)
			tm_buf_addf(out, "%zu", v[i]);
		else
			tm_buf_addf(out, "%zu-%zu", v[i], v[j]);
		i = j + 1;
	}
}

static int sbatch(struct tm_run *r, const char *phase, const char *array, const char *deps,
		  const char *self, const char *task, const char *const *fwd, size_t nfwd,
		  char **extra, size_t nextra, struct tm_buf *jobid, struct tm_err *err)
{
	struct tm_run_cmd c = { NULL, 0 };
	struct tm_buf out = TM_BUF_INIT;
	char cwd[PATH_MAX], *s;
	size_t i;
	int rc;

	cmd_add(&c, "sbatch");
	cmd_add(&c, "--parsable");
	s = xfmt("--job-name=tamis-%s", phase);
	cmd_add(&c, s);
	free(s);
	s = xfmt(array ? "--output=%s/logs/slurm-%s-%%A_%%a.out" : "--output=%s/logs/slurm-%s-%%j.out",
		 r->work, phase);
	cmd_add(&c, s);
	free(s);
	if (getcwd(cwd, sizeof(cwd))) {
		s = xfmt("--chdir=%s", cwd);
		cmd_add(&c, s);
		free(s);
	}
	if (deps && *deps) {
		s = xfmt("--dependency=afterok:%s", deps);
		cmd_add(&c, s);
		free(s);
		cmd_add(&c, "--kill-on-invalid-dep=yes");
	}
	if (array) {
		s = xfmt("--array=%s", array);
		cmd_add(&c, s);
		free(s);
	}
	for (i = 0; i < nextra; i++)
		cmd_add(&c, extra[i]);
	s = xfmt("%s/slurm/exec.sh", r->work);
	cmd_add(&c, s);
	free(s);
	cmd_add(&c, self);
	cmd_add(&c, "--task");
	cmd_add(&c, task);
	for (i = 0; i < nfwd; i++)
		cmd_add(&c, fwd[i]);
	rc = tm_run_capture((const char *const *)c.argv, &out, err);
	if (!rc) {
		/* "jobid" or "jobid;cluster" */
		size_t n = strspn(out.buf, "0123456789");

		if (!n)
			rc = tm_err_set(err, TM_EFORMAT, "sbatch", TM_ERR_NO_OFFSET, 0,
					"expected a job id, got '%s'", out.buf);
		else
			tm_buf_add(jobid, out.buf, n);
	}
	tm_buf_release(&out);
	for (i = 0; i < c.argc; i++)
		free(c.argv[i]);
	free(c.argv);
	return rc;
}

int tm_run_slurm_submit(struct tm_run *r, const char *self, const char *const *fwd, size_t nfwd,
			long max_array, char **extra, size_t nextra,
			struct tm_buf *ids, struct tm_err *err)
{
	struct tm_buf deps = TM_BUF_INIT, next = TM_BUF_INIT;
	char *path;
	int p, rc = 0;

	path = xfmt("%s/slurm", r->work);
	rc = tm_mkdir_p(path, err);
	free(path);
	if (rc < 0)
		return rc;
	/* The batch script only hands its arguments to exec: nothing of
	 * the configuration is ever parsed by a shell. */
	path = xfmt("%s/slurm/exec.sh", r->work);
	rc = tm_write_file_atomic(path, "#!/bin/sh\n# tamis run: each job runs its arguments.\nexec \"$@\"\n",
			  err);
	if (!rc && chmod(path, 0755) < 0)
		rc = tm_err_sys(err, path, "cannot chmod");
	free(path);
	if (rc < 0)
		return rc;
	if (max_array < 2)
		max_array = 2;

	for (p = 0; p < TM_RUN_NPHASES && !rc; p++) {
		size_t start = r->phase_start[p], end = r->phase_start[p + 1], i;
		size_t *undone = tm_xcalloc(end - start + 1, sizeof(*undone));
		size_t nu = 0;

		for (i = start; i < end; i++)
			if (!tm_run_task_done(r, &r->tasks[i]))
				undone[nu++] = i - start;
		tm_buf_reset(&next);
		if (nu && p == TM_RUN_FINAL) {
			struct tm_buf id = TM_BUF_INIT;

			rc = sbatch(r, "final", NULL, deps.buf, self, "final", fwd, nfwd,
				    extra, nextra, &id, err);
			if (!rc) {
				tm_buf_addf(ids, "final %s\n", id.buf);
				tm_buf_addstr(&next, id.buf);
			}
			tm_buf_release(&id);
		} else if (nu) {
			size_t a = 0;

			/* chunks: array indexes below max_array, offset per chunk */
			while (a < nu && !rc) {
				size_t chunk = undone[a] / (size_t)max_array, b = a, k;
				size_t *rel;
				struct tm_buf arr = TM_BUF_INIT, id = TM_BUF_INIT;
				char *task;

				while (b < nu && undone[b] / (size_t)max_array == chunk)
					b++;
				rel = tm_xcalloc(b - a, sizeof(*rel));
				for (k = a; k < b; k++)
					rel[k - a] = undone[k] - chunk * (size_t)max_array;
				add_ranges(&arr, rel, b - a);
				task = xfmt("%s:%zu", phase_names[p], chunk * (size_t)max_array);
				rc = sbatch(r, phase_names[p], arr.buf, deps.buf, self, task,
					    fwd, nfwd, extra, nextra, &id, err);
				if (!rc) {
					tm_buf_addf(ids, "%s %s\n", phase_names[p], id.buf);
					if (next.len)
						tm_buf_addch(&next, ':');
					tm_buf_addstr(&next, id.buf);
				}
				free(task);
				free(rel);
				tm_buf_release(&arr);
				tm_buf_release(&id);
				a = b;
			}
		}
		free(undone);
		if (next.len) {
			tm_buf_reset(&deps);
			tm_buf_addstr(&deps, next.buf);
		}
	}
	tm_buf_release(&deps);
	tm_buf_release(&next);
	return rc;
}
