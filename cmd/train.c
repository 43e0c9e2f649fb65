/*
 * train.c: tamis-train, the reference trainer (train/trainer.h).
 *
 *   tamis train [options] --mix PLAN -o DIR
 */
#include "tamis.h"
#include "common.h"
#include "trainer.h"
#include "llama.h"
#include "stats.h"
#ifdef TM_HAVE_CUDA
#include "model_cuda.h"
#endif

#include <math.h>

static const char synopsis[] = "tamis train [options] --mix PLAN -o DIR";

static const char *opt_mix, *opt_shards, *opt_out, *opt_model = "tiny", *opt_init, *opt_stats;
static const char *opt_device = "cpu";
static long opt_threads, opt_seed = 1, opt_max_steps = -1, opt_ckpt = 100, opt_keep = 2;
static long opt_log = 10, opt_fault = -1;
static double opt_clip = 1.0, opt_spike = 3.0;
static bool opt_quiet, opt_describe, opt_recompute;
static struct tm_strlist opt_set;

static const struct tm_option opts[] = {
	{ TM_OPT_STRING, 0, "mix", &opt_mix, "PLAN",
	  "the mixture plan: sources, phases, weights, LR (mixes/*.conf; required)" },
	{ TM_OPT_STRING, 0, "shards", &opt_shards, "DIR",
	  "the shard directory (default: the plan's [mix] shards)" },
	{ TM_OPT_STRING, 'o', "output", &opt_out, "DIR",
	  "checkpoints go here; a DIR with checkpoints is resumed (required)" },
	{ TM_OPT_STRING, 0, "model", &opt_model, "NAME",
	  "tiny (default), 16m, 120m, 1b, 8b, 70b or 405b (vocabulary: the shards')" },
	{ TM_OPT_STRING, 0, "init", &opt_init, "DIR",
	  "start from this checkpoint or Hugging Face Llama directory" },
	{ TM_OPT_STRING, 0, "device", &opt_device, "cpu|cuda",
	  "where to train: cpu (fp32, default) or cuda (bf16 on GPU 0)" },
	{ TM_OPT_FLAG, 0, "recompute", &opt_recompute, NULL,
	  "cuda: recompute FFN activations in backward (less memory)" },
	{ TM_OPT_INT, 'j', "threads", &opt_threads, "N", "threads (default: all cores)" },
	{ TM_OPT_INT, 0, "seed", &opt_seed, "S", "seed of the initial parameters (default 1)" },
	{ TM_OPT_INT, 0, "max-steps", &opt_max_steps, "N",
	  "stop after N updates (a checkpoint is written; rerun to go on)" },
	{ TM_OPT_INT, 0, "checkpoint-every", &opt_ckpt, "N",
	  "steps between checkpoints (default 100; and at each phase's end)" },
	{ TM_OPT_INT, 0, "keep", &opt_keep, "N", "checkpoints kept (default 2)" },
	{ TM_OPT_DOUBLE, 0, "clip", &opt_clip, "X", "gradient norm limit (default 1.0)" },
	{ TM_OPT_DOUBLE, 0, "spike", &opt_spike, "X",
	  "a loss above X times its running average rolls back (default 3; 0: off)" },
	{ TM_OPT_INT, 0, "fault-step", &opt_fault, "STEP",
	  "testing: make the loss NaN at this step once (it must roll back)" },
	{ TM_OPT_INT, 0, "log-every", &opt_log, "N", "print every N-th step (default 10)" },
	{ TM_OPT_STRING, 0, "stats", &opt_stats, "FILE",
	  "record steps, losses and evaluations in this stats database (default $TAMIS_STATS)" },
	{ TM_OPT_FLAG, 0, "describe", &opt_describe, NULL,
	  "print the --model's shape, parameter count, FLOPs and memory, and exit" },
	{ TM_OPT_FLAG, 'q', "quiet", &opt_quiet, NULL, "print only errors" },
	{ TM_OPT_STRLIST, 'c', NULL, &opt_set, "SECTION.KEY=VALUE",
	  "override one key of the plan (repeatable)" },
	TM_OPT_END_MARK
};

/* --describe: the shape and what it costs, without data */
static void describe(void)
{
	struct tm_llama_config c;
	int64_t n, ne;
	const char *why;

	if (tm_llama_preset(opt_model, &c) < 0)
		die("unknown model '%s' (tiny, 16m, 120m, 1b, 8b, 70b, 405b)", opt_model);
	if ((why = tm_llama_check(&c)))
		die("model '%s': %s", opt_model, why);
	n = tm_llama_num_params(&c);
	ne = tm_llama_num_params_nonembed(&c);
	printf("model            %s\n", opt_model);
	printf("dim              %d\nlayers           %d\nheads            %d (kv %d, head dim %d)\n",
	       c.dim, c.n_layers, c.n_heads, c.n_kv_heads, tm_llama_head_dim(&c));
	printf("ffn              %d\nvocabulary       %d\ncontext          %d\n", c.ffn_dim,
	       c.vocab_size, c.max_seq_len);
	printf("rope             theta %g%s\n", c.rope_theta,
	       c.rope_scaling ? ", Llama 3.1 scaling (factor 8, 1, 4, 8192)" : "");
	printf("parameters       %" PRId64 " (%.2fB)\n", n, n / 1e9);
	printf("non-embedding    %" PRId64 "\n", ne);
	printf("flops/token      %.4g (T=2048: 6N + attention)\n", tm_llama_flops_per_token(&c, 2048));
	printf("training memory  %.1f GiB (fp32 parameters, gradients, 2 AdamW moments)\n",
	       16.0 * (double)n / (1u << 30));
}

