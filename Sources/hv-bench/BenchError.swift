import ArgumentParser
import Foundation

/// Why a benchmark run could not be completed.
struct BenchError: Error, Hashable, Sendable, CustomStringConvertible {
    struct Code: RawRepresentable, Hashable, Sendable {
        let rawValue: String

        static let notRoot = Code(rawValue: "NotRoot")
        static let serviceUnavailable = Code(rawValue: "ServiceUnavailable")
        static let brokerFailed = Code(rawValue: "BrokerFailed")
        static let measurementFailed = Code(rawValue: "MeasurementFailed")
    }

    var code: Code
    var reason: String
    var fix: String?

    init(_ code: Code, _ reason: String, fix: String? = nil) {
        self.code = code
        self.reason = reason
        self.fix = fix
    }

    var description: String {
        guard let fix else { return reason }
        return "\(reason)\n  fix: \(fix)"
    }

    /// The same exit statuses the `hv` CLI uses: 4 refused, 5 a service is missing, 1 failed.
    var exitCode: Int32 {
        switch code {
        case .notRoot: 4
        case .serviceUnavailable: 5
        default: 1
        }
    }
}

/// What every benchmark subcommand prints.
protocol BenchReport {
    var text: String { get }
    var json: String { get }
}

extension BenchReport where Self: Encodable {
    /// The report as one pretty-printed JSON object with sorted keys.
    var encodedJSON: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(self)) ?? Data("null".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}

extension Report: BenchReport {}
extension MonitorReport: BenchReport {}

enum BenchRun {
    /// Measures and prints the report; a failure goes to standard error with its exit status.
    static func report(json: Bool, _ measure: () throws(BenchError) -> some BenchReport) throws {
        do {
            let report = try measure()
            print(json ? report.json : report.text)
        } catch {
            FileHandle.standardError.write(Data("hv-bench: \(error)\n".utf8))
            throw ExitCode(error.exitCode)
        }
    }

    /// /proc/loadavg's three averages: other work on the machine skews every figure.
    static func loadAverage() -> String {
        (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)).map { $0.split(separator: " ").prefix(3).joined(separator: " ") } ?? "?"
    }

    /// Says on standard error what the benchmark does now.
    static func progress(_ step: String) {
        FileHandle.standardError.write(Data("hv-bench: \(step)...\n".utf8))
    }

    /// polkit grants the broker's actions to root without any group setup, so benchmarks run as root.
    static func requireRoot(_ reason: String, fix: String) throws(BenchError) {
        guard getuid() == 0 else { throw BenchError(.notRoot, "hv-bench must run as root: " + reason, fix: fix) }
    }
}
