"""The verification pipeline: N fresh runs of a prepared notebook, judged, diagnosed, scrubbed.

Every face calls :func:`verify_notebook` or :func:`verify_paths`; progress goes to one listener
as :mod:`.events`; everything returned or written passes through one
:class:`~nbrepro.record.secrets.Scrubber` first.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..notebook_io import write_notebook
from .events import EventCallback, cell_callbacks, make_event
from .judge import align_cells, judge_cell
from .model import NotebookReport, VerifyOptions, VerifyReport
from .prepare import PreparedNotebook, prepare_all, prepare_notebook, source_digest
from .verdict import COULD_NOT_RUN, REPRODUCED, notebook_verdict

if TYPE_CHECKING:
    from ..execute.engine import ExecutionResult
    from ..executors import ExecuteRequest, Executor
    from ..record.drift import DriftReport
    from ..record.secrets import Scrubber


def kernel_environ(options: VerifyOptions) -> dict[str, str]:
    """The environment the kernel of a verification sees."""
    env = dict(os.environ)
    env.update(options.env or {})
    return env


def _drift(prep: PreparedNotebook, env: Mapping[str, str] | None) -> DriftReport | None:
    """What changed since the notebook was recorded: the environment of the kernel that
    verification runs (with ``env`` added), and the input files."""
    from ..provenance import get_provenance

    if get_provenance(prep.original) is None:
        return None
    try:
        from ..record.drift import check_drift
    except ImportError:
        return None
    return check_drift(
        prep.original, prep.path.resolve().parent, kernel=prep.kernel_name, extra_env=env
    )


def _worker_drift(
    prep: PreparedNotebook, runs: list[ExecutionResult], report: NotebookReport
) -> DriftReport | None:
    """What changed since the notebook was recorded, for executions on another machine's
    workers: the environment of the kernel that ran the first run there (each run whose worker
    kernel's environment differs from it is named in the warnings), the inputs here."""
    from ..provenance import get_provenance

    if get_provenance(prep.original) is None or not runs or not runs[0].ran_on:
        return None
    try:
        from ..record.drift import check_drift
        from ..record.envdiff import diff_environments
        from ..record.kernelenv import KernelEnvironment
    except ImportError:
        return None

    def kernel_env(run: ExecutionResult) -> KernelEnvironment:
        host = run.ran_on.get("host", "the worker")
        env = run.ran_on.get("environment")
        reason = None if env is not None else f"cannot read the kernel's environment on {host}"
        return KernelEnvironment(run.kernel_name, env, reason)

    first = runs[0].ran_on.get("environment")
    for number, run in enumerate(runs[1:], start=2):
        env = run.ran_on.get("environment")
        if first is not None and env is not None and not diff_environments(first, env).is_empty:
            report.warnings.append(
                f"run {number} ran on {run.ran_on.get('host')}, whose kernel environment "
                f"differs from run 1's on {runs[0].ran_on.get('host')}"
            )
    return check_drift(prep.original, prep.path.resolve().parent, kernel_env(runs[0]))


def _record_drift(report: NotebookReport, drift: DriftReport | None, scrubber: Scrubber) -> None:
    """Put ``drift`` in ``report`` (scrubbed) with one warning per difference."""
    if drift is not None:
        report.drift = scrubber.json(drift.to_dict())
        report.warnings.extend(str(line) for line in drift.summary_lines())


def _diagnose(
    prep: PreparedNotebook,
    report: NotebookReport,
    options: VerifyOptions,
    drift: DriftReport | None,
) -> None:
    """Attach the diagnosis of every failing cell (and remedies with ``suggest``) to ``report``."""
    from ..diagnose import diagnose_notebook, suggest_remedies

    diagnosis = diagnose_notebook(
        prep.nb,
        report.cells,
        drift=options.drift if options.provenance is not None else drift,
        runs=len(report.run_durations) or options.runs,
        baseline=report.baseline,
        kernel_env=kernel_environ(options),
        status=report.status,
        provenance=options.provenance,
    )
    for cell in report.cells:
        cell.diagnosis = diagnosis.cells.get(cell.index)
    report.diagnosis = diagnosis.summary
    if options.suggest and diagnosis.cells:
        report.remedies = suggest_remedies(prep.nb, diagnosis)


def _keep(prep: PreparedNotebook, nb: dict[str, Any], report: NotebookReport) -> None:
    """Write the executed copy where ``output`` asked; a failed write becomes a warning."""
    if prep.output_path is None:
        return
    try:
        write_notebook(nb, prep.output_path)
    except OSError as exc:
        report.warnings.append(
            f"could not keep the executed notebook at {prep.output_path}: {exc.strerror or exc}"
        )
        return
    report.output_path = str(prep.output_path)


def _finished(report: NotebookReport) -> dict[str, Any]:
    return make_event(
        "notebook-finished",
        notebook=report.path,
        status=report.status,
        reproducible=report.reproducible,
        reason=report.reason,
        duration=round(report.duration, 6),
    )


def _scrub_report(report: NotebookReport, scrubber: Scrubber) -> None:
    """Redact secrets (and URL passwords) from every string the report carries."""
    report.reason = scrubber.text(report.reason)
    report.warnings = [scrubber.text(w) for w in report.warnings]
    report.kernel_stderr = scrubber.text(report.kernel_stderr)
    report.parameters = scrubber.json(report.parameters)
    for cell in report.cells:
        cell.summary = scrubber.text(cell.summary)
        cell.diff = scrubber.text(cell.diff)
        cell.determinism_diff = scrubber.text(cell.determinism_diff)
        if cell.error_value is not None:
            cell.error_value = scrubber.text(cell.error_value)


def _execute_runs(
    prep: PreparedNotebook,
    options: VerifyOptions,
    emit: EventCallback,
    scrubber: Scrubber,
    skip: list[int],
    executor: Executor | None = None,
) -> list[ExecutionResult]:
    """Execute ``options.runs`` fresh runs (fewer when the kernel died or a timeout hit), every
    executed copy scrubbed; raises KernelStartFailed. Each run is one task of ``executor``
    (``None``: executed on this thread); only the execution leaves this process."""
    from ..execute.engine import execute_notebook

    name = str(prep.path)
    runs: list[ExecutionResult] = []
    for number in range(1, options.runs + 1):
        started_cell, finished_cell = cell_callbacks(emit, name, number)
        if executor is None:
            result = execute_notebook(
                prep.nb,
                kernel=prep.kernel,
                cwd=prep.cwd,
                timeout=options.timeout,
                notebook_timeout=options.notebook_timeout,
                on_cell=finished_cell,
                on_cell_start=started_cell,
                skip_cells=skip,
                env=options.env,
            )
        else:
            result = executor.run(
                _request(prep, options, skip, number),
                on_cell=finished_cell,
                on_cell_start=started_cell,
            )
        scrubber.execution(result)
        runs.append(result)
        if result.kernel_died_at is not None or result.timed_out:
            break
    return runs


def _request(
    prep: PreparedNotebook, options: VerifyOptions, skip: list[int], number: int
) -> ExecuteRequest:
    """Run ``number`` of ``prep`` as an executor's task (plain data; a unique key)."""
    import uuid

    from ..executors import ExecuteRequest

    return ExecuteRequest(
        key=f"{prep.path.name}#{number}-{uuid.uuid4().hex[:12]}",
        nb=prep.nb,
        kernel_name=prep.kernel_name,
        cwd=str(prep.cwd),
        timeout=options.timeout,
        notebook_timeout=options.notebook_timeout,
        skip_cells=tuple(skip),
        env=dict(options.env) if options.env else None,
        resolved=prep.kernel,
    )


def execute_prepared(
    prep: PreparedNotebook,
    options: VerifyOptions,
    on_event: EventCallback | None = None,
    executor: Executor | None = None,
) -> NotebookReport:
    """Execute a prepared notebook ``options.runs`` times, judge every code cell, give the
    verdict and (when it did not reproduce) the diagnosis. The executions run on ``executor``
    (``None``: on this thread); judging, diagnosis and writing stay here."""
    if prep.rebuilt is not None:
        # ``rebuild_env``: in the rebuilt recorded environment, then the current one compared.
        from ..envbuild.rebuild import execute_rebuilt

        return execute_rebuilt(prep, options, on_event, executor, execute_prepared)
    from ..compare import CompareOptions, cell_policy
    from ..execute.engine import KernelStartFailed
    from ..record.secrets import Scrubber

    started = time.monotonic()
    name = str(prep.path)
    emit = on_event or (lambda _event: None)
    scrubber = Scrubber(kernel_environ(options))
    report = NotebookReport(
        path=name,
        status=REPRODUCED,
        kernel=prep.kernel_name,
        baseline="stored" if prep.baseline is not None else "none",
        against=str(options.against) if options.against is not None else None,
        parameters=dict(options.parameters),
        runs=options.runs,
        warnings=list(prep.warnings),
        source_digest=source_digest(prep.original),
    )
    if prep.baseline is not None and options.against is not None:
        report.baseline = "against"
    # On workers elsewhere, the environment that counts is the one their kernel ran in.
    remote = executor is not None and executor.remote
    drift = _drift(prep, options.env) if options.check_drift and not remote else None
    _record_drift(report, drift, scrubber)
    cells = prep.nb.get("cells", [])
    code_cells = [i for i, c in enumerate(cells) if c.get("cell_type") == "code"]
    emit(make_event("notebook-started", notebook=name, cells=len(code_cells), runs=options.runs))

    if not code_cells:
        report.status, report.reason = notebook_verdict([], [], report.baseline)
        _keep(prep, scrubber.notebook(prep.nb), report)
        report.duration = time.monotonic() - started
        emit(_finished(report))
        return report

    skip = [i for i in code_cells if cell_policy(cells[i]).skip]
    try:
        runs = _execute_runs(prep, options, emit, scrubber, skip, executor)
    except KernelStartFailed as exc:
        report.status = COULD_NOT_RUN
        report.reason = scrubber.text(str(exc))
        report.duration = time.monotonic() - started
        emit(_finished(report))
        return report
    report.run_durations = [run.duration for run in runs]
    if options.check_drift and remote:
        drift = _worker_drift(prep, runs, report)
        _record_drift(report, drift, scrubber)
    stderr = [run.kernel_stderr for run in runs if run.kernel_stderr.strip()]
    if stderr:
        report.kernel_stderr = stderr[-1]

    compare_options = options.compare or CompareOptions()
    baseline = scrubber.notebook(prep.baseline) if prep.baseline is not None else None
    pairs = align_cells(baseline, runs[0].nb) if baseline is not None else {}
    for index in code_cells:
        report.cells.append(
            judge_cell(
                index,
                runs[0].nb["cells"][index],
                runs,
                pairs.get(index),
                baseline is not None,
                options,
                compare_options,
            )
        )
    report.status, report.reason = notebook_verdict(report.cells, runs, report.baseline)
    if options.diagnose and report.status != REPRODUCED:
        _diagnose(prep, report, options, drift)
    _scrub_report(report, scrubber)
    _keep(prep, runs[0].nb, report)
    report.duration = time.monotonic() - started
    emit(_finished(report))
    return report


def verify_notebook(
    path: Path, options: VerifyOptions, on_event: EventCallback | None = None
) -> NotebookReport:
    """Verify one notebook: prepare it (raising NbreproError on bad input), execute, judge."""
    return execute_prepared(prepare_notebook(Path(path), options), options, on_event)


def verify_paths(
    paths: Sequence[str | os.PathLike[str]],
    options: VerifyOptions,
    *,
    jobs: int | None = None,
    on_event: EventCallback | None = None,
    executor: str | Executor | None = None,
    scheduler: str | None = None,
) -> VerifyReport:
    """Verify every notebook named by ``paths``, ``jobs`` (default ``options.jobs``) at a time,
    each in its own kernel.

    ``executor`` says where the executions run: ``"local"`` (the default: kernels of this
    machine), ``"dask"`` (a Dask cluster at ``scheduler``, ``$DASK_SCHEDULER_ADDRESS`` or
    ``[tool.nbrepro] scheduler``, else a LocalCluster started and stopped here) or an
    :class:`~nbrepro.executors.Executor` the caller owns. Only executions leave this process:
    judging, diagnosis and the executed copies kept are done here. Without the arguments,
    ``options.executor`` and ``options.scheduler`` are used when ``VerifyOptions`` has them.
    All notebooks are read and checked before any executes: bad input raises NbreproError.
    """
    from ..executors import Executor, make_executor

    started = time.monotonic()
    prepared = prepare_all(paths, options)
    width = options.jobs if jobs is None else jobs
    chosen = executor if executor is not None else getattr(options, "executor", None)
    address = scheduler if scheduler is not None else getattr(options, "scheduler", None)
    lock = threading.Lock()

    def emit(event: dict[str, Any]) -> None:
        if on_event is not None:
            with lock:
                on_event(event)

    shipping = options.ship_inputs or bool(options.include)
    inline = chosen in (None, "local") and not address and not shipping
    where = chosen if isinstance(chosen, str) else getattr(chosen, "name", "local")
    emit(make_event("batch-started", notebooks=len(prepared), executor=where or "local"))
    if inline and (width <= 1 or len(prepared) == 1):
        reports = [execute_prepared(p, options, emit) for p in prepared]
        return VerifyReport(notebooks=reports, duration=time.monotonic() - started)
    if isinstance(chosen, Executor):
        owned, pool_of = False, chosen
    else:
        owned = True
        start = prepared[0].path.parent
        pool_of = make_executor(
            chosen,
            jobs=width,
            scheduler=address,
            start=start,
            ship_inputs=options.ship_inputs,
            include=options.include,
        )
    try:
        reports = _verify_on(pool_of, prepared, options, emit, max(1, width))
    finally:
        if owned:
            pool_of.close()
    return VerifyReport(notebooks=reports, duration=time.monotonic() - started)


def _verify_on(
    executor: Executor,
    prepared: list[PreparedNotebook],
    options: VerifyOptions,
    emit: EventCallback,
    width: int,
) -> list[NotebookReport]:
    """Verify ``prepared`` with their executions on ``executor``, ``width`` notebooks at a
    time; each is judged on a thread of this process as its executions come back. Ctrl-C (or
    SIGTERM) cancels every pending and running execution."""
    from ..execute.engine import cancel_running_executions

    pool = ThreadPoolExecutor(
        max_workers=min(width, len(prepared)), thread_name_prefix="nbrepro-verify"
    )
    futures = [pool.submit(execute_prepared, p, options, emit, executor) for p in prepared]
    try:
        reports = [future.result() for future in futures]
    except BaseException:
        # Ctrl-C (or SIGTERM) reaches only this thread: stop the others' executions.
        for future in futures:
            future.cancel()
        executor.cancel_all()
        cancel_running_executions()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return reports
