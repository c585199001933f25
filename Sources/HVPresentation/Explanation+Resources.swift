import HVProtocol

/// What `--explain` prints for snapshots, storage, networks, the ISO library, specs and clones.
extension Explanation {
    public static func apply(_ name: String, file: String) -> Explanation {
        Explanation(
            commands: [
                "qemu-img info --output=json -f qcow2 TEMPLATE.qcow2    # templates are probed with an explicit format",
                "\(uri) vol-create-as hypervisor-images \(name)-DISK.qcow2 SIZE --format qcow2    # for each new disk",
                "\(uri) domcapabilities --machine MACHINE    # with tpm: true: does libvirt list swtpm's emulator backend",
                "\(uri) define \(name).xml    # XML generated from \(file), never written by hand",
                "\(uri) autostart \(name)    # when the spec asks for it",
            ],
            why: "Makes the machine match the spec: creates what is missing, changes the stored definition, and lists what only takes effect at the next boot. A running machine is never destroyed, and machines no spec mentions are never touched.",
            operation: .vmApply
        )
    }

    public static func export(_ name: String) -> Explanation {
        Explanation(
            commands: ["\(uri) dumpxml \(name) --inactive    # the broker reads its spec back from the <metadata> element"],
            why: "Prints the spec the machine was applied from, with the MAC addresses libvirt assigned, so 'hv vm apply' of the output changes nothing.",
            operation: .vmExport
        )
    }

    public static func clone(_ source: String, _ name: String, linked: Bool) -> Explanation {
        Explanation(
            commands: linked
                ? [
                    "qemu-img create -f qcow2 -F qcow2 -b \(source)-DISK.qcow2 \(name)-DISK.qcow2    # via virsh vol-create with <backingStore>",
                    "\(uri) define \(name).xml",
                ]
                : ["virt-clone --original \(source) --name \(name) --auto-clone"],
            why: linked
                ? "A linked clone's disks are copy-on-write overlays of the template's: it is made in a moment and only stores what it changes, but the template must stay."
                : "A full clone copies every disk, so it is independent of the original.",
            operation: .vmClone
        )
    }

    public static func adopt(_ name: String) -> Explanation {
        Explanation(
            commands: ["\(uri) dumpxml \(name)    # read as a spec; the broker records it in <metadata> and defines it again"],
            why: "A domain made outside the broker becomes a managed machine: charged to a group, seen by viewers, changed by its group's operators.",
            operation: .vmAdopt
        )
    }

    public static func makeTemplate(_ name: String) -> Explanation {
        Explanation(
            commands: ["\(uri) dumpxml \(name)    # the broker marks it a template in <metadata>"],
            why: "A template is never started again: its disks become read-only bases that linked clones and spec disks can overlay.",
            operation: .vmMarkTemplate
        )
    }

    public static func autostart(_ name: String, enabled: Bool, order: Int?) -> Explanation {
        Explanation(
            commands: [
                "\(uri) dumpxml \(name)    # the broker writes autostart \(enabled ? "on" : "off")\(order.map { ", order \($0)" } ?? "") into the spec in <metadata>",
                "\(uri) autostart \(name) --disable    # never libvirt's own flag, which starts machines in no order",
            ],
            why: "'hv host autostart', run once at boot, starts machines whose spec says so, lowest order first, so a database comes up before the machines that use it.",
            operation: .vmAutostart
        )
    }

    public static func snapshotList(_ vm: String) -> Explanation {
        Explanation(commands: ["\(uri) snapshot-list \(vm) --tree"], why: "Shows the machine's snapshots as a tree: each one records its parent.", operation: .snapshotList)
    }

    public static func snapshotCreate(_ vm: String, _ name: String) -> Explanation {
        Explanation(
            commands: ["\(uri) snapshot-create-as \(vm) \(name) --description TEXT"],
            why: "Records the machine's disks (and its memory, if it is running) inside its qcow2 images, so you can return to this moment.",
            operation: .snapshotCreate
        )
    }

    public static func snapshotRevert(_ vm: String, _ name: String) -> Explanation {
        Explanation(
            commands: ["\(uri) snapshot-revert \(vm) \(name)"],
            why: "Returns the disks (and the running state, if it was taken running) to the snapshot; everything written since is lost.",
            operation: .snapshotRevert
        )
    }

    public static func snapshotDelete(_ vm: String, _ name: String) -> Explanation {
        Explanation(
            commands: ["\(uri) snapshot-delete \(vm) \(name)"],
            why: "Forgets one snapshot and frees its space; its children keep working and now hang off its parent.",
            operation: .snapshotDelete
        )
    }

    public static func pools() -> Explanation {
        Explanation(commands: ["\(uri) pool-list --all --details"], why: "Lists the storage pools and how full they are.", operation: .poolList)
    }

    public static func volumes(_ pool: String) -> Explanation {
        Explanation(commands: ["\(uri) vol-list \(pool) --details"], why: "Lists the disk images in a pool (never their host paths).", operation: .poolList)
    }

    public static func volumeCreate(_ pool: String, _ name: String, _ size: ByteSize) -> Explanation {
        Explanation(
            commands: ["\(uri) vol-create-as \(pool) \(name) \(size) --format qcow2"],
            why: "Creates a thin qcow2 image: it takes space only as the guest writes.", operation: .volumeCreate
        )
    }

