/*
 * u-hf.c: train/hf.h through its public API: config.json round trips for
 * the presets (tiny; 8b with Llama 3.1 RoPE scaling, against the text of
 * Meta's own config.json), what transformers and older checkpoints write,
 * every refusal, save/load of a small model bit for bit (F32) and as
 * rounded (BF16), tied embeddings and rotary buffers on import, bad
 * weights, and the atomic directory replace: an interrupted save, a full
 * disk and a refused target leave the old checkpoint as it was.
 */
#include "tamis.h"
#include "hf.h"
#include "tap.h"

#include <dirent.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static bool same_config(const struct tm_llama_config *a, const struct tm_llama_config *b)
{
	return a->dim == b->dim && a->n_layers == b->n_layers && a->n_heads == b->n_heads &&
	       a->n_kv_heads == b->n_kv_heads && a->ffn_dim == b->ffn_dim &&
	       a->vocab_size == b->vocab_size && a->max_seq_len == b->max_seq_len &&
	       a->norm_eps == b->norm_eps && a->rope_theta == b->rope_theta &&
	       a->rope_scaling == b->rope_scaling &&
	       (!a->rope_scaling ||
		(a->rope_factor == b->rope_factor &&
		 a->rope_low_freq_factor == b->rope_low_freq_factor &&
		 a->rope_high_freq_factor == b->rope_high_freq_factor &&
		 a->rope_original_max_pos == b->rope_original_max_pos));
}

/* ------------------------------------------------ config.json */

/* meta-llama/Llama-3.1-8B's config.json as published (transformers 4.43). */
static const char meta_8b[] =
	"{\n  \"architectures\": [\n    \"LlamaForCausalLM\"\n  ],\n"
	"  \"attention_bias\": false,\n  \"attention_dropout\": 0.0,\n"
	"  \"bos_token_id\": 128000,\n  \"eos_token_id\": 128001,\n"
	"  \"hidden_act\": \"silu\",\n  \"hidden_size\": 4096,\n"
	"  \"initializer_range\": 0.02,\n  \"intermediate_size\": 14336,\n"
	"  \"max_position_embeddings\": 131072,\n  \"mlp_bias\": false,\n"
	"  \"model_type\": \"llama\",\n  \"num_attention_heads\": 32,\n"
	"  \"num_hidden_layers\": 32,\n  \"num_key_value_heads\": 8,\n"
	"  \"pretraining_tp\": 1,\n  \"rms_norm_eps\": 1e-05,\n  \"rope_scaling\": {\n"
	"    \"factor\": 8.0,\n    \"low_freq_factor\": 1.0,\n    \"high_freq_factor\": 4.0,\n"
	"    \"original_max_position_embeddings\": 8192,\n    \"rope_type\": \"llama3\"\n  },\n"
	"  \"rope_theta\": 500000.0,\n  \"tie_word_embeddings\": false,\n"
	"  \"torch_dtype\": \"bfloat16\",\n  \"transformers_version\": \"4.43.0.dev0\",\n"
	"  \"use_cache\": true,\n  \"vocab_size\": 128256\n}\n";

/* What tamis writes for the 8b preset with those token ids: transformers' layout. */
static const char tamis_8b[] =
	"{\n  \"architectures\": [\n    \"LlamaForCausalLM\"\n  ],\n"
	"  \"attention_bias\": false,\n  \"attention_dropout\": 0.0,\n"
	"  \"bos_token_id\": 128000,\n  \"eos_token_id\": 128001,\n  \"head_dim\": 128,\n"
	"  \"hidden_act\": \"silu\",\n  \"hidden_size\": 4096,\n"
	"  \"initializer_range\": 0.02,\n  \"intermediate_size\": 14336,\n"
	"  \"max_position_embeddings\": 131072,\n  \"mlp_bias\": false,\n"
	"  \"model_type\": \"llama\",\n  \"num_attention_heads\": 32,\n"
	"  \"num_hidden_layers\": 32,\n  \"num_key_value_heads\": 8,\n"
	"  \"rms_norm_eps\": 1e-05,\n  \"rope_scaling\": {\n"
	"    \"factor\": 8.0,\n    \"high_freq_factor\": 4.0,\n    \"low_freq_factor\": 1.0,\n"
	"    \"original_max_position_embeddings\": 8192,\n    \"rope_type\": \"llama3\"\n  },\n"
	"  \"rope_theta\": 500000.0,\n  \"tie_word_embeddings\": false,\n"
	"  \"torch_dtype\": \"bfloat16\",\n  \"use_cache\": true,\n  \"vocab_size\": 128256\n}\n";

