"""``analyze(nb)``: every active rule over one notebook dict, findings sorted by cell."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..notebook_io import kernel_language
from .cells import code_cells, is_python
from .dataflow import PLATFORM_NAMES, dataflow_findings, notebook_facts
from .execution import execution_findings
from .findings import Finding, select_rules
from .recorded import current_session_history, deleted_runs, stale_outputs

_DATAFLOW_RULES = frozenset({"NBR201", "NBR202", "NBR203"})
_ORDER_RULES = frozenset({"NBR101", "NBR102", "NBR103", "NBR104"})


def _platform_names(nb: dict[str, Any]) -> frozenset[str]:
    metadata = nb.get("metadata")
    names: frozenset[str] = frozenset()
    if isinstance(metadata, dict):
        for key in metadata:
            for prefix, platform in PLATFORM_NAMES.items():
                if str(key).startswith(prefix):
                    names |= platform
    return names


def analyze(
    nb: dict[str, Any],
    *,
    select: Iterable[str] | None = None,
    ignore: Iterable[str] | None = None,
    known_names: Iterable[str] = (),
) -> list[Finding]:
    """Check a notebook dict (as :func:`nbrepro.notebook_io.read_notebook` returns it).

    ``select``/``ignore`` take rule ids, id prefixes (``NBR2``), rule names or ``ALL``; an
    unknown one raises :class:`~nbrepro.errors.UsageError`. ``known_names`` are names to treat
    as always defined (like ruff's ``builtins`` setting). Python notebooks get every rule;
    notebooks of other kernel languages get the execution-order rules (NBR1xx) only.
    """
    active = select_rules(select, ignore)
    cells = code_cells(nb)
    python = is_python(kernel_language(nb))
    history = current_session_history(nb, cells) if python else {}
    findings: list[Finding] = []
    if active & _ORDER_RULES:
        findings += execution_findings(cells, active, history)
    if python and active & _DATAFLOW_RULES:
        findings += dataflow_findings(
            cells,
            notebook_facts(cells),
            active,
            known_names=frozenset(known_names) | _platform_names(nb),
            deleted_runs=deleted_runs(history, cells),
        )
    if python and "NBR301" in active:
        findings += stale_outputs(nb, cells)
    findings.sort(key=Finding.sort_key)
    return findings
