// swift-tools-version: 6.0
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

/// How the long-running programs (hv-broker, hv-monitor) are linked on Linux, with GNU ld:
/// - relative relocations packed (DT_RELR): their table shrinks from 3.4 MiB to 28 KiB, and it is
///   read whole at every start. ld packs them only when the C library supports it (glibc 2.36 and
///   later) and links as before otherwise, so the program still runs where it was built;
/// - the program's own symbols not exported: Swift's static standard library asks for
///   `-export-dynamic`, which put 51,000 symbols in the dynamic symbol table; nothing looks them
///   up, and each start read the table with the relocations.
/// Together 3 to 6 MiB less resident memory (docs/BENCHMARKS.md, "Linking: relative relocations
/// packed, the programs' symbols not exported").
let serviceLinkerSettings: [LinkerSetting] = [
    .unsafeFlags(
        ["-use-ld=bfd", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs", "-Xlinker", "--no-export-dynamic"],
        .when(platforms: [.linux])
    )
]

let package = Package(
    name: "hyper-nixos",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "hv", targets: ["hv"]),
        .executable(name: "hv-broker", targets: ["hv-broker"]),
        .executable(name: "hv-bench", targets: ["hv-bench"]),
        .executable(name: "hv-monitor", targets: ["hv-monitor"]),
        .executable(name: "hv-fuzz", targets: ["hv-fuzz"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/CoreOffice/XMLCoder.git", from: "0.18.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
    ],
    targets: [
        // C libraries, imported as they are.
        .systemLibrary(name: "CLibvirt", pkgConfig: "libvirt", providers: [.apt(["libvirt-dev"])]),
        .systemLibrary(name: "CPolkit", pkgConfig: "polkit-gobject-1", providers: [.apt(["libpolkit-gobject-1-dev"])]),
        .systemLibrary(name: "CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
        // libnbd, the NBD client disks are read through for backups.
        .systemLibrary(name: "CLibnbd", pkgConfig: "libnbd", providers: [.apt(["libnbd-dev"])]),
        // zlib, for gzip-compressed sealed audit segments.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // The few things Swift can't call directly: SO_PEERCRED's struct ucred and the KVM ioctls.
        .target(name: "CHVShims"),
        // sendmsg/recvmsg with SCM_RIGHTS (the CMSG_* macros) and accept4, for passing open files.
        .target(name: "CHVFDPassing"),

        // Owned file descriptors, system calls that retry on EINTR, and the one way programs are started.
        .target(name: "HVSystem", dependencies: ["CHVShims"], swiftSettings: swiftSettings),

        // Shared, unprivileged: the Varlink codec, the API types and spec validation.
        .target(name: "HVProtocol", swiftSettings: swiftSettings),
        // The one YAML reader: specs, the host policy, the monitor's and alerting's configuration.
        .target(name: "HVYAML", dependencies: [.product(name: "Yams", package: "Yams")], swiftSettings: swiftSettings),
        // Spec files: YAML or JSON in, canonical YAML out.
        .target(
            name: "HVSpec",
            dependencies: ["HVProtocol", "HVYAML", .product(name: "Yams", package: "Yams")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "HVDomainXML",
            dependencies: ["HVProtocol", .product(name: "XMLCoder", package: "XMLCoder")],
            swiftSettings: swiftSettings
        ),
        .target(name: "HVLibvirt", dependencies: ["CLibvirt"], swiftSettings: swiftSettings),
        // A thin typed wrapper over libnbd: connections, block status, reads.
        .target(name: "HVNBD", dependencies: ["CLibnbd"], swiftSettings: swiftSettings),
        // Reading a machine's disks for a backup: a pull-mode backup job of a running machine, or
        // qemu-nbd for a stopped one's images, chunk by chunk, fed to the repository's writer on a
        // thread of its own.
        .target(
            name: "HVBackup",
            dependencies: ["HVLibvirt", "HVNBD", "HVDomainXML", "HVImages", "HVProtocol", "HVBackupStore"],
            swiftSettings: swiftSettings
        ),
        // Bounded pools of threads for blocking work, shared fairly among callers (per-uid queues
        // served in turn), with progress and cancellation for long jobs.
        .target(
            name: "HVWork",
            dependencies: ["HVProtocol", .product(name: "NIOPosix", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        // polkit: the authority over D-Bus, and the checker that asks it on a pool of its own.
        .target(
            name: "HVPolkit",
            dependencies: ["CPolkit", "CSystemd", "HVWork", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "HVAudit",
            dependencies: ["HVProtocol", "CSystemd", "CZlib", "HVSystem", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "HVBroker",
            dependencies: [
                "HVProtocol", "HVDomainXML", "HVLibvirt", "HVAudit", "HVServer", "HVPolkit", "HVImages", "HVSpec", "HVYAML",
                "HVSystem", "HVWork", "HVBackup", "HVBackupStore", "HVBackupSync", "CHVShims", "CSystemd",
                .product(name: "Yams", package: "Yams"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The broker's handling of image files: safe process runs, image probing, the ISO library
        // and cloud-init seeds.
        .target(
            name: "HVImages",
            dependencies: [
                "HVProtocol", "HVSystem", "CZlib",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        // Backup repositories: content-addressed chunks, an index per disk and a manifest per
        // backup, optional encryption, retention, garbage collection and verification.
        .target(
            name: "HVBackupStore",
            dependencies: ["HVProtocol", "HVSystem", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        // Off-host copies of a backup repository through rclone: to an SFTP server or any remote
        // rclone reaches, chunks first and manifests last. Run by `hv-broker backup-sync`, beside
        // the broker, which has no network.
        .target(
            name: "HVBackupSync",
            dependencies: ["HVProtocol", "HVSystem", "HVImages", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        // What `hv` prints: tables, charts, progress bars, `--explain`, guest output made safe for a
        // terminal, and the bulk runner's summary. Neither daemon links it.
        .target(name: "HVPresentation", dependencies: ["HVProtocol"], swiftSettings: swiftSettings),
        .target(
            name: "HVClient",
            dependencies: [
                "HVProtocol", "HVSystem", "CHVFDPassing",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // A Varlink server on a Unix socket: framing, limits and peer credentials, shared by the root
        // broker and the unprivileged monitor, with the options for its limits. It knows nothing of
        // polkit: each daemon brings its own authorizer.
        .target(
            name: "HVServer",
            dependencies: [
                "HVProtocol", "HVSystem", "CHVShims", "CHVFDPassing",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),

        // Observability: health checks shared by `hv` and the monitor, metrics, history, alerting.
        .target(name: "HVHealth", dependencies: ["HVProtocol", "HVClient", "CHVShims"], swiftSettings: swiftSettings),
        .target(
            name: "HVMetrics",
            dependencies: [
                "HVProtocol", "HVHistory", "HVSystem",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "HVHistory",
            dependencies: ["HVProtocol", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "HVAlerting",
            dependencies: [
                "HVProtocol", "HVYAML", "HVSystem",
                .product(name: "Yams", package: "Yams"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "HVMonitor",
            dependencies: [
                "HVProtocol", "HVClient", "HVHealth", "HVMetrics", "HVHistory", "HVAlerting", "HVServer", "HVPolkit", "HVYAML", "HVWork",
                "HVSystem",
                .product(name: "Yams", package: "Yams"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),

        .executableTarget(
            name: "hv-broker",
            dependencies: [
                "HVBroker", "HVAudit", "HVProtocol", "HVImages", "HVLibvirt", "HVServer", "HVSystem", "HVWork", "HVBackupStore", "HVBackupSync",
                "CSystemd",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings,
            linkerSettings: serviceLinkerSettings
        ),
        .executableTarget(
            name: "hv-monitor",
            dependencies: [
                "HVMonitor", "HVPolkit", "HVWork", "HVSystem",
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings,
            linkerSettings: serviceLinkerSettings
        ),
        .executableTarget(
            name: "hv",
            dependencies: [
                "HVClient", "HVPresentation", "HVProtocol", "HVAudit", "HVHealth", "HVSpec", "HVSystem",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "hv-bench",
            dependencies: [
                "HVBroker", "HVClient", "HVPresentation", "HVLibvirt", "HVPolkit", "HVAudit", "HVDomainXML", "HVProtocol",
                "HVMonitor", "HVMetrics", "HVHistory", "HVHealth", "HVSystem", "HVBackup", "HVBackupStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "XMLCoder", package: "XMLCoder"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),

        // The parsers of untrusted input under libFuzzer (scripts/fuzz.sh builds it with
        // -sanitize=fuzzer,address and -D HV_FUZZ); a plain build replays inputs instead.
        .executableTarget(name: "hv-fuzz", dependencies: ["HVBroker", "HVProtocol", "HVSpec"], swiftSettings: swiftSettings),

        // Helpers the test targets share: running programs, polling, breaking the YAML rules.
        .target(name: "HVTestSupport", dependencies: ["HVSystem"], path: "Tests/HVTestSupport", swiftSettings: swiftSettings),
        .testTarget(name: "HVSystemTests", dependencies: ["HVSystem", "HVTestSupport"], swiftSettings: swiftSettings),
        // The real Varlink servers run in-process for tests: started on a private socket, awaited until
        // they listen, shut down gracefully; and a handler with canned replies.
        .target(
            name: "HVServerTesting",
            dependencies: [
                "HVServer", "HVProtocol", "HVTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Tests/HVServerTesting",
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "HVProtocolTests", dependencies: ["HVProtocol"], swiftSettings: swiftSettings),
        .testTarget(
            name: "HVYAMLTests", dependencies: ["HVYAML", .product(name: "Yams", package: "Yams")], swiftSettings: swiftSettings
        ),
        .testTarget(name: "HVSpecTests", dependencies: ["HVSpec", "HVProtocol", "HVTestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "HVClientTests", dependencies: ["HVClient", "HVProtocol", "HVServerTesting", "HVSystem", "HVTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "HVPresentationTests", dependencies: ["HVPresentation", "HVProtocol"], swiftSettings: swiftSettings),
        .testTarget(
            name: "HVDomainXMLTests", dependencies: ["HVDomainXML", "HVProtocol", "HVTestSupport"], swiftSettings: swiftSettings
        ),
        .testTarget(name: "HVAuditTests", dependencies: ["HVAudit"], swiftSettings: swiftSettings),
        .testTarget(name: "HVWorkTests", dependencies: ["HVWork", "HVProtocol", "HVTestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "HVBrokerTests",
            dependencies: [
                "HVBroker", "HVClient", "HVPresentation", "HVPolkit", "HVProtocol", "HVAudit", "HVLibvirt", "HVServer",
                "HVServerTesting", "HVSystem", "HVTestSupport", "HVWork", "HVBackupSync", "CSystemd",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "HVLibvirtTests", dependencies: ["HVLibvirt", "CLibvirt", "HVTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "HVNBDTests", dependencies: ["HVNBD", "HVTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "HVBackupTests", dependencies: ["HVBackup", "HVNBD", "HVBackupStore", "HVSystem", "HVTestSupport"], swiftSettings: swiftSettings),
        // Backups of real guests on qemu:///system (root, HV_INTEGRATION=1).
        .testTarget(
            name: "HVBackupIntegrationTests",
            dependencies: ["HVBackup", "HVLibvirt", "HVNBD", "HVDomainXML", "HVTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HVImagesTests",
            dependencies: ["HVImages", "HVProtocol", "HVSystem", "HVTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HVBackupSyncTests",
            dependencies: ["HVBackupSync", "HVBackupStore", "HVImages", "HVSystem", "HVTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HVBackupStoreTests",
            dependencies: ["HVBackupStore", "HVProtocol", "HVSystem", "HVTestSupport", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HVHealthTests", dependencies: ["HVHealth", "HVClient", "HVProtocol", "HVServer", "HVServerTesting"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HVMetricsTests",
            dependencies: [
                "HVMetrics", "HVProtocol", "HVHistory", "HVTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "InMemoryLogging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HVHistoryTests",
            dependencies: ["HVHistory", "HVProtocol", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HVAlertingTests",
            dependencies: [
                "HVAlerting", "HVProtocol", "HVSystem", "HVTestSupport", "HVYAML",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HVMonitorTests",
            dependencies: [
                "HVMonitor", "HVPolkit", "HVProtocol", "HVServer", "HVMetrics", "HVHistory", "HVAlerting", "HVTestSupport", "HVYAML",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
        // Package.swift against docs/ARCHITECTURE.md's table of targets; reads files only.
        .testTarget(name: "HVArchitectureTests", swiftSettings: swiftSettings),
        .testTarget(
            name: "HVIntegrationTests",
            dependencies: ["HVProtocol", "HVAudit", "HVBackupStore", "HVSystem", "HVTestSupport"],
            swiftSettings: swiftSettings
        ),
    ]
)