static void test_config_presets(void)
{
	static const char *const names[] = { "tiny", "8b" };
	struct tm_hf_info x = { false, 128000, 128001, "bfloat16" }, y;
	struct tm_llama_config c, d;
	struct tm_err err = TM_ERR_INIT;
	struct tm_buf b = TM_BUF_INIT;
	size_t i;

	for (i = 0; i < TM_ARRAY_SIZE(names); i++) {
		tm_llama_preset(names[i], &c);
		tm_buf_reset(&b);
		tm_hf_config_write(&c, &x, &b);
		ok(tm_hf_config_parse(b.buf, b.len, "config.json", &d, &y, &err) == 0 &&
		   same_config(&c, &d), "%s: the configuration survives config.json %s",
		   names[i], err.msg);
		ok(!y.tied && y.bos_token_id == 128000 && y.eos_token_id == 128001 &&
		   !strcmp(y.torch_dtype, "bfloat16"), "%s: token ids and dtype", names[i]);
	}
	is_str(b.buf, tamis_8b, "8b: the text, key for key transformers' layout");
	ok(tm_hf_config_parse(meta_8b, strlen(meta_8b), "config.json", &d, &y, &err) == 0 &&
	   same_config(&c, &d) && y.bos_token_id == 128000,
	   "Meta's Llama-3.1-8B config.json reads as the 8b preset %s", err.msg);

	tm_llama_preset("tiny", &c);
	tm_buf_reset(&b);
	tm_hf_config_write(&c, NULL, &b);
	ok(strstr(b.buf, "\"rope_scaling\": null,") && strstr(b.buf, "\"head_dim\": 32,") &&
	   !strstr(b.buf, "token_id") && !strstr(b.buf, "torch_dtype"),
	   "tiny: rope_scaling null, head_dim, nothing unknown written");
	ok(tm_hf_config_parse(b.buf, b.len, "config.json", &d, NULL, &err) == 0 &&
	   same_config(&c, &d), "the info out-parameter may be NULL");

	/* floats as Python prints them, and read back exactly */
	c.norm_eps = 1e-6f;
	c.rope_theta = 10000;
	tm_buf_reset(&b);
	tm_hf_config_write(&c, NULL, &b);
	ok(strstr(b.buf, "\"rms_norm_eps\": 1e-06,") && strstr(b.buf, "\"rope_theta\": 10000.0,"),
	   "1e-06 and 10000.0");
	c.norm_eps = 0.1f;
	c.rope_theta = 1e16;
	c.rope_scaling = true;
	c.rope_factor = 32.5;
	c.rope_low_freq_factor = 0.0001;
	tm_buf_reset(&b);
	tm_hf_config_write(&c, NULL, &b);
	ok(strstr(b.buf, "\"rms_norm_eps\": 0.1,") && strstr(b.buf, "\"rope_theta\": 1e+16,") &&
	   strstr(b.buf, "\"factor\": 32.5,") && strstr(b.buf, "\"low_freq_factor\": 0.0001,"),
	   "0.1 (of a float), 1e+16, 32.5, 0.0001");
	ok(tm_hf_config_parse(b.buf, b.len, "config.json", &d, NULL, &err) == 0 &&
	   same_config(&c, &d), "... and they read back to the same values");
	tm_buf_release(&b);
}

/* Parses `json` and checks it gives the tiny shapes with `check` on top. */
static void parses(const char *json, const char *what, struct tm_llama_config *c,
		   struct tm_hf_info *x)
{
	struct tm_err err = TM_ERR_INIT;

	if (!ok(tm_hf_config_parse(json, strlen(json), "config.json", c, x, &err) == 0,
		"%s", what))
		tap_diag("%s", err.msg);
}

#define SIZES "\"hidden_size\": 128, \"intermediate_size\": 384, \"num_hidden_layers\": 4, " \
	      "\"num_attention_heads\": 4, \"vocab_size\": 1000"

