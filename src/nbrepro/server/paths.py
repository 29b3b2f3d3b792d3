"""Confining request paths to the server's root directory."""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import InputError, PathOutsideRoot

_DRIVE = re.compile(r"^[A-Za-z]:")


def resolve_in_root(root_dir: str | Path, api_path: object) -> tuple[str, Path]:
    """Turn an API path (``dir/nb.ipynb``, relative to ``root_dir``) into a real path inside it.

    Returns ``(api_path, absolute_path)``. Raises :class:`InputError` for a missing or
    non-string path, and :class:`PathOutsideRoot` for an absolute path, a ``..`` segment, or a
    path that leaves the root through a symbolic link.
    """
    if not isinstance(api_path, str) or not api_path.strip():
        raise InputError("a notebook 'path' (relative to the server root) is required")
    path = api_path.strip()
    if "\x00" in path:
        raise InputError("the path contains a NUL character")
    if path.startswith(("/", "\\")) or _DRIVE.match(path):
        raise PathOutsideRoot(f"{path}: absolute paths are refused; give a path under the root")
    parts = re.split(r"[/\\]", path)
    if ".." in parts:
        raise PathOutsideRoot(f"{path}: '..' is refused; the path must stay under the root")
    clean = "/".join(p for p in parts if p not in ("", "."))
    if not clean:
        raise InputError("a notebook 'path' (relative to the server root) is required")
    root = Path(root_dir).resolve()
    target = (root / clean).resolve()
    if target != root and root not in target.parents:
        raise PathOutsideRoot(f"{clean}: leaves the server root through a symbolic link")
    return clean, target


def api_path_of(root_dir: str | Path, absolute: str | Path) -> str | None:
    """The API path of an absolute path under ``root_dir`` (``None`` when outside)."""
    try:
        return Path(absolute).resolve().relative_to(Path(root_dir).resolve()).as_posix()
    except ValueError:
        return None
