"""``nbrepro env lock`` and ``env export --format dockerfile|binder``: files made from a
notebook's recorded environment (no kernels)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from nbrepro.cli import main
from nbrepro.envbuild.index import pip_index
from nbrepro.envbuild.lock import lock_from_environment
from nbrepro.notebook_io import write_notebook

from ..kernel_session import new_notebook

ENVIRONMENT = {
    "python": {"version": "3.11.7", "implementation": "CPython"},
    "platform": {"system": "Linux", "machine": "x86_64"},
    "packages": {"wcwidth": "0.2.5", "Text_Unidecode": "1.3", "pip": "24.0"},
    "packages_scope": "imported",
}


def _notebook(path: Path, environment: dict[str, object] | None = None) -> Path:
    nb = new_notebook(["import wcwidth"])
    nb["metadata"]["nbrepro"] = {"schema_version": 1, "environment": environment or ENVIRONMENT}
    write_notebook(nb, path)
    return path


def test_env_lock_pins_the_recorded_python_and_packages(tmp_path: Path, capsys) -> None:
    nb = _notebook(tmp_path / "nb.ipynb")
    assert main(["env", "lock", str(nb)]) == 0
    lines = capsys.readouterr().out.splitlines()
    pins = [line for line in lines if not line.startswith("#")]
    assert pins == ["text-unidecode==1.3", "wcwidth==0.2.5"]  # canonical names, pip unpinned
    assert "# python 3.11.7 CPython" in lines
    digest = lock_from_environment(ENVIRONMENT).digest
    assert f"# digest {digest}" in lines


def test_env_lock_writes_a_file_that_pip_installs(tmp_path: Path) -> None:
    nb = _notebook(tmp_path / "nb.ipynb")
    target = tmp_path / "requirements.lock"
    assert main(["env", "lock", str(nb), "-o", str(target)]) == 0
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--no-deps", "--ignore-installed",
         "--quiet", "--report", "-", "-r", str(target)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert '"version": "0.2.5"' in proc.stdout and '"version": "1.3"' in proc.stdout


def test_env_lock_as_pylock_toml_is_pep_751(tmp_path: Path) -> None:
    nb = _notebook(tmp_path / "nb.ipynb")
    target = tmp_path / "pylock.toml"
    assert main(["env", "lock", str(nb), "--format", "pylock", "-o", str(target)]) == 0
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # Python 3.10
        import tomli as tomllib
    data = tomllib.loads(target.read_text())
    assert data["lock-version"] == "1.0"
    assert data["requires-python"] == "==3.11.7"
    assert [(p["name"], p["version"]) for p in data["packages"]] == [
        ("text-unidecode", "1.3"),
        ("wcwidth", "0.2.5"),
    ]
    assert data["packages"][0]["index"] == pip_index().index_url


def test_env_lock_without_a_recorded_python_is_a_one_line_error(tmp_path: Path, capsys) -> None:
    nb = _notebook(tmp_path / "nb.ipynb", {"packages": {"wcwidth": "0.2.5"}})
    assert main(["env", "lock", str(nb)]) == 2
    err = capsys.readouterr().err
    assert err == "nbrepro: error: the recorded environment names no Python version\n"


def test_the_lock_digest_changes_with_a_pin_and_not_with_the_platform_release() -> None:
    base = lock_from_environment(ENVIRONMENT)
    moved = lock_from_environment({**ENVIRONMENT, "platform": {"system": "Linux"}})
    bumped = lock_from_environment({**ENVIRONMENT, "packages": {"wcwidth": "0.2.6"}})
    assert moved.digest == base.digest
    assert bumped.digest != base.digest


def test_env_export_dockerfile_starts_from_the_recorded_python(tmp_path: Path, capsys) -> None:
    nb = _notebook(tmp_path / "nb.ipynb")
    assert main(["env", "export", str(nb), "--format", "dockerfile"]) == 0
    text = capsys.readouterr().out
    assert "FROM python:3.11.7-slim" in text.splitlines()
    assert "wcwidth==0.2.5" in text and "ipykernel" in text


def test_env_export_binder_writes_requirements_and_runtime(tmp_path: Path, capsys) -> None:
    nb = _notebook(tmp_path / "nb.ipynb")
    out = tmp_path / "binder"
    assert main(["env", "export", str(nb), "--format", "binder", "-o", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["requirements.txt", "runtime.txt"]
    assert (out / "runtime.txt").read_text() == "python-3.11\n"
    assert "wcwidth==0.2.5" in (out / "requirements.txt").read_text().splitlines()

    assert main(["env", "export", str(nb), "--format", "binder"]) == 2
    assert "give the folder with -o DIR" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"PIP_INDEX_URL": "https://mirror.example/simple"}, "https://mirror.example/simple"),
        ({}, "https://pypi.org/simple"),
    ],
)
def test_uv_is_told_the_index_pip_uses(environ: dict[str, str], expected: str, tmp_path) -> None:
    env = {"HOME": str(tmp_path), "PIP_CONFIG_FILE": os.devnull, **environ}
    args = pip_index(env).uv_args()
    assert args[args.index("--index-url") + 1] == expected
    assert "unsafe-best-match" in args


def test_pip_configuration_files_are_read_in_pips_order(tmp_path: Path) -> None:
    (tmp_path / "pip").mkdir()
    (tmp_path / "pip" / "pip.conf").write_text(
        "[global]\nindex-url = https://a.example/simple\nfind-links = /w1 /w2\n"
    )
    user = tmp_path / "home" / ".config" / "pip"
    user.mkdir(parents=True)
    (user / "pip.conf").write_text("[install]\nindex-url = https://b.example/simple\n")
    env = {"HOME": str(tmp_path / "home"), "XDG_CONFIG_DIRS": str(tmp_path)}
    index = pip_index(env)
    assert index.index_url == "https://b.example/simple"
    assert index.find_links == ("/w1", "/w2")


def test_recorded_values_never_become_lines_of_the_lock_or_the_dockerfile(tmp_path, capsys):
    hostile = {
        **ENVIRONMENT,
        "platform": {"system": "Linux\n--index-url https://evil.example/simple", "machine": "x"},
    }
    nb = _notebook(tmp_path / "nb.ipynb", hostile)
    assert main(["env", "lock", str(nb)]) == 0
    out = capsys.readouterr().out
    assert "evil" not in out and "# platform x" in out.splitlines()

    nb = _notebook(tmp_path / "nb2.ipynb", {**ENVIRONMENT, "python": {"version": "3.11\nRUN x"}})
    assert main(["env", "export", str(nb), "--format", "dockerfile"]) == 2
    assert "names no Python version" in capsys.readouterr().err


def test_rebuilding_a_notebook_without_a_recording_is_one_line_and_exit_3(tmp_path, capsys):
    path = tmp_path / "plain.ipynb"
    write_notebook(new_notebook(["x = 1"]), path)
    assert main(["verify", "--rebuild-env=require", str(path)]) == 3
    err = capsys.readouterr().err
    assert err == (
        f"nbrepro: error: {path}: environment could not be rebuilt: no recorded environment "
        "(metadata.nbrepro)\n"
    )