static void test_config_variants(void)
{
	struct tm_llama_config c;
	struct tm_hf_info x;

	parses("{" SIZES ", \"rope_scaling\": null}", "a Llama 2 style config", &c, &x);
	ok(c.n_kv_heads == 4 && c.rope_theta == 10000 && c.norm_eps == 1e-6f &&
	   c.max_seq_len == 2048 && !c.rope_scaling && !x.tied && x.bos_token_id == -1 &&
	   !x.torch_dtype[0], "... LlamaConfig's defaults: kv heads = heads, theta 10000, "
	   "eps 1e-6, 2048 positions");
	parses("{" SIZES ", \"num_key_value_heads\": null, \"head_dim\": null, "
	       "\"eos_token_id\": [128001, 128008, 128009], \"bos_token_id\": null}",
	       "nulls and a list of eos ids", &c, &x);
	ok(c.n_kv_heads == 4 && x.eos_token_id == 128001 && x.bos_token_id == -1,
	   "... kv heads = heads, the first eos, no bos");
	parses("{" SIZES ", \"rope_scaling\": {\"type\": \"llama3\", \"factor\": 8, "
	       "\"low_freq_factor\": 1, \"high_freq_factor\": 4, "
	       "\"original_max_position_embeddings\": 8192}}", "the older \"type\"", &c, &x);
	ok(c.rope_scaling && c.rope_factor == 8 && c.rope_original_max_pos == 8192,
	   "... llama3 scaling, integers as numbers");
	parses("{" SIZES ", \"rope_scaling\": {\"rope_type\": \"default\"}}",
	       "rope_type default", &c, &x);
	ok(!c.rope_scaling, "... is no scaling");
	parses("{" SIZES ", \"rope_parameters\": {\"rope_type\": \"llama3\", \"rope_theta\": "
	       "500000.0, \"factor\": 8.0, \"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0, "
	       "\"original_max_position_embeddings\": 8192}, \"dtype\": \"bfloat16\"}",
	       "transformers 5's rope_parameters and dtype", &c, &x);
	ok(c.rope_scaling && c.rope_theta == 500000 && c.rope_high_freq_factor == 4 &&
	   !strcmp(x.torch_dtype, "bfloat16"), "... read");
	parses("{" SIZES ", \"tie_word_embeddings\": true, \"architectures\": "
	       "[\"LlamaModel\", \"LlamaForCausalLM\"], \"pretraining_tp\": 2, "
	       "\"head_dim\": 32}", "tied, two architectures, head_dim", &c, &x);
	ok(x.tied, "... tied");
	parses("{" SIZES ", \"torch_dtype\": \"we\\\"ird\\n\"}", "an odd torch_dtype", &c, &x);
	{
		struct tm_hf_info y;
		struct tm_llama_config d;
		struct tm_err err = TM_ERR_INIT;
		struct tm_buf b = TM_BUF_INIT;

		tm_hf_config_write(&c, &x, &b);
		ok(tm_hf_config_parse(b.buf, b.len, "config.json", &d, &y, &err) == 0 &&
		   !strcmp(y.torch_dtype, "we\"ird\n"), "... is escaped when written back");
		tm_buf_release(&b);
	}
}

static void refuses(const char *json, int code, const char *msg, const char *what)
{
	struct tm_llama_config c;
	struct tm_err err = TM_ERR_INIT;
	int rc = tm_hf_config_parse(json, strlen(json), "m/config.json", &c, NULL, &err);

	ok(rc == code && strstr(err.msg, msg) && !strcmp(err.file, "m/config.json"),
	   "%s: %s", what, err.msg);
	if (rc != code)
		tap_diag("rc %d, want %d", rc, code);
}

