/*
 * shard.c: tamis-shard: token streams to training shards (lib/shard.h),
 * and `info` / `verify` of shard files.
 */
#include "tamis.h"
#include "common.h"
#include "ini.h"
#include "progress.h"
#include "shard.h"
#include "stats.h"
#include "tokstream.h"

#include <math.h>

static const char shard_synopsis[] = "tamis shard [options] STREAM... -o DIR";
static const char info_synopsis[] = "tamis shard info FILE...";
static const char verify_synopsis[] = "tamis shard verify FILE...";

static const char shard_about[] =
	"Cuts token streams (from tamis tokenize) into llm.c-compatible shards:\n"
	"per document source, DIR/SOURCE/SOURCE_train_NNNNNN.bin of exactly\n"
	"--tokens-per-shard tokens (the last may be shorter), documents shuffled\n"
	"within a window and separated by the BOS token, and the held-out\n"
	"DIR/SOURCE/SOURCE_val_NNNNNN.bin (documents chosen by a hash of their id\n"
	"and the seed).  Same input and seed: byte-identical shards.\n";
static const char info_about[] =
	"Prints the header of each shard: format, token count, documents,\n"
	"vocabulary size, token width, checksum, split, index and seed.\n";
static const char verify_about[] =
	"Checks each shard: magic, version and file size (llm.c's rules), every\n"
	"token below the vocabulary size, the XXH64 checksum of the payload and\n"
	"the document count (BOS tokens).  Exit 1 naming the first bad one.\n";

static const char *opt_out;
/* unset (UINT64_MAX, NAN) until shard_config(): the command line wins,
 * then pipeline.conf [shard], then the defaults */
static uint64_t opt_tokens = UINT64_MAX, opt_window = UINT64_MAX, opt_seed = UINT64_MAX,
		opt_val_tokens = UINT64_MAX;
static double opt_val_fraction = NAN;
static struct tm_cmd_common cc = TM_CMD_COMMON_INIT;

static const struct tm_option opts[] = {
	{ TM_OPT_STRING, 'o', "output", &opt_out, "DIR", "write the shards under DIR (required)" },
	{ TM_OPT_U64, 0, "tokens-per-shard", &opt_tokens, "N",
	  "tokens per shard (default 100000000)" },
	{ TM_OPT_U64, 0, "shuffle-window", &opt_window, "N",
	  "shuffle documents within a window of N per source (default 10000; 0: keep order)" },
	{ TM_OPT_U64, 0, "seed", &opt_seed, "S", "seed of the shuffle and the held-out choice (default 1)" },
	{ TM_OPT_DOUBLE, 0, "val-fraction", &opt_val_fraction, "F",
	  "hold out this share of each source's documents (default 0.001)" },
	{ TM_OPT_U64, 0, "val-tokens", &opt_val_tokens, "N",
	  "at most about N held-out tokens per source (default 0: no cap)" },
	{ TM_OPT_STRING, 0, "stats", &cc.stats, "FILE", "record the run in this stats database" },
	{ TM_OPT_FLAG, 0, "progress", &cc.progress, NULL,
	  "show progress on stderr even when it is not a terminal" },
	TM_OPT_CONFIG(&cc.config, &cc.overrides),
	TM_OPT_END_MARK
};

static const struct tm_option no_opts[] = { TM_OPT_END_MARK };

/* Settings: the command line wins, then pipeline.conf [shard], then defaults. */
static void shard_config(void)
{
	struct tm_ini *ini = tm_cmd_load(&cc);
	struct tm_err err = TM_ERR_INIT;
	int64_t tokens, window, seed, val_tokens;
	double val_fraction;

	if (tm_ini_get_int(ini, "shard", NULL, "tokens_per_shard", 100000000, &tokens, &err) < 0 ||
	    tm_ini_get_int(ini, "shard", NULL, "shuffle_window", 10000, &window, &err) < 0 ||
	    tm_ini_get_int(ini, "shard", NULL, "seed", 1, &seed, &err) < 0 ||
	    tm_ini_get_double(ini, "shard", NULL, "val_fraction", 0.001, &val_fraction, &err) < 0 ||
	    tm_ini_get_int(ini, "shard", NULL, "val_tokens", 0, &val_tokens, &err) < 0) {
		warn_err(&err);
		exit(TM_EXIT_USAGE);
	}
	tm_ini_free(ini);
	if (tokens < 0 || window < 0 || val_tokens < 0)
		die("[shard] tokens_per_shard, shuffle_window and val_tokens must not be negative");
	if (opt_tokens == UINT64_MAX)
		opt_tokens = (uint64_t)tokens;
	if (opt_window == UINT64_MAX)
		opt_window = (uint64_t)window;
	if (opt_seed == UINT64_MAX)
		opt_seed = (uint64_t)seed;
	if (isnan(opt_val_fraction))
		opt_val_fraction = val_fraction;
	if (opt_val_tokens == UINT64_MAX)
		opt_val_tokens = (uint64_t)val_tokens;
}

