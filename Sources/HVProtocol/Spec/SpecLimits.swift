/// The fixed limits of a machine spec, independent of the host policy (which may be tighter).
public enum SpecLimits {
    public static let descriptionLength = 1024
    public static let tagCount = 16
    /// Tags and disk names are shorter than machine names, since they end up in volume names and tables.
    public static let shortNameLength = 32
    public static let vcpus = 1...64
    public static let memory = ByteSize.mebibytes(64)...ByteSize.tebibytes(1)
    public static let diskCount = 16
    public static let diskSize = ByteSize.gibibytes(1)...ByteSize.tebibytes(16)
    /// The sum of all disk sizes of one machine.
    public static let totalDiskSize = ByteSize.tebibytes(64)
    public static let networkCount = 8
    /// Linux's IFNAMSIZ less the terminating NUL.
    public static let bridgeNameLength = 15
    public static let userDataBytes = 64 << 10
    public static let metaDataBytes = 16 << 10
    public static let networkConfigBytes = 16 << 10
}
