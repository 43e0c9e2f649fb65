/*
 * llama.c: Llama 3 configurations and the parameter layout (llama.h).
 */
#include "llama.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const tm_llama_preset_names[] = {
	"tiny", "16m", "120m", "1b", "8b", "70b", "405b", NULL
};

static const struct {
	const char *name;
	int dim, n_layers, n_heads, n_kv_heads, ffn_dim, vocab, max_seq;
	bool scaling;
} presets[] = {
	/* CPU toys and benchmark sizes: head_dim 32 or 64, GQA 2:1 or 3:1 */
	{ "tiny", 128, 4, 4, 2, 384, 8192, 256, false },
	{ "16m", 384, 6, 6, 2, 1024, 8192, 1024, false },
	{ "120m", 768, 12, 12, 4, 2048, 32000, 2048, false },
	{ "1b", 2048, 16, 32, 8, 8192, 128256, 8192, true },
	/* Meta's Llama 3.1 shapes (params.json) */
	{ "8b", 4096, 32, 32, 8, 14336, 128256, 131072, true },
	{ "70b", 8192, 80, 64, 8, 28672, 128256, 131072, true },
	{ "405b", 16384, 126, 128, 8, 53248, 128256, 131072, true },
};

int tm_llama_preset(const char *name, struct tm_llama_config *c)
{
	size_t i;

	for (i = 0; i < sizeof(presets) / sizeof(presets[0]); i++) {
		if (strcmp(presets[i].name, name))
			continue;
		memset(c, 0, sizeof(*c));
		c->dim = presets[i].dim;
		c->n_layers = presets[i].n_layers;
		c->n_heads = presets[i].n_heads;
		c->n_kv_heads = presets[i].n_kv_heads;
		c->ffn_dim = presets[i].ffn_dim;
		c->vocab_size = presets[i].vocab;
		c->max_seq_len = presets[i].max_seq;
		c->norm_eps = 1e-5f;
		c->rope_theta = 500000.0;
		c->rope_scaling = presets[i].scaling;
		c->rope_factor = 8.0;
		c->rope_low_freq_factor = 1.0;
		c->rope_high_freq_factor = 4.0;
		c->rope_original_max_pos = 8192;
		return 0;
	}
	return -1;
}

const char *tm_llama_check(const struct tm_llama_config *c)
{
	if (c->dim <= 0 || c->n_layers <= 0 || c->n_heads <= 0 || c->n_kv_heads <= 0 ||
	    c->ffn_dim <= 0 || c->vocab_size <= 0 || c->max_seq_len <= 0)
		return "every size must be positive";
	if (c->dim % c->n_heads)
		return "dim must be a multiple of n_heads";
	if (c->n_heads % c->n_kv_heads)
		return "n_heads must be a multiple of n_kv_heads";
	if (tm_llama_head_dim(c) % 2)
		return "the head dimension (dim / n_heads) must be even for RoPE";
	if (!(c->norm_eps > 0) || !(c->rope_theta > 1))
		return "norm_eps must be > 0 and rope_theta > 1";
	if (c->rope_scaling && (!(c->rope_factor >= 1) ||
				!(c->rope_high_freq_factor > c->rope_low_freq_factor) ||
				c->rope_original_max_pos <= 0))
		return "RoPE scaling needs factor >= 1, high_freq_factor > low_freq_factor "
		       "and original_max_pos > 0";
	return NULL;
}

static void put(struct tm_llama_tensor *out, size_t max, size_t *n, int64_t *off,
		const char *name, int layer, int64_t d0, int64_t d1)
{
	if (out && *n < max) {
		struct tm_llama_tensor *t = &out[*n];

		memset(t, 0, sizeof(*t));
		if (layer >= 0)
			snprintf(t->name, sizeof(t->name), "model.layers.%d.%s", layer, name);
		else
			snprintf(t->name, sizeof(t->name), "%s", name);
		t->ndim = d1 ? 2 : 1;
		t->shape[0] = d0;
		t->shape[1] = d1;
		t->numel = d1 ? d0 * d1 : d0;
		t->offset = *off;
		t->layer = layer;
		t->decay = d1 != 0;
	}
	*off += d1 ? d0 * d1 : d0;
	(*n)++;
}

