import Foundation
import HVProtocol
import HVTestSupport
import Testing

/// Who tries an operation.
enum MatrixCaller: String, CaseIterable, Sendable {
    case stranger, viewer, otherOperator, ownerOperator, admin

    var user: String {
        switch self {
        case .stranger: Stack.strangerUser
        case .viewer: Stack.viewerUser
        case .otherOperator: MatrixBroker.otherOperator
        case .ownerOperator: MatrixBroker.ownerOperator
        case .admin: Stack.adminUser
        }
    }

    var role: Role? {
        switch self {
        case .stranger: nil
        case .viewer: .viewers
        case .otherOperator, .ownerOperator: .operators
        case .admin: .admins
        }
    }
}

/// What an operation is tried on.
enum MatrixTarget: String, Sendable {
    /// The host, or every machine.
    case host
    /// A machine the broker made, charged to team A (the owner operator's group); for an import,
    /// an image to be charged to team A.
    case managed
    /// A domain the broker did not make.
    case foreign
    /// A machine the request creates.
    case new
}

enum MatrixAnswer: String, Sendable {
    /// Past admission: anything but a refusal (the act itself may still fail, e.g. a missing snapshot).
    case allowed
    /// PermissionDenied.
    case denied
    /// NotFound for the machine, exactly as for one that does not exist.
    case invisible
}

/// The authorization matrix, generated from the operation table: every operation × every kind of
/// caller × every kind of object, with the answer the table and the shipped rules promise.
enum Matrix {
    static let operations = BrokerOperation.allCases

    static func targets(_ operation: BrokerOperation) -> [MatrixTarget] {
        switch operation.rule.object {
        case .host, .allMachines: [.host]
        case .newMachine: [.new]
        case .volume: [.managed]
        // An image charged to team A, the owner operator's group.
        case .groupImage: [.managed]
        // A backup of a machine of team A, in the matrix broker's repository.
        case .backup: [.managed]
        case .machine, .appliedMachine, .cloneSource, .foreignMachine: [.managed, .foreign]
        }
    }

    /// The answer the operation table promises.
    static func expected(_ operation: BrokerOperation, _ caller: MatrixCaller, _ target: MatrixTarget) -> MatrixAnswer {
        guard let role = caller.role, role >= operation.rule.grantedTo else { return .denied }
        if caller == .admin { return .allowed }
        switch target {
        case .foreign: return .invisible
        case .managed: return operation.requiresOwnership && caller == .otherOperator ? .denied : .allowed
        case .host, .new: return .allowed
        }
    }

    static func machine(_ operation: BrokerOperation, _ caller: MatrixCaller, _ target: MatrixTarget) -> String {
        switch target {
        case .managed: (caller == .admin ? "z-" : "a-") + operation.rawValue
        case .foreign: (caller == .admin ? "g-" : "f-") + operation.rawValue
        case .host, .new: "n-\(operation.rawValue)-\(caller.rawValue)"
        }
    }

