"""Reading, discovering and atomically writing notebooks, without nbformat's validator.

``json`` plus a structural check is enough for analysis and is ~100x cheaper to import than
``nbformat`` (whose jsonschema validator costs about two seconds at start-up here). Writes use the
same layout as ``nbformat.write`` (one-space indent, sorted keys, multi-line strings split into
lists of lines) so that a notebook nbrepro writes diffs cleanly against one JupyterLab saved.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from .cell_names import cell_label
from .errors import InputError, NotebookNotFound

NotebookDict = dict[str, Any]

#: Folders never searched when a directory is given.
SKIPPED_DIRS = frozenset({".ipynb_checkpoints", ".git", "node_modules", "__pycache__", ".nbrepro"})
#: Files or folders that mark a Python environment (virtualenv, conda), skipped in directories.
_ENV_MARKERS = ("pyvenv.cfg", "conda-meta")

# Keys whose multi-line string values nbformat stores as lists of lines.
_MULTILINE_OUTPUT_KEYS = ("text",)
_MULTILINE_MIME_PREFIXES = ("text/", "application/javascript", "image/svg+xml")


def read_notebook(path: str | os.PathLike[str]) -> NotebookDict:
    """Read a notebook file and check its structure (nbformat 4).

    Raises :class:`NotebookNotFound` or :class:`InputError` with a one-line message when the
    file is missing, is not JSON, or is not a version-4 notebook.
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise NotebookNotFound(f"{p}: no such notebook") from None
    except IsADirectoryError:
        raise InputError(f"{p}: is a directory, not a notebook") from None
    except OSError as exc:
        raise InputError(f"{p}: cannot read: {exc.strerror or exc}") from None
    return parse_notebook(raw, str(p))


def parse_notebook(raw: bytes | str, name: str = "<notebook>") -> NotebookDict:
    """Parse notebook JSON text and check its structure; see :func:`read_notebook`."""
    try:
        nb = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{name}: not a valid notebook (invalid JSON: {exc})") from None
    check_structure(nb, name)
    return nb  # type: ignore[no-any-return]


def check_structure(nb: Any, name: str = "<notebook>") -> None:
    """Raise :class:`InputError` unless ``nb`` has the shape of an nbformat-4 notebook."""
    if not isinstance(nb, dict):
        raise InputError(f"{name}: not a valid notebook (top level is not a JSON object)")
    major = nb.get("nbformat")
    if major != 4:
        raise InputError(
            f"{name}: unsupported notebook format {major!r} (nbrepro reads nbformat 4; "
            "convert with `jupyter nbconvert --to notebook`)"
        )
    cells = nb.get("cells")
    if not isinstance(cells, list):
        raise InputError(f"{name}: not a valid notebook (no list of cells)")
    if not isinstance(nb.get("metadata", {}), dict):
        raise InputError(f"{name}: not a valid notebook (metadata is not an object)")
    for index, cell in enumerate(cells):
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            raise InputError(
                f"{name}: not a valid notebook ({cell_label(index)} has no valid cell_type)"
            )
        if not isinstance(cell.get("source", ""), (str, list)):
            raise InputError(
                f"{name}: not a valid notebook ({cell_label(index)} has invalid source)"
            )


def cell_source(cell: dict[str, Any]) -> str:
    """A cell's source as one string (nbformat allows a string or a list of lines)."""
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def kernel_name(nb: NotebookDict) -> str | None:
    """The kernel name from the notebook's kernelspec, if any."""
    spec = nb.get("metadata", {}).get("kernelspec") or {}
    name = spec.get("name") if isinstance(spec, dict) else None
    return name if isinstance(name, str) and name else None


def kernel_language(nb: NotebookDict) -> str:
    """The notebook's language in lower case (``python`` when the notebook does not say)."""
    meta = nb.get("metadata", {})
    lang = (meta.get("language_info") or {}).get("name") or (meta.get("kernelspec") or {}).get(
        "language"
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
        if p.is_dir():
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
        elif p.exists():
            yield p
        else:
            raise NotebookNotFound(f"{p}: no such file or directory")


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


def dumps_notebook(nb: NotebookDict) -> str:
    """Serialise a notebook exactly as ``nbformat.writes`` lays it out."""
    return json.dumps(to_nbformat_layout(nb), sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` atomically: a temporary file in the same folder, then rename.

    A reader sees either the old file or the new one, never half of one; the file's permission
    bits are kept when it already exists.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
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
