import Foundation
import HVTestSupport
import Testing

/// `hv iso add` end to end: the operator downloads from a local HTTP server as themselves (with a
/// dropped connection to resume from), hands the open file to the broker over the upload socket,
/// and the broker keeps the image only when its SHA-256 matches.
extension ZeroTrustTests {
    @Test func isoAddKeepsOnlyImagesWithTheRightChecksum() async throws {
        try withStack { stack in
            let served = stack.base + "/served"
            try? FileManager.default.removeItem(atPath: served)
            try FileManager.default.createDirectory(atPath: served, withIntermediateDirectories: true)
            let image = served + "/hv-it-download.iso"
            try FileManager.default.copyItem(atPath: stack.stateDirectory + "/isos/" + stack.isoName, toPath: image)
            let digest = try run(["/usr/bin/sha256sum", image]).stdout.split(separator: " ").first.map(String.init) ?? ""
            #expect(digest.count == 64)
            let portFile = served + ".port"
            try? FileManager.default.removeItem(atPath: portFile)
            let server = try Child(
                ["python3", Environment.root + "/Tests/Fixtures/range-http-server.py", served, portFile, "--drop-after", "65536"],
                output: stack.base + "/log/http.log"
            )
            defer { server.stop() }
            guard waitUntil(10, { FileManager.default.fileExists(atPath: portFile) }),
                let port = Int((try? String(contentsOfFile: portFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "")
            else { throw SetupError("the HTTP server did not start") }
            let url = "http://127.0.0.1:\(port)/hv-it-download.iso"
            let cache = stack.base + "/cache-\(UUID().uuidString.prefix(6))"
            try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
            try check(run(["/bin/chown", Stack.operatorUser, cache]))
            _ = try? stack.hv(["iso", "remove", "hv-it-download.iso"], as: Stack.operatorUser)
            let before = try stack.hv(["iso", "list", "--json"], as: Stack.viewerUser).stdout

            // A wrong checksum: nothing is kept, and the library is as it was.
            let wrong = String(repeating: "0", count: 64)
            let refused = try stack.hv(["iso", "add", url, "--sha256", wrong, "--cache-dir", cache], as: Stack.operatorUser)
            #expect(refused.status != 0 && (refused.stderr.lowercased().contains("sha-256") || refused.stderr.lowercased().contains("checksum")), "\(refused)")
            #expect(try stack.hv(["iso", "list", "--json"], as: Stack.viewerUser).stdout == before)
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: stack.stateDirectory + "/isos").filter { $0.contains("download") }
            #expect(leftovers.isEmpty, "\(leftovers)")

            // A viewer may not add; the right checksum from the operator is kept.
            let viewerCache = cache + "-viewer"
            try FileManager.default.createDirectory(atPath: viewerCache, withIntermediateDirectories: true)
            try check(run(["/bin/chown", Stack.viewerUser, viewerCache]))
            let viewer = try stack.hv(["iso", "add", url, "--sha256", digest, "--cache-dir", viewerCache], as: Stack.viewerUser)
            #expect(viewer.status == 4 && viewer.stderr.contains("hypervisor-operators"), "\(viewer)")
            let added = try stack.hv(["iso", "add", url, "--sha256", digest, "--cache-dir", cache], as: Stack.operatorUser)
            #expect(added.status == 0 && added.stdout.contains("added hv-it-download.iso"), "\(added)")
            let listed = try stack.hv(["iso", "list", "--json"], as: Stack.viewerUser).stdout
            #expect(listed.contains(digest), "\(listed)")
            let verified = try stack.hv(["iso", "verify", "hv-it-download.iso"], as: Stack.operatorUser)
            #expect(verified.status == 0 && verified.stdout.contains("intact"), "\(verified)")
            #expect(try stack.hv(["iso", "remove", "hv-it-download.iso"], as: Stack.operatorUser).status == 0)
            let audit = try String(contentsOfFile: stack.auditLog, encoding: .utf8)
            #expect(audit.contains("\"org.hypernixos.iso.add\""))
        }
    }

    /// `hv iso add ./file.iso`: the operator's own file, opened as the operator; one the operator
    /// can't read is refused by the kernel before the broker is asked, so no path reaches it.
    @Test func isoAddTakesAFileTheOperatorHas() throws {
        try withStack { stack in
            let folder = stack.base + "/local-\(UUID().uuidString.prefix(6))"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let image = folder + "/hv-it-local.iso"
            try FileManager.default.copyItem(atPath: stack.stateDirectory + "/isos/" + stack.isoName, toPath: image)
            try check(run(["/bin/chmod", "-R", "a+rX", folder]))
            let digest = try run(["/usr/bin/sha256sum", image]).stdout.split(separator: " ").first.map(String.init) ?? ""
            _ = try? stack.hv(["iso", "remove", "hv-it-local.iso"], as: Stack.adminUser)

            let wrong = try stack.hv(["iso", "add", image, "--sha256", String(repeating: "1", count: 64)], as: Stack.operatorUser)
            #expect(wrong.status != 0 && wrong.stderr.contains("SHA-256"), "\(wrong)")
            let added = try stack.hv(["iso", "add", image, "--sha256", digest], as: Stack.operatorUser)
            #expect(added.status == 0 && added.stdout.contains("added hv-it-local.iso"), "\(added)")
            #expect(FileManager.default.fileExists(atPath: image), "the operator's own file is left where it was")
            #expect(try stack.hv(["iso", "list"], as: Stack.viewerUser).stdout.contains("hv-it-local.iso"))
            #expect(try stack.hv(["iso", "remove", "hv-it-local.iso"], as: Stack.operatorUser).status == 0)

            let secret = folder + "/root-only.iso"
            try FileManager.default.copyItem(atPath: image, toPath: secret)
            chmod(secret, 0o600)
            let refused = try stack.hv(["iso", "add", secret, "--sha256", digest], as: Stack.operatorUser)
            #expect(refused.status != 0 && refused.stderr.contains("Permission denied"), "\(refused)")
            #expect(try !stack.hv(["iso", "list"], as: Stack.viewerUser).stdout.contains("root-only.iso"))
            try? FileManager.default.removeItem(atPath: folder)
        }
    }

    @Test func eventsFollowAMachineLive() async throws {
        try withStack { stack in
            let name = "hv-it-events"
            clean(stack, [name])
            let file = try writeSpec(
                stack, "name: \(name)\nvcpus: 1\nmemory: 128MiB\ndisks: [{name: root, size: 1GiB}]\ncdrom: \(stack.isoName)\n", name: "events.yaml"
            )
            #expect(try stack.hv(["vm", "apply", file], as: Stack.operatorUser).status == 0)
            let output = stack.base + "/log/events-\(UUID().uuidString.prefix(6)).jsonl"
            let follower = try Child(
                ["/usr/sbin/runuser", "-u", Stack.viewerUser, "--", stack.bin + "/hv", "events", "--json", "--count", "2", "--vm", name, "--event", "started", "--event", "stopped", "--socket", stack.socket],
                output: output
            )
            defer { follower.stop() }
            Thread.sleep(forTimeInterval: 1)
            #expect(try stack.hv(["vm", "start", name], as: Stack.operatorUser).status == 0)
            #expect(try stack.hv(["vm", "kill", name], as: Stack.operatorUser).status == 0)
            #expect(follower.wait(timeout: 30) == 0)
            let lines = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
            #expect(lines.contains("\"event\":\"started\"") && lines.contains("\"event\":\"stopped\"") && lines.contains("\"vm\":\"\(name)\""), "\(lines)")
            clean(stack, [name])
        }
    }

    private func check(_ output: Output) throws {
        guard output.status == 0 else { throw SetupError("setup command failed: \(output)") }
    }
}
