import CLibvirt

/// A domain's name and UUID (in its 36-character text form): what bulk calls and events say a
/// record is about.
public struct DomainIdentity: Sendable, Hashable {
    public var name: String
    public var uuid: String

    public init(name: String, uuid: String) {
        self.name = name
        self.uuid = uuid
    }

    /// Read from the object libvirt passes, without a call to the daemon.
    init(_ domain: virDomainPtr) {
        name = virDomainGetName(domain).map { String(cString: $0) } ?? ""
        var buffer = [CChar](repeating: 0, count: Int(VIR_UUID_STRING_BUFLEN))
        uuid = virDomainGetUUIDString(domain, &buffer) == 0
            ? String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
    }
}
