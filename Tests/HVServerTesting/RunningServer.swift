import Foundation
import HVServer
import HVTestSupport
import Logging
import ServiceLifecycle

/// Runs a server in this process until `body` is done with it, and returns what `body` returns.
///
/// `body` starts once the server says it is listening (its `onListening`), never by polling for
/// the socket file; afterwards the server is shut down gracefully and awaited, also when `body`
/// throws. A server that stops before it listens fails the call with its own error.
///
/// - Parameters:
///   - socket: the path the server listens on; handed to `body`.
///   - makeServer: builds the server, given the closure it must call once it listens.
public func withRunningServer<Server: Service, Value: Sendable>(
    socket: String, _ makeServer: (_ onListening: @escaping @Sendable () async -> Void) -> Server,
    _ body: (String) async throws -> Value
) async throws -> Value {
    let (listening, signal) = AsyncStream.makeStream(of: Void.self)
    let server = makeServer {
        signal.yield()
        signal.finish()
    }
    let group = ServiceGroup(services: [server], logger: Logger(label: "test"))
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask {
            defer { signal.finish() }
            try await group.run()
        }
        guard await listening.first(where: { _ in true }) != nil else {
            try await tasks.waitForAll()
            throw SetupError("the server stopped before it listened on \(socket)")
        }
        let outcome: Result<Value, any Error>
        do {
            outcome = .success(try await body(socket))
        } catch {
            outcome = .failure(error)
        }
        await group.triggerGracefulShutdown()
        try await tasks.waitForAll()
        return try outcome.get()
    }
}

/// Runs the real `VarlinkServer` with `handler` on a socket in a fresh private directory until
/// `body` is done with it; the directory is removed afterwards.
///
/// - Parameter configure: adjusts the limits (the listener is the socket already).
public func withVarlinkServer<Handler: MessageHandler, Value: Sendable>(
    _ handler: Handler, name: String = "test", configure: (inout ServerConfiguration) -> Void = { _ in },
    _ body: (String) async throws -> Value
) async throws -> Value {
    try await withPrivateSocket(ServerConfiguration.init(listener:), configure, body) {
        VarlinkServer(name: name, configuration: $0, handler: handler, logger: Logger(label: "test"), onListening: $1)
    }
}

/// Runs the real `DescriptorServer` (the upload socket's) with `handler` on a socket in a fresh
/// private directory until `body` is done with it; the directory is removed afterwards.
public func withDescriptorServer<Handler: DescriptorHandler, Value: Sendable>(
    _ handler: Handler, name: String = "upload", configure: (inout DescriptorServerConfiguration) -> Void = { _ in },
    _ body: (String) async throws -> Value
) async throws -> Value {
    try await withPrivateSocket(DescriptorServerConfiguration.init(listener:), configure, body) {
        DescriptorServer(name: name, configuration: $0, handler: handler, logger: Logger(label: "test"), onListening: $1)
    }
}

/// `withRunningServer` on a socket in a fresh private directory, removed afterwards: the server is
/// made from a configuration that listens there, as `configure` leaves it.
private func withPrivateSocket<Configuration, Server: Service, Value: Sendable>(
    _ listening: (ServerConfiguration.Listener) -> Configuration, _ configure: (inout Configuration) -> Void,
    _ body: (String) async throws -> Value,
    makeServer: (Configuration, _ onListening: @escaping @Sendable () async -> Void) -> Server
) async throws -> Value {
    let directory = try TemporaryDirectory("hv-server")
    defer { directory.remove() }
    let socket = directory.file("server.sock")
    var configuration = listening(.path(socket))
    configure(&configuration)
    return try await withRunningServer(socket: socket, { makeServer(configuration, $0) }, body)
}

/// Runs blocking client code on a thread of its own, so it never holds one of the few cooperative
/// threads the server in the same process needs to answer it.
public func onThread<Value: Sendable>(_ body: @escaping @Sendable () throws -> Value) async throws -> Value {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            continuation.resume(with: Result { try body() })
        }
    }
}
