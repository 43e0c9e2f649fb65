#!/usr/bin/env bash
# scripts/demo.sh: the README's first command (`make demo`).
#
# No internet needed.  Builds a small CommonCrawl-like snapshot on this
# machine: Debian's HTML documentation in many languages (python3-doc and
# every debian-handbook translation) is served on 127.0.0.1 and crawled
# with `wget --warc-file` (bench/mkcorpus.sh); the crawl is cut at record
# boundaries into segment files of about 20 MB, each beginning with the
# crawl's warcinfo record, as CommonCrawl publishes them; a second small
# crawl of mpmath's documentation adds one more file (mathematics); all
# are listed in a `warc.paths.gz`.  Then the snapshot is served on 127.0.0.1 and
# `tamis run pipeline.conf` does the whole job over HTTP from that server:
# per segment file fetch -> extract -> langid -> filter -> route -> URL and
# exact dedup; MinHash and line dedup over all of them; a BPE vocabulary
# trained on the result; tokenize -> shards per source; stats.sqlite and
# report.html; then a tiny Llama is trained on the shards through a main
# and an annealing phase (mixes/demo.conf) and samples a few words.
#
# Environment: TAMIS_DEMO_DIR (default ./demo), TAMIS_DEMO_SEGMENT (bytes
# per segment file, default 20000000), TAMIS_BIN.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${TAMIS_BIN:-$ROOT/bin}
DEMO=${TAMIS_DEMO_DIR:-$ROOT/demo}
SEGMENT=${TAMIS_DEMO_SEGMENT:-20000000}
CRAWL=CC-MAIN-DEMO
start=$(date +%s)

# serve DIR LOG: python3's http.server for DIR on 127.0.0.1, port from the
# kernel; sets $served_pid and $served_port
serve() {
	python3 -u -m http.server --bind 127.0.0.1 --directory "$1" 0 >"$2" 2>/dev/null &
	served_pid=$!
	served_port=
	for _ in $(seq 100); do
		served_port=$(sed -n 's/^Serving HTTP on .* port \([0-9][0-9]*\).*/\1/p' "$2")
		[ -n "$served_port" ] && return 0
		sleep 0.1
	done
	echo "demo: the local server for $1 did not start" >&2
	exit 1
}

"$ROOT/bench/mkcorpus.sh"
src=$ROOT/bench/work/corpus/debian-docs.warc.gz
snap=$DEMO/snapshot
seg=$snap/crawl-data/$CRAWL/segments/0/warc
if [ ! -s "$snap/warc.paths.gz" ] || [ "$snap/warc.paths.gz" -ot "$src" ]; then
	rm -rf "$snap"
	mkdir -p "$seg"
	# record offsets from tamis warc ls; cut before a request record
	# (wget writes each request before its response) once a file is full
	"$BIN/tamis" warc ls "$src" | python3 -c '
import os, sys
src, seg, crawl, size = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
recs = [line.split("\t")[:3] for line in sys.stdin]
data = open(src, "rb").read()
info = next(data[int(o):int(o) + int(n)] for o, n, t in recs if t == "warcinfo")
files, cur, k = [], [], 0
def flush():
    global cur, k
    if not cur:
        return
    name = "%s/%s-%05d.warc.gz" % (seg, crawl, k)
    with open(name + ".tmp", "wb") as f:
        f.write(info)
        for o, n in cur:
            f.write(data[o:o + n])
    os.rename(name + ".tmp", name)
    files.append(name)
    cur, k = [], k + 1
total = 0
for o, n, t in recs:
    o, n = int(o), int(n)
    if t == "warcinfo":
        continue
    if t == "request" and total >= size:
        flush()
        total = 0
    cur.append((o, n))
    total += n
