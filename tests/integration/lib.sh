# lib.sh: the TAP harness of the shell integration tests (after git's t/).
#
# Each test script sources this file, then calls
#   test_expect_success 'what it checks' 'commands && chained && with &&'
# and ends with test_done.  Every script runs in its own scratch directory
# (removed at exit unless TAMIS_KEEP=1); $SRC is the source tree, $DATA the
# shared test data, $BIN the programs under test (also first in PATH).
# Helpers: tm_must_fail CMD (fails unless CMD exits non-zero without a
# signal), tm_exit_is N CMD, tm_cmp EXPECT ACTUAL (diff -u), tm_atexit CMD,
# tm_need_torch WHAT.

set -u

SRC=${TAMIS_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${TAMIS_BIN:-$SRC/bin}
DATA=${TAMIS_DATA:-$SRC/../shared/data}
PATH=$BIN:$PATH
export SRC BIN DATA PATH

tm_count=0
tm_failed=0
tm_scratch=$(mktemp -d "${TMPDIR:-/tmp}/tamis-test.XXXXXX")
[ "${TAMIS_KEEP:-0}" = 1 ] && echo "# scratch: $tm_scratch"

# tm_atexit CMD: run CMD when the script exits, last registered first (stops
# the servers a test started, even with TAMIS_KEEP=1 or on a signal).
tm_atexit_cmds=:
tm_atexit() {
	tm_atexit_cmds="$1; $tm_atexit_cmds"
}
tm_exit() {
	eval "$tm_atexit_cmds"
	cd / && [ "${TAMIS_KEEP:-0}" = 1 ] || rm -rf "$tm_scratch"
}
trap tm_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
cd "$tm_scratch" || exit 1

test_expect_success() {
	tm_count=$((tm_count + 1))
	if (eval "$2") >"$tm_scratch/.out" 2>&1; then
		echo "ok $tm_count - $1"
	else
		tm_failed=$((tm_failed + 1))
		echo "not ok $tm_count - $1"
		sed -e 's/^/#   /' "$tm_scratch/.out" | head -n 60 >&2
	fi
}

test_skip() {
	tm_count=$((tm_count + 1))
	echo "ok $tm_count # skip $1"
}

# tm_need_torch WHAT: the test's oracle is Debian's python3-torch for
# /usr/bin/python3; without it, one skip naming WHAT, and the test ends.
tm_need_torch() {
	if ! /usr/bin/python3 -c 'import torch' >/dev/null 2>&1; then
		test_skip "$1: /usr/bin/python3 cannot import torch (python3-torch)"
		test_done
		exit
	fi
}

tm_must_fail() {
	"$@"
	tm_rc=$?
	if [ $tm_rc -eq 0 ]; then
		echo "tm_must_fail: '$*' succeeded" >&2
		return 1
	elif [ $tm_rc -gt 128 ]; then
		echo "tm_must_fail: '$*' died of signal $((tm_rc - 128))" >&2
		return 1
	fi
	return 0
}

tm_exit_is() {
	tm_want=$1
	shift
	"$@"
	tm_rc=$?
	if [ $tm_rc -ne "$tm_want" ]; then
		echo "tm_exit_is: '$*' exited $tm_rc, expected $tm_want" >&2
		return 1
	fi
	return 0
}

tm_cmp() {
	diff -u "$1" "$2"
}

test_done() {
	echo "1..$tm_count"
	[ $tm_failed -eq 0 ]
}
