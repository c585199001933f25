# Builds the hv CLI and the hv-broker daemon from this repository with the
# nixpkgs Swift toolchain, and installs the polkit policy and rules, the
# systemd units and the tmpfiles.d/sysusers.d snippets next to them.
#
# Usage: pkgs.callPackage ./nix/package.nix { }
#
# The Swift package has no SwiftPM dependencies outside this repository; if
# one is ever added, vendor it with fetchSwiftPMDeps or swiftpm2nix (the Nix
# build sandbox has no network access).
{
  lib,
  stdenv,
  swift,
  swiftpm,
  swiftPackages,
  pkg-config,
  libvirt,
  systemd,
  polkit,
}:

let
  # SwiftPM needs the (clang based) stdenv the Swift toolchain was built
  # with; nixpkgs exposes it as swiftPackages.stdenv.
  swiftStdenv = swiftPackages.stdenv or stdenv;

  # Older nixpkgs ship Foundation and Dispatch outside the toolchain
  # (swiftPackages.Foundation, swiftPackages.Dispatch) and they must be build
  # inputs. Newer nixpkgs bundle them with `swift` (and name the separate
  # packages swift-corelibs-*), in which case nothing is added.
  swiftCoreLibraries =
    if swiftPackages ? swift-corelibs-foundation then
      [ ]
    else
      lib.filter (p: p != null) [
        (swiftPackages.Dispatch or null)
        (swiftPackages.Foundation or null)
      ];
in
swiftStdenv.mkDerivation {
  pname = "hyper-nixos";
  version = "0.1.0";

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

  # swiftpm brings the SwiftPM setup hook: configure/build phases that run
  # `swift build -c release` and the swiftpmBinPath helper used below.
  # pkg-config puts the .pc directories of the buildInputs on
  # PKG_CONFIG_PATH, which SwiftPM reads for the system library targets
  # (libvirt, polkit-gobject-1, libsystemd).
  nativeBuildInputs = [
    swift
    swiftpm
    pkg-config
  ];

  buildInputs = [
    libvirt
    polkit
    systemd
  ]
  ++ swiftCoreLibraries;

  # Installation is done by hand below (binaries plus data files).
  dontUseSwiftpmInstall = true;

  installPhase = ''
    runHook preInstall

    binPath="$(swiftpmBinPath)"
    install -Dm755 "$binPath/hv" "$out/bin/hv"
    install -Dm755 "$binPath/hv-broker" "$out/bin/hv-broker"

    install -Dm644 polkit/org.hypernixos.policy \
      "$out/share/polkit-1/actions/org.hypernixos.policy"
    install -Dm644 polkit/50-hypernixos.rules \
      "$out/share/polkit-1/rules.d/50-hypernixos.rules"

    install -Dm644 systemd/hv-broker.socket \
      "$out/lib/systemd/system/hv-broker.socket"
    install -Dm644 systemd/hv-broker.service \
      "$out/lib/systemd/system/hv-broker.service"
    # The unit refers to the FHS location; point it at this package.
    sed -i "s|/usr/bin/hv-broker|$out/bin/hv-broker|g" \
      "$out/lib/systemd/system/hv-broker.service"

    install -Dm644 systemd/hypervisor.conf \
      "$out/lib/tmpfiles.d/hypervisor.conf"
    install -Dm644 systemd/hypervisor-groups.conf \
      "$out/lib/sysusers.d/hypervisor-groups.conf"

    runHook postInstall
  '';

  meta = {
    description = "Hypervisor platform: hv CLI and the polkit-guarded hv-broker daemon";
    mainProgram = "hv";
    platforms = lib.platforms.linux;
  };
}
