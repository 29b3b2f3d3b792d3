"""A notebook's status: journal, static findings, changed inputs, environment drift, verdict.

Reading and analysing a notebook is cached per file (inode, mtime, size), and the current
environment snapshot for a short while, so that a status request for a large notebook that has
not changed costs a few milliseconds.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..journal import JournalStore, execution_order
from ..notebook_io import read_notebook

#: Verdict levels, from best to worst.
VERDICT_OK, VERDICT_WARNING, VERDICT_ERROR = "ok", "warning", "error"


@dataclass
class _Analysed:
    key: tuple[int, int, int]
    nb: dict[str, Any]
    cell_ids: list[str | None]
    findings: list[dict[str, Any]] | None
    analysis_error: str | None


class StatusService:
    """Builds the status of notebooks, with caches; safe to share within one server."""

    def __init__(self, journal: JournalStore, *, env_ttl: float = 60.0, max_cached: int = 64):
        self.journal = journal
        self.env_ttl = env_ttl
        self.max_cached = max_cached
        self._analysed: dict[str, _Analysed] = {}
        self._env: tuple[float, dict[str, Any]] | None = None
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
        try:
            from ..analysis import analyze  # type: ignore[attr-defined,unused-ignore]

            findings = [f.to_dict() for f in analyze(nb)]
        except ImportError as exc:
            findings, error = None, f"static analysis unavailable: {exc}"
        entry = _Analysed(key, nb, cell_ids, findings, error)
        with self._lock:
            if len(self._analysed) >= self.max_cached:
                self._analysed.pop(next(iter(self._analysed)))
            self._analysed[str(path)] = entry
        return entry

    def current_environment(self) -> dict[str, Any] | None:
        """This interpreter's environment snapshot, refreshed every ``env_ttl`` seconds."""
        now = time.monotonic()
        if self._env is not None and now - self._env[0] < self.env_ttl:
            return self._env[1]
        try:
            from ..record.environment import snapshot

            env = snapshot()
        except ImportError:
            return None
        self._env = (now, env)
        return env

    def status(self, api_path: str, path: Path, live: dict[str, Any]) -> dict[str, Any]:
        """The status document of the notebook at ``path`` (see ``docs/openapi.yaml``)."""
        analysed = self._analyse(path)
        unavailable = [analysed.analysis_error] if analysed.analysis_error else []
        drift: dict[str, Any] | None = None
        try:
            from ..record.drift import check_drift

            drift = check_drift(
                analysed.nb, path.parent, self.current_environment() if _has_env(analysed.nb)
                else None,
            ).to_dict()  # fmt: skip
        except ImportError as exc:
            unavailable.append(f"drift check unavailable: {exc}")
        journal = self._journal(path, analysed.cell_ids)
        result = {
            "path": api_path,
            "recording": live,
            "journal": journal,
            "findings": analysed.findings,
            "drift": drift,
            "unavailable": unavailable,
        }
        result["verdict"] = verdict(journal, analysed.findings, drift)
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


def _has_env(nb: dict[str, Any]) -> bool:
    from ..record.drift import recorded_environment_comparable

    prov = nb.get("metadata", {}).get("nbrepro")
    return isinstance(prov, dict) and recorded_environment_comparable(prov)


def verdict(
    journal: dict[str, Any], findings: list[dict[str, Any]] | None, drift: dict[str, Any] | None
) -> dict[str, Any]:
    """The overall verdict: ``{"level": "ok"|"warning"|"error", "reasons": [...]}``."""
    level = VERDICT_OK
    reasons: list[str] = []

    def worse(new: str, reason: str) -> None:
        nonlocal level
        order = (VERDICT_OK, VERDICT_WARNING, VERDICT_ERROR)
        if order.index(new) > order.index(level):
            level = new
        reasons.append(reason)

    current = journal.get("current")
    if current is not None:
        ooo = current["order"]["out_of_order"]
        if ooo:
            worse(
                VERDICT_WARNING,
                f"cells ran out of order in the current kernel session ({len(ooo)} time(s))",
            )
    for severity, level_for in (("error", VERDICT_ERROR), ("warning", VERDICT_WARNING)):
        count = sum(1 for f in findings or [] if f.get("severity") == severity)
        if count:
            worse(level_for, f"{count} static finding(s) of severity {severity}")
    if drift:
        changed = [i for i in drift.get("inputs", []) if i.get("status") in ("changed", "missing")]
        if changed:
            worse(VERDICT_ERROR, f"{len(changed)} input file(s) changed or missing since recording")
        env = drift.get("environment")
        if isinstance(env, dict) and env.get("drift"):
            worse(VERDICT_WARNING, "the environment changed since recording")
    return {"level": level, "reasons": reasons}


def file_key(path: str | os.PathLike[str]) -> tuple[int, int, int]:
    """(inode, mtime_ns, size) of a file: the analysis cache key."""
    st = os.stat(path)
    return (st.st_ino, st.st_mtime_ns, st.st_size)
