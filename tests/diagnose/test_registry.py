"""The registry of cause rules: documented ids, priority order, fallbacks, the JSON of a cell."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tests.diagnose.outcomes import Outcome

from nbrepro.diagnose import CAUSES, Cause, CellDiagnosis, Evidence, diagnose_notebook
from nbrepro.diagnose.cell_facts import failing_cell
from nbrepro.diagnose.facts import notebook_facts
from nbrepro.diagnose.registry import RULES, CauseRule, rule, run_rules

DOCS = Path(__file__).resolve().parents[2] / "docs" / "diagnosis.md"


def documented_causes() -> list[str]:
    """The cause ids of the table under ``## Causes`` in docs/diagnosis.md, in order."""
    text = DOCS.read_text(encoding="utf-8")
    section = text.split("## Causes", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `([a-z-]+)` \|", section, flags=re.MULTILINE)


def notebook(*sources: str) -> dict:
    cells = [
        {"cell_type": "code", "id": f"c{i}", "metadata": {}, "source": s, "outputs": []}
        for i, s in enumerate(sources)
    ]
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells}


def test_every_registered_cause_id_is_documented_in_docs_diagnosis_md():
    import nbrepro.diagnose.rules  # noqa: F401  (registers the rules)

    documented = documented_causes()
    assert len(documented) == len(set(documented))
    assert {r.cause for r in RULES} <= set(documented)
    assert set(documented) == set(CAUSES)
    # Every cause but ``unknown`` (what is left when no rule claims) has a rule.
    assert {r.cause for r in RULES} == set(CAUSES) - {"unknown"}


def test_rules_run_in_declared_priority_order_with_the_fallback_last():
    names = [r.name for r in RULES]
    assert names[:5] == [
        "kernel_died",
        "timeout",
        "missing_module",
        "missing_file",
        "upstream_failed",
    ]
    assert names.index("environment_changed") < names.index("execution_order")
    assert names.index("nondeterminism") < names.index("external_resource")
    assert [r.name for r in RULES if r.fallback] == ["environment_drift"]
    assert all(r.summary for r in RULES), "every rule says what it claims in its docstring"


def test_registering_an_unknown_cause_or_status_is_refused():
    with pytest.raises(ValueError, match="unknown cause id 'cosmic-rays'"):
        rule("cosmic-rays")
    with pytest.raises(ValueError, match="unknown statuses"):
        rule("timeout", statuses={"sleepy"})


def test_claims_of_equal_strength_keep_rule_order_and_a_fallback_runs_only_when_unclaimed():
    def first(cell):
        yield "first: looked"
        yield Cause("code-edited", "first", 50, [Evidence("run", "a")])

    def second(cell):
        yield Cause("input-changed", "second", 50, [Evidence("run", "b")], remedy="do b")

    def fallback(cell):
        yield Cause("environment-changed", "weak", 30, [Evidence("environment", "c")])

    statuses = frozenset({"mismatch"})
    rules = [
        CauseRule("environment-changed", fallback, statuses, fallback=True),
        CauseRule("code-edited", first, statuses),
        CauseRule("input-changed", second, statuses),
    ]
    book = notebook_facts(notebook("x = 1"), None, 1, "stored", {})
    cell = failing_cell(book, Outcome(0, "c0", "mismatch"), [], {})
    diagnosis = run_rules(cell, rules)
    assert diagnosis.cause_ids == ["code-edited", "input-changed"]
    assert diagnosis.checked == ["first: looked"]
    assert diagnosis.remedy is None  # the strongest (first) cause has none
    alone = run_rules(cell, [rules[0]])
    assert alone.cause_ids == ["environment-changed"]
    # A rule does not run for a status it does not declare.
    assert run_rules(cell, [CauseRule("timeout", second, frozenset({"timeout"}))]).cause_ids == [
        "unknown"
    ]


def test_cell_json_keeps_its_keys_and_adds_the_cause_summary_and_the_remedy():
    nb = notebook("print(undefined_thing)")
    outcome = Outcome(0, "c0", "error", "", "NameError", "name 'undefined_thing' is not defined")
    data = diagnose_notebook(nb, [outcome]).cells[0].to_dict()
    assert list(data) == ["cause", "cause_summary", "evidence", "remedy", "causes", "checked"]
    assert data["cause"] == "hidden-state"
    assert data["cause_summary"] == data["causes"][0]["summary"]
    assert data["remedy"] == (
        "define `undefined_thing` in a cell, or restart the kernel and run all to check"
    )
    assert "remedy" not in data["causes"][0]  # the causes' JSON is unchanged


def test_a_merged_claim_keeps_the_stronger_remedy():
    diagnosis = CellDiagnosis(0, "c")
    diagnosis.add(Cause("code-edited", "weak", 10, [Evidence("run", "a")], remedy="weak one"))
    diagnosis.add(Cause("code-edited", "strong", 90, [Evidence("run", "b")], remedy="strong one"))
    diagnosis.add(Cause("code-edited", "weaker", 5, [Evidence("run", "c")], remedy="no"))
    diagnosis.finish()
    assert diagnosis.remedy == "strong one" and diagnosis.cause.summary == "strong"


def test_every_cause_has_a_row_in_the_remedy_table():
    text = DOCS.read_text(encoding="utf-8")
    section = text.split("### Per-cell remedy", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([a-z-]+)` \|", section, flags=re.MULTILINE)
    assert rows == documented_causes()


def test_the_json_report_schema_accepts_exactly_the_cause_ids_there_are():
    import json

    schema = json.loads(
        (
            Path(__file__).parents[2] / "src" / "nbrepro" / "schemas" / "verify-report.schema.json"
        ).read_text()
    )
    assert sorted(schema["$defs"]["cause_id"]["enum"]) == sorted(CAUSES)
