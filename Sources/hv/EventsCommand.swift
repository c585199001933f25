import ArgumentParser
import Foundation
import HVClient
import HVPresentation
import HVProtocol

struct EventsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events", abstract: "Follow machines starting, stopping, crashing and being defined, live (Ctrl-C ends it)."
    )
    @OptionGroup var options: GlobalOptions
    @Option(help: "Stop after this many events (for scripts).") var count: Int?
    @Option(help: "Only events of this machine (repeatable).") var vm: [String] = []
    @Option(help: "Only events of this kind (repeatable): \(Self.kinds.joined(separator: ", ")).")
    var event: [String] = []

    static let kinds = ["defined", "undefined", "started", "suspended", "resumed", "stopped", "shutdown", "pmsuspended", "crashed"]

    func validate() throws {
        if let unknown = event.first(where: { !Self.kinds.contains($0) }) {
            throw ValidationError("--event \(unknown): not an event kind; use one of \(Self.kinds.joined(separator: ", "))")
        }
    }

    func run() throws {
        if options.explain { Runner.explainOnly(.events()) }
        do throws(HVError) {
            let client = try VarlinkClient(socketPath: Runner.socketPath(options))
            let stream = try client.openStream(Method.eventsFollow)
            var seen = 0
            while let parameters = try stream.next() {
                let reply: EventReply
                do {
                    reply = try VarlinkJSON.convert(parameters, to: EventReply.self)
                } catch {
                    throw HVError(.protocolError, "an event from the broker could not be read: \(error)")
                }
                if reply.subscribed == true {
                    if !options.json { Runner.printError("following events; Ctrl-C to stop\n") }
                    continue
                }
                guard let event = reply.event,
                    vm.isEmpty || vm.contains(event.vm),
                    self.event.isEmpty || self.event.contains(event.event)
                else { continue }
                if options.json {
                    Runner.printJSONLine(event)
                } else {
                    print("\(event.time)  \(event.vm)  \(event.event)  \(event.detail)")
                }
                fflush(nil)
                seen += 1
                if let count, seen >= count {
                    stream.cancel()
                    return
                }
            }
        } catch {
            Runner.fail(error)
        }
    }
}

extension Runner {
    /// One compact JSON object per line, for streams.
    static func printJSONLine<Value: Encodable>(_ value: Value) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        print(String(decoding: (try? encoder.encode(value)) ?? Data("null".utf8), as: UTF8.self))
    }
}
