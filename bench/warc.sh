#!/usr/bin/env bash
# bench/warc.sh — WARC reading speed of tamis against its peers, side by side,
# in one run on one machine: (a) gzip -dc (the decompression floor),
# (b) warcio.js (bench/warcio-ls.mjs --bench), (c) tamis warc ls --bench.
#
# usage: bench/warc.sh [--record] [--peers-only]
#   --record      append a dated markdown block with machine info to bench/RESULTS.md
#   --peers-only  skip tamis (block titled "peers only, tamis pending")
# env:   TAMIS_BIN   directory holding tamis (default: bin)
#        TAMIS_ARGS  extra options for `tamis warc ls` (e.g. "-j 1"), word-split
#        REPS        repetitions per tool (default 3; the median is reported)
#
# Corpus: bench/work/corpus/debian-docs.warc.gz, made by bench/mkcorpus.sh.
# Each repetition is timed from outside (wall clock of the whole process,
# start-up included) and the tools are interleaved (a, b, c, a, b, c, …) after
# one untimed read that puts the file in the page cache.  MB/s is of the
# compressed file (10^6 bytes).  "x warcio" / "x gzip" = that tool's time
# divided by this tool's time (above 1 = faster).  The record counts the tools
# print must equal the count mkcorpus.sh verified, or the run fails.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
RECORD=0
PEERS_ONLY=0
for a in "$@"; do
	case $a in
	--record) RECORD=1 ;;
	--peers-only) PEERS_ONLY=1 ;;
	-h | --help) sed -n '2,20s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "warc.sh: unknown argument $a (try --help)" >&2; exit 2 ;;
	esac
done
REPS=${REPS:-3}
TAMIS=${TAMIS_BIN:-bin}/tamis
CORPUS=bench/work/corpus/debian-docs.warc.gz
NODEDIR=bench/work/node
WARCIO_VERSION=2.4.11

die() { echo "warc.sh: $*" >&2; exit 1; }

if [ "$PEERS_ONLY" -eq 0 ] && [ ! -x "$TAMIS" ]; then
	die "$TAMIS not found or not executable: build it first (make), set TAMIS_BIN=DIR, or run with --peers-only"
fi
for t in gzip node awk; do command -v "$t" >/dev/null || die "$t not installed; run scripts/deps.sh"; done

bench/mkcorpus.sh
WANT=$(awk '$1 == "records" {print $2}' "${CORPUS%.warc.gz}.stats")
SIZE=$(stat -c %s "$CORPUS")

have=$(node -p "require('./$NODEDIR/node_modules/warcio/package.json').version" 2>/dev/null || true)
if [ "$have" != "$WARCIO_VERSION" ]; then
	echo "warc.sh: installing warcio@$WARCIO_VERSION into $NODEDIR" >&2
	mkdir -p "$NODEDIR"
	npm install --prefix "$NODEDIR" --no-audit --no-fund --silent "warcio@$WARCIO_VERSION" >&2
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/tamis-warc-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

tools=(gzip warcio)
[ "$PEERS_ONLY" -eq 1 ] || tools+=(tamis)

# run TOOL: runs it once on the corpus, stdout to $TMP/out
# shellcheck disable=SC2086  # TAMIS_ARGS is meant to be word-split
run() {
	case $1 in
	gzip) gzip -dc "$CORPUS" >/dev/null && : >"$TMP/out" ;;
	warcio) node bench/warcio-ls.mjs --bench "$CORPUS" >"$TMP/out" ;;
	tamis) "$TAMIS" warc ls --bench ${TAMIS_ARGS:-} "$CORPUS" >"$TMP/out" ;;
	esac
}

now() { date +%s.%N; }

cat "$CORPUS" >/dev/null
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
for ((r = 1; r <= REPS; r++)); do
	for t in "${tools[@]}"; do
		t0=$(now)
		run "$t" || die "$t failed (exit $?) on $CORPUS"
		t1=$(now)
		awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.4f\n", b - a}' >>"$TMP/$t.secs"
		if [ "$t" = gzip ]; then
			echo - >>"$TMP/$t.recs"
		else
			n=$(awk '{for (i = 1; i < NF; i++) if ($i == "records") {print $(i + 1); exit}}' "$TMP/out")
			[ -n "$n" ] || die "$t printed no 'records N' (got: $(head -c 200 "$TMP/out"))"
			[ "$n" = "$WANT" ] || die "$t counted $n records, mkcorpus.sh verified $WANT"
			echo "$n" >>"$TMP/$t.recs"
		fi
		printf 'warc.sh: rep %d %-6s %6.3f s\n' "$r" "$t" "$(tail -1 "$TMP/$t.secs")" >&2
	done
done

median() { sort -g "$1" | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
declare -A SEC
for t in "${tools[@]}"; do SEC[$t]=$(median "$TMP/$t.secs"); done

# markdown table (printed, and recorded with --record)
{
	echo "| tool | records | seconds | records/s | MB/s | x warcio | x gzip |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
	for t in "${tools[@]}"; do
		case $t in
		gzip) label="\`gzip -dc\`"; recs=- ;;
		warcio) label="warcio.js $WARCIO_VERSION (\`bench/warcio-ls.mjs --bench\`)"; recs=$WANT ;;
		tamis) label="tamis (\`tamis warc ls --bench${TAMIS_ARGS:+ $TAMIS_ARGS}\`)"; recs=$WANT ;;
		esac
		awk -v l="$label" -v n="$recs" -v s="${SEC[$t]}" -v b="$SIZE" \
			-v w="${SEC[warcio]}" -v g="${SEC[gzip]}" 'BEGIN {
				rps = (n == "-") ? "-" : sprintf("%.0f", n / s)
				printf "| %s | %s | %.3f | %s | %.1f | %.2f | %.2f |\n", l, n, s, rps, b / 1e6 / s, w / s, g / s
			}'
	done
} >"$TMP/table.md"

echo
echo "corpus: $CORPUS ($WANT records, $SIZE bytes); median of $REPS, wall clock"
cat "$TMP/table.md"

if [ "$RECORD" -eq 1 ]; then
	title="tamis vs peers"
	[ "$PEERS_ONLY" -eq 0 ] || title="peers only, tamis pending"
	cpu=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo)
	mem=$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
	rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
	{
		echo
		echo "## $(date -u '+%Y-%m-%d %H:%M UTC') — $title"
		echo
		echo "- machine: \`nproc\` $(nproc), ${cpu:-unknown CPU}, $mem; $(uname -sr); load average before/after: $LOAD0 / $(cut -d' ' -f1-3 /proc/loadavg)"
		echo "- software: node $(node --version), warcio $WARCIO_VERSION, $(gzip --version | head -1); tamis tree at \`$rev\`"
		echo "- corpus: \`$CORPUS\` from \`bench/mkcorpus.sh\`: $WANT records, $SIZE bytes"
		echo "- method: \`bench/warc.sh --record$([ "$PEERS_ONLY" -eq 0 ] || echo ' --peers-only')\`; median of $REPS interleaved runs, wall clock incl. start-up, file in page cache"
		echo
		cat "$TMP/table.md"
	} >>bench/RESULTS.md
	echo "warc.sh: appended to bench/RESULTS.md" >&2
fi
