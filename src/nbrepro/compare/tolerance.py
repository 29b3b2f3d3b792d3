"""Numbers in text compared with a tolerance; all other text must match exactly."""

from __future__ import annotations

import math
import re

__all__ = ["NUMBER", "numbers_close", "split_numbers", "texts_close"]

#: A number in text: optional sign, digits with optional fraction and exponent, or nan/inf.
#: Not part of a word or dotted version (``x1``, ``1.2.3``, ``v2`` stay text).
NUMBER = re.compile(
    r"(?<![\w.])("
    r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?(?![\d.]*\d)"
    r"|[-+]?(?:nan|NaN|NAN|inf|Inf|INF|infinity|Infinity)(?!\w)"
    r")"
)


_SPACES = re.compile(r"[ \t]+")


def _padding_free(text: str) -> str:
    """Text between numbers without its column padding: runs of spaces and tabs become one
    space, and none is kept next to a number (reprs re-pad columns when a number's width
    changes)."""
    return _SPACES.sub(" ", text).strip(" \t")


def split_numbers(text: str) -> list[str]:
    """Split text into alternating parts: text, number, text, number, ..., text."""
    return NUMBER.split(text)


def numbers_close(expected: str, actual: str, rtol: float, atol: float) -> bool:
    """True when ``|actual - expected| <= atol + rtol * |expected|`` (nan equals nan)."""
    x, y = float(expected), float(actual)
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    if math.isinf(x) or math.isinf(y):
        return x == y
    return abs(y - x) <= atol + rtol * abs(x)


def texts_close(expected: str, actual: str, rtol: float = 0.0, atol: float = 0.0) -> bool:
    """Compare two texts: identical, or (with a tolerance) numbers close and the rest identical
    but for its column padding (spaces and tabs; see :func:`_padding_free`).

    With ``rtol == atol == 0`` the texts must be identical (``1.0`` differs from ``1.00``).
    """
    if expected == actual:
        return True
    if rtol <= 0 and atol <= 0:
        return False
    left, right = split_numbers(expected), split_numbers(actual)
    if len(left) != len(right):
        return False
    for index, (a, b) in enumerate(zip(left, right, strict=True)):
        if index % 2 == 0:
            if a != b and _padding_free(a) != _padding_free(b):
                return False
        elif a != b and not numbers_close(a, b, rtol, atol):
            return False
    return True
