"""Plain-text tables of runs (``nbrepro runs list`` and the summary after a sweep).

Every cell of a table passes through :func:`nbrepro.textsafe.printable`: run names, parameter
values and metric names come from users and notebooks, and an ESC, a bidi override or a line
separator in them must show escaped (``\\x1b``, ``\\u202e``, ``\\u2028``), not act on the terminal.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from ..textsafe import printable
from .metrics import decode_value


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns aligned with two spaces; numbers right-aligned; every cell printable."""
    headers = [printable(h) for h in headers]
    rows = [[printable(cell) for cell in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    numeric = [
        bool(rows) and all(_is_number(row[i]) or row[i] == "" for row in rows)
        for i in range(len(headers))
    ]

    def line(cells: Sequence[str]) -> str:
        parts = [
            cell.rjust(w) if num else cell.ljust(w)
            for cell, w, num in zip(cells, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    out = [line(headers), line(["-" * w for w in widths])]
    out.extend(line(row) for row in rows)
    return "\n".join(out)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def format_value(value: Any) -> str:
    """A parameter or metric value in a table cell (printable, at most 24 characters)."""
    number = decode_value(value)
    if number is not None and not isinstance(value, str):
        return f"{number:.6g}" if isinstance(value, float) else str(value)
    text = printable(value) if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 24 else text[:21] + "..."


def runs_table(summaries: Sequence[Mapping[str, Any]], *, all_params: bool = False) -> str:
    """A table of run summaries (``RunSummary.to_dict()`` forms): id, name (when a run has
    one), verdict, duration, the parameters that vary between the runs (all with
    ``all_params``) and every metric."""
    param_names = sorted({k for s in summaries for k in (s.get("parameters") or {})})
    if not all_params and len(summaries) > 1:
        param_names = [
            k
            for k in param_names
            if len(
                {
                    json.dumps((s.get("parameters") or {}).get(k), sort_keys=True, default=str)
                    for s in summaries
                }
            )
            > 1
        ]
    metric_names = sorted({k for s in summaries for k in (s.get("metrics") or {})})
    named = any(s.get("name") for s in summaries)
    headers = ["run", *(["name"] if named else []), "verdict", "seconds"]
    headers += [*param_names, *metric_names]
    rows = []
    for s in summaries:
        params = s.get("parameters") or {}
        metrics = s.get("metrics") or {}
        duration = s.get("duration")
        rows.append(
            [
                str(s.get("run_id") or "-"),
                *([str(s.get("name") or "")] if named else []),
                str(s.get("verdict") or "-"),
                f"{duration:.1f}" if isinstance(duration, (int, float)) else "",
                *[format_value(params[k]) if k in params else "" for k in param_names],
                *[format_value(metrics[k]) if k in metrics else "" for k in metric_names],
            ]
        )
    return format_table(headers, rows)
