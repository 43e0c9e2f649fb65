/*
 * report.c: tamis-report, the HTML report of a statistics database.
 *
 *   tamis report [options] [FILE]      write report.html from FILE
 */
#include "tamis.h"
#include "common.h"
#include "report.h"
#include "stream.h"

static const char synopsis[] = "tamis report [options] [FILE]";

static const char *opt_out = "report.html";

static const struct tm_option opts[] = {
	{ TM_OPT_STRING, 'o', "output", &opt_out, "FILE",
	  "write the report to FILE (default report.html; - is standard output)" },
	TM_OPT_END_MARK
};

int main(int argc, char **argv)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_buf html = TM_BUF_INIT;
	struct tm_writer *w;

	tm_cmd_init("tamis-report");
	tm_cmd_options(synopsis,
		       "Writes one self-contained HTML file (inline SVG charts, no script,\n"
		       "nothing fetched) from a stats database: runs, the funnel, removal\n"
		       "reasons, languages, tokens per source, training curves and every\n"
		       "histogram.  FILE defaults to $TAMIS_STATS, then stats.sqlite.\n",
		       opts, &argc, argv);
	if (argc > 2)
		usage_error(synopsis, opts, "expected at most one FILE");
	if (!*opt_out)
		usage_error(synopsis, opts, "-o expects a file name");
	if (tm_report_write(tm_cmd_stats_file(argc == 2 ? argv[1] : NULL), &html, &err) < 0)
		die_err(&err);
	if (tm_writer_open(opt_out, TM_CODEC_AUTO, 0, &w, &err) < 0)
		die_err(&err);
	if (tm_writer_write(w, html.buf, html.len, &err) < 0) {
		tm_writer_abort(w);
		die_err(&err);
	}
	if (tm_writer_commit(w, &err) < 0)
		die_err(&err);
	tm_buf_release(&html);
	return TM_EXIT_OK;
}
