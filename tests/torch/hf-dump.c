/*
 * hf-dump.c: a test driver for train/hf.h, so that readers other than
 * tamis (numpy by the safetensors spec, transformers) can check what it
 * writes and tamis can be checked on what they write.
 *
 *   hf-dump save DIR F32|BF16 RAW [--scaling] [--vocab N] [--layers N] [--seed S]
 *       writes a checkpoint of the tiny preset (vocabulary and layers as
 *       given; --scaling: Llama 3.1 RoPE scaling) with parameters from S,
 *       special values (zeros, subnormals, inf, NaN, bfloat16 ties) first;
 *       RAW gets the fp32 parameter block (llama.h's layout, little-endian)
 *   hf-dump load DIR RAW
 *       loads DIR and writes its parameter block to RAW; prints the
 *       configuration as "key value" lines
 *   hf-dump freqs DIR
 *       prints the RoPE inverse frequencies of DIR's config.json, one a line
 *
 * Exit 0, 1 on an error (printed), 2 on a usage error.
 */
#include "tamis.h"
#include "hf.h"

static int usage(void)
{
	fprintf(stderr, "usage: hf-dump save DIR F32|BF16 RAW [--scaling] [--vocab N] "
		"[--layers N] [--seed S]\n       hf-dump load DIR RAW\n"
		"       hf-dump freqs DIR\n");
	return 2;
}

static int fail(const struct tm_err *err)
{
	struct tm_buf b = TM_BUF_INIT;

	tm_err_format(err, &b);
	fprintf(stderr, "hf-dump: %s\n", b.buf);
	tm_buf_release(&b);
	return 1;
}

static int write_raw(const char *path, const float *p, int64_t n)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(p, sizeof(*p), (size_t)n, f) != (size_t)n || fclose(f)) {
		fprintf(stderr, "hf-dump: %s: %s\n", path, strerror(errno));
		return 1;
	}
	return 0;
}

static int save(int argc, char **argv)
{
	static const uint32_t special[] = {
		0x00000000, 0x80000000, 0x00000001, 0x807fffff, 0x7f800000, 0xff800000,
		0x7fc00000, 0x3f808000, 0x3f818000, 0xbf818000, 0x7f7fffff, 0x00008000,
	};
	struct tm_hf_save_opts o = TM_HF_SAVE_OPTS_INIT;
	struct tm_llama_config c;
	struct tm_err err = TM_ERR_INIT;
	uint64_t seed = 1;
	int64_t n, i;
	float *p;
	int k, rc;

	tm_llama_preset("tiny", &c);
	c.vocab_size = 512;
	c.n_layers = 2;
	if (!strcmp(argv[3], "BF16"))
		o.dtype = TM_ST_BF16;
	else if (strcmp(argv[3], "F32"))
		return usage();
	for (k = 5; k < argc; k++) {
		if (!strcmp(argv[k], "--scaling"))
			c.rope_scaling = true;
		else if (!strcmp(argv[k], "--vocab") && k + 1 < argc)
			c.vocab_size = atoi(argv[++k]);
		else if (!strcmp(argv[k], "--layers") && k + 1 < argc)
			c.n_layers = atoi(argv[++k]);
		else if (!strcmp(argv[k], "--seed") && k + 1 < argc)
			seed = strtoull(argv[++k], NULL, 0);
		else
			return usage();
	}
	o.bos_token_id = 1;
	o.eos_token_id = 2;
	n = tm_llama_num_params(&c);
	p = tm_xmalloc((size_t)n * sizeof(*p));
	for (i = 0; i < n; i++) {
		uint64_t r = tm_splitmix64(&seed);

		if (i < (int64_t)TM_ARRAY_SIZE(special))
			memcpy(&p[i], &special[i], 4);
		else
			p[i] = (float)((double)(r >> 11) * 0x1p-53 - 0.5) * 0.2f;
	}
	rc = tm_hf_save(argv[2], &c, p, &o, &err) ? fail(&err) : write_raw(argv[4], p, n);
	free(p);
	return rc;
}

static int load(char **argv)
{
	struct tm_llama_config c;
	struct tm_hf_info x;
	struct tm_err err = TM_ERR_INIT;
	float *p;
	int rc;

	if (tm_hf_load(argv[2], &c, &x, &p, &err))
		return fail(&err);
	rc = write_raw(argv[3], p, tm_llama_num_params(&c));
	printf("dim %d\nn_layers %d\nn_heads %d\nn_kv_heads %d\nffn_dim %d\nvocab_size %d\n"
	       "max_seq_len %d\nnorm_eps %.9g\nrope_theta %.17g\nrope_scaling %d\ntied %d\n",
	       c.dim, c.n_layers, c.n_heads, c.n_kv_heads, c.ffn_dim, c.vocab_size,
	       c.max_seq_len, c.norm_eps, c.rope_theta, c.rope_scaling, x.tied);
	free(p);
	return rc;
}

static int freqs(char **argv)
{
	struct tm_llama_config c;
	struct tm_err err = TM_ERR_INIT;
	double f[1024];
	int i;

	if (tm_hf_config_read(argv[2], &c, NULL, &err))
		return fail(&err);
	if (tm_llama_head_dim(&c) / 2 > 1024)
		return 1;
	tm_llama_rope_freqs(&c, f);
	for (i = 0; i < tm_llama_head_dim(&c) / 2; i++)
		printf("%.17g\n", f[i]);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 5 && !strcmp(argv[1], "save"))
		return save(argc, argv);
	if (argc == 4 && !strcmp(argv[1], "load"))
		return load(argv);
	if (argc == 3 && !strcmp(argv[1], "freqs"))
		return freqs(argv);
	return usage();
}
