"""The rule registry, rule selection and the Finding record."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from nbrepro.analysis import RULES, Finding, analyze, select_rules
from nbrepro.errors import UsageError

from .conftest import notebook

DOCS = Path(__file__).resolve().parents[2] / "docs" / "check.md"


def test_rule_ids_names_and_severities_are_well_formed():
    assert all(re.fullmatch(r"NBR[1-3]\d\d", rule) for rule in RULES)
    names = [spec.name for spec in RULES.values()]
    assert len(set(names)) == len(names)
    assert {spec.severity for spec in RULES.values()} <= {"error", "warning", "info"}


def test_select_by_id_prefix_name_and_all():
    assert select_rules(["NBR101"]) == {"NBR101"}
    assert select_rules(["NBR2"]) == {"NBR201", "NBR202", "NBR203"}
    assert select_rules(["out-of-order", "stale-output"]) == {"NBR101", "NBR301"}
    assert select_rules(["ALL"], ["NBR1"]) == set(RULES) - {r for r in RULES if r < "NBR2"}
    assert select_rules("NBR101,NBR102") == {"NBR101", "NBR102"}
    assert select_rules(None, None) == set(RULES)


@pytest.mark.parametrize("bad", ["NBR999", "E501", "outoforder"])
def test_unknown_rule_is_a_usage_error(bad):
    with pytest.raises(UsageError, match=bad):
        select_rules([bad])
    with pytest.raises(UsageError):
        analyze(notebook(["x = 1"]), ignore=[bad])


def test_finding_to_dict_is_json_with_stable_keys():
    nb = notebook(["y = x", "x = 1"])
    [finding] = analyze(nb)
    data = finding.to_dict()
    assert list(data) == [
        "rule",
        "name",
        "severity",
        "cell_index",
        "cell_id",
        "line",
        "column",
        "message",
        "fix",
        "related_cells",
    ]
    assert json.loads(json.dumps(data)) == data
    assert data["cell_id"] == nb["cells"][0]["id"] and data["related_cells"] == [1]
    assert Finding(**{**data, "related_cells": (1,)}) == finding


def test_findings_are_sorted_by_cell_then_position():
    nb = notebook(["print(b)\nprint(a)", "a = 1\nb = 2"])
    nb["cells"][0]["execution_count"], nb["cells"][1]["execution_count"] = 2, 1
    keys = [f.sort_key() for f in analyze(nb)]
    assert keys == sorted(keys)


def test_docs_describe_every_rule():
    text = DOCS.read_text(encoding="utf-8")
    for rule, spec in RULES.items():
        assert f"## {rule} {spec.name}" in text, rule
