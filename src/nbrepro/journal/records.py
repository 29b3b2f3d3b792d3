"""The journal's records: a kernel lineage and one execution, and the journal's clock."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any


def utcnow_iso() -> str:
    """The current time as ISO-8601 UTC with milliseconds (``2024-05-01T12:00:00.000Z``)."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Lineage:
    """One kernel process's life for one notebook."""

    id: str
    path: str
    kernel_id: str | None
    kernel_name: str | None
    language: str | None
    #: How executions are recorded: ``"python"`` (in-kernel recorder + relay) or ``"relay"``.
    recorder: str | None
    #: Why the lineage began: ``"start"`` (a new kernel) or ``"restart"``.
    reason: str
    started: str
    ended: str | None
    end_reason: str | None
    #: Number of executions recorded in this lineage.
    executions: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return asdict(self)


@dataclass(frozen=True)
class Execution:
    """One execution of a cell, as relayed between the frontend and the kernel."""

    seq: int
    cell_id: str | None
    execution_count: int | None
    source_hash: str | None
    #: ``"ok"``, ``"error"`` or ``"aborted"`` (the kernel's reply status).
    status: str
    #: The exception's name when ``status`` is ``"error"``.
    error: str | None
    started: str | None
    finished: str | None
    duration: float | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return asdict(self)
