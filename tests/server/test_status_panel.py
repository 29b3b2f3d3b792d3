"""What the panel reads from the status besides the verdict: the saved file's dataflow graph
(dependents) and its recorded environment (real server)."""

from __future__ import annotations

from typing import Any

import pytest

from nbrepro.notebook_io import read_notebook, write_notebook
from tests.server.helpers import get_json, make_notebook

pytestmark = [pytest.mark.server]


def test_the_status_carries_the_dataflow_graph_and_the_recorded_environment(
    jp_fetch: Any, jp_root_dir: Any, run: Any
) -> None:
    path = make_notebook(jp_root_dir, "graph.ipynb", ["a = 1", "b = a + 1", "print(b)"])
    nb = read_notebook(path)
    ids = [c["id"] for c in nb["cells"]]
    doc = run(get_json(jp_fetch, "nbrepro", "api", "status", path="graph.ipynb"))
    assert doc["dependencies"] == {ids[1]: {ids[0]: ["a"]}, ids[2]: {ids[1]: ["b"]}}
    assert doc["recorded_environment"] is None

    # The file changes on disk (as the server's merge on save does): the status follows it.
    nb["metadata"]["nbrepro"] = {"environment": {"packages": {"numpy": "1.0.0"}}}
    write_notebook(nb, path)
    doc = run(get_json(jp_fetch, "nbrepro", "api", "status", path="graph.ipynb"))
    assert doc["recorded_environment"] == {"packages": {"numpy": "1.0.0"}}
    assert doc["requirements"].splitlines()[-1] == "numpy==1.0.0"

    nb["metadata"]["nbrepro"] = {"environment": {"packages": {"numpy": "1.0; rm -rf"}}}
    write_notebook(nb, path)
    doc = run(get_json(jp_fetch, "nbrepro", "api", "status", path="graph.ipynb"))
    assert doc["requirements"] is None
    assert any("invalid package" in u for u in doc["unavailable"]), doc["unavailable"]


def test_an_executed_copy_is_judged_from_the_original_folder_and_says_what_it_copies(
    jp_fetch: Any, jp_root_dir: Any, run: Any
) -> None:
    from nbrepro.jobs.worker import label_copy
    from nbrepro.record.hashing import hash_file

    original = make_notebook(jp_root_dir, "sub/reads.ipynb", ["open('data.csv').read()"])
    data = jp_root_dir / "sub" / "data.csv"
    data.write_text("a,b\n1,2\n")
    nb = read_notebook(original)
    digest = hash_file(data)
    nb["metadata"]["nbrepro"] = {
        "inputs": {"data.csv": {"hash": digest.hash, "size": digest.size, "kind": "file"}}
    }
    write_notebook(nb, original)
    copy = jp_root_dir / "nbrepro-verified" / "job1" / "reads.ipynb"
    copy.parent.mkdir(parents=True)
    write_notebook(nb, copy)

    def inputs(path: str) -> tuple[Any, list[str]]:
        doc = run(get_json(jp_fetch, "nbrepro", "api", "status", path=path))
        return doc["copy_of"], [i["status"] for i in doc["drift"]["inputs"]]

    # Unlabelled, the copy's inputs are looked for beside it: "missing" (the false finding).
    assert inputs("nbrepro-verified/job1/reads.ipynb") == (None, ["missing"])
    label_copy(copy, original)
    assert read_notebook(copy)["metadata"]["nbrepro_copy"]["of"] == "../../sub/reads.ipynb"
    assert inputs("nbrepro-verified/job1/reads.ipynb") == ("sub/reads.ipynb", ["unchanged"])
    assert inputs("sub/reads.ipynb") == (None, ["unchanged"])

    # A copy naming a notebook outside the root is judged beside itself.
    hostile = read_notebook(copy)
    hostile["metadata"]["nbrepro_copy"]["of"] = "../../../../../../etc/passwd"
    write_notebook(hostile, copy)
    assert inputs("nbrepro-verified/job1/reads.ipynb") == (None, ["missing"])
