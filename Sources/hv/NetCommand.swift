import ArgumentParser
import Foundation
import HVClient
import HVPresentation
import HVProtocol

struct NetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "net", abstract: "Virtual networks: list, create a NAT network, start, stop, autostart, DHCP leases.",
        subcommands: [List.self, Create.self, Start.self, Stop.self, Autostart.self, Delete.self, Leases.self]
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List virtual networks.")
        @OptionGroup var options: GlobalOptions

        func run() throws {
            try Runner.run(options, explain: .networks()) { client throws(HVError) in
                let networks = try client.networks()
                if options.json { return Runner.printJSON(networks) }
                var table = Table("NAME", "STATE", "AUTOSTART", "BRIDGE", "FORWARD", "ADDRESS", "DHCP")
                for network in networks {
                    let dhcp = network.dhcpStart.map { "\($0) - \(network.dhcpEnd ?? "?")" } ?? ""
                    table.add(
                        network.name, network.active ? "active" : "inactive", network.autostart ? "yes" : "no",
                        network.bridge ?? "", network.forward ?? "isolated", network.address ?? "", dhcp
                    )
                }
                print(networks.isEmpty ? "no networks (an administrator can create one with 'hv net create')" : table.render())
            }
        }
    }

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create and start a NAT network (administrators).")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The network's name (at most 15 characters).") var name: String
        @Option(help: "The host's address and prefix on it, such as 192.168.100.1/24.") var address: String
        @Option(help: "First address DHCP hands out (default: host address + 1).") var dhcpStart: String?
        @Option(help: "Last address DHCP hands out (default: the last usable one).") var dhcpEnd: String?
        @Flag(help: "Start it with the host.") var autostart = false

        func run() throws {
            let parameters = NetworkCreateParameters(name: name, address: address, dhcpStart: dhcpStart, dhcpEnd: dhcpEnd, autostart: autostart)
            try Runner.run(options, explain: .networkCreate(name, address)) { client throws(HVError) in
                let network = try client.createNetwork(parameters)
                if options.json { return Runner.printJSON(network) }
                print("created \(network.name) on \(network.bridge ?? "?") (\(network.address ?? address)); use it in a spec with 'network: \(network.name)'")
            }
        }
    }

    struct Start: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start a network.")
        @OptionGroup var options: GlobalOptions
        @Argument var name: String

        func run() throws {
            try Runner.run(options, explain: .network("start", name, .networkStart)) { client throws(HVError) in
                try client.network(Method.networkStart, name)
                if !options.json { print("started \(name)") }
            }
        }
    }

    struct Stop: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop a network; attached machines lose connectivity.")
        @OptionGroup var options: GlobalOptions
        @Argument var name: String

        func run() throws {
            try Runner.run(options, explain: .network("destroy", name, .networkStop)) { client throws(HVError) in
                try client.network(Method.networkStop, name)
                if !options.json { print("stopped \(name)") }
            }
        }
    }

    struct Autostart: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Whether a network starts with the host: on or off.")
        @OptionGroup var options: GlobalOptions
        @Argument var name: String
        @Argument(help: "on or off") var setting: String

        func run() throws {
            guard setting == "on" || setting == "off" else { throw ValidationError("say 'on' or 'off', not '\(setting)'") }
            let enabled = setting == "on"
            try Runner.run(options, explain: .network("autostart", name, .networkAutostart)) { client throws(HVError) in
                try client.setNetworkAutostart(name, enabled: enabled)
                if !options.json { print("\(name) autostart \(setting)") }
            }
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop and remove a network no machine uses.")
        @OptionGroup var options: GlobalOptions
        @Argument var name: String

        func run() throws {
            try Runner.run(options, explain: .network("undefine", name, .networkDelete)) { client throws(HVError) in
                try client.network(Method.networkDelete, name)
                if !options.json { print("deleted \(name)") }
            }
        }
    }

    struct Leases: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The addresses DHCP gave a machine.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The machine.") var vm: String

        func run() throws {
            try Runner.run(options, explain: .leases(vm)) { client throws(HVError) in
                let leases = try client.leases(of: vm)
                if options.json { return Runner.printJSON(leases) }
                var table = Table("NETWORK", "MAC", "ADDRESS", "HOSTNAME", "EXPIRES")
                for lease in leases {
                    let expires = Date(timeIntervalSince1970: TimeInterval(lease.expires)).formatted(.iso8601)
                    // The host name is the guest's to choose.
                    let hostname = TerminalText.visible(lease.hostname ?? "")
                    table.add(lease.network, lease.mac, "\(lease.address)/\(lease.prefix)", hostname, expires)
                }
                print(leases.isEmpty ? "\(vm) has no DHCP leases yet (is it running, on a managed network?)" : table.render())
            }
        }
    }
}
