import Foundation
import HVProtocol
import Testing

/// A boot test on the wire carries its time as seconds since 1970; an absent signal or problem is
/// left out.
@Suite struct BackupBootTestCodingTests {
    @Test func theWireCarriesTheTimeAsANumber() throws {
        let test = BackupBootTest(time: 1_800_000_007, ok: true, signal: "guest agent", seconds: 12.5, problem: nil)
        let object = try VarlinkJSON.object(test)
        #expect(object == ["time": .int(1_800_000_007), "ok": .bool(true), "signal": .string("guest agent"), "seconds": .double(12.5)])
        #expect(try VarlinkJSON.decode(BackupBootTest.self, from: VarlinkJSON.encode(test)) == test)
        #expect(String(decoding: try VarlinkJSON.encode(test), as: UTF8.self).contains("\"time\":1800000007"))
    }
}
