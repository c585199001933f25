import Foundation
import Testing

/// Every call in `Sources/` that creates a process is listed here, once, with what it starts and
/// why that is safe, and `docs/ARCHITECTURE.md` ("Processes the broker starts") names the same
/// call sites. There are three: the one spawner every program goes through, the KVM probe's
/// fork, and libnbd starting qemu-nbd for a stopped machine's backup. A new spawn anywhere in the shipped code fails these tests until it is listed and
/// documented; a listed one that is gone fails them too.
@Suite struct ProcessSpawnInventoryTests {
    /// One call site that creates a process.
    struct Spawn: Sendable, CustomStringConvertible {
        /// The file, relative to the repository.
        let file: String
        /// The kind of call, as `SpawnScanner` names it.
        let call: String
        let starts: String
        let safe: String

        var description: String { "\(file): \(call)" }
    }

    /// The only process-creating calls in `Sources/`; a file with two such calls has two entries.
    static let allowed: [Spawn] = [
        Spawn(
            file: "Sources/HVSystem/Spawn.swift", call: "posix_spawn",
            starts: "every program the project runs, through ChildProcess. The broker's, through ProcessRunner: "
                + "prlimit running qemu-img info (ImageProbe) and qemu-img convert (TemplateImport), qemu-img bitmap --remove "
                + "(CheckpointRemoval), gpgv (SignatureVerifier), xorriso or genisoimage (CloudInitSeed), systemd-analyze calendar "
                + "(SystemdCalendar). hv-broker backup-sync's: rclone (HVBackupSync). The benchmark's: virsh, the hv-broker under test, setpriv running sleep",
            safe: "an absolute path and an argument array, no shell; the whole environment given (the broker's: "
                + "PATH=/usr/bin:/bin LC_ALL=C); standard streams as asked (the broker's: stdin /dev/null, output to "
                + "pipes kept up to 1 MiB) and every descriptor from 3 up closed; default signal handling and an empty "
                + "mask; the broker's programs found in fixed system directories, never PATH or a client's path, each "
                + "in its own process group, killed at the time limit"
        ),
        Spawn(
            file: "Sources/CHVShims/kvm_probe.c", call: "fork",
            starts: "a copy of the broker that creates a KVM guest, runs a loop in it and exits; it executes no program",
            safe: "fixed code with no client input; only async-signal-safe calls after fork; killed with its parent "
                + "(PR_SET_PDEATHSIG); a 250 ms budget, and the parent kills it after 2 s"
        ),
        Spawn(
            file: "Sources/HVNBD/NBDClient.swift", call: "libnbd",
            starts: "qemu-nbd --read-only --format=FORMAT --cache=none --shared=1 IMAGE, started by libnbd "
                + "(nbd_connect_systemd_socket_activation) to serve a stopped machine's disk image for a backup",
            safe: "an argument array libnbd hands to exec, no shell; the program's absolute path; the image an absolute "
                + "path from the machine's domain XML (never read as a QEMU protocol) and its format stated; read-only, "
                + "with a shared lock that a machine writing the image conflicts with; it exits when the client closes, "
                + "and libnbd reaps it"
        ),
    ]

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func read(_ relative: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(relative), encoding: .utf8)
    }

    @Test func everyProcessSpawnInSourcesIsListed() throws {
        let found = try SpawnScanner.scan(root: Self.root, directory: "Sources")
        var unlisted = found
        var gone: [Spawn] = []
        for spawn in Self.allowed {
            if let index = unlisted.firstIndex(where: { $0.file == spawn.file && $0.call == spawn.call }) {
                unlisted.remove(at: index)
            } else {
                gone.append(spawn)
            }
        }
        let fix = "add it to ProcessSpawnInventoryTests.allowed and to 'Processes the broker starts' in docs/ARCHITECTURE.md"
        for hit in unlisted {
            Issue.record("\(hit.file):\(hit.line): \(hit.call) starts a process but is not listed; \(fix)")
        }
        for spawn in gone {
            Issue.record("\(spawn) is listed but no longer found; remove it from the list and from docs/ARCHITECTURE.md")
        }
        #expect(!found.isEmpty, "the scan found nothing at all under \(Self.root.path)/Sources")
    }

    /// The call-site column of the table in docs/ARCHITECTURE.md names exactly the listed files.
    @Test func theArchitectureDocumentNamesEveryCallSite() throws {
        let section = try DocumentTable.section("Processes the broker starts", in: Self.read("docs/ARCHITECTURE.md"))
        let documented = DocumentTable.paths(inColumn: "call site", of: section)
        #expect(documented == Set(Self.allowed.map(\.file)), "the table's call sites: \(documented.sorted())")
    }

    /// Every program the broker (and `hv-broker backup-sync`, beside it) knows how to run is named
    /// in that section.
    @Test func theArchitectureDocumentNamesEveryProgram() throws {
        let section = try DocumentTable.section("Processes the broker starts", in: Self.read("docs/ARCHITECTURE.md"))
        let tools = try Self.read("Sources/HVImages/Tool.swift")
        let names = tools.matches(of: /Tool\("([^"]+)"/).map { String($0.output.1) }
        #expect(Set(names) == ["qemu-img", "qemu-nbd", "env", "prlimit", "gpgv", "xorriso", "genisoimage", "rclone", "systemd-analyze"])
        for name in names {
            #expect(section.contains("`\(name)"), "\(name) is not named in 'Processes the broker starts'")
        }
    }

    @Test func everyEntrySaysWhatItStartsAndWhyItIsSafe() {
        for spawn in Self.allowed {
            #expect(!spawn.starts.isEmpty && !spawn.safe.isEmpty, "\(spawn)")
            #expect(SpawnScanner.calls.contains { $0.name == spawn.call }, "\(spawn)")
        }
    }

    /// The scanner finds calls that create processes, and not their helpers, comments or text.
    @Test(arguments: [
        ("posix_spawn(&pid, path, &actions, &attributes, argv, envp)", true, ["posix_spawn"]),
        ("let r = posix_spawnp(&pid, \"sh\", nil, nil, argv, environ)", true, ["posix_spawn"]),
        ("posix_spawn_file_actions_init(&actions); posix_spawnattr_init(&attributes)", true, []),
        ("pid_t pid = fork();", false, ["fork"]),
        ("if (vfork() == 0) execve(path, argv, envp);", false, ["fork", "exec"]),
        ("execvp(argv[0], argv); execl(\"/bin/sh\", \"sh\", NULL);", false, ["exec", "exec"]),
        ("system(\"rm -rf /\"); FILE *f = popen(cmd, \"r\");", false, ["system", "popen"]),
        ("syscall(SYS_clone3, &args, sizeof args); clone(fn, stack, flags, arg);", false, ["clone", "clone"]),
        ("int pidfd; pidfd_spawnp(&pidfd, \"x\", NULL, NULL, argv, envp);", false, ["pidfd_spawn"]),
        ("_ = Glibc.system(command)", true, ["system"]),
        ("let p = Process(); try Foundation.Process.run(url, arguments: [])", true, ["Foundation.Process", "Foundation.Process"]),
        ("let task = Foundation.Process()", true, ["Foundation.Process"]),
        ("import Subprocess\nlet r = try await run(.name(\"ls\"))", true, ["Subprocess", "Subprocess"]),
        ("let child = try ChildProcess.spawn(path, args); let r = ProcessRunner(); ProcessInfo.processInfo", true, []),
        ("let x = style.system(1); func fork(of: Int) {}; clone(source, to: name)", true, []),
        ("// posix_spawn(&pid, …) and fork() in a comment\n/* execv(a, b) */ let a = 1", true, []),
        ("/* outer /* nested fork() */ still a comment: system(x) */", true, []),
        ("let url = \"https://example.org\"; let pid = fork()", true, ["fork"]),
        ("let t = \"\\(a + \"//\")\"; posix_spawn(&p, a, nil, nil, v, e)", true, ["posix_spawn"]),
        ("let s = #\"a \" // \"#; fork()", true, ["fork"]),
        ("char q = '\"'; pid_t p = fork(); // \"", false, ["fork"]),
        ("nbd_connect_systemd_socket_activation(handle, argv); nbd_aio_connect_command(h, a)", true, ["libnbd", "libnbd"]),
        ("nbd_connect_unix(handle, path); nbd_connect_uri(h, u)", true, []),
    ])
    func theScannerFindsSpawningCalls(source: String, swift: Bool, calls: [String]) {
        let hits = SpawnScanner.calls(in: source, swift: swift)
        #expect(hits.map(\.call) == calls, "\(hits)")
    }
}

