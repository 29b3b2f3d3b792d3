"""Jobs call the core, not the CLI: typed JSON requests, REST validation, scrubbing, and workers
that die with their parent and keep their own budget (issue 12)."""

from __future__ import annotations

import asyncio
import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from nbrepro.jobs import JobManager, JobQueueFull
from nbrepro.jobs.request import JobRequest, decode_value, encode_value, read_request, write_request
from nbrepro.notebook_io import read_notebook, write_notebook
from nbrepro.processes import descendants
from nbrepro.record.secrets import REDACTED
from nbrepro.verify.options import VERIFY_OPTIONS
from tests.kernel_session import new_notebook
from tests.server.helpers import make_notebook
from tests.server.test_api import API, fetch_error
from tests.server.test_run_jobs import post, wait_job

REPO = Path(__file__).resolve().parents[2]

#: A notebook printing the type and repr of each parameter.
TYPES_SOURCES = [
    "a = b = c = d = 0.5",
    "for name in 'abcd':\n    v = globals()[name]\n    print(name, type(v).__name__, repr(v))",
]
#: Parameters a REST body may carry that YAML would turn into strings.
FLOATS = {"a": 1e-5, "b": math.nan, "c": math.inf, "d": -math.inf}
EXPECTED_LINES = ["a float 1e-05", "b float nan", "c float inf", "d float -inf"]


def types_notebook(root: Path, name: str) -> Path:
    nb = new_notebook(TYPES_SOURCES)
    nb["cells"][0]["metadata"]["tags"] = ["parameters"]
    path = root / name
    write_notebook(nb, path)
    return path


def printed(nb: dict[str, Any]) -> list[str]:
    text = "".join(
        "".join(o.get("text", ""))
        for c in nb["cells"]
        for o in c.get("outputs", [])
        if o.get("output_type") == "stream"
    )
    return text.splitlines()


def alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie nobody reaped counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2 :].split()[0] != "Z"


def wait_gone(pids: list[int], timeout: float = 15) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = [p for p in pids if alive(p)]
        if not left:
            return []
        time.sleep(0.1)
    return [p for p in pids if alive(p)]


def wait_file(path: Path, timeout: float = 90) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.is_file() and path.read_text().strip():
            return path.read_text().strip()
        time.sleep(0.1)
    raise AssertionError(f"{path} never appeared")


def endless_notebook(root: Path, pid_file: Path) -> Path:
    """Cell 0 writes the kernel's pid; cell 1 never ends."""
    return make_notebook(
        root,
        "endless.ipynb",
        [
            f"import os\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))",
            "import time\nwhile True:\n    time.sleep(0.1)",
        ],
    )


# -- the request file ------------------------------------------------------------------------
def test_request_files_are_strict_json_and_keep_non_finite_floats(tmp_path):
    params = {
        "small": 1e-5,
        "nan": math.nan,
        "inf": math.inf,
        "ninf": -math.inf,
        "nested": [math.nan, {"x": -math.inf}],
        "looks_encoded": {"$float": "nan"},
        "looks_wrapped": {"$dict": {"$float": "inf"}},
    }
    request = JobRequest(
        kind="verify", notebook="n.ipynb", cwd=str(tmp_path), events="e", parameters=params,
        options={"runs": 2}, budget=5,
    )  # fmt: skip
    path = write_request(request, tmp_path / "req.json")
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    json.loads(text, parse_constant=lambda c: pytest.fail(f"non-strict JSON {c}"))
    back = read_request(path).parameters
    assert back["small"] == 1e-5 and isinstance(back["small"], float)
    assert math.isnan(back["nan"]) and back["inf"] == math.inf and back["ninf"] == -math.inf
    assert math.isnan(back["nested"][0]) and back["nested"][1] == {"x": -math.inf}
    assert back["looks_encoded"] == {"$float": "nan"}
    assert back["looks_wrapped"] == {"$dict": {"$float": "inf"}}
    assert decode_value(encode_value({"$dict": 5})) == {"$dict": 5}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["req.json"]  # no temporary left


