import HVProtocol
import Testing

/// One broken spec: what is changed, and what the error must say.
struct ValidationCase: Sendable, CustomTestStringConvertible {
    let label: String
    let change: @Sendable (inout MachineSpec) -> Void
    let field: String
    let reason: String
    let fix: String

    init(
        _ label: String, field: String, reason: String, fix: String, _ change: @escaping @Sendable (inout MachineSpec) -> Void
    ) {
        self.label = label
        self.change = change
        self.field = field
        self.reason = reason
        self.fix = fix
    }

    var testDescription: String { label }
}

@Suite struct ValidationTests {
    @Test func theBaseSpecIsValid() {
        #expect(validationError(baseSpec) == nil)
    }

    static let cases: [ValidationCase] = [
        .init("bad machine name", field: "name", reason: "not a valid machine name", fix: "such as 'web1'") { $0.name = "-web" },
        .init("path as name", field: "name", reason: "paths are not accepted", fix: "write just the name") { $0.name = "../etc/passwd" },
        .init("long description", field: "description", reason: "1025 characters long, the limit is 1024", fix: "shorten") {
            $0.description = String(repeating: "a", count: 1025)
        },
        .init("markup in description", field: "description", reason: "plain text", fix: "without markup") {
            $0.description = "</description><devices>"
        },
        .init("ampersand in description", field: "description", reason: "'&'", fix: "'and' instead of '&'") { $0.description = "web & mail" },
        .init("control character", field: "description", reason: "U+001B", fix: "plain text") { $0.description = "red\u{1B}[31m" },
        .init("too many tags", field: "tags", reason: "17 tags, the limit is 16", fix: "keep the 16") {
            $0.tags = (0..<17).map { "t\($0)" }
        },
        .init("long tag", field: "tags[0]", reason: "the limit is 32", fix: "such as 'web'") {
            $0.tags = [String(repeating: "t", count: 33)]
        },
        .init("bad tag", field: "tags[1]", reason: "not a valid tag name", fix: "such as 'web'") { $0.tags = ["web", "a b"] },
        .init("duplicate tag", field: "tags[1]", reason: "already tags[0]", fix: "each tag once") { $0.tags = ["web", "web"] },
        .init("no vcpus", field: "vcpus", reason: "between 1 and 64, got 0", fix: "vcpus: 2") { $0.vcpus = 0 },
        .init("many vcpus", field: "vcpus", reason: "got 65", fix: "vcpus: 2") { $0.vcpus = 65 },
        .init("little memory", field: "memory", reason: "between 64 MiB and 1 TiB, got 32 MiB", fix: "memory: 2GiB") {
            $0.memory = .mebibytes(32)
        },
        .init("much memory", field: "memory", reason: "got 2 TiB", fix: "memory: 2GiB") { $0.memory = .tebibytes(2) },
        .init("odd memory", field: "memory", reason: "whole number of MiB", fix: "memory: 100MiB") {
            $0.memory = ByteSize(bytes: (100 << 20) + 512)
        },
        .init("no disks", field: "disks", reason: "at least one disk, or a cdrom", fix: "size: 20GiB") { $0.disks = [] },
        .init("too many disks", field: "disks", reason: "17 disks, the limit is 16", fix: "fewer") {
            $0.disks = (0..<17).map { DiskSpec(name: "d\($0)", size: .gibibytes(1)) }
        },
        .init("disk without source", field: "disks[1]", reason: "needs a size", fix: "size: 20GiB") {
            $0.disks[1] = DiskSpec(name: "data")
        },
        .init("small disk", field: "disks[0].size", reason: "must be between 1 GiB and 16 TiB, got 512 MiB", fix: "size: 20GiB") {
            $0.disks[0].size = .mebibytes(512)
        },
        .init("huge disk", field: "disks[1].size", reason: "must be between 1 GiB and 16 TiB, got 20 TiB", fix: "size: 20GiB") {
            $0.disks[1].size = .tebibytes(20)
        },
        .init("total size", field: "disks", reason: "together the disks ask for 80 TiB", fix: "smaller") {
            $0.disks = (0..<5).map { DiskSpec(name: "d\($0)", size: .tebibytes(16)) }
        },
        .init("disk path", field: "disks[0].name", reason: "paths are not accepted", fix: "such as 'root'") {
            $0.disks[0].name = "/dev/sda"
        },
        .init("long disk name", field: "disks[0].name", reason: "the limit is 32", fix: "such as 'root'") {
            $0.disks[0].name = String(repeating: "d", count: 33)
        },
        .init("duplicate disk", field: "disks[1].name", reason: "disks[0] is already named 'root'", fix: "its own name") {
            $0.disks[1].name = "root"
        },
        .init("same template twice", field: "disks[1].name", reason: "from template 'debian-12'; duplicate disks", fix: "its own name") {
            $0.disks[0] = DiskSpec(name: "data", template: "debian-12")
        },
        .init("template path", field: "disks[1].template", reason: "paths are not accepted", fix: "such as 'debian-12'") {
            $0.disks[1].template = "../../etc/shadow"
        },
        .init("pool path", field: "disks[0].pool", reason: "paths are not accepted", fix: "hypervisor-images") {
            $0.disks[0].pool = "/var/lib/libvirt/images"
        },
        .init("cdrom path", field: "cdrom", reason: "paths are not accepted", fix: "cdrom: debian-12.iso") { $0.cdrom = "/etc/shadow" },
        .init("cdrom not iso", field: "cdrom", reason: "not an ISO name", fix: "debian-12.iso") { $0.cdrom = "debian" },
        .init("too many networks", field: "networks", reason: "9 interfaces, the limit is 8", fix: "at most 8") {
            $0.networks = (0..<9).map { _ in NicSpec(network: "default") }
        },
        .init("nic without target", field: "networks[1]", reason: "needs a network or a bridge", fix: "network: default") {
            $0.networks[1] = NicSpec()
        },
        .init("nic with both", field: "networks[0]", reason: "not both", fix: "keep one") { $0.networks[0].bridge = "br0" },
        .init("network path", field: "networks[0].network", reason: "paths are not accepted", fix: "such as 'default'") {
            $0.networks[0].network = "../default"
        },
        .init("bridge path", field: "networks[1].bridge", reason: "paths are not accepted", fix: "such as 'br0'") {
            $0.networks[1].bridge = "/sys/class/net/br0"
        },
        .init("long bridge", field: "networks[1].bridge", reason: "16 characters, the limit is 15", fix: "such as 'br0'") {
            $0.networks[1].bridge = "br-0123456789abc"
        },
        .init("bad bridge", field: "networks[1].bridge", reason: "the character '@' is not allowed", fix: "such as 'br0'") {
            $0.networks[1].bridge = "br@0"
        },
        .init("mac form", field: "networks[0].mac", reason: "six pairs of hex digits", fix: "52:54:00:12:34:56") {
            $0.networks[0].mac = "52:54:00:12:34"
        },
        .init("mac digits", field: "networks[0].mac", reason: "only hex digits", fix: "52:54:00:12:34:56") {
            $0.networks[0].mac = "52:54:00:12:34:zz"
        },
        .init("multicast mac", field: "networks[0].mac", reason: "multicast", fix: "52:54:00:12:34:56") {
            $0.networks[0].mac = "01:00:5e:00:00:01"
        },
        .init("zero mac", field: "networks[0].mac", reason: "all-zero", fix: "leave mac out") { $0.networks[0].mac = "00:00:00:00:00:00" },
        .init("duplicate mac", field: "networks[1].mac", reason: "already the address of networks[0]", fix: "its own address") {
            $0.networks[1].mac = "52:54:00:12:34:56"
        },
        .init("duplicate mac, other case", field: "networks[1].mac", reason: "duplicate MAC", fix: "its own address") {
            $0.networks[1].mac = "52:54:00:12:34:56".uppercased()
        },
        .init("autostart order", field: "autostart.order", reason: "between 0 and 999, got 1000", fix: "order: 10") {
            $0.autostart = AutostartSpec(enabled: true, order: 1000)
        },
        .init("user data header", field: "cloud_init.user_data", reason: "must start with '#cloud-config'", fix: "first line") {
            $0.cloudInit = CloudInitSpec(userData: "hostname: web1\n")
        },
        .init("user data size", field: "cloud_init.user_data", reason: "the limit is 64 KiB", fix: "keep the seed small") {
            $0.cloudInit = CloudInitSpec(userData: "#cloud-config\n" + String(repeating: "#", count: 64 << 10))
        },
        .init("meta data size", field: "cloud_init.meta_data", reason: "the limit is 16 KiB", fix: "keep the seed small") {
            $0.cloudInit = CloudInitSpec(userData: "#cloud-config\n", metaData: String(repeating: "m", count: (16 << 10) + 1))
        },
        .init("network config size", field: "cloud_init.network_config", reason: "the limit is 16 KiB", fix: "small") {
            $0.cloudInit = CloudInitSpec(userData: "#!/bin/sh\n", networkConfig: String(repeating: "n", count: (16 << 10) + 1))
        },
        .init("NUL in cloud-init", field: "cloud_init.meta_data", reason: "NUL", fix: "remove") {
            $0.cloudInit = CloudInitSpec(userData: "#cloud-config\n", metaData: "instance-id: a\0b")
        },
    ]

