#!/usr/bin/env bash
# Install the system packages and Python modules needed to build and test
# on Debian 12 (bookworm). Safe to run repeatedly. Must run as root.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: must be run as root" >&2
    exit 1
fi

packages=(
    # build: GNU ld, which links hv-broker and hv-monitor (Package.swift, serviceLinkerSettings)
    binutils
    # build: C libraries wrapped by the Swift targets
    pkg-config
    libvirt-dev
    libsystemd-dev
    zlib1g-dev
    libpolkit-gobject-1-dev
    libsqlite3-dev
    # the NBD client backups read disks through (qemu-nbd, from qemu-utils below, serves stopped
    # machines' images)
    libnbd-dev
    # copies of backup repositories off the host (hv-broker backup-sync), and the OpenSSH server
    # its tests copy through over SFTP
    rclone
    openssh-server
    # runtime services used by integration tests
    libvirt-daemon
    libvirt-daemon-driver-qemu
    libvirt-clients
    qemu-system-x86
    qemu-utils
    # UEFI firmware for machines with firmware: uefi, and xmllint for virt-xml-validate
    ovmf
    # the TPM emulator libvirt runs for machines with tpm: true; restart a libvirtd that was
    # already running, so that it runs swtpm as the tss user the package adds, not as root
    swtpm
    swtpm-tools
    # NAT networks: libvirt runs dnsmasq for DHCP and iptables for masquerading
    dnsmasq-base
    iptables
    libxml2-utils
    dbus
    polkitd
    pkexec
    systemd
    procps
    passwd
    # test guest ISO (Tests/Fixtures/make-guest-iso.sh)
    linux-image-amd64
    kmod
    busybox-static
    grub-pc-bin
    grub-common
    xorriso
    mtools
    cpio
    gzip
    xz-utils
    zstd
    # ISO library: detached-signature checks (gpgv) and the test signing key (gpg, gpg-agent)
    gpg
    gpg-agent
    gpgv
    # monitoring: promtool checks the shipped Prometheus rules; openssl makes test certificates
    prometheus
    openssl
    # third-party Varlink client, SMTP server and Prometheus parser used by tests; a virtual
    # environment for pexpect and vncdotool
    python3-pip
    python3-venv
    # nix-instantiate evaluates nix/module.nix with ../shared/nixpkgs-lib.tar.gz (NixModuleTests)
    nix-bin
)

export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends "${packages[@]}"

# Python modules for whichever python3 is first on PATH: varlink (a third-party
# Varlink client), aiosmtpd (a real SMTP server with STARTTLS and AUTH) and
# prometheus_client (the reference text-format parser).
python_modules=(varlink aiosmtpd prometheus_client)
if python3 -c 'import varlink, aiosmtpd, prometheus_client' 2>/dev/null; then
    echo "install-deps: python modules already present"
elif ! python3 -m pip install --quiet "${python_modules[@]}" 2>/dev/null; then
    # Debian's python refuses plain pip installs (PEP 668).
    python3 -m pip install --quiet --break-system-packages "${python_modules[@]}"
fi
python3 -c 'import varlink, aiosmtpd, prometheus_client' || {
    echo "install-deps: python modules not importable: ${python_modules[*]}" >&2
    exit 1
}

# The integration tests' users run pexpect (it drives `hv console` through a pseudo-terminal) and
# vncdotool (a VNC viewer the project did not write, for `hv vnc`) from a virtual environment of
# their own, readable by everyone and apart from the system's packages (beside Debian's pyOpenSSL,
# Twisted would load its TLS support and want more).
test_python=/opt/hypernixos-test-python
if "$test_python/bin/python3" -c 'import pexpect, vncdotool.command, PIL' 2>/dev/null; then
    echo "install-deps: $test_python already has pexpect and vncdotool"
else
    /usr/bin/python3 -m venv "$test_python"
    "$test_python/bin/python3" -m pip install --quiet pexpect vncdotool
fi
chmod -R a+rX "$test_python"
"$test_python/bin/python3" -c 'import pexpect, vncdotool.command, PIL' || {
    echo "install-deps: $test_python can't import pexpect and vncdotool" >&2
    exit 1
}

echo "install-deps: done ($(command -v python3): $(python3 --version 2>&1))"
