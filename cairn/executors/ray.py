"""Ray Jobs through the head's REST API (``/api/jobs/``), standard library only.

No ``ray`` package: a task's job is an HTTP request to the dashboard, which
runs the entrypoint (Cairn's remote runner) on a node.  The job's files —
the spec, a bundle of the base — travel as its ``working_dir``: a zip
uploaded through ``/api/packages/gcs/…``, the way Ray's own client does.

Cairn chooses the job's submission id (``cairn-<repo key>-<id>``) and records
it before submitting, so a Cairn that dies mid-submit finds the job by that
id later instead of submitting the task twice.  A 404 for that id is a job
Ray does not know: lost.

Token authentication (``RAY_AUTH_MODE=token``): the token comes from
``RAY_AUTH_TOKEN``, the file ``RAY_AUTH_TOKEN_PATH`` names, or
``~/.ray/auth_token``, as for Ray's own tools, and is sent as a bearer token.
It is never part of a job: Ray shows a job's runtime_env to anyone who can
read its API.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shlex
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

from cairn.errors import ConfigError, OperationFailed
from cairn.executors.base import EngineUnreachable, Job, JobStatus, Phase

#: Ray's JobStatus values, as Cairn's phases.
PHASES: dict[str, Phase] = {"PENDING": "pending", "RUNNING": "running", "SUCCEEDED": "succeeded", "FAILED": "failed", "STOPPED": "stopped"}
TIMEOUT = 30.0


class RayJobs:
    name = "ray"

    def __init__(self, config: Any) -> None:
        self.config = config
        address = config.address or os.environ.get("RAY_ADDRESS")
        if not address:
            raise ConfigError(
                "no Ray address: set [executors.ray] address or RAY_ADDRESS to the dashboard's URL (http://head:8265)",
            )
        if address.startswith("ray://"):
            raise ConfigError(
                f"Ray address {address!r} is a Ray Client address; Cairn talks to the dashboard's REST API",
                hint="use the dashboard's URL, http://head:8265",
            )
        if "://" not in address:
            address = f"http://{address}"
        self.address = address.rstrip("/")

    # -- the seam --------------------------------------------------------------

    def submit(self, job: Job) -> str:
        runtime_env: dict[str, Any] = {}
        if job.files:
            runtime_env["working_dir"] = self._upload(job.files)
        if job.env:
            runtime_env["env_vars"] = dict(job.env)
        body = {
            "entrypoint": shlex.join(job.argv),
            "submission_id": job.name,
            "runtime_env": runtime_env,
            "metadata": {"cairn": "task"},
            "entrypoint_num_cpus": self.config.num_cpus,
        }
        self._request("POST", "/api/jobs/", body)
        return job.name

    def status(self, job_id: str) -> JobStatus:
        try:
            info = self._request("GET", f"/api/jobs/{job_id}")
        except _NotFound:
            return JobStatus("lost", reason=f"Ray does not know job {job_id} (deleted, or the cluster was restarted)")
        phase = PHASES.get(str(info.get("status")), "running")
        code = info.get("driver_exit_code")
        message = info.get("message") or None
        if phase == "failed" and message:
            message = message.strip().splitlines()[0]
        return JobStatus(phase, reason=str(message) if message and phase in ("failed", "stopped") else None,
                         exit_code=code if isinstance(code, int) else None)

    def read_log(self, job_id: str, offset: int) -> bytes:
        try:
            logs = self._request("GET", f"/api/jobs/{job_id}/logs").get("logs") or ""
        except _NotFound:
            return b""
        data = logs.encode("utf-8", "surrogateescape")
        return data[offset:]

    def cancel(self, job_id: str) -> None:
        try:
            self._request("POST", f"/api/jobs/{job_id}/stop", {})
        except _NotFound:
            pass

    # -- HTTP --------------------------------------------------------------------

    def _upload(self, files: dict[str, bytes]) -> str:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in sorted(files.items()):
                info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                info.external_attr = 0o600 << 16
                archive.writestr(info, data)
        data = buffer.getvalue()
        package = f"_ray_pkg_{hashlib.sha1(data).hexdigest()}.zip"
        self._request("PUT", f"/api/packages/gcs/{package}", data)
        return f"gcs://{package}"

    def _request(self, method: str, path: str, body: Any = None) -> Any:
        headers = {"Accept": "application/json"}
        data: bytes | None = None
        if isinstance(body, bytes):
            data = body
            headers["Content-Type"] = "application/octet-stream"
        elif body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        token = auth_token()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(self.address + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                text = response.read()
        except urllib.error.HTTPError as error:
            detail = error.read().decode("utf-8", "replace").strip()
            if error.code == 404:
                raise _NotFound(detail) from None
            if error.code in (401, 403):
                raise OperationFailed(
                    f"Ray at {self.address} refused Cairn ({error.code}): {_first_line(detail) or 'not authorized'}",
                    hint="with RAY_AUTH_MODE=token, give Cairn the cluster's token in RAY_AUTH_TOKEN or ~/.ray/auth_token",
                ) from None
            if error.code >= 500:
                raise EngineUnreachable(f"Ray at {self.address} failed ({error.code}): {_first_line(detail)}") from None
            raise OperationFailed(f"Ray at {self.address} rejected {method} {path} ({error.code}): {_first_line(detail)}") from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise EngineUnreachable(f"cannot reach Ray at {self.address}: {reason}",
                                    hint="is the head running, and its dashboard port reachable from here?") from None
        if not text.strip():
            return {}
        try:
            return json.loads(text)
        except ValueError:
            raise EngineUnreachable(f"Ray at {self.address} answered {method} {path} with something that is not JSON") from None


class _NotFound(Exception):
    pass


def auth_token() -> str | None:
    """The token Ray's own tools would use, or None (auth disabled)."""
    token = os.environ.get("RAY_AUTH_TOKEN")
    if token:
        return token.strip()
    path = os.environ.get("RAY_AUTH_TOKEN_PATH")
    candidates = [Path(path)] if path else [Path.home() / ".ray" / "auth_token"]
    for candidate in candidates:
        try:
            return candidate.read_text().strip() or None
        except OSError:
            continue
    return None


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:300]
    return ""
