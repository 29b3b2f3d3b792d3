"""Scores of ``nbrepro verify`` on the whole labelled corpus of issue 18 (``tests/corpus``), with
the peers measured in the same run on the same notebooks.

* runs verdict: nbrepro (no cell error it was not marked to raise or that its stored outputs do
  not show) and ``jupyter execute`` (exit code 0) against the truth ``runs``;
* nbval-rule outputs verdict: ``nbrepro verify --nbval-compat`` and ``pytest --nbval`` (when
  nbval is installed) against the truth ``nbval``;
* the share of differing cells given the labelled (specific) cause; ``--drift-tolerant``.

    python benchmarks/bench_corpus.py [--jobs N]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.corpus.scoring import NOTEBOOKS, load_labels, score_corpus  # noqa: E402


def jupyter_execute_runs(folder: Path, names: list[str]) -> dict[str, bool]:
    """Whether ``jupyter execute`` runs each notebook (exit code 0)."""
    out = {}
    for name in names:
        done = subprocess.run(
            ["jupyter", "execute", str(folder / name)], capture_output=True, cwd=folder, check=False
        )
        out[name] = done.returncode == 0
    return out


def nbval_verdicts(folder: Path, names: list[str], labels: dict) -> dict[str, str] | None:
    """``pytest --nbval`` per notebook (``pass``/``fail``); ``None`` without nbval."""
    try:
        import nbval  # noqa: F401
    except ImportError:
        return None
    out = {}
    for name in names:
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval"]
        command += ["--nbval-current-env", "-p", "no:xdist", str(folder / name)]
        options = labels[name]["options"]
        conftest = folder / "conftest.py"
        if options.get("ignore_stderr"):
            conftest.write_text(
                "def pytest_collectstart(collector):\n"
                "    if collector.fspath and collector.fspath.ext == '.ipynb':\n"
                "        collector.skip_compare += ('stderr',)\n"
            )
        done = subprocess.run(command, capture_output=True, cwd=folder, check=False)
        conftest.unlink(missing_ok=True)
        out[name] = "pass" if done.returncode == 0 else "fail"
    return out


def main(argv: list[str] | None = None) -> int:
    """Print every figure; exit 1 when the cause share is under 90 %."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    labels = load_labels()
    names = sorted(labels)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.monotonic()
        score = score_corpus(Path(tmp), jobs=args.jobs)
        ours = time.monotonic() - started
        peers = Path(tmp) / "peers"
        peers.mkdir()
        for name in names:
            shutil.copy(NOTEBOOKS / name, peers / name)
        started = time.monotonic()
        executed = jupyter_execute_runs(peers, [n for n, _t, _s in score.runs])
        peer_seconds = time.monotonic() - started
        nbval = nbval_verdicts(peers, [n for n, _t, _s in score.nbval], labels)
    print(score.table())
    right = sum(executed[n] == truth for n, truth, _s in score.runs)
    print(
        f"jupyter execute runs verdict: {right} of {len(score.runs)} notebooks "
        f"({right / len(score.runs):.1%})"
    )
    for name, truth, _said in score.runs:
        if executed[name] != truth:
            print(f"  jupyter execute wrong: {name} truth={truth} exit0={executed[name]}")
    if nbval is None:
        print("nbval: not installed (pip install nbval to measure it)")
    else:
        agree = sum(nbval[n] == truth for n, truth, _s in score.nbval)
        print(f"pytest --nbval verdict: {agree} of {len(score.nbval)} notebooks")
        for name, truth, _said in score.nbval:
            if nbval[name] != truth:
                print(f"  nbval wrong: {name} truth={truth} nbval={nbval[name]}")
    print(
        f"time: nbrepro (every mode) {ours:.1f} s; jupyter execute (runs only) {peer_seconds:.1f} s"
    )
    return 0 if score.cause_share >= 0.9 else 1


if __name__ == "__main__":
    raise SystemExit(main())
