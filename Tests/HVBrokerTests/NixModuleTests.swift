import Foundation
import HVTestSupport
import Testing

/// `nix/module.nix` evaluated with nixpkgs' module system (`lib.evalModules`, from
/// `../shared/nixpkgs-lib.tar.gz`) and Debian's `nix-instantiate`: its options and types, and the
/// units it makes compared with `systemd/` in what matters (command lines, sandboxing, sockets).
///
/// One evaluation at a time: each waits for `nix-instantiate` on a thread of Swift's cooperative
/// pool, which has one thread per core, and ten side by side held every thread for half a minute,
/// so another suite's task (`WorkPoolTests`) could not start within its ten seconds.
@Suite(
    .serialized,
    .enabled(if: NixEvaluation.nixInstantiate != nil, "nix-instantiate is not installed (Debian's nix-bin; scripts/install-deps.sh installs it)"),
    .enabled(if: FileManager.default.fileExists(atPath: NixEvaluation.tarball), "../shared/nixpkgs-lib.tar.gz (nixpkgs' lib) is absent")
)
struct NixModuleTests {
    static let store = "/nix/store/00000000000000000000000000000000-"
    static let package = store + "hyper-nixos"
    static let enabled = """
        {
          services.hypernixos.enable = true;
          services.hypernixos.monitor.enable = true;
          services.hypernixos.package = { type = "derivation"; name = "hyper-nixos"; outPath = "\(package)"; };
        }
        """

    @Test func optionsHaveTheirTypesAndDefaults() throws {
        let options = try NixEvaluation.evaluate(Self.enabled)["options"] as? [String: Any] ?? [:]
        func option(_ path: String) -> [String: Any] {
            path.split(separator: ".").reduce(options as Any?) { ($0 as? [String: Any])?[String($1)] } as? [String: Any] ?? [:]
        }
        #expect(option("enable")["type"] as? String == "bool")
        #expect(option("libvirtUri")["type"] as? String == "str")
        #expect(option("libvirtUri")["default"] as? String == "qemu:///system")
        #expect(option("idleExitSeconds")["type"] as? String == "unsignedInt")
        #expect(option("idleExitSeconds")["default"] as? Int == 300)
        #expect(option("autostartGroupDelay")["description"] as? String == "integer between 0 and 600 (both inclusive)")
        #expect(option("package")["type"] as? String == "package")
        #expect(option("monitor.metricsTokenFile")["default"] as? String == "/etc/hypervisor/metrics.token")
        #expect(option("audit.segmentSize")["default"] as? String == "64MiB")
        #expect(option("audit.segmentAge")["default"] as? String == "7d")
        #expect(option("audit.keepSegments")["type"] as? String == "unsignedInt")
        #expect(option("audit.compression")["default"] as? String == "gzip")
        for (tool, path) in [
            ("qemu-img", "qemu-utils/bin/qemu-img"), ("qemu-nbd", "qemu-utils/bin/qemu-nbd"), ("prlimit", "util-linux-bin/bin/prlimit"),
            ("gpgv", "gnupg/bin/gpgv"), ("xorriso", "xorriso/bin/xorriso"), ("env", "coreutils/bin/env"),
        ] {
            #expect(option("tools.\(tool)")["type"] as? String == "strMatching \"/.+\"", "\(tool)")
            #expect(option("tools.\(tool)")["default"] as? String == Self.store + path, "\(tool): a store path, not a search")
        }
    }

