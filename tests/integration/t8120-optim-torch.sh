#!/bin/bash
# train/optim.c's gradient clipping and AdamW against torch itself:
# build/tests/optim-dump runs clipping + AdamW for 12 and 20 steps on a
# small Llama's parameter layout (weight decay on matrices, not on RMSNorm
# weights; a warmup then a cosine learning rate; every third step's
# gradients far above the clipping norm), and tests/torch/check_optim.py
# replays them with torch.nn.utils.clip_grad_norm_ and
# torch.optim.AdamW (float64, two parameter groups): the norm, each
# step's update and both moments must agree (tolerances in the script);
# its exit status is the verdict.  Needs Debian's python3-torch for
# /usr/bin/python3, else skipped.
. "$(dirname "$0")/lib.sh"

DUMP=${TAMIS_BUILD:-$SRC/build}/tests/optim-dump
CHECK="/usr/bin/python3 $SRC/tests/torch/check_optim.py"

tm_need_torch 'optimizer against torch'

test_expect_success 'optim-dump writes two runs (1 and 3 threads)' '
	"$DUMP" out=o1.bin seed=1 steps=12 threads=1 &&
	"$DUMP" out=o2.bin seed=7 steps=20 threads=3 &&
	test -s o2.bin
'

test_expect_success 'norm, updates and moments match torch (clipping active and idle)' '
	$CHECK o1.bin o2.bin >table &&
	grep -q "^# all passed" table &&
	grep -q "clipped on [1-9]" table
'
sed 's/^# //; s/^/# /' table 2>/dev/null

test_expect_success 'a wrong weight decay fails the check (exit 1)' '
	"$DUMP" out=bad.bin seed=1 steps=4 run_wd=0.2 &&
	tm_exit_is 1 $CHECK bad.bin >out &&
	grep -q "update .* FAIL" out
'

test_expect_success 'a truncated dump is an error (exit 2)' '
	head -c 5000 o1.bin >short.bin &&
	tm_exit_is 2 $CHECK short.bin 2>err &&
	grep -q "the header says" err
'

test_done
