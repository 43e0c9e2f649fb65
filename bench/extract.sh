#!/usr/bin/env bash
# bench/extract.sh — HTML→text speed of tamis against its peers, per core,
# side by side in one run on one machine, over two input sets:
#   debian  the 200-status text/html payloads of debian-docs.warc.gz, one
#           file each (bench/work/extract/pages/NNNNN.html, made once by
#           bench/extract-pages.py), plus tamis on the .warc.gz itself
#   bench   the 91 pages of /work/shared/data/html-extraction/html/*.html.gz,
#           decompressed once into bench/work/extract/bench-pages/
# Peers, each single-threaded, one process per tool per set:
#   lxml         /usr/bin/python3: lxml.html.fromstring(data).text_content()
#   html2text.py /usr/bin/python3: html2text.HTML2Text().handle(text)
#   html2text    Debian's html2text CLI, all files as arguments of one process
#   w3m          w3m -dump -T text/html, all files as arguments of one process
#   readability  @mozilla/readability on jsdom (bench/extract-readability.mjs),
#                a fresh node process per BATCH files (jsdom leaks); the
#                row's time is the whole sequence of processes
# tamis: `tamis extract -j 1 --html FILES...`; on the WARC `tamis extract
# -j 1` and `-j 2` (the scaling figure).
#
# usage: bench/extract.sh [--record] [--peers-only]
#   --record      append a dated markdown block with machine info to bench/RESULTS.md
#   --peers-only  skip tamis (block titled "peers only, tamis pending"); implied,
#                 with a note, when $TAMIS_BIN/tamis-extract does not exist
# env:   TAMIS_BIN          directory holding tamis and tamis-extract (default: bin)
#        REPS               repetitions per tool (default 3; the median is reported)
#        BATCH              files per readability process (default 200)
#        READABILITY_EVERY  give readability only 1 file in N of the debian set
#                           (default 1 = all; all 3829 take ~10 min a run);
#                           its row then says so, and its rates (and so the
#                           "x readability" ratios) are of the files it got
#
# Each repetition is timed from outside (wall clock of the whole process or
# process sequence, start-up included; CPU = user + sys of the children) and
# the tools are interleaved (a, b, c, a, b, c, …) after one untimed read of
# every input that puts it in the page cache.  MB = 10^6 bytes of HTML (for
# the WARC rows: the HTML payloads in it, not the .warc.gz).  MB/s per core
# = MB / seconds / threads.  "x readability" = this row's MB/s per core over
# readability's, in the same set and run (above 1 = faster).  Every tool must
# account for every file (peers print their file count), or the run fails.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
RECORD=0
PEERS_ONLY=0
for a in "$@"; do
	case $a in
	--record) RECORD=1 ;;
	--peers-only) PEERS_ONLY=1 ;;
	-h | --help) sed -n '2,44s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "extract.sh: unknown argument $a (try --help)" >&2; exit 2 ;;
	esac
done
REPS=${REPS:-3}
BATCH=${BATCH:-200}
EVERY=${READABILITY_EVERY:-1}
TBIN=${TAMIS_BIN:-bin}
TAMIS=$TBIN/tamis
CORPUS=bench/work/corpus/debian-docs.warc.gz
WORK=bench/work/extract
NODEDIR=$WORK/node
BENCHSRC=/work/shared/data/html-extraction/html
PY=/usr/bin/python3
READABILITY_VERSION=0.6.0
JSDOM_VERSION=29.1.1 # jsdom 30 and later need node 22; Debian 12 has node 20

die() { echo "extract.sh: $*" >&2; exit 1; }
note() { echo "extract.sh: $*" >&2; }

if [ "$PEERS_ONLY" -eq 0 ] && [ ! -x "$TBIN/tamis-extract" ]; then
	note "NOTE: $TBIN/tamis-extract not found: skipping tamis (as with --peers-only);"
	note "      build it (make) or set TAMIS_BIN=DIR to include it"
	PEERS_ONLY=1
fi
[ "$PEERS_ONLY" -eq 1 ] || [ -x "$TAMIS" ] || die "$TAMIS not found or not executable"
for t in node npm w3m html2text gzip awk "$PY"; do
	command -v "$t" >/dev/null || die "$t not installed; run scripts/deps.sh"
done
"$PY" -c 'import lxml.html, html2text' 2>/dev/null ||
	die "$PY lacks lxml or html2text; run scripts/deps.sh (python3-lxml, python3-html2text)"
[[ $EVERY =~ ^[1-9][0-9]*$ ]] || die "READABILITY_EVERY must be a positive integer"
[[ $BATCH =~ ^[1-9][0-9]*$ ]] || die "BATCH must be a positive integer"

