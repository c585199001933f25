import HVDomainXML
import HVLibvirt
import HVProtocol
import Logging

/// A start the host could not satisfy: libvirt's (or QEMU's) words turned into which resource was
/// short, how much the host has, what the machine needs, and what to do.
struct StartShortage: Sendable, Hashable {
    enum Resource: String, Sendable {
        case memory
        case hugepages
        case diskSpace = "disk space"
    }

    var resource: Resource

    /// The shortage behind a failed start, or nil when the failure was something else.
    ///
    /// - Parameter hugepages: whether the machine's memory comes from the host's hugepages, where
    ///   an allocation failure means hugepages ran out.
    init?(_ error: LibvirtError, hugepages: Bool) {
        let text = error.message.lowercased()
        let allocation = [
            "cannot allocate memory", "cannot set up guest memory", "out of memory", "unable to map backing store",
            "insufficient free host memory pages",
        ].contains { text.contains($0) }
        if text.contains("no space left on device") || text.contains("disk quota exceeded") {
            resource = .diskSpace
        } else if text.contains("hugetlbfs") || text.contains("hugepage") || (allocation && hugepages) {
            resource = .hugepages
        } else if allocation {
            resource = .memory
        } else {
            return nil
        }
    }

    /// The error for the machine `name`, which needs `memory`, with what `hardware` has now.
    func error(machine name: String, memory: ByteSize, hardware: HostHardware, imageDirectory: String, libvirt: LibvirtError) -> HVError {
        let details = ["name": name, "resource": resource.rawValue, "field": "memory", "libvirt": libvirt.message]
        let export = "'hv vm export \(name) > \(name).yaml', edit memory, then 'hv vm apply \(name).yaml'"
        let memoryInfo = hardware.memoryInfo()
        switch resource {
        case .memory:
            let free = memoryInfo?["MemAvailable"].map { "the host has \(ByteSize(bytes: $0).readable) of memory free" }
                ?? "the host could not give it that much memory"
            return HVError(
                .failed, "'\(name)' could not start: \(free); this machine needs \(memory.readable)",
                fix: "stop another machine ('hv vm stop NAME'), or lower memory in its spec: \(export)", details: details
            )
        case .hugepages:
            var have = "the host's free hugepages could not be read"
            var needed = ""
            if let info = memoryInfo, let size = info["Hugepagesize"], size > 0, let free = info["HugePages_Free"] {
                have = "the host has \(free) free hugepages of \(ByteSize(bytes: size).readable) (\(ByteSize(bytes: free * size).readable))"
                let pages = (memory.bytes + size - 1) / size
                needed = " (\(pages) pages)"
                if let total = info["HugePages_Total"] {
                    needed += "; the host reserves \(total) in all"
                }
            }
            return HVError(
                .failed, "'\(name)' could not start: \(have); this machine needs \(memory.readable) of hugepages\(needed)",
                fix: "stop another machine that uses hugepages, reserve more (sysctl vm.nr_hugepages; on NixOS "
                    + "boot.kernel.sysctl.\"vm.nr_hugepages\"), or lower memory in its spec: \(export)",
                details: details
            )
        case .diskSpace:
            let free = hardware.freeSpace(at: imageDirectory).map { "\($0.readable) free under \(imageDirectory)" }
                ?? "no space left"
            var diskDetails = details
            diskDetails["field"] = "disks"
            return HVError(
                .failed, "'\(name)' could not start: the host's disk is full (\(free))",
                fix: "free space on that file system: delete machines or volumes you no longer need "
                    + "('hv vm delete NAME --remove-disks'), or ask an administrator to add space",
                details: diskDetails
            )
        }
    }
}

extension LibvirtHypervisor {
    /// Starts `domain`; a start the host had too little memory, hugepages or disk space for is
    /// reported as that, with what to do, instead of libvirt's words.
    func startDomain(_ domain: Domain) throws {
        do {
            try domain.start()
        } catch {
            let hugepages = (try? record(of: domain))?.hostFeatures.hugepages ?? false
            guard let shortage = StartShortage(error, hugepages: hugepages) else { throw error }
            let memory = ByteSize.kibibytes((try? domain.info().maxMemoryKiB) ?? 0)
            logger.warning(
                "start refused by the host", metadata: ["vm": "\(domain.name)", "resource": "\(shortage.resource.rawValue)", "libvirt": "\(error.message)"]
            )
            throw shortage.error(machine: domain.name, memory: memory, hardware: hardware, imageDirectory: layout.imageDirectory, libvirt: error)
        }
    }
}
