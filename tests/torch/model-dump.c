/*
 * model-dump.c: runs the CPU model (train/model.c) once, forward and
 * backward, on a random small configuration, and writes everything an
 * independent implementation needs to check it: configuration, parameters,
 * batch, logits, loss and gradients.  tests/torch/check_model.py reads the
 * file and compares against torch autograd (t8100-model-torch.sh).
 *
 * Usage: model-dump [key=value...] out=FILE
 *   dim layers heads kv ffn vocab B T   shapes (defaults: a tiny model)
 *   scaling=0|1 theta= orig= factor= low= high=   RoPE (Llama 3.1 scaling)
 *   bos=ID (-1: no document mask)  bosrows=N (rows, from the last, that
 *   get BOS tokens inside)  seed=S  threads=N  gain=G (2-D weights are
 *   drawn with std G / sqrt(in) rather than 0.02, so that attention and
 *   the SwiGLU are far from linear)
 *
 * File (little-endian): "TMMD" u32 version=1; i32 dim, layers, heads, kv,
 * ffn, vocab, B, T, bos, scaling, orig; f64 eps, theta, factor, low, high;
 * i64 nparams; f32 params[nparams]; i32 tokens[B*T]; i32 targets[B*T];
 * f32 logits[B*T*vocab]; f32 loss; f32 grads[nparams].  The reader checks
 * the size against the header.
 */
#include "tamis.h"
#include "model.h"

#include <math.h>

static uint64_t rng;

static double uniform(void)
{
	return (tm_splitmix64(&rng) >> 11) * 0x1p-53;
}

static int below(int n)
{
	return (int)(uniform() * n);
}

static int put(FILE *f, const void *p, size_t size, size_t n)
{
	return fwrite(p, size, n, f) == n ? 0 : -1;
}

struct opts {
	struct tm_llama_config c;
	int B, T, bos, bosrows, threads, scaling;
	uint64_t seed;
	double gain;
	const char *out;
};

