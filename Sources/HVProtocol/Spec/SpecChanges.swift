/// What applying a new spec to an existing machine changes, and when each change takes effect.
public enum SpecChanges {
    /// The differences from `current` (the spec the machine was last applied with) to `desired`, in
    /// spec key order. Both are compared in their normalized form; an empty result means nothing to do.
    public static func between(current: MachineSpec, desired: MachineSpec) -> [SpecChange] {
        let current = current.normalized(), desired = desired.normalized()
        var changes = Collector()
        if current.name != desired.name {
            changes.add(
                "name", current.name, desired.name,
                .refused(reason: "the name identifies the machine, so a spec cannot rename it; clone the machine to get a copy under a new name")
            )
        }
        changes.add("description", current.description, desired.description, .immediate)
        changes.add("tags", text(current.tags), text(desired.tags), .immediate)
        changes.add("vcpus", "\(current.vcpus)", "\(desired.vcpus)", .nextBoot)
        changes.add("memory", current.memory.description, desired.memory.description, .nextBoot)
        changes.add("firmware", current.firmware.rawValue, desired.firmware.rawValue, .nextBoot)
        changes.add("machine", current.machine.rawValue, desired.machine.rawValue, .nextBoot)
        diskChanges(current: current, desired: desired, into: &changes)
        changes.add("cdrom", current.cdrom, desired.cdrom, .nextBoot)
        nicChanges(current: current.networks, desired: desired.networks, into: &changes)
        changes.add("graphics", current.graphics.map(text), desired.graphics.map(text), .nextBoot)
        changes.add("serial", "\(current.serial)", "\(desired.serial)", .nextBoot)
        changes.add("tpm", "\(current.tpm)", "\(desired.tpm)", .nextBoot, note: tpmNote(adding: desired.tpm))
        changes.add("autostart", current.autostart.map(text), desired.autostart.map(text), .immediate)
        cloudInitChanges(current: current.cloudInit, desired: desired.cloudInit, into: &changes)
        return changes.list
    }

    /// Collects changes, skipping fields whose values are equal.
    struct Collector {
        var list: [SpecChange] = []

        mutating func add(_ field: String, _ from: String?, _ to: String?, _ effect: ChangeEffect, note: String? = nil) {
            guard from != to else { return }
            list.append(SpecChange(field: field, from: from, to: to, effect: effect, note: note))
        }
    }

    private static func cloudInitChanges(current: CloudInitSpec?, desired: CloudInitSpec?, into changes: inout Collector) {
        let note = "cloud-init acts on a machine's first boot; change the instance-id in meta_data to make it run again"
        guard let current, let desired else {
            changes.add("cloud_init", current.map(text), desired.map(text), .nextBoot, note: note)
            return
        }
        changes.add("cloud_init.user_data", text(current.userData), text(desired.userData), .nextBoot, note: note)
        changes.add("cloud_init.meta_data", current.metaData.map(text), desired.metaData.map(text), .nextBoot, note: note)
        changes.add(
            "cloud_init.network_config", current.networkConfig.map(text), desired.networkConfig.map(text), .nextBoot, note: note
        )
    }

    /// A TPM's state (its keys, such as BitLocker's) stays with the machine until it is deleted, so
    /// removing the device and adding it again gives back the same TPM.
    static func tpmNote(adding: Bool) -> String {
        adding
            ? "the machine gets a new, empty TPM 2.0 when it next starts; its state is kept until the machine is deleted"
            : "the TPM's state is kept until the machine is deleted: turning it on again gives back the same TPM and the keys it holds"
    }

    static func text(_ tags: [String]) -> String { "[" + tags.joined(separator: ", ") + "]" }

    static func text(_ graphics: GraphicsSpec) -> String { "\(graphics.type.rawValue) on \(graphics.listen.word)" }

    static func text(_ autostart: AutostartSpec) -> String {
        autostart.enabled ? "enabled, order \(autostart.order)" : "disabled"
    }

    static func text(_ cloudInit: CloudInitSpec) -> String {
        let parts = [("user_data", cloudInit.userData), ("meta_data", cloudInit.metaData), ("network_config", cloudInit.networkConfig)]
        return parts.compactMap { name, value in value.map { "\(name) (\(text($0)))" } }.joined(separator: ", ")
    }

    /// Long text is summarized by size and a short fingerprint, so that two versions can be told apart.
    static func text(_ data: String) -> String {
        var hash: UInt32 = 2_166_136_261
        for byte in data.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        let digits = String(hash, radix: 16)
        return "\(data.utf8.count) bytes, fingerprint \(String(repeating: "0", count: 8 - digits.count) + digits)"
    }
}
