#!/usr/bin/env bash
# scripts/demo.sh: the README's first command (`make demo`).
#
# Builds a small CommonCrawl-like snapshot on this machine, without the
# internet: Debian's HTML documentation is served on 127.0.0.1 and crawled
# with `wget --warc-file` (bench/mkcorpus.sh), then a `warc.paths.gz`
# listing is written beside it as CommonCrawl publishes one.  Then it runs
# the stages built so far over the snapshot: `tamis fetch` brings the WARC
# back over HTTP from a server on 127.0.0.1 (verifying every gzip member),
# `tamis warc ls --verify` reads every record and checks every digest,
# `tamis extract` turns the HTML responses into main-content documents
# (demo/docs.jsonl.zst), `tamis langid` tags their language and writes one
# file per language (demo/by-lang/), `tamis dedup` removes older captures,
# `tamis filter` runs the quality, safety and PII filters (demo/filtered.jsonl.zst,
# the removed documents with their reasons in demo/filter-rejected.jsonl.zst),
# `tamis dedup` removes older captures, exact copies and near-duplicates
# (demo/dedup.jsonl.zst), and `tamis stats` prints the funnel that all of
# them recorded in demo/stats.sqlite; `tamis tokenize train` makes a small
# BPE vocabulary from the result, `tamis tokenize` and `tamis shard` turn
# it into llm.c-compatible training shards (demo/shards/).  The trainer
# joins here when it lands.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${TAMIS_BIN:-$ROOT/bin}
DEMO=${TAMIS_DEMO_DIR:-$ROOT/demo}
CRAWL=CC-MAIN-DEMO

"$ROOT/bench/mkcorpus.sh"
mkdir -p "$DEMO/crawl-data/$CRAWL/segments/0/warc"
warc=$DEMO/crawl-data/$CRAWL/segments/0/warc/$CRAWL-00000.warc.gz
ln -sf "$ROOT/bench/work/corpus/debian-docs.warc.gz" "$warc"
echo "crawl-data/$CRAWL/segments/0/warc/$CRAWL-00000.warc.gz" |
	gzip -n >"$DEMO/warc.paths.gz"
echo "demo: snapshot in $DEMO (warc.paths.gz lists $(gzip -dc "$DEMO/warc.paths.gz" | wc -l) file)"

rm -rf "$DEMO/stats.sqlite" "$DEMO/fetched"

# Serve the snapshot on 127.0.0.1 and fetch it back as from CommonCrawl.
python3 -u -m http.server --bind 127.0.0.1 --directory "$DEMO" 0 \
	>"$DEMO/server.out" 2>"$DEMO/server.log" &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
port=
for _ in $(seq 100); do
	port=$(sed -n 's/^Serving HTTP on .* port \([0-9][0-9]*\).*/\1/p' "$DEMO/server.out")
	[ -n "$port" ] && break
	sleep 0.1
done
[ -n "$port" ] || { echo "demo: the local server did not start" >&2; exit 1; }
"$BIN/tamis" fetch -i "$DEMO/warc.paths.gz" --base "http://127.0.0.1:$port/" \
	-d "$DEMO/fetched" --stats "$DEMO/stats.sqlite"
warc=$DEMO/fetched/crawl-data/$CRAWL/segments/0/warc/$CRAWL-00000.warc.gz
echo "demo: fetched $(stat -c %s "$warc") bytes over HTTP into $DEMO/fetched (gzip verified)"
kill $server 2>/dev/null || true

"$BIN/tamis" warc ls --verify --stats "$DEMO/stats.sqlite" "$warc" >"$DEMO/records.tsv"
echo "demo: $(wc -l <"$DEMO/records.tsv") records listed in $DEMO/records.tsv"
echo "demo: by type and digest check:"
awk -F'\t' '{ n[$3 " " $NF]++ } END { for (k in n) printf "    %-28s %d\n", k, n[k] }' \
	"$DEMO/records.tsv" | sort