# -- parameter values reach the kernel as JSON values ---------------------------------------
def test_float_parameters_of_a_verification_job_arrive_as_floats(jp_fetch, jp_root_dir, run):
    types_notebook(jp_root_dir, "types.ipynb")
    raw = json.dumps({"path": "types.ipynb", "parameters": FLOATS, "options": {"runs": 2}})

    async def body() -> dict[str, Any]:
        response = await jp_fetch(*API, "verify", method="POST", body=raw)
        return await wait_job(jp_fetch, ("verify",), json.loads(response.body)["id"])

    done = run(body(), timeout=180)
    assert done["state"] == "succeeded", done["message"]
    executed = read_notebook(jp_root_dir / done["executed_path"])
    assert printed(executed) == EXPECTED_LINES
    json.dumps(done, allow_nan=False)  # the answer is strict JSON: browsers can parse it


def test_float_parameters_of_a_run_job_arrive_as_floats(jp_fetch, jp_root_dir, run):
    types_notebook(jp_root_dir, "types.ipynb")
    raw = json.dumps({"path": "types.ipynb", "parameters": FLOATS})

    async def body() -> dict[str, Any]:
        response = await jp_fetch(*API, "runs", method="POST", body=raw)
        return await wait_job(jp_fetch, ("runs", "jobs"), json.loads(response.body)["id"])

    done = run(body(), timeout=150)
    assert done["state"] == "succeeded", done["message"]
    executed = read_notebook(jp_root_dir / done["executed_path"])
    assert printed(executed) == EXPECTED_LINES
    json.dumps(done, allow_nan=False)  # the answer is strict JSON: browsers can parse it


# -- REST validation -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"timeout": 0}, "options.timeout"),
        ({"runs": 0}, "options.runs"),
        ({"kernel": "--help"}, "options.kernel"),
        ({"warp": 9}, "'warp'"),
    ],
)
def test_bad_options_are_refused_in_the_rest_face_words(jp_fetch, jp_root_dir, run, options, words):
    make_notebook(jp_root_dir, "nb.ipynb", ["a = 1"])
    raw = json.dumps({"path": "nb.ipynb", "options": options})
    code, doc = run(fetch_error(jp_fetch, *API, "verify", method="POST", body=raw))
    message = doc["message"]
    assert code == 400
    assert words in message
    assert "\n" not in message
    assert "--" not in message.replace("'--help'", "")  # no CLI flag, only the value refused
    if "warp" in options:  # the known options are the REST face's, all of them
        assert all(spec.name in message for spec in VERIFY_OPTIONS.for_face("rest"))
    listed = json.loads(run(jp_fetch(*API, "verify")).body)
    assert listed["jobs"] == []


@pytest.mark.parametrize("route", ["verify", "runs"])
@pytest.mark.parametrize("name", ["class", "None", "x=__import__('os').system('touch {}')#"])
def test_parameter_names_a_python_notebook_cannot_take_are_refused(
    jp_fetch, jp_root_dir, tmp_path, run, route, name
):
    make_notebook(jp_root_dir, "nb.ipynb", ["a = 1"])
    marker = tmp_path / "pwned"
    raw = json.dumps({"path": "nb.ipynb", "parameters": {name.format(marker): 1}})
    code, doc = run(fetch_error(jp_fetch, *API, route, method="POST", body=raw))
    assert code == 400
    assert "parameter name" in doc["message"] and "\n" not in doc["message"]
    time.sleep(0.5)
    assert not marker.exists()
    assert json.loads(run(jp_fetch(*API, "verify")).body)["jobs"] == []


def test_a_kernel_that_is_not_installed_is_a_400_in_the_rest_face_words(jp_fetch, jp_root_dir, run):
    make_notebook(jp_root_dir, "nb.ipynb", ["a = 1"])
    body = json.dumps({"path": "nb.ipynb", "options": {"kernel": "nope"}})
    code, doc = run(fetch_error(jp_fetch, *API, "verify", method="POST", body=body))
    assert code == 400
    assert "'nope' is not installed" in doc["message"] and "options.kernel" in doc["message"]
    assert "--" not in doc["message"] and "\n" not in doc["message"]


