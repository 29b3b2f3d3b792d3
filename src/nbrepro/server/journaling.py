"""The journal side of recording: every execution relayed to any kernel, and the live status.

The relay observer (:mod:`.relay`) reports each non-silent execute request and the execute
reply that answers it; :class:`ExecutionJournal` turns the pair into one journal entry (cell id,
execution count, source hash, status, times), in lineages that a kernel (re)start begins, keyed
by the notebook's path (followed through renames and session moves). Journal writes for one
kernel run strictly in the order they were asked for, off the message path.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import time
from collections.abc import Awaitable
from typing import Any

from ..hashing import source_hash
from ..journal import JournalStore
from ..journal.store import utcnow_iso
from .config import NbreproConfig
from .kernel_state import MAX_MEMORY_EXECUTIONS, KernelRegistry, KernelState, PendingExecution
from .notebook_settings import NotebookSettingsCache


def journal_entry(pending: PendingExecution, content: dict[str, Any]) -> dict[str, Any]:
    """The journal entry of an execute request and the content of the reply that answers it
    (the keyword arguments of :meth:`nbrepro.journal.JournalStore.record_execution`)."""
    count = content.get("execution_count")
    status = str(content.get("status") or "ok")
    return {
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


class ExecutionJournal:
    """Journals the executions relayed to every kernel of one server (see the module doc)."""

    def __init__(
        self,
        config: NbreproConfig,
        journal: JournalStore,
        registry: KernelRegistry,
        settings: NotebookSettingsCache,
        *,
        session_manager: Any,
        root_dir: str,
        log: Any,
    ) -> None:
        self.config = config
        self.journal = journal
        self.registry = registry
        self.settings = settings
        self.session_manager = session_manager
        self.root_dir = root_dir
        self.log = log

    # -- relay observations --------------------------------------------------------------

    def on_execute_request(self, kernel_id: str, msg_id: str, code: str, cell_id: Any) -> None:
        """A frontend's (non-silent) execute request is being relayed to the kernel."""
        if not self.config.record:
            return
        state = self.registry.state(kernel_id)
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
        state = self.registry.kernels.get(kernel_id)
        if state is None:
            return
        pending = state.pending.pop(parent_id, None)
        if pending is None:
            return
        entry = journal_entry(pending, content)
        state.execution_total += 1
        state.executions.append(entry)
        del state.executions[:-MAX_MEMORY_EXECUTIONS]
        self._chain(state, self._record(state, entry))

    def _chain(self, state: KernelState, coro: Awaitable[None]) -> None:
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
        states = self.registry.kernels.values()
        tasks = [s.record_task for s in states if s.record_task is not None]
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
        if not self.settings.allows_recording(notebook):
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

    # -- lineages and notebooks ----------------------------------------------------------

    def end_lineage(self, state: KernelState, reason: str) -> None:
        """End the kernel's current lineage (``"restart"``, ``"shutdown"``), if it has one."""
        if state.lineage is not None:
            with contextlib.suppress(Exception):
                self.journal.end_lineage(state.lineage.id, reason)

    def rename(self, old: str, new: str) -> None:
        """Follow a rename of a notebook (or folder) in the journal and the live kernels."""
        old, new = os.path.normpath(old), os.path.normpath(new)
        try:
            self.journal.rename(old, new)
        except Exception as exc:
            self.log.warning("nbrepro: journal rename %s -> %s failed: %s", old, new, exc)
        for state in self.registry.kernels.values():
            nb = state.notebook
            if nb and (nb == old or nb.startswith(old + os.sep)):
                state.notebook = new + nb[len(old) :]
                if state.lineage is not None:
                    state.lineage = dataclasses.replace(state.lineage, path=state.notebook)

    async def on_contents_event(self, logger: Any, schema_id: str, data: dict[str, Any]) -> None:
        """A contents service event: follow renames, forget deleted notebooks."""
        action = data.get("action")
        if action == "rename" and data.get("source_path"):
            self.rename(
                os.path.join(self.root_dir, data["source_path"]),
                os.path.join(self.root_dir, data["path"]),
            )
        elif action == "delete" and str(data.get("path", "")).endswith(".ipynb"):
            with contextlib.suppress(Exception):
                self.journal.forget(os.path.join(self.root_dir, data["path"]))

    # -- status --------------------------------------------------------------------------

    def live_status(self, notebook: str) -> dict[str, Any]:
        """What the status endpoint says about recording for a notebook."""
        states = self.registry.for_notebook(notebook)
        enabled = self.config.record and self.settings.allows_recording(notebook)
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
