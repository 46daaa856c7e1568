#!/usr/bin/env bash
# A real single-node SLURM cluster on this machine (slurmctld + slurmd + munge, no accounting),
# for `make slurm-test` and CI. Debian/Ubuntu, run as root. Idempotent.
#
#   scripts/slurm_cluster.sh up       # install if missing, write slurm.conf, start, wait for an idle node
#   scripts/slurm_cluster.sh status   # daemons and node state; exit 0 only if the node takes jobs
#   scripts/slurm_cluster.sh down     # stop the daemons, remove their pidfiles
#
# Facts behind the settings: /work/shared/notes/slurm-localhost.md (verified on Debian 12, Slurm 22.05).
# Fails with one line on stderr (exit 1), e.g. when not root or when apt-get is unavailable.
set -euo pipefail

CONF=/etc/slurm/slurm.conf
MARK="# written by lmsci scripts/slurm_cluster.sh"
LOGDIR=/var/log/slurm
PIDS=(/run/slurmd.pid /run/slurmctld.pid /run/munge/munged.pid)   # stop order: slurmd, slurmctld, munged
WAIT_S=${SLURM_CLUSTER_WAIT_S:-60}
MEM_PERCENT=${SLURM_CLUSTER_MEM_PERCENT:-85}    # leave the OS its share of RealMemory

