import ArgumentParser
import HVBroker
import HVWork

/// The sizes and bounds of the broker's three pools of threads; their defaults are
/// `WorkPool.Configuration`'s.
struct PoolOptions: ParsableArguments {
    @Option(help: "Threads for polkit checks; a polkitd that stalls holds only these.")
    var polkitThreads = WorkPool.Configuration.polkitChecks.threads
    @Option(help: "Seconds one polkit check may wait for polkitd before the request is refused.")
    var polkitTimeout = Int(PolkitAuthorizer.defaultTimeout.components.seconds)
    @Option(help: "Threads for libvirt calls and short file operations.")
    var libvirtThreads = WorkPool.Configuration.libvirtCalls.threads
    @Option(help: "Threads for long jobs: hashing and copying images.")
    var jobThreads = WorkPool.Configuration.longJobs.threads
    @Option(help: "Calls of one user that may wait for the polkit threads, and for the libvirt threads; more get Busy.")
    var maxQueuedPerUser = WorkPool.Configuration.libvirtCalls.maximumQueuedPerCaller
    @Option(help: "Long jobs of one user that may wait for a thread; more get Busy.")
    var maxQueuedJobsPerUser = WorkPool.Configuration.longJobs.maximumQueuedPerCaller
    @Option(help: "Long jobs of one user that run at once.")
    var maxRunningJobsPerUser = WorkPool.Configuration.longJobs.maximumRunningPerCaller

    func validate() throws {
        guard (1...600).contains(polkitTimeout) else {
            throw ValidationError("--polkit-timeout must be 1 to 600 seconds")
        }
        guard polkitThreads > 0, libvirtThreads > 0, jobThreads > 0, maxQueuedPerUser > 0, maxQueuedJobsPerUser > 0,
            maxRunningJobsPerUser > 0
        else {
            throw ValidationError("the thread counts and the per-user bounds of the pools must be positive")
        }
    }

    var polkit: WorkPool.Configuration {
        sized(.polkitChecks, threads: polkitThreads, queued: maxQueuedPerUser, running: polkitThreads)
    }

    var libvirt: WorkPool.Configuration {
        sized(.libvirtCalls, threads: libvirtThreads, queued: maxQueuedPerUser, running: libvirtThreads)
    }

    var jobs: WorkPool.Configuration {
        sized(.longJobs, threads: jobThreads, queued: maxQueuedJobsPerUser, running: maxRunningJobsPerUser)
    }

    /// `base` with the sizes given on the command line.
    private func sized(_ base: WorkPool.Configuration, threads: Int, queued: Int, running: Int) -> WorkPool.Configuration {
        WorkPool.Configuration(
            name: base.name, threads: threads, maximumQueuedPerCaller: queued, maximumRunningPerCaller: running,
            niceness: base.niceness
        )
    }
}
