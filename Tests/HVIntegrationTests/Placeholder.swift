import Testing
@Test func placeholderHVIntegrationTests() {}
