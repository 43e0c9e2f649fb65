#!/bin/bash
# tamis route: the default rules on real documents (the shared WARCs,
# Python's and mpmath's HTML documentation, Debian's handbook in German),
# each known page sent where it belongs; unchanged documents byte for
# byte, the others differing only in "source"; -j determinism; --annotate;
# stats that add up; configuration errors by file and line; malformed
# input; and tamis tokenize | tamis shard writing one directory per source.
. "$(dirname "$0")/lib.sh"

export LC_ALL=C.UTF-8
PYDOC=/usr/share/doc/python3/html
MPDOC=/usr/share/doc/python-mpmath-doc/html
HBDOC=/usr/share/doc/debian-handbook/html

# real web pages, as extract and langid leave them (source "web")
for f in "$DATA"/warc/dolma/*.warc.gz "$DATA"/warc/resiliparse/warcfile.warc.gz \
	"$DATA"/warc/whirlwind/whirlwind.warc.gz; do
	tamis extract "$f" 2>/dev/null
done | tamis langid --min-score 0 >web.jsonl 2>/dev/null
# documentation pages: code listings, prose, mathematics, German
pages() {
	for p in "$@"; do [ -f "$p" ] && echo "$p"; done
}
pages $PYDOC/library/itertools.html $PYDOC/tutorial/errors.html \
	$PYDOC/howto/descriptor.html $PYDOC/tutorial/appetite.html $PYDOC/faq/general.html \
	$PYDOC/library/math.html $MPDOC/functions/zeta.html $MPDOC/calculus/odes.html \
	$MPDOC/functions/hypergeometric.html $HBDOC/de-DE/sect.syslog.html \
	$HBDOC/de-DE/sect.acknowledgments.html >pages
if [ -s pages ]; then
	tamis extract --html $(cat pages) 2>/dev/null | tamis langid --min-score 0 >docs.jsonl 2>/dev/null
else
	: >docs.jsonl
fi
cat web.jsonl docs.jsonl >all.jsonl

# where FILE: "source key" per document, key the url or the file's last two parts
where() {
	python3 -c 'import json, sys
for l in open(sys.argv[1]):
    d = json.loads(l); m = d.get("metadata", {})
    k = m.get("url") or "/".join(m.get("file", "").split("/")[-2:])
    print(d.get("source"), k)' "$1"
}

test_expect_success 'the real documents are there' '
	test $(wc -l <web.jsonl) -ge 50 &&
	grep -q "\"lang\":\"zh\"" web.jsonl && grep -q "\"lang\":\"en\"" web.jsonl
'

test_expect_success 'default rules: web pages stay web, other languages go multilingual, a code post code' '
	tamis route web.jsonl >web.out &&
	where web.out >w &&
	grep -qx "web https://allenai.org/" w &&
	grep -qx "web https://commoncrawl.org/faq" w &&
	grep -qx "multilingual https://an.wikipedia.org/wiki/Escopete" w &&
	grep -qx "multilingual http://01spb.ru/company/" w &&
	grep -qx "code https://maria-antoniak.github.io/2020/03/25/pip.html" w &&
	test $(grep -c "^web " w) -ge 30 &&
	test $(grep -c "^multilingual " w) -ge 10 &&
	test $(grep -c "^math " w) -eq 0
'

if grep -q itertools pages; then
	test_expect_success 'Python docs: pages of code listings go to code, prose pages stay web' '
		tamis route docs.jsonl >docs.out && where docs.out >d && cat d &&
		grep -qx "code library/itertools.html" d &&
		grep -qx "code tutorial/errors.html" d &&
		grep -qx "code howto/descriptor.html" d &&
		grep -qx "web tutorial/appetite.html" d &&
		grep -qx "web faq/general.html" d &&
		grep -qx "web library/math.html" d
	'
else
	test_skip 'Python docs: python3-doc is not installed (scripts/deps.sh)'
fi
if grep -q mpmath pages; then
	test_expect_success 'mpmath docs: LaTeX pages go to math, one mostly code to code' '
		grep -qx "math functions/zeta.html" d &&
		grep -qx "math calculus/odes.html" d &&
		grep -qx "code functions/hypergeometric.html" d
	'
else
	test_skip 'mpmath docs: python-mpmath-doc is not installed (scripts/deps.sh)'
fi
if grep -q de-DE pages; then
	test_expect_success 'the handbook in German goes to multilingual' '
		grep -qx "multilingual de-DE/sect.acknowledgments.html" d
	'
else
	test_skip 'handbook: debian-handbook is not installed (scripts/deps.sh)'
fi

test_expect_success 'unchanged documents byte for byte, the others differ only in source' '
	tamis route all.jsonl >all.out &&
	test $(wc -l <all.out) -eq $(wc -l <all.jsonl) &&
	python3 - all.jsonl all.out <<-\EOF
	import json, sys
	same = changed = 0
	for a, b in zip(open(sys.argv[1]), open(sys.argv[2])):
	    da, db = json.loads(a), json.loads(b)
	    if da.get("source") == db["source"]:
	        assert a == b, da.get("id")
	        same += 1
	        continue
	    # only the value changed: the same bytes around it
	    old = json.dumps(da["source"])
	    assert a.replace("\"source\":" + old, "\"source\":" + json.dumps(db["source"]), 1) == b, da.get("id")
	    changed += 1
	print("unchanged", same, "changed", changed)
	assert same >= 30 and changed >= 10
	EOF
'

test_expect_success 'a document without a source gets one appended, the rest as it was' '
	head -1 web.jsonl | sed "s/,\"source\":\"web\"//" >nosrc.jsonl &&
	! grep -q "\"source\"" nosrc.jsonl &&
	tamis route nosrc.jsonl >nosrc.out &&
	sed "s/}\$/,\"source\":\"web\"}/" nosrc.jsonl >want &&
	tm_cmp want nosrc.out
'

test_expect_success '-j 1 and -j 2 give the same bytes' '
	tamis route -j 1 all.jsonl >j1 &&
	tamis route -j 2 all.jsonl >j2 &&
	cat all.jsonl all.jsonl all.jsonl | tamis route -j 2 >j2x3 &&
	cmp j1 j2 && cmp j1 all.out &&
	cat j1 j1 j1 | cmp - j2x3
'

test_expect_success '--annotate: the scores in metadata agree with the routes' '
	tamis route --annotate all.jsonl -o ann.jsonl &&
	python3 - all.out ann.jsonl <<-\EOF
	import json, sys
	n = 0
	for a, b in zip(open(sys.argv[1]), open(sys.argv[2])):
	    da, db = json.loads(a), json.loads(b)
	    m = db["metadata"]
	    assert da["source"] == db["source"] and da["text"] == db["text"]
	    c, x = m["code_score"], m["math_score"]
	    assert 0 <= c <= 1 and 0 <= x <= 1
	    assert (db["source"] == "code") == (c >= 0.4), (db["source"], c)
	    if db["source"] not in ("code",):
	        assert (db["source"] == "math") == (x >= 0.02), (db["source"], x)
	    del m["code_score"], m["math_score"]
	    assert da == db
	    n += 1
	assert n > 0
	EOF
'

test_expect_success 'stats: per-source counters add up to the documents and bytes' '
	tamis route --stats st.sqlite all.jsonl >st.out &&
	cmp st.out all.out &&
	test "$(sqlite3 st.sqlite "select sum(value) from counters where name like '\''route.source.%'\''")" \
		-eq $(wc -l <all.jsonl) &&
	test "$(sqlite3 st.sqlite "select sum(value) from counters where name like '\''route.bytes.%'\''")" \
		-eq $(wc -c <st.out) &&
	for s in code multilingual web; do
		test "$(sqlite3 st.sqlite "select value from counters where name = '\''route.source.$s'\''")" \
			-eq $(where st.out | grep -c "^$s ") || return 1
	done &&
	test "$(sqlite3 st.sqlite "select count from histograms where name = '\''route.code_score'\''")" \
		-eq $(wc -l <all.jsonl) &&
	test "$(sqlite3 st.sqlite "select count from histograms where name = '\''route.math_score'\''")" \
		-eq $(wc -l <all.jsonl)
'

test_expect_success 'rules from the configuration and -c; --print-rules' '
	cat >r.conf <<-\EOF &&
	[route]
	order = wiki, code
	default = rest
	[route "wiki"]
	when = url ~ "wikipedia\.org/" or lang in (ru, ja)
	EOF
	tamis route --config r.conf --print-rules >rules &&
	printf "wiki\turl ~ \"wikipedia\\\\.org/\" or lang in (ru, ja)\ncode\tcode_score >= 0.4\nrest\t(default)\n" >want &&
	tm_cmp want rules &&
	tamis route --config r.conf web.jsonl | where /dev/stdin >w2 &&
	grep -qx "wiki https://an.wikipedia.org/wiki/Escopete" w2 &&
	grep -qx "wiki http://01spb.ru/company/" w2 &&
	grep -qx "rest https://allenai.org/" w2 &&
	test $(grep -c "^rest " w2) -ge 30 &&
	tamis route -c route.order=multilingual -c route.default=other web.jsonl | where /dev/stdin >w3 &&
	grep -qx "other https://maria-antoniak.github.io/2020/03/25/pip.html" w3
'

test_expect_success 'configuration errors name the file, the line and the column' '
	printf "[route]\norder = code, math\n\n[route \"math\"]\nwhen = math_score >= 0.02 and (lang = en)\n" >bad1.conf &&
	tm_exit_is 2 tamis route --config bad1.conf web.jsonl >out 2>err &&
	grep -qx "tamis-route: bad1.conf: line 5: \[route \"math\"\] when: column 30: expected an operator (== != < <= > >= ~ !~ in, not in) after .lang., got .=.; did you mean .==.?" err &&
	test ! -s out &&
	printf "[route]\norder = code, books\n" >bad2.conf &&
	tm_exit_is 2 tamis route --config bad2.conf web.jsonl 2>err &&
	grep -q "bad2.conf: line 2: \[route\] order: .books. has no rule" err &&
	printf "[route]\norder = code\n# a rule left behind\n[route \"math\"]\nwhen = math_score > 0\n" >bad3.conf &&
	tm_exit_is 2 tamis route --config bad3.conf web.jsonl 2>err &&
	grep -q "bad3.conf: line 4: \[route \"math\"\] is not in \[route\] order (code)" err &&
	tm_exit_is 2 tamis route -c "route.code.when=code_score >=" web.jsonl 2>err &&
	grep -q "command line: \[route \"code\"\] when: column 14: expected a value" err &&
	tm_exit_is 2 tamis route -c route.code.wehn=x web.jsonl 2>err &&
	grep -q "did you mean .when." err
'

test_expect_success 'malformed lines are reported with file and line, counted, and limited' '
	sed -n 1,2p web.jsonl >bad.jsonl &&
	printf "%s\n" "{not json" "{\"id\":1,\"text\":\"x\"}" "[]" >>bad.jsonl &&
	sed -n 3p web.jsonl >>bad.jsonl &&
	tamis route --stats bst.sqlite bad.jsonl >out 2>err &&
	sed -n "1,2p;6p" bad.jsonl | tm_cmp - out &&
	for n in 3 4 5; do grep -q "^tamis-route: bad.jsonl: line $n: " err || return 1; done &&
	test "$(sqlite3 bst.sqlite "select docs from removals where reason = '\''route.malformed'\''")" = 3 &&
	tm_exit_is 0 tamis route --max-errors 3 bad.jsonl >/dev/null 2>&1 &&
	tm_exit_is 3 tamis route --max-errors 2 bad.jsonl >out 2>err &&
	test ! -s out
'

test_expect_success 'tamis route | tamis tokenize | tamis shard: one shard directory per source' '
	tamis route all.jsonl | tamis tokenize --vocab cl100k | tamis shard --seed 3 - -o shards &&
	ls shards | sort >dirs &&
	where all.out | cut -d" " -f1 | sort -u >want &&
	tm_cmp want dirs &&
	tamis shard verify shards/*/*.bin &&
	for s in $(cat dirs); do
		ls shards/$s/${s}_train_000000.bin >/dev/null || return 1
	done
'

test_done
