/*
 * run.c: tamis-run, the pipeline driver (lib/run.h, docs/RUN.md).
 *
 *   tamis run [options] CONF [FILE...]
 */
#include "tamis.h"
#include "common.h"
#include "ini.h"
#include "run.h"
#include "stats.h"

#include <signal.h>
#include <unistd.h>

static const char synopsis[] = "tamis run [options] CONF [FILE...]";

static const char *opt_input, *opt_base, *opt_work, *opt_executor, *opt_task;
static long opt_jobs = -1, opt_threads = -1;
static bool opt_dry_run, opt_restart, opt_wait, opt_quiet;
static struct tm_strlist opt_overrides;

static const struct tm_option opts[] = {
	{ TM_OPT_STRING, 'i', "input", &opt_input, "LIST",
	  "the input files' listing (warc.paths.gz; default [run] input)" },
	{ TM_OPT_STRING, 0, "base", &opt_base, "URL|DIR",
	  "what the listed paths are relative to (default [run] base)" },
	{ TM_OPT_STRING, 'w', "work", &opt_work, "DIR",
	  "the run's directory (default [run] work)" },
	{ TM_OPT_INT, 'j', "jobs", &opt_jobs, "N", "tasks at once (default [run] jobs; 0: all cores)" },
	{ TM_OPT_INT, 0, "threads", &opt_threads, "N",
	  "threads of each program (default [run] threads; 0: cores / jobs)" },
	{ TM_OPT_STRING, 0, "executor", &opt_executor, "local|slurm",
	  "run the tasks here or as Slurm job arrays (default [run] executor)" },
	{ TM_OPT_FLAG, 0, "wait", &opt_wait, NULL,
	  "slurm: wait for the jobs to end, then say what failed" },
	{ TM_OPT_FLAG, 'n', "dry-run", &opt_dry_run, NULL,
	  "print every task's programs and run nothing" },
	{ TM_OPT_FLAG, 0, "restart", &opt_restart, NULL,
	  "forget what earlier runs in the directory did and do everything again" },
	{ TM_OPT_STRING, 0, "task", &opt_task, "NAME|PHASE:OFFSET",
	  "run one task (what each Slurm job runs; PHASE:OFFSET adds $SLURM_ARRAY_TASK_ID)" },
	{ TM_OPT_FLAG, 'q', "quiet", &opt_quiet, NULL, "say nothing on stderr but errors" },
	{ TM_OPT_STRLIST, 'c', NULL, &opt_overrides, "SECTION.KEY=VALUE",
	  "override one configuration key (repeatable)" },
	TM_OPT_END_MARK
};

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

struct progress {
	size_t total, done, skipped;
};

static void print_log_tail(const char *path)
{
	FILE *f = fopen(path, "re");
	char *lines[6] = { 0 }, buf[1024];
	size_t n = 0, i;

	if (!f)
		return;
	while (fgets(buf, sizeof(buf), f)) {
		free(lines[n % 6]);
		lines[n % 6] = tm_xstrdup(buf);
		n++;
	}
	fclose(f);
	for (i = n > 6 ? n - 6 : 0; i < n; i++) {
		const char *l = lines[i % 6];

		fprintf(stderr, "    | %s%s", l, l[strlen(l) - 1] == '\n' ? "" : "\n");
	}
	for (i = 0; i < 6; i++)
		free(lines[i]);
}

static void on_event(void *arg, enum tm_run_event ev, const struct tm_run_task *t,
		     double secs, const char *detail)
{
	struct progress *p = arg;

	switch (ev) {
	case TM_RUN_EV_SKIP:
		p->skipped++;
		p->done++;
		break;
	case TM_RUN_EV_START:
		break;
	case TM_RUN_EV_DONE:
		p->done++;
		if (!opt_quiet)
			fprintf(stderr, "%s: [%zu/%zu] %s done in %.1f s (%s)\n", tm_prog, p->done,
				p->total, t->name, secs, t->what);
		break;
	case TM_RUN_EV_FAIL:
		fprintf(stderr, "%s: %s (%s) failed after %.1f s: %s\n", tm_prog, t->name,
			t->what, secs, detail);
		print_log_tail(t->log);
		break;
	}
}

/* The arguments a Slurm job needs to rebuild the same plan (each owned). */
static void fwd_add(struct tm_strlist *fwd, char *arg)
{
	fwd->v = tm_xrealloc(fwd->v, (fwd->n + 1) * sizeof(*fwd->v));
	fwd->v[fwd->n++] = arg;
}

