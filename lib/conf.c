/*
 * conf.c: the schema of pipeline.conf and its loader.
 */
#include "tamis.h"
#include "conf.h"
#include "filter.h"

const struct tm_ini_key tm_conf_schema[] = {
	{ "global", "stats", TM_INI_STRING,
	  "statistics database every stage writes; empty = none" },
	{ "global", "max_errors", TM_INI_INT,
	  "more bad input than this stops a tool with exit 3; -1 = no limit" },
	{ "global", "threads", TM_INI_INT, "worker threads per tool; 0 = all cores" },
	{ "global", "progress", TM_INI_BOOL,
	  "progress on stderr even when it is not a terminal" },
	{ "warc", "max_record", TM_INI_SIZE,
	  "record blocks larger than this are skipped as a stream" },
	{ "warc", "max_header", TM_INI_SIZE, "largest WARC record header accepted" },
	{ "extract", "status", TM_INI_STRING,
	  "accepted HTTP statuses, comma-separated" },
	{ "extract", "keep_truncated", TM_INI_BOOL,
	  "also extract records cut at the crawler's size limit" },
	{ "extract", "max_html", TM_INI_SIZE, "decoded HTML larger than this is skipped" },
	{ "extract", "whole_page", TM_INI_BOOL, "all visible text, no boilerplate removal" },
	{ "extract", "source", TM_INI_STRING, "the documents' \"source\" field" },
	{ "langid", "model", TM_INI_STRING, "the language-id model; empty: the installed one" },
	{ "langid", "min_score", TM_INI_FLOAT,
	  "documents whose best language scores under this are removed" },
	{ "langid", "keep", TM_INI_STRING, "keep only these languages; empty: all" },
	{ "dedup", "ngram", TM_INI_INT, "words per MinHash shingle" },
	{ "dedup", "bands", TM_INI_INT, "MinHash LSH bands" },
	{ "dedup", "rows", TM_INI_INT, "MinHash rows per band" },
	{ "dedup", "seed", TM_INI_INT, "MinHash hash seed" },
	{ "dedup", "verify", TM_INI_FLOAT,
	  "join candidates only when this share of their signatures agrees; 0: plain LSH" },
	{ "dedup", "bucket_mem", TM_INI_SIZE, "memory for sorting a band in dedup bucket" },
	{ "dedup", "line_max_count", TM_INI_INT,
	  "lines occurring more than this often in a bucket are removed" },
	{ "dedup", "line_bucket", TM_INI_INT, "documents per bucket of line dedup" },
	{ "shard", "tokens_per_shard", TM_INI_INT, "tokens per training shard (at most 2^31-1)" },
	{ "shard", "shuffle_window", TM_INI_INT,
	  "documents per source shuffled together before sharding; 0: keep order" },
	{ "shard", "seed", TM_INI_INT, "seed of the shuffle and of the held-out choice" },
	{ "shard", "val_fraction", TM_INI_FLOAT, "share of each source's documents held out" },
	{ "shard", "val_tokens", TM_INI_INT, "cap of held-out tokens per source; 0: none" },
	{ "filter", "chain", TM_INI_STRING,
	  "the filters, in order (tamis filter --list); each one's settings in [filter \"NAME\"]" },
	{ "filter", "sources", TM_INI_STRING,
	  "judge only documents of these sources (comma-separated); empty: every document" },
	{ "filter", "annotate", TM_INI_BOOL,
	  "score every document with every filter, remove nothing" },
	{ "route", "order", TM_INI_STRING,
	  "the rules `tamis route` tries, in order; each one's in [route \"NAME\"]" },
	{ "route", "default", TM_INI_STRING, "the source of documents no rule matches" },
	{ "route *", "when", TM_INI_STRING,
	  "the rule sending a document to source NAME (docs/ROUTE.md)" },
	{ "tokenize", "vocab", TM_INI_STRING,
	  "llama3, cl100k, o200k, or a tiktoken-format vocabulary file" },
	{ "tokenize", "vocab_dir", TM_INI_STRING,
	  "the directory of llama3.tiktoken, cl100k_base.tiktoken, o200k_base.tiktoken" },
	{ "tokenize", "bos", TM_INI_BOOL, "begin each document with the BOS token" },
	{ "tokenize", "eos", TM_INI_BOOL, "end each document with the EOS token" },
	{ "run", "input", TM_INI_STRING,
	  "listing of the input files (warc.paths.gz: one path per line, plain or gzip)" },
	{ "run", "base", TM_INI_STRING,
	  "prefix of the listed paths: an http(s) URL (fetched) or a directory; empty: as listed" },
	{ "run", "work", TM_INI_STRING,
	  "the run's directory: per-task outputs, markers, logs; shards, stats, report" },
	{ "run", "jobs", TM_INI_INT, "tasks at once (pipes of the tamis programs); 0 = all cores" },
	{ "run", "threads", TM_INI_INT, "threads of each program of a task; 0 = cores / jobs" },
	{ "run", "file_stages", TM_INI_STRING, "the pipe run on each input file, in order" },
	{ "run", "minhash", TM_INI_BOOL, "MinHash near-duplicates over all files (sign, bucket, cluster)" },
	{ "run", "bucket_tasks", TM_INI_INT, "tasks the MinHash bands are bucketed in" },
	{ "run", "lines", TM_INI_BOOL, "line de-duplication over all files (dedup lines)" },
	{ "run", "vocab_size", TM_INI_INT,
	  "train a BPE vocabulary of this many tokens on the final documents; 0: [tokenize] vocab" },
	{ "run", "keep_fetched", TM_INI_BOOL, "keep fetched input files after their task" },
	{ "run", "keep_rejected", TM_INI_BOOL, "keep the documents the filters removed" },
	{ "run", "report", TM_INI_BOOL, "write report.html at the end" },
	{ "run", "executor", TM_INI_STRING, "local, or slurm (sbatch job arrays)" },
	{ "run", "slurm_max_array", TM_INI_INT,
	  "array indexes stay under this; 0: the cluster's MaxArraySize" },
	{ "run", "slurm_options", TM_INI_STRING, "more sbatch arguments, comma-separated" },
};

