import Foundation
import HVDomainXML
import HVImages
import HVLibvirt
import HVProtocol
import HVServer
import HVSystem
import HVWork
import NIOPosix

/// The ISO library: list, add (from a descriptor the caller hands over), verify, remove.
extension LibvirtHypervisor {
    var isoLibrary: IsoLibrary {
        IsoLibrary(directory: layout.isoDirectory, runner: processRunner, logger: logger)
    }

    /// The library's images, and what the library and the caller's group (its ISO images and
    /// imported templates) occupy against their totals.
    func isoList(caller: Peer) async throws(HVError) -> IsoListReply {
        let group = try await chargeGroup(for: caller)
        let entries = try await fileWork { () throws(ImageError) in try self.isoLibrary.list() }
        let stored = StoredImages(library: entries) + importedTemplateImages()
        let usage = ImageUsage(
            library: ByteSize(bytes: stored.library), libraryLimit: policy.iso.maxTotal, group: group,
            groupImages: ByteSize(bytes: stored.groups[group, default: 0]), groupLimit: policy.groups[group]?.images
        )
        return IsoListReply(isos: entries.map(Self.info), usage: usage)
    }

    func isoVerify(_ name: String) async throws(HVError) -> IsoVerifyReply {
        let result = try await job { observer throws(ImageError) in try self.isoLibrary.verify(name, observer: observer) }
        return IsoVerifyReply(
            name: name, intact: result.status == .intact, expected: result.recordedSHA256 ?? "(not recorded: added by hand)",
            actual: result.actualSHA256
        )
    }

    func isoRemove(_ name: String) async throws(HVError) -> EmptyReply {
        let path = layout.isoPath(name)
        let users = try await run { connection in
            try Self.descriptions(connection).filter { domain in
                try DomainDescription(xml: domain.xml).sourcePaths.contains { $0.path == path }
            }.map(\.name).sorted()
        }
        guard users.isEmpty else {
            throw HVError(
                .invalidState, "\(name) is the CD-ROM of \(users.joined(separator: ", "))",
                fix: "remove 'cdrom: \(name)' from their specs and apply them, then remove the image",
                details: ["name": name, "state": "in use"]
            )
        }
        try await fileWork { () throws(ImageError) in try self.isoLibrary.remove(name) }
        return EmptyReply()
    }

    /// Adds the image behind `descriptor` (the caller's open file) to the library, charged to the
    /// group the caller's machines are charged to. What it occupies is checked against
    /// `iso.max_total` and the group's `images` before the copy (what the file holds) and again
    /// before it is kept (what the copy occupies), counting the images others are adding.
    public func isoAdd(_ parameters: IsoAddParameters, descriptor: Descriptor, caller: Peer) async throws(HVError) -> IsoInfo {
        var signature: Data?
        if let text = parameters.signature {
            guard let decoded = Data(base64Encoded: text) else {
                throw .invalidParameter("signature", "signature is not base64", fix: "pass the .sig or .asc file with --signature FILE")
            }
            signature = decoded
        }
        let group = try await chargeGroup(for: caller)
        let policy = self.policy
        let signatureBytes = signature
        let (library, ledger) = (isoLibrary, imageLedger)
        let entry = try await job { observer throws(ImageError) in
            let claim = ledger.open(group: group)
            defer { ledger.close(claim) }
            return try library.add(
                from: descriptor, name: parameters.name, expectedSHA256: parameters.sha256, maximumBytes: policy.iso.maxSize.bytes,
                signature: signatureBytes, keyring: policy.iso.keyring, addedBy: caller.uid, group: group, source: parameters.source,
                observer: observer
            ) { bytes throws(ImageError) in
                try ledger.hold(claim, bytes: bytes) { () throws(ImageError) in
                    try self.storedImages()
                } check: { others throws(ImageError) in
                    do throws(HVError) {
                        try policy.checkImage(bytes, group: group, stored: others)
                    } catch {
                        throw ImageError(quota: error)
                    }
                }
            }
        }
        return Self.info(entry)
    }

    static func info(_ entry: IsoEntry) -> IsoInfo {
        IsoInfo(
            name: entry.name, size: ByteSize(bytes: entry.size), allocated: ByteSize(bytes: entry.allocated), sha256: entry.record?.sha256 ?? "",
            added: Int64(entry.record?.addedAt.timeIntervalSince1970 ?? 0), addedBy: entry.record?.addedBy ?? 0,
            group: entry.record?.group, source: entry.record?.source, signatureVerified: entry.record?.signatureVerified ?? false
        )
    }

    /// Runs short blocking file work (listing, removing) on the libvirt pool.
    func fileWork<T: Sendable>(_ body: @escaping @Sendable () throws(ImageError) -> T) async throws(HVError) -> T {
        try await onPool(pools.libvirt) { _ in Result { () throws(ImageError) -> T in try body() }.mapError(\.hvError) }
    }

    /// Runs a long job (hashing, copying) on the jobs pool, charged to the request's caller. The
    /// job reports its progress to the request (`WorkPool.progress`) and stops when the caller goes
    /// away.
    func job<T: Sendable>(_ body: @escaping @Sendable (CopyObserver) throws(ImageError) -> T) async throws(HVError) -> T {
        try await onPool(pools.jobs) { context in
            let observer = CopyObserver(
                progress: { done, total in context.report(JobProgress(done: done, total: total)) },
                isCancelled: { context.isCancelled }
            )
            return Result { () throws(ImageError) -> T in try body(observer) }.mapError(\.hvError)
        }
    }
}