static char *abs_or_copy(const char *path)
{
	char *abs = realpath(path, NULL);

	return abs ? abs : tm_xstrdup(path);
}

static void forward_args(struct tm_run *r, char **files, int nfiles, struct tm_strlist *fwd)
{
	char buf[32];
	int i;

	fwd->v = NULL;
	fwd->n = 0;
	fwd_add(fwd, tm_xstrdup("--work"));
	fwd_add(fwd, tm_xstrdup(r->work));
	if (opt_input) {
		fwd_add(fwd, tm_xstrdup("--input"));
		fwd_add(fwd, abs_or_copy(opt_input));
	}
	if (opt_base) {
		fwd_add(fwd, tm_xstrdup("--base"));
		fwd_add(fwd, tm_xstrdup(opt_base));
	}
	if (opt_threads >= 0) {
		snprintf(buf, sizeof(buf), "--threads=%ld", opt_threads);
		fwd_add(fwd, tm_xstrdup(buf));
	}
	for (i = 0; i < (int)opt_overrides.n; i++) {
		fwd_add(fwd, tm_xstrdup("-c"));
		fwd_add(fwd, tm_xstrdup(opt_overrides.v[i]));
	}
	fwd_add(fwd, tm_xstrdup(r->conf));
	for (i = 0; i < nfiles; i++)
		fwd_add(fwd, abs_or_copy(files[i]));
}

static void forward_free(struct tm_strlist *fwd)
{
	size_t i;

	for (i = 0; i < fwd->n; i++)
		free((char *)fwd->v[i]);
	free(fwd->v);
}

static long slurm_max_array(const char *conf)
{
	const char *const argv[] = { "scontrol", "show", "config", NULL };
	struct tm_buf out = TM_BUF_INIT;
	struct tm_err err = TM_ERR_INIT;
	long n = 1001;	/* Slurm's default */
	const char *p;

	(void)conf;
	if (tm_run_capture(argv, &out, &err) == 0 && (p = strstr(out.buf, "MaxArraySize"))) {
		p = strchr(p, '=');
		if (p)
			n = strtol(p + 1, NULL, 10);
	}
	tm_buf_release(&out);
	return n > 1 ? n : 1001;
}

/* Splits "a, b,c" (comma-separated sbatch arguments) in place. */
static size_t split_commas(char *s, char **v, size_t max)
{
	size_t n = 0;
	char *tok, *save = NULL;

	for (tok = strtok_r(s, ",", &save); tok && n < max; tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ')
			tok++;
		if (*tok)
			v[n++] = tok;
	}
	return n;
}

static int run_slurm(struct tm_run *r, struct tm_ini *ini, char **files, int nfiles)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_buf ids = TM_BUF_INIT;
	struct tm_strlist fwd;
	char self[PATH_MAX], *extra_v[64], *extra_s;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	int64_t max_array = 0;
	size_t nextra, i;
	int status = TM_EXIT_OK;

	if (n <= 0)
		die("cannot find my own path (/proc/self/exe)");
	self[n] = '\0';
	if (tm_ini_get_int(ini, "run", NULL, "slurm_max_array", 0, &max_array, &err) < 0)
		die_err(&err);
	if (!max_array)
		max_array = slurm_max_array(r->conf);
	extra_s = tm_xstrdup(tm_ini_get(ini, "run", NULL, "slurm_options") ?
			     tm_ini_get(ini, "run", NULL, "slurm_options") : "");
	nextra = split_commas(extra_s, extra_v, TM_ARRAY_SIZE(extra_v));
	forward_args(r, files, nfiles, &fwd);
	if (tm_run_slurm_submit(r, self, fwd.v, fwd.n, (long)max_array, extra_v,
				nextra, &ids, &err) < 0)
		die_err(&err);
	forward_free(&fwd);
	if (!ids.len) {
		printf("%s: every task is done already; nothing submitted\n", tm_prog);
	} else {
		printf("%s", ids.buf);
	}
	fflush(stdout);
	if (opt_wait && ids.len) {
		/* until none of our jobs is in the queue */
		for (;;) {
			const char *const argv[] = { "squeue", "-h", "-o", "%F", NULL };
			struct tm_buf out = TM_BUF_INIT;
			bool any = false;
			char *line, *save = NULL, *copy = tm_xstrdup(ids.buf);

			if (tm_run_capture(argv, &out, &err) < 0)
				die_err(&err);
			for (line = strtok_r(copy, "\n", &save); line;
			     line = strtok_r(NULL, "\n", &save)) {
				const char *id = strchr(line, ' ') + 1;
				const char *q = out.buf;
				size_t idl = strlen(id);

				while ((q = strstr(q, id))) {
					if ((q == out.buf || q[-1] == '\n') &&
					    (q[idl] == '\n' || q[idl] == '\0' || q[idl] == ' '))
						break;
					q += idl;
				}
				if (q)
					any = true;
			}
			free(copy);
			tm_buf_release(&out);
			if (!any || stop_flag)
				break;
			sleep(2);
		}
		for (i = 0, n = 0; i < r->ntasks; i++) {
			if (!tm_run_task_done(r, &r->tasks[i])) {
				if (!n++)
					fprintf(stderr, "%s: not done after the jobs ended:\n", tm_prog);
				fprintf(stderr, "    %s (%s): its log: %s\n", r->tasks[i].name,
					r->tasks[i].what, r->tasks[i].log);
			}
		}
		if (n)
			status = TM_EXIT_FAIL;
		else
			printf("%s: done: shards in %s, statistics in %s%s%s\n", tm_prog,
			       r->shards, r->stats, r->report ? ", report in " : "",
			       r->report ? r->report : "");
	}
	tm_buf_release(&ids);
	free(extra_s);
	return status;
}

