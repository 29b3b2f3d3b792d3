"""Run store, manifest, metrics and sweep parsing: the parts that need no kernel."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nbrepro.errors import InputError, UsageError
from nbrepro.runs.manifest import (
    RUN_ID_PATTERN,
    configuration_id,
    new_run_id,
    notebook_content_hash,
)
from nbrepro.runs.metrics import METRIC_MIME, extract_metrics, log_metric
from nbrepro.runs.project import find_project_root, redact_uri, resolve_runs_dir
from nbrepro.runs.store import AmbiguousRunId, RunNotFound, RunStore
from nbrepro.runs.sweep import expand_points, load_sweep_file, parse_grid
from tests.kernel_session import new_notebook


def _manifest(run_id: str, **extra: object) -> dict[str, object]:
    return {
        "run_id": run_id,
        "configuration_id": "0" * 16,
        "name": None,
        "notebook": {"path": "nb.ipynb"},
        "timings": {"started": "2025-01-01T00:00:00.000Z", "duration": 1.0},
        "verdict": "succeeded",
        "parameters": {},
        "metrics": {},
        **extra,
    }


def test_run_ids_sort_by_creation_time_and_are_unique() -> None:
    from datetime import datetime, timedelta, timezone

    t0 = datetime(2025, 1, 31, 23, 59, 59, 998000, tzinfo=timezone.utc)
    ids = [new_run_id(t0 + timedelta(milliseconds=i)) for i in range(5)]
    assert ids == sorted(ids)
    assert all(RUN_ID_PATTERN.match(i) for i in ids)
    assert len({new_run_id(t0) for _ in range(50)}) == 50


def test_configuration_id_ignores_outputs_but_not_code_parameters_or_inputs() -> None:
    nb = new_notebook(["x = 1", "print(x)"])
    executed = json.loads(json.dumps(nb))
    executed["cells"][1]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "1\n"}]
    executed["cells"][1]["execution_count"] = 7
    assert notebook_content_hash(nb) == notebook_content_hash(executed)
    edited = json.loads(json.dumps(nb))
    edited["cells"][0]["source"] = "x = 2"
    assert notebook_content_hash(nb) != notebook_content_hash(edited)

    h = notebook_content_hash(nb)
    base = configuration_id(h, {"a": 1}, "sha256:ee", {"d.csv": {"hash": "sha256:01"}})
    assert base == configuration_id(h, {"a": 1}, "sha256:ee", {"d.csv": {"hash": "sha256:01"}})
    assert base != configuration_id(h, {"a": 2}, "sha256:ee", {"d.csv": {"hash": "sha256:01"}})
    assert base != configuration_id(h, {"a": 1}, "sha256:ff", {"d.csv": {"hash": "sha256:01"}})
    assert base != configuration_id(h, {"a": 1}, "sha256:ee", {"d.csv": {"hash": "sha256:02"}})


def test_metrics_are_read_from_nbrepro_scrapbook_and_papermill_outputs() -> None:
    nb = new_notebook(["", "", ""])
    nb["cells"][0]["outputs"] = [
        {
            "output_type": "display_data",
            "metadata": {},
            "data": {METRIC_MIME: {"name": "loss", "value": 0.5}, "text/plain": ""},
        },
        {
            "output_type": "display_data",
            "metadata": {},
            "data": {METRIC_MIME: {"name": "loss", "value": "NaN"}, "text/plain": ""},
        },
    ]
    nb["cells"][1]["outputs"] = [
        {
            "output_type": "display_data",
            "metadata": {"scrapbook": {"name": "acc"}},
            "data": {
                "application/scrapbook.scrap.json+json": {
                    "name": "acc",
                    "data": 0.9,
                    "encoder": "json",
                    "version": 2,
                }
            },
        },
        {
            "output_type": "display_data",
            "metadata": {},
            "data": {
                "application/scrapbook.scrap.text+json": {
                    "name": "note",
                    "data": "not a number",
                    "encoder": "text",
                    "version": 2,
                }
            },
        },
    ]
    nb["cells"][2]["outputs"] = [
        {
            "output_type": "display_data",
            "metadata": {},
            "data": {"application/papermill.record+json": {"legacy": 3, "flag": True}},
        },
    ]
    metrics = extract_metrics(nb)
    assert metrics.series["loss"][0] == 0.5 and math.isnan(metrics.series["loss"][1])
    assert metrics.last["acc"] == 0.9 and metrics.last["legacy"] == 3.0
    assert "note" not in metrics.series and "flag" not in metrics.series
    last, series = metrics.to_manifest()
    assert last["loss"] == "NaN" and series == {"loss": [0.5, "NaN"]}
    assert metrics.sources == {"loss": "nbrepro", "acc": "scrapbook", "legacy": "papermill"}


@pytest.mark.parametrize(("name", "value"), [("", 1.0), ("x", "1.0"), ("x", None), ("x", [1])])
def test_log_metric_refuses_what_is_not_a_named_number(name: str, value: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        log_metric(name, value)  # type: ignore[arg-type]


def test_grid_values_are_typed_like_p_and_expand_to_a_cartesian_product(tmp_path: Path) -> None:
    grid = parse_grid(["alpha=1,2.5,None", "mode=fast,True"])
    assert grid == {"alpha": [1, 2.5, None], "mode": ["fast", True]}
    points = expand_points({"seed": 0, "mode": "slow"}, grid)
    assert len(points) == 6
    assert {(p["alpha"], p["mode"]) for p in points} == {
        (a, m) for a in (1, 2.5, None) for m in ("fast", True)
    }
    assert all(p["seed"] == 0 for p in points)
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text("- {lr: 0.1}\n- {lr: 0.01, epochs: 3}\n", encoding="utf-8")
    sets = load_sweep_file(sweep)
    crossed = expand_points({}, {"seed": [1, 2]}, sets)
    assert crossed == [
        {"lr": 0.1, "seed": 1},
        {"lr": 0.1, "seed": 2},
        {"lr": 0.01, "epochs": 3, "seed": 1},
        {"lr": 0.01, "epochs": 3, "seed": 2},
    ]


@pytest.mark.parametrize("spec", ["alpha", "=1,2", "alpha=1,,2", "not a name=1"])
def test_bad_grid_is_a_usage_error(spec: str) -> None:
    with pytest.raises(UsageError):
        parse_grid([spec])


@pytest.mark.parametrize("text", ["{a: 1}", "[]", "- 3\n", "- {a: [\n"])
def test_sweep_file_must_be_a_list_of_mappings(tmp_path: Path, text: str) -> None:
    sweep = tmp_path / "s.yaml"
    sweep.write_text(text, encoding="utf-8")
    with pytest.raises(InputError):
        load_sweep_file(sweep)


def test_store_resolves_unique_prefixes_and_names(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs")
    env = {"python": {}, "platform": {}, "kernel": {}, "packages": {}, "packages_digest": ""}
    a = store.write(_manifest("20250101-000000-000-aaaaaa", name="baseline"), new_notebook([]), env)
    b = store.write(_manifest("20250101-000000-001-bbbbbb"), new_notebook([]), env)
    assert [s.run_id for s in store.list()] == [a.run_id, b.run_id]
    assert store.get("20250101-000000-001").run_id == b.run_id
    assert store.get("baseline").run_id == a.run_id
    with pytest.raises(AmbiguousRunId):
        store.get("20250101-000000")
    with pytest.raises(RunNotFound):
        store.get("2024")
    with pytest.raises(RunNotFound):
        store.get("../etc")


def test_failed_bundle_write_leaves_nothing_behind(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs")
    unserialisable = {"python": object()}
    with pytest.raises(TypeError):
        store.write(_manifest("20250101-000000-000-cccccc"), new_notebook([]), unserialisable)
    assert list((tmp_path / "runs").iterdir()) == []
    assert store.list() == []


def test_temporary_bundle_of_a_dead_writer_is_removed_and_never_listed(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    stale = runs / f".tmp-{dead.stdout.strip()}-20250101-000000-000-dddddd"
    stale.mkdir(parents=True)
    (stale / "run.json").write_text(json.dumps(_manifest("20250101-000000-000-dddddd")))
    store = RunStore(runs)
    assert store.list() == []
    assert store.remove_stale_temporaries() == [stale]
    assert not stale.exists()


def test_store_root_may_be_a_project_with_a_configured_runs_dir(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.nbrepro]\nruns_dir = "out/runs"\n')
    nested = tmp_path / "notebooks" / "deep"
    nested.mkdir(parents=True)
    assert find_project_root(nested / "x.ipynb") == tmp_path
    assert RunStore(tmp_path).runs_dir == (tmp_path / "out" / "runs").resolve()
    assert resolve_runs_dir(tmp_path, "elsewhere") == Path("elsewhere").resolve()
    (tmp_path / "pyproject.toml").write_text("[tool.nbrepro\n")
    with pytest.raises(InputError):
        RunStore(tmp_path)


def test_tracking_uri_credentials_are_never_recorded() -> None:
    assert (
        redact_uri("https://bob:hunter2@mlflow.example:5000/x") == "https://mlflow.example:5000/x"
    )
    assert redact_uri("http://127.0.0.1:5000") == "http://127.0.0.1:5000"
    assert "hunter2" not in redact_uri("https://:hunter2@h/")


def test_runs_commands_report_unknown_ids_in_one_line(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "nbrepro", "runs", "show", "nope", "--runs-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ},
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"nbrepro: error: 'nope': no such run in {tmp_path.resolve()}"
    ]
