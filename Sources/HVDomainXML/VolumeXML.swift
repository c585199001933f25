import HVProtocol

/// Encodes libvirt storage volume XML. Every volume states its format; an overlay also states its
/// backing image's format, so neither libvirt nor QEMU ever guesses a format from an image's content.
/// qcow2 volumes are version 3 (`compat` 1.1), which keeps the bitmaps of backup checkpoints.
public enum VolumeXML {
    /// A new, empty qcow2 volume of `capacity`.
    ///
    /// Throws `HVError.invalidParameter` naming the field (`name`, `capacity`, `backing_path`).
    public static func qcow2(name: String, capacity: ByteSize) throws(HVError) -> String {
        try volume(name: name, capacity: capacity, format: .qcow2, backing: nil)
    }

    /// A new, empty raw volume of `capacity`, sparse: nothing is allocated (libvirt would
    /// otherwise allocate the whole capacity), so a restore that leaves zeros as holes needs only
    /// the space of the data it writes.
    public static func raw(name: String, capacity: ByteSize) throws(HVError) -> String {
        try volume(name: name, capacity: capacity, format: .raw, backing: nil, allocation: 0)
    }

    /// A qcow2 copy-on-write overlay of the image at `backingPath`, which it only reads.
    public static func overlay(
        name: String, capacity: ByteSize, backingPath: String, backingFormat: ImageFormat
    ) throws(HVError) -> String {
        try Checks.path(backingPath, field: "backing_path", code: .invalidParameter)
        return try volume(
            name: name, capacity: capacity, format: .qcow2,
            backing: .init(path: backingPath, format: .init(type: backingFormat.rawValue))
        )
    }

    static func volume(
        name: String, capacity: ByteSize, format: ImageFormat, backing: VolumeElement.BackingStore?, allocation: UInt64? = nil
    ) throws(HVError) -> String {
        try Checks.name(name, field: "name", what: "volume name", maximumLength: 255, code: .invalidParameter)
        guard capacity.bytes > 0 else {
            throw Checks.fail(
                .invalidParameter, "capacity", "must be larger than zero", fix: "give a size such as 20GiB"
            )
        }
        let element = VolumeElement(
            name: name, capacity: .init(unit: "bytes", value: capacity.bytes),
            allocation: allocation.map { .init(unit: "bytes", value: $0) },
            target: .init(format: .init(type: format.rawValue), compat: format == .qcow2 ? "1.1" : nil), backingStore: backing
        )
        return try DomainXML.encodeChecked(element, root: "volume")
    }
}

/// Encodes libvirt storage pool XML.
public enum PoolXML {
    /// A directory pool at `path`.
    ///
    /// Throws `HVError.invalidParameter` naming the field (`name`, `path`).
    public static func directory(name: String, path: String) throws(HVError) -> String {
        try Checks.name(name, field: "name", what: "pool name", code: .invalidParameter)
        try Checks.path(path, field: "path", code: .invalidParameter)
        return try DomainXML.encodeChecked(Pool(type: "dir", name: name, target: .init(path: path)), root: "pool")
    }
}

/// libvirt's `<volume>`, with an optional `<backingStore>`.
struct VolumeElement: Encodable {
    var name: String
    var capacity: Measured<UInt64>
    var allocation: Measured<UInt64>?
    var target: Volume.Target
    var backingStore: BackingStore?

    struct BackingStore: Encodable {
        var path: String
        var format: Volume.Format
    }
}