static void test_config_refusals(void)
{
	refuses("{" SIZES ", \"attention_bias\": true}", TM_EUNSUP,
		"\"attention_bias\" is true; tamis's Llama has no biases", "attention biases");
	refuses("{" SIZES ", \"mlp_bias\": true}", TM_EUNSUP, "\"mlp_bias\" is true",
		"MLP biases");
	refuses("{" SIZES ", \"hidden_act\": \"gelu\"}", TM_EUNSUP,
		"hidden_act 'gelu' is not 'silu'", "gelu");
	refuses("{" SIZES ", \"head_dim\": 64}", TM_EUNSUP,
		"head_dim 64 is not hidden_size / num_attention_heads (128 / 4)", "head_dim");
	refuses("{" SIZES ", \"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 4}}",
		TM_EUNSUP, "RoPE scaling 'yarn' is not supported", "yarn");
	refuses("{" SIZES ", \"rope_scaling\": {\"type\": \"linear\", \"factor\": 2}}",
		TM_EUNSUP, "'linear'", "linear (older type)");
	refuses("{" SIZES ", \"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8}}",
		TM_EFORMAT, "\"low_freq_factor\" is missing", "llama3 without its factors");
	refuses("{" SIZES ", \"rope_scaling\": 3}", TM_EFORMAT, "must be an object",
		"rope_scaling a number");
	refuses("{" SIZES ", \"model_type\": \"mistral\"}", TM_EUNSUP,
		"model_type 'mistral' is not 'llama'", "mistral");
	refuses("{" SIZES ", \"architectures\": [\"LlamaForSequenceClassification\"]}",
		TM_EUNSUP, "do not include LlamaForCausalLM", "another head");
	refuses("{\"intermediate_size\": 384, \"num_hidden_layers\": 4, "
		"\"num_attention_heads\": 4, \"vocab_size\": 1000}", TM_EFORMAT,
		"\"hidden_size\" is missing", "no hidden_size");
	refuses("{" SIZES ", \"num_key_value_heads\": \"2\"}", TM_EFORMAT,
		"\"num_key_value_heads\" must be a positive integer, got a string", "a string size");
	refuses("{" SIZES ", \"num_key_value_heads\": 3}", TM_ECONFIG,
		"n_heads must be a multiple of n_kv_heads", "heads not a multiple of kv heads");
	refuses("{" SIZES ", \"rms_norm_eps\": \"small\"}", TM_EFORMAT,
		"\"rms_norm_eps\" must be a number", "eps a string");
	refuses("{" SIZES ", \"rms_norm_eps\": 1e300}", TM_EFORMAT, "out of fp32's range",
		"eps past fp32");
	refuses("{" SIZES ", \"tie_word_embeddings\": 1}", TM_EFORMAT,
		"must be true or false", "tie as a number");
	refuses("{" SIZES ", \"eos_token_id\": -5}", TM_EFORMAT, "token id", "a negative eos");
	refuses("{" SIZES ",}", TM_EFORMAT, "invalid JSON", "a trailing comma");
	refuses("[1]", TM_EFORMAT, "expected a JSON object", "an array");
}

/* ------------------------------------------------ saving and loading */

/* A tiny model with a small vocabulary, parameters from `seed`. */
static float *tiny_model(struct tm_llama_config *c, uint64_t seed)
{
	int64_t n, i;
	float *p;

	tm_llama_preset("tiny", c);
	c->vocab_size = 300;
	c->n_layers = 2;
	n = tm_llama_num_params(c);
	p = tm_xmalloc((size_t)n * sizeof(*p));
	tap_srand(seed);
	for (i = 0; i < n; i++)
		p[i] = (float)((double)(tap_rand() >> 11) * 0x1p-53 - 0.5) * 0.1f;
	p[0] = -0.0f;
	p[1] = 1e-40f;		/* a subnormal */
	return p;
}

/* Loads dir and checks the config and every parameter against want (bit for bit). */
static void check_load(const char *dir, const struct tm_llama_config *c, const float *want,
		       bool bf16, const char *what)
{
	struct tm_llama_config d;
	struct tm_hf_info x;
	struct tm_err err = TM_ERR_INIT;
	float *p = NULL;
	int64_t i, n = tm_llama_num_params(c), bad = 0;

	if (!ok(tm_hf_load(dir, &d, &x, &p, &err) == 0, "%s: load", what)) {
		tap_diag("%s: %s", err.file, err.msg);
		return;
	}
	ok(same_config(c, &d), "%s: the configuration", what);
	for (i = 0; i < n; i++) {
		float w = bf16 ? tm_f32_from_bf16(tm_bf16_from_f32(want[i])) : want[i];

		bad += memcmp(&p[i], &w, 4) != 0;
	}
	ok(bad == 0, "%s: every parameter %s", what,
	   bf16 ? "is its bfloat16 rounding" : "bit for bit");
	free(p);
}

