#!/bin/bash
# tamis fetch against nginx and against tests/fetch-server.py (faults on
# purpose): every file arrives byte-identical and complete or fails loudly,
# reruns transfer nothing, resume uses Range, listings, shards, --stdout,
# usage errors.  Servers listen on 127.0.0.1 on ports the kernel picks and
# are stopped at exit; every fetch runs under timeout(1).
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/integration/nginx.sh"

export LC_ALL=C
# small delays and timeouts so that the faults cost seconds, not minutes
QUICK="--retry-delay 0.1 --connect-timeout 2 --low-speed-time 2"
T=60   # seconds any one fetch may take before the test counts it as hung

# fetch ARGS...: tamis fetch under timeout $T, its stderr in err and shown
# with the test's output when the test fails
fetch() {
	local rc
	timeout $T tamis fetch "$@" 2>"$tm_scratch/err"
	rc=$?
	cat "$tm_scratch/err" >&2
	return $rc
}

# counter FILE NAME: the stats counter NAME summed over the runs in FILE (0 if absent)
counter() {
	sqlite3 "$1" "SELECT coalesce(sum(value), 0) FROM counters WHERE name = '$2'"
}

# same_files DIR [LISTING]: DIR holds exactly the files of LISTING (default
# all.paths), each byte-identical to src/, and nothing else (no *.part)
same_files() {
	(cd "$1" && find . -type f | sed 's|^\./||' | sort) >"$1.found" &&
	sort "${2:-all.paths}" >"$1.want" &&
	tm_cmp "$1.want" "$1.found" &&
	(cd src && sha256sum $(cat "../${2:-all.paths}")) >"$1.sha.want" &&
	(cd "$1" && sha256sum $(cat "../${2:-all.paths}")) >"$1.sha.got" &&
	tm_cmp "$1.sha.want" "$1.sha.got"
}

# fs_start NAME ARGS...: start fetch-server.py on src/ with ARGS; its port
# goes to NAME.port, its request log to NAME.log
fs_start() {
	local name=$1 pid i
	shift
	/usr/bin/python3 "$SRC/tests/fetch-server.py" --root src --log "$name.log" \
		--max-seconds 300 "$@" >"$name.out" 2>"$name.err" &
	pid=$!
	tm_atexit "kill $pid 2>/dev/null; wait $pid 2>/dev/null"
	for i in $(seq 1 100); do
		grep -q '^PORT ' "$name.out" && break
		kill -0 $pid 2>/dev/null || break
		sleep 0.1
	done
	awk '$1 == "PORT" {print $2}' "$name.out" >"$name.port"
}
# fs_url NAME: the base URL of that server
fs_url() { echo "http://127.0.0.1:$(cat "$1.port")/"; }
# gets LOG PATH: how many GETs LOG has for PATH
gets() { awk -v p="/$2" '$1 == "GET" && $2 == p' "$1" | wc -l; }

# 100 CommonCrawl-like WARC files, 1 KB to 2 MB, each several gzip members
# of half-compressible text; all.paths lists them in order, as does
# warc.paths.gz.  Seeded: the same bytes on every run.
test_expect_success 'setup: 100 multi-member .warc.gz files and their listing' '
	/usr/bin/python3 - src <<-\EOF &&
	import math, os, random, sys, zlib
	rng = random.Random(3000)
	root = sys.argv[1]
	paths = []
	for i in range(100):
	    p = "crawl-data/CC-MAIN-TEST/segments/1700000000000.%02d/warc/CC-MAIN-TEST-%05d.warc.gz" % (i % 7, i)
	    # log-uniform sizes; the first two are the extremes
	    target = 1000 if i == 0 else 2000000 if i == 1 else int(math.exp(rng.uniform(math.log(1000), math.log(2000000))))
	    os.makedirs(os.path.join(root, os.path.dirname(p)), exist_ok=True)
	    with open(os.path.join(root, p), "wb") as f:
	        size = m = 0
	        while size < target:
	            body = b"WARC/1.0\r\nWARC-Record-ID: <urn:%d:%d>\r\n\r\n" % (i, m) + rng.randbytes(min(target - size, 200000)).hex().encode()
	            z = zlib.compressobj(1, zlib.DEFLATED, 31)
	            member = z.compress(body) + z.flush()
	            f.write(member)
	            size += len(member)
	            m += 1
	    paths.append(p)
	open("all.paths", "w").write("".join(p + "\n" for p in paths))
	EOF
	test $(wc -l <all.paths) = 100 &&
	gzip -c all.paths >warc.paths.gz &&
	(cd src && gzip -t $(cat ../all.paths)) &&
	test $(find src -type f | wc -l) = 100
