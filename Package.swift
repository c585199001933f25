// swift-tools-version: 6.0
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "hyper-nixos",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "hv", targets: ["hv"]),
        .executable(name: "hv-broker", targets: ["hv-broker"]),
        .executable(name: "hv-bench", targets: ["hv-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/CoreOffice/XMLCoder.git", from: "0.18.2"),
    ],
    targets: [
        // C libraries, imported as they are.
        .systemLibrary(name: "CLibvirt", pkgConfig: "libvirt", providers: [.apt(["libvirt-dev"])]),
        .systemLibrary(name: "CPolkit", pkgConfig: "polkit-gobject-1", providers: [.apt(["libpolkit-gobject-1-dev"])]),
        .systemLibrary(name: "CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
        // The few things Swift can't call directly: SO_PEERCRED's struct ucred and the KVM ioctls.
        .target(name: "CHVShims"),

        // Shared, unprivileged: the Varlink codec, the API types and spec validation.
        .target(name: "HVProtocol", swiftSettings: swiftSettings),
        .target(
            name: "HVDomainXML",
            dependencies: ["HVProtocol", .product(name: "XMLCoder", package: "XMLCoder")],
            swiftSettings: swiftSettings
        ),
        .target(name: "HVLibvirt", dependencies: ["CLibvirt"], swiftSettings: swiftSettings),
        .target(name: "HVPolkit", dependencies: ["CPolkit"], swiftSettings: swiftSettings),
        .target(
            name: "HVAudit",
            dependencies: ["CSystemd", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "HVBroker",
            dependencies: [
                "HVProtocol", "HVDomainXML", "HVLibvirt", "HVPolkit", "HVAudit", "CHVShims", "CSystemd",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(name: "HVClient", dependencies: ["HVProtocol"], swiftSettings: swiftSettings),

        .executableTarget(
            name: "hv-broker",
            dependencies: [
                "HVBroker", "HVAudit", "HVLibvirt", "CSystemd",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "hv",
            dependencies: [
                "HVClient", "HVProtocol", "HVAudit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "hv-bench",
            dependencies: [
                "HVBroker", "HVClient", "HVLibvirt", "HVPolkit", "HVAudit", "HVDomainXML", "HVProtocol",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),

        .testTarget(name: "HVProtocolTests", dependencies: ["HVProtocol"], swiftSettings: swiftSettings),
        .testTarget(name: "HVDomainXMLTests", dependencies: ["HVDomainXML", "HVProtocol"], swiftSettings: swiftSettings),
        .testTarget(name: "HVAuditTests", dependencies: ["HVAudit"], swiftSettings: swiftSettings),
        .testTarget(
            name: "HVBrokerTests",
            dependencies: [
                "HVBroker", "HVClient", "HVProtocol", "HVAudit",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HVIntegrationTests",
            dependencies: ["HVProtocol", "HVAudit"],
            swiftSettings: swiftSettings
        ),
    ]
)
