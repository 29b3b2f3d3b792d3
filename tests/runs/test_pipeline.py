"""``runs/`` on the one core pipeline (issue 12): parameter names checked before anything runs,
one scrubber for everything a run writes, the core's events and verdicts, core messages that
name no command-line flag, and a sweep whose parent is killed leaves no process and no bundle.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nbrepro.cli import main
from nbrepro.errors import InputError, NbreproError
from nbrepro.runs.runner import start_run
from nbrepro.verify.events import EVENT_SCHEMA_VERSION, EventReader

from .conftest import bundles, make_notebook, make_project, run_cli

pytestmark = pytest.mark.kernel

SECRET = "s3cr3t-value-split-in-two-chunks"
#: A parameter name that is Python code: injected as is, it would run.
EVIL = "x=__import__('os').system('touch pwned')#"
#: A notebook whose every run leaves a file behind, so that "nothing ran" can be checked.
MARKED = ["n = 0", "open(f'ran-{n}', 'w').write('x')"]


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("nbrepro: error: "), err
    assert "Traceback" not in err
    return lines[0]


def _nothing_ran(root: Path) -> None:
    assert not (root / "pwned").exists()
    assert list(root.glob("ran-*")) == []
    assert bundles(root / ".nbrepro" / "runs") == []


# -- parameter names ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "problem"),
    [
        (EVIL, "is not a Python identifier"),
        ("class", "is a Python keyword"),
        ("None", "is a Python keyword"),
    ],
)
def test_a_parameter_name_that_is_not_a_python_name_runs_nothing(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name: str,
    problem: str,
) -> None:
    make_project(tmp_path, MARKED)
    monkeypatch.chdir(tmp_path)
    assert main(["run", "nb.ipynb", "-p", name, "1"]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert f"parameter name {name!r} {problem}" in line
    _nothing_ran(tmp_path)


@pytest.mark.parametrize("bad", [EVIL, "class", "None"])
def test_a_bad_name_in_the_fifth_point_of_a_sweep_file_runs_no_point(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], bad: str
) -> None:
    make_project(tmp_path, MARKED)
    sweep = tmp_path / "sweep.yaml"
    points = [{"n": i} for i in range(1, 5)] + [{bad: 1}]
    sweep.write_text(json.dumps(points), encoding="utf-8")  # JSON is YAML
    monkeypatch.chdir(tmp_path)
    assert main(["run", "nb.ipynb", "--sweep", "sweep.yaml", "-j", "2"]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert f"parameter name {bad!r}" in line and "5" in line
    _nothing_ran(tmp_path)


@pytest.mark.parametrize("bad", ["class", "None"])
def test_a_keyword_as_a_grid_name_runs_no_point(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], bad: str
) -> None:
    make_project(tmp_path, MARKED)
    monkeypatch.chdir(tmp_path)
    assert main(["run", "nb.ipynb", "--grid", "n=1,2", "--grid", f"{bad}=1,2"]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert f"parameter name {bad!r} is a Python keyword" in line
    _nothing_ran(tmp_path)


def test_start_run_checks_parameter_names_before_the_kernel_starts(tmp_path: Path) -> None:
    nb = make_project(tmp_path, MARKED)
    with pytest.raises(InputError, match="'class' is a Python keyword"):
        start_run(nb, {"class": 1})
    _nothing_ran(tmp_path)


# -- one scrubber --------------------------------------------------------------------------
def _stream_text(cell: dict[str, object]) -> str:
    texts = []
    for output in cell.get("outputs") or []:  # type: ignore[attr-defined]
        if output.get("output_type") == "stream":
            text = output.get("text", "")
            texts.append("".join(text) if isinstance(text, list) else text)
    return "".join(texts)


SPLIT_SOURCES = [
    "n = 0",
    "import os, sys\ns = os.environ['MY_API_TOKEN']\n"
    "sys.stdout.write(s[:7]); sys.stdout.flush(); sys.stdout.write(s[7:] + '\\n')",
]


def test_a_secret_written_in_two_stream_chunks_is_redacted_in_the_bundle(tmp_path: Path) -> None:
    make_project(tmp_path, SPLIT_SOURCES)
    proc = run_cli(
        "run", "nb.ipynb", "--format", "json", cwd=tmp_path, env={"MY_API_TOKEN": SECRET}
    )
    assert proc.returncode == 0, proc.stderr
    assert SECRET not in proc.stdout + proc.stderr
    (bundle,) = bundles(tmp_path / ".nbrepro" / "runs")
    executed = json.loads((bundle / "notebook.ipynb").read_text())
    joined = _stream_text(executed["cells"][1])
    assert SECRET not in joined and SECRET[:7] not in joined
    assert joined == "<redacted>\n"
    for f in bundle.iterdir():
        assert SECRET not in f.read_text(), f
    manifest = json.loads((bundle / "run.json").read_text())
    assert manifest["verdict"] == "succeeded"


# -- events and verdicts ---------------------------------------------------------------------
def test_events_follow_the_core_schema_from_start_to_the_stored_run(tmp_path: Path) -> None:
    make_project(tmp_path, ["alpha = 1", "print(alpha)"])
    events = tmp_path / "ev" / "events.jsonl"
    proc = run_cli("run", "nb.ipynb", "-p", "alpha", "2", "--events", str(events), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    got = EventReader(events).read()
    assert all(e["v"] == EVENT_SCHEMA_VERSION and isinstance(e["t"], float) for e in got)
    kinds = [e["event"] for e in got]
    assert kinds[0] == "notebook-started" and got[0]["cells"] == 3  # with the injected cell
    assert kinds[1:-2] == ["cell-started", "cell-finished"] * 3
    assert kinds[-2:] == ["notebook-finished", "run-stored"]
    finished = [e for e in got if e["event"] == "cell-finished"]
    assert [e["index"] for e in finished] == [0, 1, 2]
    assert all(e["status"] == "ok" and e["run"] == 1 for e in finished)
    assert got[-2]["status"] == "succeeded" and got[-2]["reason"] is None
    (bundle,) = bundles(tmp_path / ".nbrepro" / "runs")
    assert got[-1]["run_id"] == bundle.name and Path(got[-1]["path"]) == bundle


def test_a_cell_marked_to_raise_does_not_fail_the_run_and_a_dead_kernel_does(
    tmp_path: Path,
) -> None:
    nb = make_project(tmp_path, ["x = 1", "raise ValueError('expected')", "print(x)"])
    data = json.loads(nb.read_text())
    data["cells"][1]["metadata"]["tags"] = ["raises-exception"]
    nb.write_text(json.dumps(data))
    seen: list[dict[str, object]] = []
    run = start_run(nb, on_event=seen.append)
    assert run.manifest["verdict"] == "succeeded" and run.manifest["failure"] is None
    assert [e["event"] for e in seen][-1] == "run-stored"
    dying = make_notebook(tmp_path / "dies.ipynb", ["import os", "os._exit(3)", "x = 2"], False)
    died = start_run(dying)
    assert died.manifest["verdict"] == "failed"
    assert died.manifest["failure"] == "cell 2 (id cell-1) killed the kernel"


# -- messages of the core name no flag ------------------------------------------------------
def test_core_messages_of_runs_name_options_in_each_faces_words(tmp_path: Path) -> None:
    from nbrepro.runs.mlflow_export import resolve_tracking_uri
    from nbrepro.runs.sweep import parse_grid

    with pytest.raises(NbreproError) as grid:
        parse_grid(["alpha"])
    assert grid.value.message_for("cli") == "--grid 'alpha': expected NAME=VALUE[,VALUE...]"
    assert "--grid" not in grid.value.message_for("rest")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    saved = os.environ.pop("MLFLOW_TRACKING_URI", None)
    try:
        with pytest.raises(NbreproError) as uri:
            resolve_tracking_uri(None, tmp_path)
    finally:
        if saved is not None:
            os.environ["MLFLOW_TRACKING_URI"] = saved
    assert "--mlflow" in uri.value.message_for("cli")
    assert "--mlflow" not in uri.value.message_for("rest")
    assert "--mlflow" not in uri.value.message_for("pytest")


# -- a sweep whose parent is killed -----------------------------------------------------------
def _alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie is dead), read from /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def _processes_in(folder: Path) -> list[int]:
    """Live processes whose working directory is ``folder`` (read from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if Path(cwd) == folder and _alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def test_kill_9_of_a_sweeps_parent_leaves_no_process_and_writes_no_bundle(tmp_path: Path) -> None:
    root = tmp_path.resolve()
    make_project(
        root,
        [
            "n = 0",
            "import os, pathlib, time\n"
            "pathlib.Path(f'started-{n}').write_text(str(os.getpid()))\ntime.sleep(8)\n"
            "pathlib.Path(f'finished-{n}').write_text('x')",
        ],
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "nbrepro", "run", "nb.ipynb", "--grid", "n=1,2,3", "-j", "2", "-q"],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 150
        # Both kernels have written their pid (a file can be seen before its text is in it).
        while len([p for p in root.glob("started-*") if p.read_text().strip()]) < 2:
            assert proc.poll() is None, "the sweep ended before its first two points started"
            assert time.monotonic() < deadline, "the first two points did not start"
            time.sleep(0.05)
        kernels = [int(p.read_text()) for p in root.glob("started-*")]
        assert all(_alive(pid) for pid in kernels)
        proc.send_signal(signal.SIGKILL)  # the parent alone, as `kill -9 PID` does
        proc.wait()
        killed = time.monotonic()
        while any(_alive(pid) for pid in kernels) and time.monotonic() < killed + 5:
            time.sleep(0.1)
        assert [pid for pid in kernels if _alive(pid)] == []  # each kernel died with its parent
        assert _processes_in(root) == []  # nor is any worker left executing
        time.sleep(max(0.0, killed + 10 - time.monotonic()))  # past the end of the long cell
        assert list(root.glob("finished-*")) == []
        assert sorted(p.name for p in root.glob("started-*")) == ["started-1", "started-2"]
        assert bundles(root / ".nbrepro" / "runs") == []
    finally:
        for pid in _processes_in(root):
            os.kill(pid, signal.SIGKILL)
