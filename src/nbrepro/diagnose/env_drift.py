"""Which changes of the environment a cell's code visibly depends on.

A changed or removed package the cell imports (directly, or as the distribution that provides
a module it imports), a recorded environment variable that matters to it (``TZ``/``LANG``/
``LC_*`` for time and locale code, ``PYTHONHASHSEED`` for set order, ``*_NUM_THREADS`` for
numeric libraries, a variable it reads), and Python itself.

With a rebuilt copy of the recorded environment (``verify --rebuild-env``) the suspicion is
tested: :func:`prove_environment_drift` finds the cells that differ in the current environment
and reproduce in the rebuilt one (environment drift *proven*, naming the packages that differ),
and the cells that differ in both (not the environment's doing: :func:`absolve_environment`
takes the environment's cause off their diagnosis).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from .causes import Evidence
from .evidence import canonical
from .facts import FAILING

if TYPE_CHECKING:
    from ..record.envdiff import EnvDiff
    from .causes import CellDiagnosis
    from .facts import CodeCell

#: Environment variables -> top-level modules whose results they change.
VAR_MODULES = {
    "TZ": {"time", "datetime", "pandas", "zoneinfo", "calendar", "dateutil", "pytz"},
    "LANG": {"locale", "time", "datetime", "calendar"},
    "LANGUAGE": {"locale", "gettext"},
    "PYTHONIOENCODING": {"sys", "io"},
    "PYTHONUTF8": {"sys", "io", "locale"},
}
#: Modules whose results depend on the number of threads (``OMP_NUM_THREADS``, ...).
THREAD_MODULES = {"numpy", "scipy", "torch", "sklearn", "pandas", "tensorflow", "numexpr"}


def provides(dist: str, modules: set[str]) -> bool:
    """Whether an installed distribution ``dist`` provides one of ``modules``."""
    from ..record.environment import distributions_for_modules

    wanted = canonical(dist)
    try:
        return any(canonical(d) == wanted for d in distributions_for_modules(modules))
    except Exception:  # metadata of a broken distribution: no evidence either way
        return False


def var_matters(name: str, c: CodeCell, modules: set[str]) -> bool:
    """Whether environment variable ``name`` can change what cell ``c`` computes."""
    if name in c.static.env_reads:
        return True
    if name == "PYTHONHASHSEED":
        return bool(c.static.of_kind(["hash-order"]))
    if name.startswith("LC_"):
        return bool(modules & VAR_MODULES["LANG"])
    if name.endswith("_NUM_THREADS") or name.endswith("_MAX_THREADS"):
        return bool(modules & THREAD_MODULES)
    return bool(modules & VAR_MODULES.get(name, set()))


def _show(value: str | None) -> str:
    return "unset" if value is None else repr(value)


def touched_by(env: EnvDiff, c: CodeCell, missing_module: str | None) -> list[tuple[str, Evidence]]:
    """The changes of ``env`` cell ``c`` depends on, each ``(subject, evidence)``: packages
    first, then variables, then Python. A package removed because the cell's own import of it
    failed (``missing_module``) is that cause's, not this one's."""
    modules = {m.lower() for m in c.static.modules}
    canon = {canonical(m) for m in modules}
    touched: list[tuple[str, Evidence]] = []
    for change in env.changed:
        if canonical(change.name) in canon or provides(change.name, modules):
            message = f"{change.name} {change.recorded} -> {change.current}"
            touched.append((change.name, Evidence("package", message, change.to_dict())))
    gone = canonical((missing_module or "").split(".")[0])
    for name, version in env.removed.items():
        if canonical(name) in canon and canonical(name) != gone:
            details = {"name": name, "recorded": version, "current": None}
            message = f"{name} {version} -> not installed"
            touched.append((name, Evidence("package", message, details)))
    for var in env.env_vars:
        if var_matters(var.name, c, modules):
            message = f"${var.name}: {_show(var.recorded)} -> {_show(var.current)}"
            touched.append((f"${var.name}", Evidence("env-var", message, var.to_dict())))
    for change in env.python:
        message = f"Python {change.name}: {change.recorded} -> {change.current}"
        touched.append(("Python", Evidence("python", message, change.to_dict())))
    return touched


class _Outcome(Protocol):
    index: int
    status: str


@dataclass
class EnvironmentProof:
    """What running in the rebuilt recorded environment showed, cell by cell.

    ``proven``: cells that differ in the current environment and reproduce in the rebuilt
    one; ``both``: cells that differ in both (not blamed on the environment); ``packages``:
    the recorded packages that differ now (``name recorded -> current``).
    """

    proven: list[int] = field(default_factory=list)
    both: list[int] = field(default_factory=list)
    packages: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        """``proven`` (some cell), ``not-environment`` (cells differ in both, none proven),
        ``none`` (no cell differs in the current environment either)."""
        if self.proven:
            return "proven"
        return "not-environment" if self.both else "none"

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``drift.rebuilt_environment.proof`` of a verify report)."""
        return {
            "drift": self.verdict,
            "proven_cells": list(self.proven),
            "differs_in_both": list(self.both),
            "packages": list(self.packages),
        }


def differing_packages(env: EnvDiff | None) -> list[str]:
    """The recorded packages (and Python) that differ now, ``name recorded -> current``."""
    if env is None:
        return []
    out = [f"{c.name} {c.recorded} -> {c.current}" for c in env.changed]
    out += [f"{name} {version} -> not installed" for name, version in env.removed.items()]
    out += [f"Python {c.recorded} -> {c.current}" for c in env.python if c.name == "version"]
    return out


def prove_environment_drift(
    current: Sequence[_Outcome], rebuilt: Sequence[_Outcome], env: EnvDiff | None
) -> EnvironmentProof:
    """Compare the cells of a run in the current environment with those of a run in the
    rebuilt recorded one (``env``: how the current environment differs from the recorded)."""
    in_rebuilt = {o.index: o.status for o in rebuilt}
    proof = EnvironmentProof(packages=differing_packages(env))
    for outcome in sorted(current, key=lambda o: o.index):
        if outcome.status not in FAILING or outcome.index not in in_rebuilt:
            continue
        if in_rebuilt[outcome.index] in FAILING:
            proof.both.append(outcome.index)
        else:
            proof.proven.append(outcome.index)
    return proof


def absolve_environment(diagnosis: CellDiagnosis) -> None:
    """Take the environment's cause off a cell that differs in the rebuilt recorded
    environment too (it is not the environment's doing)."""
    diagnosis.causes = [c for c in diagnosis.causes if c.id != "environment-changed"]
    diagnosis.checked.append(
        "environment: not blamed (the cell differs in the rebuilt recorded environment too)"
    )
    diagnosis.finish()
