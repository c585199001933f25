import CHVShims
import Glibc

/// The `posix_spawn` call behind `ChildProcess`: the only place the project creates a process
/// that runs a program.
enum Spawn {
    struct Started {
        var pid: pid_t
        var standardOutput: Descriptor?
        var standardError: Descriptor?
    }

    static func start(_ command: Command) throws(SystemError) -> Started {
        let executable = command.executable
        guard executable.hasPrefix("/") else {
            throw SystemError("run '\(executable)', which is not an absolute path", code: EINVAL)
        }
        var actions = FileActions()
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }

        // Descriptors this process holds only until the child has its copies.
        var held: [Descriptor] = []
        defer { held.forEach { $0.close() } }
        switch command.standardInput {
        case .null: actions.open(0, "/dev/null", O_RDONLY)
        case .file(let path): actions.open(0, path, O_RDONLY)
        case .bytes(let bytes):
            let input = try inputFile(bytes)
            held.append(input)
            actions.duplicate(input.raw, as: 0)
        }
        var captured: [Descriptor?] = [nil, nil]
        for (target, output) in [(Int32(1), command.standardOutput), (2, command.standardError)] {
            switch output {
            case .discard: actions.open(target, "/dev/null", O_WRONLY)
            case .inherit: break
            case .file(let path, let mode): actions.open(target, path, O_WRONLY | O_CREAT | O_APPEND, mode)
            case .standardOutput:
                guard target == 2 else { throw SystemError("send standard output to itself", code: EINVAL) }
                actions.duplicate(1, as: 2)
            case .capture:
                let pipe = try Descriptor.pipe()
                held.append(pipe.write)
                captured[Int(target) - 1] = pipe.read
                actions.duplicate(pipe.write.raw, as: target)
            }
        }
        // Whatever else this process has open (sockets, images, another thread's pipes) stays here.
        actions.closeFrom(3)

        var defaults = sigset_t()
        var mask = sigset_t()
        sigfillset(&defaults)
        sigemptyset(&mask)
        var failure = posix_spawnattr_setsigdefault(&attributes, &defaults)
        if failure == 0 { failure = posix_spawnattr_setsigmask(&attributes, &mask) }
        var flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK
        if command.ownProcessGroup {
            if failure == 0 { failure = posix_spawnattr_setpgroup(&attributes, 0) }
            flags |= POSIX_SPAWN_SETPGROUP
        }
        if failure == 0 { failure = posix_spawnattr_setflags(&attributes, Int16(flags)) }
        if failure == 0 { failure = actions.failure }
        guard failure == 0 else { throw SystemError("prepare to run \(executable)", code: failure) }

        let argv = ([executable] + command.arguments).map { strdup($0) } + [nil]
        let envp = command.environment.map { strdup($0) } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, actions.actions, &attributes, argv, envp)
        guard spawned == 0 else { throw SystemError("run \(executable)", code: spawned) }
        return Started(pid: pid, standardOutput: captured[0], standardError: captured[1])
    }

    /// An anonymous in-memory file holding `bytes`, read from its start.
    private static func inputFile(_ bytes: [UInt8]) throws(SystemError) -> Descriptor {
        let file = Descriptor(try systemCall("create a file for standard input") { hv_memfd_cloexec("stdin") }, name: "standard input")
        try file.writeAll(bytes)
        try systemCall("rewind standard input") { lseek(file.raw, 0, SEEK_SET) }
        return file
    }
}

/// posix_spawn file actions, destroyed with the value; the first failure is kept.
private struct FileActions: ~Copyable {
    let actions = UnsafeMutablePointer<posix_spawn_file_actions_t>.allocate(capacity: 1)
    private(set) var failure: Int32 = 0

    init() {
        posix_spawn_file_actions_init(actions)
    }

    deinit {
        posix_spawn_file_actions_destroy(actions)
        actions.deallocate()
    }

    mutating func open(_ target: Int32, _ path: String, _ flags: Int32, _ mode: mode_t = 0) {
        record(posix_spawn_file_actions_addopen(actions, target, path, flags, mode))
    }

    mutating func duplicate(_ source: Int32, as target: Int32) {
        record(posix_spawn_file_actions_adddup2(actions, source, target))
    }

    mutating func closeFrom(_ lowest: Int32) {
        record(hv_spawn_close_from(actions, lowest))
    }

    private mutating func record(_ result: Int32) {
        if failure == 0 { failure = result }
    }
}