static void test_save_load(void)
{
	static const char *const meta[] = { "tamis_step", "1000", NULL };
	struct tm_hf_save_opts o = TM_HF_SAVE_OPTS_INIT;
	struct tm_llama_config c;
	struct tm_llama_tensor lt[64];
	struct tm_err err = TM_ERR_INIT;
	struct tm_buf p = TM_BUF_INIT;
	struct tm_st *st = NULL;
	const char *dir = tap_tmp("ck");
	float *w = tiny_model(&c, 1);
	size_t n, i, bad = 0;

	o.bos_token_id = 1;
	o.metadata = meta;
	if (!is_int(tm_hf_save(dir, &c, w, &o, &err), 0, "save F32"))
		tap_diag("%s: %s", err.file, err.msg);
	check_load(dir, &c, w, false, "F32");
	tm_buf_addf(&p, "%s/model.safetensors", dir);
	if (is_int(tm_st_open(p.buf, &st, &err), 0, "model.safetensors opens")) {
		n = tm_llama_tensors(&c, lt, TM_ARRAY_SIZE(lt));
		for (i = 0; i < n; i++) {
			const struct tm_st_tensor *t = tm_st_get(st, i);

			bad += !t || strcmp(t->name, lt[i].name) || t->ndim != lt[i].ndim ||
			       t->shape[0] != lt[i].shape[0] ||
			       (t->ndim == 2 && t->shape[1] != lt[i].shape[1]);
		}
		ok(bad == 0 && tm_st_count(st) == n,
		   "the tensors: tm_llama_tensors' names, shapes and order");
		ok(tm_st_meta(st, "format") && !strcmp(tm_st_meta(st, "format"), "pt") &&
		   tm_st_meta(st, "tamis_step") && !strcmp(tm_st_meta(st, "tamis_step"), "1000"),
		   "metadata: format pt (transformers wants it) and the caller's");
		tm_st_free(st);
	}
	{
		struct tm_llama_config d;
		struct tm_hf_info x;

		ok(tm_hf_config_read(dir, &d, &x, &err) == 0 && x.bos_token_id == 1 &&
		   x.eos_token_id == -1 && !strcmp(x.torch_dtype, "float32"),
		   "config.json: bos written, eos not, torch_dtype float32");
	}

	o.dtype = TM_ST_BF16;
	is_int(tm_hf_save(dir, &c, w, &o, &err), 0, "save BF16 over it");
	check_load(dir, &c, w, true, "BF16");
	o.dtype = TM_ST_F16;
	is_int(tm_hf_save(dir, &c, w, &o, &err), TM_EINVAL, "F16 is not written");
	c.n_kv_heads = 3;
	o.dtype = TM_ST_F32;
	is_int(tm_hf_save(dir, &c, w, &o, &err), TM_EINVAL, "a bad configuration is not written");
	c.n_kv_heads = 2;
	check_load(dir, &c, w, true, "the refusals left the BF16 checkpoint");
	tm_buf_release(&p);
	free(w);
}

/*
 * Writes a checkpoint as another tool may: model.safetensors with the
 * tensors of c except those named in `skip`, plus `extra` (named, 4
 * floats), and config.json from `config`.
 */
static void write_foreign(const char *dir, const struct tm_llama_config *c, const float *w,
			  const char *config, const char *skip, const char *extra)
{
	struct tm_llama_tensor lt[64];
	struct tm_st_out t[65];
	struct tm_err err = TM_ERR_INIT;
	struct tm_buf p = TM_BUF_INIT;
	size_t n = tm_llama_tensors(c, lt, TM_ARRAY_SIZE(lt)), i, k = 0;

	mkdir(dir, 0777);
	for (i = 0; i < n; i++) {
		if (skip && !strcmp(lt[i].name, skip))
			continue;
		t[k].name = lt[i].name;
		t[k].ndim = lt[i].ndim;
		t[k].shape[0] = lt[i].shape[0];
		t[k].shape[1] = lt[i].shape[1];
		t[k++].data = w + lt[i].offset;
	}
	if (extra) {
		t[k].name = extra;
		t[k].ndim = 1;
		t[k].shape[0] = 4;
		t[k++].data = w;
	}
	tm_buf_addf(&p, "%s/model.safetensors", dir);
	if (tm_st_write(p.buf, t, k, TM_ST_F32, NULL, &err))
		BUG("write_foreign: %s", err.msg);
	tm_buf_reset(&p);
	tm_buf_addf(&p, "%s/config.json", dir);
	tap_write_file(p.buf, config, strlen(config));
	tm_buf_release(&p);
}