    /// The call that tries `operation` on `name`. Exhaustive: an operation added to the table
    /// without a call here does not compile.
    static func call(_ operation: BrokerOperation, _ name: String) -> [String: Any] {
        func method(_ method: String, _ parameters: [String: Any] = [:]) -> [String: Any] { ["method": method, "parameters": parameters] }
        let vm = ["name": name]
        // With a TPM, so that creating one is tried by every caller too.
        let spec: [String: Any] = ["name": name, "vcpus": 1, "memory": "64MiB", "disks": [["name": "disk0", "size": "1GiB"]], "tpm": true]
        switch operation {
        case .hostInfo: return method(Method.hostGetInfo)
        case .hostStats: return method(Method.hostStats)
        case .hostHealth: return method(Method.hostHealth)
        case .hostAutostart: return method(Method.hostAutostart)
        case .vmList: return method(Method.vmList)
        case .vmInfo: return method(Method.vmInfo, vm)
        case .vmConsole: return method(Method.vmReadConsole, vm)
        case .vmConsoleAttach:
            var call = method(Method.vmOpenConsole, vm)
            call["handOut"] = true
            return call
        case .vmGraphics:
            var call = method(Method.vmOpenGraphics, vm)
            call["handOut"] = true
            return call
        case .vmScreenshot: return method(Method.vmScreenshot, vm)
        case .vmCreate: return method(Method.vmCreate, ["spec": ["name": name, "vcpus": 1, "memoryMiB": 64, "diskGiB": 1]])
        case .vmStart: return method(Method.vmStart, vm)
        case .vmShutdown: return method(Method.vmShutdown, vm)
        case .vmReboot: return method(Method.vmReboot, vm)
        case .vmKill: return method(Method.vmKill, vm)
        case .vmDelete: return method(Method.vmDelete, vm)
        case .vmDeleteWithDisks: return method(Method.vmDelete, ["name": name, "removeDisks": true])
        case .vmApply: return method(Method.vmApply, ["spec": spec, "dryRun": true])
        case .vmExport: return method(Method.vmExport, vm)
        case .vmClone: return method(Method.vmClone, ["source": name, "name": "c-" + name])
        case .vmMarkTemplate: return method(Method.vmMakeTemplate, vm)
        case .vmLeases: return method(Method.vmLeases, vm)
        case .vmAutostart: return method(Method.vmSetAutostart, ["name": name, "enabled": true, "order": 5])
        case .vmHugepages: return method(Method.vmSetHugepages, ["name": name, "enabled": false])
        case .vmCpuPinning: return method(Method.vmPinCpus, ["name": name, "pins": [Any]()])
        case .vmPassthrough: return method(Method.vmSetPassthrough, ["name": name, "pci": [Any](), "usb": [Any]()])
        case .vmAdopt: return method(Method.vmAdopt, vm)
        case .snapshotList: return method(Method.snapshotList, ["vm": name])
        case .snapshotCreate: return method(Method.snapshotCreate, ["vm": name, "name": "s1"])
        case .snapshotRevert: return method(Method.snapshotRevert, ["vm": name, "name": "s0"])
        case .snapshotDelete: return method(Method.snapshotDelete, ["vm": name, "name": "s0"])
        case .poolList: return method(Method.storageListPools)
        case .volumeCreate: return method(Method.storageCreateVolume, ["name": name + "-disk0.qcow2", "size": "1GiB"])
        case .volumeResize: return method(Method.storageResizeVolume, ["name": name + "-disk0.qcow2", "size": "2GiB"])
        case .volumeDelete: return method(Method.storageDeleteVolume, ["name": name + "-disk0.qcow2"])
        case .volumeMarkTemplate: return method(Method.storageMarkTemplate, ["name": name + "-disk0.qcow2"])
        case .networkList: return method(Method.networkList)
        case .networkCreate: return method(Method.networkCreate, ["name": "hvmx", "address": "10.77.0.1/24"])
        case .networkStart: return method(Method.networkStart, ["name": "hvmx-none"])
        case .networkStop: return method(Method.networkStop, ["name": "hvmx-none"])
        case .networkAutostart: return method(Method.networkSetAutostart, ["name": "hvmx-none", "enabled": false])
        case .networkDelete: return method(Method.networkDelete, ["name": "hvmx-none"])
        case .isoList: return method(Method.isoList)
        case .isoAdd:
            var call = method(Method.isoAdd, ["name": "matrix.iso", "sha256": String(repeating: "0", count: 64)])
            call["upload"] = true
            return call
        case .imageImport:
            var call = method(Method.imageImport, ["name": name, "sha256": String(repeating: "0", count: 64), "group": MatrixBroker.teamA])
            call["upload"] = true
            return call
        case .isoVerify: return method(Method.isoVerify, ["name": "none.iso"])
        case .isoRemove: return method(Method.isoRemove, ["name": "none.iso"])
        case .eventsFollow:
            var call = method(Method.eventsFollow)
            call["more"] = true
            return call
        case .auditVerify: return method(Method.auditVerify)
        case .backupCreate: return method(Method.backupCreate, ["machine": name])
        case .backupList: return method(Method.backupList)
        case .backupShow: return method(Method.backupShow, ["id": MatrixBroker.backup(of: name)])
        case .backupVerify: return method(Method.backupVerify, ["id": MatrixBroker.backup(of: name)])
        case .backupRestore: return method(Method.backupRestore, ["id": MatrixBroker.backup(of: name), "name": "r-" + name])
        case .backupDelete: return method(Method.backupDelete, ["id": MatrixBroker.backup(of: name)])
        // A dry run: deciding is authorized exactly as removing, and team A's backups stay for the other cells.
        case .backupPrune: return method(Method.backupPrune, ["retention": ["keepLast": 1], "machine": name, "dryRun": true])
        // No such job: past admission it is NotFound, which the matrix counts as allowed.
        case .backupRunJob: return method(Method.backupRunJob, ["job": "matrix-none"])
        case .backupJobs: return method(Method.backupJobs)
        // The shortest wait: an allowed boot test restores, starts and removes a scratch machine.
        case .backupBootTest: return method(Method.backupBootTest, ["id": MatrixBroker.backup(of: name), "timeout": 10])
        case .backupStatus: return method(Method.backupStatus)
        }
    }

