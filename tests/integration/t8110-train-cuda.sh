#!/bin/bash
# tamis train --device cuda.  Everywhere: a build without the CUDA backend,
# or a machine without a usable GPU (this one and CI), fails at once, before
# any plan or shard is read, with exit 1 and a message that says which;
# --device takes cpu or cuda only.  Where a GPU answers (bench/gpu.sh runs
# this file there): the tiny model trained on shards made here, on the CPU
# and on the GPU with the same plan and seed, gives per-step losses within
# 5e-2 relative (bf16 products against fp32), checkpoints that load, and a
# resumed run that goes on from its checkpoint.
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/integration/run-inputs.sh"

test_expect_success '--device takes cpu or cuda (exit 2 otherwise)' '
	tm_exit_is 2 tamis train --device gpu --mix none.conf -o x 2>err &&
	grep -q "device is cpu or cuda" err
'

tamis train --device cuda --mix none.conf -o probe -q 2>probe.err
probe=$?
if grep -q "no CUDA backend\|no usable CUDA device" probe.err; then
	test_expect_success 'no GPU here: --device cuda fails at once, exit 1, saying why' '
		test $probe = 1 &&
		grep -q "^tamis-train: --device cuda: \(this build has no CUDA backend\|no usable CUDA device\) (.*)$" probe.err &&
		! test -e probe
	'
	# the reason, as a TAP comment
	sed 's/^/# /' probe.err
	test_done
	exit
fi

test_expect_success 'with a GPU, the probe got as far as the plan (and failed there)' '
	test $probe = 1
'

if ! [ -f "$W/whirlwind/whirlwind.warc.gz" ]; then
	test_skip "the WARC inputs are not in $W (bench/gpu.sh --stage packs them)"
	test_done
	exit
fi

test_expect_success 'shards from real WARC files and a 24-step plan' '
	tamis run -q -w data -c run.report=false -c run.vocab_size=600 \
		-c shard.tokens_per_shard=20000 -c shard.val_fraction=0.1 $CONF $INPUTS >/dev/null &&
	cat >plan.conf <<-EOF
	[mix]
	shards = data/shards
	seq_len = 64
	batch = 4
	seed = 3
	[phase "main"]
	tokens = 6K
	weights = web 0.7, multilingual 0.3
	lr_max = 3e-3
	lr_min = 3e-4
	schedule = cosine
	warmup_tokens = 1K
	EOF
	true
'

losses() {
	sqlite3 "$1" "SELECT step, printf('%.9g', loss) FROM train_steps ORDER BY step"
}

test_expect_success 'CPU and CUDA: the same run, losses within 5e-2 at every step' '
	tamis train --mix plan.conf -q -o cpu --stats cpu.sqlite &&
	tamis train --mix plan.conf -q -o gpu --stats gpu.sqlite --device cuda &&
	losses cpu.sqlite >a && losses gpu.sqlite >b &&
	test $(wc -l <a) -ge 20 && test $(wc -l <b) = $(wc -l <a) &&
	paste -d"|" a b | awk -F"|" "\$1 != \$3 { bad = 1 } { r = (\$4 - \$2) / \$2; if (r < 0) r = -r;
		if (r > w) w = r } END { print \"# worst relative difference\", w; exit bad || !(w <= 5e-2) }"
'

test_expect_success 'CUDA: a resumed run continues from its checkpoint; eval reads it' '
	tamis train --mix plan.conf -q -o half --stats half.sqlite --device cuda --max-steps 10 &&
	test "$(cat half/latest)" = step-00000010 &&
	tamis train --mix plan.conf -q -o half --stats half.sqlite --device cuda &&
	test "$(cat half/latest)" = "$(cat gpu/latest)" &&
	losses half.sqlite >h && test $(wc -l <h) = $(wc -l <b) &&
	ls half/$(cat half/latest)/model.safetensors half/$(cat half/latest)/train_state.bin
'

test_expect_success 'CUDA with --recompute: the same losses as without, within 1e-3' '
	tamis train --mix plan.conf -q -o rc --stats rc.sqlite --device cuda --recompute &&
	losses rc.sqlite >r &&
	paste -d"|" b r | awk -F"|" "{ d = (\$4 - \$2) / \$2; if (d < 0) d = -d;
		if (d > w) w = d } END { exit !(w <= 1e-3) }"
'

test_done
