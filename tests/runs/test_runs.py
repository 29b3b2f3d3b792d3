"""``nbrepro run`` and ``nbrepro runs`` end to end, with real kernels."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from nbrepro.cli import main
from nbrepro.runs.runner import start_run
from nbrepro.runs.store import RunStore

from .conftest import bundles, make_notebook, make_project, run_cli

pytestmark = pytest.mark.kernel

SECRET = "s3cr3t-value-never-recorded"


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@example.com",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@example.com",
        },
    ).stdout.strip()


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A committed git project with two runs made by the CLI: alpha=2 and alpha=4 (named)."""
    root = tmp_path_factory.mktemp("proj")
    nb = make_project(root)
    _git(root, "init", "-q")
    _git(root, "add", ".")
    _git(root, "commit", "-q", "-m", "initial")
    before = nb.read_bytes()
    env = {"MY_API_TOKEN": SECRET, "NBREPRO_ENV_ALLOWLIST": "MY_API_TOKEN"}
    first = run_cli("run", "nb.ipynb", "-p", "alpha", "2", cwd=root, env=env)
    second = run_cli(
        "run",
        "nb.ipynb",
        "-p",
        "alpha",
        "4",
        "--name",
        "four",
        "--format",
        "json",
        cwd=root,
        env=env,
    )
    return {
        "root": root,
        "nb": nb,
        "before": before,
        "first": first,
        "second": second,
        "head": _git(root, "rev-parse", "HEAD"),
    }


def test_run_writes_a_bundle_whose_manifest_follows_the_schema(project: dict[str, Any]) -> None:
    root = project["root"]
    assert project["first"].returncode == 0, project["first"].stderr
    assert "TCP" not in project["first"].stderr
    found = bundles(root / ".nbrepro" / "runs")
    assert len(found) == 2
    bundle = found[0]
    assert sorted(p.name for p in bundle.iterdir()) == [
        "environment.json",
        "notebook.ipynb",
        "run.json",
    ]
    manifest = json.loads((bundle / "run.json").read_text())
    schema = json.loads(
        resources.files("nbrepro").joinpath("schemas/run-manifest.schema.json").read_text()
    )
    jsonschema.validate(manifest, schema)
    assert manifest["run_id"] == bundle.name and manifest["run_id"] in project["first"].stdout
    assert manifest["parameters"] == {"alpha": 2}
    assert manifest["verdict"] == "succeeded"
    assert manifest["git"] == {"commit": project["head"], "dirty": False, "branch": "master"} or (
        manifest["git"]["commit"] == project["head"] and manifest["git"]["dirty"] is False
    )
    data = (root / "data" / "train.csv").read_bytes()
    assert manifest["inputs"]["data/train.csv"]["hash"] == (
        "sha256:" + hashlib.sha256(data).hexdigest()
    )
    executed = json.loads((bundle / "notebook.ipynb").read_text())
    injected = [
        c for c in executed["cells"] if "injected-parameters" in c["metadata"].get("tags", [])
    ]
    assert len(injected) == 1 and "alpha = 2" in "".join(injected[0]["source"])
    assert len(manifest["cells"]) == sum(c["cell_type"] == "code" for c in executed["cells"])
    assert json.loads((bundle / "environment.json").read_text()) == manifest["environment"]
    assert project["nb"].read_bytes() == project["before"]


def test_metrics_logged_in_the_kernel_land_in_the_manifest(project: dict[str, Any]) -> None:
    manifest = json.loads(
        (bundles(project["root"] / ".nbrepro" / "runs")[0] / "run.json").read_text()
    )
    alpha = manifest["parameters"]["alpha"]
    assert manifest["metrics"] == {"score": alpha * 2.5, "loss": 0.5 / alpha, "glued": alpha + 0.5}
    assert manifest["metric_series"] == {"loss": [1 / alpha, 0.5 / alpha]}
    assert manifest["metric_sources"]["glued"] == "scrapbook"


def test_secrets_in_the_environment_are_never_written(project: dict[str, Any]) -> None:
    for bundle in bundles(project["root"] / ".nbrepro" / "runs"):
        for f in bundle.iterdir():
            assert SECRET not in f.read_text(), f


