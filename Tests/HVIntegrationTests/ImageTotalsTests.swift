import Foundation
import HVTestSupport
import Testing

/// The stored-bytes findings, tried on the real upload socket with real polkitd: a sparse 2 GiB
/// upload used to become 2 GiB on disk, and the ISO library had no total. Operators of two teams
/// (`hv-it-op-a`, `hv-it-op-b`) upload as themselves, with the open file attached as `hv iso add`
/// sends it; a user in no group is refused beside them.
extension ZeroTrustTests {
    /// A 2 GiB upload holding about 1 MiB of data occupies about 1 MiB in the library, hashes as
    /// the source does, and is charged to the uploader's team.
    @Test func aSparseUploadStaysSparseOnDisk() throws {
        let stack = try Stack.shared.get()
        let policy = "groups: {\(MatrixBroker.teamA): {}, \(MatrixBroker.teamB): {}}\niso: {max_size: 4GiB}\n"
        let broker = try MatrixBroker(stack: stack, name: "isosparse", operations: [], policy: policy)
        defer { _ = try? run(["/usr/bin/pkill", "-f", broker.base + "/"]) }
        let image = try Self.image(broker, "sparse.iso", length: 2 << 30, data: [(4096, 4096), (1 << 30, 1 << 20)])

        let results = try broker.send([Self.upload(image, as: "hv-it-sparse.iso")], as: MatrixBroker.ownerOperator)
        #expect(results.first?.error == nil, "\(results)")
        let stored = broker.base + "/state/isos/hv-it-sparse.iso"
        let (length, onDisk) = try Self.sizes(stored)
        print("a 2 GiB upload holding 1 MiB of data occupies \(onDisk) bytes in the library")
        #expect(length == 2 << 30)
        #expect(onDisk < 8 << 20, "the copy occupies \(onDisk) bytes, not 2 GiB")
        #expect(try Self.sha256(stored) == image.sha256)

        let listed = try broker.hv(stack, ["iso", "list", "--json"], as: Stack.viewerUser)
        #expect(listed.status == 0 && listed.stdout.contains("\"group\" : \"\(MatrixBroker.teamA)\""), "\(listed)")
    }

