#!/usr/bin/env bash
# bench/dedup.sh — speed and memory of `tamis dedup`'s MinHash stages:
#   (a) signatures per core: `taskset -c 0 tamis dedup sign` over >= 100 MB
#       of real extracted text (MB of the documents' "text" per second,
#       median of REPS runs), and the streaming `tamis dedup minhash` on the
#       same text (seconds, peak RSS), whose output must equal the cluster
#       stages' (sign, bucket, cluster, apply) byte for byte
#   (b) the cluster stages at scale: DOCS synthetic signatures (default
#       10^7, in 10 SIG files, made by bench/sigs-gen.c: random band keys,
#       5% of the documents copying every key of an earlier one and 5%
#       copying 1 or 2 of its keys), through `tamis dedup bucket --bands
#       0-13`, the same split in two ranges 0-6 and 7-13 (as two machines
#       would run it), 0-13 again with --mem 64M (on-disk sorted runs), and
#       `tamis dedup cluster`: wall seconds, CPU seconds and peak RSS
#       (/usr/bin/time) of each; the documents removed must be exactly the
#       ones the generator planted (REMOVE compared with its list)
#
# usage: bench/dedup.sh [--record] [--docs N] [--keep]
#   --record   append a dated markdown block with machine info to bench/RESULTS.md
#   --docs N   synthetic signatures for (b) (default 10000000; 120 bytes each)
#   --keep     keep the signature and pairs files of (b) (default: removed at
#              the end, even on failure)
# env:   TAMIS_BIN  directory holding tamis (default: bin)
#        REPS       runs of `sign` in (a) (default 3; the median is reported)
#
# Text (bench/work/dedup/text.jsonl, made once; remove bench/work/dedup/
# text.stats to remake it): `tamis extract` of bench/work/corpus/
# debian-docs.warc.gz (bench/mkcorpus.sh makes it), plus `tamis extract
# --html --whole-page` of every debian-handbook translation and of the
# python3-doc HTML, these documents repeated whole until their text reaches
# 100 MB (the copies are exact duplicates: `minhash` removes them).  Inputs
# are read once untimed so that they are in the page cache; every tamis
# stage is single-threaded and pinned to CPU 0.  Peers: datatrove's MinHash
# (the reference the issue names) is reported as not installed when python3
# cannot import it; it is not installed by this script.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
. bench/lib.sh
RECORD=0 DOCS=10000000 KEEP=0
ARGS="$*"
while [ $# -gt 0 ]; do
	case $1 in
	--record) RECORD=1 ;;
	--docs) DOCS=$2; shift ;;
	--keep) KEEP=1 ;;
	-h | --help) sed -n '2,35s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "dedup.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
	esac
	shift
done
REPS=${REPS:-3}
TAMIS=${TAMIS_BIN:-bin}/tamis
PY=/usr/bin/python3
W=bench/work/dedup
S=$W/syn
CORPUS=bench/work/corpus/debian-docs.warc.gz
HANDBOOK=/usr/share/doc/debian-handbook/html
PYDOC=/usr/share/doc/python3/html
MIN_TEXT=100000000

die() { echo "dedup.sh: $*" >&2; exit 1; }
note() { echo "dedup.sh: $*" >&2; }
[ -x "$TAMIS" ] || die "$TAMIS not found: build it (make) or set TAMIS_BIN=DIR"
for t in cc taskset /usr/bin/time "$PY"; do command -v "$t" >/dev/null || die "$t not installed; run scripts/deps.sh"; done
[[ $DOCS =~ ^[1-9][0-9]*$ ]] || die "--docs must be a positive integer"
[[ $REPS =~ ^[1-9][0-9]*$ ]] || die "REPS must be a positive integer"
compgen -G "$HANDBOOK/*/*.html" >/dev/null || die "no $HANDBOOK/*/*.html: install debian-handbook (scripts/deps.sh)"
[ -d "$PYDOC" ] || die "$PYDOC not found: install python3-doc (scripts/deps.sh)"
mkdir -p "$W"

