"""REST handlers under ``/nbrepro/api/``: status, verification jobs, runs and run jobs.

Every method is authenticated (``@web.authenticated``) and authorized with jupyter_server's
authorizer on the resource ``nbrepro`` (``read`` for GET, ``write`` for POST and DELETE);
:class:`~jupyter_server.base.handlers.APIHandler` checks the XSRF token of writes. Paths are
confined to the server root by :func:`.paths.resolve_in_root`, and hidden files and folders are
refused (404) as ``/api/contents`` refuses them unless ``ContentsManager.allow_hidden``; core
errors become JSON errors in :meth:`.base.NbreproHandler.write_error` only (the job handlers
first render their messages in the REST face's words, :func:`rest_errors`). Bodies are limited
to :data:`MAX_JOB_BODY` bytes (413). Jobs are answered by :meth:`_Base.job_answer`, which adds
whether JupyterLab can open the job's executed notebook (``executed_openable``); the list of
jobs answers each as a summary (:func:`nbrepro.jobs.retention.summarize_job`).
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from jupyter_core.paths import is_hidden
from jupyter_server.auth.decorator import authorized
from tornado import web

from ..errors import InputError, NbreproError, NotebookNotFound, OptionalDependencyMissing
from ..jobs import RUN, VERIFY, Job
from ..jobs.retention import summarize_job
from .base import MAX_BODY, NbreproHandler, RequestTooLarge
from .paths import hidden_in_root, is_notebook_file, resolve_in_root, short_path

__all__ = [
    "MAX_JOB_BODY",
    "RequestTooLarge",
    "RestError",
    "RunDiffHandler",
    "RunHandler",
    "RunJobHandler",
    "RunNotebookHandler",
    "RunsHandler",
    "StatusHandler",
    "VerifyHandler",
    "VerifyJobHandler",
    "VerifyOutputsHandler",
]

#: Keys a ``POST verify`` body may have.
VERIFY_BODY_KEYS = frozenset({"path", "parameters", "options"})

#: Keys a ``POST runs`` body may have.
RUN_BODY_KEYS = frozenset({"path", "parameters", "name"})

#: Largest body a job request may have (bytes).
MAX_JOB_BODY = MAX_BODY


class RestError(NbreproError):
    """A core error with its message already rendered for the REST API (option mentions as
    ``options.<name>``), keeping its HTTP status."""

    def __init__(self, message: str, http_status: int) -> None:
        super().__init__(message)
        self.http_status = http_status


@contextmanager
def rest_errors() -> Iterator[None]:
    """Re-raise core errors in the REST face's words (:meth:`NbreproError.message_for`)."""
    try:
        yield
    except RestError:
        raise
    except NbreproError as exc:
        raise RestError(exc.message_for("rest"), exc.http_status) from None


def strict_json(value: Any) -> Any:
    """``value`` with non-finite floats (which a request may carry as ``NaN``/``Infinity``) as
    the strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"``: browsers' ``JSON.parse`` refuses the
    bare tokens."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: strict_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [strict_json(v) for v in value]
    return value


def check_body_keys(body: dict[str, Any], allowed: frozenset[str]) -> None:
    """Refuse a request body with keys outside ``allowed`` (:class:`InputError`, 400)."""
    unknown = sorted(set(body) - allowed)
    if unknown:
        named = ", ".join(repr(k) if len(k) <= 40 else repr(k[:39] + "…") for k in unknown[:5])
        more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        raise InputError(
            f"unknown field(s) in the request body: {named}{more} "
            f"(known: {', '.join(sorted(allowed))})"
        )


class RunsUnavailable(OptionalDependencyMissing):
    """The run store (``nbrepro.runs.store``) is not part of this installation."""

    http_status = 501


class _Base(NbreproHandler):
    @property
    def nbrepro(self) -> Any:
        return self.settings["nbrepro"]

    @property
    def allow_hidden(self) -> bool:
        """Whether the contents manager serves hidden files and folders."""
        return bool(getattr(self.contents_manager, "allow_hidden", False))

    def notebook_path(self, api_path: object) -> tuple[str, Path]:
        """``(api path, absolute path)`` of an existing notebook under the root: 400 for a
        malformed path, 403 for one leaving the root, 404 for a missing or hidden file (as
        ``/api/contents`` answers unless ``ContentsManager.allow_hidden``)."""
        root = self.nbrepro.root_dir
        clean, path = resolve_in_root(root, api_path)
        if not self.allow_hidden and hidden_in_root(root, clean, path):
            self.log.info(
                "nbrepro: refusing the hidden file or folder %s, via 404", short_path(clean)
            )
            raise NotebookNotFound(f"{short_path(clean)}: no such notebook")
        if not is_notebook_file(path):
            raise NotebookNotFound(f"{short_path(clean)}: no such notebook")
        return clean, path

    def job_body(self, allowed: frozenset[str]) -> dict[str, Any]:
        """The JSON body of a job request (413 when too large; unknown keys refused)."""
        body = self.read_json_body()
        check_body_keys(body, allowed)
        return body

    def job_answer(self, job: Job, *, summary: bool = False) -> dict[str, Any]:
        """A job as JSON, paths relative to the root, with ``executed_openable``: whether the
        contents manager serves the executed notebook (it refuses hidden files by default).
        ``summary``: without the result's large fields (the list endpoint)."""
        root = Path(self.nbrepro.root_dir)
        answer: dict[str, Any] = job.to_dict(root=root)
        if summary:
            answer = summarize_job(answer)
        answer = strict_json(answer)
        executed = answer.get("executed_path")
        openable = False
        if executed:
            openable = self.allow_hidden or not is_hidden(str(root / executed), str(root))
        answer["executed_openable"] = openable
        return answer