def test_runs_list_show_and_json_output(project: dict[str, Any]) -> None:
    root = project["root"]
    second = json.loads(project["second"].stdout)["runs"][0]
    assert second["name"] == "four" and second["verdict"] == "succeeded"
    listed = run_cli("runs", "list", cwd=root)
    assert listed.returncode == 0
    lines = listed.stdout.splitlines()
    assert lines[0] == "nb.ipynb (2 runs)"
    header = lines[1].split()
    assert header[:4] == ["run", "name", "verdict", "seconds"]
    assert "alpha" in header and "score" in header
    assert lines[-1].split()[:3] == [second["run_id"], "four", "succeeded"]
    shown = run_cli("runs", "show", second["run_id"][:19], "--format", "json", cwd=root)
    assert json.loads(shown.stdout)["run_id"] == second["run_id"]
    by_name = run_cli("runs", "show", "four", cwd=root)
    assert by_name.returncode == 0 and "alpha = 4" in by_name.stdout


def test_runs_diff_shows_parameter_and_metric_differences(project: dict[str, Any]) -> None:
    root = project["root"]
    ids = [b.name for b in bundles(root / ".nbrepro" / "runs")]
    text = run_cli("runs", "diff", *ids, cwd=root)
    assert text.returncode == 0
    assert "different configurations" in text.stdout
    assert "~ alpha: 2 -> 4" in text.stdout
    assert "~ score: 5.0 -> 10.0 (+5, +100.00%)" in text.stdout
    as_json = json.loads(run_cli("runs", "diff", *ids, "--format", "json", cwd=root).stdout)
    assert {c["name"] for c in as_json["metrics"]} == {"score", "loss", "glued"}
    differing = {c["id"] for c in as_json["cells"]}
    assert differing == {"cell-1", "cell-2", "cell-3", "cell-4"}  # cell-0 and the injected
    # cell print nothing: equal outputs
    assert as_json["inputs"] == []
    envs = [
        json.loads((root / ".nbrepro" / "runs" / i / "environment.json").read_text()) for i in ids
    ]
    # Other processes may install packages between the two runs: drift iff the packages differ.
    assert as_json["environment"]["drift"] is (envs[0]["packages"] != envs[1]["packages"])


def test_identical_runs_share_a_configuration_id_but_not_a_run_id(tmp_path: Path) -> None:
    nb = make_project(tmp_path, ["alpha = 1", "print(alpha * 2)"])
    a = start_run(nb, {"alpha": 3})
    b = start_run(nb, {"alpha": 3})
    (tmp_path / "data" / "train.csv").write_text("changed\n")
    c = start_run(nb, {"alpha": 3}, inputs=[tmp_path / "data" / "train.csv"])
    assert a.run_id != b.run_id
    assert a.manifest["configuration_id"] == b.manifest["configuration_id"]
    assert c.manifest["configuration_id"] != a.manifest["configuration_id"]
    assert c.manifest["inputs"]["data/train.csv"]["source"] == "declared"
    assert [s.run_id for s in RunStore(tmp_path).list()] == [a.run_id, b.run_id, c.run_id]


