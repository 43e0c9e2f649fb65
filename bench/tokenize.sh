#!/usr/bin/env bash
# bench/tokenize.sh — `tamis tokenize` against npm tiktoken 1.0.22 (OpenAI's
# Rust core as WASM, the reference): speed on one core, scaling with -j,
# and with --check, id-for-id equality on all the text.
#
# Text (bench/work/tokenize/text.jsonl, made once): the Debian and web text
# of bench/filter.sh (bench/work/filter/unique.jsonl; set UNIQUE=FILE to
# use another), many languages, plus C headers from /usr/include and the
# Python standard library as code documents (CODE_MB, default 20).
# Speed: one thread pinned to CPU 0 each.  tamis: the whole command (JSON
# in, token stream out to /dev/null), wall clock; tiktoken: encode_ordinary
# alone, timed inside node after the text is loaded (its JSON parsing and
# output not counted).  MB = 10^6 bytes of UTF-8 text.  Target: tamis >= 3x
# tiktoken's MB/s.  Then tamis -j 1 and -j NPROC, unpinned.
#
# usage: bench/tokenize.sh [--check | --train] [--record]
#   --check    also compare every document's ids with tiktoken's, for
#              llama3, cl100k and o200k (minutes)
#   --train    instead, time `tamis tokenize train` on the text (one
#              thread, CPU 0): vocabularies of 32000 and 128000 tokens,
#              wall seconds and peak RSS, and the tokens it gives the text
#   --record   append a dated markdown block to bench/RESULTS.md
# env:   TAMIS_BIN  directory holding tamis (default: bin)
#        NODE_MODULES  a node_modules with tiktoken@1.0.22 (default: one
#                   installed with npm into bench/work/tokenize/)
#        REPS       runs per measurement (default 3)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
. bench/lib.sh
RECORD=0 CHECK=0 TRAIN=0
while [ $# -gt 0 ]; do
	case $1 in
	--record) RECORD=1 ;;
	--check) CHECK=1 ;;
	--train) TRAIN=1 ;;
	-h | --help) sed -n '2,27s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "tokenize.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
	esac
	shift
done
REPS=${REPS:-3}
TAMIS=${TAMIS_BIN:-bin}/tamis
DATA=${TAMIS_DATA:-$ROOT/../shared/data}
VOC=$DATA/tokenizer
W=bench/work/tokenize
UNIQUE=${UNIQUE:-bench/work/filter/unique.jsonl}
CODE_MB=${CODE_MB:-20}

die() { echo "tokenize.sh: $*" >&2; exit 1; }
note() { echo "tokenize.sh: $*" >&2; }
[ -x "$TAMIS" ] || die "$TAMIS not found: build it (make) or set TAMIS_BIN=DIR"
for t in taskset /usr/bin/time python3; do command -v "$t" >/dev/null || die "$t not installed; run scripts/deps.sh"; done
[ "$TRAIN" -eq 1 ] || command -v node >/dev/null || die "node not installed; run scripts/deps.sh"
[[ $REPS =~ ^[1-9][0-9]*$ ]] || die "REPS must be a positive integer"
[ -f "$VOC/llama3.tiktoken" ] || die "$VOC/llama3.tiktoken not found (set TAMIS_DATA)"
mkdir -p "$W"
if [ -z "${NODE_MODULES:-}" ] && [ "$TRAIN" -eq 0 ]; then
	NODE_MODULES=$W/node_modules
	if [ ! -f "$NODE_MODULES/tiktoken/package.json" ]; then
		command -v npm >/dev/null || die "npm not installed (apt-get install npm), or set NODE_MODULES"
		note "installing npm tiktoken@1.0.22 into $W"
		npm install --prefix "$W" --no-audit --no-fund --silent tiktoken@1.0.22 >&2 ||
			die "npm install tiktoken failed"
	fi
fi

stat_of() { awk -v k="$2" '{for (i = 1; i < NF; i++) if ($i == k) print $(i + 1)}' "$1"; }
if [ ! -f "$W/text.stats" ] || [ ! -f "$W/text.jsonl" ]; then
	[ -f "$UNIQUE" ] || die "$UNIQUE not found: run bench/filter.sh first, or set UNIQUE=FILE"
	note "making $W/text.jsonl"
	python3 - "$UNIQUE" "$CODE_MB" >"$W/.text.jsonl" 3>"$W/.text.stats" <<'EOF'
import glob, json, os, sys
n = t = 0
def emit(d):
    global n, t
    n += 1
    t += len(d["text"].encode())
    print(json.dumps(d, ensure_ascii=False))
for line in open(sys.argv[1], encoding="utf-8"):
    d = json.loads(line)
    emit({"id": d.get("id", ""), "text": d["text"], "source": d.get("source") or "web"})
