"""The JSON verify report (``--format json``), following ``schemas/verify-report.schema.json``."""

from __future__ import annotations

import json
from importlib import resources
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..verify import VerifyReport


def render_json(report: VerifyReport, face: str = "cli") -> str:
    """The report as indented JSON text (ends with a newline)."""
    return json.dumps(report.to_dict(face), indent=2, ensure_ascii=False) + "\n"


def report_schema() -> dict[str, Any]:
    """The JSON Schema the report follows."""
    text = (
        resources.files("nbrepro")
        .joinpath("schemas/verify-report.schema.json")
        .read_text(encoding="utf-8")
    )
    return json.loads(text)  # type: ignore[no-any-return]
