#!/usr/bin/env bash
# Sets up and starts Hyper-NixOS on a fresh Debian machine in its default configuration:
# dependencies, the system services (D-Bus, polkitd, libvirtd) where no systemd runs them,
# the polkit policy and rules, the operator groups, the binaries, and the broker on
# /run/hypervisor/broker.sock.
#
#   sudo scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "setup: $*"; }
[ "$(id -u)" -eq 0 ] || { echo "setup: run as root (sudo scripts/setup.sh)" >&2; exit 1; }
[ -x /opt/swift/usr/bin/swift ] && export PATH="/opt/swift/usr/bin:$PATH"
command -v swift >/dev/null || { echo "setup: swift not found; install Swift 6 and put it on PATH" >&2; exit 1; }

scripts/install-deps.sh
scripts/start-services.sh

log "building (release)"
swift build -c release --product hv
swift build -c release --product hv-broker
bin="$(swift build -c release --show-bin-path)"
install -m 0755 "$bin/hv" /usr/local/bin/hv
install -m 0755 "$bin/hv-broker" /usr/local/bin/hv-broker

log "installing the polkit policy and rules"
install -m 0644 polkit/org.hypernixos.policy /usr/share/polkit-1/actions/org.hypernixos.policy
install -m 0644 polkit/50-hypernixos.rules /etc/polkit-1/rules.d/50-hypernixos.rules

for group in hypervisor-viewers hypervisor-operators hypervisor-admins; do
    groupadd -f --system "$group"
done
install -d -m 0755 /var/lib/hypervisor /var/lib/hypervisor/isos
install -d -m 0711 /var/lib/hypervisor/images
install -d -m 0750 /var/log/hypervisor /var/log/hypervisor/console

if [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]; then
    log "installing systemd units (socket activation)"
    sed 's#/usr/bin/hv-broker#/usr/local/bin/hv-broker#' systemd/hv-broker.service > /etc/systemd/system/hv-broker.service
    install -m 0644 systemd/hv-broker.socket /etc/systemd/system/hv-broker.socket
    install -m 0644 systemd/hypervisor.conf /etc/tmpfiles.d/hypervisor.conf
    install -m 0644 systemd/hypervisor-groups.conf /etc/sysusers.d/hypervisor-groups.conf
    systemctl daemon-reload
    systemctl enable --now hv-broker.socket
else
    # No systemd: run the broker itself; it binds the socket (mode 0666, polkit decides).
    if ! pgrep -fx /usr/local/bin/hv-broker >/dev/null; then
        log "starting hv-broker (log: /var/log/hypervisor/broker.log)"
        setsid /usr/local/bin/hv-broker >>/var/log/hypervisor/broker.log 2>&1 < /dev/null &
    fi
    for _ in $(seq 100); do [ -S /run/hypervisor/broker.sock ] && break; sleep 0.1; done
    [ -S /run/hypervisor/broker.sock ] || { echo "setup: the broker did not start; see /var/log/hypervisor/broker.log" >&2; exit 1; }
fi

/usr/local/bin/hv host info
cat <<MSG

setup: done. The broker listens on /run/hypervisor/broker.sock.
  Let a user run machines:   usermod -aG hypervisor-operators USER    (viewers: hypervisor-viewers)
  Put boot images here:      /var/lib/hypervisor/isos/NAME.iso
  Then, as that user:        hv vm create web --memory 1G --disk 10G --iso NAME.iso && hv vm start web
MSG
