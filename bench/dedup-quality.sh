#!/usr/bin/env bash
# bench/dedup-quality.sh — how well tamis's MinHash-LSH decision finds near
# duplicates, on a labelled set made from real text: the exact Jaccard of
# every pair (brute force over the shingles tamis uses) against the decision
# tamis takes for it.
#
# usage: bench/dedup-quality.sh [--record] [--bases N] [--seed S] [--shapes LIST]
#   --record       append a dated markdown block with machine info to bench/RESULTS.md
#   --bases N      base documents (default 300)
#   --seed S       seed of the edits and of the sampling (default 1)
#   --shapes LIST  other LSH shapes BxR to measure beside the default 14x8,
#                  comma-separated (default "10x12,9x13"; "" for none)
# env:   TAMIS_BIN  directory holding tamis (default: bin)
#
# Text (bench/work/dedup-quality/src/): the human ground truth of the 91
# article pages of /work/shared/data/html-extraction (articleBody), and the
# whole-page text (`tamis extract --html --whole-page`) of the English Debian
# Administrator's Handbook and of the Python 3 documentation (debian-handbook,
# python3-doc).  bench/dedup_quality.py (see its header) picks N base
# documents of 200..5000 words, equal shares per source as far as they go,
# and makes 15 variants of each: one with only case, punctuation and spacing
# changed (Jaccard 1), and 14 with word insertions, deletions, substitutions,
# paragraph moves and header/footer swaps with another document, at targets
# spread evenly over Jaccard 0.3..1; plus 3 pairs of unrelated bases each.
# Every pair's label is its exact Jaccard over tamis's shingles (5 words of
# the text normalised as dedup/norm.c does: NFKC_Casefold, P* removed, white
# space collapsed), re-implemented in Python and checked against tamis: the
# text of every document, replaced by its words as normalised in Python,
# must get the same band keys from `tamis dedup sign` (the run fails if not).
#
# Decision: `tamis dedup sign` of all documents once; a pair is a candidate
# iff both have words and one of the 14 band keys is equal, which is exactly
# what `tamis dedup minhash` joins for a pair of documents (docs/DEDUP.md);
# 100 pairs of 0.6 <= J <= 0.85 are also run alone through `minhash` and
# must come out as the keys say.
# Reported: precision and recall against the label J >= 0.8, and restricted
# to the pairs with J >= 0.85 (should be found) or J <= 0.7 (should not),
# next to what the S-curve 1-(1-s^8)^14 expects on the same pairs; the
# measured S-curve in bins of 0.05; and the same figures for other shapes.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
. bench/lib.sh
RECORD=0 BASES=300 SEED=1 SHAPES="10x12,9x13" SPOT_N=100
ARGS="$*"
while [ $# -gt 0 ]; do
	case $1 in
	--record) RECORD=1 ;;
	--bases) BASES=$2; shift ;;
	--seed) SEED=$2; shift ;;
	--shapes) SHAPES=$2; shift ;;
	-h | --help) sed -n '2,39s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "dedup-quality.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
	esac
	shift
done
TAMIS=${TAMIS_BIN:-bin}/tamis
PY=/usr/bin/python3
W=bench/work/dedup-quality
GT=/work/shared/data/html-extraction/ground-truth.json
HANDBOOK=/usr/share/doc/debian-handbook/html/en-US
PYDOC=/usr/share/doc/python3/html

