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
