import HVBroker
import HVProtocol

/// The host policy as the broker reads it at start (`HostPolicy.load`: UTF-8 text, then `parse`),
/// with the limits it leaves out following a host, and the start-up log's summary of the limits.
enum PolicyTarget {
    static let host = HostCapacity(
        cpus: 4, memory: .gibibytes(8), freeDisk: .gibibytes(100), imageDirectory: "/var/lib/hypernixos/images",
        libraryDisk: .gibibytes(400), isoDirectory: "/var/lib/hypernixos/isos"
    )

    static func run(_ input: [UInt8]) {
        guard let text = String(validating: input, as: UTF8.self),
            let policy = try? HostPolicy.parse(text, host: host)
        else { return }
        _ = policy.limitsInForce(otherwise: "the policy file")
    }
}
