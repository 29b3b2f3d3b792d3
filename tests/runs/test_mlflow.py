"""MLflow export against a real ``mlflow server`` on loopback (SQLite backend store)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from nbrepro.cli import main
from nbrepro.runs.mlflow_export import MLFLOW_MISSING, resolve_tracking_uri

from .conftest import bundles, make_notebook, make_project, run_cli

pytestmark = [pytest.mark.kernel, pytest.mark.slow]


def test_run_is_logged_to_mlflow_with_params_metrics_tags_and_artifacts(
    tmp_path: Path, mlflow_uri: str
) -> None:
    from mlflow.tracking import MlflowClient

    make_project(tmp_path)
    proc = run_cli(
        "run",
        "nb.ipynb",
        "-p",
        "alpha",
        "2",
        "--mlflow",
        mlflow_uri,
        "--format",
        "json",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)["runs"][0]  # nothing else on stdout (MLflow's URL lines)
    (bundle,) = bundles(tmp_path / ".nbrepro" / "runs")
    manifest = json.loads((bundle / "run.json").read_text())
    exported = json.loads((bundle / "mlflow.json").read_text())
    assert summary["mlflow_run_id"] == exported["run_id"]

    client = MlflowClient(tracking_uri=mlflow_uri)
    experiment = client.get_experiment_by_name("nb.ipynb")
    assert experiment is not None and experiment.experiment_id == exported["experiment_id"]
    run = client.get_run(exported["run_id"])
    assert run.info.status == "FINISHED"
    assert run.data.params == {"alpha": "2"}
    assert run.data.metrics == manifest["metrics"] == {"score": 5.0, "loss": 0.25, "glued": 2.5}
    history = client.get_metric_history(run.info.run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(0, 0.5), (1, 0.25)]
    tags = run.data.tags
    assert tags["nbrepro.run_id"] == manifest["run_id"] == bundle.name
    assert tags["nbrepro.configuration_id"] == manifest["configuration_id"]
    assert tags["nbrepro.verdict"] == "succeeded"
    assert tags["nbrepro.environment_digest"] == manifest["environment_digest"]
    assert tags["nbrepro.notebook"] == "nb.ipynb"
    assert "nbrepro.git_commit" not in tags  # not a git repository
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert artifacts == {"notebook.ipynb", "run.json", "environment.json"}
    shown = run_cli("runs", "show", bundle.name, cwd=tmp_path)
    assert f"mlflow:         run {exported['run_id']} in 'nb.ipynb'" in shown.stdout


def test_configured_tracking_uri_logs_every_run_of_a_parallel_sweep(
    tmp_path: Path, mlflow_uri: str
) -> None:
    from mlflow.tracking import MlflowClient

    make_project(tmp_path, ["alpha = 1", "import nbrepro\nnbrepro.log_metric('sq', alpha ** 2)"])
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.nbrepro]\nmlflow_tracking_uri = "{mlflow_uri}"\n'
    )
    proc = run_cli(
        "run", "nb.ipynb", "--grid", "alpha=3,4", "-j", "2", "--experiment", "sweep", cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    client = MlflowClient(tracking_uri=mlflow_uri)
    experiment = client.get_experiment_by_name("sweep")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id])
    assert sorted(r.data.metrics["sq"] for r in runs) == [9.0, 16.0]
    assert len({r.data.tags["nbrepro.sweep_id"] for r in runs}) == 1
    stored = {b.name for b in bundles(tmp_path / ".nbrepro" / "runs")}
    assert {r.data.tags["nbrepro.run_id"] for r in runs} == stored


def test_tracking_uri_comes_from_flag_then_environment_then_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.nbrepro]\nmlflow_tracking_uri = "cfg"\n')
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "env")
    assert resolve_tracking_uri("flag", tmp_path) == "flag"
    assert resolve_tracking_uri("", tmp_path) == "env"
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    assert resolve_tracking_uri(None, tmp_path) == "cfg"


def test_without_mlflow_installed_the_error_is_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    make_project(tmp_path, ["x = 1"])
    monkeypatch.chdir(tmp_path)
    for name in [m for m in sys.modules if m == "mlflow" or m.startswith("mlflow.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "mlflow", None)  # what an absent package looks like
    assert main(["run", "nb.ipynb", "--mlflow", "http://127.0.0.1:9"]) == 2
    assert capsys.readouterr().err == f"nbrepro: error: {MLFLOW_MISSING}\n"
    assert MLFLOW_MISSING == (
        "MLflow export needs the mlflow package: pip install 'nbrepro[mlflow]'"
    )
    assert bundles(tmp_path / ".nbrepro" / "runs") == []


def test_unreachable_tracking_server_fails_before_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    make_project(tmp_path, ["x = 1"])
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    assert main(["run", "nb.ipynb", "--mlflow", f"http://u:pw@127.0.0.1:{port}"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"nbrepro: error: cannot reach MLflow at http://127.0.0.1:{port}")
    assert "pw" not in err and len(err.splitlines()) == 1
    assert bundles(tmp_path / ".nbrepro" / "runs") == []


def test_secrets_reach_no_mlflow_param_tag_or_artifact(tmp_path: Path, mlflow_uri: str) -> None:
    from mlflow.tracking import MlflowClient

    secret = "mlflow-s3cr3t-never-exported"
    make_project(tmp_path)
    make_notebook(
        tmp_path / "notebooks" / "train.ipynb",
        [
            "token = 'none'",
            "import os\nprint('using', os.environ['SERVICE_API_KEY'])",
            "raise RuntimeError('refused: ' + os.environ['SERVICE_API_KEY'])",
        ],
    )
    proc = run_cli(
        "run",
        "notebooks/train.ipynb",
        "-p",
        "token",
        secret,
        "--mlflow",  # the URI from the environment
        cwd=tmp_path,
        env={"SERVICE_API_KEY": secret, "MLFLOW_TRACKING_URI": mlflow_uri},
    )
    assert proc.returncode == 1, proc.stderr  # the cell raised; the run is stored and exported
    (bundle,) = bundles(tmp_path / ".nbrepro" / "runs")
    exported = json.loads((bundle / "mlflow.json").read_text())
    assert exported["experiment_name"] == "notebooks/train.ipynb"
    client = MlflowClient(tracking_uri=mlflow_uri)
    run = client.get_run(exported["run_id"])
    assert run.info.status == "FAILED"
    assert run.data.params == {"token": "<redacted>"}
    assert run.data.tags["nbrepro.failure"].endswith("RuntimeError: refused: <redacted>")
    assert secret not in json.dumps([run.data.params, run.data.tags])
    folder = Path(client.download_artifacts(run.info.run_id, "", str(tmp_path / "downloaded")))
    contents = {p.name: p.read_text() for p in folder.iterdir()}
    assert sorted(contents) == ["environment.json", "notebook.ipynb", "run.json"]
    assert "using <redacted>" in contents["notebook.ipynb"]
    for name, text in contents.items():
        assert secret not in text, name


def test_a_secret_written_in_two_chunks_reaches_no_mlflow_artifact(
    tmp_path: Path, mlflow_uri: str
) -> None:
    from mlflow.tracking import MlflowClient

    secret = "mlflow-split-s3cr3t-in-two-chunks"
    make_project(
        tmp_path,
        [
            "label = 'x'",
            "import os, sys\ns = os.environ['SERVICE_API_KEY']\n"
            "sys.stdout.write(s[:7]); sys.stdout.flush(); sys.stdout.write(s[7:] + '\\n')",
        ],
    )
    proc = run_cli(
        "run",
        "nb.ipynb",
        "--mlflow",
        mlflow_uri,
        "--name",
        "split",
        cwd=tmp_path,
        env={"SERVICE_API_KEY": secret},
    )
    assert proc.returncode == 0, proc.stderr
    (bundle,) = bundles(tmp_path / ".nbrepro" / "runs")
    exported = json.loads((bundle / "mlflow.json").read_text())
    client = MlflowClient(tracking_uri=mlflow_uri)
    run = client.get_run(exported["run_id"])
    assert secret not in json.dumps([run.data.params, run.data.tags, run.data.metrics])
    folder = Path(client.download_artifacts(run.info.run_id, "", str(tmp_path / "downloaded")))
    executed = json.loads((folder / "notebook.ipynb").read_text())
    streams = "".join(
        "".join(o["text"]) if isinstance(o["text"], list) else o["text"]
        for o in executed["cells"][1]["outputs"]
        if o["output_type"] == "stream"
    )
    assert streams == "<redacted>\n"
    for path in folder.iterdir():
        assert secret not in path.read_text(), path.name
