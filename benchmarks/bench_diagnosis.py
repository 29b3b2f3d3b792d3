"""Attribution accuracy of ``nbrepro verify``'s diagnosis over the labelled corpus (issue 8).

Verifies every notebook of ``tests/fixtures/diagnosis/`` (real recorded sessions; a private
copy) with the options its label gives, compares the causes claimed per cell with the labelled
ones and prints per-cause counts, overall accuracy (target >= 95 %), claims without evidence
(target 0), and the median time the diagnosis itself takes per notebook (it runs only for
notebooks with failing cells; reproducible notebooks pay nothing).

    python benchmarks/bench_diagnosis.py            # the whole corpus
    python benchmarks/bench_diagnosis.py --quick    # a third of it
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "fixtures" / "diagnosis"
TARGET_ACCURACY = 0.95


def diagnosis_seconds(names: list[str]) -> list[float]:
    """Time of :func:`diagnose_notebook` alone per notebook, given every cell as a mismatch."""
    from nbrepro.diagnose import diagnose_notebook
    from nbrepro.record.drift import check_drift

    times = []
    for name in names:
        nb = json.loads((CORPUS / name).read_text(encoding="utf-8"))
        drift = check_drift(nb, CORPUS)

        class Outcome:
            def __init__(self, index: int, cell: dict) -> None:
                self.index, self.id, self.status = index, cell.get("id", ""), "mismatch"
                self.summary, self.error_name, self.error_value = "", None, None
                self.run_statuses = ["ok"]

        outcomes = [Outcome(i, c) for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"]
        start = time.perf_counter()
        diagnose_notebook(nb, outcomes, drift=drift)
        times.append(time.perf_counter() - start)
    return times


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return 0 when the targets are met, 1 otherwise."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="every third notebook only")
    parser.add_argument("-j", "--jobs", type=int, default=2, help="notebooks verified at once")
    args = parser.parse_args(argv)
    from diagnosis_scoring import load_labels, run_corpus

    names = sorted(load_labels(CORPUS)["notebooks"])
    if args.quick:
        names = names[::3]
    start = time.perf_counter()
    score = run_corpus(CORPUS, jobs=args.jobs, names=names)
    wall = time.perf_counter() - start
    print(f"{len(names)} notebooks verified and diagnosed in {wall:.1f} s")
    print(score.table())
    for cell in score.cells:
        if not cell.correct:
            roots = (
                f" (root: expected {cell.expected_root}, claimed {cell.claimed_root})"
                if not cell.root_correct
                else ""
            )
            print(
                f"  wrong: {cell.notebook} {cell.cell_id}: expected {cell.expected}, "
                f"claimed {cell.claimed}{roots}"
            )
    times = diagnosis_seconds(names)
    print(
        f"diagnosis alone: median {statistics.median(times) * 1000:.1f} ms per notebook "
        f"(max {max(times) * 1000:.1f} ms)"
    )
    ok = score.accuracy >= TARGET_ACCURACY and not score.unevidenced
    print("all targets met" if ok else "some targets missed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