    static func answer(_ error: String?, _ reason: String?, machine: String) -> MatrixAnswer? {
        guard let error else { return .allowed }
        if error.hasSuffix(".PermissionDenied") { return .denied }
        if error.hasSuffix(".NotFound"), reason?.contains("no virtual machine named '\(machine)'") == true { return .invisible }
        if error.hasSuffix(".AuthorizationUnavailable") || error.hasSuffix(".AuditUnavailable") || error.hasPrefix("client:") { return nil }
        return .allowed
    }
}

@Suite(.serialized, .enabled(if: Environment.enabled))
struct AuthorizationMatrixTests {
    /// Every operation × {admin, operator of the owning group, operator of another group, viewer,
    /// stranger} × {managed machine, foreign domain}, on the real socket with real polkit.
    @Test func everyOperationAnswersAsTheTableSays() throws {
        let broker = try MatrixBroker.shared.get()
        var mismatches: [String] = []
        // The admin goes last: its changes (deletions, adoptions) touch only its own machines.
        for caller in MatrixCaller.allCases {
            var cases: [(BrokerOperation, MatrixTarget, String)] = []
            for operation in Matrix.operations {
                for target in Matrix.targets(operation) {
                    cases.append((operation, target, Matrix.machine(operation, caller, target)))
                }
            }
            let results = try broker.send(cases.map { Matrix.call($0.0, $0.2) }, as: caller.user)
            for ((operation, target, machine), result) in zip(cases, results) {
                let expected = Matrix.expected(operation, caller, target)
                let got = Matrix.answer(result.error, result.reason, machine: machine)
                if got != expected {
                    mismatches.append(
                        "\(operation.rawValue) by \(caller.rawValue) on \(target.rawValue) \(machine): expected \(expected.rawValue), got \(got?.rawValue ?? "?") (\(result.error ?? "ok"): \(result.reason ?? ""))"
                    )
                }
            }
        }
        let report = "\(mismatches.count) cells differ:\n" + mismatches.joined(separator: "\n")
        #expect(mismatches.isEmpty, Comment(rawValue: report))
    }

    /// A restore in place of team A's backup over team A's machine: refused to a stranger, a
    /// viewer and another team's operator, before the machine's state is even looked at.
    @Test func aRestoreInPlaceIsRefusedToAllButTheOwnersAndAdmins() throws {
        let broker = try MatrixBroker.shared.get()
        let call: [String: Any] = [
            "method": Method.backupRestore, "parameters": ["id": MatrixBroker.backup(of: "a-backupRestore"), "inPlace": true],
        ]
        for caller in [MatrixCaller.stranger, .viewer, .otherOperator] {
            let result = try #require(try broker.send([call], as: caller.user).first)
            #expect(result.error?.hasSuffix(".PermissionDenied") == true, "\(caller): \(result)")
        }
    }

