/*
 * classifier.h: a supervised linear text classifier, fastText's
 * (Joulin et al. 2017, "Bag of Tricks for Efficient Text Classification"),
 * for quality and topic filters; and the filter "classifier" (filter.h)
 * that scores documents with it.
 *
 * Features of a text: its words (tm_ftext_words(): white space cuts them,
 * zh/ja/th are cut by ICU's dictionaries; punctuation stays attached),
 * case-folded (tm_ftext_fold()), then an end-of-text token, as fastText's
 * "</s>".  Each word is hashed (seeded 64-bit FNV-1a over its bytes);
 * every run of n = 1..word_ngrams consecutive tokens gives one feature
 * (fastText's -wordNgrams; the hash of a run combines its words' hashes as
 * fastText does, h = h * 116049371 + next); with minn..maxn set (0: off,
 * as in fastText's supervised mode) each word, padded as "<word>", also
 * gives its character n-grams of those lengths in code points.  A feature
 * picks one of 2^bucket_bits rows of an embedding table E (dim columns)
 * by the top bits of the murmur3 finaliser of its hash (plus n times a
 * constant, so a bigram and a word never share a hash).  There is no
 * vocabulary: words are hashed as n-grams are (fastText keeps a word
 * list; at 2^21 rows the collisions cost nothing measurable).
 *
 * The model: h = the mean of the rows of all features (repeats count);
 * p = softmax(W h) over the labels, one row of W per label.  Two labels
 * are a softmax too, which is logistic regression on W[1] - W[0].
 * Training is fastText's: W starts at zero, E uniform in +-1/dim, plain
 * SGD on the cross-entropy of each example in turn, the learning rate
 * decaying linearly to 0 over all epochs (by tokens seen), the update of
 * E spread evenly over the example's features.  Examples are shuffled
 * each epoch; an example with several labels trains, each time it is
 * seen, on one of them drawn at random (fastText's softmax does so).
 * One thread: the same data, options and seed give the same model, byte
 * for byte.  Once trained, E is quantised to int8 per row (linear.h), so
 * a model predicts the same before and after a save and load.
 *
 * Model file: docs/FORMATS.md "Text classifier model" (tm_clf_load()
 * maps a plain file, and reads one compressed by zstd or gzip; every
 * field, the size and the checksum are checked).
 *
 * Ownership: the caller owns models (tm_clf_free()), contexts
 * (tm_clf_ctx_free()) and training sets (tm_clf_data_free()).  A model is
 * read-only once built and shared by any number of threads; a context is
 * one thread's scratch.  Memory: a model is 2^bucket_bits * (dim + 4)
 * bytes plus 4 * dim per label (4 * dim * 2^bucket_bits more while
 * training); a context grows to 4 bytes per feature of the longest text
 * it saw; a training set holds 4 bytes per feature of every example
 * (about word_ngrams features per word), not the texts.
 *
 * Must not depend on: stats, the command line.
 */
#ifndef TM_CLASSIFIER_H
#define TM_CLASSIFIER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tm_err;
struct tm_ftext;
struct tm_reader;
struct tm_clf_model;
struct tm_clf_ctx;
struct tm_clf_data;

/* Longest label, in bytes, with its NUL. */
#define TM_CLF_LABEL_MAX 128
/* Most labels in a model, and the longest word n-grams. */
#define TM_CLF_MAX_LABELS 65536
#define TM_CLF_MAX_NGRAMS 8

/* ---- models ---------------------------------------------------------- */

/*
 * Loads a model file (plain, .zst or .gz).  Returns 0 and *out, or TM_EIO,
 * or TM_EFORMAT naming the file and the byte offset of the first bad field
 * (magic, version, ranges, labels, size, checksum, weights); *out is then
 * NULL.  Never reads past the file nor trusts a size it holds.
 */
int tm_clf_load(const char *path, struct tm_clf_model **out, struct tm_err *err);

/* As tm_clf_load() from memory (copied); `name` is for messages. */
int tm_clf_load_mem(const void *data, size_t len, const char *name,
		    struct tm_clf_model **out, struct tm_err *err);