/* One key=value argument into o; -1 for anything else. */
static int set(struct opts *o, const char *a)
{
	const struct {
		const char *key;
		int *i;		/* an int option, or */
		double *d;	/* a double one */
	} keys[] = {
		{ "dim", &o->c.dim, NULL }, { "layers", &o->c.n_layers, NULL },
		{ "heads", &o->c.n_heads, NULL }, { "kv", &o->c.n_kv_heads, NULL },
		{ "ffn", &o->c.ffn_dim, NULL }, { "vocab", &o->c.vocab_size, NULL },
		{ "B", &o->B, NULL }, { "T", &o->T, NULL }, { "scaling", &o->scaling, NULL },
		{ "orig", &o->c.rope_original_max_pos, NULL }, { "bos", &o->bos, NULL },
		{ "bosrows", &o->bosrows, NULL }, { "threads", &o->threads, NULL },
		{ "theta", NULL, &o->c.rope_theta }, { "factor", NULL, &o->c.rope_factor },
		{ "low", NULL, &o->c.rope_low_freq_factor },
		{ "high", NULL, &o->c.rope_high_freq_factor }, { "gain", NULL, &o->gain },
	};
	const char *v = strchr(a, '=');
	size_t kl = v ? (size_t)(v - a) : 0, j;

	if (!v)
		return -1;
	for (j = 0; j < TM_ARRAY_SIZE(keys); j++) {
		if (strlen(keys[j].key) != kl || strncmp(a, keys[j].key, kl))
			continue;
		if (keys[j].i)
			*keys[j].i = atoi(v + 1);
		else
			*keys[j].d = atof(v + 1);
		return 0;
	}
	if (kl == 4 && !strncmp(a, "seed", 4))
		o->seed = strtoull(v + 1, NULL, 10);
	else if (kl == 3 && !strncmp(a, "out", 3))
		o->out = v + 1;
	else
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	static const char *const defaults[] = {
		"dim=32", "layers=2", "heads=4", "kv=2", "ffn=48", "vocab=37", "B=2", "T=24",
		"bos=1", "bosrows=1", "threads=1", "seed=1", "gain=1",
	};
	struct opts o = { .scaling = 0 };
	struct tm_llama_config c;
	struct tm_llama_tensor *tens;
	struct tm_model *m;
	const char *why;
	int B, T, bos, i, b, t;
	uint64_t seed;
	int32_t *tok, *tgt;
	size_t nt, k;
	int64_t np;
	float loss, *p;
	FILE *f;

	tm_llama_preset("tiny", &o.c);
	for (k = 0; k < TM_ARRAY_SIZE(defaults); k++)
		set(&o, defaults[k]);
	for (i = 1; i < argc; i++) {
		if (set(&o, argv[i])) {
			fprintf(stderr, "model-dump: '%s': expected key=value with a known key\n",
				argv[i]);
			return 2;
		}
	}
	if (!o.out) {
		fprintf(stderr, "usage: model-dump [key=value...] out=FILE\n");
		return 2;
	}
	c = o.c;
	c.rope_scaling = o.scaling != 0;
	B = o.B;
	T = o.T;
	bos = o.bos;
	seed = o.seed;
	c.max_seq_len = T;
	m = tm_model_new(&c, B, T, o.threads, &why);
	if (!m) {
		fprintf(stderr, "model-dump: %s\n", why);
		return 2;
	}

	/* parameters: the model's own init, then rescaled and perturbed */
	rng = seed * 0x9e3779b97f4a7c15ULL + 12345;
	tm_model_init(m, seed);
	p = tm_model_params(m);
	np = tm_model_num_params(m);
	nt = tm_llama_tensors(&c, NULL, 0);
	tens = calloc(nt, sizeof(*tens));
	tm_llama_tensors(&c, tens, nt);
	for (k = 0; k < nt; k++) {
		float *w = p + tens[k].offset;
		double s = tens[k].ndim == 2 ? o.gain / sqrt((double)tens[k].shape[1]) / 0.02 : 0;

		if (k == 0)
			s = o.gain / 0.02;	/* embeddings: std gain */
		for (i = 0; i < tens[k].numel; i++)
			w[i] = tens[k].ndim == 2 ? (float)(w[i] * s) : (float)(0.5 + uniform());	/* norms: 0.5 .. 1.5 */
	}

	/* a batch: BOS at the start of even rows and, in the last bosrows
	 * rows, at a few random places inside; about one target in six is -1 */
	tok = calloc((size_t)B * T, sizeof(*tok));
	tgt = calloc((size_t)B * T, sizeof(*tgt));
	for (b = 0; b < B; b++) {
		for (t = 0; t < T; t++) {
			int32_t v = (int32_t)below(c.vocab_size);

			if (v == bos)
				v = (v + 1) % c.vocab_size;
			tok[b * T + t] = v;
			tgt[b * T + t] = below(6) == 0 ? -1 : (int32_t)below(c.vocab_size);
		}
		if (bos >= 0 && b % 2 == 0)
			tok[b * T] = bos;
		if (bos >= 0 && b >= B - o.bosrows) {
			int n = 1 + below(3);

			while (n--)
				tok[b * T + 1 + below(T - 1)] = bos;
		}
	}
	tgt[0] = 0;	/* at least one scored position */

	loss = tm_model_forward(m, tok, tgt, B, T, bos);
	tm_model_zero_grad(m);
	tm_model_backward(m, 1.0f);
	if (!isfinite(loss)) {
		fprintf(stderr, "model-dump: loss is %g\n", loss);
		return 1;
	}

	f = fopen(o.out, "wb");
	if (!f) {
		fprintf(stderr, "model-dump: %s: %s\n", o.out, strerror(errno));
		return 1;
	}
	{
		uint32_t version = 1;
		int32_t hdr[11] = { c.dim, c.n_layers, c.n_heads, c.n_kv_heads, c.ffn_dim,
				    c.vocab_size, B, T, bos, c.rope_scaling,
				    c.rope_original_max_pos };
		double hd[5] = { c.norm_eps, c.rope_theta, c.rope_factor,
				 c.rope_low_freq_factor, c.rope_high_freq_factor };

		if (put(f, "TMMD", 1, 4) || put(f, &version, 4, 1) || put(f, hdr, 4, 11) ||
		    put(f, hd, 8, 5) || put(f, &np, 8, 1) || put(f, p, 4, np) ||
		    put(f, tok, 4, (size_t)B * T) || put(f, tgt, 4, (size_t)B * T) ||
		    put(f, tm_model_logits(m), 4, (size_t)B * T * c.vocab_size) ||
		    put(f, &loss, 4, 1) || put(f, tm_model_grads(m), 4, np) || fclose(f)) {
			fprintf(stderr, "model-dump: %s: write failed\n", o.out);
			return 1;
		}
	}
	printf("loss %.6f params %" PRId64 "\n", loss, np);
	free(tens);
	free(tok);
	free(tgt);
	tm_model_free(m);
	return 0;
}
