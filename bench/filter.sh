#!/usr/bin/env bash
# bench/filter.sh — speed of `tamis filter`: the default chain's MB of text
# per second on one core (target >= 50), and each filter alone.
#
# Text (bench/work/filter/text.jsonl, made once; remove bench/work/filter/
# text.stats to remake it): real web pages — `tamis extract` of every WARC
# under ../shared/data/warc, `tamis extract --html` and `--html
# --whole-page` (boilerplate kept: menus, footers, the lines C4 and
# FineWeb remove) of the 91 pages of ../shared/data/html-extraction — plus
# the Debian documentation text of bench/dedup.sh (bench/work/dedup/
# unique.jsonl, when it exists), all tagged by `tamis langid` (so that the
# per-language rules apply), repeated whole until the text reaches 100 MB.
# Every run is one thread (-j 1) pinned to CPU 0 with the input in the
# page cache; wall seconds, CPU seconds and peak RSS from /usr/bin/time;
# the median of REPS runs.  Peers: none runs the same chain (datatrove's
# filters are Python and not installable here); the issue's figure is
# the 50 MB/s target.
#
# usage: bench/filter.sh [--record]
#   --record   append a dated markdown block with machine info to bench/RESULTS.md
# env:   TAMIS_BIN  directory holding tamis (default: bin)
#        REPS       runs per measurement (default 3)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
. bench/lib.sh
RECORD=0
while [ $# -gt 0 ]; do
	case $1 in
	--record) RECORD=1 ;;
	-h | --help) sed -n '2,23s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "filter.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
	esac
	shift
done
REPS=${REPS:-3}
TAMIS=${TAMIS_BIN:-bin}/tamis
DATA=${TAMIS_DATA:-$ROOT/../shared/data}
PY=/usr/bin/python3
W=bench/work/filter
MIN_TEXT=100000000

die() { echo "filter.sh: $*" >&2; exit 1; }
note() { echo "filter.sh: $*" >&2; }
[ -x "$TAMIS" ] || die "$TAMIS not found: build it (make) or set TAMIS_BIN=DIR"
for t in taskset /usr/bin/time "$PY"; do command -v "$t" >/dev/null || die "$t not installed; run scripts/deps.sh"; done
[[ $REPS =~ ^[1-9][0-9]*$ ]] || die "REPS must be a positive integer"
[ -d "$DATA/warc" ] || die "$DATA/warc not found (set TAMIS_DATA)"
mkdir -p "$W"

