/*
 * hf.c: Hugging Face Llama directories (hf.h): config.json both ways,
 * the atomic directory writer, and the loader with its shape checks.
 */
#include "tamis.h"
#include "hf.h"
#include "doc.h"
#include "stream.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <libgen.h>
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- config.json, writing ---------------------------------------------- */

/*
 * v as Python's repr() prints a float (json.dumps uses it): the shortest
 * digits that read back as v (as the float (float)v when `single`, for
 * fp32 values such as rms_norm_eps), in positional notation for
 * 1e-4 <= |v| < 1e16 with at least one decimal ("8.0"), else as
 * "1e-05".  v is finite.
 */
static void add_pyfloat(struct tm_buf *b, double v, bool single)
{
	char s[64];
	int p, e;

	for (p = 1; p < 17; p++) {
		snprintf(s, sizeof(s), "%.*e", p - 1, v);
		if (single ? (float)strtod(s, NULL) == (float)v : strtod(s, NULL) == v)
			break;
	}
	snprintf(s, sizeof(s), "%.*e", p - 1, v);
	e = atoi(strchr(s, 'e') + 1);
	if (v != 0 && (e < -4 || e >= 16))
		tm_buf_addstr(b, s);
	else
		tm_buf_addf(b, "%.*f", TM_MAX(p - 1 - e, 1), v);
}

void tm_hf_config_write(const struct tm_llama_config *c, const struct tm_hf_info *x,
			struct tm_buf *out)
{
	tm_buf_addstr(out, "{\n  \"architectures\": [\n    \"LlamaForCausalLM\"\n  ],\n"
		      "  \"attention_bias\": false,\n  \"attention_dropout\": 0.0,\n");
	if (x && x->bos_token_id >= 0)
		tm_buf_addf(out, "  \"bos_token_id\": %" PRId64 ",\n", x->bos_token_id);
	if (x && x->eos_token_id >= 0)
		tm_buf_addf(out, "  \"eos_token_id\": %" PRId64 ",\n", x->eos_token_id);
	tm_buf_addf(out, "  \"head_dim\": %d,\n  \"hidden_act\": \"silu\",\n"
		    "  \"hidden_size\": %d,\n  \"initializer_range\": 0.02,\n"
		    "  \"intermediate_size\": %d,\n  \"max_position_embeddings\": %d,\n"
		    "  \"mlp_bias\": false,\n  \"model_type\": \"llama\",\n"
		    "  \"num_attention_heads\": %d,\n  \"num_hidden_layers\": %d,\n"
		    "  \"num_key_value_heads\": %d,\n  \"rms_norm_eps\": ",
		    tm_llama_head_dim(c), c->dim, c->ffn_dim, c->max_seq_len, c->n_heads,
		    c->n_layers, c->n_kv_heads);
	add_pyfloat(out, c->norm_eps, true);
	if (c->rope_scaling) {
		tm_buf_addstr(out, ",\n  \"rope_scaling\": {\n    \"factor\": ");
		add_pyfloat(out, c->rope_factor, false);
		tm_buf_addstr(out, ",\n    \"high_freq_factor\": ");
		add_pyfloat(out, c->rope_high_freq_factor, false);
		tm_buf_addstr(out, ",\n    \"low_freq_factor\": ");
		add_pyfloat(out, c->rope_low_freq_factor, false);
		tm_buf_addf(out, ",\n    \"original_max_position_embeddings\": %d,\n"
			    "    \"rope_type\": \"llama3\"\n  }", c->rope_original_max_pos);
	} else {
		tm_buf_addstr(out, ",\n  \"rope_scaling\": null");
	}
	tm_buf_addstr(out, ",\n  \"rope_theta\": ");
	add_pyfloat(out, c->rope_theta, false);
	tm_buf_addstr(out, ",\n  \"tie_word_embeddings\": false,\n");
	if (x && x->torch_dtype[0]) {
		tm_buf_addstr(out, "  \"torch_dtype\": ");
		tm_json_escape(x->torch_dtype, strlen(x->torch_dtype), out);
		tm_buf_addstr(out, ",\n");
	}
	tm_buf_addf(out, "  \"use_cache\": true,\n  \"vocab_size\": %d\n}\n", c->vocab_size);
}

