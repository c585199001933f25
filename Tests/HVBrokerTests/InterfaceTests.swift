import Foundation
import HVBroker
import HVPolkit
import HVProtocol
import HVServer
import HVSystem
import HVTestSupport
import Synchronization
import Testing

/// What the broker publishes and what its dispatcher answers are one set of methods. The published
/// side is read as a client reads it, from the dispatcher itself: `GetInfo` for the interfaces,
/// then `GetInterfaceDescription` of each. The answered side is the dispatcher's routing table,
/// and every method on either side is called: answered means anything but `MethodNotFound` or
/// `InterfaceNotFound` on the broker socket's entry point or the upload socket's.
@Suite struct InterfaceTests {
    /// Nobody is authorized, so a call stops after decoding or at admission, whatever it is.
    let dispatcher: Dispatcher

    init() throws {
        dispatcher = try makeDispatcher(authorizer: FakeAuthorizer(.denied)).0
    }

    /// The first reply to `method` on the broker socket's entry point (the one that also streams).
    func answerOnBrokerSocket(_ method: String, _ parameters: [String: JSONValue]? = nil) async throws -> VarlinkReply {
        let replies = Mutex<[[UInt8]]>([])
        await dispatcher.handle(try encodeCall(method, parameters), from: testPeer) { reply in
            replies.withLock { $0.append(reply) }
        }
        let first = try #require(replies.withLock { $0.first }, "\(method) got a reply")
        return try VarlinkJSON.decode(VarlinkReply.self, from: first)
    }

    /// The reply to `method` on the upload socket's entry point, with an open file attached.
    func answerOnUploadSocket(_ method: String) async throws -> VarlinkReply {
        let file = try Descriptor.open("/dev/null", O_RDONLY)
        let reply = await dispatcher.handle(try encodeCall(method), descriptor: file, from: testPeer)
        return try VarlinkJSON.decode(VarlinkReply.self, from: reply)
    }

    /// The reply to `method` on the upload socket's entry point for calls answered with a
    /// descriptor, which the upload socket routes there by name.
    func answerHandedOut(_ method: String) async throws -> VarlinkReply? {
        guard dispatcher.handedOutMethods.contains(method) else { return nil }
        let answer = await dispatcher.handOut(try encodeCall(method), from: testPeer)
        return try VarlinkJSON.decode(VarlinkReply.self, from: answer.reply)
    }

    /// Whether an entry point answers `method` as a method it knows.
    func isAnswered(_ method: String) async throws -> Bool {
        let unknown: Set<String?> = ["org.varlink.service.MethodNotFound", "org.varlink.service.InterfaceNotFound"]
        if try await !unknown.contains(answerOnBrokerSocket(method).error) { return true }
        if let handedOut = try await answerHandedOut(method) { return !unknown.contains(handedOut.error) }
        return try await !unknown.contains(answerOnUploadSocket(method).error)
    }

    /// Every `method Name(` of every interface the broker lists, as the broker describes them.
    func publishedMethods() async throws -> Set<String> {
        let info = try await answerOnBrokerSocket(Method.getInfo)
        guard case .array(let names)? = info.parameters?["interfaces"] else {
            throw SetupError("GetInfo listed no interfaces: \(info)")
        }
        var methods: Set<String> = []
        for case .string(let interface) in names {
            let reply = try await answerOnBrokerSocket(Method.getInterfaceDescription, ["interface": .string(interface)])
            let description = try #require(reply.parameters?["description"]?.stringValue, "\(interface): \(reply)")
            for line in description.split(separator: "\n") {
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                guard trimmed.hasPrefix("method "), let open = trimmed.firstIndex(of: "(") else { continue }
                methods.insert(interface + "." + trimmed[trimmed.index(trimmed.startIndex, offsetBy: 7)..<open])
            }
        }
        return methods
    }

    /// The methods of `methods` that neither entry point answers as a method it knows.
    func unanswered(_ methods: Set<String>) async throws -> [String] {
        var unanswered: [String] = []
        for method in methods.sorted() where try await !isAnswered(method) { unanswered.append(method) }
        return unanswered
    }

    @Test func everyPublishedMethodIsAnswered() async throws {
        let published = try await publishedMethods()
        #expect(published.count > 40, "the descriptions were read: \(published.sorted())")
        #expect(try await unanswered(published) == [], "published but answered as unknown")
    }

    @Test func everyAnsweredMethodIsPublished() async throws {
        let published = try await publishedMethods()
        #expect(Dispatcher.methods.count > 40, "the routing table was read: \(Dispatcher.methods.sorted())")
        #expect(Dispatcher.methods.subtracting(published).sorted() == [], "answered but not published")
        #expect(try await unanswered(Dispatcher.methods) == [], "in the routing table but answered as unknown")
    }

    /// The probe tells the two apart: what nobody routes is answered as unknown on both sockets.
    @Test(arguments: ["org.hypernixos.Vm.Format", "org.example.Nope.Call"])
    func anUnroutedMethodIsNotAnswered(method: String) async throws {
        #expect(!Dispatcher.methods.contains(method))
        #expect(try await !isAnswered(method))
    }
}
