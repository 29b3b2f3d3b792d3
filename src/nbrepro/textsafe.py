"""Text that is safe to print: control and bidirectional characters made visible.

Names, paths, ids, parameter values and outputs come from notebooks and requests that anyone may
write. Printed raw, an ESC starts a terminal escape sequence (``\\x1b[31m`` colours the rest of
the line, ``\\x1b]0;...`` retitles the window), a carriage return overwrites what came before,
U+202E turns the rest of a line around (``\\u202eexe.txt`` shows as ``txt.exe``), U+2028 breaks a
line where a reader expects none, and a lone surrogate (a file name that is not UTF-8) makes
printing to a UTF-8 stream raise. Every text renderer passes what it did not write itself through
:func:`printable` (one line) or :func:`printable_lines` (a block whose newlines are structure);
the rule for names (:func:`unsafe_character`) refuses the same characters.

Standard library only (``nbrepro --help`` imports it through the run options).
"""

from __future__ import annotations

import re

#: C0 controls, DEL and C1 controls; bidi embeddings, overrides, isolates and marks (U+061C,
#: U+200E, U+200F, U+202A-U+202E, U+2066-U+2069); the line and paragraph separators U+2028 and
#: U+2029; lone surrogates (undecodable bytes of a file name, ``surrogateescape``).
_OTHERS = "\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff"
_UNSAFE = re.compile(f"[\x00-\x1f{_OTHERS}]")
#: The same but for tab (U+0009) and newline (U+000A), which a block of lines keeps.
_UNSAFE_IN_LINES = re.compile(f"[\x00-\x08\x0b-\x1f{_OTHERS}]")
#: The same but for tab alone (a line of a block keeps its indentation).
_UNSAFE_BUT_TAB = re.compile(f"[\x00-\x08\x0a-\x1f{_OTHERS}]")
_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    short = _SHORT.get(char)
    if short is not None:
        return short
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: object, *, tabs: bool = False) -> str:
    """``text`` (made a string) on one line with every unsafe character escaped: control
    characters as ``\\x1b`` (``\\n``, ``\\r``, ``\\t`` for those three), bidi controls, U+2028,
    U+2029 and lone surrogates as ``\\u202e``. ``tabs``: keep tabs (a line of a diff or of
    kernel output). Safe text comes back unchanged (backslashes included, so Windows paths stay
    readable)."""
    value = text if isinstance(text, str) else str(text)
    pattern = _UNSAFE_BUT_TAB if tabs else _UNSAFE
    return pattern.sub(_escape, value) if pattern.search(value) else value


def printable_lines(text: object) -> str:
    """Like :func:`printable` for a block of lines: newlines (``\\r\\n`` too) and tabs are kept,
    everything else unsafe is escaped on the line where it stands."""
    value = text if isinstance(text, str) else str(text)
    if not _UNSAFE_IN_LINES.search(value):
        return value
    return _UNSAFE_IN_LINES.sub(_escape, value.replace("\r\n", "\n"))


def unsafe_character(text: str) -> str | None:
    """The first character of ``text`` that :func:`printable` would escape, escaped (``None``
    when there is none): names use it to refuse what cannot be shown as it is."""
    match = _UNSAFE.search(text)
    return _escape(match) if match else None


def shown_path(path: object, limit: int = 240) -> str:
    """A path (or any name) for a one-line message: :func:`printable`, and when longer than
    ``limit`` characters, its start and end around ``...`` (a 5,000-character path names the
    file without filling the screen)."""
    text = printable(path if isinstance(path, str) else str(path))
    if len(text) <= limit:
        return text
    keep = max(limit - 3, 2) // 2
    return f"{text[:keep]}...{text[-keep:]}"
