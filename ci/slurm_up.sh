#!/usr/bin/env bash
# Bring up a REAL single-node SLURM cluster (Debian 12 / slurm-wlm 22.05) for CI, so the
# project's real profile (profiles/slurm) can be exercised end to end with sbatch/sacct.
# Recipe and every error met while writing it: /work/shared/notes/slurm_ci.md (internal note).
#
# Usage (as root, from anywhere):
#   bash ci/slurm_up.sh                       # partition 'gpu', account 'dsl', 2 fake GPUs, slurmdbd
#   PARTITION=debug ACCOUNT=ci GPUS=1 bash ci/slurm_up.sh
#   WITH_DBD=0 bash ci/slurm_up.sh            # no slurmdbd/MariaDB: sacct fails, so the profile would
#                                             # need `slurm-status-command: squeue` (not our default)
#   CGROUP=auto|1|0                           # cgroup v1 enforcement (cores, RAM, OOM) if available
# Variables:
#   PARTITION / ACCOUNT  must match `default-resources: slurm_partition / slurm_account` in
#                        profiles/slurm/config.v8+.yaml, so the real profile runs unchanged and the
#                        plugin validates the account against slurmdbd for real.
#   GPUS                 number of FAKE GPUs on the node (gres/gpu with one null-like char device each).
#                        SLURM schedules and accounts them and sets CUDA_VISIBLE_DEVICES, but there is no
#                        CUDA: torch.cuda.device_count() is 0 inside jobs. 2 lets a 2-GPU job be scheduled.
# Stop everything again with ci/slurm_down.sh (by PID). Everything listens on 127.0.0.1 only
# (slurmctld 6817, slurmd 6818, slurmdbd 6819, MariaDB 3306).
# Daemons' PID files: /run/munge/munged.pid /run/mysqld/mysqld.pid /run/slurm/{slurmdbd,slurmctld,slurmd}.pid
set -euo pipefail
WITH_DBD="${WITH_DBD:-1}"
CGROUP="${CGROUP:-auto}"
PARTITION="${PARTITION:-gpu}"
ACCOUNT="${ACCOUNT:-dsl}"
GPUS="${GPUS:-2}"
if [ "$(id -u)" != 0 ]; then echo "slurm_up.sh must run as root (it installs packages and starts daemons)" >&2; exit 1; fi
if [ "$CGROUP" = auto ]; then [ -d /sys/fs/cgroup/memory ] && CGROUP=1 || CGROUP=0; fi
t0=$EPOCHREALTIME
log() { awk -v a="$t0" -v b="$EPOCHREALTIME" -v m="$*" 'BEGIN{printf "[slurm_up +%.1fs] %s\n", b-a, m}'; }
waitfor() { # waitfor SECONDS CMD...
  local n=$(( $1 * 2 )); shift
  for _ in $(seq 1 "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.5; done
  echo "timeout waiting for: $*" >&2; return 1
}
alive() { # alive NAME PIDFILE: the PID file names a running process called NAME
  [ -s "$2" ] && [ "$(cat /proc/"$(cat "$2")"/comm 2>/dev/null)" = "$1" ]
}
export DEBIAN_FRONTEND=noninteractive
pkgs="slurm-wlm munge"
[ "$WITH_DBD" = 1 ] && pkgs="$pkgs slurmdbd mariadb-server"
if ! dpkg -s $pkgs >/dev/null 2>&1; then
  # no `apt-get update` first: CI images usually have fresh lists; retry with an update if not
  apt-get install -y -q --no-install-recommends $pkgs >/tmp/slurm_up.apt.log 2>&1 \
    || { apt-get update -q >/dev/null 2>&1; apt-get install -y -q --no-install-recommends $pkgs >/tmp/slurm_up.apt.log 2>&1; } \
    || { tail -20 /tmp/slurm_up.apt.log >&2; exit 1; }
fi
log "packages installed ($pkgs)"

NODE=$(hostname -s)
MEM_MB=$(( $(awk '/MemTotal/{print $2}' /proc/meminfo) / 1024 * 8 / 10 ))   # 80% of RAM
TOPO=$(slurmd -C | head -1 | grep -oE 'CPUs=[0-9]+ Boards=[0-9]+ SocketsPerBoard=[0-9]+ CoresPerSocket=[0-9]+ ThreadsPerCore=[0-9]+')

# --- munge ---------------------------------------------------------------------
[ -s /etc/munge/munge.key ] || mungekey --create --force
chown munge:munge /etc/munge/munge.key; chmod 0400 /etc/munge/munge.key
install -d -o munge -g munge -m 0755 /run/munge
alive munged /run/munge/munged.pid || runuser -u munge -- /usr/sbin/munged
waitfor 10 bash -c 'munge -n | unmunge'
log "munged up (pid $(cat /run/munge/munged.pid))"

# --- config ----------------------------------------------------------------------
install -d /etc/slurm /run/slurm /var/log/slurm /var/lib/slurm/slurmd
if alive slurmctld /run/slurm/slurmctld.pid || alive slurmd /run/slurm/slurmd.pid; then
  echo "slurmctld/slurmd already running: run ci/slurm_down.sh first" >&2; exit 1
fi
rm -rf /var/lib/slurm/slurmctld; install -d /var/lib/slurm/slurmctld   # clean job state each CI run
if [ "$WITH_DBD" = 1 ]; then
  ACCT="AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=6819
AccountingStorageTRES=gres/gpu
AccountingStoreFlags=job_comment
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=30"
else
  ACCT="AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none"
fi
if [ "$CGROUP" = 1 ]; then
  PROCTRACK="ProctrackType=proctrack/cgroup
TaskPlugin=task/cgroup,task/affinity"
  cat > /etc/slurm/cgroup.conf <<CONF
CgroupPlugin=cgroup/v1
CgroupMountpoint=/sys/fs/cgroup
ConstrainCores=yes
ConstrainRAMSpace=yes
ConstrainSwapSpace=yes
ConstrainDevices=no
CONF
else
  PROCTRACK="ProctrackType=proctrack/linuxproc
TaskPlugin=task/none"
  rm -f /etc/slurm/cgroup.conf
fi
if [ "$GPUS" -gt 0 ]; then GRES="Gres=gpu:${GPUS}"; else GRES=""; rm -f /etc/slurm/gres.conf; fi
cat > /etc/slurm/slurm.conf <<CONF
# Minimal single-node SLURM for CI (Debian 12, slurm-wlm 22.05), written by ci/slurm_up.sh
ClusterName=ci
SlurmctldHost=${NODE}(127.0.0.1)
AuthType=auth/munge
CryptoType=crypto/munge
SlurmUser=root
SlurmdUser=root
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=/var/lib/slurm/slurmctld
SlurmdSpoolDir=/var/lib/slurm/slurmd
SlurmctldPidFile=/run/slurm/slurmctld.pid
SlurmdPidFile=/run/slurm/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
${PROCTRACK}
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1000
${ACCT}
JobCompType=jobcomp/none
GresTypes=gpu
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
MinJobAge=300
# Jobs are NOT requeueable unless they ask (sbatch --requeue): lets tests prove that the profile's
# "slurm-requeue: true" reached sbatch (scontrol shows Requeue=1). SLURM's own default is 1.
JobRequeue=0
KillWait=5
Waittime=0
NodeName=${NODE} NodeAddr=127.0.0.1 ${TOPO} RealMemory=${MEM_MB} ${GRES} State=UNKNOWN
PartitionName=${PARTITION} Nodes=${NODE} Default=YES MaxTime=INFINITE State=UP
CONF
# Fake GPUs: gres/gpu drops File-less GPUs ("Removing file-less GPU") and rejects a repeated
# File ("gpu duplicate device file name"), so make one null-like char device per GPU.
if [ "$GPUS" -gt 0 ]; then
  : > /etc/slurm/gres.conf
  for i in $(seq 0 $((GPUS - 1))); do
    [ -c /dev/fakegpu$i ] || mknod -m 666 /dev/fakegpu$i c 1 3
    echo "NodeName=${NODE} Name=gpu File=/dev/fakegpu$i" >> /etc/slurm/gres.conf
  done
fi
log "slurm.conf written (node ${NODE}: ${TOPO} RealMemory=${MEM_MB} gpus=${GPUS}; partition=${PARTITION}; cgroup=${CGROUP}; dbd=${WITH_DBD})"

# --- accounting: MariaDB + slurmdbd -------------------------------------------------
if [ "$WITH_DBD" = 1 ]; then
  install -d -o mysql -g mysql /run/mysqld
  if ! mariadb-admin ping >/dev/null 2>&1; then
    setsid /usr/sbin/mariadbd --user=mysql --bind-address=127.0.0.1 \
      --pid-file=/run/mysqld/mysqld.pid >/var/log/slurm/mariadb.log 2>&1 < /dev/null &
  fi
  waitfor 60 mariadb-admin ping
  waitfor 10 test -s /run/mysqld/mysqld.pid
  log "mariadb up (pid $(cat /run/mysqld/mysqld.pid))"
  mariadb -e "DROP DATABASE IF EXISTS slurm_acct_db; CREATE DATABASE slurm_acct_db;
    CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'slurmci';
    GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost'; FLUSH PRIVILEGES;"
  cat > /etc/slurm/slurmdbd.conf <<CONF
AuthType=auth/munge
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort=6819
SlurmUser=root
DebugLevel=info
LogFile=/var/log/slurm/slurmdbd.log
PidFile=/run/slurm/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=localhost
StoragePort=3306
StorageUser=slurm
StoragePass=slurmci
StorageLoc=slurm_acct_db
CONF
  chmod 600 /etc/slurm/slurmdbd.conf
  alive slurmdbd /run/slurm/slurmdbd.pid && kill -TERM "$(cat /run/slurm/slurmdbd.pid)" && sleep 1
  slurmdbd
  waitfor 30 sacctmgr -n list cluster
  sacctmgr -i -Q add cluster ci >/dev/null
  sacctmgr -i -Q add account "$ACCOUNT" Description=ci Organization=ci >/dev/null
  sacctmgr -i -Q add user root Account="$ACCOUNT" DefaultAccount="$ACCOUNT" >/dev/null
  log "slurmdbd up (pid $(cat /run/slurm/slurmdbd.pid)), account '$ACCOUNT' created"
fi

# --- slurmctld + slurmd ----------------------------------------------------------------
slurmctld
waitfor 30 scontrol ping
slurmd
waitfor 60 bash -c "sinfo -h -n ${NODE} -o %T | grep -qx idle"
log "slurmctld (pid $(cat /run/slurm/slurmctld.pid)) and slurmd (pid $(cat /run/slurm/slurmd.pid)) up"
srun -t 1 -N1 true
if [ "$GPUS" -gt 0 ]; then
  got=$(srun -t 1 --gpus="$GPUS" printenv CUDA_VISIBLE_DEVICES)
  log "srun --gpus=$GPUS sees CUDA_VISIBLE_DEVICES=$got"
fi
log "srun smoke test ok; cluster ready"
sinfo