class StatusHandler(_Base):
    """``GET status?path=``: journal, static findings, drift and verdict of a notebook.

    The document is built and encoded off the event loop (reading a large notebook, or a
    kernel's environment the first time, takes a while, and the loop relays every kernel's
    messages meanwhile). Requests that arrive while the document of the same state is being
    built (same file, journal, live recording and latest verification) share that build.
    """

    @web.authenticated
    @authorized
    async def get(self) -> None:
        clean, path = self.notebook_path(self.get_query_argument("path", None))
        ext = self.nbrepro
        await ext.recording.settle()
        live = ext.recording.live_status(str(path))
        key = self._state_key(clean, path, live)
        # Status documents being built for this extension (kept on it, dropped with it).
        flights: dict[Hashable, asyncio.Future[bytes]] = vars(ext).setdefault("_status_flights", {})
        flight = flights.get(key) if key is not None else None
        if flight is None:
            flight = asyncio.ensure_future(self._build(clean, path, live))
            if key is not None:
                flights[key] = flight
                flight.add_done_callback(lambda done: _land(flights, key, done))
        body = await asyncio.shield(flight)
        self.set_status(200)
        self.set_header("Content-Type", "application/json")
        self.finish(body)

    async def _build(self, clean: str, path: Path, live: dict[str, Any]) -> bytes:
        ext = self.nbrepro
        verification = self._latest_verification(path)

        def build() -> bytes:
            status = ext.status.status(clean, path, live, verification)
            return json.dumps(status).encode("utf-8")

        return await asyncio.get_running_loop().run_in_executor(None, build)

    def _state_key(self, clean: str, path: Path, live: dict[str, Any]) -> Hashable | None:
        """What the status of ``path`` depends on in this process (``None``: unknown)."""
        try:
            st = path.stat()
            live_key = json.dumps(live, sort_keys=True, default=str)
        except (OSError, TypeError, ValueError):
            return None
        done = [(j.id, j.state) for j in self.nbrepro.jobs.list(path, kind=VERIFY) if j.done]
        journal_version = getattr(self.nbrepro.journal, "version", None)
        if journal_version is None:
            return None
        file_key = (st.st_ino, st.st_mtime_ns, st.st_size)
        return (clean, file_key, live_key, journal_version, tuple(done[-1:]))

    def _latest_verification(self, path: Path) -> Callable[[str], dict[str, Any] | None]:
        """The latest finished verification job of ``path``, as the status verdict takes it."""
        from ..verify.verdict import verification_fact

        done = [
            j
            for j in self.nbrepro.jobs.list(path, kind=VERIFY)
            if j.done and isinstance(j.result, dict)
        ]
        job = done[-1] if done else None

        def fact(digest: str) -> dict[str, Any] | None:
            if job is None or not isinstance(job.result, dict):
                return None
            notebooks = job.result.get("notebooks") or []
            report = notebooks[0] if notebooks else None
            answer = job.to_dict()
            return verification_fact(
                report, digest, job_id=job.id, state=job.state, finished=answer["finished"]
            )

        return fact


def _land(flights: dict[Hashable, asyncio.Future[bytes]], key: Hashable, done: Any) -> None:
    """A build finished: later requests build anew."""
    if flights.get(key) is done:
        del flights[key]


class VerifyHandler(_Base):
    """``POST verify``: start a verification job; ``GET verify?path=``: list jobs (a summary
    each: ``GET verify/<job>`` answers one in full)."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        with rest_errors():
            body = self.job_body(VERIFY_BODY_KEYS)
            _, path = self.notebook_path(body.get("path"))
            job = self.nbrepro.jobs.start(
                path, body.get("parameters"), body.get("options"), cwd=path.parent
            )
        self.write_json(self.job_answer(job), status=202)

    @web.authenticated
    @authorized
    async def get(self) -> None:
        with rest_errors():
            api_path = self.get_query_argument("path", None)
            notebook = self.notebook_path(api_path)[1] if api_path is not None else None
            jobs = self.nbrepro.jobs.list(notebook, kind=VERIFY)
        self.write_json({"jobs": [self.job_answer(j, summary=True) for j in jobs]})


class VerifyJobHandler(_Base):
    """``GET verify/<job>``: progress and result; ``DELETE verify/<job>``: cancel."""

    kind = VERIFY

    @web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        with rest_errors():
            job = self.nbrepro.jobs.get(job_id, self.kind)
        self.write_json(self.job_answer(job))

    @web.authenticated
    @authorized
    async def delete(self, job_id: str) -> None:
        with rest_errors():
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


class _RunStoreHandler(_Base):
    """A handler of one project's run store: the store of the notebook ``?path=`` names, else
    the store of the server's root."""

    def run_store(self) -> Any:
        """The run store this request is about."""
        run_store = _run_store()
        api_path = self.get_query_argument("path", None)
        if api_path is not None:
            return run_store.for_notebook(self.notebook_path(api_path)[1])
        return run_store(self.nbrepro.root_dir)


