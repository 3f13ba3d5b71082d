# What `nix flake check` builds for one system:
#   tests   the whole test suite, in a virtualenv made the way developers make
#           theirs (the suite finds the cairn commands beside sys.executable)
#   module  the devenv module, the project's devenv.nix and the examples
#           evaluated with nixpkgs' own lib and packages, through the same
#           harness and devenv option stub the offline tests use
{ pkgs, cairn, self }:

let
  eval = modules: import ../tests/nix/eval.nix {
    inherit (pkgs) lib;
    inherit pkgs modules;
    inputs.cairn = self;
  };
  examples = builtins.filter
    (name: builtins.pathExists (../examples + "/${name}/devenv.nix"))
    (builtins.attrNames (builtins.readDir ../examples));
in
{
  tests = pkgs.runCommand "cairn-tests" {
    nativeBuildInputs = [ cairn.testEnv pkgs.git pkgs.tmux pkgs.nix ];
  } ''
    cp -r ${cairn.src} source
    chmod -R u+w source
    cd source
    export HOME=$TMPDIR/home
    python -m venv --system-site-packages "$TMPDIR/venv"
    "$TMPDIR/venv/bin/python" -m pip install --quiet --no-deps --no-index --no-build-isolation -e .
    "$TMPDIR/venv/bin/python" -m pytest -q -p no:cacheprovider -n "$NIX_BUILD_CORES"
    touch $out
  '';

  module = pkgs.writeText "cairn-module-evaluation.json" (builtins.toJSON {
    defaults = eval [ ../modules/cairn.nix { services.cairn.enable = true; } ];
    project = eval [ ../devenv.nix ];
    examples = pkgs.lib.genAttrs examples (name: eval [ (../examples + "/${name}/devenv.nix") ]);
  });
}
