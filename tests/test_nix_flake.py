"""flake.nix and nix/package.nix, evaluated with stand-in inputs.

The flake's `outputs` function is called as `nix flake` would call it, but with
the fake nixpkgs and devenv of tests/nix/inputs.nix: every output exists for
the four systems and has the shape Nix expects, the module output uses the
flake's own package, and the package agrees with pyproject.toml.  Also the
flake-input example, with this flake as its `cairn` input.
"""

from __future__ import annotations

import re
import tomllib

from nixeval import INPUTS, REPO, Nix, nix, path, requires_nix  # noqa: F401  (nix: fixture)

pytestmark = requires_nix

SYSTEMS = ["aarch64-darwin", "aarch64-linux", "x86_64-darwin", "x86_64-linux"]
FLAKE = f"((import {INPUTS} {{ }}).callFlake {path(REPO)} {{ }})"
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
PACKAGE = f"{PROJECT['name']}-{PROJECT['version']}"


def flake_value(expression: str, nix: Nix) -> object:
    return nix.value(f"let flake = {FLAKE}; inputs = import {INPUTS} {{ }}; in {expression}")


def test_the_flake_declares_its_inputs(nix: Nix) -> None:
    declared = nix.value(f"let f = import {path(REPO / 'flake.nix')}; in {{ inherit (f) description inputs; }}")
    assert declared["description"]
    assert set(declared["inputs"]) == {"nixpkgs", "devenv"}
    assert declared["inputs"]["nixpkgs"]["url"].startswith("github:NixOS/nixpkgs")


def test_every_output_for_every_system(nix: Nix) -> None:
    shape = flake_value(
        "{ outputs = builtins.attrNames flake; "
        "  systems = builtins.mapAttrs (_: builtins.attrNames) { inherit (flake) packages apps checks devShells; }; "
        "  perSystem = builtins.mapAttrs (_: s: builtins.mapAttrs (_: builtins.attrNames) s) "
        "    { inherit (flake) packages apps checks devShells; }; }",
        nix,
    )
    assert {"packages", "apps", "overlays", "devenvModules", "checks", "devShells"} <= set(shape["outputs"])
    assert shape["systems"] == {name: SYSTEMS for name in ("packages", "apps", "checks", "devShells")}
    for system in SYSTEMS:
        assert shape["perSystem"]["packages"][system] == ["default"]
        assert shape["perSystem"]["apps"][system] == ["default"]
        assert shape["perSystem"]["checks"][system] == ["module", "tests"]
        assert shape["perSystem"]["devShells"][system] == ["default"]


def test_package_app_and_overlay(nix: Nix) -> None:
    found = flake_value(
        'let pkgs = inputs.nixpkgs.legacyPackages.x86_64-linux; package = flake.packages.x86_64-linux.default; in {'
        '  package = { inherit (package) type name; path = package.outPath; inherit (package.meta) mainProgram; };'
        '  app = { inherit (flake.apps.x86_64-linux.default) type program; };'
        '  overlay = (flake.overlays.default pkgs pkgs).cairn.name; }',
        nix,
    )
    assert found["package"]["type"] == "derivation"
    assert found["package"]["name"] == PACKAGE
    assert found["package"]["mainProgram"] == "cairn"
    assert found["app"] == {"type": "app", "program": found["package"]["path"] + "/bin/cairn"}
    assert found["overlay"] == PACKAGE


def test_the_module_output_uses_the_flakes_own_package(nix: Nix) -> None:
    found = flake_value(
        f'{{ package = flake.packages.x86_64-linux.default.outPath; '
        f'  evaluated = import {path(REPO / "tests" / "nix" / "eval.nix")} {{ '
        f'    modules = [ flake.devenvModules.default {{ services.cairn.enable = true; }} ]; }}; }}',
        nix,
    )
    assert found["evaluated"]["cairn"]["package"]["path"] == found["package"]
    assert found["evaluated"]["processes"]["cairn"]["exec"] == f"exec {found['package']}/bin/cairn up"


def test_the_checks_evaluate_the_module_the_project_and_every_example(nix: Nix) -> None:
    evaluation = flake_value("builtins.fromJSON flake.checks.x86_64-linux.module.text", nix)
    examples = sorted(p.parent.name for p in (REPO / "examples").glob("*/devenv.nix"))

    assert sorted(evaluation["examples"]) == examples
    assert "cairn" in evaluation["defaults"]["processes"]
    assert "cairn" in evaluation["project"]["processes"]


def test_the_dev_shell_is_the_projects_devenv(nix: Nix) -> None:
    shell = flake_value("flake.devShells.x86_64-linux.default.evaluation", nix)
    assert "cairn" in shell["processes"]
    assert "pytest" in shell["enterTest"]


def test_the_package_agrees_with_pyproject(nix: Nix) -> None:
    package = flake_value(
        "let p = flake.packages.x86_64-linux.default; in {"
        "  inherit (p) pname version; inherit (p.meta) description;"
        "  dependencies = map (d: d.name) p.dependencies;"
        "  testEnv = map (d: d.name) p.testEnv.packages;"
        "  buildSystem = map (d: d.name) p.build-system; }",
        nix,
    )

    def names(specs: list[str]) -> list[str]:
        return [re.match(r"[A-Za-z0-9._-]+", spec).group() for spec in specs]

    assert package["pname"] == PROJECT["name"]
    assert package["version"] == PROJECT["version"]
    assert package["description"] == PROJECT["description"]
    assert package["dependencies"] == names(PROJECT["dependencies"])
    assert set(names(PROJECT["optional-dependencies"]["test"])) <= set(package["testEnv"])
    assert package["buildSystem"] == ["setuptools"]


