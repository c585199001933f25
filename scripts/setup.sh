#!/usr/bin/env bash
# Sets up and starts Hyper-NixOS on a fresh Debian machine in its default configuration:
# dependencies, the system services (D-Bus, polkitd, libvirtd) where no systemd runs them,
# the polkit policies and rules, the operator groups, the binaries, the broker on
# /run/hypervisor/broker.sock, and the monitor (hv-monitor, as its own unprivileged user in
# hypervisor-viewers) serving http://127.0.0.1:9478/metrics. Safe to run again: it restarts
# the monitor it started before and keeps an existing /etc/hypervisor/monitor.yaml.
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

# Installs SOURCE as DESTINATION with MODE, unless it is already there. The new file is written
# beside the old one and renamed over it: polkitd reloads its rules and actions as soon as a file
# in its directories changes, and could otherwise read a half-written file (and then refuse every
# request until the next change); a running executable can't be overwritten in place either.
install_file() {
    local mode=$1 source=$2 destination=$3
    cmp -s "$source" "$destination" && return 0
    install -m "$mode" "$source" "$(dirname "$destination")/.$(basename "$destination").new"
    mv -f "$(dirname "$destination")/.$(basename "$destination").new" "$destination"
}

log "building (release)"
swift build -c release --product hv
swift build -c release --product hv-broker
swift build -c release --product hv-monitor
bin="$(swift build -c release --show-bin-path)"
for program in hv hv-broker hv-monitor; do
    install_file 0755 "$bin/$program" "/usr/local/bin/$program"
done

for group in hypervisor-viewers hypervisor-operators hypervisor-admins; do
    groupadd -f --system "$group"
done
# The monitor's own system user (systemd/hypervisor-groups.conf): no login, no home of its own
# beyond its state directory, a viewer of the broker and nothing more.
groupadd -f --system hv-monitor
if ! id hv-monitor >/dev/null 2>&1; then
    log "creating the system user hv-monitor"
    useradd --system --gid hv-monitor --home-dir /var/lib/hv-monitor --no-create-home \
        --shell /usr/sbin/nologin --comment "Hyper-NixOS monitor" hv-monitor
fi
usermod -aG hypervisor-viewers hv-monitor

log "installing the polkit policies and rules"
install_file 0644 polkit/org.hypernixos.policy /usr/share/polkit-1/actions/org.hypernixos.policy
# The monitor's actions name the user hv-monitor as their owner (created above).
install_file 0644 polkit/org.hypernixos.monitor.policy /usr/share/polkit-1/actions/org.hypernixos.monitor.policy
install_file 0644 polkit/50-hypernixos.rules /etc/polkit-1/rules.d/50-hypernixos.rules

