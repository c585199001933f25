import HVProtocol

/// The machines, pools and networks one cycle's `Host.Stats` answer listed. An alert whose labels
/// name one it did not list is about something that is gone, and resolves.
struct GoneObjects {
    /// Listed names by kind (`vm`, `pool`, `network`); a kind is missing when the cycle has no list.
    private let listed: [String: Set<String>]

    init(_ input: AlertInput) {
        var listed: [String: Set<String>] = [:]
        listed["vm"] = input.domains.map { Set($0.map(\.name)) }
        listed["pool"] = input.pools.map { Set($0.map(\.name)) }
        listed["network"] = input.networks.map { Set($0.map(\.name)) }
        self.listed = listed
    }

    /// The first object `labels` name that this cycle knows is gone, as `vm web1`; nil when each one
    /// exists or the cycle cannot tell. Objects are named by the labels `vm`, `pool` and `network`,
    /// and by health check ids `pool:NAME` and `network:NAME` in `check`.
    func gone(_ labels: [String: String]) -> String? {
        var named = labels.filter { listed.keys.contains($0.key) }.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        if let check = labels["check"], let colon = check.firstIndex(of: ":") {
            named.append((String(check[..<colon]), String(check[check.index(after: colon)...])))
        }
        for (kind, name) in named {
            if let names = listed[kind], !names.contains(name) { return "\(kind) \(name)" }
        }
        return nil
    }
}
