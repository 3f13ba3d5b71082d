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


def test_errors_in_the_module_output_name_the_flake_not_an_unknown_file(nix: Nix) -> None:
    # A second default for the package conflicts with the flake's own: the message lists both definitions.
    expression = (
        f"let flake = {FLAKE}; in import {path(REPO / 'tests' / 'nix' / 'eval.nix')} {{ modules = [ flake.devenvModules.default "
        '{ services.cairn.enable = true; } ({ lib, pkgs, ... }: { services.cairn.package = lib.mkDefault pkgs.git; }) ]; }'
    )
    error = nix.error(expression)
    assert "<unknown-file>" not in error, error
    assert "flake.nix" in error, error