die() { echo "dedup-quality.sh: $*" >&2; exit 1; }
[ -x "$TAMIS" ] || die "$TAMIS not found: build it (make) or set TAMIS_BIN=DIR"
[ -x "$PY" ] || die "$PY not installed; run scripts/deps.sh"
[[ $BASES =~ ^[1-9][0-9]*$ ]] || die "--bases must be a positive integer"
[[ $SEED =~ ^[0-9]+$ ]] || die "--seed must be a number"
[ -f "$GT" ] || die "$GT not found (the html-extraction test data)"
compgen -G "$HANDBOOK/*.html" >/dev/null || die "no $HANDBOOK/*.html: install debian-handbook (scripts/deps.sh)"
[ -d "$PYDOC" ] || die "$PYDOC not found: install python3-doc (scripts/deps.sh)"
shapes=()
for s in ${SHAPES//,/ }; do
	[[ $s =~ ^[1-9][0-9]*x[1-9][0-9]*$ ]] || die "--shapes: '$s' is not BxR (e.g. 10x12)"
	shapes+=("$s")
done

mkdir -p "$W/src" "$W/set"
rm -f "$W"/set/*
# the sources: extracted afresh (seconds), as the current tamis extracts them
"$TAMIS" extract -j 1 --html --whole-page --source handbook "$HANDBOOK"/*.html -o "$W/src/handbook.jsonl"
find -L "$PYDOC" -name '*.html' | LC_ALL=C sort | xargs -d '\n' "$TAMIS" extract -j 1 --html --whole-page \
	--source python-doc >"$W/src/python-doc.jsonl"
"$PY" bench/dedup_quality.py build "$W/set" "$SEED" "$BASES" "article=gt:$GT" \
	"handbook=$W/src/handbook.jsonl" "python-doc=$W/src/python-doc.jsonl"

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
"$TAMIS" dedup sign "$W/set/docs.jsonl" -o "$W/set/docs.sig"
"$TAMIS" dedup sign "$W/set/norm.jsonl" -o "$W/set/norm.sig"
CHECK=$("$PY" bench/dedup_quality.py check "$W/set/docs.sig" "$W/set/norm.sig" "$W/set") ||
	die "the shingles of bench/dedup_quality.py are not tamis's (above): its Jaccard labels would be wrong"
# spot check: the pairwise decision read from the SIG file is what
# `tamis dedup minhash` does with a file of the two documents
SPOT=0 SPOT_OK=0
while read -r a b want; do
	{ sed -n "$((a + 1))p" "$W/set/docs.jsonl"; sed -n "$((b + 1))p" "$W/set/docs.jsonl"; } >"$W/set/pair.jsonl"
	got=$("$TAMIS" dedup minhash "$W/set/pair.jsonl" | wc -l)
	SPOT=$((SPOT + 1))
	if [ "$got" = "$want" ]; then SPOT_OK=$((SPOT_OK + 1)); else echo "dedup-quality.sh: pair $a $b: minhash kept $got, the SIG says $want" >&2; fi
done < <("$PY" bench/dedup_quality.py pick "$W/set" "$W/set/docs.sig" "$SPOT_N")
[ "$SPOT" = "$SPOT_OK" ] || die "the decision read from the SIG file is not minhash's on $((SPOT - SPOT_OK)) of $SPOT pairs"
CHECK="$CHECK; $SPOT_OK of $SPOT pairs of 0.6 ≤ J ≤ 0.85, each alone through \`tamis dedup minhash\`, kept as the band keys say"
sigs=("$W/set/docs.sig")
for s in "${shapes[@]}"; do
	"$TAMIS" dedup sign --bands "${s%x*}" --rows "${s#*x}" "$W/set/docs.jsonl" -o "$W/set/$s.sig"
	sigs+=("$W/set/$s.sig")
done
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

TABLE=$("$PY" bench/dedup_quality.py score "$W/set" "${sigs[@]}")
stat() { awk -v k="$1" '$1 == k {$1 = ""; sub(/^ /, ""); print; exit}' "$W/set/build.txt"; }
DATA="$(stat bases) base documents (of $(stat candidates | sed 's/ skipped.*//') eligible; words $(stat base_words)), $(stat documents | sed 's/ pairs / documents, /') pairs; seed $SEED"
echo
echo "data: $DATA"
echo "check: $CHECK"
echo
echo "$TABLE"

if [ "$RECORD" -eq 1 ]; then
	rev=$(bench_rev)
	{
		echo
		echo "## $(date -u '+%Y-%m-%d %H:%M UTC') — near-duplicate quality: tamis MinHash-LSH vs exact Jaccard"
		echo
		bench_machine "$LOAD0" "$LOAD1"
		echo "- software: $($PY --version) ($PY, unicodedata $("$PY" -c 'import unicodedata; print(unicodedata.unidata_version)')); tamis tree at \`$rev\`"
		echo "- data: $DATA. Sources: the ground-truth article texts of \`$GT\`, and \`tamis extract --html --whole-page\` of \`$HANDBOOK/*.html\` and \`$PYDOC\` (navigation and footers included)"
		echo "- method: \`bench/dedup-quality.sh${ARGS:+ $ARGS}\`; labels = exact Jaccard of 5-word shingles by brute force (\`bench/dedup_quality.py\`); decision = any of the band keys of \`tamis dedup sign\` equal and, when the SIG says so (\`--verify T\`, default 0.75), at least ceil(112 T) of the signature values equal: the pairwise decision of \`tamis dedup minhash\` (the S-curve columns are plain LSH theory, which verification sharpens). Shingle check: $CHECK"
		echo
		echo "$TABLE"
	} >>bench/RESULTS.md
	echo "dedup-quality.sh: appended to bench/RESULTS.md" >&2
fi
