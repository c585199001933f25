import Foundation

/// The standard programs the benchmarks measure against or prepare with, found by name and run
/// to completion.
enum ToolRun {
    /// The program's absolute path, from the usual places.
    static func program(_ name: String, fix: String) throws(BenchError) -> String {
        for directory in ["/usr/bin", "/bin", "/run/current-system/sw/bin"] where FileManager.default.isExecutableFile(atPath: directory + "/" + name) {
            return directory + "/" + name
        }
        throw BenchError(.serviceUnavailable, "no \(name) in /usr/bin, /bin or /run/current-system/sw/bin", fix: fix)
    }

    /// Runs `arguments` (the first an absolute path) and returns what it printed; fails unless it
    /// exited with status 0. `what` names the step in the error.
    @discardableResult
    static func check(_ arguments: [String], _ what: String) throws(BenchError) -> String {
        let run = try CapturedRun(arguments)
        guard run.status == 0 else {
            throw BenchError(.measurementFailed, "\(what) failed (\(arguments.joined(separator: " ")), status \(run.status)): \(run.output.suffix(2000))")
        }
        return run.output
    }

    /// Runs `arguments` as `check` does and returns its wall time and its CPU time (user + system,
    /// from `getrusage(RUSAGE_CHILDREN)`, so every process it waited for too).
    static func timed(_ arguments: [String], _ what: String) throws(BenchError) -> Timing {
        let cpu = Timing.cpuSeconds(children: true)
        let started = Stopwatch.now()
        try check(arguments, what)
        return Timing(wallSeconds: Double(Stopwatch.now() - started) / 1e9, cpuSeconds: Timing.cpuSeconds(children: true) - cpu)
    }
}