die() { echo "slurm_cluster.sh: error: $*" >&2; exit 1; }
alive() { [[ -s $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }
node_state() { timeout 5 sinfo -h -N -o '%T' 2>/dev/null | head -1 | tr -d '*~#$@+' || true; }
logs_tail() {                                            # the daemons' last words, for a failed `up`
    local f
    for f in "$LOGDIR/slurmctld.log" "$LOGDIR/slurmd.log"; do
        [[ -s $f ]] && { echo "--- last lines of $f:"; tail -n 15 "$f"; } >&2
    done
    return 0
}

install() {
    local missing=()
    for c in slurmctld slurmd sinfo munged; do command -v "$c" >/dev/null || missing+=("$c"); done
    [[ ${#missing[@]} -eq 0 ]] && return 0
    command -v apt-get >/dev/null || die "${missing[*]} missing and no apt-get; install slurmctld slurmd slurm-client munge"
    export DEBIAN_FRONTEND=noninteractive
    local pkgs=(slurmctld slurmd slurm-client munge) log=/tmp/slurm_cluster.apt.log
    # Package service starts are blocked (policy-rc.d) in containers; this script starts the daemons.
    local apt=(timeout 600 apt-get -o DPkg::Lock::Timeout=120 -y -q)   # a held lock or dead mirror fails, not hangs
    "${apt[@]}" install --no-install-recommends "${pkgs[@]}" >"$log" 2>&1 ||
        { "${apt[@]}" update >>"$log" 2>&1 && "${apt[@]}" install --no-install-recommends "${pkgs[@]}" >>"$log" 2>&1; } ||
        die "apt-get install ${pkgs[*]} failed (see $log)"
}

write_conf() {
    local host node mem
    host=$(hostname -s)
    node=$(slurmd -C | head -1)                          # NodeName=<host> CPUs=.. ... RealMemory=<MB>
    [[ $node == NodeName=* ]] || die "slurmd -C did not describe this node: $node"
    mem=$(sed -E 's/.*RealMemory=([0-9]+).*/\1/' <<<"$node")
    node=$(sed -E "s/RealMemory=[0-9]+/RealMemory=$((mem * MEM_PERCENT / 100))/" <<<"$node")
    local new
    new=$(cat <<EOF
$MARK; \`down\` leaves it, \`up\` rewrites it.
ClusterName=localci
# Explicit loopback addresses: CI machines' hostnames often do not resolve (seen: sinfo then
# waits ~9 s per call for a controller it cannot find, and \`up\` hung for 15 min).
SlurmctldHost=$host(127.0.0.1)
SlurmUser=slurm
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
# No slurmdbd: the Snakemake plugin must poll with squeue (workflow/profiles/slurm sets it).
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# Without it a job that gives no --mem takes the whole node.
DefMemPerCPU=1000
# squeue only sees finished jobs for MinJobAge s; the plugin needs >= 3x its first poll delay.
MinJobAge=300
ReturnToService=2
KillWait=5
InactiveLimit=0
Waittime=0
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
StateSaveLocation=/var/lib/slurm/slurmctld
SlurmdSpoolDir=/var/lib/slurm/slurmd
SlurmctldLogFile=$LOGDIR/slurmctld.log
SlurmdLogFile=$LOGDIR/slurmd.log
$node NodeAddr=127.0.0.1 NodeHostname=$host State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
)
    if [[ -f $CONF ]] && ! grep -qF "$MARK" "$CONF"; then
        die "$CONF exists and was not written by this script; move it away or use that cluster directly"
    fi
    if [[ ! -f $CONF ]] || [[ $(cat "$CONF") != "$new" ]]; then
        stop                                             # daemons must re-read a changed config
        mkdir -p /etc/slurm && printf '%s\n' "$new" >"$CONF.tmp" && mv "$CONF.tmp" "$CONF"
    fi
}

start() {
    mkdir -p /run/munge /var/lib/slurm/slurmctld /var/lib/slurm/slurmd "$LOGDIR"
    chown munge:munge /run/munge
    chown slurm:slurm /var/lib/slurm/slurmctld "$LOGDIR"
    if [[ ! -s /etc/munge/munge.key ]]; then
        mungekey --create --keyfile=/etc/munge/munge.key >/dev/null 2>&1 || die "could not create /etc/munge/munge.key"
        chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
    fi
    alive /run/munge/munged.pid || runuser -u munge -- /usr/sbin/munged || die "munged did not start"
    munge -n </dev/null | unmunge >/dev/null 2>&1 || die "munge does not work (munge -n | unmunge failed)"
    alive /run/slurmctld.pid || /usr/sbin/slurmctld || die "slurmctld did not start (see $LOGDIR/slurmctld.log)"
    alive /run/slurmd.pid || /usr/sbin/slurmd || die "slurmd did not start (see $LOGDIR/slurmd.log)"
}

wait_idle() {
    local state="" deadline=$((SECONDS + WAIT_S))
    while ((SECONDS < deadline)); do
        state=$(node_state)
        case $state in
            idle|mixed|allocated|completing) return 0 ;;
            down|drained|draining) scontrol update nodename="$(hostname -s)" state=resume >/dev/null 2>&1 || true ;;
        esac
        sleep 0.5
    done
    logs_tail
    die "node not idle after ${WAIT_S}s (state: ${state:-no answer from slurmctld}; see $LOGDIR/)"
}

stop() {
    local f pid
    for f in "${PIDS[@]}"; do
        if alive "$f"; then
            pid=$(cat "$f")
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
        fi
        rm -f "$f"                                       # a stale slurmctld.pid breaks package removal later
    done
}

status() {
    local f ok=0
    for f in "${PIDS[@]}"; do
        if alive "$f"; then echo "$(basename "$f" .pid): running (pid $(cat "$f"))"; else echo "$(basename "$f" .pid): stopped"; ok=1; fi
    done
    local state
    state=$(node_state)
    echo "node: ${state:-unknown}"
    [[ $ok -eq 0 && $state =~ ^(idle|mixed|allocated|completing)$ ]]
}

case ${1:-} in
    up)
        [[ $(id -u) -eq 0 ]] || die "must run as root (installs packages and starts slurmctld, slurmd, munged)"
        install
        write_conf
        start
        wait_idle
        echo "slurm: node $(hostname -s) $(node_state)"
        ;;
    down)
        [[ $(id -u) -eq 0 ]] || die "must run as root (stops slurmctld, slurmd, munged)"
        stop
        ;;
    status) status ;;
    *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