/* --task NAME or PHASE:OFFSET (+ $SLURM_ARRAY_TASK_ID) or PHASE */
static int run_task(struct tm_run *r)
{
	struct tm_err err = TM_ERR_INIT;
	struct progress prog = { 1, 0, 0 };
	const struct tm_run_task *t = tm_run_find(r, opt_task);
	int p;

	if (tm_run_prepare(r, false, true, &err) < 0)
		die_err(&err);
	if (!t) {
		const char *colon = strchr(opt_task, ':');
		size_t plen = colon ? (size_t)(colon - opt_task) : strlen(opt_task);

		for (p = 0; p < TM_RUN_NPHASES; p++)
			if (strlen(tm_run_phase_name(p)) == plen &&
			    !strncmp(tm_run_phase_name(p), opt_task, plen))
				break;
		if (p == TM_RUN_NPHASES)
			die("--task %s: no such task or phase (file, bucket, final)", opt_task);
		if (colon) {
			const char *aid = getenv("SLURM_ARRAY_TASK_ID");
			size_t idx = strtoul(colon + 1, NULL, 10) + (aid ? strtoul(aid, NULL, 10) : 0);

			if (idx >= r->phase_start[p + 1] - r->phase_start[p])
				die("--task %s: index %zu beyond the %zu tasks of phase %s", opt_task,
				    idx, r->phase_start[p + 1] - r->phase_start[p],
				    tm_run_phase_name(p));
			t = &r->tasks[r->phase_start[p] + idx];
		} else {
			prog.total = r->phase_start[p + 1] - r->phase_start[p];
			if (tm_run_exec(r, p, p, NULL, &stop_flag, on_event, &prog, &err) < 0)
				die_err(&err);
			return TM_EXIT_OK;
		}
	}
	if (tm_run_exec(r, t->phase, t->phase, t, &stop_flag, on_event, &prog, &err) < 0)
		die_err(&err);
	return TM_EXIT_OK;
}

static void dry_run(const struct tm_run *r)
{
	struct tm_buf b = TM_BUF_INIT;
	size_t i, j, k;

	for (i = 0; i < r->ntasks; i++) {
		const struct tm_run_task *t = &r->tasks[i];

		tm_buf_addf(&b, "# %s %s (%s)%s\n", tm_run_phase_name(t->phase), t->name, t->what,
			    tm_run_task_done(r, t) ? ": done" : "");
		for (j = 0; j < t->nsteps; j++) {
			const struct tm_run_step *s = &t->steps[j];

			if (s->kind == TM_RUN_MERGE_STATS) {
				tm_buf_addf(&b, "  (merge every task's stats file into %s)\n", r->stats);
				continue;
			}
			for (k = 0; k < s->ncmds; k++) {
				tm_buf_addstr(&b, k ? "    | " : "  ");
				tm_run_quote_argv(&b, s->cmds[k].argv, s->cmds[k].argc);
				tm_buf_addch(&b, '\n');
			}
		}
		if (t->rename_from)
			tm_buf_addf(&b, "  (rename %s to %s)\n", t->rename_from, t->rename_to);
	}
	fputs(b.buf ? b.buf : "", stdout);
	tm_buf_release(&b);
}

