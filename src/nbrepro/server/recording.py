"""Automatic recording: kernel lifecycle hooks, the relay's execution journal, provenance on save.

One :class:`RecordingService` per server. It

* hooks the kernel manager so that a Python kernel loads the recorder silently as soon as it has
  started or restarted, and holds the user's shell messages (see :mod:`.relay`) until it has;
* journals every execution it sees relayed between a frontend and any kernel (execute request →
  execute reply: cell id, execution count, source hash, status), in lineages that a kernel
  (re)start begins, keyed by the notebook's path (followed through renames);
* merges the live provenance into a notebook when it is saved (a pre-save hook).

Ordering guarantee relied on: ipykernel handles shell messages one at a time in the order it
receives them. The recorder's request is sent before ``start_kernel`` returns the kernel id (so
no client can address the kernel yet), and after a restart every shell message from a websocket
is held until the recorder's reply has arrived. The user's first execution therefore runs after
the recorder is loaded, and the recorder's own request is silent (no count, no history).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__
from ..hashing import source_hash
from ..journal import JournalStore, Lineage
from ..journal.store import utcnow_iso
from ..notebook_io import read_notebook
from ..provenance import DERIVED_ID_PREFIX, METADATA_KEY
from . import kernelclient
from .config import NOTEBOOK_SETTINGS_KEY, NbreproConfig
from .paths import api_path_of

KERNEL_ACTIONS_SCHEMA = "https://events.jupyter.org/jupyter_server/kernel_actions/v1"
CONTENTS_SCHEMA = "https://events.jupyter.org/jupyter_server/contents_service/v1"
#: At most this many executions of a lineage are kept in memory for saving relay provenance.
MAX_MEMORY_EXECUTIONS = 1000


@dataclass
class PendingExecution:
    """An execute request relayed to the kernel, waiting for its reply."""

    cell_id: str | None
    source_hash: str
    started: str
    t0: float


@dataclass
class KernelState:
    """What the service knows about one kernel."""

    kernel_id: str
    kernel_name: str | None = None
    language: str | None = None
    #: Absolute path of the notebook whose session uses this kernel (``None``: not known yet).
    notebook: str | None = None
    #: The path the session manager last gave for this kernel's session: a session that moves
    #: changes it; a rename seen as a contents event first moves ``notebook`` alone.
    session_path: str | None = None
    #: Why the next lineage begins: ``"start"`` or ``"restart"``.
    reason: str = "start"
    lineage: Lineage | None = None
    #: Set while the recorder is being loaded: shell messages wait for it.
    gate: asyncio.Future[None] | None = None
    bootstrap: asyncio.Task[None] | None = None
    recorder_loaded: bool = False
    recorder_error: str | None = None
    pending: dict[str, PendingExecution] = field(default_factory=dict)
    #: Executions of the current lineage (newest last, capped), for relay provenance.
    executions: list[dict[str, Any]] = field(default_factory=list)
    execution_total: int = 0
    provenance: dict[str, Any] | None = None
    provenance_at: int = -1
    record_task: asyncio.Future[None] | None = None
    started: str = field(default_factory=utcnow_iso)

    @property
    def is_python(self) -> bool:
        """Whether the kernel's language is Python."""
        return (self.language or "").lower() == "python"

    @property
    def gated(self) -> bool:
        """Whether shell messages must wait for the recorder."""
        return self.gate is not None and not self.gate.done()

    @property
    def recorder(self) -> str:
        """``"python"`` when the in-kernel recorder is loaded, else ``"relay"``."""
        return "python" if self.recorder_loaded else "relay"


class _SettingsCache:
    """``metadata.nbrepro_settings`` and ``metadata.nbrepro`` of notebooks on disk, cached by
    (mtime, size)."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[tuple[int, int], dict[str, Any], dict[str, Any] | None]] = {}

    def _entry(self, path: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
        try:
            st = os.stat(path)
        except OSError:
            return {}, None
        key = (st.st_mtime_ns, st.st_size)
        hit = self._cache.get(path)
        if hit and hit[0] == key:
            return hit[1], hit[2]
        try:
            metadata = read_notebook(path).get("metadata", {})
        except Exception:
            metadata = {}
        settings = metadata.get(NOTEBOOK_SETTINGS_KEY) or {}
        if not isinstance(settings, dict):
            settings = {}
        prov = metadata.get(METADATA_KEY)
        kept = prov if isinstance(prov, dict) and prov else None
        self._cache[path] = (key, settings, kept)
        return settings, kept

    def get(self, path: str) -> dict[str, Any]:
        """The notebook's ``metadata.nbrepro_settings`` (empty when unreadable)."""
        return self._entry(path)[0]

    def provenance(self, path: str) -> dict[str, Any] | None:
        """The provenance the notebook file carries (``None``: none, or unreadable)."""
        return self._entry(path)[1]


