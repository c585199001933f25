#!/usr/bin/env bash
# Sets up and starts Hyper-NixOS on a fresh Debian machine in its default configuration:
# dependencies, the system services (D-Bus, polkitd, libvirtd) where no systemd runs them,
# the polkit policies and rules, the operator groups, the binaries, the broker on
# /run/hypervisor/broker.sock, and the monitor (hv-monitor, as its own unprivileged user in
# hypervisor-viewers) serving http://127.0.0.1:9478/metrics to those who send the token in
# /etc/hypervisor/metrics.token (root:hypervisor-viewers, 0640). Safe to run again: it restarts
# the monitor it started before, keeps the token and an existing /etc/hypervisor/monitor.yaml
# (adding the token's web section to one that has none).
#
#   scripts/setup.sh        (as root)
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "setup: $*"; }
[ "$(id -u)" -eq 0 ] || { echo "setup: run scripts/setup.sh as root" >&2; exit 1; }
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
install -d -m 0700 /var/lib/hypervisor/backups
install -d -m 0750 /var/log/hypervisor /var/log/hypervisor/console
install -d -m 0750 -o hv-monitor -g hv-monitor /var/lib/hv-monitor
install -d -m 0755 /etc/hypervisor
# METRICS.md, ALERTING.md, the example configuration, Prometheus rules, the Grafana dashboard.
install -d -m 0755 /usr/share/doc/hyper-nixos/monitoring
install -m 0644 docs/monitoring/* /usr/share/doc/hyper-nixos/monitoring/

# The backup repositories the broker opens at start (hv-broker --backup-config): kept when the
# file exists; otherwise one local repository under the state directory. docs/BACKUPS.md,
# "Using backups", shows the format, a NAS repository and encryption.
install -d -m 0755 /etc/hypernixos
if [ ! -e /etc/hypernixos/backup.yaml ]; then
    log "writing /etc/hypernixos/backup.yaml (one local repository in /var/lib/hypervisor/backups)"
    install -m 0644 /dev/null /etc/hypernixos/backup.yaml
    cat > /etc/hypernixos/backup.yaml <<YAML
# Backup repositories: clients name them (hv backup create NAME --repository local).
# Add key_file: /etc/hypernixos/backup.key (made with 'hv-broker backup-key generate PATH')
# to encrypt a new repository; restart hv-broker after a change.
repositories:
  local:
    path: /var/lib/hypervisor/backups
YAML
fi

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

# The /metrics token: scrapers send it as "Authorization: Bearer TOKEN". Readable by root and
# hypervisor-viewers (hv-monitor is one), by nobody else; kept when it exists. The new file gets
# its owner and mode before it gets its content.
token_file=/etc/hypervisor/metrics.token
if [ ! -s "$token_file" ]; then
    log "writing a new /metrics token to $token_file"
    install -m 0640 -o root -g hypervisor-viewers /dev/null "$token_file.new"
    od -An -N32 -tx1 /dev/urandom | tr -d ' \n' > "$token_file.new"
    echo >> "$token_file.new"
    mv -f "$token_file.new" "$token_file"
fi
chown root:hypervisor-viewers "$token_file"
chmod 0640 "$token_file"

# The monitor's configuration: kept when it exists; otherwise the defaults (the shipped alert
# rules, no channels, so alerts are recorded and listed but sent nowhere). Either way it names
# the token: one written before /metrics required it gets the web section added at its end.
web_section='# Who may read /metrics: requests must send the token in this file as
# "Authorization: Bearer TOKEN" (/usr/share/doc/hyper-nixos/monitoring/METRICS.md).
web:
  bearer_token_file: /etc/hypervisor/metrics.token'
if [ ! -e /etc/hypervisor/monitor.yaml ]; then
    log "writing /etc/hypervisor/monitor.yaml (defaults; see /usr/share/doc/hyper-nixos/monitoring/monitor.example.yaml)"
    install -m 0644 /dev/null /etc/hypervisor/monitor.yaml
    cat > /etc/hypervisor/monitor.yaml <<YAML
# hv-monitor settings. Every key is optional;
# /usr/share/doc/hyper-nixos/monitoring/monitor.example.yaml shows them all.
listen: 127.0.0.1:9478
$web_section
interval: 15s
health_interval: 60s
alerting:
  # No rules key: the shipped default rules. Add channels and routes to send notifications.
  channels: []
  routes: {}
YAML
elif ! grep -qE '^web[[:space:]]*:' /etc/hypervisor/monitor.yaml; then
    log "adding the web section (the /metrics token) to /etc/hypervisor/monitor.yaml"
    cp -p /etc/hypervisor/monitor.yaml /etc/hypervisor/.monitor.yaml.new
    # A last line without its newline would run into the new key.
    [ -z "$(tail -c 1 /etc/hypervisor/.monitor.yaml.new)" ] || echo >> /etc/hypervisor/.monitor.yaml.new
    printf '\n%s\n' "$web_section" >> /etc/hypervisor/.monitor.yaml.new
    mv -f /etc/hypervisor/.monitor.yaml.new /etc/hypervisor/monitor.yaml
fi

if [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]; then
    log "installing systemd units (socket activation)"
    sed 's#/usr/bin/hv-broker#/usr/local/bin/hv-broker#' systemd/hv-broker.service > /etc/systemd/system/hv-broker.service
    install -m 0644 systemd/hv-broker.socket /etc/systemd/system/hv-broker.socket
    install -m 0644 systemd/hypervisor.conf /etc/tmpfiles.d/hypervisor.conf
    install -m 0644 systemd/hypervisor-groups.conf /etc/sysusers.d/hypervisor-groups.conf
    sed 's#/usr/bin/hv-monitor#/usr/local/bin/hv-monitor#' systemd/hv-monitor.service > /etc/systemd/system/hv-monitor.service
    sed 's#/usr/bin/hv #/usr/local/bin/hv #' systemd/hypernixos-autostart.service > /etc/systemd/system/hypernixos-autostart.service
    # Copies off the host, per remote of backup.yaml: systemctl enable --now hypernixos-backup-sync@NAME.timer
    sed 's#/usr/bin/hv-broker#/usr/local/bin/hv-broker#' 'systemd/hypernixos-backup-sync@.service' > '/etc/systemd/system/hypernixos-backup-sync@.service'
    install -m 0644 'systemd/hypernixos-backup-sync@.timer' '/etc/systemd/system/hypernixos-backup-sync@.timer'
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
    # The broker and the monitor this script starts are tracked by pidfiles in /run, which only
    # root can write; a recorded pid counts only while it still names the process recorded (owner
    # and executable), so neither a user's process named hv-broker nor a recycled pid is taken for
    # the broker. A broker whose binary has since been replaced is stopped first, so the new build
    # answers (the monitor needs the broker's Host.Stats and Host.Health).
    broker_pidfile=/run/hv-broker-setup.pid
    # The pid in PIDFILE if the file is root's own regular file and the pid is a live process
    # of USER running EXE (or EXE since replaced).
    tracked() {
        local pidfile="$1" user="$2" exe="$3" pid
        [ -f "$pidfile" ] && [ ! -L "$pidfile" ] && [ "$(stat -c %u "$pidfile")" = 0 ] || return 0
        pid="$(cat "$pidfile")"
        [[ "$pid" =~ ^[0-9]+$ ]] && [ "$(stat -c %U "/proc/$pid" 2>/dev/null)" = "$user" ] || return 0
        case "$(readlink "/proc/$pid/exe")" in
            "$exe" | "$exe (deleted)") echo "$pid" ;;
        esac
    }
    record() { # PIDFILE PID: written whole, then renamed into place
        echo "$2" > "$1.new" && mv -f "$1.new" "$1"
    }
    old="$(tracked "$broker_pidfile" root /usr/local/bin/hv-broker)"
    if [ -z "$old" ] && [ ! -e "$broker_pidfile" ]; then
        # A broker started before pidfiles were kept: root's own process running the installed
        # binary, adopted once so that two brokers never share the socket and the audit log.
        for pid in $(pgrep -u 0 -x hv-broker); do
            case "$(readlink "/proc/$pid/exe")" in
                /usr/local/bin/hv-broker | "/usr/local/bin/hv-broker (deleted)") old="$pid"; record "$broker_pidfile" "$pid" ;;
            esac
        done
    fi
    if [ -n "$old" ] && [ "$(readlink "/proc/$old/exe")" = "/usr/local/bin/hv-broker (deleted)" ]; then
        log "stopping the broker started earlier from a replaced binary (pid $old)"
        kill -TERM "$old"
        for _ in $(seq 100); do kill -0 "$old" 2>/dev/null || break; sleep 0.1; done
        old=""
    fi
    if [ -z "$old" ]; then
        log "starting hv-broker (log: /var/log/hypervisor/broker.log)"
        setsid /usr/local/bin/hv-broker >>/var/log/hypervisor/broker.log 2>&1 < /dev/null &
        record "$broker_pidfile" $!
    fi
    # Wait until the socket accepts connections (a file left by an earlier run does not count).
    broker_up() {
        python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])' \
            /run/hypervisor/broker.sock 2>/dev/null
    }
    for _ in $(seq 100); do broker_up && break; sleep 0.1; done
    broker_up || { echo "setup: the broker did not start; see /var/log/hypervisor/broker.log" >&2; exit 1; }

    # The monitor, as hv-monitor. A monitor this script started before is stopped first, so the
    # new binary and configuration take effect. Nothing else is touched.
    monitor=(/usr/local/bin/hv-monitor --config /etc/hypervisor/monitor.yaml)
    monitor_pidfile=/run/hv-monitor-setup.pid
    old="$(tracked "$monitor_pidfile" hv-monitor /usr/local/bin/hv-monitor)"
    if [ -z "$old" ] && [ -f "$monitor_pidfile" ] && [ "$(stat -c %u "$monitor_pidfile")" = 0 ]; then
        # Recorded before the monitor was started in place: the pid is its runuser, a child of which
        # is the monitor.
        runner="$(cat "$monitor_pidfile")"
        if [[ "$runner" =~ ^[0-9]+$ ]] && [ "$(readlink "/proc/$runner/exe")" = /usr/sbin/runuser ]; then
            for pid in $(pgrep -P "$runner" -u hv-monitor -x hv-monitor); do
                case "$(readlink "/proc/$pid/exe")" in
                    /usr/local/bin/hv-monitor | "/usr/local/bin/hv-monitor (deleted)") old="$pid" ;;
                esac
            done
        fi
    fi
    if [ -n "$old" ]; then
        # SIGTERM lets the monitor shut down gracefully.
        log "stopping the monitor started earlier (pid $old)"
        kill -TERM "$old"
        for _ in $(seq 100); do kill -0 "$old" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -f "$monitor_pidfile"
    install -d -m 0755 -o hv-monitor -g hv-monitor /run/hv-monitor
    log "starting hv-monitor as hv-monitor (log: /var/log/hypervisor/monitor.log)"
    # setpriv execs the monitor in place, so the pid recorded is the monitor's own.
    setsid env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/var/lib/hv-monitor USER=hv-monitor LOGNAME=hv-monitor \
        setpriv --reuid=hv-monitor --regid=hv-monitor --init-groups -- "${monitor[@]}" \
        >>/var/log/hypervisor/monitor.log 2>&1 < /dev/null &
    record "$monitor_pidfile" $!
fi

# The monitor answers once its listener is up; the first collection follows at once. The check
# scrapes as Prometheus would, with the token (and over HTTPS when monitor.yaml names a
# certificate), and sends the token only to a listener that belongs to hv-monitor.
# Exit status: 0 answered with the broker up, 2 answered without it, 3 refused the token,
# 4 port 9478 is someone else's, 1 no answer.
monitor_up() {
    python3 - <<'PY'
import pwd, re, ssl, sys, urllib.error, urllib.request
# Comments dropped; a key in block or flow style (web: {bearer_token_file: PATH}).
config = "\n".join(line.split("#")[0] for line in open("/etc/hypervisor/monitor.yaml"))
def setting(key):
    match = re.search(r"(?:^|[\s{,])" + key + r":[ \t]*([^\s,}]+)", config)
    return match and match.group(1).strip("'\"")
listeners = set()
for table in ("/proc/net/tcp", "/proc/net/tcp6"):
    for line in open(table).read().splitlines()[1:]:
        fields = line.split()
        if fields[1].endswith(":%04X" % 9478) and fields[3] == "0A":
            listeners.add(int(fields[7]))
if not listeners:
    sys.exit(1)
if listeners != {pwd.getpwnam("hv-monitor").pw_uid}:
    sys.exit(4)
scheme, context = "http", None
if setting("tls_cert_file"):
    scheme, context = "https", ssl.create_default_context(cafile=setting("tls_cert_file"))
    context.check_hostname = False
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
request = urllib.request.Request(scheme + "://127.0.0.1:9478/metrics")
if setting("allow_unauthenticated") != "true":
    with open(setting("bearer_token_file") or "/etc/hypervisor/metrics.token") as token:
        request.add_header("Authorization", "Bearer " + token.read().strip())
try:
    with urllib.request.urlopen(request, timeout=2, context=context) as reply:
        text = reply.read().decode()
except urllib.error.HTTPError as error:
    sys.exit(3 if error.code == 401 else 1)
except OSError:
    sys.exit(1)
sys.exit(0 if re.search(r"^hv_monitor_broker_up 1(\.0)?$", text, re.MULTILINE) else 2)
PY
}
status=1
for _ in $(seq 150); do
    status=0; monitor_up || status=$?
    [ "$status" -eq 0 ] || [ "$status" -eq 4 ] && break
    sleep 0.2
done
case "$status" in
    0) ;;
    2) echo "setup: the monitor answers on 127.0.0.1:9478/metrics but cannot reach the broker" \
        "(hv_monitor_broker_up is 0); see /var/log/hypervisor/monitor.log" >&2; exit 1 ;;
    3) echo "setup: the monitor refused the token of /etc/hypervisor/monitor.yaml's web.bearer_token_file;" \
        "restart it after changing the token (it reads the file at start)" >&2; exit 1 ;;
    4) echo "setup: port 9478 on 127.0.0.1 belongs to a process that is not hv-monitor;" \
        "stop it (ss -ltnp 'sport = :9478') and run setup again" >&2; exit 1 ;;
    *) echo "setup: the monitor did not answer on 127.0.0.1:9478/metrics;" \
        "see /var/log/hypervisor/monitor.log (or journalctl -u hv-monitor)" >&2; exit 1 ;;
esac
log "the monitor answers on 127.0.0.1:9478/metrics with the token and reaches the broker"

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
Prometheus metrics on http://127.0.0.1:9478/metrics to those who send the token in
/etc/hypervisor/metrics.token (readable by root and hypervisor-viewers only). Prometheus:
  authorization: {type: Bearer, credentials_file: /etc/hypervisor/metrics.token}
in its scrape config (example: /usr/share/doc/hyper-nixos/monitoring/prometheus-scrape.example.yml),
with the prometheus user in hypervisor-viewers or a copy of the token only it can read. By hand:
  curl -H "Authorization: Bearer \$(cat /etc/hypervisor/metrics.token)" http://127.0.0.1:9478/metrics
Its settings: /etc/hypervisor/monitor.yaml
(example with email and webhook channels: /usr/share/doc/hyper-nixos/monitoring/monitor.example.yaml).
  Health checks:             hv health                  (--json for scripts)
  Host history, last day:    hv metrics show host       (or a VM's name; --since 7d, --csv, --json)
  Alerts and notifications:  hv alerts list
  Operators also:            hv alerts test, hv alerts silence RULE --for 2h
MSG
