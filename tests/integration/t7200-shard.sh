#!/bin/bash
# tamis shard, info and verify: token streams written here by Python from
# docs/FORMATS.md (independent of tamis's writer), the shards read back by
# Python, llm.c's loader rules (re-implemented here) on both token widths,
# determinism, the held-out split, damaged shards and streams.
. "$(dirname "$0")/lib.sh"

# mkstream OUT VOCAB BOS NDOCS [CUT]: a token stream of NDOCS documents,
# every third of source "code", the rest "web"; document k is ids
# 10+k, then 2 + (k*31 + j*17) % (VOCAB-2); CUT bytes cut off the end.
mkstream() {
	python3 - "$@" <<-\EOF
	import struct, sys
	out, vocab, bos, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
	cut = int(sys.argv[5]) if len(sys.argv) > 5 else 0
	w = 2 if vocab <= 65536 else 4
	b = bytearray(b"TMTOKS01" + struct.pack("<6I", 1, vocab, bos, 0xFFFFFFFF, w, 0))
	for k in range(n):
	    ids = [10 + k] + [2 + (k * 31 + j * 17) % (vocab - 2) for j in range(1, 3 + k * 7 % 23)]
	    b += struct.pack("<I", len(ids))
	    for s in ("code" if k % 3 == 2 else "web", "doc-%d" % k):
	        s = s.encode()
	        b += struct.pack("<H", len(s)) + s
	    b += struct.pack("<%d%s" % (len(ids), "H" if w == 2 else "I"), *ids)
	b += struct.pack("<IQ", 0xFFFFFFFF, n)
	open(out, "wb").write(b[:len(b) - cut])
	EOF
}

# llmc FILE...: llm.c's dataloader_load_shard_ rules, written from llm.c
# (not from tamis): header of 256 int32; magic 20240520 and version 1
# (uint16 tokens) or 20240801 and version 7 (uint32); ntok = header[2] > 0;
# file size == 256 * 4 + ntok * token size.  Prints "FILE NTOK".
llmc() {
	python3 - "$@" <<-\EOF
	import os, struct, sys
	for f in sys.argv[1:]:
	    h = struct.unpack("<256i", open(f, "rb").read(1024))
	    if h[0] == 20240520:
	        assert h[1] == 1, "bad version"
	        size = 2
	    elif h[0] == 20240801:
	        assert h[1] == 7, "bad version"
	        size = 4
	    else:
	        sys.exit("%s: bad magic" % f)
	    ntok = h[2]
	    assert ntok > 0
	    assert os.path.getsize(f) == 256 * 4 + ntok * size, "file size is not as expected"
	    print(f, ntok)
	EOF
}

