import Foundation
import HVSystem

/// Compresses one sealed segment with gzip, a piece at a time between appends, checking each
/// record against the chain and the manifest as it goes: a segment that does not verify is left
/// as it is, for the verifier to report, rather than compressed.
final class SegmentCompressor {
    let entry: AuditManifest.Segment
    let target: String
    private let temporary: String
    private let reader: SegmentReader
    private let gzip: GzipStream
    private let output: Descriptor
    private var check: AuditChain.Check

    /// Plain text compressed per step, so an append waits for at most one step.
    static let stepLength = 1 << 20

    init(entry: AuditManifest.Segment, files: AuditFiles) throws(AuditError) {
        self.entry = entry
        target = files.sealedName(entry.number, compressed: true)
        let temporary = files.path(target) + ".tmp"
        self.temporary = temporary
        reader = try SegmentReader(path: files.path(entry.file))
        gzip = try GzipStream(.compress)
        output = try AuditError.catching(.unwritable, doing: "create \(temporary)") {
            try Descriptor.open(temporary, O_WRONLY | O_CREAT | O_TRUNC, mode: 0o640)
        }
        check = AuditChain.Check(after: entry.start)
    }

    deinit {
        output.close()
        unlink(temporary)
    }

    /// Compresses the next piece; true once the whole segment is compressed into the temporary file.
    func step() throws(AuditError) -> Bool {
        var piece: [UInt8] = []
        while piece.count < Self.stepLength {
            guard let line = try reader.next() else {
                guard check.position == entry.end else {
                    throw AuditError(.unreadable, "\(entry.file) ends at record \(check.position.seq), not at record \(entry.lastSeq) as sealed")
                }
                try gzip.compress(piece[...], finish: true, output: write)
                try AuditError.catching(.unwritable, doing: "flush \(temporary)") { try output.sync() }
                return true
            }
            guard line.terminated else { throw AuditError(.unreadable, "\(entry.file) line \(line.number) is incomplete") }
            do throws(AuditChain.Break) {
                _ = try check.accept(line.bytes, line: line.number)
            } catch {
                throw AuditError(.unreadable, "\(entry.file): \(error.reason)")
            }
            piece += line.bytes
            piece.append(UInt8(ascii: "\n"))
        }
        try gzip.compress(piece[...], finish: false, output: write)
        return false
    }

    private func write(_ bytes: [UInt8]) throws(AuditError) {
        try AuditError.catching(.unwritable, doing: "write to \(temporary)") { try output.writeAll(bytes) }
    }

    /// Gives the compressed file its name.
    func install() throws(AuditError) {
        try FileIO.rename(temporary, to: (temporary as NSString).deletingPathExtension, action: "rename \(temporary)")
    }
}

extension AuditStore {
    /// Whether there is work to do while no record waits: a segment to compress.
    var hasIdleWork: Bool { compressor != nil || !compressionQueue.isEmpty }

    /// One step of compressing a sealed segment. When the segment is done, the manifest names the
    /// compressed file and the plain one is removed; on failure the plain one stays.
    func compressStep() {
        if compressor == nil {
            guard !compressionQueue.isEmpty else { return }
            let number = compressionQueue.removeFirst()
            guard let entry = manifest.segments.first(where: { $0.number == number }), !AuditFiles.isCompressed(entry.file) else { return }
            do {
                compressor = try SegmentCompressor(entry: entry, files: files)
            } catch {
                report("audit segment \(entry.file) was not compressed: \(error)")
                return
            }
        }
        guard let compressor else { return }
        do throws(AuditError) {
            guard try compressor.step() else { return }
            self.compressor = nil
            try replaceFile(of: compressor.entry.number, with: compressor.target, install: compressor.install)
            unlink(files.path(compressor.entry.file))
            try AuditError.catching(.unwritable) { try Descriptor.syncDirectory(files.directory) }
        } catch {
            self.compressor = nil
            report("audit segment \(compressor.entry.file) was not compressed, and stays as it is: \(error)")
        }
    }
}
