import Foundation
import HVTestSupport
import Testing

/// Integration tests need root, polkitd, libvirtd and the binaries built by `swift build`;
/// scripts/test.sh provides all of that and sets HV_INTEGRATION=1.
enum Environment {
    static let enabled: Bool = {
        if ProcessInfo.processInfo.environment["HV_INTEGRATION"] != "1" {
            print("skipping integration tests: set HV_INTEGRATION=1 (scripts/test.sh does) to run them as root")
            return false
        }
        if getuid() != 0 {
            print("skipping integration tests: they must run as root (they create users and start the broker)")
            return false
        }
        return true
    }()

    /// The fault-injection suite stops the host's polkitd and libvirtd, so it runs only on its
    /// own: scripts/test.sh runs it after every other suite, with HV_FAULTS=1.
    static let faults: Bool = {
        guard ProcessInfo.processInfo.environment["HV_FAULTS"] == "1" else {
            print("skipping the fault-injection suite: set HV_FAULTS=1 and run it alone (scripts/test.sh does, after the other suites)")
            return false
        }
        return true
    }()

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// Where `swift build` put the executables.
    static var buildDirectory: String {
        ProcessInfo.processInfo.environment["HV_BIN_DIR"] ?? root + "/.build/debug"
    }
}

/// Runs a test body with the shared stack, set up on first use.
func withStack(_ body: (Stack) throws -> Void) throws {
    try body(try Stack.shared.get())
}