static void test_tied(void)
{
	struct tm_llama_config c, d;
	struct tm_hf_info x;
	struct tm_err err = TM_ERR_INIT;
	struct tm_buf cfg = TM_BUF_INIT;
	const char *dir = tap_tmp("tied");
	float *w = tiny_model(&c, 2), *p = NULL;
	int64_t v = (int64_t)c.vocab_size * c.dim, head = tm_llama_num_params(&c) - v;

	tm_hf_config_write(&c, NULL, &cfg);
	memcpy(strstr(cfg.buf, "\"tie_word_embeddings\": false"), "\"tie_word_embeddings\":  true", 28);
	write_foreign(dir, &c, w, cfg.buf, "lm_head.weight",
		      "model.layers.0.self_attn.rotary_emb.inv_freq");
	if (ok(tm_hf_load(dir, &d, &x, &p, &err) == 0, "tied, no lm_head, a rotary buffer: loads %s",
	       err.msg)) {
		ok(x.tied && !memcmp(p + head, w, (size_t)v * 4), "lm_head is the embedding");
		ok(!memcmp(p, w, (size_t)head * 4), "the rest bit for bit");
		free(p);
	}
	write_foreign(dir, &c, w, cfg.buf, NULL, NULL);
	if (ok(tm_hf_load(dir, &d, &x, &p, &err) == 0, "tied with an lm_head in the file")) {
		ok(!memcmp(p + head, w, (size_t)v * 4), "... lm_head is still the embedding");
		free(p);
	}
	tm_buf_release(&cfg);
	free(w);
}

static void load_fails(const char *dir, int code, const char *msg, const char *what)
{
	struct tm_llama_config d;
	struct tm_err err = TM_ERR_INIT;
	float *p = (float *)&d;

	ok(tm_hf_load(dir, &d, NULL, &p, &err) == code && strstr(err.msg, msg) && !p,
	   "%s: %s: %s", what, err.file, err.msg);
}

static void test_bad_weights(void)
{
	struct tm_llama_config c;
	struct tm_buf cfg = TM_BUF_INIT, p = TM_BUF_INIT;
	const char *dir = tap_tmp("bad");
	float *w = tiny_model(&c, 3);

	tm_hf_config_write(&c, NULL, &cfg);
	write_foreign(dir, &c, w, cfg.buf, "model.layers.1.mlp.up_proj.weight", NULL);
	load_fails(dir, TM_EFORMAT, "missing tensor 'model.layers.1.mlp.up_proj.weight'",
		   "a missing tensor");
	write_foreign(dir, &c, w, cfg.buf, "lm_head.weight", NULL);
	load_fails(dir, TM_EFORMAT, "missing tensor 'lm_head.weight'", "untied, no lm_head");
	write_foreign(dir, &c, w, cfg.buf, NULL, "model.layers.0.self_attn.q_proj.bias");
	load_fails(dir, TM_EFORMAT, "unexpected tensor 'model.layers.0.self_attn.q_proj.bias'",
		   "a bias");
	c.ffn_dim = 256;	/* the file keeps 384 */
	tm_buf_reset(&cfg);
	tm_hf_config_write(&c, NULL, &cfg);
	c.ffn_dim = 384;
	write_foreign(dir, &c, w, cfg.buf, NULL, NULL);
	load_fails(dir, TM_EFORMAT, "tensor 'model.layers.0.mlp.gate_proj.weight' has shape "
		   "[384, 128], config.json says [256, 128]", "a shape config.json does not say");
	tm_buf_addf(&p, "%s/model.safetensors", dir);
	rename(p.buf, tap_tmp("bad/pytorch_model.bin"));
	load_fails(dir, TM_EUNSUP, "pytorch_model.bin", "pickle weights only");
	unlink(tap_tmp("bad/pytorch_model.bin"));
	load_fails(dir, TM_EIO, "no model.safetensors", "no weights");
	load_fails(tap_tmp("nowhere"), TM_EIO, "cannot open", "no directory");
	tm_buf_release(&cfg);
	tm_buf_release(&p);
	free(w);
}

/* ------------------------------------------------ atomic replace */

/* The names in `dir` that start with `prefix`, counted. */
static int count_names(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		n += !strncmp(e->d_name, prefix, strlen(prefix));
	if (d)
		closedir(d);
	return n;
}

