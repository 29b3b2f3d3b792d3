"""Output normalisation and comparison for ``nbrepro verify``.

Public API: :class:`CompareOptions`, :class:`Sanitizer`, :func:`load_sanitizers`,
:class:`CellPolicy`, :func:`cell_policy`, :func:`normalize_outputs`, :class:`OutputComparison`,
:func:`compare_outputs`. Pure Python, standard library only. See ``docs/compare.md``.
"""

from __future__ import annotations

from .comparison import OutputComparison, compare_outputs
from .normalize import normalize_outputs
from .options import CompareOptions, Sanitizer, load_sanitizers, parse_sanitizers
from .policy import CellPolicy, cell_policy

__all__ = [
    "CellPolicy",
    "CompareOptions",
    "OutputComparison",
    "Sanitizer",
    "cell_policy",
    "compare_outputs",
    "load_sanitizers",
    "normalize_outputs",
    "parse_sanitizers",
]