web = t
budget = int(float(sys.argv[2]) * 1e6)
files = sorted(glob.glob("/usr/include/**/*.h", recursive=True)) + \
        sorted(glob.glob("/usr/lib/python3*/**/*.py", recursive=True))
for f in files:
    if t - web >= budget:
        break
    try:
        text = open(f, encoding="utf-8").read()
    except (UnicodeDecodeError, OSError):
        continue
    if text:
        emit({"id": f, "text": text, "source": "code"})
os.write(3, ("documents %d text %d web %d code %d\n" % (n, t, web, t - web)).encode())
EOF
	mv "$W/.text.jsonl" "$W/text.jsonl"
	mv "$W/.text.stats" "$W/text.stats"
fi
NDOC=$(stat_of "$W/text.stats" documents)
TEXTB=$(stat_of "$W/text.stats" text)
WEBB=$(stat_of "$W/text.stats" web)
CODEB=$(stat_of "$W/text.stats" code)

TIMEFILE=$W/time.txt
: >"$W/times.txt"
timed() {
	local label=$1
	shift
	/usr/bin/time -o "$TIMEFILE" -f '%e %U %S %M' "$@" 2>"$W/err.txt" ||
		{ cat "$W/err.txt" >&2; die "$label failed: $*"; }
	echo "$label $(cat "$TIMEFILE")" >>"$W/times.txt"
}
mbps() { awk -v b="$1" -v s="$2" 'BEGIN {printf "%.1f", (s > 0 ? b / 1e6 / s : 0)}'; }
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
T_START=$(date +%s)
cat "$W/text.jsonl" >/dev/null
NP=$(nproc)

if [ "$TRAIN" -eq 1 ]; then
	TABLE=$W/table.md
	{
		echo "**text**: $NDOC documents, $((TEXTB / 1000000)) MB of UTF-8 text (\`$W/text.jsonl\`, as above)"
		echo
		echo "| \`tamis tokenize train\` (one thread, CPU 0) | seconds | CPU s | peak RSS MiB | distinct pieces | tokens of the text (no BOS) |"
		echo "| --- | ---: | ---: | ---: | ---: | ---: |"
		for size in 32000 128000; do
			timed "train-$size" taskset -c 0 "$TAMIS" tokenize train --vocab-size $size -o "$W/train-$size.tiktoken" "$W/text.jsonl"
			distinct=$(sed -n 's/.*(\([0-9]*\) distinct).*/\1/p' "$W/err.txt")
			ntok=$("$TAMIS" tokenize --vocab "$W/train-$size.tiktoken" --no-bos --format ids "$W/text.jsonl" | wc -w)
			echo "| --vocab-size $size | $(field "train-$size" 2) | $(awk -v u="$(field "train-$size" 3)" -v y="$(field "train-$size" 4)" 'BEGIN {printf "%.2f", u + y}') | $(awk -v k="$(field "train-$size" 5)" 'BEGIN {printf "%.1f", k / 1024}') | $distinct | $ntok |"
		done
		llama=$("$TAMIS" tokenize --no-bos --format ids "$W/text.jsonl" | wc -w)
		echo
		echo "- for comparison, Llama 3's vocabulary (128,256 tokens, trained on other text) gives this text $llama tokens"
	} >"$TABLE"
	LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
	cat "$TABLE"
	if [ "$RECORD" -eq 1 ]; then
		{
			echo
			echo "## $(date -u '+%Y-%m-%d %H:%M UTC') — tokenize train: BPE training time and memory"
			echo
			bench_machine "$LOAD0" "$LOAD1"
			echo "- software: tamis tree at \`$(bench_rev)\`"
			echo "- method: \`bench/tokenize.sh --train --record\`; one run each; wall clock and peak RSS from \`/usr/bin/time\`; MB = 10^6 bytes of text"
			echo
			cat "$TABLE"
		} >>bench/RESULTS.md
		note "appended to bench/RESULTS.md"
	fi
	exit 0
fi

for v in llama3 cl100k o200k; do
	for ((r = 1; r <= REPS; r++)); do
		timed "tamis-$v" taskset -c 0 "$TAMIS" tokenize -j 1 --vocab "$v" "$W/text.jsonl" -o /dev/null
		taskset -c 0 node bench/tiktoken-ids.mjs "$NODE_MODULES" "$VOC" "$v" "$W/text.jsonl" --time >"$W/tk.txt"
		echo "tiktoken-$v $(awk '{print $3}' "$W/tk.txt") 0 0 0" >>"$W/times.txt"
	done
	note "$v: tamis $(field "tamis-$v" 2) s, tiktoken $(field "tiktoken-$v" 2) s"
