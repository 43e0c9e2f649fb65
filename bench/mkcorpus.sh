#!/usr/bin/env bash
# bench/mkcorpus.sh — make bench/work/corpus/debian-docs.warc.gz, a real
# wget-written WARC (>= 100 MB, one gzip member per record), by crawling
# Debian's HTML documentation (python3-doc and every debian-handbook
# translation) from a loopback `python3 -m http.server` that this script
# starts and always stops.  No internet needed.
#
# Idempotent: the final file appears only by rename after a successful,
# verified crawl, together with a .stats stamp; if both exist, nothing is done.
#
# usage: bench/mkcorpus.sh            (from anywhere; paths are repo-relative)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUTDIR=$ROOT/bench/work/corpus
NAME=debian-docs
OUT=$OUTDIR/$NAME.warc.gz
STATS=$OUTDIR/$NAME.stats        # "records N\nbytes B\n", written last
MIN_BYTES=$((100 * 1024 * 1024))

die() { echo "mkcorpus: $*" >&2; exit 1; }

report() {
	local records bytes
	records=$(awk '$1 == "records" {print $2}' "$STATS")
	bytes=$(stat -c %s "$OUT")
	printf 'mkcorpus: %s: %s records, %s bytes (%.1f MB)\n' \
		"${OUT#"$ROOT"/}" "$records" "$bytes" "$(echo "$bytes / 1000000" | bc -l)"
}

if [ -f "$OUT" ] && [ -f "$STATS" ] &&
	[ "$(awk '$1 == "bytes" {print $2}' "$STATS")" = "$(stat -c %s "$OUT")" ]; then
	report
	exit 0
fi

# --- sources (Debian packages; scripts/deps.sh installs them) ---------------
PYDOC=
for d in /usr/share/doc/python3/html /usr/share/doc/python3-doc/html; do
	if [ -f "$d/index.html" ]; then PYDOC=$(readlink -f "$d"); break; fi
done
HANDBOOK=
for d in /usr/share/doc/debian-handbook/html /usr/share/debian-handbook/html; do
	if [ -f "$d/en-US/index.html" ]; then HANDBOOK=$(readlink -f "$d"); break; fi
done
[ -n "$PYDOC" ] || die "python3-doc HTML not found (/usr/share/doc/python3/html); run scripts/deps.sh"
[ -n "$HANDBOOK" ] || die "debian-handbook HTML not found (/usr/share/doc/debian-handbook/html); run scripts/deps.sh"
for t in wget python3 bc; do
	command -v "$t" >/dev/null || die "$t not installed; run scripts/deps.sh"
done

# --- temp area: served tree, wget's download tree, server log ---------------
TMP=$(mktemp -d "${TMPDIR:-/tmp}/tamis-mkcorpus.XXXXXX")
SERVER_PID=
cleanup() {
	if [ -n "$SERVER_PID" ]; then
		kill "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$TMP/www" "$TMP/dl" "$TMP/warctmp" "$OUTDIR"
ln -s "$PYDOC" "$TMP/www/python3"
ln -s "$HANDBOOK" "$TMP/www/debian-handbook"
{
	echo '<!DOCTYPE html>'
	echo '<html><head><meta charset="utf-8"><title>Debian documentation</title></head><body>'
	echo '<h1>Debian documentation</h1><ul>'
	echo '<li><a href="python3/index.html">Python 3 documentation</a></li>'
	for l in "$HANDBOOK"/*/; do
		l=$(basename "$l")
		[ -f "$HANDBOOK/$l/index.html" ] || continue
		echo "<li><a href=\"debian-handbook/$l/index.html\">The Debian Administrator's Handbook ($l)</a></li>"
	done
	echo '</ul></body></html>'
} >"$TMP/www/index.html"

# Port 0: the kernel picks a free port; http.server prints it (unbuffered).
python3 -u -m http.server --bind 127.0.0.1 --directory "$TMP/www" 0 \
	>"$TMP/server.out" 2>"$TMP/server.log" &
SERVER_PID=$!
PORT=
for _ in $(seq 100); do
	PORT=$(sed -n 's/^Serving HTTP on .* port \([0-9][0-9]*\).*/\1/p' "$TMP/server.out")
	[ -n "$PORT" ] && break
	kill -0 "$SERVER_PID" 2>/dev/null || die "http.server failed: $(cat "$TMP/server.log")"
	sleep 0.1
done
[ -n "$PORT" ] || die "http.server did not report its port"
echo "mkcorpus: serving $PYDOC and $HANDBOOK on 127.0.0.1:$PORT"

# --- crawl ---------------------------------------------------------------
# wget gzips every WARC record as its own member by default; no --warc-cdx,
# so no CDX; the download tree goes to $TMP/dl and is deleted anyway.
start=$(date +%s.%N)
rc=0
wget --recursive --level=inf --no-parent --no-verbose --delete-after \
	--no-host-directories --directory-prefix="$TMP/dl" \
	--warc-file="$TMP/$NAME" --warc-tempdir="$TMP/warctmp" \
	--no-proxy --tries=2 --timeout=30 \
	"http://127.0.0.1:$PORT/" 2>"$TMP/wget.log" || rc=$?
end=$(date +%s.%N)
# wget exits 8 when some links are 404 (the docs have a few dangling ones).
if [ "$rc" -ne 0 ] && [ "$rc" -ne 8 ]; then
	tail -20 "$TMP/wget.log" >&2
	die "wget failed with exit $rc"
fi
[ -f "$TMP/$NAME.warc.gz" ] || die "wget wrote no $NAME.warc.gz"
errors=$(grep -c 'ERROR' "$TMP/wget.log" || true)

# --- verify: every gzip member decompresses and holds one WARC record ----
records=$(python3 - "$TMP/$NAME.warc.gz" <<'EOF'
import sys, zlib
with open(sys.argv[1], "rb") as f:
    data = memoryview(f.read())
n = pos = 0
while pos < len(data):
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    head = b""
    p = pos
    while not d.eof:
        if p >= len(data):
            sys.exit("truncated gzip member at offset %d" % pos)
        chunk = data[p:p + 65536]
        out = d.decompress(chunk)
        if len(head) < 5:
            head += out[:5]
        p += len(chunk)
    if not head.startswith(b"WARC/"):
        sys.exit("gzip member at offset %d does not start a WARC record" % pos)
    pos = p - len(d.unused_data)
    n += 1
print(n)
EOF
) || die "verification of the crawled WARC failed"

bytes=$(stat -c %s "$TMP/$NAME.warc.gz")
[ "$bytes" -ge "$MIN_BYTES" ] || die "WARC is only $bytes bytes (< $MIN_BYTES); are all handbook translations installed?"

mv -f "$TMP/$NAME.warc.gz" "$OUT.tmp"
mv -f "$OUT.tmp" "$OUT"
printf 'records %s\nbytes %s\n' "$records" "$bytes" >"$STATS.tmp"
mv -f "$STATS.tmp" "$STATS"
printf 'mkcorpus: crawl took %.1f s (wget exit %s, %s error lines in its log)\n' \
	"$(echo "$end - $start" | bc -l)" "$rc" "$errors"
report
