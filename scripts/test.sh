#!/usr/bin/env bash
# Runs every test on a fresh Debian machine: installs what they need, starts D-Bus, polkitd and
# libvirtd where no systemd runs them, builds once, then runs the unit tests and (as root) the
# integration tests against real polkit, real libvirt and a real TCG guest, and last fuzzes the
# parsers of untrusted input for a few minutes (scripts/fuzz.sh).
#
#   scripts/test.sh         (as root)
set -euo pipefail
cd "$(dirname "$0")/.."

[ "$(id -u)" -eq 0 ] || { echo "test.sh: run scripts/test.sh as root: the integration tests create users and start the broker" >&2; exit 1; }
[ -x /opt/swift/usr/bin/swift ] && export PATH="/opt/swift/usr/bin:$PATH"
command -v swift >/dev/null || { echo "test.sh: swift not found; install Swift 6 and put it on PATH" >&2; exit 1; }

scripts/install-deps.sh
scripts/start-services.sh

# Everything the tests make stays in places of their own, removed on every exit, passed or failed:
# temporary files under one folder of this run, the integration suite's broker, monitor, machines,
# pool and networks (all named hv-it-*) and /var/lib/hv-it, and the backup suite's machines (hv-bkdev-*)
# and /var/lib/hv-bkdev. An installed stack on the same host
# (its broker, audit log, monitor and machines) is never touched: the suite's broker manages only
# the machines it made, recorded with its own pool hv-it-images.
run_tmp="$(mktemp -d /tmp/hv-tests.XXXXXX)"
chmod 1777 "$run_tmp"
export TMPDIR="$run_tmp"

cleanup() {
    # The suite's brokers, monitor and webhook receiver: asked to stop, then made to.
    pkill -f /var/lib/hv-it/ 2>/dev/null && sleep 1
    pkill -KILL -f /var/lib/hv-it/ 2>/dev/null || true
    if command -v virsh >/dev/null; then
        for domain in $(virsh -c qemu:///system list --all --name 2>/dev/null | grep '^hv-it-' || true); do
            virsh -c qemu:///system destroy "$domain" >/dev/null 2>&1 || true
            virsh -c qemu:///system undefine "$domain" --snapshots-metadata --nvram >/dev/null 2>&1 \
                || virsh -c qemu:///system undefine "$domain" >/dev/null 2>&1 || true
        done
        # The backup suite's machines (HVBackupIntegrationTests), which may have checkpoints.
        for domain in $(virsh -c qemu:///system list --all --name 2>/dev/null | grep '^hv-bkdev-' || true); do
            virsh -c qemu:///system destroy "$domain" >/dev/null 2>&1 || true
            virsh -c qemu:///system undefine "$domain" --checkpoints-metadata >/dev/null 2>&1 || true
        done
        for network in $(virsh -c qemu:///system net-list --all --name 2>/dev/null | grep '^hv-it-' || true); do
            virsh -c qemu:///system net-destroy "$network" >/dev/null 2>&1 || true
            virsh -c qemu:///system net-undefine "$network" >/dev/null 2>&1 || true
        done
        for pool in $(virsh -c qemu:///system pool-list --all --name 2>/dev/null | grep '^hv-it-' || true); do
            virsh -c qemu:///system pool-destroy "$pool" >/dev/null 2>&1 || true
            virsh -c qemu:///system pool-undefine "$pool" >/dev/null 2>&1 || true
        done
    fi
    for mount in /var/lib/hv-it/full-audit /var/lib/hv-it/faults/state/isos /var/lib/hv-it/faults/state/pending \
        /var/lib/hv-it/faults/state/images /var/lib/hv-it/bkfaults/backups; do
        if mountpoint -q "$mount" 2>/dev/null; then umount -l "$mount"; fi
    done
    # The fault-injection suite moves polkitd's D-Bus activation file aside while polkitd is stopped.
    activation=/usr/share/dbus-1/system-services/org.freedesktop.PolicyKit1.service
    if [ -e "$activation.hv-it" ]; then mv -f "$activation.hv-it" "$activation"; fi
    pkill -CONT -x polkitd 2>/dev/null || true
    pkill -CONT -x libvirtd 2>/dev/null || true
    rm -rf /var/lib/hv-it /var/lib/hv-bkdev "$run_tmp"
}
trap cleanup EXIT

echo "test.sh: building the project and its tests (debug; about 10 minutes on 2 cores the first time)"
swift build --build-tests
export HV_INTEGRATION=1
HV_BIN_DIR="$(swift build --show-bin-path)"
export HV_BIN_DIR

# The build leaves a gigabyte of unwritten files; the backup tests flush the whole file system
# (syncfs), so that is written now, not while they hold the threads timed tests wait for.
echo "test.sh: writing the build's files to disk (sync)"
sync
echo "test.sh: running the unit tests (a few minutes)"
status=0
# The unit tests first, alone: several wait for timers and servers, and the integration suites'
# blocking calls beside them would hold the test runner's few threads (one per core). Then the
# integration suites, but for those that boot guests to back them up (the next step) and the
# fault-injection suite (the last); the patterns are regular expressions over "Module.Suite/test".
swift test --skip-build --skip HVIntegrationTests --skip HVBackupIntegrationTests --skip HVBackupSyncTests \
    --skip 'HVBackupStoreTests\.(FaultTests|ConcurrencyTests)' || status=$?
echo "test.sh: running the integration tests (real polkitd, libvirtd and guests; about five minutes)"
swift test --skip-build --filter HVIntegrationTests \
    --skip 'HVIntegrationTests\.(FaultTests|BackupTests|BackupFaultTests|BackupBootTestTests|BackupInPlaceTests)' || status=$?
# The backup suites boot guests and read their disks with blocking calls for a minute and more at
# a time; beside the other suites they would hold the test runner's few threads, so they run alone.
echo "test.sh: running the backup suites alone (real TCG guests backed up, boot-tested, failed midway; four to six minutes)"
# With them, the other suites that block for long: copies over SFTP through rclone, and the
# repository's own fault and concurrency tests.
swift test --skip-build --filter HVBackupIntegrationTests \
    --filter 'HVIntegrationTests\.(BackupTests|BackupFaultTests|BackupBootTestTests|BackupInPlaceTests)' \
    --filter HVBackupSyncTests --filter 'HVBackupStoreTests\.(FaultTests|ConcurrencyTests)' || status=$?
# The fault-injection suite stops and kills the host's polkitd and libvirtd, so it runs alone.
echo "test.sh: running the fault-injection suite alone (polkitd and libvirtd are stopped and killed; a few minutes)"
HV_FAULTS=1 swift test --skip-build --filter 'HVIntegrationTests\.FaultTests' || status=$?

# The parsers of untrusted input under libFuzzer and AddressSanitizer, briefly: 30 s for each of
# the five targets from the corpus kept in Tests/Fuzz, after a build of its own (.build/fuzz).
# A crash, hang or leak fails the run; the input is kept under .build/fuzz/runs.
echo "test.sh: fuzzing the parsers of untrusted input, 30 s each (scripts/fuzz.sh; its build takes about 10 minutes the first time)"
scripts/fuzz.sh all 30 || status=$?
exit "$status"
