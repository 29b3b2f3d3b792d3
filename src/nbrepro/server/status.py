"""A notebook's status: journal, static findings, changed inputs, environment drift, verdict.

Reading and analysing a notebook is cached per file (inode, mtime, size), and the environment
of each kernel for a short while, so that a status request for a large notebook that has not
changed costs a few milliseconds.

The recorded environment is compared with the environment of the notebook's *kernel*, which is
often not the server's: the live kernel's when one runs for the notebook, else the kernel its
kernelspec names (:mod:`nbrepro.record.kernelenv` reads that kernel's interpreter).
"""

from __future__ import annotations

import concurrent.futures
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..journal import JournalStore, execution_order
from ..notebook_io import kernel_name, read_notebook


@dataclass
class _Analysed:
    key: tuple[int, int, int]
    nb: dict[str, Any]
    cell_ids: list[str | None]
    findings: list[dict[str, Any]] | None
    analysis_error: str | None
    dependencies: dict[str, dict[str, list[str]]]


class StatusService:
    """Builds the status of notebooks, with caches; safe to share within one server."""

    def __init__(
        self,
        journal: JournalStore,
        *,
        env_ttl: float = 60.0,
        env_wait: float = 2.0,
        env_timeout: float = 30.0,
        max_cached: int = 64,
        kernel_specs: Any = None,
    ):
        """``kernel_specs``: the server's kernelspec manager (``None``: jupyter_client's)."""
        self.journal = journal
        self.env_ttl = env_ttl
        self.env_wait = env_wait
        self.env_timeout = env_timeout
        self.max_cached = max_cached
        self.kernel_specs = kernel_specs
        self._analysed: dict[str, _Analysed] = {}
        self._envs: dict[str, tuple[float, Any]] = {}
        self._pending: dict[str, concurrent.futures.Future[Any]] = {}
        self._readers = concurrent.futures.ThreadPoolExecutor(
            max_workers=2, thread_name_prefix="nbrepro-kernel-env"
        )
        self._lock = threading.Lock()

    def _analyse(self, path: Path) -> _Analysed:
        st = path.stat()
        key = (st.st_ino, st.st_mtime_ns, st.st_size)
        cached = self._analysed.get(str(path))
        if cached is not None and cached.key == key:
            return cached
        nb = read_notebook(path)
        cell_ids = [
            c.get("id") if c.get("cell_type") == "code" and isinstance(c.get("id"), str) else None
            for c in nb["cells"]
        ]
        findings: list[dict[str, Any]] | None
        error = None
        graph: dict[str, dict[str, list[str]]] = {}
        try:
            from ..analysis import analyze  # type: ignore[attr-defined,unused-ignore]
            from ..analysis.dependents import dependencies

            findings = [f.to_dict() for f in analyze(nb)]
            graph = dependencies(nb)
        except ImportError as exc:
            findings, error = None, f"static analysis unavailable: {exc}"
        entry = _Analysed(key, nb, cell_ids, findings, error, graph)
        with self._lock:
            if len(self._analysed) >= self.max_cached:
                self._analysed.pop(next(iter(self._analysed)))
            self._analysed[str(path)] = entry
        return entry

    def kernel_environment(self, kernel: str) -> Any:
        """The :class:`~nbrepro.record.kernelenv.KernelEnvironment` of the kernel called
        ``kernel``, refreshed every ``env_ttl`` seconds.

        Reading another interpreter's environment the first time takes a fraction of a second
        (up to its timeout for one that hangs): it runs in a worker thread, and a request waits
        for it at most ``env_wait`` seconds; past that the environment is "not compared" (still
        being read) and a later request gets it, so a slow interpreter never stalls the server
        (one that does not answer within ``env_timeout`` seconds is "not compared" for good).
        """
        from ..record.kernelenv import KernelEnvironment, kernel_environment

        now = time.monotonic()
        with self._lock:
            cached = self._envs.get(kernel)
            if cached is not None and now - cached[0] < self.env_ttl:
                return cached[1]
            pending = self._pending.get(kernel)
            if pending is None:
                pending = self._readers.submit(
                    kernel_environment,
                    kernel,
                    spec_manager=self.kernel_specs,
                    timeout=self.env_timeout,
                )
                self._pending[kernel] = pending
        try:
            env = pending.result(timeout=self.env_wait)
        except concurrent.futures.TimeoutError:
            reason = f"the environment of kernel {kernel!r} is still being read"
            return KernelEnvironment(kernel, None, reason)
        with self._lock:
            self._envs[kernel] = (time.monotonic(), env)
            if self._pending.get(kernel) is pending:
                del self._pending[kernel]
        return env

    def status(
        self,
        api_path: str,
        path: Path,
        live: dict[str, Any],
        verification: Callable[[str], dict[str, Any] | None] | None = None,
    ) -> dict[str, Any]:
        """The status document of the notebook at ``path`` (see ``docs/openapi.yaml``).

        ``live``: the live recording of the notebook's kernel; its ``kernel_name`` names the
        kernel whose environment the recorded one is compared with (else the notebook's).
        ``verification(digest)``: the latest verification of the notebook
        (:func:`~nbrepro.verify.verdict.verification_fact`), judged stale against ``digest``.
        """
        analysed = self._analyse(path)
        unavailable = [analysed.analysis_error] if analysed.analysis_error else []
        original = copy_original(analysed.nb, api_path, path)
        if self.journal.problem:
            unavailable.append(f"journal: {self.journal.problem}")
        drift: dict[str, Any] | None = None
        try:
            from ..record.drift import DEFAULT_KERNEL, check_drift

            current = None
            if _has_env(analysed.nb):
                kernel = live.get("kernel_name") if live.get("kernel_id") else None
                kernel = kernel or kernel_name(analysed.nb) or DEFAULT_KERNEL
                current = self.kernel_environment(kernel)
            report = check_drift(analysed.nb, (original or path).parent, current)
            drift = report.to_dict()
            if report.environment_unavailable:
                unavailable.append(f"environment not compared: {report.environment_unavailable}")
        except ImportError as exc:
            unavailable.append(f"drift check unavailable: {exc}")
        journal = self._journal(path, analysed.cell_ids)
        result = {
            "path": api_path,
            "copy_of": _api_path(original, path, api_path) if original is not None else None,
            "recording": live,
            "journal": journal,
            "findings": analysed.findings,
            "dependencies": analysed.dependencies,
            "recorded_environment": _recorded_environment(analysed.nb),
            "requirements": _requirements(analysed.nb, unavailable),
            "drift": drift,
            "unavailable": unavailable,
        }
        from ..verify.prepare import source_digest
        from ..verify.verdict import status_verdict

        latest = verification(source_digest(analysed.nb)) if verification is not None else None
        result["verdict"] = status_verdict(journal, analysed.findings, drift, latest)
        return result

    def _journal(self, path: Path, cell_ids: list[str | None]) -> dict[str, Any]:
        lineages = self.journal.lineages(path)
        current = lineages[-1] if lineages else None
        doc: dict[str, Any] = {
            "lineages": [lin.to_dict() for lin in lineages],
            "current": None,
        }
        if current is not None:
            executions = self.journal.executions(current.id)
            order = execution_order(executions, cell_ids)
            doc["current"] = {
                "lineage": current.to_dict(),
                "restarted": current.reason == "restart",
                "executions": [ex.to_dict() for ex in executions],
                "order": order.to_dict(),
            }
        return doc


