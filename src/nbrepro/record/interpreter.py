"""What an interpreter knows of itself: its installed distributions, Python and platform.

This module is the one piece of nbrepro that also runs in *other* interpreters: to read the
environment of a kernel whose interpreter is not this one, :mod:`nbrepro.record.kernelenv`
sends this file's source to that interpreter (``python -c SOURCE``) and reads back the JSON
line :func:`main` prints. So it imports nothing outside the standard library and keeps to
Python 3.8 syntax; there nbrepro need not be installed, and nothing of this environment is put
on that interpreter's ``sys.path``.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import sys
from dataclasses import dataclass
from importlib import metadata
from typing import Any

#: The prefix of the line :func:`main` prints (anything a ``sitecustomize`` prints is skipped).
OUTPUT_MARKER = "nbrepro-interpreter:"

_CANON = re.compile(r"[-_.]+")


def canonical_name(name: str) -> str:
    """A distribution name normalised as PEP 503 does (``Foo_Bar`` → ``foo-bar``)."""
    return _CANON.sub("-", name).lower()


def is_package_folder(entry: str) -> bool:
    """Whether a ``sys.path`` entry is a folder distributions are installed into."""
    return "site-packages" in entry or "dist-packages" in entry


def path_key(entries: list[str] | None = None) -> tuple[tuple[str, int], ...]:
    """``entries`` (default ``sys.path``) with the mtimes of their package folders: installing or
    removing a distribution changes one.

    Other folders (the notebook's own, ``''``) are keyed by name only: a notebook writing files
    there must not trigger a rescan. A package folder that cannot be read has mtime ``-1``.
    """
    key = []
    for entry in sys.path if entries is None else entries:
        mtime = 0
        if is_package_folder(entry):
            try:
                mtime = os.stat(entry).st_mtime_ns
            except OSError:
                mtime = -1
        key.append((entry, mtime))
    return tuple(key)


@dataclass
class Installed:
    """The installed distributions as of ``key``: versions, the modules they provide, digest."""

    key: tuple[tuple[str, int], ...]
    versions: dict[str, str]
    module_dists: dict[str, list[str]]
    digest: str


def scan(key: tuple[tuple[str, int], ...]) -> Installed:
    """Read every installed distribution (about 0.3 s with a few hundred of them)."""
    versions: dict[str, str] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"] if dist.metadata else None
        if not name:
            continue
        # The first distribution on sys.path wins, as the import system would pick it.
        versions.setdefault(canonical_name(name), dist.version or "")
    # ``packages_distributions`` is new in Python 3.10; older kernels describe no module map.
    packages_distributions = getattr(metadata, "packages_distributions", None)
    module_dists = {
        module: sorted({canonical_name(d) for d in dists})
        for module, dists in (packages_distributions() if packages_distributions else {}).items()
    }
    lines = "".join(f"{name}=={versions[name]}\n" for name in sorted(versions))
    digest = f"sha256:{hashlib.sha256(lines.encode('utf-8')).hexdigest()}"
    return Installed(key, versions, module_dists, digest)


def python_info() -> dict[str, str]:
    """The interpreter: version and implementation."""
    return {
        "version": platform.python_version(),
        "implementation": platform.python_implementation(),
    }


def platform_info() -> dict[str, str]:
    """The operating system and machine."""
    uname = platform.uname()
    return {"system": uname.system, "release": uname.release, "machine": uname.machine}


def describe() -> dict[str, Any]:
    """This interpreter's facts as JSON-ready data: ``python``, ``platform``, every installed
    distribution (``packages``), ``packages_digest``, and ``path_key`` (to tell when they
    change)."""
    key = path_key()
    installed = scan(key)
    return {
        "executable": sys.executable,
        "python": python_info(),
        "platform": platform_info(),
        "packages": dict(sorted(installed.versions.items())),
        "packages_digest": installed.digest,
        "path_key": [list(item) for item in key],
    }


def main() -> None:
    """Print :func:`describe` as one JSON line after :data:`OUTPUT_MARKER`.

    Run as ``python -c SOURCE`` the current folder is ``sys.path[0]`` (``''``); it is dropped
    first, so files where the interpreter happens to start are not taken for its environment.
    """
    sys.path[:] = [entry for entry in sys.path if entry]
    sys.stdout.write(OUTPUT_MARKER + json.dumps(describe()) + "\n")


if __name__ == "__main__":
    main()