    /// A team over its `images` total is refused with the limit, what its images take and what was
    /// asked, and nothing is left on disk; the other team's operator still adds, until the
    /// library's total refuses everyone. A user in no group may not add at all.
    @Test func aTeamOverItsImageTotalIsRefusedWhileAnotherTeamAdds() throws {
        let stack = try Stack.shared.get()
        let policy = """
            groups:
              \(MatrixBroker.teamA): {images: 6MiB}
              \(MatrixBroker.teamB): {images: 64MiB}
            iso: {max_size: 4GiB, max_total: 24MiB}

            """
        let broker = try MatrixBroker(stack: stack, name: "isototals", operations: [], policy: policy)
        defer { _ = try? run(["/usr/bin/pkill", "-f", broker.base + "/"]) }
        let library = broker.base + "/state/isos"
        func add(_ name: String, _ image: (path: String, sha256: String), as user: String) throws -> (error: String?, reason: String?) {
            try #require(try broker.send([Self.upload(image, as: name)], as: user).first)
        }

        let sparse = try Self.image(broker, "a-1", length: 2 << 30, data: [(1 << 30, 1 << 20)])
        #expect(try add("a-1.iso", sparse, as: MatrixBroker.ownerOperator).error == nil, "1 MiB of data fits in 6 MiB")
        #expect(try add("a-2.iso", try Self.image(broker, "a-2", length: 4 << 20), as: MatrixBroker.ownerOperator).error == nil)
        let before = try FileManager.default.contentsOfDirectory(atPath: library).sorted()

        let refused = try add("a-3.iso", try Self.image(broker, "a-3", length: 2 << 20), as: MatrixBroker.ownerOperator)
        #expect(refused.error == "org.hypernixos.Iso.QuotaExceeded", "\(refused)")
        #expect(refused.reason?.contains("groups.\(MatrixBroker.teamA).images: group '\(MatrixBroker.teamA)' may store 6 MiB of images") == true, "\(refused)")
        #expect(refused.reason?.contains("this one needs 2") == true && refused.reason?.contains("more than is left") == true, "\(refused)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: library).sorted() == before, "nothing was kept, not even a temporary file")

        // The other team's operator, measured beside it: adds as before.
        #expect(try add("b-1.iso", try Self.image(broker, "b-1", length: 2 << 20), as: MatrixBroker.otherOperator).error == nil)

        // The library's total (24 MiB) holds for every team.
        let overTotal = try add("b-2.iso", try Self.image(broker, "b-2", length: 20 << 20), as: MatrixBroker.otherOperator)
        #expect(overTotal.error == "org.hypernixos.Iso.QuotaExceeded" && overTotal.reason?.contains("iso.max_total") == true, "\(overTotal)")

        // A user in no group is refused before anything is read.
        let stranger = try add("s-1.iso", try Self.image(broker, "s-1", length: 1 << 20), as: Stack.strangerUser)
        #expect(stranger.error?.hasSuffix(".PermissionDenied") == true, "\(stranger)")

        let listed = try broker.hv(stack, ["iso", "list"], as: MatrixBroker.ownerOperator)
        #expect(listed.status == 0 && listed.stdout.contains("ON DISK"), "\(listed)")
        #expect(listed.stdout.contains("group \(MatrixBroker.teamA) 5"), "\(listed)")
        #expect(listed.stdout.contains("of 6 MiB (groups.\(MatrixBroker.teamA).images)"), "\(listed)")

        // Removing an image makes room again.
        #expect(try broker.hv(stack, ["iso", "remove", "a-2.iso"], as: MatrixBroker.ownerOperator).status == 0)
        #expect(try add("a-3.iso", try Self.image(broker, "a-3b", length: 2 << 20), as: MatrixBroker.ownerOperator).error == nil)
        #expect(try FileManager.default.contentsOfDirectory(atPath: library).allSatisfy { !$0.hasPrefix(".upload") })
    }

    /// A file readable by the test users: `length` bytes with random data at `data` (offset,
    /// count) and holes elsewhere; all of it random when `data` is nil.
    static func image(
        _ broker: MatrixBroker, _ name: String, length: UInt64, data: [(UInt64, Int)]? = nil
    ) throws -> (path: String, sha256: String) {
        let path = broker.base + "/upload-\(name)"
        try? FileManager.default.removeItem(atPath: path)
        guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o644]),
            let file = FileHandle(forWritingAtPath: path), let random = FileHandle(forReadingAtPath: "/dev/urandom")
        else { throw SetupError("cannot create \(path)") }
        defer { try? file.close(); try? random.close() }
        for (offset, count) in data ?? [(0, Int(length))] {
            try file.seek(toOffset: offset)
            try file.write(contentsOf: try random.read(upToCount: count) ?? Data())
        }
        try file.truncate(atOffset: length)
        return (path, try sha256(path))
    }

    static func upload(_ image: (path: String, sha256: String), as name: String) -> [String: Any] {
        ["method": "org.hypernixos.Iso.Add", "parameters": ["name": name, "sha256": image.sha256], "upload": image.path]
    }

    /// The file's length and what it occupies on disk.
    static func sizes(_ path: String) throws -> (length: UInt64, allocated: UInt64) {
        var info = stat()
        guard stat(path, &info) == 0 else { throw SetupError("cannot stat \(path)") }
        return (UInt64(info.st_size), UInt64(info.st_blocks) * 512)
    }

    static func sha256(_ path: String) throws -> String {
        let output = try run(["/usr/bin/sha256sum", path])
        guard output.status == 0 else { throw SetupError("sha256sum \(path) failed: \(output)") }
        return String(output.stdout.prefix(64))
    }
}
