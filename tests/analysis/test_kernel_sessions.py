"""Notebooks made by a real kernel session, run the way users run them, then checked."""

from __future__ import annotations

import pytest

from nbrepro.analysis import analyze, suggest_order

pytestmark = pytest.mark.kernel


def rules(findings):
    return sorted({f.rule for f in findings})


def gaps_between_cells(findings):
    """Gap findings between two cells of the notebook.

    The shared kernel's counter goes on from earlier scenarios, so each notebook here also
    starts with a (true) gap before its first count; tests of other rules ignore NBR104.
    """
    return [f for f in findings if f.rule == "NBR104" and f.related_cells]


def test_clean_top_to_bottom_run_has_no_findings(scenario):
    nb = (
        scenario(
            ["import math", "#md Some text", "radius = 2.0", "area = math.pi * radius ** 2\narea"]
        )
        .run(0, 2, 3)
        .save()
    )
    assert analyze(nb, ignore=["execution-gap"]) == []
    assert not suggest_order(nb).changed


def test_cell_run_before_the_cell_above_it_is_flagged_with_its_dataflow(scenario):
    # The user wrote the area first, noticed `radius` was missing, added it below and ran it.
    nb = (
        scenario(["import math", "area = math.pi * radius ** 2\nprint(area)", "radius = 2.0"])
        .run(0, 2, 1)
        .save()
    )
    findings = analyze(nb, ignore=["NBR104"])
    by_rule = {f.rule: f for f in findings}
    assert rules(findings) == ["NBR101", "NBR201"]
    defined_below = by_rule["NBR201"]
    assert (defined_below.cell_index, defined_below.line, defined_below.column) == (1, 1, 18)
    assert "`radius`" in defined_below.message and "cell 3" in defined_below.message
    assert "ran first" in defined_below.message  # the saved counts show why it worked
    assert defined_below.related_cells == (2,)
    suggestion = suggest_order(nb)
    assert suggestion.order == [0, 2, 1]
    assert [(m.cell_index, m.before_index, m.names) for m in suggestion.moves] == [
        (2, 1, ("radius",))
    ]


def test_deleted_cell_leaves_hidden_state_and_a_gap(scenario):
    run = scenario(["import json", "config = {'k': 1}", "print(json.dumps(config))"])
    run.run(0, 1, 2).delete(1)
    nb = run.save()
    findings = analyze(nb)
    assert rules(findings) == ["NBR104", "NBR202"]
    undefined = next(f for f in findings if f.rule == "NBR202")
    assert undefined.cell_index == 1 and "`config`" in undefined.message
    [gap] = gaps_between_cells(findings)
    assert gap.cell_index == 1 and gap.related_cells == (0,)
    assert "the kernel may hold what that code made" in gap.message


def test_recorded_provenance_names_the_deleted_cell_that_ran(scenario):
    run = scenario(["import json", "config = {'k': 1}", "print(json.dumps(config))"])
    run.run(0, 1, 2).delete(1)
    nb = run.save(with_provenance=True)
    findings = analyze(nb)
    [undefined] = [f for f in findings if f.rule == "NBR202"]
    assert "deleted since" in undefined.message
    [gap] = gaps_between_cells(findings)
    assert "was a cell deleted since" in gap.message


def test_code_run_without_a_cell_id_is_not_called_a_deleted_cell(scenario):
    run = scenario(["import math", "print(round(math.pi * scale, 3))"]).run(0)
    run.session.execute_code("scale = 4")  # typed in a console: the request has no cell id
    nb = run.run(1).save(with_provenance=True)
    findings = analyze(nb)
    [gap] = gaps_between_cells(findings)
    assert "was code sent without a cell id (a console?)" in gap.message
    assert "deleted" not in gap.message
    # (the shared kernel ran earlier scenarios' cells: those count as deleted cells here)
    console = nb["cells"][1]["execution_count"] - 1
    [undefined] = [f for f in findings if f.rule == "NBR202"]
    assert "`scale`" in undefined.message and f"In [{console}]" not in undefined.message


def test_frontend_without_cell_ids_history_matches_cells_by_source(scenario):
    run = scenario(["a = 1", "b = a + 1", "print(a, b)"])
    for index in (0, 1, 1, 2):  # a frontend that sends no cell ids (derived ids recorded)
        cell = run.nb["cells"][index]
        reply, cell["outputs"] = run.session.execute_code(cell["source"])
        cell["execution_count"] = reply["execution_count"]
    nb = run.save(with_provenance=True)
    assert {e["cell_id_source"] for e in nb["metadata"]["nbrepro"]["executions"][-4:]} == {
        "derived"
    }
    [gap] = gaps_between_cells(analyze(nb))
    first_run = nb["cells"][1]["execution_count"] - 1
    assert gap.message.endswith(f"what ran: In [{first_run}] was cell 2, run again later")