    public static func volumeResize(_ pool: String, _ name: String, _ size: ByteSize) -> Explanation {
        Explanation(
            commands: ["\(uri) vol-resize \(name) \(size) --pool \(pool)"],
            why: "Grows the image; the guest still has to grow its partition and file system. Shrinking is refused because it would cut off data.",
            operation: .volumeResize
        )
    }

    public static func volumeDelete(_ pool: String, _ name: String) -> Explanation {
        Explanation(commands: ["\(uri) vol-delete \(name) --pool \(pool)"], why: "Deletes the image; refused while a machine or an overlay uses it.", operation: .volumeDelete)
    }

    public static func volumeTemplate(_ pool: String, _ name: String) -> Explanation {
        Explanation(
            commands: ["chmod a-w IMAGE    # the broker also records the template in the pool's catalog"],
            why: "A template is read-only from now on, so copy-on-write overlays of it stay consistent.",
            operation: .volumeMarkTemplate
        )
    }

    public static func networks() -> Explanation {
        Explanation(commands: ["\(uri) net-list --all"], why: "Lists the virtual networks machines can join.", operation: .networkList)
    }

    public static func networkCreate(_ name: String, _ address: String) -> Explanation {
        Explanation(
            commands: ["\(uri) net-define \(name).xml    # <forward mode='nat'/>, <ip address=… prefix=…> with a DHCP range", "\(uri) net-start \(name)"],
            why: "Creates a private subnet (\(address)) behind NAT: machines get addresses by DHCP and reach out through the host, but nothing outside reaches in.",
            operation: .networkCreate
        )
    }

    public static func network(_ verb: String, _ name: String, _ operation: BrokerOperation) -> Explanation {
        Explanation(commands: ["\(uri) net-\(verb) \(name)"], why: "Changes the network's state; machines attached to it lose connectivity while it is stopped.", operation: operation)
    }

    public static func leases(_ vm: String) -> Explanation {
        Explanation(commands: ["\(uri) domifaddr \(vm) --source lease"], why: "Shows the addresses libvirt's DHCP server handed to the machine.", operation: .vmLeases)
    }

    /// `source` is a URL to download, or (`local`) a file the caller already has.
    public static func isoAdd(_ source: String, _ name: String, local: Bool = false) -> Explanation {
        Explanation(
            commands: [
                fetchCommand(source, name, local: local),
                "sha256sum \(name)    # compared with --sha256",
                "gpgv --keyring ADMIN-KEYRING \(name).sig \(name)    # when --signature is given",
                "install -m 0644 \(name) /var/lib/hypervisor/isos/    # the broker copies it from the open file you hand it",
            ],
            why: (local ? "You open the file with your own rights" : "You download with your own rights")
                + "; the broker only receives an open file, checks its size and checksum itself, and keeps nothing if they don't match "
                + "or if what it occupies would take the library or your group over its total (its holes take nothing).",
            operation: .isoAdd
        )
    }

    /// `source` is a URL to download, or (`local`) a file the caller already has; `format` is
    /// qcow2 or raw, nil when the image's first bytes decide.
    public static func imageImport(_ source: String, _ name: String, format: String?, local: Bool = false) -> Explanation {
        let declared = format ?? "qcow2"
        return Explanation(
            commands: [
                fetchCommand(source, name, local: local),
                "sha256sum \(name)    # compared with --sha256, on the broker's copy",
                "prlimit --as=1073741824 --cpu=30 -- qemu-img info --output=json -f \(declared) -U \(name)    "
                    + "# refused: a backing file, an external data file, another format, a virtual size over limits.disk",
                (format == "raw" ? "qemu-img convert -f raw -O qcow2 \(name) \(name).qcow2 && " : "")
                    + "install -m 0444 \(name) /var/lib/hypervisor/images/    # the broker copies it from the open file you hand it",
                "\(uri) pool-refresh hypervisor-images    # then 'template: \(name)' in a spec",
            ],
            why: (local ? "You open the file with your own rights" : "You download with your own rights")
                + "; the broker only receives an open file, keeps a read-only template only if its checksum matches and qemu-img "
                + "finds a self-contained image of the stated format, and charges what it occupies to your group's images total "
                + "(its holes take nothing). Machines use it as the base of copy-on-write disks; cloud_init in their spec gives them "
                + "a hostname and your SSH key.",
            operation: .imageImport
        )
    }

    /// How the caller gets the file: opened (`local`) or downloaded, with the caller's own rights.
    private static func fetchCommand(_ source: String, _ name: String, local: Bool) -> String {
        local ? "exec 3< '\(source)'    # opened as you: the broker never sees a path"
            : "curl -fLC - -o \(name) '\(source)'    # as you, not as root"
    }

    public static func isoList() -> Explanation {
        Explanation(commands: ["ls -l /var/lib/hypervisor/isos"], why: "Lists the images machines can boot from, with their checksums.", operation: .isoList)
    }

    public static func isoVerify(_ name: String) -> Explanation {
        Explanation(commands: ["sha256sum /var/lib/hypervisor/isos/\(name)"], why: "Recomputes the checksum and compares it with the one recorded when the image was added.", operation: .isoVerify)
    }

    public static func isoRemove(_ name: String) -> Explanation {
        Explanation(commands: ["rm /var/lib/hypervisor/isos/\(name)"], why: "Removes the image from the library; machines that use it as their CD-ROM will boot without it.", operation: .isoRemove)
    }

    public static func events() -> Explanation {
        Explanation(commands: ["\(uri) event --all --loop --timestamp"], why: "Follows machines starting, stopping, crashing and being defined, as libvirt reports them.", operation: .eventsFollow)
    }
}
