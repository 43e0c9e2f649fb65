/*
 * fetch.c: tamis-fetch, CommonCrawl files over HTTP, reliably.
 */
#include "tamis.h"
#include "common.h"
#include "fetch.h"
#include "ini.h"
#include "progress.h"
#include "stats.h"
#include "stream.h"

static const char synopsis[] = "tamis fetch [options] [PATH|URL...]";

static const char about[] =
	"Downloads files named by paths (appended to --base) or URLs: from the\n"
	"command line, a CommonCrawl paths listing (-i warc.paths.gz, plain or\n"
	"gzip), or standard input.  Each file goes to DIR/PATH through\n"
	"DIR/PATH.part, renamed only when its length checks and, for .gz files,\n"
	"every gzip member decompresses; failed attempts are retried with\n"
	"backoff and resumed with Range requests; files already complete are\n"
	"skipped, so a rerun transfers nothing.  Exit 1 if any file failed.\n";

static const char *opt_paths, *opt_base, *opt_dir = ".", *opt_shard;
static bool opt_stdout, opt_no_fsync;
static int opt_verbose;
static long opt_retries = -1, opt_connect = -1, opt_lowtime = -1, opt_lowlimit = -1;
static uint64_t opt_rate, opt_seed;
static double opt_delay = -1;
static struct tm_cmd_common cc = TM_CMD_COMMON_INIT;

static const struct tm_option opts[] = {
	{ TM_OPT_STRING, 'i', "paths", &opt_paths, "FILE",
	  "read paths from a listing (warc.paths.gz; plain or gzip; - = stdin)" },
	{ TM_OPT_STRING, 0, "base", &opt_base, "URL",
	  "prefix of paths that are not URLs (default https://data.commoncrawl.org/)" },
	{ TM_OPT_STRING, 'd', "dir", &opt_dir, "DIR",
	  "write each file to DIR/PATH (default .)" },
	{ TM_OPT_FLAG, 0, "stdout", &opt_stdout, NULL,
	  "stream the one file to standard output" },
	{ TM_OPT_STRING, 0, "shard", &opt_shard, "K/N",
	  "take every N-th path starting with the K-th (1 <= K <= N)" },
	{ TM_OPT_INT, 'j', "jobs", &cc.threads, "N", "parallel transfers (default 4)" },
	{ TM_OPT_INT, 0, "retries", &opt_retries, "N",
	  "retries per file after the first attempt (default 8)" },
	{ TM_OPT_DOUBLE, 0, "retry-delay", &opt_delay, "SECONDS",
	  "first backoff; doubles per retry, up to 60 s, with jitter (default 1)" },
	{ TM_OPT_INT, 0, "connect-timeout", &opt_connect, "SECONDS",
	  "give up connecting after this long (default 10)" },
	{ TM_OPT_INT, 0, "low-speed-time", &opt_lowtime, "SECONDS",
	  "abort and retry a transfer slower than --low-speed-limit this long (default 30)" },
	{ TM_OPT_INT, 0, "low-speed-limit", &opt_lowlimit, "BYTES",
	  "bytes per second (default 1000)" },
	{ TM_OPT_SIZE, 0, "limit-rate", &opt_rate, "RATE",
	  "at most RATE bytes per second in total (e.g. 50M)" },
	{ TM_OPT_FLAG, 0, "no-fsync", &opt_no_fsync, NULL,
	  "rename files without waiting for the disk (faster; a machine crash may leave short files)" },
	{ TM_OPT_U64, 0, "seed", &opt_seed, "N", "seed of the retry jitter (default: random)" },
	{ TM_OPT_STRING, 0, "stats", &cc.stats, "FILE", "record the run in this stats database" },
	{ TM_OPT_FLAG, 0, "progress", &cc.progress, NULL,
	  "show progress on stderr even when it is not a terminal" },
	{ TM_OPT_COUNT, 'v', "verbose", &opt_verbose, NULL, "report every retry on stderr" },
	TM_OPT_CONFIG(&cc.config, &cc.overrides),
	TM_OPT_END_MARK,
};

/* Appends the lines of a listing (blank lines and # comments skipped). */
static void read_listing(const char *path, char ***v, size_t *n, size_t *cap)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_reader *r;
	struct tm_buf line = TM_BUF_INIT;
	int rc;

	if (tm_reader_open(path, &r, &err) < 0)
		die_err(&err);
	while ((rc = tm_reader_getline(r, &line, 64 * 1024, true, &err)) > 0) {
		size_t a = 0, b = line.len;

		while (a < b && (line.buf[a] == ' ' || line.buf[a] == '\t'))
			a++;
		while (b > a && (line.buf[b - 1] == ' ' || line.buf[b - 1] == '\t'))
			b--;
		if (a == b || line.buf[a] == '#')
			continue;
		if (*n == *cap) {
			*cap = *cap ? *cap * 2 : 1024;
			*v = tm_xrealloc(*v, *cap * sizeof(**v));
		}
		(*v)[(*n)++] = tm_xmemdup(line.buf + a, b - a);
	}
	if (rc < 0)
		die_err(&err);
	tm_buf_release(&line);
	tm_reader_free(r);
}

