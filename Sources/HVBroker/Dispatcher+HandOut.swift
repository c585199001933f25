import Foundation
import HVProtocol
import HVServer
import HVSystem
import HVWork
import Logging

/// The upload socket's calls answered with a descriptor: `Vm.OpenConsole` (one end of a socket
/// pair, the broker pumping the other to the serial console) and `Vm.OpenGraphics` (a connection
/// to the display). Same admission path as every other call: decode → validate → admit (polkit,
/// on the machine) → take a console place → audit the intent → act → audit. Nothing is opened,
/// and no descriptor exists, before polkit said yes.
extension Dispatcher {
    public var handedOutMethods: Set<String> { Self.handedOut }

    /// The methods whose reply brings a descriptor.
    static let handedOut: Set<String> = [Method.vmOpenConsole, Method.vmOpenGraphics]

    public func handOut(_ message: [UInt8], from peer: Peer) async -> HandedOut {
        await WorkPool.$caller.withValue(peer.uid) {
            var entry = Entry(peer: peer)
            let answer = await handOut(message, entry: &entry)
            await record(entry)
            return answer
        }
    }

    private func handOut(_ message: [UInt8], entry: inout Entry) async -> HandedOut {
        let call: VarlinkCall
        do {
            call = try VarlinkJSON.decode(VarlinkCall.self, from: message)
        } catch {
            entry.decision = "invalid"
            return refusal(Self.malformed, interface: "", entry: &entry)
        }
        entry.method = call.method
        let request: HandOutRequest
        do {
            request = try HandOutRequest(call)
        } catch {
            entry.decision = "invalid"
            return refusal(error, interface: call.interface, entry: &entry)
        }
        entry.target = request.name
        entry.action = request.operation.action
        var held = entry
        let answer = await objectLocks.withLocks(RequestObject.machine(request.name).lockNames) {
            await self.admitAndHandOut(request, interface: call.interface, entry: &held)
        }
        entry = held
        return answer
    }

    private func admitAndHandOut(_ request: HandOutRequest, interface: String, entry: inout Entry) async -> HandedOut {
        if case .failure(let error) = await admit(request.operation, object: .machine(request.name), entry: &entry) {
            return refusal(error, interface: interface, entry: &entry)
        }
        var place: ConsolePlace?
        if case .console = request {
            do {
                place = try consoles.reserve(entry.peer.uid)
            } catch {
                if error.code == .busy { entry.decision = "busy" }
                return refusal(error, interface: interface, entry: &entry)
            }
        }
        if let error = await recordIntent(request.operation, entry: entry) {
            return refusal(error, interface: interface, entry: &entry)
        }
        do {
            switch request {
            case .console(let name, let force):
                let attachment = try await hypervisor.openConsole(name, force: force)
                let reply = try Self.encoded(VmOpenConsoleReply(name: name, tookOver: attachment.tookOver))
                let theirs = try startSession(in: place, name: name, attachment.stream, entry: entry)
                entry.result = "ok"
                return HandedOut(reply: reply, descriptor: theirs)
            case .graphics(let name):
                let display = try await hypervisor.openGraphics(name)
                let reply = try Self.encoded(VmOpenGraphicsReply(name: name, type: display.type))
                entry.result = "ok"
                return HandedOut(reply: reply, descriptor: display.descriptor)
            }
        } catch {
            return refusal(error, interface: interface, entry: &entry)
        }
    }

    /// Joins the console to a new socket pair and pumps it in a session of its own; returns the
    /// caller's end. The session's end is a record of its own: how it ended, the bytes each way,
    /// and (as its duration) how long it lasted.
    private func startSession(
        in place: ConsolePlace?, name: String, _ stream: any ConsoleStream, entry: Entry
    ) throws(HVError) -> Descriptor {
        guard let place else { throw HVError(.failed, "a console was opened without a place for its session") }
        let mine: Descriptor
        let theirs: Descriptor
        do {
            (mine, theirs) = try Descriptor.socketPair(name: "the console of \(name)")
        } catch {
            stream.close()
            throw HVError(.failed, "\(error)")
        }
        let logger = logger
        logger.info("console session started", metadata: ["machine": "\(name)", "uid": "\(entry.peer.uid)"])
        consoles.start(place, name: name, socket: mine, stream: stream) { end, typed, shown in
            var ending = entry
            ending.result = "session ended: \(end); \(typed) bytes typed, \(shown) shown"
            logger.info("console session ended", metadata: ["machine": "\(name)", "uid": "\(entry.peer.uid)", "end": "\(end)"])
            self.submitRecord(ending)
        }
        return theirs
    }

    private func refusal(_ error: HVError, interface: String, entry: inout Entry) -> HandedOut {
        HandedOut(reply: (try? VarlinkJSON.encode(failureReply(error, interface: interface, entry: &entry))) ?? [])
    }

    private static func encoded<Reply: Encodable>(_ reply: Reply) throws(HVError) -> [UInt8] {
        VarlinkJSON.reply(try parameters(reply))
    }
}

/// A decoded and validated call answered with a descriptor.
enum HandOutRequest: Sendable, Hashable {
    case console(String, force: Bool)
    case graphics(String)

    var name: String {
        switch self {
        case .console(let name, _), .graphics(let name): name
        }
    }

    var operation: BrokerOperation {
        switch self {
        case .console: .vmConsoleAttach
        case .graphics: .vmGraphics
        }
    }

    init(_ call: VarlinkCall) throws(HVError) {
        switch call.method {
        case Method.vmOpenConsole:
            let decoded = try StrictDecoding.decode(VmOpenConsoleParameters.self, from: call.parameters)
            try VmName.validate(decoded.name)
            self = .console(decoded.name, force: decoded.force ?? false)
        case Method.vmOpenGraphics:
            self = .graphics(try Request.name(call.parameters))
        default:
            throw HVError(
                .methodNotFound, "\(call.method) is not answered with a descriptor",
                fix: "send it to the broker socket", details: ["method": call.method]
            )
        }
    }
}
