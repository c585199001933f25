import Foundation
import HVAudit
import HVBroker
import HVClient
import HVDomainXML
import HVLibvirt
import HVPolkit
import HVProtocol

/// The latency rows: each call timed on its own, after untimed warm-up calls.
struct Measurements {
    static let domain = "test"

    var iterations: Int
    var warmup: Int

    /// Times `body` `iterations` times after `warmup` untimed calls.
    func time(_ id: String, _ name: String, _ body: () throws -> Void) throws(BenchError) -> LatencySummary {
        do {
            for _ in 0..<warmup { try body() }
            var samples: [UInt64] = []
            samples.reserveCapacity(iterations)
            for _ in 0..<iterations {
                let start = Stopwatch.now()
                try body()
                samples.append(Stopwatch.now() - start)
            }
            return LatencySummary(id: id, name: name, nanoseconds: samples)
        } catch let error as BenchError {
            throw error
        } catch {
            throw BenchError(.measurementFailed, "\(name): \(error)")
        }
    }

    /// What the brief calls the raw libvirt cost: look the domain up, read its info.
    func libvirtInfo(_ connection: Connection) throws(BenchError) -> LatencySummary {
        try time("libvirt.info", "libvirt: lookup + info (in-process)") {
            _ = try Self.lookup(connection).info()
        }
    }

    /// Every libvirt call the broker makes for Vm.Info, and its parse of the domain XML.
    func libvirtDetails(_ connection: Connection) throws(BenchError) -> LatencySummary {
        try time("libvirt.vm-info-work", "libvirt: all Vm.Info calls + XML parse") {
            let domain = try Self.lookup(connection)
            _ = try domain.info()
            _ = try domain.uuid()
            _ = try domain.autostart()
            _ = try DomainDescription(xml: try domain.xmlDescription())
        }
    }

    func polkit(_ authority: PolkitAuthority, _ subject: PolkitSubject, id: String, name: String) throws(BenchError)
        -> (LatencySummary, PolkitDecision)
    {
        let decision: PolkitDecision
        do {
            decision = try authority.check(action: BrokerOperation.vmInfo.action, subject: subject)
        } catch {
            throw BenchError(.serviceUnavailable, "polkit could not be asked: \(error)", fix: "start dbus and polkitd")
        }
        let summary = try time(id, name) {
            _ = try authority.check(action: BrokerOperation.vmInfo.action, subject: subject)
        }
        return (summary, decision)
    }

    /// One record appended the way the broker appends one per request: handed to the log's writer
    /// thread, and waited for until it is on disk.
    func auditAppend(path: String) throws(BenchError) -> LatencySummary {
        let log: AuditLog
        do {
            log = try AuditLog(path: path)
        } catch {
            throw BenchError(.measurementFailed, "cannot open \(path): \(error)")
        }
        return try time("audit.append", "audit: append one record, on disk") {
            let time = Date().formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
            let record = AuditRecord(
                time: time, uid: 0, gid: 0, pid: getpid(), executable: "/usr/bin/hv-bench", method: Method.vmInfo,
                action: BrokerOperation.vmInfo.action, target: Self.domain, decision: "allowed", result: "ok", durationMs: 0.25
            )
            let append = PendingAppend()
            log.submit(record) { result in
                append.result = result
                append.written.signal()
            }
            append.written.wait()
            _ = try append.result?.get()
        }
    }

    /// One append's outcome, handed over from the writer thread; the semaphore orders the two.
    private final class PendingAppend: @unchecked Sendable {
        let written = DispatchSemaphore(value: 0)
        var result: Result<AuditRecord?, AuditError>?
    }

    /// Every encode and decode a Vm.Info request goes through, on both sides of the socket, in-process.
    func json(reply details: VmDetails) throws(BenchError) -> LatencySummary {
        try time("json.vm-info", "JSON: Vm.Info's encodes + decodes, both sides") {
            let parameters = try VarlinkJSON.object(VmNameParameters(name: Self.domain))
            let call = try VarlinkJSON.encode(VarlinkCall(method: Method.vmInfo, parameters: parameters))
            _ = try Request(try VarlinkJSON.decode(VarlinkCall.self, from: call))
            let reply = VarlinkJSON.reply(try EncodedParameters(VmInfoReply(vm: details)))
            let received = try VarlinkJSON.decode(VarlinkReply.self, from: reply)
            _ = try VarlinkJSON.convert(received.parameters ?? [:], to: VmInfoReply.self)
        }
    }

    func brokerInfo(_ client: BrokerClient) throws(BenchError) -> LatencySummary {
        try time("broker.vm-info", "broker: Vm.Info round trip") {
            _ = try client.info(Self.domain)
        }
    }

    /// Kill and Start in turn, each timed as one operation, so the domain is never asked to do what it can't.
    func brokerKillStart(_ client: BrokerClient) throws(BenchError) -> LatencySummary {
        var running: Bool
        do {
            running = try client.info(Self.domain).state == Domain.State.running.rawValue
        } catch {
            throw BenchError(.measurementFailed, "broker: Vm.Info: \(error)")
        }
        return try time("broker.kill-start", "broker: Vm.Kill / Vm.Start round trip") {
            try client.lifecycle(running ? Method.vmKill : Method.vmStart, Self.domain)
            running.toggle()
        }
    }

    /// The broker's own account of the last `iterations` calls of `method`: the time its audit
    /// records give from receiving each message to writing its record (the append itself excluded).
    func dispatcherTime(auditLog path: String, method: String) throws(BenchError) -> LatencySummary {
        guard let contents = FileManager.default.contents(atPath: path) else {
            throw BenchError(.measurementFailed, "cannot read the broker's audit log \(path)")
        }
        let decoder = JSONDecoder()
        let durations = contents.split(separator: UInt8(ascii: "\n")).compactMap { line in
            try? decoder.decode(AuditRecord.self, from: Data(line))
        }.filter { $0.method == method }.map { UInt64(($0.durationMs * 1_000_000).rounded()) }
        guard !durations.isEmpty else {
            throw BenchError(.measurementFailed, "the broker's audit log has no \(method) records")
        }
        let name = "broker: Vm.Info inside the broker (audit durationMs)"
        let samples = Array(durations.suffix(iterations))
        return LatencySummary(id: "broker.vm-info.dispatcher", name: name, nanoseconds: samples)
    }

    static func lookup(_ connection: Connection) throws -> Domain {
        guard let domain = try connection.domain(named: Self.domain) else {
            throw BenchError(.measurementFailed, "\(connection.uri) has no domain named '\(Self.domain)'")
        }
        return domain
    }
}