class RunsHandler(_Base):
    """``GET runs?path=``: the runs of a notebook, oldest first; ``POST runs``: start a run job
    (``{"path", "parameters"?, "name"?}``; answers the job, 202)."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        with rest_errors():
            body = self.job_body(RUN_BODY_KEYS)
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


class RunHandler(_RunStoreHandler):
    """``GET runs/<id>[?path=]``: one run (id, unique prefix or name) of the notebook's project."""

    @web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        self.write_json(self.run_store().get(run_id).to_dict())


#: Cell statuses of verify's report whose outputs the verification report shows side by side.
_DIFFERING = frozenset({"mismatch", "nondeterministic", "error", "timeout", "kernel-died"})

#: Most bytes of outputs ``GET verify/<job>/outputs`` answers for one cell and side.
MAX_REPORT_OUTPUT = 2_000_000


def _outputs_by_id(path: Path | None) -> dict[str, list[Any]]:
    """The outputs of each code cell of the notebook at ``path`` by cell id (``{}``: none)."""
    from ..notebook_io import read_notebook

    if path is None or not path.is_file():
        return {}
    try:
        nb = read_notebook(path)
    except NbreproError:
        return {}
    return {
        str(c.get("id")): list(c.get("outputs") or [])
        for c in nb.get("cells") or []
        if c.get("cell_type") == "code"
    }


def _bounded(outputs: list[Any] | None) -> tuple[list[Any] | None, bool]:
    """``outputs``, or ``[]`` and True when their JSON exceeds :data:`MAX_REPORT_OUTPUT`."""
    if outputs is None:
        return None, False
    if len(json.dumps(outputs, default=str)) > MAX_REPORT_OUTPUT:
        return [], True
    return outputs, False


class VerifyOutputsHandler(_Base):
    """``GET verify/<job>/outputs``: for each cell the finished verification found differing
    (or failing), its stored outputs (the notebook's saved file) and its new outputs (the
    executed copy), for the report that shows them side by side. Which cells differ, and why,
    is the job's result; this only reads the two notebooks."""

    @web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        with rest_errors():
            job = self.nbrepro.jobs.get(job_id, VERIFY)
        notebooks = job.result.get("notebooks") if isinstance(job.result, dict) else None
        report = notebooks[0] if isinstance(notebooks, list) and notebooks else {}
        cells = [
            c
            for c in (report.get("cells") or [] if isinstance(report, dict) else [])
            if isinstance(c, dict) and c.get("status") in _DIFFERING
        ]
        root = Path(self.nbrepro.root_dir)

        def read() -> dict[str, Any]:
            stored = _outputs_by_id(job.notebook)
            new = _outputs_by_id(job.executed_notebook())
            answer = []
            for cell in cells:
                cid = str(cell.get("id"))
                before, cut_before = _bounded(stored.get(cid))
                after, cut_after = _bounded(new.get(cid))
                answer.append(
                    {
                        "index": cell.get("index"),
                        "id": cid,
                        "status": cell.get("status"),
                        "stored": before,
                        "new": after,
                        "truncated": cut_before or cut_after,
                    }
                )
            return {"id": job.id, "path": job.to_dict(root=root)["path"], "cells": answer}

        answer = await asyncio.get_running_loop().run_in_executor(None, read)
        self.write_json(strict_json(answer))


class RunDiffHandler(_RunStoreHandler):
    """``GET runs/<a>/diff/<b>[?path=]``: what differs between two stored runs
    (``nbrepro runs diff --format json``, with its text as ``text``)."""

    @web.authenticated
    @authorized
    async def get(self, run_a: str, run_b: str) -> None:
        from ..runs.diff import diff_runs

        store = self.run_store()
        diff = diff_runs(store.get(run_a), store.get(run_b))
        self.write_json(strict_json({**diff.to_dict(), "text": diff.render_text()}))


class RunNotebookHandler(_RunStoreHandler):
    """``GET runs/<id>/notebook[?path=]``: the executed notebook of a stored run (its bundle is
    in a hidden folder, which JupyterLab's contents API does not serve), read-only."""

    @web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        run = self.run_store().get(run_id)
        notebook = await asyncio.get_running_loop().run_in_executor(None, run.notebook)
        self.write_json(strict_json({"run_id": run.run_id, "notebook": notebook}))
