/*
 * f-safetensors.c: libFuzzer target for the safetensors header parser
 * (train/safetensors.h) and the config.json reader (train/hf.h).
 *
 * Every input is tried as both.  As a safetensors file (in memory): what
 * is accepted must be consistent: the tensors, in the reader's order,
 * tile the data exactly, each has shape product x dtype size bytes, is
 * found under its name, and loads when its dtype converts to fp32 (and
 * is refused with TM_EUNSUP when not).  As config.json: an accepted
 * configuration passes tm_llama_check and survives tm_hf_config_write
 * then tm_hf_config_parse unchanged (the numbers bit for bit).  A
 * mismatch aborts; leaks are found by ASan.
 */
#include "tamis.h"
#include "hf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_file(const uint8_t *data, size_t size)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_st *st;
	uint64_t n, at = 0;
	size_t i;

	if (tm_st_parse(data, size, "fuzz", &st, &err))
		return;
	memcpy(&n, data, 8);
	for (i = 0; i < tm_st_count(st); i++) {
		const struct tm_st_tensor *t = tm_st_get(st, i);
		float *out;
		int rc;

		if (t->begin != at || t->end - t->begin !=
		    (uint64_t)t->numel * tm_st_dtype_size(t->dtype))
			BUG("tensor '%s' does not tile the data", t->name);
		if (tm_st_find(st, t->name) != t)
			BUG("tensor '%s' is not found by its name", t->name);
		at = t->end;
		out = tm_xmalloc((size_t)t->numel * sizeof(float) + 1);
		rc = tm_st_load(st, t, out, &err);
		free(out);
		if (rc != (t->dtype == TM_ST_F32 || t->dtype == TM_ST_BF16 ||
			   t->dtype == TM_ST_F16 ? 0 : TM_EUNSUP))
			BUG("tensor '%s' (%s): load said %d", t->name,
			    tm_st_dtype_name(t->dtype), rc);
	}
	if (8 + n + at != size)
		BUG("accepted a file whose tensors do not cover its data");
	tm_st_free(st);
}

static bool same_config(const struct tm_llama_config *a, const struct tm_llama_config *b)
{
	return !memcmp(a, b, offsetof(struct tm_llama_config, rope_scaling)) &&
	       a->rope_scaling == b->rope_scaling &&
	       (!a->rope_scaling || (a->rope_factor == b->rope_factor &&
				     a->rope_low_freq_factor == b->rope_low_freq_factor &&
				     a->rope_high_freq_factor == b->rope_high_freq_factor &&
				     a->rope_original_max_pos == b->rope_original_max_pos));
}

static void check_config(const uint8_t *data, size_t size)
{
	struct tm_llama_config c, d;
	struct tm_hf_info x, y;
	struct tm_err err = TM_ERR_INIT;
	struct tm_buf b = TM_BUF_INIT;

	if (tm_hf_config_parse((const char *)data, size, "fuzz", &c, &x, &err))
		return;
	if (tm_llama_check(&c))
		BUG("accepted a configuration tm_llama_check refuses");
	x.tied = false;		/* tamis writes untied models only */
	tm_hf_config_write(&c, &x, &b);
	if (tm_hf_config_parse(b.buf, b.len, "fuzz", &d, &y, &err))
		BUG("cannot read what it wrote: %s\n%s", err.msg, b.buf);
	if (!same_config(&c, &d) || y.tied || x.bos_token_id != y.bos_token_id ||
	    x.eos_token_id != y.eos_token_id || strcmp(x.torch_dtype, y.torch_dtype))
		BUG("config.json round trip changed the configuration:\n%s", b.buf);
	tm_buf_release(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_file(data, size);
	check_config(data, size);
	return 0;
}
