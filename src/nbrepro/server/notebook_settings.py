"""Per-notebook settings and provenance as the notebook file on disk carries them.

``metadata.nbrepro_settings`` (``{"record": false}`` switches recording off for one notebook)
decides whether the recorder is loaded, the journal written and the provenance merged on save;
the file's ``metadata.nbrepro`` is what the save hook merges into. Both are read once per
version of the file (cached by mtime and size).
"""

from __future__ import annotations

import os
from typing import Any

from ..notebook_io import read_notebook
from ..provenance import METADATA_KEY
from .config import NOTEBOOK_SETTINGS_KEY


def notebook_allows_recording(settings: Any) -> bool:
    """Whether per-notebook settings (``metadata.nbrepro_settings``) leave recording on."""
    return not (isinstance(settings, dict) and settings.get("record") is False)


class NotebookSettingsCache:
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

    def allows_recording(self, path: str) -> bool:
        """Whether the notebook file leaves recording on."""
        return notebook_allows_recording(self.get(path))
