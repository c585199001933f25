# NixOS module for Hyper-NixOS: the polkit-guarded hv-broker daemon and the
# unprivileged hv CLI.
#
#   imports = [ ./nix/module.nix ];
#   services.hypernixos.enable = true;
#   users.users.alice.extraGroups = [ "hypervisor-operators" ];
#
# The systemd units below mirror systemd/hv-broker.socket and
# systemd/hv-broker.service (see the comments there for the reasoning
# behind each hardening setting); keep the two in sync.
{
  config,
  lib,
  pkgs,
  utils,
  ...
}:

let
  cfg = config.services.hypernixos;

  groups = [
    "hypervisor-viewers"
    "hypervisor-operators"
    "hypervisor-admins"
  ];
in
{
  options.services.hypernixos = {
    enable = lib.mkEnableOption "the Hyper-NixOS hypervisor broker (hv-broker) and the hv command";

    package = lib.mkOption {
      type = lib.types.package;
      default = pkgs.callPackage ./package.nix { };
      defaultText = lib.literalExpression "pkgs.callPackage ./package.nix { }";
      description = ''
        Package providing `bin/hv`, `bin/hv-broker` and the polkit policy
        and rules under `share/polkit-1`. The default builds this
        repository; it needs the hash of the fetched SwiftPM dependencies,
        e.g. `pkgs.callPackage ./nix/package.nix { packageResolved = ./Package.resolved; swiftpmDepsHash = "sha256-..."; }`.
      '';
    };

    libvirtUri = lib.mkOption {
      type = lib.types.str;
      default = "qemu:///system";
      example = "qemu:///system";
      description = "libvirt connection URI the broker manages virtual machines through.";
    };

    idleExitSeconds = lib.mkOption {
      type = lib.types.ints.unsigned;
      default = 300;
      description = ''
        Seconds without a client after which the broker exits; 0 keeps it
        running. The socket stays open while the broker is not running, and
        the next connection starts it again.
      '';
    };
  };

  config = lib.mkIf cfg.enable {
    virtualisation.libvirtd.enable = true;
    security.polkit.enable = true;

    # Membership decides what a user may ask the broker to do.
    users.groups = lib.genAttrs groups (_: { });

    # hv for everyone; also links the package's share/polkit-1 into
    # /run/current-system/sw/share/polkit-1, where NixOS's polkitd reads
    # action definitions (org.hypernixos.policy).
    environment.systemPackages = [ cfg.package ];
    environment.pathsToLink = [ "/share/polkit-1" ];

    # Rules go to /etc/polkit-1/rules.d, which every polkit version reads.
    # The identical copy polkitd also finds under
    # /run/current-system/sw/share/polkit-1/rules.d is harmless: the rules
    # only return YES for group members or NOT_HANDLED, so evaluating them
    # twice cannot change a result.
    environment.etc."polkit-1/rules.d/50-hypernixos.rules".source =
      "${cfg.package}/share/polkit-1/rules.d/50-hypernixos.rules";

    systemd.tmpfiles.rules = [
      "d /var/lib/hypervisor 0755 root root -"
      "d /var/lib/hypervisor/images 0711 root root -"
      "d /var/lib/hypervisor/isos 0755 root root -"
      "d /var/log/hypervisor 0750 root root -"
      "d /var/log/hypervisor/console 0750 root root -"
    ];

    systemd.sockets.hv-broker = {
      description = "Hyper-NixOS broker socket";
      wantedBy = [ "sockets.target" ];
      listenStreams = [ "/run/hypervisor/broker.sock" ];
      socketConfig = {
        # Anyone may connect; polkit decides on every request.
        SocketMode = "0666";
        SocketUser = "root";
        SocketGroup = "root";
        DirectoryMode = "0755";
        Accept = false;
        RemoveOnStop = true;
      };
    };

    systemd.services.hv-broker = {
      description = "Hyper-NixOS privileged broker";
      # Socket-activated: no wantedBy, the socket starts the service.
      requires = [ "hv-broker.socket" ];
      wants = [ "libvirtd.socket" ];
      after = [
        "hv-broker.socket"
        "libvirtd.socket"
        "libvirtd.service"
        "virtlogd.socket"
        "dbus.socket"
        "dbus.service"
        "polkit.service"
      ];

      serviceConfig = {
        Type = "simple";
        ExecStart = utils.escapeSystemdExecArgs [
          "${cfg.package}/bin/hv-broker"
          "--libvirt-uri"
          cfg.libvirtUri
          "--idle-exit"
          (toString cfg.idleExitSeconds)
        ];
        Restart = "on-failure";
        RestartSec = "2s";

        # Files and directories.
        ProtectSystem = "strict";
        StateDirectory = "hypervisor";
        StateDirectoryMode = "0755";
        LogsDirectory = "hypervisor";
        LogsDirectoryMode = "0750";
        ReadWritePaths = [
          "/var/lib/hypervisor"
          "/var/log/hypervisor"
        ];
        ProtectHome = true;
        PrivateTmp = true;
        UMask = "0077";

        # Privileges: root, keeping only CAP_SYS_PTRACE, which reading another
        # user's /proc/PID/exe (the audit log's executable) needs; the ptrace
        # system calls themselves are filtered out below.
        CapabilityBoundingSet = "CAP_SYS_PTRACE";
        AmbientCapabilities = "";
        NoNewPrivileges = true;
        RestrictSUIDSGID = true;

        # Devices: pseudo devices plus /dev/kvm for the KVM probe.
        DevicePolicy = "closed";
        DeviceAllow = [ "/dev/kvm rw" ];

        # Network: Unix sockets only, private network namespace.
        RestrictAddressFamilies = [ "AF_UNIX" ];
        PrivateNetwork = true;
        IPAddressDeny = "any";

        # Kernel and system.
        ProtectKernelTunables = true;
        ProtectKernelModules = true;
        ProtectKernelLogs = true;
        ProtectControlGroups = true;
        ProtectClock = true;
        ProtectHostname = true;
        PrivateIPC = true;
        KeyringMode = "private";
        LockPersonality = true;
        RestrictRealtime = true;
        RestrictNamespaces = true;
        MemoryDenyWriteExecute = true;

        # System calls.
        SystemCallArchitectures = "native";
        SystemCallFilter = [
          "@system-service"
          "~@privileged"
          "~ptrace process_vm_readv process_vm_writev"
        ];
        SystemCallErrorNumber = "EPERM";
      };
    };
  };
}
