"""Where the state directory is, and the configuration in force.

Sources, lowest precedence first (docs/configuration.md):

  1. built-in defaults and agent profiles
  2. ``<repository root>/cairn.toml``           shared with the team
  3. ``$CAIRN_HOME/config.toml``                this machine's own
  4. the file named by ``$CAIRN_CONFIG``       (.toml or .json; devenv renders one)
  5. ``CAIRN_*`` environment variables          (ENVIRONMENT_KEYS below)
  6. command-line flags                         (applied by each command)

Validating means importing pydantic, which costs far more than a whole
``cairn status``; so the validated result is cached per repository under
``$XDG_CACHE_HOME/cairn/`` keyed by every source's (path, size, mtime, inode)
and the ``CAIRN_*`` values, and the cache is only ever a copy: delete it and
nothing changes but speed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from cairn import __version__
from cairn.errors import ConfigError
from cairn.state import atomic
from cairn.state.layout import Layout, default_home, find_repo_root, home_from_environment

TYPE_CHECKING = False  # typing and the schema load only when a command needs more than the cached basics
if TYPE_CHECKING:
    from typing import Any

    from cairn.config.schema import Config


class Settings:
    """Everything a command needs to know about where it runs.

    From the cache, ``config`` is built on first use: ``cairn status`` and
    ``cairn queue`` read only ``max_agents``, ``default_agent`` and the agent
    names, straight from the cached data, and never pay for the schema.
    """

    __slots__ = ("root", "layout", "_config", "_data")

    def __init__(self, root: Path | None, layout: Layout, config: Config | None = None, data: dict[str, Any] | None = None) -> None:
        self.root = root
        self.layout = layout
        self._config = config
        self._data = data

    @property
    def config(self) -> Config:
        if self._config is None:
            from cairn.config.schema import Config
            from cairn.core import codec

            self._config = codec.decode(Config, self._data)
        return self._config

    def section(self, name: str) -> Any:
        """One table of the configuration (``checks``, ``accept``, ``bootstrap``,
        ``notify``…), decoded alone from the cache: accept and reject need a
        few settings, not every agent profile built."""
        if self._config is not None:
            return getattr(self._config, name)
        from cairn.config.schema import Config
        from cairn.core import codec, records

        return codec.decode(records.hints(Config)[name], self._basics[name], name)

    @property
    def _basics(self) -> dict[str, Any]:
        """The cached basics (without a Config there always are: see ``resolve``)."""
        assert self._data is not None
        return self._data

    @property
    def max_agents(self) -> int:
        return self._config.max_agents if self._config is not None else int(self._basics["max_agents"])

    @property
    def default_agent(self) -> str:
        return self._config.default_agent if self._config is not None else str(self._basics["default_agent"])

    @property
    def default_executor(self) -> str:
        return self._config.executor if self._config is not None else str(self._basics.get("executor", "local"))

    @property
    def executor_limits(self) -> dict[str, int]:
        """Each cluster executor's own concurrency limit (core/schedule.py)."""
        if self._config is not None:
            executors = self._config.executors
            return {"ray": executors.ray.max_agents, "slurm": executors.slurm.max_agents}
        data = self._basics["executors"]
        return {name: int(data[name]["max_agents"]) for name in ("ray", "slurm")}

    @property
    def keep_out(self) -> list[str]:
        """What bootstrap puts in a workspace (``bootstrap.copy`` and ``symlink``): never the work."""
        if self._config is not None:
            bootstrap = self._config.bootstrap
            return [*bootstrap.copy, *bootstrap.symlink]
        data = self._basics["bootstrap"]
        return [str(p) for p in (*data["copy"], *data["symlink"])]

    @property
    def agent_names(self) -> list[str]:
        return list(self._config.agents if self._config is not None else self._basics["agents"])

    @property
    def home(self) -> Path:
        return self.layout.home

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Settings):
            return NotImplemented
        return (self.root, self.layout, self.config) == (other.root, other.layout, other.config)

    def __hash__(self) -> int:
        return hash((self.root, self.layout))

    def __repr__(self) -> str:
        return f"Settings(root={self.root!r}, home={self.layout.home!r})"

    @property
    def workspace_dir(self) -> Path:
        """Where task workspaces go: ``workspace_dir`` (relative to the
        repository root, never to wherever a command happens to run), else
        ``$CAIRN_HOME/workspaces``."""
        if self.config.workspace_dir:
            configured = Path(self.config.workspace_dir).expanduser()
            if not configured.is_absolute() and self.root is not None:
                return Path(os.path.normpath(self.root / configured))
            return configured
        return self.layout.workspaces


