#!/bin/bash
# tamis tokenize: the ids of npm tiktoken 1.0.22 (stored in t7100-tokenize/,
# made by its make-fixture.sh) on 350 KB of real multilingual web and
# Debian text, UDHR texts, code and odd cases, and 500 random strings over
# every character class the pre-tokenizers tell apart, for llama3, cl100k
# and o200k; the token stream format; -j determinism; special-token text;
# ill-formed input; stats; bad vocabularies.
. "$(dirname "$0")/lib.sh"

FIX=$SRC/tests/integration/t7100-tokenize
VOC=$DATA/tokenizer

# stream_dump FILE: the token stream as text: a header line, then per
# document "source id n: ids", then "end N"; fails on a malformed stream.
stream_dump() {
	python3 - "$1" <<'EOF'
import struct, sys
d = open(sys.argv[1], "rb").read()
magic, ver, vocab, bos, eos, width, res = struct.unpack_from("<8s6I", d, 0)
assert magic == b"TMTOKS01" and ver == 1 and width in (2, 4) and res == 0, "header"
print("vocab %d bos %d eos %d width %d" % (vocab, bos, eos, width))
p, ndocs = 32, 0
while True:
    (n,) = struct.unpack_from("<I", d, p); p += 4
    if n == 0xFFFFFFFF:
        (count,) = struct.unpack_from("<Q", d, p); p += 8
        assert count == ndocs and p == len(d), "end marker"
        print("end %d" % count)
        break
    (sl,) = struct.unpack_from("<H", d, p); src = d[p + 2:p + 2 + sl].decode(); p += 2 + sl
    (il,) = struct.unpack_from("<H", d, p); did = d[p + 2:p + 2 + il].decode(); p += 2 + il
    ids = struct.unpack_from("<%d%s" % (n, "H" if width == 2 else "I"), d, p); p += n * width
    assert all(i < vocab for i in ids), "id out of range"
    print("%s %s %d: %s" % (src, did, n, " ".join(map(str, ids))))
    ndocs += 1
EOF
}

test_expect_success 'the fixture: 655 documents' '
	zstd -dc "$FIX/docs.jsonl.zst" >docs.jsonl &&
	test $(wc -l <docs.jsonl) = 655
'

for v in llama3 cl100k o200k; do
	test_expect_success "$v: every document's ids are tiktoken's (encode_ordinary)" '
		zstd -dc "$FIX/ids-'$v'.txt.zst" >want-'$v' &&
		tamis tokenize --vocab '$v' --no-bos --format ids -j1 docs.jsonl >got-'$v' &&
		tm_cmp want-'$v' got-'$v'
	'
done

test_expect_success 'llama3 is the default; BOS <|begin_of_text|> starts each document' '
	tamis tokenize --format ids docs.jsonl >bos &&
	sed "s/^/128000 /; s/ \$//" want-llama3 >want-bos &&
	tm_cmp want-bos bos
'

test_expect_success '--eos ends each document with <|end_of_text|> (cl100k: <|endoftext|>)' '
	tamis tokenize --eos --format ids docs.jsonl | head -3 >eos &&
	head -3 want-llama3 | sed "s/^/128000 /; s/\$/ 128001/; s/  / /" >want-eos &&
	tm_cmp want-eos eos &&
	tamis tokenize --vocab cl100k --eos --format ids docs.jsonl | sed -n 2p >eos2 &&
	sed -n 2p want-cl100k | sed "s/^/100257 /; s/\$/ 100257/" >want-eos2 &&
	tm_cmp want-eos2 eos2
'

test_expect_success 'the token stream: header, records with source and id, end marker' '
	tamis tokenize -o docs.tok docs.jsonl &&
	stream_dump docs.tok >dump &&
	head -1 dump >head &&
	echo "vocab 128256 bos 128000 eos 4294967295 width 4" >want-head &&
	tm_cmp want-head head &&
	tail -1 dump >end && echo "end 655" >want-end && tm_cmp want-end end &&
	sed -n 2p dump | grep "^web web-0 [0-9]*: 128000 " &&
	sed -n "2,656p" dump | sed "s/^[^:]*: //" >ids &&
	tm_cmp want-bos ids
