import ArgumentParser
import Foundation
import HVClient
import HVPresentation
import HVProtocol
import HVSystem

/// `hv console NAME`: the serial console, interactively.
struct ConsoleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "console",
        abstract: "Attach to a machine's serial console; Ctrl-] detaches.",
        discussion: """
            Keys go to the guest as typed, Ctrl-C included; your terminal is restored when you detach, when the
            console closes and when hv is stopped by a signal. One session holds a console at a time: --force ends
            the other one and takes it over, as 'virsh console --force' does.
            """
    )
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The machine's name.") var name: String
    @Flag(help: "Take the console over from the session that holds it; that session ends.") var force = false
    @Option(help: "The broker's upload socket (default: $HV_UPLOAD_SOCKET, or upload.sock beside the broker socket).")
    var uploadSocket: String?

    /// Ctrl-], as in virsh and telnet.
    static let escape: UInt8 = 0x1D

    func run() throws {
        do {
            try VmName.validate(name)
        } catch {
            Runner.fail(error)
        }
        if options.explain { Runner.explainOnly(.consoleAttach(name, force: force)) }
        signal(SIGPIPE, SIG_IGN)
        let reply: VmOpenConsoleReply
        let console: Descriptor
        do {
            let socket = UploadSocket.path(uploadSocket, options)
            (reply, console) = try DescriptorPassing.openConsole(name, force: force, socketPath: socket)
        } catch {
            Runner.fail(error)
        }
        var greeting = "Connected to \(name)'s serial console\(reply.tookOver ? ", taken over from another session" : "")."
        greeting += " Escape character is ^] (Ctrl + ]).\n"
        if let size = RawTerminal.size {
            greeting += "A serial line carries no window size; in the guest: stty rows \(size.rows) cols \(size.columns)\n"
        }
        Runner.printError(greeting)
        let terminal = RawTerminal()
        terminal.enter()
        let terminalEnd = Relay.End(read: STDIN_FILENO, write: STDOUT_FILENO)
        let outcome = Relay(left: terminalEnd, right: Relay.End(console), escape: Self.escape).run()
        terminal.restore()
        console.close()
        switch outcome {
        case .escaped, .leftClosed:
            Runner.printError("\ndetached from \(name)\n")
        case .rightClosed:
            Runner.fail(closedReason())
        case .failed(let reason):
            Runner.fail(HVError(.failed, "the console of \(name) broke: \(reason)"))
        }
    }

    /// Why the broker closed the console: the machine stopped, or (while it runs) another session
    /// took it over or the broker stopped.
    func closedReason() -> HVError {
        let state = try? BrokerClient(socketPath: Runner.socketPath(options)).info(name).state
        if let state, state != "running" {
            return HVError(.invalidState, "\(name) is \(state): its console closed", fix: "start it again with 'hv vm start \(name)'")
        }
        return HVError(
            .failed, "the console of \(name) was closed: another session took it over (--force), or the broker stopped",
            fix: "attach again with 'hv console \(name)' (--force takes it back)"
        )
    }
}

/// `hv vnc NAME`: the display, for viewers on this host and, through SSH, elsewhere.
struct VncCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vnc",
        abstract: "Serve a machine's display to a VNC viewer, for your user only; Ctrl-C stops.",
        discussion: """
            The display listens on no address. hv listens on a loopback port (or a Unix socket with --listen) and, for
            each viewer that connects as your user, asks the broker for a new connection to the display. It prints
            the ssh command that forwards it to a laptop. The machine needs a display: 'graphics: {type: vnc}' in
            its spec.
            """
    )
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The machine's name.") var name: String
    @Option(help: ArgumentHelp("Serve on a Unix socket only you can open: unix:PATH.", valueName: "unix:path")) var listen: String?
    @Option(help: "Serve on this port of 127.0.0.1 (default: a free one).") var port: UInt16?
    @Option(help: "The broker's upload socket (default: $HV_UPLOAD_SOCKET, or upload.sock beside the broker socket).")
    var uploadSocket: String?

    func validate() throws {
        if listen != nil && port != nil { throw ValidationError("give --listen or --port, not both") }
        if let listen, !listen.hasPrefix("unix:/") {
            throw ValidationError("--listen takes unix:PATH with an absolute path, such as unix:/run/user/1000/vnc.sock")
        }
    }

    var place: DisplayForwarder.Place {
        if let listen { return .unix(path: String(listen.dropFirst("unix:".count))) }
        return .loopback(port: port ?? 0)
    }

    func run() throws {
        do {
            try VmName.validate(name)
        } catch {
            Runner.fail(error)
        }
        let shown = listen == nil && port == nil ? "a free port of 127.0.0.1" : place.description
        if options.explain { Runner.explainOnly(.vnc(name, place: shown)) }
        signal(SIGPIPE, SIG_IGN)
        let socket = UploadSocket.path(uploadSocket, options)
        let name = name
        let display: VmOpenGraphicsReply
        let forwarder: DisplayForwarder
        do {
            // Asked once first, so a machine without a display, or a refusal, is reported at once.
            let probe: Descriptor
            (display, probe) = try DescriptorPassing.openGraphics(name, socketPath: socket)
            probe.close()
            forwarder = try DisplayForwarder(place)
        } catch {
            Runner.fail(error)
        }
        // Unbuffered, so that a script reading hv's output sees where to connect at once.
        FileHandle.standardOutput.write(Data((Self.instructions(name, type: display.type, place: forwarder.place) + "\n").utf8))
        forwarder.serve(
            open: { () throws(HVError) in try DescriptorPassing.openGraphics(name, socketPath: socket).1 },
            report: { Runner.printError("hv: \($0)\n") }
        )
    }

    static func instructions(_ name: String, type: String, place: DisplayForwarder.Place) -> String {
        let user = getpwuid(getuid()).map { String(cString: $0.pointee.pw_name) } ?? "USER"
        let host = ProcessInfo.processInfo.hostName
        let viewer = type == "spice" ? "a SPICE viewer (remote-viewer)" : "a VNC viewer"
        switch place {
        case .unix(let path):
            return """
                serving the \(type) display of \(name) on \(path), for your user only; Ctrl-C stops
                here:         point \(viewer) at the socket \(path)
                from a laptop: ssh -L 5900:\(path) \(user)@\(host)    then connect to localhost:5900
                """
        case .loopback(let port):
            return """
                serving the \(type) display of \(name) on 127.0.0.1:\(port), for your user only; Ctrl-C stops
                here:         point \(viewer) at 127.0.0.1:\(port)
                from a laptop: ssh -L 5900:127.0.0.1:\(port) \(user)@\(host)    then connect to localhost:5900
                """
        }
    }
}

extension VmCommand {
    struct Screenshot: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Save what a running machine's screen shows as a PNG file.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The machine's name.") var name: String
        @Option(name: [.short, .long], help: "The PNG file to write; - for standard output.") var output: String

        func run() throws {
            let output = output
            try Runner.run(options, explain: .screenshot(name, file: output)) { client throws(HVError) in
                let shot = try client.screenshot(name)
                if output == "-" {
                    FileHandle.standardOutput.write(shot.png)
                    return
                }
                do {
                    try shot.png.write(to: URL(fileURLWithPath: output))
                } catch {
                    throw HVError(
                        .failed, "cannot write \(output): \(error.localizedDescription)", fix: "choose a file you can write"
                    )
                }
                if options.json {
                    return Runner.printJSON(["file": output, "width": "\(shot.width)", "height": "\(shot.height)"])
                }
                print("wrote \(output) (\(shot.width)x\(shot.height) PNG)")
            }
        }
    }
}
