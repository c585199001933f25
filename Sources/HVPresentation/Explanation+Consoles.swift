import HVProtocol

extension Explanation {
    /// `hv console NAME`: the serial console, interactively.
    public static func consoleAttach(_ name: String, force: Bool) -> Explanation {
        Explanation(
            commands: ["\(uri) console \(name) --safe\(force ? " --force" : "")"],
            why: "Attaches your terminal to the machine's serial port: the broker opens the console and hands you one end "
                + "of a socket pair, so you never reach libvirt. Keys go to the guest as typed (Ctrl-C too); Ctrl-] "
                + "detaches. A console another session holds is refused"
                + (force ? "; --force ends that session and takes the console over." : " unless you take it over with --force."),
            operation: .vmConsoleAttach
        )
    }

    /// `hv vnc NAME`: the display, served to local viewers.
    public static func vnc(_ name: String, place: String) -> Explanation {
        Explanation(
            commands: ["\(uri) domdisplay \(name)    # hv needs no address: the display listens nowhere of its own"],
            why: "Serves the machine's display to VNC viewers on \(place), for your user only; for each viewer the broker "
                + "asks libvirt for a new connection to the display (virDomainOpenGraphicsFD) and hands it over, so no TCP "
                + "port anyone on the host could reach is ever opened. From a laptop, forward it with ssh -L.",
            operation: .vmGraphics
        )
    }

    /// `hv vm screenshot NAME -o FILE`.
    public static func screenshot(_ name: String, file: String) -> Explanation {
        Explanation(
            commands: ["\(uri) screenshot \(name) \(file)"],
            why: "Saves what the running machine's screen shows as a PNG file; the broker converts the hypervisor's image, "
                + "so you get PNG whatever it sends.",
            operation: .vmScreenshot
        )
    }
}
