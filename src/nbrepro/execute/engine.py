"""Execute a notebook top to bottom in a fresh kernel, with nbclient, and report per cell.

The engine is an nbclient :class:`~nbclient.NotebookClient` subclass (:class:`CellClient`): the
cell loop, kernel set-up and clean-up are nbclient's own (``async_execute``, as papermill's
client wrapper uses them); the subclass only records each code cell's outcome from nbclient's
hooks and its reply, skips the cells it is told to skip, and stops the run — marking the cells
after as ``"not-run"`` — when the kernel dies or a per-cell or whole-notebook timeout passes.
Every cell runs with ``allow_errors``: a cell that raises is recorded as ``"error"`` and the run
goes on.

:func:`execute_notebook` never modifies its input: it executes a copy and returns it in an
:class:`ExecutionResult` with one :class:`CellExecution` per code cell. The kernel's own stderr
is captured (ipykernel's "running over TCP without encryption" warning dropped). IPython kernels
keep their history in memory (``--HistoryManager.hist_file=:memory:``), as nbclient sets them
up, so parallel kernels share no history database.

Timeouts are enforced here, in the process that talks to the kernel; ipykernel kernels exit by
themselves when this process dies (``JPY_PARENT_PID``), so a killed verification leaves no kernel.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import copy
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..cell_names import cell_label
from ..errors import EXIT_FAILED, InputError, NbreproError
from ..notebook_io import cell_source
from .kernels import DEFAULT_KERNEL, ResolvedKernel, resolve_kernel

__all__ = [
    "CELL_STATUSES",
    "DEFAULT_KERNEL",
    "SKIP_TAG",
    "CellExecution",
    "ExecutionResult",
    "KernelStartFailed",
    "async_execute_notebook",
    "cancel_running_executions",
    "cell_id_for",
    "check_executable",
    "execute_notebook",
    "filter_kernel_stderr",
]

#: Cell statuses, in the order a report explains them.
CELL_STATUSES = ("ok", "error", "skipped", "timeout", "kernel-died", "not-run")
#: nbclient's tag for cells that are not executed.
SKIP_TAG = "skip-execution"
#: Start-up flags for IPython kernels: history in memory, as nbclient sets up its kernels.
IPYKERNEL_ARGS = ("--HistoryManager.hist_file=:memory:",)

#: Called when a code cell starts: ``(index, cell id)``.
CellStarted = Callable[[int, str], None]


class KernelStartFailed(NbreproError):
    """An installed kernel could not be started (the notebook could not run)."""

    exit_code = EXIT_FAILED


@dataclass
class CellExecution:
    """How one code cell went."""

    #: Position of the cell in the executed notebook.
    index: int
    #: The cell's id, or ``index-<n>`` for notebooks without ids (nbformat < 4.5).
    cell_id: str
    #: One of :data:`CELL_STATUSES`.
    status: str
    #: Wall time in seconds (0 for cells not executed).
    duration: float = 0.0
    #: Exception class name for ``error`` (and a description for ``timeout``/``kernel-died``).
    error_name: str | None = None
    #: Exception message.
    error_value: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``id`` for ``cell_id``)."""
        return {
            "index": self.index,
            "id": self.cell_id,
            "status": self.status,
            "duration": round(self.duration, 6),
            "error_name": self.error_name,
            "error_value": self.error_value,
        }


