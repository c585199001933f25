import NIOCore

/// Runs a connection's tasks on the event loop that reads and writes its socket.
///
/// A request is then read, answered and written by one thread: its message reaches the task
/// without waking a thread of Swift's pool, and its reply reaches the socket without waking the
/// event loop's. Only the blocking work a request waits for (libvirt, polkit, files) runs on other
/// threads, on their bounded pools, and resumes here.
final class EventLoopExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        eventLoop.execute { job.runSynchronously(on: executor) }
    }
}

/// The executor of the connection a task serves, for the tasks it starts that are not its children
/// (see `MessageHandler.answerUncancelled`): those do not inherit a task executor preference.
enum ConnectionExecutor {
    @TaskLocal static var current: (any TaskExecutor)?
}
