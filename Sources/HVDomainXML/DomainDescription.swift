import Foundation
import HVProtocol
import XMLCoder

/// Reads back what `VmDetails` needs from libvirt's domain XML.
public struct DomainDescription: Sendable {
    public var domainType: String
    /// What a client may see of each disk: the guest device and the image's file name.
    public var disks: [VmDisk]
    /// The full host path behind each disk, for the broker's own use only.
    public var sourcePaths: [(device: String, path: String)]

    public init(xml: String) throws {
        let parsed = try XMLDecoder().decode(Parsed.self, from: Data(xml.utf8))
        let devices = parsed.devices?.disk ?? []
        domainType = parsed.type
        sourcePaths = devices.compactMap { disk in disk.source?.file.map { (disk.device ?? "disk", $0) } }
        disks = devices.map { disk in
            VmDisk(
                target: disk.target?.dev ?? "",
                device: disk.device ?? "disk",
                source: disk.source?.file.map { URL(fileURLWithPath: $0).lastPathComponent }
            )
        }
    }

    struct Parsed: Decodable {
        var type: String
        var devices: Devices?

        struct Devices: Decodable {
            var disk: [Disk]?
        }

        struct Disk: Decodable {
            var device: String?
            var source: Source?
            var target: Target?
        }

        struct Source: Decodable {
            var file: String?
        }

        struct Target: Decodable {
            var dev: String?
        }
    }
}
