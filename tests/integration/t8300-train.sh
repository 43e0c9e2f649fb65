#!/bin/bash
# tamis train, eval and generate on shards made here from real WARC files
# (tamis run): resuming gives the same losses bit for bit, an injected NaN
# rolls back and skips its batch, kill -9 while checkpoints are written
# leaves a usable one, checkpoints are Hugging Face directories that eval
# and --init read back, evaluations and steps reach the stats database.
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/integration/run-inputs.sh"

# the losses a stats file holds, at full precision
losses() {
	sqlite3 "$1" "SELECT step, printf('%.17g', loss) FROM train_steps ORDER BY step"
}

test_expect_success 'shards per source from real WARC files (tamis run)' '
	tamis run -q -w data -c run.report=false -c run.vocab_size=600 \
		-c shard.tokens_per_shard=20000 -c shard.val_fraction=0.1 $CONF $INPUTS >/dev/null &&
	ls data/shards/web/web_train_000000.bin data/shards/multilingual/multilingual_train_000000.bin &&
	cat >plan.conf <<-EOF
	[mix]
	shards = data/shards
	seq_len = 64
	batch = 4
	seed = 3
	eval_every = 2K
	eval_tokens = 2K
	[phase "main"]
	tokens = 5K
	weights = web 0.7, multilingual 0.3
	lr_max = 3e-3
	lr_min = 3e-4
	schedule = cosine
	warmup_tokens = 1K
	[phase "anneal"]
	tokens = 1K
	weights = web 0.5, multilingual 0.5
	schedule = linear
	EOF
	true
'
# plan.conf: shards relative to the file; 24 steps (20 main, 4 anneal) of 256 tokens
T="--mix plan.conf -j 2 -q"

test_expect_success 'usage: --mix and -o are required; a missing source is named' '
	tm_exit_is 2 tamis train -o x 2>err && grep -q "mix" err &&
	sed "s/multilingual 0.3/books 0.3/" plan.conf >bad.conf &&
	tm_must_fail tamis train --mix bad.conf -o x -q 2>err &&
	grep -q "books" err
'

test_expect_success '--describe: the published shapes and their parameter counts' '
	tamis train --model 8b --describe >d8 &&
	grep -q "^parameters *8030261248 (8.03B)" d8 &&
	tamis train --model 70b --describe | grep -q "^parameters *70553706496 (70.55B)" &&
	tamis train --model 405b --describe | grep -q "^parameters *405853388800 (405.85B)" &&
	grep -q "^heads *32 (kv 8, head dim 128)" d8 &&
	tm_exit_is 1 tamis train --model 7b --describe 2>err && grep -q "unknown model" err
'

test_expect_success 'a whole run: every step logged, evaluations per source, LR to zero' '
	tamis train $T -o full --stats full.sqlite --keep 100 &&
	test $(sqlite3 full.sqlite "SELECT count(*) FROM train_steps") = 24 &&
	test $(sqlite3 full.sqlite "SELECT count(DISTINCT phase) FROM train_steps") = 2 &&
	sqlite3 full.sqlite "SELECT DISTINCT split FROM train_evals" >splits &&
	grep -qx "val/web" splits &&
	test "$(sqlite3 full.sqlite "SELECT lr < 1e-4 FROM train_steps ORDER BY step DESC LIMIT 1")" = 1 &&
	first=$(sqlite3 full.sqlite "SELECT loss FROM train_steps ORDER BY step LIMIT 1") &&
	last=$(sqlite3 full.sqlite "SELECT loss FROM train_steps ORDER BY step DESC LIMIT 1") &&
	awk -v a="$first" -v b="$last" "BEGIN { exit !(b < a - 0.5) }" &&
	test "$(cat full/latest)" = step-00000024 &&
	ls full/step-00000024/config.json full/step-00000024/model.safetensors full/step-00000024/train_state.bin
'

test_expect_success 'resume: 10 steps, then the rest, gives the same losses bit for bit' '
	tamis train $T -o half --stats half.sqlite --max-steps 10 &&
	test "$(cat half/latest)" = step-00000010 &&
	tamis train $T -o half --stats half.sqlite &&
	losses full.sqlite >a && losses half.sqlite >b &&
	tm_cmp a b
