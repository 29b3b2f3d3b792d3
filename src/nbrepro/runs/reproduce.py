"""Re-executing a stored run and judging whether it reproduces (a ``verify`` verdict).

The run's own executed notebook (parameters already injected) is re-executed in a fresh kernel,
in the run's working directory, with the recorded parameters and kernel, and every cell's new
outputs are compared with the run's by :func:`nbrepro.verify.verify_notebook`. Inputs whose
content changed since the run and environment drift are reported beside the verdict, and the
diagnosis gets them with the run's manifest as the provenance of the stored outputs (the cells
that read each input: :func:`nbrepro.runs.manifest.input_readers`), so a cell that read a
changed input is diagnosed ``input-changed``, as ``nbrepro verify`` diagnoses a recorded notebook.

Secrets need nothing of their own here: the pipeline scrubs the fresh executed copies, the
baseline (the run's bundle, scrubbed when it was stored) and the report with one
:class:`~nbrepro.record.secrets.Scrubber`, so a secret the run printed compares equal.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .store import Run

if TYPE_CHECKING:
    from ..record.drift import InputDrift

#: Statuses of run cells that executed (the others keep the stored outputs, or have none).
RAN_STATUSES = ("ok", "error", "timeout", "kernel-died")


@dataclass
class Reproduction:
    """The verdict of re-executing a run, with what changed since."""

    run_id: str
    report: Any  # nbrepro.verify.NotebookReport
    changed_inputs: list[str] = field(default_factory=list)
    environment_lines: list[str] = field(default_factory=list)
    #: The inputs given back from the object store (``--restore-inputs``).
    restored_inputs: list[str] = field(default_factory=list)

    @property
    def reproduced(self) -> bool:
        """Whether every cell's outputs matched the run's."""
        return bool(self.report.reproducible)

    def to_dict(self) -> dict[str, Any]:
        """JSON form: the verify report of the notebook plus the run id and drift."""
        return {
            "run_id": self.run_id,
            "reproducible": self.reproduced,
            "changed_inputs": self.changed_inputs,
            "environment_drift": self.environment_lines,
            "restored_inputs": self.restored_inputs,
            "report": self.report.to_dict(),
        }

    def render_text(self) -> str:
        """Readable verdict."""
        from ..report.text import render_notebook

        lines = [f"Reproducing run {self.run_id}"]
        if self.restored_inputs:
            lines.append(
                f"  on the run's recorded inputs ({len(self.restored_inputs)} restored from "
                "the object store)"
            )
        lines += [f"  input changed since the run: {p}" for p in self.changed_inputs]
        lines += [f"  environment: {line}" for line in self.environment_lines]
        lines += render_notebook(self.report)
        return "\n".join(lines) + "\n"


def run_working_dir(run: Run, fallback_root: Path | None = None) -> Path:
    """The folder the run executed in (its recorded cwd under its project root)."""
    manifest = run.manifest
    root = Path(str(manifest.get("project_root") or ""))
    if not root.is_dir() and fallback_root is not None:
        root = fallback_root
    cwd = Path(str((manifest.get("notebook") or {}).get("cwd") or "."))
    return cwd if cwd.is_absolute() else (root / cwd).resolve()


def _input_states(run: Run, cwd: Path, nb: dict[str, Any]) -> list[InputDrift]:
    """Every input of the run as it is now (``changed``, ``missing``, ``unchanged`` or
    ``unverifiable``, as :func:`nbrepro.record.drift.check_input` judges a recorded input), with
    the cells that read it."""
    from ..record.drift import CellRef, check_input
    from .manifest import input_readers

    manifest = run.manifest
    readers = input_readers(nb, cwd, manifest.get("parameters") or {})
    # The cells the recorder saw read each input, in the run itself.
    for record in manifest.get("cells") or []:
        if isinstance(record, dict) and isinstance(record.get("id"), str):
            for path in record.get("reads") or []:
                if record["id"] not in readers.setdefault(str(path), []):
                    readers[str(path)].append(record["id"])
    index_of = {}
    for index, cell in enumerate(nb.get("cells", [])):
        cid = cell.get("id") if isinstance(cell, dict) else None
        index_of[cid if isinstance(cid, str) and cid else f"index-{index}"] = index
    states = []
    for rel, info in sorted((manifest.get("inputs") or {}).items()):
        item = check_input(rel, info if isinstance(info, dict) else {}, cwd)
        item.cells = [CellRef(cid, index_of.get(cid)) for cid in readers.get(rel, [])]
        states.append(item)
    return states


def run_provenance(run: Run, inputs: list[InputDrift]) -> dict[str, Any]:
    """What the run's manifest says of how its stored outputs were made, as a
    ``metadata.nbrepro`` record (:mod:`nbrepro.diagnose` reads it), laid out by the one builder
    (:mod:`nbrepro.record.provenance_record`): the run as the session (its id and start), the
    environment, the inputs it hashed, and per cell that ran its source hash, status and the
    inputs it read (``inputs``: the run's inputs as checked now, each with its readers).
    Cells that did not run (``skipped``, ``not-run``) have no record; one that timed out or
    whose kernel died is an ``error``. A run has no execution journal: it ran top to bottom."""
    from ..record.provenance_record import CellRecord, InputRecord, Session, provenance_record

    manifest = run.manifest
    read_by: dict[str, list[str]] = {}
    for item in inputs:
        for ref in item.cells:
            read_by.setdefault(ref.id, []).append(item.path)
    cells = {}
    for record in manifest.get("cells") or []:
        if not isinstance(record, dict) or not isinstance(record.get("id"), str):
            continue
        status = record.get("status")
        if status not in RAN_STATUSES:
            continue
        error = record.get("error")
        error = error if isinstance(error, dict) else {}
        cells[record["id"]] = CellRecord(
            source_hash=str(record.get("source_hash")),
            status="ok" if status == "ok" else "error",
            error=None if status == "ok" else str(error.get("name") or status),
            inputs=read_by.get(record["id"], []),
        )
    recorded = manifest.get("inputs") or {}
    return provenance_record(
        session=Session(run.run_id, str((manifest.get("timings") or {}).get("started") or "")),
        environment=manifest.get("environment") or {},
        inputs={
            path: InputRecord.from_json(entry)
            for path, entry in recorded.items()
            if isinstance(entry, dict)
        },
        cells=cells,
    )


def reproduce_run(
    run: Run,
    *,
    fallback_root: Path | None = None,
    timeout: float | None = None,
    notebook_timeout: float | None = None,
    compare: Any = None,
    on_event: Any = None,
    restore_inputs: bool = False,
    rebuild_env: str = "off",
) -> Reproduction:
    """Re-execute ``run`` and compare its outputs with the stored ones.

    ``restore_inputs``: execute on the run's recorded inputs (from the object store, in a
    temporary copy of the working directory: :func:`.checkout.restored_workdir`) rather than on
    the files as they are now; the project's files are not touched."""
    if restore_inputs:
        import shutil
        import tempfile

        from .checkout import restorable_inputs, restored_workdir

        cwd = run_working_dir(run, fallback_root)
        folder = Path(tempfile.mkdtemp(prefix="nbrepro-restore-"))
        try:
            work = restored_workdir(run, cwd, folder / cwd.name)
            result = _reproduce(
                run, work, timeout, notebook_timeout, compare, on_event, rebuild_env
            )
            result.restored_inputs = sorted(restorable_inputs(run)[0])
            return result
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    return _reproduce(
        run,
        run_working_dir(run, fallback_root),
        timeout,
        notebook_timeout,
        compare,
        on_event,
        rebuild_env,
    )


