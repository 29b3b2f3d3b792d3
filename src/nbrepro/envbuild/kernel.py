"""A temporary kernelspec for a built environment: registered while a verification runs in it.

The kernelspec is written under the Jupyter data folder (``jupyter --data-dir``, where
``python -m ipykernel install --user`` writes), so every part that looks kernels up by name
(the engine's kernel manager, the kernel-environment reader, a job worker) finds it; its name
is unique per verification (``nbrepro-env-<digest>-<random>``) and it is removed afterwards,
also when the process exits early.
"""

from __future__ import annotations

import atexit
import json
import shutil
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..execute.kernels import ResolvedKernel
    from .build import BuiltEnvironment

#: The prefix of temporary kernel names.
KERNEL_PREFIX = "nbrepro-env-"

_lock = threading.Lock()
_registered: set[Path] = set()


def kernels_dir() -> Path:
    """The folder of the user's kernelspecs (``<jupyter data dir>/kernels``)."""
    from jupyter_core.paths import jupyter_data_dir

    return Path(jupyter_data_dir()) / "kernels"


def kernel_json(built: BuiltEnvironment) -> dict[str, object]:
    """The kernelspec of an ipykernel kernel running the built environment's interpreter."""
    return {
        "argv": [str(built.python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": f"Python {built.python_version} (recorded environment)",
        "language": "python",
        "metadata": {"nbrepro": {"lock": built.lock.digest, "environment": str(built.root)}},
    }


def _remove_all() -> None:
    with _lock:
        folders = list(_registered)
        _registered.clear()
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)


atexit.register(_remove_all)


@contextmanager
def temporary_kernel(built: BuiltEnvironment) -> Iterator[ResolvedKernel]:
    """Register a kernelspec for ``built``, yield it resolved, remove it afterwards."""
    from ..execute.kernels import ResolvedKernel, lookup_kernelspec

    name = f"{KERNEL_PREFIX}{built.lock.short_digest[:12]}-{uuid.uuid4().hex[:8]}"
    folder = kernels_dir() / name
    folder.mkdir(parents=True, exist_ok=False)
    with _lock:
        _registered.add(folder)
    try:
        (folder / "kernel.json").write_text(json.dumps(kernel_json(built), indent=1))
        spec = lookup_kernelspec(name)
        yield ResolvedKernel(
            name=name,
            spec=spec,
            language="python",
            argv=tuple(str(a) for a in spec.argv),
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        with _lock:
            _registered.discard(folder)
