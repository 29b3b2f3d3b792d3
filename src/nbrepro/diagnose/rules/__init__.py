"""The cause rules, one function per cause, registered in priority order (see :mod:`..registry`).

Each rule reads the facts of one failing cell (:class:`~nbrepro.diagnose.cell_facts.FailingCell`)
and yields its claims (a :class:`~nbrepro.diagnose.causes.Cause` with evidence and, when there is
an obvious one, a one-line remedy) and the checks it made (``str``). The modules are imported
here in priority order, and each declares its rules in order, so :data:`~..registry.RULES` reads:

1. what the run shows: ``kernel-died``, ``timeout``; what the error names: ``missing-module``,
   ``missing-file``, ``upstream-failed`` (:mod:`.outcome`);
1b. library releases: ``api-removed`` (the error names a removed symbol), ``library-drift``
   (:mod:`.library`); the difference itself: ``timing``, ``ordering``, and the stored counts:
   ``rerun-accumulation`` (:mod:`.outputs`);
2. recorded provenance: ``code-edited``, ``input-changed``, ``environment-changed``
   (:mod:`.recorded`);
3. where the names came from: ``execution-order``, ``hidden-state`` (:mod:`.order`);
4. variation: ``nondeterminism``, ``external-resource`` (:mod:`.variation`);
5. fallback, when nothing above claimed a cause: ``environment-changed`` with weak evidence
   (:func:`.recorded.environment_drift`). ``unknown`` is what is left.

``docs/diagnosis.md`` documents every cause.
"""

from __future__ import annotations

# Importing a module registers its rules: the imports are in priority order, not sorted.
# isort: off
from . import outcome
from . import library
from . import outputs
from . import recorded
from . import order
from . import variation

# isort: on

__all__ = ["library", "order", "outcome", "outputs", "recorded", "variation"]
