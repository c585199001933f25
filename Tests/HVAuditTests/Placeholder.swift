import Testing
@Test func placeholderHVAuditTests() {}
