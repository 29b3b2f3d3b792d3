"""Benchmark ``nbrepro run``: beside papermill on the same notebook, and a sweep in parallel.

    python benchmarks/bench_runs.py [--quick]

1. ``nbrepro run`` (execute + manifest + hashes + environment + atomic bundle) beside
   ``papermill`` (execute + write the output notebook) on the same parameterised 20-cell
   notebook: median wall time of each as subprocesses, and the ratio.
2. A sweep of 8 parameter sets with ``-j 2`` beside the same sweep run sequentially (``-j 1``):
   median wall time of each and the ratio (2 cores: ideally close to 0.5).

Everything runs in a temporary folder; medians over ``--repeat`` runs (``--quick``: 1).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

SOURCE_CELLS = 20


def make_notebook(path: Path) -> None:
    """A 20-cell notebook with a parameters cell, some arithmetic and a metric."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from nbrepro.notebook_io import write_notebook

    sources = ["n = 1000\nseed = 0"]
    sources += [
        f"x{i} = sum(range(n * {i + 1}))\nprint(x{i} % 97)" for i in range(SOURCE_CELLS - 2)
    ]
    sources.append("import nbrepro\nnbrepro.log_metric('total', x0 + seed)")
    cells = []
    for i, src in enumerate(sources):
        cells.append(
            {
                "cell_type": "code",
                "id": f"c{i}",
                "metadata": {"tags": ["parameters"]} if i == 0 else {},
                "source": src,
                "outputs": [],
                "execution_count": None,
            }
        )
    nb = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        },
        "cells": cells,
    }
    write_notebook(nb, path)


def timed(cmd: Sequence[str], cwd: Path) -> float:
    """Wall time of one subprocess (it must succeed)."""
    start = time.perf_counter()
    proc = subprocess.run(list(cmd), cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    return elapsed


def median_of(cmd: Sequence[str], cwd: Path, repeat: int) -> float:
    """Median wall time over ``repeat`` runs."""
    return statistics.median(timed(cmd, cwd) for _ in range(repeat))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print medians and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one repetition of everything")
    parser.add_argument("--repeat", type=int, default=5, help="repetitions (default 5)")
    args = parser.parse_args(argv)
    repeat = 1 if args.quick else max(1, args.repeat)
    papermill = shutil.which("papermill")
    with tempfile.TemporaryDirectory(prefix="nbrepro-bench-runs-") as tmp:
        root = Path(tmp)
        (root / "pyproject.toml").write_text("[project]\nname = 'bench'\n")
        make_notebook(root / "nb.ipynb")
        nbrepro = [sys.executable, "-m", "nbrepro", "run", "nb.ipynb", "-q", "-p", "n", "2000"]
        timed(nbrepro, root)  # warm caches (kernel spec, bytecode) for both tools alike
        t_run = median_of(nbrepro, root, repeat)
        print(f"nbrepro run       median {t_run:6.2f} s  ({SOURCE_CELLS} cells, n={repeat})")
        if papermill:
            pm = [papermill, "nb.ipynb", "out.ipynb", "-p", "n", "2000", "--no-progress-bar"]
            t_pm = median_of(pm, root, repeat)
            print(f"papermill         median {t_pm:6.2f} s")
            print(f"ratio nbrepro run / papermill: {t_run / t_pm:.2f}")
        else:
            print("papermill not installed: no comparison")
        sweep = [
            sys.executable,
            "-m",
            "nbrepro",
            "run",
            "nb.ipynb",
            "-q",
            "--grid",
            "seed=1,2,3,4,5,6,7,8",
        ]
        t_seq = median_of([*sweep, "-j", "1"], root, repeat)
        t_par = median_of([*sweep, "-j", "2"], root, repeat)
        print(f"sweep of 8, -j 1  median {t_seq:6.2f} s")
        print(f"sweep of 8, -j 2  median {t_par:6.2f} s")
        print(f"ratio -j 2 / -j 1: {t_par / t_seq:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
