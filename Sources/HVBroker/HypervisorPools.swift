import HVWork

/// The hypervisor's threads: libvirt calls (and the short file operations beside them) on one
/// pool, long jobs (hashing and copying images) on another, so that neither kind waits for the
/// other and a stalled polkitd, whose checks have a pool of their own, holds neither.
public struct HypervisorPools: Sendable {
    public let libvirt: WorkPool
    public let jobs: WorkPool

    public init(libvirt: WorkPool, jobs: WorkPool) {
        self.libvirt = libvirt
        self.jobs = jobs
    }

    /// Pools with the broker's default sizes and bounds.
    public init() {
        self.init(libvirt: WorkPool(.libvirtCalls), jobs: WorkPool(.longJobs))
    }

    public func shutdownGracefully() async throws {
        try await libvirt.shutdownGracefully()
        try await jobs.shutdownGracefully()
    }
}
