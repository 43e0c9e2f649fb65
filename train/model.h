/*
 * model.h: the Llama 3 model on the CPU: parameters and gradients in one
 * block each (llama.h's layout), activations for a batch of B sequences
 * of T tokens, forward (logits, mean cross-entropy) and backward (exact
 * gradients of that mean) in fp32, matrix products by BLAS (OpenBLAS),
 * the rest over pthreads.  llm.c's train_gpt2.c shape: one readable
 * forward/backward pair per layer kind.
 *
 * Attention is causal and per document: in each row of the batch,
 * position t attends to position s <= t only when no BOS token lies in
 * (s, t] (a BOS starts a document; the row's start is a boundary too).
 * With bos_id < 0, plain causal attention.
 *
 * Determinism: the same parameters and batch give bit-identical results
 * for a given thread count, and for any thread count where the BLAS sums
 * each element of a product in an order that does not depend on how many
 * rows the call has: OpenBLAS 0.3.21's AVX-512 kernels do (tamis train
 * -j 1, 2 and 3 write identical checkpoints), its Haswell kernels do not
 * (the last bits differ).  Everything else (attention units, row-wise
 * kernels, column sums; optim.h) gives the same bits for any thread
 * count.  No -ffast-math.
 *
 * Ownership: tm_model owns its blocks; the caller may read and write
 * params/grads directly (optimizer, checkpoints).
 */
#ifndef TM_MODEL_H
#define TM_MODEL_H

#include "llama.h"

struct tm_model;
struct tm_team;

/*
 * A model of configuration `c` (checked with tm_llama_check), with
 * activation memory for batches up to B x T (T <= c->max_seq_len) and
 * `threads` worker threads (0: all cores), which also cut every matrix
 * product into single-threaded OpenBLAS calls: this sets OpenBLAS's own
 * thread count to 1, for the whole process.  Parameters are zero until
 * tm_model_init or a load.  Returns NULL with *why set on
 * a bad configuration or when memory cannot be had.
 */
struct tm_model *tm_model_new(const struct tm_llama_config *c, int B, int T, int threads,
			      const char **why);
void tm_model_free(struct tm_model *m);

const struct tm_llama_config *tm_model_config(const struct tm_model *m);
float *tm_model_params(struct tm_model *m);	/* tm_llama_num_params floats */
float *tm_model_grads(struct tm_model *m);	/* the same layout */
int64_t tm_model_num_params(const struct tm_model *m);
/* The model's threads (team.h), for the optimizer's loops (optim.h). */
struct tm_team *tm_model_team(struct tm_model *m);
/* Bytes held: parameters, gradients, activations, scratch. */
size_t tm_model_bytes(const struct tm_model *m);

/*
 * Initialises the parameters from `seed` (a counter-based generator, so
 * the result does not depend on threads): linear weights and embeddings
 * normal(0, 0.02), the output projections of each residual branch (o_proj,
 * down_proj) normal(0, 0.02 / sqrt(2 n_layers)), RMSNorm weights 1.
 */
void tm_model_init(struct tm_model *m, uint64_t seed);
/* The same values into a parameter block of configuration c, over a
 * team of all cores of its own (for backends without a tm_model:
 * model_cuda.h); the values do not depend on the thread count. */
void tm_model_init_block(const struct tm_llama_config *c, uint64_t seed, float *params);

/*
 * Forward pass over tokens[B*T] (row-major, ids < vocab_size).  With
 * targets (B*T ids; -1 = not scored) returns the mean cross-entropy over
 * the scored positions (NaN if none) and keeps what backward needs;
 * without, returns 0.  Logits of every position stay readable until the
 * next forward: tm_model_logits() (B*T*vocab_size floats).  A token or
 * target id out of range gives NaN and computes nothing.  B*T must fit
 * the batch given to tm_model_new (B*T <= its B*T, T <= its T): a bug
 * otherwise.
 */
float tm_model_forward(struct tm_model *m, const int32_t *tokens, const int32_t *targets,
		       int B, int T, int32_t bos_id);
const float *tm_model_logits(const struct tm_model *m);

/* Sets every gradient to 0. */
void tm_model_zero_grad(struct tm_model *m);

/*
 * Adds to the gradients d(loss)/d(params) of the last forward pass with
 * targets, `loss_scale` times (1: the mean loss; 1/k to accumulate k
 * micro-batches into a mean).  Leaves what forward kept (logits included)
 * as it was, so it may run again.  Nothing to add when no target was
 * scored; calling it with no such forward pass is a bug.
 */
void tm_model_backward(struct tm_model *m, float loss_scale);

#endif
