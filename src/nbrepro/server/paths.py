"""Confining request paths to the server's root directory, and hiding what it hides."""

from __future__ import annotations

import re
from pathlib import Path

from jupyter_core.paths import is_hidden

from ..errors import InputError, PathOutsideRoot

_DRIVE = re.compile(r"^[A-Za-z]:")
#: Longest API path accepted, and longest name in it (characters).
MAX_PATH, MAX_NAME = 4096, 255


def resolve_in_root(root_dir: str | Path, api_path: object) -> tuple[str, Path]:
    """Turn an API path (``dir/nb.ipynb``, relative to ``root_dir``) into a real path inside it.

    Returns ``(api_path, absolute_path)``. Raises :class:`InputError` for a missing, non-string,
    too long or unresolvable path, and :class:`PathOutsideRoot` for an absolute path, a ``..``
    segment, or a path that leaves the root through a symbolic link.
    """
    if not isinstance(api_path, str) or not api_path.strip():
        raise InputError("a notebook 'path' (relative to the server root) is required")
    path = api_path.strip()
    if "\x00" in path:
        raise InputError("the path contains a NUL character")
    if len(path) > MAX_PATH:
        raise InputError(f"the path is longer than {MAX_PATH} characters")
    if path.startswith(("/", "\\")) or _DRIVE.match(path):
        raise PathOutsideRoot(
            f"{short_path(path)}: absolute paths are refused; give a path under the root"
        )
    parts = re.split(r"[/\\]", path)
    if ".." in parts:
        raise PathOutsideRoot(
            f"{short_path(path)}: '..' is refused; the path must stay under the root"
        )
    clean = "/".join(p for p in parts if p not in ("", "."))
    if not clean:
        raise InputError("a notebook 'path' (relative to the server root) is required")
    if any(len(p) > MAX_NAME for p in clean.split("/")):
        raise InputError(
            f"{short_path(clean)}: a name in the path is longer than {MAX_NAME} characters"
        )
    root = Path(root_dir).resolve()
    try:
        target = (root / clean).resolve()
    except (OSError, RuntimeError) as exc:  # a symbolic link loop
        raise InputError(
            f"{short_path(clean)}: the path cannot be resolved ({_why(exc)})"
        ) from None
    if target != root and root not in target.parents:
        raise PathOutsideRoot(
            f"{short_path(clean)}: leaves the server root through a symbolic link"
        )
    return clean, target


def hidden_in_root(root_dir: str | Path, clean: str, target: Path) -> bool:
    """Whether the API path ``clean`` (or the file it resolves to, ``target``) is hidden under
    the root, as the contents manager judges it (a name starting with ``.``, a hidden flag)."""
    root = Path(root_dir).resolve()
    named = root / clean
    for candidate in (named,) if target == named else (named, target):
        try:
            if is_hidden(str(candidate), str(root)):
                return True
        except (OSError, ValueError):
            return True
    return False


def is_notebook_file(path: Path) -> bool:
    """Whether ``path`` is an existing regular file (``False`` also when it cannot be looked
    at)."""
    try:
        return path.is_file()
    except OSError:
        return False


def api_path_of(root_dir: str | Path, absolute: str | Path) -> str | None:
    """The API path of an absolute path under ``root_dir`` (``None`` when outside)."""
    try:
        return Path(absolute).resolve().relative_to(Path(root_dir).resolve()).as_posix()
    except ValueError:
        return None


def short_path(path: str, limit: int = 120) -> str:
    """A path as a message names it: at most ``limit`` characters (the middle elided)."""
    if len(path) <= limit:
        return path
    half = (limit - 1) // 2
    return path[:half] + "…" + path[-half:]


def _why(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    return str(exc) or type(exc).__name__
