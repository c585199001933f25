import HVHistory
import HVProtocol
import Testing

@Suite struct HistoryErrorTests {
    @Test func descriptionCarriesTheFix() {
        let error = HistoryError(.init("x"), "it broke", fix: "mend it")
        #expect(error.description == "it broke (fix: mend it)")
        #expect(HistoryError(.init("x"), "it broke").description == "it broke")
    }
}
