import HVDomainXML
import HVLibvirt
import Logging
import Synchronization

/// The broker's records of its machines (each domain's `<hv:machine>` metadata), kept between
/// bulk reads (`Vm.List`, `Host.Stats`, the autostart health check) and dropped, machine by
/// machine, when libvirt says the machine changed.
///
/// How it stays fresh:
/// - It listens on the connection the records are read from: every lifecycle event of a domain
///   (defined, undefined, started, stopped, a snapshot revert, ...) and every metadata change
///   event drops that domain's entry. The broker's own changes drop theirs as soon as libvirt
///   has made them, before the request is answered (`defineMachine`, delete, revert).
/// - An entry is served only while those events can arrive: the subscriptions are in place on
///   that very connection, libvirt has not closed it, and libvirt's event loop runs. Otherwise
///   every read goes to libvirt, as if there were no cache, until a new connection listens again.
/// - A read that raced with a change is not kept: every drop advances `generation`, and entries
///   read before a drop are discarded instead of stored.
///
/// Admission never reads it: the owner group that decides who may act on a machine is read
/// from libvirt for every request (`resolve(machine:)`, `resolve(volume:)`), as are the records
/// that quotas and host features are checked against.
final class RecordCache: Sendable {
    /// One machine's record as the broker reads it: its own record, or nil for a foreign domain.
    struct Entry: Sendable, Hashable {
        var name: String
        var record: MachineMetadata?
        /// Its place in the boot-time start, decoded from the spec once, when it was read.
        var autostart: LibvirtHypervisor.AutostartEntry?
    }

    /// How many entries were served from memory and how many read from libvirt, for tests.
    struct Counters: Sendable, Hashable {
        var served = 0
        var read = 0
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var generation: UInt64 = 0
        var listening: Listening?
        var closed = false
        var counters = Counters()

        func serves(_ connection: Connection) -> Bool {
            !closed && listening?.connection === connection
        }
    }

    /// The subscriptions that keep the entries fresh, on one connection.
    private final class Listening: Sendable {
        let connection: Connection
        let subscriptions: [EventSubscription]
        let close: CloseSubscription?

        init(connection: Connection, subscriptions: [EventSubscription], close: CloseSubscription?) {
            self.connection = connection
            self.subscriptions = subscriptions
            self.close = close
        }
    }

    private let state = Mutex(State())

    init() {}

    /// Starts serving entries read from `connection`, and forgets everything read before. When
    /// libvirt refuses a subscription, nothing is served and every read goes to libvirt.
    /// Blocking (it calls libvirt): call it on the libvirt pool.
    func listen(to connection: Connection, logger: Logger) {
        // The previous subscriptions are released, and so cancelled, off the lock: that calls libvirt.
        _ = state.withLock { state -> Listening? in
            state.entries = [:]
            state.generation &+= 1
            state.closed = false
            defer { state.listening = nil }
            return state.listening
        }
        do {
            let lifecycle = try connection.subscribeLifecycle { [weak self] event in self?.drop(uuid: event.uuid) }
            let metadata = try connection.subscribeMetadataChange { [weak self] event in self?.drop(uuid: event.uuid) }
            let close = try? connection.subscribeClose { [weak self] _ in self?.closed(connection) }
            let listening = Listening(connection: connection, subscriptions: [lifecycle, metadata], close: close)
            state.withLock { $0.listening = listening }
        } catch {
            logger.warning(
                "machine records are read from libvirt for every request: cannot follow its events",
                metadata: ["error": "\(error.message)"]
            )
        }
    }

    /// Forgets one domain's entry: libvirt said it changed, or the broker changed it.
    func drop(uuid: String) {
        state.withLock { state in
            state.entries[uuid] = nil
            state.generation &+= 1
        }
    }

    /// libvirt closed `connection`: its events stop, so nothing read from it is served any more.
    /// Runs on libvirt's event loop thread, so it only marks the state; the next connection's
    /// `listen` replaces the subscriptions.
    func closed(_ connection: Connection) {
        state.withLock { state in
            guard state.listening?.connection === connection else { return }
            state.closed = true
            state.entries = [:]
            state.generation &+= 1
        }
    }

    var counters: Counters { state.withLock { $0.counters } }

    /// Whether an entry for the domain with this UUID is kept.
    func keeps(uuid: String) -> Bool { state.withLock { $0.entries[uuid] != nil } }

    /// The entries of `domains`, in their order, read from `connection`: from memory where an entry
    /// is kept and can be trusted, otherwise by `read` (the domain's record from libvirt).
    func entries(
        of domains: [DomainIdentity], on connection: Connection, read: (DomainIdentity) throws -> MachineMetadata?
    ) rethrows -> [Entry] {
        // Checked before the entries are taken: events delivered only while the loop runs.
        let loopRuns = LibvirtEventLoop.shared.isRunning && connection.isAlive
        let (kept, generation, serving) = state.withLock { state in
            let serving = loopRuns && state.serves(connection)
            return (serving ? domains.map { state.entries[$0.uuid] } : [], state.generation, serving)
        }
        var result: [Entry] = []
        result.reserveCapacity(domains.count)
        var fresh: [(uuid: String, entry: Entry)] = []
        for (index, domain) in domains.enumerated() {
            if serving, let entry = kept[index], entry.name == domain.name {
                result.append(entry)
                continue
            }
            let record = try read(domain)
            let entry = Entry(
                name: domain.name, record: record,
                autostart: record.flatMap { LibvirtHypervisor.autostartEntry(name: domain.name, $0) }
            )
            result.append(entry)
            fresh.append((domain.uuid, entry))
        }
        state.withLock { state in
            state.counters.served += domains.count - fresh.count
            state.counters.read += fresh.count
            // Anything dropped since the reads began may have been read before its change.
            guard serving, state.generation == generation, state.serves(connection) else { return }
            for (uuid, entry) in fresh { state.entries[uuid] = entry }
        }
        return result
    }
}
