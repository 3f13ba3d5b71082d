# Fake packages: derivations in name only, with the attributes Cairn's Nix
# files read.  Nothing is built; each outPath is a made-up store path (a
# written file's depends on its text).  A name missing here fails as
# "attribute missing", like a typo against nixpkgs.
{ lib, system ? "x86_64-linux" }:

let
  fake = name: attrs: {
    type = "derivation";
    inherit name system;
    outPath = "${builtins.storeDir}/${builtins.substring 0 32 (builtins.hashString "sha256" (name + attrs.text or ""))}-${name}";
    meta = { };
  } // attrs;

  byName = names: lib.genAttrs names (name: fake name { });

  python3Packages = byName [
    "click" "pydantic" "filelock" "psutil" "sh" "watchdog" "textual" "setuptools" "pip"
    "pytest" "pytest-xdist" "hypothesis" "coverage" "build" "jsonschema" "mypy" "types-psutil"
  ] // {
    python = python3;
    # Keeps what the tests compare with pyproject.toml.
    buildPythonApplication = args: fake "${args.pname}-${args.version}" ({
      inherit (args) pname version dependencies src;
      build-system = args.build-system or [ ];
      nativeBuildInputs = args.nativeBuildInputs or [ ];
      postInstall = args.postInstall or "";
      meta = args.meta or { };
    } // args.passthru or { });
  };

  python3 = fake "python3" {
    sitePackages = "lib/python3.12/site-packages";
    withPackages = select: fake "python3-env" { packages = select python3Packages; };
  };

  pkgs = byName [
    "git" "tmux" "jujutsu" "bash" "coreutils" "nix" "tmuxp" "ruff" "installShellFiles"
    "codex" "claude-code" "aider-chat"
  ] // {
    inherit lib system python3 python3Packages;
    python312 = python3;
    stdenv.hostPlatform.system = system;

    callPackage = fn: args:
      let f = if builtins.isFunction fn then fn else import fn;
      in f (builtins.intersectAttrs (builtins.functionArgs f) pkgs // args);

    writeText = name: text: fake name { inherit text; };
    writeShellScript = name: text: fake name { inherit text; };
    writeShellScriptBin = name: text: fake name { inherit text; meta.mainProgram = name; };
    runCommand = name: env: script: fake name { inherit script; };
  };
in
pkgs
