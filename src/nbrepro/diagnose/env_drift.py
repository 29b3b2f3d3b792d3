"""Which changes of the environment a cell's code visibly depends on.

A changed or removed package the cell imports (directly, or as the distribution that provides
a module it imports), a recorded environment variable that matters to it (``TZ``/``LANG``/
``LC_*`` for time and locale code, ``PYTHONHASHSEED`` for set order, ``*_NUM_THREADS`` for
numeric libraries, a variable it reads), and Python itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .causes import Evidence
from .evidence import canonical

if TYPE_CHECKING:
    from ..record.envdiff import EnvDiff
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
