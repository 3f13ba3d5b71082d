"""Evaluate the repository's Nix files from pytest, offline.

``nix-instantiate`` runs against the dummy store (nothing is built, fetched or
written), with Nix's state, configuration and cache under a directory of the
test session's own and an empty NIX_PATH, so no test depends on /nix, on
the user's nix.conf or on another test: ``pytest -n auto`` is safe.

The stand-ins it evaluates with (tests/nix/): ``lib/`` for nixpkgs' lib,
``devenv.nix`` for devenv's options, ``pkgs.nix`` for packages, ``inputs.nix``
for flake inputs, and ``eval.nix``, which evaluates devenv modules and returns
plain data.  Nix expressions are passed as text; ``path()`` quotes a file.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
STAND_INS = REPO / "tests" / "nix"
NIX_INSTANTIATE = shutil.which("nix-instantiate")

requires_nix = pytest.mark.skipif(
    NIX_INSTANTIATE is None,
    reason="nix-instantiate is not installed (Debian: apt-get install nix-bin); CI installs it",
)


def path(file: Path | str) -> str:
    """A Nix path expression for ``file`` (absolute), safe whatever its characters."""
    return f"(/. + {json.dumps(str(Path(file).resolve()))})"


MODULE = path(REPO / "modules" / "cairn.nix")
EVAL = path(STAND_INS / "eval.nix")
INPUTS = path(STAND_INS / "inputs.nix")


class NixError(AssertionError):
    pass


@dataclass(frozen=True)
class Nix:
    environment: dict[str, str]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        assert NIX_INSTANTIATE is not None
        return subprocess.run(
            [NIX_INSTANTIATE, "--store", "dummy://", *args],
            capture_output=True, text=True, env=self.environment, cwd=REPO, timeout=60,
        )

    def value(self, expression: str) -> Any:
        """The value of ``expression``, fully evaluated, as JSON."""
        done = self.run("--eval", "--strict", "--json", "--expr", expression)
        if done.returncode != 0:
            raise NixError(f"nix-instantiate failed:\n{done.stderr}\nexpression:\n{expression}")
        return json.loads(done.stdout)

    def error(self, expression: str) -> str:
        """The message of the evaluation error ``expression`` must raise."""
        done = self.run("--eval", "--strict", "--json", "--expr", expression)
        if done.returncode == 0:
            raise NixError(f"expected an evaluation error, got {done.stdout}\nexpression:\n{expression}")
        return " ".join(done.stderr.split())  # Nix wraps and indents long messages

    def devenv(self, *modules: str, root: str = "/project", inputs: str = "{ }", lib: str | None = None) -> str:
        """The expression evaluating ``modules`` as devenv would (tests/nix/eval.nix)."""
        lib_argument = f"lib = {lib};" if lib else ""
        return f"import {EVAL} {{ modules = [ {' '.join(modules)} ]; root = {json.dumps(root)}; inputs = {inputs}; {lib_argument} }}"

    def evaluate(self, *modules: str, **options: Any) -> dict[str, Any]:
        return self.value(self.devenv(*modules, **options))


@pytest.fixture(scope="session")
def nix(tmp_path_factory: pytest.TempPathFactory) -> Nix:
    if NIX_INSTANTIATE is None:
        pytest.skip("nix-instantiate is not installed (Debian: apt-get install nix-bin); CI installs it")
    base = tmp_path_factory.mktemp("nix")
    for name in ("state", "conf", "cache", "config", "data", "home"):
        (base / name).mkdir()
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(base / "home"),
        "NIX_STATE_DIR": str(base / "state"),
        "NIX_CONF_DIR": str(base / "conf"),
        "NIX_USER_CONF_FILES": str(base / "conf" / "nix.conf"),
        "XDG_CACHE_HOME": str(base / "cache"),
        "XDG_CONFIG_HOME": str(base / "config"),
        "XDG_DATA_HOME": str(base / "data"),
        "NIX_PATH": "",
        "LC_ALL": "C.UTF-8",
    }
    return Nix(environment)