'
# the 2 MB file, one of about 1 MB, and the rest
BIG=$(sed -n 2p all.paths)
MID=$(cd src && for p in $(cat ../all.paths); do s=$(stat -c %s "$p"); [ "$s" -ge 700000 ] && [ "$s" -le 1400000 ] && { echo "$p"; break; }; done)
head -n 10 all.paths >ten.paths

nginx_start src
NG="http://127.0.0.1:$NGINX_PORT/"

test_expect_success 'nginx serves the data' '
	test -n "$NGINX_PORT" &&
	curl -sf -o big "$NG$BIG" && cmp big "src/$BIG"
'

# (a)
test_expect_success 'nginx: all 100 files arrive byte-identical, no .part, exit 0' '
	fetch $QUICK --stats a1.sqlite -d a -i warc.paths.gz --base "$NG" &&
	same_files a &&
	test -z "$(find a -name "*.part")" &&
	test "$(counter a1.sqlite fetch.files.ok)" = 100 &&
	test "$(counter a1.sqlite fetch.files.failed)" = 0 &&
	test "$(counter a1.sqlite fetch.bytes)" = "$(cat $(sed "s|^|src/|" all.paths) | wc -c)"
'

test_expect_success 'nginx: a rerun skips all 100 and transfers 0 bytes' '
	before=$(wc -l <"$NGINX_LOG") &&
	fetch $QUICK --stats a2.sqlite -d a -i warc.paths.gz --base "$NG" &&
	same_files a &&
	test "$(counter a2.sqlite fetch.bytes)" = 0 &&
	test "$(counter a2.sqlite fetch.files.skipped)" = 100 &&
	test "$(counter a2.sqlite fetch.files.ok)" = 0 &&
	tail -n +$((before + 1)) "$NGINX_LOG" >rerun.log &&
	test "$(grep -c "^GET " rerun.log)" = 0
'

# (b)
test_expect_success 'nginx: a half-done .part is completed with a Range request' '
	size=$(stat -c %s "src/$BIG") && half=$((size / 2)) &&
	mkdir -p "b/$(dirname "$BIG")" &&
	head -c $half "src/$BIG" >"b/$BIG.part" &&
	fetch $QUICK --stats b.sqlite -d b --base "$NG" "$BIG" &&
	cmp "src/$BIG" "b/$BIG" &&
	test ! -e "b/$BIG.part" &&
	grep -F "GET /$BIG \"bytes=$half-\" 206 " "$NGINX_LOG" &&
	test "$(counter b.sqlite fetch.bytes)" -lt "$size"
'

test_expect_success 'nginx: a .part with wrong bytes fails the gzip check and is fetched again' '
	size=$(stat -c %s "src/$BIG") &&
	mkdir -p "b2/$(dirname "$BIG")" &&
	head -c $((size / 2)) /dev/zero >"b2/$BIG.part" &&
	fetch $QUICK --stats b2.sqlite -d b2 --base "$NG" "$BIG" &&
	cmp "src/$BIG" "b2/$BIG" &&
	test ! -e "b2/$BIG.part" &&
	test "$(counter b2.sqlite fetch.error.bad_gzip)" -ge 1
'

# (c) the acceptance test: 30% of the requests fail, in every way there is.
# Seed 1 faults 35 of the 100 first GETs and uses all 7 faults among them.
fs_start c --seed 1 --fail-rate 0.3 --faults drop,500,503,429,stall,truncgzip,lie --stall 4

test_expect_success 'faults: all 100 files arrive byte-identical, no .part, exit 0' '
	T=120 fetch $QUICK --stats c1.sqlite -d c -i all.paths --base "$(fs_url c)" &&
	same_files c &&
	test -z "$(find c -name "*.part")" &&
	test "$(counter c1.sqlite fetch.files.ok)" = 100 &&
	test "$(counter c1.sqlite fetch.files.failed)" = 0 &&
	test "$(counter c1.sqlite fetch.retries)" -gt 0