# docs DIR SRC SPLIT: the documents of the shards, one per line (ids space
# separated, BOS included), read with Python from the files.
docs() {
	python3 - "$@" <<-\EOF
	import glob, struct, sys
	d, src, split = sys.argv[1:]
	toks = []
	for f in sorted(glob.glob("%s/%s/%s_%s_*.bin" % (d, src, src, split))):
	    b = open(f, "rb").read()
	    h = struct.unpack("<256i", b[:1024])
	    w = 2 if h[0] == 20240520 else 4
	    toks += struct.unpack("<%d%s" % ((len(b) - 1024) // w, "H" if w == 2 else "I"), b[1024:])
	bos = struct.unpack("<256i", open(f, "rb").read(1024))[10]
	doc = []
	for t in toks:
	    if t == bos and doc:
	        print(*doc)
	        doc = []
	    doc.append(t)
	if doc:
	    print(*doc)
	EOF
}

test_expect_success 'streams: uint16 (GPT-2 vocabulary) and uint32 (Llama 3)' '
	mkstream s16.tok 50257 50256 600 &&
	mkstream s32.tok 128256 128000 600 &&
	gzip -k s16.tok
'

test_expect_success 'shard: one directory per source, train and val shards' '
	tamis shard --tokens-per-shard 2000 --val-fraction 0.05 s16.tok -o out 2>err &&
	(cd out && find . -type f | sort) >got &&
	cat >want <<-\EOF &&
	./code/code_train_000000.bin
	./code/code_train_000001.bin
	./code/code_val_000000.bin
	./web/web_train_000000.bin
	./web/web_train_000001.bin
	./web/web_train_000002.bin
	./web/web_val_000000.bin
	EOF
	tm_cmp want got &&
	grep "web: 3.. documents" err
'

test_expect_success 'shard: llm.c loader rules accept every shard (uint16)' '
	llmc out/*/*.bin >sizes &&
	test $(wc -l <sizes) = 7 &&
	test $(grep -c " 2000$" sizes) = 3
'

test_expect_success 'shard: uint32 tokens above 65536 ids, accepted by llm.c rules too' '
	tamis shard --tokens-per-shard 5000 s32.tok -o out32 &&
	llmc out32/*/*.bin >sizes &&
	tamis shard info out32/web/web_train_000000.bin >info &&
	grep -x "  magic        20240801" info &&
	grep -x "  version      7" info &&
	grep -x "  token_bytes  4" info &&
	grep -x "  vocab_size   128256" info &&
	grep -x "  bos_id       128000" info
'

test_expect_success 'shard: documents come back whole, BOS first, none lost, none twice' '
	tamis shard --tokens-per-shard 999 --val-fraction 0.1 s16.tok.gz -o outz &&
	docs outz web train >train && docs outz web val >val &&
	python3 - <<-\EOF
	import collections
	want = collections.Counter()
	for k in range(600):
	    if k % 3 == 2:
	        continue
	    ids = [50256, 10 + k] + [2 + (k * 31 + j * 17) % 50255 for j in range(1, 3 + k * 7 % 23)]
	    want[" ".join(map(str, ids))] += 1
	got = collections.Counter(l.strip() for l in open("train"))
	got.update(l.strip() for l in open("val"))
	assert got == want, (len(got), len(want))
	nval = sum(1 for _ in open("val"))
	assert 20 < nval < 70, nval
	EOF
'

test_expect_success 'shard: a stream on standard input, the same shards' '
	tamis shard --tokens-per-shard 2000 --val-fraction 0.05 - -o piped <s16.tok 2>/dev/null &&
	for f in $(cd out && find . -type f); do cmp out/$f piped/$f || exit 1; done
'

test_expect_success 'info: the header fields' '
	tamis shard info out/web/web_train_000001.bin >info &&
	cat >want <<-\EOF &&
	out/web/web_train_000001.bin
	  format       tamis
	  magic        20240520
	  version      1
	  tokens       2000
	  token_bytes  2
	  file_size    5024
	EOF
	head -n 7 info >got && tm_cmp want got &&
	grep -x "  vocab_size   50257" info &&
	grep -x "  split        train" info &&
	grep -x "  index        1" info &&
	grep -x "  seed         1" info &&
	grep -E "^  documents    [0-9]+$" info &&
	grep -E "^  xxh64        [0-9a-f]{16}$" info
'

test_expect_success 'verify: every shard written is fine' '
	tamis shard verify out/*/*.bin out32/*/*.bin >ok &&
	test $(grep -c ": ok: " ok) = $(ls out/*/*.bin out32/*/*.bin | wc -l)
'

test_expect_success 'verify: a flipped payload byte is caught, naming the file' '
	cp out/web/web_train_000001.bin bad.bin &&
	printf "\\377" | dd of=bad.bin bs=1 seek=3000 conv=notrunc 2>/dev/null &&
	tm_exit_is 1 tamis shard verify out/web/web_train_000000.bin bad.bin >ok 2>err &&
	grep "^tamis-shard verify: bad.bin: offset" err &&
	grep "XXH64" err &&
	grep -c ": ok: " ok
'

test_expect_success 'verify: a truncated shard, a wrong magic, an id beyond the vocabulary' '
	head -c 3000 out/web/web_train_000001.bin >cut.bin &&
	tm_exit_is 1 tamis shard verify cut.bin 2>err && grep "cut.bin: offset 8: " err &&
	cp out/web/web_train_000001.bin magic.bin &&
	printf "X" | dd of=magic.bin bs=1 seek=0 conv=notrunc 2>/dev/null &&
	tm_exit_is 1 tamis shard verify magic.bin 2>err && grep "expected the magic" err &&
	cp out/web/web_train_000001.bin id.bin &&
	printf "\\377\\377" | dd of=id.bin bs=1 seek=1100 conv=notrunc 2>/dev/null &&
	tm_exit_is 1 tamis shard verify id.bin 2>err &&
	grep "offset 1100: .*65535, not below the vocabulary size 50257" err
'

test_expect_success 'info reads a plain llm.c shard (fineweb.py layout); verify refuses it' '
	python3 -c "import struct
open(\"llmc.bin\", \"wb\").write(struct.pack(\"<256i\", 20240520, 1, 3, *[0] * 253) + struct.pack(\"<3H\", 50256, 7, 8))" &&
	llmc llmc.bin &&
	tamis shard info llmc.bin >info &&
	grep -x "  format       llm.c" info && grep -x "  tokens       3" info &&
	tm_exit_is 1 tamis shard verify llmc.bin 2>err &&
	grep "llmc.bin: offset 12: an llm.c shard without tamis" err
'

test_expect_success 'determinism: same input and seed, byte-identical shards' '
	tamis shard --tokens-per-shard 2000 --val-fraction 0.05 s16.tok -o again 2>/dev/null &&
	for f in $(cd out && find . -type f); do cmp out/$f again/$f || exit 1; done &&
	tamis shard --tokens-per-shard 2000 --val-fraction 0.05 --seed 2 s16.tok -o seed2 2>/dev/null &&
	! cmp -s out/web/web_train_000000.bin seed2/web/web_train_000000.bin
'

test_expect_success 'val split: the same documents whatever the shuffle window' '
	tamis shard --shuffle-window 0 --val-fraction 0.1 s16.tok -o w0 2>/dev/null &&
	tamis shard --shuffle-window 7 --val-fraction 0.1 s16.tok -o w7 2>/dev/null &&
	docs w0 web val >a && docs w7 web val >b && tm_cmp a b && test -s a &&
	docs w0 web train >a && docs w7 web train >b && ! tm_cmp a b >/dev/null &&
	sort a >as && sort b >bs && tm_cmp as bs
'

test_expect_success 'config: [shard] keys, and the command line wins' '
	printf "[shard]\\ntokens_per_shard = 3000\\nval_fraction = 0\\n" >p.conf &&
	tamis shard --config p.conf s16.tok -o conf 2>/dev/null &&
	test ! -e conf/web/web_val_000000.bin &&
	tamis shard info conf/web/web_train_000000.bin | grep -x "  tokens       3000" &&
	tamis shard --config p.conf -c shard.tokens_per_shard=4000 s16.tok -o conf2 2>/dev/null &&
	tamis shard info conf2/web/web_train_000000.bin | grep -x "  tokens       4000" &&
	tamis shard --config p.conf --tokens-per-shard 500 s16.tok -o conf3 2>/dev/null &&
	tamis shard info conf3/web/web_train_000000.bin | grep -x "  tokens       500"
'

test_expect_success 'stats: tokens per source, shards, documents per shard' '
	tamis shard --tokens-per-shard 2000 --val-fraction 0.05 --stats st.sqlite s16.tok -o st 2>/dev/null &&
	test "$(sqlite3 st.sqlite "select value from counters where name = '\''shard.shards'\''")" = 7 &&
	web=$(sqlite3 st.sqlite "select value from counters where name = '\''shard.tokens.web'\''") &&
	test "$web" = $(( $(llmc st/web/web_train_*.bin | awk "{s += \$2} END {print s}") )) &&
	test "$(sqlite3 st.sqlite "select docs_in, tokens_out > 0 from stage_totals")" = "600|1" &&
	test "$(sqlite3 st.sqlite "select count from histograms where name = '\''shard.docs_per_shard'\''")" = 7
'

test_expect_success 'a truncated stream: exit 1 naming it, no shard under a final name' '
	mkstream cut.tok 50257 50256 50 12 &&
	tm_exit_is 1 tamis shard --tokens-per-shard 100000 cut.tok -o cutout 2>err &&
	grep "cut.tok: offset [0-9]*: .*end marker" err &&
	test -z "$(find cutout -type f)"
'

test_expect_success 'no temporary files are left behind' '
	test -z "$(find out out32 again -name "*.tmp-*")"
'

test_expect_success 'a stream without BOS is refused; bad options are usage errors' '
	mkstream nobos.tok 50257 4294967295 5 &&
	tm_exit_is 1 tamis shard nobos.tok -o nb 2>err && grep "BOS" err &&
	tm_exit_is 2 tamis shard s16.tok 2>err && grep "usage: tamis shard" err &&
	tm_exit_is 2 tamis shard --tokens-per-shard 0 s16.tok -o x 2>err &&
	tm_exit_is 2 tamis shard --val-fraction 2 s16.tok -o x 2>err &&
	tm_exit_is 2 tamis shard info 2>err
'

test_expect_success 'tamis tokenize | tamis shard: real documents, both widths, verified' '
	tamis extract "$DATA"/warc/dolma/sample-0000.warc.gz >docs.jsonl 2>/dev/null &&
	test -s docs.jsonl &&
	tamis tokenize --vocab cl100k docs.jsonl | tamis shard --seed 3 - -o real32 &&
	tamis shard verify real32/*/*.bin &&
	tamis shard info real32/web/web_train_000000.bin | grep -q "token_bytes  4" &&
	n=$(tamis tokenize --vocab cl100k --format ids docs.jsonl | wc -w) &&
	t=$(tamis shard info real32/*/*.bin | awk "/^  tokens/ {s += \$2} END {print s}") &&
	test "$n" -eq "$t" &&
	python3 -c "
import struct
f = open(\"pieces.bin\", \"wb\")
f.write(b\"TMTOKS01\" + struct.pack(\"<6I\", 1, 300, 0, 0xFFFFFFFF, 2, 0))
f.write(struct.pack(\"<IH\", 3, 3) + b\"web\" + struct.pack(\"<H\", 1) + b\"a\" + struct.pack(\"<3H\", 0, 5, 299))
f.write(struct.pack(\"<IQ\", 0xFFFFFFFF, 1))
" &&
	tamis shard pieces.bin -o real16 &&
	tamis shard info real16/web/web_train_000000.bin | grep -q "token_bytes  2"
'

test_done
