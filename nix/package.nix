# Builds the hv CLI, the hv-broker daemon and the hv-monitor service from
# this repository with the nixpkgs Swift toolchain, and installs the polkit
# policies and rules, the systemd units, the tmpfiles.d/sysusers.d snippets
# and the monitoring documentation and assets (docs/monitoring) next to them.
#
# Usage: pkgs.callPackage ./nix/package.nix { }
#
# Needs a nixpkgs whose Swift is 6.0 or newer (Package.swift declares
# swift-tools-version 6.0) and which provides fetchSwiftPMDeps.
#
# SwiftPM dependencies (swift-nio, swift-crypto, ...) are fetched ahead of
# the build, because the build sandbox has no network. They are pinned by a
# Package.resolved that the packager provides (git ignores it, so a checkout
# has none): run `swift package resolve` in the repository on a machine that
# reaches GitHub, then pass it as `packageResolved = ./Package.resolved;` and
# set swiftpmDepsHash: build once with lib.fakeHash and use the hash Nix
# reports.
{
  lib,
  stdenv,
  fetchSwiftPMDeps,
  swift,
  swiftpm,
  swiftPackages,
  pkg-config,
  libvirt,
  systemd,
  polkit,
  zlib,
  libnbd,
  swiftpmDepsHash ? lib.fakeHash,
  packageResolved ? null,
}:

let
  swiftVersion = swift.version or (lib.getVersion swift);
in
assert lib.assertMsg (lib.versionAtLeast swiftVersion "6.0")
  "hyper-nixos needs Swift 6.0 or newer (swift-tools-version 6.0), found ${swiftVersion}";

let
  # SwiftPM needs the stdenv the Swift toolchain was built with; nixpkgs
  # exposes it as swiftPackages.stdenv (kept for compatibility, it may be
  # the plain stdenv).
  swiftStdenv = swiftPackages.stdenv or stdenv;

  # The repository root, without VCS data and local build products.
  src = lib.cleanSourceWith {
    src = ./..;
    filter =
      path: type:
      let
        base = baseNameOf path;
      in
      lib.cleanSourceFilter path type
      && !(
        base == ".build"
        || base == ".swiftpm"
        || base == "result"
        || lib.hasPrefix "result-" base
      );
  };

  # Use the pinned dependency versions from nix/, whatever the working tree
  # holds at the root.
  resolved =
    if packageResolved == null then
      throw "hyper-nixos: pass packageResolved (a Package.resolved from `swift package resolve`); see nix/package.nix"
    else
      packageResolved;
  usePinnedResolved = ''
    cp ${resolved} Package.resolved
    chmod u+w Package.resolved
  '';
in
swiftStdenv.mkDerivation (finalAttrs: {
  pname = "hyper-nixos";
  version = "0.1.0";

  inherit src;

  postPatch = usePinnedResolved;

  swiftpmDeps = fetchSwiftPMDeps {
    inherit (finalAttrs) pname version src;
    postPatch = usePinnedResolved;
    hash = swiftpmDepsHash;
  };

  strictDeps = true;
  __structuredAttrs = true;

  # swiftpm brings the SwiftPM setup hook: it links the fetched dependencies,
  # runs `swift build -c release` and defines swiftpmBinPath (used below).
  # pkg-config puts the .pc directories of the buildInputs on
  # PKG_CONFIG_PATH, which SwiftPM reads for the system library targets
  # (libvirt, polkit-gobject-1, libsystemd, zlib, libnbd).
  nativeBuildInputs = [
    swift
    swiftpm
    pkg-config
  ];

  # polkit propagates glib (gobject-2.0, glib-2.0 are linked too).
  buildInputs = [
    libvirt
    polkit
    systemd
    zlib
    libnbd
  ];

  # Installation is done by hand below (three of the four products: not the
  # hv-bench benchmark; plus data files).
  dontUseSwiftpmInstall = true;

  installPhase = ''
    runHook preInstall

    binPath="$(swiftpmBinPath)"
    install -Dm755 "$binPath/hv" "$out/bin/hv"
    install -Dm755 "$binPath/hv-broker" "$out/bin/hv-broker"
    install -Dm755 "$binPath/hv-monitor" "$out/bin/hv-monitor"

    install -Dm644 polkit/org.hypernixos.policy \
      "$out/share/polkit-1/actions/org.hypernixos.policy"
    # The monitor's actions, owned by unix-user:hv-monitor.
    install -Dm644 polkit/org.hypernixos.monitor.policy \
      "$out/share/polkit-1/actions/org.hypernixos.monitor.policy"
    install -Dm644 polkit/50-hypernixos.rules \
      "$out/share/polkit-1/rules.d/50-hypernixos.rules"

    install -Dm644 systemd/hv-broker.socket \
      "$out/lib/systemd/system/hv-broker.socket"
    install -Dm644 systemd/hv-broker.service \
      "$out/lib/systemd/system/hv-broker.service"
    # The unit refers to the FHS location; point it at this package.
    sed -i "s|/usr/bin/hv-broker|$out/bin/hv-broker|g" \
      "$out/lib/systemd/system/hv-broker.service"
    install -Dm644 systemd/hv-monitor.service \
      "$out/lib/systemd/system/hv-monitor.service"
    sed -i \
      -e "s|/usr/bin/hv-monitor|$out/bin/hv-monitor|g" \
      -e "s|/usr/share/doc/hyper-nixos|$out/share/doc/hyper-nixos|g" \
      "$out/lib/systemd/system/hv-monitor.service"

    install -Dm644 systemd/hypervisor.conf \
      "$out/lib/tmpfiles.d/hypervisor.conf"
    install -Dm644 systemd/hypervisor-groups.conf \
      "$out/lib/sysusers.d/hypervisor-groups.conf"

    # METRICS.md, ALERTING.md, the example configurations, the Prometheus
    # rules and the Grafana dashboard (the monitor unit's Documentation=).
    mkdir -p "$out/share/doc/hyper-nixos"
    cp -r docs/monitoring "$out/share/doc/hyper-nixos/monitoring"

    runHook postInstall
  '';

  meta = {
    description = "Hypervisor platform: hv CLI, the polkit-guarded hv-broker daemon and the hv-monitor exporter";
    mainProgram = "hv";
    platforms = lib.platforms.linux;
  };
})
