"""nbval's comparison rules, for ``--nbval-compat`` (and notebooks that use nbval's markers).

nbval (``nbval/plugin.py``) compares a cell's outputs like this, and so does
:func:`compare_nbval`:

* streams of the same name are merged into one (wherever they are in the cell: stdout and
  stderr may interleave differently), then ``\\b`` erases the character before it and text
  up to a ``\\r`` not followed by a newline is dropped;
* outputs are flattened into one list of values per key: ``stdout``, ``stderr``, each mime type
  of ``data``, ``ename``, ``evalue``; ``metadata``, ``traceback``, ``execution_count`` and the
  output type (``execute_result`` vs ``display_data``) are not compared, nor are
  ``image/png``, ``image/jpeg`` and the widget view mime type; ``text/latex`` is;
* a key missing on either side is a difference; so is another number of values for a key;
  values compare exactly, after the user's sanitizers — nbval applies no built-in
  normalisation, and neither does this;
* stderr is compared unless stderr is ignored (nbval's ``skip_compare += ('stderr',)``).

With ``--nbval-compat`` the comparison is exactly nbval's; for a notebook that only uses nbval's
markers, nbrepro's built-in normalisers also run (``normalize=True``: addresses, timings, ANSI
and traceback paths are masked), so a notebook that relied on them keeps its verdict.

A stored cell that never ran (no execution count) is not compared; if it has outputs, nbval
fails it (``Unrun reference cell has outputs``): :func:`unrun_problem`. A cell that raises
fails unless it is marked to raise, even when its stored outputs show the same error (the
judge applies this, :mod:`nbrepro.verify.judge`).
"""

from __future__ import annotations

import re
from typing import Any

from .comparison import OutputComparison
from .normalize import BINARY_MIME_TYPES, normalize_text
from .options import CompareOptions

__all__ = ["NBVAL_SKIPPED_KEYS", "compare_nbval", "unrun_problem", "uses_nbval_markers"]

Output = dict[str, Any]

#: Output keys and mime types nbval does not compare (without ``--nbdime``).
NBVAL_SKIPPED_KEYS = frozenset(
    {
        "metadata",
        "traceback",
        "prompt_number",
        "output_type",
        "name",
        "execution_count",
        "application/vnd.jupyter.widget-view+json",
        "image/png",
        "image/jpeg",
        "transient",
    }
)
_CARRIAGE_RETURN = re.compile(r"^.*\r(?=[^\n])", re.MULTILINE)
_BACKSPACE = re.compile(r"[^\n]\x08")
_MARKERS = ("NBVAL_", "PYTEST_VALIDATE_IGNORE_OUTPUT")
_TAGS = ("nbval-",)


def _text(value: Any) -> Any:
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return "".join(value)
    return value


def _coalesce(outputs: list[Output]) -> list[Output]:
    """nbval's ``coalesce_streams``: one stream per name, at its first place."""
    merged: list[Output] = []
    streams: dict[str, Output] = {}
    for raw in outputs or []:
        if not isinstance(raw, dict):
            continue
        output = dict(raw)
        if output.get("output_type") == "stream":
            name = str(output.get("name", "stdout"))
            text = _text(output.get("text", ""))
            if name in streams:
                streams[name]["text"] += text
                continue
            output["text"] = text
            streams[name] = output
        merged.append(output)
    for stream in streams.values():
        text = stream["text"]
        old = None
        while old is None or len(text) < len(old):
            old, text = text, _BACKSPACE.sub("", text)
        stream["text"] = _CARRIAGE_RETURN.sub("", text)
    return merged


def _flatten(
    outputs: list[Output], options: CompareOptions, normalize: bool
) -> dict[str, list[Any]]:
    skipped = set(NBVAL_SKIPPED_KEYS)
    if options.ignore_stderr:
        skipped.add("stderr")
    flat: dict[str, list[Any]] = {}
    for output in _coalesce(outputs):
        if output.get("output_type") == "stream":
            output = {"output_type": "stream", str(output.get("name")): output["text"]}
        for key, value in output.items():
            if key in skipped:
                continue
            if key == "data" and isinstance(value, dict):
                for mime, item in value.items():
                    if mime not in skipped:
                        value_of = _text(item)
                        if mime not in BINARY_MIME_TYPES:
                            value_of = _sanitize(value_of, options, normalize)
                        flat.setdefault(mime, []).append(value_of)
            else:
                flat.setdefault(key, []).append(_sanitize(_text(value), options, normalize))
    return flat


