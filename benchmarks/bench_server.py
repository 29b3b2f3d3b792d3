"""Benchmark the server extension against a real ``jupyter server``.

1. ``GET /nbrepro/api/status`` for a 500-cell notebook (with provenance, inputs and a journal):
   p50 and p90, beside ``GET /api/contents/<nb>?content=0`` on the same server (ratio).
   Target: p50 <= 20 ms.
2. The time recording adds to an execution round trip through the server's kernel websocket:
   the median round trip (execute request -> reply and idle) with recording on, beside a second
   server with ``NbreproConfig.record = False``. Target: <= 5 ms added.
3. Under load, with the journal locked by another process (an EXCLUSIVE transaction held
   throughout): bursts of 50 concurrent ``GET /nbrepro/api/status`` for the 500-cell notebook
   while execute round trips run on a kernel of the same server; p99 of both, beside the same
   load with the journal free (the peer). Target: both p99 <= 50 ms while locked.

Run: ``python benchmarks/bench_server.py [--quick] [--load-only]``.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

STATUS_TARGET_MS = 20.0
OVERHEAD_TARGET_MS = 5.0
LOCKED_P99_TARGET_MS = 50.0
CONCURRENT = 50
V1 = "v1.kernel.websocket.jupyter.org"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A ``jupyter server`` subprocess with nbrepro enabled."""

    def __init__(self, root: Path, journal: Path, record: bool) -> None:
        self.root = root
        self.journal = journal
        self.port = _free_port()
        self.token = secrets.token_hex(16)
        self._headers = {"Authorization": f"token {self.token}"}
        self._conn: http.client.HTTPConnection | None = None
        cmd = [
            sys.executable, "-m", "jupyter_server", "--no-browser", f"--port={self.port}",
            "--ip=127.0.0.1", "--allow-root", f"--ServerApp.root_dir={root}",
            f"--IdentityProvider.token={self.token}",
            "--ServerApp.jpserver_extensions={'nbrepro': True}",
            f"--NbreproConfig.journal_path={journal}", f"--NbreproConfig.record={record}",
        ]  # fmt: skip
        env = {**os.environ, "JUPYTER_PLATFORM_DIRS": "1"}
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                self.get("/api/status")
                break
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("jupyter server did not start") from None
                time.sleep(0.2)

    def request(self, method: str, path: str, body: Any = None) -> Any:
        """One request on a kept-alive connection (as a browser does)."""
        if self._conn is None:
            self._conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        data = json.dumps(body).encode() if body is not None else None
        try:
            self._conn.request(method, path, body=data, headers=self._headers)
            resp = self._conn.getresponse()
            raw = resp.read()
        except (OSError, http.client.HTTPException):
            self._conn.close()
            self._conn = None
            raise
        if resp.status >= 400:
            raise RuntimeError(f"{method} {path}: HTTP {resp.status}: {raw[:200]!r}")
        return json.loads(raw) if raw else None

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def make_big_notebook(path: Path, cells: int = 500) -> None:
    """A 500-cell notebook with realistic code, outputs and recorded provenance (with an
    environment, so the status compares it with the ``python3`` kernel's)."""
    from nbrepro.hashing import source_hash
    from nbrepro.notebook_io import write_notebook
    from nbrepro.record.environment import snapshot

    data = path.parent / "data.csv"
    data.write_text("".join(f"{i},{i * i}\n" for i in range(10_000)))
    nb_cells = []
    prov_cells = {}
    for i in range(cells):
        if i % 10 == 0:
            nb_cells.append({"cell_type": "markdown", "id": f"m{i}", "metadata": {},
                             "source": f"## Section {i}\nSome text about step {i}."})  # fmt: skip
            continue
        src = (
            f"import math\nvalues_{i} = [math.sqrt(v) for v in range({i}, {i} + 50)]\n"
            f"total_{i} = sum(values_{i})\nif total_{i} > 10:\n    print(total_{i})"
        )
        if i == 1:
            src = "rows = open('data.csv').read().splitlines()"
        cid = f"c{i}"
        output = {"output_type": "stream", "name": "stdout", "text": f"{i * 1.5}\n"}
        nb_cells.append({"cell_type": "code", "id": cid, "metadata": {}, "source": src,
                         "execution_count": i, "outputs": [output]})  # fmt: skip
        prov_cells[cid] = {"execution_count": i, "source_hash": source_hash(src),
                           "status": "ok", "error": None, "outputs": [],
                           "inputs": ["data.csv"] if i == 1 else []}  # fmt: skip
    from nbrepro.hashing import bytes_hash

    prov = {
        "schema_version": 1,
        "environment": snapshot(["yaml", "zmq", "tornado"]),
        "inputs": {"data.csv": {"hash": bytes_hash(data.read_bytes()), "size": data.stat().st_size,
                                "kind": "file", "produced": False}},
        "cells": prov_cells,
    }  # fmt: skip
    nb = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "language": "python",
                                    "display_name": "Python 3"}, "nbrepro": prov},
        "cells": nb_cells,
    }  # fmt: skip
    write_notebook(nb, path)