/* ---- config.json, reading ---------------------------------------------- */

/* o[key]; absent and null are the same (transformers writes null for None). */
static json_t *get(const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_null(v) ? NULL : v;
}

/*
 * o[key], an integer in [1, INT_MAX], into *out; absent: def, or an
 * error when def is 0 (the key is required).
 */
static int get_size(const json_t *o, const char *key, int def, int *out, const char *path,
		    struct tm_err *err)
{
	json_t *v = get(o, key);

	if (!v && def) {
		*out = def;
		return 0;
	}
	if (!v)
		return tm_err_set(err, TM_EFORMAT, path, TM_ERR_NO_OFFSET, 0,
				  "\"%s\" is missing", key);
	if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > INT_MAX)
		return tm_err_set(err, TM_EFORMAT, path, TM_ERR_NO_OFFSET, 0,
				  "\"%s\" must be a positive integer, got %s", key,
				  json_is_integer(v) ? "one out of range" : tm_json_type_name(v));
	*out = (int)json_integer_value(v);
	return 0;
}

/* o[key], a finite number, into *out; absent: def, or an error when def is NaN. */
static int get_real(const json_t *o, const char *key, double def, double *out,
		    const char *path, struct tm_err *err)
{
	json_t *v = get(o, key);

	if (!v && !isnan(def)) {
		*out = def;
		return 0;
	}
	if (!v)
		return tm_err_set(err, TM_EFORMAT, path, TM_ERR_NO_OFFSET, 0,
				  "\"%s\" is missing", key);
	if (!json_is_number(v) || !isfinite(json_number_value(v)))
		return tm_err_set(err, TM_EFORMAT, path, TM_ERR_NO_OFFSET, 0,
				  "\"%s\" must be a number, got %s", key, tm_json_type_name(v));
	*out = json_number_value(v);
	return 0;
}

/* o[key], a boolean, into *out; absent: false. */
static int get_bool(const json_t *o, const char *key, bool *out, const char *path,
		    struct tm_err *err)
{
	json_t *v = get(o, key);

	if (v && !json_is_boolean(v))
		return tm_err_set(err, TM_EFORMAT, path, TM_ERR_NO_OFFSET, 0,
				  "\"%s\" must be true or false, got %s", key, tm_json_type_name(v));
	*out = v && json_is_true(v);
	return 0;
}

/* o[key], a string, into *out; absent: def. */
static int get_str(const json_t *o, const char *key, const char *def, const char **out,
		   const char *path, struct tm_err *err)
{
	json_t *v = get(o, key);

	if (v && !json_is_string(v))
		return tm_err_set(err, TM_EFORMAT, path, TM_ERR_NO_OFFSET, 0,
				  "\"%s\" must be a string, got %s", key, tm_json_type_name(v));
	*out = v ? json_string_value(v) : def;
	return 0;
}

/* A token id (an integer >= 0, or the first of a list of them), or -1. */
static int get_token(const json_t *o, const char *key, int64_t *out, const char *path,
		     struct tm_err *err)
{
	json_t *v = get(o, key);

	if (json_is_array(v))
		v = json_array_get(v, 0);
	*out = -1;
	if (v && (!json_is_integer(v) || json_integer_value(v) < 0))
		return tm_err_set(err, TM_EFORMAT, path, TM_ERR_NO_OFFSET, 0,
				  "\"%s\" must be a token id or a list of them", key);
	if (v)
		*out = json_integer_value(v);
	return 0;
}

