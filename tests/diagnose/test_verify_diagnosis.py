"""``nbrepro verify`` shows the diagnosis: a line per notebook, causes per cell, remedies."""

from __future__ import annotations

import json

import jsonschema
import pytest

from nbrepro.cli import main
from nbrepro.report.json_report import report_schema

pytestmark = pytest.mark.kernel

NAMES = ["input_changed.ipynb", "execution_order_name_error.ipynb", "clean.ipynb"]


def test_json_report_carries_cause_evidence_and_remedies(corpus, capsys):
    paths = [str(corpus / n) for n in NAMES]
    code = main(["verify", *paths, "-j", "2", "--format", "json", "--suggest"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    jsonschema.validate(report, report_schema())
    by_name = {nb["path"].rsplit("/", 1)[-1]: nb for nb in report["notebooks"]}

    changed = by_name["input_changed.ipynb"]
    assert changed["diagnosis"] == (
        "not reproducible: cell 2 reads data/ic_train.csv, which changed since it ran"
    )
    cell = changed["cells"][1]
    assert cell["cause"] == "input-changed" and cell["evidence"][0]["kind"] == "input"
    assert cell["evidence"][0]["details"]["path"] == "data/ic_train.csv"
    assert cell["remedy"] == "restore data/ic_train.csv or re-run the notebook and save it"
    assert changed["cells"][0]["cause"] is None and changed["cells"][0]["causes"] == []
    assert [r["kind"] for r in changed["remedies"]] == ["rerun"]

    order = by_name["execution_order_name_error.ipynb"]
    assert order["cells"][0]["cause"] == "execution-order"
    assert order["cells"][0]["remedy"] == "move cell 2 above cell 1 or re-run in order"
    remedy = order["remedies"][0]
    assert remedy["kind"] == "cell-order" and remedy["order"] == [1, 0]
    assert "move cell 2 above cell 1" in remedy["message"]

    clean = by_name["clean.ipynb"]
    assert clean["status"] == "reproduced" and clean["diagnosis"] == ""
    assert clean["remedies"] == []


def test_text_report_has_a_summary_line_and_the_cause_under_each_failing_cell(corpus, capsys):
    code = main(["verify", str(corpus / "nondeterminism_numpy_static.ipynb"), "--suggest"])
    out = capsys.readouterr().out
    assert code == 1
    lines = out.splitlines()
    assert lines[1] == (
        "  not reproducible: cell 2 calls numpy.random.rand() and no cell above seeds "
        "numpy's global generator"
    )
    assert "    cause: nondeterminism: calls numpy.random.rand()" in out
    assert "  suggest (seed): add at the top of the first code cell" in out
    assert "    np.random.seed(0)" in out
