#!/usr/bin/env bash
# bench/extract-quality.sh — main-text extraction quality of tamis against its
# peers on the article-extraction-benchmark pages (91 of its 181), scored with
# the benchmark's own shingle metric (bench/extract_score.py; the MANIFEST's
# "The extraction metric" section is normative).
#
# usage: bench/extract-quality.sh [--record] [--peers-only] [--per-page FILE]
#   --record          append a dated markdown block with machine info to bench/RESULTS.md
#   --peers-only      skip tamis (block titled "peers only, tamis pending")
#   --per-page FILE   write tamis's per-page scores to FILE (TSV: id, precision,
#                     recall, f1, truth_tokens, pred_tokens; "-" = undefined)
# env:   TAMIS_BIN    directory holding tamis and tamis-extract (default: bin)
#        TAMIS_ARGS   extra options for `tamis extract` (e.g. "-j 1"), word-split
#        EXTRACT_DATA the data folder (default: ../shared/data/html-extraction)
#
# Rows: every peer-output/*.json (published outputs of trafilatura, readability,
# …, scored here, not copied), the "whole page text" floor (all text outside
# <script>/<style>, Python's html.parser: `extract_score.py --page-text`), and
# tamis: `tamis extract --html DATA/html/*.html.gz`, one JSONL document per
# page on stdout, id = file basename without .html.gz.  When
# $TAMIS_BIN/tamis-extract does not exist yet, tamis is skipped with a note.
# Columns: P and R are macro means over pages, F1 = 2PR/(P+R); "pages" = pages
# scored; "empty" = pages where the tool gave no text (they count as recall 0);
# "published F1" = the benchmark's figure on all 181 pages, for reference only.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
RECORD=0
PEERS_ONLY=0
PER_PAGE=
while [ $# -gt 0 ]; do
	case $1 in
	--record) RECORD=1 ;;
	--peers-only) PEERS_ONLY=1 ;;
	--per-page)
		[ $# -ge 2 ] || { echo "extract-quality.sh: --per-page needs a FILE" >&2; exit 2; }
		PER_PAGE=$2
		shift
		;;
	--per-page=*) PER_PAGE=${1#--per-page=} ;;
	-h | --help) sed -n '2,25s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "extract-quality.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
	esac
	shift
done
TAMIS=${TAMIS_BIN:-bin}/tamis
DATA=${EXTRACT_DATA:-../shared/data/html-extraction}
PY=/usr/bin/python3
SCORE=bench/extract_score.py

die() { echo "extract-quality.sh: $*" >&2; exit 1; }

