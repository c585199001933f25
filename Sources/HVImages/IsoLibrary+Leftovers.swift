extension IsoLibrary {
    /// Removes the temporary files an interrupted `add` left (a copy cut short, a record not yet
    /// renamed into place) and returns what was removed. Call it only while no `add` runs: at the
    /// broker's start, before it serves.
    public func removeLeftovers() -> [Leftover] {
        Upload.removeLeftovers(in: directory, logger: logger)
    }
}
