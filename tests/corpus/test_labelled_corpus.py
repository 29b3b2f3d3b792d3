"""The labelled corpus of issue 18, re-verified with real kernels and scored against its truth.

The notebooks are committed (``make_corpus.py`` made them in real kernel sessions, the library
drift in a second virtual environment with older releases); this test never regenerates them.
"""

from __future__ import annotations

import json

import pytest

from nbrepro.diagnose import CAUSES

from .make_corpus import CASES, labels_of
from .scoring import NOTEBOOKS, load_labels, score_corpus

pytestmark = pytest.mark.kernel

#: The causes the corpus must cover (each kind issue 18 names).
KINDS = {
    "library-drift",
    "api-removed",
    "external-resource",
    "timing",
    "ordering",
    "rerun-accumulation",
    "upstream-failed",
    "nondeterminism",
}


def test_corpus_labels_are_the_generator_truth_and_cover_every_kind_with_100_cells():
    labels = load_labels()
    assert labels == labels_of(CASES)["notebooks"]
    cells = [label for truth in labels.values() for label in truth["cells"].values()]
    assert len(cells) >= 100
    assert {c for c in cells if c} >= KINDS
    assert {c for c in cells if c} <= set(CAUSES)
    assert {t["nbval"] for t in labels.values()} == {"pass", "fail", None}
    for name in labels:
        nb = json.loads((NOTEBOOKS / name).read_text())
        assert "nbrepro" not in nb["metadata"], f"{name} must carry no recorded provenance"
        ids = [c.get("id") for c in nb["cells"] if c["cell_type"] == "code"]
        assert sorted(ids) == sorted(labels[name]["cells"]), name


#: The notebooks re-verified on every test run (every kind, every nbval rule, the deliberate
#: errors); ``python benchmarks/bench_corpus.py`` scores all of them.
REPRESENTATIVE = [
    f"{name}.ipynb"
    for name in (
        "numpy_scalars",
        "removed_apis",
        "network",
        "timing",
        "ordering",
        "reruns",
        "deliberate_errors",
        "history_in_memory",
        "nbval_coalesce",
        "nbval_stderr",
        "nbval_latex",
        "nbval_unrun",
        "nbval_unrun_outputs",
        "nbval_images",
        "nbval_no_normalisation",
        "nbval_raises_other",
    )
]


def test_scores_runs_nbval_and_specific_cause_on_the_labelled_corpus(tmp_path):
    score = score_corpus(tmp_path, jobs=2, names=REPRESENTATIVE)
    print("\n" + score.table())
    assert not score.unevidenced
    assert score.nbval_accuracy == 1.0, score.table()
    assert score.runs_accuracy >= 0.95, score.table()
    assert score.tolerant_accuracy == 1.0, score.table()
    assert score.cause_share >= 0.9, score.table()
    assert len(score.differing) >= 30
    assert len(score.false_differences) <= 1, score.table()