# --- inputs, made once ------------------------------------------------------
mkdir -p "$WORK"
bench/mkcorpus.sh >&2
# set debian: pages/NNNNN.html, pages.tsv (name, WARC offset, bytes, URI),
# pages.stats ("files N bytes B", written last, by rename)
if [ ! -f "$WORK/pages.stats" ]; then
	note "writing the HTML payloads of $CORPUS to $WORK/pages/"
	rm -rf "$WORK/pages" "$WORK/pages.tsv" "$WORK/.pages.tmp"
	"$PY" bench/extract-pages.py "$CORPUS" "$WORK/.pages.tmp" >"$WORK/.pages.tmp.stats" ||
		die "bench/extract-pages.py failed"
	mv "$WORK/.pages.tmp/pages" "$WORK/pages"
	mv "$WORK/.pages.tmp/index.tsv" "$WORK/pages.tsv"
	rmdir "$WORK/.pages.tmp"
	mv "$WORK/.pages.tmp.stats" "$WORK/pages.stats"
fi
# set bench: bench-pages/HASH.html, bench-pages.stats
if [ ! -f "$WORK/bench-pages.stats" ]; then
	note "decompressing $BENCHSRC/*.html.gz into $WORK/bench-pages/"
	compgen -G "$BENCHSRC/*.html.gz" >/dev/null || die "no $BENCHSRC/*.html.gz"
	rm -rf "$WORK/bench-pages" "$WORK/.bench-pages.tmp"
	mkdir "$WORK/.bench-pages.tmp"
	for f in "$BENCHSRC"/*.html.gz; do
		b=${f##*/}
		gzip -dc "$f" >"$WORK/.bench-pages.tmp/${b%.gz}" || die "gzip -dc $f failed"
	done
	mv "$WORK/.bench-pages.tmp" "$WORK/bench-pages"
	find "$WORK/bench-pages" -name '*.html' -printf '%s\n' |
		awk '{n++; b += $1} END {printf "files %d bytes %d\n", n, b}' >"$WORK/.bench-pages.stats"
	mv "$WORK/.bench-pages.stats" "$WORK/bench-pages.stats"
fi
stat_of() { awk -v k="$2" '{for (i = 1; i < NF; i++) if ($i == k) print $(i + 1)}' "$1"; }

# --- readability + jsdom, pinned, in $NODEDIR ---------------------------------
nodever() { node -p "require('./$NODEDIR/node_modules/$1/package.json').version" 2>/dev/null || true; }
if [ "$(nodever @mozilla/readability)" != "$READABILITY_VERSION" ] || [ "$(nodever jsdom)" != "$JSDOM_VERSION" ]; then
	note "installing @mozilla/readability@$READABILITY_VERSION jsdom@$JSDOM_VERSION into $NODEDIR"
	mkdir -p "$NODEDIR"
	npm install --prefix "$NODEDIR" --no-audit --no-fund --silent \
		"@mozilla/readability@$READABILITY_VERSION" "jsdom@$JSDOM_VERSION" >&2
fi

LXML_V=$("$PY" -c 'import lxml.etree as e; print(".".join(map(str, e.LXML_VERSION[:3])))')
H2T_PY_V=$("$PY" -c 'import html2text; print(".".join(map(str, html2text.__version__)))')
H2T_V=$(html2text -version 2>&1 | awk '/version/ {print $NF; exit}')
W3M_V=$(w3m -version | awk '{sub(/^w3m\//, "", $3); sub(/,$/, "", $3); print $3; exit}')