def _root_of(path: Path, api_path: str) -> Path:
    """The server root ``path`` (absolute) was resolved from, given its ``api_path``."""
    depth = len([p for p in api_path.split("/") if p])
    return path.parents[depth - 1] if depth > 0 else path.parent


def copy_original(nb: dict[str, Any], api_path: str, path: Path) -> Path | None:
    """The original notebook of an executed copy a verification kept (its ``nbrepro_copy``
    metadata, :func:`nbrepro.jobs.worker.label_copy`), when it names one under the server root:
    the copy is judged from the original's folder (its inputs are the original's). ``None`` for
    any other notebook, or a copy naming a path outside the root."""
    meta = nb.get("metadata", {}).get("nbrepro_copy")
    of = meta.get("of") if isinstance(meta, dict) else None
    if not isinstance(of, str) or not of or "\x00" in of:
        return None
    root = _root_of(path, api_path).resolve()
    original = (path.parent / of).resolve()
    if not original.is_relative_to(root) or original == path.resolve():
        return None
    return original


def _api_path(original: Path, path: Path, api_path: str) -> str:
    return original.relative_to(_root_of(path, api_path).resolve()).as_posix()


def _recorded_environment(nb: dict[str, Any]) -> dict[str, Any] | None:
    """The environment recorded in the saved file (``metadata.nbrepro.environment``): the
    panel shows this one, which the server's merge on save updates, not the browser's model."""
    prov = nb.get("metadata", {}).get("nbrepro")
    env = prov.get("environment") if isinstance(prov, dict) else None
    return env if isinstance(env, dict) else None


def _requirements(nb: dict[str, Any], unavailable: list[str]) -> str | None:
    """The recorded environment as a pinned requirements file (``nbrepro env export``'s), for
    the panel's "Export requirements"; ``None`` when none is recorded or it cannot be exported
    (why is added to ``unavailable``)."""
    env = _recorded_environment(nb)
    if env is None:
        return None
    from ..diagnose.remedies import export_environment
    from ..errors import NbreproError

    try:
        return export_environment(env, "requirements")
    except NbreproError as exc:
        unavailable.append(f"requirements not exported: {exc}")
        return None


def _has_env(nb: dict[str, Any]) -> bool:
    from ..record.drift import recorded_environment_comparable

    prov = nb.get("metadata", {}).get("nbrepro")
    return isinstance(prov, dict) and recorded_environment_comparable(prov)


def file_key(path: str | os.PathLike[str]) -> tuple[int, int, int]:
    """(inode, mtime_ns, size) of a file: the analysis cache key."""
    st = os.stat(path)
    return (st.st_ino, st.st_mtime_ns, st.st_size)
