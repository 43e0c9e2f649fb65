#!/bin/bash
# tamis warc ls on every file of ../shared/data/warc, against the listings
# of warcio.js (tests/integration/warcio-ref/, made by bench/warcio-ref.sh),
# and where warcio is wrong (its README lists where), against the truth.
. "$(dirname "$0")/lib.sh"

REF=$SRC/tests/integration/warcio-ref
W=$DATA/warc

# Files warcio.js reads correctly: identical offsets, types and URIs.
same="dolma/sample-0000.warc.gz dolma/sample-0001.warc.gz
resiliparse/block-sized-records.warc.gz resiliparse/clueweb-quirk.warc.gz
resiliparse/warcfile.warc.gz warcio/example-digest.warc
warcio/example-iana.org-chunked.warc warcio/example-resource.warc.gz
warcio/example-space-in-target-uri.warc.gz warcio/example-trunc.warc
warcio/example-wget-bad-target-uri.warc.gz warcio/example.warc.gz
warcio/example.warc warcio/post-test.warc.gz whirlwind/whirlwind.warc.gz
whirlwind/whirlwind.warc.wat.gz whirlwind/whirlwind.warc.wet.gz"

for f in $same; do
	ref=$REF/$(echo "$f" | sed 's,/,__,').tsv
	test_expect_success "$f: same records as warcio.js (offset, type, URI)" '
		tamis warc ls "$W/$f" >out 2>err &&
		cut -f1,3,4 out >actual &&
		cut -f1,3,4 "$ref" >expect &&
		tm_cmp expect actual
	'
done

# Per-record gzip: each length is exactly the member, so offsets chain.
test_expect_success 'lengths chain: offset + length = next offset (gzip per record)' '
	tamis warc ls "$W/resiliparse/warcfile.warc.gz" >out &&
	awk -F"\t" "NR > 1 && \$1 != prev { bad = 1 } { prev = \$1 + \$2 } END { exit bad }" out &&
	test "$(tail -n 1 out | awk -F"\t" "{ print \$1 + \$2 }")" = \
	     "$(stat -c %s "$W/resiliparse/warcfile.warc.gz")"
'

# Where warcio.js is wrong.
test_expect_success 'LF-only WET (cc_net): 4 records, first with a wrong Content-Length' '
	tamis warc ls "$W/cc_net/sample.warc.wet.txt" >out 2>err &&
	cut -f3,4 out >actual &&
	printf "warcinfo\t-\nconversion\thttp://sample_english.com\nconversion\thttp://sample_chinese.zh\nconversion\thttp://sample_russian.ru\n" >expect &&
	tm_cmp expect actual &&
	grep "sample.warc.wet.txt: offset 0: Content-Length 370 runs past the end of the record" err
'

test_expect_success 'records split across gzip members: both found' '
	tamis warc ls "$W/warcio/example-wrong-chunks.warc.gz" >out &&
	cut -f1,3 out >actual &&
	printf "0\tresponse\n1130\trequest\n" >expect &&
	tm_cmp expect actual
'

test_expect_success 'whole-file gzip: every record, all in member 0' '
	tamis warc ls "$W/warcio/example-bad-non-chunked.warc.gz" >out &&
	cut -f1,3 out >actual &&
	printf "0\twarcinfo\n0\twarcinfo\n0\tresponse\n0\trequest\n0\trevisit\n0\trequest\n" >expect &&
	tm_cmp expect actual
'

test_expect_success 'a record cut short by the end of a gzip member is reported, not hung on' '
	tm_exit_is 1 tamis warc ls "$W/resiliparse/clipped.warc.gz" >out 2>err &&
	grep "clipped.warc.gz: offset 0: gzip member cut short at end of input" err &&
	test ! -s out
'

for f in warcio/example.arc warcio/example.arc.gz warcio/bad.arc \
	 cc-notebooks/CC-MAIN-2019-35-warc.paths.gz; do
	test_expect_success "$f: not a WARC file: exit 1 with the offset" '
		tm_exit_is 1 tamis warc ls "$W/$f" >out 2>err &&
		grep "offset 0: expected '"'"'WARC/<version>'"'"'" err &&
		grep "not a WARC file" err
	'
done

test_expect_success 'stdin, and the same listing whatever the compression' '
	gzip -dc "$W/dolma/sample-0000.warc.gz" >plain.warc &&
	zstd -q plain.warc -o plain.warc.zst &&
	tamis warc ls plain.warc | cut -f3- >a &&
	tamis warc ls <plain.warc.zst | cut -f3- >b &&
	tamis warc ls "$W/dolma/sample-0000.warc.gz" | cut -f3- >c &&
	tm_cmp a b && tm_cmp a c && test $(wc -l <a) = 48
'

