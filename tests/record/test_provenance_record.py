"""One builder lays out every ``metadata.nbrepro`` record: the recorder's, the relay's, a run's."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from nbrepro.hashing import source_hash
from nbrepro.journal.store import utcnow_iso
from nbrepro.provenance import validation_errors
from nbrepro.record.provenance_record import (
    RECORD_KEYS,
    RELAY,
    CellRecord,
    ExecutionRecord,
    InputRecord,
    ProvenanceRecord,
    Session,
    derived_cell_id,
    kernel_environment,
    provenance_record,
)

from .conftest import user_expression

HASH = "sha256:" + "ab" * 32
T0, T1 = "2024-05-01T09:14:45.520Z", "2024-05-01T09:14:45.528Z"

#: A cell that reads a data file, one that uses what it read, one that fails.
SOURCES = [
    "rows = open('data/train.csv').read().splitlines()",
    "n = len(rows)\nprint(n)",
    "1 / 0",
]
#: The recorder's provenance in the order it lays it out (``provenance_json`` sorts the keys).
UNSORTED_PROVENANCE = (
    "__import__('json').dumps(__import__('nbrepro.record.api', fromlist=['_']).provenance())"
)


def laid_out_by_the_builder(prov: dict[str, Any]) -> bool:
    """Whether ``prov`` is exactly what the builder writes for its facts, key order included."""
    return json.dumps(ProvenanceRecord.from_json(prov).to_json()) == json.dumps(prov)


def in_record_order(prov: dict[str, Any]) -> bool:
    return list(prov) == [key for key in RECORD_KEYS if key in prov]


def test_the_builder_writes_the_schemas_keys_in_one_order() -> None:
    first = ExecutionRecord("b", HASH, T0, T1, "error", 1, "ZeroDivisionError", ("in.csv",))
    again = ExecutionRecord("b", HASH, T0, T1, "ok", 3, deleted_cells=("gone",))
    other = ExecutionRecord(derived_cell_id(HASH), HASH, T0, T1, "ok", 2, cell_id_source="derived")
    prov = provenance_record(
        session=Session("s-1", T0),
        environment=kernel_environment("bash", "bash"),
        inputs={
            "z.csv": InputRecord(HASH, 3, "file"),
            "big.bin": InputRecord(None, 9, "large", mtime_ns=5),
            "data": InputRecord(HASH, 3, "directory", produced=True, recursive=True),
        },
        executions=[first, other, again],
        deleted_cells=["gone", "gone", "a"],
        recorder=RELAY,
    )
    assert validation_errors(prov) == []
    assert list(prov) == list(RECORD_KEYS)
    assert list(prov["inputs"]) == ["big.bin", "data", "z.csv"]
    assert list(prov["inputs"]["big.bin"]) == ["hash", "size", "kind", "produced", "mtime_ns"]
    assert list(prov["inputs"]["data"]) == ["hash", "size", "kind", "produced", "recursive"]
    # No cells given: each cell's last execution, sorted by id.
    assert list(prov["cells"]) == ["b", "src-abababababababab"]
    assert prov["cells"]["b"] == {
        "execution_count": 3,
        "source_hash": HASH,
        "status": "ok",
        "error": None,
        "inputs": [],
        "outputs": [],
    }
    assert list(prov["executions"][0]) == [
        "cell_id",
        "cell_id_source",
        "execution_count",
        "source_hash",
        "started",
        "ended",
        "status",
        "error",
        "inputs",
        "outputs",
    ]
    assert prov["executions"][2]["deleted_cells"] == ["gone"]
    assert prov["deleted_cells"] == ["a", "gone"]
    assert laid_out_by_the_builder(prov)

    # What a producer does not keep is left out, not written empty.
    bare = provenance_record(
        session=Session("run-1", T0),
        environment={},
        cells={"b": CellRecord(HASH, "ok")},
    )
    assert list(bare) == [
        k for k in RECORD_KEYS if k not in ("recorder", "executions", "deleted_cells")
    ]
    assert bare["inputs"] == {}


@pytest.mark.kernel
def test_the_recorder_the_relay_and_a_run_write_the_same_record_for_the_same_facts(
    project: Path, recording_kernel, tmp_path: Path
) -> None:
    from nbrepro.notebook_io import write_notebook
    from nbrepro.runs.reproduce import _input_states, run_provenance, run_working_dir
    from nbrepro.runs.runner import start_run
    from nbrepro.server.journaling import journal_entry
    from nbrepro.server.kernel_state import KernelState, PendingExecution
    from nbrepro.server.save_hook import relay_provenance

    # The recorder in a real kernel, and the relay from the same requests and real replies.
    session = recording_kernel(SOURCES)
    relayed = KernelState("k-1", kernel_name="python3", language="python")
    for index, cell in enumerate(session.nb["cells"]):
        pending = PendingExecution(
            cell["id"], source_hash(cell["source"]), utcnow_iso(), time.monotonic()
        )
        relayed.executions.append(journal_entry(pending, session.run_cell(index)))
    recorder = json.loads(user_expression(session, UNSORTED_PROVENANCE))
    relay = relay_provenance(relayed)
    # The same notebook as a run.
    nb_path = project / "nb.ipynb"
    write_notebook(session.nb, nb_path)
    run = start_run(nb_path, runs_dir=tmp_path / "runs")
    inputs = _input_states(run, run_working_dir(run), run.notebook())
    from_run = run_provenance(run, inputs)

    records = {"recorder": recorder, "relay": relay, "run": from_run}
    for name, prov in records.items():
        assert validation_errors(prov) == [], name
        assert in_record_order(prov), (name, list(prov))
        assert laid_out_by_the_builder(prov), name
    assert "recorder" not in recorder and "recorder" not in from_run
    assert relay["recorder"] == RELAY
    assert "executions" not in from_run  # a run ran top to bottom: no journal

    # Per cell: the same keys in the same order, the same facts.
    ids = ["cell-0", "cell-1", "cell-2"]
    for prov in records.values():
        assert list(prov["cells"]) == ids
    for cid in ids:
        entries = [prov["cells"][cid] for prov in records.values()]
        assert len({tuple(entry) for entry in entries}) == 1, entries
        facts = {(e["source_hash"], e["status"], e["error"]) for e in entries}
        assert len(facts) == 1, facts
    assert recorder["cells"]["cell-2"]["error"] == "ZeroDivisionError"
    counts = [recorder["cells"][cid]["execution_count"] for cid in ids]
    assert counts == [relay["cells"][cid]["execution_count"] for cid in ids] == [1, 2, 3]
    assert from_run["cells"]["cell-0"]["execution_count"] is None  # a manifest keeps none

    # Per execution (the recorder's and the relay's journal): the same keys, the same facts.
    assert [list(e) for e in recorder["executions"]] == [list(e) for e in relay["executions"]]
    keys = ("cell_id", "cell_id_source", "execution_count", "source_hash", "status", "error")
    assert [[e[k] for k in keys] for e in recorder["executions"]] == [
        [e[k] for k in keys] for e in relay["executions"]
    ]

    # The data file, hashed by the recorder and by the run alike, read by the same cell.
    assert recorder["inputs"]["data/train.csv"] == from_run["inputs"]["data/train.csv"]
    assert list(recorder["inputs"]["data/train.csv"]) == list(from_run["inputs"]["data/train.csv"])
    assert recorder["cells"]["cell-0"]["inputs"] == ["data/train.csv"]
    assert from_run["cells"]["cell-0"]["inputs"] == ["data/train.csv"]
    assert relay["inputs"] == {} and relay["cells"]["cell-0"]["inputs"] == []
    assert relay["environment"] == kernel_environment("python3", "python")
    assert from_run["session"]["id"] == run.run_id