struct run {
	struct tm_stats *stats;
	uint64_t shards, bytes_out;
};

static void on_shard(void *arg, const char *source, const char *path,
		     const struct tm_shard_info *info)
{
	struct run *r = arg;

	(void)source;
	(void)path;
	r->shards++;
	r->bytes_out += info->file_size;
	tm_stats_hist_add(r->stats, "shard.docs_per_shard", (double)info->ndocs);
}

static int shard_main(int argc, char **argv)
{
	struct tm_err err = TM_ERR_INIT;
	struct tm_shard_opts so;
	struct tm_sharder *sh = NULL;
	struct tm_tokstream_header first = { 0, 0, 0, 0 };
	struct tm_progress *progress;
	struct tm_buf name = TM_BUF_INIT;
	struct tm_stats_totals t = { 0 };
	struct run r = { NULL, 0, 0 };
	uint64_t docs_in = 0, bytes_in = 0, raw_done = 0;
	int i, status = TM_EXIT_OK;
	size_t k;

	tm_cmd_options(shard_synopsis, shard_about, opts, &argc, argv);
	shard_config();
	if (argc < 2 || !opt_out)
		usage_error(shard_synopsis, opts, "STREAM files and -o DIR are required");
	if (!opt_tokens || opt_tokens > TM_SHARD_MAX_TOKENS)
		usage_error(shard_synopsis, opts, "--tokens-per-shard must be 1..%" PRIu64
			    " (llm.c's int32), got %" PRIu64, TM_SHARD_MAX_TOKENS, opt_tokens);
	if (!(opt_val_fraction >= 0 && opt_val_fraction <= 1))
		usage_error(shard_synopsis, opts, "--val-fraction must be 0..1, got %g",
			    opt_val_fraction);
	memset(&so, 0, sizeof(so));
	so.dir = opt_out;
	so.tokens_per_shard = opt_tokens;
	so.window = opt_window;
	so.seed = opt_seed;
	so.val_fraction = opt_val_fraction;
	so.val_tokens = opt_val_tokens;
	so.on_shard = on_shard;
	so.arg = &r;
	if (cc.stats && tm_stats_open(cc.stats, "shard", argc, argv, &r.stats, &err) < 0)
		die_err(&err);
	tm_stats_hist_def(r.stats, "shard.docs_per_shard", TM_HIST_LOG2, 1, 1 << 24, 24);
	progress = tm_cmd_progress(&cc, "shard", argv + 1, argc - 1);
	for (i = 1; i < argc && !status; i++) {
		struct tm_tokr *tr;
		const struct tm_tokstream_header *h;
		const char *source, *id;
		const uint32_t *ids;
		size_t n;
		int rc;

		tm_stats_add_input(r.stats, argv[i]);
		if (tm_tokr_open(argv[i], &tr, &err) < 0) {
			warn_err(&err);
			status = TM_EXIT_FAIL;
			break;
		}
		h = tm_tokr_header(tr);
		if (!sh) {
			first = *h;
			if (tm_sharder_new(&so, h->vocab_size, h->bos_id, &sh, &err) < 0) {
				if (!err.file[0])
					snprintf(err.file, sizeof(err.file), "%s", argv[i]);
				warn_err(&err);
				tm_tokr_free(tr);
				status = TM_EXIT_FAIL;
				break;
			}
		} else if (h->vocab_size != first.vocab_size || h->bos_id != first.bos_id) {
			fprintf(stderr, "%s: %s: vocabulary %" PRIu32 ", BOS %" PRIu32 "; %s has %"
				PRIu32 ", %" PRIu32 ": streams of one tokenizer expected\n", tm_prog,
				argv[i], h->vocab_size, h->bos_id, argv[1], first.vocab_size,
				first.bos_id);
			tm_tokr_free(tr);
			status = TM_EXIT_FAIL;
			break;
		}
		while ((rc = tm_tokr_next(tr, &source, &id, &ids, &n, &err)) > 0) {
			docs_in++;
			if (tm_sharder_add(sh, source, id, ids, n, &err) < 0) {
				warn_err(&err);
				status = TM_EXIT_FAIL;
				break;
			}
			tm_progress_set(progress, docs_in, raw_done + tm_tokr_raw_consumed(tr));
		}
		if (rc < 0) {
			warn_err(&err);
			status = TM_EXIT_FAIL;
		}
		bytes_in += tm_tokr_tell(tr);
		raw_done += tm_tokr_raw_consumed(tr);
		tm_tokr_free(tr);
	}
	if (!status && tm_sharder_finish(sh, &err) < 0) {
		warn_err(&err);
		status = TM_EXIT_FAIL;
	}
	tm_progress_done(progress);
	tm_progress_free(progress);
	for (k = 0; sh && k < tm_sharder_nsources(sh); k++) {
		const struct tm_shard_source *s = tm_sharder_source(sh, k);

		tm_buf_reset(&name);
		tm_buf_addf(&name, "shard.tokens.%s", s->name);
		tm_stats_count(r.stats, name.buf, (int64_t)s->tokens[TM_SHARD_TRAIN]);
		tm_buf_reset(&name);
		tm_buf_addf(&name, "shard.val_tokens.%s", s->name);
		tm_stats_count(r.stats, name.buf, (int64_t)s->tokens[TM_SHARD_VAL]);
		t.docs_out += s->docs[0] + s->docs[1];
		t.tokens_out += s->tokens[0] + s->tokens[1];
		if (!status)
			fprintf(stderr, "%s: %s: %" PRIu64 " documents, %" PRIu64 " tokens in %"
				PRIu64 " train shards; %" PRIu64 " documents, %" PRIu64
				" tokens held out\n", tm_prog, s->name, s->docs[0], s->tokens[0],
				s->shards[0], s->docs[1], s->tokens[1]);
	}
	tm_stats_count(r.stats, "shard.shards", (int64_t)r.shards);
	tm_stats_mem_peak(r.stats, sh ? tm_sharder_peak_bytes(sh) : 0);
	tm_stats_totals_add(r.stats, &(struct tm_stats_totals){ .tokens_out = t.tokens_out });
	tm_sharder_free(sh);
	tm_buf_release(&name);
	return tm_cmd_stats_close(r.stats, docs_in, t.docs_out, bytes_in, r.bytes_out, status);
}

