#!/usr/bin/env bash
# Runs every test on a fresh Debian machine: installs what they need, starts D-Bus, polkitd and
# libvirtd where no systemd runs them, builds once, then runs the unit tests and (as root) the
# integration tests against real polkit, real libvirt and a real TCG guest.
#
#   scripts/test.sh         (as root)
set -euo pipefail
cd "$(dirname "$0")/.."

[ "$(id -u)" -eq 0 ] || { echo "test.sh: run scripts/test.sh as root: the integration tests create users and start the broker" >&2; exit 1; }
[ -x /opt/swift/usr/bin/swift ] && export PATH="/opt/swift/usr/bin:$PATH"
command -v swift >/dev/null || { echo "test.sh: swift not found; install Swift 6 and put it on PATH" >&2; exit 1; }

scripts/install-deps.sh
scripts/start-services.sh

swift build --build-tests
export HV_INTEGRATION=1
HV_BIN_DIR="$(swift build --show-bin-path)"
export HV_BIN_DIR

status=0
swift test --skip-build || status=$?

# The integration suite's broker, monitor and webhook receiver outlive the test process; stop them.
pkill -f /var/lib/hv-it/bin/hv-monitor 2>/dev/null || true
pkill -f "webhook-receiver.py /var/lib/hv-it" 2>/dev/null || true
pkill -f /var/lib/hv-it/bin/hv-broker 2>/dev/null || true
pkill -f "systemd-socket-activate --listen=/var/lib/hv-it" 2>/dev/null || true
exit "$status"
