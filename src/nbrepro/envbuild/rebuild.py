"""Verifying in a rebuilt copy of the recorded environment (``verify --rebuild-env``).

:func:`plan_rebuild` (called when a notebook is prepared, before any executes) builds or finds
the environment of the notebook's recorded one; :func:`execute_rebuilt` (called by the pipeline
for such a notebook) verifies in it under a temporary kernelspec, then, when the current
kernel's environment differs from the recorded one, runs the notebook once there too: a cell
that differs there and reproduces in the rebuilt environment proves the environment drift
(:func:`nbrepro.diagnose.env_drift.prove_environment_drift`); a cell that differs in both is
not blamed on the environment. The verdict is the rebuilt environment's.

Modes (option ``rebuild_env``): ``off``; ``require`` (an environment that cannot be rebuilt is
an error, exit :data:`~nbrepro.envbuild.build.EXIT_NOT_REBUILT`); ``prefer`` (it falls back to
the current environment, with a warning saying so).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..cell_names import cell_numbers
from ..errors import InputError
from ..optionspec import mention
from .build import BuiltEnvironment, EnvironmentNotRebuilt, build_environment
from .kernel import temporary_kernel
from .lock import lock_from_environment

if TYPE_CHECKING:
    from ..execute.kernels import ResolvedKernel
    from ..verify.model import NotebookReport, VerifyOptions
    from ..verify.prepare import PreparedNotebook

#: The values of the ``rebuild_env`` option.
MODES = ("off", "require", "prefer")


@dataclass(frozen=True)
class RebuildPlan:
    """A notebook to verify in ``built``; ``current``: the kernel it would run in otherwise."""

    mode: str
    built: BuiltEnvironment
    current: ResolvedKernel


def plan_rebuild(
    nb: dict[str, Any],
    current: ResolvedKernel,
    mode: str,
    provenance: dict[str, Any] | None = None,
) -> tuple[RebuildPlan | None, str | None]:
    """The rebuilt environment of ``nb``'s recording (built now, or found in the cache), or
    with ``prefer`` ``(None, warning)`` when it cannot be rebuilt; raises
    :class:`~nbrepro.envbuild.build.EnvironmentNotRebuilt` with ``require``. ``provenance``:
    the recording to use instead of the notebook's own (a stored run's manifest)."""
    if mode not in MODES or mode == "off":
        return None, None
    from ..provenance import get_provenance

    recorded = (provenance or get_provenance(nb) or {}).get("environment")
    try:
        if not isinstance(recorded, dict) or not recorded:
            raise EnvironmentNotRebuilt("no recorded environment (metadata.nbrepro)")
        try:
            lock = lock_from_environment(recorded)
        except InputError as exc:
            raise EnvironmentNotRebuilt(exc.raw) from None
        built = build_environment(lock)
    except EnvironmentNotRebuilt as exc:
        if mode == "require":
            raise
        return None, (
            f"{exc.raw}; verified in the current environment instead "
            f"({mention('rebuild_env', 'prefer')})"
        )
    return RebuildPlan(mode, built, current), None


def _describe(built: BuiltEnvironment) -> str:
    count = len(built.lock.packages)
    how = "cached" if built.cached else f"built in {built.build_seconds:.1f} s"
    pins = f"{count} pinned package{'s' if count != 1 else ''}"
    return (
        f"verified in a rebuilt copy of the recorded environment (Python "
        f"{built.python_version}, {pins}; {how}: {built.root})"
    )


def _cells(
    indices: list[int], one: tuple[str, ...], many: tuple[str, ...]
) -> tuple[str, tuple[str, ...]]:
    """``("cell 2", one)`` or ``("cells 2, 3", many)``."""
    if len(indices) == 1:
        return f"cell {cell_numbers(indices)}", one
    return f"cells {cell_numbers(indices)}", many


def execute_rebuilt(
    prep: PreparedNotebook,
    options: VerifyOptions,
    on_event: Any,
    executor: Any,
    execute: Callable[..., NotebookReport],
) -> NotebookReport:
    """Verify ``prep`` (with a :class:`RebuildPlan`) in its rebuilt environment with
    ``execute`` (the pipeline's), and test the current environment's drift against it."""
    from ..diagnose.env_drift import absolve_environment, prove_environment_drift
    from ..record.envdiff import diff_environments
    from ..record.kernelenv import kernel_environment
    from ..record.secrets import Scrubber

    plan = prep.rebuilt
    if plan is None:
        raise ValueError("execute_rebuilt needs a notebook prepared with rebuild_env")
    with temporary_kernel(plan.built) as kernel:
        inner = dataclasses.replace(prep, kernel=kernel, rebuilt=None)
        report = execute(inner, options, on_event, executor)
    section: dict[str, Any] = {"mode": plan.mode, **plan.built.to_dict()}
    section["current_kernel"] = plan.current.name
    lines = [_describe(plan.built)]
    from ..provenance import get_provenance

    prov = options.provenance or get_provenance(prep.original) or {}
    recorded = prov.get("environment") or {}
    found = kernel_environment(plan.current.name, extra_env=options.env)
    diff = diff_environments(recorded, found.environment) if found.environment else None
    if diff is None:
        section["proof"] = None
        lines.append(f"environment drift not tested: {found.reason}")
    elif diff.is_empty:
        section["proof"] = {"drift": "none", "proven_cells": [], "differs_in_both": []}
        section["current_environment"] = diff.to_dict()
        lines.append("the current environment matches the recorded one: no drift to test")
    else:
        current = dataclasses.replace(prep, kernel=plan.current, rebuilt=None, output_path=None)
        once = dataclasses.replace(options, runs=1, suggest=False, output_dir=None)
        there = execute(current, once, None, executor)
        proof = prove_environment_drift(there.cells, report.cells, diff)
        section["proof"] = proof.to_dict()
        section["current_environment"] = diff.to_dict()
        section["current_status"] = there.status
        packages = "; ".join(proof.packages) or "; ".join(diff.summary_lines()[:3])
        if proof.proven:
            subject, verbs = _cells(
                proof.proven, ("differs", "reproduces"), ("differ", "reproduce")
            )
            lines.append(
                f"environment drift proven: {subject} {verbs[0]} in the current environment "
                f"(kernel {plan.current.name!r}) and {verbs[1]} in the recorded one, which "
                f"differ in: {packages}"
            )
        if proof.both:
            subject, verbs = _cells(proof.both, ("differs",), ("differ",))
            lines.append(
                f"{subject} {verbs[0]} in the recorded environment too: not blamed on the "
                "environment"
            )
            for cell in report.cells:
                if cell.index in proof.both and cell.diagnosis is not None:
                    absolve_environment(cell.diagnosis)
        if not proof.proven and not proof.both:
            lines.append(f"the current environment differs ({packages}) but gives the same outputs")
    environ = dict(os.environ)
    environ.update(options.env or {})
    scrubber = Scrubber(environ)
    report.drift = {**(report.drift or {}), "rebuilt_environment": scrubber.json(section)}
    report.warnings[:0] = [scrubber.text(line) for line in lines]
    return report
