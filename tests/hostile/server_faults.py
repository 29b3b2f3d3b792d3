"""Faults for the hostile server tests: a journal locked by another process, corrupt, unwritable,
on a full disk (a small tmpfs mounted by the test), and a ``jupyter server`` subprocess to kill.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import secrets
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

_HOLDER = r"""
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
if sys.argv[2] == "rollback":
    db.execute("PRAGMA journal_mode=DELETE")
    db.execute("CREATE TABLE IF NOT EXISTS other (x)")
db.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.read()
"""


@contextlib.contextmanager
def hold_lock(db: Path, mode: str = "wal") -> Iterator[subprocess.Popen[str]]:
    """Another process holding an EXCLUSIVE transaction on ``db`` until the block ends."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(db), mode],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
        yield proc
    finally:
        proc.kill()
        proc.wait(10)


def good_journal(db: Path) -> None:
    """A journal with one notebook, one lineage and two executions."""
    from nbrepro.journal import JournalStore

    with JournalStore(db) as store:
        lineage = store.start_lineage(db.parent / "x.ipynb")
        for n in (1, 2):
            store.record_execution(
                lineage.id, cell_id=f"c{n}", execution_count=n, source_hash="h", status="ok"
            )


@contextlib.contextmanager
def small_tmpfs(folder: Path, size: str = "512k", readonly: bool = False) -> Iterator[Path]:
    """A tmpfs of ``size`` mounted on ``folder`` (the test is skipped when mounting fails)."""
    folder.mkdir(parents=True, exist_ok=True)
    opts = f"size={size}"
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(folder)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip() or done.returncode})")
    try:
        yield folder
    finally:
        for _ in range(20):
            if subprocess.run(["umount", str(folder)], capture_output=True).returncode == 0:
                break
            time.sleep(0.25)
        else:
            subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def remount_readonly(folder: Path) -> None:
    """Make a mounted tmpfs read-only."""
    subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True, capture_output=True)


def fill(folder: Path) -> Path:
    """Fill the file system of ``folder`` (a small tmpfs) to the last byte."""
    filler = folder / "filler.bin"
    for name, chunk in (("filler.bin", 4096), ("filler2.bin", 1)):
        with contextlib.suppress(OSError), open(folder / name, "wb", buffering=0) as fh:
            while True:
                fh.write(b"\0" * chunk)
    return filler


#: name -> (what the server log must say, whether a corrupt file is moved aside)
FAULTS: dict[str, tuple[str | None, bool]] = {
    "locked-exclusive": (None, False),
    "locked-rollback-mode": (None, False),
    "corrupt-header": ("is corrupt", True),
    "truncated": ("is corrupt", True),
    "text-file": ("is corrupt", True),
    "zeros": ("is corrupt", True),
    "empty-file": (None, False),
    "newer-version": ("newer nbrepro", False),
    "parent-is-a-file": ("cannot open the journal", False),
    "read-only-file-system": ("journal", False),
    "full-disk": (None, False),
}


def prepare_fault(name: str, db: Path, stack: contextlib.ExitStack) -> None:
    """Put the journal ``db`` (not opened yet) in the fault ``name``; ``stack`` undoes it."""
    db.parent.mkdir(parents=True, exist_ok=True)
    if name == "locked-exclusive":
        good_journal(db)
        stack.enter_context(hold_lock(db))
    elif name == "locked-rollback-mode":
        stack.enter_context(hold_lock(db, "rollback"))
    elif name in ("corrupt-header", "truncated", "text-file", "zeros"):
        good_journal(db)
        data = db.read_bytes()
        content = {
            "corrupt-header": b"this is no header" + data[17:],
            "truncated": data[: len(data) // 2],
            "text-file": b"journal? no, just some text\n" * 40,
            "zeros": b"\0" * 8192,
        }[name]
        db.write_bytes(content)
    elif name == "empty-file":
        db.write_bytes(b"")
    elif name == "newer-version":
        good_journal(db)
        con = sqlite3.connect(db)
        con.execute("UPDATE meta SET value='99' WHERE key='version'")
        con.commit()
        con.close()
    elif name == "parent-is-a-file":
        db.parent.rmdir()
        db.parent.write_text("a file where the journal's folder should be\n")
    elif name == "read-only-file-system":
        stack.enter_context(small_tmpfs(db.parent))
        good_journal(db)
        remount_readonly(db.parent)
    elif name == "full-disk":
        stack.enter_context(small_tmpfs(db.parent, "256k"))
        fill(db.parent)
    else:  # pragma: no cover
        raise ValueError(name)


# -- a jupyter server subprocess ---------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """A ``jupyter server`` subprocess with nbrepro, its log in a file."""

    def __init__(self, root: Path, journal: Path, log: Path, **nbrepro: Any) -> None:
        self.root, self.journal, self.log_path = root, journal, log
        self.port = free_port()
        self.token = secrets.token_hex(16)
        cmd = [
            sys.executable, "-m", "jupyter_server", "--no-browser", f"--port={self.port}",
            "--ip=127.0.0.1", "--allow-root", f"--ServerApp.root_dir={root}",
            f"--IdentityProvider.token={self.token}",
            "--ServerApp.jpserver_extensions={'nbrepro': True}",
            f"--NbreproConfig.journal_path={journal}",
            *(f"--NbreproConfig.{k}={v}" for k, v in nbrepro.items()),
        ]  # fmt: skip
        env = {**os.environ, "JUPYTER_PLATFORM_DIRS": "1"}
        self._log = open(log, "ab")  # noqa: SIM115  (closed in stop())
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=self._log, env=env)
        deadline = time.monotonic() + 60
        while True:
            try:
                self.request("GET", "/api/status")
                break
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError(f"jupyter server did not start: {self.log()}") from None
                time.sleep(0.2)

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """``(status, JSON answer)`` of one request."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            data = json.dumps(body).encode() if body is not None else None
            conn.request(method, path, body=data, headers={"Authorization": f"token {self.token}"})
            resp = conn.getresponse()
            raw = resp.read()
        finally:
            conn.close()
        return resp.status, json.loads(raw) if raw else None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill9(self) -> None:
        self.proc.kill()
        self.proc.wait(10)
        self._log.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._log.close()


def processes_mentioning(text: str) -> list[int]:
    """Pids of live processes whose command line contains ``text``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if text in cmdline and stat[stat.rfind(")") + 2 :][:1] != "Z":
            found.append(int(entry.name))
    return found
