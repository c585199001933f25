#!/usr/bin/env bash
# Build hv-broker and hv-bench (release, scratch path .build-release) and run the benchmark.
# hv-bench starts its own broker on the libvirt test driver; see docs/BENCHMARKS.md.
#
# Usage: scripts/bench.sh [broker|monitor|pressure|audit|request|backup] [hv-bench options, e.g. --iterations 5000 --json]
# (no subcommand: the broker benchmark)
# Run as root, with the system D-Bus, polkitd and libvirtd running (when they are not and
# scripts/start-services.sh exists, it is run first). Set SWIFT to the swift executable if it is
# not on root's PATH. The backup benchmark starts no broker: it needs libvirtd only, and builds
# hv-bench alone.
set -euo pipefail

export PATH="$PATH:/usr/sbin:/sbin"
cd "$(dirname "$0")/.."

log() { echo "bench: $*" >&2; }
die() { echo "bench: error: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must be run as root: polkit grants the broker's actions to root" \
    "without any group setup, and hv-bench asks polkit about another user's process"

# pkcheck exits 0-3 when polkitd answered, 127 when it could not be reached.
polkit_up() {
    local rc=0
    pgrep -x polkitd >/dev/null 2>&1 || return 1
    pkcheck --action-id org.freedesktop.policykit.exec --process $$ >/dev/null 2>&1 || rc=$?
    [ "$rc" -le 3 ]
}
libvirt_up() {
    pgrep -x libvirtd >/dev/null 2>&1 && virsh -c qemu:///system version >/dev/null 2>&1
}

backup=false
if [ "${1:-}" = backup ]; then backup=true; fi
# The backup benchmark asks libvirt only.
if { ! $backup && ! polkit_up; } || ! libvirt_up; then
    if [ -x scripts/start-services.sh ]; then
        log "polkitd or libvirtd is not running; running scripts/start-services.sh"
        scripts/start-services.sh >&2 || true
    fi
    $backup || polkit_up || die "polkitd is not running or not reachable on the system bus" \
        "(start dbus and polkitd: systemctl start dbus polkit)"
    libvirt_up || die "libvirtd is not running or does not answer (start it: systemctl start libvirtd)"
fi
$backup || [ -f /usr/share/polkit-1/actions/org.hypernixos.policy ] \
    || die "the broker's polkit actions are not installed:" \
        "copy polkit/org.hypernixos.policy to /usr/share/polkit-1/actions/"

SWIFT=${SWIFT:-$(command -v swift || true)}
[ -n "$SWIFT" ] || die "swift is not on root's PATH: run it as 'SWIFT=/path/to/swift $0'"

build=(--configuration release --scratch-path .build-release)
if $backup; then
    log "building hv-bench (release, .build-release; 15-30 minutes on 2 cores the first time)"
    "$SWIFT" build "${build[@]}" --product hv-bench >&2
    bin=$("$SWIFT" build "${build[@]}" --show-bin-path)
    shift
    exec "$bin/hv-bench" backup "$@"
fi
log "building hv-broker and hv-bench (release, .build-release; about 30 minutes on 2 cores the first time)"
"$SWIFT" build "${build[@]}" --product hv-broker >&2
"$SWIFT" build "${build[@]}" --product hv-bench >&2
# The monitor benchmark runs the hv-monitor program beside hv-bench too.
if [ "${1:-}" = monitor ]; then "$SWIFT" build "${build[@]}" --product hv-monitor >&2; fi
bin=$("$SWIFT" build "${build[@]}" --show-bin-path)

# The subcommand comes first; --broker is its option.
subcommand=()
case "${1:-}" in broker | monitor | pressure | audit | request) subcommand=("$1"); shift ;; esac
exec "$bin/hv-bench" "${subcommand[@]}" --broker "$bin/hv-broker" "$@"
