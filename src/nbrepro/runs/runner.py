"""Execute a notebook as a versioned run: inject parameters, execute, record, store, export.

:func:`start_run` is the library entry point (``nbrepro run``, sweeps, the server's "Run as
experiment" and its job worker call it). Bad input is refused before any kernel starts
(:mod:`.prepare`); the verdict is the core's (:func:`nbrepro.verify.verdict.run_verdict`);
progress is told as the core's events (:mod:`nbrepro.verify.events`); and everything the run
writes — the executed notebook, the manifest with its metrics, the environment and the MLflow
export — passes through one :class:`~nbrepro.record.secrets.Scrubber` first (stream outputs
joined per cell and name, so a secret printed in two chunks is found as well).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..errors import InputError
from ..hashing import source_hash
from ..notebook_io import kernel_language, kernel_name
from ..verify.verdict import RUN_FAILED, RUN_SUCCEEDED
from .manifest import (
    MANIFEST_SCHEMA_VERSION,
    candidate_inputs,
    configuration_id,
    environment_digest,
    new_run_id,
    notebook_content_hash,
    outputs_hash,
    utc_iso,
)
from .metrics import extract_metrics
from .prepare import RunTarget, inject, prepare_target
from .project import git_state
from .store import Run, RunStore
from .versioning import VersionSettings

if TYPE_CHECKING:
    from ..execute.engine import CellExecution, ExecutionResult
    from ..execute.kernels import ResolvedKernel
    from ..record.secrets import Scrubber
    from ..verify.events import EventCallback

#: Verdicts of a run (the core's: :mod:`nbrepro.verify.verdict`).
VERDICT_SUCCEEDED = RUN_SUCCEEDED
VERDICT_FAILED = RUN_FAILED


@dataclass(frozen=True)
class MlflowTarget:
    """Where to export runs: a tracking URI and an experiment name (``None``: the notebook's)."""

    tracking_uri: str
    experiment: str | None = None
    #: ``(artifact path, registered model name)`` pairs to register (``--register-model``).
    register: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class SweepInfo:
    """The sweep a run belongs to: its id, the run's position and the sweep's size."""

    sweep_id: str
    index: int
    size: int

    def to_dict(self) -> dict[str, Any]:
        """JSON form for ``run.json``."""
        return {"id": self.sweep_id, "index": self.index, "size": self.size}


def hash_inputs(paths: Mapping[str, str], base: Path) -> dict[str, dict[str, Any]]:
    """Hash the input files (paths relative to ``base``) with the recorder's file hashing."""
    from ..record.hashing import hash_file

    out: dict[str, dict[str, Any]] = {}
    for rel, how in paths.items():
        full = Path(rel) if Path(rel).is_absolute() else base / rel
        try:
            fh = hash_file(full)
        except (OSError, ValueError) as exc:
            raise InputError(f"{rel}: cannot hash input file: {exc}") from None
        out[rel] = {"hash": fh.hash, "size": fh.size, "kind": fh.kind, "source": how}
        if fh.kind == "large":  # past the size cap: compared later by size and mtime
            out[rel]["mtime_ns"] = fh.mtime_ns
    return out


def _cell_records(executed: dict[str, Any], result: Any) -> list[dict[str, Any]]:
    cells = executed.get("cells", [])
    records = []
    for ce in result.cells:
        cell = cells[ce.index] if 0 <= ce.index < len(cells) else {}
        error = None
        if ce.error_name is not None or ce.error_value is not None:
            error = {"name": ce.error_name, "value": ce.error_value}
        records.append(
            {
                "index": ce.index,
                "id": ce.cell_id,
                "source_hash": source_hash(cell.get("source", "")),
                "status": ce.status,
                "duration": round(float(ce.duration), 6),
                "error": error,
                "output_hash": outputs_hash(list(cell.get("outputs") or [])),
            }
        )
    return records


def run_environment(kernel_env: Any) -> dict[str, Any]:
    """The ``environment`` a run records: its kernel's (a
    :class:`~nbrepro.record.kernelenv.KernelEnvironment`). A kernel without a Python
    environment (another language, or one that could not be read) records its platform and
    recorded variables with no Python, no packages and no packages digest (the provenance
    schema's environment of a kernel of another language)."""
    from ..record.environment import recorded_env_vars
    from ..record.interpreter import platform_info

    if kernel_env.environment is not None:
        return dict(kernel_env.environment)
    return {
        "platform": platform_info(),
        "kernel": {},
        "packages": {},
        "packages_scope": "all",
        "env_vars": recorded_env_vars(),
    }


def _verdict(executed: dict[str, Any], result: ExecutionResult) -> tuple[str, str | None]:
    """The core's run verdict, with each cell's ``raises-exception`` marking."""
    from ..compare import cell_policy
    from ..verify.verdict import run_verdict

    cells = executed.get("cells", [])
    raises = {
        ce.index: cell_policy(cells[ce.index]).raises_exception
        for ce in result.cells
        if 0 <= ce.index < len(cells)
    }
    return run_verdict(result.cells, raises, result)


def _scrubbed_parameters(
    given: Mapping[str, Any], scrubber: Scrubber
) -> tuple[dict[str, Any], list[str]]:
    """The parameters as recorded (secrets redacted) and a warning per parameter that held one."""
    import json

    plain = json.loads(json.dumps(dict(given), default=str))
    recorded = scrubber.json(plain)
    warnings = [
        f"parameter {scrubber.text(key)!r} holds a secret from the environment: it is not recorded"
        for key, value in plain.items()
        if scrubber.text(key) != key or scrubber.json(value) != value
    ]
    return recorded, warnings


def _cell_events(
    emit: EventCallback,
    notebook: str,
    on_cell: Callable[[Any], None] | None,
    on_cell_start: Callable[[int, str], None] | None,
) -> tuple[Callable[[int, str], None], Callable[[CellExecution], None]]:
    """The engine's per-cell callbacks: the core's events, then the caller's own callbacks."""
    from ..verify.events import cell_callbacks

    emit_started, emit_finished = cell_callbacks(emit, notebook)

    def started(index: int, cell_id: str) -> None:
        emit_started(index, cell_id)
        if on_cell_start is not None:
            on_cell_start(index, cell_id)

    def finished(entry: CellExecution) -> None:
        emit_finished(entry)
        if on_cell is not None:
            on_cell(entry)

    return started, finished


def _display_path(target: RunTarget) -> str:
    path = target.path
    root = target.project_root
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else path.as_posix()


def _store_run(
    store: RunStore,
    manifest: dict[str, Any],
    executed: dict[str, Any],
    environment: dict[str, Any],
    work_dir: Path,
    code_dir: Path,
    versions: VersionSettings,
    scrubber: Scrubber,
) -> Run:
    """Keep the run's artifacts (and inputs, when snapshotted) in the object store, then write
    its bundle with the code patch: objects first, so a bundle only names objects that are
    there, all under the store's shared lock (``runs gc`` takes it exclusively)."""
    from ..objects import ObjectStore
    from .versioning import git_patch, objects_dir, store_objects

    objects = ObjectStore(objects_dir(store.runs_dir))
    extra: dict[str, bytes] = {}
    with objects.lock():
        objects.remove_stale_temporaries()
        warnings = store_objects(objects, manifest["artifacts"], work_dir, versions.object_size_cap)
        if versions.snapshot_inputs:
            warnings += store_objects(
                objects, manifest["inputs"], work_dir, versions.object_size_cap
            )
        if (manifest.get("git") or {}).get("dirty"):
            patch = git_patch(code_dir, versions.patch_size_cap)
            if patch is not None:
                # Secrets in the diff are redacted like everything else a run stores.
                text = patch[0].decode("utf-8", "surrogateescape")
                extra[patch[1]["file"]] = scrubber.text(text).encode("utf-8", "surrogateescape")
                manifest["git"]["patch"] = patch[1]
        manifest["warnings"] = [*manifest["warnings"], *warnings]
        return store.write(manifest, executed, environment, extra_files=extra)


def start_run(
    notebook: str | os.PathLike[str],
    params: Mapping[str, Any] | None = None,
    *,
    name: str | None = None,
    runs_dir: str | os.PathLike[str] | None = None,
    kernel: str | ResolvedKernel | None = None,
    cwd: str | os.PathLike[str] | None = None,
    timeout: float | None = None,
    notebook_timeout: float | None = None,
    inputs: Iterable[str | os.PathLike[str]] = (),
    mlflow: MlflowTarget | None = None,
    sweep: SweepInfo | None = None,
    on_cell: Callable[[Any], None] | None = None,
    on_cell_start: Callable[[int, str], None] | None = None,
    on_event: EventCallback | None = None,
    execute: Callable[..., ExecutionResult] | None = None,
    snapshot_inputs: bool | None = None,
) -> Run:
    """Execute ``notebook`` with ``params`` in a fresh kernel and store the run.

    The notebook file is never modified. The executed copy, ``run.json`` and
    ``environment.json`` are written atomically as a bundle ``<runs dir>/<run id>/``; when
    ``mlflow`` is given the run is then logged to MLflow (see :mod:`nbrepro.runs.mlflow_export`).
    A run whose cells fail is still stored (verdict ``"failed"``). Raises
    :class:`NbreproError` subclasses for bad input (missing notebook, unknown kernel, a
    parameter name the kernel's language cannot take, missing ``inputs`` file) before anything
    runs. ``kernel`` is a kernel name or one already resolved
    (:func:`nbrepro.execute.kernels.resolve_kernel`). ``on_event`` receives the core's events
    (``notebook-started``, ``cell-started``, ``cell-finished``, ``notebook-finished``,
    ``run-stored``); ``on_cell_start(index, id)`` and ``on_cell(CellExecution)`` are the
    engine's per-cell callbacks. ``snapshot_inputs`` also keeps the inputs in the object store
    (``None``: as ``[tool.nbrepro] snapshot_inputs`` says); artifacts are kept always
    (:mod:`nbrepro.runs.versioning`).
    """
    from ..execute.engine import execute_notebook
    from ..record.kernelenv import KernelEnvironment, spec_environment
    from ..record.secrets import Scrubber
    from ..verify.events import make_event

    declared = list(inputs)
    target = prepare_target(notebook, kernel=kernel, runs_dir=runs_dir, cwd=cwd, inputs=declared)
    declared = [Path(item).resolve() for item in declared]  # as given: from the current folder
    nb, store, work_dir, resolved = target.nb, target.store, target.work_dir, target.kernel
    injection = inject(target, params or {})
    to_run = injection.nb if injection is not None else nb
    scrubber = Scrubber()  # the kernel's environment is this process's
    parameters, warnings = _scrubbed_parameters(params or {}, scrubber)
    if injection is not None:
        warnings.extend(injection.warnings)
    if name:
        same_name = [r.run_id for r in store.list() if r.name == name]
        if same_name:
            warnings.append(
                f"the name {name!r} is already used by run {', '.join(same_name[-3:])}: "
                "it now names several runs, so give run ids to `nbrepro runs`"
            )
    from .recording import MODE_GUESSED, MODE_RECORDER, engine_hooks, parse_files
    from .versioning import version_settings

    versions = version_settings(target.project_root, snapshot_inputs=snapshot_inputs)
    # The recorder in the kernel tells which files the run read (and wrote), on this machine
    # or a worker's; a kernel that cannot have it (not IPython) gets its inputs guessed before
    # it runs.
    use_recorder = resolved.is_ipykernel
    input_paths = candidate_inputs(nb, work_dir, parameters, declared)
    if use_recorder:
        input_paths = {p: how for p, how in input_paths.items() if how == "declared"}
    input_hashes = hash_inputs(input_paths, work_dir)

    display = scrubber.text(_display_path(target))
    emit: EventCallback = on_event if on_event is not None else (lambda _event: None)
    code_cells = sum(1 for c in to_run.get("cells", []) if c.get("cell_type") == "code")
    started = datetime.now(timezone.utc)
    run_id = new_run_id(started)
    emit(make_event("notebook-started", notebook=display, cells=code_cells, runs=1))
    cell_started, cell_finished = _cell_events(emit, display, on_cell, on_cell_start)

    def read_kernel_environment() -> KernelEnvironment:
        return spec_environment(resolved.spec, resolved.name)

    # The kernel's environment (its interpreter's, not this process's) and git are read while
    # the kernel works (the kernel is another process).
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="nbrepro-run") as pool:
        env_future = pool.submit(read_kernel_environment)
        git_future = pool.submit(git_state, target.path.parent)
        result = (execute or execute_notebook)(
            to_run,
            kernel=resolved,
            cwd=work_dir,
            timeout=timeout,
            notebook_timeout=notebook_timeout,
            on_cell=cell_finished,
            on_cell_start=cell_started,
            **(engine_hooks() if use_recorder else {}),
        )
        finished = datetime.now(timezone.utc)
        kernel_env = env_future.result()
        git = git_future.result()
    scrubber.execution(result)
    executed = result.nb
    if result.ran_on:
        # Run on a worker: the environment is that of the kernel there, read there.
        host = result.ran_on.get("host", "the worker")
        remote_env = result.ran_on.get("environment")
        kernel_env = KernelEnvironment(
            kernel_env.kernel,
            remote_env,
            None if remote_env is not None else f"cannot read it on {host}",
            kernel_env.language,
        )
    environment = run_environment(kernel_env)
    if kernel_env.environment is None and kernel_env.is_python:
        warnings.append(f"the kernel's environment is not recorded: {kernel_env.reason}")

    lang_info = (executed.get("metadata") or {}).get("language_info") or {}
    kernel_facts = {
        "name": result.kernel_name,
        "language": kernel_language(executed),
        "language_version": lang_info.get("version"),
    }
    environment["kernel"] = {
        **(environment.get("kernel") or {}),
        **{key: value for key, value in kernel_facts.items() if value is not None},
    }
    environment = scrubber.json(environment)
    env_digest = environment_digest(environment)
    content_hash = notebook_content_hash(nb)
    verdict, failure = _verdict(executed, result)
    cells = _cell_records(executed, result)
    artifacts: dict[str, dict[str, Any]] = {}
    if use_recorder:
        from .recording import cell_files, split_files
        from .versioning import objects_dir

        recorded = parse_files(result)
        recording = {"mode": MODE_RECORDER, "reason": None}
        if recorded.recorded:
            per_cell = cell_files(recorded, cells)
            for record in cells:
                record.update(per_cell.get(record["id"], {"reads": [], "writes": []}))
            read, artifacts = split_files(
                recorded,
                per_cell,
                work_dir,
                target.project_root,
                excluded=[store.runs_dir, objects_dir(store.runs_dir)],
            )
            for path, info in read.items():
                if path in input_hashes:
                    input_hashes[path]["cells"] = info["cells"]
                else:
                    input_hashes[path] = info
            input_hashes = dict(sorted(input_hashes.items()))
        else:
            recording = {"mode": MODE_GUESSED, "reason": recorded.reason}
            warnings.append(
                f"the run's files were not recorded ({recorded.reason}): its inputs are "
                "guessed from the code and hashed after the run"
            )
            guessed = candidate_inputs(nb, work_dir, parameters, declared)
            input_hashes = hash_inputs(guessed, work_dir)
    else:
        recording = {"mode": MODE_GUESSED, "reason": "the kernel is not IPython"}
    metrics = extract_metrics(executed)
    metric_values, metric_series = metrics.to_manifest()
    project_root = target.project_root

    manifest: dict[str, Any] = {
        "schema_version": MANIFEST_SCHEMA_VERSION,
        "run_id": run_id,
        "configuration_id": configuration_id(content_hash, parameters, env_digest, input_hashes),
        "name": name,
        "nbrepro_version": __version__,
        "notebook": {
            "path": _display_path(target),
            "absolute_path": str(target.path),
            "content_hash": content_hash,
            "kernel": result.kernel_name or kernel_name(nb),
            "language": kernel_language(nb),
            "cwd": os.path.relpath(work_dir, project_root)
            if work_dir.is_relative_to(project_root)
            else str(work_dir),
        },
        "project_root": str(project_root),
        "parameters": parameters,
        "environment_digest": env_digest,
        "environment": environment,
        "inputs": input_hashes,
        "cells": cells,
        "recording": recording,
        "artifacts": artifacts,
        "snapshot_inputs": versions.snapshot_inputs,
        "metrics": metric_values,
        "metric_series": metric_series,
        "metric_sources": dict(sorted(metrics.sources.items())),
        "timings": {
            "started": utc_iso(started),
            "finished": utc_iso(finished),
            "duration": round((finished - started).total_seconds(), 6),
            "execution": round(float(result.duration), 6),
        },
        "git": git.to_dict() if git is not None else None,
        **(
            {
                "ran_on": {
                    k: result.ran_on[k] for k in ("host", "pid", "python") if k in result.ran_on
                }
            }
            if result.ran_on
            else {}
        ),
        "verdict": verdict,
        "failure": failure,
        "kernel_died_at": result.kernel_died_at,
        "timed_out": bool(result.timed_out),
        "sweep": sweep.to_dict() if sweep is not None else None,
        "warnings": warnings,
    }
    manifest = scrubber.json(manifest)
    emit(
        make_event(
            "notebook-finished",
            notebook=display,
            status=manifest["verdict"],
            reproducible=None,
            reason=manifest["failure"],
            duration=manifest["timings"]["duration"],
        )
    )
    run = _store_run(
        store, manifest, executed, environment, work_dir, target.path.parent, versions, scrubber
    )
    emit(make_event("run-stored", notebook=display, run_id=run.run_id, path=str(run.path)))
    if mlflow is not None:
        from .mlflow_export import export_run

        export = export_run(
            run,
            mlflow.tracking_uri,
            experiment=mlflow.experiment,
            scrubber=scrubber,
            register=mlflow.register,
        )
        store.record_mlflow(run, export)
    return run
