"""A 16-point sweep: ``--executor dask`` on a 2-worker LocalCluster vs local ``-j 2``.

Both run in this process through :func:`nbrepro.runs.sweep.run_sweep` (what ``nbrepro run
--grid ... -j 2 [--executor dask]`` calls); the Dask figure includes starting and stopping the
LocalCluster, and is also given without it and for a second sweep on the same (warm) cluster,
as a long-lived cluster runs it. Target: Dask's overhead <= 15%.
``python benchmarks/run.py executors [--quick]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

POINTS = 16
TARGET = 1.15


def make_project(root: Path) -> Path:
    """A project with a small parameterised notebook (five cells)."""
    from nbrepro.notebook_io import write_notebook

    sources = ["alpha = 1", "import math", "beta = math.sqrt(alpha)", "print(beta)", "alpha * 2"]
    cells = [
        {"cell_type": "code", "id": f"c{i}", "metadata": {}, "source": s, "outputs": [],
         "execution_count": None}
        for i, s in enumerate(sources)
    ]  # fmt: skip
    cells[0]["metadata"]["tags"] = ["parameters"]
    nb = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
        "cells": cells,
    }
    (root / "pyproject.toml").write_text('[tool.nbrepro]\nruns_dir = "store"\n')
    write_notebook(nb, root / "nb.ipynb")
    return root / "nb.ipynb"


def median(fn: Callable[[], float], repeat: int) -> float:
    """The median of ``repeat`` timings of ``fn`` (which returns seconds)."""
    return statistics.median(fn() for _ in range(repeat))


def main(argv: Sequence[str] | None = None) -> int:
    """Time both and print medians and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one repetition")
    args = parser.parse_args(argv)
    try:
        import distributed  # noqa: F401
    except ImportError:
        print("skipped: distributed is not installed (pip install nbrepro[dask])")
        return 0
    from nbrepro.executors import make_executor
    from nbrepro.runs.sweep import run_sweep

    repeat = 1 if args.quick else 3
    points = [{"alpha": i + 1} for i in range(POINTS)]
    with tempfile.TemporaryDirectory() as tmp:
        nb = make_project(Path(tmp))

        def local() -> float:
            start = time.perf_counter()
            results = run_sweep(nb, points, jobs=2)
            assert all(r.succeeded for r in results)
            return time.perf_counter() - start

        sweep_only: list[float] = []
        warm: list[float] = []

        def dask() -> float:
            start = time.perf_counter()
            executor = make_executor("dask", jobs=2, start=nb.parent)
            try:
                begun = time.perf_counter()
                results = run_sweep(nb, points, jobs=2, executor=executor)
                sweep_only.append(time.perf_counter() - begun)
                # A long-lived cluster: the same sweep again on workers that have run kernels.
                again = time.perf_counter()
                assert all(r.succeeded for r in run_sweep(nb, points, jobs=2, executor=executor))
                warm.append(time.perf_counter() - again)
            finally:
                executor.close()
            assert all(r.succeeded for r in results)
            return time.perf_counter() - start - warm[-1]

        local()  # warm-up: imports, kernelspec caches
        t_local = median(local, repeat)
        t_dask = median(dask, repeat)
    t_sweep = statistics.median(sweep_only)
    ratio = t_dask / t_local
    print(f"{POINTS}-point sweep, -j 2 (median of {repeat}):")
    print(f"  local executor                          {t_local:7.2f} s")
    print(f"  dask, 2-worker LocalCluster (with start/stop) {t_dask:7.2f} s  ratio {ratio:.2f}x")
    only = t_sweep / t_local
    print(f"  dask, sweep only (cluster already up)   {t_sweep:7.2f} s  ratio {only:.2f}x")
    t_warm = statistics.median(warm)
    warm_ratio = t_warm / t_local
    print(f"  dask, warm cluster (a second sweep)     {t_warm:7.2f} s  ratio {warm_ratio:.2f}x")
    print(
        f"  target: dask/local <= {TARGET:.2f}x -> with start/stop "
        f"{'met' if ratio <= TARGET else 'NOT met'}, warm cluster "
        f"{'met' if warm_ratio <= TARGET else 'NOT met'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
