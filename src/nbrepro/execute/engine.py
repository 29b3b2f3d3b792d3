"""Execute a notebook top to bottom in a fresh kernel, with nbclient, and report per cell.

:func:`execute_notebook` never modifies its input: it executes a copy and returns it in an
:class:`ExecutionResult` with one :class:`CellExecution` per code cell. A cell that raises does
not stop the run (every cell is run with nbclient's ``allow_errors`` semantics and recorded with
status ``"error"``); a kernel that dies, a cell that exceeds the per-cell timeout and a notebook
that exceeds the whole-notebook timeout stop it, and the cells after are ``"not-run"``.

The kernel's own stderr (not cell outputs) is captured: ipykernel's "running over TCP without
encryption" warning is dropped, the rest is kept in :attr:`ExecutionResult.kernel_stderr`.
IPython kernels run with their history database disabled, so parallel runs share nothing.
"""

from __future__ import annotations

import asyncio
import copy
import os
import tempfile
import threading
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..cell_names import cell_label
from ..errors import EXIT_FAILED, InputError, KernelNotFound, NbreproError
from ..notebook_io import cell_source
from ..notebook_io import kernel_name as nb_kernel_name

#: Cell statuses, in the order a report explains them.
CELL_STATUSES = ("ok", "error", "skipped", "timeout", "kernel-died", "not-run")
#: nbclient's tag for cells that are not executed.
SKIP_TAG = "skip-execution"
#: The kernel used when neither the caller nor the notebook names one.
DEFAULT_KERNEL = "python3"
#: Start-up flags for IPython kernels: no history database shared between parallel kernels.
IPYKERNEL_ARGS = ("--HistoryManager.enabled=False",)


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


def resolve_kernel(nb: dict[str, Any], kernel_name: str | None) -> tuple[str, dict[str, Any]]:
    """The kernel to use (argument, else kernelspec, else python3) and its spec as a dict.

    Raises :class:`KernelNotFound` (one line, exit 2) when it is not installed.
    """
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    name = kernel_name or nb_kernel_name(nb) or DEFAULT_KERNEL
    try:
        spec = KernelSpecManager().get_kernel_spec(name)
    except NoSuchKernel:
        raise KernelNotFound(
            f"kernel {name!r} is not installed (see `jupyter kernelspec list`; choose one with "
            "--kernel)"
        ) from None
    return name, {"argv": list(spec.argv), "language": spec.language}


def check_executable(nb: dict[str, Any], name: str = "<notebook>") -> None:
    """Raise :class:`InputError` unless the parts of ``nb`` that execution and comparison read
    have their nbformat types (beyond :func:`nbrepro.notebook_io.check_structure`).

    Sources are strings or lists of strings; cell metadata are objects whose tags are lists of
    strings; cell ids are strings; a code cell's outputs are a list of objects; the kernelspec and
    language info are objects.
    """

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


# Executions in progress, so that Ctrl-C can cancel those running on worker threads (``-j``).
_running: dict[asyncio.Task[Any], asyncio.AbstractEventLoop] = {}
_cancelled: set[asyncio.Task[Any]] = set()
_running_lock = threading.Lock()


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