    /// Lists show managed machines to viewers and operators, and foreign domains only to admins.
    @Test func foreignDomainsAreListedOnlyForAdministrators() throws {
        let broker = try MatrixBroker.shared.get()
        let list = [["method": Method.vmList, "parameters": [String: Any]()]]
        for caller in [MatrixCaller.viewer, .otherOperator, .admin] {
            let file = broker.base + "/list-\(caller.rawValue).json"
            try JSONSerialization.data(withJSONObject: list).write(to: URL(fileURLWithPath: file))
            chmod(file, 0o644)
            let output = try run(["/usr/bin/python3", "-c", Self.listScript, broker.socket], as: caller.user)
            #expect(output.status == 0, "\(output)")
            #expect(output.stdout.contains("a-vmInfo"), "\(caller): managed machines are listed")
            #expect(output.stdout.contains("f-vmInfo") == (caller == .admin), "\(caller): \(output.stdout.prefix(200))")
        }
    }

    static let listScript = """
        import json, socket, sys
        s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
        s.sendall(json.dumps({"method": "org.hypernixos.Vm.List", "parameters": {}}).encode() + b"\\0")
        data = b""
        while not data.endswith(b"\\0"): data += s.recv(65536)
        print(" ".join(vm["name"] for vm in json.loads(data[:-1])["parameters"]["vms"]))
        """

    /// A user in no group floods an operation while a viewer is still served: Vm.Adopt, the
    /// consoles (the two handed out on the upload socket and the screenshot) on team A's machines,
    /// and backing up, verifying, restoring, boot-testing and deleting team A's backups, reading
    /// every machine's backup status, and pruning, running jobs and listing them.
    /// Every flooded call is refused: by polkit, or by the upload socket's per-user bound when
    /// more than its share arrive at once; none is let through.
    @Test(arguments: [
        (BrokerOperation.vmAdopt, "f-vmAdopt"), (.vmConsoleAttach, "a-vmConsoleAttach"), (.vmGraphics, "a-vmGraphics"),
        (.vmScreenshot, "a-vmScreenshot"), (.backupCreate, "a-backupCreate"), (.backupVerify, "a-backupVerify"),
        (.backupRestore, "a-backupRestore"), (.backupDelete, "a-backupDelete"), (.backupPrune, "a-backupPrune"),
        (.backupRunJob, "a-backupRunJob"), (.backupJobs, "a-backupJobs"),
        (.backupBootTest, "a-backupBootTest"), (.backupStatus, ""),
    ])
    func aFloodOfRefusedCallsLeavesOthersServed(operation: BrokerOperation, object: String) throws {
        let broker = try MatrixBroker.shared.get()
        let done = DispatchGroup()
        let flooded = LockedBox<[(error: String?, reason: String?)]>([])
        for _ in 0..<4 {
            DispatchQueue.global().async(group: done) {
                let flood = Array(repeating: Matrix.call(operation, object), count: 300)
                if let results = try? broker.send(flood, as: Stack.strangerUser) { flooded.append(contentsOf: results) }
            }
        }
        let served = try broker.send(Array(repeating: Matrix.call(.vmList, ""), count: 20), as: Stack.viewerUser)
        done.wait()
        #expect(served.allSatisfy { $0.error == nil }, "\(served.filter { $0.error != nil }.prefix(3))")
        #expect(flooded.value.count == 1200)
        let refusals = [".PermissionDenied", ".Busy", ".TooManyClients"]
        let through = flooded.value.filter { result in !refusals.contains { result.error?.hasSuffix($0) == true } }
        #expect(through.isEmpty, "\(operation): \(through.prefix(3))")
        #expect(flooded.value.contains { $0.error?.hasSuffix(".PermissionDenied") == true }, "polkit refused the flood")
    }
}

/// A value shared by the flood's threads.
final class LockedBox<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value { lock.withLock { stored } }
    func append<Element>(contentsOf elements: [Element]) where Value == [Element] { lock.withLock { stored.append(contentsOf: elements) } }
    func update(_ change: (inout Value) -> Void) { lock.withLock { change(&stored) } }
}