def test_a_too_large_body_is_a_413_and_a_full_queue_a_429(jp_fetch, jp_root_dir, jp_serverapp, run):
    make_notebook(jp_root_dir, "nb.ipynb", ["a = 1"])
    huge = json.dumps({"path": "nb.ipynb", "parameters": {"blob": "x" * (2 << 20)}})
    code, doc = run(fetch_error(jp_fetch, *API, "verify", method="POST", body=huge))
    assert code == 413 and doc["message"]
    jobs = jp_serverapp.web_app.settings["nbrepro"].jobs
    jobs.max_queued = 0
    for route in ("verify", "runs"):
        raw = json.dumps({"path": "nb.ipynb"})
        code, doc = run(fetch_error(jp_fetch, *API, route, method="POST", body=raw))
        assert code == 429, doc
        assert "waiting" in doc["message"]


def test_jobs_wait_in_a_bounded_queue(tmp_path):
    nb = make_notebook(tmp_path, "slow.ipynb", ["import time\ntime.sleep(60)"])

    async def body() -> None:
        jobs = JobManager(max_jobs=1, max_queued=1, grace=2)
        try:
            first = jobs.start(nb)
            await asyncio.sleep(0.3)  # the first job takes the one slot
            assert first.state == "running"
            second = jobs.start(nb)
            assert second.state == "queued"
            with pytest.raises(JobQueueFull) as info:
                jobs.start(nb)
            assert info.value.http_status == 429
            await jobs.cancel(second.id)
            jobs.start(nb)  # a place in the queue again
        finally:
            await jobs.shutdown()

    asyncio.run(asyncio.wait_for(body(), 60))


# -- secrets ---------------------------------------------------------------------------------
def test_a_secret_printed_in_two_chunks_is_in_neither_the_result_nor_the_executed_copy(
    jp_fetch, jp_root_dir, run, monkeypatch
):
    secret = "tok-ABCDEFGH-ijklmnop-4242"
    monkeypatch.setenv("NBREPRO_TEST_TOKEN", secret)
    nb = new_notebook(
        [
            "import os, sys\ns = os.environ['NBREPRO_TEST_TOKEN']\n"
            "sys.stdout.write(s[:7]); sys.stdout.flush()\n"
            "sys.stdout.write(s[7:]); sys.stdout.flush()\nprint()",
        ]
    )
    cell = nb["cells"][0]
    cell["execution_count"] = 1
    cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "stored\n"}]
    write_notebook(nb, jp_root_dir / "leak.ipynb")

    async def body() -> dict[str, Any]:
        job = await post(jp_fetch, "verify", {"path": "leak.ipynb"})
        return await wait_job(jp_fetch, ("verify",), job["id"])

    done = run(body(), timeout=120)
    assert done["state"] == "failed", done["message"]  # the output differs from "stored"
    assert done["result"]["notebooks"][0]["cells"][0]["status"] == "mismatch"
    answer = json.dumps(done)
    copy = (jp_root_dir / done["executed_path"]).read_text()
    for text in (answer, copy):
        assert secret not in text
        assert secret[:7] not in text and secret[7:] not in text
    assert REDACTED in copy


# -- workers die with their parent and keep their own budget ---------------------------------
PARENT = """
import asyncio, sys
from nbrepro.jobs import JobManager

async def main():
    jobs = JobManager()
    job = jobs.start(sys.argv[1])
    while job._process is None or job.progress()["current"] != 1:
        await asyncio.sleep(0.1)
    print(job._process.pid, flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
"""