def _sanitize(value: Any, options: CompareOptions, normalize: bool) -> Any:
    if not isinstance(value, str):
        return value
    if normalize:
        return normalize_text(value, options)
    for sanitizer in options.sanitizers:
        value = sanitizer.apply(value)
    return value


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    text = text.replace("\n", "\\n")
    return text if len(text) <= 120 else text[:117] + "..."


def compare_nbval(
    expected: list[Output],
    actual: list[Output],
    options: CompareOptions | None = None,
    *,
    normalize: bool = False,
) -> OutputComparison:
    """Compare a cell's stored and fresh outputs as nbval does (see the module).

    ``normalize``: also apply nbrepro's built-in normalisers (:data:`~.normalize.NORMALIZERS`)
    to every text before the sanitizers — the rules chosen automatically for a notebook that
    uses nbval's markers, where they only make more outputs equal; ``--nbval-compat`` compares
    without them, exactly as nbval does.
    """
    options = options or CompareOptions()
    ref, test = _flatten(expected, options, normalize), _flatten(actual, options, normalize)
    missing, extra = set(ref) - set(test), set(test) - set(ref)
    if missing:
        summary = f"missing output fields (nbval): {', '.join(sorted(missing))}"
        diff = "\n".join(f"-{key}: {_short(v)}" for key in sorted(missing) for v in ref[key])
        return OutputComparison(False, summary, diff, [summary])
    if extra:
        summary = f"unexpected output fields (nbval): {', '.join(sorted(extra))}"
        diff = "\n".join(f"+{key}: {_short(v)}" for key in sorted(extra) for v in test[key])
        return OutputComparison(False, summary, diff, [summary])
    for key, ref_values in ref.items():
        test_values = test[key]
        if len(ref_values) != len(test_values):
            summary = (
                f"dissimilar number of outputs for {key} (nbval): "
                f"{len(ref_values)} expected, {len(test_values)} actual"
            )
            return OutputComparison(False, summary, summary, [summary])
        for ref_value, test_value in zip(ref_values, test_values, strict=True):
            if ref_value != test_value:
                summary = f"{key} differs (nbval)"
                lines = [f"--- expected: {key}", f"+++ actual: {key}"]
                lines += [f"-{line}" for line in str(ref_value).splitlines()]
                lines += [f"+{line}" for line in str(test_value).splitlines()]
                return OutputComparison(False, summary, "\n".join(lines), [summary])
    return OutputComparison(True, "outputs match (nbval rules)")


def unrun_problem(stored_cell: dict[str, Any]) -> str | None:
    """nbval's rule for a stored cell that never ran: ``None`` when it ran (compare it);
    ``""`` when it never ran and has no outputs (not compared); a one-line failure when it
    never ran yet has outputs."""
    if stored_cell.get("execution_count") is not None:
        return None
    if stored_cell.get("outputs"):
        return "unrun reference cell has outputs (nbval)"
    return ""


def uses_nbval_markers(nb: dict[str, Any]) -> bool:
    """Whether any code cell of ``nb`` carries an nbval comment marker or ``nbval-*`` tag."""
    for cell in nb.get("cells", []):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(source)
        if isinstance(source, str):
            for line in source.splitlines():
                stripped = line.strip()
                if stripped.startswith("#") and stripped.lstrip("#").strip().startswith(_MARKERS):
                    return True
        metadata = cell.get("metadata")
        tags = metadata.get("tags") if isinstance(metadata, dict) else None
        if isinstance(tags, list) and any(
            isinstance(tag, str) and tag.startswith(_TAGS) for tag in tags
        ):
            return True
    return False
