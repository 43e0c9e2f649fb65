/*
 * run.h: the pipeline driver behind `tamis run`: the stage graph of
 * pipeline.conf as tasks, and their execution as OS pipes of the tamis
 * programs (fork and exec with an argv; never a shell).
 *
 * The graph (docs/RUN.md):
 *   phase "file", one task per input file: [fetch] then the per-file pipe
 *     ([run] file_stages: extract | langid | route | filter | dedup url |
 *     dedup exact, the last writing WORK/docs/NNNNNN.jsonl.zst), then
 *     `dedup sign` of that file (WORK/sig/NNNNNN.sig);
 *   phase "bucket", one task per range of MinHash bands ([run]
 *     bucket_tasks): `dedup bucket` of every signature file;
 *   phase "final", tasks run one after the other: `dedup cluster` of every
 *     pair file; `dedup apply | dedup lines` of every document file
 *     (WORK/final.jsonl.zst); `tokenize train` when [run] vocab_size is
 *     set; `tokenize | shard` (WORK/shards/SOURCE/...); the stats merge
 *     (WORK/stats.sqlite); `report` (WORK/report.html).
 * Every task writes its outputs under temporary names the tools rename,
 * then its marker WORK/tasks/NAME.done; a task with a marker is skipped,
 * and a task without one first removes whatever an interrupted attempt
 * left (its outputs, their temporary files, its stats file), so a run
 * killed at any moment and rerun gives the same bytes.  Each task's
 * stages write one stats file (WORK/stats/NAME.sqlite) and their standard
 * error to WORK/logs/NAME.log.
 *
 * The local executor (tm_run_exec) runs up to `jobs` tasks of a phase at
 * once; Slurm jobs run one task each through the same function.
 *
 * Ownership: struct tm_run owns its tasks and every string in them.
 * Depends on ini, buf, err, stats; POSIX process control (fork, execv,
 * pipe, waitpid); Linux's PR_SET_PDEATHSIG so that stages die with the
 * driver.  No printing: events go to the caller's callback.
 */
#ifndef TM_RUN_H
#define TM_RUN_H

#include "tamis.h"
#include "opt.h"

#include <signal.h>

struct tm_ini;

enum tm_run_phase {
	TM_RUN_FILE,
	TM_RUN_BUCKET,
	TM_RUN_FINAL,
	TM_RUN_NPHASES
};

/* What the driver needs besides pipeline.conf. */
struct tm_run_opts {
	const char *conf;		/* pipeline.conf (required) */
	const struct tm_strlist *overrides;	/* -c SECTION.KEY=VALUE */
	const char *bin_dir;		/* where tamis-<tool> live */
	const char *work;		/* NULL: [run] work */
	const char *input;		/* NULL: [run] input */
	const char *base;		/* NULL: [run] base */
	const char *const *files;	/* input files given directly; with nfiles */
	size_t nfiles;
	long jobs;			/* < 0: [run] jobs */
	long threads;			/* < 0: [run] threads */
};

/* One process of a pipe: argv[0] is the program's path. */
struct tm_run_cmd {
	char **argv;
	size_t argc;
};

enum tm_run_step_kind {
	TM_RUN_PIPE,		/* the cmds, stdout of each to stdin of the next */
	TM_RUN_MERGE_STATS,	/* tm_stats_merge of every task's stats file */
};

struct tm_run_step {
	enum tm_run_step_kind kind;
	struct tm_run_cmd *cmds;
	size_t ncmds;
};

struct tm_run_task {
	char *name;		/* file-000003, bucket-01, final-shards */
	char *what;		/* the input, band range, ... for messages */
	enum tm_run_phase phase;
	size_t index;		/* within the phase */
	struct tm_run_step *steps;
	size_t nsteps;
	char **outputs;		/* removed, with their temporary files, first */
	size_t noutputs;
	char *rename_from;	/* renamed to rename_to after the last step */
	char *rename_to;
	char *drop_after;	/* removed after success (a fetched input) */
	char *marker, *log, *stats;
};