'

test_expect_success 'an injected NaN rolls back to the last checkpoint and skips that batch' '
	tamis train --mix plan.conf -j 2 -o fault --stats fault.sqlite --checkpoint-every 5 \
		--fault-step 12 --log-every 1 >out 2>err &&
	grep -q "step 13: fault injected" err &&
	grep -q "step 13: loss nan.*rolling back to step-00000010 and skipping this batch" err &&
	grep -q "step 13: skipped" err &&
	test -z "$(sqlite3 fault.sqlite "SELECT step FROM train_steps WHERE step = 12")" &&
	test $(sqlite3 fault.sqlite "SELECT count(*) FROM train_steps") = 23 &&
	test -z "$(sqlite3 fault.sqlite "SELECT step FROM train_steps WHERE NOT (loss < 1e9)")" &&
	# the steps before the fault are those of the clean run
	losses full.sqlite | head -12 >a && losses fault.sqlite | head -12 >b && tm_cmp a b
'

test_expect_success 'kill -9 while checkpoints are written: the latest one loads and training goes on' '
	RANDOM=11 &&
	for round in 1 2 3 4 5; do
		tamis train $T -o killed --checkpoint-every 1 >/dev/null 2>&1 &
		pid=$! &&
		sleep 0.$((RANDOM % 9 + 1)) &&
		kill -9 $pid 2>/dev/null
		wait $pid 2>/dev/null
		if [ -e killed/latest ]; then
			ck=killed/$(cat killed/latest) &&
			ls $ck/config.json $ck/model.safetensors $ck/train_state.bin >/dev/null ||
				{ echo "round $round: $ck incomplete"; exit 1; }
		fi
	done &&
	tamis train $T -o killed --checkpoint-every 1 2>err &&
	test "$(cat killed/latest)" = step-00000024 &&
	! ls killed | grep -q tmp
'

test_expect_success 'tamis eval: a checkpoint scores sequences; training lowered the loss' '
	zstd -dc data/final.jsonl.zst | head -5 >docs.jsonl &&
	tamis tokenize --vocab data/vocab.tiktoken --format ids docs.jsonl | cut -d" " -f1-60 >ids.txt &&
	test $(wc -l <ids.txt) = 5 &&
	tamis eval --model full/step-00000024 --ids ids.txt >e1 &&
	tamis eval --model full/step-00000000 --ids ids.txt >e0 &&
	tail -1 e1 | grep -q "^loss [0-9.]*$" &&
	grep -q "^positions $((5 * 59))$" e1 &&
	l0=$(tail -1 e0 | cut -d" " -f2) && l1=$(tail -1 e1 | cut -d" " -f2) &&
	# untrained: about ln(vocabulary); trained: lower
	v=$(sed -n "s/.*\"vocab_size\": \([0-9]*\).*/\1/p" full/step-00000024/config.json) &&
	awk -v a="$l0" -v b="$l1" -v v="$v" "BEGIN { exit !(b < a - 0.3 && a > log(v) - 0.3 && a < log(v) + 0.3) }"
'

test_expect_success '--init from a checkpoint (an HF directory): the same model, bit for bit' '
	tamis train $T -o init --init full/step-00000024 --max-steps 0 &&
	cmp full/step-00000024/model.safetensors init/step-00000000/model.safetensors &&
	tamis eval --model init/step-00000000 --ids ids.txt >e2 &&
	tm_cmp e1 e2
'

test_expect_success 'tamis generate: text with the vocabulary, ids without; the same seed, the same text' '
	tamis generate --model full/step-00000024 --vocab data/vocab.tiktoken -n 20 "The" >g1 &&
	tamis generate --model full/step-00000024 --vocab data/vocab.tiktoken -n 20 "The" >g2 &&
	tm_cmp g1 g2 && test -s g1 && grep -q "^The" g1 &&
	tamis generate --model full/step-00000024 --ids "5 6 7" -n 4 --temperature 0 >g3 &&
	test $(wc -w <g3) = 7 && grep -q "^5 6 7 " g3
'

test_done