/* Writes the model; .zst and .gz compress.  Returns 0 or TM_EIO. */
int tm_clf_save(const struct tm_clf_model *m, const char *path, struct tm_err *err);

void tm_clf_free(struct tm_clf_model *m);

int tm_clf_nlabels(const struct tm_clf_model *m);
/* Label i (0 <= i < nlabels, sorted by byte value), or NULL out of range. */
const char *tm_clf_label(const struct tm_clf_model *m, int i);
/* The index of `label`, or -1. */
int tm_clf_find(const struct tm_clf_model *m, const char *label);

/* The settings a model was trained with. */
struct tm_clf_info {
	int dim, bucket_bits, word_ngrams, minn, maxn;
};
void tm_clf_info(const struct tm_clf_model *m, struct tm_clf_info *info);

/* ---- prediction ------------------------------------------------------ */

struct tm_clf_guess {
	int label;	/* index into the model's labels */
	float prob;	/* softmax probability, 0..1 */
};

struct tm_clf_ctx *tm_clf_ctx_new(const struct tm_clf_model *m);
void tm_clf_ctx_free(struct tm_clf_ctx *c);

/*
 * The probability of every label for the text `t` (its words are computed
 * once and shared with the other filters of a chain): returns an array of
 * tm_clf_nlabels() floats summing to 1, owned by the context and valid
 * until its next use.  A text without words has only the end-of-text
 * feature: its answer is what the model learnt of the labels' frequency.
 * Deterministic: the same text gives the same answer in any thread.
 */
const float *tm_clf_probs_ftext(struct tm_clf_ctx *c, struct tm_ftext *t);

/* As tm_clf_probs_ftext() for text[0..len) (any bytes). */
const float *tm_clf_probs(struct tm_clf_ctx *c, const char *text, size_t len);

/*
 * The best min(k, nlabels) labels of text[0..len) (k >= 1) into out[],
 * most probable first (ties: the lower index first); returns how many.
 */
int tm_clf_predict(struct tm_clf_ctx *c, const char *text, size_t len,
		   struct tm_clf_guess *out, int k);

/* ---- training -------------------------------------------------------- */

struct tm_clf_train_opts {
	/* features (fixed when a training set is made) */
	int dim;		/* embedding width, a multiple of 4 (default 16) */
	int bucket_bits;	/* 2^bits rows (default 21, fastText's 2M) */
	int word_ngrams;	/* word n-grams up to this length (default 2) */
	int minn, maxn;		/* character n-grams; 0 0: none (default) */
	uint64_t seed;		/* hashing, initial values, order (default 1) */
	/* training */
	int epochs;		/* passes over the examples (default 10) */
	double lr;		/* initial learning rate, decaying to 0 (default 0.5) */
	bool shuffle;		/* a fresh order each epoch (default true) */
	/* called now and then with (epoch 1.., fraction done, mean loss) */
	void (*progress)(void *arg, int epoch, double frac, double loss);
	void *progress_arg;
};

/*
 * The defaults: fastText's but for dim (100), epochs (5) and lr (0.1):
 * on bench/classifier.sh's tasks dims 8 to 100 are equally accurate
 * (16 leaves room for more labels), and 5 epochs at 0.1 underfit
 * (binary 0.81, topic 0.62 against 0.96 and 0.75 at 10 epochs, 0.5).
 */
#define TM_CLF_TRAIN_OPTS_INIT { 16, 21, 2, 0, 0, 1, 10, 0.5, true, NULL, NULL }

/*
 * Checks the options: dim 4..1024 and a multiple of 4, bucket_bits 8..30,
 * word_ngrams 1..TM_CLF_MAX_NGRAMS, minn = maxn = 0 or 1 <= minn <= maxn
 * <= 16, epochs 1..10000, 0 < lr <= 10.  Returns 0 or TM_EINVAL naming the
 * option.
 */
int tm_clf_check_opts(const struct tm_clf_train_opts *o, struct tm_err *err);

