"""Benchmark ``nbrepro verify`` against ``jupyter execute`` and ``papermill``, measured together.

On generated 20-cell and 200-cell notebooks (outputs stored by a real execution, so verify
reproduces them), the median wall time of each command run as a subprocess, the ratios, and the
start-up time of ``nbrepro --help`` beside a bare ``python -c pass`` and ``jupyter --help``.
Targets (issue 12): verify <= 1.05x ``jupyter execute`` on the 20-cell notebook (<= 1.15x on
the 200-cell one); faster than papermill on the 200-cell one; ``nbrepro --help`` <= 0.15 s.

    python benchmarks/bench_verify.py            # 7 interleaved rounds
    python benchmarks/bench_verify.py --quick    # 3 rounds
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

#: verify / jupyter execute, per notebook size.
TARGET_VS_JUPYTER = {20: 1.05, 200: 1.15}
TARGET_HELP_SECONDS = 0.15


def make_notebook(path: Path, cells: int) -> None:
    """A notebook of ``cells`` small code cells with outputs stored by a real execution."""
    from nbrepro.execute.engine import execute_notebook
    from nbrepro.notebook_io import write_notebook

    sources = ["import math\nvalues = []"]
    for i in range(1, cells):
        if i % 3 == 0:
            sources.append(f"values.append(math.sqrt({i}))\nround(sum(values), 6)")
        else:
            sources.append(f"x{i} = {i} * 2\nprint('cell', {i}, x{i})")
    nb = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        },
        "cells": [
            {
                "cell_type": "code",
                "id": f"c{i}",
                "metadata": {},
                "source": src,
                "outputs": [],
                "execution_count": None,
            }
            for i, src in enumerate(sources)
        ],
    }
    result = execute_notebook(nb, cwd=path.parent)
    write_notebook(result.nb, path)


def timed(cmd: list[str], cwd: Path, expect: int = 0) -> float:
    """Wall time of one subprocess run (its exit code checked)."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != expect:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stdout}{proc.stderr}")
    return elapsed


def medians_interleaved(cmds: list[list[str]], cwd: Path, repeat: int) -> list[float]:
    """Median wall time of each command over ``repeat`` rounds (after one warm-up round).

    Each round runs every command once, in an order that rotates from round to round, so a
    slow spell of the machine (kernel start-up varies by a few tenths of a second) falls on all
    of them alike instead of on whichever happened to run then.
    """
    for cmd in cmds:
        timed(cmd, cwd)
    times: list[list[float]] = [[] for _ in cmds]
    for round_ in range(repeat):
        for k in range(len(cmds)):
            i = (k + round_) % len(cmds)
            times[i].append(timed(cmds[i], cwd))
    return [statistics.median(t) for t in times]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return 0 when every target is met, 1 otherwise."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds instead of 7")
    args = parser.parse_args(argv)
    repeat = 3 if args.quick else 7
    py = sys.executable
    nbrepro = [py, "-m", "nbrepro"]
    jupyter = shutil.which("jupyter")
    jupyter_cmd = [jupyter] if jupyter else [py, "-m", "jupyter"]
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    ok = True
    with tempfile.TemporaryDirectory(prefix="nbrepro-bench-") as tmp:
        work = Path(tmp)
        print(f"median of {repeat} interleaved rounds (after a warm-up), each command a subprocess")
        print(
            f"{'notebook':<10} {'verify':>8} {'jupyter':>8} {'papermill':>10} "
            f"{'v/jupyter':>10} {'v/papermill':>12}"
        )
        for cells in (20, 200):
            nb = work / f"bench_{cells}.ipynb"
            make_notebook(nb, cells)
            t_verify, t_jupyter, t_papermill = medians_interleaved(
                [
                    [*nbrepro, "verify", "-q", nb.name],
                    [*jupyter_cmd, "execute", nb.name],
                    [py, "-m", "papermill", "--no-progress-bar", nb.name, f"out_{cells}.ipynb"],
                ],
                work,
                repeat,
            )
            r_jupyter, r_papermill = t_verify / t_jupyter, t_verify / t_papermill
            print(
                f"{cells:>4} cells {t_verify:>8.2f} {t_jupyter:>8.2f} {t_papermill:>10.2f} "
                f"{r_jupyter:>9.2f}x {r_papermill:>11.2f}x"
            )
            if r_jupyter > TARGET_VS_JUPYTER[cells]:
                print(
                    f"  MISSED: verify is {r_jupyter:.2f}x jupyter execute "
                    f"(target <= {TARGET_VS_JUPYTER[cells]}x)"
                )
                ok = False
            if cells == 200 and r_papermill >= 1.0:
                print("  MISSED: verify is not faster than papermill on 200 cells")
                ok = False
        t_help, t_python, t_jupyter_help = medians_interleaved(
            [[*nbrepro, "--help"], [py, "-c", "pass"], [*jupyter_cmd, "--help"]],
            work,
            max(repeat, 5),
        )
        print(
            f"nbrepro --help start-up: {t_help:.3f} s (target <= {TARGET_HELP_SECONDS} s); "
            f"python -c pass {t_python:.3f} s ({t_help - t_python:.3f} s of nbrepro), "
            f"jupyter --help {t_jupyter_help:.3f} s ({t_help / t_jupyter_help:.2f}x)"
        )
        if t_help > TARGET_HELP_SECONDS:
            print("  MISSED: --help start-up")
            ok = False
    print("all targets met" if ok else "some targets missed")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
