#!/bin/bash
# tamis run, local executor: the stage graph over real WARC files (local
# paths, a listing with a base directory, and over HTTP from a server on
# 127.0.0.1), resumption after a failure and after kill -9 at random
# moments (byte-identical shards; TAMIS_KILL_ROUNDS rounds, default 4,
# 25 in make check-long), determinism across --jobs/--threads,
# the fingerprint guard, the lock, --dry-run.
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/integration/nginx.sh"

. "$SRC/tests/integration/run-inputs.sh"

test_expect_success 'usage: CONF is required (exit 2); --help' '
	tm_exit_is 2 tamis run 2>err &&
	grep -q "expected CONF" err &&
	tamis run --help | grep -q "^usage: tamis run"
'

test_expect_success 'no input is a clear error' '
	tm_must_fail tamis run -w w0 -c run.input= $CONF 2>err &&
	grep -q "no input" err
'

test_expect_success 'an unknown per-file stage is an error naming it' '
	tm_must_fail tamis run -w w0 -c run.file_stages=extract,sieve $CONF $INPUTS 2>err &&
	grep -q "unknown stage .sieve." err
'

test_expect_success '--dry-run prints every task and its programs, runs nothing' '
	tamis run -n -w dry $SET $CONF $INPUTS >plan &&
	test ! -e dry &&
	test $(grep -c "^# file " plan) = 5 &&
	test $(grep -c "^# bucket " plan) = 2 &&
	grep -q "tamis-extract .*sample-0000.warc.gz" plan &&
	grep -q "^    | .*tamis-langid" plan &&
	grep -q "tamis-dedup sign" plan &&
	grep -q "tamis-dedup bucket .*--bands 0-6" plan &&
	grep -q "tamis-tokenize train --vocab-size 1000" plan &&
	grep -q "tamis-shard .*shards.part" plan
'

test_expect_success 'a full run: shards that verify, every task marked, stats merged' '
	tamis run -w ref $SET $CONF $INPUTS >out 2>err &&
	ls ref/shards/*/*.bin >bins &&
	test -s bins &&
	tamis shard verify $(cat bins) &&
	test $(ls ref/tasks/*.done | wc -l) = $(tamis run -n -w ref $SET $CONF $INPUTS | grep -c "^# ") &&
	grep -q "^shards: *$PWD/ref/shards" out &&
	grep -q "\[1/" err &&
	sqlite3 ref/stats.sqlite "SELECT stage FROM funnel" >stages &&
	for s in extract langid filter route dedup-url dedup-exact dedup-sign dedup-apply \
		dedup-lines tokenize shard; do grep -qx "$s" stages || { echo "no $s"; exit 1; }; done &&
	test $(sqlite3 ref/stats.sqlite "SELECT runs FROM funnel WHERE stage = \"extract\"") = 5 &&
	test -s ref/report.html &&
	test ! -e ref/shards.part &&
	! ls ref/docs ref/sig ref/pairs | grep -q "tmp-"
'

test_expect_success 'every document of the final set is in a shard (tokens agree)' '
	docs=$(zstd -dc ref/final.jsonl.zst | wc -l) &&
	sdocs=$(tamis shard info ref/shards/*/*.bin | awk "/^  documents /{ s += \$2 } END { print s }") &&
	test "$docs" = "$sdocs"
'

test_expect_success 'a rerun does nothing and changes nothing' '
	cp -a ref/shards ref-copy &&
	tamis run -w ref $SET $CONF $INPUTS >out 2>err &&
	grep -q "tasks (\([0-9]*\) done earlier)" err &&
	! grep -q "done in" err &&
	same ref/shards ref-copy
'

test_expect_success 'the same shards with one task at a time and with more threads' '
	tamis run -q -w j1 -j 1 --threads 1 $SET $CONF $INPUTS >/dev/null &&
	same ref/shards j1/shards &&
	tamis run -q -w j3 -j 3 --threads 2 $SET $CONF $INPUTS >/dev/null &&
	same ref/shards j3/shards
'

