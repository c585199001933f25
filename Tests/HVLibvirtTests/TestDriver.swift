import Foundation
import HVLibvirt
import HVTestSupport

/// libvirt's test driver (no daemon) with the objects of `test:///default` — a running domain
/// `test` with disk `vda`, the active directory pool `default-pool` at `/default-pool` and the
/// active network `default` on `virbr0` — but private to each connection.
///
/// `test:///default` is one state shared by every connection of the process, and the other
/// suites of the test process assert on it (which domains are inactive, which autostart), so
/// these tests open the same driver from a node file: every `open()` gets its own state.
enum TestDriver {
    static let node = TestDriverNode.xml(domains: """
        <domain type='test'>
          <name>test</name>
          <uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>
          <memory unit='KiB'>8388608</memory>
          <currentMemory unit='KiB'>2097152</currentMemory>
          <vcpu>2</vcpu>
          <os><type arch='i686'>hvm</type></os>
          <devices>
            <disk type='file' device='disk'>
              <source file='/guest/diskimage1'/>
              <target dev='vda' bus='virtio'/>
            </disk>
          </devices>
        </domain>
        """)

    /// A fresh test-driver connection with its own state.
    static func open() throws -> Connection {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("hv-libvirt-node-\(UUID().uuidString).xml").path
        try node.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try Connection(uri: "test://" + path)
    }

    /// A stopped, persistent test-driver domain's XML.
    static func domainXML(_ name: String) -> String {
        """
        <domain type='test'><name>\(name)</name><memory unit='KiB'>262144</memory><vcpu>1</vcpu>\
        <os><type>hvm</type></os></domain>
        """
    }
}

/// Collects values delivered on another thread and waits for them without sleeping blindly.
final class Inbox<Value: Sendable>: @unchecked Sendable {
    private let condition = NSCondition()
    private var values: [Value] = []

    func append(_ value: Value) {
        condition.withLock {
            values.append(value)
            condition.broadcast()
        }
    }

    var all: [Value] { condition.withLock { values } }

    /// Waits up to `seconds` until the values so far satisfy `predicate`; returns them either way.
    func values(within seconds: TimeInterval = 10, until predicate: ([Value]) -> Bool) -> [Value] {
        let deadline = Date().addingTimeInterval(seconds)
        condition.lock()
        defer { condition.unlock() }
        while !predicate(values), condition.wait(until: deadline) {}
        return values
    }

    /// Waits up to `seconds` for a value matching `predicate` and returns it, or nil.
    func first(within seconds: TimeInterval = 10, where predicate: (Value) -> Bool) -> Value? {
        values(within: seconds) { $0.contains(where: predicate) }.first(where: predicate)
    }
}