class Source:
    """One source of settings (not a dataclass: ``dataclasses`` imports ``inspect``, a cost on every command)."""

    __slots__ = ("name", "data", "variables")

    def __init__(self, name: str, data: dict[str, Any], variables: dict[str, str] | None = None) -> None:
        self.name = name  # for messages: a path or "environment"
        self.data = data
        #: The environment source: each key's variable, for messages (``max_agents`` -> ``CAIRN_MAX_AGENTS``).
        self.variables = variables or {}


def main_worktree(root: Path) -> Path:
    """The main worktree's root when ``root`` is a linked git worktree (``.git`` is a file)
    or a secondary jj workspace (``.jj/repo`` is a file naming the repository's store).

    A user standing in a task's workspace still means the repository the
    task belongs to, and its state directory.
    """
    jj_repo = root / ".jj" / "repo"
    if jj_repo.is_file():
        return _jj_main_workspace(root, jj_repo)
    dot_git = root / ".git"
    if not dot_git.is_file():
        return root
    try:
        pointer = dot_git.read_text().strip()
    except OSError:
        return root
    if not pointer.startswith("gitdir:"):
        return root
    gitdir = (root / pointer.removeprefix("gitdir:").strip()).resolve()
    common = gitdir / "commondir"
    if common.is_file():
        common_dir = (gitdir / common.read_text().strip()).resolve()
        if common_dir.name == ".git":
            return common_dir.parent
    return root


def _jj_main_workspace(root: Path, pointer: Path) -> Path:
    """The workspace holding ``.jj/repo`` itself; the pointer is relative to ``.jj``."""
    try:
        store = (pointer.parent / pointer.read_text().strip()).resolve()
    except OSError:
        return root
    if store.name == "repo" and store.parent.name == ".jj" and store.is_dir():
        return store.parent.parent
    return root


def repo_root(cwd: Path) -> Path | None:
    found = find_repo_root(cwd)
    return main_worktree(found) if found else None


def resolve(cwd: Path | None = None, *, home: Path | None = None) -> Settings:
    """The settings for a command started in ``cwd``: cached when nothing changed.
    ``home``: as if CAIRN_HOME named it (the scheduler checks what its runners will load)."""
    cwd = cwd or Path.cwd()
    env_home = home or home_from_environment()
    root = _root_for(env_home, cwd)
    if env_home is None and root is None:
        from cairn.errors import NotARepository

        raise NotARepository(
            f"{cwd} is not inside a git or jj repository",
            hint="run Cairn inside your repository, or set CAIRN_HOME to a state directory",
        )
    cache_file = _cache_file(root, env_home)
    environment = _cairn_environment()
    cached = _read_cache(cache_file)
    if cached is not None and cached.get("key") == _key(cached["files"], environment):
        return Settings(root, Layout(Path(cached["home"])), data=cached["config"])

    sources, files, home = _read_sources(root, env_home, environment)
    from cairn.config.validate import validate

    config = validate(sources)
    _write_cache(cache_file, files, environment, home, config)
    return Settings(root, Layout(home), config)


def resolve_for_reading(cwd: Path | None = None) -> tuple[Settings, ConfigError | None]:
    """Settings for a command that only reads the state directory (``cairn
    status``): with an invalid configuration, the state directory it names
    and the defaults for the rest, and the error to tell the user about."""
    try:
        return resolve(cwd), None
    except ConfigError as error:
        cwd = cwd or Path.cwd()
        env_home = home_from_environment()
        root = _root_for(env_home, cwd)
        if env_home is None and root is None:
            raise
        try:
            repo_config = _read_file_source(root / "cairn.toml") if root is not None else None
        except ConfigError:
            repo_config = None  # unreadable: its ``home`` cannot be known, the default is used
        from cairn.config.schema import Config

        # Cairn's defaults (no agents): whatever a reader asks of the settings has an answer.
        return Settings(root, Layout(_home(env_home, root, repo_config)), Config()), error


def _root_for(env_home: Path | None, cwd: Path) -> Path | None:
    if env_home is not None:
        recorded = _recorded_repo(env_home)
        if recorded is not None:
            return recorded
    return repo_root(cwd)


def _recorded_repo(home: Path) -> Path | None:
    try:
        meta = json.loads((home / "meta.json").read_text())
        return Path(meta["repo"]) if meta.get("repo") else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _home(env_home: Path | None, root: Path | None, repo_config: Source | None) -> Path:
    """CAIRN_HOME, else ``home`` in cairn.toml (relative to the root), else ``<root>/.cairn``."""
    if env_home is not None:
        return env_home
    assert root is not None
    configured = repo_config.data.get("home") if repo_config else None
    if isinstance(configured, str) and configured:
        return (root / Path(configured).expanduser()).resolve()
    return default_home(root)