def timed(fn: Any, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def bench_status(server: Server, repeat: int) -> dict[str, float]:
    for _ in range(20):  # warm the caches and the connection
        server.get("/nbrepro/api/status?path=big.ipynb")
    status = timed(lambda: server.get("/nbrepro/api/status?path=big.ipynb"), repeat)
    contents = timed(lambda: server.get("/api/contents/big.ipynb?content=0"), repeat)
    return {
        "status_p50": statistics.median(status),
        "status_p90": pct(status, 0.9),
        "contents_p50": statistics.median(contents),
    }


async def _round_trips(server: Server, rounds: int, warmup: int = 5) -> list[float]:
    from jupyter_client.jsonutil import json_default
    from jupyter_client.session import Session
    from jupyter_server.services.kernels.connection.base import (
        deserialize_msg_from_ws_v1,
        serialize_msg_to_ws_v1,
    )
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    model = server.request(
        "POST",
        "/api/sessions",
        {"path": "rt.ipynb", "name": "rt.ipynb", "type": "notebook", "kernel": {"name": "python3"}},
    )
    kernel_id = model["kernel"]["id"]
    session = Session(key=b"", username="bench")
    url = (f"ws://127.0.0.1:{server.port}/api/kernels/{kernel_id}/channels"
           f"?session_id={session.session}")  # fmt: skip
    req = HTTPRequest(url, headers={"Authorization": f"token {server.token}"})
    ws = await websocket_connect(req, subprotocols=[V1])
    times = []
    try:
        for i in range(rounds):
            msg = session.msg(
                "execute_request",
                {"code": f"x = {i}", "silent": False, "store_history": True,
                 "user_expressions": {}, "allow_stdin": False, "stop_on_error": True},
                metadata={"cellId": f"cell-{i % 5}"},
            )  # fmt: skip
            msg["header"]["date"] = json_default(msg["header"]["date"])
            msg_id = msg["header"]["msg_id"]
            t0 = time.perf_counter()
            ws.write_message(serialize_msg_to_ws_v1(msg, "shell", session.pack), binary=True)
            replied = idle = False
            while not (replied and idle):
                raw = await ws.read_message()
                if raw is None:
                    raise RuntimeError("websocket closed")
                channel, parts = deserialize_msg_from_ws_v1(raw)
                if json.loads(parts[1]).get("msg_id") != msg_id:
                    continue
                kind = json.loads(parts[0])["msg_type"]
                if channel == "shell" and kind == "execute_reply":
                    replied = True
                elif kind == "status" and json.loads(parts[3])["execution_state"] == "idle":
                    idle = True
            times.append((time.perf_counter() - t0) * 1000)
    finally:
        ws.close()
        server.request("DELETE", f"/api/sessions/{model['id']}")
    return times[warmup:]  # the first executions warm the kernel up


def bench_round_trips(on: Server, off: Server, rounds: int, trials: int) -> dict[str, float]:
    med_on, med_off = [], []
    for _ in range(trials):  # alternate, so that machine load hits both alike
        med_on.append(statistics.median(asyncio.run(_round_trips(on, rounds))))
        med_off.append(statistics.median(asyncio.run(_round_trips(off, rounds))))
    return {"rt_on": statistics.median(med_on), "rt_off": statistics.median(med_off)}


_HOLDER = r"""
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.read()
"""


def hold_journal_lock(journal: Path) -> subprocess.Popen[str]:
    """Another process holding an EXCLUSIVE transaction on the journal (until it is killed)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(journal)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "locked":
        raise RuntimeError("could not lock the journal")
    return proc


STATUS_PATH = "/nbrepro/api/status?path=big.ipynb"
CONTENTS_PATH = "/api/contents/big.ipynb?content=0"


async def _status_bursts(
    server: Server, until: asyncio.Future[Any], n: int, path: str = STATUS_PATH
) -> list[float]:
    """Bursts of ``n`` concurrent requests of ``path`` (a connection each) until ``until`` is
    done."""
    from tornado.httpclient import AsyncHTTPClient

    client = AsyncHTTPClient(force_instance=True, max_clients=n)
    url = f"http://127.0.0.1:{server.port}{path}"
    headers = {"Authorization": f"token {server.token}"}
    times: list[float] = []

    async def one() -> None:
        t0 = time.perf_counter()
        response = await client.fetch(url, headers=headers, request_timeout=120)
        times.append((time.perf_counter() - t0) * 1000)
        if response.code != 200:
            raise RuntimeError(f"status answered {response.code}")

    try:
        bursts = 0
        while not until.done() or bursts < 2:
            await asyncio.gather(*(one() for _ in range(n)))
            bursts += 1
    finally:
        client.close()
    return times


async def _load(server: Server, rounds: int, path: str = STATUS_PATH) -> dict[str, list[float]]:
    trips = asyncio.ensure_future(_round_trips(server, rounds, warmup=2))
    status = await _status_bursts(server, trips, CONCURRENT, path)
    return {"status": status, "rt": await trips}


def bench_locked_journal(server: Server, rounds: int, trials: int) -> dict[str, float]:
    """p99 of status and of execute round trips under load, the journal locked and free."""
    for _ in range(5):
        server.get("/nbrepro/api/status?path=big.ipynb")
    samples: dict[str, list[float]] = {"free_status": [], "free_rt": [], "locked_status": [],
                                       "locked_rt": [], "contents_status": [],
                                       "contents_rt": []}  # fmt: skip
    for _ in range(trials):  # alternate, so that machine load hits all alike
        contents = asyncio.run(_load(server, rounds, CONTENTS_PATH))
        free = asyncio.run(_load(server, rounds))
        holder = hold_journal_lock(server.journal)
        try:
            locked = asyncio.run(_load(server, rounds))
        finally:
            holder.kill()
            holder.wait()
        for name, got in (("free", free), ("locked", locked), ("contents", contents)):
            samples[f"{name}_status"] += got["status"]
            samples[f"{name}_rt"] += got["rt"]
    out = {f"{key}_p99": pct(values, 0.99) for key, values in samples.items()}
    out.update({f"{key}_p50": statistics.median(values) for key, values in samples.items()})
    out["status_requests"] = float(len(samples["locked_status"]))
    return out


def print_locked(load: dict[str, float]) -> None:
    """The lines of the locked-journal benchmark."""
    requests = load["status_requests"]
    print(f"  under load: bursts of {CONCURRENT} concurrent status requests (500-cell notebook)"
          f" + execute round trips, {requests:.0f} status requests per case")  # fmt: skip
    for name in ("contents", "free", "locked"):
        label = {"contents": "contents?content=0 ", "free": "journal free (peer)",
                 "locked": "journal locked     "}[name]  # fmt: skip
        s99, rt99 = load[f"{name}_status_p99"], load[f"{name}_rt_p99"]
        what = "request" if name == "contents" else " status"
        line = (f"    {label} {what} p50 {load[f'{name}_status_p50']:7.2f} p99 {s99:7.2f}   "
                f"round trip p50 {load[f'{name}_rt_p50']:7.2f} p99 {rt99:7.2f}")  # fmt: skip
        if name == "locked":
            ok = s99 <= LOCKED_P99_TARGET_MS and rt99 <= LOCKED_P99_TARGET_MS
            line += f"   target p99 <= {LOCKED_P99_TARGET_MS:g}   {'OK' if ok else 'MISSED'}"
        print(line)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print medians, ratios and targets."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument(
        "--load-only", action="store_true", help="only the locked-journal load benchmark"
    )
    args = parser.parse_args(argv)
    repeat, rounds, trials = (30, 40, 1) if args.quick else (200, 150, 3)
    if args.load_only:
        with tempfile.TemporaryDirectory(prefix="nbrepro-bench-") as tmp:
            root = Path(tmp) / "root"
            root.mkdir()
            make_big_notebook(root / "big.ipynb")
            (root / "rt.ipynb").write_text(
                json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": []})
            )
            on = Server(root, Path(tmp) / "on.sqlite3", record=True)
            try:
                load = bench_locked_journal(on, 30 if args.quick else 60, 1 if args.quick else 2)
            finally:
                on.stop()
        print("nbrepro server benchmark (milliseconds)")
        print_locked(load)
        return 0
    with tempfile.TemporaryDirectory(prefix="nbrepro-bench-") as tmp:
        root = Path(tmp) / "root"
        root.mkdir()
        make_big_notebook(root / "big.ipynb")
        (root / "rt.ipynb").write_text(
            json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": []})
        )
        on = Server(root, Path(tmp) / "on.sqlite3", record=True)
        off = Server(root, Path(tmp) / "off.sqlite3", record=False)
        try:
            status = bench_status(on, repeat)
            rt = bench_round_trips(on, off, rounds, trials)
            load = bench_locked_journal(on, 30 if args.quick else 60, 1 if args.quick else 2)
        finally:
            on.stop()
            off.stop()
    added = rt["rt_on"] - rt["rt_off"]
    print("nbrepro server benchmark (milliseconds)")
    print(f"  status, 500-cell notebook    p50 {status['status_p50']:7.2f}   "
          f"p90 {status['status_p90']:7.2f}   target p50 <= {STATUS_TARGET_MS:g}   "
          f"{'OK' if status['status_p50'] <= STATUS_TARGET_MS else 'MISSED'}")  # fmt: skip
    print(f"  contents?content=0 (peer)    p50 {status['contents_p50']:7.2f}   "
          f"ratio status/peer {status['status_p50'] / status['contents_p50']:.2f}x")  # fmt: skip
    print(f"  execute round trip, recording on   median {rt['rt_on']:7.2f}")
    print(f"  execute round trip, recording off  median {rt['rt_off']:7.2f}   "
          f"ratio on/off {rt['rt_on'] / rt['rt_off']:.2f}x")  # fmt: skip
    verdict = "OK" if added <= OVERHEAD_TARGET_MS else "MISSED"
    print(f"  added by recording                        {added:7.2f}   target <= "
          f"{OVERHEAD_TARGET_MS:g}   {verdict}")  # fmt: skip
    print_locked(load)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
