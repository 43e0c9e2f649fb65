/*
 * stats.c: tamis-stats, reading and joining statistics databases.
 *
 *   tamis stats [FILE]                 print the funnel of FILE
 *   tamis stats merge DEST SRC...      join cluster tasks' files into DEST
 */
#include "tamis.h"
#include "common.h"
#include "stats.h"

static const char show_synopsis[] = "tamis stats [options] [FILE]";
static const char merge_synopsis[] = "tamis stats merge [options] DEST SRC...";

static const struct tm_option no_opts[] = { TM_OPT_END_MARK };

static int cmd_show(int argc, char **argv)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_buf out = TM_BUF_INIT;

	tm_cmd_options(show_synopsis,
		       "Prints the funnel of a stats database: per stage, runs, documents\n"
		       "in and out, removed, bytes and tokens.  FILE defaults to $TAMIS_STATS,\n"
		       "then stats.sqlite.\n", no_opts, &argc, argv);
	if (argc > 2)
		usage_error(show_synopsis, no_opts, "expected at most one FILE");
	if (tm_stats_funnel(tm_cmd_stats_file(argc == 2 ? argv[1] : NULL), &out, &err) < 0)
		die_err(&err);
	fputs(out.buf, stdout);
	tm_buf_release(&out);
	tm_cmd_finish_stdout();
	return TM_EXIT_OK;
}

static int cmd_merge(int argc, char **argv)
{
	struct tm_err err = TM_ERR_INIT;

	tm_cmd_options(merge_synopsis,
		       "Merges the runs of SRC files into DEST (created if absent), e.g. the\n"
		       "one file per Slurm task.  Merging the same run twice counts it once.\n",
		       no_opts, &argc, argv);
	if (argc < 3)
		usage_error(merge_synopsis, no_opts, "expected DEST and at least one SRC");
	if (tm_stats_merge(argv[1], (const char *const *)argv + 2,
			   (size_t)(argc - 2), &err) < 0)
		die_err(&err);
	return TM_EXIT_OK;
}

int main(int argc, char **argv)
{
	tm_cmd_init("tamis-stats");
	if (argc >= 2 && !strcmp(argv[1], "merge")) {
		tm_cmd_init("tamis-stats merge");
		return cmd_merge(argc - 1, argv + 1);
	}
	return cmd_show(argc, argv);
}
