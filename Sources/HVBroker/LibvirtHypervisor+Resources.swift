import HVProtocol
import HVServer

extension LibvirtHypervisor {
    /// Routes an authorized resource request to the code that carries it out.
    public func perform(_ request: ResourceRequest, caller: Peer) async throws(HVError) -> any ResourceReply {
        switch request {
        case .vmApply(let spec, let dryRun): try await apply(spec, dryRun: dryRun, caller: caller)
        case .vmExport(let name, let redactSecrets): try await export(name, redactSecrets: redactSecrets)
        case .vmAdopt(let name, let group): try await adopt(name, group: group, caller: caller)
        case .vmClone(let source, let name, let linked): try await clone(source, to: name, linked: linked, caller: caller)
        case .vmMarkTemplate(let name): try await makeTemplate(name, caller: caller)
        case .vmAutostart(let name, let enabled, let order): try await setAutostart(name, enabled: enabled, order: order, caller: caller)
        case .vmLeases(let name): try await leases(name)
        case .vmHugepages(let name, let enabled): try await setHugepages(name, enabled: enabled)
        case .vmPinCpus(let name, let pins): try await pinCpus(name, pins: pins)
        case .vmPassthrough(let name, let pci, let usb): try await setPassthrough(name, pci: pci, usb: usb)
        case .hostAutostart(let delay): try await autostart(groupDelaySeconds: delay)
        case .snapshotList(let vm): try await snapshotList(vm)
        case .snapshotCreate(let vm, let name, let description): try await snapshotCreate(vm, name: name, description: description)
        case .snapshotRevert(let vm, let name): try await snapshotRevert(vm, name: name)
        case .snapshotDelete(let vm, let name): try await snapshotDelete(vm, name: name)
        case .poolList: try await poolList()
        case .volumeList(let pool): try await volumeList(pool)
        case .volumeCreate(let pool, let name, let size): try await volumeCreate(pool, name: name, size: size)
        case .volumeResize(let pool, let name, let size): try await volumeResize(pool, name: name, size: size)
        case .volumeDelete(let pool, let name): try await volumeDelete(pool, name: name)
        case .volumeMarkTemplate(let pool, let name): try await volumeMarkTemplate(pool, name: name)
        case .networkList: try await networkList()
        case .networkCreate(let parameters): try await networkCreate(parameters)
        case .networkStart(let name): try await networkStart(name)
        case .networkStop(let name): try await networkStop(name)
        case .networkAutostart(let name, let enabled): try await networkAutostart(name, enabled: enabled)
        case .networkDelete(let name): try await networkDelete(name)
        case .isoList: try await isoList(caller: caller)
        case .isoVerify(let name): try await isoVerify(name)
        case .isoRemove(let name): try await isoRemove(name)
        }
    }
}

extension LibvirtHypervisor {
    public func follow() async throws(HVError) -> AsyncStream<VmEvent> {
        let events = self.events
        return try await onPool(pools.libvirt) { _ in Result { () throws(HVError) in try events.follow() } }
    }
}