test_expect_success 'a listing (gzip) with a base directory gives the same shards' '
	for f in $INPUTS; do echo "${f#$W/}"; done | gzip >list.gz &&
	tamis run -q -w listed -i list.gz --base "$W" $SET $CONF >/dev/null &&
	same ref/shards listed/shards
'

test_expect_success 'over HTTP from 127.0.0.1: fetched, verified, removed after use; same shards' '
	nginx_start "$W" &&
	tamis run -q -w http -i list.gz --base "http://127.0.0.1:$NGINX_PORT/" $SET $CONF >/dev/null &&
	same ref/shards http/shards &&
	test -z "$(find http/fetched -type f)" &&
	grep -q "dolma/sample-0001.warc.gz" "$NGINX_LOG"
'

test_expect_success 'a failing task: named with its program and log; the rest resumes later' '
	mkdir in && cp $INPUTS in/ &&
	rm in/warcfile.warc.gz &&
	set -- $(for f in $INPUTS; do echo in/${f##*/}; done) &&
	tm_exit_is 1 tamis run -w fail -j 1 $SET $CONF "$@" 2>err &&
	grep -q "file-000002 (.*/in/warcfile.warc.gz) failed after .*tamis-extract exited with status 1; its log: .*/fail/logs/file-000002.log" err &&
	grep -q "1 task failed; rerun" err &&
	test -e fail/tasks/file-000001.done &&
	test ! -e fail/tasks/file-000003.done &&
	cp $W/resiliparse/warcfile.warc.gz in/ &&
	tamis run -w fail -j 1 $SET $CONF "$@" >out 2>err &&
	grep -q "(2 done earlier)" err &&
	! grep -q "file-000001 done" err &&
	same ref/shards fail/shards
'

test_expect_success 'kill -9 at random moments (the driver, or its whole group), rerun: identical shards' '
	RANDOM=7 &&
	for round in $(seq ${TAMIS_KILL_ROUNDS:-4}); do
		rm -rf k &&
		for kill in 1 2; do
			setsid tamis run -q -w k $SET $CONF $INPUTS >/dev/null 2>&1 &
			pid=$! &&
			sleep 0.$((RANDOM % 9 + 1))$((RANDOM % 10)) &&
			if [ $(( (round + kill) % 2 )) = 0 ]; then
				kill -9 $pid 2>/dev/null
			else
				kill -9 -- -$pid 2>/dev/null
			fi
			wait $pid 2>/dev/null
			# stages die with the driver (PR_SET_PDEATHSIG)
			for i in 1 2 3 4 5 6 7 8 9 10; do
				pgrep -f "tamis-[a-z]* .*$PWD/k/" >/dev/null || break
				sleep 0.2
			done
			! pgrep -f "tamis-[a-z]* .*$PWD/k/" || { echo "stages outlived the driver"; exit 1; }
		done &&
		tamis run -q -w k $SET $CONF $INPUTS >/dev/null 2>err || { cat err; exit 1; }
		same ref/shards k/shards || { echo "round $round differs"; exit 1; }
		cmp ref/vocab.tiktoken k/vocab.tiktoken || exit 1
		! ls k/docs k/sig k/pairs k | grep -q "tmp-" || { echo "temporary files left"; exit 1; }
	done
'

test_expect_success 'a work directory made from another configuration is refused; --restart redoes it' '
	tm_must_fail tamis run -w ref $SET -c shard.seed=2 $CONF $INPUTS 2>err &&
	grep -q "another configuration or input list" err &&
	tamis run -q -w ref --restart $SET -c shard.seed=2 $CONF $INPUTS >/dev/null &&
	! same ref/shards ref-copy
'

test_expect_success 'one driver per work directory' '
	flock ref/run.lock sleep 3 &
	sleep 0.5 &&
	tm_must_fail tamis run -w ref $SET -c shard.seed=2 $CONF $INPUTS 2>err &&
	grep -q "another tamis run is working in this directory" err &&
	wait
'

test_expect_success 'the configuration reaches every stage (a key of [langid])' '
	tamis run -q -w en $SET -c langid.keep=en $CONF $INPUTS >/dev/null &&
	test "$(zstd -dc en/final.jsonl.zst | jq -r .metadata.lang | sort -u)" = en
'

test_done
