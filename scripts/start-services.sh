#!/usr/bin/env bash
# Start the system services the integration tests talk to: the system D-Bus,
# polkitd and libvirtd (with virtlogd). Uses systemctl when systemd is PID 1,
# otherwise starts the daemons directly. Safe to run repeatedly. Run as root.
set -euo pipefail

export PATH="$PATH:/usr/sbin:/sbin"
TIMEOUT=${START_SERVICES_TIMEOUT:-30}
# The daemons outlive whoever starts them: a test run's temporary directory, removed when the run
# ends, must not become theirs (libvirtd's swtpm_setup writes its certificates under TMPDIR).
unset TMPDIR TMP TEMP

log() { echo "start-services: $*"; }
die() { echo "start-services: error: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must be run as root"

# A process counts as running unless it is a zombie: without a reaping PID 1, killed daemons
# linger as zombies that pgrep would still list.
running() { ps -C "$1" -o stat= 2>/dev/null | grep -qv '^Z'; }

bus_up() {
    dbus-send --system --dest=org.freedesktop.DBus --type=method_call --print-reply \
        /org/freedesktop/DBus org.freedesktop.DBus.GetId >/dev/null 2>&1
}

# pkcheck exits 0-3 when polkitd gave an answer, 127 on errors such as
# "cannot connect".
polkit_up() {
    local rc=0
    pkcheck --action-id org.freedesktop.policykit.exec --process $$ >/dev/null 2>&1 || rc=$?
    [ "$rc" -le 3 ]
}

libvirt_up() { virsh -c qemu:///system version >/dev/null 2>&1; }

# Poll a check function until it succeeds or the timeout expires.
wait_for() {
    local what=$1 check=$2 i
    for ((i = 0; i < TIMEOUT * 5; i++)); do
        "$check" && { log "$what is ready"; return 0; }
        sleep 0.2
    done
    return 1
}

ensure_libvirt_accounts() {
    # libvirt's QEMU driver runs guests as libvirt-qemu:libvirt-qemu; Debian
    # normally creates these in libvirt-daemon-system, which is not installed.
    getent group kvm >/dev/null || { groupadd --system kvm; log "created group kvm"; }
    getent group libvirt >/dev/null || { groupadd --system libvirt; log "created group libvirt"; }
    # Debian's allocated id for libvirt-qemu is 64055 (used when free).
    if ! getent group libvirt-qemu >/dev/null; then
        local gopt=()
        getent group 64055 >/dev/null || gopt=(--gid 64055)
        groupadd --system "${gopt[@]}" libvirt-qemu
        log "created group libvirt-qemu"
    fi
    if ! getent passwd libvirt-qemu >/dev/null; then
        local uopt=()
        getent passwd 64055 >/dev/null || uopt=(--uid 64055)
        # (useradd warns that 64055 > SYS_UID_MAX; only show output on failure)
        local out
        out=$(useradd --system "${uopt[@]}" --gid libvirt-qemu --groups kvm --home-dir /var/lib/libvirt \
            --no-create-home --shell /usr/sbin/nologin --comment "Libvirt Qemu" libvirt-qemu 2>&1) \
            || die "useradd libvirt-qemu failed: $out"
        log "created user libvirt-qemu"
    fi
}

start_libvirt_direct() {
    mkdir -p /var/log/libvirt /var/run/libvirt
    if running virtlogd && [ -S /run/libvirt/virtlogd-sock ]; then
        log "virtlogd already running"
    else
        LIBVIRT_LOG_OUTPUTS="3:file:/var/log/libvirt/virtlogd.log" virtlogd -d
        log "started virtlogd"
    fi
    if running libvirtd && [ -S /run/libvirt/libvirt-sock ]; then
        log "libvirtd already running"
    else
        LIBVIRT_LOG_OUTPUTS="3:file:/var/log/libvirt/libvirtd.log" libvirtd -d
        log "started libvirtd (log: /var/log/libvirt/libvirtd.log)"
    fi
}

if [ -d /run/systemd/system ] && [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]; then
    log "systemd is PID 1; using systemctl"
    # libvirt-qemu must exist before libvirtd starts, or its QEMU driver fails.
    ensure_libvirt_accounts
    for unit in dbus polkit; do
        if systemctl start "$unit" 2>/dev/null; then
            log "started $unit (systemctl)"
        else
            log "warning: systemctl start $unit failed"
        fi
    done
    # libvirt's units ship in libvirt-daemon-system, which may be absent.
    if systemctl start virtlogd libvirtd 2>/dev/null; then
        log "started virtlogd libvirtd (systemctl)"
    else
        log "no usable libvirtd unit; starting libvirt directly"
        start_libvirt_direct
    fi
else
    log "systemd is not PID 1; starting daemons directly"

    # System D-Bus.
    if bus_up; then
        log "system D-Bus already running"
    else
        mkdir -p /run/dbus
        dbus-uuidgen --ensure
        # A stale pid file (daemon gone) makes dbus-daemon refuse to start.
        if [ -f /run/dbus/pid ] && ! kill -0 "$(cat /run/dbus/pid 2>/dev/null)" 2>/dev/null; then
            rm -f /run/dbus/pid /run/dbus/system_bus_socket
        fi
        dbus-daemon --system --fork
        log "started dbus-daemon --system"
    fi
    wait_for "system D-Bus" bus_up || die "system D-Bus did not come up within ${TIMEOUT}s"

    # polkitd (fully detached, so it survives this shell).
    if running polkitd; then
        log "polkitd already running"
    else
        setsid /usr/lib/polkit-1/polkitd --no-debug </dev/null >>/var/log/polkitd.log 2>&1 &
        log "started polkitd (log: /var/log/polkitd.log)"
    fi

    # libvirt (the libvirt-qemu account must exist before libvirtd starts).
    ensure_libvirt_accounts
    start_libvirt_direct
fi

wait_for "polkitd" polkit_up \
    || die "polkitd not reachable via pkcheck within ${TIMEOUT}s (see /var/log/polkitd.log)"
wait_for "libvirtd" libvirt_up \
    || die "'virsh -c qemu:///system version' did not answer within ${TIMEOUT}s (see /var/log/libvirt/)"
log "all services up"
