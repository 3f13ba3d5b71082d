# Stand-in flake inputs, enough of nixpkgs and devenv for a flake's `outputs`,
# and `callFlake`, which calls a flake.nix the way `nix flake` does (with
# `self`) but with these inputs: no lock file, no fetching, no store.
{ lib ? import ./lib }:

let
  systems = [ "x86_64-linux" "aarch64-linux" "x86_64-darwin" "aarch64-darwin" ];
  pkgsFor = system: import ./pkgs.nix { inherit lib system; };

  nixpkgs = {
    inherit lib;
    outPath = "${builtins.storeDir}/00000000000000000000000000000000-nixpkgs";
    legacyPackages = lib.genAttrs systems pkgsFor;
  };

  # mkShell evaluates the modules against the devenv stub; the shell carries
  # the evaluation for the tests to read.
  devenv = {
    outPath = "${builtins.storeDir}/00000000000000000000000000000000-devenv";
    lib.mkShell = { inputs, pkgs, modules }:
      (pkgs.writeText "devenv-shell" "") // {
        evaluation = import ./eval.nix { inherit lib pkgs inputs modules; inherit (pkgs) system; };
      };
  };

  callFlake = dir: extraInputs:
    let
      flake = import (dir + "/flake.nix");
      inputs = { inherit nixpkgs devenv; } // extraInputs // { inherit self; };
      self = flake.outputs inputs // { outPath = toString dir; inherit inputs; };
    in
    self;
in
{
  inherit nixpkgs devenv callFlake systems;
}
