import CLibvirt
import HVLibvirt
import Testing

/// Lifecycle events from the test driver, which queues one for every define, start, stop, pause,
/// snapshot revert and undefine and delivers them from libvirt's event loop.
///
/// Serialized because one test stops and restarts the process's event loop.
@Suite(.serialized) struct EventTests {
    static func subscribe(_ connection: Connection) throws -> (EventSubscription, Inbox<LifecycleEvent>) {
        let inbox = Inbox<LifecycleEvent>()
        let subscription = try connection.subscribeLifecycle { inbox.append($0) }
        return (subscription, inbox)
    }

    /// Waits for the events of `domain`, in order, and returns what arrived.
    static func steps(_ inbox: Inbox<LifecycleEvent>, domain: String, count: Int) -> [String] {
        inbox.values { $0.filter { $0.domain == domain }.count >= count }
            .filter { $0.domain == domain }.map { "\($0.event.rawValue)/\($0.detail)" }
    }

    @Test func defineStartStopAndUndefineArriveInOrder() throws {
        let connection = try TestDriver.open()
        let (subscription, inbox) = try Self.subscribe(connection)
        #expect(subscription.isActive)

        let domain = try connection.defineDomain(xml: TestDriver.domainXML("events1"))
        try domain.start()
        try domain.destroy()
        _ = try connection.defineDomain(xml: try domain.xmlDescription(flags: .inactive))
        try domain.undefine(flags: [])

        #expect(
            Self.steps(inbox, domain: "events1", count: 5) == [
                "defined/added", "started/booted", "stopped/destroyed", "defined/updated", "undefined/removed",
            ]
        )
        let defined = try #require(inbox.all.first { $0.domain == "events1" })
        #expect(defined.uuid.count == 36)

