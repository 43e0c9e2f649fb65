#!/bin/bash
# The CPU model (train/model.c) against an independent float64 torch
# implementation with autograd: logits, loss and every gradient on six
# random small configurations (MHA, GQA and a single kv head; RoPE scaling
# on and off; documents split by BOS, rows without one, and no mask at
# all; more than one block of attention queries; one to three threads).
# build/tests/model-dump writes what tamis computes, and
# tests/torch/check_model.py compares (max|ours - torch| / max|torch| per
# tensor <= 1e-4); its exit status is the verdict.  Needs Debian's
# python3-torch for /usr/bin/python3, else skipped.
. "$(dirname "$0")/lib.sh"

DUMP=${TAMIS_BUILD:-$SRC/build}/tests/model-dump
CHECK="/usr/bin/python3 $SRC/tests/torch/check_model.py"

tm_need_torch 'model against torch'

test_expect_success 'model-dump writes six random configurations' '
	"$DUMP" out=d1.bin seed=1 dim=32 layers=2 heads=4 kv=2 ffn=48 vocab=37 B=2 T=24 \
		bosrows=1 threads=1 &&
	"$DUMP" out=d2.bin seed=2 dim=48 layers=1 heads=3 kv=3 ffn=64 vocab=50 B=3 T=70 \
		scaling=1 orig=32 bosrows=2 threads=2 &&
	"$DUMP" out=d3.bin seed=3 dim=64 layers=2 heads=8 kv=1 ffn=96 vocab=29 B=2 T=130 \
		scaling=1 orig=64 bosrows=2 threads=2 &&
	"$DUMP" out=d4.bin seed=4 dim=24 layers=3 heads=2 kv=1 ffn=40 vocab=61 B=4 T=33 \
		bos=-1 threads=2 &&
	"$DUMP" out=d5.bin seed=5 dim=40 layers=2 heads=4 kv=2 ffn=72 vocab=1500 B=2 T=20 \
		scaling=1 orig=16 theta=10000 bosrows=1 threads=2 &&
	"$DUMP" out=d6.bin seed=6 dim=96 layers=2 heads=6 kv=2 ffn=160 vocab=64 B=2 T=200 \
		bosrows=0 threads=3 &&
	test -s d6.bin
'

test_expect_success 'logits, loss and gradients match torch autograd' '
	$CHECK d1.bin d2.bin d3.bin d4.bin d5.bin d6.bin >table &&
	grep -q "^# all passed" table
'
# the table, as TAP comments
sed -n '/^# worst/,$ { s/^[# ]*//; s/^/# /; p; }' table 2>/dev/null

test_expect_success 'a wrong gradient fails the check (exit 1)' '
	cp d1.bin bad.bin &&
	size=$(stat -c %s bad.bin) &&
	printf "\000\000\200\077" | dd of=bad.bin bs=1 seek=$((size - 40)) conv=notrunc 2>/dev/null &&
	tm_exit_is 1 $CHECK bad.bin >out &&
	grep -q "grad lm_head.weight .* FAIL" out
'

test_expect_success 'a truncated dump is an error (exit 2)' '
	head -c 1000 d1.bin >short.bin &&
	tm_exit_is 2 $CHECK short.bin 2>err &&
	grep -q "the header says" err
'

test_done
