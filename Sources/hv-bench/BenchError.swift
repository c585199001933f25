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