test_expect_success 'short reads from a pipe: same listing as from the file' '
	tamis warc ls "$W/resiliparse/warcfile.warc.gz" >a &&
	dd if="$W/resiliparse/warcfile.warc.gz" bs=997 status=none |
		tamis warc ls - >b &&
	gzip -dc "$W/resiliparse/warcfile.warc.gz" | dd bs=13 status=none |
		tamis warc ls >c &&
	tm_cmp a b &&
	cut -f3,4 a >a34 && cut -f3,4 c >c34 && tm_cmp a34 c34
'

test_expect_success 'a 2 GB Content-Length claim costs only that record (bounded memory)' '
	gzip -dc "$W/warcio/example.warc.gz" >ok.warc &&
	sed "0,/^Content-Length: 975/s//Content-Length: 2147483648/" ok.warc >lie.warc &&
	# ASan reserves terabytes of address space: limit memory only without it
	if grep -q __asan_init "$BIN/tamis-warc"; then lim=unlimited; else lim=400000; fi &&
	( ulimit -v $lim && tamis warc ls lie.warc >out 2>err ) &&
	test $(wc -l <out) = 6 &&
	grep "lie.warc: offset 1197: Content-Length 2147483648 exceeds the input" err
'

test_expect_success '--verify: every digest in whirlwind and dolma checks' '
	tamis warc ls --verify "$W/whirlwind/whirlwind.warc.gz" \
		"$W/dolma/sample-0000.warc.gz" "$W/dolma/sample-0001.warc.gz" >out &&
	test "$(cut -f8 out | sort | uniq -c | awk "{print \$2 \":\" \$1}")" = "ok:86"
'

test_expect_success '--json gives one object per record' '
	tamis warc ls --json "$W/whirlwind/whirlwind.warc.wet.gz" >out &&
	test $(wc -l <out) = 2 &&
	grep "^{\"offset\":466,\"length\":2540,\"type\":\"conversion\",\"uri\":\"https://an.wikipedia.org/wiki/Escopete\"" out
'

test_expect_success '--max-errors stops with exit 3' '
	cat "$W/warcio/bad.arc" "$W/warcio/example.warc" "$W/warcio/bad.arc" \
		"$W/warcio/example.warc" >mixed.warc &&
	tm_exit_is 3 tamis warc ls --max-errors 1 mixed.warc >out 2>err &&
	grep "more than 1 damaged records" err
'

test_expect_success '--stats records counts by type' '
	tamis warc ls --stats s.sqlite "$W/whirlwind/whirlwind.warc.gz" >/dev/null &&
	sqlite3 s.sqlite "SELECT name, value FROM counters ORDER BY name" >actual &&
	printf "warc.records.metadata|1\nwarc.records.request|1\nwarc.records.response|1\nwarc.records.warcinfo|1\n" >expect &&
	tm_cmp expect actual
'

test_expect_success 'a failed write to stdout is exit 1, not silence' '
	tm_exit_is 1 tamis warc ls "$W/dolma/sample-0000.warc.gz" >/dev/full 2>err &&
	grep "error writing standard output: No space left on device" err
'

test_expect_success '--progress reports on stderr, stdout unchanged' '
	tamis warc ls "$W/dolma/sample-0000.warc.gz" >a &&
	tamis warc ls --progress "$W/dolma/sample-0000.warc.gz" >b 2>err &&
	tm_cmp a b &&
	grep "^warc ls: done: 48 items, 214.0 KB" err
'

test_expect_success 'pipeline.conf settings apply; the command line wins' '
	printf "[warc]\nmax_record = 1K\n" >p.conf &&
	tamis warc ls --config p.conf "$W/whirlwind/whirlwind.warc.gz" >a &&
	test "$(cut -f7 a | tr "\n" " ")" = "486 0 - 201 " &&
	tamis warc ls --config p.conf --max-record 1M "$W/whirlwind/whirlwind.warc.gz" >b &&
	test "$(cut -f7 b | tr "\n" " ")" = "486 0 72848 201 " &&
	TAMIS_CONFIG=p.conf tamis warc ls -c warc.max_record=64M "$W/whirlwind/whirlwind.warc.gz" >c &&
	tm_cmp b c
'

test_expect_success 'a configuration error names file and line; exit 2' '
	printf "[warc]\nmax_record = 1K\n\n[glob]\nx = 1\n" >bad.conf &&
	tm_exit_is 2 tamis warc ls --config bad.conf "$W/warcio/example.warc" 2>err &&
	grep "bad.conf: line 5: unknown section \[glob\]; did you mean \[global\]?" err &&
	tm_exit_is 2 tamis warc ls -c warc.max_record=lots "$W/warcio/example.warc" 2>err &&
	grep "max_record" err
'

test_expect_success 'the shipped pipeline.conf is accepted' '
	tamis warc ls --config "$SRC/pipeline.conf" --stats "" "$W/warcio/example.warc" >out &&
	test $(wc -l <out) = 6
'

test_expect_success 'a missing file is exit 1 with its name' '
	tm_exit_is 1 tamis warc ls nosuch.warc.gz 2>err &&
	grep "nosuch.warc.gz: cannot open for reading: No such file" err
'

test_done
