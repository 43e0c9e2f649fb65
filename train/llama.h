/*
 * llama.h: the Llama 3 architecture's shape: configurations (presets from
 * a CPU toy to the published 8B/70B/405B), the parameter tensors with
 * Hugging Face's names, and their layout in the one parameter allocation.
 *
 * Architecture (DESIGN.md "The trainer"): token embedding; per layer
 * pre-norm RMSNorm -> grouped-query attention with RoPE -> residual,
 * RMSNorm -> SwiGLU FFN (w2(silu(w1 x) * w3 x)) -> residual; final RMSNorm;
 * untied output projection; no biases.  Attention is causal and masked at
 * document boundaries: a position attends only to positions of its own
 * document (a document starts at a BOS token).
 *
 * RoPE follows Hugging Face's layout ("rotate_half"): in each head, the
 * pair rotated by frequency i is (x[i], x[i + head_dim/2]), i < head_dim/2,
 * with inv_freq[i] = theta^(-2i/head_dim), scaled as Llama 3.1 does when
 * rope_scaling is set (factor, low/high frequency factors, original
 * context).  So a checkpoint's q/k weights need no permutation to be
 * loaded by transformers' LlamaForCausalLM.
 *
 * Layout: every tensor is row-major fp32, in the order tm_llama_tensors()
 * lists them, contiguous in one allocation (offsets in floats).  Linear
 * weights are [out, in] (as torch.nn.Linear and HF), so y = x W^T.
 *
 * Depends on nothing but the C library.
 */
#ifndef TM_LLAMA_H
#define TM_LLAMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tm_llama_config {
	int dim;		/* model width (hidden_size) */
	int n_layers;
	int n_heads;		/* query heads; head_dim = dim / n_heads */
	int n_kv_heads;		/* key/value heads (GQA); divides n_heads */
	int ffn_dim;		/* SwiGLU hidden width (intermediate_size) */
	int vocab_size;
	int max_seq_len;	/* context the RoPE tables cover */
	float norm_eps;		/* RMSNorm epsilon (1e-5) */
	double rope_theta;	/* 500000 */
	bool rope_scaling;	/* Llama 3.1 frequency scaling */
	double rope_factor;	/* 8 */
	double rope_low_freq_factor;	/* 1 */
	double rope_high_freq_factor;	/* 4 */
	int rope_original_max_pos;	/* 8192 */
};

/*
 * Presets by name: "tiny" (CPU demo, ~1M parameters without embeddings),
 * "16m", "120m", "1b", "8b", "70b", "405b" (the published shapes; 8b/70b/
 * 405b with vocab 128256 and Llama 3.1 RoPE scaling).  vocab_size is the
 * preset's (128256) and is normally replaced by the shards' vocabulary.
 * Returns 0, or -1 for an unknown name.
 */
int tm_llama_preset(const char *name, struct tm_llama_config *c);
/* The preset names, NULL-terminated, for help texts. */
extern const char *const tm_llama_preset_names[];

/* NULL when the configuration is consistent, else what is wrong. */
const char *tm_llama_check(const struct tm_llama_config *c);

static inline int tm_llama_head_dim(const struct tm_llama_config *c)
{
	return c->dim / c->n_heads;
}

/* One parameter tensor. */
struct tm_llama_tensor {
	char name[64];		/* HF name: model.layers.3.self_attn.q_proj.weight */
	int ndim;		/* 1 or 2 */
	int64_t shape[2];	/* [out, in] for linear weights; [n] for norms */
	int64_t offset;		/* in floats, into the parameter block */
	int64_t numel;
	int layer;		/* -1 for embedding, final norm, lm_head */
	bool decay;		/* AdamW weight decay applies (2-D tensors only) */
};

/*
 * The tensors in layout order: model.embed_tokens.weight [V, D]; per layer
 * input_layernorm [D], self_attn.q_proj [H*hd, D], k_proj [KV*hd, D],
 * v_proj [KV*hd, D], o_proj [D, H*hd], post_attention_layernorm [D],
 * mlp.gate_proj (w1) [F, D], mlp.up_proj (w3) [F, D], mlp.down_proj (w2)
 * [D, F]; model.norm.weight [D]; lm_head.weight [V, D].  Writes up to
 * `max` entries to `out` (out may be NULL) and returns the count
 * (3 + 9 * n_layers).
 */
size_t tm_llama_tensors(const struct tm_llama_config *c, struct tm_llama_tensor *out,
			size_t max);

/* Parameters in all (the size of the parameter block, in floats). */
int64_t tm_llama_num_params(const struct tm_llama_config *c);
/* ... without the input embedding (the usual "non-embedding" count
 * plus the output projection, as Kaplan et al. count N for 6N). */
int64_t tm_llama_num_params_nonembed(const struct tm_llama_config *c);

/*
 * Training FLOPs per token at sequence length T: 6 N (N without the
 * input embedding) plus attention, 6 * n_layers * T * dim (forward
 * 2 * 2 * T/2 * dim for QK^T and AV under the causal mask, times 3 with
 * the backward pass), as PaLM's appendix B counts it (halved for the mask).
 */
double tm_llama_flops_per_token(const struct tm_llama_config *c, int T);

/*
 * RoPE inverse frequencies, head_dim / 2 of them, with Llama 3.1 scaling
 * when c->rope_scaling (transformers' _compute_llama3_parameters).
 */
void tm_llama_rope_freqs(const struct tm_llama_config *c, double *inv_freq);

/*
 * The RoPE tables for positions [0, T): cos and sin of pos * inv_freq[i],
 * [T, head_dim / 2] each, computed in double and rounded to float (the
 * CPU and CUDA models share them, so both rotate by the same floats).
 * Returns -1 when memory cannot be had.
 */
int tm_llama_rope_tables(const struct tm_llama_config *c, int T, float *cos_out, float *sin_out);

#endif
