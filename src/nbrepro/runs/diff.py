"""Comparing two stored runs: parameters, environment, inputs, metrics and cell outputs."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..cell_names import cell_label, cell_number
from .metrics import decode_value
from .store import Run

_MISSING = object()


@dataclass(frozen=True)
class ValueChange:
    """One named value on each side; ``in_a``/``in_b`` False when it is absent there."""

    name: str
    a: Any
    b: Any
    in_a: bool = True
    in_b: bool = True

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"name": self.name, "a": self.a, "b": self.b, "in_a": self.in_a, "in_b": self.in_b}


@dataclass
class RunDiff:
    """Differences between run ``a`` and run ``b``."""

    a: str
    b: str
    same_configuration: bool
    notebook_changed: bool
    parameters: list[ValueChange] = field(default_factory=list)
    inputs: list[ValueChange] = field(default_factory=list)
    metrics: list[ValueChange] = field(default_factory=list)
    environment: dict[str, Any] = field(default_factory=dict)
    environment_lines: list[str] = field(default_factory=list)
    #: Cells whose outputs differ: ``{"id", "index_a", "index_b", "status_a", "status_b"}``.
    cells: list[dict[str, Any]] = field(default_factory=list)
    verdicts: tuple[str, str] = ("", "")
    #: Artifacts (files the runs wrote) whose content differs, by hash.
    artifacts: list[ValueChange] = field(default_factory=list)
    #: What the differences mean: ``{"kind", "message"}`` (``nondeterministic-training``: same
    #: notebook, parameters, inputs and environment, yet an artifact differs).
    findings: list[dict[str, str]] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        """Whether the runs computed the same thing with the same results."""
        return not (
            self.notebook_changed
            or self.parameters
            or self.inputs
            or self.metrics
            or self.environment_lines
            or self.cells
            or self.artifacts
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``nbrepro runs diff --format json``)."""
        return {
            "a": self.a,
            "b": self.b,
            "same_configuration": self.same_configuration,
            "notebook_changed": self.notebook_changed,
            "parameters": [c.to_dict() for c in self.parameters],
            "inputs": [c.to_dict() for c in self.inputs],
            "metrics": [c.to_dict() for c in self.metrics],
            "environment": self.environment,
            "cells": self.cells,
            "verdicts": list(self.verdicts),
            "artifacts": [c.to_dict() for c in self.artifacts],
            "findings": self.findings,
        }

    def render_text(self) -> str:
        """Readable report: one section per kind of difference."""
        out = [f"Runs {self.a} (a) and {self.b} (b)"]
        out.append(
            "  same configuration" if self.same_configuration else "  different configurations"
        )
        if self.verdicts[0] != self.verdicts[1]:
            out.append(f"  verdict: {self.verdicts[0]} -> {self.verdicts[1]}")
        if self.notebook_changed:
            out.append("  notebook content changed")
        sections = [
            ("Parameters", self.parameters, _fmt_value),
            ("Inputs", self.inputs, _fmt_hash),
            ("Metrics", self.metrics, _fmt_metric),
            ("Artifacts", self.artifacts, _fmt_hash),
        ]
        for title, changes, fmt in sections:
            if changes:
                out.append(f"{title}:")
                out.extend(f"  {fmt(c)}" for c in changes)
        if self.environment_lines:
            out.append("Environment:")
            out.extend(f"  {line}" for line in self.environment_lines)
        if self.cells:
            out.append("Cell outputs that differ:")
            for cell in self.cells:
                out.append(f"  {_where(cell)} [{cell['id']}]{_status_note(cell)}")
        for finding in self.findings:
            out.append(f"Finding: {finding['kind']}: {finding['message']}")
        if self.is_empty:
            out.append(
                "No differences in parameters, inputs, environment, metrics, artifacts or outputs."
            )
        return "\n".join(out)


def _where(cell: dict[str, Any]) -> str:
    """``cell 4``, ``cell 4 (a) / 5 (b)``, or ``cell 4 (a only)`` for a cell one run lacks."""
    a: int | None = cell.get("index_a")
    b: int | None = cell.get("index_b")
    if a is not None and b is not None:
        return cell_label(a) if a == b else f"{cell_label(a)} (a) / {cell_number(b)} (b)"
    if a is not None:
        return f"{cell_label(a)} (a only)"
    return f"{cell_label(b)} (b only)" if b is not None else "a cell"


def _status_note(cell: dict[str, Any]) -> str:
    a, b = cell.get("status_a"), cell.get("status_b")
    return f" status {a} -> {b}" if a != b else ""


def _show(value: Any) -> str:
    return json.dumps(value, default=str) if not isinstance(value, str) else repr(value)


