import ArgumentParser
import HVLibvirt

@main
enum Main {
    static func main() {
        _ = try? Libvirt.initialize()
        HVBench.main()
    }
}