int main(int argc, char **argv)
{
	struct tm_fetch_opts o = TM_FETCH_OPTS_INIT;
	struct tm_fetch_result res;
	struct tm_err err = TM_ERR_INIT;
	struct tm_ini *ini;
	struct tm_stats *stats = NULL;
	char **paths = NULL, **take;
	size_t n = 0, cap = 0, ntake = 0, i;
	long k = 1, N = 1;
	int rc, status;

	tm_cmd_init("tamis-fetch");
	tm_cmd_options(synopsis, about, opts, &argc, argv);
	if (cc.threads <= 0)
		cc.threads = 4;	/* transfers, not cores: before tm_cmd_load */
	ini = tm_cmd_load(&cc);
	tm_ini_free(ini);
	if (opt_shard) {
		char *end;

		k = strtol(opt_shard, &end, 10);
		if (*end != '/' || (N = strtol(end + 1, &end, 10)) < 1 || *end ||
		    k < 1 || k > N)
			usage_error(synopsis, opts, "--shard expects K/N with 1 <= K <= N, got '%s'",
				    opt_shard);
	}
	for (i = 1; i < (size_t)argc; i++) {
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			paths = tm_xrealloc(paths, cap * sizeof(*paths));
		}
		paths[n++] = tm_xstrdup(argv[i]);
	}
	if (opt_paths)
		read_listing(opt_paths, &paths, &n, &cap);
	else if (argc == 1)
		read_listing("-", &paths, &n, &cap);
	take = tm_xcalloc(n ? n : 1, sizeof(*take));
	for (i = 0; i < n; i++)
		if ((long)(i % (size_t)N) == k - 1)
			take[ntake++] = paths[i];
	if (opt_stdout && ntake != 1)
		usage_error(synopsis, opts, "--stdout takes exactly one path, got %zu", ntake);

	if (cc.stats && tm_stats_open(cc.stats, "fetch", argc, argv, &stats, &err) < 0)
		die_err(&err);
	if (opt_base)
		o.base = opt_base;
	o.dir = opt_dir;
	o.to_stdout = opt_stdout;
	o.parallel = (int)cc.threads;
	if (opt_retries >= 0)
		o.retries = (int)opt_retries;
	if (opt_delay >= 0)
		o.retry_delay = opt_delay;
	if (opt_connect > 0)
		o.connect_timeout = opt_connect;
	if (opt_lowtime > 0)
		o.low_speed_time = opt_lowtime;
	if (opt_lowlimit > 0)
		o.low_speed_limit = opt_lowlimit;
	o.limit_rate = opt_rate;
	o.verbose = opt_verbose > 0;
	o.log = stderr;
	o.prog = tm_prog;
	o.stats = stats;
	o.seed = opt_seed;
	o.no_fsync = opt_no_fsync;
	o.progress = tm_progress_new("fetch", ntake, tm_progress_auto(stderr, cc.progress), stderr);

	rc = tm_fetch_run(&o, (const char *const *)take, ntake, &res, &err);
	tm_progress_done(o.progress);
	tm_progress_free(o.progress);
	status = TM_EXIT_OK;
	if (rc == TM_ENET) {
		fprintf(stderr, "%s: %" PRIu64 " of %zu files failed\n", tm_prog, res.failed, ntake);
		status = TM_EXIT_FAIL;
	} else if (rc == TM_EINVAL) {
		warn_err(&err);
		status = TM_EXIT_USAGE;
	} else if (rc < 0) {
		if (err.code)
			warn_err(&err);
		status = TM_EXIT_FAIL;
	}
	if (opt_verbose)
		fprintf(stderr, "%s: %" PRIu64 " ok, %" PRIu64 " skipped, %" PRIu64
			" failed, %" PRIu64 " retries, %" PRIu64 " bytes\n", tm_prog,
			res.ok, res.skipped, res.failed, res.retries, res.bytes);
	if (stats) {
		struct tm_stats_totals t = { 0 };

		t.docs_in = ntake;
		t.docs_out = res.ok + res.skipped;
		t.bytes_out = res.bytes;
		tm_stats_totals_add(stats, &t);
		if (tm_stats_close(stats, status, &err) < 0) {
			warn_err(&err);
			status = TM_EXIT_FAIL;
		}
	}
	for (i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
	free(take);
	if (opt_stdout && status == TM_EXIT_OK)
		tm_cmd_finish_stdout();
	return status;
}