def _is_ipykernel(spec: dict[str, Any]) -> bool:
    return any("ipykernel" in str(arg) for arg in spec.get("argv", []))


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
    on_cell_start: Callable[[int, str], None] | None = None,
    startup_timeout: float = 60,
) -> ExecutionResult:
    """Async form of :func:`execute_notebook` (same arguments and result)."""
    from jupyter_client.manager import AsyncKernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    name, spec = resolve_kernel(nb, kernel_name)
    started = time.monotonic()
    node = _to_node(nb)
    skip = set(skip_cells)
    replies: dict[int, dict[str, Any]] = {}

    def remember_reply(cell: Any, cell_index: int, execute_reply: dict[str, Any]) -> None:
        replies[cell_index] = execute_reply.get("content", {})

    # The whole-notebook budget starts when the kernel is ready (start-up is not the notebook's).
    deadline: float | None = None

    def cell_timeout(cell: Any) -> float | None:
        budget = timeout if timeout and timeout > 0 else None
        if deadline is not None:
            remaining = max(deadline - time.monotonic(), 0.001)
            budget = remaining if budget is None else min(budget, remaining)
        return budget

    extra_args = list(IPYKERNEL_ARGS) if _is_ipykernel(spec) else []
    km = AsyncKernelManager(kernel_name=name)
    client = NotebookClient(
        node,
        km=km,
        kernel_name=name,
        allow_errors=True,
        record_timing=False,
        timeout_func=cell_timeout,
        startup_timeout=int(startup_timeout),
        extra_arguments=extra_args,
        ipython_hist_file="",
        on_cell_executed=remember_reply,
    )
    kernel_env = dict(os.environ)
    if env:
        kernel_env.update(env)
    kernel_env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")

    cells: list[CellExecution] = []
    died_at: int | None = None
    timed_out = False
    notebook_timed_out = False

    def report(entry: CellExecution) -> None:
        cells.append(entry)
        if on_cell is not None:
            on_cell(entry)

    task = asyncio.current_task()
    assert task is not None
    with _running_lock:
        _running[task] = asyncio.get_running_loop()
    try:
        with tempfile.TemporaryFile(mode="w+b") as stderr_file:
            try:
                await client.async_start_new_kernel(
                    cwd=str(cwd), env=kernel_env, stderr=stderr_file
                )
                await client.async_start_new_kernel_client()
            except Exception as exc:
                await _cleanup(client)
                stderr_file.seek(0)
                detail = filter_kernel_stderr(stderr_file.read().decode("utf-8", "replace")).strip()
                last = detail.splitlines()[-1] if detail else str(exc).splitlines()[0]
                raise KernelStartFailed(f"kernel {name!r} failed to start: {last}") from None
            except BaseException:
                await _cleanup(client)
                raise
            try:
                assert client.kc is not None
                msg_id = await _maybe_await(client.kc.kernel_info())
                info = await client.async_wait_for_reply(msg_id)
                if info is not None and "language_info" in info.get("content", {}):
                    node.metadata["language_info"] = info["content"]["language_info"]
                if notebook_timeout:
                    deadline = time.monotonic() + notebook_timeout
                stopped = False
                for index, cell in enumerate(node.cells):
                    if cell.cell_type != "code":
                        continue
                    cid = cell_id_for(cell, index)
                    tags = cell.metadata.get("tags", []) or []
                    if stopped:
                        report(CellExecution(index, cid, "not-run"))
                        continue
                    if index in skip or SKIP_TAG in tags:
                        report(CellExecution(index, cid, "skipped"))
                        continue
                    if deadline is not None and time.monotonic() >= deadline:
                        timed_out = notebook_timed_out = stopped = True
                        report(CellExecution(index, cid, "not-run"))
                        continue
                    if on_cell_start is not None:
                        on_cell_start(index, cid)
                    t0 = time.monotonic()
                    try:
                        await client.async_execute_cell(
                            cell, index, execution_count=client.code_cells_executed + 1
                        )
                    except DeadKernelError:
                        if _cancel_requested():
                            raise asyncio.CancelledError from None
                        died_at, stopped = index, True
                        report(
                            CellExecution(
                                index,
                                cid,
                                "kernel-died",
                                time.monotonic() - t0,
                                "DeadKernelError",
                                f"the kernel died while executing {cell_label(index, cid)}",
                            )
                        )
                        continue
                    except CellTimeoutError:
                        elapsed = time.monotonic() - t0
                        timed_out = stopped = True
                        by_notebook = deadline is not None and time.monotonic() >= deadline - 0.01
                        notebook_timed_out = by_notebook
                        limit = (
                            f"the notebook timeout of {notebook_timeout:g} s"
                            if by_notebook and notebook_timeout
                            else f"the cell timeout of {timeout:g} s"
                            if timeout
                            else "a timeout"
                        )
                        report(
                            CellExecution(
                                index, cid, "timeout", elapsed, "Timeout", f"cell exceeded {limit}"
                            )
                        )
                        continue
                    elapsed = time.monotonic() - t0
                    content = replies.pop(index, {})
                    if content.get("status") == "error":
                        report(
                            CellExecution(
                                index,
                                cid,
                                "error",
                                elapsed,
                                str(content.get("ename") or "Error"),
                                str(content.get("evalue", "")),
                            )
                        )
                    elif content.get("status") == "aborted":
                        report(CellExecution(index, cid, "error", elapsed, "Aborted", "aborted"))
                    else:
                        report(CellExecution(index, cid, "ok", elapsed))
                client.set_widgets_metadata()
            finally:
                await _cleanup(client)
                stderr_file.seek(0)
                kernel_stderr = filter_kernel_stderr(stderr_file.read().decode("utf-8", "replace"))
    finally:
        with _running_lock:
            _running.pop(task, None)
            _cancelled.discard(task)

    counts: dict[str, int] = {}
    for entry in cells:
        counts[entry.status] = counts.get(entry.status, 0) + 1
    return ExecutionResult(
        nb=_to_plain(node),
        cells=cells,
        kernel_died_at=died_at,
        timed_out=timed_out,
        duration=time.monotonic() - started,
        kernel_name=name,
        notebook_timed_out=notebook_timed_out,
        kernel_stderr=kernel_stderr,
        counts=counts,
    )


async def _maybe_await(value: Any) -> Any:
    if asyncio.iscoroutine(value) or isinstance(value, asyncio.Future):
        return await value
    return value


async def _cleanup(client: Any) -> None:
    """Stop the kernel immediately (it is thrown away) and close the channels."""
    km = client.km
    if km is None:
        return
    try:
        if await _maybe_await(km.is_alive()):
            await _maybe_await(km.shutdown_kernel(now=True))
    except RuntimeError:
        pass
    finally:
        await _maybe_await(km.cleanup_resources())
        if client.kc is not None:
            await _maybe_await(client.kc.stop_channels())
            client.kc = None


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
    on_cell_start: Callable[[int, str], None] | None = None,
    startup_timeout: float = 60,
) -> ExecutionResult:
    """Execute a copy of ``nb`` top to bottom in a fresh kernel; ``nb`` itself is not modified.

    ``kernel_name`` overrides the notebook's kernelspec (default ``python3``); ``cwd`` is the
    kernel's working directory. ``timeout`` limits each cell and ``notebook_timeout`` all cells
    together (seconds; ``None`` or 0: no limit). ``on_cell_start(index, id)`` and
    ``on_cell(CellExecution)`` are called as each code cell starts and finishes. Cells whose
    index is in ``skip_cells`` or that are tagged ``skip-execution`` are not run (status
    ``"skipped"``; their stored outputs stay). ``env`` adds variables to the kernel's
    environment. Raises :class:`KernelNotFound` for a kernel that is not installed and
    :class:`KernelStartFailed` when it does not start.

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
    }
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(async_execute_notebook(nb, **coro_kwargs))
    box: dict[str, Any] = {}

    def target() -> None:
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
