"""What nbrepro's own processes (the command line, job workers) skip at start-up.

Importing nbformat (which nbclient needs) imports jsonschema, whose format checkers import the
optional ``rfc3987_syntax`` when it is installed: that builds lark grammars at import time,
~1.8 s here, before a verification can execute anything. nbrepro never asks jsonschema to check
``iri`` formats (its schemas have none, and it validates without format assertion), so its
own processes mark the module absent and jsonschema skips those two checkers. A library user's
process (``import nbrepro``, the pytest plugin) is left as it is.
"""

from __future__ import annotations

import sys

#: Optional modules nbrepro's processes never use but would import on the way to nbformat.
UNUSED_OPTIONAL_MODULES = ("rfc3987_syntax",)


def skip_unused_optional_imports() -> None:
    """Mark :data:`UNUSED_OPTIONAL_MODULES` as absent in this process (unless already
    imported), so that imports that try them move on at once."""
    for name in UNUSED_OPTIONAL_MODULES:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]
