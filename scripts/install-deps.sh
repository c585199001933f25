#!/usr/bin/env bash
# Install the system packages and Python modules needed to build and test
# on Debian 12 (bookworm). Safe to run repeatedly. Must run as root.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: must be run as root" >&2
    exit 1
fi

packages=(
    # build: C libraries wrapped by the Swift targets
    pkg-config
    libvirt-dev
    libsystemd-dev
    libpolkit-gobject-1-dev
    # runtime services used by integration tests
    libvirt-daemon
    libvirt-daemon-driver-qemu
    libvirt-clients
    qemu-system-x86
    qemu-utils
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
    # third-party Varlink client used by tests
    python3-pip
)

export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends "${packages[@]}"

# Install the Python varlink module for whichever python3 is first on PATH.
if python3 -c 'import varlink' 2>/dev/null; then
    echo "install-deps: python varlink module already present"
elif ! python3 -m pip install --quiet varlink 2>/dev/null; then
    # Debian's python refuses plain pip installs (PEP 668).
    python3 -m pip install --quiet --break-system-packages varlink
fi
python3 -c 'import varlink' || { echo "install-deps: python varlink module not importable" >&2; exit 1; }

echo "install-deps: done ($(command -v python3): $(python3 --version 2>&1))"
