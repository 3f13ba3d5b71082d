# Cairn on a Python project: the project's own tools in the shell, agents held
# to its tests and linter before anything lands.
{ pkgs, ... }:

{
  imports = [ ../../modules/cairn.nix ];

  languages.python = {
    enable = true;
    venv.enable = true;
    # The project's dependencies, not the project: see README.md.
    venv.requirements = ./requirements-dev.txt;
  };

  packages = [ pkgs.ruff pkgs.aider-chat ];

  services.cairn = {
    enable = true;
    defaultAgent = "aider";
    maxAgents = 3;
    # Run in the task's workspace; `python -m` puts the workspace first on sys.path.
    check.commands = [
      [ "ruff" "check" "." ]
      [ "python" "-m" "pytest" "-q" "-x" ]
    ];
  };
}
