"""Every shell example of the docs runs: ```console blocks of README.md and docs/*.md.

In a ```console block, each line starting with ``$ `` is a command (a line ending with ``\\``
continues on the next one); the other lines are sample output and are not compared. A trailing
``# exit N`` comment gives the expected exit code (default 0). The commands of one block run in
order, with bash, in a fresh copy of ``examples/`` (the current folder), so a block can change
files and run again. A block whose fence reads ```console no-test is shown but not run (for
commands that need the network or a server, like ``pip install``); prefer runnable examples.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
#: Longest a single documented command may take.
COMMAND_TIMEOUT = 600

_FENCE = re.compile(r"^(`{3,}|~{3,})\s*(\S*)\s*(.*)$")
_EXIT = re.compile(r"\s+#\s*exit\s+(\d+)\s*$")


@dataclass(frozen=True)
class Command:
    """One documented command and the exit code the docs promise."""

    text: str
    exit_code: int
    line: int


@dataclass(frozen=True)
class Block:
    """A ```console block: where it is and its commands."""

    doc: str
    line: int
    commands: tuple[Command, ...]

    @property
    def id(self) -> str:
        """``docs/ci.md:12``."""
        return f"{self.doc}:{self.line}"


def parse_console_blocks(text: str, doc: str) -> list[Block]:
    """The runnable ```console blocks of a markdown text (``no-test`` blocks left out)."""
    blocks: list[Block] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        match = _FENCE.match(lines[index])
        if not match:
            index += 1
            continue
        fence, language, rest = match.groups()
        start = index + 1
        index += 1
        body: list[tuple[int, str]] = []
        while index < len(lines) and not lines[index].startswith(fence[0] * len(fence)):
            body.append((index + 1, lines[index]))
            index += 1
        index += 1
        if language != "console" or "no-test" in rest.split():
            continue
        commands = _commands(body)
        if commands:
            blocks.append(Block(doc=doc, line=start, commands=tuple(commands)))
    return blocks


def _commands(body: list[tuple[int, str]]) -> list[Command]:
    commands: list[Command] = []
    pending: list[str] = []
    first_line = 0
    for number, line in body:
        if pending:
            pending.append(line)
        elif line.startswith("$ "):
            pending = [line[2:]]
            first_line = number
        else:
            continue
        if pending[-1].endswith("\\"):
            continue
        text = "\n".join(pending)
        pending = []
        expected = 0
        match = _EXIT.search(text)
        if match:
            expected = int(match.group(1))
            text = text[: match.start()]
        commands.append(Command(text=text.strip(), exit_code=expected, line=first_line))
    return commands


def documented_blocks() -> list[Block]:
    """The blocks of README.md and docs/*.md, in file order."""
    docs = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    blocks: list[Block] = []
    for path in docs:
        if path.is_file():
            rel = path.relative_to(ROOT).as_posix()
            blocks += parse_console_blocks(path.read_text(encoding="utf-8"), rel)
    return blocks


def _environment() -> dict[str, str]:
    """This interpreter's scripts first on PATH; the pytest plugin loaded until it is installed."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    plugin_installed = any(
        ep.value == "nbrepro.pytest_plugin"
        for ep in importlib.metadata.entry_points(group="pytest11")
    )
    if not plugin_installed:
        env["PYTEST_PLUGINS"] = "nbrepro.pytest_plugin"
    env.pop("PYTEST_ADDOPTS", None)
    env.pop("PYTEST_XDIST_WORKER", None)
    return env


BLOCKS = documented_blocks()


@pytest.mark.slow
@pytest.mark.parametrize("block", BLOCKS or [None], ids=[b.id for b in BLOCKS] or ["none"])
def test_documented_console_example_runs(block: Block | None, tmp_path: Path) -> None:
    if block is None:
        pytest.skip("no ```console examples in README.md or docs/*.md yet")
    cwd = tmp_path / "examples"
    shutil.copytree(EXAMPLES, cwd, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    env = _environment()
    for command in block.commands:
        result = subprocess.run(
            ["bash", "-c", command.text],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
        )
        assert result.returncode == command.exit_code, (
            f"{block.doc}:{command.line}: `{command.text}` exited {result.returncode}, "
            f"the docs say {command.exit_code}\n--- stdout\n{result.stdout}\n"
            f"--- stderr\n{result.stderr}"
        )


def test_console_blocks_are_parsed_with_exit_codes_and_continuations() -> None:
    text = "\n".join(
        [
            "Intro",
            "```console",
            "$ nbrepro check nb.ipynb  # exit 1",
            "nb.ipynb:cell 2: NBR101 ...",
            "$ nbrepro verify \\",
            "    nb.ipynb --runs 2",
            "```",
            "```console no-test",
            "$ pip install nbrepro",
            "```",
            "```bash",
            "$ not a console block",
            "```",
        ]
    )
    [block] = parse_console_blocks(text, "x.md")
    assert block.id == "x.md:2"
    assert block.commands == (
        Command("nbrepro check nb.ipynb", 1, 3),
        Command("nbrepro verify \\\n    nb.ipynb --runs 2", 0, 5),
    )


@pytest.mark.slow
def test_github_actions_example_runs_its_nbrepro_steps(tmp_path: Path) -> None:
    import yaml

    workflow = yaml.safe_load((ROOT / "docs" / "github-actions.yml").read_text(encoding="utf-8"))
    steps = [step for job in workflow["jobs"].values() for step in job["steps"]]
    commands = [s["run"] for s in steps if str(s.get("run", "")).startswith("nbrepro ")]
    assert [c.split()[1] for c in commands] == ["check", "verify"]
    cwd = tmp_path / "examples"
    shutil.copytree(EXAMPLES, cwd, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    for command in commands:
        result = subprocess.run(
            ["bash", "-c", command],
            cwd=cwd,
            env=_environment(),
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
        )
        assert result.returncode == 0, f"`{command}`\n{result.stdout}\n{result.stderr}"
    uploaded = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact"))
    for path in uploaded["with"]["path"].split():
        assert (cwd / path).exists(), f"the workflow uploads {path}, which verify did not write"
    assert list((cwd / "executed").glob("*.ipynb"))
    report = ElementTree.parse(cwd / "nbrepro-junit.xml").getroot()
    assert list(report.iter("testcase"))
    assert not list(report.iter("failure")) and not list(report.iter("error"))
