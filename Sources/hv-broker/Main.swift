import ArgumentParser
import Foundation
import HVLibvirt

@main
enum Main {
    /// libvirt is initialized here, on the main thread, before anything else can call it.
    static func main() async {
        do {
            try Libvirt.initialize()
        } catch {
            FileHandle.standardError.write(Data("hv-broker: cannot initialize libvirt: \(error)\n".utf8))
            exit(1)
        }
        await BrokerCommand.main()
    }
}
