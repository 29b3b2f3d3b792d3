"""``nbrepro check`` and ``nbrepro verify`` name a cell by the same number.

Text for people counts every cell from 1 (markdown included), as JupyterLab's status bar does;
machine formats keep 0-based ``index`` fields.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from tests.kernel_session import KernelSession, new_notebook

from nbrepro.cli import main

pytestmark = pytest.mark.kernel


def cli(capsys, *args: str) -> tuple[int, str]:
    code = main([*args])
    return code, capsys.readouterr().out


def numbers(text: str, pattern: str) -> set[int]:
    return {int(n) for n in re.findall(pattern, text)}


def test_check_and_verify_name_the_failing_cell_by_the_same_number(tmp_path: Path, capsys):
    # A markdown cell first, then a cell that uses `total` before the cell below defines it:
    # the user ran the third cell, then the second (a real kernel session).
    nb = new_notebook(["#md # Totals", "print(total)", "total = 41 + 1"])
    with KernelSession(nb, cwd=tmp_path) as session:
        session.run_order([2, 1])
        path = session.save(tmp_path / "totals.ipynb")

    code, checked = cli(capsys, "check", str(path))
    assert code == 1
    code, verified = cli(capsys, "verify", str(path), "--suggest")
    assert code == 1

    # JupyterLab shows the failing cell as "Cell 2" (the markdown cell is cell 1).
    assert numbers(checked, r"cell (\d+) \[cell-1\]") == {2}
    assert numbers(verified, r"cell (\d+) \(id cell-1\)") == {2}
    assert "totals.ipynb: NOT reproduced" in verified
    assert "  not reproducible: cell 2 uses `total`, which only cell 3 (below it) defines" in (
        verified
    )
    assert "cell 3 below defines it" in checked
    # The remedy and the check's fix name the same move.
    assert "Move cell 3 above cell 2" in checked
    assert "move cell 3 above cell 2 (it defines `total`" in verified

    # Machine formats keep 0-based indices.
    code, as_json = cli(capsys, "verify", str(path), "--format", "json")
    report = json.loads(as_json)["notebooks"][0]
    assert [(c["index"], c["id"], c["status"]) for c in report["cells"]] == [
        (1, "cell-1", "error"),
        (2, "cell-2", "ok"),
    ]
    assert report["diagnosis"].startswith("not reproducible: cell 2 ")
