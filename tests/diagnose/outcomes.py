"""A cell outcome as verify hands it to the diagnosis, for tests that give outcomes by hand."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Outcome:
    """What verify observed of one code cell (the fields ``diagnose_notebook`` reads)."""

    index: int
    id: str
    status: str
    summary: str = ""
    error_name: str | None = None
    error_value: str | None = None
    run_statuses: list[str] = field(default_factory=lambda: ["ok"])
