/*
 * eval.c: tamis-eval, the mean next-token loss of a model over sequences.
 *
 *   tamis eval [options] --model DIR --ids FILE
 */
#include "tamis.h"
#include "common.h"
#include "trainer.h"
#include "stream.h"

static const char synopsis[] = "tamis eval [options] --model DIR --ids FILE";

static const char *opt_model, *opt_ids;
static long opt_threads;

static const struct tm_option opts[] = {
	{ TM_OPT_STRING, 0, "model", &opt_model, "DIR",
	  "a tamis checkpoint or a Hugging Face Llama directory (config.json + safetensors)" },
	{ TM_OPT_STRING, 0, "ids", &opt_ids, "FILE",
	  "sequences, one per line, of space-separated token ids (- = stdin)" },
	{ TM_OPT_INT, 'j', "threads", &opt_threads, "N", "threads (default: all cores)" },
	TM_OPT_END_MARK
};

int main(int argc, char **argv)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_reader *r;
	struct tm_buf line = TM_BUF_INIT;
	int32_t **seqs = NULL;
	int *lens = NULL;
	size_t n = 0, i;
	long lineno = 0;
	double loss;
	uint64_t scored;
	int rc;

	tm_cmd_init("tamis-eval");
	tm_cmd_options(synopsis,
		       "Prints the mean next-token cross-entropy (nats) of the model over every\n"
		       "position of the given sequences but the first of each (one context per\n"
		       "line, no document masking); the last line is `loss <value>`.\n",
		       opts, &argc, argv);
	if (argc > 1 || !opt_model || !opt_ids)
		usage_error(synopsis, opts, "--model and --ids are required");
	if (tm_reader_open(opt_ids, &r, &err) < 0)
		die_err(&err);
	while ((rc = tm_reader_getline(r, &line, 64 << 20, true, &err)) > 0) {
		char *s = line.buf, *end;
		int32_t *v = NULL;
		int len = 0;

		lineno++;
		for (;;) {
			long id;

			while (*s == ' ' || *s == '\t')
				s++;
			if (!*s)
				break;
			errno = 0;
			id = strtol(s, &end, 10);
			if (end == s || errno || id < 0 || id > INT32_MAX || (*end && *end != ' ' && *end != '\t'))
				die("%s: line %ld: expected space-separated token ids, got '%.20s'",
				    opt_ids, lineno, s);
			v = tm_xrealloc(v, (size_t)(len + 1) * sizeof(*v));
			v[len++] = (int32_t)id;
			s = end;
		}
		if (!len)
			continue;
		seqs = tm_xrealloc(seqs, (n + 1) * sizeof(*seqs));
		lens = tm_xrealloc(lens, (n + 1) * sizeof(*lens));
		seqs[n] = v;
		lens[n++] = len;
	}
	if (rc < 0)
		die_err(&err);
	tm_reader_free(r);
	tm_buf_release(&line);
	if (tm_eval_ids(opt_model, (const int32_t *const *)seqs, lens, n, (int)opt_threads, &loss,
			&scored, &err) < 0)
		die_err(&err);
	printf("sequences %zu\npositions %" PRIu64 "\nloss %.6f\n", n, scored, loss);
	for (i = 0; i < n; i++)
		free(seqs[i]);
	free(seqs);
	free(lens);
	tm_cmd_finish_stdout();
	return TM_EXIT_OK;
}
