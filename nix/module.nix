# NixOS module for Hyper-NixOS: the polkit-guarded hv-broker daemon, the
# unprivileged hv CLI and, optionally, the unprivileged monitor hv-monitor.
#
#   imports = [ ./nix/module.nix ];
#   services.hypernixos.enable = true;
#   services.hypernixos.monitor.enable = true;   # /metrics on 127.0.0.1:9478, with a token
#   users.users.alice.extraGroups = [ "hypervisor-operators" ];
#
# The systemd units below mirror systemd/hv-broker.socket,
# systemd/hv-broker.service, systemd/hv-monitor.service and
# systemd/hypernixos-autostart.service (see the comments there for the
# reasoning behind each hardening setting); NixModuleTests evaluates this
# module and compares them. The broker gets the programs it runs (qemu-img,
# qemu-nbd, prlimit, gpgv, xorriso) as store paths on its command line
# (services.hypernixos.tools), since NixOS has no /usr/bin.
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

  # The monitor's configuration file. `alerting` is present unless set to
  # null, so the shipped alert rules are evaluated (and listed by
  # `hv alerts list`) even before any channel is configured. `web` names the
  # token /metrics requires, merged with whatever else settings.web holds.
  monitorFormat = pkgs.formats.yaml { };
  tokenFile = cfg.monitor.metricsTokenFile;
  webSettings =
    lib.optionalAttrs (tokenFile != null) { bearer_token_file = tokenFile; }
    // (cfg.monitor.settings.web or { });
  monitorSettings = lib.filterAttrs (_: value: value != null) (
    { alerting = { }; } // cfg.monitor.settings // lib.optionalAttrs (webSettings != { }) { web = webSettings; }
  );
  monitorConfigFile = monitorFormat.generate "hv-monitor.yaml" monitorSettings;

  # The programs the broker runs, given to it as store paths (--tool): NixOS
  # has nothing in /usr/bin, and the broker never searches PATH.
  brokerPrograms = {
    qemu-img = {
      package = pkgs.qemu-utils;
      attribute = "qemu-utils";
      purpose = "reads disk images' headers, for templates and imported images";
    };
    qemu-nbd = {
      package = pkgs.qemu-utils;
      attribute = "qemu-utils";
      purpose = "serves a stopped machine's disk images read-only for a backup";
    };
    env = {
      package = pkgs.coreutils;
      attribute = "coreutils";
      purpose = "starts qemu-nbd with glibc's malloc settings for its request buffers";
    };
    prlimit = {
      package = pkgs.util-linux;
      attribute = "util-linux";
      purpose = "runs qemu-img with memory and CPU-time limits";
    };
    gpgv = {
      package = pkgs.gnupg;
      attribute = "gnupg";
      purpose = "checks ISO images' detached signatures";
    };
    xorriso = {
      package = pkgs.xorriso;
      attribute = "xorriso";
      purpose = "builds cloud-init seed images";
    };
  };
  # Backup repositories outside the state directory (a NAS mount) must be writable for the
  # broker, whose file system is otherwise read-only (ProtectSystem=strict).
  backupPaths = lib.filter (path: !(lib.hasPrefix "/var/lib/hypervisor/" path)) (
    lib.mapAttrsToList (_: repository: repository.path) (cfg.backup.repositories or { })
  );

  # One job of services.hypernixos.backup.jobs; the broker checks the rest (the repository
  # exists, the schedule is systemd's, the retention's keys) and refuses to start on a mistake.
  backupJobType = lib.types.submodule {
    options = {
      repository = lib.mkOption {
        type = lib.types.str;
        description = "The repository, by its name under repositories.";
      };
      machines = {
        names = lib.mkOption {
          type = lib.types.listOf lib.types.str;
          default = [ ];
          description = "Machines by name.";
        };
        tags = lib.mkOption {
          type = lib.types.listOf lib.types.str;
          default = [ ];
          description = "Machines with any of these tags.";
        };
        all = lib.mkOption {
          type = lib.types.bool;
          default = false;
          description = "Every machine the broker manages (then no names or tags).";
        };
      };
      schedule = lib.mkOption {
        type = lib.types.str;
        example = "*-*-* 02:00";
        description = "When it runs, in systemd calendar syntax (systemd.time(7)): the timer's OnCalendar.";
      };
      retention = lib.mkOption {
        type = lib.types.attrsOf lib.types.ints.positive;
        default = { };
        example = { keep_last = 3; keep_daily = 7; };
        description = "keep_last, keep_hourly, keep_daily, keep_weekly, keep_monthly, keep_yearly; empty: nothing is removed.";
      };
      verify = lib.mkOption {
        type = lib.types.enum [ "never" "every run" "daily" "weekly" "monthly" ];
        default = "never";
        description = "How often each machine's newest backup is verified.";
      };
      boot_test = lib.mkOption {
        type = lib.types.enum [ "never" "every run" "daily" "weekly" "monthly" ];
        default = "never";
        description = "How often each machine's newest backup is boot-tested (hv backup boot-test), after its verification.";
      };
      boot_test_marker = lib.mkOption {
        type = lib.types.nullOr lib.types.str;
        default = null;
        example = "login:";
        description = "Text the guest prints on its serial console once booted; null: the boot test's default (login:).";
      };
      boot_test_timeout = lib.mkOption {
        type = lib.types.nullOr (lib.types.ints.between 10 1800);
        default = null;
        description = "Seconds the boot test waits for the guest; null: the boot test's default (300).";
      };
    };
  };
  # The jobs as backup.yaml writes them: only the keys that are set.
  backupJobsYAML = lib.mapAttrs (
    _: job:
    {
      inherit (job) repository schedule verify boot_test;
      machines = lib.filterAttrs (_: value: value != [ ] && value != false) job.machines;
    }
    // lib.optionalAttrs (job.retention != { }) { inherit (job) retention; }
    // lib.filterAttrs (_: value: value != null) { inherit (job) boot_test_marker boot_test_timeout; }
  ) cfg.backup.jobs;

  toolArguments = lib.concatMap (name: [
    "--tool"
    "${name}=${cfg.tools.${name}}"
  ]) (lib.attrNames brokerPrograms);

  # The sandbox of the oneshot units that only call the broker as root
  # (hypernixos-autostart, hypernixos-backup@JOB): no capabilities, no network,
  # nothing but the broker's socket.
  clientHardening = {
    CapabilityBoundingSet = "";
    NoNewPrivileges = true;
    ProtectSystem = "strict";
    ProtectHome = true;
    PrivateTmp = true;
    PrivateNetwork = true;
    RestrictAddressFamilies = [ "AF_UNIX" ];
    SystemCallFilter = [ "@system-service" ];
    SystemCallArchitectures = "native";
  };

  # Kernel, namespace and system-call hardening both daemons share. Each unit
  # adds what differs (devices, address families, the clock, the filter's
  # exceptions); see systemd/hv-broker.service and systemd/hv-monitor.service.
  sharedHardening = {
    ProtectKernelTunables = true;
    ProtectKernelModules = true;
    ProtectKernelLogs = true;
    ProtectControlGroups = true;
    ProtectHostname = true;
    PrivateIPC = true;
    KeyringMode = "private";
    LockPersonality = true;
    RestrictRealtime = true;
    RestrictNamespaces = true;
    MemoryDenyWriteExecute = true;
    SystemCallArchitectures = "native";
    SystemCallErrorNumber = "EPERM";
  };
