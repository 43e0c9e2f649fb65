#!/usr/bin/env bash
# bench/gpu.sh — the CUDA backend's one prepared check (issue 11), for a
# GPU machine lent for a few minutes: at most GPU_BUDGET seconds (default
# 460, under 8 minutes on one H100/H200), each part capped by its own
# budget and skipped when the time left is below it.  In order:
#
#   build     make -j16 (the CUDA backend for this card only) and the
#             test drivers                                        cap 150 s
#   kernels   build/tests/cuda-check kernels: every kernel on fresh random
#             inputs against a float64 reference (fp32 kernels 1e-4, the
#             bf16 product 1e-2)                                   cap 30 s
#   model     cuda-check model: forward/backward against the CPU model on
#             small shapes (loss 1e-2, logits 3e-2, gradients 1e-1) cap 45 s
#   train     cuda-check train: 50 AdamW steps CPU vs CUDA, same seed and
#             batches, loss within 1e-2 relative at every step     cap 45 s
#   cli       tests/integration/t8110-train-cuda.sh: tamis train on shards
#             made there, CPU and --device cuda, losses within 5e-2; resume;
#             --recompute                                          cap 60 s
#   tamis     tokens/s and MFU at 120m (B=16, T=1024; vocab 32000) and 1b
#             (B=8, T=1024; vocab 128256)                      cap 35 + 60 s
#   torch     the same with PyTorch (bench/gpu_torch.py: transformers
#             LlamaForCausalLM, bf16 autocast, torch.compile, fused AdamW);
#             skipped with the reason when torch/transformers are missing
#                                                             cap 80 + 110 s
#   hf        tests/integration/t8200-hf.sh with this python (transformers
#             loads tamis checkpoints)                             cap 25 s
#
# MFU = tokens/s x (6N + attention FLOPs per token, tm_llama_flops_per_token)
# / the card's dense bf16 peak: H100 and H200 989e12 (SXM); others: PEAK=.
# Writes results.md (the table, for bench/RESULTS.md), summary.txt and
# gpu.log (every part's output) to $OUT (the device runner's output
# folder; default bench/work/gpu), with nvidia-smi.txt: four files.  Exit 0 when every part that ran passed, 1 otherwise;
# 0 with a message and nothing run when there is no GPU.
#
# usage: bench/gpu.sh          env: GPU_BUDGET, PEAK, PY (python3 with torch)
#
# A lent machine has CUDA, PyTorch and transformers but maybe not tamis's
# build dependencies (libxml2, ICU, OpenBLAS, ...: nothing can be installed
# there), and it does not get ../shared.  So, on the build machine, before
# the call:
#
#   bench/gpu.sh --stage     make, then pack bin/, the test drivers, the
#                            shared libraries they need (not glibc, not
#                            CUDA's), sqlite3 and the five WARC inputs of
#                            t8110 into bench/work/gpu-stage.tar.xz
#
# and name bench/work/gpu-stage.tar.xz in the call's `carry`.  There,
# gpu.sh unpacks it, builds with make when pkg-config finds every
# dependency, and otherwise runs the staged programs (LD_LIBRARY_PATH).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
STAGE=bench/work/gpu-stage
PKGS="zlib libzstd libxml-2.0 libcurl sqlite3 icu-uc icu-i18n jansson libxxhash libisal libcrypto openblas"
if [ "${1:-}" = --stage ]; then
	set -e
	make -j"$(nproc)" all build/tests/hf-dump build/tests/model-dump
	test -x build/tests/cuda-check || { echo "gpu.sh: no nvcc here: nothing to stage" >&2; exit 1; }
	rm -rf "$STAGE" "$STAGE.tar.xz"
	mkdir -p "$STAGE/bin" "$STAGE/tests" "$STAGE/lib"
	cp bin/* "$(command -v sqlite3)" "$STAGE/bin/"
	cp build/tests/cuda-check build/tests/hf-dump build/tests/model-dump "$STAGE/tests/"
	# the shared libraries, but glibc's, the compiler's and CUDA's (the GPU machine's own)
	ldd "$STAGE"/bin/* "$STAGE"/tests/* 2>/dev/null | awk '$3 ~ /^\// { print $3 }' | sort -u |
		grep -Ev '/(libc|libm|libpthread|libdl|librt|libresolv|ld-linux[^/]*|libstdc\+\+|libgcc_s)\.so|/cuda' |
		while read -r l; do cp -L "$l" "$STAGE/lib/"; done
	src=${TAMIS_DATA:-$ROOT/../shared/data}/warc
	for f in dolma/sample-0000.warc.gz dolma/sample-0001.warc.gz resiliparse/warcfile.warc.gz \
		resiliparse/clueweb-quirk.warc.gz whirlwind/whirlwind.warc.gz; do
		mkdir -p "$STAGE/data/warc/$(dirname $f)"
		cp "$src/$f" "$STAGE/data/warc/$f"
	done
	git describe --always --dirty >"$STAGE/REV" 2>/dev/null || echo unknown >"$STAGE/REV"
	tar -C bench/work -cJf "$STAGE.tar.xz" gpu-stage
	rm -rf "$STAGE"
	echo "gpu.sh: staged $STAGE.tar.xz ($(du -h "$STAGE.tar.xz" | cut -f1)); carry it: [\"$STAGE.tar.xz\"]"
	exit 0
fi
if [ -f "$STAGE.tar.xz" ]; then
	rm -rf "$STAGE"
	# without xz on the machine, python's tarfile reads it (lzma)
	tar -C bench/work -xJf "$STAGE.tar.xz" 2>/dev/null ||
		python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' \
			"$STAGE.tar.xz" bench/work
	[ -z "${TAMIS_DATA:-}" ] && export TAMIS_DATA=$ROOT/$STAGE/data
fi

RES=${OUT:-$ROOT/bench/work/gpu}
LOGS=$ROOT/bench/work/gpu-logs	# one per part; $RES gets them joined (few files come back)
rm -rf "$LOGS"
mkdir -p "$RES" "$LOGS"
# OUT is also the Makefile's build-output knob: never pass the runner's on
unset OUT
START=$(date +%s)
BUDGET=${GPU_BUDGET:-460}
# the first python3 that has torch (PATH's, then Debian's), else PATH's
if [ -z "${PY:-}" ]; then
	for p in "$(command -v python3)" /usr/bin/python3; do
		[ -x "$p" ] && "$p" -c 'import torch' 2>/dev/null && PY=$p && break
	done
	PY=${PY:-$(command -v python3 || echo /usr/bin/python3)}
fi
CHECK=build/tests/cuda-check
FAILED=0
: >"$RES/summary.txt"

left() { echo $((START + BUDGET - $(date +%s))); }
say() { echo "gpu.sh: $*" | tee -a "$RES/summary.txt"; }

# part NAME CAP CMD...: runs CMD with a timeout of min(CAP, time left),
# output to $RES/NAME.log (and the terminal), one summary line.
part() {
	local name=$1 cap=$2 t0 rc l
	shift 2
	l=$(left)
	if [ "$l" -lt 15 ]; then
		say "$name: skipped (${l}s of the budget left)"
		return 0
	fi
	[ "$cap" -gt "$l" ] && cap=$l
	t0=$(date +%s)
	timeout -k 5 "$cap" "$@" 2>&1 | tee "$LOGS/$name.log"
	rc=${PIPESTATUS[0]}
	case $rc in
	0) say "$name: ok ($(($(date +%s) - t0))s)" ;;
	77) say "$name: skipped: $(grep -m1 '^skip:' "$LOGS/$name.log" | cut -c7-)" ;;
	124 | 137) say "$name: TIMEOUT after ${cap}s"; FAILED=1 ;;
	*) say "$name: FAIL (exit $rc, $(($(date +%s) - t0))s; see $name.log)"; FAILED=1 ;;
	esac
	return 0
}

if ! GPU=$(nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null | head -1) ||
	[ -z "$GPU" ]; then
	echo "gpu.sh: no GPU (nvidia-smi found none): nothing to check here"
	exit 0
fi
case $GPU in
*H100* | *H200* | *GH200*) PEAK=${PEAK:-989e12}; GENCODE="-gencode arch=compute_90,code=sm_90" ;;
*A100*) PEAK=${PEAK:-312e12}; GENCODE="-gencode arch=compute_80,code=sm_80" ;;
*) PEAK=${PEAK:-0}; GENCODE= ;;
esac
say "device: $GPU; peak bf16 $PEAK FLOP/s; budget ${BUDGET}s; python $PY"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,power.limit --format=csv \
	>"$RES/nvidia-smi.txt" 2>&1

# build here when every dependency is here; else the staged programs
use_stage() {
	local cu
	mkdir -p bin build/tests &&
	cp "$STAGE"/bin/tamis* bin/ && cp "$STAGE"/tests/* build/tests/ || return 1
	export PATH=$ROOT/$STAGE/bin:$PATH
	cu=/usr/local/cuda/lib64
	[ -e $cu/libcublas.so.13 ] ||
		cu=$(dirname "$(find / -xdev -name 'libcublas.so.13*' 2>/dev/null | head -1)" 2>/dev/null)
	export LD_LIBRARY_PATH=$ROOT/$STAGE/lib:$cu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
	bin/tamis-train --help >/dev/null && "$CHECK" config >/dev/null &&
	echo "libraries from $STAGE/lib and $cu"
}
if pkg-config --exists $PKGS 2>/dev/null && command -v nvcc >/dev/null; then
	part build 150 make -j16 ${GENCODE:+CUDA_GENCODE="$GENCODE"} all build/tests/hf-dump \
		build/tests/model-dump
elif [ -d "$STAGE/bin" ]; then
	say "build: pkg-config lacks some of: $PKGS; using the staged programs"
	if use_stage >"$LOGS/stage.log" 2>&1; then	# in this shell: its exports stay
		say "stage: ok ($(tail -1 "$LOGS/stage.log"))"
	else
		cat "$LOGS/stage.log"
		say "stage: FAIL: the staged programs do not run here (see gpu.log)"
		exit 1
	fi
else
	say "build: impossible here (pkg-config lacks some of: $PKGS) and nothing staged" \
		"(bench/gpu.sh --stage on the build machine, then carry $STAGE.tar.xz)"
	exit 1
fi
part kernels 30 "$CHECK" kernels
part model 45 "$CHECK" model
part train 45 "$CHECK" train steps=50

# the command line end to end (t8110: CPU and CUDA runs of one plan, resume)
part cli 60 env TAMIS_BIN="$ROOT/bin" TAMIS_SRC="$ROOT" TAMIS_BUILD="$ROOT/build" \
	PATH="$ROOT/bin:$PATH" bash tests/integration/t8110-train-cuda.sh

# config words and the bench line of one preset, for both trainers
bench_pair() {
	local preset=$1 B=$2 cap_t=$3 cap_p=$4 steps_t=$5 steps_p=$6 words
	words=$("$CHECK" config preset="$preset" T=1024) || return
	part "tamis-$preset" "$cap_t" "$CHECK" bench preset="$preset" B="$B" T=1024 \
		steps="$steps_t" peak="$PEAK"
	part "torch-$preset" "$cap_p" "$PY" bench/gpu_torch.py preset="$preset" B="$B" T=1024 \
		steps="$steps_p" peak="$PEAK" $words
}
bench_pair 120m 16 35 80 20 10
bench_pair 1b 8 60 110 10 5

part hf 25 env TAMIS_PYTHON="$PY" TAMIS_BIN="$ROOT/bin" TAMIS_SRC="$ROOT" \
	TAMIS_BUILD="$ROOT/build" PATH="$ROOT/bin:$PATH" bash tests/integration/t8200-hf.sh

# the table
{
	rev=$(git describe --always --dirty 2>/dev/null || cat "$STAGE/REV" 2>/dev/null)
	echo "### $(date -u +%Y-%m-%d) $GPU, tamis $rev"
	echo
	echo "| trainer | model | B x T | tokens/s | MFU | step s | memory GiB | notes |"
	echo "|---|---|---|---|---|---|---|---|"
	for f in "$LOGS"/tamis-*.log "$LOGS"/torch-*.log; do
		[ -f "$f" ] || continue
		awk '$1 == "bench" {
			for (i = 3; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
			note = $2 == "torch" ? (v["compile"] == "1" ? "torch.compile" : "eager") \
				" torch " v["torch"] : "bf16, cuBLAS + own kernels"
			printf "| %s | %s | %s x %s | %s | %.1f%% | %s | %s | %s |\n", $2,
				v["preset"], v["B"], v["T"], v["tok_s"], 100 * v["mfu"], v["step_s"],
				v["mem_gib"], note }
			$1 == "skip:" || $1 == "error:" { n = split(FILENAME, p, "/")
				printf "| %s | | | | | | | %s |\n", p[n], $0 }' "$f"
	done
	echo
	sed 's/^gpu.sh: /- /' "$RES/summary.txt"
} >"$RES/results.md"
cat "$RES/results.md"
say "done in $(($(date +%s) - START))s: results.md, summary.txt and gpu.log are in $RES"
for f in "$LOGS"/*.log; do
	echo "==== $(basename "$f" .log)"
	cat "$f"
done >"$RES/gpu.log"
exit $FAILED
