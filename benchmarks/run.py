"""Run every nbrepro benchmark, one after another: ``python benchmarks/run.py [--quick] [NAME...]``.

Each ``benchmarks/bench_<name>.py`` measures nbrepro beside the peer tool it competes with (in the
same run, on the same machine) and prints medians, ratios and the targets. This runner only
sequences them, so that the numbers never compete for the two cores.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    """Run the named benchmarks (all by default); return non-zero if one of them failed."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", help="benchmarks to run (e.g. check verify)")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args(argv)
    scripts = sorted(HERE.glob("bench_*.py"))
    if args.names:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in args.names]
    failed = []
    for script in scripts:
        print(f"\n### {script.stem}", flush=True)
        start = time.perf_counter()
        cmd = [sys.executable, str(script), *(["--quick"] if args.quick else [])]
        if subprocess.call(cmd) != 0:
            failed.append(script.stem)
        print(f"({script.stem} took {time.perf_counter() - start:.1f} s)", flush=True)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