    @Test func theBrokerUnitMatchesTheShippedOneAndGetsItsPrograms() throws {
        let evaluated = try NixEvaluation.evaluate(Self.enabled)
        let module = try Self.unit(evaluated, "services", "hv-broker")
        let shipped = try UnitFile(path: NixEvaluation.root + "/systemd/hv-broker.service")

        let command = try Self.command(module)
        #expect(command.arguments == shipped.arguments("ExecStart"), "the shipped unit's command line, with the package's path")
        #expect(command.tools == [
            "env=\(Self.store)coreutils/bin/env", "gpgv=\(Self.store)gnupg/bin/gpgv", "prlimit=\(Self.store)util-linux-bin/bin/prlimit",
            "qemu-img=\(Self.store)qemu-utils/bin/qemu-img", "qemu-nbd=\(Self.store)qemu-utils/bin/qemu-nbd",
            "xorriso=\(Self.store)xorriso/bin/xorriso",
        ])
        Self.expectSameSettings(module["Service"], shipped.sections["Service"], except: ["ExecStart"], unit: "hv-broker.service")
        Self.expectSameDependencies(module, shipped, unit: "hv-broker.service")
        #expect(module["Install"]?.isEmpty ?? true, "socket-activated: nothing wants the service itself")
        #expect(evaluated["failedAssertions"] as? [String] == [])
    }

    @Test func theSocketsMatchTheShippedOnes() throws {
        let module = try Self.unit(try NixEvaluation.evaluate(Self.enabled), "sockets", "hv-broker")
        let shipped = try UnitFile(path: NixEvaluation.root + "/systemd/hv-broker.socket")
        #expect(module["Socket"]?["ListenStream"] == ["/run/hypervisor/broker.sock", "/run/hypervisor/upload.sock"])
        #expect(module["Socket"]?["SocketMode"] == ["0666"])
        Self.expectSameSettings(module["Socket"], shipped.sections["Socket"], except: [], unit: "hv-broker.socket")
        Self.expectSameSettings(module["Install"], shipped.sections["Install"], except: [], unit: "hv-broker.socket")
    }

    @Test(arguments: [("hv-monitor", "hv-monitor.service"), ("hypernixos-autostart", "hypernixos-autostart.service")])
    func theOtherUnitsMatchTheShippedOnes(service: String, file: String) throws {
        let module = try Self.unit(try NixEvaluation.evaluate(Self.enabled), "services", service)
        let shipped = try UnitFile(path: NixEvaluation.root + "/systemd/" + file)
        #expect(try Self.command(module).arguments == shipped.arguments("ExecStart"), "\(file)")
        Self.expectSameSettings(module["Service"], shipped.sections["Service"], except: ["ExecStart"], unit: file)
        Self.expectSameDependencies(module, shipped, unit: file)
        Self.expectSameSettings(module["Install"], shipped.sections["Install"], except: [], unit: file)
    }

    @Test func settingsReachTheCommandLine() throws {
        let evaluated = try NixEvaluation.evaluate(
            """
            {
              services.hypernixos.enable = true;
              services.hypernixos.libvirtUri = "qemu:///session";
              services.hypernixos.idleExitSeconds = 0;
              services.hypernixos.tools.qemu-img = "/opt/qemu/bin/qemu-img";
              services.hypernixos.audit = { segmentSize = "16MiB"; segmentAge = "1d"; keepSegments = 52; compression = "none"; readFlushDelay = "0s"; };
            }
            """
        )
        let command = try Self.command(try Self.unit(evaluated, "services", "hv-broker"))
        #expect(Array(command.arguments.dropFirst()) == [
            "--libvirt-uri", "qemu:///session", "--idle-exit", "0", "--audit-segment-size", "16MiB", "--audit-segment-age", "1d",
            "--audit-keep-segments", "52", "--audit-compression", "none", "--audit-read-flush-delay", "0s",
        ])
        #expect(command.tools.contains("qemu-img=/opt/qemu/bin/qemu-img"))
        #expect((evaluated["etc"] as? [String: String])?["hypernixos/policy.yaml"] != nil, "the broker's policy file")
        #expect((evaluated["etc"] as? [String: String])?["hypernixos/backup.yaml"] != nil, "the backup repositories")
    }

    /// A repository outside the state directory is writable for the broker; the default one is inside it.
    @Test func backupRepositoriesOutsideTheStateDirectoryBecomeWritable() throws {
        let evaluated = try NixEvaluation.evaluate(
            """
            {
              services.hypernixos.enable = true;
              services.hypernixos.backup.repositories = { local.path = "/var/lib/hypervisor/backups"; nas.path = "/mnt/nas/hv"; };
            }
            """
        )
        let paths = try Self.unit(evaluated, "services", "hv-broker")["Service"]?["ReadWritePaths"]
        #expect(paths == ["/var/lib/hypervisor /var/log/hypervisor /mnt/nas/hv"] || paths == ["/var/lib/hypervisor", "/var/log/hypervisor", "/mnt/nas/hv"])
    }

    /// A backup job becomes a persistent timer and the oneshot it starts (the shipped template
    /// unit's, for that job), and is written to backup.yaml with only the keys it sets.
    @Test func aBackupJobGetsItsTimerAndService() throws {
        let evaluated = try NixEvaluation.evaluate(
            """
            {
              services.hypernixos.enable = true;
              services.hypernixos.package = { type = "derivation"; name = "hyper-nixos"; outPath = "\(Self.package)"; };
              services.hypernixos.backup.jobs.nightly = {
                repository = "local";
                machines.tags = [ "prod" ];
                schedule = "*-*-* 02:00";
                retention = { keep_last = 3; keep_daily = 7; };
                verify = "weekly";
                boot_test = "monthly";
                boot_test_timeout = 600;
              };
            }
            """
        )
        let timer = try Self.unit(evaluated, "timers", "hypernixos-backup@nightly")
        #expect(timer["Timer"] == ["OnCalendar": ["*-*-* 02:00"], "Persistent": ["true"]])
        #expect(timer["Install"]?["WantedBy"] == ["timers.target"])

        let service = try Self.unit(evaluated, "services", "hypernixos-backup@nightly")
        let shipped = try UnitFile(path: NixEvaluation.root + "/systemd/hypernixos-backup@.service")
        #expect(try Self.command(service).arguments == shipped.arguments("ExecStart").map { $0 == "%i" ? "nightly" : $0 })
        Self.expectSameSettings(service["Service"], shipped.sections["Service"], except: ["ExecStart"], unit: "hypernixos-backup@.service")
        Self.expectSameDependencies(service, shipped, unit: "hypernixos-backup@.service")

        let file = try #require((evaluated["etc"] as? [String: String])?["hypernixos/backup.yaml"])
        let json = try #require(file.split(separator: "#", maxSplits: 1).last)
        let written = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let job = try #require((written["jobs"] as? [String: Any])?["nightly"] as? [String: Any])
        #expect(job["machines"] as? [String: [String]] == ["tags": ["prod"]], "names and all left out")
        #expect(job["retention"] as? [String: Int] == ["keep_last": 3, "keep_daily": 7])
        #expect(job["verify"] as? String == "weekly" && job["repository"] as? String == "local")
        #expect(job["boot_test"] as? String == "monthly" && job["boot_test_timeout"] as? Int == 600)
        #expect(job["boot_test_marker"] == nil, "a marker not set is left out")
        #expect((written["repositories"] as? [String: Any])?["local"] != nil)
        #expect((try NixEvaluation.evaluate(Self.enabled)["timers"] as? [String: Any])?.isEmpty == true, "no job, no timer")
    }

    /// Each remote of the backup configuration gets a copy service and a timer that match the
    /// shipped templates (`hypernixos-backup-sync@.service` and `.timer`), at the schedule set.
    @Test func eachBackupRemoteGetsACopyServiceAndTimerLikeTheShippedTemplates() throws {
        let evaluated = try NixEvaluation.evaluate(
            """
            {
              services.hypernixos.enable = true;
              services.hypernixos.package = { type = "derivation"; name = "hyper-nixos"; outPath = "\(Self.package)"; };
              services.hypernixos.backupSyncSchedule = "*-*-* 03:30";
              services.hypernixos.backup = {
                repositories.local.path = "/var/lib/hypervisor/backups";
                remotes.offsite = {
                  repository = "local";
                  sftp = { host = "nas.lan"; user = "hv"; path = "/srv/hv"; identity_file = "/etc/k"; known_hosts_file = "/etc/kh"; };
                };
              };
            }
            """
        )
        let service = try Self.unit(evaluated, "services", "hypernixos-backup-sync-offsite")
        let shipped = try UnitFile(path: NixEvaluation.root + "/systemd/hypernixos-backup-sync@.service")
        let command = try Self.command(service)
        #expect(command.arguments == shipped.arguments("ExecStart").map { $0 == "%i" ? "offsite" : $0 } + ["--rclone", Self.store + "rclone/bin/rclone"])
        Self.expectSameSettings(service["Service"], shipped.sections["Service"], except: ["ExecStart"], unit: "hypernixos-backup-sync@.service")
        Self.expectSameDependencies(service, shipped, unit: "hypernixos-backup-sync@.service")

        let timer = try Self.unit(evaluated, "timers", "hypernixos-backup-sync-offsite")
        let shippedTimer = try UnitFile(path: NixEvaluation.root + "/systemd/hypernixos-backup-sync@.timer")
        #expect(timer["Timer"]?["OnCalendar"] == ["*-*-* 03:30"])
        Self.expectSameSettings(timer["Timer"], shippedTimer.sections["Timer"], except: ["OnCalendar"], unit: "hypernixos-backup-sync@.timer")
        Self.expectSameSettings(timer["Install"], shippedTimer.sections["Install"], except: [], unit: "hypernixos-backup-sync@.timer")
        #expect((evaluated["timers"] as? [String: Any])?.count == 1)
    }

    /// libvirt gets swtpm for machines with `tpm: true`, unless the administrator turns it off.
    @Test func libvirtGetsTheTPMEmulatorUnlessTurnedOff() throws {
        #expect(try NixEvaluation.evaluate(Self.enabled)["swtpm"] as? Bool == true)
        let off = try NixEvaluation.evaluate(
            "{ services.hypernixos.enable = true; virtualisation.libvirtd.qemu.swtpm.enable = false; }"
        )
        #expect(off["swtpm"] as? Bool == false)
        #expect(try NixEvaluation.evaluate("{ }")["swtpm"] as? Bool == false, "nothing without the broker")
    }

    @Test(arguments: [
        ("services.hypernixos.tools.gpgv = \"gpgv\";", "string matching the pattern /.+"),
        ("services.hypernixos.idleExitSeconds = -1;", "unsigned integer"),
        ("services.hypernixos.autostartGroupDelay = 601;", "between 0 and 600"),
        ("services.hypernixos.toolz = { };", "toolz"),
        ("services.hypernixos.audit.compression = \"xz\";", "one of \"gzip\", \"none\""),
        ("services.hypernixos.audit.segmentAge = \"7 days\";", "string matching the pattern"),
        ("services.hypernixos.backup.jobs.n = { repository = \"local\"; schedule = \"daily\"; verify = \"hourly\"; };", "one of \"never\""),
        ("services.hypernixos.backup.jobs.n = { repository = \"local\"; schedule = \"daily\"; retention.keep_last = 0; };", "positive integer"),
        ("services.hypernixos.backup.jobs.n = { repository = \"local\"; schedule = \"daily\"; boot_test = \"hourly\"; };", "one of \"never\""),
        ("services.hypernixos.backup.jobs.n = { repository = \"local\"; schedule = \"daily\"; boot_test_timeout = 5; };", "between 10 and 1800"),
    ])
    func wrongSettingsFailTheEvaluation(setting: String, message: String) throws {
        let error = #expect(throws: NixEvaluation.Failure.self) {
            try NixEvaluation.evaluate("{ services.hypernixos.enable = true; \(setting) }")
        }
        #expect(error?.stderr.contains(message) == true, "\(String(describing: error))")
    }

    // MARK: Comparing

    /// One rendered unit from the evaluation: section → setting → values.
    static func unit(_ evaluated: [String: Any], _ kind: String, _ name: String) throws -> [String: [String: [String]]] {
        let units = evaluated[kind] as? [String: Any]
        return try #require(units?[name] as? [String: Any]).compactMapValues { $0 as? [String: [String]] }
    }

    /// ExecStart's arguments as systemd reads them, with the package's `bin/` as `/usr/bin/`, and
    /// the `--tool` values apart.
    static func command(_ unit: [String: [String: [String]]]) throws -> (arguments: [String], tools: [String]) {
        let line = try #require(unit["Service"]?["ExecStart"]?.first)
        var arguments = try SystemdCommandLine.split(line)
        arguments[0] = arguments[0].replacingOccurrences(of: package + "/bin/", with: "/usr/bin/")
        var tools: [String] = []
        while let index = arguments.firstIndex(of: "--tool"), index + 1 < arguments.count {
            tools.append(arguments[index + 1])
            arguments.removeSubrange(index...(index + 1))
        }
        return (arguments, tools)
    }

    /// Every setting of a section in both, with the same values (booleans as booleans, lists
    /// split at white space).
    static func expectSameSettings(_ module: [String: [String]]?, _ shipped: [String: [String]]?, except: Set<String>, unit: String) {
        let module = (module ?? [:]).filter { !except.contains($0.key) }
        let shipped = (shipped ?? [:]).filter { !except.contains($0.key) }
        #expect(Set(module.keys) == Set(shipped.keys), "\(unit): the same settings")
        for (key, values) in shipped {
            #expect(UnitFile.tokens(module[key] ?? []) == UnitFile.tokens(values), "\(unit): \(key)")
        }
    }

    /// Requires=, Wants= and After= name the same units (the NixOS-only token service aside).
    static func expectSameDependencies(_ module: [String: [String: [String]]], _ shipped: UnitFile, unit: String) {
        for key in ["Requires", "Wants", "After"] {
            let nixos = Set(UnitFile.tokens(module["Unit"]?[key] ?? [])).subtracting(["hv-monitor-token.service"])
            #expect(nixos == Set(UnitFile.tokens(shipped.sections["Unit"]?[key] ?? [])), "\(unit): \(key)")
        }
    }
}

