"""Headless verification: re-execute notebooks top to bottom in fresh kernels and compare.

The package is the one place the answer "does it reproduce, and why not" is decided:

* :mod:`.options` — the options, declared once for every face;
* :mod:`.prepare` — reading and checking the notebooks (kernel, parameters, baseline);
* :mod:`.judge` — pairing cells with the baseline and one status per cell;
* :mod:`.verdict` — statuses to verdicts (verification, runs, jobs, the server's status);
* :mod:`.pipeline` — N runs, events, diagnosis, scrubbing;
* :mod:`.events` — the progress event schema, writer and reader;
* :mod:`.model` — the options object and the reports.

Names are imported lazily so that ``import nbrepro.verify.verdict`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "VerifyOptions": ".model",
    "CellReport": ".model",
    "NotebookReport": ".model",
    "VerifyReport": ".model",
    "REPORT_SCHEMA_VERSION": ".model",
    "REPRODUCED": ".verdict",
    "NOT_REPRODUCED": ".verdict",
    "COULD_NOT_RUN": ".verdict",
    "CELL_REPORT_STATUSES": ".verdict",
    "FAILING_CELL_STATUSES": ".verdict",
    "PreparedNotebook": ".prepare",
    "prepare_notebook": ".prepare",
    "collect_notebooks": ".prepare",
    "ensure_folder": ".prepare",
    "output_target": ".prepare",
    "align_cells": ".judge",
    "execute_prepared": ".pipeline",
    "verify_notebook": ".pipeline",
    "verify_paths": ".pipeline",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
