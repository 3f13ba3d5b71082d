# The least that runs Cairn under devenv: the module and one agent.
{ pkgs, ... }:

{
  imports = [ ../../modules/cairn.nix ];

  # Codex CLI from nixpkgs; Cairn's built-in `codex` profile knows its flags.
  packages = [ pkgs.codex ];

  services.cairn = {
    enable = true;
    defaultAgent = "codex";
  };
}