'

test_expect_success 'faults: every kind of fault was injected and is counted under its kind' '
	for f in drop 500 503 429 stall truncgzip lie; do
		awk -v f=$f "\$4 == f" c.log | grep -q . || { echo "fault $f never injected"; exit 1; }
	done &&
	test "$(counter c1.sqlite fetch.error.http_5xx)" -ge 1 &&
	test "$(counter c1.sqlite fetch.error.http_429)" -ge 1 &&
	test "$(counter c1.sqlite fetch.error.short_body)" -ge 1 &&
	test "$(counter c1.sqlite fetch.error.timeout)" -ge 1 &&
	test "$(counter c1.sqlite fetch.error.bad_gzip)" -ge 1 &&
	test "$(counter c1.sqlite fetch.retries)" -ge "$(awk "\$4 != \"-\"" c.log | wc -l)"
'

test_expect_success 'faults: a rerun transfers 0 bytes' '
	fetch $QUICK --stats c2.sqlite -d c -i all.paths --base "$(fs_url c)" &&
	same_files c &&
	test "$(counter c2.sqlite fetch.bytes)" = 0 &&
	test "$(counter c2.sqlite fetch.files.skipped)" = 100
'

# (d) and (e)
BAD=$(sed -n 3p ten.paths)
fs_start d --always-fail "$BAD"
head -n 5 ten.paths >five.paths
grep -vxF "$BAD" five.paths >four.paths

test_expect_success 'a path that always answers 500: exit 1, named on stderr, the others fine' '
	tm_exit_is 1 fetch $QUICK --retries 2 --stats d.sqlite -d d -i five.paths --base "$(fs_url d)" &&
	grep -F "tamis-fetch: $BAD: " err &&
	test ! -e "d/$BAD" &&
	rm -f "d/$BAD.part" && same_files d four.paths &&
	test "$(counter d.sqlite fetch.files.failed)" = 1 &&
	test "$(counter d.sqlite fetch.files.ok)" = 4 &&
	test "$(counter d.sqlite fetch.error.http_5xx)" -ge 1 &&
	test "$(gets d.log "$BAD")" = 3
'

test_expect_success 'a 404 is not retried: one request, exit 1, named on stderr' '
	missing=crawl-data/CC-MAIN-TEST/segments/none/warc/missing.warc.gz &&
	tm_exit_is 1 fetch $QUICK --stats e.sqlite -d e --base "$(fs_url d)" "$missing" "$(head -n 1 ten.paths)" &&
	grep -F "tamis-fetch: $missing: " err &&
	test "$(grep -c "	/$missing	" d.log)" = 1 &&
	test "$(counter e.sqlite fetch.files.failed)" = 1 &&
	test "$(counter e.sqlite fetch.files.ok)" = 1 &&
	test "$(counter e.sqlite fetch.retries)" = 0 &&
	test "$(counter e.sqlite fetch.error.http_4xx)" = 1 &&
	test ! -e "e/$missing"
'

test_expect_success 'nothing listening: connection errors are retried, then exit 1' '
	port=$(nginx_free_port) &&
	tm_exit_is 1 fetch $QUICK --retries 1 --stats x.sqlite -d x --base "http://127.0.0.1:$port/" "$BAD" &&
	grep -F "tamis-fetch: $BAD: " err &&
	test "$(counter x.sqlite fetch.error.connect)" -ge 1
'

# (f)
# seed 4 makes the first four GETs of $BIG stall, 429, lie, drop
fs_start f --seed 4 --fail-first 4 --faults drop,500,429,stall,lie --stall 4
fs_start nr --no-range --fail-first 2 --faults drop

test_expect_success '--stdout: one file, byte-identical, from nginx' '
	mkdir s &&
	(cd s && fetch --stdout --base "$NG" "$BIG" >../out.gz) &&
	cmp "src/$BIG" out.gz &&
	test -z "$(ls -A s)"
'

test_expect_success '--stdout: byte-identical through faults (resumed with Range)' '
	fetch $QUICK --stdout --stats f.sqlite --base "$(fs_url f)" "$BIG" >out.gz &&
	cmp "src/$BIG" out.gz &&
	test "$(counter f.sqlite fetch.retries)" = 4 &&
	test "$(gets f.log "$BIG")" = 5 &&
	grep -q "	206	" f.log
