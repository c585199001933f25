import Foundation
import HVTestSupport
import Testing

/// `hv image import` end to end, on real libvirt behind a broker of its own: the busybox guest on
/// a qcow2 disk, served over HTTP, imported by an operator of team A as themselves, becomes a
/// template; a machine made from it with a NoCloud seed boots and its init prints the hostname
/// and the SSH key the seed names. Unsafe images and callers who may not import are refused, and
/// one user's flood of imports leaves another served.
extension ZeroTrustTests {
    static let importedTemplate = "hv-it-cloud"
    static let seededMachine = "hv-it-cloud-vm"
    static let operatorKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHvItImportedTemplateKey hv-it-op-a@laptop"

    @Test func anImportedCloudImageBootsASeededLinkedClone() throws {
        let stack = try Stack.shared.get()
        let policy = "groups:\n  \(MatrixBroker.teamA): {images: 2GiB}\n  \(MatrixBroker.teamB): {}\n"
        let broker = try MatrixBroker(stack: stack, name: "imageimport", operations: [], policy: policy, libvirtUri: "qemu:///system")
        let machine = Self.seededMachine
        func hv(_ arguments: [String], as user: String = MatrixBroker.ownerOperator) throws -> Output {
            try broker.hv(stack, arguments, as: user)
        }
        func removeMachine() {
            _ = try? hv(["vm", "kill", machine], as: Stack.adminUser)
            _ = try? hv(["vm", "delete", machine, "--remove-disks"], as: Stack.adminUser)
        }
        removeMachine()
        defer {
            removeMachine()
            for volume in [Self.importedTemplate, Self.importedTemplate + "-2"] { _ = try? hv(["pool", "delete-volume", volume], as: Stack.adminUser) }
            _ = try? run(["/usr/bin/pkill", "-f", broker.base + "/"])
        }

        // The guest ISO is a hybrid image: converted to qcow2, it boots as a disk.
        let served = broker.base + "/served"
        try FileManager.default.createDirectory(atPath: served, withIntermediateDirectories: true)
        let image = served + "/cloud.qcow2"
        try check(run(["/usr/bin/qemu-img", "convert", "-f", "raw", "-O", "qcow2", stack.stateDirectory + "/isos/" + stack.isoName, image]))
        try check(run(["/bin/chmod", "-R", "a+rX", served]))
        let digest = try Self.sha256(image)
        let portFile = broker.base + "/http.port"
        let server = try Child(
            ["python3", Environment.root + "/Tests/Fixtures/range-http-server.py", served, portFile], output: broker.base + "/http.log"
        )
        defer { server.stop() }
        guard waitUntil(10, { FileManager.default.fileExists(atPath: portFile) }),
            let port = Int((try? String(contentsOfFile: portFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "")
        else { throw SetupError("the HTTP server did not start") }
        let cache = broker.base + "/cache"
        try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
        try check(run(["/bin/chown", MatrixBroker.ownerOperator, cache]))

        // The operator downloads it as themselves and hands the open file over.
        let imported = try hv([
            "image", "import", "http://127.0.0.1:\(port)/cloud.qcow2", "--sha256", digest, "--name", Self.importedTemplate,
            "--format", "qcow2", "--cache-dir", cache,
        ])
        #expect(imported.status == 0 && imported.stdout.contains("imported \(Self.importedTemplate)"), "\(imported)")
        #expect(imported.stdout.contains("group \(MatrixBroker.teamA)"), "\(imported)")
        let volumes = try hv(["pool", "volumes", "--json"], as: Stack.viewerUser)
        #expect(volumes.status == 0 && volumes.stdout.contains("\"name\" : \"\(Self.importedTemplate)\""), "\(volumes)")
        #expect(volumes.stdout.contains("\"template\" : true"), "\(volumes)")
        let stored = broker.base + "/state/images/" + Self.importedTemplate
        #expect(try Self.sha256(stored) == digest, "the template is the bytes that were checked")
        let again = try hv(["image", "import", image, "--sha256", digest, "--name", Self.importedTemplate])
        #expect(again.status == 6 && again.stderr.contains("already has a volume named '\(Self.importedTemplate)'"), "\(again)")

        // A linked clone of it with a NoCloud seed: the guest reads the cidata volume.
        let spec = broker.base + "/machine.yaml"
        try """
            name: \(machine)
            vcpus: 1
            memory: 256MiB
            disks: [{name: root, template: \(Self.importedTemplate)}]
            serial: true
            cloud_init:
              user_data: |
                #cloud-config
                ssh_authorized_keys: ["\(Self.operatorKey)"]
              meta_data: |
                instance-id: \(machine)
                local-hostname: hv-it-seeded
            """.write(toFile: spec, atomically: true, encoding: .utf8)
        chmod(spec, 0o644)
        let applied = try hv(["vm", "apply", spec])
        #expect(applied.status == 0, "\(applied)")
        let overlays = try hv(["pool", "volumes", "--json"], as: Stack.viewerUser).stdout
        #expect(overlays.contains("\"backingTemplate\" : \"\(Self.importedTemplate)\""), "\(overlays)")
        #expect(try hv(["vm", "start", machine]).status == 0)
        var console = ""
        let seeded = try waitUntil(240, every: 2) {
            console = try hv(["vm", "log", machine]).stdout
            return console.contains("HV-HOSTNAME hv-it-seeded") && console.contains("HV-SSH-KEY \(Self.operatorKey)")
        }
        #expect(seeded, "the guest did not print the seed's hostname and key:\n\(console)")
        #expect(console.contains(Stack.marker), "\(console)")

        // The template is team A's: another team's operator may not delete it, and its own
        // operator not while the clone's disk is its overlay.
        let theirs = try hv(["pool", "delete-volume", Self.importedTemplate], as: MatrixBroker.otherOperator)
        #expect(theirs.status == 4 && theirs.stderr.contains(MatrixBroker.teamA), "\(theirs)")
        let early = try hv(["pool", "delete-volume", Self.importedTemplate])
        #expect(early.status == 6, "\(early)")

        let audit = try String(contentsOfFile: broker.auditLog, encoding: .utf8)
        #expect(audit.contains("\"org.hypernixos.image.import\""))
    }

    /// A qcow2 with a backing file, one with an external data file and one of another format than
    /// declared are refused and leave nothing; a viewer, a user in no group and an operator of
    /// another team are refused the import for team A.
    @Test func unsafeImagesAndOtherCallersAreRefusedTheImport() throws {
        let stack = try Stack.shared.get()
        let broker = try MatrixBroker(stack: stack, name: "imagerefusals", operations: [], libvirtUri: "qemu:///system")
        defer { _ = try? run(["/usr/bin/pkill", "-f", broker.base + "/"]) }
        func hv(_ arguments: [String], as user: String = MatrixBroker.ownerOperator) throws -> Output {
            try broker.hv(stack, arguments, as: user)
        }
        let files = broker.base + "/files"
        try FileManager.default.createDirectory(atPath: files, withIntermediateDirectories: true)
        let qemuImg = "/usr/bin/qemu-img"
        try check(run([qemuImg, "create", "-q", "-f", "qcow2", files + "/base.qcow2", "16M"]))
        try check(run([qemuImg, "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", files + "/base.qcow2", files + "/backed.qcow2"]))
        try check(run([qemuImg, "create", "-q", "-f", "qcow2", "-o", "data_file=\(files)/external.data", files + "/external.qcow2", "16M"]))
        try check(run(["/usr/bin/truncate", "-s", "16M", files + "/plain.img"]))
        try check(run(["/bin/chmod", "-R", "a+rX", files]))
        let images = broker.base + "/state/images"
        let before = try FileManager.default.contentsOfDirectory(atPath: images).sorted()

        for (file, format, reason) in [
            ("backed.qcow2", "qcow2", "has the backing file"), ("external.qcow2", "qcow2", "keeps its data in the external file"),
            ("plain.img", "qcow2", "was declared qcow2 but has no qcow2 header"),
        ] {
            let path = files + "/" + file
            let refused = try hv(["image", "import", path, "--sha256", try Self.sha256(path), "--name", "hv-it-unsafe", "--format", format])
            #expect(refused.status == 2 && refused.stderr.contains(reason), "\(file): \(refused)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: images).sorted() == before, "nothing was kept, not even a temporary file")

        let plain = files + "/base.qcow2"
        let digest = try Self.sha256(plain)
        for user in [Stack.viewerUser, Stack.strangerUser, MatrixBroker.otherOperator] {
            let refused = try hv(["image", "import", plain, "--sha256", digest, "--name", "hv-it-theirs", "--group", MatrixBroker.teamA], as: user)
            #expect(refused.status == 4, "\(user): \(refused)")
        }
        let other = try hv(["image", "import", plain, "--sha256", digest, "--name", "hv-it-theirs", "--group", MatrixBroker.teamA], as: MatrixBroker.otherOperator)
        #expect(other.stderr.contains(MatrixBroker.teamA), "the refusal names the group: \(other)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: images).sorted() == before)
        let audit = try String(contentsOfFile: broker.auditLog, encoding: .utf8)
        #expect(audit.contains("\"org.hypernixos.image.import\"") && audit.contains("\"denied\""))
    }

    /// One operator floods Image.Import (each call checked and copied, then refused for its
    /// checksum, or turned away at the door) while another operator's import is served.
    @Test func aFloodOfImportsLeavesAnotherOperatorServed() throws {
        let stack = try Stack.shared.get()
        let broker = try MatrixBroker(stack: stack, name: "imageflood", operations: [], libvirtUri: "qemu:///system")
        defer {
            _ = try? broker.hv(stack, ["pool", "delete-volume", "hv-it-served"], as: Stack.adminUser)
            _ = try? run(["/usr/bin/pkill", "-f", broker.base + "/"])
        }
        let files = broker.base + "/files"
        try FileManager.default.createDirectory(atPath: files, withIntermediateDirectories: true)
        let image = files + "/served.qcow2"
        try check(run(["/usr/bin/qemu-img", "create", "-q", "-f", "qcow2", image, "16M"]))
        try check(run(["/bin/chmod", "-R", "a+rX", files]))
        let digest = try Self.sha256(image)

        let done = DispatchGroup()
        let flooded = LockedBox<[(error: String?, reason: String?)]>([])
        for _ in 0..<4 {
            DispatchQueue.global().async(group: done) {
                let flood: [String: Any] = [
                    "method": "org.hypernixos.Image.Import", "upload": true,
                    "parameters": ["name": "hv-it-flood", "sha256": String(repeating: "0", count: 64)],
                ]
                if let results = try? broker.send(Array(repeating: flood, count: 50), as: MatrixBroker.otherOperator) {
                    flooded.append(contentsOf: results)
                }
            }
        }
        let served = try broker.hv(stack, ["image", "import", image, "--sha256", digest, "--name", "hv-it-served"], as: MatrixBroker.ownerOperator)
        done.wait()
        #expect(served.status == 0 && served.stdout.contains("imported hv-it-served"), "\(served)")
        #expect(flooded.value.count == 200)
        // Each flooded call is checked and refused for its checksum, or turned away at the door
        // (two upload connections a user at once), never served at the other operator's expense.
        let checked = flooded.value.filter { $0.error == "org.varlink.service.InvalidParameter" && $0.reason?.contains("SHA-256") == true }
        let turnedAway = flooded.value.filter { $0.error == "org.hypernixos.Protocol.TooManyClients" || $0.error?.hasPrefix("client:") == true }
        #expect(!checked.isEmpty && checked.count + turnedAway.count == 200, "\(flooded.value.prefix(3))")
    }

    private func check(_ output: Output) throws {
        guard output.status == 0 else { throw SetupError("setup command failed: \(output)") }
    }
}
