"""Recording overhead of a run's kernel: the 20-cell notebook executed with the recorder loaded
(what ``nbrepro run`` does) beside the same execution without it, measured in the same run.

    python benchmarks/bench_run_recording.py [--quick] [--repeat N]

Both go through :func:`nbrepro.execute.engine.execute_notebook` in this process, alternating,
on the notebook of ``bench_runs.py`` (20 cells, each summing a range and printing; one reads a
data file and one writes a file, so the recorder has files to hash). Printed: the medians of
the whole execution (kernel start, preamble and final query included) and of the cells alone
(sum of per-cell wall times), and both ratios with / without. Target: <= 1.02.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

TARGET = 1.02
CELLS = 20


def notebook(n: int) -> dict:
    """The 20-cell notebook (a parameters cell, arithmetic, one read, one write, a metric)."""
    sources = [f"n = {n}\nseed = 0", "rows = open('data.csv').read().splitlines()"]
    sources += [f"x{i} = sum(range(n * {i + 1}))\nprint(x{i} % 97)" for i in range(CELLS - 4)]
    sources.append("open('result.txt', 'w').write(str(x0 + len(rows)))")
    sources.append("import nbrepro\nnbrepro.log_metric('total', x0 + seed)")
    cells = [
        {"cell_type": "code", "id": f"c{i}", "metadata": {}, "source": s, "outputs": [],
         "execution_count": None}
        for i, s in enumerate(sources)
    ]  # fmt: skip
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
        "cells": cells,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Time both and print medians and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two repetitions")
    parser.add_argument("--repeat", type=int, default=7, help="repetitions (default 7)")
    parser.add_argument("--n", type=int, default=100_000, help="work per cell (default 100000)")
    args = parser.parse_args(argv)
    repeat = 2 if args.quick else max(1, args.repeat)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from nbrepro.execute.engine import execute_notebook
    from nbrepro.runs.recording import engine_hooks, parse_files

    nb = notebook(args.n)
    walls: dict[bool, list[float]] = {True: [], False: []}
    cells: dict[bool, list[float]] = {True: [], False: []}
    with tempfile.TemporaryDirectory(prefix="nbrepro-bench-recording-") as tmp:
        Path(tmp, "data.csv").write_text("x,y\n" + "1,2\n" * 10_000)
        execute_notebook(nb, cwd=tmp)  # warm-up
        for i in range(2 * repeat):
            recording = i % 2 == 0
            result = execute_notebook(nb, cwd=tmp, **(engine_hooks() if recording else {}))
            if recording and not parse_files(result).recorded:
                raise SystemExit("the recorder did not record")
            walls[recording].append(result.duration)
            cells[recording].append(sum(c.duration for c in result.cells))
    for label, data in (("whole execution", walls), ("cells only", cells)):
        on, off = statistics.median(data[True]), statistics.median(data[False])
        print(f"{label:16s} with recorder {on:7.3f} s  without {off:7.3f} s  "
              f"ratio {on / off:.3f}  (target <= {TARGET}, n={repeat})")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
