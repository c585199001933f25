import ArgumentParser
import Foundation
import HVClient
import HVPresentation
import HVProtocol

struct PoolCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pool", abstract: "Storage pools and the volumes in them.",
        subcommands: [List.self, Volumes.self, CreateVolume.self, ResizeVolume.self, DeleteVolume.self, Template.self]
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List storage pools and how full they are.")
        @OptionGroup var options: GlobalOptions

        func run() throws {
            try Runner.run(options, explain: .pools()) { client throws(HVError) in
                let pools = try client.pools()
                if options.json { return Runner.printJSON(pools) }
                var table = Table("NAME", "STATE", "AUTOSTART", "CAPACITY", "USED", "FREE", "FOR MACHINES")
                for pool in pools {
                    table.add(
                        pool.name, pool.active ? "active" : "inactive", pool.autostart ? "yes" : "no", pool.capacity.readable,
                        pool.allocation.readable, pool.available.readable, pool.allowed ? "yes" : "no (host policy)"
                    )
                }
                print(pools.isEmpty ? "no storage pools" : table.render())
            }
        }
    }

    struct Volumes: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the volumes in a pool.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The pool (default: the broker's own).") var pool: String?

        func run() throws {
            try Runner.run(options, explain: .volumes(pool ?? "hypervisor-images")) { client throws(HVError) in
                let volumes = try client.volumes(pool: pool)
                if options.json { return Runner.printJSON(volumes) }
                var table = Table("NAME", "FORMAT", "SIZE", "ALLOCATED", "TEMPLATE", "OVERLAY OF")
                for volume in volumes {
                    table.add(
                        volume.name, volume.format, volume.capacity.readable, volume.allocation.readable, volume.template ? "yes" : "",
                        volume.backingTemplate ?? ""
                    )
                }
                print(volumes.isEmpty ? "no volumes" : table.render())
            }
        }
    }

    struct CreateVolume: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "create-volume", abstract: "Create an empty qcow2 volume.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The volume's name.") var name: String
        @Option(help: "Its size, such as 20GiB.") var size: String
        @Option(help: "The pool (default: the broker's own).") var pool: String?

        func run() throws {
            let size = try sizeArgument(size)
            try Runner.run(options, explain: .volumeCreate(pool ?? "hypervisor-images", name, size)) { client throws(HVError) in
                let volume = try client.createVolume(pool: pool, name: name, size: size)
                if options.json { return Runner.printJSON(volume) }
                print("created \(volume.name) (\(volume.capacity.readable)) in \(volume.pool)")
            }
        }
    }

    struct ResizeVolume: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "resize-volume", abstract: "Grow a volume (shrinking is refused).")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The volume's name.") var name: String
        @Option(help: "The new size, such as 40GiB.") var size: String
        @Option(help: "The pool (default: the broker's own).") var pool: String?

        func run() throws {
            let size = try sizeArgument(size)
            try Runner.run(options, explain: .volumeResize(pool ?? "hypervisor-images", name, size)) { client throws(HVError) in
                let volume = try client.resizeVolume(pool: pool, name: name, size: size)
                if options.json { return Runner.printJSON(volume) }
                print("\(volume.name) is now \(volume.capacity.readable); grow the guest's partition and file system to use it")
            }
        }
    }

    struct DeleteVolume: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "delete-volume", abstract: "Delete a volume no machine uses.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The volume's name.") var name: String
        @Option(help: "The pool (default: the broker's own).") var pool: String?

        func run() throws {
            try Runner.run(options, explain: .volumeDelete(pool ?? "hypervisor-images", name)) { client throws(HVError) in
                try client.deleteVolume(pool: pool, name: name)
                if !options.json { print("deleted \(name)") }
            }
        }
    }

    struct Template: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Mark a volume as a read-only template for overlays and linked clones.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The volume's name.") var name: String
        @Option(help: "The pool (default: the broker's own).") var pool: String?

        func run() throws {
            try Runner.run(options, explain: .volumeTemplate(pool ?? "hypervisor-images", name)) { client throws(HVError) in
                let volume = try client.markTemplate(pool: pool, volume: name)
                if options.json { return Runner.printJSON(volume) }
                print("\(volume.name) is a template; use it in a spec with 'template: \(volume.name)'")
            }
        }
    }
}

/// Reads a size argument such as `20GiB`, or exits with a clear message.
func sizeArgument(_ size: String, field: String = "--size") throws -> ByteSize {
    guard let parsed = ByteSize(parsing: size) else {
        throw ValidationError("\(field): '\(size)' is not a size; write it like 512MiB, 20GiB or 1TiB")
    }
    return parsed
}
