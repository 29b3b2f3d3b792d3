"""Evidence builders: one :class:`~nbrepro.diagnose.causes.Evidence` per kind of fact.

The facts (:mod:`nbrepro.diagnose.facts`) and the cause rules (:mod:`nbrepro.diagnose.rules`)
describe what they found in the same words through these: a recorded source hash against the
current one, a changed input, a static hint, the error a cell raised, a name flowing from a cell
above.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..cell_names import cell_label
from .causes import Evidence

if TYPE_CHECKING:
    from ..record.drift import InputDrift
    from .hints import Hint

#: How a recorded input's drift status reads after "which".
DRIFT_WORDS = {"missing": "is missing now", "changed": "changed since it ran"}


def short(digest: Any) -> str:
    """``sha256:0123456789ab`` for a long digest (the first 12 hex digits)."""
    text = str(digest)
    algo, _, hexpart = text.partition(":")
    return f"{algo}:{hexpart[:12]}" if hexpart else text[:19]


def canonical(name: str) -> str:
    """A distribution or module name compared as pip compares them (``Foo_bar`` = ``foo-bar``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def drift_word(item: InputDrift) -> str:
    """``changed since it ran`` / ``is missing now`` for one recorded input."""
    return DRIFT_WORDS.get(item.status, item.status)


def edited(index: int, current_hash: str, rec: dict[str, Any]) -> Evidence:
    """The cell at ``index`` ran as recorded in ``rec`` and its source hashes differently now."""
    count = rec.get("execution_count")
    ran = f" (In [{count}])" if count is not None else ""
    return Evidence(
        "source-hash",
        f"{cell_label(index)}: recorded source {short(rec.get('source_hash'))}{ran} "
        f"differs from the current {short(current_hash)}",
        {
            "cell": index,
            "recorded": rec.get("source_hash"),
            "current": current_hash,
            "execution_count": count,
        },
    )


def changed_input(item: InputDrift) -> Evidence:
    """A recorded input that changed or is missing now."""
    if item.status == "missing":
        now = "is missing"
    elif item.kind == "large":
        now = "has another size or modification time"
    elif item.current_hash is None:
        now = "cannot be read or hashed"
    else:
        now = f"is {short(item.current_hash)}"
    size = f" ({item.recorded_size} bytes)" if item.recorded_size is not None else ""
    recorded = (
        f"{short(item.recorded_hash)}{size}" if item.recorded_hash else f"without a hash{size}"
    )
    return Evidence("input", f"{item.path}: recorded {recorded}, now {now}", item.to_dict())


def hint(found: Hint, index: int) -> Evidence:
    """A static hint found in the code of the cell at ``index``."""
    return Evidence(
        "static-hint",
        f"{cell_label(index)}, line {found.line}: {found.message}",
        {"cell": index, **found.to_dict()},
    )


def error(error_name: str | None, error_value: str | None) -> Evidence:
    """The exception a cell raised."""
    return Evidence(
        "error",
        f"raised {error_name}: {error_value}",
        {"error_name": error_name, "error_value": error_value},
    )


def dataflow(name: str, defined_by: int) -> Evidence:
    """The cell uses ``name``, which the cell at ``defined_by`` defines above it."""
    return Evidence(
        "dataflow",
        f"uses `{name}`, defined above by {cell_label(defined_by)}",
        {"name": name, "defined_by": defined_by},
    )