@dataclass
class ExecutionResult:
    """The executed copy of a notebook and what happened to each code cell."""

    #: The executed copy (plain dicts; sources as strings).
    nb: dict[str, Any]
    #: One entry per code cell, in notebook order.
    cells: list[CellExecution]
    #: Index of the cell during which the kernel died, if it did.
    kernel_died_at: int | None
    #: Whether a timeout (per cell or whole notebook) stopped the run.
    timed_out: bool
    #: Wall time of the whole run in seconds, kernel start-up included.
    duration: float
    #: The kernel that ran the notebook.
    kernel_name: str
    #: Whether the whole-notebook timeout (rather than a per-cell one) stopped the run.
    notebook_timed_out: bool = False
    #: The kernel process's own stderr, without ipykernel's TCP warning.
    kernel_stderr: str = ""
    #: Per-status counts, for summaries.
    counts: dict[str, int] = field(default_factory=dict)
    #: The kernel's reply content to the silent ``preamble`` (``None``: none was run).
    preamble_reply: dict[str, Any] | None = None
    #: The kernel's ``user_expressions`` for ``final_expressions``, evaluated silently after
    #: the last cell (empty when none were asked, or the kernel could not answer).
    final_expressions: dict[str, Any] = field(default_factory=dict)
    #: Where the execution ran when not in this process (an executor's worker): host, pid,
    #: Python, and ``environment``, the kernel's environment read on that worker (``None``
    #: when it could not be read) — empty for an execution in this process.
    ran_on: dict[str, Any] = field(default_factory=dict)
    #: Files the notebook produced in a scratch folder of a worker that was shipped its inputs
    #: (relative path → content); empty otherwise.
    produced_files: dict[str, bytes] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether every executed cell succeeded and nothing stopped the run."""
        return (
            self.kernel_died_at is None
            and not self.timed_out
            and all(c.status in ("ok", "skipped") for c in self.cells)
        )


def cell_id_for(cell: dict[str, Any], index: int) -> str:
    """The id reports use for a cell: its own, or one derived from its index (never stored)."""
    cid = cell.get("id")
    return cid if isinstance(cid, str) and cid else f"index-{index}"


def filter_kernel_stderr(text: str) -> str:
    """Drop ipykernel's "running over TCP without encryption" warning from kernel stderr."""
    return "".join(
        line
        for line in text.splitlines(keepends=True)
        if "Kernel is running over TCP without encryption" not in line
    )


def check_executable(nb: dict[str, Any], name: str = "<notebook>") -> None:
    """Raise :class:`InputError` unless the parts of ``nb`` that execution and comparison read
    have their nbformat types (beyond :func:`nbrepro.notebook_io.check_structure`)."""

    def invalid(what: str) -> InputError:
        return InputError(f"{name}: not a valid notebook ({what})")

    metadata = nb.get("metadata") or {}
    for key in ("kernelspec", "language_info"):
        if not isinstance(metadata.get(key, {}), dict):
            raise invalid(f"metadata.{key} is not an object")
    for index, cell in enumerate(nb.get("cells", [])):
        source = cell.get("source", "")
        if isinstance(source, list) and not all(isinstance(line, str) for line in source):
            raise invalid(f"{cell_label(index)} has invalid source")
        cell_metadata = cell.get("metadata", {})
        if not isinstance(cell_metadata, dict):
            raise invalid(f"{cell_label(index)} has metadata that is not an object")
        tags = cell_metadata.get("tags", [])
        if not (isinstance(tags, list) and all(isinstance(tag, str) for tag in tags)):
            raise invalid(f"{cell_label(index)} has tags that are not a list of strings")
        if not isinstance(cell.get("id", ""), str):
            raise invalid(f"{cell_label(index)} has an id that is not a string")
        outputs = cell.get("outputs", [])
        if cell.get("cell_type") == "code" and not (
            isinstance(outputs, list) and all(isinstance(o, dict) for o in outputs)
        ):
            raise invalid(f"{cell_label(index)} has outputs that are not a list of objects")


# Executions in progress, so that Ctrl-C can cancel those running on worker threads.
_running: dict[asyncio.Task[Any], asyncio.AbstractEventLoop] = {}
_cancelled: set[asyncio.Task[Any]] = set()
_running_lock = threading.Lock()
# The thread that asked for each execution in progress (the one that called
# execute_notebook, even when the execution runs on a thread of its own).
_running_owner: dict[asyncio.Task[Any], int] = {}
_owner = threading.local()


def cancel_executions_on_threads(threads: Collection[int]) -> None:
    """Cancel the executions in progress that the threads ``threads`` (``threading.get_ident``)
    asked for, as :func:`cancel_running_executions` does for all of them."""
    with _running_lock:
        for task, loop in _running.items():
            if _running_owner.get(task) in threads:
                _cancelled.add(task)
                loop.call_soon_threadsafe(task.cancel)


