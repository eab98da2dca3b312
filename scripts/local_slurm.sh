#!/usr/bin/env bash
# A one-node SLURM cluster on this machine, for the `slurm` tests and for trying
# `hydra/launcher=slurm_local` before a real cluster: scripts/local_slurm.sh up|down|status
#
# `up` installs Debian's packages when missing (as root, with apt-get), writes a fresh config and
# state directory under $RESNET_LAB_SLURM_DIR (default /tmp/resnet_lab_slurm), starts munged,
# MariaDB, slurmdbd, slurmctld and slurmd in the background (logs in $DIR/log, pids in $DIR/run)
# and waits until `sinfo` shows the node idle. `down` stops exactly the processes `up` started.
# Both are safe to run twice. No systemd needed. Commands need SLURM_CONF=$DIR/etc/slurm.conf
# (`up` also links /etc/slurm/slurm.conf to it when that file does not exist).
#
# Traps this avoids (each measured): without accounting (slurmdbd) submitit cannot read a job's
# state, so a job that died without a result is waited for for ever; a reused state directory
# restores old jobs; a requeued job waits 120 s unless AuthInfo's cred_expire is lowered; a node
# named after the hostname breaks when it changes (slurmd -N localhost); RealMemory above the
# machine's memory drains the node.
set -euo pipefail

DIR=${RESNET_LAB_SLURM_DIR:-/tmp/resnet_lab_slurm}
DB_PORT=${RESNET_LAB_SLURM_DB_PORT:-13306}
CTLD_PORT=${RESNET_LAB_SLURM_PORT:-16817}   # slurmctld; slurmd and slurmdbd take the next two
D_PORT=$((CTLD_PORT + 1))
DBD_PORT=$((CTLD_PORT + 2))
WAIT_S=${RESNET_LAB_SLURM_WAIT_S:-60}
PACKAGES="slurmctld slurmd slurm-client munge slurmdbd mariadb-server"
DAEMONS="munged mariadbd slurmdbd slurmctld slurmd"   # start order; stopped in reverse
export SLURM_CONF=$DIR/etc/slurm.conf

say() { echo "local_slurm: $*"; }
die() { echo "local_slurm: $*" >&2; exit 1; }

pid_of() { [ -f "$DIR/run/$1.pid" ] && cat "$DIR/run/$1.pid" 2>/dev/null || true; }
alive() { local p; p=$(pid_of "$1"); [ -n "$p" ] && kill -0 "$p" 2>/dev/null; }

missing_binaries() {
  local m=""
  for b in munged mariadbd mariadb-install-db slurmdbd slurmctld slurmd sinfo sbatch sacct; do
    PATH=$PATH:/usr/sbin command -v "$b" >/dev/null 2>&1 || m="$m $b"
  done
  echo "$m"
}

install_packages() {
  [ -z "$(missing_binaries)" ] && return 0
  [ "$(id -u)" = 0 ] || die "cannot start: SLURM is not installed ($(missing_binaries) missing) and installing it needs root; install $PACKAGES."
  command -v apt-get >/dev/null 2>&1 || die "cannot start: SLURM is not installed and there is no apt-get to install it ($PACKAGES)."
  say "installing $PACKAGES with apt-get"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $PACKAGES >/dev/null) \
    || die "cannot start: apt-get could not install $PACKAGES."
  [ -z "$(missing_binaries)" ] || die "cannot start: still missing after apt-get:$(missing_binaries)."
}

wait_for() {  # wait_for SECONDS WHAT COMMAND...: until COMMAND succeeds, or fail naming WHAT
  local limit=$1 what=$2; shift 2
  local end=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $end ] || { status_lines >&2; die "$what did not come up within ${limit}s (logs in $DIR/log)"; }
    sleep 0.5
  done
}

