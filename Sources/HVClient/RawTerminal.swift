import Glibc

/// The terminal `hv console` runs in, switched to raw mode (every key goes to the guest as typed,
/// Ctrl-C included) and back to the settings it had on every way out: `restore()` at the end,
/// and, while raw, SIGINT, SIGTERM, SIGHUP and SIGQUIT put the saved settings back before the
/// signal takes its usual course. A descriptor that is no terminal is left alone.
public final class RawTerminal {
    /// The terminal's rows and columns, when standard output is one.
    public static var size: (rows: Int, columns: Int)? {
        var window = winsize()
        guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &window) == 0, window.ws_row > 0 else { return nil }
        return (Int(window.ws_row), Int(window.ws_col))
    }

    /// The signals after which the terminal is restored.
    static let signals = [SIGINT, SIGTERM, SIGHUP, SIGQUIT]

    private let descriptor: Int32
    private var raw = false

    /// The terminal on `descriptor`, standard input by default. One at a time is raw.
    public init(_ descriptor: Int32 = STDIN_FILENO) {
        self.descriptor = descriptor
    }

    /// Whether it is in raw mode now.
    public var isRaw: Bool { raw }

    /// Saves the settings and switches to raw mode; does nothing when the descriptor is no terminal.
    public func enter() {
        guard !raw, isatty(descriptor) == 1, tcgetattr(descriptor, &savedSettings) == 0 else { return }
        savedDescriptor = descriptor
        for signal in Self.signals { Glibc.signal(signal, restoreThenDie) }
        var settings = savedSettings
        cfmakeraw(&settings)
        guard tcsetattr(descriptor, TCSAFLUSH, &settings) == 0 else { return restore() }
        raw = true
    }

    /// Puts the saved settings back; later calls do nothing.
    public func restore() {
        if raw { _ = tcsetattr(descriptor, TCSAFLUSH, &savedSettings) }
        raw = false
        savedDescriptor = -1
        for signal in Self.signals { Glibc.signal(signal, SIG_DFL) }
    }

    deinit {
        restore()
    }
}

// What the signal handler reads: set before the handler is installed, so reading them in the
// handler is a plain load, and tcsetattr is async-signal-safe.
nonisolated(unsafe) private var savedSettings = termios()
nonisolated(unsafe) private var savedDescriptor: Int32 = -1

/// Restores the terminal, then lets the signal do what it does by default (end the process).
private func restoreThenDie(_ signal: Int32) {
    if savedDescriptor >= 0 { _ = tcsetattr(savedDescriptor, TCSANOW, &savedSettings) }
    Glibc.signal(signal, SIG_DFL)
    raise(signal)
}