def cancel_running_executions() -> None:
    """Cancel every execution in progress, on any thread: each shuts its kernel down and raises
    :class:`asyncio.CancelledError` (what Ctrl-C does to the one on the main thread)."""
    with _running_lock:
        for task, loop in _running.items():
            _cancelled.add(task)
            loop.call_soon_threadsafe(task.cancel)


def _cancel_requested() -> bool:
    """Whether the current execution was cancelled (nbclient reports that as a dead kernel)."""
    task = asyncio.current_task()
    if task is None:
        return False
    cancelling = getattr(task, "cancelling", None)  # Python 3.11+: Ctrl-C in asyncio.run
    return task in _cancelled or (cancelling is not None and cancelling() > 0)


def _to_node(nb: dict[str, Any]) -> Any:
    """A NotebookNode copy with string sources, as nbclient expects."""
    from nbformat import from_dict

    data = copy.deepcopy(nb)
    for cell in data.get("cells", []):
        cell["source"] = cell_source(cell)
        cell.setdefault("metadata", {})
        if cell.get("cell_type") == "code":
            cell.setdefault("outputs", [])
            cell.setdefault("execution_count", None)
    data.setdefault("metadata", {})
    return from_dict(data)


def _to_plain(node: Any) -> Any:
    """Convert NotebookNodes back to plain dicts and lists."""
    if isinstance(node, dict):
        return {k: _to_plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_to_plain(v) for v in node]
    return node


def _client_class() -> type:
    """:class:`CellClient`, built on first use (importing nbclient costs a fraction of a
    second, which ``nbrepro --help`` and ``nbrepro check`` must not pay)."""
    global _CLIENT_CLASS
    if _CLIENT_CLASS is None:
        _CLIENT_CLASS = _build_client_class()
    return _CLIENT_CLASS


_CLIENT_CLASS: type | None = None