def test_the_flake_input_example(nix: Nix) -> None:
    example = path(REPO / "examples" / "flake-input")
    found = nix.value(
        f"let inputs = import {INPUTS} {{ }}; cairn = {FLAKE}; "
        f"example = inputs.callFlake {example} {{ inherit cairn; }}; in {{ "
        f"  cairn = cairn.packages.x86_64-linux.default.outPath; "
        f"  package = example.packages.x86_64-linux.default.outPath; "
        f"  shell = example.devShells.x86_64-linux.default.evaluation.cairn; }}"
    )
    assert found["package"] == found["cairn"]
    assert found["shell"]["package"]["path"] == found["cairn"]


def test_the_package_installs_man_pages_and_completions(nix: Nix, tmp_path) -> None:
    """The package's postInstall, as Nix evaluates it, run against an installed Cairn.

    installShellFiles' two functions are stood in for with what they do
    (nixpkgs' pkgs/build-support/install-shell-files): a man page goes to
    share/man/man<section>/, a completion to the directory its shell reads,
    named for --cmd.  $out holds the package and the man pages rendered from
    docs/cli.md, as the wheel's build leaves them.
    """
    import os
    import shutil
    import subprocess
    import sys

    from conftest import BIN

    found = flake_value(
        "let p = flake.packages.x86_64-linux.default; in {"
        "  inherit (p) postInstall; nativeBuildInputs = map (d: d.name) p.nativeBuildInputs;"
        "  sitePackages = inputs.nixpkgs.legacyPackages.x86_64-linux.python3.sitePackages; }",
        nix,
    )
    assert "installShellFiles" in found["nativeBuildInputs"]

    out = tmp_path / "out"
    (out / "bin").mkdir(parents=True)
    (out / "bin" / "cairn").symlink_to(BIN / "cairn")
    site = out / found["sitePackages"]
    shutil.copytree(REPO / "cairn", site / "cairn", ignore=shutil.ignore_patterns("__pycache__"))
    rendered = subprocess.run([sys.executable, str(REPO / "man" / "render.py"), str(site / "cairn" / "man" / "man1")],
                              cwd=REPO, capture_output=True, text=True)
    assert rendered.returncode == 0, rendered.stderr
    stand_ins = r'''
installManPage() { for page in "$@"; do s=${page##*.}; mkdir -p "$out/share/man/man$s"; cp "$page" "$out/share/man/man$s/"; done; }
installShellCompletion() {
    local name="" shell
    while [ $# -gt 0 ]; do
        case $1 in
            --cmd) name=$2; shift 2 ;;
            --bash) mkdir -p "$out/share/bash-completion/completions"; cat "$2" > "$out/share/bash-completion/completions/$name.bash"; shift 2 ;;
            --zsh) mkdir -p "$out/share/zsh/site-functions"; cat "$2" > "$out/share/zsh/site-functions/_$name"; shift 2 ;;
            --fish) mkdir -p "$out/share/fish/vendor_completions.d"; cat "$2" > "$out/share/fish/vendor_completions.d/$name.fish"; shift 2 ;;
            *) echo "installShellCompletion: unexpected $1" >&2; return 1 ;;
        esac
    done
}
set -eu
'''
    installed = subprocess.run(["bash", "-c", stand_ins + found["postInstall"]], env={**os.environ, "out": str(out)},
                               capture_output=True, text=True, timeout=120)
    assert installed.returncode == 0, installed.stderr

    share = out / "share"
    assert (share / "man" / "man1" / "cairn-accept.1").is_file() and (share / "man" / "man1" / "cairn.1").is_file()
    bash_script = share / "bash-completion" / "completions" / "cairn.bash"
    registered = subprocess.run(["bash", "--norc", "-c", f"source {bash_script} && complete -p cairn-accept"], capture_output=True, text=True)
    assert registered.stdout.strip() == "complete -F _cairn cairn-accept", registered.stderr
    assert (share / "zsh" / "site-functions" / "_cairn").read_text().startswith("#compdef cairn ")
    assert "complete -c cairn" in (share / "fish" / "vendor_completions.d" / "cairn.fish").read_text()
    if shutil.which("man"):
        page = subprocess.run(["man", "cairn-accept"], env={**os.environ, "MANPATH": str(share / "man"), "MANWIDTH": "80"},
                              capture_output=True, text=True)
        assert page.returncode == 0 and "land a task on its target branch" in " ".join(page.stdout.split()), page.stderr


def test_errors_in_the_module_output_name_the_flake_not_an_unknown_file(nix: Nix) -> None:
    # A second default for the package conflicts with the flake's own: the message lists both definitions.
    expression = (
        f"let flake = {FLAKE}; in import {path(REPO / 'tests' / 'nix' / 'eval.nix')} {{ modules = [ flake.devenvModules.default "
        '{ services.cairn.enable = true; } ({ lib, pkgs, ... }: { services.cairn.package = lib.mkDefault pkgs.git; }) ]; }'
    )
    error = nix.error(expression)
    assert "<unknown-file>" not in error, error
    assert "flake.nix" in error, error
