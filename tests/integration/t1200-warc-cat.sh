#!/bin/bash
# tamis warc cat: one record by offset, its parts, and digest verification.
. "$(dirname "$0")/lib.sh"

W=$DATA/warc

test_expect_success 'cat --offset prints the record whole (header + block)' '
	tamis warc cat --offset 466 "$W/whirlwind/whirlwind.warc.wet.gz" >rec &&
	head -n 1 rec | grep "^WARC/1.0" &&
	grep "^WARC-Type: conversion" rec &&
	test $(wc -c <rec) -gt 4456
'

test_expect_success 'cat --block is Content-Length bytes; --payload the HTTP body' '
	tamis warc cat --block --offset 1023 "$W/whirlwind/whirlwind.warc.gz" >block &&
	test $(wc -c <block) = 74581 &&
	tamis warc cat --payload --offset 1023 "$W/whirlwind/whirlwind.warc.gz" >payload &&
	test $(wc -c <payload) = 72848 &&
	head -c 15 payload | grep -i "<!DOCTYPE html"
'

test_expect_success 'cat --verify: block and payload digests ok' '
	tamis warc cat --verify --headers --offset 1023 \
		"$W/whirlwind/whirlwind.warc.gz" >out 2>err &&
	grep "^block digest sha1:35FTUGFVNWRVTZQGCWIX2MQA3LMYC7X7: ok" err &&
	grep "^payload digest sha1:RY7PLBUFQNI2FFV5FTUQK72W6SNPXLQU: ok" err
'

test_expect_success 'cat --verify on a tampered record: exit 1, both digests named' '
	gzip -dc "$W/whirlwind/whirlwind.warc.gz" | sed "s/<title>/<TITLE>/" >t.warc &&
	off=$(tamis warc ls t.warc | awk -F"\t" "\$3 == \"response\" { print \$1 }") &&
	tm_exit_is 1 tamis warc cat --verify --offset "$off" t.warc >/dev/null 2>err &&
	grep "sha1 digest mismatch: record says 35FTUGFVNWRVTZQGCWIX2MQA3LMYC7X7" err
'

test_expect_success 'an offset that is not a record start is an error' '
	tm_exit_is 1 tamis warc cat --offset 17 "$W/warcio/example.warc" 2>err &&
	grep "example.warc: offset 17: expected '"'"'WARC/<version>'"'"', got '"'"'te: 2017" err
'

test_expect_success 'usage errors exit 2' '
	tm_exit_is 2 tamis warc cat "$W/warcio/example.warc" 2>err &&
	grep -- "--offset is required" err &&
	tm_exit_is 2 tamis warc cat --offset 0 --block --payload "$W/warcio/example.warc" 2>err &&
	tm_exit_is 2 tamis warc ls --bogus 2>err && grep "unknown option '"'"'--bogus'"'"'" err
'

test_done
