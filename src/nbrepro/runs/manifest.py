"""The ``run.json`` manifest: identifiers, content hashes and the pieces a run records.

Documented in ``docs/runs.md``; JSON Schema shipped as ``nbrepro/schemas/run-manifest.schema.json``.

* **Run id** — sortable and unique: UTC time to the millisecond plus 24 random bits,
  ``20250131-142501-123-9f3a1c``. Every execution gets its own.
* **Configuration id** — 16 hex digits of a SHA-256 over the notebook's content with outputs
  stripped, the parameters, the environment digest and the input files' hashes. Identical
  notebook + parameters + environment + inputs share it.
"""

from __future__ import annotations

import ast
import json
import os
import re
import secrets
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..hashing import bytes_hash
from ..notebook_io import cell_source, kernel_name

#: Version of the ``run.json`` layout this nbrepro writes.
MANIFEST_SCHEMA_VERSION = 2
#: Run ids look like this (and sort by creation time).
RUN_ID_PATTERN = re.compile(r"^\d{8}-\d{6}-\d{3}-[0-9a-f]{6}$")


def new_run_id(now: datetime | None = None) -> str:
    """A new run id: ``YYYYMMDD-HHMMSS-mmm-rrrrrr`` (UTC, milliseconds, random hex)."""
    t = now or datetime.now(timezone.utc)
    return f"{t:%Y%m%d-%H%M%S}-{t.microsecond // 1000:03d}-{secrets.token_hex(3)}"


def utc_iso(t: datetime) -> str:
    """ISO-8601 UTC timestamp with milliseconds and a ``Z``."""
    return (
        t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"
    )


def canonical_json(value: Any) -> bytes:
    """Compact, key-sorted JSON bytes: the form every hash here is taken over."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def notebook_content_hash(nb: Mapping[str, Any]) -> str:
    """Hash of what a notebook computes: kernel, cell types, sources and tags — not outputs,
    execution counts, ids or other metadata."""
    cells = [
        {
            "type": cell.get("cell_type"),
            "source": cell_source(cell).replace("\r\n", "\n"),
            "tags": sorted((cell.get("metadata") or {}).get("tags") or []),
        }
        for cell in nb.get("cells", [])
    ]
    return bytes_hash(canonical_json({"kernel": kernel_name(dict(nb)), "cells": cells}))


def environment_digest(environment: Mapping[str, Any]) -> str:
    """Hash of an environment snapshot (canonical JSON)."""
    return bytes_hash(canonical_json(environment))


def configuration_id(
    content_hash: str,
    parameters: Mapping[str, Any],
    env_digest: str,
    inputs: Mapping[str, Mapping[str, Any]],
) -> str:
    """The configuration id of a run (16 hex digits)."""
    payload = {
        "notebook": content_hash,
        "parameters": parameters,
        "environment": env_digest,
        "inputs": {path: info.get("hash") for path, info in inputs.items()},
    }
    return bytes_hash(canonical_json(payload)).split(":", 1)[1][:16]


def outputs_hash(outputs: list[dict[str, Any]]) -> str:
    """Hash of a cell's outputs after nbrepro's normalisation (addresses, counts, ANSI, ...), so
    that equal hashes mean outputs that ``verify`` would call equal without tolerances."""
    from ..compare import CompareOptions, normalize_outputs

    return bytes_hash(canonical_json(normalize_outputs(outputs, CompareOptions())))


def _code_without_magics(source: str) -> str:
    lines = []
    for line in source.splitlines():
        stripped = line.lstrip()
        lines.append("" if stripped.startswith(("%", "!")) else line)
    return "\n".join(lines)


def _parsed_cells(nb: Mapping[str, Any]) -> Iterable[ast.Module]:
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        try:
            yield ast.parse(_code_without_magics(cell_source(cell)))
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue


def imported_modules(nb: Mapping[str, Any]) -> list[str]:
    """Top-level module names a notebook's code imports (read statically from its cells)."""
    names: set[str] = set()
    for tree in _parsed_cells(nb):
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
    return sorted(names)


def _existing_file(base: Path, text: str) -> str | None:
    if not text or len(text) > 1024 or "\n" in text or "\x00" in text:
        return None
    p = Path(text)
    full = p if p.is_absolute() else base / p
    try:
        if not full.is_file():
            return None
    except OSError:
        return None
    return relative_input_path(full, base)


def relative_input_path(path: Path, base: Path) -> str:
    """An input path as provenance writes it: relative to ``base`` with ``/``, absolute outside."""
    full = Path(os.path.abspath(path))
    try:
        return full.relative_to(Path(os.path.abspath(base))).as_posix()
    except ValueError:
        return full.as_posix()