def _reproduce(
    run: Run,
    cwd: Path,
    timeout: float | None,
    notebook_timeout: float | None,
    compare: Any,
    on_event: Any,
    rebuild_env: str = "off",
) -> Reproduction:
    """Re-execute ``run`` in ``cwd`` and compare (``rebuild_env``: in a rebuilt copy of the
    run's recorded environment, :mod:`nbrepro.envbuild.rebuild`)."""
    from ..execute.kernels import DEFAULT_KERNEL
    from ..record.drift import DriftReport
    from ..record.envdiff import diff_environments
    from ..record.kernelenv import kernel_environment
    from ..verify import VerifyOptions, verify_notebook

    manifest = run.manifest
    if not cwd.is_dir():
        from ..errors import InputError

        raise InputError(f"run {run.run_id}: its working directory {cwd} no longer exists")
    inputs = _input_states(run, cwd, run.notebook())
    kernel = (manifest.get("notebook") or {}).get("kernel")
    recorded = manifest.get("environment") or {}
    # The run's kernel's environment now (its interpreter's, not this process's); a run that
    # recorded no Python environment is not compared.
    current = kernel_environment(str(kernel or DEFAULT_KERNEL))
    env, not_compared = None, None
    if recorded.get("python") and current.environment is not None:
        env = diff_environments(recorded, current.environment)
    elif recorded.get("python"):
        not_compared = current.reason
    drift = DriftReport(
        has_provenance=True, environment=env, inputs=inputs, environment_unavailable=not_compared
    )
    options = VerifyOptions(
        parameters=dict(manifest.get("parameters") or {}),
        kernel=kernel,
        cwd=cwd,
        timeout=timeout,
        notebook_timeout=notebook_timeout,
        compare=compare,
        check_drift=False,
        provenance=run_provenance(run, inputs),
        drift=drift,
        rebuild_env=rebuild_env,
    )
    report = verify_notebook(run.notebook_path, options, on_event)
    report.path = (
        os.path.relpath(run.notebook_path)
        if run.notebook_path.is_absolute()
        else str(run.notebook_path)
    )
    return Reproduction(
        run_id=run.run_id,
        report=report,
        changed_inputs=[
            i.path if i.status == "changed" else f"{i.path} ({i.status})"
            for i in inputs
            if i.status != "unchanged"
        ],
        environment_lines=(env.summary_lines() if env is not None else [])
        + ([f"not compared: {not_compared}"] if not_compared else []),
    )
