"""Progress events: one schema (JSON lines, documented in docs/verify.md), one writer, one reader.

Every event is a JSON object with ``"v"`` (:data:`EVENT_SCHEMA_VERSION`), ``"event"`` (its kind),
``"t"`` (unix time) and, for notebook events, ``"notebook"`` (its display path):

* ``batch-started`` {notebooks, executor} (a verification of several notebooks: how many, where)
* ``notebook-started`` {cells, runs}
* ``cell-started`` {index, id, run}
* ``cell-finished`` {index, id, run, status, duration}
* ``notebook-finished`` {status, reproducible, reason, duration}
* ``run-stored`` {run_id, path} (versioned runs)
* ``result`` {kind, result} (the last event of a job worker: the verify report or run summary)
* ``failed`` {message, exit_code} (a job worker that could not run)

The pipeline builds events with :func:`make_event` and hands them to a listener; the command
line's progress bar, ``--events FILE`` (:class:`EventWriter`), the server's jobs
(:class:`EventReader` tails the worker's file) and runs all consume the same events.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import InputError

#: Version of the event schema.
EVENT_SCHEMA_VERSION = 1
#: Kinds of event.
EVENT_KINDS = (
    "batch-started",
    "notebook-started",
    "cell-started",
    "cell-finished",
    "notebook-finished",
    "run-stored",
    "result",
    "failed",
)

#: A listener of events.
EventCallback = Callable[[dict[str, Any]], None]


def make_event(kind: str, /, **fields: Any) -> dict[str, Any]:
    """A new event of ``kind`` with ``fields``."""
    if kind not in EVENT_KINDS:
        raise ValueError(f"unknown event kind {kind!r}")
    return {"v": EVENT_SCHEMA_VERSION, "event": kind, "t": round(time.time(), 6), **fields}


def fan_out(*listeners: EventCallback | None) -> EventCallback:
    """One listener calling every given one in turn, serialised (events may come from several
    threads)."""
    active = [listener for listener in listeners if listener is not None]
    lock = threading.Lock()

    def emit(event: dict[str, Any]) -> None:
        with lock:
            for listener in active:
                listener(event)

    return emit


class EventWriter:
    """Append events to a file as JSON lines, each flushed as it is written (a reader tails it)."""

    def __init__(self, path: Path, option: str = "--events") -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.fh = path.open("w", encoding="utf-8")
        except OSError as exc:
            raise InputError(f"{option} {path}: cannot write: {exc.strerror or exc}") from None
        self.path = path
        self._lock = threading.Lock()

    def __call__(self, event: dict[str, Any]) -> None:
        line = json.dumps(event, ensure_ascii=False, default=str) + "\n"
        with self._lock:
            if self.fh.closed:
                return
            self.fh.write(line)
            self.fh.flush()

    def close(self) -> None:
        """Close the file (later events are dropped)."""
        with self._lock:
            if not self.fh.closed:
                try:
                    self.fh.flush()
                    os.fsync(self.fh.fileno())
                except OSError:
                    pass
                self.fh.close()


class EventReader:
    """Read the complete events appended to a file since the last call (a partial last line
    waits for the next call)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0

    def read(self) -> list[dict[str, Any]]:
        """The new events (malformed lines are skipped)."""
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self.offset)
                data = fh.read()
        except FileNotFoundError:
            return []
        end = data.rfind(b"\n")
        if end < 0:
            return []
        self.offset += end + 1
        events = []
        for line in data[: end + 1].splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict):
                events.append(event)
        return events


def cell_callbacks(
    emit: EventCallback, notebook: str, run: int = 1
) -> tuple[Callable[[int, str], None], Callable[[Any], None]]:
    """The engine's ``on_cell_start``/``on_cell`` callbacks that emit ``cell-started`` and
    ``cell-finished`` events of run number ``run`` of ``notebook``."""

    def started(index: int, cell_id: str) -> None:
        emit(make_event("cell-started", notebook=notebook, index=index, id=cell_id, run=run))

    def finished(entry: Any) -> None:
        emit(
            make_event(
                "cell-finished",
                notebook=notebook,
                index=entry.index,
                id=entry.cell_id,
                status=entry.status,
                duration=round(float(entry.duration), 6),
                run=run,
            )
        )

    return started, finished
