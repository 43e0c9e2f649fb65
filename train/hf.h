/*
 * hf.h: Hugging Face Llama directories, which are tamis's checkpoints:
 * config.json (transformers' LlamaConfig, "LlamaForCausalLM") and
 * model.safetensors with the tensors tm_llama_tensors() lists, under the
 * same names and shapes.  RoPE is in HF's rotate_half layout already
 * (llama.h), so q_proj/k_proj are written as they are, unpermuted, and
 * transformers' LlamaForCausalLM.from_pretrained(DIR) loads the result.
 * The trainer adds its own files (optimizer state, data position) to the
 * same directory through tm_hf_begin/tm_hf_commit.
 *
 * Writing is atomic per directory: everything goes into a temporary
 * sibling (DIR.tmp-PID-XXXXXX), which is fsynced and renamed to DIR;
 * an existing DIR is swapped out (renameat2 RENAME_EXCHANGE) only once
 * the new one is complete, then removed.  An interrupted save leaves the
 * old DIR as it was (and perhaps a DIR.tmp-* to delete).  An existing
 * DIR is replaced only when it is empty or holds a config.json, so a
 * mistyped path cannot wipe an unrelated directory.
 *
 * Reading accepts what transformers writes and what older checkpoints
 * hold: "rope_scaling" with "rope_type" or the older "type" (llama3 or
 * default), or transformers 5's "rope_parameters"; missing
 * num_key_value_heads (= heads) and other keys LlamaConfig defaults;
 * eos_token_id as a list (the first is kept); tied embeddings (lm_head
 * is then the embedding, as transformers ties it); the per-layer
 * rotary_emb.inv_freq buffers of old checkpoints (ignored).  Refused
 * with a message: biases (attention_bias, mlp_bias), an activation but
 * silu, head_dim != hidden_size / num_attention_heads, other RoPE
 * scalings, other architectures, and any other tensor.
 *
 * Ownership: tm_hf_load's *params is malloc'ed for the caller to free;
 * a writer belongs to the caller from tm_hf_begin until tm_hf_commit or
 * tm_hf_abort.  Depends on llama.h, safetensors.h, jansson and lib/.
 */
#ifndef TM_HF_H
#define TM_HF_H

#include "llama.h"
#include "safetensors.h"

struct tm_buf;
struct tm_err;

/* What config.json says besides the shapes of struct tm_llama_config. */
struct tm_hf_info {
	bool tied;		/* tie_word_embeddings */
	int64_t bos_token_id;	/* -1: absent or null */
	int64_t eos_token_id;	/* -1: absent or null; the first of a list */
	char torch_dtype[32];	/* "float32", "bfloat16", ...; "" if absent
				   (or longer than this holds) */
};
#define TM_HF_INFO_INIT { false, -1, -1, "" }

/*
 * Appends config.json for c to out: transformers' own layout (keys
 * sorted, two-space indent, floats as Python prints them), with
 * tie_word_embeddings false, no biases, silu, head_dim, rope_scaling
 * (llama3) or null, and from x (may be NULL) bos/eos_token_id when >= 0
 * and torch_dtype when set.  c must pass tm_llama_check.
 */
void tm_hf_config_write(const struct tm_llama_config *c, const struct tm_hf_info *x,
			struct tm_buf *out);

/*
 * Reads config.json text[0..len) (named `path` in errors) into c and x
 * (x may be NULL).  Returns 0, TM_EFORMAT (not JSON, a key of the wrong
 * type), TM_EUNSUP (a model tamis does not implement, said which way)
 * or TM_ECONFIG (sizes tm_llama_check refuses).
 */
int tm_hf_config_parse(const char *text, size_t len, const char *path,
		       struct tm_llama_config *c, struct tm_hf_info *x, struct tm_err *err);

/* tm_hf_config_parse of DIR/config.json. */
int tm_hf_config_read(const char *dir, struct tm_llama_config *c, struct tm_hf_info *x,
		      struct tm_err *err);

/* ---- saving ----------------------------------------------------------- */

struct tm_hf_save_opts {
	enum tm_st_dtype dtype;		/* TM_ST_F32 or TM_ST_BF16 */
	int64_t bos_token_id;		/* -1: unknown, not written */
	int64_t eos_token_id;		/* -1: unknown, not written */
	const char *const *metadata;	/* NULL, or "key", "value", ..., NULL:
					   model.safetensors' __metadata__ besides
					   "format": "pt" (which transformers wants) */
};
#define TM_HF_SAVE_OPTS_INIT { TM_ST_F32, -1, -1, NULL }

struct tm_hf_writer;

/*
 * Starts writing the directory `dir`: makes the temporary sibling.
 * Returns 0 with *out set, TM_EINVAL (dir exists and is not a directory,
 * or a non-empty directory without config.json) or TM_EIO.
 */
int tm_hf_begin(const char *dir, struct tm_hf_writer **out, struct tm_err *err);

/* The temporary directory, where the caller may write more files. */
const char *tm_hf_writer_path(const struct tm_hf_writer *w);

/*
 * Writes config.json and model.safetensors for configuration c and the
 * parameter block `params` (tm_llama_num_params floats, llama.h's
 * layout) into the temporary directory.  Returns 0, TM_EINVAL (a bad
 * configuration or option) or TM_EIO.
 */
int tm_hf_write_model(struct tm_hf_writer *w, const struct tm_llama_config *c,
		      const float *params, const struct tm_hf_save_opts *o,
		      struct tm_err *err);

/*
 * fsyncs every file of the temporary directory and the directory, puts
 * it in place of DIR (replacing an old DIR only now) and frees w.  On
 * failure the temporary directory is removed and an old DIR is intact.
 */
int tm_hf_commit(struct tm_hf_writer *w, struct tm_err *err);

/* Removes the temporary directory and frees w (NULL is fine). */
void tm_hf_abort(struct tm_hf_writer *w);

/* begin, write_model, commit. */
int tm_hf_save(const char *dir, const struct tm_llama_config *c, const float *params,
	       const struct tm_hf_save_opts *o, struct tm_err *err);

/* ---- loading ---------------------------------------------------------- */

/*
 * Loads the tensors of DIR (model.safetensors, else the files of
 * model.safetensors.index.json) into params (tm_llama_num_params(c)
 * floats), converted to fp32, for a configuration c and x read from
 * DIR's config.json (x may be NULL: untied).  Every tensor of c must be there with its shape
 * (lm_head.weight may be missing when x->tied; it is then the
 * embedding); a tensor that is not c's is an error unless it is a
 * rotary_emb.inv_freq buffer.  Returns 0, TM_EIO, TM_EFORMAT (a bad file,
 * a missing, misshapen or unexpected tensor), TM_EUNSUP (a dtype not
 * read), TM_ETRUNC.
 */
int tm_hf_load_params(const char *dir, const struct tm_llama_config *c,
		      const struct tm_hf_info *x, float *params, struct tm_err *err);

/*
 * tm_hf_config_read and tm_hf_load_params into a new block *params
 * (malloc'ed, the caller frees it).  x may be NULL.  Returns as they do,
 * or TM_ENOMEM when the block cannot be had.
 */
int tm_hf_load(const char *dir, struct tm_llama_config *c, struct tm_hf_info *x,
	       float **params, struct tm_err *err);

#endif