/* The model kind: model_type "llama" and LlamaForCausalLM, when they are said. */
static int check_kind(const json_t *root, const char *path, struct tm_err *err)
{
	json_t *arch = get(root, "architectures"), *v;
	const char *type;
	size_t i;
	int rc = get_str(root, "model_type", "llama", &type, path, err);

	if (rc)
		return rc;
	if (strcmp(type, "llama"))
		return tm_err_set(err, TM_EUNSUP, path, TM_ERR_NO_OFFSET, 0,
				  "model_type '%s' is not 'llama'", type);
	if (!arch)
		return 0;
	if (!json_is_array(arch))
		return tm_err_set(err, TM_EFORMAT, path, TM_ERR_NO_OFFSET, 0,
				  "\"architectures\" must be a list, got %s", tm_json_type_name(arch));
	json_array_foreach(arch, i, v)
		if (json_is_string(v) && !strcmp(json_string_value(v), "LlamaForCausalLM"))
			return 0;
	v = json_array_get(arch, 0);
	return tm_err_set(err, TM_EUNSUP, path, TM_ERR_NO_OFFSET, 0,
			  "architectures ['%s'%s] do not include LlamaForCausalLM",
			  json_is_string(v) ? json_string_value(v) : "?",
			  json_array_size(arch) > 1 ? ", ..." : "");
}

/* What tamis's model does not have: biases, another activation, another head size. */
static int check_arch(const json_t *root, const struct tm_llama_config *c, const char *path,
		      struct tm_err *err)
{
	static const char *const biases[] = { "attention_bias", "mlp_bias" };
	const char *act;
	size_t i;
	bool b;
	int hd = 0, rc;

	for (i = 0; i < TM_ARRAY_SIZE(biases); i++) {
		rc = get_bool(root, biases[i], &b, path, err);
		if (rc)
			return rc;
		if (b)
			return tm_err_set(err, TM_EUNSUP, path, TM_ERR_NO_OFFSET, 0,
					  "\"%s\" is true; tamis's Llama has no biases", biases[i]);
	}
	rc = get_str(root, "hidden_act", "silu", &act, path, err);
	if (rc)
		return rc;
	if (strcmp(act, "silu"))
		return tm_err_set(err, TM_EUNSUP, path, TM_ERR_NO_OFFSET, 0,
				  "hidden_act '%s' is not 'silu' (tamis's FFN is SwiGLU)", act);
	if (!get(root, "head_dim"))
		return 0;
	rc = get_size(root, "head_dim", 0, &hd, path, err);
	if (rc || (long)hd * c->n_heads == c->dim)
		return rc;
	return tm_err_set(err, TM_EUNSUP, path, TM_ERR_NO_OFFSET, 0,
			  "head_dim %d is not hidden_size / num_attention_heads (%d / %d); "
			  "tamis derives the head size", hd, c->dim, c->n_heads);
}

/*
 * RoPE: rope_theta and rope_scaling (rope_type or the older type; llama3
 * or default), or transformers 5's rope_parameters holding both.
 */
static int parse_rope(const json_t *root, struct tm_llama_config *c, const char *path,
		      struct tm_err *err)
{
	json_t *params = get(root, "rope_parameters"), *s = get(root, "rope_scaling");
	const char *type;
	double omax = 0;
	int rc;