# --- the text, made once ------------------------------------------------------
stat_of() { awk -v k="$2" '{for (i = 1; i < NF; i++) if ($i == k) print $(i + 1)}' "$1"; }
if [ ! -f "$W/text.stats" ] || [ ! -f "$W/text.jsonl" ]; then
	bench/mkcorpus.sh >&2
	note "extracting the text into $W/text.jsonl"
	rm -f "$W/text.stats" "$W/.unique.jsonl" "$W/.text.jsonl"
	"$TAMIS" extract -j "$(nproc)" "$CORPUS" >"$W/.unique.jsonl"
	"$TAMIS" extract -j "$(nproc)" --html --whole-page "$HANDBOOK"/*/*.html >>"$W/.unique.jsonl"
	find -L "$PYDOC" -name '*.html' | LC_ALL=C sort |
		xargs -d '\n' "$TAMIS" extract -j "$(nproc)" --html --whole-page >>"$W/.unique.jsonl"
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

# --- (b)'s files go away at the end -------------------------------------------
cleanup() {
	[ "$KEEP" -eq 1 ] || rm -rf "$S"
	rm -f "$W"/a.sig "$W"/a.pairs "$W"/a.remove "$W"/a.out.jsonl "$W"/m.out.jsonl
}
trap cleanup EXIT
: >"$W/times.txt"

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
T_START=$(date +%s)

# --- (a) signatures per core, streaming minhash, and the cluster stages on text
cat "$W/text.jsonl" >/dev/null
for ((r = 1; r <= REPS; r++)); do
	timed sign "$TAMIS" dedup sign "$W/text.jsonl" -o "$W/a.sig"
	note "sign rep $r: $(tail -1 "$W/times.txt" | cut -d' ' -f2) s"
done
timed minhash "$TAMIS" dedup minhash "$W/text.jsonl" -o "$W/m.out.jsonl"
timed minhash-unique "$TAMIS" dedup minhash "$W/unique.jsonl" >/dev/null
timed bucket-text "$TAMIS" dedup bucket --bands 0-13 "$W/a.sig" -o "$W/a.pairs"
timed cluster-text "$TAMIS" dedup cluster "$W/a.pairs" -o "$W/a.remove"
timed apply-text "$TAMIS" dedup apply --remove "$W/a.remove" "$W/text.jsonl" -o "$W/a.out.jsonl"
cmp -s "$W/m.out.jsonl" "$W/a.out.jsonl" || die "minhash and sign/bucket/cluster/apply kept different documents"
KEPT=$(wc -l <"$W/m.out.jsonl")
if DT=$("$PY" -c 'import datatrove; print(datatrove.__version__)' 2>/dev/null); then
	DATATROVE="datatrove $DT is importable but not run by this script"
else
	DATATROVE="datatrove is not installed (\`$PY -c 'import datatrove'\` fails) and was not installed for this run: no peer figure"
fi

# --- (b) 10^7 synthetic signatures through bucket and cluster ------------------
need=$(((DOCS * 120 * 2 + DOCS * 40) / 1000000 + 500))	# SIGs + pairs + lists, MB
avail=$(df -Pm "$W" | awk 'NR == 2 {print $4}')
[ "$avail" -gt "$need" ] || die "$W: ${avail} MB free, (b) needs about $need MB"
rm -rf "$S"
mkdir -p "$S"
cc -O2 -Wall -Wextra -o "$W/sigs-gen" bench/sigs-gen.c
note "writing $DOCS synthetic signatures to $S/"
GEN=$("$W/sigs-gen" -n "$DOCS" -f 10 -l "$S/planted.txt" "$S/s")
PLANTED=$(echo "$GEN" | awk '{print $4}')
SIGS=("$S"/s.*.sig)
SIGBYTES=$(du -cb "${SIGS[@]}" | tail -1 | cut -f1)
cat "${SIGS[@]}" >/dev/null
timed bucket-all "$TAMIS" dedup bucket --bands 0-13 "${SIGS[@]}" -o "$S/all.pairs"
PAIRS_ALL=$(grep -o '[0-9]* pairs' "$W/err.txt" | cut -d' ' -f1)
timed bucket-0-6 "$TAMIS" dedup bucket --bands 0-6 "${SIGS[@]}" -o "$S/a.pairs"
timed bucket-7-13 "$TAMIS" dedup bucket --bands 7-13 "${SIGS[@]}" -o "$S/b.pairs"
timed bucket-ext "$TAMIS" dedup bucket --mem 64M --bands 0-13 "${SIGS[@]}" -o "$S/ext.pairs"
cmp -s "$S/all.pairs" "$S/ext.pairs" || die "bucket --mem 64M wrote other pairs than bucket in memory"
rm -f "$S/ext.pairs"
# the man page: sorted runs go to temporary files in $TMPDIR; with a $TMPDIR
# that does not exist, bucket must fail if it honours it (--mem 4K: 256
# entries, so that even --docs 1000 spills to sorted runs)
if TMPDIR=$ROOT/$S/no-such-dir "$TAMIS" dedup bucket --mem 4K --bands 0-0 "${SIGS[0]}" "${SIGS[1]}" \
	-o "$S/t.pairs" 2>/dev/null; then
	RUNS_TMP="NO: with TMPDIR set to a missing directory \`bucket --mem 4K\` still succeeds, so its sorted runs went elsewhere"
else
	RUNS_TMP="yes (with TMPDIR set to a missing directory \`bucket --mem 4K\` fails)"
fi
rm -f "$S/t.pairs"
timed cluster-all "$TAMIS" dedup cluster "$S/all.pairs" -o "$S/all.remove"
REMOVED=$(sed -n 's/.*: \([0-9]*\) of [0-9]* documents to remove$/\1/p' "$W/err.txt")
timed cluster-split "$TAMIS" dedup cluster "$S/a.pairs" "$S/b.pairs" -o "$S/split.remove"
cmp -s "$S/all.remove" "$S/split.remove" || die "the split band ranges removed other documents"
if cmp -s "$S/all.remove" "$S/planted.txt"; then
	SAME="yes, the same document numbers"
else
	SAME="NO: REMOVE differs from the generator's list ($S/, kept)"
	KEEP=1
fi
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
ELAPSED=$(($(date +%s) - T_START))

# --- tables ---------------------------------------------------------------------
row() {	# LABEL WHAT [MB-for-rate]
	awk -v w="$2" -v mb="${3:-}" -v wall="$(field "$1" 2)" -v u="$(field "$1" 3)" -v s="$(field "$1" 4)" \
		-v rss="$(field "$1" 5)" 'BEGIN {
			printf "| %s | %.2f | %.2f | %.1f | %s |\n", w, wall, u + s, rss / 1024,
				mb == "" ? "" : sprintf("%.1f", mb / wall)
		}'
}
mb() { awk -v b="$1" 'BEGIN {printf "%.1f", b / 1e6}'; }
SIGN_RATE=$(awk -v b="$TEXTB" -v t="$(field sign 2)" 'BEGIN {printf "%.1f", b / 1e6 / t}')
{
	echo "**(a) real text**: $NDOC documents ($UDOCS distinct, each $COPIES times), $(mb "$TEXTB") MB of text in $(mb "$JSONB") MB of JSONL (\`$W/text.jsonl\`)"
	echo
	echo "| stage (one thread, CPU 0) | seconds | CPU s | peak RSS MiB | MB of text/s |"
	echo "| --- | ---: | ---: | ---: | ---: |"
	row sign "\`dedup sign\` (median of $REPS)" "$(mb "$TEXTB")"
	row minhash "\`dedup minhash\` (streaming), all $NDOC documents: $KEPT kept" "$(mb "$TEXTB")"
	row minhash-unique "\`dedup minhash\`, the $UDOCS distinct ones once ($(mb "$(stat_of "$W/text.stats" unique_text)") MB)" "$(mb "$(stat_of "$W/text.stats" unique_text)")"
	row bucket-text "\`dedup bucket --bands 0-13\` of that SIG"
	row cluster-text "\`dedup cluster\`"
	row apply-text "\`dedup apply\`: the same $KEPT documents as \`minhash\`, byte for byte"
	echo
	echo "- signatures: $SIGN_RATE MB of text per second per core (target ≥ 50: $(awk -v r="$SIGN_RATE" 'BEGIN {print (r >= 50) ? "met" : "not met"}')); $(awk -v b="$JSONB" -v t="$(field sign 2)" 'BEGIN {printf "%.1f", b / 1e6 / t}') MB of JSONL per second"
	echo "- peer: $DATATROVE"
	echo
	echo "**(b) synthetic signatures**: $DOCS documents in ${#SIGS[@]} SIG files ($(mb "$SIGBYTES") MB, in the page cache), \`bench/sigs-gen.c\` seed 1: $PLANTED planted (5% full copies of an earlier document's keys, 5% sharing 1 or 2 bands); $PAIRS_ALL pairs"
	echo
	echo "| stage (one thread, CPU 0) | seconds | CPU s | peak RSS MiB | |"
	echo "| --- | ---: | ---: | ---: | --- |"
	row bucket-all "\`dedup bucket --bands 0-13\`, all 10 SIGs"
	row bucket-0-6 "\`dedup bucket --bands 0-6\`"
	row bucket-7-13 "\`dedup bucket --bands 7-13\`"
	row bucket-ext "\`dedup bucket --bands 0-13 --mem 64M\` (sorted runs on disk; same PAIRS byte for byte)"
	row cluster-all "\`dedup cluster\` of the 0-13 PAIRS"
	row cluster-split "\`dedup cluster\` of the 0-6 and 7-13 PAIRS (same REMOVE)"
	echo
	echo "- removed: $REMOVED documents; planted: $PLANTED; REMOVE equal to the generator's list: $SAME"
	awk -v d="$DOCS" -v r="$(field bucket-all 5)" -v e="$(field bucket-ext 5)" 'BEGIN {
		printf "- bucket peak RSS: %.1f bytes per document in memory (the man page: 16); %.0f MiB with --mem 64M\n", r * 1024 / d, e / 1024 }'
	echo "- bucket's sorted runs in \$TMPDIR, as its man page says: $RUNS_TMP"
} >"$W/table.md"
echo
echo "$ELAPSED s in all"
cat "$W/table.md"

if [ "$RECORD" -eq 1 ]; then
	rev=$(bench_rev)
	{
		echo
		echo "## $(date -u '+%Y-%m-%d %H:%M UTC') — dedup speed: MinHash signatures, bucket and cluster"
		echo
		bench_machine "$LOAD0" "$LOAD1"
		echo "- software: tamis tree at \`$rev\`, $(cc --version | head -1) for the generator"
		echo "- method: \`bench/dedup.sh${ARGS:+ $ARGS}\`; every stage one process pinned to CPU 0 (\`taskset -c 0\`), inputs in the page cache, wall clock, CPU = user + sys and peak RSS from \`/usr/bin/time -f '%e %U %S %M'\`; MB = 10^6 bytes; $ELAPSED s in all"
		echo
		cat "$W/table.md"
	} >>bench/RESULTS.md
	note "appended to bench/RESULTS.md"
fi
