"""Reading the provenance that the recorder stores under a notebook's ``metadata.nbrepro``.

The schema is documented in ``docs/provenance.md`` and shipped as
``nbrepro/schemas/provenance.schema.json``. Readers tolerate a notebook without provenance and
keys they do not know.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from .hashing import source_hash

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


#: How a derived cell id starts (``src-<hex>``: recorded from a frontend that sent no cell id).
DERIVED_ID_PREFIX = "src-"


def schema_path() -> Path:
    """The JSON Schema of ``metadata.nbrepro`` shipped in the package."""
    return Path(__file__).parent / "schemas" / "provenance.schema.json"


def load_schema() -> dict[str, Any]:
    """The JSON Schema of ``metadata.nbrepro`` as a dict."""
    return json.loads(schema_path().read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def validation_errors(prov: dict[str, Any]) -> list[str]:
    """Messages for every way ``prov`` breaks the provenance schema (empty when valid).

    Needs ``jsonschema`` (installed with Jupyter); imported only when called.
    """
    import jsonschema

    validator = jsonschema.Draft202012Validator(load_schema())
    return [
        f"{'/'.join(str(p) for p in err.absolute_path) or '<root>'}: {err.message}"
        for err in sorted(validator.iter_errors(prov), key=lambda e: list(e.absolute_path))
    ]


def _notebook_cells(nb: dict[str, Any]) -> list[tuple[str | None, str]]:
    out = []
    for cell in nb.get("cells", []):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        cid = cell.get("id")
        out.append((cid if isinstance(cid, str) else None, source_hash(cell.get("source", ""))))
    return out


def _rekey_cells(
    cells: dict[str, dict[str, Any]], nb_cells: list[tuple[str | None, str]]
) -> dict[str, dict[str, Any]]:
    """Keep entries of cells that exist; move derived-id entries onto the cell with that source."""
    existing = {cid for cid, _ in nb_cells if cid}
    by_source: dict[str, str] = {}
    for cid, shash in nb_cells:
        if cid:
            by_source.setdefault(shash, cid)
    out: dict[str, dict[str, Any]] = {}
    for cid, entry in cells.items():
        if cid in existing:
            out[cid] = entry
    for cid, entry in cells.items():
        if cid in existing or not cid.startswith(DERIVED_ID_PREFIX) or not isinstance(entry, dict):
            continue
        target = by_source.get(str(entry.get("source_hash")))
        if target and target not in out:
            out[target] = entry
    return out


def merge_into_notebook(nb: dict[str, Any], prov: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``nb`` with ``prov`` merged into ``metadata.nbrepro``; ``nb`` is not modified.

    Only ``metadata.nbrepro`` changes. Cell entries are pruned to code cells that still exist
    (entries recorded under a derived ``src-…`` id, from frontends that send no cell ids, move
    onto the notebook cell with the same source). When the notebook already carries provenance
    of an earlier kernel session, the entries of cells not re-run in this session are kept,
    marked with that session's id in ``session``, together with their inputs: those outputs
    still come from it; the environment is the new session's. Provenance of a session that
    executed nothing leaves the notebook's provenance as it was. The result is deterministic:
    merging the same provenance again yields byte-identical output with
    :func:`nbrepro.notebook_io.dumps_notebook`.
    """
    new_nb = copy.deepcopy(nb)
    metadata = new_nb.setdefault("metadata", {})
    new = copy.deepcopy(prov)
    old = get_provenance(nb) or {}
    if old and not new.get("cells") and not new.get("executions"):
        return new_nb  # a session that ran nothing: the outputs all come from the recorded one
    nb_cells = _notebook_cells(new_nb)
    cells = _rekey_cells(new.get("cells") or {}, nb_cells)
    inputs = dict(new.get("inputs") or {})

    old_cells = _rekey_cells(old.get("cells") or {}, nb_cells)
    old_session = (old.get("session") or {}).get("id")
    new_session = (new.get("session") or {}).get("id")
    old_inputs = old.get("inputs") or {}
    for cid, entry in old_cells.items():
        if cid in cells or not isinstance(entry, dict):
            continue
        if entry.get("session") is None and old_session == new_session:
            continue  # this session's own entry, gone from the live record: nothing to keep
        kept = dict(entry)
        kept.setdefault("session", old_session)
        cells[cid] = kept
        for path in list(kept.get("inputs") or []) + list(kept.get("outputs") or []):
            if path not in inputs and path in old_inputs:
                inputs[path] = old_inputs[path]

    new["cells"] = {cid: cells[cid] for cid in sorted(cells)}
    new["inputs"] = {path: inputs[path] for path in sorted(inputs)}
    existing = {cid for cid, _ in nb_cells if cid}
    deleted = set(new.get("deleted_cells") or []) | set(old.get("deleted_cells") or [])
    new["deleted_cells"] = sorted(cid for cid in deleted if cid not in existing)
    env = new.get("environment")
    if isinstance(env, dict) and isinstance(env.get("kernel"), dict):
        kernel = env["kernel"]
        if not kernel.get("name"):
            spec = metadata.get("kernelspec") or {}
            if isinstance(spec, dict) and spec.get("name"):
                kernel["name"] = spec["name"]
    metadata[METADATA_KEY] = new
    return new_nb
