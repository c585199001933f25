#!/usr/bin/env bash
# Build a tiny bootable guest ISO for integration tests.
#
# Usage: make-guest-iso.sh OUTPUT.iso MARKER
#
# The guest boots the Debian kernel (linux-image-amd64) with a busybox
# initramfs and runs an interactive shell (prompt "/ # ") on the serial
# console. On the serial console (ttyS0, 115200) it prints:
#   MARKER                         once userspace is up and the ACPI power
#                                  button is being watched
#   HV-DISK <name> <sectors>       per block device (512-byte sectors); printed
#                                  again whenever a device appears or is resized
#   HV-POWEROFF                    right before powering off on an ACPI
#                                  power-button event (e.g. `virsh shutdown`)
#   HV-HOSTNAME <name>             when a cloud-init NoCloud seed (an ISO 9660
#                                  volume labelled cidata, e.g. a SATA CD-ROM)
#                                  is attached: the local-hostname its
#                                  meta-data names
#   HV-SSH-KEY <key>               the first SSH public key its user-data names
# The image is a hybrid ISO: it also boots as a disk (e.g. converted to qcow2).
# The marker is also written to the first virtual terminal (the screen).
# Needs: busybox-static, grub-pc-bin, grub-common, xorriso, mtools, cpio,
#        gzip, kmod, linux-image-amd64. No network access.
set -euo pipefail

die() { echo "make-guest-iso: error: $*" >&2; exit 1; }

[ $# -eq 2 ] || die "usage: $0 OUTPUT.iso MARKER"
out=$1
marker=$2
[ -n "$marker" ] || die "MARKER must not be empty"
case "$marker" in *$'\n'*) die "MARKER must be a single line" ;; esac

# Locate tools (sbin directories may be missing from PATH for non-root users).
export PATH="$PATH:/usr/sbin:/sbin"
for t in grub-mkrescue xorriso mformat cpio gzip modprobe; do
    command -v "$t" >/dev/null 2>&1 || die "'$t' not found (run scripts/install-deps.sh)"
done
busybox=""
for b in /bin/busybox /usr/bin/busybox; do
    if [ -x "$b" ]; then busybox=$b; break; fi
done
[ -n "$busybox" ] || die "busybox not found (install busybox-static)"
# The initramfs has no libc, so busybox must be statically linked.
if command -v ldd >/dev/null 2>&1 && ldd "$busybox" >/dev/null 2>&1; then
    die "$busybox is dynamically linked (install busybox-static)"
fi
[ -d /usr/lib/grub/i386-pc ] || die "GRUB BIOS files missing (install grub-pc-bin)"

# Newest installed Debian kernel image (not necessarily the running kernel).
kernel=$(printf "%s\n" /boot/vmlinuz-* | sort -V | tail -n1)
[ -n "$kernel" ] && [ -r "$kernel" ] || die "no readable /boot/vmlinuz-* (install linux-image-amd64)"
kver=${kernel#/boot/vmlinuz-}
moddir=/lib/modules/$kver
[ -f "$moddir/modules.dep" ] || die "$moddir/modules.dep missing (reinstall linux-image-$kver)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/guest-iso.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
root=$tmp/initramfs
iso=$tmp/iso
mkdir -p "$root"/{bin,dev,proc,sys,tmp,lib/modules} "$iso/boot/grub"

cp "$busybox" "$root/bin/busybox"
for a in $("$busybox" --list); do
    [ "$a" = busybox ] || ln -sf busybox "$root/bin/$a"
done

# Kernel modules, in dependency order (modular in Debian's config):
# ACPI power button + evdev for shutdown, virtio/SATA/IDE for disks, SATA CD-ROMs
# and ISO 9660 for a cloud-init seed.
: > "$root/lib/modules/load-order"
for m in button evdev virtio_pci virtio_blk ahci ata_piix sd_mod sr_mod isofs; do
    modprobe -S "$kver" --show-depends "$m" 2>/dev/null || die "kernel module '$m' not found for $kver"
done | awk '$1 == "insmod" && !seen[$2]++ { print $2 }' | while read -r path; do
    name=$(basename "$path")
    case "$name" in
        *.ko.xz)  name=${name%.xz};  xz -dc "$path" > "$root/lib/modules/$name" ;;
        *.ko.zst) name=${name%.zst}; zstd -qdc "$path" > "$root/lib/modules/$name" ;;
        *.ko.gz)  name=${name%.gz};  gzip -dc "$path" > "$root/lib/modules/$name" ;;
        *.ko)     cp "$path" "$root/lib/modules/$name" ;;
        *) continue ;;
    esac
    echo "$name" >> "$root/lib/modules/load-order"
done
[ -s "$root/lib/modules/load-order" ] || die "no kernel modules collected"

# The marker is stored in a file so no shell quoting issues arise.
printf '%s\n' "$marker" > "$root/marker"

