import Foundation

/// Runs a program (never through a shell) with a file as its standard input and returns its exit
/// status and output. posix_spawn rather than Foundation.Process, which hangs here with
/// long-lived children.
func run(_ arguments: [String], input: String = "") throws -> (status: Int32, stdout: String, stderr: String) {
    let inputFile = FileManager.default.temporaryDirectory.appendingPathComponent("input-\(UUID().uuidString)")
    try input.write(to: inputFile, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(at: inputFile) }

    var outPipe: [Int32] = [0, 0]
    var errPipe: [Int32] = [0, 0]
    guard pipe(&outPipe) == 0, pipe(&errPipe) == 0 else { throw SpawnError(reason: "pipe failed") }
    for descriptor in outPipe + errPipe { _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, inputFile.path, O_RDONLY, 0)
    posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
    posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)

    let argv = ["/usr/bin/env"] + arguments
    let cArguments = argv.map { strdup($0) } + [nil]
    let cEnvironment = ProcessInfo.processInfo.environment.map { strdup("\($0)=\($1)") } + [nil]
    defer {
        cArguments.forEach { free($0) }
        cEnvironment.forEach { free($0) }
    }
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, argv[0], &actions, nil, cArguments, cEnvironment)
    close(outPipe[1])
    close(errPipe[1])
    guard spawned == 0 else {
        close(outPipe[0])
        close(errPipe[0])
        throw SpawnError(reason: "cannot run \(arguments[0]): \(String(cString: strerror(spawned)))")
    }
    // Read both pipes on their own threads so a chatty child can't block on a full pipe.
    let group = DispatchGroup()
    let outData = Collected()
    let errData = Collected()
    for (descriptor, sink) in [(outPipe[0], outData), (errPipe[0], errData)] {
        DispatchQueue.global().async(group: group) {
            sink.set(FileHandle(fileDescriptor: descriptor, closeOnDealloc: true).readDataToEndOfFile())
        }
    }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    group.wait()
    let exitStatus: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    return (exitStatus, String(decoding: outData.get(), as: UTF8.self), String(decoding: errData.get(), as: UTF8.self))
}

struct SpawnError: Error {
    var reason: String
}

final class Collected: @unchecked Sendable {
    private var data = Data()
    private let lock = NSLock()
    func get() -> Data { lock.withLock { data } }
    func set(_ newValue: Data) { lock.withLock { data = newValue } }
}
