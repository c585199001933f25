import ArgumentParser
import HVLibvirt

@main
enum Main {
    static func main() async {
        GLibEnvironment.ensureMallocAllocator()
        await BrokerCommand.main()
    }
}
