import Foundation
import HVProtocol

/// Reads back what `VmDetails` needs from libvirt's domain XML: the domain's type, its disks and
/// whether it has a TPM.
/// Only those are read (`ParsedXML`), not the whole document decoded into types.
public struct DomainDescription: Sendable {
    public var domainType: String
    /// What a client may see of each disk: the guest device and the image's file name.
    public var disks: [VmDisk]
    /// The full host path behind each disk, for the broker's own use only.
    public var sourcePaths: [(device: String, path: String)]
    /// Whether the domain has a TPM device, of any model or backend.
    public var hasTPM: Bool

    /// The description of `xml`, read once for each text: `Vm.Info` reads the domain's XML on
    /// every call, and it changes only when the machine does.
    public static func of(xml: String) throws -> DomainDescription {
        try read.value(of: xml) { xml throws in try DomainDescription(xml: xml) }
    }

    private static let read = ReadMemo<DomainDescription>(capacity: 256)

    public init(xml: String) throws {
        let domain = try ParsedXML.parse(xml, root: "domain", what: "domain")
        guard let type = domain["type"] else {
            throw HVError(.failed, "libvirt returned domain XML without the domain's type")
        }
        let devices = domain.child("devices")?.children("disk") ?? []
        domainType = type
        hasTPM = domain.child("devices")?.child("tpm") != nil
        sourcePaths = devices.compactMap { disk in disk.child("source")?["file"].map { (disk["device"] ?? "disk", $0) } }
        disks = devices.map { disk in
            VmDisk(
                target: disk.child("target")?["dev"] ?? "",
                device: disk["device"] ?? "disk",
                source: disk.child("source")?["file"].map { URL(fileURLWithPath: $0).lastPathComponent }
            )
        }
    }
}
