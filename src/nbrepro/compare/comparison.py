"""Comparing a cell's expected outputs with its actual outputs, with readable diffs."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .normalize import BINARY_MIME_TYPES, is_json_mime, normalize_outputs
from .options import CompareOptions
from .tolerance import texts_close

__all__ = ["MAX_DIFF_LINES", "OutputComparison", "compare_outputs", "mime_richness"]

Output = dict[str, Any]

#: Longest diff shown for one difference; the rest is summarised in one line.
MAX_DIFF_LINES = 200

# Richest first: the summary names the richest differing mime type.
_RICHNESS = (
    "application/vnd.jupyter.widget-view+json",
    "application/json",
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "image/bmp",
    "image/svg+xml",
    "application/pdf",
    "text/html",
    "text/markdown",
    "text/latex",
    "application/javascript",
    "text/plain",
)


def mime_richness(mime: str) -> int:
    """Sort key: lower is richer. Unknown (vendor) mime types rank just after widgets."""
    try:
        index = _RICHNESS.index(mime)
    except ValueError:
        return 1
    return index * 2


@dataclass
class OutputComparison:
    """The result of comparing one cell's outputs.

    ``equal``: no difference after normalisation (and within tolerances). ``summary``: one line
    (``"text/plain differs (2 lines)"``, ``"image/png differs: 3.2% of pixels"``). ``diff``: a
    unified diff for texts, labelled ``expected``/``actual``, and summaries for images and HTML.
    ``details``: one line per difference (and notes, e.g. an image within tolerance).
    """

    equal: bool
    summary: str
    diff: str = ""
    details: list[str] = field(default_factory=list)


@dataclass
class _Difference:
    summary: str
    diff: str = ""


def _truncate(lines: list[str]) -> list[str]:
    if len(lines) <= MAX_DIFF_LINES:
        return lines
    return [*lines[:MAX_DIFF_LINES], f"... ({len(lines) - MAX_DIFF_LINES} more diff lines)"]


def _line_diff(
    expected: list[str], actual: list[str], label: str, options: CompareOptions
) -> tuple[int, str]:
    """(number of differing lines, unified diff). Lines equal within tolerance are not shown."""
    if options.numeric_tolerance:
        # Lines close within tolerance are shown as the expected line (they do not differ).
        matcher = difflib.SequenceMatcher(None, expected, actual, autojunk=False)
        shown = list(actual)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "replace":
                for k in range(min(i2 - i1, j2 - j1)):
                    if texts_close(expected[i1 + k], actual[j1 + k], options.rtol, options.atol):
                        shown[j1 + k] = expected[i1 + k]
        actual = shown
    diff = list(
        difflib.unified_diff(
            expected, actual, f"expected: {label}", f"actual: {label}", lineterm="", n=2
        )
    )
    removed = sum(1 for line in diff if line.startswith("-") and not line.startswith("---"))
    added = sum(1 for line in diff if line.startswith("+") and not line.startswith("+++"))
    return max(removed, added), "\n".join(_truncate(diff))


def _lines_equal(expected: list[str], actual: list[str], options: CompareOptions) -> bool:
    return len(expected) == len(actual) and all(
        texts_close(a, b, options.rtol, options.atol) for a, b in zip(expected, actual, strict=True)
    )


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _compare_text(
    expected: str, actual: str, what: str, label: str, options: CompareOptions
) -> _Difference | None:
    if texts_close(expected, actual, options.rtol, options.atol):
        return None
    exp_lines, act_lines = expected.splitlines(), actual.splitlines()
    if _lines_equal(exp_lines, act_lines, options):
        # Only line endings differ (e.g. a missing final newline): show them.
        exp_lines, act_lines = expected.splitlines(True), actual.splitlines(True)
        exp_lines = [repr(line) for line in exp_lines]
        act_lines = [repr(line) for line in act_lines]
    count, diff = _line_diff(exp_lines, act_lines, label, options)
    return _Difference(f"{what} differs ({_plural(max(count, 1), 'line')})", diff)


def html_text_lines(html: str) -> list[str]:
    """The visible text lines of an HTML output (the parser is imported on first use)."""
    from .html_text import html_text_lines as _html_text_lines

    return _html_text_lines(html)


def _compare_html(
    expected: str, actual: str, what: str, label: str, options: CompareOptions
) -> _Difference | None:
    if expected == actual:
        return None
    exp_lines, act_lines = html_text_lines(expected), html_text_lines(actual)
    if _lines_equal(exp_lines, act_lines, options):
        return None
    count, diff = _line_diff(exp_lines, act_lines, f"{label} (text content)", options)
    total = max(len(exp_lines), len(act_lines))
    summary = f"{what} differs: text content differs in {count} of {_plural(total, 'line')}"
    return _Difference(summary, diff)


def _percent(fraction: float) -> str:
    pct = fraction * 100
    return f"{pct:.1f}%" if pct >= 0.1 or pct == 0 else f"{pct:.2g}%"


def _compare_image(
    expected: Any, actual: Any, what: str, mime: str, options: CompareOptions, notes: list[str]
) -> _Difference | None:
    if expected == actual:
        return None
    if mime != "image/png" or not isinstance(expected, str) or not isinstance(actual, str):
        return _Difference(f"{what} differs (bytes differ)", f"{what}: image data differs")
    import base64
    import binascii

    from .png import PngUnsupported, decode_png, pixel_difference

    try:
        left = decode_png(base64.b64decode(expected))
        right = decode_png(base64.b64decode(actual))
    except (PngUnsupported, binascii.Error, ValueError) as exc:
        summary = f"{what} differs (bytes differ; pixels not compared: {exc})"
        return _Difference(summary, f"{what}: image data differs ({exc}; compared exactly)")
    if (left.width, left.height) != (right.width, right.height):
        summary = (
            f"{what} differs: size {left.width}x{left.height} (expected) vs "
            f"{right.width}x{right.height} (actual)"
        )
        return _Difference(summary, summary)
    total = left.width * left.height
    differing = pixel_difference(left, right)
    if differing == 0:
        notes.append(f"{what}: pixels identical (PNG encoding differs)")
        return None
    fraction = differing / total if total else 0.0
    pixels = f"{_percent(fraction)} of pixels ({differing} of {total})"
    if fraction <= options.image_tolerance:
        notes.append(
            f"{what}: {pixels} differ, within tolerance {_percent(options.image_tolerance)}"
        )
        return None
    summary = f"{what} differs: {_percent(fraction)} of pixels"
    size = f"{left.width}x{left.height}"
    diff = f"{what} ({size}): {pixels} differ; tolerance {_percent(options.image_tolerance)}"
    return _Difference(summary, diff)


def _json_text(value: Any) -> str:
    import json

    return json.dumps(value, sort_keys=True, indent=1, ensure_ascii=False, default=str)


def _compare_mime(
    mime: str, expected: Any, actual: Any, prefix: str, options: CompareOptions, notes: list[str]
) -> _Difference | None:
    what = f"{prefix}{mime}"
    if (mime.startswith("image/") and mime != "image/svg+xml") or mime in BINARY_MIME_TYPES:
        return _compare_image(expected, actual, what, mime, options, notes)
    if is_json_mime(mime) or not isinstance(expected, str) or not isinstance(actual, str):
        if expected == actual:
            return None
        return _compare_text(_json_text(expected), _json_text(actual), what, what, options)
    if mime == "text/html":
        return _compare_html(expected, actual, what, what, options)
    return _compare_text(expected, actual, what, what, options)


def _describe(output: Output) -> str:
    kind = output.get("output_type")
    if kind == "stream":
        return f"stream {output.get('name')}"
    if kind == "error":
        return f"error {output.get('ename')}"
    if kind in ("display_data", "execute_result"):
        mimes = sorted(output.get("data", {}), key=mime_richness)
        return f"{kind} ({', '.join(mimes) or 'no data'})"
    return str(kind)


def _render_mime(mime: str, value: Any) -> list[str]:
    """Lines that show one mime value in a diff."""
    if (mime.startswith("image/") and mime != "image/svg+xml") or mime in BINARY_MIME_TYPES:
        size = len(value) * 3 // 4 if isinstance(value, str) else 0
        return [f"[{mime}, about {size} bytes]"]
    if mime == "text/html" and isinstance(value, str):
        return html_text_lines(value)
    if isinstance(value, str):
        return value.splitlines()
    return _json_text(value).splitlines()


def _render(output: Output) -> list[str]:
    """Lines that show an output in a diff (a missing or an extra output)."""
    kind = output.get("output_type")
    if kind == "stream":
        return str(output.get("text", "")).splitlines()
    if kind == "error":
        return [f"{output.get('ename')}: {output.get('evalue')}"]
    data = output.get("data", {})
    if isinstance(data, dict) and data:
        mime = "text/plain" if "text/plain" in data else min(data, key=mime_richness)
        return _render_mime(mime, data[mime])
    return [_describe(output)]


def _plain_diff(expected: list[str], actual: list[str], from_label: str, to_label: str) -> str:
    """A unified diff of a whole missing or extra part (every line shown)."""
    diff = difflib.unified_diff(
        expected, actual, f"expected: {from_label}", f"actual: {to_label}", lineterm="", n=0
    )
    return "\n".join(_truncate(list(diff)))


def _compare_pair(
    expected: Output, actual: Output, prefix: str, options: CompareOptions, notes: list[str]
) -> list[_Difference]:
    kind = expected.get("output_type")
    if _key(expected) != _key(actual):
        summary = f"{prefix}expected {_describe(expected)}, got {_describe(actual)}"
        _count, diff = _line_diff(
            _render(expected), _render(actual), prefix.rstrip(": ") or "output", options
        )
        return [_Difference(summary, diff)]
    if kind == "stream":
        what = f"{prefix}{expected['name']}"
        found = _compare_text(expected["text"], actual["text"], what, what, options)
        return [found] if found else []
    if kind == "error":
        return _compare_errors(expected, actual, prefix, options)
    if kind in ("display_data", "execute_result"):
        return _compare_data(expected["data"], actual["data"], prefix, options, notes)
    if expected == actual:
        return []
    what = f"{prefix}{kind} output"
    found = _compare_text(_json_text(expected), _json_text(actual), what, what, options)
    return [found] if found else []


def _compare_errors(
    expected: Output, actual: Output, prefix: str, options: CompareOptions
) -> list[_Difference]:
    exp_head = f"{expected['ename']}: {expected['evalue']}"
    act_head = f"{actual['ename']}: {actual['evalue']}"
    if expected["ename"] != actual["ename"] or not texts_close(
        expected["evalue"], actual["evalue"], options.rtol, options.atol
    ):
        label = f"{prefix}error"
        _count, diff = _line_diff([exp_head], [act_head], label, options)
        return [_Difference(f"{prefix}error differs: expected {exp_head}, got {act_head}", diff)]
    exp_tb = "\n".join(expected["traceback"]).splitlines()
    act_tb = "\n".join(actual["traceback"]).splitlines()
    if _lines_equal(exp_tb, act_tb, options):
        return []
    what = f"{prefix}error traceback"
    count, diff = _line_diff(exp_tb, act_tb, what, options)
    return [_Difference(f"{what} differs ({_plural(max(count, 1), 'line')})", diff)]


def _compare_data(
    expected: dict[str, Any],
    actual: dict[str, Any],
    prefix: str,
    options: CompareOptions,
    notes: list[str],
) -> list[_Difference]:
    found: list[_Difference] = []
    for mime in sorted(set(expected) | set(actual), key=lambda m: (mime_richness(m), m)):
        what = f"{prefix}{mime}"
        if mime not in actual:
            diff = _plain_diff(_render_mime(mime, expected[mime]), [], what, "(missing)")
            found.append(_Difference(f"{what} missing", diff))
        elif mime not in expected:
            diff = _plain_diff([], _render_mime(mime, actual[mime]), "(not expected)", what)
            found.append(_Difference(f"{what} not expected", diff))
        else:
            difference = _compare_mime(mime, expected[mime], actual[mime], prefix, options, notes)
            if difference:
                found.append(difference)
    return found


def _key(output: Output) -> tuple[str, ...]:
    kind = str(output.get("output_type"))
    if kind == "stream":
        return (kind, str(output.get("name")))
    if kind in ("display_data", "execute_result"):
        return ("data",)
    return (kind,)


def compare_outputs(
    expected: list[Output], actual: list[Output], options: CompareOptions | None = None
) -> OutputComparison:
    """Compare a cell's expected (stored) outputs with its actual (fresh) outputs.

    Both lists are normalised first (:func:`~nbrepro.compare.normalize_outputs`). Outputs are
    aligned by kind (a missing or an extra output is one difference, not a shift of all the
    others). Streams and texts compare with ``rtol``/``atol`` for numbers; HTML by its text
    content; PNG images pixel by pixel with ``image_tolerance``; JSON mime types as canonical JSON;
    errors by name and value, then by traceback after normalisation. ``execute_result`` and
    ``display_data`` look the same to a reader and compare alike. Every mime type of a rich output
    is compared; a missing one is a difference; the summary names the richest one.
    """
    options = options or CompareOptions()
    result = _compare_normalized(
        normalize_outputs(expected, options), normalize_outputs(actual, options), options
    )
    if result.equal or not options.drift_tolerant:
        return result
    return _tolerate_drift(expected, actual, options) or result


def _map_texts(outputs: list[Output], rewrite: Callable[[str], str]) -> list[Output]:
    """Normalised outputs with ``rewrite`` applied to every text (never to binary data)."""

    def json_value(value: Any) -> Any:
        if isinstance(value, str):
            return rewrite(value)
        if isinstance(value, list):
            return [json_value(item) for item in value]
        if isinstance(value, dict):
            return {key: json_value(item) for key, item in value.items()}
        return value

    mapped = []
    for output in outputs:
        kind = output.get("output_type")
        if kind == "stream":
            mapped.append({**output, "text": rewrite(output["text"])})
        elif kind == "error":
            mapped.append(
                {
                    **output,
                    "evalue": rewrite(output["evalue"]),
                    "traceback": [rewrite(line) for line in output["traceback"]],
                }
            )
        elif kind in ("display_data", "execute_result"):
            data = {
                mime: value
                if mime in BINARY_MIME_TYPES
                or (mime.startswith("image/") and mime != "image/svg+xml")
                else json_value(value)
                for mime, value in output["data"].items()
            }
            mapped.append({**output, "data": data})
        else:
            mapped.append(output)
    return mapped


def _tolerate_drift(
    expected: list[Output], actual: list[Output], options: CompareOptions
) -> OutputComparison | None:
    """The comparison with recognised library drift rewritten on both sides, when that makes
    the outputs equal (``None``: it does not)."""
    from .drift import RECOGNIZERS, canonical_drift_text

    exp, act = normalize_outputs(expected, options), normalize_outputs(actual, options)
    texts: list[str] = []

    def collect(text: str) -> str:
        texts.append(text)
        return text

    _map_texts(exp + act, collect)
    found = [r for r in RECOGNIZERS if r.applies(*texts)]
    if not found:
        return None
    result = _compare_normalized(
        _map_texts(exp, lambda t: canonical_drift_text(t, found)),
        _map_texts(act, lambda t: canonical_drift_text(t, found)),
        options,
    )
    if not result.equal:
        return None
    used = [r for r in found if any(r.canon(text) != text for text in texts)] or found
    names = "; ".join(f"{r.id} ({r.change})" for r in used)
    note = f"library drift tolerated: {names}"
    return OutputComparison(
        True, "outputs match, tolerating library drift", "", [note, *result.details]
    )


def _compare_normalized(
    exp: list[Output], act: list[Output], options: CompareOptions
) -> OutputComparison:
    """Compare two lists of normalised outputs (see :func:`compare_outputs`)."""
    many = len(exp) > 1 or len(act) > 1
    differences: list[_Difference] = []
    notes: list[str] = []

    def prefix(i: int) -> str:
        return f"output {i}: " if many else ""

    matcher = difflib.SequenceMatcher(
        None, [_key(o) for o in exp], [_key(o) for o in act], autojunk=False
    )
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        paired = min(i2 - i1, j2 - j1) if tag in ("equal", "replace") else 0
        for k in range(paired):
            differences += _compare_pair(exp[i1 + k], act[j1 + k], prefix(i1 + k), options, notes)
        for i in range(i1 + paired, i2):
            label = f"output {i} ({_describe(exp[i])})"
            diff = _plain_diff(_render(exp[i]), [], label, "(missing)")
            differences.append(_Difference(f"missing output {i} ({_describe(exp[i])})", diff))
        for j in range(j1 + paired, j2):
            label = f"output {j} ({_describe(act[j])})"
            diff = _plain_diff([], _render(act[j]), "(not expected)", label)
            differences.append(_Difference(f"extra output {j} ({_describe(act[j])})", diff))

    if not differences:
        return OutputComparison(True, "outputs match", "", notes)
    summary = differences[0].summary
    if len(differences) > 1:
        summary += f" (+{_plural(len(differences) - 1, 'more difference')})"
    diff = "\n".join(d.diff for d in differences if d.diff)
    return OutputComparison(False, summary, diff, [d.summary for d in differences] + notes)