def _build_client_class() -> type:
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    class CellClient(NotebookClient):  # type: ignore[misc]
        """nbclient's client, recording every code cell's outcome and stopping the run (the
        remaining cells ``not-run``) when the kernel dies or a timeout passes."""

        def setup(
            self,
            *,
            skip: Collection[int],
            cell_timeout: float | None,
            notebook_timeout: float | None,
            on_cell: Callable[[CellExecution], None] | None,
            on_cell_start: CellStarted | None,
            preamble: str | None = None,
        ) -> None:
            self.nbrepro_skip = set(skip)
            self.nbrepro_preamble = preamble
            self.nbrepro_preamble_reply: dict[str, Any] | None = None
            self.nbrepro_cell_timeout = cell_timeout if cell_timeout and cell_timeout > 0 else None
            self.nbrepro_notebook_timeout = (
                notebook_timeout if notebook_timeout and notebook_timeout > 0 else None
            )
            self.nbrepro_on_cell = on_cell
            self.nbrepro_on_cell_start = on_cell_start
            self.nbrepro_cells: list[CellExecution] = []
            self.nbrepro_replies: dict[int, dict[str, Any]] = {}
            self.nbrepro_deadline: float | None = None
            self.nbrepro_stopped = False
            self.nbrepro_died_at: int | None = None
            self.nbrepro_timed_out = False
            self.nbrepro_notebook_timed_out = False
            self.nbrepro_ready = False
            self.nbrepro_interrupted = False
            self.nbrepro_signals = False
            self.on_cell_executed = self._remember_reply
            self.timeout_func = self._timeout_for  # type: ignore[assignment]

        def _remember_reply(
            self, cell: Any, cell_index: int, execute_reply: dict[str, Any]
        ) -> None:
            self.nbrepro_replies[cell_index] = execute_reply.get("content", {})

        def _timeout_for(self, cell: Any) -> float | None:
            budget = self.nbrepro_cell_timeout
            if self.nbrepro_deadline is not None:
                remaining = max(self.nbrepro_deadline - time.monotonic(), 0.001)
                budget = remaining if budget is None else min(budget, remaining)
            return budget

        def _take_signals(self) -> None:
            """Replace nbclient's SIGINT/SIGTERM handlers (which shut the kernel down and let
            the run go on as if it had died) by an interrupt of the whole execution."""
            if self.nbrepro_signals:
                return
            self.nbrepro_signals = True
            loop = asyncio.get_running_loop()
            task = asyncio.current_task()

            def interrupt() -> None:
                self.nbrepro_interrupted = True
                if task is not None:
                    task.cancel()

            for sig in (signal.SIGINT, signal.SIGTERM):
                try:
                    loop.add_signal_handler(sig, interrupt)
                except (ValueError, RuntimeError, NotImplementedError):
                    return  # not the main thread: the caller handles signals

        def _report(self, entry: CellExecution) -> None:
            self.nbrepro_cells.append(entry)
            if self.nbrepro_on_cell is not None:
                self.nbrepro_on_cell(entry)

        async def async_start_new_kernel_client(self) -> Any:
            kc = await super().async_start_new_kernel_client()
            self.nbrepro_ready = True
            if self.nbrepro_preamble:
                self.nbrepro_preamble_reply = await _silent_request(
                    kc, self.nbrepro_preamble, None, _SILENT_TIMEOUT
                )
            if self.nbrepro_notebook_timeout:
                self.nbrepro_deadline = time.monotonic() + self.nbrepro_notebook_timeout
            return kc

        async def async_execute_cell(
            self,
            cell: Any,
            cell_index: int,
            execution_count: int | None = None,
            store_history: bool = True,
        ) -> Any:
            if cell.cell_type != "code":
                return cell
            self._take_signals()
            cid = cell_id_for(cell, cell_index)
            tags = cell.metadata.get("tags", []) or []
            if self.nbrepro_stopped:
                self._report(CellExecution(cell_index, cid, "not-run"))
                return cell
            if cell_index in self.nbrepro_skip or SKIP_TAG in tags:
                self._report(CellExecution(cell_index, cid, "skipped"))
                return cell
            deadline = self.nbrepro_deadline
            if deadline is not None and time.monotonic() >= deadline:
                self.nbrepro_timed_out = self.nbrepro_notebook_timed_out = True
                self.nbrepro_stopped = True
                self._report(CellExecution(cell_index, cid, "not-run"))
                return cell
            if self.nbrepro_on_cell_start is not None:
                self.nbrepro_on_cell_start(cell_index, cid)
            t0 = time.monotonic()
            try:
                await super().async_execute_cell(cell, cell_index, execution_count, store_history)
            except DeadKernelError:
                if _cancel_requested() or self.nbrepro_interrupted:
                    # Ctrl-C or a cancel stopped the kernel: not a death to report.
                    raise asyncio.CancelledError from None
                self.nbrepro_died_at, self.nbrepro_stopped = cell_index, True
                self._report(
                    CellExecution(
                        cell_index,
                        cid,
                        "kernel-died",
                        time.monotonic() - t0,
                        "DeadKernelError",
                        f"the kernel died while executing {cell_label(cell_index, cid)}",
                    )
                )
                return cell
            except CellTimeoutError:
                self.nbrepro_timed_out = self.nbrepro_stopped = True
                by_notebook = deadline is not None and time.monotonic() >= deadline - 0.01
                self.nbrepro_notebook_timed_out = by_notebook
                notebook_limit = self.nbrepro_notebook_timeout
                cell_limit = self.nbrepro_cell_timeout
                limit = (
                    f"the notebook timeout of {notebook_limit:g} s"
                    if by_notebook and notebook_limit
                    else f"the cell timeout of {cell_limit:g} s"
                    if cell_limit
                    else "a timeout"
                )
                self._report(
                    CellExecution(
                        cell_index,
                        cid,
                        "timeout",
                        time.monotonic() - t0,
                        "Timeout",
                        f"cell exceeded {limit}",
                    )
                )
                return cell
            elapsed = time.monotonic() - t0
            content = self.nbrepro_replies.pop(cell_index, {})
            if content.get("status") == "error":
                self._report(
                    CellExecution(
                        cell_index,
                        cid,
                        "error",
                        elapsed,
                        str(content.get("ename") or "Error"),
                        str(content.get("evalue", "")),
                    )
                )
            elif content.get("status") == "aborted":
                self._report(CellExecution(cell_index, cid, "error", elapsed, "Aborted", "aborted"))
            else:
                self._report(CellExecution(cell_index, cid, "ok", elapsed))
            return cell

    return CellClient


#: How long a silent request of the engine's (preamble, final expressions) may take (s).
_SILENT_TIMEOUT = 60.0