const size_t tm_conf_schema_len = TM_ARRAY_SIZE(tm_conf_schema);

/* The static keys, then every filter's [filter "NAME"] keys. */
static const struct tm_ini_key *full_schema(size_t *n)
{
	static struct tm_ini_key *all;
	static size_t nall;

	if (!all) {
		size_t nf;
		const struct tm_ini_key *f = tm_filter_schema(&nf);

		nall = tm_conf_schema_len + nf;
		all = tm_xcalloc(nall, sizeof(*all));
		memcpy(all, tm_conf_schema, tm_conf_schema_len * sizeof(*all));
		if (nf)
			memcpy(all + tm_conf_schema_len, f, nf * sizeof(*all));
	}
	*n = nall;
	return all;
}

int tm_conf_load(const char *path, const char *const *overrides, size_t n,
		 struct tm_ini **out, struct tm_err *err)
{
	size_t nschema;
	const struct tm_ini_key *schema = full_schema(&nschema);
	struct tm_ini *ini;
	size_t i;
	int rc;

	*out = NULL;
	if (path)
		rc = tm_ini_parse_file(path, &ini, err);
	else
		rc = (ini = tm_ini_new("(no config)")) ? 0 : TM_ENOMEM;
	if (rc < 0)
		return rc;
	for (i = 0; i < n; i++) {
		if ((rc = tm_ini_set_arg(ini, overrides[i], err)) < 0) {
			tm_ini_free(ini);
			return rc;
		}
	}
	if ((rc = tm_ini_check(ini, schema, nschema, err)) < 0) {
		tm_ini_free(ini);
		return rc;
	}
	*out = ini;
	return 0;
}
