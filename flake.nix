# Cairn as a flake: the package, an app, an overlay, the devenv module, checks
# and a development shell, for the usual four systems.
#
# Two ways in for devenv users (docs/devenv.md): this flake's
# `devenvModules.default`, whose package is this flake's build, or
# `modules/cairn.nix` imported straight from a devenv.yaml input, which builds
# Cairn with the project's own nixpkgs.
{
  description = "Cairn: run a crew of AI coding agents in parallel on one repository";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";
    devenv.url = "github:cachix/devenv";
  };

  outputs = { self, nixpkgs, devenv, ... }@inputs:
    let
      inherit (nixpkgs) lib;
      systems = [ "x86_64-linux" "aarch64-linux" "x86_64-darwin" "aarch64-darwin" ];
      forAllSystems = f: lib.genAttrs systems (system: f system nixpkgs.legacyPackages.${system});
    in
    {
      packages = forAllSystems (_: pkgs: {
        default = pkgs.callPackage ./nix/package.nix { };
      });

      apps = forAllSystems (system: _: {
        default = {
          type = "app";
          program = "${self.packages.${system}.default}/bin/cairn";
          meta.description = "The cairn command";
        };
      });

      overlays.default = final: _prev: {
        cairn = final.callPackage ./nix/package.nix { };
      };

      devenvModules.default = { lib, pkgs, ... }: {
        # Errors in this module name this file, not `<unknown-file>`.
        _file = ./flake.nix;
        imports = [ ./modules/cairn.nix ];
        services.cairn.package =
          lib.mkDefault self.packages.${pkgs.stdenv.hostPlatform.system}.default;
      };

      checks = forAllSystems (system: pkgs: import ./nix/checks.nix {
        inherit pkgs self;
        cairn = self.packages.${system}.default;
      });

      # `nix develop --no-pure-eval`: the same environment as `devenv shell`.
      devShells = forAllSystems (_: pkgs: {
        default = devenv.lib.mkShell {
          inherit inputs pkgs;
          modules = [ ./devenv.nix ];
        };
      });
    };
}
