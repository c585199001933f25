import HVClient
import HVProtocol
import Synchronization

/// One run of every health check: the broker's, and the ones that must run on the client's side.
public struct HealthReport: Sendable, Hashable {
    public var checks: [HealthCheck]
    /// The broker's error when it refused or could not answer `Host.Health`; nil when it answered.
    public var brokerError: HVError?

    public init(checks: [HealthCheck], brokerError: HVError?) {
        self.checks = checks
        self.brokerError = brokerError
    }

    /// The worst status among the checks.
    public var status: HealthStatus { checks.overallStatus }
}

/// Runs the health checks for `hv health` and the monitor: asks the broker for `Host.Health` and
/// `Host.Stats`, then adds `broker`, `bridge:NAME` for each active network's bridge, and `clock`.
///
/// When the broker cannot be asked, each check it would have run is reported `unknown` (by the ids
/// it answered with last time, or the fixed ones before that) rather than left out. Blocking.
public final class HealthRunner: Sendable {
    public let brokerSocket: String
    public let sysfsRoot: String
    let clock: @Sendable () -> ClockReading
    /// The ids of the broker's checks and the bridges from the last answers.
    private let remembered: Mutex<(checks: [String], bridges: [String])>

    /// The checks every broker runs, whatever its pools and networks.
    public static let brokerCheckIDs = ["libvirtd", "kvm", "polkit", "autostart", "audit"]

    public init(brokerSocket: String, sysfsRoot: String = "/sys", clock: @escaping @Sendable () -> ClockReading = ClockReading.read) {
        self.brokerSocket = brokerSocket
        self.sysfsRoot = sysfsRoot
        self.clock = clock
        remembered = Mutex((Self.brokerCheckIDs, []))
    }

    /// Runs every check. Pass `networks` when the caller already holds this moment's `Host.Stats`
    /// answer (the monitor does, each cycle), so the bridges are checked without asking again.
    public func run(networks known: [NetworkStatus]? = nil) -> HealthReport {
        let started = ContinuousClock.now
        let client: BrokerClient
        let info: ServiceInfo
        do {
            client = try BrokerClient(socketPath: brokerSocket)
            info = try client.serviceInfo()
        } catch {
            return report(broker: Self.unreachable(error, socket: brokerSocket), error: error)
        }
        let roundTrip = ContinuousClock.now - started
        let broker = HealthCheck(
            id: "broker", title: "broker answering", status: .ok,
            value: "answered in \(Self.milliseconds(roundTrip)) (\(info.product) \(info.version))",
            explanation: "The broker at \(brokerSocket) answers requests.", fix: nil
        )

        let brokerChecks: [HealthCheck]
        do {
            brokerChecks = try client.health()
        } catch {
            return report(broker: Self.refused(error, broker: broker), error: error)
        }
        let bridges: [HealthCheck]
        do {
            let networks = if let known { known } else { try client.stats().networks }
            bridges = BridgeCheck.checks(networks: networks, sysfsRoot: sysfsRoot)
        } catch {
            // The broker answered Host.Health but not Host.Stats (libvirtd down): the bridges seen last are unknown.
            bridges = remembered.withLock { $0.bridges }.map { Self.unknown("bridge:\($0)", title: "bridge \($0) up", because: error) }
        }
        remembered.withLock {
            $0.checks = brokerChecks.map(\.id)
            $0.bridges = bridges.map { String($0.id.dropFirst("bridge:".count)) }
        }
        return HealthReport(checks: [broker] + brokerChecks + bridges + [ClockCheck.check(clock())], brokerError: nil)
    }

    /// The report when the broker did not run its checks: they are all unknown.
    func report(broker: HealthCheck, error: HVError) -> HealthReport {
        let known = remembered.withLock { $0 }
        var checks = [broker]
        for id in known.checks {
            if id == "polkit", error.code == .authorizationUnavailable {
                checks.append(
                    HealthCheck(
                        id: "polkit", title: "polkit answering", status: .critical, value: "not answering",
                        explanation: "The broker could not ask polkit, so it refuses every request.",
                        fix: error.fix ?? "start polkitd (systemctl start polkit)"
                    )
                )
            } else {
                checks.append(Self.unknown(id, title: id, because: error))
            }
        }
        checks += known.bridges.map { Self.unknown("bridge:\($0)", title: "bridge \($0) up", because: error) }
        checks.append(ClockCheck.check(clock()))
        return HealthReport(checks: checks, brokerError: error)
    }

    static func unknown(_ id: String, title: String, because error: HVError) -> HealthCheck {
        HealthCheck(
            id: id, title: title, status: .unknown, value: "not checked",
            explanation: "This check needs the broker, which did not run it: \(error.reason)",
            fix: "see the broker and libvirtd checks"
        )
    }

    /// The socket could not be reached at all.
    static func unreachable(_ error: HVError, socket: String) -> HealthCheck {
        HealthCheck(
            id: "broker", title: "broker answering", status: .critical, value: "unreachable: \(error.reason)",
            explanation: "Nothing answers on \(socket), so no machine can be managed and the broker's checks cannot run.",
            fix: "systemctl start hv-broker.socket"
        )
    }

    /// The broker answered but would not or could not run its checks.
    static func refused(_ error: HVError, broker: HealthCheck) -> HealthCheck {
        var check = broker
        switch error.code {
        case .permissionDenied:
            let action = error.details["action"] ?? BrokerOperation.hostHealth.action
            let group = BrokerOperation.hostHealth.grantingGroup
            check.status = .critical
            check.value = "answered, but polkit denied \(action)"
            check.explanation = "You may not run the broker's health checks, so they are unknown."
            check.fix = "ask an administrator to add your user to the '\(group)' group (usermod -aG \(group) USER)"
        case .authorizationUnavailable:
            // The broker answers; the polkit check says what is wrong.
            break
        default:
            check.status = .critical
            check.value = "answered with an error: \(error.reason)"
            check.explanation = "The broker could not run its health checks."
            check.fix = error.fix ?? "check the broker's log (journalctl -u hv-broker)"
        }
        return check
    }

    static func milliseconds(_ duration: Duration) -> String {
        let value = Double(duration.components.seconds) * 1_000 + Double(duration.components.attoseconds) / 1e15
        return value < 10 ? "\((value * 10).rounded() / 10) ms" : "\(Int(value.rounded())) ms"
    }
}
