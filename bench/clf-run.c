/*
 * bench/clf-run.c: the tamis text classifier (filters/classifier.h) behind
 * fastText's command lines, for bench/classifier.sh until `tamis filter
 * train-classifier` exists:
 *
 *   clf-run train [-dim N] [-epoch N] [-lr X] [-wordNgrams N] [-bucket-bits B]
 *                 [-minn N] [-maxn N] [-seed N] -input FILE -output MODEL
 *   clf-run predict-prob MODEL FILE [K]
 *
 * train reads fastText lines (__label__X text); predict-prob writes, per
 * input line (leading __label__ tokens ignored, as fastText does), the K
 * best labels as fastText does: "__label__X P" pairs separated by spaces.
 */
#include "tamis.h"
#include "classifier.h"
#include "stream.h"

static int fail(const struct tm_err *err)
{
	struct tm_buf b = TM_BUF_INIT;

	tm_err_format(err, &b);
	fprintf(stderr, "clf-run: %s\n", b.buf);
	tm_buf_release(&b);
	return 1;
}

static int train(int argc, char **argv)
{
	struct tm_clf_train_opts o = TM_CLF_TRAIN_OPTS_INIT;
	struct tm_clf_input_opts in = TM_CLF_INPUT_OPTS_INIT;
	struct tm_clf_data_stats st;
	struct tm_err err = TM_ERR_INIT;
	struct tm_clf_model *m;
	const char *input = NULL, *output = NULL;
	int i;

	for (i = 0; i + 1 < argc; i += 2) {
		const char *k = argv[i], *v = argv[i + 1];

		if (!strcmp(k, "-dim"))
			o.dim = atoi(v);
		else if (!strcmp(k, "-epoch"))
			o.epochs = atoi(v);
		else if (!strcmp(k, "-lr"))
			o.lr = atof(v);
		else if (!strcmp(k, "-wordNgrams"))
			o.word_ngrams = atoi(v);
		else if (!strcmp(k, "-bucket-bits"))
			o.bucket_bits = atoi(v);
		else if (!strcmp(k, "-minn"))
			o.minn = atoi(v);
		else if (!strcmp(k, "-maxn"))
			o.maxn = atoi(v);
		else if (!strcmp(k, "-seed"))
			o.seed = strtoull(v, NULL, 10);
		else if (!strcmp(k, "-input"))
			input = v;
		else if (!strcmp(k, "-output"))
			output = v;
		else
			break;
	}
	if (i != argc || !input || !output) {
		fprintf(stderr, "clf-run train: bad arguments\n");
		return 2;
	}
	in.format = TM_CLF_FASTTEXT;
	if (tm_clf_train_files(&input, 1, &in, &o, &m, &st, &err) < 0)
		return fail(&err);
	fprintf(stderr, "clf-run: %" PRIu64 " examples, %" PRIu64 " tokens, %d labels\n",
		st.examples, st.words, tm_clf_nlabels(m));
	if (tm_clf_save(m, output, &err) < 0)
		return fail(&err);
	tm_clf_free(m);
	return 0;
}

static int predict(int argc, char **argv)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_clf_model *m;
	struct tm_clf_ctx *c;
	struct tm_clf_guess *g;
	struct tm_reader *r;
	struct tm_buf line = TM_BUF_INIT, out = TM_BUF_INIT;
	int k = argc > 2 ? atoi(argv[2]) : 1, rc;

	if (argc < 2 || k < 1) {
		fprintf(stderr, "clf-run predict-prob: bad arguments\n");
		return 2;
	}
	if (tm_clf_load(argv[0], &m, &err) < 0 || tm_reader_open(argv[1], &r, &err) < 0)
		return fail(&err);
	c = tm_clf_ctx_new(m);
	g = tm_xcalloc((size_t)k, sizeof(*g));
	while ((rc = tm_reader_getline(r, &line, (size_t)1 << 30, true, &err)) > 0) {
		size_t i = 0;
		int n, j;

		/* skip leading label tokens */
		for (;;) {
			while (i < line.len && (line.buf[i] == ' ' || line.buf[i] == '\t'))
				i++;
			if (line.len - i < 9 || memcmp(line.buf + i, "__label__", 9))
				break;
			while (i < line.len && line.buf[i] != ' ' && line.buf[i] != '\t')
				i++;
		}
		n = tm_clf_predict(c, line.buf + i, line.len - i, g, k);
		for (j = 0; j < n; j++)
			tm_buf_addf(&out, "%s__label__%s %.5g", j ? " " : "",
				    tm_clf_label(m, g[j].label), g[j].prob);
		tm_buf_addch(&out, '\n');
		if (out.len > (1 << 16)) {
			fwrite(out.buf, 1, out.len, stdout);
			tm_buf_reset(&out);
		}
	}
	fwrite(out.buf, 1, out.len, stdout);
	if (rc < 0)
		return fail(&err);
	tm_buf_release(&out);
	tm_buf_release(&line);
	tm_reader_free(r);
	free(g);
	tm_clf_ctx_free(c);
	tm_clf_free(m);
	return fflush(stdout) || ferror(stdout);
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "train"))
		return train(argc - 2, argv + 2);
	if (argc > 1 && !strcmp(argv[1], "predict-prob"))
		return predict(argc - 2, argv + 2);
	fprintf(stderr, "usage: clf-run train|predict-prob ...\n");
	return 2;
}
