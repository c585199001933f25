import HVMonitor
import Testing

@Suite struct MonitorErrorTests {
    @Test func descriptionCarriesTheFix() {
        let error = MonitorError(.init("x"), "it broke", fix: "mend it")
        #expect(error.description == "it broke (fix: mend it)")
        #expect(MonitorError(.init("x"), "it broke").description == "it broke")
    }
}