'

test_expect_success 'o200k: 4-byte ids; a small vocabulary: 2-byte ids' '
	tamis tokenize --vocab o200k docs.jsonl >o.tok &&
	stream_dump o.tok >o.dump && head -1 o.dump | grep "^vocab 200019 bos 199999 .* width 4" &&
	python3 -c "
import base64
for i in range(256): print(base64.b64encode(bytes([i])).decode(), i)
print(base64.b64encode(b\"ab\").decode(), 256)" >small.tiktoken &&
	echo "{\"id\":\"s\",\"text\":\"abc ab\"}" | tamis tokenize --vocab small.tiktoken >s.tok &&
	stream_dump s.tok >s.dump &&
	printf "vocab 258 bos 257 eos 4294967295 width 2\n s 5: 257 256 99 32 256\nend 1\n" |
		cat >want-s &&
	tm_cmp want-s s.dump
'

test_expect_success 'output is byte-identical for -j1 and -j2, and compressed' '
	cat docs.jsonl docs.jsonl docs.jsonl docs.jsonl >big.jsonl &&
	tamis tokenize -j1 big.jsonl >j1.tok &&
	tamis tokenize -j2 big.jsonl >j2.tok &&
	cmp j1.tok j2.tok &&
	tamis tokenize -j2 -o j2.tok.zst big.jsonl &&
	zstd -dc j2.tok.zst | cmp - j1.tok
'

test_expect_success 'text spelling special tokens is ordinary text' '
	echo "{\"text\":\"<|endoftext|><|begin_of_text|>\"}" >sp.jsonl &&
	tamis tokenize --no-bos --format ids sp.jsonl >sp &&
	echo "27 91 8862 728 428 91 1822 91 7413 3659 4424 91 29" >want-sp &&
	tm_cmp want-sp sp &&
	tamis tokenize --vocab cl100k --no-bos --format ids sp.jsonl >sp2 &&
	! grep -w 100257 sp2
'

test_expect_success 'ill-formed documents (bad UTF-8, lone surrogate) are reported and skipped' '
	printf "{\"id\":\"a\",\"text\":\"x\\377y\"}\n{\"id\":\"b\",\"text\":\"\\\\ud800\"}\n{\"id\":\"c\",\"text\":\"ok\"}\n" >bad.jsonl &&
	tamis tokenize --format ids bad.jsonl >out 2>err &&
	echo "128000 564" >want && tm_cmp want out &&
	grep "tamis-tokenize: bad.jsonl: line 1: .*invalid UTF-8" err &&
	grep "tamis-tokenize: bad.jsonl: line 2: " err &&
	tm_exit_is 3 tamis tokenize --max-errors 1 bad.jsonl >/dev/null 2>&1
'

test_expect_success 'stats: tokens per document, per source, tokens_out' '
	tamis tokenize --stats st.sqlite docs.jsonl >/dev/null &&
	total=$(sed "s/^/x /" want-bos | awk "{n += NF - 1} END {print n}") &&
	test "$(sqlite3 st.sqlite "select tokens_out from stage_totals")" = "$total" &&
	test "$(sqlite3 st.sqlite "select docs_in || \" \" || docs_out from stage_totals")" = "655 655" &&
	test "$(sqlite3 st.sqlite "select count from histograms where name = '\''tokenize.tokens_per_doc'\''")" = 655 &&
	web=$(sqlite3 st.sqlite "select value from counters where name = '\''tokenize.tokens.web'\''") &&
	udhr=$(sqlite3 st.sqlite "select value from counters where name = '\''tokenize.tokens.udhr'\''") &&
	code=$(sqlite3 st.sqlite "select value from counters where name = '\''tokenize.tokens.code'\''") &&
	odd=$(sqlite3 st.sqlite "select value from counters where name = '\''tokenize.tokens.odd'\''") &&
	rand=$(sqlite3 st.sqlite "select value from counters where name = '\''tokenize.tokens.rand'\''") &&
	test $((web + udhr + code + odd + rand)) = "$total"
'

test_expect_success 'bad vocabularies: a clear error, exit 1, no output' '
	printf "YQ== 0\nnot base64!! 1\n" >bad1.tiktoken &&
	tm_exit_is 1 tamis tokenize --vocab bad1.tiktoken -o o1 docs.jsonl 2>err1 &&
	grep "tamis-tokenize: bad1.tiktoken: line 2: expected .BASE64 RANK." err1 &&
	! test -e o1 &&
	printf "YQ== 0\nYg== 2\n" >bad2.tiktoken &&
	tm_exit_is 1 tamis tokenize --vocab bad2.tiktoken docs.jsonl 2>err2 >/dev/null &&
	grep "rank 1 is missing" err2 &&
	tm_exit_is 1 tamis tokenize --vocab nonexistent.tiktoken docs.jsonl 2>err3 >/dev/null &&
	grep "nonexistent.tiktoken: cannot open the vocabulary" err3 &&
	tm_exit_is 1 tamis tokenize --vocab llama3 --vocab-dir /nonexistent docs.jsonl 2>err4 >/dev/null &&
	grep "llama3.tiktoken" err4
'

test_expect_success 'usage errors exit 2; [tokenize] in a config applies' '
	tm_exit_is 2 tamis tokenize --format json docs.jsonl 2>/dev/null &&
	printf "[tokenize]\nvocab = cl100k\nbos = false\n" >p.conf &&
	tamis tokenize --config p.conf --format ids docs.jsonl >c &&
	tm_cmp want-cl100k c
'

test_expect_success 'train: a vocabulary of the asked size, deterministic, that round-trips' '
	tamis tokenize train --vocab-size 1000 -o v.tiktoken docs.jsonl 2>train.err &&
	test $(wc -l <v.tiktoken) = 1000 &&
	grep "1000 tokens written to v.tiktoken" train.err &&
	tamis tokenize train --vocab-size 1000 -o v2.tiktoken docs.jsonl 2>/dev/null &&
	cmp v.tiktoken v2.tiktoken &&
	tamis tokenize --vocab v.tiktoken --no-bos --format ids docs.jsonl >v.ids &&
	python3 - v.tiktoken v.ids docs.jsonl <<-EOF
	import base64, json, sys
	tok = {}
	for l in open(sys.argv[1]):
	    b, r = l.split()
	    tok[int(r)] = base64.b64decode(b)
	ids = open(sys.argv[2]).read().split("\n")
	nid = nb = 0
	for i, l in enumerate(open(sys.argv[3], encoding="utf-8")):
	    text = json.loads(l)["text"].encode()
	    got = b"".join(tok[int(x)] for x in ids[i].split())
	    assert got == text, "document %d does not round-trip" % i
	    nid += len(ids[i].split())
	    nb += len(text)
	assert nid < nb * 2 / 3, "no compression: %d ids for %d bytes" % (nid, nb)
	EOF
'

test_expect_success 'train: --plain, --pattern o200k; usage errors' '
	printf "hello hello world\nhello world\n" >plain.txt &&
	tamis tokenize train --plain --vocab-size 260 -o p.tiktoken plain.txt 2>/dev/null &&
	test $(wc -l <p.tiktoken) = 260 &&
	tamis tokenize train --pattern o200k --vocab-size 300 -o o.tiktoken docs.jsonl 2>/dev/null &&
	test $(wc -l <o.tiktoken) = 300 &&
	tm_exit_is 2 tamis tokenize train docs.jsonl 2>/dev/null &&
	tm_exit_is 2 tamis tokenize train --vocab-size 10 -o x docs.jsonl 2>/dev/null &&
	tm_exit_is 2 tamis tokenize train --pattern gpt2 -o x docs.jsonl 2>/dev/null
'

test_done
