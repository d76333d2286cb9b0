#!/usr/bin/env bash
# Stop the daemons started by ci/slurm_up.sh, by PID, in reverse start order.
# A PID file is trusted only if /proc/PID/comm matches the daemon (guards against stale files / reused PIDs).
# Never uses pkill/killall. Safe to run twice, and when nothing was started (CI `trap ... EXIT`).
# Running jobs are cancelled first so slurmd does not leave job steps behind.
command -v scancel >/dev/null 2>&1 && scontrol ping >/dev/null 2>&1 && scancel --user=root 2>/dev/null && sleep 1
for entry in slurmd:/run/slurm/slurmd.pid slurmctld:/run/slurm/slurmctld.pid slurmdbd:/run/slurm/slurmdbd.pid \
             mariadbd:/run/mysqld/mysqld.pid munged:/run/munge/munged.pid; do
  name=${entry%%:*}; f=${entry#*:}
  [ -s "$f" ] || continue
  pid=$(cat "$f")
  if [ "$(cat /proc/"$pid"/comm 2>/dev/null)" != "$name" ]; then rm -f "$f"; continue; fi
  kill -TERM "$pid"
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  kill -0 "$pid" 2>/dev/null && { echo "SIGKILL $name ($pid)"; kill -KILL "$pid"; }
  rm -f "$f"
  echo "stopped $name ($pid)"
done
exit 0