install -d -m 0755 /var/lib/hypervisor /var/lib/hypervisor/isos
install -d -m 0711 /var/lib/hypervisor/images
install -d -m 0750 /var/log/hypervisor /var/log/hypervisor/console
install -d -m 0750 -o hv-monitor -g hv-monitor /var/lib/hv-monitor
install -d -m 0755 /etc/hypervisor
# METRICS.md, ALERTING.md, the example configuration, Prometheus rules, the Grafana dashboard.
install -d -m 0755 /usr/share/doc/hyper-nixos/monitoring
install -m 0644 docs/monitoring/* /usr/share/doc/hyper-nixos/monitoring/

# The network machines join when their spec names none (the host policy's default_network).
# Debian ships libvirt's "default" NAT network in a separate package; define it when it is
# missing. A host whose 192.168.122.0/24 is taken keeps going with a warning.
if ! virsh -q -c qemu:///system net-info default >/dev/null 2>&1; then
    log "defining the NAT network 'default' (192.168.122.1/24)"
    virsh -q -c qemu:///system net-define scripts/default-network.xml >/dev/null
    virsh -q -c qemu:///system net-autostart default >/dev/null
fi
if ! virsh -q -c qemu:///system net-info default 2>/dev/null | grep -Eq '^Active: +yes'; then
    virsh -q -c qemu:///system net-start default >/dev/null \
        || echo "setup: warning: the network 'default' did not start; see 'virsh net-start default'" >&2
fi

# The monitor's configuration: kept when it exists; otherwise the defaults (the shipped alert
# rules, no channels, so alerts are recorded and listed but sent nowhere).
if [ ! -e /etc/hypervisor/monitor.yaml ]; then
    log "writing /etc/hypervisor/monitor.yaml (defaults; see /usr/share/doc/hyper-nixos/monitoring/monitor.example.yaml)"
    install -m 0644 /dev/null /etc/hypervisor/monitor.yaml
    cat > /etc/hypervisor/monitor.yaml <<'YAML'
# hv-monitor settings. Every key is optional;
# /usr/share/doc/hyper-nixos/monitoring/monitor.example.yaml shows them all.
listen: 127.0.0.1:9478
interval: 15s
health_interval: 60s
alerting:
  # No rules key: the shipped default rules. Add channels and routes to send notifications.
  channels: []
  routes: {}
YAML
fi

if [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]; then
    log "installing systemd units (socket activation)"
    sed 's#/usr/bin/hv-broker#/usr/local/bin/hv-broker#' systemd/hv-broker.service > /etc/systemd/system/hv-broker.service
    install -m 0644 systemd/hv-broker.socket /etc/systemd/system/hv-broker.socket
    install -m 0644 systemd/hypervisor.conf /etc/tmpfiles.d/hypervisor.conf
    install -m 0644 systemd/hypervisor-groups.conf /etc/sysusers.d/hypervisor-groups.conf
    sed 's#/usr/bin/hv-monitor#/usr/local/bin/hv-monitor#' systemd/hv-monitor.service > /etc/systemd/system/hv-monitor.service
    sed 's#/usr/bin/hv #/usr/local/bin/hv #' systemd/hypernixos-autostart.service > /etc/systemd/system/hypernixos-autostart.service
    systemctl daemon-reload
    # At every boot: the machines whose spec enables autostart, in order.
    systemctl enable hypernixos-autostart.service
    systemctl enable --now hv-broker.socket
    # A broker already running keeps its old binary until restarted; a stopped one stays stopped.
    systemctl try-restart hv-broker.service
    systemctl enable hv-monitor.service
    systemctl restart hv-monitor.service
else
    # No systemd: run the broker itself; it binds the socket (mode 0666, polkit decides).
    # A broker this script started earlier whose binary has since been replaced is stopped first,
    # so the new build answers (the monitor needs the broker's Host.Stats and Host.Health).
    for old in $(pgrep -fx /usr/local/bin/hv-broker); do
        if [ "$(readlink "/proc/$old/exe")" = "/usr/local/bin/hv-broker (deleted)" ]; then
            log "stopping the broker started earlier from a replaced binary (pid $old)"
            kill -TERM "$old"
            for _ in $(seq 100); do kill -0 "$old" 2>/dev/null || break; sleep 0.1; done
        fi
    done
    if ! pgrep -fx /usr/local/bin/hv-broker >/dev/null; then
        log "starting hv-broker (log: /var/log/hypervisor/broker.log)"
        setsid /usr/local/bin/hv-broker >>/var/log/hypervisor/broker.log 2>&1 < /dev/null &
    fi
    # Wait until the socket accepts connections (a file left by an earlier run does not count).
    broker_up() {
        python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])' \
            /run/hypervisor/broker.sock 2>/dev/null
    }
    for _ in $(seq 100); do broker_up && break; sleep 0.1; done
    broker_up || { echo "setup: the broker did not start; see /var/log/hypervisor/broker.log" >&2; exit 1; }

    # The monitor, as hv-monitor. A monitor this script started before is stopped first (its
    # runuser's pid is recorded in a root-owned file and checked against the command line), so
    # the new binary and configuration take effect. Nothing else is touched.
    monitor=(/usr/local/bin/hv-monitor --config /etc/hypervisor/monitor.yaml)
    pidfile=/run/hv-monitor-setup.pid
    if [ -f "$pidfile" ]; then
        old="$(cat "$pidfile")"
        if [[ "$old" =~ ^[0-9]+$ ]] && tr '\0' ' ' < "/proc/$old/cmdline" 2>/dev/null \
            | grep -qxF "runuser -u hv-monitor -- ${monitor[*]} "; then
            # SIGTERM to hv-monitor itself lets it shut down gracefully; runuser then exits.
            log "stopping the monitor started earlier (pid $old)"
            kill -TERM $(pgrep -P "$old" -u hv-monitor -x hv-monitor || echo "$old")
            for _ in $(seq 100); do kill -0 "$old" 2>/dev/null || break; sleep 0.1; done
        fi
        rm -f "$pidfile"
    fi
    install -d -m 0755 -o hv-monitor -g hv-monitor /run/hv-monitor
    log "starting hv-monitor as hv-monitor (log: /var/log/hypervisor/monitor.log)"
    setsid runuser -u hv-monitor -- "${monitor[@]}" >>/var/log/hypervisor/monitor.log 2>&1 < /dev/null &
    echo $! > "$pidfile"
fi

# The monitor answers once its listener is up; the first collection follows at once.
# Exit status: 0 answered with the broker up, 2 answered without it, 1 no answer.
monitor_up() {
    python3 - <<'PY'
import re, sys, urllib.request
try:
    with urllib.request.urlopen("http://127.0.0.1:9478/metrics", timeout=2) as reply:
        text = reply.read().decode()
except OSError:
    sys.exit(1)
sys.exit(0 if re.search(r"^hv_monitor_broker_up 1(\.0)?$", text, re.MULTILINE) else 2)
PY
}
status=1
for _ in $(seq 150); do
    status=0; monitor_up || status=$?
    [ "$status" -eq 0 ] && break
    sleep 0.2
done
case "$status" in
    0) ;;
    2) echo "setup: the monitor answers on http://127.0.0.1:9478/metrics but cannot reach the broker" \
        "(hv_monitor_broker_up is 0); see /var/log/hypervisor/monitor.log" >&2; exit 1 ;;
    *) echo "setup: the monitor did not answer on http://127.0.0.1:9478/metrics;" \
        "see /var/log/hypervisor/monitor.log (or journalctl -u hv-monitor)" >&2; exit 1 ;;
esac
log "the monitor answers on http://127.0.0.1:9478/metrics and reaches the broker"

# Without systemd nothing runs hypernixos-autostart.service at boot, so the first setup after a
# boot starts the machines whose spec enables autostart, in order (the marker lives in /run,
# which a boot empties).
if [ "$(cat /proc/1/comm 2>/dev/null)" != systemd ] && [ ! -e /run/hypervisor/autostart.done ]; then
    log "starting the machines whose spec enables autostart, in order"
    if /usr/local/bin/hv host autostart; then
        install -d -m 0755 /run/hypervisor && touch /run/hypervisor/autostart.done
    else
        echo "setup: warning: some autostart machines did not start (see the table above)" >&2
    fi
fi

/usr/local/bin/hv host info
cat <<MSG

setup: done. The broker listens on /run/hypervisor/broker.sock.
  Let a user run machines:   usermod -aG hypervisor-operators USER    (viewers: hypervisor-viewers)
  Put boot images here:      /var/lib/hypervisor/isos/NAME.iso
  Then, as that user:        hv vm create web --memory 1G --disk 10G --iso NAME.iso && hv vm start web

The monitor (hv-monitor, running as the user hv-monitor) collects every 15 s and serves
Prometheus metrics on http://127.0.0.1:9478/metrics. Its settings: /etc/hypervisor/monitor.yaml
(example with email and webhook channels: /usr/share/doc/hyper-nixos/monitoring/monitor.example.yaml).
  Health checks:             hv health                  (--json for scripts)
  Host history, last day:    hv metrics show host       (or a VM's name; --since 7d, --csv, --json)
  Alerts and notifications:  hv alerts list
  Operators also:            hv alerts test, hv alerts silence RULE --for 2h
MSG
