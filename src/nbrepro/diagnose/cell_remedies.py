"""The one-line remedy of a diagnosed cell, when its cause has an obvious one.

The cause rules (:mod:`.rules`) attach it to the cause they claim; the cell's remedy is that of
its strongest cause (``CellDiagnosis.remedy``, ``"remedy"`` in its JSON). The notebook-wide
mechanical remedies of ``suggest`` (a cell order, seed lines, pinned environments) are
:func:`nbrepro.diagnose.remedies.suggest_remedies`.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..cell_names import cell_label
from .causes import Evidence
from .remedies import SEED_LINES

#: Code or data changed since the stored outputs were made.
RERUN = "re-run the notebook top to bottom and save it"
#: What to do about each kind of static hint of run-to-run variation.
STEADY = {
    **{
        kind: f"seed the generator: `{line.splitlines()[-1]}` in the first code cell"
        for kind, line in SEED_LINES.items()
    },
    "hash-order": "sort the set before showing it, or start the kernel with PYTHONHASHSEED=0",
    "uuid": "keep generated uuids out of the outputs (or derive them from a seeded generator)",
    "entropy": "keep random bytes out of the outputs (or draw them from a seeded generator)",
    "clock": "keep the current time out of the outputs (or pass it in as a parameter)",
}
#: The environment changed in ways the cell does not visibly use.
RECREATE = "recreate the recorded environment (nbrepro env export --format requirements)"


def rerun_remedy(error_name: str | None) -> str:
    """The code changed since it ran; ``error_name``: what the cell raises now (if it does)."""
    if error_name:
        return f"fix the {error_name} the edited code raises, then {RERUN}"
    return RERUN


def restore_remedy(path: str, failed: bool = False) -> str:
    """A recorded input changed or is missing; ``failed``: the cell raises without it."""
    if failed:
        return f"restore {path}"
    return f"restore {path} or re-run the notebook and save it"


def install_remedy(module: str, pin: tuple[str, str] | None) -> str:
    """A module is not installed; ``pin``: the recorded distribution and version."""
    if pin is not None:
        return f"install {pin[0]}=={pin[1]}"
    return f"install the package that provides `{module}`"


def order_remedy(source: int, index: int, below: bool) -> str:
    """The cell used a name from cell ``source`` that ran out of order (``below`` it or not)."""
    if below:
        return f"move {cell_label(source)} above {cell_label(index)} or re-run in order"
    return RERUN


def steady_remedy(evidence: Sequence[Evidence]) -> str | None:
    """What to do about the first static hint among ``evidence`` (``None``: no hint)."""
    for item in evidence:
        kind = item.details.get("kind") if item.kind == "static-hint" else None
        if isinstance(kind, str) and kind in STEADY:
            return STEADY[kind]
    return None


def environment_remedy(evidence: Sequence[Evidence]) -> str:
    """Put back the packages, the variable or the Python the cell depends on."""
    pins = [
        f"{e.details['name']}=={e.details['recorded']}"
        for e in evidence
        if e.kind == "package" and e.details.get("recorded")
    ]
    if pins:
        return f"install {' '.join(pins)}"
    for e in evidence:
        if e.kind == "env-var":
            name, recorded = e.details.get("name"), e.details.get("recorded")
            if recorded is None:
                return f"start the kernel without ${name}, as when it ran"
            return f"start the kernel with {name}={recorded}, as when it ran"
        if e.kind == "python":
            recorded = e.details.get("recorded")
            what = f"Python {recorded}" if e.details.get("name") == "version" else recorded
            return f"use {what}, as when it ran"
    return RECREATE
