import ArgumentParser
import Foundation
import HVClient
import HVPresentation
import HVProtocol

/// Shared plumbing: connect, explain, print, and turn errors into messages and exit codes.
enum Runner {
    static func socketPath(_ options: GlobalOptions) -> String {
        options.socket ?? ProcessInfo.processInfo.environment["HV_SOCKET"] ?? VarlinkClient.defaultSocketPath
    }

    /// Connects and runs `body`; with `--explain`, explains instead and exits without connecting.
    static func run(
        _ options: GlobalOptions, explain explanation: Explanation, _ body: (BrokerClient) throws(HVError) -> Void
    ) throws {
        if options.explain { explainOnly(explanation) }
        do {
            try body(try BrokerClient(socketPath: socketPath(options)))
        } catch {
            fail(error)
        }
    }

    /// A lifecycle call that returns nothing: Start, Reboot, Kill.
    static func lifecycle(_ options: GlobalOptions, _ method: String, _ name: String, explain: Explanation, done: String) throws {
        try run(options, explain: explain) { client throws(HVError) in
            try client.lifecycle(method, name)
            if !options.json { print(done) }
        }
    }

    /// `--explain`: prints what the command would do and exits 0. Called before any connection is
    /// made, so no request, reading or changing, reaches the broker or the monitor.
    static func explainOnly(_ explanation: Explanation) -> Never {
        print(explanation.explainOnlyText)
        Foundation.exit(0)
    }

    static func fail(_ error: HVError) -> Never {
        var text = "hv: \(error.reason)\n"
        if let fix = error.fix { text += "  fix: \(fix)\n" }
        printError(text)
        Foundation.exit(error.exitCode)
    }

    static func printError(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }

    static func printJSON<Value: Encodable>(_ value: Value) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(value)) ?? Data("null".utf8)
        print(String(decoding: data, as: UTF8.self))
    }
}