#: Environment variables that set a top-level key (``CAIRN_MAX_AGENTS=8``).
ENVIRONMENT_KEYS = {
    "CAIRN_DEFAULT_AGENT": "default_agent",
    "CAIRN_MAX_AGENTS": "max_agents",
    "CAIRN_VCS": "vcs",
    "CAIRN_WORKSPACE_DIR": "workspace_dir",
    "CAIRN_TIMEOUT": "timeout",
    "CAIRN_IDLE_AFTER": "idle_after",
    "CAIRN_TMUX": "tmux",
    "CAIRN_EXECUTOR": "executor",
    "CAIRN_PREFLIGHT": "preflight",
    "CAIRN_SANDBOX": "sandbox",
}


def _cairn_environment() -> dict[str, str]:
    """The variables that change the configuration, and nothing else: an agent's
    CAIRN_TASK_ID or the runner's CAIRN_HOME must not make the cache miss
    (CAIRN_HOME changes which files are read, and those are in the key)."""
    names = (*ENVIRONMENT_KEYS, "CAIRN_CONFIG")
    return {name: os.environ[name] for name in names if name in os.environ}


def _read_sources(
    root: Path | None, env_home: Path | None, environment: dict[str, str]
) -> tuple[list[Source], list[str], Path]:
    from cairn.agents.builtin import BUILTIN_AGENTS

    sources = [Source("built-in defaults", {"agents": BUILTIN_AGENTS})]
    files: list[str] = []
    repo_config = None
    if root is not None:
        files.append(str(root / "cairn.toml"))
        repo_config = _read_file_source(root / "cairn.toml")
    home = _home(env_home, root, repo_config)
    files.append(str(Layout(home).config_file))
    if environment.get("CAIRN_CONFIG"):
        files.append(str(Path(environment["CAIRN_CONFIG"]).expanduser()))
    for name in files:
        source = repo_config if repo_config and name == files[0] else _read_file_source(Path(name))
        if source is not None:
            sources.append(source)
        elif environment.get("CAIRN_CONFIG") and name == files[-1]:
            raise ConfigError(
                f"CAIRN_CONFIG names {name}, which does not exist",
                hint="point CAIRN_CONFIG at a .toml or .json file, or unset it",
            )
    env_data = {
        key: environment[variable]
        for variable, key in ENVIRONMENT_KEYS.items()
        if environment.get(variable, "") != ""
    }
    if env_data:
        sources.append(Source("environment", env_data, {key: variable for variable, key in ENVIRONMENT_KEYS.items()}))
    return sources, files, home


def _read_file_source(path: Path) -> Source | None:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read it: {error.strerror}") from error
    try:
        if path.suffix == ".json":
            data = json.loads(raw)
        else:
            import tomllib

            data = tomllib.loads(raw.decode())
    except (ValueError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: not valid {'JSON' if path.suffix == '.json' else 'TOML'}: {error}") from error
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a table of settings at the top level")
    return Source(str(path), data)


def _stat_key(name: str) -> list[int] | None:
    try:
        st = os.stat(name)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns, st.st_ino]


#: Cairn's own sources whose content is part of every configuration: the
#: schema's defaults and the built-in profiles.  In the key, so an edited
#: (editable install) or upgraded Cairn never serves yesterday's built-ins.
_PACKAGE_SOURCES = [
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "schema.py"),
    os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "agents", "builtin.py"),
]


def _key(files: list[str], environment: dict[str, str]) -> list[Any]:
    return [__version__, [[name, _stat_key(name)] for name in files + _PACKAGE_SOURCES], environment]


def _cache_file(root: Path | None, env_home: Path | None) -> Path:
    """One cache per repository and CAIRN_HOME: CAIRN_HOME is not in the key,
    so a cache written for another state directory would hand out that one.
    And one per installed Cairn: two installs used on one repository (a Nix
    profile's and a pip one) would each find the other's cache stale and
    validate the whole configuration again on every command."""
    import zlib

    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    anchor = str(root or env_home).strip("/").replace("/", "%")
    if root is not None and env_home is not None:
        anchor += "@" + str(env_home).strip("/").replace("/", "%")
    install = format(zlib.crc32(_PACKAGE_SOURCES[0].encode()), "08x")
    return Path(base) / "cairn" / "config" / install / f"{anchor}.json"


def _read_cache(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not {"key", "files", "home", "config"} <= data.keys():
        return None
    return data


def _write_cache(path: Path, files: list[str], environment: dict[str, str], home: Path, config: Config) -> None:
    from cairn.core import codec

    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        atomic.write_json(
            path,
            {"key": _key(files, environment), "files": files, "home": str(home), "config": codec.encode(config)},
        )
    except OSError:
        pass  # a cache we cannot write only costs speed
