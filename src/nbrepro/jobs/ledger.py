"""The jobs ledger: a small JSON-lines file that outlives the server, naming the jobs that a
server killed mid-job (``kill -9``, a crash, a power cut) left unfinished.

Each job appends one line when it is queued, one when its worker starts and one when it ends
(``{"v": 1, "event": "queued" | "started" | "final", "id": ...}``), each a single ``write`` to a
file opened with ``O_APPEND`` under an advisory lock, so lines never interleave. The queued line
names the server process that owns the job (pid and start time, so that a reused pid is not
taken for it). When a job manager starts, :meth:`JobLedger.recover` finds the jobs whose owner
is gone without a final line: they are answered as ``interrupted``
(:data:`nbrepro.verify.verdict.JOB_INTERRUPTED`) with a one-line message, and the file is
compacted (atomically replaced) to the jobs still running elsewhere and the last interrupted
ones. Several servers may share one ledger (it lives beside the journal).

Writing the ledger never fails a job: a full disk or an unwritable folder is logged once.
Standard library only.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows: appends stay atomic, compaction unlocked
    fcntl = None  # type: ignore[assignment]

#: The ledger's file name, beside the journal.
LEDGER_FILENAME = "jobs.jsonl"
#: Version of the ledger's lines.
LEDGER_VERSION = 1
#: Interrupted jobs remembered at most, and for at most this many seconds.
KEEP_INTERRUPTED = 100
KEEP_SECONDS = 7 * 24 * 3600.0
#: The file is compacted when it grows beyond this many bytes.
MAX_BYTES = 1 << 20
#: Prefix of a job manager's working folder (removed when its owner is gone).
WORKDIR_PREFIX = "nbrepro-jobs-"


def process_identity(pid: int | None = None) -> dict[str, Any]:
    """``{"pid", "start"}`` of a process (``start``: its start time in clock ticks since boot
    on Linux, ``None`` elsewhere)."""
    pid = os.getpid() if pid is None else pid
    return {"pid": pid, "start": _start_time(pid)}


def _start_time(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def owner_alive(owner: Any) -> bool:
    """Whether the process a ledger line names still runs (a zombie does not)."""
    if not isinstance(owner, dict) or not isinstance(owner.get("pid"), int):
        return False
    pid = owner["pid"]
    if pid == os.getpid():
        return owner.get("start") == _start_time(pid)
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except OSError:
            return True
        return True
    fields = stat[stat.rfind(")") + 2 :].split()
    if fields[:1] == ["Z"]:
        return False
    start = owner.get("start")
    return start is None or (len(fields) > 19 and fields[19] == str(start))


class JobLedger:
    """The jobs ledger at ``path`` (``log``: where a failure to write it is told, once)."""

    def __init__(self, path: str | os.PathLike[str], *, log: Any = None) -> None:
        self.path = Path(path)
        self.log = log if log is not None else logging.getLogger("nbrepro.jobs")
        self.owner = process_identity()
        self._failed = False
        self._final: set[str] = set()

    # -- writing ---------------------------------------------------------------------------

    def queued(self, job: Any, workdir: Path | None = None) -> None:
        """A job was queued (``job``: a :class:`~nbrepro.jobs.job.Job`)."""
        self._append(
            {
                "event": "queued",
                "id": job.id,
                "kind": job.kind,
                "path": str(job.notebook),
                "name": job.name,
                "code_cells": job.code_cells,
                "created": job.created,
                "owner": self.owner,
                "workdir": str(workdir) if workdir is not None else None,
            }
        )

    def started(self, job: Any) -> None:
        """A job's worker started."""
        self._append({"event": "started", "id": job.id, "t": time.time()})

    def finished(self, job: Any) -> None:
        """A job reached its final state (once per job; later calls are ignored)."""
        if job.id in self._final:
            return
        self._final.add(job.id)
        self._append({"event": "final", "id": job.id, "state": job.state, "t": time.time()})
        if len(self._final) > 10 * KEEP_INTERRUPTED:
            self._final.clear()

    def _append(self, record: dict[str, Any]) -> None:
        line = json.dumps({"v": LEDGER_VERSION, **record}, ensure_ascii=True) + "\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._locked():
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    os.write(fd, line.encode("ascii"))
                    size = os.fstat(fd).st_size
                finally:
                    os.close(fd)
                if size > MAX_BYTES:
                    self._compact(self._read(), time.time())
        except OSError as exc:
            if not self._failed:
                self._failed = True
                self.log.warning(
                    "nbrepro: the jobs ledger %s cannot be written (%s): a server stopped "
                    "mid-job will not report its jobs as interrupted",
                    self.path, exc.strerror or exc,
                )  # fmt: skip

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        if fcntl is None:  # pragma: no cover
            yield
            return
        fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    # -- recovering ------------------------------------------------------------------------

    def _read(self) -> list[dict[str, Any]]:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return []
        records = []
        for raw in data.splitlines():
            try:
                record = json.loads(raw)
            except ValueError:
                continue  # a line cut by a crash
            if isinstance(record, dict) and isinstance(record.get("id"), str):
                records.append(record)
        return records

    def recover(self) -> list[dict[str, Any]]:
        """The interrupted jobs, oldest first (``{"id", "kind", "path", "name", "code_cells",
        "created", "started", "interrupted", "message"}``); compacts the file."""
        try:
            if not self.path.exists():
                return []
            with self._locked():
                interrupted = self._compact(self._read(), time.time())
        except OSError as exc:
            self.log.warning(
                "nbrepro: the jobs ledger %s cannot be read (%s)", self.path, exc.strerror or exc
            )
            return []
        return interrupted

    def _compact(self, records: list[dict[str, Any]], now: float) -> list[dict[str, Any]]:
        """Rewrite the file with the live owners' open jobs and the interrupted ones; return
        the interrupted ones (hold the lock)."""
        jobs: dict[str, dict[str, Any]] = {}
        for record in records:
            event = record.get("event")
            entry = jobs.setdefault(record["id"], {"id": record["id"]})
            if event in ("queued", "interrupted"):
                entry.update(record)
            elif event == "started":
                entry["started"] = record.get("t")
            elif event == "final":
                entry["final"] = True
        keep: list[dict[str, Any]] = []
        interrupted: list[dict[str, Any]] = []
        dead_workdirs: set[str] = set()
        for entry in jobs.values():
            if entry.get("final") or entry.get("event") not in ("queued", "interrupted"):
                continue
            if entry["event"] == "queued":
                if owner_alive(entry.get("owner")):
                    keep.append(_line(entry, "queued"))
                    if entry.get("started") is not None:
                        keep.append({"v": LEDGER_VERSION, "event": "started",
                                     "id": entry["id"], "t": entry["started"]})  # fmt: skip
                    continue
                if entry.get("workdir"):
                    dead_workdirs.add(str(entry["workdir"]))
                entry = _interrupted(entry, now)
            if now - float(entry.get("interrupted") or now) <= KEEP_SECONDS:
                interrupted.append(entry)
        interrupted.sort(key=lambda e: float(e.get("created") or 0))
        interrupted = interrupted[-KEEP_INTERRUPTED:]
        lines = [*interrupted, *keep]
        self._replace(lines)
        for workdir in dead_workdirs:
            folder = Path(workdir)
            if folder.name.startswith(WORKDIR_PREFIX) and folder.is_dir():
                shutil.rmtree(folder, ignore_errors=True)
        return [{k: v for k, v in e.items() if k not in ("v", "event")} for e in interrupted]

    def _replace(self, lines: list[dict[str, Any]]) -> None:
        text = "".join(json.dumps(line, ensure_ascii=True) + "\n" for line in lines)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                fh.write(text)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def _line(entry: dict[str, Any], event: str) -> dict[str, Any]:
    keys = ("id", "kind", "path", "name", "code_cells", "created", "owner", "workdir")
    return {"v": LEDGER_VERSION, "event": event, **{k: entry.get(k) for k in keys}}


def _interrupted(entry: dict[str, Any], now: float) -> dict[str, Any]:
    started = entry.get("started")
    when = "while it was running" if started is not None else "before it started"
    return {
        **_line(entry, "interrupted"),
        "owner": None,
        "workdir": None,
        "started": started,
        "interrupted": now,
        "message": f"interrupted: the server stopped {when}; start the job again",
    }
