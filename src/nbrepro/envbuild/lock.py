"""A lock of a recorded environment: the Python it ran and the distributions it pinned.

:func:`lock_from_environment` turns a notebook's recorded ``environment`` (provenance schema)
into an :class:`EnvLock`; its :attr:`~EnvLock.digest` names the environment built from it (the
cache key of :mod:`nbrepro.envbuild.build`). A lock renders as a pip/uv requirements file
(``name==version`` a line) or as a PEP 751 ``pylock.toml``. The packages are those the recording
names: with ``packages_scope: "imported"`` the distributions the notebook imported (their
dependencies are resolved by the installer), with ``"all"`` every installed distribution.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from ..errors import InputError
from ..record.interpreter import canonical_name

#: Bumped when the way an environment is built from a lock changes (invalidates the cache).
BUILD_FORMAT = 1
#: What the rebuilt environment needs besides the recorded packages: a kernel.
KERNEL_REQUIREMENTS = ("ipykernel",)
#: Distributions never pinned: installers' own tooling, which a fresh environment brings.
UNPINNED = frozenset({"pip", "setuptools", "wheel", "distribute"})
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_SAFE_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+!_-]*$")
_PY_VERSION = re.compile(r"\d+\.\d+(\.\d+)?((a|b|rc)\d+)?\+?")
_IMPLEMENTATION = re.compile(r"[A-Za-z][A-Za-z0-9]{0,31}")
# Platform words kept in the lock's comments (a recorded value is never a line of its own).
_PLATFORM_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


@dataclass(frozen=True)
class EnvLock:
    """The recorded environment to rebuild: Python, platform and pinned distributions."""

    #: The recorded Python version (``3.11.7``).
    python: str
    #: The recorded implementation (``CPython``, ``PyPy``).
    implementation: str
    #: ``{canonical name: version}``, sorted.
    packages: dict[str, str]
    #: ``imported`` (the notebook's imports) or ``all`` (every installed distribution).
    scope: str = "imported"
    #: ``system machine`` of the recording (informational; not part of the digest).
    platform: str = ""

    @property
    def python_minor(self) -> str:
        """``X.Y`` of the recorded Python."""
        return ".".join(self.python.split(".")[:2])

    @property
    def requirements(self) -> list[str]:
        """The pins, ``name==version``."""
        return [f"{name}=={version}" for name, version in self.packages.items()]

    @property
    def digest(self) -> str:
        """``sha256:`` of what is built from this lock (Python, pins, the kernel's needs)."""
        body = {
            "format": BUILD_FORMAT,
            "python": self.python,
            "implementation": self.implementation,
            "packages": self.packages,
            "kernel": list(KERNEL_REQUIREMENTS),
        }
        text = json.dumps(body, sort_keys=True, separators=(",", ":"))
        return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()

    @property
    def short_digest(self) -> str:
        """The first 16 hex digits of :attr:`digest` (folder and kernel names)."""
        return self.digest.split(":", 1)[1][:16]

    def requirements_text(self) -> str:
        """A requirements file pip and uv both install (``pip install -r``)."""
        head = [
            "# nbrepro lock of a recorded environment",
            f"# python {self.python} {self.implementation}".rstrip(),
        ]
        if self.platform:
            head.append(f"# platform {self.platform}")
        if self.scope == "imported":
            head.append("# packages: those the notebook imported; the installer resolves the rest")
        head.append(f"# digest {self.digest}")
        return "\n".join([*head, *self.requirements]) + "\n"

    def pylock_text(self, index_url: str | None = None) -> str:
        """A PEP 751 ``pylock.toml`` naming each pinned package (``index`` when given)."""
        lines = [
            "# nbrepro lock of a recorded environment (PEP 751)",
            'lock-version = "1.0"',
            f'requires-python = "=={self.python}"',
            'created-by = "nbrepro"',
        ]
        for name, version in self.packages.items():
            lines += ["", "[[packages]]", f'name = "{name}"', f'version = "{version}"']
            if index_url:
                lines.append(f"index = {json.dumps(index_url)}")
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict[str, Any]:
        """JSON form (in verify reports and the built environment's marker file)."""
        return {
            "digest": self.digest,
            "python": self.python,
            "implementation": self.implementation,
            "packages": dict(self.packages),
            "scope": self.scope,
            "platform": self.platform,
        }


def lock_from_environment(env: Any) -> EnvLock:
    """The lock of a recorded ``environment`` object; :class:`~nbrepro.errors.InputError` (one
    line) when it records no Python version or an invalid package."""
    if not isinstance(env, dict):
        raise InputError("the recorded environment is not an object")
    python = env.get("python")
    version = str(python.get("version") or "") if isinstance(python, dict) else ""
    if not _PY_VERSION.fullmatch(version):
        raise InputError("the recorded environment names no Python version")
    implementation = str(python.get("implementation") or "CPython") if python else "CPython"
    if not _IMPLEMENTATION.fullmatch(implementation):
        raise InputError(
            f"the recorded environment has an invalid implementation: {implementation[:40]!r}"
        )
    packages = env.get("packages")
    if packages is not None and not isinstance(packages, dict):
        raise InputError("the recorded environment's packages are not an object")
    pins: dict[str, str] = {}
    for name, value in sorted((packages or {}).items()):
        if not (_SAFE_NAME.fullmatch(str(name)) and _SAFE_VERSION.fullmatch(str(value))):
            raise InputError(f"the recorded environment has an invalid package: {name!r}")
        canon = canonical_name(str(name))
        if canon not in UNPINNED:
            pins[canon] = str(value)
    platform = env.get("platform")
    where = ""
    if isinstance(platform, dict):
        words = [str(platform.get(k) or "") for k in ("system", "machine")]
        where = " ".join(w for w in words if _PLATFORM_WORD.fullmatch(w))
    scope = "all" if env.get("packages_scope") == "all" else "imported"
    return EnvLock(version, implementation, dict(sorted(pins.items())), scope, where)


def lock_from_notebook(nb: dict[str, Any], name: str = "<notebook>") -> EnvLock:
    """The lock of the environment recorded in ``nb``'s provenance (``metadata.nbrepro``)."""
    from ..provenance import get_provenance

    prov = get_provenance(nb)
    env = prov.get("environment") if prov else None
    if not isinstance(env, dict) or not env:
        raise InputError(f"{name}: no recorded environment (metadata.nbrepro)")
    try:
        return lock_from_environment(env)
    except InputError as exc:
        raise InputError(f"{name}: {exc.raw}") from None
