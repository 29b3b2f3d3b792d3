"""The environment of a kernel's interpreter, read in that interpreter (real virtual
environments, real kernelspecs)."""

from __future__ import annotations

import ast
import json
import os
import stat
import sys
import time
from pathlib import Path

import pytest
from jupyter_client.kernelspec import KernelSpec

from nbrepro.record import interpreter
from nbrepro.record.environment import snapshot
from nbrepro.record.kernelenv import (
    is_this_interpreter,
    kernel_environment,
    spec_environment,
)
from tests.record.kernel_venv import (
    PROBE_DIST,
    PROBE_VERSION,
    build_kernel_venv,
    build_wheel,
    pip_install,
)


def _spec(argv: list[str], language: str = "python", **env: str) -> KernelSpec:
    return KernelSpec(argv=argv, language=language, display_name="test", env=env)


def _program(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_the_interpreter_program_is_standard_library_only_python_3_8() -> None:
    source = Path(interpreter.__file__).read_text()
    tree = ast.parse(source, feature_version=(3, 8))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "a relative import needs nbrepro installed"
            imported.add(str(node.module).split(".")[0])
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}


def test_a_venv_kernel_is_described_in_its_own_interpreter_without_nbrepro(
    tmp_path: Path,
) -> None:
    """An environment that has neither nbrepro nor this environment's packages: its own
    distributions are read, none of this one's leak in."""
    venv = build_kernel_venv(tmp_path, system_site_packages=False)
    assert is_this_interpreter(str(venv.python)) is False
    found = spec_environment(_spec([str(venv.python), "-m", "ipykernel_launcher"]), "iso")
    assert found.reason is None
    assert found.interpreter == str(venv.python)
    env = found.environment
    assert env is not None
    assert env["packages"] == {PROBE_DIST: PROBE_VERSION}
    assert env["packages_scope"] == "all"
    assert env["kernel"] == {
        "name": "iso", "language": "python", "language_version": env["python"]["version"],
    }  # fmt: skip
    here = snapshot()
    assert PROBE_DIST not in here["packages"] and "nbrepro" in here["packages"]
    assert env["packages_digest"] != here["packages_digest"]


def test_a_venv_linking_to_this_interpreter_is_not_taken_for_it(kernel_venv) -> None:
    """A venv's ``python`` resolves to its base interpreter; it is another environment all the
    same, with the probe this one lacks."""
    assert os.path.realpath(kernel_venv.python) == os.path.realpath(sys.executable)
    assert is_this_interpreter(str(kernel_venv.python)) is False
    found = spec_environment(_spec([str(kernel_venv.python), "-m", "ipykernel_launcher"]), "v")
    assert found.environment is not None
    assert found.environment["packages"][PROBE_DIST] == PROBE_VERSION
    # With system site-packages it sees this environment's distributions too.
    assert found.environment["packages"]["ipykernel"] == snapshot()["packages"]["ipykernel"]


@pytest.mark.parametrize("argv0", ["python", "python3", sys.executable, "{prefix}/bin/python"])
def test_a_kernel_of_this_interpreter_is_snapshotted_in_process(argv0: str) -> None:
    if argv0.startswith("{prefix}") and not os.path.exists(f"{sys.prefix}/bin/python"):
        pytest.skip("no bin/python under this prefix")
    found = spec_environment(_spec([argv0, "-m", "ipykernel_launcher"]), "here")
    assert found.environment is not None
    assert found.environment["packages"] == snapshot()["packages"]
    assert is_this_interpreter(str(found.interpreter))


def test_kernels_without_a_python_environment_say_why(tmp_path: Path) -> None:
    bash = spec_environment(_spec(["bash", "-c", "x"], language="bash"), "bash")
    assert bash.environment is None and not bash.is_python
    assert bash.reason == "kernel 'bash' runs bash: no Python environment to compare"
    missing = spec_environment(_spec([str(tmp_path / "nope" / "python"), "-m", "x"]), "gone")
    assert missing.environment is None and missing.is_python
    assert "cannot be found" in str(missing.reason)
    conda = _program(tmp_path / "bin" / "conda", "#!/bin/sh\nexit 0\n")
    wrapped = spec_environment(_spec([str(conda), "run", "python"]), "c")
    assert "not a Python interpreter" in str(wrapped.reason)
    launcher = spec_environment(_spec(["python", "-m", "nb_conda_kernels.runner", "/x"]), "nc")
    assert launcher.environment is None
    assert "nb_conda_kernels.runner" in str(launcher.reason)
    assert kernel_environment("no-such-kernel").reason == "kernel 'no-such-kernel' is not installed"


