/*
 * u-llama.c: the Llama 3 shapes (train/llama.c): parameter counts of the
 * published models (Meta's model cards: 8.03B, 70.6B, 405.9B), the tensor
 * table's names, shapes and contiguous layout, configuration checks, and
 * Llama 3.1's RoPE frequency scaling against transformers' formula.
 */
#include "tamis.h"
#include "llama.h"
#include "tap.h"

#include <math.h>

static void test_counts(void)
{
	static const struct {
		const char *name;
		int64_t exact;		/* computed from params.json's shapes */
		double published;	/* the model card, in billions */
	} m[] = {
		{ "8b", 8030261248LL, 8.03 },
		{ "70b", 70553706496LL, 70.6 },
		{ "405b", 405853388800LL, 405.9 },
	};
	struct tm_llama_config c;
	size_t i;

	for (i = 0; i < TM_ARRAY_SIZE(m); i++) {
		int64_t n;

		ok(tm_llama_preset(m[i].name, &c) == 0, "preset %s", m[i].name);
		n = tm_llama_num_params(&c);
		ok(n == m[i].exact, "%s: %" PRId64 " parameters", m[i].name, n);
		ok(fabs(n / 1e9 - m[i].published) < 0.05 + 1e-9,
		   "%s: %.2fB rounds to the published %.2fB", m[i].name, n / 1e9, m[i].published);
		ok(tm_llama_check(&c) == NULL, "%s is consistent", m[i].name);
	}
	is_int(tm_llama_preset("7b", &c), -1, "unknown preset");
}

static void test_layout(void)
{
	struct tm_llama_config c;
	struct tm_llama_tensor t[64];
	size_t n, i;
	int64_t off = 0;

	tm_llama_preset("tiny", &c);
	n = tm_llama_tensors(&c, NULL, 0);
	is_u64(n, 3 + 9 * (uint64_t)c.n_layers, "tensor count");
	is_u64(tm_llama_tensors(&c, t, TM_ARRAY_SIZE(t)), n, "the same with a table");
	for (i = 0; i < n; i++) {
		if (t[i].offset != off)
			break;
		off += t[i].numel;
	}
	ok(i == n && off == tm_llama_num_params(&c), "contiguous, summing to the count");
	is_str(t[0].name, "model.embed_tokens.weight", "embedding first");
	is_str(t[2].name, "model.layers.0.self_attn.q_proj.weight", "q_proj");
	ok(t[3].shape[0] == c.n_kv_heads * tm_llama_head_dim(&c) && t[3].shape[1] == c.dim,
	   "k_proj is [kv_heads * head_dim, dim]");
	ok(t[5].shape[0] == c.dim && t[5].shape[1] == c.dim, "o_proj [dim, heads * head_dim]");
	ok(t[9].shape[0] == c.dim && t[9].shape[1] == c.ffn_dim, "down_proj [dim, ffn]");
	ok(!t[1].decay && t[2].decay, "norms are not decayed, matrices are");
	is_str(t[n - 1].name, "lm_head.weight", "lm_head last");
	is_str(t[n - 2].name, "model.norm.weight", "final norm");
	is_int(t[n - 1].layer, -1, "lm_head has no layer");
}

static void test_check(void)
{
	struct tm_llama_config c;

	tm_llama_preset("tiny", &c);
	c.n_kv_heads = 3;
	ok(tm_llama_check(&c) != NULL, "kv heads must divide heads");
	tm_llama_preset("tiny", &c);
	c.dim = 130;
	ok(tm_llama_check(&c) != NULL, "dim must divide into heads");
	tm_llama_preset("tiny", &c);
	c.vocab_size = 0;
	ok(tm_llama_check(&c) != NULL, "empty vocabulary");
}

static void test_rope(void)
{
	struct tm_llama_config c;
	double f[64];
	int hd, i, bad = 0;

	tm_llama_preset("8b", &c);
	hd = tm_llama_head_dim(&c);
	tm_llama_rope_freqs(&c, f);
	/* transformers' _compute_llama3_parameters, term by term */
	for (i = 0; i < hd / 2; i++) {
		double base = pow(500000.0, -2.0 * i / hd), wl = 2 * M_PI / base, want;

		if (wl < 8192.0 / 4)
			want = base;
		else if (wl > 8192.0 / 1)
			want = base / 8;
		else {
			double s = (8192.0 / wl - 1) / (4 - 1);

			want = (1 - s) * base / 8 + s * base;
		}
		bad += fabs(f[i] - want) > 1e-15 * fabs(want) + 1e-300;
	}
	is_int(bad, 0, "scaled frequencies as transformers computes them");
	ok(f[0] == 1.0, "the highest frequency is untouched");
	ok(fabs(f[hd / 2 - 1] * 8 - pow(500000.0, -2.0 * (hd / 2 - 1) / hd)) < 1e-18,
	   "the lowest is divided by the factor");
	c.rope_scaling = false;
	tm_llama_rope_freqs(&c, f);
	ok(fabs(f[1] - pow(500000.0, -2.0 / hd)) < 1e-18, "unscaled: theta^(-2i/d)");
}

int main(void)
{
	test_counts();
	test_layout();
	test_check();
	test_rope();
	return tap_done();
}
