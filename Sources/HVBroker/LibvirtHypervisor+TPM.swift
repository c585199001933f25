import Foundation
import HVDomainXML
import HVLibvirt
import HVProtocol
import Logging

/// Emulated TPMs (`tpm: true`): libvirt runs swtpm for each machine that has one and keeps its state
/// under its swtpm directory (`StorageLayout.tpmStateDirectory`)/UUID across stops, starts and
/// applies; deleting the machine removes it.
extension LibvirtHypervisor {
    /// Refuses a TPM the host can't give, by asking libvirt's domain capabilities for the machine's
    /// type rather than looking for a binary: libvirt lists the emulator backend only when it found
    /// swtpm. libvirt's test driver runs no guests and has no capabilities to ask.
    func checkTPM(for spec: MachineSpec, _ connection: Connection) throws {
        if uri.hasPrefix("test:") { return }
        let capabilities = try connection.domainCapabilities(
            virtualization: domainType(kvmStatus()), machine: spec.machine.rawValue
        )
        try MachineTPM.check(domainCapabilities: capabilities, machine: spec.machine)
    }

    /// Removes what is left of the TPM of the undefined domain `uuid`. libvirt removes a TPM's
    /// state when it undefines a domain that has one; a machine whose spec turned its TPM off
    /// keeps the state (turning it on again gives back the same TPM), and nothing else would ever
    /// remove it.
    func removeTPMState(uuid: String) {
        guard UUID(uuidString: uuid) != nil, let path = layout.tpmStatePath(uuid: uuid),
            FileManager.default.fileExists(atPath: path)
        else { return }
        do {
            try FileManager.default.removeItem(atPath: path)
        } catch {
            logger.warning("cannot remove a deleted machine's TPM state", metadata: ["path": "\(path)", "error": "\(error)"])
        }
    }
}
