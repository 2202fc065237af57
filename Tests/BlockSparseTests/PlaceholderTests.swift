import Testing
@testable import BlockSparse
@Test func registryNotEmpty() { #expect(kbKernelCount() > 0) }
