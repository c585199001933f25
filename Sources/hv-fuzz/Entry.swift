#if HV_FUZZ
import Foundation

// Built with `-sanitize=fuzzer` (scripts/fuzz.sh), libFuzzer supplies `main` and calls these.

private let target: FuzzTarget = {
    guard let chosen = FuzzTarget.chosen else {
        FileHandle.standardError.write(Data("hv-fuzz: \(FuzzTarget.usage)\n".utf8))
        exit(2)
    }
    return chosen
}()

@_cdecl("LLVMFuzzerInitialize")
func fuzzerInitialize(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> Int32 {
    _ = target
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    target.run(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
    return 0
}
#else
import Foundation

/// Without libFuzzer (a plain `swift build`): runs the files and directories given, a corpus for
/// example, through the target `HV_FUZZ_TARGET` names, so a crash found by the fuzzer can be
/// replayed in the debugger.
@main
enum Replay {
    static func main() {
        guard let target = FuzzTarget.chosen else { fail(FuzzTarget.usage) }
        let arguments = CommandLine.arguments.dropFirst()
        guard !arguments.isEmpty else { fail("give the files or directories of inputs to replay") }
        var count = 0
        for path in arguments {
            for file in files(at: path) {
                guard let input = FileManager.default.contents(atPath: file) else { fail("cannot read \(file)") }
                target.run(Array(input))
                count += 1
            }
        }
        print("hv-fuzz: \(target.rawValue): \(count) inputs replayed, none crashed")
    }

    private static func files(at path: String) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { fail("\(path) does not exist") }
        guard isDirectory.boolValue else { return [path] }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.sorted().map { "\(path)/\($0)" }
    }

    private static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("hv-fuzz: \(message)\n".utf8))
        exit(2)
    }
}
#endif
