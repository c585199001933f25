import Foundation
import Glibc
import HVAudit
import HVClient
import HVProtocol
import Synchronization

/// The audit log at scale, for `hv-bench audit` and the first part of `hv-bench pressure
/// --audit-records`: for each history size, a history written with the log's own code
/// (`AuditHistoryWriter`), then a broker started on it, timed and asked for `Host.Health` and
/// `Audit.Verify`, beside `gzip -dcf | sha256sum` of the same bytes.
struct AuditBench {
    var sizes: [Int]
    var starts: Int
    var healthCalls: Int
    var broker: String

    /// Untimed Host.Health calls before the timed ones.
    static let healthWarmup = 3
    /// Disk a history takes, per record, with room to spare: about 110 bytes a record once
    /// compressed, plus the active segment and one being compressed.
    static let diskPerRecord = 160
    static let diskReserve = 256 << 20

    /// `10000,10M,1k`: sizes, comma-separated, with an optional k or M; nil when one is not a size.
    static func sizes(parsing text: String) -> [Int]? {
        let sizes = text.split(separator: ",").map { part -> Int? in
            let trimmed = part.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "_", with: "")
            let factor = trimmed.hasSuffix("M") ? 1_000_000 : trimmed.hasSuffix("k") ? 1_000 : 1
            guard let value = Int(factor == 1 ? trimmed : String(trimmed.dropLast())), value > 0 else { return nil }
            return value * factor
        }
        guard !sizes.isEmpty, sizes.allSatisfy({ $0 != nil }) else { return nil }
        return sizes.compactMap { $0 }
    }

    func run() throws(BenchError) -> AuditReport {
        try BenchRun.requireRoot("polkit grants the broker's actions to root without any group setup", fix: "run scripts/bench.sh audit as root")
        let scratch = try ScratchDirectory("/tmp/hv-bench-audit")
        let running = RunningBroker()
        let interrupt = InterruptHandler(cleanUp: {
            running.stop()
            scratch.remove()
        })
        defer {
            running.stop()
            interrupt.cancel()
            scratch.remove()
        }
        let loadAverage = BenchRun.loadAverage()
        var histories: [AuditScale] = []
        for size in sizes {
            let directory = scratch.path + "/\(size)"
            defer { try? FileManager.default.removeItem(atPath: directory) }
            histories.append(try measure(size, in: directory, running))
        }
        return AuditReport(
            cpus: ProcessInfo.processInfo.activeProcessorCount, loadAverage: loadAverage, starts: starts, healthCalls: healthCalls,
            histories: histories
        )
    }

    private func measure(_ size: Int, in directory: String, _ running: RunningBroker) throws(BenchError) -> AuditScale {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw BenchError(.measurementFailed, "cannot create \(directory): \(error)")
        }
        try Self.requireSpace(for: size, in: directory)
        let log = directory + "/audit.jsonl"
        BenchRun.progress("writing an audit history of \(size) records")
        let written = try Self.writeHistory(size, to: log)

        BenchRun.progress("starting hv-broker \(starts) times on it")
        var startups: [BrokerStart] = []
        for _ in 1..<starts {
            startups.append(try start(log, running).start)
            running.stop()
        }
        let (broker, last) = try start(log, running)
        startups.append(last)
        defer { running.stop() }
        let afterStart = try memory(of: broker)

        BenchRun.progress("Host.Health \(healthCalls) times")
        let health = try timeHealth(broker)
        let afterHealth = try memory(of: broker)

        // Sized before either reads them: both go through these bytes, and Audit.Verify's own
        // record is appended only after it.
        let segments = Self.segmentFiles(log)
        let diskBytes = segments.reduce(0) { $0 + (Self.fileSize($1) ?? 0) }
        let plainBytes = segments.reduce(0) { $0 + PlainTextDigest.plainBytes(of: $1) }
        BenchRun.progress("gzip -dcf | sha256sum over \(segments.count) segment files")
        let digest = try PlainTextDigest.measure(segments, fifo: directory + "/plain.fifo")
        BenchRun.progress("Audit.Verify")
        let verify = try verifyAll(broker)
        return AuditScale(
            records: size, chainRecords: written.checkpoint.seq, sealedSegments: segments.count - 1,
            diskBytes: diskBytes, plainBytes: plainBytes,
            generation: written.timing, startups: startups, memoryAfterStart: afterStart, health: health,
            memoryAfterHealth: afterHealth, verify: verify, sha256sum: digest
        )
    }

    /// Writes `count` records of `AuditTraffic` ending now, with the broker's default segment size
    /// and compression; returns the time it took and the checkpoint left.
    static func writeHistory(_ count: Int, to log: String) throws(BenchError) -> (timing: Timing, checkpoint: AuditCheckpoint) {
        let cpu = Timing.cpuSeconds()
        let started = Stopwatch.now()
        let checkpoint: AuditCheckpoint
        do throws(AuditError) {
            let writer = try AuditHistoryWriter(path: log, configuration: AuditConfiguration())
            var traffic = AuditTraffic()
            let end = Date()
            let tenth = max(1, count / 10)
            for index in 0..<count {
                let time = AuditTraffic.time(index, of: count, endingAt: end)
                try writer.append(traffic.next(at: time), at: time)
                if count >= 1_000_000, (index + 1) % tenth == 0 { BenchRun.progress("\((index + 1) / tenth * 10)% written") }
            }
            checkpoint = try writer.finish()
        } catch {
            throw BenchError(.measurementFailed, "the audit history could not be written: \(error)")
        }
        return (Timing(wallSeconds: Double(Stopwatch.now() - started) / 1e9, cpuSeconds: Timing.cpuSeconds() - cpu), checkpoint)
    }

    /// Starts the broker on `log` and notes how long it took and what CPU it used meanwhile.
    private func start(_ log: String, _ running: RunningBroker) throws(BenchError) -> (BrokerProcess, start: BrokerStart) {
        let broker = try BrokerProcess(executable: self.broker, auditLog: log)
        running.set(broker)
        let cpu = ProcessCPU(processes: [("hv-broker", broker.processIdentifier)]).sample()["hv-broker"] ?? 0
        return (broker, BrokerStart(wallMilliseconds: Double(broker.startupNanoseconds) / 1e6, cpuMilliseconds: cpu / 1e3))
    }

    private func memory(of broker: BrokerProcess) throws(BenchError) -> ProcessMemory {
        guard let memory = ProcessMemory.read(pid: broker.processIdentifier) else {
            throw BenchError(.brokerFailed, "cannot read /proc/\(broker.processIdentifier)/status: the broker ended")
        }
        return memory
    }

    /// `healthCalls` Host.Health calls as root on one connection, each checked to find the log intact.
    private func timeHealth(_ broker: BrokerProcess) throws(BenchError) -> LatencySummary {
        var samples: [UInt64] = []
        do throws(HVError) {
            let client = try BrokerClient(socketPath: broker.socketPath)
            for call in 0..<(Self.healthWarmup + healthCalls) {
                let started = Stopwatch.now()
                let checks = try client.health()
                let elapsed = Stopwatch.now() - started
                guard let audit = checks.first(where: { $0.id == "audit" }), audit.status == .ok else {
                    throw HVError(.failed, "Host.Health does not find the audit log intact: \(checks.first { $0.id == "audit" }?.value ?? "no audit check")")
                }
                if call >= Self.healthWarmup { samples.append(elapsed) }
            }
        } catch {
            throw BenchError(.brokerFailed, "Host.Health: \(error.reason)")
        }
        return LatencySummary(id: "audit.host-health", name: "Host.Health", nanoseconds: samples)
    }

    /// `Audit.Verify` streamed, as `hv audit verify` calls it: every record, with progress replies.
    private func verifyAll(_ broker: BrokerProcess) throws(BenchError) -> VerifyRun {
        let cpu = ProcessCPU(processes: [("hv-broker", broker.processIdentifier)])
        let cpuBefore = cpu.sample()["hv-broker"] ?? 0
        let started = Stopwatch.now()
        var result: AuditVerifyReply?
        do throws(HVError) {
            let client = try VarlinkClient(socketPath: broker.socketPath)
            let stream = try client.openStream(Method.auditVerify)
            while let parameters = try stream.next() {
                guard let reply = try? VarlinkJSON.convert(parameters, to: AuditVerifyReply.self) else {
                    throw HVError(.protocolError, "a reply is not an Audit.Verify reply")
                }
                if reply.progress == nil { result = reply }
            }
        } catch {
            throw BenchError(.brokerFailed, "Audit.Verify: \(error.reason)")
        }
        let wall = Double(Stopwatch.now() - started) / 1e9
        let cpuAfter = cpu.sample()["hv-broker"] ?? 0
        guard let result, result.intact else {
            throw BenchError(.measurementFailed, "Audit.Verify does not find the history intact: \(result?.reason ?? "no result")")
        }
        return VerifyRun(records: result.records, wallSeconds: wall, cpuSeconds: (cpuAfter - cpuBefore) / 1e6)
    }

    /// The log's segment files in the chain's order: the sealed ones the manifest lists, then the active one.
    static func segmentFiles(_ log: String) -> [String] {
        let files = AuditFiles(log: log)
        let sealed = ((try? AuditManifest.load(files.manifest)) ?? nil)?.segments.map { files.path($0.file) } ?? []
        return sealed + [log]
    }

    static func fileSize(_ path: String) -> Int? {
        (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil
    }

    /// Fails before writing when the file system has too little room for the history.
    static func requireSpace(for records: Int, in directory: String) throws(BenchError) {
        var stats = statvfs()
        guard statvfs(directory, &stats) == 0 else { return }
        let free = Int(stats.f_bavail) * Int(stats.f_frsize)
        let needed = records * diskPerRecord + diskReserve
        guard free >= needed else {
            throw BenchError(
                .measurementFailed, "\(records) records need about \(needed >> 20) MiB in \(directory), and \(free >> 20) MiB are free",
                fix: "free space under /tmp or ask for fewer records"
            )
        }
    }
}

/// The broker a measurement is running now, for the interrupt handler to stop too.
final class RunningBroker: Sendable {
    private let current = Mutex<BrokerProcess?>(nil)

    func set(_ broker: BrokerProcess) {
        current.withLock { $0 = broker }
    }

    /// Stops the broker, if one runs, and removes its directory.
    func stop() {
        current.withLock { broker in
            let running = broker
            broker = nil
            return running
        }?.stop()
    }
}
