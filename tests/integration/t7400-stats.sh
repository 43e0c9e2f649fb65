#!/bin/bash
# tamis stats and stats merge on the statistics of a real run, and every
# example query of docs/FORMATS.md ("Example queries") run with sqlite3
# against it: the documented schema is the one written.
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/integration/run-inputs.sh"

test_expect_success 'a run over real WARC files leaves per-task and merged statistics' '
	tamis run -q -w r -c run.report=false $SET $CONF $INPUTS >/dev/null &&
	test -s r/stats.sqlite &&
	ls r/stats/file-000000.sqlite r/stats/final-shards.sqlite
'

# the trainer writes these; until it exists, rows of the documented shape
test_expect_success 'training rows of the documented shape can be added' '
	sqlite3 r/stats.sqlite "
	INSERT INTO runs (uuid, tool, stage, started, hostname, pid, version, cmdline)
	  VALUES (\"00000000-0000-4000-8000-000000000001\", \"train\", \"train\",
	          \"2026-11-27T00:00:00.000Z\", \"h\", 1, \"0.1.0\", \"tamis train\");
	INSERT INTO train_steps (run_id, step, phase, loss, lr, grad_norm, tokens, seconds)
	  SELECT last_insert_rowid(), 1, \"main\", 9.5, 0.001, 1.2, 4096, 0.5;
	INSERT INTO train_evals (run_id, step, split, loss)
	  SELECT run_id, 1, \"val/web\", 9.6 FROM runs WHERE tool = \"train\";"
'

test_expect_success 'every example query of docs/FORMATS.md runs' '
	awk "/^### Example queries/ { on = 1 } on && /^\`\`\`sql/ { inb = 1; next }
	     inb && /^\`\`\`/ { exit } inb" "$SRC/docs/FORMATS.md" >queries.sql &&
	test $(grep -c ";" queries.sql) -ge 10 &&
	# one statement at a time, so that a failure names it
	awk "!/^--/ { q = q \$0 \"\\n\" } /;[[:space:]]*\$/ { print q > (\"q\" ++n \".sql\"); q = \"\" }" queries.sql &&
	for q in q*.sql; do
		sqlite3 -bail r/stats.sqlite <"$q" >"$q.out" 2>"$q.err" || { cat "$q" "$q.err"; exit 1; }
		test ! -s "$q.err" || { cat "$q" "$q.err"; exit 1; }
	done &&
	ls q*.sql | wc -l >nq && test $(cat nq) -ge 10
'

test_expect_success 'the example queries answer: funnel, reasons, histogram, training curve' '
	grep -q "^extract|" q1.sql.out &&
	grep -q "^filter|filter\." q2.sql.out &&
	grep -q "^[1-9][0-9]*\$" q4.sql.out &&
	grep -q "^extract|[0-9.]*\$" q5.sql.out &&
	test $(wc -l <q6.sql.out) -ge 3 &&
	grep -q "^0\.[0-9]*|0\.[0-9]*|1\.0*\$" q7.sql.out &&
	grep -q "^1|main|9.5|0.001" q9.sql.out &&
	grep -q "^1|val/web|9.6" q10.sql.out
'

test_expect_success 'tamis stats: the funnel, then removals by reason' '
	tamis stats r/stats.sqlite >out &&
	head -1 out | grep -q "^stage  *runs  *docs_in  *docs_out  *removed  *removed%  *bytes_in  *bytes_out  *tokens_out" &&
	grep -q "^extract  *5 " out &&
	grep -q "^tokenize .* [1-9][0-9]*\$" out &&
	grep -q "^removals by reason:" out &&
	grep -q "^filter  *filter\.[a-z_.]*  *[0-9]" out
'

test_expect_success 'tamis stats merge: the per-task files give the same funnel, once however often merged' '
	tamis stats merge m.sqlite r/stats/*.sqlite &&
	tamis stats merge m.sqlite r/stats/*.sqlite &&
	sqlite3 m.sqlite "SELECT * FROM funnel" >m.funnel &&
	sqlite3 r/stats.sqlite "SELECT * FROM funnel WHERE stage <> \"train\"" >r.funnel &&
	tm_cmp r.funnel m.funnel &&
	test $(sqlite3 m.sqlite "SELECT count(*) FROM runs") = $(cat r/stats/*.sqlite >/dev/null; for f in r/stats/*.sqlite; do sqlite3 $f "SELECT count(*) FROM runs"; done | paste -sd+ | bc)
'

test_expect_success 'tamis stats: a file that is not a stats database is refused' '
	echo "not sqlite" >bad.sqlite &&
	tm_must_fail tamis stats bad.sqlite 2>err &&
	grep -q "bad.sqlite" err
'

test_done
