"""Versioned runs: the recorder in the run's kernel, artifacts and inputs in the object store,
rollback (reproduce --restore-inputs), checkout, gc, the code patch, and a killed store."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from nbrepro.objects import ObjectStore, hash_file
from nbrepro.runs.store import RunStore

from .conftest import bundles, make_notebook, run_cli

pytestmark = pytest.mark.kernel

#: A notebook that trains a pickled pure-Python model from a data file whose name is built at
#: run time (no string literal names it: only the recorder can tell it is read).
TRAIN_SOURCES = [
    "threshold = 10\nfolder = 'data'",
    "import csv, os\n"
    "path = os.path.join(folder, 'tr' + 'ain.csv')\n"
    "rows = [r for r in csv.DictReader(open(path)) if float(r['x']) < threshold]\n"
    "print(len(rows), 'rows')",
    "import pickle\n"
    "weight = sum(float(r['y']) for r in rows) / len(rows)\n"
    "with open('model.pkl', 'wb') as fh:\n"
    "    pickle.dump({'weight': weight}, fh)\n"
    "print('weight', weight)",
    "import nbrepro\nnbrepro.log_metric('weight', weight)",
]


def _project(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'demo'\n", encoding="utf-8")
    (root / "data").mkdir(exist_ok=True)
    (root / "data" / "train.csv").write_text("x,y\n1,2\n3,5\n", encoding="utf-8")
    return make_notebook(root / "train.ipynb", TRAIN_SOURCES)


def _manifest(runs_dir: Path, index: int = -1) -> dict:
    return json.loads((bundles(runs_dir)[index] / "run.json").read_text())


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project with one run stored with --snapshot-inputs (named ``base``)."""
    root = tmp_path_factory.mktemp("versioned")
    _project(root)
    proc = run_cli("run", "train.ipynb", "--snapshot-inputs", "--name", "base", "-q", cwd=root)
    assert proc.returncode == 0, proc.stderr
    return root


def test_the_recorder_records_what_each_cell_read_and_wrote(trained: Path) -> None:
    runs_dir = trained / ".nbrepro" / "runs"
    manifest = _manifest(runs_dir)
    schema = json.loads(
        resources.files("nbrepro.schemas").joinpath("run-manifest.schema.json").read_text()
    )
    jsonschema.validate(manifest, schema)
    assert manifest["schema_version"] == 2
    assert manifest["recording"] == {"mode": "recorder", "reason": None}
    data = (trained / "data" / "train.csv").read_bytes()
    model = (trained / "model.pkl").read_bytes()
    # Read (found by the recorder, not by a literal), with its content hash and its reader.
    [(path, info)] = manifest["inputs"].items()
    assert path == "data/train.csv"
    assert info["source"] == "read"
    assert info["hash"] == hash_file(trained / "data" / "train.csv")[0]
    assert info["size"] == len(data)
    assert info["cells"] == ["cell-1"] and info["stored"] is True
    cells = {c["id"]: c for c in manifest["cells"]}
    assert cells["cell-1"]["reads"] == ["data/train.csv"]
    assert cells["cell-2"]["writes"] == ["model.pkl"]
    assert cells["cell-3"]["reads"] == [] and cells["cell-3"]["writes"] == []
    # The model the notebook trained is an artifact, kept in the object store.
    art = manifest["artifacts"]["model.pkl"]
    assert art["cells"] == ["cell-2"] and art["stored"] is True and art["size"] == len(model)
    objects = ObjectStore(trained / ".nbrepro" / "objects")
    assert objects.path_for(art["hash"]).read_bytes() == model
    assert objects.path_for(info["hash"]).read_bytes() == data
    assert not os.access(objects.path_for(art["hash"]), os.W_OK) or os.geteuid() == 0


def test_reproduce_reports_changed_data_and_restore_inputs_rolls_back(trained: Path) -> None:
    data = trained / "data" / "train.csv"
    original = data.read_text()
    data.write_text(original + "5,11\n")
    try:
        plain = run_cli("runs", "reproduce", "base", cwd=trained)
        assert plain.returncode == 1, plain.stdout + plain.stderr
        assert "input changed since the run: data/train.csv" in plain.stdout
        assert "cause: input-changed: reads data/train.csv" in plain.stdout

        restored = run_cli("runs", "reproduce", "base", "--restore-inputs", cwd=trained)
        assert restored.returncode == 0, restored.stdout + restored.stderr
        assert "restored from the object store" in restored.stdout
        assert "reproduced (4 of 4 code cells compared" in restored.stdout
        # The project's files are untouched: the rollback ran in a copy of the working folder.
        assert data.read_text() == original + "5,11\n"
    finally:
        data.write_text(original)


