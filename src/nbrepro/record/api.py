"""Reading the provenance out of a live kernel.

The server calls :func:`provenance_json` through a *silent* execute request's
``user_expressions`` (no execution count, no history entry)::

    {"nbrepro": "__import__('nbrepro.record.api', fromlist=['_']).provenance_json()"}

The reply's ``user_expressions.nbrepro.data["text/plain"]`` is the ``repr`` of the returned
string: decode it with :func:`ast.literal_eval`, then :func:`json.loads`.
"""

from __future__ import annotations

import json
from typing import Any

from .extension import get_recorder


def provenance() -> dict[str, Any]:
    """The provenance this kernel recorded (``metadata.nbrepro`` schema); ``{}`` if never loaded.

    After ``%unload_ext nbrepro`` the provenance recorded until then is still returned.
    """
    recorder = get_recorder()
    return recorder.provenance() if recorder is not None else {}


def provenance_json() -> str:
    """:func:`provenance` as compact JSON text with sorted keys."""
    return json.dumps(provenance(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def files() -> dict[str, Any]:
    """What the recorder saw of files, without the environment (cheap: a run's kernel is asked
    for it after its last cell): ``recording`` (whether the recorder is loaded), ``inputs``
    (path → hash, size, kind, produced, as in provenance) and ``executions`` (in order: each
    one's ``source_hash``, ``status``, ``inputs`` read and ``outputs`` written)."""
    recorder = get_recorder()
    if recorder is None:
        return {"recording": False, "inputs": {}, "executions": []}
    inputs = dict(recorder.inputs)
    inputs.update(recorder._directory_entries())
    executions = [
        {key: entry.get(key) for key in ("source_hash", "status", "inputs", "outputs")}
        for entry in recorder.executions
    ]
    return {"recording": True, "inputs": inputs, "executions": executions}


def files_json() -> str:
    """:func:`files` as compact JSON text with sorted keys."""
    return json.dumps(files(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