struct tm_run {
	char *work;
	char *conf;
	long jobs, threads;
	bool keep_fetched;
	struct tm_run_task *tasks;
	size_t ntasks;
	size_t phase_start[TM_RUN_NPHASES + 1];	/* tasks of phase p: [start[p], start[p+1]) */
	/* the products, for the summary */
	char *shards, *stats, *report;
	char *fingerprint;	/* XXH64 of what the outputs depend on, hex */
};

/*
 * Builds the plan: reads [run] and the other sections it needs, lists the
 * inputs, makes the task list.  Nothing is written.  Returns 0, or an
 * error (config, unreadable listing, no input).
 */
int tm_run_plan(const struct tm_run_opts *o, struct tm_run **out, struct tm_err *err);
void tm_run_free(struct tm_run *r);

/*
 * Prepares WORK: its directories, the lock (one driver per WORK; a second
 * gets TM_EINVAL), and the fingerprint: a WORK made from another
 * configuration or input list is refused (TM_ECONFIG) unless `restart`,
 * which first removes every marker.  The lock is held until tm_run_free.
 * `task`: one Slurm task among many at once: no lock, and the fingerprint
 * must already be there and match.
 */
int tm_run_prepare(struct tm_run *r, bool restart, bool task, struct tm_err *err);

/* True when the task's marker exists. */
bool tm_run_task_done(const struct tm_run *r, const struct tm_run_task *t);

enum tm_run_event {
	TM_RUN_EV_SKIP,		/* already done (marker present) */
	TM_RUN_EV_START,
	TM_RUN_EV_DONE,
	TM_RUN_EV_FAIL,		/* detail: which program, how it ended */
};

typedef void tm_run_event_fn(void *arg, enum tm_run_event ev,
			     const struct tm_run_task *t, double seconds,
			     const char *detail);

/*
 * Runs the undone tasks of phases [from, to] (up to r->jobs at once in
 * the file and bucket phases, one at a time in the final one), or only
 * task `only` when it is not NULL.  A failed task lets the running ones
 * finish, starts no other, and makes the result TM_EFAIL-like (-1 with
 * err saying how many failed).  *stop (set from a signal handler) stops
 * early: running tasks get SIGTERM.  Returns 0 when every task is done.
 */
int tm_run_exec(struct tm_run *r, enum tm_run_phase from, enum tm_run_phase to,
		const struct tm_run_task *only, volatile sig_atomic_t *stop,
		tm_run_event_fn *ev, void *arg, struct tm_err *err);

/* The task called `name`, or NULL. */
const struct tm_run_task *tm_run_find(const struct tm_run *r, const char *name);

/* Appends `argv` shell-quoted (for messages and --dry-run; never run). */
void tm_run_quote_argv(struct tm_buf *out, char *const *argv, size_t argc);

/*
 * Slurm (docs/RUN.md): submits the undone tasks as sbatch job arrays, one
 * array per phase (chunked so that no index reaches `max_array`), each
 * depending (afterok) on the previous phase's arrays; every array task
 * runs `tamis-run --task PHASE:OFFSET` with the same configuration.
 * `extra` are more sbatch arguments.  The job ids go to `ids` (one
 * "phase jobid" line each).  Returns 0, or an error naming the sbatch call.
 */
int tm_run_slurm_submit(struct tm_run *r, const char *self, const char *const *fwd, size_t nfwd,
			long max_array, char **extra, size_t nextra,
			struct tm_buf *ids, struct tm_err *err);

/*
 * Runs argv (found in $PATH) with no shell, its stdout and stderr into
 * `out`; an exit status other than 0 is an error quoting that output.
 */
int tm_run_capture(const char *const *argv, struct tm_buf *out, struct tm_err *err);

/* "file", "bucket", "final". */
const char *tm_run_phase_name(enum tm_run_phase p);

#endif