"$BIN/tamis" extract --stats "$DEMO/stats.sqlite" -o "$DEMO/docs.jsonl.zst" "$warc"
echo "demo: $(zstd -dc "$DEMO/docs.jsonl.zst" | wc -l) documents in $DEMO/docs.jsonl.zst; one of them:"
# (the reader stops early: zstd's SIGPIPE is expected, hence "|| true")
zstd -dc "$DEMO/docs.jsonl.zst" | python3 -c 'import json, sys
for line in sys.stdin:
    d = json.loads(line)
    if len(d["text"]) > 3000 and "python3" in d["metadata"]["url"]:
        break
print("    url:  ", d["metadata"]["url"])
print("    title:", d["metadata"].get("title", ""))
for t in d["text"][:600].splitlines():
    print("    |", t)
print("    | ...")' || true
rm -rf "$DEMO/by-lang"
"$BIN/tamis" langid --stats "$DEMO/stats.sqlite" --split-dir "$DEMO/by-lang" \
	--split-ext .jsonl.zst "$DEMO/docs.jsonl.zst"
echo "demo: documents per language (tamis langid; kept when the score is >= 0.65) in $DEMO/by-lang:"
sqlite3 "$DEMO/stats.sqlite" "SELECT '    ' || substr(name, 13) || ': ' || value FROM counters
	WHERE name LIKE 'langid.lang.%' ORDER BY value DESC, name LIMIT 12"
# the quality, safety and PII filters (pipeline.conf [filter] chain), then
# dedup over all languages: URL (latest capture), exact text, MinHash
zstd -dc "$DEMO"/by-lang/*.jsonl.zst |
	"$BIN/tamis" filter --stats "$DEMO/stats.sqlite" --rejected "$DEMO/filter-rejected.jsonl.zst" \
		-o "$DEMO/filtered.jsonl.zst"
echo "demo: $(zstd -dc "$DEMO/filtered.jsonl.zst" | wc -l) documents pass tamis filter" \
	"($(zstd -dc "$DEMO/filter-rejected.jsonl.zst" | wc -l) removed, with their reasons, in" \
	"$DEMO/filter-rejected.jsonl.zst); lines removed by c4: $(sqlite3 "$DEMO/stats.sqlite" \
	"SELECT coalesce(sum(value), 0) FROM counters WHERE name = 'filter.c4.changes'")"
zstd -dc "$DEMO/filtered.jsonl.zst" |
	"$BIN/tamis" dedup url --stats "$DEMO/stats.sqlite" |
	"$BIN/tamis" dedup exact --stats "$DEMO/stats.sqlite" |
	"$BIN/tamis" dedup minhash --stats "$DEMO/stats.sqlite" -o "$DEMO/dedup.jsonl.zst"
echo "demo: $(zstd -dc "$DEMO/dedup.jsonl.zst" | wc -l) documents left after dedup in $DEMO/dedup.jsonl.zst"
# a small BPE vocabulary trained on the demo's own text, the documents
# tokenized with it (BOS per document), and llm.c-compatible shards with a
# held-out split per source
"$BIN/tamis" tokenize train --vocab-size 8192 "$DEMO/dedup.jsonl.zst" -o "$DEMO/vocab.tiktoken"
"$BIN/tamis" tokenize --stats "$DEMO/stats.sqlite" --vocab "$DEMO/vocab.tiktoken" \
	"$DEMO/dedup.jsonl.zst" -o "$DEMO/tokens.tok.zst"
rm -rf "$DEMO/shards"
"$BIN/tamis" shard --stats "$DEMO/stats.sqlite" --tokens-per-shard 1000000 --val-fraction 0.01 \
	"$DEMO/tokens.tok.zst" -o "$DEMO/shards"
"$BIN/tamis" shard verify "$DEMO"/shards/*/*.bin
echo "demo: shards in $DEMO/shards (8,192-token vocabulary in $DEMO/vocab.tiktoken):"
"$BIN/tamis" shard info "$DEMO"/shards/*/*.bin | grep -E "^/|^  (tokens|documents|split) " | sed 's/^/    /'
echo "demo: skipped records and documents by reason:"
sqlite3 "$DEMO/stats.sqlite" "SELECT '    ' || reason || ': ' || docs FROM removals ORDER BY docs DESC"
"$BIN/tamis" stats "$DEMO/stats.sqlite"
