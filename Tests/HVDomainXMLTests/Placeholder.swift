import Testing
@Test func placeholderHVDomainXMLTests() {}
