"""Static analysis of a saved notebook: execution order, dataflow, recorded provenance.

The library behind ``nbrepro check``, the server extension's status and the side panel::

    from nbrepro.analysis import analyze, suggest_order, RULES
    findings = analyze(nb)                 # nb: a notebook dict (nbrepro.notebook_io)
    suggestion = suggest_order(nb)         # .order, .reason, .moves

It imports nothing of jupyter_server, tornado, nbformat or IPython (the check must start fast).
"""

from __future__ import annotations

from .analyze import analyze
from .dataflow import clear_cache
from .findings import RULES, SEVERITIES, Finding, Rule, select_rules
from .order import Move, OrderSuggestion, suggest_order

__all__ = [
    "RULES",
    "SEVERITIES",
    "Finding",
    "Move",
    "OrderSuggestion",
    "Rule",
    "analyze",
    "clear_cache",
    "select_rules",
    "suggest_order",
]
