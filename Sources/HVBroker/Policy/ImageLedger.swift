import HVImages
import HVProtocol
import Synchronization

/// The bytes of images being added right now, so that the totals (`iso.max_total`,
/// `groups.NAME.images`) count an image from its check before the copy, not from when it is on
/// disk: two uploads that would each fit alone but not together can't both pass.
///
/// Each image being added holds a claim. A claim is checked and changed in one step under one
/// lock, with what is stored read under that lock too, so no two checks see the same room. A claim
/// is closed once its image is kept (and so counted as stored) or dropped; between the two, the
/// image counts twice, never not at all.
///
/// Checks, and so reading what is stored, block; they run on the thread copying the image.
public final class ImageLedger: Sendable {
    /// One image's share, from its first check until it is kept or dropped.
    public struct Claim: Sendable, Hashable {
        let id: UInt64
        /// The group the image is charged to; nil for none.
        public let group: String?
    }

    private struct State {
        var next: UInt64 = 0
        var held: [UInt64: (group: String?, bytes: UInt64)] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    /// A new claim for an image charged to `group`, holding nothing yet.
    public func open(group: String?) -> Claim {
        state.withLock { state in
            state.next += 1
            state.held[state.next] = (group, 0)
            return Claim(id: state.next, group: group)
        }
    }

    /// Holds `bytes` for the claim's image, in place of what it held, if `check` lets it: `check`
    /// gets what is stored (`stored`) plus what every other open claim holds, and refuses by
    /// throwing, which leaves the claim as it was.
    public func hold<E: Error>(
        _ claim: Claim, bytes: UInt64, stored: () throws(E) -> StoredImages, check: (_ others: StoredImages) throws(E) -> Void
    ) throws(E) {
        try state.withLock { (state: inout State) throws(E) -> Void in
            var others = try stored()
            for (id, held) in state.held where id != claim.id { others.add(held.bytes, group: held.group) }
            try check(others)
            state.held[claim.id] = (claim.group, bytes)
        }
    }

    /// Drops the claim: its image is stored now, or nothing was kept.
    public func close(_ claim: Claim) {
        _ = state.withLock { $0.held.removeValue(forKey: claim.id) }
    }
}

extension StoredImages {
    /// What the ISO library's images occupy, each by its recorded group.
    public init(library entries: [IsoEntry]) {
        self.init()
        for entry in entries { add(entry.allocated, group: entry.record?.group) }
    }
}