async def _silent_request(
    kc: Any, code: str, expressions: Mapping[str, str] | None, timeout: float
) -> dict[str, Any]:
    """Run ``code`` silently in the kernel (no execution count, no history, no cell events) and
    return its reply's content (``{"status": "timeout"}`` when none came in ``timeout`` s)."""
    msg_id = kc.execute(
        code,
        silent=True,
        store_history=False,
        user_expressions=dict(expressions or {}),
        allow_stdin=False,
    )
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return {"status": "timeout"}
        try:
            msg = await asyncio.wait_for(kc.get_shell_msg(timeout=None), remaining)
        except asyncio.TimeoutError:
            return {"status": "timeout"}
        if (msg.get("parent_header") or {}).get("msg_id") == msg_id:
            return dict(msg.get("content") or {})


async def _final_expressions(client: Any, expressions: Mapping[str, str]) -> dict[str, Any]:
    """``expressions`` evaluated silently in the still running kernel after the last cell
    (nothing when the kernel died, a timeout stopped the run, or it does not answer)."""
    kc = getattr(client, "kc", None)
    if kc is None or client.nbrepro_died_at is not None or client.nbrepro_timed_out:
        return {}
    with contextlib.suppress(Exception):
        reply = await _silent_request(kc, "", expressions, _SILENT_TIMEOUT)
        found = reply.get("user_expressions")
        return dict(found) if isinstance(found, dict) else {}
    return {}


async def _stop_kernel(km: Any) -> None:
    """Make sure the engine's kernel is gone and its resources (connection file, sockets)
    released: shut down when alive (which releases them), else only released."""
    if km is None:
        return
    with contextlib.suppress(Exception):  # already gone, or never started
        if await km.is_alive():
            await km.shutdown_kernel(now=True)
        else:
            await km.cleanup_resources()
    folder = getattr(km, "nbrepro_ipc_folder", None)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


#: The longest path of a Unix domain socket (``sun_path`` less its terminating NUL).
_UNIX_SOCKET_PATH_MAX = 107


def _ipc_folder() -> str | None:
    """A new private folder for a local kernel's IPC sockets, ``None`` where IPC is not
    available (Windows) or its socket paths would be too long."""
    if sys.platform == "win32":
        return None
    folder = tempfile.mkdtemp(prefix="nbrepro-ipc-")
    if len(os.path.join(folder, "k-65535")) > _UNIX_SOCKET_PATH_MAX:
        os.rmdir(folder)
        return None
    return folder


#: How many times a kernel whose ports were taken meanwhile is started again.
_START_ATTEMPTS = 3
_PORT_TAKEN = "Address already in use"


async def _start_kernel(
    resolved: ResolvedKernel, cwd: Any, kernel_env: dict[str, str], stderr: Any
) -> Any:
    """Start the kernel's process (an ``AsyncKernelManager`` this engine owns), not waiting for
    it to answer: nbclient (imported meanwhile, see :func:`async_execute_notebook`) waits."""
    from jupyter_client.manager import AsyncKernelManager

    # ipykernel kernels talk over IPC sockets in a private folder: parallel kernels never race
    # for TCP ports (papermill #511); other kernels may only know TCP.
    folder = _ipc_folder() if resolved.is_ipykernel else None
    if folder is not None:
        km = AsyncKernelManager(
            kernel_name=resolved.name, transport="ipc", ip=os.path.join(folder, "k")
        )
    else:
        km = AsyncKernelManager(kernel_name=resolved.name)
    km.nbrepro_ipc_folder = folder  # type: ignore[attr-defined]
    arguments = list(IPYKERNEL_ARGS) if resolved.is_ipykernel else []
    # Any kernel dies with this process, kill -9 included (ipykernel also watches its parent,
    # other kernels may not): the kernel runs in a session of its own, out of reach of the
    # terminal's Ctrl-C.
    from ..processes import parent_death_preexec

    try:
        await km.start_kernel(
            extra_arguments=arguments,
            cwd=str(cwd),
            env=kernel_env,
            stderr=stderr,
            preexec_fn=parent_death_preexec(),
        )
    except BaseException:
        await _stop_kernel(km)
        raise
    return km