flush()
' "$src" "$seg" "$CRAWL" "$SEGMENT"
	# a second, small crawl: mpmath's documentation (mathematics), so that
	# every source of the routing rules has documents
	mpdoc=/usr/share/doc/python-mpmath-doc/html
	if [ -f "$mpdoc/index.html" ]; then
		tmp=$(mktemp -d "${TMPDIR:-/tmp}/tamis-demo.XXXXXX")
		ln -s "$mpdoc" "$tmp/mpmath"
		serve "$tmp" "$tmp/server.out"
		mpserver=$served_pid
		mpport=$served_port
		rc=0
		wget --recursive --level=inf --no-parent --no-verbose --delete-after \
			--no-host-directories --directory-prefix="$tmp/dl" \
			--warc-file="$tmp/mpmath" --no-proxy --tries=2 --timeout=30 \
			"http://127.0.0.1:$mpport/mpmath/index.html" 2>"$tmp/wget.log" || rc=$?
		kill $mpserver 2>/dev/null || true
		# 8: some links are dangling
		if [ "$rc" -ne 0 ] && [ "$rc" -ne 8 ]; then
			tail -5 "$tmp/wget.log" >&2
			echo "demo: the mpmath crawl failed (wget exit $rc)" >&2
			exit 1
		fi
		n=$(ls "$seg" | wc -l)
		mv "$tmp/mpmath.warc.gz" "$seg/$(printf '%s-%05d.warc.gz' "$CRAWL" "$n")"
		rm -rf "$tmp"
	fi
	(cd "$snap" && ls crawl-data/$CRAWL/segments/0/warc/*.warc.gz) | gzip -n >"$snap/warc.paths.gz.tmp"
	mv "$snap/warc.paths.gz.tmp" "$snap/warc.paths.gz"
fi
nfiles=$(gzip -dc "$snap/warc.paths.gz" | wc -l)
echo "demo: snapshot in $snap: $nfiles WARC files listed in warc.paths.gz" \
	"($(du -sh "$seg" | cut -f1), wget-written records)"

# Serve the snapshot on 127.0.0.1, as data.commoncrawl.org would.
serve "$snap" "$DEMO/server.out"
server=$served_pid
port=$served_port
trap 'kill $server 2>/dev/null || true' EXIT
echo "demo: serving it on http://127.0.0.1:$port/"

# The whole pipeline: pipeline.conf as shipped, with the snapshot as input,
# a vocabulary trained on the fly (8,192 tokens suit this little text) and
# shards of a million tokens.  --restart: each demo starts over (the
# server's port, part of the input list's fingerprint, changes per run).
"$BIN/tamis" run "$ROOT/pipeline.conf" -w "$DEMO/run" --restart \
	-i "$snap/warc.paths.gz" --base "http://127.0.0.1:$port/" \
	-c run.vocab_size=8192 -c run.keep_rejected=true \
	-c shard.tokens_per_shard=1000000 -c shard.val_fraction=0.01
kill $server 2>/dev/null || true

echo
echo "demo: documents per language (tamis langid; kept when the score is >= 0.65):"
sqlite3 "$DEMO/run/stats.sqlite" "SELECT '    ' || substr(name, 13) || ': ' || sum(value)
	FROM counters WHERE name LIKE 'langid.lang.%' GROUP BY name ORDER BY sum(value) DESC, name LIMIT 12"
echo "demo: documents per source (tamis route):"
sqlite3 "$DEMO/run/stats.sqlite" "SELECT '    ' || substr(name, 14) || ': ' || sum(value)
	FROM counters WHERE name LIKE 'route.source.%' GROUP BY name ORDER BY sum(value) DESC"
"$BIN/tamis" shard verify "$DEMO"/run/shards/*/*.bin
echo "demo: shards (verified; 8,192-token vocabulary in $DEMO/run/vocab.tiktoken):"
"$BIN/tamis" shard info "$DEMO"/run/shards/*/*.bin | grep -E "^/|^  (tokens|documents|split) " | sed 's/^/    /'
echo "demo: the filters' removed documents, with their reasons: $DEMO/run/rejected/"

# A tiny Llama (train/llama.c "tiny") trained on the shards through
# mixes/demo.conf: a main phase (warmup, cosine) and an annealing phase
# (linear to zero, more code and math); its steps and validation losses
# go to the same stats.sqlite, and the report is written again with them.
echo "demo: training a tiny Llama on the shards (mixes/demo.conf: main, then anneal)"
rm -rf "$DEMO/model"
"$BIN/tamis" train --mix "$ROOT/mixes/demo.conf" --shards "$DEMO/run/shards" \
	-o "$DEMO/model" --stats "$DEMO/run/stats.sqlite" --log-every 100
"$BIN/tamis" report "$DEMO/run/stats.sqlite" -o "$DEMO/run/report.html"
ckpt=$DEMO/model/$(cat "$DEMO/model/latest")
echo "demo: the model (a Hugging Face Llama directory) is $ckpt; it writes:"
"$BIN/tamis" generate --model "$ckpt" --vocab "$DEMO/run/vocab.tiktoken" -n 40 \
	--temperature 0.7 "The Debian" | sed 's/^/    | /'
echo "demo: finished in $(( $(date +%s) - start )) s; the report: $DEMO/run/report.html"
