import HVAlerting
import HVProtocol
import Testing

@Suite struct AlertingErrorTests {
    @Test func descriptionCarriesTheFix() {
        let error = AlertingError(.init("x"), "it broke", fix: "mend it")
        #expect(error.description == "it broke (fix: mend it)")
        #expect(AlertingError(.init("x"), "it broke").description == "it broke")
    }
}
