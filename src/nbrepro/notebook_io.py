"""Reading, discovering and atomically writing notebooks, without nbformat's validator.

``json`` plus a structural check (:mod:`nbrepro.notebook_structure`: every field nbrepro reads,
and a nesting limit checked before ``json.loads`` recurses) is enough for every command and is
~100x cheaper to import than ``nbformat`` (whose jsonschema validator costs about two seconds at
start-up here). Whatever is wrong with a file (missing, a device, a path too long, not UTF-8, not
JSON, nested too deeply, a field of the wrong type) is one :class:`InputError` line naming it.

Writes use the same layout as ``nbformat.write`` (one-space indent, sorted keys, multi-line
strings split into lists of lines) so that a notebook nbrepro writes diffs cleanly against one
JupyterLab saved; they are atomic, and a write that fails (a full disk) raises
:class:`WriteError`, which is an :class:`OSError` and a one-line nbrepro error at once, leaving
the target as it was.
"""

from __future__ import annotations

import json
import os
import re
import stat
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from .errors import InputError, NotebookNotFound
from .notebook_structure import MAX_DEPTH, check_json_text, check_nesting, check_structure
from .textsafe import shown_path

__all__ = [
    "MAX_DEPTH",
    "SKIPPED_DIRS",
    "WriteError",
    "atomic_write_text",
    "cell_source",
    "check_json_text",
    "check_nesting",
    "check_structure",
    "dumps_notebook",
    "iter_notebook_paths",
    "kernel_language",
    "kernel_name",
    "parse_notebook",
    "read_notebook",
    "to_nbformat_layout",
    "write_notebook",
]

NotebookDict = dict[str, Any]

#: Folders never searched when a directory is given.
SKIPPED_DIRS = frozenset({".ipynb_checkpoints", ".git", "node_modules", "__pycache__", ".nbrepro"})
#: Files or folders that mark a Python environment (virtualenv, conda), skipped in directories.
_ENV_MARKERS = ("pyvenv.cfg", "conda-meta")

# Keys whose multi-line string values nbformat stores as lists of lines.
_MULTILINE_OUTPUT_KEYS = ("text",)
_MULTILINE_MIME_PREFIXES = ("text/", "application/javascript", "image/svg+xml")


class WriteError(InputError, OSError):
    """A file could not be written (full disk, read-only folder, path too long): one line
    naming the file, for the faces, and an :class:`OSError` (``errno``, ``strerror``) for code
    that handles the system's errors."""


def _cannot(p: str | os.PathLike[str], verb: str, exc: OSError) -> str:
    return f"{shown_path(p)}: cannot {verb}: {exc.strerror or type(exc).__name__}"


def read_notebook(path: str | os.PathLike[str]) -> NotebookDict:
    """Read a notebook file and check its structure (nbformat 4).

    Raises :class:`NotebookNotFound` or :class:`InputError` with a one-line message when the
    file is missing, cannot be read (a directory, a device or a pipe, a path too long), is not
    UTF-8 JSON, or is not a version-4 notebook of the types nbrepro reads.
    """
    p = Path(path)
    try:
        mode = os.stat(p).st_mode
        if stat.S_ISDIR(mode):
            raise InputError(f"{shown_path(p)}: is a directory, not a notebook")
        if not stat.S_ISREG(mode):  # a device never ends, a pipe may never be written
            raise InputError(f"{shown_path(p)}: not a regular file")
        raw = p.read_bytes()
    except FileNotFoundError:
        raise NotebookNotFound(f"{shown_path(p)}: no such notebook") from None
    except IsADirectoryError:
        raise InputError(f"{shown_path(p)}: is a directory, not a notebook") from None
    except OSError as exc:
        raise InputError(_cannot(p, "read", exc)) from None
    except MemoryError:
        raise InputError(f"{shown_path(p)}: too large to read") from None
    return parse_notebook(raw, str(p))


def parse_notebook(raw: bytes | str, name: str = "<notebook>") -> NotebookDict:
    """Parse notebook JSON text (UTF-8 when bytes) and check its structure; see
    :func:`read_notebook`."""
    if isinstance(raw, (bytes, bytearray, memoryview)):
        raw = bytes(raw)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(
                f"{shown_path(name)}: not a valid notebook (not UTF-8 text: byte "
                f"0x{exc.object[exc.start]:02x} at offset {exc.start})"
            ) from None
    else:
        text = raw
        lone = _SURROGATE.search(text)
        if lone is not None:
            raise InputError(
                f"{shown_path(name)}: not a valid notebook (a lone surrogate "
                f"\\u{ord(lone.group()):04x}, which is not Unicode text)"
            )
    check_json_text(raw, name)
    try:
        nb = json.loads(text)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, too many digits
        raise InputError(
            f"{shown_path(name)}: not a valid notebook (invalid JSON: {shown_path(exc, 300)})"
        ) from None
    check_structure(nb, name)
    return nb  # type: ignore[no-any-return]


