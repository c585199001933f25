import HVHealth
import HVProtocol
import Testing

@Suite struct HealthSummaryTests {
    private func check(_ status: HealthStatus) -> HealthCheck {
        HealthCheck(id: "x", title: "x", status: status, value: "", explanation: "", fix: nil)
    }

    @Test func worstStatusWins() {
        #expect([check(.ok), check(.critical), check(.warning)].overallStatus == .critical)
        #expect([check(.ok), check(.unknown), check(.critical)].overallStatus == .unknown)
        #expect([HealthCheck]().overallStatus == .ok)
    }
}