/// Finds process-creating calls in Swift and C source, ignoring comments.
enum SpawnScanner {
    enum Language {
        case swift, c, both
    }

    struct Call: @unchecked Sendable {
        let name: String
        let pattern: NSRegularExpression
        let language: Language

        init(_ name: String, _ pattern: String, _ language: Language = .both) {
            self.name = name
            self.pattern = try! NSRegularExpression(pattern: pattern)
            self.language = language
        }
    }

    struct Hit: Sendable, CustomStringConvertible {
        let file: String
        let line: Int
        let call: String
        var description: String { "\(file):\(line): \(call)" }
    }

    // posix_spawn_file_actions_* and posix_spawnattr_* only prepare a spawn: the pattern skips
    // them, so the call that creates the process is counted once.
    static let calls: [Call] = [
        Call("posix_spawn", #"\bposix_spawnp?\s*\("#),
        Call("pidfd_spawn", #"\bpidfd_spawnp?\s*\("#),
        Call("fork", #"(?<!\w)v?fork\s*\(\s*\)"#),
        Call("exec", #"\b(?:execv|execve|execvp|execvpe|execl|execle|execlp|fexecve|execveat)\s*\("#),
        Call("system", #"(?<![\w.])system\s*\(|\bGlibc\.system\s*\("#),
        Call("popen", #"\bpopen\s*\("#),
        Call("clone", #"\bSYS_(?:clone3?|v?fork|execve(?:at)?)\b"#),
        // In Swift, clone( is the machines' clone method; Glibc cannot call clone(2) from Swift.
        Call("clone", #"(?<![\w.])clone3?\s*\("#, .c),
        Call("Foundation.Process", #"(?<!\w)Process\s*\(|\bProcess\.(?:run|launchedProcess)\s*\(|\bNSTask\b"#, .swift),
        Call("Subprocess", #"\bimport\s+Subprocess\b|\brun\s*\(\s*\.(?:name|path)\s*\("#, .swift),
        // libnbd forks and executes the server these name (nbd_connect_command, socket activation).
        Call("libnbd", #"\bnbd_(?:aio_)?connect_(?:command|systemd_socket_activation)\s*\("#),
    ]

    static let extensions: Set<String> = ["swift", "c", "h", "cc", "cpp", "m"]

    /// Every hit in the source files under `directory`, relative paths sorted.
    static func scan(root: URL, directory: String) throws -> [Hit] {
        let base = root.appendingPathComponent(directory).path
        guard let files = FileManager.default.enumerator(atPath: base)?.allObjects as? [String] else {
            throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: base])
        }
        var hits: [Hit] = []
        for file in files.sorted() where extensions.contains((file as NSString).pathExtension) {
            let text = try String(contentsOfFile: base + "/" + file, encoding: .utf8)
            hits += calls(in: text, swift: file.hasSuffix(".swift")).map {
                Hit(file: directory + "/" + file, line: $0.line, call: $0.call)
            }
        }
        return hits
    }

    /// The calls in one file's text, in order.
    static func calls(in text: String, swift: Bool) -> [Hit] {
        let code = SourceText.withoutComments(text, swift: swift)
        var hits: [Hit] = []
        for (index, line) in code.components(separatedBy: "\n").enumerated() {
            let range = NSRange(line.startIndex..., in: line)
            var found: [(Int, String)] = []
            for call in calls where call.language == .both || (call.language == .swift) == swift {
                found += call.pattern.matches(in: line, range: range).map { ($0.range.location, call.name) }
            }
            hits += found.sorted { $0.0 < $1.0 }.map { Hit(file: "", line: index + 1, call: $0.1) }
        }
        return hits
    }
}

/// Source text with its comments blanked out.
enum SourceText {
    private enum Context {
        /// Code; `depth` counts open parentheses inside a string interpolation.
        case code(depth: Int)
        case string(triple: Bool, hashes: Int)
        case character
    }

    /// `text` with every comment replaced by spaces, newlines kept so line numbers hold. String
    /// literals are kept, so a `//` inside one is not taken for a comment, and so is the code in
    /// Swift interpolations. Swift block comments nest; C's do not.
    static func withoutComments(_ text: String, swift: Bool) -> String {
        let bytes = Array(text.utf8)
        var out = bytes
        var stack: [Context] = [.code(depth: 0)]
        var index = 0
        func at(_ offset: Int) -> UInt8 { index + offset < bytes.count ? bytes[index + offset] : 0 }
        func blank(_ range: Range<Int>) {
            for position in range where out[position] != UInt8(ascii: "\n") { out[position] = UInt8(ascii: " ") }
        }
        func hashes(from start: Int) -> Int {
            var count = 0
            while start + count < bytes.count, bytes[start + count] == UInt8(ascii: "#") { count += 1 }
            return count
        }
        func isTripleQuote(_ position: Int) -> Bool {
            position + 2 < bytes.count && bytes[position..<position + 3].allSatisfy { $0 == UInt8(ascii: "\"") }
        }
        while index < bytes.count {
            let byte = bytes[index]
            switch stack[stack.count - 1] {
            case .code(let depth):
                if byte == UInt8(ascii: "/"), at(1) == UInt8(ascii: "/") {
                    let end = bytes[index...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
                    blank(index..<end)
                    index = end
                } else if byte == UInt8(ascii: "/"), at(1) == UInt8(ascii: "*") {
                    var level = 0
                    var end = index
                    repeat {
                        if end + 1 < bytes.count, bytes[end] == UInt8(ascii: "/"), bytes[end + 1] == UInt8(ascii: "*"),
                            swift || level == 0
                        {
                            level += 1
                            end += 2
                        } else if end + 1 < bytes.count, bytes[end] == UInt8(ascii: "*"), bytes[end + 1] == UInt8(ascii: "/") {
                            level -= 1
                            end += 2
                        } else {
                            end += 1
                        }
                    } while level > 0 && end < bytes.count
                    blank(index..<min(end, bytes.count))
                    index = end
                } else if swift, byte == UInt8(ascii: "#"), case let count = hashes(from: index),
                    index + count < bytes.count, bytes[index + count] == UInt8(ascii: "\"")
                {
                    let triple = isTripleQuote(index + count)
                    stack.append(.string(triple: triple, hashes: count))
                    index += count + (triple ? 3 : 1)
                } else if byte == UInt8(ascii: "\"") {
                    let triple = swift && isTripleQuote(index)
                    stack.append(.string(triple: triple, hashes: 0))
                    index += triple ? 3 : 1
                } else if !swift, byte == UInt8(ascii: "'") {
                    stack.append(.character)
                    index += 1
                } else if swift, byte == UInt8(ascii: "(") {
                    stack[stack.count - 1] = .code(depth: depth + 1)
                    index += 1
                } else if swift, byte == UInt8(ascii: ")"), depth == 0, stack.count > 1 {
                    // The end of an interpolation: back into its string.
                    stack.removeLast()
                    index += 1
                } else {
                    if swift, byte == UInt8(ascii: ")") { stack[stack.count - 1] = .code(depth: max(0, depth - 1)) }
                    index += 1
                }
            case .string(let triple, let count):
                if byte == UInt8(ascii: "\\"), hashes(from: index + 1) >= count {
                    let after = index + 1 + count
                    if swift, after < bytes.count, bytes[after] == UInt8(ascii: "(") {
                        stack.append(.code(depth: 0))
                        index = after + 1
                    } else {
                        index = after + 1
                    }
                } else if byte == UInt8(ascii: "\""), !triple || isTripleQuote(index),
                    hashes(from: index + (triple ? 3 : 1)) >= count
                {
                    stack.removeLast()
                    index += (triple ? 3 : 1) + count
                } else {
                    // An unterminated single-line string ends with its line.
                    if !triple, byte == UInt8(ascii: "\n") { stack.removeLast() }
                    index += 1
                }
            case .character:
                if byte == UInt8(ascii: "\\") {
                    index += 2
                } else {
                    if byte == UInt8(ascii: "'") || byte == UInt8(ascii: "\n") { stack.removeLast() }
                    index += 1
                }
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Reads a section of a Markdown document and a column of its table.
enum DocumentTable {
    struct MissingSection: Error, CustomStringConvertible {
        let heading: String
        var description: String { "no section '## \(heading)'" }
    }

    /// The text from the level-2 heading `heading` to the next level-2 heading.
    static func section(_ heading: String, in document: String) throws -> String {
        guard let start = document.range(of: "\n## \(heading)\n") else { throw MissingSection(heading: heading) }
        let rest = document[start.upperBound...]
        let end = rest.range(of: "\n## ")?.lowerBound ?? rest.endIndex
        return String(rest[..<end])
    }

    /// The back-quoted `Sources/…` paths in the column headed `column` of every table in `text`.
    static func paths(inColumn column: String, of text: String) -> Set<String> {
        var paths: Set<String> = []
        var columnIndex: Int?
        for line in text.split(separator: "\n") {
            guard line.hasPrefix("|") else {
                columnIndex = nil
                continue
            }
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).dropFirst().dropLast()
                .map { $0.trimmingCharacters(in: .whitespaces) }
            guard let index = columnIndex else {
                columnIndex = cells.firstIndex(of: column)
                continue
            }
            guard index < cells.count else { continue }
            for match in cells[index].matches(of: /`(Sources\/[^`]+)`/) { paths.insert(String(match.output.1)) }
        }
        return paths
    }
}
