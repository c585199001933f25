import ArgumentParser
import HVLibvirt

@main
enum Main {
    static func main() {
        GLibEnvironment.ensureMallocAllocator()
        BenchCommand.main()
    }
}