/* How input files are read. */
enum tm_clf_format {
	TM_CLF_AUTO,		/* by the first non-blank line: '{' JSONL, else fastText */
	TM_CLF_FASTTEXT,	/* "__label__a [__label__b ...] text" per line */
	TM_CLF_JSONL,		/* documents (docs/DOCUMENTS.md), label from a field */
};

struct tm_clf_input_opts {
	enum tm_clf_format format;
	/* fastText: label tokens start with this (fastText's -label) */
	const char *label_prefix;
	/*
	 * JSONL: the field holding the label: metadata.FIELD if the document
	 * has it, else the top-level FIELD (so "source" works); a string, an
	 * integer (its decimal digits) or a boolean ("true", "false").
	 */
	const char *label_field;
	/* malformed lines tolerated (counted) before failing; -1: no limit */
	long max_errors;
};

#define TM_CLF_INPUT_OPTS_INIT { TM_CLF_AUTO, "__label__", "label", 0 }

/* What reading has seen so far. */
struct tm_clf_data_stats {
	uint64_t examples;	/* kept for training */
	uint64_t unlabelled;	/* lines or documents without a label: skipped */
	uint64_t malformed;	/* JSONL lines that do not parse: skipped */
	uint64_t words;		/* tokens of the examples kept, end tokens included */
	uint64_t bytes;		/* text bytes of the examples kept */
};

/*
 * A training set: examples hashed into features as they are added (the
 * texts are not kept), with the features of options `o` (dim, epochs and
 * lr do not matter here).  `o` must pass tm_clf_check_opts() (a BUG
 * otherwise).
 */
struct tm_clf_data *tm_clf_data_new(const struct tm_clf_train_opts *o);
void tm_clf_data_free(struct tm_clf_data *d);

/*
 * Adds one example: labels[0..nlabels) (nlabels >= 1; each 1 to
 * TM_CLF_LABEL_MAX - 1 bytes, no byte below 0x20) and text[0..len).
 * Returns 0, or TM_EINVAL for a bad label or more than TM_CLF_MAX_LABELS
 * distinct ones.  Texts over 4 GiB are a BUG (text.h).
 */
int tm_clf_data_add(struct tm_clf_data *d, const char *const *labels, int nlabels,
		    const char *text, size_t len, struct tm_err *err);

/*
 * Adds every example of `r` (not freed), read as `in` says.  fastText
 * lines: the labels are the leading tokens that start with the prefix
 * (a line without one is unlabelled and skipped), the text the rest of
 * the line.  JSONL: "text" and the label field.  Returns 0, or an error
 * naming the file and line: TM_EINVAL (a bad label), TM_EFORMAT (more
 * malformed lines than in->max_errors), a read error.
 */
int tm_clf_data_read(struct tm_clf_data *d, struct tm_reader *r,
		     const struct tm_clf_input_opts *in, struct tm_err *err);

/* As tm_clf_data_read() from `path` (any compression; "-": stdin). */
int tm_clf_data_read_file(struct tm_clf_data *d, const char *path,
			  const struct tm_clf_input_opts *in, struct tm_err *err);

const struct tm_clf_data_stats *tm_clf_data_stats(const struct tm_clf_data *d);

/*
 * Trains a model on `d` with `o` (whose feature options must be those `d`
 * was made with, else TM_EINVAL).  Returns 0 and *out, or TM_EINVAL
 * (options out of range; fewer than 2 labels or no examples).  Labels are
 * sorted by byte value.  One thread, deterministic.
 */
int tm_clf_train(const struct tm_clf_data *d, const struct tm_clf_train_opts *o,
		 struct tm_clf_model **out, struct tm_err *err);

/*
 * The whole job for a command line: reads `paths` (npaths files, "-"
 * stdin) as `in` says into a training set with `o`, trains, and returns
 * the model; *stats (may be NULL) receives what was read.  Errors as
 * tm_clf_data_read_file() and tm_clf_train().
 */
int tm_clf_train_files(const char *const *paths, size_t npaths,
		       const struct tm_clf_input_opts *in,
		       const struct tm_clf_train_opts *o, struct tm_clf_model **out,
		       struct tm_clf_data_stats *stats, struct tm_err *err);

#endif
