# A stub of devenv 2.x: only the options that Cairn's module, its devenv.nix
# and the examples set, declared with the names and types devenv gives them
# (upstream src/modules/: top-level.nix, processes.nix, lib/ready.nix,
# tasks.nix, scripts.nix, tests.nix, languages/). Nothing here runs anything.
#
# Strict on purpose: setting an option devenv does not have fails here as it
# would under devenv ("The option … does not exist").  `env` is lazy, as in
# devenv, so a value may read another (`stateDir` reads DEVENV_STATE).
{ config, lib, pkgs, ... }:

let
  inherit (lib) mkOption mkEnableOption types;
  option = type: default: mkOption { inherit type default; };
  names = option (types.listOf types.str) [ ];

  ready = types.submodule {
    options = {
      exec = option (types.nullOr types.str) null;
      initial_delay = option types.int 0;
      period = option types.int 10;
      probe_timeout = option types.int 1;
      success_threshold = option types.int 1;
      failure_threshold = option types.int 3;
      timeout = option (types.nullOr types.ints.unsigned) null;
    };
  };

  process = types.submodule {
    options = {
      exec = mkOption { type = types.str; };
      cwd = option (types.nullOr types.str) null;
      env = option (types.attrsOf types.str) { };
      after = names;
      before = names;
      ready = option (types.nullOr ready) null;
      restart = option
        (types.submodule {
          options = {
            on = option (types.enum [ "never" "always" "on_failure" ]) "on_failure";
            max = option (types.nullOr types.int) 5;
            window = option (types.nullOr types.ints.unsigned) null;
          };
        })
        { };
    };
  };

  task = types.submodule {
    options = {
      exec = option (types.nullOr types.str) null;
      status = option (types.nullOr types.str) null;
      description = option types.str "";
      cwd = option (types.nullOr types.str) null;
      execIfModified = names;
      after = names;
      before = names;
    };
  };

  script = types.submodule {
    options = {
      exec = mkOption { type = types.either types.str types.path; };
      description = option types.str "";
      packages = option (types.listOf types.package) [ ];
    };
  };
in
{
  options = {
    devenv.root = mkOption { type = types.str; };
    devenv.state = option types.str "${config.devenv.root}/.devenv/state";

    env = option (types.lazyAttrsOf types.str) { };
    packages = option (types.listOf types.package) [ ];
    enterShell = option types.lines "";
    enterTest = option types.lines "";
    processes = option (types.attrsOf process) { };
    tasks = option (types.attrsOf task) { };
    scripts = option (types.attrsOf script) { };

    languages.python = {
      enable = mkEnableOption "tools for Python development";
      package = option types.package pkgs.python3;
      venv.enable = mkEnableOption "Python virtual environment";
      venv.requirements = option (types.nullOr (types.either types.lines types.path)) null;
    };
    languages.rust = {
      enable = mkEnableOption "tools for Rust development";
      channel = option (types.enum [ "nixpkgs" "stable" "beta" "nightly" ]) "nixpkgs";
      components = names;
    };
  };

  config.env = {
    DEVENV_ROOT = config.devenv.root;
    DEVENV_STATE = config.devenv.state;
  };
}
