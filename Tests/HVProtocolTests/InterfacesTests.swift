import HVProtocol
import Testing

/// The interface descriptions as text; whether the broker answers what they declare is
/// `InterfaceTests` in HVBrokerTests, against the dispatcher.
@Suite struct InterfacesTests {
    @Test(arguments: Interfaces.all)
    func descriptionNamesItsInterface(interface: String) throws {
        let description = try #require(Interfaces.description(of: interface))
        #expect(description.contains("interface \(interface)\n"))
        #expect(description.contains("\nmethod "), "\(interface) declares methods")
    }

    @Test func unknownInterfaceHasNoDescription() {
        #expect(Interfaces.description(of: "org.example.Nope") == nil)
    }
}
