import Foundation
import Glibc
import HVImages
import HVProtocol
import HVSystem
import Testing

@Suite struct ProcessRunnerTests {
    let runner = ProcessRunner()

    @Test func capturesOutputAndExitStatus() throws {
        let echo = try runner.run(executable: "/bin/echo", ["a b", "c"])
        #expect(echo.succeeded)
        #expect(echo.stdoutText == "a b c\n")
        let failing = try runner.run(executable: "/bin/ls", ["/nonexistent-\(UUID().uuidString)"])
        #expect(failing.termination == .exited(2))
        #expect(failing.stderrText.contains("No such file or directory"))
        #expect(!failing.succeeded)
    }

    @Test func argumentsAreNeverInterpretedByAShell() throws {
        let output = try runner.run(executable: "/bin/echo", ["$(id)", ";", "`id`", "*"])
        #expect(output.stdoutText == "$(id) ; `id` *\n")
    }

    @Test func environmentIsMinimal() throws {
        let output = try runner.run(executable: "/usr/bin/env", [])
        #expect(output.stdoutText.split(separator: "\n").sorted() == ["LC_ALL=C", "PATH=/usr/bin:/bin"])
    }

    @Test func standardInputIsDevNull() throws {
        let output = try runner.run(executable: "/usr/bin/readlink", ["/proc/self/fd/0"])
        #expect(output.stdoutText == "/dev/null\n")
    }

    @Test func noOtherDescriptorIsInherited() throws {
        // Deliberately without O_CLOEXEC: only the runner's close-from action keeps it out.
        let leaked = open("/etc/hostname", O_RDONLY)
        #expect(leaked >= 0)
        defer { close(leaked) }
        let output = try runner.run(executable: "/bin/ls", ["/proc/self/fd"])
        // 0, 1 and 2, plus the descriptor ls itself opened to read the directory.
        #expect(output.stdoutText.split(separator: "\n").sorted() == ["0", "1", "2", "3"])
    }

    @Test func outputBeyondTheLimitIsDiscardedWithoutBlocking() throws {
        // 2 MiB on stdout, more than a pipe holds: the program must not block on a full pipe.
        let output = try runner.run(
            executable: "/usr/bin/dd", ["if=/dev/zero", "bs=1M", "count=2"], outputLimit: 4096
        )
        #expect(output.succeeded)
        #expect(output.stdout.count == 4096)
        #expect(output.stdoutTruncated)
        #expect(output.stderrText.contains("2097152 bytes"))
        #expect(!output.stderrTruncated)
    }

    @Test func aProgramPastItsTimeLimitIsKilled() throws {
        let error = #expect(throws: ImageError.self) {
            try runner.run(executable: "/bin/sleep", ["30"], timeout: .milliseconds(200))
        }
        #expect(error?.code == .toolFailed)
        #expect(error?.reason.contains("did not finish within") == true)
    }

    @Test func aSignalIsReported() throws {
        // perl-base is essential on Debian: a program that kills itself with SIGKILL.
        let output = try runner.run(executable: "/usr/bin/perl", ["-e", "kill 9, $$"])
        #expect(output.termination == .signaled(SIGKILL))
        #expect(!output.succeeded)
    }

    @Test func relativeProgramsAreRefused() throws {
        let error = #expect(throws: ImageError.self) { try runner.run(executable: "ls", []) }
        #expect(error?.code == .invalidParameter)
    }

    @Test func aMissingProgramFailsClearly() throws {
        let error = #expect(throws: ImageError.self) { try runner.run(executable: "/nonexistent/program", []) }
        #expect(error?.code == .toolFailed)
        #expect(error?.reason.contains("/nonexistent/program") == true)
    }

    @Test func aMissingToolNamesItsDebianPackage() throws {
        let directory = try TemporaryDirectory()
        let locator = ToolLocator(directories: [directory.path])
        let error = #expect(throws: ImageError.self) { try locator.locate(.qemuImg) }
        #expect(error?.code == .toolMissing)
        #expect(error?.reason.contains(directory.path) == true)
        #expect(error?.fix?.contains("apt-get install qemu-utils") == true)
        #expect(error?.hvError.code == .failed)
    }

    @Test func toolsAreFoundOnlyWhenExecutable() throws {
        let directory = try TemporaryDirectory()
        let locator = ToolLocator(directories: [directory.path])
        try directory.write("xorriso", Array("not a program".utf8))
        #expect(locator.find(.xorriso) == nil)
        chmod(directory.file("xorriso"), 0o755)
        #expect(locator.find(.xorriso) == directory.file("xorriso"))
        #expect(ToolLocator.standardDirectories.contains("/run/current-system/sw/bin"))
    }
}

@Suite struct ImageErrorTests {
    @Test(arguments: [
        (ImageError.Code.checksumMismatch, HVError.Code.invalidParameter),
        (.unsafeImage, .invalidParameter),
        (.signatureRejected, .invalidParameter),
        (.invalidParameter, .invalidParameter),
        (.notFound, .notFound),
        (.alreadyExists, .alreadyExists),
        (.tooLarge, .quotaExceeded),
        (.notConfigured, .invalidState),
        (.toolMissing, .failed),
        (.toolFailed, .failed),
        (.fileChanged, .failed),
        (.ioFailed, .failed),
    ])
    func convertsToTheWireError(code: ImageError.Code, wire: HVError.Code) {
        let error = ImageError(code, "reason", fix: "fix", parameter: "sha256").hvError
        #expect(error.code == wire)
        #expect(error.reason == "reason")
        #expect(error.fix == "fix")
        #expect(error.details["parameter"] == "sha256")
    }
}
