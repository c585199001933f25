import ArgumentParser
import Foundation
import HVClient
import HVPresentation
import HVProtocol

/// Which machines a lifecycle command acts on: names, `--tag`, or `--all`.
struct BulkOptions: ParsableArguments {
    @Argument(help: "Machine names.") var names: [String] = []
    @Option(help: "Every machine with this tag (from its spec).") var tag: String?
    @Flag(help: "Every machine.") var all = false
    @Flag(help: "Don't ask before destructive work on several machines (for scripts).") var yes = false
    @Option(help: "How many machines to work on at once (at most 16, the broker's connections per user).") var width = 8

    func validate() throws {
        let ways = (names.isEmpty ? 0 : 1) + (tag == nil ? 0 : 1) + (all ? 1 : 0)
        guard ways == 1 else {
            throw ValidationError("name the machines, or give --tag TAG, or --all (exactly one of them)")
        }
        guard (1...16).contains(width) else {
            throw ValidationError("--width must be between 1 and 16: the broker serves at most 16 connections per user at once (--max-clients-per-user)")
        }
    }

    var selection: BulkSelection {
        if all { return .all }
        if let tag { return .tag(tag) }
        return .names(names)
    }

    /// One named machine: the command behaves as it always did (plain output, the error's own exit status).
    var single: String? { names.count == 1 && tag == nil && !all ? names[0] : nil }
}

extension Runner {
    /// Runs `operation` on every selected machine and prints a result table and a summary; exits
    /// non-zero when any machine failed. Destructive work on more than one machine is confirmed first.
    static func bulk(
        _ options: GlobalOptions, _ bulk: BulkOptions, verb: String, destructive: Bool, explain: Explanation,
        operation: @escaping @Sendable (BrokerClient, String) throws(HVError) -> String
    ) throws {
        if options.explain { explainOnly(explain) }
        let socket = socketPath(options)
        let names: [String]
        do {
            let client = try BrokerClient(socketPath: socket)
            names = bulk.selection.resolve(bulk.names.isEmpty ? try client.list() : [])
        } catch {
            fail(error)
        }
        guard !names.isEmpty else {
            fail(HVError(.notFound, "no machine matches \(bulk.tag.map { "tag '\($0)'" } ?? "--all")", fix: "see the machines and their tags with 'hv vm list'"))
        }
        if destructive && names.count > 1 && !bulk.yes { confirm(verb: verb, names: names) }
        let results = BulkRunner(width: bulk.width).run(
            names, makeContext: { () throws(HVError) in try BrokerClient(socketPath: socket) }, operation: operation
        )
        if options.json {
            printJSON(results)
        } else {
            print(BulkReport.table(results))
            print(BulkReport.summary(results, verb: verb))
        }
        let failures = results.filter { !$0.ok }
        guard !failures.isEmpty else { return }
        let codes = Set(failures.compactMap(\.code))
        Foundation.exit(codes.count == 1 ? HVError(HVError.Code(rawValue: codes.first!), "").exitCode : 1)
    }

    /// Asks on the terminal; without one (a script) refuses and says how to go on.
    static func confirm(verb: String, names: [String]) {
        let shown = names.prefix(10).joined(separator: ", ") + (names.count > 10 ? ", … (\(names.count - 10) more)" : "")
        guard isatty(STDIN_FILENO) == 1 else {
            fail(HVError(
                .invalidParameter, "refusing to \(verb) \(names.count) machines without confirmation: \(shown)",
                fix: "check the list, then run the command again with --yes"
            ))
        }
        printError("\(verb) \(names.count) machines: \(shown)?\ntype 'yes' to go on: ")
        guard readLine()?.trimmingCharacters(in: .whitespaces).lowercased() == "yes" else {
            printError("nothing done\n")
            Foundation.exit(1)
        }
    }
}
