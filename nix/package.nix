# Cairn as a Nix package: the Python application of pyproject.toml, built by
# nixpkgs' buildPythonApplication (a pyproject build with setuptools).
#
# Name, version, description and dependencies come from pyproject.toml, so a
# dependency added there is added here: a PyPI name maps to the python3Packages
# attribute of the same name (true for all of Cairn's; normalise here if a
# future one differs).  The test suite is not run by the build: it drives
# real git, tmux and agent processes and runs as the flake's `checks.tests`
# (nix/checks.nix), from the `testEnv` below.
#
# Besides the commands it installs what `man` and the shells look for: the
# man pages the wheel carries (rendered from docs/cli.md at build time, see
# setup.py) and the completion scripts `cairn completion` prints.
{ lib, python3Packages, installShellFiles }:

let
  project = (lib.importTOML ../pyproject.toml).project;
  pypiName = spec: builtins.head (builtins.match "([A-Za-z0-9._-]+).*" spec);
  fromPyPI = map (spec: python3Packages.${pypiName spec});
  dependencies = fromPyPI project.dependencies;
  testDependencies = fromPyPI project.optional-dependencies.test;

  # The checkout without what a working copy accumulates.
  junk = [ ".git" ".venv" ".devenv" ".direnv" ".cairn" ".tools" "build" "dist"
           "__pycache__" ".pytest_cache" ".hypothesis" "result" ];
  src = builtins.path {
    name = "cairn-source";
    path = ../.;
    filter = path: _type:
      let name = baseNameOf path;
      in !(builtins.elem name junk || lib.hasSuffix ".egg-info" name || lib.hasPrefix "result-" name);
  };
in
python3Packages.buildPythonApplication {
  pname = project.name;
  inherit (project) version;
  inherit src dependencies;
  pyproject = true;
  build-system = [ python3Packages.setuptools ];
  nativeBuildInputs = [ installShellFiles ];
  # Runs before the wrappers exist, so cairn's own modules are put on the
  # path by hand; `cairn completion` needs none of the dependencies.
  postInstall = ''
    installManPage $out/${python3Packages.python.sitePackages}/cairn/man/man1/*.1
    cairnCompletion() {
      PYTHONPATH=$out/${python3Packages.python.sitePackages}''${PYTHONPATH:+:$PYTHONPATH} $out/bin/cairn completion "$1"
    }
    installShellCompletion --cmd cairn \
      --bash <(cairnCompletion bash) \
      --zsh <(cairnCompletion zsh) \
      --fish <(cairnCompletion fish)
  '';
  doCheck = false;
  pythonImportsCheck = [ "cairn" ];

  passthru.testEnv = python3Packages.python.withPackages
    (_: dependencies ++ testDependencies ++ [ python3Packages.setuptools python3Packages.pip ]);

  meta = {
    inherit (project) description;
    license = lib.licenses.mit;
    mainProgram = "cairn";
  };
}
