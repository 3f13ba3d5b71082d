# The same environment for `nix develop --no-pure-eval`, and Cairn's package
# for `nix profile install` / `nix run`, all from the `cairn` input.
{
  inputs = {
    nixpkgs.url = "github:cachix/devenv-nixpkgs/rolling";
    devenv.url = "github:cachix/devenv";
    # In your project: github:OWNER/cairn (wherever you get Cairn from).
    cairn.url = "path:../..";
  };

  outputs = { nixpkgs, devenv, cairn, ... }@inputs:
    let
      systems = [ "x86_64-linux" "aarch64-linux" "x86_64-darwin" "aarch64-darwin" ];
      forAllSystems = f: nixpkgs.lib.genAttrs systems (system: f system);
    in
    {
      devShells = forAllSystems (system: {
        default = devenv.lib.mkShell {
          inherit inputs;
          pkgs = nixpkgs.legacyPackages.${system};
          modules = [ ./devenv.nix ];
        };
      });

      packages = forAllSystems (system: {
        default = cairn.packages.${system}.default;
      });
    };
}