def test_an_interpreter_that_fails_or_hangs_gives_a_reason_never_a_crash(tmp_path: Path) -> None:
    failing = _program(
        tmp_path / "a" / "python", "#!/bin/sh\necho 'SyntaxError: too old' >&2\nexit 3\n"
    )
    found = spec_environment(_spec([str(failing), "-m", "ipykernel_launcher"]), "old")
    assert found.environment is None
    assert found.reason == (
        f"kernel 'old': its interpreter {failing} could not describe its environment: "
        "SyntaxError: too old"
    )
    hanging = _program(tmp_path / "b" / "python3", "#!/bin/sh\nexec sleep 30\n")
    t0 = time.monotonic()
    found = spec_environment(_spec([str(hanging), "-m", "x"]), "slow", timeout=1)
    assert time.monotonic() - t0 < 10
    assert found.reason == f"kernel 'slow': its interpreter {hanging} did not answer within 1 s"
    # The failure is remembered: asking again does not wait again.
    t0 = time.monotonic()
    again = spec_environment(_spec([str(hanging), "-m", "x"]), "slow", timeout=1)
    assert time.monotonic() - t0 < 0.5 and again.reason == found.reason


def test_the_answer_is_cached_until_the_environment_changes(tmp_path: Path) -> None:
    venv = build_kernel_venv(tmp_path, system_site_packages=False)
    calls = tmp_path / "calls.txt"
    # A wrapper counting how often the interpreter is started.
    wrapper = _program(
        tmp_path / "wrap" / "python",
        f'#!/bin/sh\necho run >> "{calls}"\nexec "{venv.python}" "$@"\n',
    )
    spec = _spec([str(wrapper), "-m", "ipykernel_launcher"])
    first = spec_environment(spec, "w")
    second = spec_environment(spec, "w")
    assert first.environment == second.environment
    assert calls.read_text().count("run") == 1
    time.sleep(0.01)
    pip_install(venv.python, build_wheel(tmp_path / "v2", "8.0.0"))
    third = spec_environment(spec, "w")
    assert calls.read_text().count("run") == 2
    assert third.environment is not None
    assert third.environment["packages"][PROBE_DIST] == "8.0.0"


def test_the_kernelspec_env_counts_and_secrets_stay_out(
    kernel_venv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NBREPRO_ENV_ALLOWLIST", "MY_API_TOKEN")
    spec = _spec(
        [str(kernel_venv.python), "-m", "ipykernel_launcher"],
        OMP_NUM_THREADS="7",
        MY_API_TOKEN="s3cr3t-value",
    )
    found = spec_environment(spec, "v", extra_env={"TZ": "UTC"})
    assert found.environment is not None
    env_vars = found.environment["env_vars"]
    assert env_vars["OMP_NUM_THREADS"] == "7" and env_vars["TZ"] == "UTC"
    assert "s3cr3t-value" not in json.dumps(found.environment)


def test_an_installed_kernel_is_found_by_name(venv_kernels) -> None:
    found = kernel_environment(venv_kernels.kernel)
    assert found.environment is not None, found.reason
    assert found.environment["packages"][PROBE_DIST] == PROBE_VERSION
    assert found.environment["kernel"]["name"] == "nbr-venv"


@pytest.mark.kernel
def test_env_and_env_diff_read_a_kernel_with_kernel(
    venv_kernels, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from nbrepro.cli import main
    from tests.record.kernel_venv import PROBE_CELL, record_notebook

    nb = record_notebook(venv_kernels.kernel, [PROBE_CELL], tmp_path / "probe.ipynb")
    recorded = json.loads(nb.read_text())["metadata"]["nbrepro"]["environment"]
    assert recorded["packages"] == {PROBE_DIST: PROBE_VERSION}
    assert main(["env", "--kernel", venv_kernels.kernel, "--format", "json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["packages"][PROBE_DIST] == PROBE_VERSION
    # env diff compares with the notebook's own kernel, as verify does.
    assert main(["env", "diff", str(nb)]) == 0
    assert "No environment drift." in capsys.readouterr().out
    assert main(["env", "diff", str(nb), "--kernel", venv_kernels.kernel]) == 0
    assert "No environment drift." in capsys.readouterr().out
    # Another kernel (this interpreter's), which lacks the probe.
    assert main(["env", "diff", str(nb), "--kernel", "python3"]) == 1
    assert f"package removed: {PROBE_DIST} {PROBE_VERSION}" in capsys.readouterr().out
    assert main(["env", "--kernel", "no-such-kernel"]) == 2
    assert "kernel 'no-such-kernel' is not installed" in capsys.readouterr().err
