#!/usr/bin/env bash
# Runs README.md's Slurm job array (scripts/slurm-job.sh) on a real one-node Slurm cluster on this machine and
# checks that `raftsim merge` of its parts is byte-identical to one unsharded run of the same sweep. Then cancels
# one shard with SIGTERM and reports what it leaves behind and what merge makes of it.
#
# Needs root and Debian's packages (installs slurm-wlm and munge when missing). Leaves /etc alone: the cluster's
# configuration and state live in a temporary folder, and the daemons it starts are stopped on exit.
#   bash scripts/slurm-check.sh            # SHARDS=4 TRIALS=40 by default
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
shards=${SHARDS:-4}
trials=${TRIALS:-40}
start=$SECONDS
say() { printf '[slurm-check %3ds] %s\n' $((SECONDS - start)) "$*"; }

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    say "installing slurm-wlm and munge"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq slurm-wlm munge >/dev/null
    say "installed"
fi

cargo build --release --locked --quiet
export PATH="$repo/target/release:$PATH"

work=$(mktemp -d /tmp/raftsim-slurm.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
    local status=$?
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    done
    if [ "$status" -ne 0 ]; then
        for log in "$work"/*.log; do [ -f "$log" ] && { echo "== $log"; tail -n 20 "$log"; }; done
    fi
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT

# munge: its own key and socket in $work, so a munged already running is not disturbed.
mkdir -p "$work/munge"
chown munge: "$work/munge" && chmod 711 "$work/munge"
dd if=/dev/urandom of="$work/munge/munge.key" bs=1024 count=1 status=none
chown munge: "$work/munge/munge.key" && chmod 400 "$work/munge/munge.key"
socket="$work/munge/munge.socket"
runuser -u munge -- munged --key-file="$work/munge/munge.key" --socket="$socket" \
    --pid-file="$work/munge/munged.pid" --log-file="$work/munge/munged.log" --seed-file="$work/munge/seed"
for _ in $(seq 50); do [ -S "$socket" ] && break; sleep 0.1; done
pids+=("$(cat "$work/munge/munged.pid")")
say "munged up"

host=$(hostname)
node=$(slurmd -C | head -n 1)   # NodeName=<host> CPUs=.. Boards=.. ... RealMemory=..: this machine as slurmd sees it
cat >"$work/slurm.conf" <<CONF
ClusterName=raftsim-check
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
AuthInfo=socket=$socket
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
KillWait=30
StateSaveLocation=$work/ctld
SlurmdSpoolDir=$work/slurmd
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
SlurmctldPort=16817
SlurmdPort=16818
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=check Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
mkdir -p "$work/ctld" "$work/slurmd"
export SLURM_CONF="$work/slurm.conf"
say "node: $node"

slurmctld -i
for _ in $(seq 100); do [ -s "$work/slurmctld.pid" ] && break; sleep 0.1; done
pids+=("$(cat "$work/slurmctld.pid")")
slurmd
for _ in $(seq 100); do [ -s "$work/slurmd.pid" ] && break; sleep 0.1; done
pids+=("$(cat "$work/slurmd.pid")")
for i in $(seq 120); do
    state=$(sinfo -h -N -o '%t' 2>/dev/null | head -n 1 || true)
    [ "$state" = idle ] && break
    [ "$i" = 120 ] && { say "node not idle after 60 s: '$state'"; exit 1; }
    sleep 0.5
done
say "slurmctld and slurmd up; sinfo:"
sinfo

wait_job() { # until job $1 has left the queue
    while squeue -h -j "$1" 2>/dev/null | grep -q .; do sleep 1; done
}

# The README's job file, unchanged; the array size, CPUs, trial count and parts folder given on the command line.
parts="$work/parts"
job=$(sbatch --parsable --array=0-$((shards - 1)) --cpus-per-task=1 --output="$work/shard-%a.out" \
    --export=ALL,TRIALS="$trials",PARTS="$parts" scripts/slurm-job.sh)
say "submitted job array $job ($shards shards, $trials trials per point)"
wait_job "$job"
sacct_state=$(scontrol show job "$job" 2>/dev/null | grep -o 'JobState=[A-Z]*' | sort | uniq -c | tr '\n' ' ' || true)
say "job array $job finished: ${sacct_state:-(no longer listed)}"
ls -l "$parts"
count=$(find "$parts" -maxdepth 1 -name 'part-*-of-*.json' | wc -l)
[ "$count" = "$shards" ] || { say "expected $shards part files, found $count"; cat "$work"/shard-*.out; exit 1; }

raftsim merge "$parts" --out "$work/merged"
raftsim sweep scenarios/sweeps/paper-randomness.yaml --trials "$trials" --out "$work/single" --no-progress
for f in sweep.json sweep.csv trials.csv; do
    cmp "$work/merged/$f" "$work/single/$f"
done
# run.json records how the report came about (wall time, threads, or the merged parts), so it differs by design.
diff -r -x run.json "$work/merged" "$work/single" >/dev/null ||
    { say "merged and single reports differ:"; diff -rq -x run.json "$work/merged" "$work/single"; exit 1; }
say "merged report byte-identical to the unsharded run: sweep.json, sweep.csv, trials.csv, charts, report.html"

# SIGTERM: cancel one shard of a longer array while it runs, and see what it leaves.
parts2="$work/parts-term"
job2=$(sbatch --parsable --array=0-1 --cpus-per-task=1 --output="$work/term-%a.out" \
    --export=ALL,TRIALS=$((trials * 500)),PARTS="$parts2" scripts/slurm-job.sh)
for _ in $(seq 120); do
    [ "$(squeue -h -j "${job2}_0" -o '%t' 2>/dev/null)" = R ] && break
    sleep 0.5
done
sleep 3
# Plain scancel, as a user or a preemption does it: SIGTERM to every process of the job, SIGKILL after KillWait.
say "cancelling shard 0 of job $job2 while it runs (scancel: SIGTERM, then SIGKILL after KillWait=30 s)"
scancel "${job2}_0"
wait_job "${job2}_0"
say "shard 0 gone; cancelling shard 1"
scancel "$job2" || true
wait_job "$job2"
say "shard 0's output:"
cat "$work/term-0.out" || true
say "left in the parts folder:"
ls -la "$parts2" 2>/dev/null || echo "(no parts folder)"
for f in "$parts2"/part-*.json; do
    [ -f "$f" ] && say "$(basename "$f"): partial=$(grep -o '"partial": *[a-z]*' "$f" | head -n 1)"
done
if raftsim merge "$parts2" --out "$work/merged-term" 2>"$work/merge-term.err"; then
    say "merge ACCEPTED the cancelled array's parts"
    exit 1  # a cancelled shard must not pass as complete
else
    say "merge refused the cancelled array's parts: $(tr '\n' ' ' <"$work/merge-term.err")"
fi
say "done in $((SECONDS - start)) s"
