"""Everything about the package is in pyproject.toml; this adds one build
step: the man pages, rendered from docs/cli.md (man/render.py) into the
package as cairn/man/man1/*.1, so every wheel carries them."""

import importlib.util
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SOURCE = Path(__file__).resolve().parent


class build_py_with_man_pages(build_py):
    def run(self) -> None:
        super().run()
        spec = importlib.util.spec_from_file_location("cairn_man_render", SOURCE / "man" / "render.py")
        render = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = render  # dataclasses look their module up there
        spec.loader.exec_module(render)
        sys.path.insert(0, str(SOURCE))  # the verbs' one-line help, from this source (standard library only)
        from cairn import __version__
        from cairn.cmd.main import VERBS

        render.write(SOURCE / "docs" / "cli.md", __version__, VERBS, Path(self.build_lib) / "cairn" / "man" / "man1")


setup(cmdclass={"build_py": build_py_with_man_pages})
