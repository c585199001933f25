import ArgumentParser
import Foundation
import HVAlerting
import HVHealth
import HVHistory
import HVMetrics
import HVMonitor
import HVPolkit
import HVServer
import HVSystem
import HVWork
import Logging
import NIOPosix
import ServiceLifecycle
import UnixSignals

@main
struct MonitorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hv-monitor",
        abstract: "The Hyper-NixOS monitor: Prometheus metrics, history, health checks and alerts.",
        discussion: """
            Runs unprivileged. Everything about libvirt comes from the broker's read-only methods; host
            counters come from /proc. Settings come from --config (see docs/monitoring/monitor.example.yaml);
            the options below override it.
            """
    )

    @Option(help: "The configuration file; built-in defaults when it does not exist.")
    var config = "/etc/hypervisor/monitor.yaml"
    @Option(help: "The broker's socket.") var brokerSocket: String?
    @Option(help: "Where to serve /metrics, HOST:PORT.") var listen: String?
    @Option(help: "The control socket for 'hv metrics' and 'hv alerts'.") var controlSocket: String?
    @Option(help: "Directory for history.sqlite and alerts.sqlite.") var stateDir: String?
    @Option(help: "Seconds between collections.") var interval: Int?
    @Option(help: "Seconds between health check runs.") var healthInterval: Int?
    @OptionGroup(title: "Limits of the control socket") var limits: ServerLimitOptions

    /// One allocator arena, set before any thread allocates: see `Allocator`.
    static func main() async {
        Allocator.useOneArena()
        await main(nil)
    }

    func run() async throws {
        var logger = Logger(label: "hv-monitor")
        logger.logLevel = ProcessInfo.processInfo.environment["HV_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info

        var settings = try MonitorConfiguration.load(path: config, missingIsDefault: true)
        try apply(to: &settings)
        // After the overrides: --listen decides whether /metrics may go without credentials.
        let metricsServer = try settings.metricsServer()

        try FileManager.default.createDirectory(atPath: settings.stateDirectory, withIntermediateDirectories: true)
        let history = try HistoryStore(path: settings.stateDirectory + "/history.sqlite", configuration: settings.history)
        let alerts: AlertService? = try settings.alerting.map { alerting in
            try AlertService(
                configuration: alerting, store: try AlertStore(path: settings.stateDirectory + "/alerts.sqlite"),
                logger: logger
            )
        }

        let threadPool = NIOThreadPool(numberOfThreads: 4)
        threadPool.start()
        let page = MetricsPage()
        let health = HealthRunner(brokerSocket: settings.brokerSocket)
        let monitor = Monitor(
            sources: LiveSources(brokerSocket: settings.brokerSocket, health: { health.run(networks: $0).checks }),
            history: history, page: page, threadPool: threadPool, healthInterval: settings.healthIntervalSeconds,
            logger: logger
        )
        let collector = MonitorService(
            monitor: monitor, alerts: alerts, interval: .seconds(settings.intervalSeconds), logger: logger
        )
        let metrics = MetricsServer(configuration: metricsServer, page: page, logger: logger)
        var controlConfiguration = ServerConfiguration(listener: .path(settings.controlSocket))
        try limits.apply(to: &controlConfiguration)
        let control = VarlinkServer(
            name: "monitor control socket", configuration: controlConfiguration,
            handler: ControlDispatcher(
                backend: MonitorControl(history: history, alerts: alerts),
                authorizer: PolkitMonitorAuthorizer(checker: PolkitChecker(pool: WorkPool(.polkitChecks), logger: logger)),
                logger: logger
            ),
            logger: logger
        )
        logger.info(
            "monitor starting",
            metadata: [
                "broker": "\(settings.brokerSocket)", "metrics": "\(settings.metrics.host):\(settings.metrics.port)",
                "interval": "\(settings.intervalSeconds)s", "alerting": "\(alerts == nil ? "off" : "on")",
            ]
        )
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: collector), .init(service: metrics), .init(service: control)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
        try await threadPool.shutdownGracefully()
    }

    private func apply(to settings: inout MonitorConfiguration) throws {
        if let brokerSocket { settings.brokerSocket = brokerSocket }
        if let controlSocket { settings.controlSocket = controlSocket }
        if let stateDir { settings.stateDirectory = stateDir }
        if let listen {
            guard let address = MonitorConfiguration.listenAddress(listen) else {
                throw ValidationError("--listen: '\(listen)' is not HOST:PORT, e.g. 127.0.0.1:9478")
            }
            (settings.metrics.host, settings.metrics.port) = address
        }
        if let interval {
            guard MonitorConfiguration.intervalRange.contains(interval) else {
                throw ValidationError("--interval: must be between 1 and 3600 seconds")
            }
            settings.intervalSeconds = interval
            settings.history.collectionIntervalSeconds = interval
        }
        if let healthInterval {
            guard MonitorConfiguration.intervalRange.contains(healthInterval) else {
                throw ValidationError("--health-interval: must be between 1 and 3600 seconds")
            }
            settings.healthIntervalSeconds = Double(healthInterval)
        }
    }
}