def test_checkout_materialises_notebook_inputs_artifacts_and_environment(
    trained: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "co"
    proc = run_cli("runs", "checkout", "base", str(dest), "--format", "json", cwd=trained)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["missing"] == {}
    manifest = _manifest(trained / ".nbrepro" / "runs", 0)
    assert (dest / "data" / "train.csv").read_bytes() == (
        ObjectStore(trained / ".nbrepro" / "objects")
        .path_for(manifest["inputs"]["data/train.csv"]["hash"])
        .read_bytes()
    )
    model = manifest["artifacts"]["model.pkl"]["hash"]
    assert hash_file(dest / "model.pkl")[0] == model
    assert json.loads((dest / "run.json").read_text())["run_id"] == manifest["run_id"]
    assert (dest / "train.ipynb").is_file() and (dest / "environment.json").is_file()
    assert "nbrepro==" in (dest / "requirements.txt").read_text()
    again = run_cli("runs", "checkout", "base", str(dest), cwd=trained)
    assert again.returncode == 2 and "not an empty folder" in again.stderr


def test_restore_inputs_needs_a_snapshot(tmp_path: Path) -> None:
    _project(tmp_path)
    first = run_cli("run", "train.ipynb", "-q", "--name", "plain", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    manifest = _manifest(tmp_path / ".nbrepro" / "runs")
    assert manifest["inputs"]["data/train.csv"].get("stored") is None
    assert manifest["artifacts"]["model.pkl"]["stored"] is True  # artifacts are always kept
    proc = run_cli("runs", "reproduce", "plain", "--restore-inputs", cwd=tmp_path)
    assert proc.returncode == 2
    assert "cannot restore input data/train.csv: not kept in the object store" in proc.stderr

    # Same data, same training: the model is stored once, shared by both runs.
    second = run_cli("run", "train.ipynb", "-q", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    objects = ObjectStore(tmp_path / ".nbrepro" / "objects")
    assert len(list(objects.objects())) == 1
    # gc keeps what a run names; a removed run's objects go.
    (tmp_path / "data" / "train.csv").write_text("x,y\n1,7\n")
    third = run_cli("run", "train.ipynb", "-q", cwd=tmp_path)
    assert third.returncode == 0, third.stderr
    new_model = _manifest(tmp_path / ".nbrepro" / "runs")["artifacts"]["model.pkl"]["hash"]
    assert len(list(objects.objects())) == 2
    import shutil

    shutil.rmtree(bundles(tmp_path / ".nbrepro" / "runs")[-1])
    gc = run_cli("runs", "gc", "--format", "json", cwd=tmp_path)
    assert gc.returncode == 0, gc.stderr
    assert json.loads(gc.stdout)["removed"] == [new_model]
    assert [d for d, _ in objects.objects()] == [manifest["artifacts"]["model.pkl"]["hash"]]


def test_a_dirty_checkout_keeps_the_patch(tmp_path: Path) -> None:
    nb = _project(tmp_path)
    git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run([*git, "add", "pyproject.toml", "train.ipynb"], cwd=tmp_path, check=True)
    subprocess.run([*git, "commit", "-qm", "init"], cwd=tmp_path, check=True)
    nb.write_text(nb.read_text().replace("threshold = 10", "threshold = 12"))
    proc = run_cli("run", "train.ipynb", "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    bundle = bundles(tmp_path / ".nbrepro" / "runs")[-1]
    git_info = json.loads((bundle / "run.json").read_text())["git"]
    assert git_info["dirty"] is True and git_info["patch"]["truncated"] is False
    patch = (bundle / "code.patch").read_text()
    lines = patch.splitlines()
    assert any(line.startswith("-") and "threshold = 10" in line for line in lines)
    assert any(line.startswith("+") and "threshold = 12" in line for line in lines)
    # The patch re-applies onto the commit.
    subprocess.run(["git", "checkout", "-q", "--", "train.ipynb"], cwd=tmp_path, check=True)
    subprocess.run(["git", "apply", str(bundle / "code.patch")], cwd=tmp_path, check=True)
    assert "threshold = 12" in nb.read_text()


def test_a_run_without_the_recorder_guesses_its_inputs_and_says_so(tmp_path: Path) -> None:
    import json

    from nbrepro.runs.runner import start_run

    nb = make_notebook(tmp_path / "lit.ipynb", ["path=none", 'cat "$path"'])
    # A bash kernel (bash_kernel, installed by the tests): no IPython, so no recorder.
    data = json.loads(nb.read_text())
    data["metadata"]["kernelspec"] = {"name": "bash", "display_name": "Bash", "language": "bash"}
    nb.write_text(json.dumps(data))
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'demo'\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.csv").write_text("x,y\n1,2\n")
    run = start_run(nb, {"path": "data/train.csv"})
    assert run.manifest["recording"] == {"mode": "guessed", "reason": "the kernel is not IPython"}
    assert run.manifest["inputs"]["data/train.csv"]["source"] == "parameter"
    assert run.manifest["artifacts"] == {}


def test_a_1_gib_input_snapshotted_twice_is_stored_once(tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    with open(big, "wb") as fh:
        fh.truncate(1 << 30)  # sparse: quick to make, 1 GiB to read
        fh.seek((1 << 30) - 5)
        fh.write(b"tail!")
    objects = ObjectStore(tmp_path / "objects")
    first = objects.put(big)
    assert first.size == 1 << 30 and first.how in ("copy", "reflink")
    second = objects.put(big)  # hashed again, not stored again
    third = objects.put(big, first.hash)  # hash known: nothing read
    assert second.how == third.how == "existing"
    assert second.hash == first.hash == third.hash
    assert [d for d, _ in objects.objects()] == [first.hash]
    assert list((tmp_path / "objects" / "tmp").iterdir()) == []
    stored = objects.path_for(first.hash)
    assert stored.stat().st_size == 1 << 30
    with open(stored, "rb") as fh:
        fh.seek((1 << 30) - 5)
        assert fh.read() == b"tail!"


def test_a_run_killed_while_storing_objects_leaves_no_object_and_no_bundle(
    tmp_path: Path,
) -> None:
    _project(tmp_path)
    big = tmp_path / "data" / "big.bin"
    with open(big, "wb") as fh:
        fh.truncate(1 << 30)
    nb = make_notebook(
        tmp_path / "big.ipynb",
        ["name = 'data/big.bin'", "with open(name, 'rb') as fh:\n    print(fh.read(4))"],
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "nbrepro", "run", str(nb), "--snapshot-inputs", "-q"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    tmp_dir = tmp_path / ".nbrepro" / "objects" / "tmp"
    deadline = time.monotonic() + 120
    try:
        while not (tmp_dir.is_dir() and any(tmp_dir.iterdir())):
            assert proc.poll() is None, "the run ended before it stored the big input"
            assert time.monotonic() < deadline
            time.sleep(0.002)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    objects = ObjectStore(tmp_path / ".nbrepro" / "objects")
    assert list(objects.objects()) == []
    assert bundles(tmp_path / ".nbrepro" / "runs") == []
    assert RunStore(tmp_path).list() == []
    # The partial copy is a temporary file of a dead writer: the next writer removes it.
    assert len(objects.remove_stale_temporaries()) == 1
    assert list(tmp_dir.iterdir()) == []


def test_diff_finds_nondeterministic_training_and_list_filters_and_sorts(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'demo'\n")
    make_notebook(
        tmp_path / "noisy.ipynb",
        [
            "threshold = 10",
            "import os, nbrepro\n"
            "open('model.bin', 'wb').write(os.urandom(16))  # no seed: a new model each time\n"
            "nbrepro.log_metric('score', threshold * 2)",
        ],
    )
    proc = run_cli(
        "run", "noisy.ipynb", "--grid", "threshold=20,20,15", "--format", "json", cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    ids = [r["run_id"] for r in json.loads(proc.stdout)["runs"]]

    diff = run_cli("runs", "diff", ids[0], ids[1], "--format", "json", cwd=tmp_path)
    assert diff.returncode == 0, diff.stderr
    found = json.loads(diff.stdout)
    assert found["same_configuration"] is True
    assert [a["name"] for a in found["artifacts"]] == ["model.bin"]
    assert [f["kind"] for f in found["findings"]] == ["nondeterministic-training"]
    text = run_cli("runs", "diff", ids[0], ids[1], cwd=tmp_path).stdout
    assert "Artifacts:\n  ~ model.bin: sha256:" in text
    assert "Finding: nondeterministic-training: same notebook, parameters, inputs" in text
    # Different parameters: the model differs too, but that is no finding.
    other = json.loads(
        run_cli("runs", "diff", ids[0], ids[2], "--format", "json", cwd=tmp_path).stdout
    )
    assert other["findings"] == [] and other["artifacts"]

    def listed(*args: str) -> list[str]:
        out = run_cli("runs", "list", "--format", "json", *args, cwd=tmp_path)
        assert out.returncode == 0, out.stderr
        return [r["run_id"] for r in json.loads(out.stdout)["runs"]]

    assert listed("--where", "threshold>18") == ids[:2]
    assert listed("--where", "threshold<18", "--where", "score>=30") == [ids[2]]
    assert listed("--sort", "score") == [ids[2], ids[0], ids[1]]
    assert listed("--sort=-score")[-1] == ids[2]
    assert listed("--where", "nosuch>1") == []
    bad = run_cli("runs", "list", "--where", "threshold>>", cwd=tmp_path)
    assert bad.returncode == 2 and "expected NAME OP VALUE" in bad.stderr
