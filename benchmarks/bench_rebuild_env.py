"""Benchmark ``nbrepro verify --rebuild-env``: the first build (uv beside ``python -m venv`` +
pip, measured in the same run) and the cached second run's overhead over a plain verify.

The notebook imports ``wcwidth`` and records this interpreter's Python and wcwidth version, so
the rebuilt environment has no drift from the current one (no second, comparing run). Each
build installs the same lock (wcwidth pinned) plus ipykernel into a new environment:

* ``uv``: what ``--rebuild-env`` does (``uv venv`` + ``uv pip install``), with its own cache;
* ``venv+pip``: ``python -m venv`` + ``pip install`` of the same requirements, with pip's cache.

Round 1 of each starts with empty download caches (cold, network bound); the medians are of
the warm rounds. Then ``nbrepro verify`` (plain) and ``nbrepro verify --rebuild-env=require``
(the environment cached) run interleaved as subprocesses. Targets (issue 16): uv faster than
venv+pip when warm; the cached rebuilt verify at most 1 s over a plain verify.

    python benchmarks/bench_rebuild_env.py            # 5 rounds
    python benchmarks/bench_rebuild_env.py --quick    # 2 rounds
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_OVERHEAD_SECONDS = 1.0
SOURCE = "import wcwidth\nprint(wcwidth.wcswidth('abc'))"


def make_notebook(path: Path) -> None:
    """A one-cell notebook executed here, with this interpreter's environment recorded."""
    from nbrepro.execute.engine import execute_notebook
    from nbrepro.notebook_io import write_notebook
    from nbrepro.record.environment import snapshot

    nb = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        },
        "cells": [
            {"cell_type": "code", "id": "c0", "metadata": {}, "source": SOURCE, "outputs": [],
             "execution_count": None},
        ],
    }  # fmt: skip
    executed = execute_notebook(nb, cwd=path.parent).nb
    env = snapshot(["wcwidth"])
    executed["metadata"]["nbrepro"] = {"schema_version": 1, "environment": env}
    write_notebook(executed, path)


def timed(cmd: list[str], env: dict[str, str], cwd: Path) -> float:
    """Seconds ``cmd`` takes (it must succeed)."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    return elapsed


def build_uv(root: Path, requirements: Path, env: dict[str, str]) -> float:
    """``uv venv`` + ``uv pip install`` as ``--rebuild-env`` runs them."""
    from nbrepro.envbuild.build import find_uv, venv_python
    from nbrepro.envbuild.index import pip_index

    uv = find_uv()
    index = pip_index()
    start = time.perf_counter()
    timed(
        [uv, "venv", "--quiet", "--relocatable", "--python", sys.executable, str(root)],
        env,
        root.parent,
    )
    timed(
        [uv, "pip", "install", "--quiet", "--compile-bytecode",
         "--python", str(venv_python(root)), *index.uv_args(),
         "-r", str(requirements), "ipykernel"],
        env, root.parent,
    )  # fmt: skip
    return time.perf_counter() - start


def build_pip(root: Path, requirements: Path, env: dict[str, str]) -> float:
    """``python -m venv`` + ``pip install`` of the same requirements."""
    start = time.perf_counter()
    timed([sys.executable, "-m", "venv", str(root)], env, root.parent)
    python = root / "bin" / "python"
    timed(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "-r", str(requirements), "ipykernel"],
        env, root.parent,
    )  # fmt: skip
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 when every target is met."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 rounds instead of 5")
    args = parser.parse_args(argv)
    rounds = 2 if args.quick else 5
    work = Path(tempfile.mkdtemp(prefix="nbrepro-bench-rebuild-"))
    try:
        nb = work / "nb.ipynb"
        make_notebook(nb)
        from nbrepro.envbuild.lock import lock_from_notebook
        from nbrepro.notebook_io import read_notebook

        lock = lock_from_notebook(read_notebook(nb))
        requirements = work / "requirements.txt"
        requirements.write_text(lock.requirements_text())
        env = dict(os.environ)
        env.pop("VIRTUAL_ENV", None)
        env.update(
            UV_CACHE_DIR=str(work / "uv-cache"),
            PIP_CACHE_DIR=str(work / "pip-cache"),
            NBREPRO_ENV_CACHE=str(work / "envs"),
            JUPYTER_DATA_DIR=str(work / "jupyter-data"),
        )
        uv_times, pip_times = [], []
        for number in range(rounds):
            uv_times.append(build_uv(work / f"uv-{number}", requirements, env))
            pip_times.append(build_pip(work / f"pip-{number}", requirements, env))
        nbrepro = [sys.executable, "-m", "nbrepro", "verify"]
        first = timed([*nbrepro, "--rebuild-env=require", str(nb)], env, work)
        plain, rebuilt = [], []
        timed([*nbrepro, str(nb)], env, work)  # warm-up
        for _ in range(rounds):
            plain.append(timed([*nbrepro, str(nb)], env, work))
            rebuilt.append(timed([*nbrepro, "--rebuild-env=require", str(nb)], env, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    warm_uv = statistics.median(uv_times[1:]) if rounds > 1 else uv_times[0]
    warm_pip = statistics.median(pip_times[1:]) if rounds > 1 else pip_times[0]
    print(f"build of the lock + ipykernel, {rounds} rounds (round 1 with empty caches)")
    print(f"  cold:  uv {uv_times[0]:.2f} s   venv+pip {pip_times[0]:.2f} s   "
          f"ratio {uv_times[0] / pip_times[0]:.2f}")  # fmt: skip
    print(f"  warm:  uv {warm_uv:.2f} s   venv+pip {warm_pip:.2f} s   "
          f"ratio {warm_uv / warm_pip:.2f} (median)")  # fmt: skip
    print(f"first verify --rebuild-env (builds, uv cache warm): {first:.2f} s")
    overhead = statistics.median(rebuilt) - statistics.median(plain)
    print(
        f"verify: plain {statistics.median(plain):.2f} s, --rebuild-env cached "
        f"{statistics.median(rebuilt):.2f} s, overhead {overhead:+.2f} s (median of {rounds}; "
        f"target <= {TARGET_OVERHEAD_SECONDS:g} s)"
    )
    ok = overhead <= TARGET_OVERHEAD_SECONDS and warm_uv < warm_pip
    if warm_uv >= warm_pip:
        print("  MISSED: uv is not faster than venv+pip")
    if overhead > TARGET_OVERHEAD_SECONDS:
        print("  MISSED: cached --rebuild-env overhead")
    print("all targets met" if ok else "some targets missed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
