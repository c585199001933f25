/// How far a long operation (a verification, a restore) got, for a progress bar with a rate and
/// an estimate of the time left.
public struct BackupProgress: Hashable, Sendable {
    public var bytesDone: UInt64
    public var bytesTotal: UInt64
}
