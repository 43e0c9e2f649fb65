#!/usr/bin/env bash
# bench/fetch.sh — download speed of `tamis fetch` against the curl CLI, side
# by side, in one run on one machine: 20 files of 100 MB of random bytes
# served by nginx on 127.0.0.1, fetched with 4 transfers in parallel by
# (a) curl --parallel --parallel-max 4 and (b) tamis fetch -j 4.
#
# usage: bench/fetch.sh [--record] [--peers-only]
#   --record      append a dated markdown block with machine info to bench/RESULTS.md
#   --peers-only  skip tamis (block titled "peers only, tamis pending"); implied,
#                 with a note, when $TAMIS_BIN/tamis-fetch does not exist
# env:   TAMIS_BIN   directory holding tamis and tamis-fetch (default: bin)
#        TAMIS_ARGS  extra options for `tamis fetch` (e.g. "--retries 0"), word-split
#        REPS        repetitions per tool (default 3; the median is reported)
#        FILES, MB   how many files of how many MB (default 20 and 100)
#        FETCH_OUT   where the downloads go (default bench/work/fetch/out; a
#                    tmpfs such as /dev/shm/x takes the disk out of the timing)
#
# Data: bench/work/fetch/data-100mb/fNN.bin (git-ignored), made once from
# /dev/urandom and reused; .bin names, so tamis checks no gzip and the run
# measures transfer alone.  The files are read once untimed (page cache), the
# tools are interleaved (a, b, a, b, …), each run downloads into an empty
# bench/work/fetch/out/ that is compared with the data (cmp), then removed
# and synced before the next run, untimed (2 GB of writes can still start
# writeback inside a run: FETCH_OUT on a tmpfs measures the transfer alone).
# Time is the wall clock of the whole process, start-up included; CPU s =
# user + sys of the process.
# MB/s = 10^6 bytes per second; "x curl" = curl's time / this tool's time
# (above 1 = faster).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
RECORD=0
PEERS_ONLY=0
for a in "$@"; do
	case $a in
	--record) RECORD=1 ;;
	--peers-only) PEERS_ONLY=1 ;;
	-h | --help) sed -n '2,/^set /s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "fetch.sh: unknown argument $a (try --help)" >&2; exit 2 ;;
	esac
done
REPS=${REPS:-3}
FILES=${FILES:-20}
MB=${MB:-100}
TAMIS_DIR=${TAMIS_BIN:-bin}
TAMIS=$TAMIS_DIR/tamis
WORK=bench/work/fetch
DATA=$WORK/data-${MB}mb
OUT=${FETCH_OUT:-$WORK/out}

die() { echo "fetch.sh: $*" >&2; exit 1; }

if [ "$PEERS_ONLY" -eq 0 ] && { [ ! -x "$TAMIS_DIR/tamis-fetch" ] || [ ! -x "$TAMIS" ]; }; then
	echo "fetch.sh: note: $TAMIS_DIR/tamis-fetch not built; measuring curl only (as --peers-only)" >&2
	PEERS_ONLY=1
fi
for t in curl nginx cmp awk; do
	command -v "$t" >/dev/null || [ -x "/usr/sbin/$t" ] || die "$t not installed; run scripts/deps.sh"
done

# the data, made once
mkdir -p "$DATA"
names=()
for ((i = 1; i <= FILES; i++)); do names+=("$(printf 'f%02d.bin' "$i")"); done
BYTES=$((MB * 1000000))
for n in "${names[@]}"; do
	if [ "$(stat -c %s "$DATA/$n" 2>/dev/null || echo 0)" != "$BYTES" ]; then
		echo "fetch.sh: making $DATA/$n ($MB MB of random bytes)" >&2
		head -c "$BYTES" /dev/urandom >"$DATA/$n.tmp" && mv "$DATA/$n.tmp" "$DATA/$n"
	fi
done
TOTAL=$((BYTES * FILES))

TMP=$(mktemp -d "${TMPDIR:-/tmp}/tamis-fetch-bench.XXXXXX")
# shellcheck source=../tests/integration/nginx.sh
. tests/integration/nginx.sh
trap 'nginx_stop || true; rm -rf "$TMP" "$OUT"' EXIT
nginx_start "$DATA" "$TMP/nginx" || die "nginx did not start"
BASE="http://127.0.0.1:$NGINX_PORT/"

tools=(curl)
[ "$PEERS_ONLY" -eq 1 ] || tools+=(tamis)

