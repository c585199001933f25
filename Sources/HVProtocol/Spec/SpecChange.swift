/// When a change between the applied spec and a new one takes effect.
public enum ChangeEffect: Sendable, Hashable {
    /// Metadata only (description, tags, autostart): no restart needed.
    case immediate
    /// Applied to the persistent definition; a running machine keeps its current configuration
    /// until it restarts.
    case nextBoot
    /// Not applied, because it would discard data or cannot be done; `reason` says which.
    case refused(reason: String)

    /// The wire name: `immediate`, `nextBoot` or `refused`.
    public var kind: String {
        switch self {
        case .immediate: "immediate"
        case .nextBoot: "nextBoot"
        case .refused: "refused"
        }
    }

    /// One sentence saying what the effect means, for `hv vm apply`.
    public var explanation: String {
        switch self {
        case .immediate: "takes effect now; no restart needed"
        case .nextBoot: "saved to the machine's definition; a running machine keeps its current configuration until it restarts"
        case .refused(let reason): "refused: \(reason)"
        }
    }
}

/// One difference between the applied spec and the desired one.
///
/// On the wire: `{field, from?, to?, effect: "immediate"|"nextBoot"|"refused", reason?, note?}`,
/// where `reason` is present exactly for refused changes.
public struct SpecChange: Codable, Sendable, Hashable {
    /// The field path in the desired spec, such as `disks[1].size`; `disks` for a removed disk.
    public var field: String
    /// The current value as text; nil when the field was not set.
    public var from: String?
    /// The desired value as text; nil when the field is removed.
    public var to: String?
    public var effect: ChangeEffect
    /// What else happens, such as "its volume web1-data.qcow2 is kept".
    public var note: String?

    public init(field: String, from: String?, to: String?, effect: ChangeEffect, note: String? = nil) {
        self.field = field
        self.from = from
        self.to = to
        self.effect = effect
        self.note = note
    }

    private enum CodingKeys: String, CodingKey {
        case field, from, to, effect, reason, note
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        field = try container.decode(String.self, forKey: .field)
        from = try container.decodeIfPresent(String.self, forKey: .from)
        to = try container.decodeIfPresent(String.self, forKey: .to)
        note = try container.decodeIfPresent(String.self, forKey: .note)
        let kind = try container.decode(String.self, forKey: .effect)
        switch kind {
        case "immediate": effect = .immediate
        case "nextBoot": effect = .nextBoot
        case "refused": effect = .refused(reason: try container.decode(String.self, forKey: .reason))
        default:
            throw DecodingError.dataCorruptedError(
                forKey: .effect, in: container, debugDescription: "'\(kind)' is not immediate, nextBoot or refused"
            )
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(field, forKey: .field)
        try container.encodeIfPresent(from, forKey: .from)
        try container.encodeIfPresent(to, forKey: .to)
        try container.encode(effect.kind, forKey: .effect)
        if case .refused(let reason) = effect { try container.encode(reason, forKey: .reason) }
        try container.encodeIfPresent(note, forKey: .note)
    }
}

extension Array where Element == SpecChange {
    /// The changes that cannot be applied.
    public var refused: [SpecChange] { filter { if case .refused = $0.effect { true } else { false } } }

    /// Whether a running machine needs a restart to run with all of these changes.
    public var needsRestart: Bool { contains { $0.effect == .nextBoot } }
}
