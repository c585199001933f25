/// One snapshot of a machine, as `hv snapshot list` shows it.
public struct SnapshotInfo: Codable, Sendable, Hashable {
    public var name: String
    public var description: String?
    /// Seconds since 1970.
    public var created: Int64
    /// The machine's state when the snapshot was taken (`running`, `shutoff`, …).
    public var state: String
    public var parent: String?
    public var current: Bool

    public init(name: String, description: String?, created: Int64, state: String, parent: String?, current: Bool) {
        self.name = name
        self.description = description
        self.created = created
        self.state = state
        self.parent = parent
        self.current = current
    }
}

public struct SnapshotListParameters: Codable, Sendable, Hashable {
    public var vm: String
    public init(vm: String) { self.vm = vm }
}

public struct SnapshotListReply: Codable, Sendable, Hashable {
    public var snapshots: [SnapshotInfo]
    public init(snapshots: [SnapshotInfo]) { self.snapshots = snapshots }
}

public struct SnapshotCreateParameters: Codable, Sendable, Hashable {
    public var vm: String
    public var name: String
    public var description: String?
    public init(vm: String, name: String, description: String? = nil) {
        self.vm = vm
        self.name = name
        self.description = description
    }
}

/// Revert or Delete.
public struct SnapshotNameParameters: Codable, Sendable, Hashable {
    public var vm: String
    public var name: String
    public init(vm: String, name: String) {
        self.vm = vm
        self.name = name
    }
}

public struct SnapshotReply: Codable, Sendable, Hashable {
    public var snapshot: SnapshotInfo
    public init(snapshot: SnapshotInfo) { self.snapshot = snapshot }
}

/// Snapshot names follow the machine-name rule; errors call them snapshot names.
public enum SnapshotName {
    public static func validate(_ name: String, field: String = "name") throws(HVError) {
        try VmName.validate(name, field: field, kind: "snapshot")
    }
}

/// Snapshot descriptions are plain text, like machine descriptions.
public enum SnapshotText {
    public static let maximumDescription = 1024

    public static func validate(description: String?, field: String = "description") throws(HVError) {
        guard let description else { return }
        guard description.count <= maximumDescription else {
            throw .invalidParameter(field, "\(field) is \(description.count) characters long; the limit is \(maximumDescription)", fix: "shorten it")
        }
        if let bad = description.unicodeScalars.first(where: { ($0.properties.generalCategory == .control && $0 != "\n" && $0 != "\t") || "<>&".unicodeScalars.contains($0) }) {
            throw .invalidParameter(
                field, "\(field) contains \(bad.properties.generalCategory == .control ? "a control character" : "'\(bad)'"); descriptions are plain text",
                fix: "remove control characters and '<', '>' or '&' (write 'and' instead of '&')"
            )
        }
    }
}
