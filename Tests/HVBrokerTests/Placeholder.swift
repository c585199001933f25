import Testing
@Test func placeholderHVBrokerTests() {}