# run TOOL: one download of every file into $OUT
# shellcheck disable=SC2086  # TAMIS_ARGS is meant to be word-split
run() {
	local args=() n
	case $1 in
	curl)
		for n in "${names[@]}"; do args+=(-o "$OUT/$n" "$BASE$n"); done
		curl --silent --show-error --fail --parallel --parallel-max 4 "${args[@]}"
		;;
	tamis)
		"$TAMIS" fetch -j 4 ${TAMIS_ARGS:-} -d "$OUT" --base "$BASE" "${names[@]}"
		;;
	esac
}

cat "$DATA"/*.bin >/dev/null
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
TIMEFORMAT='%R %U %S'
for ((r = 1; r <= REPS; r++)); do
	for t in "${tools[@]}"; do
		rm -rf "$OUT" && mkdir -p "$OUT" && sync
		{ time run "$t" 2>"$TMP/err"; } 2>"$TMP/time" || die "$t failed: $(head -c 400 "$TMP/err")"
		for n in "${names[@]}"; do
			cmp -s "$DATA/$n" "$OUT/$n" || die "$t: $OUT/$n differs from $DATA/$n"
		done
		[ -z "$(find "$OUT" -name '*.part')" ] || die "$t left .part files"
		read -r wall user sys <"$TMP/time"
		echo "$wall" >>"$TMP/$t.secs"
		awk -v u="$user" -v s="$sys" 'BEGIN {printf "%.3f\n", u + s}' >>"$TMP/$t.cpu"
		printf 'fetch.sh: rep %d %-5s %7.3f s  %7.1f MB/s\n' "$r" "$t" "$wall" \
			"$(awk -v b="$TOTAL" -v s="$wall" 'BEGIN {print b / 1e6 / s}')" >&2
	done
done
rm -rf "$OUT" && sync

median() { sort -g "$1" | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
declare -A SEC CPU
for t in "${tools[@]}"; do
	SEC[$t]=$(median "$TMP/$t.secs")
	CPU[$t]=$(median "$TMP/$t.cpu")
done

CURL_VERSION=$(curl --version | awk 'NR == 1 {print $2}')
NGINX_VERSION=$(nginx -v 2>&1 | sed 's|.*nginx/||')
{
	echo "| tool | files | MB | seconds | MB/s | CPU s | x curl |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
	for t in "${tools[@]}"; do
		case $t in
		curl) label="curl $CURL_VERSION (\`curl --parallel --parallel-max 4\`)" ;;
		tamis) label="tamis (\`tamis fetch -j 4${TAMIS_ARGS:+ $TAMIS_ARGS}\`)" ;;
		esac
		awk -v l="$label" -v f="$FILES" -v b="$TOTAL" -v s="${SEC[$t]}" -v c="${CPU[$t]}" \
			-v k="${SEC[curl]}" 'BEGIN {
				printf "| %s | %d | %.0f | %.3f | %.1f | %.2f | %.2f |\n", l, f, b / 1e6, s, b / 1e6 / s, c, k / s
			}'
	done
} >"$TMP/table.md"

echo
echo "data: $DATA ($FILES files x $MB MB of random bytes) from nginx $NGINX_VERSION on 127.0.0.1; median of $REPS, wall clock"
cat "$TMP/table.md"

if [ "$RECORD" -eq 1 ]; then
	title="download: tamis vs curl"
	[ "$PEERS_ONLY" -eq 0 ] || title="download: peers only, tamis pending"
	cpu=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo)
	mem=$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
	rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
	fs=$(df -T "$(dirname "$OUT")" | awk 'NR == 2 {print $2}')
	{
		echo
		echo "## $(date -u '+%Y-%m-%d %H:%M UTC') — $title"
		echo
		echo "- machine: \`nproc\` $(nproc), ${cpu:-unknown CPU}, $mem; $(uname -sr); load average before/after: $LOAD0 / $(cut -d' ' -f1-3 /proc/loadavg)"
		echo "- software: curl $CURL_VERSION, nginx $NGINX_VERSION (sendfile, ${NGINX_WORKERS:-2} workers); tamis tree at \`$rev\`"
		echo "- data: $FILES files x $MB MB of random bytes (\`.bin\`, no gzip check), $TOTAL bytes, served from the page cache by nginx on 127.0.0.1, written to \`$OUT\` ($fs)"
		echo "- method: \`${FETCH_OUT:+FETCH_OUT=$FETCH_OUT }bench/fetch.sh --record$([ "$PEERS_ONLY" -eq 0 ] || echo ' --peers-only')\`; 4 transfers in parallel; median of $REPS interleaved runs, wall clock incl. start-up; every run's files compared with \`cmp\`, then removed and synced, untimed"
		echo
		cat "$TMP/table.md"
	} >>bench/RESULTS.md
	echo "fetch.sh: appended to bench/RESULTS.md" >&2
fi
