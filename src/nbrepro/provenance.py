"""Reading the provenance that the recorder stores under a notebook's ``metadata.nbrepro``.

The schema is documented in ``docs/provenance.md`` and shipped as
``nbrepro/schemas/provenance.schema.json``. Readers tolerate a notebook without provenance and
keys they do not know.
"""

from __future__ import annotations

from typing import Any

#: The metadata key under which provenance travels with the notebook.
METADATA_KEY = "nbrepro"
#: The schema version this nbrepro writes.
SCHEMA_VERSION = 1


def get_provenance(nb: dict[str, Any]) -> dict[str, Any] | None:
    """The notebook's recorded provenance, or ``None`` when it carries none."""
    prov = nb.get("metadata", {}).get(METADATA_KEY)
    return prov if isinstance(prov, dict) and prov else None


def recorded_cells(nb: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per cell id, the last recorded execution (empty when there is no provenance)."""
    prov = get_provenance(nb) or {}
    cells = prov.get("cells")
    return cells if isinstance(cells, dict) else {}
