"""The structural check of a notebook: every field nbrepro reads has the type nbrepro expects.

Not nbformat's validator (its jsonschema costs about two seconds to import, and ``nbrepro
check`` must start fast): a hand-written walk over the fields nbrepro reads, nbformat 4's types
for them, and the shape of ``metadata.nbrepro`` (``schemas/provenance.schema.json``) as the
readers of provenance (drift, diagnosis, the check, merging) use it. Keys nbrepro does not read
are not looked at, so notebooks that other tools extend stay readable; where the provenance
schema lets a reader meet ``null`` (and nbrepro itself may write it), ``null`` passes.

Before ``json.loads`` sees the text, :func:`check_nesting` refuses JSON nested deeper than
:data:`MAX_DEPTH`: the decoder recurses per level (thousands of ``[`` raise RecursionError) and
so does everything that copies or writes a notebook afterwards.

Every problem is one :class:`~nbrepro.errors.InputError` line, ``PATH: not a valid notebook
(WHAT)``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from itertools import accumulate, repeat
from typing import Any

from .cell_names import cell_label
from .errors import InputError
from .textsafe import printable, shown_path, unsafe_character

#: The deepest nesting of JSON arrays and objects accepted (a notebook needs about 6 levels;
#: widget states and Vega specs a few dozen).
MAX_DEPTH = 200
#: The cell types of nbformat 4.
CELL_TYPES = ("code", "markdown", "raw")

#: An escaped backslash or quote inside a JSON string (left to right, as the decoder reads them).
_ESCAPE = re.compile(rb'\\[\\"]')
#: A high surrogate escape not followed by a low one, or a low one not preceded by a high one.
_LONE_SURROGATE = re.compile(
    rb"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    rb"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)
#: Every byte but the quote and the brackets, deleted by ``bytes.translate``.
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}')
#: Depth change per byte: +1 for an opening bracket, -1 for a closing one.
_DEPTH_STEP = [0] * 256
for _byte in b"[{":
    _DEPTH_STEP[_byte] = 1
for _byte in b"]}":
    _DEPTH_STEP[_byte] = -1
del _byte
#: A field check: a predicate and what the value should be (for the message).
_Check = tuple[Callable[[Any], bool], str]


def _unescaped(text: str | bytes) -> bytes:
    """The JSON text as bytes without its escaped backslashes and quotes (``\\\\``, ``\\"``), so
    that every quote left delimits a string and every backslash left starts an escape."""
    data = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
    return _ESCAPE.sub(b"", data) if b"\\" in data else data


def _check_depth(data: bytes, name: str) -> None:
    outside = b"".join(data.translate(None, _NOT_STRUCTURE).split(b'"')[::2])
    if len(outside) <= MAX_DEPTH:
        return
    if max(accumulate(map(_DEPTH_STEP.__getitem__, outside))) > MAX_DEPTH:
        raise InputError(
            f"{shown_path(name)}: not a valid notebook (JSON nested deeper than {MAX_DEPTH} levels)"
        )


def _check_surrogates(data: bytes, name: str) -> None:
    """Refuse a ``\\uXXXX`` escape of a lone surrogate: a high one (D800-DBFF) not followed by a
    low one (DC00-DFFF), or a low one not preceded by a high one. ``data`` is unescaped
    (:func:`_unescaped`), so every ``\\u`` left is an escape; they are rare in notebooks
    (nbformat writes text as UTF-8), so each is looked at where ``bytes.find`` stops."""
    at = data.find(b"\\u")
    while at != -1:
        if _LONE_SURROGATE.match(data, at):
            raise InputError(
                f"{shown_path(name)}: not a valid notebook (a string holds a lone surrogate "
                f"{data[at : at + 6].decode('ascii', 'replace').lower()}, which is not Unicode "
                "text)"
            )
        at = data.find(b"\\u", at + 2)


def check_nesting(text: str | bytes, name: str = "<notebook>") -> None:
    """Raise :class:`InputError` when the JSON ``text`` nests arrays and objects deeper than
    :data:`MAX_DEPTH` (brackets inside strings do not count).

    Linear and cheap (about 5 ms per MB, a fraction of ``json.loads``' time): escaped
    backslashes and quotes are dropped, then every byte but quotes and brackets
    (``bytes.translate``); the pieces between quotes at even positions are outside strings, and
    their brackets are counted. UTF-8 never puts an ASCII byte inside a multi-byte character, so
    bytes are scanned undecoded. Invalid JSON is scanned correctly up to its first error, which
    is as far as the decoder goes.
    """
    _check_depth(_unescaped(text), name)


def check_json_text(text: str | bytes, name: str = "<notebook>") -> None:
    """What :func:`check_nesting` checks, and that no string escapes a lone surrogate
    (``"\\ud800"``): it decodes, but is not Unicode text, so nothing can hash or save it as UTF-8
    (Jupyter cannot save such a notebook either). Raises :class:`InputError`."""
    data = _unescaped(text)
    _check_surrogates(data, name)
    _check_depth(data, name)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_count(value: Any) -> bool:
    return value is None or _is_int(value)


def _is_text(value: Any) -> bool:
    """nbformat's "multiline string": a string or a list of strings."""
    return isinstance(value, str) or _is_str_list(value)


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(map(isinstance, value, repeat(str)))


def _is_optional_str(value: Any) -> bool:
    return value is None or isinstance(value, str)


def _is_json_mime(mime: str) -> bool:
    return mime == "application/json" or mime.endswith("+json")


class _Checker:
    """One notebook's check; :meth:`invalid` makes the one-line error."""

    def __init__(self, name: str) -> None:
        self.name = shown_path(name)

    def invalid(self, what: str) -> InputError:
        return InputError(f"{self.name}: not a valid notebook ({what})")

    # -- the notebook ---------------------------------------------------------------------
    def notebook(self, nb: Any) -> None:
        if not isinstance(nb, dict):
            raise self.invalid("top level is not a JSON object")
        major = nb.get("nbformat")
        if major != 4:
            raise InputError(
                f"{self.name}: unsupported notebook format {printable(repr(major)[:40])} "
                "(nbrepro reads nbformat 4; convert with `jupyter nbconvert --to notebook`)"
            )
        cells = nb.get("cells")
        if not isinstance(cells, list):
            raise self.invalid("no list of cells")
        metadata = nb.get("metadata", {})
        if not isinstance(metadata, dict):
            raise self.invalid("metadata is not an object")
        self.metadata(metadata)
        for index, cell in enumerate(cells):
            self.cell(index, cell)

    def metadata(self, metadata: dict[str, Any]) -> None:
        for key, fields in (
            ("kernelspec", ("name", "display_name", "language")),
            ("language_info", ("name",)),
        ):
            value = metadata.get(key, {})
            if not isinstance(value, dict):
                raise self.invalid(f"metadata.{key} is not an object")
            for field in fields:
                if not isinstance(value.get(field, ""), str):
                    raise self.invalid(f"metadata.{key}.{field} is not a string")
        if "nbrepro" in metadata:
            _Provenance(self).check(metadata["nbrepro"])

    def cell(self, index: int, cell: Any) -> None:
        if not isinstance(cell, dict) or cell.get("cell_type") not in CELL_TYPES:
            raise self.invalid(f"{cell_label(index)} has no valid cell_type")
        problem = _cell_problem(cell)
        if problem:
            raise self.invalid(f"{cell_label(index)}{problem}")


def _cell_problem(cell: dict[str, Any]) -> str | None:
    """What is wrong with one cell's fields that nbrepro reads (``None``: nothing); the text
    follows the cell's label."""
    get = cell.get
    if "id" in cell and not isinstance(cell["id"], str):
        return " has an id that is not a string"
    if not _is_text(get("source", "")):
        return " has invalid source"
    metadata = get("metadata", {})
    if not isinstance(metadata, dict):
        return " has metadata that is not an object"
    if "tags" in metadata and not _is_str_list(metadata["tags"]):
        return " has tags that are not a list of strings"
    if get("cell_type") == "code" and not _is_count(get("execution_count")):
        return " has an execution_count that is not an integer or null"
    outputs = get("outputs", ())
    if not outputs:
        return None if isinstance(outputs, (list, tuple)) else _NOT_OUTPUTS
    if not (isinstance(outputs, list) and all(map(isinstance, outputs, repeat(dict)))):
        return _NOT_OUTPUTS
    for number, output in enumerate(outputs, start=1):
        problem = _output_problem(output)
        if problem:
            return f", output {number}: {problem}"
    return None


_NOT_OUTPUTS = " has outputs that are not a list of objects"


def _output_problem(output: dict[str, Any]) -> str | None:
    """What is wrong with one output's fields that nbrepro reads (``None``: nothing)."""
    kind = output.get("output_type")
    if not isinstance(kind, str):
        return "output_type is not a string"
    if not isinstance(output.get("metadata", {}), dict):
        return "metadata is not an object"
    if not _is_count(output.get("execution_count")):
        return "execution_count is not an integer or null"
    for key in ("name", "ename", "evalue"):
        if not isinstance(output.get(key, ""), str):
            return f"{key} is not a string"
    if not _is_text(output.get("text", "")):
        return "text is not a string or a list of strings"
    if not _is_str_list(output.get("traceback", [])):
        return "traceback is not a list of strings"
    data = output.get("data", {})
    if not isinstance(data, dict):
        return "data is not an object"
    for mime, value in data.items():
        if not _is_json_mime(mime) and not _is_text(value):
            return f"data[{printable(repr(mime)[:60])}] is not a string or a list of strings"
    return None


class _Provenance:
    """``metadata.nbrepro``: the shape its readers use (``schemas/provenance.schema.json``)."""

    def __init__(self, checker: _Checker) -> None:
        self.checker = checker

    def fail(self, where: str, what: str) -> InputError:
        return self.checker.invalid(f"metadata.nbrepro{where} {what}")

    def object(self, value: Any, where: str) -> dict[str, Any]:
        """``value`` when it is an object (``{}`` for null); else fail."""
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(where, "is not an object")
        return value

    def fields(self, value: dict[str, Any], where: str, checks: Mapping[str, _Check]) -> None:
        for key, (ok, what) in checks.items():
            if key in value and value[key] is not None and not ok(value[key]):
                raise self.fail(f"{where}.{key}", f"is not {what}")

    def check(self, prov: Any) -> None:
        prov = self.object(prov, "")
        self.fields(
            prov,
            "",
            {
                "nbrepro_version": (_is_optional_str, "a string"),
                "recorder": (_is_optional_str, "a string"),
                "deleted_cells": (_is_str_list, "a list of strings"),
            },
        )
        session = self.object(prov.get("session"), ".session")
        self.fields(session, ".session", {"id": _STR, "started": _STR})
        self.environment(self.object(prov.get("environment"), ".environment"))
        inputs = self.object(prov.get("inputs"), ".inputs")
        for path, entry in inputs.items():
            where = f".inputs[{_key(path)}]"
            self.fields(self.object(entry, where), where, _INPUT_FIELDS)
        cells = self.object(prov.get("cells"), ".cells")
        for cid, entry in cells.items():
            where = f".cells[{_key(cid)}]"
            self.fields(self.object(entry, where), where, _CELL_FIELDS)
        executions = prov.get("executions")
        if executions is not None:
            if not isinstance(executions, list):
                raise self.fail(".executions", "is not a list")
            for number, entry in enumerate(executions):
                where = f".executions[{number}]"
                self.fields(self.object(entry, where), where, _EXECUTION_FIELDS)

    def environment(self, env: dict[str, Any]) -> None:
        for key, names in _ENVIRONMENT_PARTS.items():
            part = self.object(env.get(key), f".environment.{key}")
            self.fields(part, f".environment.{key}", {n: _STR for n in names})
        for key in ("packages", "env_vars"):
            where = f".environment.{key}"
            mapping = self.object(env.get(key), where)
            for name, value in mapping.items():
                if not _is_optional_str(value):
                    raise self.fail(f"{where}[{_key(name)}]", "is not a string")
                if key == "packages" and (unsafe_character(name) or unsafe_character(value or "")):
                    # Names and versions go into requirements files: one line each.
                    raise self.fail(f"{where}[{_key(name)}]", "holds a control character")
        self.fields(env, ".environment", {"packages_digest": _STR, "packages_scope": _STR})


def _key(key: str) -> str:
    return printable(repr(key[:60] + ("..." if len(key) > 60 else "")))


_STR = (_is_optional_str, "a string")
_STR_LIST = (_is_str_list, "a list of strings")
_COUNT = (_is_count, "an integer or null")
_ENVIRONMENT_PARTS = {
    "python": ("version", "implementation"),
    "platform": ("system", "release", "machine"),
    "kernel": ("name", "language", "language_version"),
}
_INPUT_FIELDS = {
    "hash": _STR,
    "size": (_is_int, "an integer"),
    "kind": _STR,
    "produced": (lambda v: isinstance(v, bool), "true or false"),
    "mtime_ns": (_is_int, "an integer"),
    "recursive": (lambda v: isinstance(v, bool), "true or false"),
}
_CELL_FIELDS = {
    "execution_count": _COUNT,
    "source_hash": _STR,
    "status": _STR,
    "error": _STR,
    "inputs": _STR_LIST,
    "outputs": _STR_LIST,
    "session": _STR,
}
_EXECUTION_FIELDS = {
    "cell_id": _STR,
    "cell_id_source": _STR,
    "execution_count": _COUNT,
    "source_hash": _STR,
    "started": _STR,
    "ended": _STR,
    "status": _STR,
    "error": _STR,
    "inputs": _STR_LIST,
    "outputs": _STR_LIST,
    "deleted_cells": _STR_LIST,
}


def check_structure(nb: Any, name: str = "<notebook>") -> None:
    """Raise :class:`InputError` (one line) unless ``nb`` has the shape of an nbformat-4
    notebook in every field nbrepro reads, ``metadata.nbrepro`` included."""
    _Checker(name).notebook(nb)
