"""``python -m nbrepro.jobs.worker REQUEST.json``: one job (a verification or a run) in the core.

The worker reads a :class:`~nbrepro.jobs.request.JobRequest`, calls the core
(:func:`nbrepro.verify.verify_paths`, or :func:`nbrepro.runs.runner.start_run` for one run, as
``nbrepro run`` does) and writes its progress to the request's events file
(:class:`~nbrepro.verify.events.EventWriter`). The file ends with exactly one final event:
``result`` ``{kind, result}`` (the verify report / the run's summary) or ``failed``
``{message, exit_code}`` (the message in the words of the request's face). Both pass through
:class:`~nbrepro.record.secrets.Scrubber` first, as every event does.

The job runs on a thread of its own; the main thread watches over it and stops it (its kernels
shut down through :func:`~nbrepro.execute.engine.cancel_running_executions`) on SIGTERM, when
the parent process goes away (its pid changes: the spawner also sets ``PR_SET_PDEATHSIG``), or
when the wall-clock budget runs out. A job that does not unwind within a grace period has its
kernels killed, and the worker exits anyway. Exit codes: 0 reproduced / succeeded, 1 not, 2 bad
input, 124 budget exhausted, 143 stopped, 70 internal error.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from ..errors import EXIT_FAILED, EXIT_OK, InputError, NbreproError
from ..processes import descendants, signal_family
from .request import (
    EXIT_BUDGET,
    EXIT_INTERNAL,
    EXIT_TERMINATED,
    RUN,
    VERIFY,
    JobRequest,
    read_request,
)

#: Seconds between two looks at the parent, the budget and the signals.
POLL = 0.2
#: Seconds a stopped job may take to shut its kernels down before they are killed.
GRACE = 3.0

#: Why a job was stopped: its exit code, and its message (``{what}``: the kind of job).
STOP_REASONS = {
    "timeout": (EXIT_BUDGET, "{what} did not finish within {budget:g} s"),
    "cancelled": (EXIT_TERMINATED, "cancelled"),
    "parent": (EXIT_TERMINATED, "stopped: the process that started the job went away"),
}

#: Events at which a job stopped before its kernel was registered notices it.
_CHECKPOINTS = frozenset({"notebook-started", "cell-started"})


class StopRequested(BaseException):
    """Raised inside the job when it was asked to stop (not an :class:`Exception`, so that no
    ``except Exception`` of the core takes it for a failure of its own)."""


class Worker:
    """One job: the core on a thread of its own, watched over by the calling (main) thread."""

    def __init__(self, request: JobRequest, *, grace: float = GRACE) -> None:
        from ..record.secrets import Scrubber
        from ..verify.events import EventWriter

        self.request = request
        self.grace = grace
        self.scrubber = Scrubber(os.environ)
        self.writer = EventWriter(Path(request.events), option="events")
        self.reason: str | None = None
        self._signalled = False
        self._final_lock = threading.Lock()
        self._final_written = False
        self._answer: tuple[dict[str, Any], int] | None = None
        self._error: BaseException | None = None
        self._parent = request.parent_pid if request.parent_pid else os.getppid()

    # -- events ---------------------------------------------------------------------------
    def emit(self, event: dict[str, Any]) -> None:
        """Write a progress event (scrubbed); a stopped job stops here."""
        self.writer(self.scrubber.json(event) if self.scrubber.active else event)
        if self.reason is not None and event.get("event") in _CHECKPOINTS:
            raise StopRequested(self.reason)

    def _final(self, event_kind: str, /, **fields: Any) -> None:
        """Write the one final event (the first call wins) and close the file."""
        from ..verify.events import make_event

        with self._final_lock:
            if self._final_written:
                return
            self._final_written = True
            event = make_event(event_kind)
            # ``result`` events carry a ``kind`` field: added after make_event (whose first
            # parameter has that name).
            event.update(self.scrubber.json(fields))
            self.writer(event)
            self.writer.close()

    def _stop_answer(self) -> tuple[str, int]:
        code, template = STOP_REASONS[self.reason or "cancelled"]
        what = "the run" if self.request.kind == RUN else "verification"
        return template.format(what=what, budget=self.request.budget or 0), code

    # -- the job --------------------------------------------------------------------------
    def _work(self) -> None:
        try:
            try:
                os.chdir(self.request.cwd)
            except OSError as exc:
                raise InputError(
                    f"{self.request.cwd}: cannot work there: {exc.strerror or exc}"
                ) from None
            if self.request.kind == VERIFY:
                self._answer = self._verify()
            else:
                self._answer = self._run()
        except BaseException as exc:  # reported by the main thread
            self._error = exc

    def _verify(self) -> tuple[dict[str, Any], int]:
        from ..verify import verify_paths
        from ..verify.options import VERIFY_OPTIONS, verify_options_from_values

        values = VERIFY_OPTIONS.validate_values(self.request.options)
        if self.request.output_dir:
            values["output"] = self.request.output_dir
        options = verify_options_from_values(values, self.request.parameters)
        report = verify_paths([self.request.notebook], options, jobs=1, on_event=self.emit)
        answer = report.to_dict()
        if self.request.output_dir:
            for book in answer.get("notebooks") or []:
                if isinstance(book, dict) and book.get("output_path"):
                    label_copy(Path(str(book["output_path"])), Path(self.request.notebook))
        return answer, report.exit_code

    def _run(self) -> tuple[dict[str, Any], int]:
        from ..runs.mlflow_export import (
            check_tracking_uri,
            configured_tracking_uri,
            resolve_tracking_uri,
        )
        from ..runs.project import find_project_root
        from ..runs.runner import VERDICT_SUCCEEDED, MlflowTarget, start_run
        from ..verify.options import KERNEL, NOTEBOOK_TIMEOUT, TIMEOUT

        opts = self.request.options
        values = {s.name: s.validate(opts.get(s.name)) for s in (KERNEL, TIMEOUT, NOTEBOOK_TIMEOUT)}
        notebook = Path(self.request.notebook)
        target = None
        project_root = find_project_root(notebook.resolve())
        if configured_tracking_uri(project_root):  # as ``nbrepro run`` without --no-mlflow
            uri = resolve_tracking_uri(None, project_root)
            check_tracking_uri(uri)
            target = MlflowTarget(uri, None)
        run = start_run(
            notebook,
            self.request.parameters,
            name=self.request.name,
            runs_dir=self.request.output_dir,
            kernel=values["kernel"],
            timeout=values["timeout"],
            notebook_timeout=values["notebook_timeout"],
            mlflow=target,
            on_event=self.emit,
        )
        summary = {
            **run.summary.to_dict(),
            "failure": run.manifest.get("failure"),
            "mlflow": run.mlflow(),
            "warnings": list(run.manifest.get("warnings") or []),
        }
        return summary, EXIT_OK if summary.get("verdict") == VERDICT_SUCCEEDED else EXIT_FAILED

    # -- watching over it -----------------------------------------------------------------
    def _on_signal(self, signum: int, frame: Any) -> None:
        self._signalled = True

    def _why_stop(self, deadline: float | None) -> str | None:
        if os.getppid() != self._parent:
            return "parent"
        if self._signalled:
            return "cancelled"
        if deadline is not None and time.monotonic() >= deadline:
            return "timeout"
        return None

    def run(self) -> int:
        """Run the job to its end (or stop it); write the final event; return the exit code."""
        from ..execute.engine import cancel_running_executions

        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            signal.signal(sig, self._on_signal)
        budget = self.request.budget
        deadline = time.monotonic() + budget if budget else None
        thread = threading.Thread(target=self._work, name="nbrepro-job", daemon=True)
        thread.start()
        give_up: float | None = None
        while thread.is_alive():
            if self.reason is None:
                self.reason = self._why_stop(deadline)
                if self.reason is not None:
                    cancel_running_executions()
                    give_up = time.monotonic() + self.grace
            elif give_up is not None and time.monotonic() >= give_up:
                break
            thread.join(POLL)
        if thread.is_alive():  # the job did not unwind: kill its kernels, leave anyway
            signal_family(None, descendants(os.getpid()), signal.SIGKILL)
            message, code = self._stop_answer()
            self._final("failed", message=message, exit_code=code)
            _flush_std()
            os._exit(code)
        return self._finish()

    def _finish(self) -> int:
        if self._answer is not None:
            result, code = self._answer
            self._final("result", kind=self.request.kind, result=result)
            return code
        error = self._error
        if self.reason is not None:
            message, code = self._stop_answer()
        elif isinstance(error, NbreproError):
            message, code = error.message_for(self.request.face), error.exit_code
        elif isinstance(error, KeyboardInterrupt):
            message, code = "interrupted", 130
        else:
            if error is not None:
                traceback.print_exception(type(error), error, error.__traceback__)
            detail = f"{type(error).__name__}: {error}" if error is not None else "no answer"
            message, code = f"internal error: {detail}".splitlines()[0], EXIT_INTERNAL
        self._final("failed", message=message, exit_code=code)
        return code


def _flush_std() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()


def main(argv: list[str] | None = None, *, grace: float = GRACE) -> int:
    """Run the job of the request file named in ``argv``; return the exit code."""
    from ..startup import skip_unused_optional_imports

    skip_unused_optional_imports()
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m nbrepro.jobs.worker REQUEST.json", file=sys.stderr)
        return 2
    try:
        worker = Worker(read_request(args[0]), grace=grace)
    except NbreproError as exc:
        print(f"nbrepro.jobs.worker: error: {exc}", file=sys.stderr)
        return exc.exit_code
    return worker.run()


#: Notebook metadata key of an executed copy a verification job kept: what it is a copy of.
COPY_METADATA = "nbrepro_copy"


def label_copy(copy: Path, original: Path) -> None:
    """Mark the executed copy a verification kept as a copy of ``original``: its metadata
    ``nbrepro_copy`` names the original (relative to the copy's folder), so that the server
    judges the copy's inputs from the original's folder and the panel labels it. A copy that
    cannot be rewritten is left as it is (the verification's answer does not depend on it)."""
    from ..notebook_io import read_notebook, write_notebook

    try:
        nb = read_notebook(copy)
        of = os.path.relpath(original.resolve(), copy.resolve().parent)
        nb.setdefault("metadata", {})[COPY_METADATA] = {
            "of": Path(of).as_posix(),
            "made_by": "verification",
        }
        write_notebook(nb, copy)
    except (OSError, ValueError, NbreproError):
        return


if __name__ == "__main__":
    # Leave without waiting for threads the core may still hold (a kernel's channels).
    _code = main()
    _flush_std()
    os._exit(_code)