	if (params && !json_is_object(params))
		return tm_err_set(err, TM_EFORMAT, path, TM_ERR_NO_OFFSET, 0,
				  "\"rope_parameters\" must be an object, got %s",
				  tm_json_type_name(params));
	rc = get_real(params && get(params, "rope_theta") ? params : root, "rope_theta",
		      10000.0, &c->rope_theta, path, err);
	if (rc)
		return rc;
	if (!s)
		s = params;
	c->rope_scaling = false;
	if (!s)
		return 0;
	if (!json_is_object(s))
		return tm_err_set(err, TM_EFORMAT, path, TM_ERR_NO_OFFSET, 0,
				  "\"rope_scaling\" must be an object or null, got %s", tm_json_type_name(s));
	rc = get_str(s, "rope_type", NULL, &type, path, err);
	if (!rc && !type)
		rc = get_str(s, "type", "default", &type, path, err);
	if (rc)
		return rc;
	if (!strcmp(type, "default"))
		return 0;
	if (strcmp(type, "llama3"))
		return tm_err_set(err, TM_EUNSUP, path, TM_ERR_NO_OFFSET, 0,
				  "RoPE scaling '%s' is not supported (llama3 or none)", type);
	c->rope_scaling = true;
	rc = get_real(s, "factor", NAN, &c->rope_factor, path, err);
	if (!rc)
		rc = get_real(s, "low_freq_factor", NAN, &c->rope_low_freq_factor, path, err);
	if (!rc)
		rc = get_real(s, "high_freq_factor", NAN, &c->rope_high_freq_factor, path, err);
	if (!rc)
		rc = get_real(s, "original_max_position_embeddings", NAN, &omax, path, err);
	if (rc)
		return rc;
	if (omax != floor(omax) || omax < 1 || omax > INT_MAX)
		return tm_err_set(err, TM_EFORMAT, path, TM_ERR_NO_OFFSET, 0,
				  "\"original_max_position_embeddings\" must be a positive integer");
	c->rope_original_max_pos = (int)omax;
	return 0;
}

static int parse_config(const json_t *root, struct tm_llama_config *c, struct tm_hf_info *x,
			const char *path, struct tm_err *err)
{
	const char *dtype, *why;
	double eps;
	int rc;

	memset(c, 0, sizeof(*c));
	rc = check_kind(root, path, err);
	if (!rc)
		rc = get_size(root, "hidden_size", 0, &c->dim, path, err);
	if (!rc)
		rc = get_size(root, "intermediate_size", 0, &c->ffn_dim, path, err);
	if (!rc)
		rc = get_size(root, "num_hidden_layers", 0, &c->n_layers, path, err);
	if (!rc)
		rc = get_size(root, "num_attention_heads", 0, &c->n_heads, path, err);
	if (!rc)
		rc = get_size(root, "num_key_value_heads", c->n_heads, &c->n_kv_heads, path, err);
	if (!rc)
		rc = get_size(root, "vocab_size", 0, &c->vocab_size, path, err);
	/* the defaults are LlamaConfig's, for configs that leave keys out */
	if (!rc)
		rc = get_size(root, "max_position_embeddings", 2048, &c->max_seq_len, path, err);
	if (!rc)
		rc = get_real(root, "rms_norm_eps", 1e-6, &eps, path, err);
	if (!rc)
		rc = check_arch(root, c, path, err);
	if (!rc)
		rc = parse_rope(root, c, path, err);
	if (!rc)
		rc = get_bool(root, "tie_word_embeddings", &x->tied, path, err);
	if (!rc)
		rc = get_token(root, "bos_token_id", &x->bos_token_id, path, err);
	if (!rc)
		rc = get_token(root, "eos_token_id", &x->eos_token_id, path, err);
	if (!rc)
		rc = get_str(root, "torch_dtype", NULL, &dtype, path, err);
	if (!rc && !dtype)
		rc = get_str(root, "dtype", "", &dtype, path, err);
	if (rc)
		return rc;
	if (strlen(dtype) < sizeof(x->torch_dtype))	/* else unknown: not cut */
		memcpy(x->torch_dtype, dtype, strlen(dtype) + 1);
	c->norm_eps = (float)eps;
	if (!isfinite(c->norm_eps))
		return tm_err_set(err, TM_EFORMAT, path, TM_ERR_NO_OFFSET, 0,
				  "\"rms_norm_eps\" %g is out of fp32's range", eps);
	why = tm_llama_check(c);
	if (why)
		return tm_err_set(err, TM_ECONFIG, path, TM_ERR_NO_OFFSET, 0,
				  "not a Llama configuration tamis can run: %s", why);
	return 0;
}

