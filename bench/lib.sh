# bench/lib.sh: what the benchmark scripts share when they --record.
# Sourced (not run).  Functions print; they never exit (timed dies through
# the script's die() when the command fails).

# bench_rev: the tree's short commit, marked when the code differs from it
bench_rev() {
	local rev
	rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
	git diff --quiet HEAD -- lib cmd dedup filters Makefile 2>/dev/null ||
		rev="$rev + uncommitted changes to the code"
	echo "$rev"
}

# bench_machine LOAD_BEFORE LOAD_AFTER: the "- machine: ..." line of a record
bench_machine() {
	local cpu mem
	cpu=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo)
	mem=$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
	echo "- machine: \`nproc\` $(nproc), ${cpu:-unknown CPU}, $mem; $(uname -sr); load average before/after: $1 / $2"
}

# timed LABEL CMD...: runs CMD pinned to CPU 0 under /usr/bin/time; appends
# "LABEL wall user sys maxrss_kb" to $W/times.txt; CMD's stderr goes to
# $W/err.txt (shown, with a die, when CMD fails).  The script sets $W and
# defines die().
timed() {
	local label=$1
	shift
	/usr/bin/time -o "$W/time.txt" -f '%e %U %S %M' taskset -c 0 "$@" 2>"$W/err.txt" ||
		{ cat "$W/err.txt" >&2; die "$label failed: $*"; }
	echo "$label $(cat "$W/time.txt")" >>"$W/times.txt"
}

# field LABEL N: the median over the runs of LABEL of column N of $W/times.txt
field() { awk -v l="$1" -v f="$2" '$1 == l {print $f}' "$W/times.txt" | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
