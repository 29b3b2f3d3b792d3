"""The job API's ``rebuild_env`` field (what the panel's "Verify in recorded environment"
sends): validated by the declared option, run by a real job worker in the rebuilt environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from nbrepro.envbuild.build import EXIT_NOT_REBUILT
from nbrepro.jobs.request import JobRequest, write_request
from nbrepro.optionspec import REST, OptionError
from nbrepro.verify.options import VERIFY_OPTIONS

from .test_rebuild_env import _copy

pytestmark = [pytest.mark.kernel, pytest.mark.slow]


def test_the_rest_face_takes_rebuild_env_and_refuses_other_values() -> None:
    values = VERIFY_OPTIONS.validate_json({"rebuild_env": "require"}, face=REST)
    assert values["rebuild_env"] == "require"
    assert VERIFY_OPTIONS.defaults()["rebuild_env"] == "off"
    with pytest.raises(OptionError) as err:
        VERIFY_OPTIONS.validate_json({"rebuild_env": "always"}, face=REST)
    assert err.value.message_for(REST) == (
        "options.rebuild_env: must be one of off, require, prefer: 'always'"
    )


def _job(nb: Path, tmp_path: Path) -> list[dict[str, Any]]:
    events = tmp_path / "events.jsonl"
    options = {**VERIFY_OPTIONS.defaults(), "rebuild_env": "require"}
    request = JobRequest(
        kind="verify", notebook=str(nb), cwd=str(nb.parent), events=str(events),
        options=options, parent_pid=os.getpid(), budget=240,
    )  # fmt: skip
    path = write_request(request, tmp_path / "request.json")
    subprocess.run(
        [sys.executable, "-m", "nbrepro.jobs.worker", str(path)],
        stdin=subprocess.DEVNULL, capture_output=True, timeout=300, check=False,
    )  # fmt: skip
    return [json.loads(line) for line in events.read_text().splitlines() if line.strip()]


def test_a_job_with_rebuild_env_verifies_in_the_recorded_environment(drift, tmp_path) -> None:
    final = _job(_copy(drift, tmp_path), tmp_path)[-1]
    assert final["event"] == "result", final
    notebook = final["result"]["notebooks"][0]
    assert notebook["status"] == "reproduced"
    assert notebook["drift"]["rebuilt_environment"]["proof"]["drift"] == "proven"


def test_a_job_whose_environment_cannot_be_rebuilt_fails_in_one_line(drift, tmp_path) -> None:
    nb = _copy(drift, tmp_path, packages={"wcwidth": "99.0.0"})
    final = _job(nb, tmp_path)[-1]
    assert final["event"] == "failed"
    assert final["exit_code"] == EXIT_NOT_REBUILT
    assert (
        "environment could not be rebuilt: not available from the package index: "
        in (final["message"])
    )
    assert "\n" not in final["message"]
