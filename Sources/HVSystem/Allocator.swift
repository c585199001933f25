import CHVShims

/// The C allocator's policy for a long-running daemon that does large, short-lived work on a
/// pool of threads taking turns (the monitor's cycles and history maintenance).
///
/// glibc gives threads arenas of their own and keeps what a thread freed in its arena, so such a
/// daemon grows to the sum of every thread's largest turn, with pages half used in each. With one
/// arena, and freed memory handed back after each turn, it stays near what it holds. Neither does
/// anything where the allocator is not glibc's.
public enum Allocator {
    /// Makes every thread allocate from one arena. Call it first thing in `main`, before threads
    /// start: a thread that has allocated keeps the arena it has.
    public static func useOneArena() {
        hv_malloc_use_one_arena()
    }

    /// Hands the memory the process has freed back to the system (`malloc_trim`); true when there
    /// was some to hand back.
    @discardableResult
    public static func returnFreedMemory() -> Bool {
        hv_return_freed_memory() == 1
    }
}
