#!/bin/bash
# The front: tamis --help/--version, git-style dispatch, and every tool's
# --help agreeing with the SYNOPSIS of its man page.
. "$(dirname "$0")/lib.sh"

test_expect_success 'tamis --version prints the version' '
	tamis --version >out &&
	grep -E "^tamis [0-9]+\.[0-9]+\.[0-9]+$" out
'

test_expect_success 'tamis --help lists the tools, one line each' '
	tamis --help >out &&
	grep -E "^    warc +list WARC records" out &&
	grep -E "^    extract " out
'

test_expect_success 'tamis without arguments is a usage error' '
	tm_exit_is 2 tamis 2>err &&
	grep "usage: tamis" err
'

test_expect_success 'an unknown tool is a usage error naming it' '
	tm_exit_is 2 tamis frobnicate 2>err &&
	grep "'"'"'frobnicate'"'"' is not a tamis tool" err
'

test_expect_success 'tamis TOOL runs tamis-TOOL with its arguments' '
	tamis warc ls "$DATA/warc/whirlwind/whirlwind.warc.wet.gz" >a &&
	tamis-warc ls "$DATA/warc/whirlwind/whirlwind.warc.wet.gz" >b &&
	tm_cmp a b && test -s a
'

test_expect_success 'tamis help TOOL shows the tool help' '
	tamis help warc >out && grep "usage: tamis warc" out
'

# Each man page's SYNOPSIS lines must appear, verbatim, as "usage:" lines in
# the --help of the same command (docs cannot go stale).
for man in "$SRC"/docs/man/tamis-*.1; do
	tool=$(basename "$man" .1)
	test_expect_success "$tool: --help matches the man page SYNOPSIS" '
		sed -n "/^\.SH SYNOPSIS/,/^\.SH/p" "$man" | grep "^\.B tamis" |
			sed -e "s/^\.B //" -e "s/\\\\-/-/g" >synopsis &&
		test -s synopsis &&
		while read -r line; do
			set -- $line
			sub=
			case "$line" in "tamis ${tool#tamis-} "*) sub=$3 ;; esac
			case "$sub" in ""|"["*|-*) sub= ;; esac
			$tool $sub --help >help &&
			grep -F -x "usage: $line" help || {
				echo "not in --help of $tool $sub: $line"; exit 1; }
		done <synopsis
	'
done

test_done