def test_runs_reproduce_exits_0_for_deterministic_and_1_for_random_notebooks(
    tmp_path: Path,
) -> None:
    make_project(tmp_path, ["alpha = 1", "print(alpha * 2)"])
    make_notebook(tmp_path / "rand.ipynb", ["import random", "print(random.random())"], False)
    det = start_run(tmp_path / "nb.ipynb", {"alpha": 5})
    rand = start_run(tmp_path / "rand.ipynb")
    ok = run_cli("runs", "reproduce", det.run_id, cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "reproduced" in ok.stdout
    bad = run_cli("runs", "reproduce", rand.run_id, "--format", "json", cwd=tmp_path)
    assert bad.returncode == 1
    report = json.loads(bad.stdout)
    assert report["reproducible"] is False
    assert [c["status"] for c in report["report"]["cells"]][1] == "mismatch"


def test_failing_notebook_is_stored_as_failed_run_and_exits_1(tmp_path: Path) -> None:
    make_project(tmp_path, ["x = 1", "raise ValueError('boom')", "print('after')"])
    proc = run_cli("run", "nb.ipynb", cwd=tmp_path)
    assert proc.returncode == 1
    (bundle,) = bundles(tmp_path / ".nbrepro" / "runs")
    manifest = json.loads((bundle / "run.json").read_text())
    assert manifest["verdict"] == "failed"
    assert manifest["failure"] == "cell 2 (id cell-1) raised ValueError: boom"
    assert "failure: cell 2 (id cell-1) raised ValueError: boom" in proc.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.ipynb"], "missing.ipynb: no such notebook"),
        (["nb.ipynb", "--grid", "alpha"], "--grid 'alpha': expected NAME=VALUE[,VALUE...]"),
        (["nb.ipynb", "--sweep", "none.yaml"], "none.yaml: no such sweep file"),
        (["nb.ipynb", "-k", "no-such-kernel"], "no-such-kernel"),
        (["nb.ipynb", "--input", "nope.csv"], "--input nope.csv: no such file"),
        (["nb.ipynb", "--runs-dir", "pyproject.toml"], "pyproject.toml: not a directory"),
        (
            ["nb.ipynb", "--grid", "x=1,2", "--runs-dir", "pyproject.toml/runs"],
            "pyproject.toml/runs: cannot create it: Not a directory",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    make_project(tmp_path, ["x = 1"])
    monkeypatch.chdir(tmp_path)
    assert main(["run", *args]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nbrepro: error: ") and message in lines[0]
    assert bundles(tmp_path / ".nbrepro" / "runs") == []


def test_killed_run_leaves_no_bundle(tmp_path: Path) -> None:
    make_project(
        tmp_path,
        [
            "import pathlib, time",
            "pathlib.Path('started').write_text('x')\ntime.sleep(120)",
        ],
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "nbrepro", "run", "nb.ipynb"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not (tmp_path / "started").exists():
            assert proc.poll() is None, "nbrepro run ended before the long cell started"
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    runs = tmp_path / ".nbrepro" / "runs"
    assert bundles(runs) == []
    assert not runs.exists() or all(p.name.startswith(".tmp-") for p in runs.iterdir())
    assert RunStore(tmp_path).list() == []
    after = run_cli("runs", "list", cwd=tmp_path)
    assert after.returncode == 0 and after.stdout.startswith("no runs in")


def test_concurrent_runs_and_a_parallel_sweep_share_one_store(tmp_path: Path) -> None:
    make_project(tmp_path, ["alpha = 1", "import nbrepro\nnbrepro.log_metric('double', alpha * 2)"])
    (tmp_path / "pyproject.toml").write_text('[tool.nbrepro]\nruns_dir = "store"\n')
    cmd = [sys.executable, "-m", "nbrepro", "run", "nb.ipynb", "-q"]
    procs = [
        subprocess.Popen(
            [*cmd, "-p", "alpha", str(a)],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for a in (10, 20)
    ]
    sweep = run_cli("run", "nb.ipynb", "--grid", "alpha=1,2", "-j", "2", cwd=tmp_path)
    for p in procs:
        _out, err = p.communicate(timeout=180)
        assert p.returncode == 0, err
    assert sweep.returncode == 0, sweep.stderr
    table = sweep.stdout.splitlines()
    assert table[0].split() == ["run", "verdict", "seconds", "alpha", "double"]
    assert [row.split()[3:] for row in table[2:4]] == [["1", "2"], ["2", "4"]]
    assert table[-1] == "2 of 2 runs succeeded"
    stored = bundles(tmp_path / "store")
    assert len(stored) == 4 and not (tmp_path / ".nbrepro").exists()
    manifests = [json.loads((b / "run.json").read_text()) for b in stored]
    assert sorted(m["metrics"]["double"] for m in manifests) == [2, 4, 20, 40]
    sweeps = {m["sweep"]["id"] for m in manifests if m["sweep"]}
    assert len(sweeps) == 1
    assert sorted(m["sweep"]["index"] for m in manifests if m["sweep"]) == [0, 1]


def test_sigterm_stops_a_parallel_sweep_at_once_and_leaves_no_bundle(tmp_path: Path) -> None:
    make_project(
        tmp_path,
        [
            "n = 0",
            "import os, pathlib, time\n"
            "pathlib.Path(f'started-{n}').write_text(str(os.getpid()))\ntime.sleep(120)",
        ],
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "nbrepro", "run", "nb.ipynb", "--grid", "n=1,2,3,4,5", "-j", "2"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 150
        while len(list(tmp_path.glob("started-*"))) < 2:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the first two runs did not start"
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)  # this process alone, as `kill PID` does
        _out, err = proc.communicate(timeout=60)  # not the 3 x 120 s still to run
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130
    assert err.strip().splitlines()[-1] == "nbrepro: interrupted"
    assert "Traceback" not in err
    time.sleep(2)
    assert len(list(tmp_path.glob("started-*"))) == 2  # no further point started
    runs = tmp_path / ".nbrepro" / "runs"
    assert bundles(runs) == []
    assert not runs.exists() or not any(runs.iterdir())  # the temporary bundles removed too
    for started in tmp_path.glob("started-*"):
        kernel_pid = int(started.read_text())
        with pytest.raises(ProcessLookupError):  # each kernel was shut down
            os.kill(kernel_pid, 0)


def test_sweep_without_a_terminal_logs_one_plain_line_per_run(tmp_path: Path) -> None:
    make_project(tmp_path, ["alpha = 1", "import nbrepro\nnbrepro.log_metric('double', alpha * 2)"])
    proc = run_cli("run", "nb.ipynb", "--grid", "alpha=1,2", "--name", "sw", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert [line.split(":")[0] for line in lines] == ["nbrepro", "nbrepro"]
    assert sorted(line.split("]")[0] for line in lines) == ["nbrepro: [1/2", "nbrepro: [2/2"]
    assert {line.split("] ")[1].split(":")[0] for line in lines} == {"alpha=1", "alpha=2"}
    assert all(line.endswith(" succeeded") for line in lines)
    assert "\r" not in proc.stderr and "\x1b" not in proc.stderr
    table = proc.stdout.splitlines()
    assert table[0].split() == ["run", "name", "verdict", "seconds", "alpha", "double"]
    assert [row.split()[1] for row in table[2:4]] == ["sw-1", "sw-2"]
    quiet = run_cli("run", "nb.ipynb", "--grid", "alpha=3,4", "-q", cwd=tmp_path)
    assert quiet.returncode == 0 and quiet.stderr == ""


def test_reusing_a_run_name_warns_and_the_name_then_lists_both_runs(tmp_path: Path) -> None:
    make_project(tmp_path, ["x = 1"])
    first = run_cli("run", "nb.ipynb", "--name", "baseline", cwd=tmp_path)
    assert first.returncode == 0 and first.stderr == "", first.stderr
    second = run_cli("run", "nb.ipynb", "--name", "baseline", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    ids = [b.name for b in bundles(tmp_path / ".nbrepro" / "runs")]
    assert second.stderr.strip() == (
        f"nbrepro: warning: the name 'baseline' is already used by run {ids[0]}: it now "
        "names several runs, so give run ids to `nbrepro runs`"
    )
    shown = run_cli("runs", "show", "baseline", cwd=tmp_path)
    assert shown.returncode == 2
    assert shown.stderr.strip() == (
        f"nbrepro: error: 'baseline': 2 runs have this name ({ids[0]}, {ids[1]})"
    )


def test_secrets_printed_or_raised_by_cells_are_redacted_in_the_bundle(tmp_path: Path) -> None:
    make_project(
        tmp_path,
        [
            "token = 'none'",
            "import os\nprint('using', os.environ['MY_API_TOKEN'])",
            "print('parameter', token)",
            "raise RuntimeError('refused: ' + os.environ['MY_API_TOKEN'])",
        ],
    )
    env = {"MY_API_TOKEN": SECRET}
    proc = run_cli("run", "nb.ipynb", "-p", "token", SECRET, "--name", "s", cwd=tmp_path, env=env)
    assert proc.returncode == 1
    assert SECRET not in proc.stdout + proc.stderr
    assert "parameter 'token' holds a secret from the environment" in proc.stderr
    (bundle,) = bundles(tmp_path / ".nbrepro" / "runs")
    for f in bundle.iterdir():
        assert SECRET not in f.read_text(), f
    manifest = json.loads((bundle / "run.json").read_text())
    assert manifest["parameters"] == {"token": "<redacted>"}
    assert manifest["failure"].endswith("raised RuntimeError: refused: <redacted>")
    executed = json.loads((bundle / "notebook.ipynb").read_text())
    assert "".join(executed["cells"][2]["outputs"][0]["text"]) == "using <redacted>\n"

    # the fresh outputs are redacted the same way: the printed secret is no mismatch
    make_notebook(tmp_path / "nb.ipynb", ["import os\nprint('using', os.environ['MY_API_TOKEN'])"])
    assert run_cli("run", "nb.ipynb", "--name", "ok", cwd=tmp_path, env=env).returncode == 0
    again = run_cli("runs", "reproduce", "ok", cwd=tmp_path, env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert SECRET not in again.stdout