def _fmt_value(c: ValueChange) -> str:
    if not c.in_a:
        return f"+ {c.name} = {_show(c.b)}"
    if not c.in_b:
        return f"- {c.name} = {_show(c.a)}"
    return f"~ {c.name}: {_show(c.a)} -> {_show(c.b)}"


def _fmt_hash(c: ValueChange) -> str:
    if not c.in_a:
        return f"+ {c.name}"
    if not c.in_b:
        return f"- {c.name}"
    return f"~ {c.name}: {str(c.a)[:19]}... -> {str(c.b)[:19]}..."


def _fmt_metric(c: ValueChange) -> str:
    if not c.in_a or not c.in_b:
        return _fmt_value(c)
    a, b = decode_value(c.a), decode_value(c.b)
    delta = ""
    if a is not None and b is not None:
        d = b - a
        delta = f" ({d:+.6g}" + (f", {d / abs(a):+.2%}" if a else "") + ")"
    return f"~ {c.name}: {_show(c.a)} -> {_show(c.b)}{delta}"


def _dict_changes(a: dict[str, Any], b: dict[str, Any], key: Any = None) -> list[ValueChange]:
    changes = []
    for name in sorted(set(a) | set(b)):
        va, vb = a.get(name, _MISSING), b.get(name, _MISSING)
        ca = key(va) if key and va is not _MISSING else va
        cb = key(vb) if key and vb is not _MISSING else vb
        if ca == cb:
            continue
        changes.append(
            ValueChange(
                name,
                None if ca is _MISSING else ca,
                None if cb is _MISSING else cb,
                in_a=va is not _MISSING,
                in_b=vb is not _MISSING,
            )
        )
    return changes


def _cells_by_id(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {str(c.get("id")): c for c in manifest.get("cells") or []}


def diff_runs(a: Run, b: Run) -> RunDiff:
    """What differs between two stored runs."""
    from ..record.envdiff import diff_environments

    ma, mb = a.manifest, b.manifest
    env = diff_environments(ma.get("environment") or {}, mb.get("environment") or {})
    cells = []
    cells_a, cells_b = _cells_by_id(ma), _cells_by_id(mb)
    for cid in [*cells_a, *(c for c in cells_b if c not in cells_a)]:
        ca, cb = cells_a.get(cid), cells_b.get(cid)
        if ca is not None and cb is not None and ca.get("output_hash") == cb.get("output_hash"):
            continue
        cells.append(
            {
                "id": cid,
                "index_a": ca.get("index") if ca else None,
                "index_b": cb.get("index") if cb else None,
                "status_a": ca.get("status") if ca else None,
                "status_b": cb.get("status") if cb else None,
            }
        )
    artifacts = _dict_changes(
        _recorded(ma.get("artifacts")), _recorded(mb.get("artifacts")), key=_hash_of
    )
    findings = []
    same_config = ma.get("configuration_id") == mb.get("configuration_id")
    changed_both = [c.name for c in artifacts if c.in_a and c.in_b]
    if same_config and changed_both:
        names = ", ".join(changed_both[:3]) + (" ..." if len(changed_both) > 3 else "")
        findings.append(
            {
                "kind": "nondeterministic-training",
                "message": f"same notebook, parameters, inputs and environment, yet {names} "
                "differ: the run that wrote them is not deterministic (a seed not fixed, "
                "parallel reduction order, time-dependent code)",
            }
        )
    return RunDiff(
        a=a.run_id,
        b=b.run_id,
        same_configuration=ma.get("configuration_id") == mb.get("configuration_id"),
        notebook_changed=(ma.get("notebook") or {}).get("content_hash")
        != (mb.get("notebook") or {}).get("content_hash"),
        parameters=_dict_changes(ma.get("parameters") or {}, mb.get("parameters") or {}),
        inputs=_dict_changes(
            ma.get("inputs") or {}, mb.get("inputs") or {}, key=lambda info: info.get("hash")
        ),
        metrics=_dict_changes(ma.get("metrics") or {}, mb.get("metrics") or {}),
        environment=env.to_dict(),
        environment_lines=env.summary_lines(),
        cells=cells,
        verdicts=(str(ma.get("verdict", "")), str(mb.get("verdict", ""))),
        artifacts=artifacts,
        findings=findings,
    )


def _recorded(section: Any) -> dict[str, Any]:
    return (
        {k: v for k, v in section.items() if isinstance(v, dict)}
        if isinstance(section, dict)
        else {}
    )


def _hash_of(info: Any) -> Any:
    return info.get("hash") if isinstance(info, dict) else None
