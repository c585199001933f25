import Testing
@Test func placeholderHVProtocolTests() {}