size_t tm_llama_tensors(const struct tm_llama_config *c, struct tm_llama_tensor *out,
			size_t max)
{
	int64_t D = c->dim, F = c->ffn_dim, V = c->vocab_size;
	int64_t hd = tm_llama_head_dim(c), Q = (int64_t)c->n_heads * hd;
	int64_t KV = (int64_t)c->n_kv_heads * hd, off = 0;
	size_t n = 0;
	int l;

	put(out, max, &n, &off, "model.embed_tokens.weight", -1, V, D);
	for (l = 0; l < c->n_layers; l++) {
		put(out, max, &n, &off, "input_layernorm.weight", l, D, 0);
		put(out, max, &n, &off, "self_attn.q_proj.weight", l, Q, D);
		put(out, max, &n, &off, "self_attn.k_proj.weight", l, KV, D);
		put(out, max, &n, &off, "self_attn.v_proj.weight", l, KV, D);
		put(out, max, &n, &off, "self_attn.o_proj.weight", l, D, Q);
		put(out, max, &n, &off, "post_attention_layernorm.weight", l, D, 0);
		put(out, max, &n, &off, "mlp.gate_proj.weight", l, F, D);
		put(out, max, &n, &off, "mlp.up_proj.weight", l, F, D);
		put(out, max, &n, &off, "mlp.down_proj.weight", l, D, F);
	}
	put(out, max, &n, &off, "model.norm.weight", -1, D, 0);
	put(out, max, &n, &off, "lm_head.weight", -1, V, D);
	return n;
}

int64_t tm_llama_num_params(const struct tm_llama_config *c)
{
	int64_t D = c->dim, F = c->ffn_dim, V = c->vocab_size;
	int64_t hd = tm_llama_head_dim(c), Q = (int64_t)c->n_heads * hd;
	int64_t KV = (int64_t)c->n_kv_heads * hd;
	int64_t layer = 2 * D + Q * D + 2 * KV * D + D * Q + 3 * F * D;

	return 2 * V * D + D + c->n_layers * layer;
}

int64_t tm_llama_num_params_nonembed(const struct tm_llama_config *c)
{
	return tm_llama_num_params(c) - (int64_t)c->vocab_size * c->dim;
}

double tm_llama_flops_per_token(const struct tm_llama_config *c, int T)
{
	return 6.0 * (double)tm_llama_num_params_nonembed(c) +
	       6.0 * c->n_layers * (double)T * c->dim;
}

void tm_llama_rope_freqs(const struct tm_llama_config *c, double *inv_freq)
{
	int hd = tm_llama_head_dim(c), i;

	for (i = 0; i < hd / 2; i++) {
		double f = pow(c->rope_theta, -2.0 * i / hd);

		if (c->rope_scaling) {
			double old = c->rope_original_max_pos;
			double low_wl = old / c->rope_low_freq_factor;
			double high_wl = old / c->rope_high_freq_factor;
			double wl = 2 * M_PI / f;

			if (wl > low_wl) {
				f /= c->rope_factor;
			} else if (wl >= high_wl) {
				double s = (old / wl - c->rope_low_freq_factor) /
					   (c->rope_high_freq_factor - c->rope_low_freq_factor);

				f = (1 - s) * f / c->rope_factor + s * f;
			}
		}
		inv_freq[i] = f;
	}
}

int tm_llama_rope_tables(const struct tm_llama_config *c, int T, float *cos_out, float *sin_out)
{
	int half = tm_llama_head_dim(c) / 2, p, i;
	double *inv = malloc(half * sizeof(*inv));

	if (!inv)
		return -1;
	tm_llama_rope_freqs(c, inv);
	for (p = 0; p < T; p++) {
		for (i = 0; i < half; i++) {
			double angle = p * inv[i];

			cos_out[(size_t)p * half + i] = (float)cos(angle);
			sin_out[(size_t)p * half + i] = (float)sin(angle);
		}
	}
	free(inv);
	return 0;
}
