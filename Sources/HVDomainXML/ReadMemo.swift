import Synchronization

/// What was read from a text, kept by the text itself: the same text read again gives the value
/// read the first time without reading it again. A domain's XML and the broker's record in it are
/// read on every request about the machine and change only when the machine does; a changed text
/// is simply another key. At most `capacity` values are kept; when full, it starts over.
final class ReadMemo<Value: Sendable>: Sendable {
    private let values = Mutex<[String: Value]>([:])
    let capacity: Int

    init(capacity: Int) {
        precondition(capacity > 0, "a memo keeps at least one value")
        self.capacity = capacity
    }

    /// The value `read` gives for `text`, read now only if this text was not read before.
    func value<Failure: Error>(of text: String, read: (String) throws(Failure) -> Value) throws(Failure) -> Value {
        if let known = values.withLock({ $0[text] }) { return known }
        let value = try read(text)
        values.withLock { values in
            if values.count >= capacity { values.removeAll(keepingCapacity: true) }
            values[text] = value
        }
        return value
    }

    /// Values kept, for tests.
    var count: Int { values.withLock { $0.count } }
}
