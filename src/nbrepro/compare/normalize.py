"""Normalisation of notebook outputs before comparison.

Every normaliser is a plain ``str -> str`` function so that it can be documented and tested by
itself; :func:`normalize_outputs` applies them, in a fixed order, to every text of every output
(stream text, error name/value/traceback, string mime values, strings inside JSON mime values),
then the user's sanitizers. Base64 image data is never rewritten.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

from .options import CompareOptions

__all__ = [
    "ADDRESS",
    "BINARY_MIME_TYPES",
    "NORMALIZERS",
    "WIDGET_MIME",
    "WIDGET_MODEL_ID",
    "is_json_mime",
    "mask_memory_addresses",
    "mask_timings",
    "mask_traceback_paths",
    "normalize_output",
    "normalize_outputs",
    "normalize_text",
    "render_carriage_returns",
    "strip_ansi",
]

Output = dict[str, Any]

#: Mime types whose values are base64 data: compared as images/bytes, never rewritten.
BINARY_MIME_TYPES = frozenset(
    {"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "application/pdf"}
)
#: The ipywidgets view mime type, whose ``model_id`` changes at every run.
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
#: What a widget's ``model_id`` becomes.
WIDGET_MODEL_ID = "<model-id>"
#: What a memory address becomes.
ADDRESS = "0xADDRESS"

# --- ANSI escapes: CSI sequences (colours, cursor moves), OSC sequences (titles, links), others.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")


def strip_ansi(text: str) -> str:
    """Remove ANSI escape sequences (colours in tracebacks, coloured prints, cursor moves)."""
    return _ANSI.sub("", text) if "\x1b" in text else text


# --- Carriage returns and backspaces, as a terminal (and JupyterLab) renders them.
_BACKSPACE = re.compile(r"[^\n\x08]\x08")


def render_carriage_returns(text: str) -> str:
    """Keep what a terminal shows: text before a bare ``\\r`` on a line is overwritten.

    ``"\\r\\n"`` is a newline; a backspace erases the character before it. Progress bars that
    redraw a line (tqdm) leave only their final state.
    """
    if "\r" not in text and "\b" not in text:
        return text
    text = text.replace("\r\n", "\n")
    while "\b" in text:
        reduced = _BACKSPACE.sub("", text)
        if reduced == text:
            text = text.replace("\b", "")
            break
        text = reduced
    if "\r" not in text:
        return text
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if "\r" in line:
            parts = [part for part in line.split("\r") if part]
            lines[i] = parts[-1] if parts else ""
    return "\n".join(lines)


# --- Memory addresses: `<Foo object at 0x7f3a2c1b5d90>`, `<function f at 0x...>`, and any long
# hex number inside a `<...>` repr (`<Figure ... 0x55d1c8a0b2c0>`).
_AT_ADDRESS = re.compile(r"(?<=\bat )0x[0-9a-fA-F]+\b")
_REPR = re.compile(r"<[^<>\n]*0x[0-9a-fA-F]{8,}[^<>\n]*>")
_LONG_HEX = re.compile(r"\b0x[0-9a-fA-F]{8,}\b")


def mask_memory_addresses(text: str) -> str:
    """Replace memory addresses in object reprs by ``0xADDRESS``.

    ``at 0x...`` anywhere, and hex numbers of 8+ digits inside a one-line ``<...>`` repr; a short
    hex literal in plain text (``0xff``) stays.
    """
    if "0x" not in text:
        return text
    text = _AT_ADDRESS.sub(ADDRESS, text)
    return _REPR.sub(lambda m: _LONG_HEX.sub(ADDRESS, m.group(0)), text)


# --- IPython timing output: %time / %%time, %timeit / %%timeit (and `-o` results).
_PM = r"(?:\u00b1|\+-)"
_CPU_TIMES = re.compile(r"^CPU times: .*$", re.MULTILINE)
_WALL_TIME = re.compile(r"^Wall time: .*$", re.MULTILINE)
_COMPILE_TIME = re.compile(r"^(?:Compiler|Parser) *: [^\n]*\n?", re.MULTILINE)
_TIMEIT = re.compile(
    rf"\S+ \S+ {_PM} \S+ \S+ per loop \(mean {_PM} std\. dev\. of [\d,]+ runs?, "
    r"[\d,]+ loops? each\)"
)
_TIMEIT_OLD = re.compile(r"\b[\d,]+ loops?, best of \d+: \S+ \S+ per loop")
_TIMEIT_SLOWEST = re.compile(
    r"^The slowest run took [\d.]+ times longer than the fastest\. "
    r"This could mean that an intermediate result is being cached\.\n?",
    re.MULTILINE,
)
TIMEIT_TEXT = "<timing> per loop (mean \u00b1 std. dev. of <n> runs, <n> loops each)"


def mask_timings(text: str) -> str:
    """Replace IPython's timing reports by placeholders; drop its conditional timing lines.

    ``CPU times: user 4 µs, sys: 0 ns, total: 4 µs`` → ``CPU times: <timing>``;
    ``Wall time: 5.72 µs`` → ``Wall time: <timing>``; a ``%timeit`` line → ``<timing> per loop
    (mean ± std. dev. of <n> runs, <n> loops each)`` (IPython picks the loop count itself); the
    ``Compiler :``/``Parser   :`` lines and the "slowest run took" warning, printed only on slow
    runs, are removed.
    """
    if "time" not in text and "per loop" not in text and "Parser" not in text:
        return text
    text = _CPU_TIMES.sub("CPU times: <timing>", text)
    text = _WALL_TIME.sub("Wall time: <timing>", text)
    text = _COMPILE_TIME.sub("", text)
    text = _TIMEIT_SLOWEST.sub("", text)
    text = _TIMEIT.sub(TIMEIT_TEXT, text)
    return _TIMEIT_OLD.sub("<n> loops, best of <n>: <timing> per loop", text)


# --- Paths and execution counts in tracebacks and warnings.
_PATH_CHARS = r"""[^\s"'(),<>:]"""
_IPYKERNEL_FILE = re.compile(rf"(?:[A-Za-z]:)?{_PATH_CHARS}*ipykernel_\d+[/\\]\d+\.py")
_IPYTHON_INPUT = re.compile(r"<ipython-input-\d+-[0-9a-f]+>")
_CELL_IN = re.compile(r"\bCell In\[\d+\]")
_INPUT_IN = re.compile(r"\bInput In \[\d+\]")
_SITE_PACKAGES = re.compile(rf"(?:[A-Za-z]:)?{_PATH_CHARS}*[/\\](?:site|dist)-packages[/\\]")
_STDLIB = re.compile(rf"(?:[A-Za-z]:)?{_PATH_CHARS}*[/\\][Ll]ib[/\\]python\d(?:\.\d+)?[/\\]")
_FILE_PATH = re.compile(r"""(\bFile "?)((?:[A-Za-z]:)?[/\\~][^\s"':]*[/\\])(?=[^\s"'/\\:]+)""")
# A warning's location at the start of a line: `/home/ada/proj/util.py:3: UserWarning: ...`.
_WARNING_PATH = re.compile(
    r"^(?:[A-Za-z]:)?[/\\~][^\s\"':]*[/\\](?=[^\s\"'/\\:]+:\d+: \w*Warning\b)", re.MULTILINE
)


def mask_traceback_paths(text: str) -> str:
    """Make tracebacks and warnings independent of machine paths and execution counts.

    ``/tmp/ipykernel_1234/5678.py`` → ``<ipykernel-cell>.py``; ``.../site-packages/`` (and
    ``dist-packages``) → ``<site-packages>/``; ``.../lib/python3.11/`` → ``<stdlib>/``; any other
    absolute directory after ``File`` or before a warning's ``name.py:3: UserWarning:`` →
    ``<path>/`` (the file name and line stay);
    ``Cell In[3], line 2`` → ``Cell In[_], line 2``; ``Input In [3]`` → ``Input In [_]``;
    ``<ipython-input-3-5d2a...>`` → ``<ipython-input>``.
    """
    if "ipykernel_" in text:
        text = _IPYKERNEL_FILE.sub("<ipykernel-cell>.py", text)
    if "ipython-input-" in text:
        text = _IPYTHON_INPUT.sub("<ipython-input>", text)
    if "In" in text:
        text = _CELL_IN.sub("Cell In[_]", text)
        text = _INPUT_IN.sub("Input In [_]", text)
    if "-packages" in text:
        text = _SITE_PACKAGES.sub("<site-packages>/", text)
    if "python" in text:
        text = _STDLIB.sub("<stdlib>/", text)
    if "File" in text:
        text = _FILE_PATH.sub(r"\1<path>/", text)
    if "Warning" in text:
        text = _WARNING_PATH.sub("<path>/", text)
    return text


#: The built-in normalisers, in the order they are applied to every text.
NORMALIZERS: tuple[tuple[str, Callable[[str], str]], ...] = (
    ("ansi", strip_ansi),
    ("timings", mask_timings),
    ("traceback-paths", mask_traceback_paths),
    ("memory-addresses", mask_memory_addresses),
)


def normalize_text(text: str, options: CompareOptions) -> str:
    """Apply the built-in normalisers, then the user's sanitizers, to one text."""
    for _name, normalizer in NORMALIZERS:
        text = normalizer(text)
    for sanitizer in options.sanitizers:
        text = sanitizer.apply(text)
    return text


def is_json_mime(mime: str) -> bool:
    """True for mime types whose value is JSON data rather than a string."""
    return mime == "application/json" or mime.endswith("+json")


def _join(value: Any) -> Any:
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return "".join(value)
    return value


def _normalize_json(value: Any, options: CompareOptions) -> Any:
    if isinstance(value, str):
        return normalize_text(value, options)
    if isinstance(value, list):
        return [_normalize_json(item, options) for item in value]
    if isinstance(value, dict):
        return {key: _normalize_json(item, options) for key, item in value.items()}
    return value


def _structural(output: Any) -> Output | None:
    """A copy without noise: lists of lines joined, transient/metadata/execution count dropped."""
    if not isinstance(output, dict):
        return None
    kind = output.get("output_type")
    if kind == "stream":
        return {
            "output_type": "stream",
            "name": output.get("name", "stdout"),
            "text": _join(output.get("text", "")),
        }
    if kind in ("display_data", "execute_result"):
        data = output.get("data")
        clean: dict[str, Any] = {}
        if isinstance(data, dict):
            for mime, value in data.items():
                if is_json_mime(mime):
                    clean[mime] = copy.deepcopy(value)
                elif mime in BINARY_MIME_TYPES:
                    joined = _join(value)
                    clean[mime] = "".join(joined.split()) if isinstance(joined, str) else joined
                else:
                    clean[mime] = _join(value)
        return {"output_type": kind, "data": clean}
    if kind == "error":
        traceback = output.get("traceback") or []
        if not isinstance(traceback, list):
            traceback = [traceback]
        return {
            "output_type": "error",
            "ename": str(output.get("ename", "")),
            "evalue": str(output.get("evalue", "")),
            "traceback": [str(line) for line in traceback],
        }
    cleaned = copy.deepcopy(output)
    cleaned.pop("transient", None)
    cleaned.pop("metadata", None)
    return cleaned


def normalize_output(output: Output, options: CompareOptions) -> Output:
    """Normalise the texts of one (structurally cleaned) output; returns a new dict."""
    kind = output.get("output_type")
    if kind == "stream":
        text = render_carriage_returns(output["text"]) if isinstance(output["text"], str) else ""
        return {**output, "text": normalize_text(text, options)}
    if kind == "error":
        return {
            "output_type": "error",
            "ename": normalize_text(output["ename"], options),
            "evalue": normalize_text(output["evalue"], options),
            "traceback": [normalize_text(line, options) for line in output["traceback"]],
        }
    if kind in ("display_data", "execute_result"):
        data: dict[str, Any] = {}
        for mime, value in output["data"].items():
            if mime in BINARY_MIME_TYPES:
                data[mime] = value
            elif is_json_mime(mime):
                value = _normalize_json(value, options)
                if mime == WIDGET_MIME and isinstance(value, dict) and "model_id" in value:
                    value = {**value, "model_id": WIDGET_MODEL_ID}
                data[mime] = value
            elif isinstance(value, str):
                data[mime] = normalize_text(value, options)
            else:
                data[mime] = value
        return {"output_type": kind, "data": data}
    return output


def normalize_outputs(outputs: list[Output], options: CompareOptions) -> list[Output]:
    """Return normalised copies of a cell's outputs (the input list is not modified).

    In order: lists of lines joined; ``transient``, output ``metadata`` and ``execution_count``
    dropped; stderr streams dropped when ``options.ignore_stderr``; consecutive streams of the same
    name merged; carriage returns rendered; then on every text the built-in normalisers
    (:data:`NORMALIZERS`: ANSI escapes, IPython timings, traceback paths and execution counts,
    memory addresses), widget model ids, and the user's sanitizers; finally empty streams dropped.
    """
    merged: list[Output] = []
    for raw in outputs or []:
        output = _structural(raw)
        if output is None:
            continue
        if output["output_type"] == "stream":
            if options.ignore_stderr and output["name"] == "stderr":
                continue
            previous = merged[-1] if merged else None
            if (
                previous is not None
                and previous["output_type"] == "stream"
                and previous["name"] == output["name"]
                and isinstance(previous["text"], str)
                and isinstance(output["text"], str)
            ):
                previous["text"] += output["text"]
                continue
        merged.append(output)
    result = [normalize_output(output, options) for output in merged]
    return [o for o in result if not (o.get("output_type") == "stream" and not o.get("text"))]
