/*
 * generate.c: tamis-generate, text sampled from a checkpoint.
 *
 *   tamis generate [options] --model DIR [--vocab FILE] [PROMPT]
 */
#include "tamis.h"
#include "common.h"
#include "trainer.h"
#include "bpe.h"

static const char synopsis[] = "tamis generate [options] --model DIR [PROMPT]";

static const char *opt_model, *opt_vocab, *opt_ids;
static long opt_n = 64, opt_top_k = 40, opt_seed = 1, opt_threads;
static double opt_temp = 0.8;

static const struct tm_option opts[] = {
	{ TM_OPT_STRING, 0, "model", &opt_model, "DIR",
	  "a tamis checkpoint or a Hugging Face Llama directory (required)" },
	{ TM_OPT_STRING, 0, "vocab", &opt_vocab, "FILE",
	  "the tiktoken-format vocabulary to encode PROMPT and decode the output" },
	{ TM_OPT_STRING, 0, "ids", &opt_ids, "IDS",
	  "the prompt as space-separated token ids instead of PROMPT" },
	{ TM_OPT_INT, 'n', "tokens", &opt_n, "N", "tokens to sample (default 64)" },
	{ TM_OPT_DOUBLE, 0, "temperature", &opt_temp, "T", "0: greedy (default 0.8)" },
	{ TM_OPT_INT, 0, "top-k", &opt_top_k, "K", "sample among the K likeliest (default 40; 0: all)" },
	{ TM_OPT_INT, 0, "seed", &opt_seed, "S", "seed of the sampling (default 1)" },
	{ TM_OPT_INT, 'j', "threads", &opt_threads, "N", "threads (default: all cores)" },
	TM_OPT_END_MARK
};

int main(int argc, char **argv)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_bpe *bpe = NULL;
	int32_t *prompt = NULL, *out = NULL, bos;
	int np = 0, nout, i;

	tm_cmd_init("tamis-generate");
	tm_cmd_options(synopsis,
		       "Samples tokens after a prompt from a model and prints them: as text\n"
		       "with --vocab, else as ids.  The context starts with the model's BOS.\n",
		       opts, &argc, argv);
	if (!opt_model || argc > 2 || (argc == 2 && opt_ids) || opt_n < 0)
		usage_error(synopsis, opts, "--model is required; PROMPT or --ids, not both");
	if (opt_vocab && (tm_bpe_load(opt_vocab, TM_BPE_PAT_CL100K, &bpe, &err) < 0 ||
			  tm_bpe_add_specials(bpe, NULL, &err) < 0))
		die_err(&err);
	if (argc == 2) {
		struct tm_bpe_ctx *ctx;
		const uint32_t *ids;
		size_t k;

		if (!bpe)
			usage_error(synopsis, opts, "a text PROMPT needs --vocab (or give --ids)");
		ctx = tm_bpe_ctx_new(bpe);
		k = tm_bpe_encode(ctx, argv[1], strlen(argv[1]), &ids);
		prompt = tm_xcalloc(k + 1, sizeof(*prompt));
		for (i = 0; i < (int)k; i++)
			prompt[i] = (int32_t)ids[i];
		np = (int)k;
		tm_bpe_ctx_free(ctx);
	} else if (opt_ids) {
		const char *s = opt_ids;
		char *end;

		while (*s) {
			long id = strtol(s, &end, 10);

			if (end == s)
				die("--ids: expected space-separated token ids, got '%.20s'", s);
			prompt = tm_xrealloc(prompt, (size_t)(np + 1) * sizeof(*prompt));
			prompt[np++] = (int32_t)id;
			s = end;
			while (*s == ' ')
				s++;
		}
	}
	if (tm_generate(opt_model, prompt, np, (int)opt_n, opt_temp, (int)opt_top_k,
			(uint64_t)opt_seed, (int)opt_threads, &out, &nout, &bos, &err) < 0)
		die_err(&err);
	for (i = 0; i < nout; i++) {
		if (out[i] == bos && i == 0)
			continue;
		if (bpe) {
			size_t len;
			const char *tok = tm_bpe_token(bpe, (uint32_t)out[i], &len);

			if (tok)
				fwrite(tok, 1, len, stdout);
		} else {
			printf("%s%d", i > (bos >= 0 && out[0] == bos) ? " " : "", out[i]);
		}
	}
	putchar('\n');
	free(prompt);
	free(out);
	tm_bpe_free(bpe);
	tm_cmd_finish_stdout();
	return TM_EXIT_OK;
}
