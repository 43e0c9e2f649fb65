# slurm.sh: a private single-node Slurm cluster on this machine, for tests
# (sourced; bash).  Debian's slurm-wlm and munge (scripts/deps.sh), run as
# root without systemd, every file under one scratch directory.
#
#   slurm_start DIR     start munged (if no munge daemon answers), slurmctld
#                       and slurmd with DIR/slurm.conf; wait until the node
#                       is idle; export SLURM_CONF
#   slurm_stop          stop what slurm_start started (idempotent)
#
# Ports: a free pair from the kernel (SlurmctldPort, SlurmdPort).  Under
# lib.sh the daemons are stopped at exit (tm_atexit).  Needs root: slurmd
# runs jobs as their owner, and munged's key must belong to user munge.

SLURM_DIR=
SLURM_MUNGE_STARTED=

. "$(dirname "${BASH_SOURCE[0]}")/freeport.sh"

slurm_start() {
	local dir=$1 host cpus mem p1 p2 i
	for t in slurmctld slurmd sbatch munged munge; do
		command -v $t >/dev/null || [ -x /usr/sbin/$t ] || {
			echo "slurm_start: $t is not installed; run scripts/deps.sh (slurm-wlm, munge)" >&2
			return 1
		}
	done
	[ "$(id -u)" = 0 ] || { echo "slurm_start: needs root" >&2; return 1; }
	mkdir -p "$dir" && dir=$(cd "$dir" && pwd) || return 1
	SLURM_DIR=$dir
	declare -F tm_atexit >/dev/null && tm_atexit slurm_stop

	# munge: a key of its own unless a daemon already answers
	if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
		mkdir -p /etc/munge /run/munge /var/log/munge /var/lib/munge
		if [ ! -s /etc/munge/munge.key ]; then
			dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 2>/dev/null
		fi
		chown -R munge:munge /etc/munge /run/munge /var/log/munge /var/lib/munge
		chmod 400 /etc/munge/munge.key
		chmod 700 /etc/munge
		/usr/sbin/munged --force 2>/dev/null || { echo "slurm_start: munged failed" >&2; return 1; }
		SLURM_MUNGE_STARTED=1
		for i in $(seq 50); do
			munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break
			sleep 0.1
		done
	fi

	host=$(hostname -s)
	cpus=$(nproc)
	mem=$(awk '/MemTotal/ { print int($2 / 1024 / 2) }' /proc/meminfo)
	p1=$(tm_free_port)
	p2=$(tm_free_port)
	while [ "$p2" = "$p1" ]; do p2=$(tm_free_port); done
	mkdir -p "$dir/state" "$dir/spool" "$dir/log"
	cat >"$dir/slurm.conf" <<-EOF
	ClusterName=tamis-test
	SlurmctldHost=$host
	SlurmUser=root
	SlurmdUser=root
	AuthType=auth/munge
	SlurmctldPort=$p1
	SlurmdPort=$p2
	StateSaveLocation=$dir/state
	SlurmdSpoolDir=$dir/spool
	SlurmctldPidFile=$dir/slurmctld.pid
	SlurmdPidFile=$dir/slurmd.pid
	SlurmctldLogFile=$dir/log/slurmctld.log
	SlurmdLogFile=$dir/log/slurmd.log
	ProctrackType=proctrack/linuxproc
	TaskPlugin=task/none
	SelectType=select/cons_tres
	SelectTypeParameters=CR_Core
	JobAcctGatherType=jobacct_gather/none
	AccountingStorageType=accounting_storage/none
	MpiDefault=none
	ReturnToService=2
	SchedulerType=sched/builtin
	MinJobAge=300
	MaxArraySize=${SLURM_MAX_ARRAY:-1001}
	NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
	PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
	EOF
	export SLURM_CONF=$dir/slurm.conf
	/usr/sbin/slurmctld -f "$SLURM_CONF" || { echo "slurm_start: slurmctld failed" >&2; return 1; }
	/usr/sbin/slurmd -f "$SLURM_CONF" || { echo "slurm_start: slurmd failed" >&2; return 1; }
	for i in $(seq 150); do
		sinfo -h -o %t 2>/dev/null | grep -qx idle && return 0
		sleep 0.2
	done
	echo "slurm_start: the node did not become idle; logs in $dir/log" >&2
	sinfo >&2
	return 1
}

slurm_stop() {
	local f
	[ -n "$SLURM_DIR" ] || return 0
	for f in "$SLURM_DIR/slurmd.pid" "$SLURM_DIR/slurmctld.pid"; do
		[ -s "$f" ] && kill "$(cat "$f")" 2>/dev/null
	done
	sleep 0.5
	for f in "$SLURM_DIR/slurmd.pid" "$SLURM_DIR/slurmctld.pid"; do
		[ -s "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null
	done
	if [ -n "$SLURM_MUNGE_STARTED" ] && [ -s /run/munge/munged.pid ]; then
		kill "$(cat /run/munge/munged.pid)" 2>/dev/null
	fi
	SLURM_DIR=
	SLURM_MUNGE_STARTED=
	return 0
}