def candidate_inputs(
    nb: Mapping[str, Any],
    base: Path,
    parameters: Mapping[str, Any],
    declared: Iterable[str | os.PathLike[str]] = (),
) -> dict[str, str]:
    """Files a run reads, by path (relative to ``base``) → how nbrepro knows.

    * ``declared`` — given with ``--input``;
    * ``recorded`` — inputs the recorder saw (``metadata.nbrepro.inputs``, files not produced by
      the notebook itself);
    * ``parameter`` — a string parameter naming an existing file;
    * ``literal`` — a string literal in the code naming an existing file.
    """
    found: dict[str, str] = {}
    for item in declared:
        p = Path(item)
        full = p if p.is_absolute() else Path.cwd() / p
        found.setdefault(relative_input_path(full, base), "declared")
    prov = (nb.get("metadata") or {}).get("nbrepro") or {}
    recorded = prov.get("inputs") if isinstance(prov, dict) else None
    if isinstance(recorded, dict):
        for path, info in recorded.items():
            if isinstance(info, dict) and info.get("produced"):
                continue
            rel = _existing_file(base, str(path))
            if rel is not None:
                found.setdefault(rel, "recorded")
    for value in parameters.values():
        if isinstance(value, str):
            rel = _existing_file(base, value)
            if rel is not None:
                found.setdefault(rel, "parameter")
    for tree in _parsed_cells(nb):
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                rel = _existing_file(base, node.value)
                if rel is not None:
                    found.setdefault(rel, "literal")
    return dict(sorted(found.items()))


def _input_path(base: Path, text: str) -> str | None:
    if not text or len(text) > 1024 or "\n" in text or "\x00" in text:
        return None
    p = Path(text)
    return relative_input_path(p if p.is_absolute() else base / p, base)


def _string_assignments(tree: ast.Module) -> dict[str, str]:
    """``name = "text"`` statements at the top level of a cell."""
    out = {}
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    out[target.id] = node.value.value
    return out


def input_readers(
    nb: Mapping[str, Any], base: Path, parameters: Mapping[str, Any]
) -> dict[str, list[str]]:
    """The ids of the code cells that read each input, by path (relative to ``base``).

    As far as nbrepro can tell: the cells the recorder saw open it (``metadata.nbrepro.cells``),
    the cells whose code names it in a string literal, and the cells that use a parameter
    (given, or assigned in the ``parameters``/``injected-parameters`` cell) whose value names
    it. A parameters cell names files for the cells that use its names; it reads none itself.
    Cells without an id are named ``index-N`` (as verify's reports name them).
    """
    from ..analysis.dataflow import facts_for_source
    from ..execute.parameters import INJECTED_TAG, PARAMETERS_TAG

    prov = (nb.get("metadata") or {}).get("nbrepro")
    recorded = prov.get("cells") if isinstance(prov, dict) else None
    recorded = recorded if isinstance(recorded, dict) else {}
    code = []
    for index, cell in enumerate(nb.get("cells", [])):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        cid = cell.get("id")
        source = cell_source(cell)
        try:
            tree: ast.Module | None = ast.parse(_code_without_magics(source))
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            tree = None
        tags = (cell.get("metadata") or {}).get("tags") or []
        code.append((cid if isinstance(cid, str) and cid else f"index-{index}", source, tree, tags))

    named: dict[str, str] = {}
    for _cid, _source, tree, tags in code:
        if tree is not None and (PARAMETERS_TAG in tags or INJECTED_TAG in tags):
            named.update(_string_assignments(tree))
    named.update({k: v for k, v in parameters.items() if isinstance(v, str)})

    readers: dict[str, list[str]] = {}

    def add(path: str | None, cid: str) -> None:
        if path is not None and cid not in readers.setdefault(path, []):
            readers[path].append(cid)

    for cid, source, tree, tags in code:
        if PARAMETERS_TAG in tags or INJECTED_TAG in tags:
            continue
        entry = recorded.get(cid)
        for path in (entry.get("inputs") if isinstance(entry, dict) else None) or []:
            add(_input_path(base, str(path)), cid)
        if tree is not None:
            for node in ast.walk(tree):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    add(_input_path(base, node.value), cid)
        facts = facts_for_source(source)
        for use in [*facts.uses, *facts.deferred_uses]:
            if use.name in named:
                add(_input_path(base, named[use.name]), cid)
    return readers