static void print_info(const char *path, const struct tm_shard_info *in)
{
	printf("%s\n", path);
	printf("  format       %s\n", in->tamis ? "tamis" : "llm.c");
	printf("  magic        %" PRIu32 "\n", in->magic);
	printf("  version      %" PRIu32 "\n", in->version);
	printf("  tokens       %" PRIu64 "\n", in->ntok);
	printf("  token_bytes  %" PRIu32 "\n", in->token_bytes);
	printf("  file_size    %" PRIu64 "\n", in->file_size);
	if (!in->tamis)
		return;
	printf("  documents    %" PRIu64 "\n", in->ndocs);
	printf("  vocab_size   %" PRIu32 "\n", in->vocab_size);
	printf("  bos_id       %" PRIu32 "\n", in->bos_id);
	printf("  split        %s\n", in->split == TM_SHARD_VAL ? "val" : "train");
	printf("  index        %" PRIu32 "\n", in->index);
	printf("  seed         %" PRIu64 "\n", in->seed);
	printf("  xxh64        %016" PRIx64 "\n", in->xxh64);
}

/* info and verify: every FILE in turn; exit 1 if any was bad. */
static int files_main(int argc, char **argv, bool verify)
{
	const char *synopsis = verify ? verify_synopsis : info_synopsis;
	int i, status = TM_EXIT_OK;

	tm_cmd_options(synopsis, verify ? verify_about : info_about, no_opts, &argc, argv);
	if (argc < 2)
		usage_error(synopsis, no_opts, "FILE arguments are required");
	for (i = 1; i < argc; i++) {
		struct tm_err err = TM_ERR_INIT;
		struct tm_shard_info in;

		if ((verify ? tm_shard_verify(argv[i], &in, &err) :
			      tm_shard_read_info(argv[i], &in, &err)) < 0) {
			warn_err(&err);
			status = TM_EXIT_FAIL;
		} else if (verify) {
			printf("%s: ok: %" PRIu64 " tokens, %" PRIu64 " documents\n", argv[i],
			       in.ntok, in.ndocs);
		} else {
			print_info(argv[i], &in);
		}
	}
	tm_cmd_finish_stdout();
	return status;
}

int main(int argc, char **argv)
{
	char prog[64];

	tm_cmd_init("tamis-shard");
	if (argc >= 2 && (!strcmp(argv[1], "info") || !strcmp(argv[1], "verify"))) {
		snprintf(prog, sizeof(prog), "tamis-shard %s", argv[1]);
		tm_cmd_init(prog);
		return files_main(argc - 1, argv + 1, !strcmp(argv[1], "verify"));
	}
	return shard_main(argc, argv);
}
