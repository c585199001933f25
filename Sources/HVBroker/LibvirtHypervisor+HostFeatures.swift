import Foundation
import HVDomainXML
import HVLibvirt
import HVProtocol

/// The admin-only host features: hugepages, CPU pinning, and PCI/USB passthrough.
///
/// Each method replaces one feature, checks it against the host, and redefines the machine with it.
/// The features live in the machine's metadata, so `hv vm apply` keeps them; a running machine
/// gets them at its next start.
extension LibvirtHypervisor {
    func setHugepages(_ name: String, enabled: Bool) async throws(HVError) -> VmHostFeaturesReply {
        try await changeHostFeatures(name) { features, spec, connection in
            features.hugepages = enabled
            if enabled { try self.checkHugepages(for: spec, connection) }
        }
    }

    func pinCpus(_ name: String, pins: [CpuPin]) async throws(HVError) -> VmHostFeaturesReply {
        try await changeHostFeatures(name) { features, spec, _ in
            let online = try self.hardware.onlineCPUs()
            for (index, pin) in pins.enumerated() {
                guard pin.vcpu < spec.vcpus else {
                    throw HVError.invalidParameter(
                        "pins[\(index)].vcpu", "pins[\(index)].vcpu: '\(name)' has \(spec.vcpus) vCPUs (0 to \(spec.vcpus - 1)), so there is no vCPU \(pin.vcpu)",
                        fix: "pin vCPUs 0 to \(spec.vcpus - 1)"
                    )
                }
                let cpus = try HostFeatureSyntax.cpus(pin.cpus, field: "pins[\(index)].cpus")
                if let missing = cpus.first(where: { !online.contains($0) }) {
                    throw HVError.invalidParameter(
                        "pins[\(index)].cpus", "pins[\(index)].cpus: host CPU \(missing) is not online (online: \(HostFeatureSyntax.cpuList(Array(online))))",
                        fix: "pin to online CPUs; 'lscpu -e' lists them"
                    )
                }
            }
            features.cpuPins = pins
        }
    }

    func setPassthrough(_ name: String, pci: [String], usb: [String]) async throws(HVError) -> VmHostFeaturesReply {
        try await changeHostFeatures(name) { features, _, connection in
            for (index, address) in pci.enumerated() {
                try self.checkPci(address, field: "pci[\(index)]")
            }
            for (index, id) in usb.enumerated() where !self.hardware.usbDevicePresent(id) {
                throw HVError(
                    .notFound, "usb[\(index)]: no USB device \(id) is plugged into this host",
                    fix: "plug it in and try again; 'lsusb' lists the devices with their ids", details: ["name": id]
                )
            }
            let holders = try self.deviceHolders(except: name, connection)
            for device in pci + usb {
                if let holder = holders[device] {
                    throw HVError(
                        .invalidState, "\(device) is already passed to '\(holder)'; a host device goes to one machine",
                        fix: "take it from '\(holder)' first ('hv vm passthrough \(holder) ...' without it)",
                        details: ["name": name, "state": "device held by \(holder)"]
                    )
                }
            }
            features.pciDevices = pci
            features.usbDevices = usb
        }
    }

