"""Attribution rules on recorded notebooks, given cell outcomes (verify supplies them for real
in test_corpus.py and test_verify_diagnosis.py)."""

from __future__ import annotations

import json

import pytest
from tests.diagnose.outcomes import Outcome

from nbrepro.diagnose import Cause, CellDiagnosis, Evidence, diagnose_notebook


def load(corpus, name):
    return json.loads((corpus / name).read_text())


def test_a_cause_without_evidence_or_with_an_unknown_id_is_refused():
    diagnosis = CellDiagnosis(0, "c")
    with pytest.raises(ValueError, match="without evidence"):
        diagnosis.add(Cause("code-edited", "was edited", 85, []))
    with pytest.raises(ValueError, match="unknown cause id"):
        diagnosis.add(Cause("cosmic-rays", "x", 1, [Evidence("run", "x")]))


def test_without_provenance_nothing_recorded_is_claimed_and_unknown_lists_the_checks(corpus):
    nb = load(corpus, "code_edited.ipynb")
    del nb["metadata"]["nbrepro"]
    result = diagnose_notebook(nb, [Outcome(1, "cell-1", "mismatch")])
    cell = result.cells[1]
    assert cell.cause_ids == ["unknown"]
    assert any("no recorded provenance" in line for line in cell.checked)
    assert [e.message for e in cell.cause.evidence] == cell.checked
    assert result.summary.startswith("not reproducible: cell 2 did not reproduce")


def test_recorded_edit_is_claimed_only_against_the_stored_outputs(corpus):
    nb = load(corpus, "code_edited.ipynb")
    outcome = Outcome(1, "cell-1", "mismatch")
    stored = diagnose_notebook(nb, [outcome]).cells[1]
    assert stored.cause_ids == ["code-edited"]
    assert (
        stored.cause.evidence[0].details["recorded"] != stored.cause.evidence[0].details["current"]
    )
    against = diagnose_notebook(nb, [outcome], baseline="against").cells[1]
    assert "code-edited" not in against.cause_ids


def test_reproducing_cells_get_no_diagnosis(corpus):
    nb = load(corpus, "clean.ipynb")
    result = diagnose_notebook(nb, [Outcome(0, "cell-0", "ok"), Outcome(1, "cell-1", "ok")])
    assert result.cells == {} and result.summary == ""


def test_fixed_hash_seed_silences_the_set_order_hint(corpus):
    nb = load(corpus, "nondeterminism_hash_order.ipynb")
    outcome = Outcome(1, "cell-1", "mismatch")
    unset = diagnose_notebook(nb, [outcome], kernel_env={}).cells[1]
    fixed = diagnose_notebook(nb, [outcome], kernel_env={"PYTHONHASHSEED": "0"}).cells[1]
    assert unset.cause_ids == ["nondeterminism"]
    assert fixed.cause_ids == ["unknown"]