def notebook_allows_recording(settings: Any) -> bool:
    """Whether per-notebook settings (``metadata.nbrepro_settings``) leave recording on."""
    return not (isinstance(settings, dict) and settings.get("record") is False)


class RecordingService:
    """Recording for every kernel of one jupyter server."""

    def __init__(
        self,
        config: NbreproConfig,
        journal: JournalStore,
        *,
        kernel_manager: Any,
        session_manager: Any,
        root_dir: str,
        log: Any,
    ) -> None:
        self.config = config
        self.journal = journal
        self.kernel_manager = kernel_manager
        self.session_manager = session_manager
        self.root_dir = str(Path(root_dir).resolve())
        self.log = log
        self.kernels: dict[str, KernelState] = {}
        self._settings = _SettingsCache()

    # -- installation --------------------------------------------------------------------

    def install(self, server_app: Any) -> None:
        """Hook the kernel manager, the event bus and the contents manager of ``server_app``."""
        km = self.kernel_manager
        original_start = km.start_kernel
        original_restart = km.restart_kernel

        @functools.wraps(original_start)
        async def start_kernel(*args: Any, **kwargs: Any) -> str:
            known = kwargs.get("kernel_id")
            kernel_id = await original_start(*args, **kwargs)
            if known is None or known not in self.kernels:
                await self.on_kernel_started(kernel_id, kwargs.get("env"))
            return str(kernel_id)

        @functools.wraps(original_restart)
        async def restart_kernel(kernel_id: str, *args: Any, **kwargs: Any) -> Any:
            self.begin_restart(kernel_id)
            result = await original_restart(kernel_id, *args, **kwargs)
            await self.finish_restart(kernel_id)
            return result

        km.start_kernel = start_kernel
        km.restart_kernel = restart_kernel
        event_logger = getattr(server_app, "event_logger", None)
        if event_logger is not None:
            event_logger.add_listener(
                schema_id=KERNEL_ACTIONS_SCHEMA, listener=self._on_kernel_event
            )
            event_logger.add_listener(schema_id=CONTENTS_SCHEMA, listener=self._on_contents_event)
        cm = server_app.contents_manager
        if hasattr(cm, "register_pre_save_hook"):
            cm.register_pre_save_hook(self.pre_save_hook)
        else:  # pragma: no cover - jupyter_server < 2 has a single hook: chain it
            previous = cm.pre_save_hook

            def chained(**kwargs: Any) -> None:
                if previous is not None:
                    previous(**kwargs)
                self.pre_save_hook(**kwargs)

            cm.pre_save_hook = chained

    # -- kernel lifecycle ----------------------------------------------------------------

    def state(self, kernel_id: str) -> KernelState:
        """The state of a kernel (created on first sight, e.g. a kernel started elsewhere)."""
        state = self.kernels.get(kernel_id)
        if state is None:
            state = KernelState(kernel_id)
            self._describe(state)
            self.kernels[kernel_id] = state
        return state

    def _km(self, kernel_id: str) -> Any:
        return self.kernel_manager.get_kernel(kernel_id)

    def _describe(self, state: KernelState) -> None:
        try:
            km = self._km(state.kernel_id)
            state.kernel_name = km.kernel_name
            state.language = (km.kernel_spec.language or "").lower() or None
        except Exception as exc:  # an unknown kernel spec must not break recording
            self.log.debug("nbrepro: cannot describe kernel %s: %s", state.kernel_id, exc)

    async def on_kernel_started(self, kernel_id: str, env: dict[str, str] | None = None) -> None:
        """A kernel started: load the recorder before anyone can talk to the kernel."""
        state = self.state(kernel_id)
        state.reason = "start"
        session_name = (env or {}).get("JPY_SESSION_NAME")
        if session_name:
            path = (
                session_name
                if os.path.isabs(session_name)
                else os.path.join(self.root_dir, session_name)
            )
            if path.endswith(".ipynb"):
                state.notebook = os.path.normpath(path)
        with contextlib.suppress(Exception):
            self._km(kernel_id).add_restart_callback(
                functools.partial(self.begin_restart, kernel_id), "restart"
            )
        state.gate = asyncio.get_running_loop().create_future()
        if getattr(self.kernel_manager, "use_pending_kernels", False):
            self._start_bootstrap(state)
        else:
            await self._start_bootstrap(state)

    def begin_restart(self, kernel_id: str) -> None:
        """A restart begins: end the lineage and hold shell messages until the recorder is back."""
        state = self.state(kernel_id)
        if state.lineage is not None:
            with contextlib.suppress(Exception):
                self.journal.end_lineage(state.lineage.id, "restart")
        state.lineage = None
        state.reason = "restart"
        state.pending.clear()
        state.executions = []
        state.execution_total = 0
        state.provenance = None
        state.provenance_at = -1
        state.recorder_loaded = False
        state.started = utcnow_iso()
        state.bootstrap = None
        if not state.gated:
            with contextlib.suppress(RuntimeError):
                state.gate = asyncio.get_running_loop().create_future()

    async def finish_restart(self, kernel_id: str) -> None:
        """The restarted kernel is up: load the recorder (once, whoever asks first)."""
        state = self.kernels.get(kernel_id)
        if state is None or not state.gated:
            return
        await self._start_bootstrap(state)

    def _start_bootstrap(self, state: KernelState) -> asyncio.Task[None]:
        if state.bootstrap is None:
            state.bootstrap = asyncio.ensure_future(self._bootstrap(state))
        return state.bootstrap

    async def _bootstrap(self, state: KernelState) -> None:
        try:
            if not self._wants_recorder(state):
                return
            info = self._km(state.kernel_id).get_connection_info()
            loop = asyncio.get_running_loop()
            outcome = await loop.run_in_executor(
                None,
                functools.partial(
                    kernelclient.load_recorder, info, timeout=self.config.bootstrap_timeout
                ),
            )
            state.recorder_loaded = outcome in ("loaded", "already loaded")
            state.recorder_error = None if state.recorder_loaded else outcome
        except Exception as exc:
            state.recorder_loaded = False
            state.recorder_error = str(exc)
            self.log.warning(
                "nbrepro: the recorder could not be loaded in kernel %s (%s); recording the "
                "execution order only",
                state.kernel_id,
                exc,
            )
        finally:
            if state.gate is not None and not state.gate.done():
                state.gate.set_result(None)

    def _wants_recorder(self, state: KernelState) -> bool:
        if not (self.config.record and self.config.load_recorder and state.is_python):
            return False
        return state.notebook is None or notebook_allows_recording(
            self._settings.get(state.notebook)
        )

    async def _on_kernel_event(self, logger: Any, schema_id: str, data: dict[str, Any]) -> None:
        kernel_id = data.get("kernel_id")
        if not kernel_id or data.get("status") != "success":
            return
        action = data.get("action")
        if action == "restart":
            # Automatic restarts (the kernel died) come only this way.
            await self.finish_restart(kernel_id)
        elif action == "shutdown":
            state = self.kernels.pop(kernel_id, None)
            if state is not None and state.lineage is not None:
                with contextlib.suppress(Exception):
                    self.journal.end_lineage(state.lineage.id, "shutdown")

    async def _on_contents_event(self, logger: Any, schema_id: str, data: dict[str, Any]) -> None:
        action = data.get("action")
        if action == "rename" and data.get("source_path"):
            self.rename(
                os.path.join(self.root_dir, data["source_path"]),
                os.path.join(self.root_dir, data["path"]),
            )
        elif action == "delete" and str(data.get("path", "")).endswith(".ipynb"):
            with contextlib.suppress(Exception):
                self.journal.forget(os.path.join(self.root_dir, data["path"]))

    def rename(self, old: str, new: str) -> None:
        """Follow a rename of a notebook (or folder) in the journal and the live kernels."""
        old, new = os.path.normpath(old), os.path.normpath(new)
        try:
            self.journal.rename(old, new)
        except Exception as exc:
            self.log.warning("nbrepro: journal rename %s -> %s failed: %s", old, new, exc)
        for state in self.kernels.values():
            nb = state.notebook
            if nb and (nb == old or nb.startswith(old + os.sep)):
                state.notebook = new + nb[len(old) :]
                if state.lineage is not None:
                    state.lineage = dataclasses.replace(state.lineage, path=state.notebook)

    # -- relay observations --------------------------------------------------------------

    def on_execute_request(self, kernel_id: str, msg_id: str, code: str, cell_id: Any) -> None:
        """A frontend's (non-silent) execute request is being relayed to the kernel."""
        if not self.config.record:
            return
        state = self.state(kernel_id)
        state.pending[msg_id] = PendingExecution(
            cell_id=cell_id if isinstance(cell_id, str) and cell_id else None,
            source_hash=source_hash(code),
            started=utcnow_iso(),
            t0=time.monotonic(),
        )
        if state.notebook is None:
            self._chain(state, self._resolve_notebook(state))

    def on_execute_reply(self, kernel_id: str, parent_id: str, content: dict[str, Any]) -> None:
        """The kernel's execute reply to a request seen by :meth:`on_execute_request`."""
        state = self.kernels.get(kernel_id)
        if state is None:
            return
        pending = state.pending.pop(parent_id, None)
        if pending is None:
            return
        count = content.get("execution_count")
        status = str(content.get("status") or "ok")
        entry = {
            "cell_id": pending.cell_id,
            "execution_count": count if isinstance(count, int) else None,
            "source_hash": pending.source_hash,
            "status": status,
            # Kernels of other languages may name no error (bash: ename ""): still an error.
            "error": (content.get("ename") or "Error") if status == "error" else None,
            "started": pending.started,
            "finished": utcnow_iso(),
            "duration": round(time.monotonic() - pending.t0, 6),
        }
        state.execution_total += 1
        state.executions.append(entry)
        del state.executions[:-MAX_MEMORY_EXECUTIONS]
        self._chain(state, self._record(state, entry))

    def _chain(self, state: KernelState, coro: Any) -> None:
        """Run journal work for a kernel strictly in the order it was asked for."""
        previous = state.record_task

        async def run() -> None:
            if previous is not None:
                with contextlib.suppress(Exception):
                    await previous
            try:
                await coro
            except Exception as exc:
                self.log.warning("nbrepro: journal write failed: %s", exc)

        state.record_task = asyncio.ensure_future(run())

    async def settle(self) -> None:
        """Wait until every journal write asked for so far is done."""
        tasks = [s.record_task for s in self.kernels.values() if s.record_task is not None]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _resolve_notebook(self, state: KernelState) -> None:
        try:
            model = await self.session_manager.get_session(kernel_id=state.kernel_id)
        except Exception:
            return
        path = model.get("path") if isinstance(model, dict) else None
        if not path or model.get("type") not in (None, "notebook"):
            return
        absolute = os.path.normpath(os.path.join(self.root_dir, path))
        if absolute == state.session_path:
            # Nothing new from the session manager. A rename followed from a contents event
            # (a folder renamed, a session not moved yet or never) stands.
            return
        state.session_path = absolute
        if state.notebook and state.notebook != absolute and state.lineage is not None:
            # The session moved (sessions PATCH) without a contents rename event.
            self.rename(state.notebook, absolute)
        state.notebook = absolute

    async def _record(self, state: KernelState, entry: dict[str, Any]) -> None:
        await self._resolve_notebook(state)
        notebook = state.notebook
        if notebook is None or not notebook.endswith(".ipynb"):
            return
        if not notebook_allows_recording(self._settings.get(notebook)):
            return
        if state.lineage is None or state.lineage.path != notebook:
            state.lineage = self.journal.start_lineage(
                notebook,
                kernel_id=state.kernel_id,
                kernel_name=state.kernel_name,
                language=state.language,
                recorder=state.recorder,
                reason=state.reason,
            )
        self.journal.record_execution(state.lineage.id, **entry)

    # -- status and save -----------------------------------------------------------------

    def kernels_for(self, notebook: str) -> list[KernelState]:
        """Live kernels whose session is this notebook (absolute path)."""
        notebook = os.path.normpath(notebook)
        return [s for s in self.kernels.values() if s.notebook == notebook]

    def live_status(self, notebook: str) -> dict[str, Any]:
        """What the status endpoint says about recording for a notebook."""
        states = self.kernels_for(notebook)
        settings = self._settings.get(notebook)
        enabled = self.config.record and notebook_allows_recording(settings)
        if not states:
            return {"enabled": enabled, "active": False, "kernel_id": None, "recorder": None}
        state = states[-1]
        return {
            "enabled": enabled,
            "active": enabled,
            "kernel_id": state.kernel_id,
            "kernel_name": state.kernel_name,
            "language": state.language,
            "recorder": state.recorder if enabled else None,
            "recorder_error": state.recorder_error,
            "lineage_id": state.lineage.id if state.lineage else None,
            "lineage_reason": state.reason,
            "executions": state.execution_total,
        }

    def pre_save_hook(self, model: dict[str, Any], path: str, **_: Any) -> None:
        """Merge the live provenance into a notebook being saved; never fail the save."""
        try:
            self._merge_on_save(model, path)
        except Exception as exc:
            self.log.warning("nbrepro: provenance not merged into %s: %s", path, exc)

    def _merge_on_save(self, model: dict[str, Any], path: str) -> None:
        if model.get("type") != "notebook" or not isinstance(model.get("content"), dict):
            return
        if not self.config.record:
            return
        nb = model["content"]
        if not notebook_allows_recording(nb.get("metadata", {}).get(NOTEBOOK_SETTINGS_KEY)):
            return
        notebook = os.path.normpath(os.path.join(self.root_dir, path))
        # The provenance this hook merged into the file is not sent back to the frontend, which
        # saves the metadata it loaded: the file's provenance is the one to keep and merge into.
        on_disk = self._settings.provenance(notebook)
        if on_disk is not None:
            metadata = dict(nb.get("metadata") or {})
            metadata[METADATA_KEY] = on_disk
            nb = {**nb, "metadata": metadata}
            model["content"] = nb
        states = [s for s in self.kernels_for(notebook) if s.execution_total > 0]
        if not states:
            return  # no recording session: the notebook keeps what it had
        prov = self._provenance(states[-1])
        if prov is None:
            return
        from ..provenance import merge_into_notebook

        model["content"] = merge_into_notebook(dict(nb), prov)

    def _provenance(self, state: KernelState) -> dict[str, Any] | None:
        if not state.recorder_loaded:
            return self.relay_provenance(state)
        if state.provenance is not None and state.provenance_at == state.execution_total:
            return state.provenance
        if not state.pending and not state.gated:
            try:
                info = self._km(state.kernel_id).get_connection_info()
                state.provenance = kernelclient.read_provenance(
                    info, timeout=self.config.provenance_timeout
                )
                state.provenance_at = state.execution_total
            except Exception as exc:
                self.log.warning("nbrepro: no provenance from kernel %s: %s", state.kernel_id, exc)
        return state.provenance

    def relay_provenance(self, state: KernelState) -> dict[str, Any]:
        """Provenance built from the relayed executions only (``"recorder": "relay"``: the
        kernel's name and language, no environment snapshot, no data hashes). Executions that
        never ran (``aborted``) are left out; an execution without a cell id gets the derived
        id the in-kernel recorder would give it."""
        cells: dict[str, dict[str, Any]] = {}
        executions = []
        for ex in state.executions:
            if ex["status"] not in ("ok", "error"):
                continue
            cell_id = ex["cell_id"] or DERIVED_ID_PREFIX + ex["source_hash"].split(":", 1)[1][:16]
            executions.append(
                {
                    "cell_id": cell_id,
                    "cell_id_source": "frontend" if ex["cell_id"] else "derived",
                    "execution_count": ex["execution_count"],
                    "source_hash": ex["source_hash"],
                    "started": ex["started"],
                    "ended": ex["finished"],
                    "status": ex["status"],
                    "error": ex["error"],
                    "inputs": [],
                    "outputs": [],
                }
            )
            cells[cell_id] = {
                "execution_count": ex["execution_count"],
                "source_hash": ex["source_hash"],
                "status": ex["status"],
                "error": ex["error"],
                "inputs": [],
                "outputs": [],
            }
        return {
            "schema_version": 1,
            "nbrepro_version": __version__,
            "recorder": "relay",
            "session": {
                "id": state.lineage.id if state.lineage else state.kernel_id,
                "started": state.started,
            },
            "environment": {
                "kernel": {"name": state.kernel_name or "", "language": state.language or ""},
            },
            "inputs": {},
            "cells": cells,
            "executions": executions,
        }

    def api_path(self, absolute: str) -> str | None:
        """The API path of a notebook under the server root."""
        return api_path_of(self.root_dir, absolute)