        try subscription.cancel()
        #expect(!subscription.isActive)
        try subscription.cancel()
    }

    @Test func snapshotRevertsAreReportedAsFromSnapshot() throws {
        let connection = try TestDriver.open()
        let domain = try #require(try connection.domain(named: "test"))
        let stopped = try { () throws -> DomainSnapshot in
            try domain.destroy()
            return try domain.createSnapshot(xml: "<domainsnapshot><name>off</name></domainsnapshot>")
        }()
        try domain.start()
        let (subscription, inbox) = try Self.subscribe(connection)
        try stopped.revert()
        let event = inbox.first { $0.domain == "test" && $0.event == .stopped }
        #expect(event?.detail == "from-snapshot")
        try subscription.cancel()
    }

    /// libvirt keeps one lifecycle registration per connection for this callback: a second is
    /// refused until the first is cancelled, and a cancelled one receives nothing more.
    @Test func oneSubscriptionPerConnectionAndNothingAfterCancel() throws {
        let connection = try TestDriver.open()
        let (first, firstInbox) = try Self.subscribe(connection)
        let refused = #expect(throws: LibvirtError.self) { _ = try Self.subscribe(connection) }
        #expect(refused?.isInvalidArgument == true)
        _ = try connection.defineDomain(xml: TestDriver.domainXML("events2"))
        #expect(firstInbox.first { $0.domain == "events2" } != nil)

        try first.cancel()
        let (second, secondInbox) = try Self.subscribe(connection)
        _ = try connection.defineDomain(xml: TestDriver.domainXML("events3"))
        #expect(secondInbox.first { $0.domain == "events3" } != nil)
        #expect(firstInbox.all.allSatisfy { $0.domain != "events3" })
        #expect(secondInbox.all.allSatisfy { $0.domain != "events2" })
        try second.cancel()
    }

    /// Each connection has its own registration.
    @Test func connectionsSubscribeIndependently() throws {
        let first = try TestDriver.open()
        let second = try TestDriver.open()
        let (one, oneInbox) = try Self.subscribe(first)
        let (two, twoInbox) = try Self.subscribe(second)
        _ = try second.defineDomain(xml: TestDriver.domainXML("events5"))
        _ = try first.defineDomain(xml: TestDriver.domainXML("events6"))
        #expect(oneInbox.first { $0.domain == "events6" } != nil)
        #expect(twoInbox.first { $0.domain == "events5" } != nil)
        #expect(oneInbox.all.map(\.domain) == ["events6"])
        #expect(twoInbox.all.map(\.domain) == ["events5"])
        try one.cancel()
        try two.cancel()
    }

    /// Events queued while the loop is stopped arrive once it runs again.
    @Test func theLoopStopsAndStartsAgain() throws {
        let connection = try TestDriver.open()
        let (subscription, inbox) = try Self.subscribe(connection)
        #expect(LibvirtEventLoop.shared.isRunning)
        LibvirtEventLoop.shared.stop()
        #expect(!LibvirtEventLoop.shared.isRunning)
        _ = try connection.defineDomain(xml: TestDriver.domainXML("events4"))
        try LibvirtEventLoop.shared.start()
        #expect(LibvirtEventLoop.shared.isRunning)
        #expect(inbox.first { $0.domain == "events4" }?.detail == "added")
        try subscription.cancel()
    }

    @Test(arguments: [
        (VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_FROM_SNAPSHOT.rawValue, "stopped", "from-snapshot"),
        (VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_FAILED.rawValue, "stopped", "failed"),
        (
            VIR_DOMAIN_EVENT_SUSPENDED, VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY_FAILED.rawValue, "suspended",
            "post-copy-failed"
        ),
        (VIR_DOMAIN_EVENT_RESUMED, VIR_DOMAIN_EVENT_RESUMED_POSTCOPY_FAILED.rawValue, "resumed", "post-copy-failed"),
        (VIR_DOMAIN_EVENT_STARTED, VIR_DOMAIN_EVENT_STARTED_WAKEUP.rawValue, "started", "wakeup"),
        (VIR_DOMAIN_EVENT_DEFINED, VIR_DOMAIN_EVENT_DEFINED_FROM_SNAPSHOT.rawValue, "defined", "from-snapshot"),
        (VIR_DOMAIN_EVENT_UNDEFINED, VIR_DOMAIN_EVENT_UNDEFINED_RENAMED.rawValue, "undefined", "renamed"),
        (VIR_DOMAIN_EVENT_SHUTDOWN, VIR_DOMAIN_EVENT_SHUTDOWN_HOST.rawValue, "shutdown", "host"),
        (VIR_DOMAIN_EVENT_PMSUSPENDED, VIR_DOMAIN_EVENT_PMSUSPENDED_DISK.rawValue, "pmsuspended", "disk"),
        (VIR_DOMAIN_EVENT_CRASHED, VIR_DOMAIN_EVENT_CRASHED_CRASHLOADED.rawValue, "crashed", "crashloaded"),
    ].map { ($0.rawValue, $1, $2, $3) })
    func detailsAreNamedAsLibvirtNumbersThem(event: UInt32, detail: UInt32, kind: String, name: String) {
        let kind = LifecycleEvent.Kind(rawValue: kind)
        #expect(LifecycleEvent.Kind.allCases.firstIndex(of: kind ?? .unknown) == Int(event))
        #expect(LifecycleEvent.detailName(Int32(detail), of: kind ?? .unknown) == name)
        #expect(LifecycleEvent.detailName(Int32(detail) + 100, of: kind ?? .unknown) == "unknown")
    }

    /// `virDomainSetMetadata` is announced with the domain and the namespace that changed, to a
    /// subscription of its own beside the lifecycle one.
    @Test func metadataChangesArrive() throws {
        let connection = try TestDriver.open()
        let (lifecycle, lifecycleInbox) = try Self.subscribe(connection)
        let inbox = Inbox<MetadataChangeEvent>()
        let subscription = try connection.subscribeMetadataChange { inbox.append($0) }
        let domain = try #require(try connection.domain(named: "test"))
        let namespace = "https://example.org/events/1"
        try domain.setMetadata("<note>first</note>", key: "ev", namespace: namespace, impact: .config)
        let event = try #require(inbox.first { $0.domain == "test" })
        #expect(event.kind == .element && event.namespace == namespace)
        #expect(event.uuid == "6695eb01-f6a4-8304-79aa-97f2502e193f")

        try subscription.cancel()
        try domain.setMetadata("<note>second</note>", key: "ev", namespace: namespace, impact: .config)
        // Events arrive in the order libvirt queued them: once this one is in, the change before it was delivered.
        _ = try connection.defineDomain(xml: TestDriver.domainXML("events7"))
        #expect(lifecycleInbox.first { $0.domain == "events7" } != nil)
        #expect(inbox.all.count == 1, "nothing arrives after cancel")
        try lifecycle.cancel()
    }

    /// The test driver has no daemon connection: no keepalive, and a close handler it accepts and
    /// never calls. Against libvirtd the integration tests check both.
    @Test func keepaliveAndCloseNeedADaemon() throws {
        let connection = try TestDriver.open()
        let keepalive = #expect(throws: LibvirtError.self) { try connection.setKeepAlive(interval: 5, count: 3) }
        #expect(keepalive?.isNoSupport == true)
        let inbox = Inbox<Connection.CloseReason>()
        let close = try connection.subscribeClose { inbox.append($0) }
        try close.cancel()
        try close.cancel()
        #expect(inbox.all.isEmpty)
    }
}
