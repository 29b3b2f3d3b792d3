"""nbrepro's configuration: the ``[tool.nbrepro]`` table of the nearest ``pyproject.toml``.

The search starts in a directory (the current one by default) and walks up to the file system
root; the first ``pyproject.toml`` that has a ``[tool.nbrepro]`` table wins, as ruff does with
``[tool.ruff]``. Each command reads its own sub-table (``[tool.nbrepro.check]``,
``[tool.nbrepro.verify]``); keys set directly under ``[tool.nbrepro]`` are shared defaults that
a sub-table overrides::

    [tool.nbrepro]
    exclude = ["drafts/*"]

    [tool.nbrepro.check]
    ignore = ["NBR104"]
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import InputError

CONFIG_FILE = "pyproject.toml"
#: Sub-tables of ``[tool.nbrepro]``, one per command; their names are not shared defaults.
SECTIONS = frozenset({"check", "verify", "run", "runs", "env", "server"})


@dataclass(frozen=True)
class Config:
    """The ``[tool.nbrepro]`` table and the file it came from (``path`` is None when none)."""

    path: Path | None = None
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def root(self) -> Path | None:
        """The folder of the configuration file: relative paths in it are relative to it."""
        return self.path.parent if self.path else None

    def section(self, name: str) -> dict[str, Any]:
        """A command's settings: shared top-level keys, overridden by ``[tool.nbrepro.<name>]``."""
        return section(self.data, name, source=str(self.path) if self.path else "configuration")


def find_config(start: str | os.PathLike[str] | None = None) -> Config:
    """Find and read the nearest ``pyproject.toml`` with ``[tool.nbrepro]`` at or above ``start``.

    Raises :class:`~nbrepro.errors.InputError` (one line, naming the file) when a candidate file
    cannot be read or is not valid TOML.
    """
    directory = Path(start if start is not None else Path.cwd()).resolve()
    if directory.is_file():
        directory = directory.parent
    for folder in (directory, *directory.parents):
        candidate = folder / CONFIG_FILE
        if not candidate.is_file():
            continue
        try:
            raw = candidate.read_bytes()
        except OSError as exc:
            raise InputError(f"{candidate}: cannot read: {exc.strerror or exc}") from None
        if b"nbrepro" not in raw:
            continue  # cheap skip: no [tool.nbrepro] here
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover - Python 3.10
            import tomli as tomllib
        try:
            document = tomllib.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise InputError(f"{candidate}: invalid TOML: {exc}") from None
        tool = document.get("tool")
        table = tool.get("nbrepro") if isinstance(tool, dict) else None
        if table is None:
            continue
        if not isinstance(table, dict):
            raise InputError(f"{candidate}: [tool.nbrepro] must be a table")
        return Config(candidate, table)
    return Config()


def load_config(start: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The ``[tool.nbrepro]`` table of the nearest ``pyproject.toml`` (``{}`` when none)."""
    return find_config(start).data


def section(config: dict[str, Any], name: str, *, source: str = "configuration") -> dict[str, Any]:
    """Settings of one command: top-level keys of ``config`` overridden by ``config[name]``."""
    merged = {k: v for k, v in config.items() if k not in SECTIONS}
    sub = config.get(name, {})
    if not isinstance(sub, dict):
        raise InputError(f"{source}: [tool.nbrepro.{name}] must be a table")
    merged.update(sub)
    return merged


def check_config(config: dict[str, Any], *, source: str = "configuration") -> dict[str, Any]:
    """The ``check`` settings (``select``, ``ignore``, ``exclude``, ``builtins``...)."""
    return section(config, "check", source=source)