def cell_source(cell: dict[str, Any]) -> str:
    """A cell's source as one string (nbformat allows a string or a list of lines)."""
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def kernel_name(nb: NotebookDict) -> str | None:
    """The kernel name from the notebook's kernelspec, if any."""
    meta = nb.get("metadata")
    spec = meta.get("kernelspec") if isinstance(meta, dict) else None
    name = spec.get("name") if isinstance(spec, dict) else None
    return name if isinstance(name, str) and name else None


def kernel_language(nb: NotebookDict) -> str:
    """The notebook's language in lower case (``python`` when the notebook does not say)."""
    meta = nb.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    info, spec = meta.get("language_info"), meta.get("kernelspec")
    lang = (info.get("name") if isinstance(info, dict) else None) or (
        spec.get("language") if isinstance(spec, dict) else None
    )
    return str(lang).lower() if lang else "python"


def iter_notebook_paths(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Path]:
    """Yield the notebooks named by ``paths``: files as given, directories searched recursively.

    Checkpoint folders (``.ipynb_checkpoints``), tool folders and Python environments (a folder
    with ``pyvenv.cfg`` or ``conda-meta``: installed packages ship notebooks) are skipped;
    directory contents come out sorted so reports are stable. A path that does not exist raises
    :class:`NotebookNotFound`.
    """
    for raw in paths:
        p = Path(raw)
        try:
            is_dir, exists = p.is_dir(), p.exists()
        except OSError as exc:  # a name too long, a folder that cannot be searched
            raise InputError(_cannot(p, "read", exc)) from None
        if is_dir:
            for dirpath, dirnames, filenames in os.walk(p):
                dirnames[:] = sorted(
                    d
                    for d in dirnames
                    if d not in SKIPPED_DIRS
                    and not any(os.path.exists(os.path.join(dirpath, d, m)) for m in _ENV_MARKERS)
                )
                for filename in sorted(filenames):
                    if filename.endswith(".ipynb"):
                        yield Path(dirpath) / filename
        elif exists:
            yield p
        else:
            raise NotebookNotFound(f"{shown_path(p)}: no such file or directory")


def _split_lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def to_nbformat_layout(nb: NotebookDict) -> NotebookDict:
    """Return a copy of ``nb`` with multi-line strings split into lists, as nbformat stores them."""
    out = json.loads(json.dumps(nb))
    for cell in out.get("cells", []):
        if isinstance(cell.get("source"), str):
            cell["source"] = _split_lines(cell["source"])
        for output in cell.get("outputs", []) or []:
            for key in _MULTILINE_OUTPUT_KEYS:
                if isinstance(output.get(key), str):
                    output[key] = _split_lines(output[key])
            data = output.get("data")
            if isinstance(data, dict):
                for mime, value in data.items():
                    if isinstance(value, str) and mime.startswith(_MULTILINE_MIME_PREFIXES):
                        data[mime] = _split_lines(value)
    return out


_SURROGATE = re.compile("[\ud800-\udfff]")


def dumps_notebook(nb: NotebookDict) -> str:
    """Serialise a notebook exactly as ``nbformat.writes`` lays it out.

    A lone surrogate (which JSON's ``\\ud800`` escape can put in a string) stays an escape, so
    the text can be written as UTF-8 and reads back the same."""
    text = json.dumps(to_nbformat_layout(nb), sort_keys=True, indent=1, ensure_ascii=False)
    if _SURROGATE.search(text):
        text = _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return text + "\n"


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` atomically: a temporary file in the same folder, then rename.

    A reader sees either the old file or the new one, never half of one; the file's permission
    bits are kept when it already exists. A failure (a full disk, a read-only folder, a path too
    long) raises :class:`WriteError` and leaves the file as it was (no temporary file behind).
    """
    target = Path(path)
    try:
        _write_atomically(target, text)
    except OSError as exc:
        error = WriteError(_cannot(target, "write", exc))
        error.errno, error.strerror, error.filename = exc.errno, exc.strerror, str(target)
        raise error from None
    except UnicodeEncodeError:
        raise WriteError(
            f"{shown_path(target)}: cannot write: the text is not valid Unicode"
        ) from None


def _write_atomically(target: Path, text: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name[:100]}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.chmod(tmp, target.stat().st_mode & 0o7777)
        except FileNotFoundError:
            os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_notebook(nb: NotebookDict, path: str | os.PathLike[str]) -> None:
    """Write a notebook atomically in nbformat's layout."""
    atomic_write_text(path, dumps_notebook(nb))