int tm_hf_config_parse(const char *text, size_t len, const char *path,
		       struct tm_llama_config *c, struct tm_hf_info *x, struct tm_err *err)
{
	struct tm_hf_info dummy, init = TM_HF_INFO_INIT;
	json_t *root = tm_st_json_object(text, len, path, 0, err);
	int rc;

	if (!x)
		x = &dummy;
	*x = init;
	if (!root)
		return TM_EFORMAT;
	rc = parse_config(root, c, x, path, err);
	json_decref(root);
	return rc;
}

int tm_hf_config_read(const char *dir, struct tm_llama_config *c, struct tm_hf_info *x,
		      struct tm_err *err)
{
	struct tm_buf path = TM_BUF_INIT, text = TM_BUF_INIT;
	int rc;

	tm_buf_addf(&path, "%s/config.json", dir);
	rc = tm_st_read_small(path.buf, 1 << 20, &text, err);
	if (!rc)
		rc = tm_hf_config_parse(text.buf, text.len, path.buf, c, x, err);
	tm_buf_release(&path);
	tm_buf_release(&text);
	return rc;
}

/* ---- saving ----------------------------------------------------------- */

struct tm_hf_writer {
	char *dir;	/* the final name, without trailing slashes */
	char *tmp;	/* the temporary sibling */
};

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)flag;
	(void)f;
	return remove(path);
}