write_config() {
  local cpus mem real
  cpus=$(slurmd -C | sed -n 's/.*CPUs=\([0-9]*\).*/\1/p')
  mem=$(slurmd -C | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')
  real=$(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo)
  [ "$mem" -le "$real" ] || mem=$real   # above the real memory, slurmd drains the node
  mkdir -p "$DIR"/{etc,log,run,munge,mysql,state/ctld,state/d}
  chmod 755 "$DIR/munge"   # the key stays 400; clients need the socket
  dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1024 count=1 status=none
  chmod 400 "$DIR/munge/munge.key"
  local auth="AuthType=auth/munge
AuthInfo=socket=$DIR/munge/munge.socket,cred_expire=10"
  cat > "$DIR/etc/slurm.conf" <<CONF
# written by scripts/local_slurm.sh: a one-node cluster on this machine
ClusterName=resnetlab
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$CTLD_PORT
SlurmdPort=$D_PORT
$auth
CredType=cred/munge
StateSaveLocation=$DIR/state/ctld
SlurmdSpoolDir=$DIR/state/d
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
ReturnToService=2
KillWait=10
MinJobAge=600
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=$DBD_PORT
AccountingStoragePass=$DIR/munge/munge.socket
JobCompType=jobcomp/none
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
  cat > "$DIR/etc/slurmdbd.conf" <<CONF
$auth
DbdHost=localhost
DbdPort=$DBD_PORT
SlurmUser=root
LogFile=$DIR/log/slurmdbd.log
PidFile=$DIR/run/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=slurm
StorageLoc=slurm_acct_db
CONF
  chmod 600 "$DIR/etc/slurmdbd.conf"
}

start_mariadb() {
  mariadb-install-db --no-defaults --datadir="$DIR/mysql" --user=root \
    --auth-root-authentication-method=socket > "$DIR/log/mariadb-install.log" 2>&1 \
    || die "cannot start: mariadb-install-db failed (see $DIR/log/mariadb-install.log)"
  # --no-defaults: none of the system's my.cnf (its datadir, port, socket)
  setsid mariadbd --no-defaults --datadir="$DIR/mysql" --user=root --bind-address=127.0.0.1 \
    --port=$DB_PORT --socket="$DIR/mysql/mysql.sock" --pid-file="$DIR/run/mariadbd.pid" \
    --log-error="$DIR/log/mariadbd.log" < /dev/null > /dev/null 2>&1 &
  echo $! > "$DIR/run/mariadbd.pid"
  wait_for "$WAIT_S" MariaDB mariadb --no-defaults --socket="$DIR/mysql/mysql.sock" -u root -e "SELECT 1"
  mariadb --no-defaults --socket="$DIR/mysql/mysql.sock" -u root -e \
    "CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY 'slurm';
     CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'slurm';
     GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1'; GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';"
}

node_idle() { [ "$(sinfo -h -n localhost -o %t 2>/dev/null)" = idle ]; }

status_lines() {
  for d in $DAEMONS; do
    if alive "$d"; then echo "  $d: running (pid $(pid_of "$d"))"; else echo "  $d: not running"; fi
  done
  alive slurmctld && sinfo -h -N -o "  node %N: %t, %c CPUs, %m MB" 2>/dev/null || true
}

any_alive() { for d in $DAEMONS; do alive "$d" && return 0; done; return 1; }
all_alive() { for d in $DAEMONS; do alive "$d" || return 1; done; return 0; }

up() {
  if all_alive && node_idle; then say "already up (SLURM_CONF=$SLURM_CONF)"; return 0; fi
  any_alive && { say "a partial cluster is running: stopping it first"; down; }
  install_packages
  rm -rf "$DIR"   # a reused state directory restores old jobs
  write_config
  setsid munged --key-file="$DIR/munge/munge.key" --socket="$DIR/munge/munge.socket" \
    --pid-file="$DIR/run/munged.pid" --log-file="$DIR/log/munged.log" \
    --seed-file="$DIR/munge/munged.seed" --force < /dev/null > "$DIR/log/munged.out" 2>&1 \
    || die "cannot start: munged failed (see $DIR/log/munged.log)"
  wait_for 10 munged test -S "$DIR/munge/munge.socket"
  start_mariadb
  setsid slurmdbd -D < /dev/null > "$DIR/log/slurmdbd.out" 2>&1 &
  echo $! > "$DIR/run/slurmdbd.pid"
  wait_for "$WAIT_S" slurmdbd bash -c "exec 3<>/dev/tcp/127.0.0.1/$DBD_PORT"
  # -i: ignore state files (there are none: fresh); -D: stay in the foreground of its own session
  setsid slurmctld -D -i < /dev/null > "$DIR/log/slurmctld.out" 2>&1 &
  echo $! > "$DIR/run/slurmctld.pid"
  wait_for "$WAIT_S" slurmctld scontrol ping
  setsid slurmd -D -N localhost < /dev/null > "$DIR/log/slurmd.out" 2>&1 &
  echo $! > "$DIR/run/slurmd.pid"
  wait_for "$WAIT_S" "the node (sinfo idle)" node_idle
  if [ ! -e /etc/slurm/slurm.conf ] && [ -w /etc ]; then
    mkdir -p /etc/slurm && ln -s "$SLURM_CONF" /etc/slurm/slurm.conf && touch "$DIR/run/etc_link"
  fi
  say "up: one node, $(sinfo -h -o '%c CPUs, %m MB'); logs in $DIR/log"
  say "export SLURM_CONF=$SLURM_CONF"
}

down() {
  local stopped=""
  for d in slurmd slurmctld slurmdbd mariadbd munged; do
    alive "$d" || continue
    local p; p=$(pid_of "$d")
    kill -TERM "$p" 2>/dev/null || true
    for _ in $(seq 40); do kill -0 "$p" 2>/dev/null || break; sleep 0.25; done
    kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null || true
    stopped="$stopped $d"
  done
  if [ -f "$DIR/run/etc_link" ] && [ "$(readlink /etc/slurm/slurm.conf 2>/dev/null)" = "$SLURM_CONF" ]; then
    rm -f /etc/slurm/slurm.conf "$DIR/run/etc_link"
  fi
  if [ -n "$stopped" ]; then say "down (stopped$stopped)"; else say "down (nothing was running)"; fi
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status_lines; all_alive && node_idle ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
