"""``nbrepro verify`` end to end with real kernels over the golden notebooks.

Each test runs the real command (in-process through ``nbrepro.cli.main``, or as a subprocess
where the process boundary matters) and groups the assertions one kernel run supports.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
from tests.kernel_session import new_notebook

from nbrepro.cli import main
from nbrepro.report.json_report import report_schema

pytestmark = pytest.mark.kernel


def run(capsys, *args: str | os.PathLike[str]) -> tuple[int, str, str]:
    code = main(["verify", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def by_path(report: dict, name: str) -> dict:
    return next(nb for nb in report["notebooks"] if Path(nb["path"]).name == name)


def cells(notebook: dict) -> dict[int, str]:
    return {c["index"]: c["status"] for c in notebook["cells"]}


def test_mixed_batch_in_parallel_reports_every_verdict(nbdir, tmp_path, capsys):
    names = ["reproducible", "old_format", "empty", "changed", "error", "nondeterministic", "dies"]
    paths = [nbdir / f"{n}.ipynb" for n in names]
    before = {p: p.read_bytes() for p in paths}
    junit, events, kept = tmp_path / "junit.xml", tmp_path / "events.jsonl", tmp_path / "kept"
    code, out, _ = run(
        capsys,
        *paths,
        "-j",
        "2",
        "--format",
        "json",
        "--junit-xml",
        junit,
        "--events",
        events,
        "--output",
        kept,
    )
    assert code == 1
    report = json.loads(out)
    jsonschema.validate(report, report_schema())
    assert report["summary"] == {"reproduced": 4, "not-reproduced": 2, "could-not-run": 1}
    assert not report["reproducible"] and report["exit_code"] == 1

    repro = by_path(report, "reproducible.ipynb")
    assert repro["status"] == "reproduced" and repro["reproducible"]
    assert cells(repro) == {
        0: "ok",
        1: "ok",
        2: "ok",
        3: "ok",
        4: "ok",
        5: "ok",
        6: "ok",
        7: "ok",
        8: "ignored",
        9: "ok",
        10: "ok",
        11: "skipped",
        12: "skipped",
        13: "ignored",
        14: "ok",
    }
    old = by_path(report, "old_format.ipynb")
    assert old["status"] == "reproduced"
    assert [c["id"] for c in old["cells"]] == ["index-0", "index-1"]
    empty = by_path(report, "empty.ipynb")
    assert empty["status"] == "reproduced" and "trivially" in empty["reason"]

    changed = by_path(report, "changed.ipynb")
    assert changed["status"] == "not-reproduced"
    assert cells(changed) == {0: "ok", 1: "mismatch", 2: "ok", 3: "mismatch"}
    assert "-21" in changed["cells"][1]["diff"] and "+22" in changed["cells"][1]["diff"]
    assert "none was raised" in changed["cells"][3]["summary"]
    error = by_path(report, "error.ipynb")
    # Its stored KeyError recurs, the same: reproduced (as papermill's, nbclient's and
    # nbmake's tests expect of deliberate errors).
    assert cells(error) == {0: "ok", 1: "ok", 2: "ok"}
    assert "raised the stored error again" in error["cells"][1]["summary"]
    assert error["cells"][1]["error_name"] == "KeyError"
    nondet = by_path(report, "nondeterministic.ipynb")
    assert cells(nondet) == {0: "ok", 1: "mismatch"}
    dies = by_path(report, "dies.ipynb")
    assert dies["status"] == "could-not-run" and not dies["reproducible"]
    assert "cell 2 (id cell-1)" in dies["reason"]
    assert cells(dies) == {0: "ok", 1: "kernel-died", 2: "not-run"}

    # the inputs are byte-identical; executed copies kept, without ids added to old notebooks
    assert all(p.read_bytes() == data for p, data in before.items())
    kept_old = json.loads(next(kept.rglob("old_format.ipynb")).read_text())
    assert all("id" not in c for c in kept_old["cells"])
    assert kept_old["cells"][1]["outputs"][0]["text"] == ["42\n"]
    assert len(list(kept.rglob("*.ipynb"))) == len(names)

    suites = ET.parse(junit).getroot()
    assert suites.tag == "testsuites" and len(suites) == len(names)
    assert int(suites.get("failures")) == 3  # changed x2, nondeterministic mismatch
    assert int(suites.get("errors")) == 2  # kernel-died, not-run (the stored error recurs)
    changed_suite = next(s for s in suites if s.get("name").endswith("changed.ipynb"))
    assert [case.find("failure") is not None for case in changed_suite] == [
        False,
        True,
        False,
        True,
    ]

    lines = [json.loads(line) for line in events.read_text().splitlines()]
    assert lines[0] == {**lines[0], "event": "batch-started", "notebooks": len(names)}
    for name in names:
        mine = [e for e in lines[1:] if e["notebook"].endswith(f"{name}.ipynb")]
        assert mine[0]["event"] == "notebook-started" and mine[-1]["event"] == "notebook-finished"
    finished = [
        e for e in lines[1:] if e["event"] == "cell-finished" and "changed" in e["notebook"]
    ]
    assert [(e["index"], e["id"], e["status"]) for e in finished] == [
        (0, "cell-0", "ok"),
        (1, "cell-1", "ok"),
        (2, "cell-2", "ok"),
        (3, "cell-3", "ok"),
    ]
    assert all(isinstance(e["duration"], float) for e in finished)


def test_directory_run_skips_checkpoints_and_exits_zero_without_tcp_noise(nbdir, tmp_path):
    folder = tmp_path / "project"
    (folder / "sub" / ".ipynb_checkpoints").mkdir(parents=True)
    shutil.copy2(nbdir / "reproducible.ipynb", folder / "reproducible.ipynb")
    shutil.copy2(nbdir / "old_format.ipynb", folder / "sub" / "old_format.ipynb")
    (folder / "sub" / ".ipynb_checkpoints" / "old_format-checkpoint.ipynb").write_text("{broken")
    proc = subprocess.run(
        [sys.executable, "-m", "nbrepro", "verify", str(folder), "-j", "2"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 of 2 notebooks reproduced" in proc.stdout
    assert "checkpoint" not in proc.stdout
    assert "TCP without encryption" not in proc.stdout + proc.stderr
    assert "\r" not in proc.stderr  # no progress bar when stderr is not a terminal


def test_runs_two_reports_nondeterminism_distinct_from_mismatch(nbdir, capsys):
    code, out, _ = run(capsys, nbdir / "nondeterministic.ipynb", "--runs", "2", "--format", "json")
    assert code == 1
    notebook = json.loads(out)["notebooks"][0]
    cell = notebook["cells"][1]
    assert cell["status"] == "nondeterministic"
    assert cell["determinism_diff"] and cell["diff"]  # differs between runs and from the store
    assert cell["run_statuses"] == ["ok", "ok"]
    assert notebook["cells"][0]["status"] == "ok"
    assert len(notebook["run_durations"]) == 2


def test_parameters_against_stored_papermill_metadata(nbdir, capsys):
    nb = nbdir / "params_n4.ipynb"
    code, _, err = run(capsys, nb, "-p", "n", "5")
    assert code == 2
    assert 'made with {"n": 4}, not with the given parameters {"n": 5}' in err
    assert "--against" in err and len(err.strip().splitlines()) == 1

    code, out, _ = run(capsys, nb, "-p", "n", "4", "--format", "json")
    report = json.loads(out)["notebooks"][0]
    assert code == 0 and report["baseline"] == "stored" and report["parameters"] == {"n": 4}

    code, out, _ = run(
        capsys, nb, "-y", "n: 5", "--against", nbdir / "params_n5.ipynb", "--format", "json"
    )
    report = json.loads(out)["notebooks"][0]
    assert code == 0, report
    assert report["baseline"] == "against"
    assert report["cells"][2]["status"] == "ok"  # "base [0, 1, 4, 9, 16]" as papermill made it

    code, out, _ = run(capsys, nb, "-p", "n", "5", "--runs", "2", "--format", "json")
    report = json.loads(out)["notebooks"][0]
    assert code == 0 and report["baseline"] == "none"
    assert any("checking determinism only" in w for w in report["warnings"])


def test_sanitizer_tolerance_and_lax_mode(nbdir, capsys):
    nb = nbdir / "tolerance.ipynb"
    code, out, _ = run(capsys, nb)
    assert code == 1 and "run at" in out
    code, out, _ = run(capsys, nb, "--sanitize", nbdir / "tolerance.sanitize.cfg", "--atol", "1e-6")
    assert code == 0, out
    code, out, _ = run(capsys, nb, "--lax", "-v")
    assert code == 0 and "outputs not compared (--lax)" in out


def test_cell_timeout_stops_the_notebook(nbdir, capsys):
    code, out, _ = run(capsys, nbdir / "slow.ipynb", "--timeout", "1")
    assert code == 1
    assert "could not run (stopped by the cell timeout at cell 2 (id cell-1)" in out
    assert "cell 3 (id cell-2) not-run" in out


def test_invalid_notebook_is_exit_2_one_line_without_traceback(tmp_path):
    bad = tmp_path / "bad.ipynb"
    bad.write_text('{"cells": ')
    proc = subprocess.run(
        [sys.executable, "-m", "nbrepro", "verify", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"nbrepro: error: {bad}: not a valid notebook")
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kernel", "no-such-kernel"], "kernel 'no-such-kernel' is not installed"),
        (["-f", "missing.yaml"], "missing.yaml: no such parameter file"),
        (["-y", "[1, 2"], "invalid YAML"),
        (["--sanitize", "missing.cfg"], "missing.cfg"),
    ],
)
def test_usage_and_input_errors_exit_2(nbdir, capsys, args, message):
    code, out, err = run(capsys, nbdir / "reproducible.ipynb", *args)
    assert code == 2 and out == ""
    assert message in err and len(err.strip().splitlines()) == 1


def test_missing_path_and_against_with_many_notebooks_exit_2(nbdir, capsys):
    code, _, err = run(capsys, nbdir / "nope.ipynb")
    assert code == 2 and "no such file or directory" in err
    code, _, err = run(
        capsys, nbdir / "empty.ipynb", nbdir / "error.ipynb", "--against", nbdir / "error.ipynb"
    )
    assert code == 2 and "--against compares one notebook" in err


def code_cell(**fields) -> dict:
    return {
        "cell_type": "code",
        "id": "c",
        "metadata": {},
        "source": "1",
        "outputs": [],
        "execution_count": None,
        **fields,
    }


@pytest.mark.parametrize(
    ("cell", "metadata", "message"),
    [
        (code_cell(outputs=5), {}, "cell 1 has outputs that are not a list of objects"),
        (code_cell(outputs=["text"]), {}, "cell 1 has outputs that are not a list of objects"),
        (code_cell(metadata=[]), {}, "cell 1 has metadata that is not an object"),
        (code_cell(metadata={"tags": 5}), {}, "cell 1 has tags that are not a list of strings"),
        (code_cell(source=["x = ", 1]), {}, "cell 1 has invalid source"),
        (code_cell(id=7), {}, "cell 1 has an id that is not a string"),
        (code_cell(), {"kernelspec": "python3"}, "metadata.kernelspec is not an object"),
        (code_cell(), {"language_info": "python"}, "metadata.language_info is not an object"),
    ],
)
def test_notebook_with_invalid_parts_is_exit_2_before_any_kernel_starts(
    tmp_path, capsys, cell, metadata, message
):
    path = tmp_path / "odd.ipynb"
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": metadata, "cells": [cell]}
    path.write_text(json.dumps(nb))
    code, out, err = run(capsys, path, "-p", "x", "1", "--runs", "2")
    assert (code, out) == (2, "")
    assert err == f"nbrepro: error: {path}: not a valid notebook ({message})\n"


def test_against_a_notebook_with_other_code_cells_is_exit_2(nbdir, tmp_path, capsys):
    target = nbdir / "changed.ipynb"
    nb = json.loads(target.read_text())
    for name, cells in (("fewer", nb["cells"][:-1]), ("more", [*nb["cells"], nb["cells"][0]])):
        other = tmp_path / f"{name}.ipynb"
        other.write_text(json.dumps({**nb, "cells": cells}))
        code, out, err = run(capsys, target, "--against", other)
        assert (code, out) == (2, "")
        count = len(cells)
        assert err == (
            f"nbrepro: error: --against {other} has {count} code cells and {target} has 4: "
            "give an executed copy of the same notebook\n"
        )
    other = tmp_path / "bad.ipynb"
    other.write_text(json.dumps({**nb, "cells": [code_cell(outputs=5)]}))
    code, _, err = run(capsys, target, "--against", other)
    assert code == 2 and f"{other}: not a valid notebook (cell 1 has outputs" in err


def test_report_files_that_cannot_be_written_are_exit_2_before_anything_runs(
    nbdir, tmp_path, capsys
):
    a_file = tmp_path / "a-file"
    a_file.write_text("mine\n")
    target = nbdir / "empty.ipynb"
    for args, message in (
        (["--output", a_file], f"--output {a_file}: not a folder"),
        (["--output", a_file / "sub"], f"--output {a_file / 'sub'}: cannot create it"),
        (["--junit-xml", tmp_path], f"--junit-xml {tmp_path}: is a directory"),
        (["--junit-xml", a_file / "j.xml"], f"--junit-xml {a_file}: not a folder"),
    ):
        code, out, err = run(capsys, target, *args)
        assert (code, out) == (2, ""), err
        assert err.startswith(f"nbrepro: error: {message}") and err.count("\n") == 1
    assert a_file.read_text() == "mine\n"


def test_executed_copy_that_cannot_be_kept_is_a_warning_not_a_crash(nbdir, tmp_path, capsys):
    kept = tmp_path / "kept"
    (kept / "old_format.ipynb").mkdir(parents=True)
    code, out, _ = run(capsys, nbdir / "old_format.ipynb", "--output", kept, "--format", "json")
    notebook = json.loads(out)["notebooks"][0]
    assert code == 0 and notebook["output_path"] is None
    assert notebook["warnings"] == [
        f"could not keep the executed notebook at {kept / 'old_format.ipynb'}: Is a directory"
    ]


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_ctrl_c_stops_every_kernel_and_exits_130(tmp_path, jobs):
    names = ["a.ipynb", "b.ipynb"] if jobs == "2" else ["a.ipynb"]
    for name in names:
        (tmp_path / name).write_text(json.dumps(new_notebook(["import time\ntime.sleep(120)"])))
    events = tmp_path / "events.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "nbrepro", "verify", *names, "-j", jobs, "--events", events],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        started = events.read_text().count('"cell-started"') if events.exists() else 0
        if started == len(names):
            break
        time.sleep(0.2)
    kernels = _children(proc.pid)
    assert len(kernels) == len(names)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, out + err
    assert (out, err) == ("", "nbrepro: interrupted\n")
    time.sleep(0.5)
    assert not [pid for pid in kernels if _alive(pid)]
