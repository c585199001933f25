import HVProtocol

/// Typed calls for snapshots, storage, networks, the ISO library, clones and templates.
extension BrokerClient {
    public func snapshots(of vm: String) throws(HVError) -> [SnapshotInfo] {
        try connection.call(Method.snapshotList, SnapshotListParameters(vm: vm), as: SnapshotListReply.self).snapshots
    }

    public func createSnapshot(of vm: String, name: String, description: String?) throws(HVError) -> SnapshotInfo {
        try connection.call(
            Method.snapshotCreate, SnapshotCreateParameters(vm: vm, name: name, description: description), as: SnapshotReply.self
        ).snapshot
    }

    public func revertSnapshot(of vm: String, name: String) throws(HVError) {
        _ = try connection.call(Method.snapshotRevert, SnapshotNameParameters(vm: vm, name: name), as: EmptyReply.self)
    }

    public func deleteSnapshot(of vm: String, name: String) throws(HVError) {
        _ = try connection.call(Method.snapshotDelete, SnapshotNameParameters(vm: vm, name: name), as: EmptyReply.self)
    }

    public func pools() throws(HVError) -> [PoolInfo] {
        try connection.call(Method.storageListPools, NoParameters(), as: PoolListReply.self).pools
    }

    public func volumes(pool: String?) throws(HVError) -> [VolumeInfo] {
        try connection.call(Method.storageListVolumes, VolumeListParameters(pool: pool), as: VolumeListReply.self).volumes
    }

    public func createVolume(pool: String?, name: String, size: ByteSize) throws(HVError) -> VolumeInfo {
        try connection.call(Method.storageCreateVolume, VolumeSizeParameters(pool: pool, name: name, size: size), as: VolumeReply.self).volume
    }

    public func resizeVolume(pool: String?, name: String, size: ByteSize) throws(HVError) -> VolumeInfo {
        try connection.call(Method.storageResizeVolume, VolumeSizeParameters(pool: pool, name: name, size: size), as: VolumeReply.self).volume
    }

    public func deleteVolume(pool: String?, name: String) throws(HVError) {
        _ = try connection.call(Method.storageDeleteVolume, VolumeNameParameters(pool: pool, name: name), as: EmptyReply.self)
    }

    public func markTemplate(pool: String?, volume name: String) throws(HVError) -> VolumeInfo {
        try connection.call(Method.storageMarkTemplate, VolumeNameParameters(pool: pool, name: name), as: VolumeReply.self).volume
    }

    public func networks() throws(HVError) -> [NetworkInfo] {
        try connection.call(Method.networkList, NoParameters(), as: NetworkListReply.self).networks
    }

    public func createNetwork(_ parameters: NetworkCreateParameters) throws(HVError) -> NetworkInfo {
        try connection.call(Method.networkCreate, parameters, as: NetworkReply.self).network
    }

    /// Start, Stop or Delete.
    public func network(_ method: String, _ name: String) throws(HVError) {
        _ = try connection.call(method, NetworkNameParameters(name: name), as: EmptyReply.self)
    }

    public func setNetworkAutostart(_ name: String, enabled: Bool) throws(HVError) {
        _ = try connection.call(Method.networkSetAutostart, NetworkAutostartParameters(name: name, enabled: enabled), as: EmptyReply.self)
    }

    public func leases(of vm: String) throws(HVError) -> [Lease] {
        try connection.call(Method.vmLeases, VmNameParameters(name: vm), as: LeaseListReply.self).leases
    }

    /// The library's images, and what they occupy against the host policy's totals.
    public func isoLibrary() throws(HVError) -> IsoListReply {
        try connection.call(Method.isoList, NoParameters(), as: IsoListReply.self)
    }

    public func verifyIso(_ name: String) throws(HVError) -> IsoVerifyReply {
        try connection.call(Method.isoVerify, IsoNameParameters(name: name))
    }

    /// Verifies with progress: `progress` gets the bytes hashed so far and the image's size, a few
    /// times a second, until the result comes. The connection carries nothing else meanwhile.
    public func verifyIso(_ name: String, progress: (WorkProgress) -> Void) throws(HVError) -> IsoVerifyReply {
        try streamed(Method.isoVerify, IsoNameParameters(name: name), as: IsoVerifyReply.self, progress)
    }

    public func removeIso(_ name: String) throws(HVError) {
        _ = try connection.call(Method.isoRemove, IsoNameParameters(name: name), as: EmptyReply.self)
    }

    public func clone(_ source: String, to name: String, linked: Bool) throws(HVError) -> VmDetails {
        try connection.call(Method.vmClone, VmCloneParameters(source: source, name: name, linked: linked), as: VmInfoReply.self).vm
    }

    public func adopt(_ name: String, group: String?) throws(HVError) -> VmDetails {
        try connection.call(Method.vmAdopt, VmAdoptParameters(name: name, group: group), as: VmInfoReply.self).vm
    }

    public func makeTemplate(_ name: String) throws(HVError) {
        _ = try connection.call(Method.vmMakeTemplate, VmNameParameters(name: name), as: EmptyReply.self)
    }

    public func setAutostart(_ name: String, enabled: Bool, order: Int?) throws(HVError) -> VmAutostartReply {
        try connection.call(Method.vmSetAutostart, VmAutostartParameters(name: name, enabled: enabled, order: order), as: VmAutostartReply.self)
    }
}

extension BrokerClient {
    public func apply(_ spec: MachineSpec, dryRun: Bool) throws(HVError) -> VmApplyReply {
        try connection.call(Method.vmApply, VmApplyParameters(spec: spec, dryRun: dryRun))
    }

    public func export(_ name: String) throws(HVError) -> MachineSpec {
        try connection.call(Method.vmExport, VmNameParameters(name: name), as: VmExportReply.self).spec
    }
}