TMP=$(mktemp -d "${TMPDIR:-/tmp}/tamis-extract-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# file lists (repo-relative names, sorted) and their sizes
sets=(debian bench)
declare -A DIR NFILES NBYTES
DIR[debian]=$WORK/pages
DIR[bench]=$WORK/bench-pages
for s in "${sets[@]}"; do
	find "${DIR[$s]}" -name '*.html' | LC_ALL=C sort >"$TMP/$s.list"
	e=1
	[ "$s" != debian ] || e=$EVERY
	awk -v e="$e" '(NR - 1) % e == 0' "$TMP/$s.list" >"$TMP/$s.rlist"
	NFILES[$s]=$(wc -l <"$TMP/$s.list")
	NBYTES[$s]=$(tr '\n' '\0' <"$TMP/$s.list" | du -cb --files0-from=- | tail -1 | cut -f1)
	NFILES[$s.r]=$(wc -l <"$TMP/$s.rlist")
	NBYTES[$s.r]=$(tr '\n' '\0' <"$TMP/$s.rlist" | du -cb --files0-from=- | tail -1 | cut -f1)
done
[ "${NFILES[debian]}" = "$(stat_of "$WORK/pages.stats" files)" ] ||
	die "$WORK/pages holds ${NFILES[debian]} files, pages.stats says $(stat_of "$WORK/pages.stats" files): rm $WORK/pages.stats to remake"
[ "${NBYTES[debian]}" = "$(stat_of "$WORK/pages.stats" bytes)" ] ||
	die "$WORK/pages holds ${NBYTES[debian]} bytes, pages.stats says otherwise: rm $WORK/pages.stats to remake"

# tools per set ("tool:set" keys)
jobs=()
for s in "${sets[@]}"; do
	for t in lxml html2text.py html2text w3m readability; do jobs+=("$t:$s"); done
	[ "$PEERS_ONLY" -eq 1 ] || jobs+=("tamis-html:$s")
done
[ "$PEERS_ONLY" -eq 1 ] || jobs+=("tamis-warc-j1:debian" "tamis-warc-j2:debian")

# run TOOL SET: runs it once, its stats line ("files N …") to $TMP/stats
run() {
	local t=$1 s=$2 list=$TMP/$2.list n i
	case $t in
	lxml | html2text.py)
		"$PY" bench/extract-peer.py "${t%.py}" "$list" >"$TMP/stats" ;;
	html2text)
		# one process; it prints a "###### FILE ######" banner per file
		xargs -d '\n' html2text -nobs -utf8 <"$list" >"$TMP/out"
		echo "files $(grep -c '^###### .* ######$' "$TMP/out" | awk '{print $1 / 2}')" >"$TMP/stats" ;;
	w3m)
		xargs -d '\n' w3m -dump -T text/html <"$list" >"$TMP/out"
		echo "files -" >"$TMP/stats" ;;
	readability)
		: >"$TMP/stats.r"
		n=$(wc -l <"$TMP/$s.rlist")
		for ((i = 0; i < n; i += BATCH)); do
			node bench/extract-readability.mjs "$NODEDIR" "$TMP/$s.rlist" "$i" "$BATCH" >>"$TMP/stats.r" || return 1
		done
		awk '{for (i = 1; i < NF; i += 2) v[$i] += $(i + 1); k = $0}
			END {printf "files %d bytes %d texts %d chars %d errors %d\n", v["files"], v["bytes"], v["texts"], v["chars"], v["errors"]}' \
			"$TMP/stats.r" >"$TMP/stats" ;;
	tamis-html)
		xargs -d '\n' "$TAMIS" extract -j 1 --html <"$list" >"$TMP/out"
		echo "files $(wc -l <"$TMP/out")" >"$TMP/stats" ;;
	tamis-warc-j1) "$TAMIS" extract -j 1 "$CORPUS" >"$TMP/out"; echo "files $(wc -l <"$TMP/out")" >"$TMP/stats" ;;
	tamis-warc-j2) "$TAMIS" extract -j 2 "$CORPUS" >"$TMP/out"; echo "files $(wc -l <"$TMP/out")" >"$TMP/stats" ;;
	esac
}

# untimed: every input into the page cache
cat "$CORPUS" "$TMP/debian.list" >/dev/null
for s in "${sets[@]}"; do xargs -d '\n' cat <"$TMP/$s.list" >/dev/null; done

TIMEFORMAT='%R %U %S'
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
T_START=$(date +%s)
for ((r = 1; r <= REPS; r++)); do
	for j in "${jobs[@]}"; do
		t=${j%%:*} s=${j#*:}
		key=${t}_$s
		{ time run "$t" "$s" 2>"$TMP/err"; } 2>"$TMP/time" || die "$t failed on set $s: $(head -c 400 "$TMP/err")"
		read -r real user sys <"$TMP/time"
		echo "$real" >>"$TMP/$key.secs"
		awk -v u="$user" -v s="$sys" 'BEGIN {printf "%.3f\n", u + s}' >>"$TMP/$key.cpu"
		# the file count must match (w3m prints no per-file marker: not checked)
		got=$(stat_of "$TMP/stats" files)
		want=${NFILES[$s]}
		case $t in readability) want=${NFILES[$s.r]} ;; tamis-warc-*) want=${NFILES[debian]} ;; esac
		[ "$got" = - ] || [ "$got" = "$want" ] || die "$t on set $s accounted for $got files, want $want"
		if [ "$r" -eq 1 ]; then
			# output size, once: text bytes (tamis: the "text" fields of the JSONL)
			case $t in
			lxml | html2text.py | readability) stat_of "$TMP/stats" chars >"$TMP/$key.chars"
				e=$(stat_of "$TMP/stats" errors)
				[ "$e" = 0 ] || note "$t raised on $e files of set $s (counted, with no text)" ;;
			html2text | w3m) wc -m <"$TMP/out" >"$TMP/$key.chars" ;;
			tamis-*) "$PY" -c 'import json, sys; print(sum(len(json.loads(l).get("text", "")) for l in sys.stdin if l.strip()))' \
				<"$TMP/out" >"$TMP/$key.chars" ;;
			esac
		fi
		printf 'extract.sh: rep %d %-7s %-14s %8.3f s\n' "$r" "$s" "$t" "$real" >&2
	done
