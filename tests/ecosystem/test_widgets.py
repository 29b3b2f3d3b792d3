"""The ipywidgets status view, in a real kernel with the recorder loaded, and without one."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from nbrepro.notebook_io import read_notebook
from tests.kernel_session import KernelSession, new_notebook

SOURCES = ["x = 1", "y = x * 3", "print(x + y)"]

READ_WIDGET = """
import json
from nbrepro.widgets import status_widget
view = status_widget()
print(json.dumps({
    "header": view.header.value,
    "findings": view.findings.value,
    "recorder": view.recorder.value,
    "save_disabled": view.save_button.disabled,
    "children": [type(c).__name__ for c in view.children],
    "text": view._repr_mimebundle_()["text/plain"],
    "widget_view": "application/vnd.jupyter.widget-view+json" in view._repr_mimebundle_(),
}))
"""

CLICK_SAVE = """
view.save_button.click()
print(json.dumps({"message": view.message.value, "findings": view.findings.value}))
"""


def _printed(session: KernelSession, code: str) -> dict:
    reply, outputs = session.execute_code(code, silent=True, store_history=False)
    assert reply["status"] == "ok", outputs
    text = "".join(o.get("text", "") for o in outputs if o.get("name") == "stdout")
    return json.loads(text.strip().splitlines()[-1])


@pytest.mark.kernel
def test_status_widget_shows_live_findings_and_its_button_saves_the_provenance(tmp_path: Path):
    nb_path = tmp_path / "analysis.ipynb"
    env = {**os.environ, "JPY_SESSION_NAME": str(nb_path)}
    with KernelSession(new_notebook(SOURCES), cwd=tmp_path, env=env) as session:
        session.execute_code("%load_ext nbrepro", silent=True, store_history=False)
        session.run_order([0, 2, 1])  # counts 1, 3, 2: out of order
        session.run_cell(2)
        session.edit(1, "y = x * 4")  # edited after it ran: only the live journal knows
        session.save(nb_path)
        assert "nbrepro" not in read_notebook(nb_path)["metadata"]

        shown = _printed(session, READ_WIDGET)
        assert "analysis.ipynb" in shown["header"]
        assert "NBR301" in shown["findings"]  # stale output, from the live journal
        assert "cell 2" in shown["findings"]
        assert "recording" in shown["recorder"]
        assert "3 recorded, 4 executions" in shown["recorder"]
        assert shown["save_disabled"] is False
        assert shown["children"] == ["HTML", "HTML", "HTML", "HBox", "HTML"]
        assert shown["widget_view"] is True
        assert "NBR301" in shown["text"] and "nbrepro recorder: recording" in shown["text"]

        clicked = _printed(session, CLICK_SAVE)
        assert "provenance saved to" in clicked["message"]
        assert "NBR301" in clicked["findings"]

    prov = read_notebook(nb_path)["metadata"]["nbrepro"]
    assert sorted(prov["cells"]) == ["cell-0", "cell-1", "cell-2"]
    assert [e["cell_id"] for e in prov["executions"]] == ["cell-0", "cell-2", "cell-1", "cell-2"]


def test_status_widget_without_recorder_shows_file_findings_and_disables_saving(
    tmp_path: Path,
):
    from nbrepro.notebook_io import write_notebook
    from nbrepro.widgets import status_widget

    nb = new_notebook(["print(total)", "total = 1"])
    nb["cells"][0]["execution_count"] = 2
    nb["cells"][1]["execution_count"] = 1
    write_notebook(nb, tmp_path / "saved.ipynb")

    view = status_widget(path=tmp_path / "saved.ipynb")

    assert "NBR201" in view.findings.value  # `total` used above its definition
    assert "NBR101" in view.findings.value
    assert "not loaded" in view.recorder.value
    assert view.save_button.disabled


def test_status_widget_reports_an_unknown_notebook_in_one_line():
    from nbrepro.widgets import status_widget

    view = status_widget()

    assert "cannot tell which notebook this kernel runs" in view.findings.value
    assert view.save_button.disabled


def _widget_messages(session: KernelSession, msg_id: str) -> tuple[dict, list[dict]]:
    """The widget models (comm id -> state, updates applied) and display data of a request."""
    models: dict[str, dict] = {}
    displays: list[dict] = []
    while True:
        io = session.kc.get_iopub_msg(timeout=60)
        if io["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = io["msg_type"], io["content"]
        if kind == "comm_open":
            models[content["comm_id"]] = dict(content["data"]["state"])
        elif kind == "comm_msg" and content["data"].get("method") == "update":
            models.setdefault(content["comm_id"], {}).update(content["data"]["state"])
        elif kind == "display_data":
            displays.append(content["data"])
        elif kind == "status" and content["execution_state"] == "idle":
            return models, displays


@pytest.mark.kernel
def test_nbrepro_status_magic_displays_the_widget_and_its_button_saves_atomically(
    tmp_path: Path,
):
    nb_path = tmp_path / "analysis.ipynb"
    env = {**os.environ, "JPY_SESSION_NAME": str(nb_path)}
    with KernelSession(new_notebook(SOURCES), cwd=tmp_path, env=env) as session:
        session.execute_code("%load_ext nbrepro", silent=True, store_history=False)
        session.run_order([0, 2, 1])
        session.save(nb_path)
        inode = nb_path.stat().st_ino

        models, displays = _widget_messages(session, session.kc.execute("%nbrepro status"))

        [shown] = displays
        root = models[shown["application/vnd.jupyter.widget-view+json"]["model_id"]]
        assert root["_model_name"] == "VBoxModel"
        parts = [models[ref.removeprefix("IPY_MODEL_")] for ref in root["children"]]
        assert [p["_model_name"] for p in parts] == [
            "HTMLModel",
            "HTMLModel",
            "HTMLModel",
            "HBoxModel",
            "HTMLModel",
        ]
        assert "analysis.ipynb" in parts[0]["value"]
        assert "NBR101" in parts[1]["value"] and "cell 2" in parts[1]["value"]
        assert "recording" in parts[2]["value"]
        buttons = {
            models[ref.removeprefix("IPY_MODEL_")]["description"]: ref.removeprefix("IPY_MODEL_")
            for ref in parts[3]["children"]
        }
        assert sorted(buttons) == ["Refresh", "Save provenance"]
        assert "NBR101" in shown["text/plain"]

        # press the button as a frontend does: a custom "click" message on its comm
        click = session.kc.session.msg(
            "comm_msg",
            {
                "comm_id": buttons["Save provenance"],
                "data": {"method": "custom", "content": {"event": "click"}},
            },
        )
        session.kc.shell_channel.send(click)
        updated, _ = _widget_messages(session, click["header"]["msg_id"])
        message_id = root["children"][4].removeprefix("IPY_MODEL_")
        assert "provenance saved to" in updated[message_id]["value"]

    prov = read_notebook(nb_path)["metadata"]["nbrepro"]
    assert sorted(prov["cells"]) == ["cell-0", "cell-1", "cell-2"]
    assert nb_path.stat().st_ino != inode  # replaced by a rename, never rewritten in place
    assert sorted(p.name for p in tmp_path.iterdir()) == ["analysis.ipynb"]
