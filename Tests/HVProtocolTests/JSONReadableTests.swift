import Foundation
@testable import HVProtocol
import Testing

/// Types that read themselves (`JSONReadable`) against `Decodable` on the same members: the same
/// value when they read it, and nil, never another value, when they can't; `VarlinkJSON.convert`
/// then gives Foundation's value or error.
@Suite struct JSONReadableTests {
    static func members(_ text: String) throws -> [String: JSONValue] {
        guard case .object(let members)? = JSONReader.read(Array(text.utf8)) else {
            throw CancellationError()
        }
        return members
    }

    /// A decoded value, or the error's text.
    enum Outcome<T: Equatable>: Equatable {
        case success(T)
        case failure(String)

        func get() throws -> T {
            guard case .success(let value) = self else { throw CancellationError() }
            return value
        }
    }

    static func foundation<T: Decodable>(_ type: T.Type, _ text: String) -> Outcome<T> {
        do {
            return .success(try JSONDecoder().decode(type, from: Data(text.utf8)))
        } catch {
            return .failure("\(error)")
        }
    }

    static func converted<T: Decodable>(_ type: T.Type, _ text: String) -> Outcome<T> {
        do {
            return .success(try VarlinkJSON.convert(try members(text), to: type))
        } catch {
            return .failure("\(error)")
        }
    }

    @Test func readsWhatItWrites() throws {
        let reply = HostStatsReply(domains: JSONWritableTests.domains, pools: [], networks: [
            NetworkStatus(name: "default", active: true, autostart: false, bridge: nil),
            NetworkStatus(name: "lan", active: false, autostart: true, bridge: "br0"),
        ])
        let text = String(decoding: try JSONWritableTests.writtenText(reply), as: UTF8.self)
        #expect(HostStatsReply(json: try Self.members(text)) == reply)
        #expect(try Self.converted(HostStatsReply.self, text).get() == reply)
    }

    static let domain = #"{"autostart":true,"cpuTimeNs":5,"disks":[],"interfaces":[],"memoryMaxKiB":1024,"name":"web1","state":"running","stateReason":"booted","uuid":"u","vcpus":2}"#

    /// Absent and null optionals are nil, as `decodeIfPresent` has them; unknown members are ignored.
    @Test func absentAndNullOptionalsAreNil() throws {
        let text = Self.domain.replacingOccurrences(of: #""cpuTimeNs":5"#, with: #""cpuTimeNs":null,"future":[1,{"x":2.5}]"#)
        let read = try #require(DomainStats(json: try Self.members(text)))
        #expect(read.cpuTimeNs == nil && read.memoryCurrentKiB == nil)
        #expect(try Self.foundation(DomainStats.self, text).get() == read)
    }

    /// What it can't read it leaves to `Decodable`: a whole number written as a fraction is still
    /// read, and a missing member or a wrong type is Foundation's error.
    @Test func whatItCannotReadIsDecodedAsFoundationDoes() throws {
        let cases = [
            Self.domain.replacingOccurrences(of: #""vcpus":2"#, with: #""vcpus":2.0"#),
            Self.domain.replacingOccurrences(of: #""vcpus":2"#, with: #""vcpus":2.5"#),
            Self.domain.replacingOccurrences(of: #""uuid":"u","#, with: ""),
            Self.domain.replacingOccurrences(of: #""autostart":true"#, with: #""autostart":1"#),
            Self.domain.replacingOccurrences(of: #""cpuTimeNs":5"#, with: #""cpuTimeNs":"5""#),
            Self.domain.replacingOccurrences(of: #""disks":[]"#, with: #""disks":[{"target":7}]"#),
            Self.domain.replacingOccurrences(of: #""vcpus":2"#, with: #""vcpus":null"#),
        ]
        for text in cases {
            let members = try Self.members(text)
            if let read = DomainStats(json: members) {
                // Only the first case reads (JSONReader reads 2.0 as an integer), and as Foundation does.
                #expect(text == cases[0])
                #expect(try Self.foundation(DomainStats.self, text).get() == read)
            }
            switch (Self.converted(DomainStats.self, text), Self.foundation(DomainStats.self, text)) {
            case (.success(let ours), .success(let theirs)): #expect(ours == theirs, "\(text)")
            case (.failure(let ours), .failure(let theirs)): #expect(ours == theirs, "\(text)")
            case (let ours, let theirs): Issue.record("\(text): \(ours) against Foundation's \(theirs)")
            }
        }
        #expect(DomainStats(json: try Self.members(cases[1])) == nil)
    }
}