[ -x "$PY" ] || die "$PY not installed; run scripts/deps.sh"
GT=$DATA/ground-truth.json
[ -f "$GT" ] || die "$GT not found: set EXTRACT_DATA to the html-extraction data folder"
shopt -s nullglob
PEERS=("$DATA"/peer-output/*.json)
HTML=("$DATA"/html/*.html.gz)
shopt -u nullglob
[ ${#HTML[@]} -gt 0 ] || die "no $DATA/html/*.html.gz"

NOTE=
if [ "$PEERS_ONLY" -eq 0 ] && [ ! -x "${TAMIS}-extract" ]; then
	NOTE="${TAMIS}-extract not built yet: tamis skipped (build it with make, set TAMIS_BIN=DIR, or pass --peers-only)"
	echo "extract-quality.sh: note: $NOTE" >&2
	PEERS_ONLY=1
fi
if [ "$PEERS_ONLY" -eq 0 ] && [ ! -x "$TAMIS" ]; then
	die "$TAMIS not found or not executable (tamis-extract is there): build it (make) or set TAMIS_BIN=DIR"
fi
if [ -n "$PER_PAGE" ] && [ "$PEERS_ONLY" -eq 1 ]; then
	echo "extract-quality.sh: note: tamis not run, so $PER_PAGE is not written" >&2
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/tamis-extract-quality.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
NPAGES=$("$PY" -c 'import json, sys; print(len(json.load(open(sys.argv[1]))))' "$GT")

# row LABEL PUBLISHED SCORE-LINE: one TSV row (f1 first, for sorting) into $TMP/rows
row() {
	local -a w
	read -r -a w <<<"$3"
	if [ "${w[0]:-}" != precision ] || [ "${w[6]:-}" != pages ] || [ "${w[8]:-}" != empty ]; then
		die "unexpected scorer output for $1: $3"
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "${w[5]}" "$1" "${w[1]}" "${w[3]}" "${w[7]}" "${w[9]}" "$2" >>"$TMP/rows"
}

# peers: label and published F1 (all 181 pages) by file name; unknown files keep their stem
for f in "${PEERS[@]}"; do
	stem=$(basename "$f" .json)
	ver=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1])).get("version") or "")' "$f")
	case $stem in
	trafilatura) label="trafilatura $ver"; pub=0.958 ;;
	readability_js) label="readability.js (@mozilla/readability $ver)"; pub=0.947 ;;
	readability) label="readability-lxml $ver"; pub=0.922 ;;
	justext) label="jusText $ver"; pub=0.804 ;;
	html-text) label="html-text $ver (whole page text)"; pub=0.665 ;;
	go_trafilatura) label="go-trafilatura $ver"; pub=- ;;
	*) label="$stem${ver:+ $ver}"; pub=- ;;
	esac
	row "$label" "$pub" "$("$PY" "$SCORE" "$GT" "$f")"
done

# the floor: all text of the page
"$PY" "$SCORE" --page-text "${HTML[@]}" >"$TMP/page-text.jsonl"
row "whole page text (\`extract_score.py --page-text\`)" 0.665 "$("$PY" "$SCORE" "$GT" "$TMP/page-text.jsonl" --jsonl)"

TAMIS_SECS=
if [ "$PEERS_ONLY" -eq 0 ]; then
	t0=$(date +%s.%N)
	# shellcheck disable=SC2086  # TAMIS_ARGS is meant to be word-split
	"$TAMIS" extract --html ${TAMIS_ARGS:-} "${HTML[@]}" >"$TMP/tamis.jsonl" ||
		die "tamis extract failed (exit $?) on $DATA/html/*.html.gz"
	t1=$(date +%s.%N)
	TAMIS_SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}')
	ndocs=$(grep -c . "$TMP/tamis.jsonl" || true)
	[ "$ndocs" = "${#HTML[@]}" ] ||
		echo "extract-quality.sh: warning: tamis wrote $ndocs documents for ${#HTML[@]} input files" >&2
	"$PY" "$SCORE" "$GT" "$TMP/tamis.jsonl" --jsonl --per-page >"$TMP/tamis.score" ||
		die "scoring tamis's output failed (see above)"
	row "tamis (\`tamis extract --html${TAMIS_ARGS:+ $TAMIS_ARGS}\`)" - "$(tail -n 1 "$TMP/tamis.score")"
	if [ -n "$PER_PAGE" ]; then
		head -n -1 "$TMP/tamis.score" >"$PER_PAGE"
		echo "extract-quality.sh: per-page scores of tamis in $PER_PAGE" >&2
	fi
fi

# markdown table, best F1 first (printed, and recorded with --record)
{
	echo "| tool | precision | recall | F1 | pages | empty | published F1 (181 pages) |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
	sort -t "$(printf '\t')" -k1,1gr -k2,2 "$TMP/rows" |
		awk -F '\t' '{printf "| %s | %s | %s | %s | %s | %s | %s |\n", $2, $3, $4, $1, $5, $6, $7}'
} >"$TMP/table.md"

echo
echo "data: $DATA ($NPAGES ground-truth pages, ${#HTML[@]} HTML files); metric: 4-token shingles, macro P/R over pages"
[ -z "$NOTE" ] || echo "note: $NOTE"
[ -z "$TAMIS_SECS" ] || echo "tamis extract: $TAMIS_SECS s wall clock for ${#HTML[@]} pages"
cat "$TMP/table.md"

if [ "$RECORD" -eq 1 ]; then
	title="extraction quality: tamis vs peers"
	[ "$PEERS_ONLY" -eq 0 ] || title="extraction quality: peers only, tamis pending"
	cpu=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo)
	mem=$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
	rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
	gtsum=$(sha256sum "$GT" | cut -c1-12)
	args=
	[ "$PEERS_ONLY" -eq 0 ] || args=" --peers-only"
	{
		echo
		echo "## $(date -u '+%Y-%m-%d %H:%M UTC') — $title"
		echo
		echo "- machine: \`nproc\` $(nproc), ${cpu:-unknown CPU}, $mem; $(uname -sr)"
		echo "- software: $("$PY" --version); tamis tree at \`$rev\`"
		echo "- data: \`$DATA\`: $NPAGES pages with human ground truth (\`ground-truth.json\` sha256 \`$gtsum…\`), half of the benchmark's 181; peer rows score the published outputs in \`peer-output/\`"
		echo "- method: \`bench/extract-quality.sh --record$args\`; the benchmark's metric (\`bench/extract_score.py\`): 4-token \\w+ shingles, per-page P/R, macro means, F1 of the means; empty = pages with no text (recall 0)"
		[ -z "$NOTE" ] || echo "- note: $NOTE"
		[ -z "$TAMIS_SECS" ] || echo "- tamis extract: $TAMIS_SECS s wall clock for ${#HTML[@]} pages (one run, start-up included)"
		echo
		cat "$TMP/table.md"
	} >>bench/RESULTS.md
	echo "extract-quality.sh: appended to bench/RESULTS.md" >&2
fi