done
for ((r = 1; r <= REPS; r++)); do
	timed j1 "$TAMIS" tokenize -j 1 "$W/text.jsonl" -o /dev/null
	timed jN "$TAMIS" tokenize -j "$NP" "$W/text.jsonl" -o /dev/null
done

CHECKS=
if [ "$CHECK" -eq 1 ]; then
	for v in llama3 cl100k o200k; do
		node bench/tiktoken-ids.mjs "$NODE_MODULES" "$VOC" "$v" "$W/text.jsonl" >"$W/want-$v.txt"
		"$TAMIS" tokenize --vocab "$v" --no-bos --format ids "$W/text.jsonl" >"$W/got-$v.txt"
		docs=$(wc -l <"$W/want-$v.txt")
		ntok=$(wc -w <"$W/want-$v.txt")
		bad=$(paste -d '\n' "$W/want-$v.txt" "$W/got-$v.txt" | awk 'NR % 2 {w = $0; next} $0 != w {n++} END {print n + 0}')
		CHECKS="$CHECKS- ids ($v): $((docs - bad)) of $docs documents ($ntok tokens) identical to tiktoken's$([ "$bad" = 0 ] || echo ", $bad DIFFER")"$'\n'
		note "check $v: $bad of $docs documents differ"
		rm -f "$W/want-$v.txt" "$W/got-$v.txt"
	done
fi
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
T_ALL=$(($(date +%s) - T_START))

TABLE=$W/table.md
{
	echo "**text**: $NDOC documents, $((TEXTB / 1000000)) MB of UTF-8 text (\`$W/text.jsonl\`): $((WEBB / 1000000)) MB of web and Debian documentation text in many languages ($UNIQUE), $((CODEB / 1000000)) MB of C headers and Python sources"
	echo
	echo "| vocabulary (one thread, CPU 0) | tamis s | tamis peak RSS MiB | tamis MB/s | tiktoken s | tiktoken MB/s | ratio |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
	for v in llama3 cl100k o200k; do
		ts=$(field "tamis-$v" 2) ks=$(field "tiktoken-$v" 2)
		echo "| $v | $ts | $(awk -v k="$(field "tamis-$v" 5)" 'BEGIN {printf "%.1f", k / 1024}') | $(mbps "$TEXTB" "$ts") | $ks | $(mbps "$TEXTB" "$ks") | $(awk -v a="$ks" -v b="$ts" 'BEGIN {printf "%.1fx", a / b}') |"
	done
	echo
	s1=$(field j1 2) sn=$(field jN 2)
	echo "| llama3, unpinned | seconds | CPU s | MB/s | speed-up |"
	echo "| --- | ---: | ---: | ---: | ---: |"
	echo "| -j 1 | $s1 | $(awk -v u="$(field j1 3)" -v y="$(field j1 4)" 'BEGIN {printf "%.2f", u + y}') | $(mbps "$TEXTB" "$s1") | 1.0 |"
	echo "| -j $NP | $sn | $(awk -v u="$(field jN 3)" -v y="$(field jN 4)" 'BEGIN {printf "%.2f", u + y}') | $(mbps "$TEXTB" "$sn") | $(awk -v a="$s1" -v b="$sn" 'BEGIN {printf "%.2f", a / b}') |"
	echo
	ts=$(field tamis-llama3 2) ks=$(field tiktoken-llama3 2)
	echo "- llama3: tamis $(awk -v a="$ks" -v b="$ts" 'BEGIN {printf "%.1f", a / b}')x tiktoken's MB/s on one core (target >= 3x: $(awk -v a="$ks" -v b="$ts" 'BEGIN {print (a / b >= 3) ? "met" : "NOT met"}')); tamis's time includes JSON parsing and writing the stream, tiktoken's only encode_ordinary"
	printf '%s' "$CHECKS"
} >"$TABLE"
cat "$TABLE"
if [ "$RECORD" -eq 1 ]; then
	{
		echo
		echo "## $(date -u '+%Y-%m-%d %H:%M UTC') — tokenize: tamis vs npm tiktoken"
		echo
		bench_machine "$LOAD0" "$LOAD1"
		echo "- software: tamis tree at \`$(bench_rev)\`; npm tiktoken $(node -p "require('$(cd "$NODE_MODULES" && pwd)/tiktoken/package.json').version") on node $(node --version)"
		echo "- method: \`bench/tokenize.sh$([ "$CHECK" = 1 ] && echo " --check") --record\`; median of $REPS runs; input in the page cache; MB = 10^6 bytes of text; $T_ALL s in all"
		echo
		cat "$TABLE"
	} >>bench/RESULTS.md
	note "appended to bench/RESULTS.md"
fi