cat > "$root/init" <<'EOF'
#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/input

# Write a line to the serial port, and to the console if it is elsewhere.
say() {
    printf '%s\n' "$1" > /dev/ttyS0
    grep -q ttyS0 /sys/class/tty/console/active 2>/dev/null || printf '%s\n' "$1" > /dev/console
}

while read -r m; do insmod "/lib/modules/$m" 2>/dev/null; done < /lib/modules/load-order

# Power off on any event from an ACPI power button (it only emits KEY_POWER).
# The device is opened here, before the marker, so no event can be missed;
# the watcher reads one input_event (24 bytes) from its stdin.
watch_button() {
    dd of=/dev/null bs=24 count=1 2>/dev/null || return
    say "HV-POWEROFF"
    sync
    poweroff -f
}
fd=3
for _ in $(seq 1 50); do
    for n in /sys/class/input/event*; do
        [ -e "$n/device/name" ] || continue
        case "$(cat "$n/device/name")" in
            "Power Button")
                eval "exec $fd</dev/input/${n##*/}"
                watch_button <&$fd &
                fd=$((fd + 1)) ;;
        esac
    done
    [ $fd -gt 3 ] && break
    sleep 0.1
done
[ $fd -gt 3 ] || say "HV-WARNING no ACPI power button found"

# The marker means: userspace is up and ACPI shutdown requests are handled. It is also shown on
# the screen (the first virtual terminal), for machines with a display.
say "$(cat /marker)"
printf '%s\n' "$(cat /marker)" > /dev/tty1 2>/dev/null

# Report block devices; re-report when one appears or changes size. In the background, so that
# the shell below runs in the foreground: a background job starts with SIGINT ignored, and so
# would every command typed into it.
(
    sleep 1
    seen=" "
    while :; do
        for d in /sys/block/*; do
            name=${d##*/}
            case "$name" in loop*|ram*|'*') continue ;; esac
            size=$(cat "$d/size" 2>/dev/null) || continue
            case "$seen" in *" $name=$size "*) continue ;; esac
            seen=$(echo "$seen" | sed "s/ $name=[0-9]* / /")"$name=$size "
            say "HV-DISK $name $size"
        done
        sleep 2
    done
) &

# A cloud-init NoCloud seed: the ISO 9660 volume labelled cidata (any such volume holding
# meta-data when blkid can't tell labels). Print the hostname its meta-data names and the first
# SSH key its user-data names, once.
(
    mkdir -p /seed
    for _ in $(seq 1 30); do
        labelled=$(blkid 2>/dev/null | sed -n 's/^\([^:]*\):.*LABEL="cidata".*/\1/p')
        for dev in ${labelled:-/dev/sr* /dev/sd* /dev/vd*}; do
            [ -b "$dev" ] || continue
            mount -t iso9660 -o ro "$dev" /seed 2>/dev/null || continue
            if [ -f /seed/meta-data ]; then
                host=$(sed -n 's/^local-hostname:[[:space:]]*//p' /seed/meta-data | head -n 1)
                say "HV-HOSTNAME ${host:-none}"
                key=$(grep -o 'ssh-[a-z0-9-]* [A-Za-z0-9+/=]*[^"]*' /seed/user-data 2>/dev/null | head -n 1)
                [ -n "$key" ] && say "HV-SSH-KEY $key"
                umount /seed
                exit 0
            fi
            umount /seed
        done
        sleep 1
    done
) &

# An interactive shell on the serial console (`hv console`), with it as its controlling
# terminal (Ctrl-C interrupts what runs in it), started again whenever it exits.
while :; do PS1='/ # ' setsid -c sh -i < /dev/ttyS0 > /dev/ttyS0 2>&1; sleep 1; done
EOF
chmod 755 "$root/init"

(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) | gzip -1 > "$iso/boot/initrd.gz"
cp "$kernel" "$iso/boot/vmlinuz"

cat > "$iso/boot/grub/grub.cfg" <<'EOF'
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
set timeout=0
set default=0
menuentry "hv-test-guest" {
    linux /boot/vmlinuz console=ttyS0,115200 panic=-1 quiet loglevel=3 mitigations=off
    initrd /boot/initrd.gz
}
EOF

mkdir -p "$(dirname "$out")"
grub-mkrescue --compress=no \
    --install-modules="linux normal iso9660 biosdisk serial terminal echo test configfile gzio" \
    --fonts= --locales= --themes= \
    -o "$tmp/out.iso" "$iso" -- -volid HVGUEST >"$tmp/mkrescue.log" 2>&1 \
    || { cat "$tmp/mkrescue.log" >&2; die "grub-mkrescue failed"; }
mv -f "$tmp/out.iso" "$out"
echo "make-guest-iso: wrote $out (kernel $kver)"
