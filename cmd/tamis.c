/*
 * tamis.c: the front.  `tamis <tool> [args]` runs `tamis-<tool> [args]`
 * (git style), looking first beside this executable, then in PATH.
 * `tamis --help` lists the tools with one line each; `tamis --version`.
 *
 * To add a tool: see cmd/README (source, table entry here, man page,
 * integration test, --help test).
 */
#include "tamis.h"
#include "common.h"

#include <limits.h>
#include <unistd.h>

struct tool {
	const char *name;
	const char *about;
};

/* Every tool, in pipeline order; one line each for `tamis --help`. */
static const struct tool tools[] = {
	{ "fetch", "download CommonCrawl files over HTTP, resumably" },
	{ "warc", "list WARC records (ls) and print one record (cat --verify)" },
	{ "extract", "WARC/WET records to clean main-content documents" },
	{ "langid", "identify the language of documents (and train models)" },
	{ "filter", "quality, safety and PII filters" },
	{ "dedup", "URL, exact, MinHash-LSH and line-level de-duplication" },
	{ "route", "set each document's source by rules (web, code, math, multilingual)" },
	{ "tokenize", "BPE-tokenize documents (tiktoken-exact)" },
	{ "shard", "write token shards for training" },
	{ "run", "run pipeline.conf locally or as Slurm job arrays" },
	{ "stats", "print the funnel from a stats database; merge databases" },
	{ "report", "write the HTML report of a stats database" },
	{ "train", "train a Llama 3 architecture model on shards" },
	{ "eval", "mean next-token loss of a model over token-id sequences" },
	{ "generate", "sample text from a model" },
};

static char self_dir[PATH_MAX];

static void find_self_dir(void)
{
	ssize_t n = readlink("/proc/self/exe", self_dir, sizeof(self_dir) - 1);
	char *slash;

	if (n <= 0) {
		self_dir[0] = '\0';
		return;
	}
	self_dir[n] = '\0';
	slash = strrchr(self_dir, '/');
	if (slash)
		*slash = '\0';
}

/* Fills path with the tool's executable; returns false if not found. */
static bool locate(const char *name, struct tm_buf *path)
{
	const char *p = getenv("PATH");

	tm_buf_reset(path);
	if (self_dir[0]) {
		tm_buf_addf(path, "%s/tamis-%s", self_dir, name);
		if (!access(path->buf, X_OK))
			return true;
	}
	while (p && *p) {
		const char *colon = strchr(p, ':');
		size_t len = colon ? (size_t)(colon - p) : strlen(p);

		tm_buf_reset(path);
		tm_buf_addf(path, "%.*s/tamis-%s", (int)len, len ? p : ".", name);
		if (!access(path->buf, X_OK))
			return true;
		p = colon ? colon + 1 : NULL;
	}
	return false;
}

static int usage(FILE *f)
{
	struct tm_buf path = TM_BUF_INIT;
	size_t i;

	fprintf(f, "usage: tamis [--version] [--help] <tool> [<args>]\n\n"
		"tamis turns CommonCrawl WARC files into clean, deduplicated,\n"
		"language-tagged, tokenized training shards.  Tools:\n\n");
	for (i = 0; i < TM_ARRAY_SIZE(tools); i++) {
		bool have = locate(tools[i].name, &path);

		fprintf(f, "    %-10s %s%s\n", tools[i].name, tools[i].about,
			have ? "" : " (not installed)");
	}
	fprintf(f, "\n'tamis <tool> --help' describes a tool; 'man tamis-<tool>' too.\n");
	tm_buf_release(&path);
	return 0;
}

int main(int argc, char **argv)
{
	struct tm_buf path = TM_BUF_INIT;
	char *help_args[] = { NULL, NULL, (char *)"--help", NULL };
	const char *tool;

	tm_cmd_init("tamis");
	find_self_dir();
	if (argc < 2) {
		usage(stderr);
		return TM_EXIT_USAGE;
	}
	tool = argv[1];
	if (!strcmp(tool, "--help") || !strcmp(tool, "-h") || !strcmp(tool, "help")) {
		if (argc > 2 && strcmp(tool, "help") == 0) {
			/* tamis help TOOL == tamis TOOL --help */
			help_args[0] = argv[0];
			help_args[1] = argv[2];
			argv = help_args;
			argc = 3;
			tool = argv[1];
		} else {
			usage(stdout);
			tm_cmd_finish_stdout();
			return TM_EXIT_OK;
		}
	}
	if (!strcmp(tool, "--version") || !strcmp(tool, "version")) {
		printf("tamis %s\n", TM_VERSION);
		tm_cmd_finish_stdout();
		return TM_EXIT_OK;
	}
	if (tool[0] == '-') {
		fprintf(stderr, "tamis: unknown option '%s'\n", tool);
		usage(stderr);
		return TM_EXIT_USAGE;
	}
	if (strchr(tool, '/') || !locate(tool, &path)) {
		fprintf(stderr, "tamis: '%s' is not a tamis tool. See 'tamis --help'.\n",
			tool);
		tm_buf_release(&path);
		return TM_EXIT_USAGE;
	}
	argv[1] = path.buf;
	execv(path.buf, argv + 1);
	die("cannot run '%s': %s", path.buf, strerror(errno));
}