    @Test(arguments: cases)
    func everyRuleNamesItsFieldAndAFix(_ broken: ValidationCase) throws {
        var spec = baseSpec
        broken.change(&spec)
        let error = try #require(validationError(spec))
        #expect(error.code == .invalidSpec)
        #expect(error.details["field"] == broken.field)
        #expect(error.reason.hasPrefix("\(broken.field): "))
        #expect(error.reason.contains(broken.reason), "\(error.reason)")
        let fix = try #require(error.fix)
        #expect(fix.contains(broken.fix), "\(fix)")
    }

    @Test func theMessageReadsAsTheIssueShowsIt() throws {
        var spec = baseSpec
        spec.disks[1].size = .tebibytes(20)
        let error = try #require(validationError(spec))
        #expect(error.reason == "disks[1].size: must be between 1 GiB and 16 TiB, got 20 TiB")
    }

    @Test func edgesOfEveryRangeAreAccepted() {
        var spec = baseSpec
        spec.vcpus = 64
        spec.memory = .tebibytes(1)
        spec.disks = [DiskSpec(name: "a", size: .gibibytes(1)), DiskSpec(name: "b", size: .tebibytes(16))]
        spec.description = String(repeating: "x", count: 1023) + "\n"
        spec.tags = (0..<16).map { "tag-\($0)" }
        spec.networks = (0..<8).map { NicSpec(network: "net\($0)") }
        spec.networks[0] = NicSpec(bridge: "br-0123456789ab", mac: "02:00:00:00:00:01")
        spec.autostart = AutostartSpec(enabled: true, order: 999)
        spec.cloudInit = CloudInitSpec(userData: "#cloud-config\n" + String(repeating: "#", count: (64 << 10) - 14))
        #expect(validationError(spec) == nil)
        spec.memory = .mebibytes(64)
        spec.vcpus = 1
        spec.disks = []
        spec.cdrom = "debian-12.iso"
        #expect(validationError(spec) == nil)
    }
}
