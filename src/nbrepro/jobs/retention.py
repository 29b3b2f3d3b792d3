"""What finished jobs keep, bounded: summaries for lists, trimmed results past a budget.

* :func:`summarize_job` — a job's JSON answer as the list endpoint gives it: its state and
  times, the progress counts without the cells, parameters with long values shortened, and the
  result's scalar fields (a verification's per-notebook status, reason and counts; a run's
  verdict and metrics) without its cells, diffs and outputs;
* :func:`bounded` — a value whose long strings are cut, so that it fits in a byte budget (at
  worst the result's summary with each cell's status, which the status verdict still reads);
* :func:`json_size` — the size of a value as JSON.

Standard library only.
"""

from __future__ import annotations

import json
from typing import Any

#: A string in a summary is cut to this many characters.
SUMMARY_TEXT = 200
#: A summary keeps this many items of a list, and keys of an object.
SUMMARY_ITEMS = 20
#: Nesting kept in a summarised value.
SUMMARY_DEPTH = 3
#: The mark appended to a string that was cut.
CUT = "… [truncated]"


def json_size(value: Any) -> int:
    """Bytes of ``value`` as compact JSON (non-JSON values counted by their ``repr``)."""
    try:
        return len(json.dumps(value, separators=(",", ":"), default=repr, ensure_ascii=False))
    except (TypeError, ValueError, RecursionError):
        return len(repr(value))


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + CUT


def summarize_value(value: Any, depth: int = SUMMARY_DEPTH) -> Any:
    """``value`` with strings cut to :data:`SUMMARY_TEXT` characters, lists and objects to
    :data:`SUMMARY_ITEMS` entries and nesting to ``depth`` (deeper containers become ``"…"``)."""
    if isinstance(value, str):
        return _cut(value, SUMMARY_TEXT)
    if isinstance(value, dict):
        if depth <= 0:
            return "…"
        items = list(value.items())[:SUMMARY_ITEMS]
        return {str(k)[:SUMMARY_TEXT]: summarize_value(v, depth - 1) for k, v in items}
    if isinstance(value, (list, tuple)):
        if depth <= 0:
            return "…"
        return [summarize_value(v, depth - 1) for v in list(value)[:SUMMARY_ITEMS]]
    return value


def _scalars(doc: dict[str, Any]) -> dict[str, Any]:
    """The scalar fields of ``doc`` (strings cut), and its small objects of scalars (counts)."""
    out: dict[str, Any] = {}
    for key, value in doc.items():
        if value is None or isinstance(value, (bool, int, float)):
            out[key] = value
        elif isinstance(value, str):
            out[key] = _cut(value, SUMMARY_TEXT * 5)
        elif (
            isinstance(value, dict)
            and len(value) <= SUMMARY_ITEMS
            and all(v is None or isinstance(v, (bool, int, float, str)) for v in value.values())
        ):
            out[key] = summarize_value(value, 1)
    return out


#: The fields a trimmed result keeps of each cell of a verified notebook.
CELL_FIELDS = ("index", "id", "status")


def summarize_result(result: Any, *, cells: bool = False) -> Any:
    """A job's result without its large fields: the scalar fields, a verification's
    notebooks reduced to theirs (status, reason, counts, source digest, output path) and,
    with ``cells``, each cell's index, id and status (what the status verdict reads)."""
    if not isinstance(result, dict):
        return summarize_value(result, 1)
    out = _scalars(result)
    notebooks = result.get("notebooks")
    if isinstance(notebooks, list):
        out["notebooks"] = []
        for nb in notebooks[:SUMMARY_ITEMS]:
            if not isinstance(nb, dict):
                continue
            brief = _scalars(nb)
            if cells and isinstance(nb.get("cells"), list):
                brief["cells"] = [
                    {k: c.get(k) for k in CELL_FIELDS} for c in nb["cells"] if isinstance(c, dict)
                ]
            out["notebooks"].append(brief)
    return out


def summarize_job(answer: dict[str, Any]) -> dict[str, Any]:
    """A job's JSON answer (``Job.to_dict``) as the list endpoint gives it (``"summary": true``;
    the job's own endpoint answers it in full)."""
    out = dict(answer)
    progress = answer.get("progress")
    if isinstance(progress, dict):
        out["progress"] = {k: v for k, v in progress.items() if k != "cells"}
    out["parameters"] = summarize_value(answer.get("parameters") or {}, 2)
    out["options"] = summarize_value(answer.get("options") or {}, 2)
    if answer.get("message"):
        out["message"] = _cut(str(answer["message"]), SUMMARY_TEXT * 5)
    out["result"] = summarize_result(answer["result"]) if answer.get("result") is not None else None
    out["summary"] = True
    return out


def bounded(value: Any, max_bytes: int) -> tuple[Any, bool]:
    """``value`` fitted in ``max_bytes`` of JSON: its long strings cut (ever shorter), at
    worst :func:`summarize_result`; returns ``(value, whether it was cut)``."""
    if json_size(value) <= max_bytes:
        return value, False
    limit = 65536
    while limit >= 256:
        cut = _cut_strings(value, limit)
        if json_size(cut) <= max_bytes:
            return cut, True
        limit //= 4
    return summarize_result(value, cells=True), True


def _cut_strings(value: Any, limit: int) -> Any:
    if isinstance(value, str):
        return _cut(value, limit)
    if isinstance(value, dict):
        return {k: _cut_strings(v, limit) for k, v in value.items()}
    if isinstance(value, list):
        return [_cut_strings(v, limit) for v in value]
    return value