/* rm -rf path (a failure leaves what could not be removed). */
static void remove_tree(const char *path)
{
	nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int sync_entry(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
	int fd, rc;

	(void)f;
	if (flag != FTW_F && flag != FTW_DP)
		return 0;
	if (!S_ISREG(sb->st_mode) && !S_ISDIR(sb->st_mode))
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* Whether the existing directory `dir` may be replaced: empty or holding config.json. */
static bool replaceable(const char *dir)
{
	struct tm_buf p = TM_BUF_INIT;
	struct dirent *e;
	bool ok;
	DIR *d;

	tm_buf_addf(&p, "%s/config.json", dir);
	ok = access(p.buf, F_OK) == 0;
	tm_buf_release(&p);
	if (ok || !(d = opendir(dir)))
		return ok;
	ok = true;
	while (ok && (e = readdir(d)))
		ok = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
	closedir(d);
	return ok;
}

int tm_hf_begin(const char *dir, struct tm_hf_writer **out, struct tm_err *err)
{
	struct tm_hf_writer *w;
	struct tm_buf tmp = TM_BUF_INIT;
	struct stat sb;
	char *copy;
	size_t n = strlen(dir);
	int rc;

	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (!n || (n == 1 && dir[0] == '/'))
		return tm_err_set(err, TM_EINVAL, dir, TM_ERR_NO_OFFSET, 0,
				  "not a directory a checkpoint can be written to");
	w = tm_xcalloc(1, sizeof(*w));
	w->dir = tm_xmemdup(dir, n);
	if (lstat(w->dir, &sb) == 0) {
		if (!S_ISDIR(sb.st_mode))
			rc = tm_err_set(err, TM_EINVAL, w->dir, TM_ERR_NO_OFFSET, 0,
					"exists and is not a directory");
		else if (!replaceable(w->dir))
			rc = tm_err_set(err, TM_EINVAL, w->dir, TM_ERR_NO_OFFSET, 0,
					"exists, is not empty and holds no config.json: "
					"not replacing it with a checkpoint");
		else
			rc = 0;
	} else if (errno != ENOENT) {
		rc = tm_err_sys(err, w->dir, "cannot stat");
	} else {
		copy = tm_xstrdup(w->dir);
		rc = tm_mkdir_p(dirname(copy), err);
		free(copy);
	}
	if (!rc) {
		tm_buf_addf(&tmp, "%s.tmp-%ld-XXXXXX", w->dir, (long)getpid());
		if (!mkdtemp(tmp.buf))
			rc = tm_err_sys(err, w->dir, "cannot make the temporary directory '%s'",
					tmp.buf);
	}
	if (rc) {
		tm_buf_release(&tmp);
		free(w->dir);
		free(w);
		return rc;
	}
	w->tmp = tm_buf_detach(&tmp, NULL);
	*out = w;
	return 0;
}

const char *tm_hf_writer_path(const struct tm_hf_writer *w)
{
	return w->tmp;
}

static void writer_free(struct tm_hf_writer *w)
{
	free(w->dir);
	free(w->tmp);
	free(w);
}

void tm_hf_abort(struct tm_hf_writer *w)
{
	if (!w)
		return;
	remove_tree(w->tmp);
	writer_free(w);
}

int tm_hf_write_model(struct tm_hf_writer *w, const struct tm_llama_config *c,
		      const float *params, const struct tm_hf_save_opts *o,
		      struct tm_err *err)
{
	struct tm_hf_save_opts def = TM_HF_SAVE_OPTS_INIT;
	struct tm_hf_info x = TM_HF_INFO_INIT;
	struct tm_buf path = TM_BUF_INIT, text = TM_BUF_INIT;
	struct tm_llama_tensor *lt;
	struct tm_st_out *t;
	const char **meta;
	const char *why = tm_llama_check(c);
	size_t n, i, nmeta = 0;
	int rc;

	if (!o)
		o = &def;
	if (why)
		return tm_err_set(err, TM_EINVAL, w->dir, TM_ERR_NO_OFFSET, 0,
				  "bad configuration: %s", why);
	if (o->dtype != TM_ST_F32 && o->dtype != TM_ST_BF16)
		return tm_err_set(err, TM_EINVAL, w->dir, TM_ERR_NO_OFFSET, 0,
				  "checkpoints are F32 or BF16, not %s",
				  tm_st_dtype_name(o->dtype) ? tm_st_dtype_name(o->dtype) : "?");
	x.bos_token_id = o->bos_token_id;
	x.eos_token_id = o->eos_token_id;
	snprintf(x.torch_dtype, sizeof(x.torch_dtype), "%s",
		 o->dtype == TM_ST_F32 ? "float32" : "bfloat16");
	tm_hf_config_write(c, &x, &text);
	tm_buf_addf(&path, "%s/config.json", w->tmp);
	rc = tm_st_write_small(path.buf, text.buf, text.len, err);

	n = tm_llama_tensors(c, NULL, 0);
	lt = tm_xcalloc(n, sizeof(*lt));
	t = tm_xcalloc(n, sizeof(*t));
	tm_llama_tensors(c, lt, n);
	for (i = 0; i < n; i++) {
		t[i].name = lt[i].name;
		t[i].ndim = lt[i].ndim;
		t[i].shape[0] = lt[i].shape[0];
		t[i].shape[1] = lt[i].shape[1];
		t[i].data = params + lt[i].offset;
	}
	while (o->metadata && o->metadata[nmeta])
		nmeta++;
	meta = tm_xcalloc(nmeta + 3, sizeof(*meta));
	meta[0] = "format";	/* transformers refuses files without it */
	meta[1] = "pt";
	for (i = 0; i < nmeta; i++)
		meta[2 + i] = o->metadata[i];
	tm_buf_reset(&path);
	tm_buf_addf(&path, "%s/model.safetensors", w->tmp);
	if (!rc)
		rc = tm_st_write(path.buf, t, n, o->dtype, meta, err);
	free(meta);
	free(t);
	free(lt);
	tm_buf_release(&path);
	tm_buf_release(&text);
	return rc;
}

/*
 * Puts w->tmp in the place of an existing w->dir: swapped atomically
 * where the filesystem can (RENAME_EXCHANGE), else moved aside first.
 * The old directory is removed afterwards.
 */
static int replace_dir(struct tm_hf_writer *w, struct tm_err *err)
{
	struct tm_buf old = TM_BUF_INIT;
	int rc = 0;

	if (renameat2(AT_FDCWD, w->tmp, AT_FDCWD, w->dir, RENAME_EXCHANGE) == 0) {
		remove_tree(w->tmp);	/* now the old one */
		return 0;
	}
	if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
		return tm_err_sys(err, w->dir, "cannot swap in '%s'", w->tmp);
	tm_buf_addf(&old, "%s.old-%ld-XXXXXX", w->dir, (long)getpid());
	if (!mkdtemp(old.buf) || rename(w->dir, old.buf) < 0) {
		rc = tm_err_sys(err, w->dir, "cannot move aside to '%s'", old.buf);
		rmdir(old.buf);
	} else if (rename(w->tmp, w->dir) < 0) {
		rc = tm_err_sys(err, w->dir, "cannot rename '%s' into place", w->tmp);
		rename(old.buf, w->dir);
	} else {
		remove_tree(old.buf);
	}
	tm_buf_release(&old);
	return rc;
}

int tm_hf_commit(struct tm_hf_writer *w, struct tm_err *err)
{
	char *copy = tm_xstrdup(w->dir);
	int rc = 0, fd;

	if (nftw(w->tmp, sync_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
		rc = tm_err_sys(err, w->tmp, "fsync failed");
	if (!rc && rename(w->tmp, w->dir) < 0) {
		if (errno == ENOTEMPTY || errno == EEXIST)
			rc = replace_dir(w, err);
		else
			rc = tm_err_sys(err, w->dir, "cannot rename '%s' into place", w->tmp);
	}
	if (!rc) {
		fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 || fsync(fd) < 0)
			rc = tm_err_sys(err, w->dir, "fsync of the parent directory failed");
		if (fd >= 0)
			close(fd);
		writer_free(w);
	} else {
		tm_hf_abort(w);
	}
	free(copy);
	return rc;
}

int tm_hf_save(const char *dir, const struct tm_llama_config *c, const float *params,
	       const struct tm_hf_save_opts *o, struct tm_err *err)
{
	struct tm_hf_writer *w;
	int rc = tm_hf_begin(dir, &w, err);

	if (rc)
		return rc;
	rc = tm_hf_write_model(w, c, params, o, err);
	if (rc) {
		tm_hf_abort(w);
		return rc;
	}
	return tm_hf_commit(w, err);
}

/* ---- loading ---------------------------------------------------------- */

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

/* Opens DIR's weights: model.safetensors, else the index; says what is there otherwise. */
static int open_weights(const char *dir, struct tm_st **st, struct tm_err *err)
{
	static const char *const names[] = {
		"model.safetensors", "model.safetensors.index.json"
	};
	struct tm_buf p = TM_BUF_INIT;
	size_t i;
	int rc = 1;

	for (i = 0; rc > 0 && i < TM_ARRAY_SIZE(names); i++) {
		tm_buf_reset(&p);
		tm_buf_addf(&p, "%s/%s", dir, names[i]);
		if (access(p.buf, F_OK) == 0)
			rc = tm_st_open(p.buf, st, err);
	}
	if (rc > 0) {
		tm_buf_reset(&p);
		tm_buf_addf(&p, "%s/pytorch_model.bin", dir);
		if (access(p.buf, F_OK) == 0)
			rc = tm_err_set(err, TM_EUNSUP, dir, TM_ERR_NO_OFFSET, 0,
					"holds pytorch_model.bin (a pickle), which tamis does "
					"not read; save it with safe_serialization=True");
		else
			rc = tm_err_set(err, TM_EIO, dir, TM_ERR_NO_OFFSET, 0,
					"no model.safetensors or model.safetensors.index.json");
	}
	tm_buf_release(&p);
	return rc;
}

static void add_shape(struct tm_buf *b, int ndim, const int64_t *shape)
{
	int d;

	tm_buf_addch(b, '[');
	for (d = 0; d < ndim; d++)
		tm_buf_addf(b, "%s%" PRId64, d ? ", " : "", shape[d]);
	tm_buf_addch(b, ']');
}

/* Whether the tensor s is one of lt[0..n): only those and rotary buffers may be there. */
static int check_extra(const struct tm_st *st, const struct tm_llama_tensor *lt, size_t n,
		       struct tm_err *err)
{
	size_t i, k;

	for (i = 0; i < tm_st_count(st); i++) {
		const struct tm_st_tensor *s = tm_st_get(st, i);

		for (k = 0; k < n && strcmp(lt[k].name, s->name); k++)
			;
		if (k == n && !ends_with(s->name, ".rotary_emb.inv_freq"))
			return tm_err_set(err, TM_EFORMAT, tm_st_file_name(st, s->file),
					  TM_ERR_NO_OFFSET, 0,
					  "unexpected tensor '%s' (not one of the model "
					  "config.json describes)", s->name);
	}
	return 0;
}

int tm_hf_load_params(const char *dir, const struct tm_llama_config *c,
		      const struct tm_hf_info *x, float *params, struct tm_err *err)
{
	struct tm_buf a = TM_BUF_INIT, b = TM_BUF_INIT;
	struct tm_llama_tensor *lt;
	struct tm_st *st;
	size_t n = tm_llama_tensors(c, NULL, 0), i;
	bool tied = x && x->tied;
	int rc = open_weights(dir, &st, err);

	if (rc)
		return rc;
	lt = tm_xcalloc(n, sizeof(*lt));
	tm_llama_tensors(c, lt, n);
	rc = check_extra(st, lt, n, err);
	for (i = 0; !rc && i < n; i++) {
		const struct tm_st_tensor *s = tm_st_find(st, lt[i].name);
		bool tied_head = tied && !strcmp(lt[i].name, "lm_head.weight");

		if (!s && tied_head)
			continue;
		if (!s) {
			rc = tm_err_set(err, TM_EFORMAT, tm_st_file_name(st, 0), TM_ERR_NO_OFFSET,
					0, "missing tensor '%s'", lt[i].name);
			break;
		}
		if (s->ndim != lt[i].ndim || s->shape[0] != lt[i].shape[0] ||
		    (s->ndim == 2 && s->shape[1] != lt[i].shape[1])) {
			add_shape(&a, s->ndim, s->shape);
			add_shape(&b, lt[i].ndim, lt[i].shape);
			rc = tm_err_set(err, TM_EFORMAT, tm_st_file_name(st, s->file),
					TM_ERR_NO_OFFSET, 0,
					"tensor '%s' has shape %s, config.json says %s",
					s->name, a.buf, b.buf);
			break;
		}
		if (!tied_head)
			rc = tm_st_load(st, s, params + lt[i].offset, err);
	}
	/* tied: transformers makes lm_head the embedding, whatever the file holds */
	if (!rc && tied)
		memcpy(params + lt[n - 1].offset, params + lt[0].offset,
		       (size_t)lt[0].numel * sizeof(float));
	free(lt);
	tm_st_free(st);
	tm_buf_release(&a);
	tm_buf_release(&b);
	return rc;
}

int tm_hf_load(const char *dir, struct tm_llama_config *c, struct tm_hf_info *x,
	       float **params, struct tm_err *err)
{
	struct tm_hf_info dummy;
	int64_t np;
	int rc;

	if (!x)
		x = &dummy;
	*params = NULL;
	rc = tm_hf_config_read(dir, c, x, err);
	if (rc)
		return rc;
	np = tm_llama_num_params(c);
	if ((uint64_t)np > SIZE_MAX / sizeof(float) ||
	    !(*params = malloc((size_t)np * sizeof(float))))
		return tm_err_set(err, TM_ENOMEM, dir, TM_ERR_NO_OFFSET, 0,
				  "cannot allocate %" PRId64 " parameters", np);
	rc = tm_hf_load_params(dir, c, x, *params, err);
	if (rc) {
		free(*params);
		*params = NULL;
	}
	return rc;
}
