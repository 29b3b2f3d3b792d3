"""Cell tags and nbval comment markers -> CellPolicy."""

from __future__ import annotations

import pytest

from nbrepro.compare import CellPolicy, cell_policy


def _cell(source="x = 1", tags=None):
    cell = {"cell_type": "code", "source": source, "metadata": {}, "outputs": []}
    if tags is not None:
        cell["metadata"]["tags"] = tags
    return cell


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        (["skip-execution"], CellPolicy(skip=True)),
        (["nbval-skip"], CellPolicy(skip=True)),
        (["nbrepro-skip"], CellPolicy(skip=True)),
        (["raises-exception"], CellPolicy(raises_exception=True)),
        (["nbval-raises-exception"], CellPolicy(raises_exception=True)),
        (["nbrepro-raises-exception"], CellPolicy(raises_exception=True)),
        (["nbval-ignore-output"], CellPolicy(ignore_output=True)),
        (["nbrepro-ignore-output"], CellPolicy(ignore_output=True)),
        (["nbval-check-output"], CellPolicy(check_output=True)),
        (["nbrepro-check-output"], CellPolicy(check_output=True)),
        (["parameters", "hide-input"], CellPolicy()),
    ],
)
def test_each_tag_sets_its_policy(tags, expected):
    assert cell_policy(_cell(tags=tags)) == expected


@pytest.mark.parametrize(
    ("marker", "expected"),
    [
        ("NBVAL_SKIP", CellPolicy(skip=True)),
        ("NBVAL_RAISES_EXCEPTION", CellPolicy(raises_exception=True)),
        ("NBVAL_IGNORE_OUTPUT", CellPolicy(ignore_output=True)),
        ("PYTEST_VALIDATE_IGNORE_OUTPUT", CellPolicy(ignore_output=True)),
        ("NBVAL_CHECK_OUTPUT", CellPolicy(check_output=True)),
    ],
)
def test_each_nbval_comment_marker_sets_its_policy(marker, expected):
    assert cell_policy(_cell(f"# {marker}\nprint(1)")) == expected
    assert cell_policy(_cell(["import os\n", f"  #{marker}  \n", "os.getcwd()"])) == expected


def test_markers_must_be_whole_comment_lines():
    assert cell_policy(_cell("x = 1  # NBVAL_SKIP")) == CellPolicy()
    assert cell_policy(_cell("# NBVAL_SKIP because slow")) == CellPolicy()
    assert cell_policy(_cell("print('# NBVAL_SKIP')")) == CellPolicy()


def test_comment_marker_overrides_tag_and_last_one_wins():
    both = _cell("# NBVAL_CHECK_OUTPUT", tags=["nbval-ignore-output"])
    assert cell_policy(both) == CellPolicy(check_output=True)
    assert cell_policy(_cell("# NBVAL_CHECK_OUTPUT\n# NBVAL_IGNORE_OUTPUT")) == CellPolicy(
        ignore_output=True
    )
    combined = cell_policy(_cell("# NBVAL_RAISES_EXCEPTION", tags=["skip-execution"]))
    assert combined == CellPolicy(skip=True, raises_exception=True)


def test_markdown_cells_and_odd_metadata_get_the_default_policy():
    assert cell_policy({"cell_type": "markdown", "source": "# NBVAL_SKIP", "metadata": {}}) == (
        CellPolicy()
    )
    odd = {"cell_type": "code", "source": "1", "metadata": {"tags": "skip-execution"}}
    assert cell_policy(odd) == CellPolicy()
