/// `Vm.SetAutostart`: a machine's boot-time start, as its spec's `autostart` says it.
public struct VmAutostartParameters: Codable, Sendable, Hashable {
    public var name: String
    public var enabled: Bool
    /// The order group, 0-999; nil keeps the one the machine has.
    public var order: Int?

    public init(name: String, enabled: Bool, order: Int? = nil) {
        self.name = name
        self.enabled = enabled
        self.order = order
    }
}

public struct VmAutostartReply: Codable, Sendable, Hashable {
    public var autostart: Bool
    public var order: Int

    public init(autostart: Bool, order: Int) {
        self.autostart = autostart
        self.order = order
    }
}
