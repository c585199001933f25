import HVProtocol

/// A machine's emulated TPM 2.0: libvirt starts swtpm for it when the machine starts and keeps its
/// state under `/var/lib/libvirt/swtpm/UUID` for as long as the domain is defined.
///
/// q35 gets the CRB interface, the one the TPM 2.0 platform profile defines and Windows 11 and
/// OVMF expect; the older `pc` chipset gets TIS, the interface every firmware for it knows.
public enum MachineTPM {
    /// The TPM version the emulator runs.
    public static let version = "2.0"
    /// libvirt's backend that runs swtpm itself, one process per machine.
    public static let backend = "emulator"

    /// libvirt's device model for a machine of type `machine`.
    public static func model(for machine: MachineType) -> String {
        switch machine {
        case .q35: "tpm-crb"
        case .pc: "tpm-tis"
        }
    }

    /// Whether the host can give a machine of type `machine` this TPM, as libvirt's domain
    /// capabilities (`virsh domcapabilities`) say: `<tpm supported='yes'>` listing the model, the
    /// `emulator` backend (there only when libvirt found swtpm) and version 2.0. Throws
    /// `invalidState` naming the field `tpm` and what to install when it can't.
    public static func check(domainCapabilities xml: String, machine: MachineType) throws(HVError) {
        let capabilities = try ParsedXML.parse(xml, root: "domainCapabilities", what: "domain capabilities")
        let tpm = capabilities.child("devices")?.child("tpm")
        func values(_ name: String) -> [String]? {
            tpm?.children("enum").first { $0["name"] == name }.map { $0.children("value").map(\.trimmedText) }
        }
        let model = model(for: machine)
        let missing: String? =
            if tpm?["supported"] != "yes" {
                "this host's QEMU has no TPM devices"
            } else if values("backendModel")?.contains(backend) != true {
                "libvirt found no swtpm on this host, so it cannot emulate a TPM"
            } else if let versions = values("backendVersion"), !versions.contains(version) {
                "this host's swtpm cannot emulate a TPM \(version)"
            } else if let models = values("model"), !models.contains(model) {
                "this host's QEMU has no \(model) device, the TPM a \(machine.rawValue) machine gets"
            } else {
                nil
            }
        guard let missing else { return }
        throw HVError(
            .invalidState, "tpm: \(missing)",
            fix: "install swtpm on the host (Debian: 'apt-get install swtpm swtpm-tools'; NixOS: "
                + "virtualisation.libvirtd.qemu.swtpm.enable = true), restart libvirtd, and apply again; or set 'tpm: false'",
            details: ["field": "tpm", "state": "no TPM emulator"]
        )
    }
}