def read_line(proc: subprocess.Popen[str], timeout: float) -> str:
    box: list[str] = []
    reader = threading.Thread(target=lambda: box.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    assert box and box[0].strip(), "the parent never reported its worker"
    return box[0]


def test_kill_9_of_the_parent_leaves_no_worker_and_no_kernel(tmp_path):
    pid_file = tmp_path / "kernel.pid"
    nb = endless_notebook(tmp_path, pid_file)
    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    parent = subprocess.Popen(
        [sys.executable, str(script), str(nb)], stdout=subprocess.PIPE, text=True, cwd=REPO
    )
    try:
        worker = int(read_line(parent, 120))
        kernel = int(wait_file(pid_file))
        family = descendants(worker)
        assert kernel in family
        assert alive(worker) and alive(kernel)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(10)
        assert wait_gone([worker, *family], timeout=15) == []
    finally:
        if parent.poll() is None:
            parent.kill()


def events_of(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_the_budget_is_kept_by_the_worker_itself(tmp_path):
    pid_file = tmp_path / "kernel.pid"
    nb = endless_notebook(tmp_path, pid_file)
    events = tmp_path / "events.jsonl"
    request = JobRequest(
        kind="verify", notebook=str(nb), cwd=str(tmp_path), events=str(events),
        options=VERIFY_OPTIONS.defaults(), budget=20, parent_pid=os.getpid(),
    )  # fmt: skip
    path = write_request(request, tmp_path / "request.json")
    t0 = time.monotonic()
    # Nobody but the worker enforces a limit: this parent only waits.
    worker = subprocess.Popen(
        [sys.executable, "-m", "nbrepro.jobs.worker", str(path)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        kernel = int(wait_file(pid_file, timeout=19))
        code = worker.wait(60)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
    assert code == 124, worker.stderr.read() if worker.stderr else ""
    assert time.monotonic() - t0 < 50
    final = events_of(events)[-1]
    assert final["event"] == "failed"
    assert final["message"] == "verification did not finish within 20 s"
    assert final["exit_code"] == 124
    assert [e["event"] for e in events_of(events)].count("failed") == 1
    assert wait_gone([kernel], timeout=10) == []


LAUNCHER = """
import os, subprocess, sys, time
from pathlib import Path
from nbrepro.jobs.request import JobRequest, write_request
from nbrepro.verify.options import VERIFY_OPTIONS

nb, events, pid_file = sys.argv[1:4]
request = JobRequest(kind="verify", notebook=nb, cwd=str(Path(nb).parent), events=events,
                     options=VERIFY_OPTIONS.defaults(), parent_pid=os.getpid())
path = write_request(request, Path(events).with_suffix(".request.json"))
# No PR_SET_PDEATHSIG here: only the worker's own watch of its parent can notice.
worker = subprocess.Popen([sys.executable, "-m", "nbrepro.jobs.worker", str(path)],
                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, start_new_session=True)
print(worker.pid, flush=True)
while not (Path(pid_file).is_file() and Path(pid_file).read_text()):
    time.sleep(0.1)
os._exit(0)
"""


def test_a_worker_whose_parent_went_away_stops_its_endless_cell(tmp_path):
    pid_file = tmp_path / "kernel.pid"
    nb = endless_notebook(tmp_path, pid_file)
    events = tmp_path / "events.jsonl"
    script = tmp_path / "launcher.py"
    script.write_text(textwrap.dedent(LAUNCHER))
    launcher = subprocess.Popen(
        [sys.executable, str(script), str(nb), str(events), str(pid_file)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    worker = int(read_line(launcher, 60))
    try:
        launcher.wait(120)
        kernel = int(wait_file(pid_file))
        assert wait_gone([worker, kernel], timeout=15) == []
        final = events_of(events)[-1]
        assert final["event"] == "failed" and "went away" in final["message"]
    finally:
        if alive(worker):
            os.kill(worker, signal.SIGKILL)


@pytest.mark.parametrize("nbrepro_config", [{"verify_timeout": 8}])
def test_the_server_s_budget_ends_a_job_as_timeout_from_the_worker(jp_fetch, jp_root_dir, run):
    pid_file = jp_root_dir / "kernel.pid"
    endless_notebook(jp_root_dir, pid_file)

    async def body() -> dict[str, Any]:
        job = await post(jp_fetch, "verify", {"path": "endless.ipynb"})
        return await wait_job(jp_fetch, ("verify",), job["id"], timeout=60)

    done = run(body(), timeout=90)
    assert done["state"] == "timeout"
    assert done["message"] == "verification did not finish within 8 s"
    assert done["exit_code"] == 124  # the worker stopped itself, before the manager's backstop
    if pid_file.is_file():
        assert wait_gone([int(pid_file.read_text())], timeout=10) == []
