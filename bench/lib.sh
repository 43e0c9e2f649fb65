# bench/lib.sh: what the benchmark scripts share when they --record.
# Sourced (not run).  Functions print; they never exit.

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