int main(int argc, char **argv)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_run_opts o = { 0 };
	struct tm_run *r;
	struct tm_ini *ini;
	struct sigaction sa;
	char bin[PATH_MAX];
	const char *executor, *slash;
	ssize_t n;
	int status;

	tm_cmd_init("tamis-run");
	tm_cmd_options(synopsis,
		       "Runs pipeline.conf's stage graph over many input files (docs/RUN.md):\n"
		       "per file, a pipe of the tamis programs ([run] file_stages, then dedup\n"
		       "sign); MinHash buckets over all files; then cluster, apply and line\n"
		       "dedup, [a BPE vocabulary,] tokenize | shard, the stats merge and the\n"
		       "report, all under the work directory.  Programs run with an argv,\n"
		       "never through a shell.  Every task leaves a marker and starts by\n"
		       "removing what an interrupted attempt left: rerun after a failure or a\n"
		       "kill and it does only what is missing, with the same bytes.\n",
		       opts, &argc, argv);
	if (argc < 2)
		usage_error(synopsis, opts, "expected CONF (e.g. pipeline.conf)");

	n = readlink("/proc/self/exe", bin, sizeof(bin) - 1);
	if (n <= 0)
		die("cannot find my own path (/proc/self/exe)");
	bin[n] = '\0';
	if ((slash = strrchr(bin, '/')))
		bin[slash - bin] = '\0';
	/* the stages get --stats and --config explicitly */
	unsetenv("TAMIS_STATS");
	unsetenv("TAMIS_CONFIG");

	o.conf = argv[1];
	o.overrides = &opt_overrides;
	o.bin_dir = bin;
	o.work = opt_work;
	o.input = opt_input;
	o.base = opt_base;
	o.files = (const char *const *)argv + 2;
	o.nfiles = (size_t)(argc - 2);
	o.jobs = opt_jobs;
	o.threads = opt_threads;
	if (opt_jobs < -1 || opt_threads < -1)
		usage_error(synopsis, opts, "--jobs and --threads must be >= 0");
	if (tm_run_plan(&o, &r, &err) < 0)
		die_err(&err);
	ini = tm_cmd_config(argv[1], &opt_overrides);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: waitpid wakes up */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (opt_task) {
		status = run_task(r);
		goto out;
	}
	if (opt_dry_run) {
		dry_run(r);
		tm_cmd_finish_stdout();
		status = TM_EXIT_OK;
		goto out;
	}
	if (tm_run_prepare(r, opt_restart, false, &err) < 0)
		die_err(&err);
	executor = opt_executor ? opt_executor :
		tm_ini_get(ini, "run", NULL, "executor") ? tm_ini_get(ini, "run", NULL, "executor") :
		"local";
	if (!strcmp(executor, "slurm")) {
		status = run_slurm(r, ini, argv + 2, argc - 2);
		goto out;
	}
	if (strcmp(executor, "local"))
		usage_error(synopsis, opts, "--executor: expected local or slurm, got '%s'", executor);
	{
		struct progress prog = { r->ntasks, 0, 0 };
		size_t i, done = 0;

		for (i = 0; i < r->ntasks; i++)
			done += tm_run_task_done(r, &r->tasks[i]);
		if (!opt_quiet)
			fprintf(stderr, "%s: %zu input file%s, %zu tasks (%zu done earlier), %ld at once, "
				"%ld thread%s each; work directory %s\n", tm_prog,
				r->phase_start[TM_RUN_BUCKET], r->phase_start[TM_RUN_BUCKET] == 1 ? "" : "s",
				r->ntasks, done, r->jobs, r->threads, r->threads == 1 ? "" : "s", r->work);
		if (tm_run_exec(r, TM_RUN_FILE, TM_RUN_FINAL, NULL, &stop_flag, on_event, &prog,
				&err) < 0)
			die_err(&err);
	}
	{
		struct tm_buf funnel = TM_BUF_INIT;

		if (tm_stats_funnel(r->stats, &funnel, &err) == 0)
			fputs(funnel.buf, stdout);
		tm_err_clear(&err);
		tm_buf_release(&funnel);
		printf("shards:     %s\nstatistics: %s\n", r->shards, r->stats);
		if (r->report)
			printf("report:     %s\n", r->report);
		printf("logs:       %s/logs\n", r->work);
	}
	tm_cmd_finish_stdout();
	status = TM_EXIT_OK;
out:
	tm_ini_free(ini);
	tm_run_free(r);
	return status;
}