def test_cell_edited_after_it_ran_has_stale_output_with_provenance_only(scenario):
    run = scenario(["values = [1, 2, 3]", "total = sum(values)\nprint(total)"])
    run.run(0, 1).edit(1, "total = sum(values) * 2\nprint(total)")
    with_prov = run.save("with.ipynb", with_provenance=True)
    without = run.save("without.ipynb")
    stale = [f for f in analyze(with_prov) if f.rule == "NBR301"]
    assert [(f.cell_index, f.severity) for f in stale] == [(1, "warning")]
    # The rule switches on only when provenance is present.
    assert analyze(without, ignore=["NBR104"]) == []


def test_unedited_cells_with_provenance_are_not_stale(scenario):
    run = scenario(["values = [1, 2, 3]", "total = sum(values)\nprint(total)"]).run(0, 1, 1)
    nb = run.save(with_provenance=True)
    assert [f.rule for f in analyze(nb) if f.rule == "NBR301"] == []


def test_rerun_cell_is_out_of_order_and_leaves_a_gap(scenario):
    nb = scenario(["n = 1", "n += 1", "print(n)"]).run(0, 1, 2, 1).save()
    findings = analyze(nb)
    assert rules(findings) == ["NBR101", "NBR104"]
    out_of_order = [f.cell_index for f in findings if f.rule == "NBR101"]
    assert out_of_order == [1]  # only the re-run cell, not every cell below it
    [gap] = gaps_between_cells(findings)
    assert gap.cell_index == 2 and gap.related_cells == (0,)  # In [n+1] was the first run of cell 2


def test_name_used_after_del_in_a_cell_run_late(scenario):
    nb = scenario(["x = [1, 2]", "del x", "print(len(x))"]).run(0, 2, 1).save()
    findings = analyze(nb)
    used_after_del = [f for f in findings if f.rule == "NBR203"]
    assert [(f.cell_index, f.line, f.column, f.related_cells) for f in used_after_del] == [
        (2, 1, 11, (1,))
    ]


def test_cell_added_but_never_run(scenario):
    nb = scenario(["a = 1", "b = a + 1", "# notes only", "print(b)"]).run(0, 1).save()
    never = [f.cell_index for f in analyze(nb) if f.rule == "NBR102"]
    assert never == [3]  # the comment-only cell is not worth running


def test_ipython_syntax_run_for_real_raises_no_false_alarm(scenario):
    sources = [
        "%matplotlib inline\nimport os",
        "files = !ls\n!echo {len(files)}",
        "%%capture captured\nprint('hidden')",
        "captured.stdout",
        "%time squares = [i * i for i in range(5)]",
        "len?",
        "here = %pwd\nos.path.isdir(here)",
        "display(squares[-1])\n_ + 1 if isinstance(_, int) else Out",
        "try:\n    cache\nexcept NameError:\n    cache = {}\nif 'ready' in globals():\n"
        "    print(ready)",
        "def f(x, *, scale=2):\n    return [x * scale for _ in range(2)]\nf(3)",
        "match f(1):\n    case [a, *rest]:\n        first = a\n    case _:\n        first = None",
        "if (size := len(files)) >= 0:\n    print(size, first)",
        "get_ipython().run_line_magic('who', '')\nIn[-1]",
    ]
    nb = scenario(sources).run(*range(len(sources))).save()
    errors = [c for c in nb["cells"] for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert errors == []
    assert analyze(nb, ignore=["NBR104"]) == []


def test_non_python_kernel_gets_execution_order_findings_only(scenario):
    nb = scenario(["import math", "area = math.pi * r ** 2", "r = 2.0"]).run(0, 2, 1).save()
    nb["metadata"]["language_info"] = {"name": "julia"}
    nb["metadata"]["kernelspec"] = {
        "name": "julia-1.10",
        "language": "julia",
        "display_name": "Julia",
    }
    assert rules(analyze(nb, ignore=["NBR104"])) == ["NBR101"]
    assert set(rules(analyze(nb))) <= {"NBR101", "NBR102", "NBR103", "NBR104"}
    suggestion = suggest_order(nb)
    assert suggestion.order is None and "julia" in (suggestion.reason or "")


def test_partial_rerun_after_a_kernel_restart_is_reported_as_two_sessions(tmp_path):
    from nbrepro.notebook_io import read_notebook
    from tests.kernel_session import KernelSession, new_notebook

    nb = new_notebook(["x = 1", "print(x)", "z = 3", "print(z)"])
    with KernelSession(nb) as session:
        session.run_order([0, 1, 2, 3])
        session.km.restart_kernel(now=True)
        session.kc.wait_for_ready(timeout=60)
        session.run_order([2, 3])
        saved = read_notebook(session.save(tmp_path / "restarted.ipynb"))
    assert [c["execution_count"] for c in saved["cells"]] == [1, 2, 1, 2]
    findings = analyze(saved)
    assert [(f.rule, f.cell_index) for f in findings] == [("NBR101", 0), ("NBR101", 1)]
    assert "both show In [1]: the kernel restarted between their runs" in findings[0].message
