"""The installed package wires itself into Jupyter: extensions, labextension, console script."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import nbrepro

ROOT = Path(__file__).resolve().parents[2]
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _jupyter(*args: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "jupyter", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return ANSI.sub("", proc.stdout + proc.stderr)


def test_server_extension_is_enabled_and_validates() -> None:
    out = _jupyter("server", "extension", "list")
    assert re.search(r"^\s*nbrepro enabled", out, re.M), out
    assert re.search(rf"nbrepro {re.escape(nbrepro.__version__)} OK", out), out


def test_labextension_is_installed_enabled_and_ok() -> None:
    out = _jupyter("labextension", "list")
    assert re.search(rf"nbrepro v{re.escape(nbrepro.__version__)} enabled OK", out), out


def test_console_script_reports_version_and_subcommands() -> None:
    version = subprocess.run(["nbrepro", "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.strip() == f"nbrepro {nbrepro.__version__}"
    helptext = subprocess.run(["nbrepro", "--help"], capture_output=True, text=True, check=True)
    for command in ("verify", "check"):
        assert command in helptext.stdout


def test_package_version_matches_package_json() -> None:
    import json

    assert json.loads((ROOT / "package.json").read_text())["version"] == nbrepro.__version__


@pytest.mark.slow
def test_wheel_ships_prebuilt_labextension_and_server_config(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (wheel,) = tmp_path.glob("nbrepro-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    data = f"nbrepro-{nbrepro.__version__}.data/data/"
    labext = f"{data}share/jupyter/labextensions/nbrepro/"
    assert f"{labext}package.json" in names
    assert f"{labext}install.json" in names
    assert f"{labext}static/style.js" in names
    assert any(n.startswith(f"{labext}static/remoteEntry.") for n in names)
    assert f"{data}etc/jupyter/jupyter_server_config.d/nbrepro.json" in names
    assert "nbrepro/server/__init__.py" in names
    assert not any("/node_modules/" in n or n.endswith(".ts") for n in names)
