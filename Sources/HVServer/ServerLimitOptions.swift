import ArgumentParser
import Foundation
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// The command-line options for the limits of a Varlink server, the same for `hv-broker` and
/// `hv-monitor`; their defaults are `ServerConfiguration`'s.
public struct ServerLimitOptions: ParsableArguments {
    private static let defaults = ServerConfiguration(listener: .path(""))

    @Option(help: "Most clients served at once.")
    public var maxClients = Self.defaults.maximumClients
    @Option(help: "Most connections one user may hold at once.")
    public var maxClientsPerUser = Self.defaults.maximumClientsPerUser
    @Option(help: "Most calls of one user answered at once; more wait their turn.")
    public var maxCallsPerUser = Self.defaults.maximumCallsPerUser
    @Option(help: "A user (name or uid) the per-user limits do not apply to, besides root; repeat for several.")
    public var exemptUser: [String] = []
    @Option(help: "Largest message a client may send, in bytes.")
    public var maxMessageBytes = Self.defaults.maximumMessageSize
    @Option(help: "Seconds a half-sent message may wait for its end.")
    public var readTimeout = Int(Self.defaults.readTimeout.nanoseconds / 1_000_000_000)
    @Option(help: "Seconds a connection may stay open between messages with nothing under way.")
    public var idleTimeout = Int(Self.defaults.idleTimeout.nanoseconds / 1_000_000_000)

    public init() {}

    public func validate() throws {
        guard maxClients > 0, maxClientsPerUser > 0, maxCallsPerUser > 0, readTimeout > 0, idleTimeout > 0 else {
            throw ValidationError("--max-clients, --max-clients-per-user, --max-calls-per-user and the timeouts must be positive")
        }
        guard maxMessageBytes >= 1024 else { throw ValidationError("--max-message-bytes must be at least 1024") }
        _ = try exemptUids()
    }

    /// Root and the users named with `--exempt-user`.
    public func exemptUids() throws -> Set<UInt32> {
        var uids: Set<UInt32> = [0]
        for user in exemptUser {
            guard let uid = Self.uid(of: user) else { throw ValidationError("--exempt-user: no user '\(user)'") }
            uids.insert(uid)
        }
        return uids
    }

    /// Sets the limits in `configuration`.
    public func apply(to configuration: inout ServerConfiguration) throws {
        configuration.maximumClients = maxClients
        configuration.maximumClientsPerUser = maxClientsPerUser
        configuration.maximumCallsPerUser = maxCallsPerUser
        configuration.exemptUsers = try exemptUids()
        configuration.maximumMessageSize = maxMessageBytes
        configuration.readTimeout = .seconds(Int64(readTimeout))
        configuration.idleTimeout = .seconds(Int64(idleTimeout))
    }

    /// A uid given as a number or a user name.
    static func uid(of user: String) -> UInt32? {
        if let uid = UInt32(user) { return uid }
        guard !user.isEmpty, let entry = getpwnam(user) else { return nil }
        return entry.pointee.pw_uid
    }
}
