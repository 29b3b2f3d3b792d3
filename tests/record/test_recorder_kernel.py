"""The recorder in real kernels, driven the way JupyterLab drives them."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from nbrepro.notebook_io import read_notebook
from nbrepro.provenance import get_provenance, validation_errors
from nbrepro.record.drift import check_drift

from .conftest import kernel_provenance, stdout_of, user_expression

pytestmark = pytest.mark.kernel


def _sha(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def test_csv_reads_are_hashed_saved_into_the_notebook_and_changes_detected(
    project: Path, recording_kernel
) -> None:
    s = recording_kernel(
        [
            "import csv\ntrain = list(csv.reader(open('data/train.csv')))",
            "import pathlib\ntest = pathlib.Path('data/test.csv').read_text()",
            "len(train) + len(test)",
        ]
    )
    s.run_order([0, 1, 2])
    prov = kernel_provenance(s)
    assert validation_errors(prov) == []
    train, test = project / "data" / "train.csv", project / "data" / "test.csv"
    assert prov["inputs"]["data/train.csv"] == {
        "hash": _sha(train),
        "size": train.stat().st_size,
        "kind": "file",
        "produced": False,
    }
    assert prov["inputs"]["data/test.csv"]["hash"] == _sha(test)
    assert prov["cells"]["cell-0"]["inputs"] == ["data/train.csv"]
    assert prov["cells"]["cell-1"]["inputs"] == ["data/test.csv"]
    assert [e["execution_count"] for e in prov["executions"]] == [1, 2, 3]

    nb_path = s.save(project / "analysis.ipynb")
    _, out = s.execute_code("%nbrepro save analysis.ipynb")
    assert "provenance saved to" in stdout_of(out)
    first = nb_path.read_bytes()
    _, out = s.execute_code("%nbrepro save analysis.ipynb")
    assert "unchanged" in stdout_of(out)
    assert nb_path.read_bytes() == first

    nb = read_notebook(nb_path)
    saved = get_provenance(nb)
    assert saved is not None
    assert validation_errors(saved) == []
    assert saved["cells"]["cell-0"]["source_hash"] == prov["cells"]["cell-0"]["source_hash"]
    assert not check_drift(nb, project).has_drift

    train.write_text("x,y\n1,2\n3,5\n")
    test.unlink()
    report = check_drift(nb, project)
    assert report.has_drift
    by_path = {i.path: i for i in report.changed_inputs}
    assert by_path["data/train.csv"].status == "changed"
    assert [(c.id, c.index) for c in by_path["data/train.csv"].cells] == [("cell-0", 0)]
    assert by_path["data/test.csv"].status == "missing"
    assert [(c.id, c.index) for c in by_path["data/test.csv"].cells] == [("cell-1", 1)]
    as_json = json.loads(json.dumps(report.to_dict()))
    assert as_json["drift"] is True
    assert "input changed: data/train.csv; read by cell 1 (id cell-0)" in report.summary_lines()


def test_secret_environment_variables_never_appear_in_any_output(
    project: Path, recording_kernel
) -> None:
    secret = "s3cr3t-t0ken-value"
    secrets = {
        "MY_API_TOKEN": secret,
        "AWS_SECRET_ACCESS_KEY": "aws-s3cr3t-key",
        "DB_PASSWORD": "db-pa55word",
        "GITHUB_TOKEN": "ghp_0123456789",
    }
    url_password = "url-pa55word"
    nb_path = project / "secret.ipynb"
    s = recording_kernel(
        [
            "import os\ntoken = os.environ['MY_API_TOKEN']\n"
            "open(f'data/{token}.csv', 'w').write('1')\n"
            "env = os.environ\n"
            "open(f\"data/{env['DB_PASSWORD']}-{env['AWS_SECRET_ACCESS_KEY']}\", 'w')\n"
            "open('data/train.csv').read()",
            "raise RuntimeError(os.environ['MY_API_TOKEN'])",
        ],
        env={
            **secrets,
            # A connection URL in a variable the user allowlisted: recorded without its password.
            "DATABASE_URL": f"postgres://bob:{url_password}@db.example/prod",
            "NBREPRO_ENV_ALLOWLIST": "MY_API_TOKEN,GITHUB_TOKEN,DATABASE_URL",
            "PYTHONHASHSEED": "0",
            "JPY_SESSION_NAME": str(nb_path),
        },
    )
    s.run_order([0, 1])
    s.save(nb_path)
    _, status = s.execute_code("%nbrepro status --text")
    _, widget = s.execute_code("%nbrepro status")
    _, saved = s.execute_code("%nbrepro save")
    live = user_expression(s, "__import__('nbrepro.record.api', fromlist=['_']).provenance_json()")
    assert "provenance saved to" in stdout_of(saved)
    prov = json.loads(live)
    assert prov["environment"]["env_vars"] == {
        "DATABASE_URL": "postgres://bob:<redacted>@db.example/prod",
        "PYTHONHASHSEED": "0",
        **_lang(prov),
    }
    assert sorted(p for p in prov["inputs"] if "<redacted>" in p) == [
        "data/<redacted>-<redacted>",
        "data/<redacted>.csv",
    ]
    assert prov["cells"]["cell-1"]["error"] == "RuntimeError"
    saved_provenance = json.dumps(get_provenance(read_notebook(nb_path)))
    assert any(o.get("output_type") == "display_data" for o in widget)
    for text in (live, stdout_of(status), json.dumps(widget), stdout_of(saved), saved_provenance):
        for value in [*secrets.values(), url_password]:
            assert value not in text
    assert "MY_API_TOKEN" not in live
    assert "GITHUB_TOKEN" not in live


def _lang(prov: dict) -> dict[str, str]:
    """The locale variables the kernel inherited from the test run (allowlisted, not secret)."""
    return {
        k: v for k, v in prov["environment"]["env_vars"].items() if k.startswith(("LANG", "LC_"))
    }


def test_recorder_survives_errors_in_cells_and_in_itself(recording_kernel) -> None:
    s = recording_kernel(
        ["1/0", "undefined_name", "x = open('data/train.csv').read()", "y = len(x)"]
    )
    assert s.run_cell(0)["status"] == "error"
    assert s.run_cell(1)["status"] == "error"
    # Break the recorder from inside: its hashing now raises.
    s.execute_code(
        "import nbrepro.record.recorder as _r\n_r._saved = _r.hash_file\n"
        "_r.hash_file = lambda *a, **k: 1 / 0",
        silent=True,
        store_history=False,
    )
    reply = s.run_cell(2)
    assert reply["status"] == "ok"
    assert s.nb["cells"][2]["outputs"] == []
    s.execute_code("_r.hash_file = _r._saved", silent=True, store_history=False)
    assert s.run_cell(3)["status"] == "ok"
    _, out = s.execute_code("%nbrepro status --text")
    status = stdout_of(out)
    assert "recorder errors: 1" in status
    assert "ZeroDivisionError" in status
    prov = kernel_provenance(s)
    assert prov["cells"]["cell-0"]["status"] == "error"
    assert prov["cells"]["cell-0"]["error"] == "ZeroDivisionError"
    assert prov["cells"]["cell-1"]["error"] == "NameError"
    assert "cell-2" not in prov["cells"]  # its record was lost to the injected fault
    assert prov["cells"]["cell-3"]["status"] == "ok"
    assert user_expression(s, "y") == len("x,y\n1,2\n3,4\n")


def test_recording_switches_off_and_on(recording_kernel) -> None:
    s = recording_kernel(["a = 1", "b = 2", "c = 3", "d = 4", "e = 5"])
    s.run_cell(0)
    s.execute_code("%nbrepro off")
    s.run_cell(1)
    s.execute_code("%nbrepro on")
    s.run_cell(2)
    s.execute_code("%unload_ext nbrepro")
    s.run_cell(3)
    # The audit hook cannot be removed: unloaded, it collects nothing and no event is registered.
    idle = "(__import__('nbrepro.record.audit', fromlist=['_'])._sink is None, {})".format(
        "[c for e in ('pre_run_cell', 'post_run_cell') "
        "for c in get_ipython().events.callbacks[e] if 'Recorder' in repr(c)]"
    )
    assert user_expression(s, idle) == (True, [])
    s.execute_code("%load_ext nbrepro")
    s.execute_code("%load_ext nbrepro", silent=True, store_history=False)
    s.execute_code(
        "import nbrepro; nbrepro.load_ipython_extension(get_ipython())",
        silent=True,
        store_history=False,
    )
    s.run_cell(4)
    prov = kernel_provenance(s)
    assert sorted(prov["cells"]) == ["cell-0", "cell-2", "cell-4"]
    assert [e["cell_id"] for e in prov["executions"]] == ["cell-0", "cell-2", "cell-4"]


def _src_id(source: str) -> str:
    return hashlib.sha256(source.encode()).hexdigest()[:16]


def test_a_file_written_then_read_is_marked_produced(project: Path, recording_kernel) -> None:
    s = recording_kernel(
        [
            "open('out.csv', 'w').write('r\\n1\\n')\nopen('out.csv').read()",
            "back = open('out.csv').read() + open('data/train.csv').read()",
        ]
    )
    s.run_order([0, 1])
    prov = kernel_provenance(s)
    assert prov["inputs"]["out.csv"]["produced"] is True
    assert prov["inputs"]["out.csv"]["hash"] == _sha(project / "out.csv")
    assert prov["inputs"]["data/train.csv"]["produced"] is False
    assert prov["cells"]["cell-0"]["outputs"] == ["out.csv"]
    assert prov["cells"]["cell-1"]["inputs"] == ["data/train.csv", "out.csv"]
    nb_path = s.save(project / "p.ipynb")
    s.execute_code("%nbrepro save p.ipynb")
    (project / "out.csv").write_text("changed by a rerun\n")
    report = check_drift(read_notebook(nb_path), project)
    assert [i.path for i in report.inputs] == ["data/train.csv"]
    assert not report.has_drift


def test_cell_ids_from_requests_are_used_with_a_derived_fallback(recording_kernel) -> None:
    s = recording_kernel(["a = 1", "b = 2"])
    s.run_cell(0)
    s.execute_code("z = 42")  # a frontend that sends no cell id
    s.run_cell(1, deleted_cells=["removed-cell-id"])
    prov = kernel_provenance(s)
    derived = "src-" + _src_id("z = 42")
    assert sorted(prov["cells"]) == ["cell-0", "cell-1", derived]
    sources = [(e["cell_id"], e["cell_id_source"]) for e in prov["executions"]]
    assert sources == [("cell-0", "frontend"), (derived, "derived"), ("cell-1", "frontend")]
    assert prov["deleted_cells"] == ["removed-cell-id"]
    assert prov["executions"][-1]["deleted_cells"] == ["removed-cell-id"]


def test_reading_provenance_silently_changes_no_execution_count(recording_kernel) -> None:
    s = recording_kernel(["a = 1", "b = 2"])
    assert s.run_cell(0)["execution_count"] == 1
    first = kernel_provenance(s)
    second = kernel_provenance(s)
    assert first == second
    assert s.run_cell(1)["execution_count"] == 2
    assert user_expression(s, "len(get_ipython().history_manager.input_hist_raw)") == 3


def test_listing_a_directory_records_a_manifest_not_import_lookups(
    project: Path, recording_kernel
) -> None:
    s = recording_kernel(
        [
            "import helpers\nimport glob\nfiles = sorted(glob.glob('data/*.csv'))",
            "total = sum(len(open(f).read()) * helpers.SCALE for f in files)",
        ]
    )
    # Written after the kernel started: importing it makes the import system list the folder.
    (project / "helpers.py").write_text("SCALE = 2\n")
    s.run_order([0, 1])
    prov = kernel_provenance(s)
    assert prov["inputs"]["data"]["kind"] == "directory"
    assert prov["cells"]["cell-0"]["inputs"] == ["data", "helpers.py"]
    assert "." not in prov["inputs"]  # the import system's listing of the notebook folder
    nb_path = s.save(project / "d.ipynb")
    s.execute_code("%nbrepro save d.ipynb")
    nb = read_notebook(nb_path)
    assert not check_drift(nb, project).has_drift
    (project / "data" / "extra.csv").write_text("x,y\n")
    changed = {i.path: i for i in check_drift(nb, project).changed_inputs}
    assert list(changed) == ["data"]
    assert [c.id for c in changed["data"].cells] == ["cell-0"]


def test_size_cap_is_configurable_and_bad_commands_get_one_line_errors(
    project: Path, recording_kernel
) -> None:
    s = recording_kernel(["big = open('data/train.csv').read()"])
    _, out = s.execute_code("%nbrepro config hash_size_cap=10")
    assert "hash_size_cap=10" in stdout_of(out)
    s.run_cell(0)
    entry = kernel_provenance(s)["inputs"]["data/train.csv"]
    assert entry["kind"] == "large"
    assert entry["hash"] is None
    assert entry["mtime_ns"] == (project / "data" / "train.csv").stat().st_mtime_ns
    for command, message in [
        ("%nbrepro frobnicate", "unknown subcommand 'frobnicate'"),
        ("%nbrepro config journal_cap=many", "journal_cap must be a positive integer"),
        ("%nbrepro config hash_size_cap=huge", "invalid size 'huge'"),
        ("%nbrepro save no/such/notebook.ipynb", "no such notebook"),
    ]:
        reply, outputs = s.execute_code(command)
        text = stdout_of(outputs)
        assert reply["status"] == "ok"
        assert text.startswith("nbrepro: error: ") and message in text, text
        assert text.count("\n") == 1


def test_environment_lists_packages_the_notebook_imported_only(recording_kernel) -> None:
    from importlib import metadata

    s = recording_kernel(["import yaml", "import colorsys, wave"])
    s.run_cell(0)
    # Imported by a silent request (as a server would), bound to no name: not the notebook's.
    s.execute_code("__import__('jinja2')", silent=True, store_history=False)
    s.run_cell(1)
    env = kernel_provenance(s)["environment"]
    assert env["packages_scope"] == "imported"
    assert env["packages"] == {"pyyaml": metadata.version("PyYAML")}
    assert env["kernel"]["language"] == "python"
