"""``nbrepro runs gc``: remove the objects no run refers to.

The objects every bundle's manifest names (stored inputs and artifacts,
:func:`nbrepro.runs.versioning.referenced_objects`) are kept; every other object, and every
temporary object left by a writer that died, is removed. The store's lock is held exclusively
meanwhile, so a run storing its objects (under the shared lock) never loses one that its bundle,
not yet written, is about to name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..objects import ObjectStore
from .store import RunStore
from .versioning import objects_dir, referenced_objects


@dataclass
class GcResult:
    """What ``runs gc`` removed (or would remove)."""

    removed: list[str] = field(default_factory=list)
    freed: int = 0
    kept: int = 0
    runs: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"removed": self.removed, "freed": self.freed, "kept": self.kept, "runs": self.runs}


def collect_garbage(store: RunStore, *, dry_run: bool = False) -> GcResult:
    """Remove the objects of ``store``'s object store that no run names."""
    objects = ObjectStore(objects_dir(store.runs_dir))
    result = GcResult()
    if not objects.root.is_dir():
        return result
    with objects.lock(exclusive=True):
        keep: set[str] = set()
        for summary in store.list():
            run = store.get(summary.run_id)
            keep |= referenced_objects(run.manifest)
            result.runs += 1
        if dry_run:
            for digest, path in objects.objects():
                if digest not in keep:
                    result.removed.append(digest)
                    result.freed += path.stat().st_size
        else:
            result.removed, result.freed = objects.gc(keep)
        result.kept = sum(1 for digest, _ in objects.objects() if digest in keep)
    return result
