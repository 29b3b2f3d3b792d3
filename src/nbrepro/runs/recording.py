"""The recorder in a run's kernel: which files each cell actually read and wrote.

A run loads nbrepro's recorder (:mod:`nbrepro.record`) into its kernel with a silent
*preamble* before the first cell, and asks the kernel for what it saw with a silent
``user_expressions`` request after the last cell (the engine's ``preamble`` and
``final_expressions`` hooks; neither is a cell, so neither changes execution counts, history or
outputs). The answer gives, per execution in order, the files read and written, and per file
its content hash — the run's **inputs** (files read that the run did not produce) and
**artifacts** (files it wrote).

A kernel without the recorder (another language, an interpreter without nbrepro, a recorder
that failed) gives nothing; the run then falls back to the guessed inputs of
:func:`nbrepro.runs.manifest.candidate_inputs` and says so in ``recording.mode``.
"""

from __future__ import annotations

import ast
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Code the run's kernel runs silently before its first cell: start recording (quietly; a
#: kernel without nbrepro, or one whose recorder fails, just goes on without it).
PREAMBLE = """\
def __nbrepro_start_recording():
    try:
        from nbrepro.record.extension import load_ipython_extension
        load_ipython_extension(get_ipython(), scan_environment=False)
    except Exception:
        pass
__nbrepro_start_recording()
del __nbrepro_start_recording
"""
#: The expression asked after the last cell (see :func:`nbrepro.record.api.files_json`).
FILES_EXPRESSION = "__import__('nbrepro.record.api', fromlist=['_']).files_json()"
#: The key of :data:`FILES_EXPRESSION` in the engine's ``final_expressions``.
EXPRESSION_KEY = "nbrepro_files"

#: ``recording.mode`` of a run whose kernel recorded its files.
MODE_RECORDER = "recorder"
#: ``recording.mode`` of a run whose inputs were guessed (no recorder in its kernel).
MODE_GUESSED = "guessed"


@dataclass
class RecordedFiles:
    """What the recorder in a run's kernel saw (or why there is nothing)."""

    #: Whether the kernel recorded (``False``: fall back to guessing).
    recorded: bool
    #: Why not, when it did not.
    reason: str | None = None
    #: Path (relative to the working directory, ``/``; absolute outside it) → recorder entry
    #: (``hash``, ``size``, ``kind``, ``produced``, ``mtime_ns`` past the size cap).
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Per executed cell, in order: ``source_hash``, ``inputs`` (read), ``outputs`` (written).
    executions: list[dict[str, Any]] = field(default_factory=list)


def engine_hooks() -> dict[str, Any]:
    """The engine arguments that load the recorder and read it back."""
    return {"preamble": PREAMBLE, "final_expressions": {EXPRESSION_KEY: FILES_EXPRESSION}}


def parse_files(result: Any) -> RecordedFiles:
    """Read the recorder's answer out of an :class:`~nbrepro.execute.engine.ExecutionResult`."""
    answers = getattr(result, "final_expressions", None) or {}
    answer = answers.get(EXPRESSION_KEY)
    if not isinstance(answer, dict):
        if result.kernel_died_at is not None or result.timed_out:
            return RecordedFiles(False, "the kernel did not finish the run")
        return RecordedFiles(False, "the kernel did not answer")
    if answer.get("status") != "ok":
        name = answer.get("ename") or "error"
        return RecordedFiles(False, f"the recorder is not available in the kernel ({name})")
    try:
        text = ast.literal_eval(str((answer.get("data") or {}).get("text/plain", "")))
        data = json.loads(text)
    except (ValueError, SyntaxError, TypeError):
        return RecordedFiles(False, "the recorder's answer was unreadable")
    if not isinstance(data, dict) or not data.get("recording"):
        return RecordedFiles(False, "the recorder did not start in the kernel")
    files = data.get("inputs")
    executions = data.get("executions")
    return RecordedFiles(
        True,
        None,
        {str(k): v for k, v in files.items() if isinstance(v, dict)}
        if isinstance(files, dict)
        else {},
        [e for e in executions if isinstance(e, dict)] if isinstance(executions, list) else [],
    )


def cell_files(
    recorded: RecordedFiles, cells: Sequence[Mapping[str, Any]]
) -> dict[str, dict[str, list[str]]]:
    """Per run cell id: the files it ``reads`` and ``writes``.

    The recorder names cells by their source hash (the engine sends no cell ids), so its
    executions are matched, in order, to the run's cells that executed with the same source
    hash (every cell of a run executes once, top to bottom).
    """
    out: dict[str, dict[str, list[str]]] = {}
    ran = [
        c
        for c in cells
        if c.get("status") in ("ok", "error", "timeout", "kernel-died")
        and isinstance(c.get("id"), str)
    ]
    position = 0
    for execution in recorded.executions:
        shash = execution.get("source_hash")
        for offset in range(position, len(ran)):
            if ran[offset].get("source_hash") == shash:
                cid = str(ran[offset]["id"])
                reads = [str(p) for p in execution.get("inputs") or []]
                writes = [str(p) for p in execution.get("outputs") or []]
                out[cid] = {"reads": reads, "writes": writes}
                position = offset + 1
                break
    return out


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
    except ValueError:
        return False
    return True


def split_files(
    recorded: RecordedFiles,
    per_cell: Mapping[str, Mapping[str, list[str]]],
    work_dir: Path,
    project_root: Path,
    excluded: Sequence[Path] = (),
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """The run's ``(inputs, artifacts)`` from what the recorder saw.

    Inputs: files and directories read that the run did not produce (``source: "read"``, with
    the cells that read them). Artifacts: regular files the run wrote that still exist, inside
    the project root and outside ``excluded`` (the nbrepro store itself), with the cells that
    wrote them.
    """
    readers: dict[str, list[str]] = {}
    writers: dict[str, list[str]] = {}
    for cid, entry in per_cell.items():
        for path in entry.get("reads") or []:
            readers.setdefault(path, []).append(cid)
        for path in entry.get("writes") or []:
            writers.setdefault(path, []).append(cid)
    inputs: dict[str, dict[str, Any]] = {}
    artifacts: dict[str, dict[str, Any]] = {}
    root = Path(os.path.abspath(project_root))
    for path, entry in sorted(recorded.files.items()):
        full = Path(os.path.abspath(work_dir / path))
        if any(_inside(full, Path(os.path.abspath(e))) for e in excluded):
            continue
        if entry.get("produced"):
            if entry.get("kind") == "directory" or not full.is_file() or not _inside(full, root):
                continue
            artifacts[path] = {"cells": writers.get(path, [])}
            continue
        info: dict[str, Any] = {
            "hash": entry.get("hash"),
            "size": entry.get("size"),
            "kind": entry.get("kind", "file"),
            "source": "read",
            "cells": readers.get(path, []),
        }
        if entry.get("kind") == "large" and "mtime_ns" in entry:
            info["mtime_ns"] = entry["mtime_ns"]
        if entry.get("recursive"):
            info["recursive"] = True  # a folder read as a whole tree (its manifest is recursive)
        inputs[path] = info
    return inputs, artifacts
