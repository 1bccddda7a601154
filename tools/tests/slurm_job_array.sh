#!/bin/bash
# Runs README.md's Slurm job array for real: starts a one-node Slurm cluster on this machine
# (munged + slurmctld + slurmd, loopback only, a munge key made for the run, everything under a
# temporary directory), submits the README's index script with --array=0-3, then the README's
# merge line with --dependency=afterok, and waits. Daemons are stopped on every exit path.
#
#   tools/tests/slurm_job_array.sh BIN_DIR SAE ACTS WORK
#
# BIN_DIR holds the saescope binary; the shards and WORK/index/merged.safetensors are written under
# WORK. Installs Debian's slurm-wlm and munge when they are missing (needs root or sudo).
set -euo pipefail
BIN_DIR=$(cd "$1" && pwd); SAE=$(realpath "$2"); ACTS=$(realpath "$3"); WORK=$(realpath "$4")
README=$(cd "$(dirname "$0")/../.." && pwd)/README.md
DEADLINE=$((SECONDS + 150))

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
    SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
fi

RUN=$(mktemp -d /tmp/saescope-slurm.XXXXXX)
chmod 700 "$RUN"
stop_daemons() {
    for pidfile in "$RUN/slurmd.pid" "$RUN/slurmctld.pid" "$RUN/munged.pid"; do
        if [ -s "$pidfile" ]; then
            pid=$(cat "$pidfile")
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -9 "$pid" 2>/dev/null || true
        fi
    done
}
fail() {
    echo "slurm test: $*" >&2
    for log in slurmctld.log slurmd.log munged.log; do
        [ -f "$RUN/$log" ] && { echo "--- $log (tail)" >&2; tail -n 15 "$RUN/$log" >&2; }
    done
    ls "$WORK"/slurm-*.out >/dev/null 2>&1 && tail -n 5 "$WORK"/slurm-*.out >&2
    exit 1
}
trap 'stop_daemons; rm -rf "$RUN"' EXIT
trap 'exit 143' TERM INT HUP

# Free ports on the loopback interface for slurmctld and slurmd.
read -r CTLD_PORT SLURMD_PORT < <(python3 -c '
import socket
ports = []
for _ in range(2):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); ports.append(s.getsockname()[1]); s.close()
print(*ports)')

# munge: a key made for this run, its own socket.
mungekey --create --keyfile="$RUN/munge.key" --force 2>/dev/null || dd if=/dev/urandom of="$RUN/munge.key" bs=1024 count=1 status=none
chmod 600 "$RUN/munge.key"
munged --force --key-file="$RUN/munge.key" --socket="$RUN/munge.socket" --pid-file="$RUN/munged.pid" \
    --log-file="$RUN/munged.log" --seed-file="$RUN/munged.seed" || fail "munged did not start"

USER_NAME=$(id -un)
mkdir -p "$RUN/state" "$RUN/spool"
cat > "$RUN/slurm.conf" <<EOF
ClusterName=saescopetest
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=$USER_NAME
SlurmdUser=$USER_NAME
AuthType=auth/munge
AuthInfo=socket=$RUN/munge.socket
CredType=cred/munge
StateSaveLocation=$RUN/state
SlurmdSpoolDir=$RUN/spool
SlurmctldPidFile=$RUN/slurmctld.pid
SlurmdPidFile=$RUN/slurmd.pid
SlurmctldLogFile=$RUN/slurmctld.log
SlurmdLogFile=$RUN/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
SlurmdParameters=config_overrides
NodeName=localhost NodeAddr=127.0.0.1 CPUs=2 RealMemory=1024 State=UNKNOWN
PartitionName=test Nodes=localhost Default=YES MaxTime=10 State=UP
EOF
export SLURM_CONF="$RUN/slurm.conf"
slurmctld -i -f "$SLURM_CONF" || fail "slurmctld did not start"
slurmd -N localhost -f "$SLURM_CONF" || fail "slurmd did not start"
until sinfo -h -o '%t' 2>/dev/null | grep -Eq '^(idle|mix|alloc)'; do
    [ $SECONDS -lt $DEADLINE ] || fail "the node never became idle: $(sinfo -h -o '%t %E' 2>&1)"
    sleep 0.5
done

# The README's two blocks, verbatim: the index array script and the merge line.
python3 - "$README" "$RUN" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
blocks = re.findall(r"```bash\n(.*?)```", text, re.S)
array = next(b for b in blocks if "#SBATCH --array" in b)
merge = next(b for b in blocks if b.startswith("saescope merge"))
open(sys.argv[2] + "/index.sh", "w").write(array)
open(sys.argv[2] + "/merge.sh", "w").write("#!/bin/bash\n" + merge)
PY

export PATH="$BIN_DIR:$PATH" SAE ACTS OUT="$WORK/index"
mkdir -p "$OUT"
cd "$WORK"
# The README asks for 8 CPUs and 16G per task; this one-node test cluster has 2 CPUs.
ARRAY=$(sbatch --parsable --array=0-3 --cpus-per-task=1 --mem=64M "$RUN/index.sh") || fail "sbatch of the index array failed"
timeout $((DEADLINE - SECONDS)) sbatch --wait --parsable --dependency=afterok:"$ARRAY" --mem=64M "$RUN/merge.sh" >/dev/null \
    || fail "the merge job (after array $ARRAY) did not succeed: $(squeue -h 2>&1)"
[ -s "$OUT/merged.safetensors" ] || fail "no merged index"
for i in 0 1 2 3; do [ -s "$OUT/shard-$i.safetensors" ] || fail "shard $i missing"; done
echo "slurm test: array $ARRAY (4 shards) merged into $OUT/merged.safetensors"