/// `nix-instantiate` over `Tests/Fixtures/nix/evaluate-module.nix`, with nixpkgs' lib unpacked once
/// per run into a temporary directory.
enum NixEvaluation {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    /// Beside the project on every machine, CI's included.
    static let tarball = URL(fileURLWithPath: root + "/../shared/nixpkgs-lib.tar.gz").standardizedFileURL.path

    static let nixInstantiate: String? = {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { $0 + "/nix-instantiate" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    static let lib: Result<String, any Error> = Result {
        let directory = try TemporaryDirectory("hv-nixpkgs-lib")
        let unpacked = try run(["tar", "-xzf", tarball, "-C", directory.path])
        guard unpacked.status == 0 else { throw SetupError("cannot unpack \(tarball): \(unpacked)") }
        return directory.path + "/lib"
    }

    struct Failure: Error, CustomStringConvertible {
        var stderr: String
        var description: String { "nix-instantiate failed: \(stderr)" }
    }

    /// Evaluates the module with `settings` (a Nix attribute set, as in configuration.nix).
    static func evaluate(_ settings: String) throws -> [String: Any] {
        let output = try run([
            try #require(nixInstantiate), "--eval", "--strict", "--json", root + "/Tests/Fixtures/nix/evaluate-module.nix",
            "--arg", "lib", "import \(try lib.get())", "--arg", "module", root + "/nix/module.nix", "--arg", "settings", settings,
        ])
        guard output.status == 0 else { throw Failure(stderr: output.stderr) }
        return try #require(try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any])
    }
}

/// A systemd unit file: section → setting → its values, one per line it is set on.
struct UnitFile {
    var sections: [String: [String: [String]]] = [:]

    init(path: String) throws {
        var section = ""
        for line in try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n") {
            let text = line.trimmingCharacters(in: .whitespaces)
            if text.isEmpty || text.hasPrefix("#") || text.hasPrefix(";") { continue }
            if text.hasPrefix("[") {
                section = String(text.dropFirst().dropLast())
            } else if let equals = text.firstIndex(of: "=") {
                let key = text[..<equals].trimmingCharacters(in: .whitespaces)
                sections[section, default: [:]][key, default: []].append(text[text.index(after: equals)...].trimmingCharacters(in: .whitespaces))
            }
        }
    }

    /// The words of a command-line setting (the shipped units quote nothing).
    func arguments(_ key: String) -> [String] {
        sections["Service"]?[key]?.first?.split(separator: " ").map(String.init) ?? []
    }

    /// Values as words, with systemd's booleans in one spelling.
    static func tokens(_ values: [String]) -> [String] {
        values.flatMap { $0.split(whereSeparator: \.isWhitespace).map(String.init) }.map { word in
            switch word {
            case "yes", "true", "on": "true"
            case "no", "false", "off": "false"
            default: word
            }
        }
    }
}

/// Reads a command line NixOS wrote with `utils.escapeSystemdExecArgs`: each argument a JSON string
/// with `%` and `$` doubled.
enum SystemdCommandLine {
    static func split(_ line: String) throws -> [String] {
        var arguments: [String] = []
        var rest = Substring(line)
        while let start = rest.firstIndex(of: "\"") {
            var index = rest.index(after: start)
            while index < rest.endIndex, rest[index] != "\"" {
                index = rest.index(index, offsetBy: rest[index] == "\\" ? 2 : 1, limitedBy: rest.endIndex) ?? rest.endIndex
            }
            guard index < rest.endIndex else { throw SetupError("unterminated argument in \(line)") }
            let quoted = String(rest[start...index])
            let decoded = try JSONDecoder().decode(String.self, from: Data(quoted.utf8))
            arguments.append(decoded.replacingOccurrences(of: "%%", with: "%").replacingOccurrences(of: "$$", with: "$"))
            rest = rest[rest.index(after: index)...]
        }
        return arguments
    }
}
