"""The pre-commit hooks of .pre-commit-hooks.yaml, run as pre-commit runs them.

``pre-commit try-repo`` installs the hook repository into a fresh virtualenv (from the network)
and needs it committed, so here real pre-commit runs the manifest's hooks as ``repo: local``
hooks of ``language: system`` (same id, entry, args and file pattern, the installed nbrepro);
``docs/pre-commit.md`` shows the try-repo command for a real clone.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / ".pre-commit-hooks.yaml"
DEMO = ROOT / "binder" / "demo.ipynb"


def _hooks() -> dict[str, dict]:
    if not MANIFEST.is_file():
        pytest.skip(".pre-commit-hooks.yaml has not landed yet")
    return {hook["id"]: hook for hook in yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))}


def _git_repo(path: Path) -> Path:
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    return path


def test_check_hook_entry_fails_a_staged_out_of_order_notebook_and_passes_a_clean_one(
    tmp_path: Path, recorded_notebooks: Path
):
    hook = _hooks()["nbrepro-check"]
    shutil.copy(DEMO, tmp_path / "demo.ipynb")
    shutil.copy(recorded_notebooks / "sums.ipynb", tmp_path / "sums.ipynb")
    (tmp_path / "notes.txt").write_text("not a notebook\n", encoding="utf-8")
    pattern = re.compile(hook["files"])
    command = shlex.split(hook["entry"]) + list(hook.get("args", []))

    def run(files: list[str]) -> subprocess.CompletedProcess[str]:
        chosen = [f for f in files if pattern.search(f)]
        return subprocess.run(
            command + chosen, cwd=tmp_path, capture_output=True, text=True, timeout=120
        )

    clean = run(["sums.ipynb", "notes.txt"])
    assert clean.returncode == 0, clean.stdout + clean.stderr
    dirty = run(["sums.ipynb", "demo.ipynb", "notes.txt"])
    assert dirty.returncode == 1
    assert "demo.ipynb:cell 9 [scale]: NBR101" in dirty.stdout


def test_pre_commit_runs_the_check_hook_on_staged_notebooks(
    tmp_path: Path, recorded_notebooks: Path
):
    pytest.importorskip("pre_commit")
    hook = dict(_hooks()["nbrepro-check"], language="system")
    repo = _git_repo(tmp_path / "project")
    config = {"repos": [{"repo": "local", "hooks": [hook]}]}
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    shutil.copy(recorded_notebooks / "sums.ipynb", repo / "sums.ipynb")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache")}

    def pre_commit(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["pre-commit", *args], cwd=repo, env=env, capture_output=True, text=True, timeout=300
        )

    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    passed = pre_commit("run")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert re.search(r"nbrepro check\.+Passed", passed.stdout)

    shutil.copy(DEMO, repo / "demo.ipynb")
    subprocess.run(["git", "add", "demo.ipynb"], cwd=repo, check=True)
    failed = pre_commit("run")
    assert failed.returncode == 1
    assert re.search(r"nbrepro check\.+Failed", failed.stdout)
    assert "demo.ipynb:cell 16 [above]:1:57: NBR202" in failed.stdout


def test_verify_hook_is_opt_in():
    hook = _hooks()["nbrepro-verify"]
    assert hook["stages"] == ["manual"]
    assert re.compile(hook["files"]).search("analysis.ipynb")
