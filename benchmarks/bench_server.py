"""Benchmark the server extension against a real ``jupyter server``.

1. ``GET /nbrepro/api/status`` for a 500-cell notebook (with provenance, inputs and a journal):
   p50 and p90, beside ``GET /api/contents/<nb>?content=0`` on the same server (ratio).
   Target: p50 <= 20 ms.
2. The time recording adds to an execution round trip through the server's kernel websocket:
   the median round trip (execute request -> reply and idle) with recording on, beside a second
   server with ``NbreproConfig.record = False``. Target: <= 5 ms added.

Run: ``python benchmarks/bench_server.py [--quick]``.
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
V1 = "v1.kernel.websocket.jupyter.org"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A ``jupyter server`` subprocess with nbrepro enabled."""

    def __init__(self, root: Path, journal: Path, record: bool) -> None:
        self.root = root
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


async def _round_trips(server: Server, rounds: int) -> list[float]:
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
    return times[5:]  # the first executions warm the kernel up


def bench_round_trips(on: Server, off: Server, rounds: int, trials: int) -> dict[str, float]:
    med_on, med_off = [], []
    for _ in range(trials):  # alternate, so that machine load hits both alike
        med_on.append(statistics.median(asyncio.run(_round_trips(on, rounds))))
        med_off.append(statistics.median(asyncio.run(_round_trips(off, rounds))))
    return {"rt_on": statistics.median(med_on), "rt_off": statistics.median(med_off)}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print medians, ratios and targets."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args(argv)
    repeat, rounds, trials = (30, 40, 1) if args.quick else (200, 150, 3)
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