    /// Reads the machine's features, lets `change` edit them, and redefines the machine when they differ.
    private func changeHostFeatures(
        _ name: String, _ change: @escaping @Sendable (inout HostFeatures, MachineSpec, Connection) throws -> Void
    ) async throws(HVError) -> VmHostFeaturesReply {
        let reply = try await run { connection in
            let domain = try self.domain(name, connection)
            let xml = try domain.xmlDescription(flags: .inactive)
            guard var recorded = self.ownRecord(domainXML: xml),
                let decoded = recorded.spec
            else {
                throw HVError(
                    .invalidState, "'\(name)' was not made from a spec, so the broker keeps no host features for it",
                    fix: "host features go on machines made with 'hv vm apply'", details: ["name": name, "state": "unmanaged"]
                )
            }
            if recorded.template {
                throw HVError(
                    .invalidState, "'\(name)' is a template; host features go on the machines cloned from it",
                    fix: "clone it ('hv vm clone \(name) NEW') and set them on the clone", details: ["name": name, "state": "template"]
                )
            }
            var features = recorded.hostFeatures
            try change(&features, decoded, connection)
            let active = try domain.isActive()
            guard features != recorded.hostFeatures else {
                return VmHostFeaturesReply(hostFeatures: features, restartNeeded: false)
            }
            recorded.hostFeatures = features
            // The MACs libvirt assigned stay: redefining must not renumber the guest's interfaces.
            let spec = Self.pinningAssignedMACs(decoded, domainXML: xml)
            let plan = try self.plan(spec, metadata: recorded, uuid: try domain.uuid(), ownVolumes: self.volumeKeys(of: spec), connection)
            _ = try self.defineMachine(plan.definition, connection)
            return VmHostFeaturesReply(hostFeatures: features, restartNeeded: active)
        }
        return reply
    }

    /// Refuses hugepages the host has not reserved: the machines backed by them, this one included,
    /// must fit in the default-size pages the kernel holds.
    func checkHugepages(for spec: MachineSpec, _ connection: Connection) throws {
        guard let reserved = hardware.hugepages() else {
            throw HVError(.failed, "cannot read the host's hugepages from /proc/meminfo", fix: "check that /proc is mounted")
        }
        let available = reserved.pageSize.bytes * reserved.total
        var needed = spec.memory.bytes
        var others: [String] = []
        for (name, record) in try records(connection) where name != spec.name && record.hostFeatures.hugepages {
            guard let other = record.spec else { continue }
            needed += other.memory.bytes
            others.append(name)
        }
        guard needed <= available else {
            let pages = (needed + reserved.pageSize.bytes - 1) / reserved.pageSize.bytes
            let sharing = others.isEmpty ? "" : " (with \(others.sorted().joined(separator: ", ")), which use hugepages too)"
            throw HVError(
                .quotaExceeded,
                "hugepages: the host reserves \(reserved.total) pages of \(reserved.pageSize.readable) (\(ByteSize(bytes: available).readable)), "
                    + "but '\(spec.name)' needs \(ByteSize(bytes: needed).readable)\(sharing)",
                fix: "reserve at least \(pages) pages: on NixOS boot.kernel.sysctl.\"vm.nr_hugepages\" = \(pages); elsewhere 'sysctl vm.nr_hugepages=\(pages)'",
                details: ["limit": "hugepages", "field": "memory"]
            )
        }
    }

    private func checkPci(_ address: String, field: String) throws {
        guard let device = hardware.pciDevice(address) else {
            throw HVError(.notFound, "\(field): no PCI device \(address) on this host", fix: "'lspci -D' lists the devices with their addresses", details: ["name": address])
        }
        if let classCode = device.classCode, classCode >> 16 == 0x06 {
            throw HVError.invalidParameter(
                field, "\(field): \(address) is a bridge (class 0x\(String(classCode >> 8, radix: 16))), which can't be given to a machine",
                fix: "pass the device behind the bridge instead"
            )
        }
        guard device.iommuGroup != nil else {
            throw HVError.invalidParameter(
                field, "\(field): \(address) has no IOMMU group, so the IOMMU is off and the device can't be isolated",
                fix: "enable VT-d or AMD-Vi in the firmware and boot with intel_iommu=on or amd_iommu=on (NixOS: boot.kernelParams)"
            )
        }
    }

    /// Which machine holds each passed-through device, leaving out `name`.
    private func deviceHolders(except name: String, _ connection: Connection) throws -> [String: String] {
        var holders: [String: String] = [:]
        for (holder, record) in try records(connection) where holder != name {
            for device in record.hostFeatures.pciDevices + record.hostFeatures.usbDevices {
                holders[device] = holder
            }
        }
        return holders
    }
}