in
{
  options.services.hypernixos = {
    enable = lib.mkEnableOption "the Hyper-NixOS hypervisor broker (hv-broker) and the hv command";

    package = lib.mkOption {
      type = lib.types.package;
      default = pkgs.callPackage ./package.nix { };
      defaultText = lib.literalExpression "pkgs.callPackage ./package.nix { }";
      description = ''
        Package providing `bin/hv`, `bin/hv-broker`, `bin/hv-monitor` and
        the polkit policies and rules under `share/polkit-1`. The default builds this
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

    policy = lib.mkOption {
      type = monitorFormat.type;
      default = { };
      example = lib.literalExpression ''
        {
          limits = { vcpus = 8; memory = "32GiB"; disk = "1TiB"; };
          groups.hypervisor-operators = { vms = 20; vcpus = 32; memory = "64GiB"; images = "100GiB"; };
          bridges = [ "br0" ];
        }
      '';
      description = ''
        The host policy (docs/POLICY.md): per-machine limits, per-group
        quotas (machines, and the disk space of their images), allowed
        bridges and storage pools, the default network and the ISO
        library's size limits and keyring. Written to
        /etc/hypernixos/policy.yaml; an empty set means the defaults, and
        the limits it does not set follow the host (its CPUs, its memory
        and the free space under /var/lib/hypervisor/images, less a margin;
        the ISO library may take a quarter of its disk).
      '';
    };

    backup = lib.mkOption {
      type = lib.types.submodule {
        freeformType = monitorFormat.type;
        options.repositories = lib.mkOption {
          type = monitorFormat.type;
          default = {
            local.path = "/var/lib/hypervisor/backups";
          };
          description = "The repositories, by the name clients use (see backup).";
        };
        options.jobs = lib.mkOption {
          type = lib.types.attrsOf backupJobType;
          default = { };
          example = lib.literalExpression ''
            {
              nightly = {
                repository = "local";
                machines.tags = [ "prod" ];
                schedule = "*-*-* 02:00";
                retention = { keep_last = 3; keep_daily = 7; keep_weekly = 4; };
                verify = "weekly";
              };
            }
          '';
          description = ''
            Scheduled backup jobs (docs/BACKUPS.md, "Using backups"), written
            to backup.yaml under `jobs`; each gets a
            `hypernixos-backup@NAME.timer` with its schedule (Persistent) and
            the oneshot `hypernixos-backup@NAME.service` that runs
            `hv backup jobs run NAME` as root.
          '';
        };
      };
      default = { };
      example = lib.literalExpression ''
        {
          repositories = {
            local.path = "/var/lib/hypervisor/backups";
            nas = { path = "/mnt/nas/hv-backups"; key_file = "/etc/hypernixos/backup-nas.key"; };
          };
        }
      '';
      description = ''
        The backup repositories (docs/BACKUPS.md, "Using backups"), written to
        /etc/hypernixos/backup.yaml: each a name clients use, the directory
        (`path`, made mode 0700 when it is empty or absent), optionally a key
        file that encrypts it (`key_file`, made with
        `hv-broker backup-key generate PATH`, owned by root with mode 0600)
        and the chunk size of a new repository (`chunk_size`, 256KiB). A path
        outside /var/lib/hypervisor is made writable for the broker.
      '';
    };

    tools = lib.mapAttrs (
      name: program:
      lib.mkOption {
        type = lib.types.strMatching "/.+";
        default = lib.getExe' program.package name;
        defaultText = lib.literalExpression "lib.getExe' pkgs.${program.attribute} \"${name}\"";
        description = ''
          The ${name} the broker runs (${program.purpose}), by absolute
          path: passed as `hv-broker --tool ${name}=PATH`. The broker
          checks at start that the file is executable and that only root
          can change it or a directory on its way, and never searches for
          it.
        '';
      }
    ) brokerPrograms;

    idleExitSeconds = lib.mkOption {
      type = lib.types.ints.unsigned;
      default = 300;
      description = ''
        Seconds without a client after which the broker exits; 0 keeps it
        running. The socket stays open while the broker is not running, and
        the next connection starts it again.
      '';
    };

    audit = {
      segmentSize = lib.mkOption {
        type = lib.types.strMatching "[0-9]+(KiB|MiB|GiB)?";
        default = "64MiB";
        example = "256MiB";
        description = ''
          The broker seals the active segment of its audit log
          (/var/log/hypervisor/audit.jsonl) before a record would take it past
          this size, and starts a new one that begins with the sealed one's
          final hash (hv-broker --audit-segment-size; at least 64KiB).
        '';
      };

      segmentAge = lib.mkOption {
        type = lib.types.strMatching "[0-9]+[smhd]?";
        default = "7d";
        example = "1d";
        description = ''
          The active audit segment is also sealed when a record arrives after
          its first record is this old: a number with s, m, h or d
          (hv-broker --audit-segment-age).
        '';
      };

      keepSegments = lib.mkOption {
        type = lib.types.ints.unsigned;
        default = 0;
        example = 52;
        description = ''
          Sealed audit segments kept; the oldest beyond this number are
          removed, and each removal is recorded in the hash chain, which then
          verifies from the first segment kept. 0 keeps every segment
          (hv-broker --audit-keep-segments).
        '';
      };

      compression = lib.mkOption {
        type = lib.types.enum [
          "gzip"
          "none"
        ];
        default = "gzip";
        description = ''
          Compression of sealed audit segments (hv-broker
          --audit-compression); `zcat` and `hv audit verify` read gzip
          segments.
        '';
      };

      readFlushDelay = lib.mkOption {
        type = lib.types.strMatching "[0-9]+s?";
        default = "1s";
        example = "0s";
        description = ''
          An admitted read is answered without waiting for its audit record;
          the record is written at once and flushed to the disk with the next
          record a caller waits on (a change's, a refusal's) or within this
          many seconds (hv-broker --audit-read-flush-delay; at most 60s).
          Only a power loss or host crash within the delay can lose it.
          "0s" flushes every read's record on its own, at a cost to every
          read.
        '';
      };
    };

    backupSyncSchedule = lib.mkOption {
      type = lib.types.str;
      default = "daily";
      example = "*-*-* 03:30";
      description = ''
        When each remote of `backup.remotes` gets its copy of the repository
        it names (systemd OnCalendar syntax): a timer
        hypernixos-backup-sync-NAME.timer runs `hv-broker backup-sync NAME`
        (docs/BACKUPS.md, "Copies off the host"), mirroring
        systemd/hypernixos-backup-sync@.timer.
      '';
    };

    autostartGroupDelay = lib.mkOption {
      type = lib.types.ints.between 0 600;
      default = 0;
      description = ''
        Seconds hypernixos-autostart.service waits between autostart order
        groups that started something, so the guests of one group are up
        before the next group boots. Machines start at boot when their spec
        says `autostart: {enabled: true, order: N}`, lowest order first.
      '';
    };

    monitor = {
      enable = lib.mkEnableOption ''
        the Hyper-NixOS monitor (hv-monitor): Prometheus metrics on
        `/metrics`, history for `hv metrics show`, scheduled health checks
        and alerts by email and webhooks. It runs as the unprivileged system
        user hv-monitor, a member of hypervisor-viewers, and reads libvirt
        only through the broker'';

      metricsTokenFile = lib.mkOption {
        type = lib.types.nullOr (lib.types.strMatching "/.*");
        default = "/etc/hypervisor/metrics.token";
        example = "/run/agenix/hv-metrics-token";
        description = ''
          The file holding the token `/metrics` requires (the monitor's
          `web.bearer_token_file`): scrapers send it as
          `Authorization: Bearer TOKEN`, e.g. Prometheus with
          `authorization = { type = "Bearer"; credentials_file = ...; }`.
          When the file does not exist, hv-monitor-token.service writes a
          random token there before the monitor starts, owned by
          root:hypervisor-viewers with mode 0640; the monitor refuses a file
          that others can read. A secret kept elsewhere (agenix, sops-nix)
          needs the same owner and mode. The monitor reads the file at start:
          restart hv-monitor.service after changing the token. `null` drops
          the token, which the monitor accepts only together with
          `settings.web.allow_unauthenticated = true` and a loopback
          `listen` address.
        '';
      };

      settings = lib.mkOption {
        type = monitorFormat.type;
        default = { };
        example = lib.literalExpression ''
          {
            listen = "127.0.0.1:9478";
            web = { tls_cert_file = "/var/lib/acme/hv/cert.pem"; tls_key_file = "/var/lib/acme/hv/key.pem"; };
            interval = "15s";
            history = { raw = "48h"; five_minute = "30d"; hourly = "365d"; };
            alerting = {
              channels = [
                {
                  name = "ops-mail";
                  type = "email";
                  host = "smtp.example.com";
                  tls = "starttls";
                  username = "hv-monitor@example.com";
                  password_file = "/var/lib/hv-monitor/secrets/smtp-password";
                  from = "hv-monitor@example.com";
                  to = [ "ops@example.com" ];
                }
                { name = "ops-slack"; type = "slack"; url_file = "/var/lib/hv-monitor/secrets/slack-webhook-url"; }
              ];
              routes = { critical = [ "ops-mail" "ops-slack" ]; warning = [ "ops-slack" ]; };
            };
          }
        '';
        description = ''
          Settings written as YAML to /etc/hypervisor/monitor.yaml; the keys
          are those of docs/monitoring/monitor.example.yaml (unknown keys
          stop the monitor with a message naming the field). `alerting`
          defaults to `{ }` (the shipped rules, no channels); set it to
          `null` to turn alerting off. `web.bearer_token_file` comes from
          `metricsTokenFile`. This file ends up in the Nix store,
          readable by everyone: secrets go in files named by
          `password_file` and `url_file`, owned by hv-monitor with mode 0600
          (for example under /var/lib/hv-monitor/secrets).
        '';
      };
    };
  };

  config = lib.mkMerge [
    (lib.mkIf cfg.monitor.enable {
      assertions = [
        {
          assertion = cfg.enable;
          message = "services.hypernixos.monitor.enable needs services.hypernixos.enable: the monitor reads through the broker.";
        }
        {
          assertion = tokenFile == null || !(cfg.monitor.settings.web.allow_unauthenticated or false);
          message = "services.hypernixos.monitor.settings.web.allow_unauthenticated = true needs services.hypernixos.monitor.metricsTokenFile = null: the two contradict each other.";
        }
      ];
    })

    (lib.mkIf (cfg.enable && cfg.monitor.enable) {
      # The monitor's own system user: a viewer of the broker and nothing more.
      users.users.hv-monitor = {
        isSystemUser = true;
        group = "hv-monitor";
        extraGroups = [ "hypervisor-viewers" ];
        description = "Hyper-NixOS monitor";
        home = "/var/lib/hv-monitor";
      };
      users.groups.hv-monitor = { };

      environment.etc."hypervisor/monitor.yaml".source = monitorConfigFile;

      # The monitor's polkit actions (org.hypernixos.monitor.policy, owned by
      # unix-user:hv-monitor) come with the package's share/polkit-1/actions,
      # linked like the broker's below; the group rules already grant them.

      systemd.tmpfiles.rules = [
        "d /var/lib/hv-monitor 0750 hv-monitor hv-monitor -"
        "d /run/hv-monitor 0755 hv-monitor hv-monitor -"
      ];

      # The /metrics token, made once: 32 random bytes in hex, readable by
      # root and hypervisor-viewers (hv-monitor is one). The file gets its
      # owner and mode before its content, and its name only when complete.
      systemd.services.hv-monitor-token = lib.mkIf (tokenFile != null) {
        description = "Hyper-NixOS: the token for the monitor's /metrics";
        unitConfig.ConditionPathExists = "!${tokenFile}";
        serviceConfig = {
          Type = "oneshot";
          RemainAfterExit = true;
          UMask = "0077";
        };
        script = ''
          new="$(mktemp ${lib.escapeShellArg tokenFile}.XXXXXX)"
          chown root:hypervisor-viewers "$new"
          chmod 0640 "$new"
          od -An -N32 -tx1 /dev/urandom | tr -d ' \n' > "$new"
          echo >> "$new"
          mv -f "$new" ${lib.escapeShellArg tokenFile}
        '';
      };

      systemd.services.hv-monitor = {
        description = "Hyper-NixOS monitor: metrics exporter, history, health checks and alerts";
        documentation = [ "file://${cfg.package}/share/doc/hyper-nixos/monitoring/METRICS.md" ];
        wantedBy = [ "multi-user.target" ];
        # A skipped hv-monitor-token.service (the token exists) counts as done.
        requires = lib.optional (tokenFile != null) "hv-monitor-token.service";
        wants = [
          "hv-broker.socket"
          "network-online.target"
        ];
        after = [
          "hv-broker.socket"
          "network-online.target"
          "dbus.service"
          "polkit.service"
        ] ++ lib.optional (tokenFile != null) "hv-monitor-token.service";
        restartTriggers = [ monitorConfigFile ];

        serviceConfig = sharedHardening // {
          Type = "simple";
          ExecStart = utils.escapeSystemdExecArgs [
            "${cfg.package}/bin/hv-monitor"
            "--config"
            "/etc/hypervisor/monitor.yaml"
          ];
          Restart = "on-failure";
          RestartSec = "5s";

          # Identity: a fixed user (the polkit actions name it as their owner),
          # in hypervisor-viewers for the broker's read actions.
          User = "hv-monitor";
          Group = "hv-monitor";
          SupplementaryGroups = [ "hypervisor-viewers" ];

          # Files: history.sqlite and alerts.sqlite; the control socket.
          StateDirectory = "hv-monitor";
          StateDirectoryMode = "0750";
          RuntimeDirectory = "hv-monitor";
          RuntimeDirectoryMode = "0755";
          ProtectSystem = "strict";
          ProtectHome = true;
          PrivateTmp = true;
          UMask = "0077";

          # Privileges: none.
          CapabilityBoundingSet = "";
          AmbientCapabilities = "";
          NoNewPrivileges = true;
          RestrictSUIDSGID = true;
          PrivateDevices = true;

          # Network: the broker, the control socket and D-Bus (AF_UNIX);
          # /metrics, SMTP and webhooks (AF_INET, AF_INET6).
          RestrictAddressFamilies = [
            "AF_UNIX"
            "AF_INET"
            "AF_INET6"
          ];

          # Not ProtectClock: the clock-sync check reads the kernel's sync state
          # with adjtimex(2); setting the clock still fails without CAP_SYS_TIME.
          # System calls; adjtimex and clock_adjtime back from @privileged to
          # read (never set) the sync state.
          SystemCallFilter = [
            "@system-service"
            "~@privileged"
            "adjtimex clock_adjtime"
          ];
        };
      };
    })

    (lib.mkIf cfg.enable {
      virtualisation.libvirtd.enable = true;
      # swtpm for machines with `tpm: true`: libvirt starts one per machine that has a TPM, so it
      # costs nothing until a spec asks for one, and the broker can't know in advance which will.
      # Turned off, the broker refuses such specs, saying to turn it on.
      virtualisation.libvirtd.qemu.swtpm.enable = lib.mkDefault true;
      security.polkit.enable = true;

      # Membership decides what a user may ask the broker to do.
      users.groups = lib.genAttrs groups (_: { });

      # hv for everyone; also links the package's share/polkit-1 into
      # /run/current-system/sw/share/polkit-1, where NixOS's polkitd reads
      # action definitions (org.hypernixos.policy and
      # org.hypernixos.monitor.policy).
      environment.systemPackages = [ cfg.package ];
      environment.pathsToLink = [ "/share/polkit-1" ];

      # Rules go to /etc/polkit-1/rules.d, which every polkit version reads.
      # The identical copy polkitd also finds under
      # /run/current-system/sw/share/polkit-1/rules.d is harmless: the rules
      # only return YES for group members or NOT_HANDLED, so evaluating them
      # twice cannot change a result.
      # The host policy the broker reads at start (hv-broker --policy).
      environment.etc."hypernixos/policy.yaml".source = monitorFormat.generate "policy.yaml" cfg.policy;
      # The backup repositories the broker opens at start (hv-broker --backup-config).
      environment.etc."hypernixos/backup.yaml".source = monitorFormat.generate "backup.yaml" (
        cfg.backup // { jobs = backupJobsYAML; }
      );


      environment.etc."polkit-1/rules.d/50-hypernixos.rules".source =
        "${cfg.package}/share/polkit-1/rules.d/50-hypernixos.rules";

      systemd.tmpfiles.rules = [
        "d /var/lib/hypervisor 0755 root root -"
        "d /var/lib/hypervisor/images 0711 root root -"
        "d /var/lib/hypervisor/isos 0755 root root -"
        "d /var/lib/hypervisor/backups 0700 root root -"
        "d /var/log/hypervisor 0750 root root -"
        "d /var/log/hypervisor/console 0750 root root -"
      ];

      systemd.sockets.hv-broker = {
        description = "Hyper-NixOS broker socket";
        wantedBy = [ "sockets.target" ];
        # The broker socket, then the upload socket (hv iso add and hv image import pass an open file there).
        listenStreams = [ "/run/hypervisor/broker.sock" "/run/hypervisor/upload.sock" ];
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

      # Once per boot: the machines whose spec enables autostart, in order
      # (mirrors systemd/hypernixos-autostart.service).
      systemd.services.hypernixos-autostart = {
        description = "Hyper-NixOS: start the autostart virtual machines in spec order";
        wantedBy = [ "multi-user.target" ];
        requires = [ "hv-broker.socket" ];
        wants = [
          "libvirtd.socket"
          "network-online.target"
        ];
        after = [
          "hv-broker.socket"
          "libvirtd.socket"
          "libvirtd.service"
          "virtlogd.socket"
          "network-online.target"
        ];
        serviceConfig = {
          Type = "oneshot";
          RemainAfterExit = true;
          ExecStart = utils.escapeSystemdExecArgs [
            "${cfg.package}/bin/hv"
            "host"
            "autostart"
            "--group-delay"
            (toString cfg.autostartGroupDelay)
          ];
          TimeoutStartSec = "30min";
        }
        // clientHardening;
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

        serviceConfig = sharedHardening // {
          Type = "simple";
          ExecStart = utils.escapeSystemdExecArgs (
            [
              "${cfg.package}/bin/hv-broker"
              "--libvirt-uri"
              cfg.libvirtUri
              "--idle-exit"
              (toString cfg.idleExitSeconds)
              "--audit-segment-size"
              cfg.audit.segmentSize
              "--audit-segment-age"
              cfg.audit.segmentAge
              "--audit-keep-segments"
              (toString cfg.audit.keepSegments)
              "--audit-compression"
              cfg.audit.compression
              "--audit-read-flush-delay"
              cfg.audit.readFlushDelay
            ]
            ++ toolArguments
          );
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
          ] ++ backupPaths;
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

          ProtectClock = true;
          SystemCallFilter = [
            "@system-service"
            "~@privileged"
            "~ptrace process_vm_readv process_vm_writev"
          ];
        };
      };
    })
    # Copies off the host, one service and timer per remote (mirrors
    # systemd/hypernixos-backup-sync@.service and .timer).
    (lib.mkIf cfg.enable {
      systemd.services = lib.mapAttrs' (
        name: _:
        lib.nameValuePair "hypernixos-backup-sync-${name}" {
          description = "Hyper-NixOS: copy a backup repository off the host, to the remote ${name}";
          wants = [ "network-online.target" ];
          after = [ "network-online.target" ];
          serviceConfig = {
            Type = "oneshot";
            ExecStart = utils.escapeSystemdExecArgs [
              "${cfg.package}/bin/hv-broker"
              "backup-sync"
              name
              "--rclone"
              (lib.getExe' pkgs.rclone "rclone")
            ];
            TimeoutStartSec = "12h";
            Nice = 10;
            IOSchedulingClass = "idle";
            CapabilityBoundingSet = "";
            NoNewPrivileges = true;
            ProtectSystem = "strict";
            StateDirectory = "hypervisor/backup-sync";
            StateDirectoryMode = "0700";
            ProtectHome = true;
            PrivateTmp = true;
            PrivateDevices = true;
            ProtectKernelTunables = true;
            ProtectKernelModules = true;
            ProtectControlGroups = true;
            RestrictAddressFamilies = [
              "AF_UNIX"
              "AF_INET"
              "AF_INET6"
            ];
            RestrictNamespaces = true;
            LockPersonality = true;
            SystemCallFilter = [ "@system-service" ];
            SystemCallArchitectures = "native";
          };
        }
      ) (cfg.backup.remotes or { });
      systemd.timers = lib.mapAttrs' (
        name: _:
        lib.nameValuePair "hypernixos-backup-sync-${name}" {
          description = "Hyper-NixOS: copy of a backup repository to the remote ${name}";
          wantedBy = [ "timers.target" ];
          timerConfig = {
            OnCalendar = cfg.backupSyncSchedule;
            RandomizedDelaySec = "1h";
            Persistent = true;
          };
        }
      ) (cfg.backup.remotes or { });
    })

    # Each backup job's timer and the oneshot it starts, apart from the units above so that
    # `systemd.services` can be given whole here.
    (lib.mkIf cfg.enable {
      # (Mirrors systemd/hypernixos-backup@.service; elsewhere a generator writes the timers.)
      systemd.timers = lib.mapAttrs' (
        name: job:
        lib.nameValuePair "hypernixos-backup@${name}" {
          description = "Hyper-NixOS backup job ${name}";
          wantedBy = [ "timers.target" ];
          timerConfig = {
            OnCalendar = job.schedule;
            Persistent = true;
          };
        }
      ) cfg.backup.jobs;

      systemd.services = lib.mapAttrs' (
        name: _:
        lib.nameValuePair "hypernixos-backup@${name}" {
          description = "Hyper-NixOS: backup job ${name}";
          requires = [ "hv-broker.socket" ];
          after = [
            "hv-broker.socket"
            "libvirtd.socket"
            "libvirtd.service"
          ];
          serviceConfig = {
            Type = "oneshot";
            ExecStart = utils.escapeSystemdExecArgs [
              "${cfg.package}/bin/hv"
              "backup"
              "jobs"
              "run"
              name
            ];
            TimeoutStartSec = "12h";
          }
          // clientHardening;
        }
      ) cfg.backup.jobs;
    })
  ];
}
