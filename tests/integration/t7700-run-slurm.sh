#!/bin/bash
# tamis run --executor slurm on a real single-node Slurm (Debian's slurm-wlm
# and munge, started here by tests/integration/slurm.sh): job arrays per
# phase with afterok dependencies, arrays chunked under MaxArraySize,
# resubmission of only the undone tasks, and shards byte-identical to the
# local executor's.
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/integration/slurm.sh"

. "$SRC/tests/integration/run-inputs.sh"

if [ "$(id -u)" != 0 ] || ! command -v slurmctld >/dev/null && [ ! -x /usr/sbin/slurmctld ]; then
	test_skip "a single-node Slurm needs root and slurm-wlm (scripts/deps.sh)"
	test_done
	exit 0
fi

test_expect_success 'a single-node Slurm starts (slurmctld, slurmd, munge)' '
	slurm_start "$tm_scratch/slurm" >slurm.out 2>&1 || { cat slurm.out; exit 1; }
'
export SLURM_CONF=$tm_scratch/slurm/slurm.conf

test_expect_success 'the local executor gives the reference' '
	tamis run -q -w local $SET $CONF $INPUTS >/dev/null
'

test_expect_success 'slurm: arrays per phase with dependencies; the same shards' '
	tamis run -w sl --executor slurm --wait $SET $CONF $INPUTS >out 2>err || { cat out err; exit 1; }
	grep -q "^file [0-9]" out &&
	grep -q "^bucket [0-9]" out &&
	grep -q "^final [0-9]" out &&
	grep -q "^tamis-run: done: shards in $PWD/sl/shards" out &&
	same local/shards sl/shards &&
	cmp local/vocab.tiktoken sl/vocab.tiktoken &&
	ls sl/logs/slurm-file-*_4.out &&
	test $(ls sl/tasks/*.done | wc -l) = $(ls local/tasks/*.done | wc -l)
'

test_expect_success 'the statistics of the Slurm tasks merge to the local funnel' '
	sqlite3 local/stats.sqlite "SELECT stage, docs_in, docs_out FROM funnel" >f.local &&
	sqlite3 sl/stats.sqlite "SELECT stage, docs_in, docs_out FROM funnel" >f.slurm &&
	tm_cmp f.local f.slurm
'

test_expect_success 'submitting again submits nothing' '
	tamis run -w sl --executor slurm $SET $CONF $INPUTS >out &&
	grep -q "every task is done already; nothing submitted" out
'

test_expect_success 'resumable per task: only the undone tasks are submitted, same shards' '
	rm sl/tasks/file-000002.done sl/tasks/final-*.done &&
	rm -f sl/logs/slurm-* &&
	tamis run -w sl --executor slurm --wait $SET $CONF $INPUTS >out 2>err || { cat out err; exit 1; }
	grep -q "^file [0-9]" out &&
	! grep -q "^bucket" out &&
	test $(ls sl/logs/slurm-file-* | wc -l) = 1 &&
	ls sl/logs/slurm-file-*_2.out &&
	same local/shards sl/shards
'

test_expect_success 'arrays are chunked under MaxArraySize (offsets passed to the tasks)' '
	tamis run -w chunk --executor slurm --wait -c run.slurm_max_array=2 $SET $CONF $INPUTS >out 2>err ||
		{ cat out err; exit 1; }
	test $(grep -c "^file " out) = 3 &&
	same local/shards chunk/shards
'

test_expect_success 'a failing task ends the chain; --wait names it with its log' '
	mkdir in && cp $INPUTS in/ && rm in/warcfile.warc.gz &&
	set -- $(for f in $INPUTS; do echo in/${f##*/}; done) &&
	tm_exit_is 1 tamis run -w bad --executor slurm --wait $SET $CONF "$@" >out 2>err &&
	grep -q "file-000002 (.*warcfile.warc.gz): its log: .*bad/logs/file-000002.log" err &&
	grep -q "final-shards" err &&
	test -z "$(squeue -h)"
'

test_done
