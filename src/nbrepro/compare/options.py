"""Comparison options and user sanitizers (nbval's ``regex:``/``replace:`` file format)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError

__all__ = ["CompareOptions", "Sanitizer", "load_sanitizers", "parse_sanitizers"]


@dataclass(frozen=True)
class Sanitizer:
    """One user replacement: every match of ``regex`` in an output's text becomes ``replace``.

    ``replace`` is a :func:`re.sub` template (``\\1`` and ``\\g<name>`` refer to groups), exactly
    as nbval applies it. ``section`` and ``line`` say where the pair came from, for messages.
    """

    regex: re.Pattern[str]
    replace: str
    section: str = ""
    line: int = 0

    def apply(self, text: str) -> str:
        """Return ``text`` with every match replaced."""
        return self.regex.sub(self.replace, text)


@dataclass(frozen=True)
class CompareOptions:
    """How outputs are normalised and compared.

    ``rtol``/``atol``: tolerance for numbers found in text outputs (stream, ``text/plain``, the
    text of HTML, JSON), ``|actual - expected| <= atol + rtol * |expected|``; both 0 means the text
    must match exactly. ``image_tolerance``: the allowed fraction (0..1) of differing pixels of
    PNG images; 0 means every pixel identical. ``ignore_stderr`` drops stderr streams before
    comparing. ``sanitizers`` are applied to all text after the built-in normalisers.
    ``nbval_compat``: compare as nbval does (:mod:`nbrepro.compare.nbval`; also chosen per
    notebook when it uses nbval's markers). ``drift_tolerant``: texts that differ only by a
    recognised library drift (:mod:`nbrepro.compare.drift`) are equal, with a note saying so.
    """

    rtol: float = 0.0
    atol: float = 0.0
    image_tolerance: float = 0.0
    ignore_stderr: bool = False
    sanitizers: tuple[Sanitizer, ...] = field(default=())
    nbval_compat: bool = False
    drift_tolerant: bool = False

    def __post_init__(self) -> None:
        for name in ("rtol", "atol"):
            value = getattr(self, name)
            if not value >= 0:  # also rejects nan
                raise InputError(f"--{name} must be a number >= 0, not {value!r}")
        if not 0 <= self.image_tolerance <= 1:
            raise InputError(
                f"image tolerance must be a fraction of pixels between 0 and 1, "
                f"not {self.image_tolerance!r}"
            )

    @property
    def numeric_tolerance(self) -> bool:
        """True when numbers in text are compared by value with a tolerance."""
        return self.rtol > 0 or self.atol > 0


_SECTION = re.compile(r"^\s*\[([^\]]*)\]\s*$")


def parse_sanitizers(text: str, name: str = "<sanitize file>") -> tuple[Sanitizer, ...]:
    """Parse the text of a sanitize file; see :func:`load_sanitizers`."""
    pairs: dict[str, Sanitizer] = {}
    section = ""
    pending: tuple[str, int] | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip("\r")
        if pending is not None:
            pattern, regex_line = pending
            pending = None
            if not line.startswith("replace:"):
                raise InputError(
                    f"{name}:{regex_line}: `regex:` must be followed by a `replace:` line"
                )
            replace = line[len("replace:") :]
            if replace.startswith(" "):
                replace = replace[1:]
            sanitizer = _compile(pattern, replace, section, regex_line, name)
            # nbval keeps one replacement per regex: its first place, its last replacement.
            pairs[pattern] = sanitizer
            continue
        if line.startswith("regex:"):
            pattern = line[len("regex:") :]
            if pattern.startswith(" "):
                pattern = pattern[1:]
            if not pattern:
                raise InputError(f"{name}:{number}: empty regex")
            pending = (pattern, number)
            continue
        if line.startswith("replace:"):
            raise InputError(f"{name}:{number}: `replace:` without a `regex:` line before it")
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", ";")):
            continue
        match = _SECTION.match(line)
        if match:
            section = match.group(1).strip()
            continue
        raise InputError(
            f"{name}:{number}: expected `[section]`, `regex: PATTERN` or `replace: TEXT`, "
            f"got {stripped[:40]!r}"
        )
    if pending is not None:
        raise InputError(f"{name}:{pending[1]}: `regex:` must be followed by a `replace:` line")
    if not pairs:
        raise InputError(f"{name}: no `regex:`/`replace:` pairs found")
    return tuple(pairs.values())


def _compile(pattern: str, replace: str, section: str, line: int, name: str) -> Sanitizer:
    try:
        regex = re.compile(pattern)
    except re.error as exc:
        raise InputError(f"{name}:{line}: invalid regex {pattern!r}: {exc}") from None
    # Check the replacement template against the regex's groups now, not at the first match.
    names = {index: group for group, index in regex.groupindex.items()}
    probe = "".join(f"(?P<{names[i]}>)" if i in names else "()" for i in range(1, regex.groups + 1))
    try:
        re.compile(probe).sub(replace, "")
    except (re.error, IndexError) as exc:
        raise InputError(f"{name}:{line + 1}: invalid replacement {replace!r}: {exc}") from None
    return Sanitizer(regex=regex, replace=replace, section=section, line=line)


def load_sanitizers(path: str | os.PathLike[str]) -> tuple[Sanitizer, ...]:
    """Read a sanitize file in nbval's format.

    The file holds ``regex: PATTERN`` lines each directly followed by a ``replace: TEXT`` line,
    optionally grouped under ``[section]`` headers; blank lines and ``#``/``;`` comments are
    allowed. Pairs apply in file order; a regex given twice keeps its first place and its last
    replacement (as nbval does). Raises :class:`~nbrepro.errors.InputError` (one line, naming the
    file and line) for an unreadable file, a malformed line, an invalid regex or replacement.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{p}: no such sanitize file") from None
    except IsADirectoryError:
        raise InputError(f"{p}: is a directory, not a sanitize file") from None
    except UnicodeDecodeError:
        raise InputError(f"{p}: sanitize file is not UTF-8 text") from None
    except OSError as exc:
        raise InputError(f"{p}: cannot read sanitize file: {exc.strerror or exc}") from None
    return parse_sanitizers(text, str(p))
