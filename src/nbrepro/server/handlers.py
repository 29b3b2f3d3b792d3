"""REST handlers under ``/nbrepro/api/``: status, verification jobs, runs and run jobs.

Every method is authenticated (``@web.authenticated``) and authorized with jupyter_server's
authorizer on the resource ``nbrepro`` (``read`` for GET, ``write`` for POST and DELETE);
:class:`~jupyter_server.base.handlers.APIHandler` checks the XSRF token of writes. Paths are
confined to the server root by :func:`.paths.resolve_in_root`; core errors become JSON errors in
:meth:`.base.NbreproHandler.write_error` only. Jobs are answered by :meth:`_Base.job_answer`,
which adds whether JupyterLab can open the job's executed notebook (``executed_openable``).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from jupyter_core.paths import is_hidden
from jupyter_server.auth.decorator import authorized
from tornado import web

from ..errors import InputError, NotebookNotFound, OptionalDependencyMissing
from ..jobs import RUN, VERIFY, Job
from .base import NbreproHandler
from .paths import resolve_in_root

#: Keys a ``POST verify`` body may have.
VERIFY_BODY_KEYS = frozenset({"path", "parameters", "options"})

#: Keys a ``POST runs`` body may have.
RUN_BODY_KEYS = frozenset({"path", "parameters", "name"})


def check_body_keys(body: dict[str, Any], allowed: frozenset[str]) -> None:
    """Refuse a request body with keys outside ``allowed`` (:class:`InputError`, 400)."""
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise InputError(f"unknown field(s) in the request body: {', '.join(unknown)}")


class RunsUnavailable(OptionalDependencyMissing):
    """The run store (``nbrepro.runs.store``) is not part of this installation."""

    http_status = 501


class _Base(NbreproHandler):
    @property
    def nbrepro(self) -> Any:
        return self.settings["nbrepro"]

    def notebook_path(self, api_path: object) -> tuple[str, Path]:
        clean, path = resolve_in_root(self.nbrepro.root_dir, api_path)
        if not path.is_file():
            raise NotebookNotFound(f"{clean}: no such notebook")
        return clean, path

    def job_answer(self, job: Job) -> dict[str, Any]:
        """A job as JSON, paths relative to the root, with ``executed_openable``: whether the
        contents manager serves the executed notebook (it refuses hidden files by default)."""
        root = Path(self.nbrepro.root_dir)
        answer = job.to_dict(root=root)
        executed = answer.get("executed_path")
        openable = False
        if executed:
            allow_hidden = bool(getattr(self.contents_manager, "allow_hidden", False))
            openable = allow_hidden or not is_hidden(str(root / executed), str(root))
        answer["executed_openable"] = openable
        return answer


class StatusHandler(_Base):
    """``GET status?path=``: journal, static findings, drift and verdict of a notebook."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        clean, path = self.notebook_path(self.get_query_argument("path", None))
        ext = self.nbrepro
        await ext.recording.settle()
        live = ext.recording.live_status(str(path))
        # Off the event loop: reading a large notebook, or a kernel's environment the first
        # time, takes a while, and the loop relays every kernel's messages meanwhile.
        status = await asyncio.get_running_loop().run_in_executor(
            None, ext.status.status, clean, path, live
        )
        self.write_json(status)


class VerifyHandler(_Base):
    """``POST verify``: start a verification job; ``GET verify?path=``: list jobs."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.read_json_body()
        check_body_keys(body, VERIFY_BODY_KEYS)
        _, path = self.notebook_path(body.get("path"))
        job = self.nbrepro.jobs.start(
            path, body.get("parameters"), body.get("options"), cwd=path.parent
        )
        self.write_json(self.job_answer(job), status=202)

    @web.authenticated
    @authorized
    async def get(self) -> None:
        api_path = self.get_query_argument("path", None)
        notebook = self.notebook_path(api_path)[1] if api_path is not None else None
        jobs = self.nbrepro.jobs.list(notebook, kind=VERIFY)
        self.write_json({"jobs": [self.job_answer(j) for j in jobs]})


class VerifyJobHandler(_Base):
    """``GET verify/<job>``: progress and result; ``DELETE verify/<job>``: cancel."""

    kind = VERIFY

    @web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        self.write_json(self.job_answer(self.nbrepro.jobs.get(job_id, self.kind)))

    @web.authenticated
    @authorized
    async def delete(self, job_id: str) -> None:
        job = await self.nbrepro.jobs.cancel(job_id, self.kind)
        self.write_json(self.job_answer(job))


class RunJobHandler(VerifyJobHandler):
    """``GET runs/jobs/<job>``: progress and, when done, the run; ``DELETE``: cancel the run."""

    kind = RUN


def _run_store() -> Any:
    try:
        from ..runs.store import RunStore
    except ImportError as exc:
        raise RunsUnavailable(f"runs are not available in this installation ({exc})") from None
    return RunStore


class RunsHandler(_Base):
    """``GET runs?path=``: the runs of a notebook, oldest first; ``POST runs``: start a run job
    (``{"path", "parameters"?, "name"?}``; answers the job, 202)."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.read_json_body()
        check_body_keys(body, RUN_BODY_KEYS)
        _run_store()
        _, path = self.notebook_path(body.get("path"))
        job = self.nbrepro.jobs.start_run(
            path, body.get("parameters"), name=body.get("name"), cwd=path.parent
        )
        self.write_json(self.job_answer(job), status=202)

    @web.authenticated
    @authorized
    async def get(self) -> None:
        run_store = _run_store()
        clean, path = self.notebook_path(self.get_query_argument("path", None))
        store = run_store.for_notebook(path)
        self.write_json({"path": clean, "runs": [r.to_dict() for r in store.list(path)]})


class RunHandler(_Base):
    """``GET runs/<id>[?path=]``: one run (id, unique prefix or name) of the notebook's project."""

    @web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        run_store = _run_store()
        api_path = self.get_query_argument("path", None)
        if api_path is not None:
            store = run_store.for_notebook(self.notebook_path(api_path)[1])
        else:
            store = run_store(self.nbrepro.root_dir)
        self.write_json(store.get(run_id).to_dict())
