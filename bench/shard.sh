#!/usr/bin/env bash
# bench/shard.sh — speed and memory of `tamis shard` and `tamis shard verify`.
#
# Input: bench/work/filter/unique.jsonl (bench/filter.sh makes it: real web
# pages and Debian documentation in many languages) tokenized once with
# Llama 3's vocabulary into bench/work/shard/tokens.tok (made once; remove
# it to remake).  Then, one process pinned to CPU 0 with the input in the
# page cache, the median of REPS runs of: `tamis shard` with the defaults
# (10,000-document shuffle window, 0.1% held out) into 10M-token shards,
# `tamis shard` with no shuffle (--shuffle-window 0), and `tamis shard
# verify` of the shards: wall and CPU seconds, peak RSS, millions of tokens
# per second.  The issue names no peer for sharding (llm.c's Python
# scripts shard as they tokenize).
#
# usage: bench/shard.sh [--record]
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
	-h | --help) sed -n '2,17s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "shard.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
	esac
	shift
done
REPS=${REPS:-3}
TAMIS=${TAMIS_BIN:-bin}/tamis
W=bench/work/shard
IN=bench/work/filter/unique.jsonl

die() { echo "shard.sh: $*" >&2; exit 1; }
note() { echo "shard.sh: $*" >&2; }
[ -x "$TAMIS" ] || die "$TAMIS not found: build it (make) or set TAMIS_BIN=DIR"
[ -f "$IN" ] || die "$IN not found: run bench/filter.sh first"
[[ $REPS =~ ^[1-9][0-9]*$ ]] || die "REPS must be a positive integer"
mkdir -p "$W"
if [ ! -f "$W/tokens.tok" ]; then
	note "tokenizing $IN (Llama 3) into $W/tokens.tok"
	"$TAMIS" tokenize "$IN" -o "$W/.tokens.tok"
	mv "$W/.tokens.tok" "$W/tokens.tok"
fi
TOKB=$(stat -c %s "$W/tokens.tok")

: >"$W/times.txt"
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
T_START=$(date +%s)
cat "$W/tokens.tok" >/dev/null
for ((r = 1; r <= REPS; r++)); do
	rm -rf "$W/s" "$W/s0"
	timed shard "$TAMIS" shard --tokens-per-shard 10000000 "$W/tokens.tok" -o "$W/s"
	timed shard0 "$TAMIS" shard --tokens-per-shard 10000000 --shuffle-window 0 "$W/tokens.tok" -o "$W/s0"
	timed verify "$TAMIS" shard verify "$W"/s/*/*.bin >/dev/null
done
NTOK=$("$TAMIS" shard info "$W"/s/*/*.bin | awk '/^  tokens/ {s += $2} END {print s}')
NSH=$(ls "$W"/s/*/*.bin | wc -l)
rm -rf "$W/s" "$W/s0"
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
T_ALL=$(($(date +%s) - T_START))

row() {
	local s
	s=$(field "$1" 2)
	echo "| $2 | $s | $(awk -v u="$(field "$1" 3)" -v y="$(field "$1" 4)" 'BEGIN {printf "%.2f", u + y}') | $(awk -v k="$(field "$1" 5)" 'BEGIN {printf "%.1f", k / 1024}') | $(awk -v n="$NTOK" -v s="$s" 'BEGIN {printf "%.1f", (s > 0 ? n / 1e6 / s : 0)}') |"
}
TABLE=$W/table.md
{
	echo "**input**: \`$IN\` tokenized with Llama 3: $NTOK tokens in $((TOKB / 1000000)) MB of token stream (uint32); $NSH shards of 10M tokens (train and held-out)"
	echo
	echo "| run (one process, CPU 0; median of $REPS) | seconds | CPU s | peak RSS MiB | M tokens/s |"
	echo "| --- | ---: | ---: | ---: | ---: |"
	row shard "\`tamis shard\` (10,000-document window, 0.1% held out, uint32 shards)"
	row shard0 "\`tamis shard --shuffle-window 0\`"
	row verify "\`tamis shard verify\` of those shards (XXH64, ids, BOS count)"
} >"$TABLE"
cat "$TABLE"
if [ "$RECORD" -eq 1 ]; then
	{
		echo
		echo "## $(date -u '+%Y-%m-%d %H:%M UTC') — shard speed"
		echo
		bench_machine "$LOAD0" "$LOAD1"
		echo "- software: tamis tree at \`$(bench_rev)\`"
		echo "- method: \`bench/shard.sh --record\`; one process pinned to CPU 0, input in the page cache, wall clock and peak RSS from \`/usr/bin/time\`; $T_ALL s in all"
		echo
		cat "$TABLE"
	} >>bench/RESULTS.md
	note "appended to bench/RESULTS.md"
fi
