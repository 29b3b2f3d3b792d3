"""Automatic recording: kernel lifecycle hooks, the relay's execution journal, provenance on save.

One :class:`RecordingService` per server, a façade over three parts that share one
:class:`~.kernel_state.KernelRegistry` and one :class:`~.notebook_settings.NotebookSettingsCache`:

* :mod:`.kernel_bootstrap` hooks the kernel manager so that a Python kernel loads the recorder
  silently as soon as it has started or restarted, and holds the user's shell messages (see
  :mod:`.relay`) until it has;
* :mod:`.journaling` journals every execution it sees relayed between a frontend and any kernel
  (execute request → execute reply: cell id, execution count, source hash, status), in lineages
  that a kernel (re)start begins, keyed by the notebook's path (followed through renames), and
  says what the status endpoint reports of the live recording;
* :mod:`.save_hook` merges the live provenance into a notebook when it is saved (a pre-save
  hook); the relay's provenance is built by the core's builder
  (:mod:`nbrepro.record.provenance_record`), as the recorder's and the runs' are.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..journal import JournalStore
from .config import NbreproConfig
from .journaling import ExecutionJournal
from .kernel_bootstrap import KernelBootstrap
from .kernel_state import MAX_MEMORY_EXECUTIONS, KernelRegistry, KernelState, PendingExecution
from .notebook_settings import NotebookSettingsCache, notebook_allows_recording
from .paths import api_path_of
from .save_hook import SaveHook, relay_provenance

__all__ = [
    "CONTENTS_SCHEMA",
    "KERNEL_ACTIONS_SCHEMA",
    "MAX_MEMORY_EXECUTIONS",
    "KernelState",
    "PendingExecution",
    "RecordingService",
    "notebook_allows_recording",
]

KERNEL_ACTIONS_SCHEMA = "https://events.jupyter.org/jupyter_server/kernel_actions/v1"
CONTENTS_SCHEMA = "https://events.jupyter.org/jupyter_server/contents_service/v1"


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
        self.registry = KernelRegistry(kernel_manager, log)
        self.settings = NotebookSettingsCache()
        self.journaling = ExecutionJournal(
            config,
            journal,
            self.registry,
            self.settings,
            session_manager=session_manager,
            root_dir=self.root_dir,
            log=log,
        )
        self.bootstrap = KernelBootstrap(
            config, self.registry, self.settings, self.journaling, root_dir=self.root_dir, log=log
        )
        self.save_hook = SaveHook(
            config, self.registry, self.settings, root_dir=self.root_dir, log=log
        )

    @property
    def kernels(self) -> dict[str, KernelState]:
        """Kernel id -> state (the relay observer reads it to hold shell messages)."""
        return self.registry.kernels

    # -- installation --------------------------------------------------------------------

    def install(self, server_app: Any) -> None:
        """Hook the kernel manager, the event bus and the contents manager of ``server_app``."""
        self.bootstrap.install(self.kernel_manager)
        event_logger = getattr(server_app, "event_logger", None)
        if event_logger is not None:
            event_logger.add_listener(
                schema_id=KERNEL_ACTIONS_SCHEMA, listener=self.bootstrap.on_kernel_event
            )
            event_logger.add_listener(
                schema_id=CONTENTS_SCHEMA, listener=self.journaling.on_contents_event
            )
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

    # -- kernel lifecycle (:mod:`.kernel_bootstrap`) -------------------------------------

    def state(self, kernel_id: str) -> KernelState:
        """The state of a kernel (created on first sight, e.g. a kernel started elsewhere)."""
        return self.registry.state(kernel_id)

    async def on_kernel_started(self, kernel_id: str, env: dict[str, str] | None = None) -> None:
        """A kernel started: load the recorder before anyone can talk to the kernel."""
        await self.bootstrap.on_kernel_started(kernel_id, env)

    def begin_restart(self, kernel_id: str) -> None:
        """A restart begins: end the lineage and hold shell messages until the recorder is back."""
        self.bootstrap.begin_restart(kernel_id)

    async def finish_restart(self, kernel_id: str) -> None:
        """The restarted kernel is up: load the recorder (once, whoever asks first)."""
        await self.bootstrap.finish_restart(kernel_id)

    # -- relay observations and the journal (:mod:`.journaling`) -------------------------

    def on_execute_request(self, kernel_id: str, msg_id: str, code: str, cell_id: Any) -> None:
        """A frontend's (non-silent) execute request is being relayed to the kernel."""
        self.journaling.on_execute_request(kernel_id, msg_id, code, cell_id)

    def on_execute_reply(self, kernel_id: str, parent_id: str, content: dict[str, Any]) -> None:
        """The kernel's execute reply to a request seen by :meth:`on_execute_request`."""
        self.journaling.on_execute_reply(kernel_id, parent_id, content)

    async def settle(self) -> None:
        """Wait until every journal write asked for so far is done."""
        await self.journaling.settle()

    def rename(self, old: str, new: str) -> None:
        """Follow a rename of a notebook (or folder) in the journal and the live kernels."""
        self.journaling.rename(old, new)

    # -- status and save (:mod:`.journaling`, :mod:`.save_hook`) -------------------------

    def kernels_for(self, notebook: str) -> list[KernelState]:
        """Live kernels whose session is this notebook (absolute path)."""
        return self.registry.for_notebook(notebook)

    def live_status(self, notebook: str) -> dict[str, Any]:
        """What the status endpoint says about recording for a notebook."""
        return self.journaling.live_status(notebook)

    def pre_save_hook(self, model: dict[str, Any], path: str, **kwargs: Any) -> None:
        """Merge the live provenance into a notebook being saved; never fail the save."""
        self.save_hook.pre_save_hook(model, path, **kwargs)

    def relay_provenance(self, state: KernelState) -> dict[str, Any]:
        """Provenance built from the relayed executions only (``"recorder": "relay"``); see
        :func:`.save_hook.relay_provenance`."""
        return relay_provenance(state)

    def api_path(self, absolute: str) -> str | None:
        """The API path of a notebook under the server root."""
        return api_path_of(self.root_dir, absolute)