static void on_step(void *arg, const struct tm_train_step_info *s)
{
	(void)arg;
	if (opt_quiet || (opt_log > 0 && (s->step + 1) % (uint64_t)opt_log && s->step + 1 != s->steps))
		return;
	printf("step %6" PRIu64 "/%" PRIu64 "  %-8s loss %.4f  lr %.3e  |g| %.3f  %.0f tok/s\n",
	       s->step + 1, s->steps, s->phase, s->loss, s->lr, s->grad_norm, s->tokens_per_s);
	fflush(stdout);
}

static void on_eval(void *arg, uint64_t step, const char *split, double loss)
{
	(void)arg;
	if (!opt_quiet)
		printf("eval  %6" PRIu64 "  %-20s loss %.4f\n", step + 1, split, loss);
}

static void on_note(void *arg, const char *msg)
{
	(void)arg;
	if (!opt_quiet)
		fprintf(stderr, "%s: %s\n", tm_prog, msg);
}

int main(int argc, char **argv)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_train_opts o;
	struct tm_stats *st = NULL;
	int rc;

	tm_cmd_init("tamis-train");
	tm_cmd_options(synopsis,
		       "Trains a Llama 3 architecture model (RMSNorm, GQA, RoPE, SwiGLU) on\n"
		       "token shards through a mixture plan: its phases (main, anneal, ...)\n"
		       "with token budgets, source weights and learning-rate shape.  AdamW\n"
		       "(0.9, 0.95, weight decay 0.1), gradient clipping, fp32 on the CPU\n"
		       "with OpenBLAS, or bf16 on a GPU with --device cuda.  Checkpoints are\n"
		       "Hugging Face Llama directories plus the optimizer state, written\n"
		       "atomically; a rerun resumes bit for bit; a NaN or a loss spike rolls\n"
		       "back to the last checkpoint and skips the batch.  Steps and\n"
		       "evaluations go to --stats.\n",
		       opts, &argc, argv);
	if (argc > 1)
		usage_error(synopsis, opts, "unexpected argument '%s'", argv[1]);
	if (opt_describe) {
		describe();
		tm_cmd_finish_stdout();
		return TM_EXIT_OK;
	}
	if (!opt_mix || !opt_out)
		usage_error(synopsis, opts, "--mix and -o are required");
	if (opt_keep < 1 || opt_threads < 0 || opt_clip <= 0)
		usage_error(synopsis, opts, "--keep >= 1, --threads >= 0 and --clip > 0");
	if (strcmp(opt_device, "cpu") && strcmp(opt_device, "cuda"))
		usage_error(synopsis, opts, "--device is cpu or cuda, not '%s'", opt_device);
	if (!strcmp(opt_device, "cuda")) {
#ifdef TM_HAVE_CUDA
		const char *why = NULL;

		/* before the plan and shards load: say at once when there is no GPU */
		if (tm_cuda_devices(&why) <= 0)
			die("--device cuda: no usable CUDA device (%s)", why);
#else
		die("--device cuda: this build has no CUDA backend (nvcc was not found when it "
		    "was built; see train/README.md)");
#endif
	}
	if (!opt_stats)
		opt_stats = getenv("TAMIS_STATS");
	if (opt_stats && *opt_stats) {
		if (tm_stats_open(opt_stats, "train", argc, argv, &st, &err) < 0)
			die_err(&err);
	}
	tm_train_opts_init(&o);
	o.mix = opt_mix;
	o.shards = opt_shards;
	o.mix_overrides = &opt_set;
	o.model = opt_model;
	o.init = opt_init;
	o.out = opt_out;
	o.threads = (int)opt_threads;
	o.cuda = !strcmp(opt_device, "cuda");
	o.recompute = opt_recompute;
	o.seed = (uint64_t)opt_seed;
	o.max_steps = opt_max_steps;
	o.ckpt_every = opt_ckpt;
	o.keep = (int)opt_keep;
	o.clip = opt_clip;
	o.spike = opt_spike;
	o.fault_step = opt_fault;
	o.stats = st;
	o.on_step = on_step;
	o.on_eval = on_eval;
	o.on_note = on_note;
	rc = tm_train_run(&o, &err);
	if (rc < 0)
		warn_err(&err);
	rc = tm_cmd_stats_close(st, 0, 0, 0, 0, rc < 0 ? TM_EXIT_FAIL : TM_EXIT_OK);
	tm_cmd_finish_stdout();
	return rc;
}
