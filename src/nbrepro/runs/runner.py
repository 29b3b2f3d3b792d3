"""Execute a notebook as a versioned run: inject parameters, execute, record, store, export.

:func:`start_run` is the library entry point (``nbrepro run``, sweeps and the server's "Run as
experiment" call it); it is self-contained and picklable-argument-only, so it runs as well in a
worker process as in the caller's.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .. import __version__
from ..cell_names import cell_label
from ..errors import InputError, NotebookNotFound
from ..hashing import source_hash
from ..notebook_io import kernel_language, kernel_name, read_notebook
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
from .project import find_project_root, git_state, resolve_runs_dir
from .store import Run, RunStore

#: Verdicts of a run.
VERDICT_SUCCEEDED = "succeeded"
VERDICT_FAILED = "failed"


@dataclass(frozen=True)
class MlflowTarget:
    """Where to export runs: a tracking URI and an experiment name (``None``: the notebook's)."""

    tracking_uri: str
    experiment: str | None = None


@dataclass(frozen=True)
class SweepInfo:
    """The sweep a run belongs to: its id, the run's position and the sweep's size."""

    sweep_id: str
    index: int
    size: int

    def to_dict(self) -> dict[str, Any]:
        """JSON form for ``run.json``."""
        return {"id": self.sweep_id, "index": self.index, "size": self.size}


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def secret_scrubber(environ: Mapping[str, str] | None = None) -> Callable[[Any], Any]:
    """A function returning a JSON value with every secret of ``environ`` (default
    ``os.environ``) replaced in its strings: the values of token/key/password-named variables
    and URL passwords (:mod:`nbrepro.record.secrets`). A run applies it to everything it
    records (manifest, executed notebook), since a cell's output or error may print a secret."""
    from ..record.secrets import redactor

    redact = redactor(environ)

    def scrub(value: Any) -> Any:
        if isinstance(value, str):
            return redact(value)
        if isinstance(value, dict):
            return {scrub(k): scrub(v) for k, v in value.items()}
        if isinstance(value, list):
            return [scrub(v) for v in value]
        return value

    return scrub


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


def _verdict(executed: dict[str, Any], result: Any) -> tuple[str, str | None]:
    from ..compare import cell_policy

    cells = executed.get("cells", [])
    for ce in result.cells:
        where = cell_label(ce.index, ce.cell_id)
        if ce.status in ("ok", "skipped"):
            continue
        if ce.status == "error":
            cell = cells[ce.index] if 0 <= ce.index < len(cells) else {}
            if cell_policy(cell).raises_exception:
                continue
            return VERDICT_FAILED, f"{where} raised {ce.error_name}: {ce.error_value}"
        if ce.status == "timeout":
            return VERDICT_FAILED, f"{where} timed out"
        if ce.status == "kernel-died":
            return VERDICT_FAILED, f"the kernel died in {where}"
    if result.kernel_died_at is not None:
        return VERDICT_FAILED, f"the kernel died in {cell_label(result.kernel_died_at)}"
    if result.timed_out:
        return VERDICT_FAILED, "the notebook timed out"
    return VERDICT_SUCCEEDED, None


def run_environment(kernel_env: Any) -> dict[str, Any]:
    """The ``environment`` a run records: its kernel's (a
    :class:`~nbrepro.record.kernelenv.KernelEnvironment`). A kernel without a Python
    environment (another language, or one that could not be read) records its platform and
    recorded variables with no Python and no packages."""
    from ..record.environment import recorded_env_vars
    from ..record.interpreter import platform_info

    if kernel_env.environment is not None:
        return dict(kernel_env.environment)
    return {
        "python": {},
        "platform": platform_info(),
        "kernel": {},
        "packages": {},
        "packages_scope": "all",
        "packages_digest": "",
        "env_vars": recorded_env_vars(),
    }


def start_run(
    notebook: str | os.PathLike[str],
    params: Mapping[str, Any] | None = None,
    *,
    name: str | None = None,
    runs_dir: str | os.PathLike[str] | None = None,
    kernel: str | None = None,
    cwd: str | os.PathLike[str] | None = None,
    timeout: float | None = None,
    notebook_timeout: float | None = None,
    inputs: Iterable[str | os.PathLike[str]] = (),
    mlflow: MlflowTarget | None = None,
    sweep: SweepInfo | None = None,
    on_cell: Callable[[Any], None] | None = None,
    on_cell_start: Callable[[int, str], None] | None = None,
) -> Run:
    """Execute ``notebook`` with ``params`` in a fresh kernel and store the run.

    The notebook file is never modified. The executed copy, ``run.json`` and
    ``environment.json`` are written atomically as a bundle ``<runs dir>/<run id>/``; when
    ``mlflow`` is given the run is then logged to MLflow (see :mod:`nbrepro.runs.mlflow_export`).
    A run whose cells fail is still stored (verdict ``"failed"``). Raises
    :class:`NbreproError` subclasses for bad input (missing notebook, unknown kernel, missing
    ``inputs`` file) before anything runs.
    """
    from ..execute.engine import DEFAULT_KERNEL, execute_notebook
    from ..execute.parameters import inject_parameters
    from ..record.kernelenv import KernelEnvironment, find_kernelspec, spec_environment

    nb_path = Path(notebook).resolve()
    if nb_path.is_dir():
        raise InputError(f"{notebook}: is a directory, not a notebook")
    nb = read_notebook(nb_path)
    project_root = find_project_root(nb_path)
    store_dir = resolve_runs_dir(project_root, runs_dir)
    store = RunStore.for_notebook(nb_path, store_dir)
    store.ensure_writable()
    work_dir = Path(cwd).resolve() if cwd is not None else nb_path.parent
    if not work_dir.is_dir():
        raise NotebookNotFound(f"{cwd}: no such working directory")
    for item in inputs:
        if not Path(item).exists():
            raise InputError(f"{item}: no such input file")

    scrub = secret_scrubber()
    given = _jsonable(dict(params or {}))
    parameters = scrub(given)
    warnings: list[str] = [
        f"parameter {name!r} holds a secret from the environment: it is not recorded"
        for name, value in parameters.items()
        if value != given[name]
    ]
    to_run = nb
    if params:
        injection = inject_parameters(nb, dict(params), kernel_name=kernel)
        to_run = injection.nb
        warnings.extend(injection.warnings)

    if name:
        same_name = [r.run_id for r in store.list() if r.name == name]
        if same_name:
            warnings.append(
                f"the name {name!r} is already used by run {', '.join(same_name[-3:])}: "
                "it now names several runs, so give run ids to `nbrepro runs`"
            )
    input_paths = candidate_inputs(nb, work_dir, parameters, inputs)
    input_hashes = hash_inputs(input_paths, work_dir)

    started = datetime.now(timezone.utc)
    run_id = new_run_id(started)
    # The kernel's environment (its interpreter's, not this process's) and git are read while
    # the kernel works (the kernel is another process). Its kernelspec is looked up here: the
    # worker must not import jupyter_client while the kernel start does.
    env_kernel = kernel or kernel_name(nb) or DEFAULT_KERNEL
    spec = find_kernelspec(env_kernel)

    def read_kernel_environment() -> KernelEnvironment:
        if isinstance(spec, KernelEnvironment):
            return spec  # not installed: the kernel start says so
        return spec_environment(spec, env_kernel)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="nbrepro-run") as pool:
        env_future = pool.submit(read_kernel_environment)
        git_future = pool.submit(git_state, nb_path.parent)
        result = execute_notebook(
            to_run,
            kernel_name=kernel,
            cwd=work_dir,
            timeout=timeout,
            notebook_timeout=notebook_timeout,
            on_cell=on_cell,
            on_cell_start=on_cell_start,
        )
        finished = datetime.now(timezone.utc)
        kernel_env = env_future.result()
        git = git_future.result()
    executed = scrub(result.nb)
    environment = run_environment(kernel_env)
    if kernel_env.environment is None and kernel_env.is_python:
        warnings.append(f"the kernel's environment is not recorded: {kernel_env.reason}")

    lang_info = (executed.get("metadata") or {}).get("language_info") or {}
    environment["kernel"] = {
        **(environment.get("kernel") or {}),
        "name": result.kernel_name,
        "language": kernel_language(executed),
        "language_version": lang_info.get("version"),
    }
    env_digest = environment_digest(environment)
    content_hash = notebook_content_hash(nb)
    verdict, failure = _verdict(executed, result)
    metrics = extract_metrics(executed)
    metric_values, metric_series = metrics.to_manifest()

    manifest: dict[str, Any] = {
        "schema_version": MANIFEST_SCHEMA_VERSION,
        "run_id": run_id,
        "configuration_id": configuration_id(content_hash, parameters, env_digest, input_hashes),
        "name": name,
        "nbrepro_version": __version__,
        "notebook": {
            "path": nb_path.relative_to(project_root).as_posix()
            if nb_path.is_relative_to(project_root)
            else nb_path.as_posix(),
            "absolute_path": str(nb_path),
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
        "cells": _cell_records(executed, result),
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
        "verdict": verdict,
        "failure": failure,
        "kernel_died_at": result.kernel_died_at,
        "timed_out": bool(result.timed_out),
        "sweep": sweep.to_dict() if sweep is not None else None,
        "warnings": warnings,
    }
    run = store.write(scrub(manifest), executed, environment)
    if mlflow is not None:
        from .mlflow_export import export_run

        export = export_run(run, mlflow.tracking_uri, experiment=mlflow.experiment)
        store.record_mlflow(run, export)
    return run
