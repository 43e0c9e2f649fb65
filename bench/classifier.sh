#!/usr/bin/env bash
# bench/classifier.sh — the tamis text classifier (filters/classifier.h)
# against fastText's supervised mode (Debian `fasttext`), on the same files
# with the same settings, in one run on one machine: accuracy (and, for the
# binary task, precision/recall of its positive class hq), training seconds,
# and inference documents/s and MB/s.
#
# usage: bench/classifier.sh [--record] [--dim N] [--epoch N] [--lr X]
#                            [--ngrams N] [--bucket-bits B] [--tasks "binary topic"]
#   --record      append a dated markdown block with machine info to bench/RESULTS.md
#   --dim N       embedding width (default 16)
#   --epoch N     passes (default 10)
#   --lr X        initial learning rate (default 0.5)
#   --ngrams N    word n-grams (default 2)
#   --bucket-bits B  2^B hashed rows (default 21: fastText's -bucket 2097152)
# env:   REPS     timed repetitions per tool and task (default 3; median)
#        TAMIS_BIN  directory holding tamis (default: bin), for extraction
#
# Data (bench/classifier_data.py, cached under bench/work/classifier): real
# text available offline, cut into chunks of 50-200 words, split 80/20 by
# document.  binary: hq (Debian handbook, Python docs, man pages) vs web
# (the real WARCs and article pages of /work/shared/data); topic: nine
# classes (handbook, four parts of the Python docs, three kinds of man
# page, web).  Both tools read the same fastText files (`__label__X text`).
#
# Method: each tool trains with one thread (fasttext -thread 1) pinned to
# one CPU (taskset -c 0), then predicts the test file (fasttext
# predict-prob MODEL FILE 1; tamis: bench/clf-run.c, the library behind
# fastText's command line, until `tamis filter train-classifier` lands),
# and then the test file repeated 10 times (the speed columns: start-up
# and model load amortised); wall clock of whole processes (start-up,
# reading, model load and write included), median of REPS interleaved runs.  fastText keeps a vocabulary
# (-minCount 1) and hashes word n-grams into -bucket rows; tamis hashes
# every feature into 2^B rows.  fastText writes a float .bin and a .vec,
# tamis an int8 model.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
. bench/lib.sh
RECORD=0 DIM=16 EPOCH=10 LR=0.5 NGRAMS=2 BITS=21 TASKS="binary topic"
ARGS="$*"
while [ $# -gt 0 ]; do
	case $1 in
	--record) RECORD=1 ;;
	--dim) DIM=$2; shift ;;
	--epoch) EPOCH=$2; shift ;;
	--lr) LR=$2; shift ;;
	--ngrams) NGRAMS=$2; shift ;;
	--bucket-bits) BITS=$2; shift ;;
	--tasks) TASKS=$2; shift ;;
	-h | --help) sed -n '2,/^set -e/s/^# \{0,1\}//p' "$0" | sed '$d'; exit 0 ;;
	*) echo "classifier.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
	esac
	shift
done
REPS=${REPS:-3}
TAMIS=${TAMIS_BIN:-bin}/tamis
W=bench/work/classifier
D=$W/run
PY=/usr/bin/python3
die() { echo "classifier.sh: $*" >&2; exit 1; }
for t in fasttext taskset "$PY" pkg-config; do
	command -v "$t" >/dev/null || die "$t not installed; run scripts/deps.sh"
done

make -s build/libtamis.a all
mkdir -p build/bench "$D"
PKGS="zlib libzstd libxml-2.0 libcurl sqlite3 icu-uc icu-i18n jansson libxxhash libisal libcrypto"
CLF=build/bench/clf-run
# shellcheck disable=SC2046
${CC:-cc} -std=gnu11 -O2 -Ilib -Ifilters -Idedup $(pkg-config --cflags $PKGS) -o "$CLF" \
	bench/clf-run.c build/libtamis.a $(pkg-config --libs $PKGS) -lm -pthread
"$PY" bench/classifier_data.py "$W" "$TAMIS"

# run TOOL train|predict TASK: one process, pinned
run() {
	local tool=$1 what=$2 task=$3
	case $tool.$what in
	fasttext.train) taskset -c 0 fasttext supervised -input "$W/$task/train.txt" \
		-output "$D/$task.ft" -dim "$DIM" -epoch "$EPOCH" -lr "$LR" \
		-wordNgrams "$NGRAMS" -bucket $((1 << BITS)) -minCount 1 -thread 1 -verbose 0 ;;
	fasttext.predict) taskset -c 0 fasttext predict-prob "$D/$task.ft.bin" \
		"$W/$task/test.txt" 1 >"$D/$task.fasttext.pred" ;;
	fasttext.predict10) taskset -c 0 fasttext predict-prob "$D/$task.ft.bin" \
		"$D/$task.test10.txt" 1 >/dev/null ;;
	tamis.train) taskset -c 0 "$CLF" train -dim "$DIM" -epoch "$EPOCH" -lr "$LR" \
		-wordNgrams "$NGRAMS" -bucket-bits "$BITS" -input "$W/$task/train.txt" \
		-output "$D/$task.tclf" 2>/dev/null ;;
	tamis.predict) taskset -c 0 "$CLF" predict-prob "$D/$task.tclf" \
		"$W/$task/test.txt" 1 >"$D/$task.tamis.pred" ;;
	tamis.predict10) taskset -c 0 "$CLF" predict-prob "$D/$task.tclf" \
		"$D/$task.test10.txt" 1 >/dev/null ;;
	esac
}

median() { sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
now() { date +%s.%N; }
rm -f "$D"/*.times
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
for task in $TASKS; do
	for i in 1 2 3 4 5 6 7 8 9 10; do cat "$W/$task/test.txt"; done >"$D/$task.test10.txt"
	cat "$W/$task"/*.txt >/dev/null	# in the page cache for everyone
	for ((r = 1; r <= REPS; r++)); do
		for tool in fasttext tamis; do
			for what in train predict predict10; do
				t0=$(now)
				run $tool $what "$task" || die "$tool $what $task failed"
				t1=$(now)
				echo "$t1 - $t0" | bc >>"$D/$task.$tool.$what.times"
			done
		done
	done
done
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

TABLE=$("$PY" - "$W" "$D" "$TASKS" <<'EOF'
import os, statistics, sys
W, D, tasks = sys.argv[1], sys.argv[2], sys.argv[3].split()
print("| task | tool | accuracy | P / R (hq) | train s | predict s (test) | docs/s | MB/s |")
print("| --- | --- | ---: | --- | ---: | ---: | ---: | ---: |")
for task in tasks:
    test = os.path.join(W, task, "test.txt")
    gold = [l.split(" ", 1)[0] for l in open(test, encoding="utf-8")]
    nbytes = os.path.getsize(test)
    for tool in ("fasttext", "tamis"):
        pred = [l.split(" ", 1)[0] if l.strip() else "" for l in
                open(os.path.join(D, "%s.%s.pred" % (task, tool)), encoding="utf-8")]
        assert len(pred) == len(gold), (tool, len(pred), len(gold))
        acc = sum(p == g for p, g in zip(pred, gold)) / len(gold)
        pr = ""
        if task == "binary":
            tp = sum(p == g == "__label__hq" for p, g in zip(pred, gold))
            npred = sum(p == "__label__hq" for p in pred)
            ngold = sum(g == "__label__hq" for g in gold)
            pr = "%.3f / %.3f" % (tp / max(npred, 1), tp / max(ngold, 1))
        t = {w: statistics.median(float(x) for x in open(os.path.join(
            D, "%s.%s.%s.times" % (task, tool, w)))) for w in ("train", "predict",
                                                                 "predict10")}
        print("| %s | %s | %.4f | %s | %.2f | %.2f | %.0f | %.2f |" % (
            task, tool, acc, pr, t["train"], t["predict"], 10 * len(gold) / t["predict10"],
            10 * nbytes / 1e6 / t["predict10"]))
EOF
)
echo "$TABLE"

if [ "$RECORD" -eq 1 ]; then
	desc() {
		local f=$1
		echo "$(wc -l <"$f") chunks, $(awk '{n += NF - 1} END {print n}' "$f") words, $(($(wc -c <"$f") / 1000)) kB"
	}
	{
		echo
		echo "## $(date -u '+%Y-%m-%d %H:%M UTC') — text classifier: tamis vs fastText"
		echo
		bench_machine "$LOAD0" "$LOAD1"
		echo "- software: fasttext $(dpkg-query -W -f='${Version}' fasttext 2>/dev/null); tamis tree at \`$(bench_rev)\` through \`bench/clf-run.c\`"
		for task in $TASKS; do
			echo "- data, $task: train $(desc "$W/$task/train.txt"); test $(desc "$W/$task/test.txt"); classes: $(cut -d' ' -f1 "$W/$task/train.txt" | sort -u | sed 's/__label__//' | paste -sd' ')"
		done
		echo "- method: \`bench/classifier.sh${ARGS:+ $ARGS}\`: -dim $DIM -epoch $EPOCH -lr $LR -wordNgrams $NGRAMS, 2^$BITS buckets, one thread pinned to one CPU for both; whole processes (start-up, reading, model load/write included), median of $REPS interleaved runs; predict s: the test file; docs/s and MB/s: the test file 10 times over (start-up and load amortised); data from \`bench/classifier_data.py\` (chunks of 50-200 words of real offline text, split by document)"
		echo
		echo "$TABLE"
	} >>bench/RESULTS.md
	echo "classifier.sh: recorded in bench/RESULTS.md" >&2
fi
