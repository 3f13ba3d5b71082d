"""How a remote task's code travels: the base out to the node, the work back.

Out: the base commit is pushed to the configured remote on a ref of Cairn's
own (``refs/cairn/base/<id>``), or written as a git bundle of that ref that
travels with the job (Ray's working_dir; the shared filesystem for Slurm).
Back: the node pushes ``cairn/<id>`` to the remote, or writes it as a bundle
on the shared filesystem; ``fetch_result`` brings it into the repository as
the task's branch.  Once the work is here, the remote's refs for the task are
deleted: the local branch is the one copy Cairn looks after.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from cairn.errors import OperationFailed
from cairn.vcs.git import GitError, commit_of, git, git_ok
from cairn.workspaces.base import branch_name


def base_ref(task_id: int) -> str:
    return f"refs/cairn/base/{task_id}"


def job_name(root: Path, task_id: int) -> str:
    """Unique per repository and task, so two repositories can share a cluster."""
    key = hashlib.sha256(str(root).encode()).hexdigest()[:8]
    return f"cairn-{key}-{task_id}"


@dataclass(frozen=True, slots=True)
class Route:
    """Where a task's code goes out and comes back: a git URL, or bundles."""

    #: A git URL the nodes can fetch from and push to; None: bundles.
    remote: str | None
    #: A directory this machine and the nodes both see (bundles, Slurm's files).
    shared_dir: Path | None


def ship_base(root: Path, task_id: int, commit: str, route: Route, name: str) -> tuple[dict[str, str], dict[str, bytes]]:
    """Make the base reachable from the node: the spec's ``base`` part, and
    files to ship with the job (a bundle, when there is no remote)."""
    ref = base_ref(task_id)
    if route.remote is not None:
        try:
            git(root, "push", "--quiet", "--force", route.remote, f"{commit}:{ref}")
        except GitError as error:
            raise OperationFailed(
                f"cannot push the base of task {task_id} to {route.remote}: {error.stderr.strip() or error}",
                hint="check that this machine can push to the configured remote",
            ) from None
        return {"url": route.remote, "ref": ref, "commit": commit}, {}
    git(root, "update-ref", ref, commit)
    try:
        bundle = f"{name}.base.bundle"
        if route.shared_dir is not None:
            path = route.shared_dir / bundle
            git(root, "bundle", "create", "--quiet", str(path), ref)
            return {"bundle": str(path), "ref": ref, "commit": commit}, {}
        staging = root / ".git" / f"{bundle}.tmp"
        git(root, "bundle", "create", "--quiet", str(staging), ref)
        data = staging.read_bytes()
        staging.unlink()
        return {"bundle": bundle, "ref": ref, "commit": commit}, {bundle: data}
    finally:
        git(root, "update-ref", "-d", ref, check=False)


def result_spec(task_id: int, route: Route, name: str) -> dict[str, str]:
    if route.remote is not None:
        return {"url": route.remote}
    assert route.shared_dir is not None  # executors refuse a route with neither (config check)
    return {"bundle": str(route.shared_dir / f"{name}.result.bundle")}


def fetch_result(root: Path, task_id: int, route: Route, name: str) -> str | None:
    """Bring ``cairn/<id>`` from where the node left it; its commit, or None
    when the node sent nothing (it never got as far, or it was stopped)."""
    branch = branch_name(task_id)
    if route.remote is not None:
        if not git_ok(root, "ls-remote", "--exit-code", "--heads", route.remote, branch):
            return None
        source = route.remote
    else:
        assert route.shared_dir is not None
        bundle = route.shared_dir / f"{name}.result.bundle"
        if not bundle.is_file():
            return None
        source = str(bundle)
    try:
        git(root, "fetch", "--quiet", "--no-tags", source, f"+refs/heads/{branch}:refs/heads/{branch}")
    except GitError as error:
        raise OperationFailed(f"cannot fetch {branch} from {source}: {error.stderr.strip() or error}") from None
    return commit_of(root, f"refs/heads/{branch}")


def clean_up(root: Path, task_id: int, route: Route, name: str) -> None:
    """Forget the task's refs and files out there; the work is safe here (or was never sent)."""
    if route.remote is not None:
        git(root, "push", "--quiet", route.remote, f":{base_ref(task_id)}", check=False)
        if git_ok(root, "ls-remote", "--exit-code", "--heads", route.remote, branch_name(task_id)):
            git(root, "push", "--quiet", route.remote, f":refs/heads/{branch_name(task_id)}", check=False)
    if route.shared_dir is not None:
        # The bundles, and an engine's files for the job (Slurm: script, spec, output).
        for path in route.shared_dir.glob(f"{name}.*"):
            path.unlink(missing_ok=True)
