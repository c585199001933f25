#!/usr/bin/env bash
# Where systemd is not PID 1, nothing runs the backup jobs' timers: setup.sh starts this loop
# beside the broker it started. Every minute it runs `hv backup jobs run --due`, which asks the
# broker which jobs are due (each job's schedule, read by systemd-analyze, against its last
# recorded run) and runs those, and `hv-broker backup-sync --due`, which copies the repositories
# to each remote not copied to for a day. It ends when the broker whose pid it was given ends (the
# pid and the process's start time, so a new process given the same pid is not taken for it), so it
# stops with the stack; setup.sh starts a new one beside a new broker.
#
# Usage: backup-timers.sh BROKER_PID   (as root; output goes to /var/log/hypervisor/backup-jobs.log)
set -uo pipefail

broker="${1:?usage: backup-timers.sh BROKER_PID}"
hv=/usr/local/bin/hv

# The process's start time (field 22 of /proc/PID/stat, counted after the command name, which
# may hold spaces); nothing when there is no such process.
start_time() {
    local stat
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 0
    stat="${stat##*) }"
    # shellcheck disable=SC2086
    set -- $stat
    echo "${20}"
}

started="$(start_time "$broker")"
[ -n "$started" ] || { echo "$(date -u +%FT%TZ) no broker runs with pid $broker; the backup loop does not start"; exit 1; }

while [ "$(start_time "$broker")" = "$started" ]; do
    # The copies off the host, daily, as hypernixos-backup-sync@REMOTE.timer would make them.
    if grep -q '^remotes:' /etc/hypernixos/backup.yaml 2>/dev/null; then
        output="$(/usr/local/bin/hv-broker backup-sync --due 2>&1)" || echo "$(date -u +%FT%TZ) a copy off the host failed"
        case "$output" in
            "no copy is due") ;;
            *) printf '%s\n%s\n' "$(date -u +%FT%TZ) hv-broker backup-sync --due:" "$output" ;;
        esac
    fi
    # No jobs configured: nothing to ask the broker.
    if ! grep -q '^jobs:' /etc/hypernixos/backup.yaml 2>/dev/null; then
        sleep 60
        continue
    fi
    # A job that failed for a machine exits non-zero: logged, and the loop goes on.
    output="$("$hv" backup jobs run --due 2>&1)" || echo "$(date -u +%FT%TZ) a job failed for some machine"
    case "$output" in
        "no backup job is due") ;;
        *) printf '%s\n%s\n' "$(date -u +%FT%TZ) hv backup jobs run --due:" "$output" ;;
    esac
    sleep 60
done
echo "$(date -u +%FT%TZ) the broker (pid $broker) ended; the backup loop ends with it"
