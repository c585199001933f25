import HVTestSupport
import Testing

extension ZeroTrustTests {
    /// Usage errors are invalid input: exit 2, as for every other invalid input, not
    /// argument-parser's 64.
    @Test(arguments: [
        ["vm", "create", "-rf"], ["vm", "kill"], ["vm", "frobnicate"], ["nosuchcommand"],
        ["vm", "list", "--no-such-flag"], ["vm", "create", "web", "--vcpus", "many"], ["events", "--event", "exploded"],
        ["vm", "hugepages", "web", "maybe"],
    ])
    func usageErrorsExit2(arguments: [String]) async throws {
        try withStack { stack in
            let output = try stack.hv(arguments, as: Stack.viewerUser)
            #expect(output.status == 2, "\(output)")
            #expect(output.stderr.contains("Error: "), "\(output)")
        }
    }

    @Test func helpStillExits0() async throws {
        try withStack { stack in
            let output = try stack.hv(["vm", "create", "--help"], as: Stack.viewerUser)
            #expect(output.status == 0 && output.stdout.contains("USAGE: hv vm create"), "\(output)")
        }
    }
}
