# Cairn from another flake: the `cairn` input (devenv.yaml, or flake.nix
# here) brings its devenv module, with Cairn's own build as the package.
{ inputs, ... }:

{
  imports = [ inputs.cairn.devenvModules.default ];

  services.cairn = {
    enable = true;
    maxAgents = 2;
  };
}