'

test_expect_success '--stdout: byte-identical when the server ignores Range and drops twice' '
	fetch $QUICK --stdout --base "$(fs_url nr)" "$BIG" >out.gz &&
	cmp "src/$BIG" out.gz &&
	test "$(gets nr.log "$BIG")" = 3
'

test_expect_success '--stdout: a full URL as the operand' '
	fetch --stdout "$NG$MID" >out.gz &&
	cmp "src/$MID" out.gz
'

test_expect_success 'no Range support: a .part and two drops, the file still arrives whole' '
	mkdir -p "nr/$(dirname "$MID")" &&
	head -c 1000 "src/$MID" >"nr/$MID.part" &&
	fetch $QUICK -d nr --base "$(fs_url nr)" "$MID" &&
	cmp "src/$MID" "nr/$MID" &&
	test ! -e "nr/$MID.part" &&
	! grep -q "	206	" nr.log
'

# (g)
test_expect_success '--shard 2/3 fetches exactly paths 2, 5, 8, ...' '
	awk "NR % 3 == 2" all.paths >shard.paths &&
	test $(wc -l <shard.paths) = 33 &&
	fetch $QUICK --shard 2/3 -d g -i warc.paths.gz --base "$NG" &&
	same_files g shard.paths
'

test_expect_success '--shard 3/3 and 1/1 over a 10-line listing' '
	fetch $QUICK --shard 3/3 -d g3 -i ten.paths --base "$NG" &&
	sed -n "3p;6p;9p" ten.paths >g3.paths && same_files g3 g3.paths &&
	fetch $QUICK --shard 1/1 -d g1 -i ten.paths --base "$NG" &&
	same_files g1 ten.paths
'

# (h)
test_expect_success 'listings: -i plain, --paths gzip, -i - and plain stdin' '
	gzip -c ten.paths >ten.paths.gz &&
	fetch $QUICK -d h1 -i ten.paths --base "$NG" && same_files h1 ten.paths &&
	fetch $QUICK -d h2 --paths ten.paths.gz --base "$NG" && same_files h2 ten.paths &&
	fetch $QUICK -d h3 -i - --base "$NG" <ten.paths && same_files h3 ten.paths &&
	fetch $QUICK -d h4 --base "$NG" <ten.paths.gz && same_files h4 ten.paths &&
	fetch $QUICK -j 1 -d h5 --base "$NG" $(cat ten.paths) && same_files h5 ten.paths
'

# (i)
fs_start i --fail-first 1 --faults stall --stall 30

test_expect_success 'a stall longer than --low-speed-time is aborted and retried' '
	T=25 fetch --retry-delay 0.1 --low-speed-time 2 --low-speed-limit 1000 \
		--stats i.sqlite -d i --base "$(fs_url i)" "$BIG" &&
	cmp "src/$BIG" "i/$BIG" &&
	test "$(gets i.log "$BIG")" = 2 &&
	awk "\$1 == \"GET\"" i.log | head -n 1 | grep -q "	stall	" &&
	test "$(counter i.sqlite fetch.error.timeout)" -ge 1
'

# (j)
test_expect_success '--limit-rate 200K: about 1 MB still arrives whole' '
	fetch $QUICK --limit-rate 200K -d j --base "$NG" "$MID" &&
	cmp "src/$MID" "j/$MID"
'

# (k)
test_expect_success 'usage errors exit 2' '
	tm_exit_is 2 tamis fetch --shard 0/3 -d k --base "$NG" "$BIG" &&
	tm_exit_is 2 tamis fetch --shard 4/3 -d k --base "$NG" "$BIG" &&
	tm_exit_is 2 tamis fetch --shard 1/0 -d k --base "$NG" "$BIG" &&
	tm_exit_is 2 tamis fetch --shard x -d k --base "$NG" "$BIG" &&
	tm_exit_is 2 tamis fetch --stdout --base "$NG" "$BIG" "$MID" >/dev/null &&
	tm_exit_is 2 tamis fetch --no-such-option "$BIG" &&
	test ! -e k
'

test_done
