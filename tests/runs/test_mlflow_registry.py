"""A run's inputs, artifacts and model in MLflow (real ``mlflow server``, SQLite backend store,
so the Model Registry works)."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

from .conftest import bundles, run_cli
from .test_versioning import _project

pytestmark = [pytest.mark.kernel, pytest.mark.slow]


def test_a_trained_model_is_logged_and_registered_with_what_produced_it(
    tmp_path: Path, mlflow_uri: str
) -> None:
    from mlflow.tracking import MlflowClient

    _project(tmp_path)
    name = f"demo-model-{tmp_path.name}"
    proc = run_cli(
        "run",
        "train.ipynb",
        "--mlflow",
        mlflow_uri,
        "--register-model",
        f"model.pkl={name}",
        "-q",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    (bundle,) = bundles(tmp_path / ".nbrepro" / "runs")
    manifest = json.loads((bundle / "run.json").read_text())
    exported = json.loads((bundle / "mlflow.json").read_text())
    assert exported["artifacts"] == ["model.pkl"]
    assert exported["registered"] == [{"path": "model.pkl", "name": name, "version": 1}]

    client = MlflowClient(tracking_uri=mlflow_uri)
    run = client.get_run(exported["run_id"])
    # The input, as a dataset: its path, digest and source.
    [dataset_input] = run.inputs.dataset_inputs
    dataset = dataset_input.dataset
    data_hash = manifest["inputs"]["data/train.csv"]["hash"]
    assert dataset.name == "data/train.csv"
    assert dataset.digest == data_hash.split(":", 1)[1][:36]
    assert json.loads(dataset.source)["hash"] == data_hash
    # The model the notebook trained, as an artifact of the run.
    logged = {a.path for a in client.list_artifacts(run.info.run_id, "artifacts")}
    assert logged == {"artifacts/model.pkl"}
    local = client.download_artifacts(run.info.run_id, "artifacts/model.pkl", str(tmp_path))
    assert pickle.loads(Path(local).read_bytes()) == {"weight": 3.5}

    # Version 1 of the registered model links back to exactly what produced it.
    version = client.get_model_version(name, "1")
    assert version.run_id == run.info.run_id
    assert version.source.endswith("/artifacts/model.pkl")
    tags = version.tags
    assert tags["nbrepro.run_id"] == manifest["run_id"]
    assert tags["nbrepro.configuration_id"] == manifest["configuration_id"]
    assert tags["nbrepro.environment_digest"] == manifest["environment_digest"]
    assert json.loads(tags["nbrepro.input_digests"]) == {"data/train.csv": data_hash}

    # Registering a file the run did not write: the run is stored, the export fails (exit 1).
    bad = run_cli(
        "run",
        "train.ipynb",
        "--mlflow",
        mlflow_uri,
        "--register-model",
        f"nope.pkl={name}",
        "-q",
        cwd=tmp_path,
    )
    assert bad.returncode == 1
    assert "nope.pkl is not an artifact of run" in bad.stdout + bad.stderr
    assert len(client.search_model_versions(f"name='{name}'")) == 1


def test_register_model_needs_mlflow_and_a_name(tmp_path: Path) -> None:
    _project(tmp_path)
    proc = run_cli("run", "train.ipynb", "--register-model", "model.pkl=m", cwd=tmp_path)
    assert proc.returncode == 2 and "--register-model needs --mlflow" in proc.stderr
    proc = run_cli(
        "run",
        "train.ipynb",
        "--mlflow",
        "http://127.0.0.1:9",
        "--register-model",
        "model.pkl",
        cwd=tmp_path,
    )
    assert proc.returncode == 2 and "expected PATH=NAME" in proc.stderr