stat_of() { awk -v k="$2" '{for (i = 1; i < NF; i++) if ($i == k) print $(i + 1)}' "$1"; }
if [ ! -f "$W/text.stats" ] || [ ! -f "$W/text.jsonl" ]; then
	note "extracting the text into $W/text.jsonl"
	rm -f "$W/text.stats"
	{
		find "$DATA/warc" -name '*.warc.gz' | LC_ALL=C sort |
			xargs -d '\n' "$TAMIS" extract --max-errors -1 2>/dev/null || true
		"$TAMIS" extract --html "$DATA"/html-extraction/html/*.html.gz
		"$TAMIS" extract --html --whole-page "$DATA"/html-extraction/html/*.html.gz
		[ -f bench/work/dedup/unique.jsonl ] && cat bench/work/dedup/unique.jsonl
	} | "$TAMIS" langid --min-score 0 >"$W/.unique.jsonl"
	read -r udocs utext < <("$PY" -c '
import json, sys
n = t = 0
for line in open(sys.argv[1], encoding="utf-8"):
    n += 1
    t += len(json.loads(line)["text"].encode())
print(n, t)' "$W/.unique.jsonl")
	copies=$(((MIN_TEXT + utext - 1) / utext))
	for ((c = 0; c < copies; c++)); do cat "$W/.unique.jsonl"; done >"$W/.text.jsonl"
	mv "$W/.text.jsonl" "$W/text.jsonl"
	mv "$W/.unique.jsonl" "$W/unique.jsonl"
	echo "unique_documents $udocs unique_text $utext copies $copies documents $((udocs * copies)) text $((utext * copies)) jsonl $(stat -c %s "$W/text.jsonl")" >"$W/text.stats"
fi
NDOC=$(stat_of "$W/text.stats" documents)
TEXTB=$(stat_of "$W/text.stats" text)
JSONB=$(stat_of "$W/text.stats" jsonl)
UDOCS=$(stat_of "$W/text.stats" unique_documents)
COPIES=$(stat_of "$W/text.stats" copies)
[ "$JSONB" = "$(stat -c %s "$W/text.jsonl")" ] || die "$W/text.jsonl changed since text.stats: rm $W/text.stats to remake"

: >"$W/times.txt"
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
T_START=$(date +%s)
cat "$W/text.jsonl" >/dev/null

CHAIN=$("$TAMIS" filter --print-chain)
for ((r = 1; r <= REPS; r++)); do
	timed chain "$TAMIS" filter -j 1 --stats "$W/stats.sqlite" "$W/text.jsonl" -o "$W/out.jsonl"
	note "default chain rep $r: $(tail -1 "$W/times.txt" | cut -d' ' -f2) s"
	rm -f "$W/stats.sqlite"*
done
KEPT=$(wc -l <"$W/out.jsonl")
timed cat cat "$W/text.jsonl" >/dev/null
for f in ${CHAIN//,/ }; do
	for ((r = 1; r <= REPS; r++)); do
		timed "$f" "$TAMIS" filter -j 1 --chain "$f" "$W/text.jsonl" -o /dev/null
	done
	note "$f alone: $(field "$f" 2) s"
done
rm -f "$W/out.jsonl"
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
T_ALL=$(($(date +%s) - T_START))

mbps() { awk -v b="$1" -v s="$2" 'BEGIN {printf "%.1f", (s > 0 ? b / 1e6 / s : 0)}'; }
TABLE=$W/table.md
{
	echo "**text**: $NDOC documents ($UDOCS distinct, each $COPIES times), $((TEXTB / 1000000)) MB of text in $((JSONB / 1000000)) MB of JSONL (\`$W/text.jsonl\`): real web pages (every WARC of ../shared/data/warc, the 91 pages of html-extraction with and without boilerplate) and Debian documentation, tagged by \`tamis langid\`"
	echo
	echo "| run (-j 1, CPU 0) | seconds | CPU s | peak RSS MiB | MB of text/s |"
	echo "| --- | ---: | ---: | ---: | ---: |"
	s=$(field chain 2)
	echo "| default chain \`$CHAIN\` (median of $REPS): $KEPT of $NDOC documents kept | $s | $(awk -v u="$(field chain 3)" -v y="$(field chain 4)" 'BEGIN {printf "%.2f", u + y}') | $(awk -v k="$(field chain 5)" 'BEGIN {printf "%.1f", k / 1024}') | $(mbps "$TEXTB" "$s") |"
	for f in ${CHAIN//,/ }; do
		s=$(field "$f" 2)
		echo "| \`--chain $f\` alone (every document) | $s | $(awk -v u="$(field "$f" 3)" -v y="$(field "$f" 4)" 'BEGIN {printf "%.2f", u + y}') | $(awk -v k="$(field "$f" 5)" 'BEGIN {printf "%.1f", k / 1024}') | $(mbps "$TEXTB" "$s") |"
	done
	echo "| \`cat\` of the JSONL (the floor) | $(field cat 2) | | | $(mbps "$TEXTB" "$(field cat 2)") |"
	echo
	s=$(field chain 2)
	ok=$(awk -v r="$(mbps "$TEXTB" "$s")" 'BEGIN {print (r >= 50) ? "met" : "NOT met"}')
	echo "- default chain: $(mbps "$TEXTB" "$s") MB of text per second per core (target >= 50: $ok); $(mbps "$JSONB" "$s") MB of JSONL per second"
	echo "- a filter alone sees every document; in the chain, a document removed early is not seen by later filters"
} >"$TABLE"
cat "$TABLE"
if [ "$RECORD" -eq 1 ]; then
	{
		echo
		echo "## $(date -u '+%Y-%m-%d %H:%M UTC') — filter speed: the default chain per core"
		echo
		bench_machine "$LOAD0" "$LOAD1"
		echo "- software: tamis tree at \`$(bench_rev)\`"
		echo "- method: \`bench/filter.sh --record\`; one thread pinned to CPU 0, input in the page cache, wall clock and peak RSS from \`/usr/bin/time\`; MB = 10^6 bytes; $T_ALL s in all"
		echo
		cat "$TABLE"
	} >>bench/RESULTS.md
	note "appended to bench/RESULTS.md"
fi
