"""Many notebooks at once: ``nbrepro verify -j 2`` against ``pytest --nbmake -n 2``, together.

16 generated notebooks of 20 small cells (outputs stored by a real execution, so verify
reproduces them), in one folder. The median wall time of each command run as a subprocess:
``nbrepro verify -j 2``, ``nbrepro verify -j 1`` and nbmake's ``pytest --nbmake -n 2`` (two
pytest-xdist workers, each executing its notebooks with nbclient), in interleaved rounds.
Target (issue 14): ``verify -j 2`` at least 2x faster than ``pytest --nbmake -n 2``.

    python benchmarks/bench_parallel.py            # 3 interleaved rounds
    python benchmarks/bench_parallel.py --quick    # 1 round
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_verify import make_notebook, medians_interleaved

NOTEBOOKS = 16
CELLS = 20
#: nbmake -n 2 / verify -j 2.
TARGET_SPEEDUP = 2.0


def main(argv: list[str] | None = None) -> int:
    """Time the three commands and print medians and ratios."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one round")
    args = parser.parse_args(argv)
    has_nbmake = importlib.util.find_spec("nbmake") is not None
    has_xdist = importlib.util.find_spec("xdist") is not None
    rounds = 1 if args.quick else 3
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_notebook(root / "nb00.ipynb", CELLS)
        template = (root / "nb00.ipynb").read_bytes()
        for i in range(1, NOTEBOOKS):
            (root / f"nb{i:02d}.ipynb").write_bytes(template)
        nbrepro = [sys.executable, "-m", "nbrepro", "verify", ".", "-q"]
        cmds = {
            "nbrepro verify -j 2": [*nbrepro, "-j", "2"],
            "nbrepro verify -j 1": [*nbrepro, "-j", "1"],
        }
        if has_nbmake and has_xdist:
            pytest = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
            cmds["pytest --nbmake -n 2"] = [*pytest, "--nbmake", "-n", "2", "."]
        medians = medians_interleaved(list(cmds.values()), root, rounds)
        times = dict(zip(cmds, medians, strict=True))
    print(f"{NOTEBOOKS} notebooks of {CELLS} cells (median of {rounds} interleaved rounds):")
    base = times["nbrepro verify -j 2"]
    for name, seconds in times.items():
        print(f"  {name:24s} {seconds:7.2f} s  {seconds / base:5.2f}x verify -j 2")
    if "pytest --nbmake -n 2" in times:
        speedup = times["pytest --nbmake -n 2"] / base
        verdict = "met" if speedup >= TARGET_SPEEDUP else "NOT met"
        print(f"  target: verify -j 2 >= {TARGET_SPEEDUP:.1f}x faster than nbmake -n 2 -> "
              f"{speedup:.2f}x, {verdict}")  # fmt: skip
    else:
        print("  nbmake not measured: pip install nbmake pytest-xdist")
    return 0


if __name__ == "__main__":
    sys.exit(main())
