import Foundation
import HVTestSupport
import Testing

/// Emulated TPMs on real libvirt: swtpm runs for the machine, its state lives under libvirt's swtpm
/// directory by the machine's UUID, survives stops, starts and applies, and goes with the machine.
extension ZeroTrustTests {
    static let tpmMachine = "hv-it-tpm"
    /// Where libvirt keeps emulated TPMs' state on the system connection.
    static let tpmStates = "/var/lib/libvirt/swtpm"

    @Test func anOperatorsMachineWithATPMKeepsItsStateUntilItIsDeleted() async throws {
        try withStack { stack in
            clean(stack, [Self.tpmMachine])
            let file = try writeSpec(
                stack,
                """
                name: \(Self.tpmMachine)
                vcpus: 1
                memory: 256MiB
                disks: [{name: root, size: 1GiB}]
                cdrom: \(stack.isoName)
                serial: true
                tpm: true
                """, name: "tpm.yaml"
            )
            let applied = try stack.hv(["vm", "apply", file], as: Stack.operatorUser)
            #expect(applied.status == 0, "\(applied)")
            let info = try stack.hv(["vm", "info", Self.tpmMachine], as: Stack.operatorUser)
            #expect(info.status == 0 && info.stdout.contains("tpm:       yes"), "\(info)")
            let json = try stack.hv(["vm", "info", Self.tpmMachine, "--json"], as: Stack.operatorUser)
            let details = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
            #expect(details?["tpm"] as? Bool == true, "\(json)")
            let uuid = try #require(details?["uuid"] as? String, "\(json)")
            let state = Self.tpmStates + "/" + uuid

            // libvirt makes the TPM's state when the machine first starts, and runs swtpm beside it.
            let started = try stack.hv(["vm", "start", Self.tpmMachine], as: Stack.operatorUser)
            #expect(started.status == 0, "\(started)")
            let (booted, console) = try waitForConsole(stack, Self.tpmMachine, containing: [Stack.marker])
            #expect(booted, "the guest with a TPM did not boot:\n\(console)")
            #expect(FileManager.default.fileExists(atPath: state + "/tpm2/tpm2-00.permall"), "no TPM state under \(state)")

            // Applying the same spec again and stopping and starting keep it.
            let again = try stack.hv(["vm", "apply", file], as: Stack.operatorUser)
            #expect(again.status == 0 && again.stdout.contains("nothing to do"), "\(again)")
            #expect(try stack.hv(["vm", "kill", Self.tpmMachine], as: Stack.operatorUser).status == 0)
            #expect(FileManager.default.fileExists(atPath: state + "/tpm2/tpm2-00.permall"), "a stop removed the TPM state")
            #expect(try stack.hv(["vm", "start", Self.tpmMachine], as: Stack.operatorUser).status == 0)
            #expect(FileManager.default.fileExists(atPath: state + "/tpm2/tpm2-00.permall"), "a start replaced the TPM state")
            #expect(try stack.hv(["vm", "kill", Self.tpmMachine], as: Stack.operatorUser).status == 0)

            // Deleting the machine deletes its TPM.
            let deleted = try stack.hv(["vm", "delete", Self.tpmMachine, "--remove-disks"], as: Stack.operatorUser)
            #expect(deleted.status == 0, "\(deleted)")
            #expect(!FileManager.default.fileExists(atPath: state), "the deleted machine's TPM state is still in \(state)")
            #expect(try stack.hv(["vm", "info", Self.tpmMachine], as: Stack.operatorUser).status == 3)
        }
    }
}