def _prepared_client(
    nb: dict[str, Any], km: Any, name: str, startup_timeout: float, setup: dict[str, Any]
) -> Any:
    """nbclient's client (imported on first use) over a copy of ``nb`` and a started kernel."""
    client = _client_class()(
        _to_node(nb),
        km=km,
        kernel_name=name,
        allow_errors=True,
        record_timing=False,
        startup_timeout=int(startup_timeout),
        shutdown_kernel="immediate",  # nbclient's own clean-up when the kernel fails to answer
    )
    client.setup(**setup)
    return client


async def _execute_once(
    nb: dict[str, Any],
    resolved: ResolvedKernel,
    cwd: Any,
    kernel_env: dict[str, str],
    startup_timeout: float,
    setup: dict[str, Any],
    final_expressions: Mapping[str, str] | None = None,
) -> tuple[Any, str]:
    """Run ``nb`` once in a new kernel; the client and the kernel's filtered stderr. Raises
    KernelStartFailed when the kernel does not start, KeyboardInterrupt when interrupted.

    The kernel's process starts first and boots on its own while this process imports
    nbclient and nbformat (about as long as a kernel's start-up), so the two overlap instead of
    adding up; then nbclient waits for the kernel and runs the cells. The kernel is this
    engine's: it is shut down here whatever happens.
    """
    name = resolved.name
    client: Any = None
    km: Any = None
    with tempfile.TemporaryFile(mode="w+b") as stderr_file:
        try:
            km = await _start_kernel(resolved, cwd, kernel_env, stderr_file)
            client = await asyncio.to_thread(_prepared_client, nb, km, name, startup_timeout, setup)
            await client.async_execute(cwd=str(cwd), env=kernel_env)
            client.nbrepro_final = (
                await _final_expressions(client, final_expressions) if final_expressions else {}
            )
        except asyncio.CancelledError:
            if client is not None and client.nbrepro_interrupted:
                raise KeyboardInterrupt from None
            raise
        except Exception as exc:
            if client is not None and client.nbrepro_ready:
                raise
            stderr_file.seek(0)
            detail = filter_kernel_stderr(stderr_file.read().decode("utf-8", "replace")).strip()
            last = detail.splitlines()[-1] if detail else (str(exc).splitlines() or [""])[0]
            raise KernelStartFailed(f"kernel {name!r} failed to start: {last}") from None
        finally:
            kc = getattr(client, "kc", None)
            if kc is not None:
                with contextlib.suppress(Exception):
                    kc.stop_channels()
            await _stop_kernel(km)
            if client is not None:
                # nbclient registers an exit handler for the kernel; this engine owns it.
                atexit.unregister(client._cleanup_kernel)
            stderr_file.seek(0)
            kernel_stderr = filter_kernel_stderr(stderr_file.read().decode("utf-8", "replace"))
    return client, kernel_stderr


