#!/usr/bin/env bash
# bench/warcio-ref.sh — regenerate tests/integration/warcio-ref/, the expected
# outputs of `tamis warc ls`, as listed by warcio.js (bench/warcio-ls.mjs) for
# every file of the shared WARC fixtures.  Installs the pinned warcio into
# bench/work/node when it is missing or another version.
#
# usage: bench/warcio-ref.sh [DATA_DIR]     (default /work/shared/data/warc,
#                                            or $TAMIS_WARC_DATA)
# For DATA_DIR/SUB/FILE it writes SUB__FILE.tsv (stdout of warcio-ls.mjs)
# and/or SUB__FILE.err (its stderr: warcio warnings and errors):
#   exit 0, nothing on stderr          -> .tsv only
#   exit 0, warnings on stderr         -> .tsv and .err
#   exit 1 after some records          -> .tsv (records before the failure) and .err
#   exit 1 before any record           -> .err only (warcio cannot read it at all)
#   no exit within $LIMIT s            -> killed; treated as exit 1
# Paths inside .err are relative to DATA_DIR.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DATA=$(cd "${1:-${TAMIS_WARC_DATA:-/work/shared/data/warc}}" && pwd)
REF=$ROOT/tests/integration/warcio-ref
NODEDIR=$ROOT/bench/work/node
WARCIO_VERSION=2.4.11
LIMIT=30        # seconds per input file; every fixture takes < 1 s

command -v node >/dev/null || { echo "warcio-ref: node not installed; run scripts/deps.sh" >&2; exit 1; }
have=$(node -p "require('$NODEDIR/node_modules/warcio/package.json').version" 2>/dev/null || true)
if [ "$have" != "$WARCIO_VERSION" ]; then
	echo "warcio-ref: installing warcio@$WARCIO_VERSION into ${NODEDIR#"$ROOT"/}" >&2
	mkdir -p "$NODEDIR"
	npm install --prefix "$NODEDIR" --no-audit --no-fund --silent "warcio@$WARCIO_VERSION" >&2
fi

mkdir -p "$REF"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/tamis-warcio-ref.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

n=0
cd "$DATA"
while IFS= read -r -d '' f; do
	f=${f#./}
	case $f in */*) ;; *) continue ;; esac     # only files in subfolders (skips README.md)
	name=${f//\//__}
	rc=0
	timeout "$LIMIT" node "$ROOT/bench/warcio-ls.mjs" "$f" >"$TMP/$name.tsv" 2>"$TMP/$name.err" || rc=$?
	if [ "$rc" -eq 124 ]; then
		# warcio 2.4.11 never returns on some truncated files (its
		# LimitReader.skipFully spins at EOF); that is a result too.
		echo "warcio-ls: $f: no result after $LIMIT s (warcio does not terminate on this file; killed)" >>"$TMP/$name.err"
		rc=1
	fi
	[ "$rc" -le 1 ] || { echo "warcio-ref: $f: warcio-ls exited $rc" >&2; exit 1; }
	[ -s "$TMP/$name.err" ] || rm -f "$TMP/$name.err"
	if [ "$rc" -ne 0 ] && [ ! -s "$TMP/$name.tsv" ]; then rm -f "$TMP/$name.tsv"; fi
	n=$((n + 1))
done < <(find . -type f -print0 | LC_ALL=C sort -z)

find "$REF" -maxdepth 1 -type f \( -name '*.tsv' -o -name '*.err' \) -delete
cp "$TMP"/* "$REF"/
echo "warcio-ref: $n inputs -> ${REF#"$ROOT"/}: $(find "$REF" -name '*.tsv' | wc -l) .tsv, $(find "$REF" -name '*.err' | wc -l) .err" >&2
