# Working on Cairn itself: `devenv shell` gives Python with Cairn installed
# editable (and its test tools) in a virtualenv, git, tmux and jj;
# `devenv test` runs the suite; `devenv up` runs Cairn's scheduler on this
# repository through the module Cairn ships.
#
# The module's package is a wrapper around the virtualenv's `cairn`, so the
# process runs the working tree as it is, not a build of it: restart the
# process after a change.
{ config, pkgs, ... }:

let
  venv = "${config.env.DEVENV_STATE}/venv";
in
{
  imports = [ ./modules/cairn.nix ];

  languages.python = {
    enable = true;
    package = pkgs.python312;
    venv.enable = true;
  };

  # pip runs when pyproject.toml changed, not on every shell.
  tasks."cairn-dev:install" = {
    description = "Install Cairn editable, with its test tools, into the virtualenv";
    exec = ''"${venv}/bin/python" -m pip install --quiet --editable ".[test]"'';
    cwd = config.env.DEVENV_ROOT;
    execIfModified = [ "pyproject.toml" ];
    after = [ "devenv:python:virtualenv" ];
    before = [ "devenv:enterShell" ];
  };

  # The module's commands run the virtualenv's cairn: install it first.
  tasks."cairn:init".after = [ "cairn-dev:install" ];

  services.cairn = {
    enable = true;
    package = pkgs.writeShellScriptBin "cairn" ''exec "${venv}/bin/cairn" "$@"'';
    jj.enable = true;
    gc.interval = "1h";
  };

  enterTest = ''
    python -m pytest -q -n auto
  '';
}
