import Foundation
import HVLibvirt
import XMLCoder

/// The machine `hv-bench backup` backs up: a TCG guest (domain type `qemu`) on `qemu:///system`
/// with one qcow2 disk `vda`, the test guest's busybox ISO as a CD-ROM it boots from, and its
/// serial port on a Unix socket, where `GuestConsole` types into its shell.
///
/// Encoded with `XMLEncoder`, which escapes every value; the paths are the benchmark's own
/// scratch directory, never input.
struct BackupGuest {
    static let name = "hv-bench-bk-guest"

    let domain: Domain
    /// The domain XML it was defined with, recorded in each backup's manifest.
    let xml: String

    /// Defines (does not start) the guest.
    init(connection: Connection, disk: String, iso: String, consoleSocket: String) throws(BenchError) {
        do {
            let encoder = XMLEncoder()
            encoder.outputFormatting = [.prettyPrinted]
            encoder.prettyPrintIndentation = .spaces(2)
            let definition = GuestDomain(name: Self.name, disk: disk, iso: iso, consoleSocket: consoleSocket)
            xml = String(decoding: try encoder.encode(definition, withRootKey: "domain"), as: UTF8.self)
        } catch {
            throw BenchError(.measurementFailed, "cannot encode the guest's domain XML: \(error)")
        }
        do {
            domain = try connection.defineDomain(xml: xml)
        } catch {
            throw BenchError(.serviceUnavailable, "libvirt does not define the guest \(Self.name): \(error.message)")
        }
    }

    func start() throws(BenchError) {
        do {
            try domain.start()
        } catch {
            throw BenchError(.measurementFailed, "libvirt does not start \(Self.name): \(error.message)")
        }
    }

    /// The running guest's QEMU process, from the pid file libvirt keeps for it; nil when there is none.
    func qemuProcess() -> Int32? {
        (try? String(contentsOfFile: "/run/libvirt/qemu/\(Self.name).pid", encoding: .utf8)).flatMap {
            Int32($0.trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }

    /// Stops the guest at once; a guest already stopped is what was wanted.
    func stop() throws(BenchError) {
        do {
            if try domain.isActive() { try domain.destroy() }
        } catch {
            throw BenchError(.measurementFailed, "libvirt does not stop \(Self.name): \(error.message)")
        }
    }

    /// Stops and undefines the guest called `name` on `connection`, with its checkpoints'
    /// records; the disk images and their bitmaps go with the scratch directory. Returns whether
    /// there was one.
    @discardableResult
    static func remove(from connection: Connection) -> Bool {
        guard let domain = try? connection.domain(named: name) else { return false }
        if (try? domain.isActive()) == true { try? domain.destroy() }
        try? domain.undefine()
        return true
    }
}

/// `<domain type="qemu">`: 1 vCPU, 256 MiB, BIOS on the `pc` machine, booting the CD-ROM.
private struct GuestDomain: XMLAttributes {
    static var attributeKeys: Set<String> { ["type"] }

    var type = "qemu"
    var name: String
    var memory = TestDomain.Sized(unit: "MiB", value: 256)
    var vcpu = 1
    var os = OS()
    var features = Features()
    var devices: Devices

    init(name: String, disk: String, iso: String, consoleSocket: String) {
        self.name = name
        devices = Devices(
            disk: [
                // cache="none", as the broker defines its machines' disks.
                Disk(device: "disk", driver: .init(type: "qcow2", cache: "none"), source: .init(file: disk), target: .init(dev: "vda", bus: "virtio")),
                Disk(device: "cdrom", driver: .init(type: "raw"), source: .init(file: iso), target: .init(dev: "hdc", bus: "ide"), readonly: Flag()),
            ],
            serial: Serial(source: .init(path: consoleSocket))
        )
    }

    struct OS: Encodable {
        var type = OSType()
        var boot = [Boot(dev: "cdrom"), Boot(dev: "hd")]

        struct OSType: XMLAttributes {
            static var attributeKeys: Set<String> { ["arch", "machine"] }
            var arch = "x86_64"
            var machine = "pc"
            var value = "hvm"
            enum CodingKeys: String, CodingKey {
                case arch, machine
                case value = ""
            }
        }

        struct Boot: XMLAttributes {
            static var attributeKeys: Set<String> { ["dev"] }
            var dev: String
        }
    }

    /// An element that is there or not, such as `<acpi/>`.
    struct Flag: Encodable {}

    struct Features: Encodable {
        var acpi = Flag()
    }

    struct Devices: Encodable {
        var disk: [Disk]
        var serial: Serial
    }

    struct Disk: XMLAttributes {
        static var attributeKeys: Set<String> { ["type", "device"] }
        var type = "file"
        var device: String
        var driver: Driver
        var source: TestDomain.Disk.Source
        var target: TestDomain.Disk.Target
        var readonly: Flag?

        struct Driver: XMLAttributes {
            static var attributeKeys: Set<String> { ["name", "type", "cache"] }
            var name = "qemu"
            var type: String
            var cache: String?
        }
    }

    /// `<serial type="unix">`: QEMU listens on the socket (`mode="bind"`).
    struct Serial: XMLAttributes {
        static var attributeKeys: Set<String> { ["type"] }
        var type = "unix"
        var source: Source
        var target = Target()

        struct Source: XMLAttributes {
            static var attributeKeys: Set<String> { ["mode", "path"] }
            var mode = "bind"
            var path: String
        }

        struct Target: XMLAttributes {
            static var attributeKeys: Set<String> { ["port"] }
            var port = 0
        }
    }
}