/* Runs fn(arg) in a child and returns its exit status (-1 on a signal). */
static int in_child(int (*fn)(const void *), const void *arg)
{
	pid_t pid = fork();
	int status;

	if (pid == 0)
		_exit(fn(arg));
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

struct job {
	const char *dir;
	const struct tm_llama_config *c;
	const float *w;
};

/* A save that dies after writing everything but before the commit. */
static int interrupted_save(const void *arg)
{
	const struct job *j = arg;
	struct tm_hf_writer *wr;
	struct tm_err err = TM_ERR_INIT;

	if (tm_hf_begin(j->dir, &wr, &err) || tm_hf_write_model(wr, j->c, j->w, NULL, &err))
		return 1;
	return 0;	/* _exit: no commit, no cleanup */
}

/* A save on a disk that fills up (files stop at 64 KiB). */
static int full_disk_save(const void *arg)
{
	const struct job *j = arg;
	struct rlimit rl = { 65536, 65536 };
	struct tm_err err = TM_ERR_INIT;

	signal(SIGXFSZ, SIG_IGN);
	setrlimit(RLIMIT_FSIZE, &rl);
	return tm_hf_save(j->dir, j->c, j->w, NULL, &err) == TM_EIO && err.sys == EFBIG ? 0 : 1;
}

static void test_atomic(void)
{
	struct tm_llama_config c;
	struct tm_err err = TM_ERR_INIT;
	struct tm_hf_writer *wr = NULL;
	struct tm_buf p = TM_BUF_INIT;
	const char *dir = tap_tmp("at/ck");
	float *old = tiny_model(&c, 4), *new = tiny_model(&c, 5);
	struct job j = { dir, &c, new };

	is_int(tm_hf_save(dir, &c, old, NULL, &err), 0, "save into a new directory (parents made)");
	is_int(in_child(interrupted_save, &j), 0, "a save interrupted before its commit");
	check_load(dir, &c, old, false, "after the interrupted save, the old checkpoint");
	is_int(count_names(tap_tmp("at"), "ck.tmp-"), 1,
	       "... and the temporary directory beside it, under another name");

	is_int(in_child(full_disk_save, &j), 0, "a save on a full disk fails with EFBIG");
	check_load(dir, &c, old, false, "after the full disk, the old checkpoint");
	is_int(count_names(tap_tmp("at"), "ck.tmp-"), 1, "... and no new temporary directory");

	ok(tm_hf_begin(tap_tmp("at/ck/"), &wr, &err) == 0, "begin (a trailing slash is fine)");
	if (wr) {
		tm_buf_addf(&p, "%s/trainer.state", tm_hf_writer_path(wr));
		tap_write_file(p.buf, "step 7\n", 7);
		ok(tm_hf_write_model(wr, &c, new, NULL, &err) == 0 && tm_hf_commit(wr, &err) == 0,
		   "write and commit with a file of the trainer's");
	}
	check_load(dir, &c, new, false, "the new checkpoint replaced the old");
	tm_buf_reset(&p);
	tm_buf_addf(&p, "%s/trainer.state", dir);
	ok(access(p.buf, F_OK) == 0, "... with the trainer's file");
	ok(count_names(tap_tmp("at"), "ck.") == 1, "... and the old one is gone (one ck.tmp-* "
	   "of the interrupted save stays)");

	ok(tm_hf_begin(dir, &wr, &err) == 0, "begin again");
	tm_hf_abort(wr);
	check_load(dir, &c, new, false, "an aborted save leaves it");

	mkdir(tap_tmp("at/other"), 0777);
	tap_write_file(tap_tmp("at/other/precious"), "x", 1);
	is_int(tm_hf_save(tap_tmp("at/other"), &c, new, NULL, &err), TM_EINVAL,
	       "a directory without config.json is not replaced");
	ok(strstr(err.msg, "holds no config.json") && access(tap_tmp("at/other/precious"), F_OK) == 0,
	   "... and is left as it was: %s", err.msg);
	is_int(tm_hf_save(tap_tmp("at/other/precious"), &c, new, NULL, &err), TM_EINVAL,
	       "a file is not replaced");
	mkdir(tap_tmp("at/empty"), 0777);
	is_int(tm_hf_save(tap_tmp("at/empty"), &c, new, NULL, &err), 0, "an empty directory is");
	tm_buf_release(&p);
	free(old);
	free(new);
}

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	test_config_presets();
	test_config_variants();
	test_config_refusals();
	test_save_load();
	test_tied();
	test_bad_weights();
	test_atomic();
	tap_tmp_clean();
	return tap_done();
}
