"""REST handlers under ``/nbrepro/api/``: status, verification jobs, runs; thin over the core.

Every method is authenticated (``@web.authenticated``) and authorized with jupyter_server's
authorizer on the resource ``nbrepro`` (``read`` for GET, ``write`` for POST and DELETE);
:class:`~jupyter_server.base.handlers.APIHandler` checks the XSRF token of writes. Paths are
confined to the server root by :func:`.paths.resolve_in_root`; core errors become JSON errors in
:meth:`.base.NbreproHandler.write_error` only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..errors import InputError, NotebookNotFound, OptionalDependencyMissing
from .base import NbreproHandler
from .paths import resolve_in_root

#: Keys a ``POST verify`` body may have.
VERIFY_BODY_KEYS = frozenset({"path", "parameters", "options"})


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


class StatusHandler(_Base):
    """``GET status?path=``: journal, static findings, drift and verdict of a notebook."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        clean, path = self.notebook_path(self.get_query_argument("path", None))
        ext = self.nbrepro
        await ext.recording.settle()
        status = ext.status.status(clean, path, ext.recording.live_status(str(path)))
        self.write_json(status)


class VerifyHandler(_Base):
    """``POST verify``: start a verification job; ``GET verify?path=``: list jobs."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.read_json_body()
        unknown = sorted(set(body) - VERIFY_BODY_KEYS)
        if unknown:
            raise InputError(f"unknown field(s) in the request body: {', '.join(unknown)}")
        _, path = self.notebook_path(body.get("path"))
        job = self.nbrepro.jobs.start(
            path, body.get("parameters"), body.get("options"), cwd=path.parent
        )
        self.write_json(job.to_dict(root=Path(self.nbrepro.root_dir)), status=202)

    @web.authenticated
    @authorized
    async def get(self) -> None:
        api_path = self.get_query_argument("path", None)
        notebook = self.notebook_path(api_path)[1] if api_path is not None else None
        root = Path(self.nbrepro.root_dir)
        jobs = self.nbrepro.jobs.list(notebook)
        self.write_json({"jobs": [j.to_dict(root=root) for j in jobs]})


class VerifyJobHandler(_Base):
    """``GET verify/<job>``: progress and result; ``DELETE verify/<job>``: cancel."""

    @web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        job = self.nbrepro.jobs.get(job_id)
        self.write_json(job.to_dict(root=Path(self.nbrepro.root_dir)))

    @web.authenticated
    @authorized
    async def delete(self, job_id: str) -> None:
        job = await self.nbrepro.jobs.cancel(job_id)
        self.write_json(job.to_dict(root=Path(self.nbrepro.root_dir)))


def _run_store() -> Any:
    try:
        from ..runs.store import RunStore
    except ImportError as exc:
        raise RunsUnavailable(f"runs are not available in this installation ({exc})") from None
    return RunStore


class RunsHandler(_Base):
    """``GET runs?path=``: the runs of a notebook, oldest first."""

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
