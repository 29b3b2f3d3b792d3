"""Fixtures and helpers for the recorder's tests: real kernels with the extension loaded."""

from __future__ import annotations

import ast
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.kernel_session import KernelSession, new_notebook

PROVENANCE_EXPR = "__import__('nbrepro.record.api', fromlist=['_']).provenance_json()"


def user_expression(session: KernelSession, expr: str) -> Any:
    """Evaluate ``expr`` in the kernel through a silent request (as the server does)."""
    msg = session.kc.session.msg(
        "execute_request",
        {
            "code": "",
            "silent": True,
            "store_history": False,
            "user_expressions": {"x": expr},
            "allow_stdin": False,
            "stop_on_error": False,
        },
    )
    session.kc.shell_channel.send(msg)
    msg_id = msg["header"]["msg_id"]
    while True:
        reply = session.kc.get_shell_msg(timeout=60)
        if reply["parent_header"].get("msg_id") == msg_id:
            break
    result = reply["content"]["user_expressions"]["x"]
    assert result["status"] == "ok", result
    return ast.literal_eval(result["data"]["text/plain"])


def kernel_provenance(session: KernelSession) -> dict[str, Any]:
    """The live provenance of a kernel, read as the server reads it."""
    return json.loads(user_expression(session, PROVENANCE_EXPR))


def load_recorder(session: KernelSession) -> None:
    """Load the extension the way the server does: silent, no history."""
    reply, outputs = session.execute_code("%load_ext nbrepro", silent=True, store_history=False)
    assert reply["status"] == "ok", outputs


def stdout_of(outputs: list[dict[str, Any]]) -> str:
    """Concatenated stdout/stderr text of a cell's outputs."""
    return "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A notebook folder with two small CSV files."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.csv").write_text("x,y\n1,2\n3,4\n")
    (tmp_path / "data" / "test.csv").write_text("x,y\n5,6\n")
    return tmp_path


@pytest.fixture
def recording_kernel(project: Path):
    """Factory: a real kernel in ``project`` with the recorder loaded, for a notebook of sources."""
    sessions: list[KernelSession] = []

    def start(sources: Sequence[str], env: dict[str, str] | None = None) -> KernelSession:
        kernel_env = dict(os.environ, **(env or {}))
        session = KernelSession(new_notebook(sources), cwd=project, env=kernel_env)
        sessions.append(session)
        load_recorder(session)
        return session

    yield start
    for session in sessions:
        session.close()


@pytest.fixture(scope="session")
def kernel_venv(tmp_path_factory: pytest.TempPathFactory):
    """A real virtual environment seeing this interpreter's packages plus ``nbrepro-probe``,
    with a kernel ``nbr-venv`` registered for it (see :mod:`tests.record.kernel_venv`)."""
    from tests.record.kernel_venv import build_kernel_venv

    return build_kernel_venv(tmp_path_factory.mktemp("kernel-venv"))


@pytest.fixture
def venv_kernels(kernel_venv, monkeypatch: pytest.MonkeyPatch):
    """``kernel_venv`` with its kernel visible to Jupyter (its data folder on JUPYTER_PATH)."""
    path = os.environ.get("JUPYTER_PATH")
    joined = os.pathsep.join(p for p in (str(kernel_venv.data_dir), path) if p)
    monkeypatch.setenv("JUPYTER_PATH", joined)
    return kernel_venv
