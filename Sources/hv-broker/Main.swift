import ArgumentParser
import Foundation
import HVLibvirt
import HVSystem

@main
enum Main {
    /// libvirt is initialized here, on the main thread, before anything else can call it; and
    /// the allocator is told to keep one arena before any other thread allocates (see `Allocator`).
    static func main() async {
        Allocator.useOneArena()
        do {
            try Libvirt.initialize()
        } catch {
            FileHandle.standardError.write(Data("hv-broker: cannot initialize libvirt: \(error)\n".utf8))
            exit(1)
        }
        await BrokerCommand.main()
    }
}
