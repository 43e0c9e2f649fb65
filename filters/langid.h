/*
 * langid.h: language identification with a linear model over hashed
 * character n-grams (fastText-like), with an ICU script prior.
 *
 * Features of a text: it is case-folded and cut into words (maximal runs
 * of letters and marks; everything else separates; a run of a script
 * written without spaces, as zh/ja/th, is one long word).  Each word is
 * padded with a boundary on each side and gives every character n-gram of
 * orders minn..maxn (a lone boundary excepted) plus, when it is at most
 * max_word code points long, the word itself.  Each feature is hashed
 * (seeded 64-bit FNV-1a over code points, then mixed) into one of
 * 2^bucket_bits rows of an embedding table E (dim columns).  The hidden
 * vector is the mean of the rows of all features (repeats count); the
 * logits are W h, one row of W per language; the probabilities are the
 * softmax over the languages the script prior allows.
 *
 * The script prior: every language carries the set of ICU scripts that
 * make up at least 10% of the letters of its training text (Latin needs
 * 25% in a language whose main script is another).  A text's main
 * scripts are its most frequent script and any other holding a quarter
 * of its letters (Common and Inherited not counted); only languages
 * writing one of them enter the softmax.  So a Thai, Greek or Hangul text
 * is answered by its script, Cyrillic text is never Latin-only French,
 * and Arabic text with Latin commands in it may still be Arabic.
 *
 * A text with no letters, or whose letters are in no language's scripts,
 * gets no answer (tm_lid_predict() returns 0; tools print "und", score 0).
 * Invalid UTF-8 bytes separate words, as punctuation does.
 *
 * Model file: docs/FORMATS.md "Language-id model" (tm_lid_load() reads it
 * plain or zstd/gzip compressed).  Training: tm_lid_train(), fully
 * deterministic for the same input, options and seed (one thread).
 *
 * Ownership: the caller owns the model from tm_lid_load()/tm_lid_train()
 * (tm_lid_free()) and the contexts (tm_lid_ctx_free()).  A model is
 * read-only once built, shared by any number of threads; a context is one
 * thread's scratch space.  Memory: the model (2^bucket_bits * (dim + 4)
 * bytes + nlang * dim * 4) plus, per context, a few KiB growing with the
 * longest text seen (8 bytes per feature).
 *
 * Must not depend on: documents, stats, streams beyond reading a file.
 */
#ifndef TM_LANGID_H
#define TM_LANGID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tm_err;
struct tm_lid_model;
struct tm_lid_ctx;

/* Longest language code in a model, with its NUL. */
#define TM_LID_CODE_MAX 16

struct tm_lid_guess {
	int lang;	/* index into the model's languages */
	float score;	/* softmax probability, 0..1 */
};

/*
 * Loads a model file (plain, .zst or .gz).  Returns 0, or TM_EIO, or
 * TM_EFORMAT naming the file and byte offset of what is wrong (magic,
 * version, sizes, checksum).
 */
int tm_lid_load(const char *path, struct tm_lid_model **out, struct tm_err *err);

/* As tm_lid_load() from memory (copied). */
int tm_lid_load_mem(const void *data, size_t len, const char *name,
		    struct tm_lid_model **out, struct tm_err *err);

void tm_lid_free(struct tm_lid_model *m);

/* Writes the model (quantized: see FORMATS.md); .zst/.gz compress. */
int tm_lid_save(const struct tm_lid_model *m, const char *path, struct tm_err *err);

int tm_lid_nlang(const struct tm_lid_model *m);
/* The code of language i (ISO 639-1 where it exists, else 639-3). */
const char *tm_lid_code(const struct tm_lid_model *m, int i);
/* Index of `code`, or -1. */
int tm_lid_find(const struct tm_lid_model *m, const char *code);
/* The ICU script short names of language i, space-separated, into buf. */
void tm_lid_scripts(const struct tm_lid_model *m, int i, char *buf, size_t size);

/*
 * The size prior: each language's logit gets weight * ln(its training
 * bytes / the largest language's), so that a language known from one
 * UDHR translation does not take text from a close, widely written one
 * (Papuan Malay from Indonesian).  The model file stores the weight it
 * was trained with; set it before creating contexts (0: no prior).
 */
void tm_lid_set_prior(struct tm_lid_model *m, float weight);
float tm_lid_get_prior(const struct tm_lid_model *m);

struct tm_lid_ctx *tm_lid_ctx_new(const struct tm_lid_model *m);
void tm_lid_ctx_free(struct tm_lid_ctx *c);

/*
 * Identifies the language of `text` (len bytes, any bytes).  Writes the
 * best `k` guesses (k >= 1), most probable first, into out[] and returns
 * how many were written (fewer when fewer languages are allowed), or 0
 * when the text gives no answer (no letters in any model script).
 * Deterministic: the same text gives the same answer in any thread.
 */
int tm_lid_predict(struct tm_lid_ctx *c, const char *text, size_t len,
		   struct tm_lid_guess *out, int k);

/* Training. */
struct tm_lid_train_opts {
	int dim;		/* embedding width (default 16) */
	int bucket_bits;	/* 2^bits rows (default 18) */
	int minn, maxn;		/* character n-gram orders (default 1..4) */
	int max_word;		/* word feature up to this many code points; 0: none */
	int epochs;		/* passes (default 10); each draws fresh samples */
	double lr;		/* initial learning rate, decays linearly to 0 */
	uint64_t seed;
	size_t min_bytes;	/* languages with less training text are left out */
	size_t epoch_floor;	/* bytes drawn per language and epoch: at least */
	size_t epoch_cap;	/*   this floor, at most this cap, else all it has */
	int short_min, short_max; /* sample lengths in code points: half short */
	int long_min, long_max;	  /* and half long */
	double prior;		/* size-prior weight stored in the model */
	/* progress: called now and then with (epoch, fraction done, mean loss) */
	void (*progress)(void *arg, int epoch, double frac, double loss);
	void *progress_arg;
};

#define TM_LID_TRAIN_OPTS_INIT { 16, 18, 1, 4, 32, 10, 0.3, 1, 8000, \
				 60000, 600000, 15, 150, 150, 700, 0.5, NULL, NULL }

/*
 * Trains a model from `tsv` ("lang<TAB>text" per line; any compression;
 * a line without a tab, or with an empty code or one longer than
 * TM_LID_CODE_MAX - 1 bytes, is an error naming file and line).  Texts of
 * one language are joined; each epoch draws random spans of them.
 * Returns 0 and *out, or TM_EIO/TM_EFORMAT/TM_EINVAL (no languages left).
 */
int tm_lid_train(const char *tsv, const struct tm_lid_train_opts *o,
		 struct tm_lid_model **out, struct tm_err *err);

#endif
