# Cairn on a Rust project: the toolchain from nixpkgs, checks that match CI.
{ config, ... }:

{
  imports = [ ../../modules/cairn.nix ];

  languages.rust.enable = true;

  # One target directory for every workspace: builds share their artifacts
  # (cargo takes a lock on it, so parallel builds take turns).
  env.CARGO_TARGET_DIR = "${config.env.DEVENV_STATE}/cargo-target";

  services.cairn = {
    enable = true;
    defaultAgent = "claude";
    check = {
      commands = [
        [ "cargo" "fmt" "--check" ]
        [ "cargo" "clippy" "--all-targets" "--" "-D" "warnings" ]
        [ "cargo" "test" ]
      ];
      timeout = "30m";
    };
  };
}
