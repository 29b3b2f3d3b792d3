"""Benchmark ``nbrepro check`` against the cost of merely importing nbformat.

Generates, in a temporary folder, 100 notebooks of ~50 realistic cells (markdown, imports,
pandas-style data work, functions, classes, loops, magics, shell escapes, stream/HTML/PNG outputs,
some cells run out of order) and one 1,000-cell notebook, then measures (median of N runs):

* ``python -m nbrepro check DIR`` over the 100 notebooks, in one process (target <= 1 s wall);
* the 1,000-cell notebook: in-process ``analyze`` (cold per-cell cache) and
  ``python -m nbrepro check FILE`` (target <= 200 ms);
* ``python -c "import nbformat"`` in the same run, as the peer.

Run ``python benchmarks/bench_check.py`` (``--quick`` for fewer repetitions).
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

TARGET_DIR_S = 1.0
TARGET_BIG_S = 0.2

_PNG = base64.b64encode(random.Random(0).randbytes(12_000)).decode()


def _code_templates(k: int) -> list[str]:
    """Realistic code cell sources; ``k`` varies names so no two notebooks share sources."""
    return [
        f"import numpy as np\nimport pandas as pd\nimport matplotlib.pyplot as plt\nSEED_{k} = {k}",
        "%matplotlib inline\n%load_ext autoreload\n%autoreload 2",
        f"data_{k} = pd.read_csv('data/measurements_{k}.csv', parse_dates=['time'])\n"
        f"data_{k}.head()",
        f"clean_{k} = data_{k}.dropna().query('value > 0')\n"
        f"clean_{k}['log_value'] = np.log(clean_{k}['value'])\nclean_{k}.describe()",
        f"def summarise_{k}(frame, column='value', *, q=(0.05, 0.95)):\n"
        f'    """Quantiles and mean of one column."""\n'
        f"    lo, hi = frame[column].quantile(list(q))\n"
        f"    inside = frame[(frame[column] >= lo) & (frame[column] <= hi)]\n"
        f"    return {{'mean': inside[column].mean(), 'n': len(inside), 'seed': SEED_{k}}}",
        f"stats_{k} = {{name: summarise_{k}(group) for name, group in clean_{k}.groupby('site')}}\n"
        f"print(len(stats_{k}))",
        f"class Model_{k}:\n    def __init__(self, alpha=0.1):\n        self.alpha = alpha\n"
        f"        self.coef_ = None\n\n    def fit(self, x, y):\n"
        f"        self.coef_ = np.polyfit(x, y, 1)\n        return self\n\n"
        f"    def predict(self, x):\n        return np.polyval(self.coef_, x)",
        f"model_{k} = Model_{k}().fit(clean_{k}['time'].astype('int64'), clean_{k}['log_value'])\n"
        f"residuals_{k} = clean_{k}['log_value'] - model_{k}.predict("
        f"clean_{k}['time'].astype('int64'))",
        f"fig, ax = plt.subplots(figsize=(8, 4))\nax.plot(clean_{k}['time'], residuals_{k})\n"
        f"ax.set_title(f'Residuals {{SEED_{k}}}')\nplt.show()",
        f"total_{k} = 0\nfor i, row in enumerate(clean_{k}.itertuples()):\n"
        f"    if i % 2:\n        total_{k} += row.value\n    else:\n        continue\ntotal_{k}",
        f"files_{k} = !ls data\n!echo processed {{len(files_{k})}} files",
        f"try:\n    cache_{k}\nexcept NameError:\n    cache_{k} = {{}}\n"
        f"cache_{k}['summary'] = stats_{k}",
        f"with open('out_{k}.json', 'w') as fh:\n    import json\n"
        f"    json.dump({{k: v['mean'] for k, v in stats_{k}.items()}}, fh)",
        f"weights_{k} = [w / sum(range(1, 11)) for w in range(1, 11)]\n"
        f"smooth_{k} = np.convolve(residuals_{k}, weights_{k}, mode='same')",
        f"if (n_{k} := len(smooth_{k})) > 100:\n    print(f'{{n_{k}}} points')",
        f"match clean_{k}.shape:\n    case (rows, cols) if rows > 0:\n"
        f"        shape_{k} = rows * cols\n    case _:\n        shape_{k} = 0",
    ]


def _outputs(source: str, rng: random.Random) -> list[dict[str, Any]]:
    if "plt.show" in source:
        return [
            {
                "output_type": "display_data",
                "metadata": {},
                "data": {"image/png": _PNG, "text/plain": ["<Figure size 800x400>"]},
            }
        ]
    if source.rstrip().endswith((".head()", ".describe()")):
        rows = "".join(f"<tr><td>{i}</td><td>{rng.random():.4f}</td></tr>\n" for i in range(5))
        return [
            {
                "output_type": "execute_result",
                "execution_count": None,
                "metadata": {},
                "data": {
                    "text/html": [f"<table>\n{rows}</table>"],
                    "text/plain": ["   value\n0  1.0\n"],
                },
            }
        ]
    if "print(" in source:
        return [{"output_type": "stream", "name": "stdout", "text": ["42\n"]}]
    return []


def make_notebook(n_cells: int, seed: int) -> dict[str, Any]:
    """A notebook of about ``n_cells`` cells (30% markdown), some run out of order."""
    rng = random.Random(seed)
    cells: list[dict[str, Any]] = []
    block = 0
    while len(cells) < n_cells:
        for source in _code_templates(seed * 1000 + block):
            if len(cells) >= n_cells:
                break
            if rng.random() < 0.3:
                cells.append(
                    {
                        "cell_type": "markdown",
                        "id": f"m{len(cells)}",
                        "metadata": {},
                        "source": [f"## Step {len(cells)}\n", "Some explanation.\n"],
                    }
                )
            cells.append(
                {
                    "cell_type": "code",
                    "id": f"c{len(cells)}",
                    "metadata": {},
                    "source": source.splitlines(keepends=True),
                    "outputs": _outputs(source, rng),
                    "execution_count": None,
                }
            )
        block += 1
    code = [c for c in cells if c["cell_type"] == "code"]
    order = list(range(len(code)))
    for _ in range(max(1, len(code) // 20)):  # a few cells run late, as people do
        i, j = sorted(rng.sample(order, 2))
        order[i], order[j] = order[j], order[i]
    for count, pos in enumerate(order, start=1):
        code[pos]["execution_count"] = count
        for out in code[pos]["outputs"]:
            if out["output_type"] == "execute_result":
                out["execution_count"] = count
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "cells": cells,
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python", "version": "3.11.7"},
        },
    }


def _median(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    """Median wall time and median CPU time (own or children's) of ``fn``, in seconds."""
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu0 = time.process_time()
        start = time.perf_counter()
        fn()
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        children = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        cpus.append(children + time.process_time() - cpu0)
    return statistics.median(walls), statistics.median(cpus)


def _subprocess(args: list[str], expect: tuple[int, ...] = (0, 1)) -> Callable[[], None]:
    def call() -> None:
        proc = subprocess.run(args, capture_output=True, text=True)
        if proc.returncode not in expect:
            raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr}")

    return call


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a table; return 0 when the targets are met, 1 otherwise."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 repetitions instead of 9")
    args = parser.parse_args(argv)
    runs = 5 if args.quick else 9

    from nbrepro.analysis import analyze, clear_cache
    from nbrepro.notebook_io import read_notebook, write_notebook

    py = sys.executable
    with tempfile.TemporaryDirectory(prefix="nbrepro-bench-check-") as tmp:
        root = Path(tmp)
        many = root / "many"
        for k in range(100):
            write_notebook(make_notebook(50, seed=k + 1), many / f"nb{k:03d}.ipynb")
        big = root / "big.ipynb"
        write_notebook(make_notebook(1000, seed=999), big)
        size_many = sum(p.stat().st_size for p in many.iterdir())
        big_nb = read_notebook(big)

        def cold_analyze() -> None:
            clear_cache()
            analyze(big_nb)

        imports = "import nbrepro.cli, nbrepro.cli.check, nbrepro.analysis, nbrepro.config"
        rows = [
            ("python -c pass (interpreter start)", _median(_subprocess([py, "-c", "pass"]), runs),
             None),
            ('python -c "import nbformat" (peer)',
             _median(_subprocess([py, "-c", "import nbformat"]), runs), None),
            ("python -c 'import nbrepro.cli.check, nbrepro.analysis...'",
             _median(_subprocess([py, "-c", imports]), runs), None),
            (f"nbrepro check DIR: 100 notebooks x 50 cells ({size_many / 1e6:.1f} MB)",
             _median(_subprocess([py, "-m", "nbrepro", "check", str(many)]), runs),
             TARGET_DIR_S),
            ("nbrepro check FILE: 1,000-cell notebook (subprocess)",
             _median(_subprocess([py, "-m", "nbrepro", "check", str(big)]), runs),
             TARGET_BIG_S),
            ("analyze(): 1,000-cell notebook (in-process, cold cache)",
             _median(cold_analyze, runs), TARGET_BIG_S),
        ]  # fmt: skip
        n_findings = len(analyze(big_nb))

    peer_wall = rows[1][1][0]
    print(f"nbrepro check benchmark: median of {runs} runs (wall and CPU time); the 1,000-cell "
          f"notebook has {n_findings} findings; load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} CPUs")  # fmt: skip
    header = f"{'measurement':<62} {'wall':>9} {'cpu':>9} {'wall/nbformat':>14} {'target':>8}"
    print(header + "  ok")
    ok = True
    for label, (wall, cpu), target in rows:
        met = target is None or wall <= target
        ok = ok and met
        target_text = f"{target * 1000:.0f} ms" if target else ""
        verdict = "" if target is None else ("yes" if met else "NO")
        print(f"{label:<62} {wall * 1000:6.1f} ms {cpu * 1000:6.1f} ms {wall / peer_wall:13.2f}x "
              f"{target_text:>8}  {verdict}")  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
