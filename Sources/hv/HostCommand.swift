import ArgumentParser
import HVClient
import HVPresentation
import HVProtocol

struct HostCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "host", abstract: "The hypervisor host.", subcommands: [Info.self, Autostart.self]
    )

    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Host name, versions, CPU, memory and whether KVM is usable.")
        @OptionGroup var options: GlobalOptions

        func run() throws {
            try Runner.run(options, explain: .hostInfo()) { client throws(HVError) in
                let host = try client.hostInfo()
                if options.json { return Runner.printJSON(host) }
                print("""
                    host:        \(host.hostname)
                    libvirt:     \(host.libvirtVersion) (\(host.hypervisorUri))
                    hypervisor:  \(host.hypervisorVersion)
                    cpu:         \(host.cpus) × \(host.cpuModel)
                    memory:      \(host.memoryMiB) MiB
                    kvm:         \(host.kvm.usable ? "usable" : "not usable"): \(host.kvm.reason)
                    new VMs use: domain type \(host.domainType)
                    """)
            }
        }
    }
}
