extension WorkPool.Configuration {
    /// polkit checks. polkitd answers one check at a time, so a few threads keep it busy; a
    /// polkitd that stalls holds only these.
    public static let polkitChecks = Self(name: "polkit", threads: 4, maximumQueuedPerCaller: 32)
    /// libvirt calls and the short file operations around them (reading the ISO library, a
    /// console log).
    public static let libvirtCalls = Self(name: "libvirt", threads: 8, maximumQueuedPerCaller: 32)
    /// Long jobs: hashing and copying images, converting them, backups. One running per caller,
    /// so a second caller's job starts as soon as a thread is free; at a lower CPU priority than
    /// the calls people wait for.
    public static let longJobs = Self(
        name: "jobs", threads: 2, maximumQueuedPerCaller: 8, maximumRunningPerCaller: 1, niceness: 10
    )
}
