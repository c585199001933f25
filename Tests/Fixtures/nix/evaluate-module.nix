# Evaluates nix/module.nix with nixpkgs' module system (lib.evalModules) and
# stand-ins for what NixOS and nixpkgs would provide, and renders the units the
# module defines the way NixOS writes them, for NixModuleTests to compare with
# systemd/.
#
#   nix-instantiate --eval --strict --json evaluate-module.nix \
#     --arg lib 'import /path/to/nixpkgs-lib/lib' --arg module ./nix/module.nix \
#     --arg settings '{ services.hypernixos.enable = true; }'
#
# The stand-ins declare only the NixOS options the module sets, with NixOS's
# names and (close to) its types, and no freeform attributes: an option the
# module misspells fails the evaluation as it would on NixOS.
{
  lib,
  module,
  settings ? { },
}:

let
  inherit (lib) mkOption types;

  # A package: what lib.types.package and lib.getExe' accept.
  package = name: {
    type = "derivation";
    inherit name;
    outPath = "/nix/store/00000000000000000000000000000000-${name}";
  };

  # pkgs.formats.yaml { }, as nixpkgs' pkgs-lib/formats.nix declares its type;
  # generate names a store path instead of building one (backup.yaml's with its
  # value as JSON after a '#', for the test of how the jobs are written).
  yamlFormat = {
    type =
      let
        valueType =
          types.nullOr (
            types.oneOf [
              types.bool
              types.int
              types.float
              types.str
              types.path
              (types.attrsOf valueType)
              (types.listOf valueType)
            ]
          )
          // {
            description = "YAML value";
          };
      in
      valueType;
    generate =
      name: value:
      "/nix/store/00000000000000000000000000000000-${name}"
      + lib.optionalString (name == "backup.yaml") "#${builtins.toJSON value}";
  };

  pkgs = {
    formats.yaml = _: yamlFormat;
    callPackage = _: _: package "hyper-nixos-default";
    qemu-utils = package "qemu-utils";
    util-linux = package "util-linux" // {
      bin = package "util-linux-bin";
    };
    coreutils = package "coreutils";
    gnupg = package "gnupg";
    xorriso = package "xorriso";
    rclone = package "rclone";
  };

  # nixos/lib/utils.nix
  utils = rec {
    escapeSystemdExecArg =
      arg:
      let
        s =
          if builtins.isPath arg then
            "${arg}"
          else if builtins.isString arg then
            arg
          else if builtins.isInt arg || builtins.isFloat arg || lib.isDerivation arg then
            toString arg
          else
            throw "escapeSystemdExecArg only allows strings, paths, numbers and derivations";
      in
      builtins.replaceStrings [ "%" "$" ] [ "%%" "$$" ] (builtins.toJSON s);
    escapeSystemdExecArgs = lib.concatMapStringsSep " " escapeSystemdExecArg;
  };

  # nixos/lib/systemd-unit-options.nix: a unit setting is an atom or a list of them.
  atom = types.oneOf [
    types.bool
    types.int
    types.str
    types.path
  ];
  unitSettings = types.attrsOf (types.either atom (types.listOf atom));
  strings = mkOption {
    type = types.listOf types.str;
    default = [ ];
  };
  commonUnitOptions = {
    description = mkOption {
      type = types.str;
      default = "";
    };
    documentation = strings;
    requires = strings;
    wants = strings;
    after = strings;
    before = strings;
    wantedBy = strings;
    unitConfig = mkOption {
      type = unitSettings;
      default = { };
    };
  };
  serviceUnit = types.submodule {
    options = commonUnitOptions // {
      serviceConfig = mkOption {
        type = unitSettings;
        default = { };
      };
      script = mkOption {
        type = types.lines;
        default = "";
      };
      path = mkOption {
        type = types.listOf (types.either types.package types.str);
        default = [ ];
      };
      environment = mkOption {
        type = types.attrsOf types.str;
        default = { };
      };
      restartTriggers = mkOption {
        type = types.listOf types.unspecified;
        default = [ ];
      };
    };
  };
  timerUnit = types.submodule {
    options = commonUnitOptions // {
      timerConfig = mkOption {
        type = unitSettings;
        default = { };
      };
    };
  };
  socketUnit = types.submodule {
    options = commonUnitOptions // {
      listenStreams = strings;
      socketConfig = mkOption {
        type = unitSettings;
        default = { };
      };
    };
  };

  nixosStub = {
    options = {
      assertions = mkOption {
        type = types.listOf types.unspecified;
        default = [ ];
      };
      warnings = strings;
      users.users = mkOption {
        type = types.attrsOf (
          types.submodule {
            options = {
              isSystemUser = mkOption {
                type = types.bool;
                default = false;
              };
              group = mkOption {
                type = types.str;
                default = "";
              };
              extraGroups = strings;
              description = mkOption {
                type = types.str;
                default = "";
              };
              home = mkOption {
                type = types.str;
                default = "/var/empty";
              };
            };
          }
        );
        default = { };
      };
      users.groups = mkOption {
        type = types.attrsOf (types.submodule { });
        default = { };
      };
      environment.etc = mkOption {
        type = types.attrsOf (
          types.submodule {
            options.source = mkOption { type = types.str; };
          }
        );
        default = { };
      };
      environment.systemPackages = mkOption {
        type = types.listOf types.package;
        default = [ ];
      };
      environment.pathsToLink = strings;
      security.polkit.enable = mkOption {
        type = types.bool;
        default = false;
      };
      virtualisation.libvirtd.enable = mkOption {
        type = types.bool;
        default = false;
      };
      virtualisation.libvirtd.qemu.swtpm.enable = mkOption {
        type = types.bool;
        default = false;
      };
      systemd.services = mkOption {
        type = types.attrsOf serviceUnit;
        default = { };
      };
      systemd.sockets = mkOption {
        type = types.attrsOf socketUnit;
        default = { };
      };
      systemd.timers = mkOption {
        type = types.attrsOf timerUnit;
        default = { };
      };
      systemd.tmpfiles.rules = strings;
    };
  };

  evaluated = lib.evalModules {
    modules = [
      nixosStub
      module
      { _module.args = { inherit pkgs utils; }; }
      settings
    ];
  };
  inherit (evaluated) config options;

  # nixos/lib/systemd-lib.nix: a setting's value as it is written into the unit.
  toOption =
    value:
    if value == true then
      "true"
    else if value == false then
      "false"
    else
      toString value;
  render = lib.mapAttrs (_: value: map toOption (lib.toList value));
  unitSection =
    unit:
    render (
      lib.filterAttrs (_: value: value != [ ] && value != "") {
        Description = unit.description;
        Documentation = lib.concatStringsSep " " unit.documentation;
        Requires = unit.requires;
        Wants = unit.wants;
        After = unit.after;
        Before = unit.before;
      }
      // unit.unitConfig
    );
  installSection = unit: render (lib.optionalAttrs (unit.wantedBy != [ ]) { WantedBy = unit.wantedBy; });

  services = lib.mapAttrs (_: unit: {
    Unit = unitSection unit;
    Service = render unit.serviceConfig;
    Install = installSection unit;
    path = map toString unit.path;
    environment = unit.environment;
  }) config.systemd.services;
  sockets = lib.mapAttrs (_: unit: {
    Unit = unitSection unit;
    Socket = render ({ ListenStream = unit.listenStreams; } // unit.socketConfig);
    Install = installSection unit;
  }) config.systemd.sockets;
  timers = lib.mapAttrs (_: unit: {
    Unit = unitSection unit;
    Timer = render unit.timerConfig;
    Install = installSection unit;
  }) config.systemd.timers;

  # The module's own options: their types and defaults (a package as its
  # store path).
  ownOptions = lib.mapAttrsRecursiveCond (value: !(lib.isOption value)) (_: option: {
    type = option.type.name;
    description = option.type.description;
    default = option.default or null;
  }) options.services.hypernixos;
in
{
  inherit services sockets timers;
  options = ownOptions;
  failedAssertions = map (assertion: assertion.message) (lib.filter (assertion: !assertion.assertion) config.assertions);
  etc = lib.mapAttrs (_: file: file.source) config.environment.etc;
  users = lib.attrNames config.users.users;
  groups = lib.attrNames config.users.groups;
  systemPackages = map toString config.environment.systemPackages;
  tmpfiles = config.systemd.tmpfiles.rules;
  swtpm = config.virtualisation.libvirtd.qemu.swtpm.enable;
}
