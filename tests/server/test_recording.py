"""Automatic recording through a real jupyter server and real kernels."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.kernelspec import KernelSpecManager

from nbrepro.notebook_io import read_notebook, write_notebook
from nbrepro.provenance import validation_errors
from nbrepro.record.provenance_record import ProvenanceRecord
from tests.kernel_session import new_notebook
from tests.server.helpers import NotebookSession, get_json, make_notebook, stream_text

PROBE = "ip = get_ipython()\nprint('nbrepro' in ip.extension_manager.loaded, len(In))"


async def status(jp_fetch: Any, path: str) -> dict[str, Any]:
    return await get_json(jp_fetch, "nbrepro", "api", "status", path=path)


async def save(jp_fetch: Any, path: str, content: dict[str, Any]) -> None:
    body = {"type": "notebook", "format": "json", "content": content}
    await jp_fetch("api", "contents", path, method="PUT", body=json.dumps(body))


def test_out_of_order_session_is_reported_by_status(jp_fetch, jp_ws_fetch, jp_root_dir, run):
    path = make_notebook(jp_root_dir, "order.ipynb", [PROBE, "x = 1", "y = x + 1"])
    nb = read_notebook(path)

    async def body() -> None:
        session = await NotebookSession(jp_fetch, jp_ws_fetch, "order.ipynb").start()
        first, iopub = await session.execute(PROBE, cell_id="cell-0")
        # The recorder was loaded before the user's first execution, silently: the first
        # cell has execution count 1, sees the recorder, and history holds only itself.
        assert first["execution_count"] == 1
        assert stream_text(iopub).split() == ["True", "2"]
        for index in (1, 2, 1):
            await session.run_cell(nb, index)
        doc = await status(jp_fetch, "order.ipynb")
        await session.close()
        return doc

    doc = run(body())
    current = doc["journal"]["current"]
    assert [e["cell_id"] for e in current["executions"]] == ["cell-0", "cell-1", "cell-2", "cell-1"]
    assert [e["execution_count"] for e in current["executions"]] == [1, 2, 3, 4]
    assert current["order"]["in_order"] is False
    assert current["order"]["out_of_order"] == [
        {"seq": 4, "cell_id": "cell-1", "index": 1, "after_cell_id": "cell-2", "after_index": 2}
    ]
    assert current["lineage"]["reason"] == "start"
    assert current["lineage"]["recorder"] == "python"
    assert doc["recording"]["active"] is True
    assert doc["verdict"]["level"] in ("warning", "error")
    assert any("out of order" in r["text"] for r in doc["verdict"]["reasons"])


def test_in_order_session_is_reported_in_order(jp_fetch, jp_ws_fetch, jp_root_dir, run):
    path = make_notebook(jp_root_dir, "inorder.ipynb", ["a = 1", "b = a + 1"])
    nb = read_notebook(path)

    async def body() -> dict[str, Any]:
        session = await NotebookSession(jp_fetch, jp_ws_fetch, "inorder.ipynb").start()
        await session.run_cell(nb, 0)
        await session.run_cell(nb, 1)
        doc = await status(jp_fetch, "inorder.ipynb")
        await session.close()
        return doc

    doc = run(body())
    assert doc["journal"]["current"]["order"]["in_order"] is True
    assert not any("out of order" in r["text"] for r in doc["verdict"]["reasons"])


def test_save_merges_live_provenance_and_leaves_unrecorded_notebooks_alone(
    jp_fetch, jp_ws_fetch, jp_root_dir, run
):
    path = make_notebook(jp_root_dir, "saved.ipynb", ["a = 1", "b = a * 2"], other_tool={"k": 1})
    kept_prov = {"schema_version": 1, "cells": {"old": {"execution_count": 7}}}
    other = make_notebook(jp_root_dir, "other.ipynb", ["z = 0"], nbrepro=kept_prov)
    nb = read_notebook(path)

    async def body() -> None:
        session = await NotebookSession(jp_fetch, jp_ws_fetch, "saved.ipynb").start()
        await session.run_cell(nb, 1)
        await session.run_cell(nb, 0)
        await save(jp_fetch, "saved.ipynb", read_notebook(path))
        # A notebook without a recording session is saved with what it had.
        await save(jp_fetch, "other.ipynb", read_notebook(other))
        await session.close()

    run(body())
    saved = read_notebook(path)
    prov = saved["metadata"]["nbrepro"]
    assert saved["metadata"]["other_tool"] == {"k": 1}
    assert prov["cells"]["cell-1"]["execution_count"] == 1
    assert prov["cells"]["cell-1"]["status"] == "error"
    assert prov["cells"]["cell-0"]["execution_count"] == 2
    assert prov["environment"]["python"]["implementation"]
    assert [e["cell_id"] for e in prov["executions"]] == ["cell-1", "cell-0"]
    assert read_notebook(other)["metadata"]["nbrepro"] == kept_prov


def test_kernel_restart_starts_new_lineage_and_reloads_recorder(
    jp_fetch, jp_ws_fetch, jp_root_dir, run
):
    path = make_notebook(jp_root_dir, "restart.ipynb", ["a = 1", PROBE])
    nb = read_notebook(path)

    async def body() -> tuple[dict[str, Any], str]:
        session = await NotebookSession(jp_fetch, jp_ws_fetch, "restart.ipynb").start()
        await session.run_cell(nb, 0)
        await session.run_cell(nb, 0)
        await session.restart()
        reply, iopub = await session.execute(PROBE, cell_id="cell-1")
        assert reply["execution_count"] == 1
        doc = await status(jp_fetch, "restart.ipynb")
        await session.close()
        return doc, stream_text(iopub)

    doc, probe = run(body())
    assert probe.split() == ["True", "2"]
    lineages = doc["journal"]["lineages"]
    assert [lin["reason"] for lin in lineages] == ["start", "restart"]
    assert lineages[0]["end_reason"] == "restart"
    assert lineages[0]["executions"] == 2
    current = doc["journal"]["current"]
    assert current["restarted"] is True
    assert current["lineage"]["id"] == lineages[1]["id"]
    assert [e["cell_id"] for e in current["executions"]] == ["cell-1"]


def test_server_restart_keeps_the_journal(
    jp_fetch, jp_ws_fetch, jp_root_dir, jp_serverapp, jp_configurable_serverapp, journal_path, run
):
    path = make_notebook(jp_root_dir, "kept.ipynb", ["a = 1", "b = 2"])
    nb = read_notebook(path)

    async def body() -> None:
        session = await NotebookSession(jp_fetch, jp_ws_fetch, "kept.ipynb").start()
        await session.run_cell(nb, 1)
        await session.run_cell(nb, 0)
        await session.close()
        await jp_serverapp.web_app.settings["nbrepro"].recording.settle()

    run(body())
    first = jp_serverapp.web_app.settings["nbrepro"]
    # A second server on the same journal file: the journal is read back from SQLite.
    second_app = jp_configurable_serverapp()
    second = second_app.web_app.settings["nbrepro"]
    assert second is not first
    assert second.journal.path == journal_path
    doc = second.status.status("kept.ipynb", Path(path), second.recording.live_status(str(path)))
    current = doc["journal"]["current"]
    assert [e["cell_id"] for e in current["executions"]] == ["cell-1", "cell-0"]
    assert current["order"]["in_order"] is False
    assert doc["recording"]["active"] is False


def test_rename_moves_the_journal_with_the_notebook(jp_fetch, jp_ws_fetch, jp_root_dir, run):
    path = make_notebook(jp_root_dir, "before.ipynb", ["a = 1"])
    nb = read_notebook(path)

    async def body() -> tuple[dict[str, Any], dict[str, Any]]:
        session = await NotebookSession(jp_fetch, jp_ws_fetch, "before.ipynb").start()
        await session.run_cell(nb, 0)
        # JupyterLab renames the file, then moves the session.
        move = json.dumps({"path": "after.ipynb"})
        await jp_fetch("api", "contents", "before.ipynb", method="PATCH", body=move)
        await jp_fetch("api", "sessions", session.session_id, method="PATCH", body=move)
        await session.run_cell(nb, 0)
        doc = await status(jp_fetch, "after.ipynb")
        make_notebook(jp_root_dir, "before.ipynb", ["a = 1"])
        old = await status(jp_fetch, "before.ipynb")
        await session.close()
        return doc, old

    doc, old = run(body())
    assert len(doc["journal"]["lineages"]) == 1
    assert [e["seq"] for e in doc["journal"]["current"]["executions"]] == [1, 2]
    assert old["journal"]["lineages"] == []


def test_a_renamed_folder_is_followed_though_the_session_still_names_the_old_path(
    jp_fetch, jp_ws_fetch, jp_root_dir, run
):
    """A folder renamed by another client (or before the frontend moves its session): the
    journal and the provenance on save follow the rename and are never moved back."""
    path = make_notebook(jp_root_dir, "proj/nb.ipynb", ["a = 1", "b = 2"])
    nb = read_notebook(path)

    async def body() -> tuple[dict[str, Any], dict[str, Any]]:
        session = await NotebookSession(jp_fetch, jp_ws_fetch, "proj/nb.ipynb").start()
        await session.run_cell(nb, 0)
        move = json.dumps({"path": "moved"})
        await jp_fetch("api", "contents", "proj", method="PATCH", body=move)
        await session.run_cell(nb, 1)
        await save(jp_fetch, "moved/nb.ipynb", nb)
        doc = await status(jp_fetch, "moved/nb.ipynb")
        # The frontend moves its session later: still the same journal.
        session_move = json.dumps({"path": "moved/nb.ipynb"})
        await jp_fetch("api", "sessions", session.session_id, method="PATCH", body=session_move)
        await session.run_cell(nb, 0)
        later = await status(jp_fetch, "moved/nb.ipynb")
        await session.close()
        return doc, later

    doc, later = run(body())
    assert doc["recording"]["active"] is True
    assert len(doc["journal"]["lineages"]) == 1
    assert [e["cell_id"] for e in doc["journal"]["current"]["executions"]] == ["cell-0", "cell-1"]
    prov = read_notebook(jp_root_dir / "moved" / "nb.ipynb")["metadata"]["nbrepro"]
    assert sorted(prov["cells"]) == ["cell-0", "cell-1"]
    assert len(later["journal"]["lineages"]) == 1
    assert [e["seq"] for e in later["journal"]["current"]["executions"]] == [1, 2, 3]


def test_saves_keep_the_provenance_the_frontend_never_loaded(
    jp_fetch, jp_ws_fetch, jp_root_dir, run
):
    """JupyterLab keeps the notebook it loaded and never sees the provenance merged on save:
    its next saves (after a restart, after shutdown) must not drop what the file carries."""
    path = make_notebook(jp_root_dir, "lab.ipynb", ["a = 1", "b = 2"])
    loaded = read_notebook(path)  # the frontend's model, without metadata.nbrepro

    async def body() -> list[bytes]:
        snapshots = []
        session = await NotebookSession(jp_fetch, jp_ws_fetch, "lab.ipynb").start()
        await session.run_cell(loaded, 0)
        await session.run_cell(loaded, 1)
        await save(jp_fetch, "lab.ipynb", loaded)
        snapshots.append(path.read_bytes())
        await save(jp_fetch, "lab.ipynb", loaded)
        snapshots.append(path.read_bytes())
        await session.restart()
        await save(jp_fetch, "lab.ipynb", loaded)
        snapshots.append(path.read_bytes())
        await session.run_cell(loaded, 1)
        await save(jp_fetch, "lab.ipynb", loaded)
        snapshots.append(path.read_bytes())
        await session.close()
        await save(jp_fetch, "lab.ipynb", loaded)
        snapshots.append(path.read_bytes())
        return snapshots

    first, second, after_restart, after_rerun, after_shutdown = run(body())
    assert second == first  # an unchanged session: not one byte changes
    assert after_restart == first  # a session that ran nothing keeps what the file had
    prov = json.loads(after_rerun)["metadata"]["nbrepro"]
    old_session = json.loads(first)["metadata"]["nbrepro"]["session"]["id"]
    assert sorted(prov["cells"]) == ["cell-0", "cell-1"]
    assert prov["cells"]["cell-0"]["session"] == old_session  # kept from the first kernel
    assert "session" not in prov["cells"]["cell-1"]  # re-run in the restarted kernel
    assert after_shutdown == after_rerun


@pytest.mark.parametrize("nbrepro_config", [{"load_recorder": False}])
def test_relay_records_order_for_kernels_without_the_python_recorder(
    jp_fetch, jp_ws_fetch, jp_root_dir, run
):
    """The path every non-Python kernel takes: the relay observer only (the recorder is off)."""
    path = make_notebook(jp_root_dir, "relay.ipynb", [PROBE, "x = 1", "y = x"])
    nb = read_notebook(path)

    async def body() -> tuple[dict[str, Any], str]:
        session = await NotebookSession(jp_fetch, jp_ws_fetch, "relay.ipynb").start()
        _, iopub = await session.execute(PROBE, cell_id="cell-0")
        await session.run_cell(nb, 2)
        await session.run_cell(nb, 1)
        doc = await status(jp_fetch, "relay.ipynb")
        await save(jp_fetch, "relay.ipynb", read_notebook(path))
        await session.close()
        return doc, stream_text(iopub)

    doc, probe = run(body())
    assert probe.split() == ["False", "2"]
    assert doc["recording"]["recorder"] == "relay"
    current = doc["journal"]["current"]
    assert current["lineage"]["recorder"] == "relay"
    assert [e["status"] for e in current["executions"]] == ["ok", "error", "ok"]
    assert current["executions"][1]["error"] == "NameError"
    assert all(e["source_hash"].startswith("sha256:") for e in current["executions"])
    assert current["order"]["in_order"] is False
    prov = read_notebook(path)["metadata"]["nbrepro"]
    assert validation_errors(prov) == []
    assert ProvenanceRecord.from_json(prov).to_json() == prov  # the one builder's record
    assert prov["cells"]["cell-2"]["execution_count"] == 2
    assert prov["cells"]["cell-1"]["execution_count"] == 3
    assert prov["inputs"] == {}


#: The installed bash kernel's spec folder, found before pytest-jupyter hides the system's
#: Jupyter paths from the test server.
BASH_KERNEL_SPEC = KernelSpecManager().find_kernel_specs().get("bash")


@pytest.mark.skipif(
    BASH_KERNEL_SPEC is None, reason="the bash kernel is not installed (scripts/test.sh does)"
)
def test_a_bash_kernel_gets_its_order_recorded_from_the_relay_without_the_recorder(
    jp_fetch, jp_ws_fetch, jp_root_dir, jp_data_dir, run
):
    """A real kernel of another language: no recorder is sent to it, and the execution order
    comes from the execute requests and replies the server relays."""
    shutil.copytree(str(BASH_KERNEL_SPEC), jp_data_dir / "kernels" / "bash")
    sources = ["X=1", "echo $((X + 1))", "false"]
    nb = new_notebook(sources, kernel="bash")
    nb["metadata"]["kernelspec"] = {"name": "bash", "display_name": "Bash", "language": "bash"}
    nb["metadata"]["language_info"] = {"name": "bash"}
    path = jp_root_dir / "script.ipynb"
    write_notebook(nb, path)

    async def body() -> tuple[dict[str, Any], list[str]]:
        session = await NotebookSession(jp_fetch, jp_ws_fetch, "script.ipynb", "bash").start()
        counts = []
        for index in (1, 0, 1, 2):
            reply, iopub = await session.execute(sources[index], cell_id=f"cell-{index}")
            counts.append((reply["status"], reply["execution_count"], stream_text(iopub)))
        assert counts == [
            ("ok", 1, "1\n"),  # X is not set yet: the notebook ran out of order
            ("ok", 2, ""),
            ("ok", 3, "2\n"),
            ("error", 4, ""),
        ]
        doc = await status(jp_fetch, "script.ipynb")
        await save(jp_fetch, "script.ipynb", nb)
        after_save = await status(jp_fetch, "script.ipynb")
        await session.close()
        return doc, after_save

    doc, after_save = run(body())
    recording = doc["recording"]
    assert (recording["language"], recording["recorder"]) == ("bash", "relay")
    # Had the Python recorder been sent, the bash kernel's reply would carry no result for it
    # and the attempt would show as an error here.
    assert recording["recorder_error"] is None
    current = doc["journal"]["current"]
    assert current["lineage"]["recorder"] == "relay"
    assert current["lineage"]["language"] == "bash"
    executions = current["executions"]
    assert [e["cell_id"] for e in executions] == ["cell-1", "cell-0", "cell-1", "cell-2"]
    assert [e["execution_count"] for e in executions] == [1, 2, 3, 4]
    assert [e["status"] for e in executions] == ["ok", "ok", "ok", "error"]
    assert executions[3]["error"] == "Error"  # bash names no error: still one
    assert current["order"]["in_order"] is False
    prov = read_notebook(path)["metadata"]["nbrepro"]
    assert validation_errors(prov) == []
    assert ProvenanceRecord.from_json(prov).to_json() == prov
    assert prov["recorder"] == "relay"
    assert prov["environment"] == {"kernel": {"name": "bash", "language": "bash"}}
    assert prov["inputs"] == {}
    assert prov["cells"]["cell-1"]["execution_count"] == 3
    assert prov["cells"]["cell-2"]["status"] == "error"
    # The server's Python is not the bash kernel's environment: nothing to compare it with.
    assert after_save["drift"]["environment"] is None
    assert not any("environment" in r["text"] for r in after_save["verdict"]["reasons"])


def test_notebook_metadata_switches_recording_off(jp_fetch, jp_ws_fetch, jp_root_dir, run):
    path = make_notebook(jp_root_dir, "private.ipynb", [PROBE], nbrepro_settings={"record": False})
    nb = read_notebook(path)

    async def body() -> tuple[dict[str, Any], str]:
        session = await NotebookSession(jp_fetch, jp_ws_fetch, "private.ipynb").start()
        _, iopub = await session.execute(PROBE, cell_id="cell-0")
        await save(jp_fetch, "private.ipynb", nb)
        doc = await status(jp_fetch, "private.ipynb")
        await session.close()
        return doc, stream_text(iopub)

    doc, probe = run(body())
    assert probe.split() == ["False", "2"]
    assert doc["recording"]["enabled"] is False
    assert doc["journal"]["lineages"] == []
    assert "nbrepro" not in read_notebook(path)["metadata"]


@pytest.mark.parametrize("nbrepro_config", [{"record": False}])
def test_server_configuration_switches_recording_off(jp_serverapp, jp_fetch, jp_root_dir, run):
    from jupyter_server.services.kernels.connection.channels import (
        ZMQChannelsWebsocketConnection,
    )

    make_notebook(jp_root_dir, "any.ipynb", ["a = 1"])
    settings = jp_serverapp.web_app.settings
    assert settings["kernel_websocket_connection_class"] is ZMQChannelsWebsocketConnection
    assert not jp_serverapp.contents_manager._pre_save_hooks
    doc = run(status(jp_fetch, "any.ipynb"))
    assert doc["recording"]["enabled"] is False
