/*
 * trainer.h: the training loop of `tamis train`: a mixture plan
 * (mix.h) feeds the model (model.h), AdamW (optim.h) updates it at the
 * plan's learning rate, checkpoints (Hugging Face directories plus
 * train_state.bin, hf.h) are written atomically, and a NaN or a loss
 * spike rolls back to the last good checkpoint and skips the batch.
 *
 * Steps are counted from 1 in messages and names (step-00000010 holds the
 * state after 10 updates); the plan's step indexes are 0-based.
 *
 * Checkpoints: OUT/step-NNNNNNNN/ (config.json, model.safetensors in
 * fp32, train_state.bin) and OUT/latest naming the newest complete one
 * (written by rename after the directory is in place).  A run started
 * on OUT with a `latest` resumes from it: parameters, optimizer moments,
 * the data position, the loss average and the skipped batches, so that
 * the losses continue bit for bit as if it had not stopped (with the
 * same thread count).  Step 0 is checkpointed before the first update,
 * so there is always a state to roll back to.
 *
 * train_state.bin (little-endian): "TMTRST01", u32 version (1), u32 0,
 * u64 optimizer steps, f64 loss average, u64 averaged steps, u32
 * rollbacks, u32 skipped count, u64 skipped plan steps..., u32 loader
 * state bytes, the loader state (mix.h), u64 parameters, f32 first
 * moments, f32 second moments, u64 XXH64 of everything before it.
 *
 * No printing: progress and events go to the callbacks.
 */
#ifndef TM_TRAINER_H
#define TM_TRAINER_H

#include "llama.h"
#include "opt.h"

struct tm_stats;

struct tm_train_step_info {
	uint64_t step, steps;	/* 0-based plan step, and the plan's total */
	const char *phase;
	double loss, lr, grad_norm;
	double tokens_per_s;
	uint64_t tokens;	/* consumed so far */
};

struct tm_train_opts {
	const char *mix;		/* a mixture plan (mixes/NAME.conf) */
	const char *shards;		/* overrides the plan's [mix] shards; NULL: as it says */
	const struct tm_strlist *mix_overrides;	/* -c for the plan */
	const char *model;		/* preset name (llama.h) */
	const char *init;		/* NULL, or an HF directory to start from */
	const char *out;		/* checkpoint directory */
	int threads;			/* 0: all cores */
	bool cuda;			/* the CUDA backend (model_cuda.h); an error
					 * in a build without it */
	bool recompute;			/* cuda: recompute FFN activations in backward */
	uint64_t seed;			/* parameter initialisation */
	int64_t max_steps;		/* stop after this many updates in this run; < 0: all */
	int64_t ckpt_every;		/* steps between checkpoints (and at each phase end) */
	int keep;			/* complete checkpoints kept (>= 1) */
	double clip;			/* gradient norm limit (1.0) */
	double spike;			/* loss > spike x average: roll back (0: off) */
	int max_rollbacks;		/* then give up */
	int64_t fault_step;		/* testing: a NaN loss at this plan step, once; -1 */
	struct tm_stats *stats;
	void (*on_step)(void *arg, const struct tm_train_step_info *s);
	void (*on_eval)(void *arg, uint64_t step, const char *split, double loss);
	void (*on_note)(void *arg, const char *msg);	/* resumes, rollbacks, checkpoints */
	void *arg;
};

/* Defaults: tiny model, clip 1, spike 3, keep 2, checkpoint every 100. */
void tm_train_opts_init(struct tm_train_opts *o);

/*
 * Trains until the plan ends (or max_steps).  Returns 0, or an error:
 * the plan, shards, checkpoints, or TM_EFORMAT after max_rollbacks.
 */
int tm_train_run(const struct tm_train_opts *o, struct tm_err *err);

/*
 * The mean next-token loss of the model in `dir` (a tamis checkpoint or a
 * Hugging Face Llama directory) over sequences of ids: every position
 * but the first of each sequence is scored.  *scored gets the count.
 */
int tm_eval_ids(const char *dir, const int32_t *const *seqs, const int *lens, size_t n,
		int threads, double *loss, uint64_t *scored, struct tm_err *err);

/*
 * Samples n tokens after `prompt` from the model in `dir` (a checkpoint or
 * an HF directory): temperature (0: greedy) and top-k (0: all), from a
 * splitmix64 stream seeded with `seed`.  The context starts with the
 * model's BOS (config.json bos_token_id) unless the prompt does.  *out
 * (malloc'ed) gets the whole sequence, *nout its length, *bos the BOS id
 * or -1.
 */
int tm_generate(const char *dir, const int32_t *prompt, int nprompt, int n, double temperature,
		int top_k, uint64_t seed, int threads, int32_t **out, int *nout, int32_t *bos,
		struct tm_err *err);

#endif
