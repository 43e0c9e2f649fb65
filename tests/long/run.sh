#!/usr/bin/env bash
# tests/long/run.sh: the suites too long for `make check` (run by
# `make check-long`, after `make check` and `make fuzz`):
#   1. every libFuzzer target for FUZZ_SECONDS (default 300) each, starting
#      from its checked-in corpus, into a scratch corpus; a crash fails;
#   2. the threaded unit tests under ThreadSanitizer, at full size
#      (TAMIS_LONG=1);
#   3. tamis extract -j 2 under TSan on real WARCs, identical to -j 1;
#   4. large data: `tamis warc ls` against warcio.js on the 151 MB,
#      12,046-record wget crawl of bench/mkcorpus.sh (every offset, type
#      and URI equal);
#   5. tamis run killed with SIGKILL at random moments in 25 rounds
#      (t7600 with TAMIS_KILL_ROUNDS=25; make check runs 4).
# Prints TAP-ish progress; exits non-zero on the first failure.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
FUZZ_SECONDS=${FUZZ_SECONDS:-300}
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/tamis-long.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT

echo "== fuzzing, $FUZZ_SECONDS s per target"
for f in build/fuzz/fuzz-*; do
	name=${f##*/fuzz-}
	mkdir -p "$SCRATCH/corpus-$name" "$SCRATCH/art-$name"
	echo "-- $name"
	"$f" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 -timeout=10 \
		-artifact_prefix="$SCRATCH/art-$name/" -print_final_stats=1 \
		"$SCRATCH/corpus-$name" "tests/fuzz/corpus/$name" 2>"$SCRATCH/$name.log" || {
		tail -40 "$SCRATCH/$name.log"
		echo "FAIL: fuzz-$name found a problem; artifacts:" "$SCRATCH/art-$name"/*
		cp -r "$SCRATCH/art-$name" "build/fuzz/artifacts-$name" 2>/dev/null || true
		exit 1
	}
	grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$SCRATCH/$name.log" || true
done

echo "== ThreadSanitizer, full-size threaded tests"
make -s DEVELOPER=1 OUT=build/tsan SANITIZE=thread \
	build/tsan/build/tests/u-pool build/tsan/build/tests/u-stats
TAMIS_LONG=1 TAMIS_SRC=$ROOT TAMIS_DATA=$ROOT/../shared/data \
	prove -e '' build/tsan/build/tests/u-pool build/tsan/build/tests/u-stats

echo "== ThreadSanitizer: tamis extract -j 2 on real WARCs, same output as -j 1"
make -s DEVELOPER=1 OUT=build/tsan SANITIZE=thread build/tsan/bin/tamis-extract
W=$ROOT/../shared/data/warc
TSAN_OPTIONS=halt_on_error=1 build/tsan/bin/tamis-extract -j 2 \
	"$W/resiliparse/warcfile.warc.gz" "$W/dolma/sample-0000.warc.gz" \
	"$W/resiliparse/clueweb-quirk.warc.gz" >"$SCRATCH/tsan.jsonl"
bin/tamis-extract -j 1 "$W/resiliparse/warcfile.warc.gz" "$W/dolma/sample-0000.warc.gz" \
	"$W/resiliparse/clueweb-quirk.warc.gz" >"$SCRATCH/j1.jsonl"
cmp "$SCRATCH/tsan.jsonl" "$SCRATCH/j1.jsonl"
echo "ok: no race reported, identical output"

echo "== large data: tamis warc ls vs warcio.js on the wget crawl"
bench/mkcorpus.sh
node_dir=bench/work/node
if [ ! -d "$node_dir/node_modules/warcio" ]; then
	mkdir -p "$node_dir"
	npm install --prefix "$node_dir" --no-audit --no-fund --silent warcio@2.4.11
fi
corpus=bench/work/corpus/debian-docs.warc.gz
bin/tamis warc ls "$corpus" | cut -f1,3,4 >"$SCRATCH/tamis.tsv"
node bench/warcio-ls.mjs "$corpus" | cut -f1,3,4 >"$SCRATCH/warcio.tsv"
diff -u "$SCRATCH/warcio.tsv" "$SCRATCH/tamis.tsv" | head -20
cmp -s "$SCRATCH/warcio.tsv" "$SCRATCH/tamis.tsv"
echo "ok: $(wc -l <"$SCRATCH/tamis.tsv") records identical to warcio.js"
echo "== tamis run: kill -9 at random moments, 25 rounds"
TAMIS_KILL_ROUNDS=25 TAMIS_BIN=$ROOT/bin TAMIS_SRC=$ROOT TAMIS_DATA=$ROOT/../shared/data \
	TAMIS_BUILD=$ROOT/build prove -e bash tests/integration/t7600-run.sh
echo "check-long: all passed"
