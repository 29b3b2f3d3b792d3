"""The kernel bootstrap: the recorder loaded silently into every Python kernel at (re)start.

:class:`KernelBootstrap` wraps the kernel manager's ``start_kernel`` and ``restart_kernel`` and
listens to its kernel actions. Ordering guarantee relied on: ipykernel handles shell messages
one at a time in the order it receives them. The recorder's request is sent before
``start_kernel`` returns the kernel id (so no client can address the kernel yet), and after a
restart every shell message from a websocket is held (the state's *gate*, see :mod:`.relay`)
until the recorder's reply has arrived. The user's first execution therefore runs after the
recorder is loaded, and the recorder's own request is silent (no count, no history).

Kernels of other languages, notebooks whose settings switch recording off and servers
configured with ``load_recorder = False`` get no recorder: the relay journals their order.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
from typing import Any

from . import kernelclient
from .config import NbreproConfig
from .journaling import ExecutionJournal
from .kernel_state import KernelRegistry, KernelState
from .notebook_settings import NotebookSettingsCache


class KernelBootstrap:
    """Loads the recorder into the kernels of one server (see the module docstring)."""

    def __init__(
        self,
        config: NbreproConfig,
        registry: KernelRegistry,
        settings: NotebookSettingsCache,
        journal: ExecutionJournal,
        *,
        root_dir: str,
        log: Any,
    ) -> None:
        self.config = config
        self.registry = registry
        self.settings = settings
        self.journal = journal
        self.root_dir = root_dir
        self.log = log

    def install(self, kernel_manager: Any) -> None:
        """Wrap ``start_kernel`` and ``restart_kernel`` of ``kernel_manager``."""
        km = kernel_manager
        original_start = km.start_kernel
        original_restart = km.restart_kernel

        @functools.wraps(original_start)
        async def start_kernel(*args: Any, **kwargs: Any) -> str:
            known = kwargs.get("kernel_id")
            kernel_id = await original_start(*args, **kwargs)
            if known is None or known not in self.registry.kernels:
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

    async def on_kernel_started(self, kernel_id: str, env: dict[str, str] | None = None) -> None:
        """A kernel started: load the recorder before anyone can talk to the kernel."""
        state = self.registry.state(kernel_id)
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
            self.registry.kernel(kernel_id).add_restart_callback(
                functools.partial(self.begin_restart, kernel_id), "restart"
            )
        state.gate = asyncio.get_running_loop().create_future()
        if getattr(self.registry.kernel_manager, "use_pending_kernels", False):
            self.start_bootstrap(state)
        else:
            await self.start_bootstrap(state)

    def begin_restart(self, kernel_id: str) -> None:
        """A restart begins: end the lineage and hold shell messages until the recorder is back."""
        state = self.registry.state(kernel_id)
        self.journal.end_lineage(state, "restart")
        state.restarted()
        if not state.gated:
            with contextlib.suppress(RuntimeError):
                state.gate = asyncio.get_running_loop().create_future()

    async def finish_restart(self, kernel_id: str) -> None:
        """The restarted kernel is up: load the recorder (once, whoever asks first)."""
        state = self.registry.kernels.get(kernel_id)
        if state is None or not state.gated:
            return
        await self.start_bootstrap(state)

    def start_bootstrap(self, state: KernelState) -> asyncio.Task[None]:
        """The task loading the recorder into the kernel (started on the first call)."""
        if state.bootstrap is None:
            state.bootstrap = asyncio.ensure_future(self._bootstrap(state))
        return state.bootstrap

    async def _bootstrap(self, state: KernelState) -> None:
        try:
            if not self.wants_recorder(state):
                return
            info = self.registry.connection_info(state.kernel_id)
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

    def wants_recorder(self, state: KernelState) -> bool:
        """Whether the kernel gets the in-kernel recorder: recording and loading it are on, the
        kernel is a Python one, and its notebook (when known) leaves recording on."""
        if not (self.config.record and self.config.load_recorder and state.is_python):
            return False
        return state.notebook is None or self.settings.allows_recording(state.notebook)

    async def on_kernel_event(self, logger: Any, schema_id: str, data: dict[str, Any]) -> None:
        """A kernel action of the event bus: finish automatic restarts, forget shut down
        kernels."""
        kernel_id = data.get("kernel_id")
        if not kernel_id or data.get("status") != "success":
            return
        action = data.get("action")
        if action == "restart":
            # Automatic restarts (the kernel died) come only this way.
            await self.finish_restart(kernel_id)
        elif action == "shutdown":
            state = self.registry.kernels.pop(kernel_id, None)
            if state is not None:
                self.journal.end_lineage(state, "shutdown")