async def async_execute_notebook(
    nb: dict[str, Any],
    *,
    kernel_name: str | None = None,
    cwd: str | os.PathLike[str],
    timeout: float | None = None,
    notebook_timeout: float | None = None,
    on_cell: Callable[[CellExecution], None] | None = None,
    skip_cells: Collection[int] = (),
    env: Mapping[str, str] | None = None,
    on_cell_start: CellStarted | None = None,
    startup_timeout: float = 60,
    kernel: ResolvedKernel | None = None,
    preamble: str | None = None,
    final_expressions: Mapping[str, str] | None = None,
) -> ExecutionResult:
    """Async form of :func:`execute_notebook` (same arguments and result)."""
    resolved = kernel if kernel is not None else resolve_kernel(nb, kernel_name)
    started = time.monotonic()
    kernel_env = dict(os.environ)
    if env:
        kernel_env.update(env)
    kernel_env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")

    task = asyncio.current_task()
    assert task is not None
    with _running_lock:
        _running[task] = asyncio.get_running_loop()
        _running_owner[task] = getattr(_owner, "ident", threading.get_ident())
    try:
        setup = {
            "skip": skip_cells,
            "cell_timeout": timeout,
            "notebook_timeout": notebook_timeout,
            "on_cell": on_cell,
            "on_cell_start": on_cell_start,
            "preamble": preamble,
        }
        for attempt in range(1, _START_ATTEMPTS + 1):
            try:
                client, kernel_stderr = await _execute_once(
                    nb, resolved, cwd, kernel_env, startup_timeout, setup, final_expressions
                )
                break
            except KernelStartFailed as exc:
                # Parallel kernels can race for a free TCP port (papermill #511): start again.
                if _PORT_TAKEN not in str(exc) or attempt == _START_ATTEMPTS:
                    raise
    finally:
        with _running_lock:
            _running.pop(task, None)
            _running_owner.pop(task, None)
            _cancelled.discard(task)

    cells: list[CellExecution] = client.nbrepro_cells
    counts: dict[str, int] = {}
    for entry in cells:
        counts[entry.status] = counts.get(entry.status, 0) + 1
    return ExecutionResult(
        nb=_to_plain(client.nb),
        cells=cells,
        kernel_died_at=client.nbrepro_died_at,
        timed_out=client.nbrepro_timed_out,
        duration=time.monotonic() - started,
        kernel_name=resolved.name,
        notebook_timed_out=client.nbrepro_notebook_timed_out,
        kernel_stderr=kernel_stderr,
        counts=counts,
        preamble_reply=client.nbrepro_preamble_reply,
        final_expressions=getattr(client, "nbrepro_final", {}),
    )


def execute_notebook(
    nb: dict[str, Any],
    *,
    kernel_name: str | None = None,
    cwd: str | os.PathLike[str] | Path,
    timeout: float | None = None,
    notebook_timeout: float | None = None,
    on_cell: Callable[[CellExecution], None] | None = None,
    skip_cells: Collection[int] = (),
    env: Mapping[str, str] | None = None,
    on_cell_start: CellStarted | None = None,
    startup_timeout: float = 60,
    kernel: ResolvedKernel | None = None,
    preamble: str | None = None,
    final_expressions: Mapping[str, str] | None = None,
) -> ExecutionResult:
    """Execute a copy of ``nb`` top to bottom in a fresh kernel; ``nb`` itself is not modified.

    ``kernel_name`` overrides the notebook's kernelspec (default ``python3``; ``kernel``: one
    already resolved); ``cwd`` is the kernel's working directory. ``timeout`` limits each cell
    and ``notebook_timeout`` all cells together (seconds; ``None`` or 0: no limit).
    ``on_cell_start(index, id)`` and ``on_cell(CellExecution)`` are called as each code cell
    starts and finishes. Cells whose index is in ``skip_cells`` or that are tagged
    ``skip-execution`` are not run (status ``"skipped"``; their stored outputs stay). ``env``
    adds variables to the kernel's environment. ``preamble`` is code run silently once the
    kernel is ready, before the first cell (no execution count, no history, no cell events;
    its reply in ``result.preamble_reply``); ``final_expressions`` (name → expression) are
    evaluated silently after the last cell while the kernel still runs (the kernel's
    ``user_expressions`` in ``result.final_expressions``). Raises :class:`KernelNotFound` for a
    kernel that is not installed and :class:`KernelStartFailed` when it does not start.

    Callable from synchronous code; inside a running event loop it runs on a worker thread.
    """
    coro_kwargs: dict[str, Any] = {
        "kernel_name": kernel_name,
        "cwd": cwd,
        "timeout": timeout,
        "notebook_timeout": notebook_timeout,
        "on_cell": on_cell,
        "skip_cells": skip_cells,
        "env": env,
        "on_cell_start": on_cell_start,
        "startup_timeout": startup_timeout,
        "kernel": kernel,
        "preamble": preamble,
        "final_expressions": final_expressions,
    }
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(async_execute_notebook(nb, **coro_kwargs))
    box: dict[str, Any] = {}
    caller = threading.get_ident()

    def target() -> None:
        _owner.ident = caller
        try:
            box["result"] = asyncio.run(async_execute_notebook(nb, **coro_kwargs))
        except BaseException as exc:
            box["error"] = exc

    worker = threading.Thread(target=target, name="nbrepro-execute")
    worker.start()
    worker.join()
    if "error" in box:
        raise box["error"]
    return box["result"]  # type: ignore[no-any-return]
