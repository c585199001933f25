import Foundation
import HVBroker
import HVDomainXML
import HVLibvirt
import HVPolkit
import HVProtocol
import Synchronization

/// What an operator's Vm.Info can't cost less than, measured beside it: the libvirt calls the
/// broker makes for it, made in-process, and one polkit check for the same operator process.
enum RequestFloors {
    /// The libvirt calls the broker makes for one Vm.Info, in its order, and no parsing: admission
    /// looks the domain up and reads the broker's metadata element; the answer reads the domain's
    /// information, UUID and XML.
    static func vmInfoCalls(_ connection: Connection, machine: String) throws {
        guard let domain = try connection.domain(named: machine) else {
            throw BenchError(.measurementFailed, "\(connection.uri) has no domain named '\(machine)'")
        }
        _ = try domain.metadata(namespace: MachineMetadata.namespace, impact: .config)
        _ = try domain.info()
        _ = try domain.uuid()
        _ = try domain.xmlDescription()
    }

    /// The details the broker passes polkit for a Vm.Info on `machine`, from its record.
    static func details(machine: String, record: MachineMetadata) -> [String: String] {
        MachineObject(
            name: machine, managed: true, ownerGroup: record.ownerGroup,
            ownerUser: getpwuid(record.ownerUID).map { String(cString: $0.pointee.pw_name) }, tags: record.tags,
            template: record.template
        ).details
    }

    /// polkitd's own answers per second: `callers` threads of this process, each asking about
    /// `subject` over and over for `seconds`, the way the broker's polkit threads ask.
    static func polkitAnswers(
        _ authority: PolkitAuthority, subject: PolkitSubject, details: [String: String], callers: Int, seconds: Double,
        cpu: ProcessCPU
    ) throws(BenchError) -> Throughput {
        let answered = Atomic<Int>(0)
        let failure = Mutex<String?>(nil)
        let finished = DispatchGroup()
        let go = DispatchSemaphore(value: 0)
        let action = BrokerOperation.vmInfo.action
        let before = cpu.sample()
        let start = Stopwatch.now()
        let deadline = start + UInt64(seconds * 1e9)
        for _ in 0..<callers {
            finished.enter()
            Thread {
                defer { finished.leave() }
                go.wait()
                while Stopwatch.now() < deadline {
                    do throws(PolkitError) {
                        guard try authority.check(action: action, subject: subject, details: details) == .authorized else {
                            failure.withLock { $0 = "polkit did not authorize \(action) for uid \(subject.uid)" }
                            return
                        }
                    } catch {
                        failure.withLock { $0 = error.message }
                        return
                    }
                    answered.add(1, ordering: .relaxed)
                }
            }.start()
        }
        for _ in 0..<callers { go.signal() }
        finished.wait()
        let elapsed = Stopwatch.now() - start
        if let failure = failure.withLock({ $0 }) {
            throw BenchError(.measurementFailed, "polkit with \(callers) callers: \(failure)")
        }
        let count = answered.load(ordering: .relaxed)
        return Throughput(
            clients: callers, requests: count, seconds: Double(elapsed) / 1e9, cpu: cpu.perRequest(since: before, requests: count)
        )
    }
}

/// Requests (or polkit answers) per second, wall clock, with the CPU each process spent per request.
struct Throughput: Codable, Sendable {
    var clients: Int
    var requests: Int
    /// Wall-clock seconds.
    var seconds: Double
    /// CPU microseconds (user + system, from /proc, 10 ms resolution) per request, by process.
    var cpu: [String: Double]
    var medianMilliseconds: Double?
    var p99Milliseconds: Double?

    var perSecond: Double { seconds > 0 ? Double(requests) / seconds : 0 }
}

extension ProcessCPU {
    /// CPU microseconds per request each process spent since `before`.
    func perRequest(since before: [String: Double], requests: Int) -> [String: Double] {
        guard requests > 0 else { return [:] }
        return sample().reduce(into: [String: Double]()) { result, entry in
            guard let start = before[entry.key] else { return }
            result[entry.key] = (entry.value - start) / Double(requests)
        }
    }
}

/// The broker's memory, from /proc: resident set, and how much of it is anonymous (heap, stacks)
/// rather than mapped files (the program and its libraries).
struct ResidentMemory: Codable, Sendable {
    /// Requests the broker had answered when this was read.
    var requests: Int
    var residentKiB: Int
    var anonymousKiB: Int
    var fileKiB: Int
    var threads: Int

    init?(pid: Int32, requests: Int) {
        guard let rollup = try? String(contentsOfFile: "/proc/\(pid)/smaps_rollup", encoding: .utf8),
            let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        else { return nil }
        func field(_ text: String, _ name: String) -> Int {
            let line = text.split(separator: "\n").first { $0.hasPrefix(name + ":") } ?? ""
            return Int(line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first ?? "") ?? 0
        }
        self.requests = requests
        residentKiB = field(rollup, "Rss")
        anonymousKiB = field(rollup, "Anonymous")
        fileKiB = residentKiB - anonymousKiB
        threads = field(status, "Threads")
    }

    var residentMiB: Double { Double(residentKiB) / 1024 }
}
