"""What the recording knows about each kernel of the server, shared by its parts.

:class:`KernelRegistry` holds one :class:`KernelState` per kernel: the bootstrap
(:mod:`.kernel_bootstrap`) sets its gate and recorder, the journal side (:mod:`.journaling`)
its notebook, lineage and executions, the save hook (:mod:`.save_hook`) reads them.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from typing import Any

from ..journal import Lineage
from ..journal.store import utcnow_iso

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

    def restarted(self) -> None:
        """Forget the previous kernel process: a restart begins a new lineage, with no pending
        request, no execution, no provenance and no recorder yet."""
        self.lineage = None
        self.reason = "restart"
        self.pending.clear()
        self.executions = []
        self.execution_total = 0
        self.provenance = None
        self.provenance_at = -1
        self.recorder_loaded = False
        self.started = utcnow_iso()
        self.bootstrap = None


class KernelRegistry:
    """The :class:`KernelState` of every kernel, keyed by kernel id."""

    def __init__(self, kernel_manager: Any, log: Any) -> None:
        self.kernel_manager = kernel_manager
        self.log = log
        #: Kernel id -> state (the relay observer reads it to hold shell messages).
        self.kernels: dict[str, KernelState] = {}

    def state(self, kernel_id: str) -> KernelState:
        """The state of a kernel (created on first sight, e.g. a kernel started elsewhere)."""
        state = self.kernels.get(kernel_id)
        if state is None:
            state = KernelState(kernel_id)
            self._describe(state)
            self.kernels[kernel_id] = state
        return state

    def kernel(self, kernel_id: str) -> Any:
        """The kernel manager's kernel (raises for an unknown id)."""
        return self.kernel_manager.get_kernel(kernel_id)

    def connection_info(self, kernel_id: str) -> dict[str, Any]:
        """How to connect to a kernel (for the silent requests)."""
        return dict(self.kernel(kernel_id).get_connection_info())

    def _describe(self, state: KernelState) -> None:
        try:
            km = self.kernel(state.kernel_id)
            state.kernel_name = km.kernel_name
            state.language = (km.kernel_spec.language or "").lower() or None
        except Exception as exc:  # an unknown kernel spec must not break recording
            self.log.debug("nbrepro: cannot describe kernel %s: %s", state.kernel_id, exc)

    def for_notebook(self, notebook: str) -> list[KernelState]:
        """Live kernels whose session is this notebook (absolute path)."""
        notebook = os.path.normpath(notebook)
        return [s for s in self.kernels.values() if s.notebook == notebook]
