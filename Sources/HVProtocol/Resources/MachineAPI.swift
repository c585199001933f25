/// Clone a machine: a full copy of its disks, or (linked) copy-on-write overlays of a template's.
public struct VmCloneParameters: Codable, Sendable, Hashable {
    public var source: String
    public var name: String
    /// Overlays on the source's disks instead of copies; the source must be a template.
    public var linked: Bool?
    public init(source: String, name: String, linked: Bool? = nil) {
        self.source = source
        self.name = name
        self.linked = linked
    }
}
