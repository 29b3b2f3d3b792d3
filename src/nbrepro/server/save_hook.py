"""The save hook: the live provenance merged into a notebook when it is saved.

:class:`SaveHook` is registered as a pre-save hook of the contents manager. The provenance of a
kernel with the recorder is read from the kernel (a silent request, cached until the next
execution); a kernel without it gets :func:`relay_provenance`, built by the core's one builder
(:mod:`nbrepro.record.provenance_record`) from the executions the relay journaled. Saving never
fails because of nbrepro.
"""

from __future__ import annotations

import os
from typing import Any

from ..provenance import METADATA_KEY
from ..record.provenance_record import (
    RELAY,
    ExecutionRecord,
    Session,
    derived_cell_id,
    kernel_environment,
    provenance_record,
)
from . import kernelclient
from .config import NOTEBOOK_SETTINGS_KEY, NbreproConfig
from .kernel_state import KernelRegistry, KernelState
from .notebook_settings import NotebookSettingsCache, notebook_allows_recording


def relay_provenance(state: KernelState) -> dict[str, Any]:
    """Provenance built from the relayed executions only (``"recorder": "relay"``: the
    kernel's name and language, no environment snapshot, no data hashes). Executions that
    never ran (``aborted``) are left out; an execution without a cell id gets the derived
    id the in-kernel recorder would give it."""
    executions = [
        ExecutionRecord(
            cell_id=ex["cell_id"] or derived_cell_id(ex["source_hash"]),
            cell_id_source="frontend" if ex["cell_id"] else "derived",
            execution_count=ex["execution_count"],
            source_hash=ex["source_hash"],
            started=ex["started"],
            ended=ex["finished"],
            status=ex["status"],
            error=ex["error"],
        )
        for ex in state.executions
        if ex["status"] in ("ok", "error")
    ]
    return provenance_record(
        recorder=RELAY,
        session=Session(state.lineage.id if state.lineage else state.kernel_id, state.started),
        environment=kernel_environment(state.kernel_name, state.language),
        inputs={},
        executions=executions,
    )


class SaveHook:
    """Merges the live provenance into the notebooks of one server as they are saved."""

    def __init__(
        self,
        config: NbreproConfig,
        registry: KernelRegistry,
        settings: NotebookSettingsCache,
        *,
        root_dir: str,
        log: Any,
    ) -> None:
        self.config = config
        self.registry = registry
        self.settings = settings
        self.root_dir = root_dir
        self.log = log

    def pre_save_hook(self, model: dict[str, Any], path: str, **_: Any) -> None:
        """Merge the live provenance into a notebook being saved; never fail the save."""
        try:
            self.merge_on_save(model, path)
        except Exception as exc:
            self.log.warning("nbrepro: provenance not merged into %s: %s", path, exc)

    def merge_on_save(self, model: dict[str, Any], path: str) -> None:
        """Merge into ``model`` (a contents model being saved to API path ``path``)."""
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
        on_disk = self.settings.provenance(notebook)
        if on_disk is not None:
            metadata = dict(nb.get("metadata") or {})
            metadata[METADATA_KEY] = on_disk
            nb = {**nb, "metadata": metadata}
            model["content"] = nb
        states = [s for s in self.registry.for_notebook(notebook) if s.execution_total > 0]
        if not states:
            return  # no recording session: the notebook keeps what it had
        prov = self.provenance(states[-1])
        if prov is None:
            return
        from ..provenance import merge_into_notebook

        model["content"] = merge_into_notebook(dict(nb), prov)

    def provenance(self, state: KernelState) -> dict[str, Any] | None:
        """The kernel's live provenance: the recorder's (read from the kernel when it ran
        something since the last read, and no request is pending), else the relay's."""
        if not state.recorder_loaded:
            return relay_provenance(state)
        if state.provenance is not None and state.provenance_at == state.execution_total:
            return state.provenance
        if not state.pending and not state.gated:
            try:
                info = self.registry.connection_info(state.kernel_id)
                state.provenance = kernelclient.read_provenance(
                    info, timeout=self.config.provenance_timeout
                )
                state.provenance_at = state.execution_total
            except Exception as exc:
                self.log.warning("nbrepro: no provenance from kernel %s: %s", state.kernel_id, exc)
        return state.provenance
