#!/usr/bin/env bash
# scripts/demo.sh: the README's first command (`make demo`).
#
# Builds a small CommonCrawl-like snapshot on this machine, without the
# internet: Debian's HTML documentation is served on 127.0.0.1 and crawled
# with `wget --warc-file` (bench/mkcorpus.sh), then a `warc.paths.gz`
# listing is written beside it as CommonCrawl publishes one.  Then it runs
# the stages built so far over the snapshot: `tamis warc ls --verify`,
# which reads every record, checks every digest and records its counts in
# demo/stats.sqlite, `tamis extract`, which turns the HTML responses into
# main-content documents (demo/docs.jsonl.zst), and `tamis stats`, which
# prints the funnel.  The rest
# of the pipeline (fetch, extract, ..., train) joins here as it lands.
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

rm -f "$DEMO/stats.sqlite"
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
echo "demo: skipped records by reason:"
sqlite3 "$DEMO/stats.sqlite" "SELECT '    ' || reason || ': ' || docs FROM removals ORDER BY docs DESC"
"$BIN/tamis" stats "$DEMO/stats.sqlite"
