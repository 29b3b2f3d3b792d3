"""Comparing environments: packages added, removed, changed; Python, platform, variables."""

from __future__ import annotations

import copy
from typing import Any

from nbrepro.record.envdiff import diff_environments
from nbrepro.record.environment import snapshot


def _env(packages: dict[str, str], scope: str = "all", **over: Any) -> dict[str, Any]:
    env = {
        "python": {"version": "3.11.7", "implementation": "CPython"},
        "platform": {"system": "Linux", "release": "6.1", "machine": "x86_64"},
        "packages": packages,
        "packages_scope": scope,
        "packages_digest": "sha256:00",
        "env_vars": {},
    }
    env.update(over)
    return env


def test_identical_environments_have_no_drift() -> None:
    current = snapshot(["yaml"])
    diff = diff_environments(copy.deepcopy(current), current)
    assert diff.is_empty
    assert diff.render_text() == "No environment drift."
    assert diff.to_dict()["drift"] is False


def test_added_removed_and_changed_packages_are_reported() -> None:
    recorded = _env({"numpy": "1.26.0", "pandas": "2.1.0", "scipy": "1.11.0"})
    current = _env({"numpy": "2.0.0", "pandas": "2.1.0", "polars": "1.0"})
    diff = diff_environments(recorded, current)
    assert diff.added == {"polars": "1.0"}
    assert diff.removed == {"scipy": "1.11.0"}
    assert [(c.name, c.recorded, c.current) for c in diff.changed] == [("numpy", "1.26.0", "2.0.0")]
    assert not diff.is_empty
    text = diff.render_text()
    assert "package changed: numpy 1.26.0 -> 2.0.0" in text
    assert "package removed: scipy" in text
    assert "package added: polars" in text


def test_recorded_imported_set_is_compared_with_the_same_packages_now() -> None:
    recorded = _env({"numpy": "2.0.0"}, scope="imported")
    current = _env({"numpy": "2.0.0", "pandas": "2.2", "zzz": "1"}, scope="all")
    diff = diff_environments(recorded, current)
    assert diff.is_empty
    current["packages"]["numpy"] = "2.1.0"
    assert [c.name for c in diff_environments(recorded, current).changed] == ["numpy"]
    del current["packages"]["numpy"]
    assert diff_environments(recorded, current).removed == {"numpy": "2.0.0"}


def test_python_and_platform_changes_are_drift() -> None:
    recorded = _env({})
    current = _env(
        {},
        python={"version": "3.12.1", "implementation": "CPython"},
        platform={"system": "Darwin", "release": "23.0", "machine": "arm64"},
    )
    diff = diff_environments(recorded, current)
    assert [(c.name, c.current) for c in diff.python] == [("version", "3.12.1")]
    assert {c.name for c in diff.platform} == {"system", "machine", "release"}
    assert "Python version: 3.11.7 -> 3.12.1" in diff.summary_lines()


def test_result_changing_variables_are_compared_both_ways() -> None:
    recorded = _env({}, env_vars={"PYTHONHASHSEED": "0"})
    current = _env({}, env_vars={"OMP_NUM_THREADS": "8"})
    diff = diff_environments(recorded, current)
    assert {(c.name, c.recorded, c.current) for c in diff.env_vars} == {
        ("PYTHONHASHSEED", "0", None),
        ("OMP_NUM_THREADS", None, "8"),
    }


def test_other_installed_packages_are_information_not_drift() -> None:
    recorded = _env({"numpy": "2.0.0"}, scope="imported", packages_digest="sha256:aa")
    current = _env({"numpy": "2.0.0"}, scope="all", packages_digest="sha256:bb")
    diff = diff_environments(recorded, current)
    assert diff.is_empty
    assert diff.installed_set_changed
    assert diff.to_dict()["installed_set_changed"] is True