done
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
ELAPSED=$(($(date +%s) - T_START))

median() { sort -g "$1" | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

# markdown tables (printed, and recorded with --record)
{
	for s in "${sets[@]}"; do
		case $s in
		debian) echo "**debian**: the ${NFILES[$s]} HTML pages (200, text/html) of \`$CORPUS\`, $(awk -v b="${NBYTES[$s]}" 'BEGIN {printf "%.1f", b / 1e6}') MB" ;;
		bench) echo "**bench**: the ${NFILES[$s]} pages of \`$BENCHSRC/*.html.gz\`, decompressed, $(awk -v b="${NBYTES[$s]}" 'BEGIN {printf "%.1f", b / 1e6}') MB" ;;
		esac
		echo
		echo "| tool | files | MB of HTML | seconds | CPU s | pages/s | MB/s per core | x readability | text Mchars |"
		echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
		rkey=readability_$s
		rrate=$(awk -v b="${NBYTES[$s.r]}" -v t="$(median "$TMP/$rkey.secs")" 'BEGIN {print b / 1e6 / t}')
		for j in "${jobs[@]}"; do
			t=${j%%:*}
			[ "${j#*:}" = "$s" ] || continue
			key=${t}_$s
			files=${NFILES[$s]} bytes=${NBYTES[$s]} thr=1
			case $t in
			lxml) label="lxml $LXML_V \`text_content()\`" ;;
			html2text.py) label="python3-html2text $H2T_PY_V \`HTML2Text().handle()\`" ;;
			html2text) label="html2text $H2T_V CLI (one process, all files)" ;;
			w3m) label="w3m $W3M_V \`-dump -T text/html\` (one process, all files)" ;;
			readability)
				label="@mozilla/readability $READABILITY_VERSION + jsdom $JSDOM_VERSION (node process per $BATCH files)"
				[ "$s" != debian ] || [ "$EVERY" -eq 1 ] || label="$label, 1 file in $EVERY"
				files=${NFILES[$s.r]} bytes=${NBYTES[$s.r]} ;;
			tamis-html) label="tamis \`extract -j 1 --html\`" ;;
			tamis-warc-j1) label="tamis \`extract -j 1\` on the .warc.gz"; files="1 WARC, ${NFILES[$s]} pages" ;;
			tamis-warc-j2) label="tamis \`extract -j 2\` on the .warc.gz"; files="1 WARC, ${NFILES[$s]} pages"; thr=2 ;;
			esac
			pages=${files##*, }
			awk -v l="$label" -v f="$files" -v p="${pages%% *}" -v b="$bytes" -v thr="$thr" \
				-v sec="$(median "$TMP/$key.secs")" -v cpu="$(median "$TMP/$key.cpu")" \
				-v rr="$rrate" -v ch="$(cat "$TMP/$key.chars")" 'BEGIN {
					mbs = b / 1e6 / sec / thr
					printf "| %s | %s | %.1f | %.3f | %.3f | %.0f | %.2f | %.2f | %.1f |\n",
						l, f, b / 1e6, sec, cpu, p / sec, mbs, mbs / rr, ch / 1e6
				}'
		done
		echo
	done
} >"$TMP/table.md"

echo
echo "median of $REPS interleaved runs, wall clock incl. start-up; $ELAPSED s in all"
cat "$TMP/table.md"

if [ "$RECORD" -eq 1 ]; then
	title="Extraction speed: tamis vs peers"
	[ "$PEERS_ONLY" -eq 0 ] || title="Extraction speed: peers only, tamis pending"
	cpu=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo)
	mem=$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
	rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
	how="bench/extract.sh --record$([ "$PEERS_ONLY" -eq 0 ] || echo ' --peers-only')"
	[ "$EVERY" -eq 1 ] || how="READABILITY_EVERY=$EVERY $how"
	[ "$REPS" -eq 3 ] || how="REPS=$REPS $how"
	{
		echo
		echo "## $(date -u '+%Y-%m-%d %H:%M UTC') — $title"
		echo
		echo "- machine: \`nproc\` $(nproc), ${cpu:-unknown CPU}, $mem; $(uname -sr); load average before/after: $LOAD0 / $LOAD1"
		echo "- software: $($PY --version) ($PY), node $(node --version); tamis tree at \`$rev\`"
		echo "- method: \`$how\`; median of $REPS interleaved runs, wall clock incl. start-up (CPU s = user + sys), inputs in page cache; one process per tool per set, single-threaded (readability: a fresh node process per $BATCH files, times summed); MB = 10^6 bytes of HTML; x readability = MB/s per core over readability's, same set"
		echo
		cat "$TMP/table.md"
	} >>bench/RESULTS.md
	note "appended to bench/RESULTS.md"
fi
