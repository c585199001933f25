import HVMetrics
import HVProtocol
import Testing

@Suite struct MetricsErrorTests {
    @Test func descriptionCarriesTheFix() {
        let error = MetricsError(.init("x"), "it broke", fix: "mend it")
        #expect(error.description == "it broke (fix: mend it)")
        #expect(MetricsError(.init("x"), "it broke").description == "it broke")
    }
}
