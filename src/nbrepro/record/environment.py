"""The environment snapshot: interpreter, platform, kernel, packages and result-changing variables.

:func:`snapshot` is cheap after its first call: the scan of installed distributions (about 0.3 s
with a few hundred distributions) is cached and redone only when a folder on ``sys.path`` changes
(``pip install`` touches ``site-packages``). Modules map to distributions with
:func:`importlib.metadata.packages_distributions`. The scan itself lives in
:mod:`nbrepro.record.interpreter`, which also reads other interpreters (a kernel's, see
:mod:`nbrepro.record.kernelenv`); :func:`snapshot` describes *this* interpreter.

Secrets: only allowlisted environment variables are recorded, and an allowlisted name is dropped
anyway when :func:`nbrepro.record.secrets.is_secret_name` says it looks like a secret.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterable
from typing import Any

from .interpreter import Installed, path_key, platform_info, python_info, scan
from .secrets import is_secret_name, scrub_value

#: Environment variables that change results (seeds, thread counts, devices, locale, time zone).
ENV_ALLOWLIST = (
    "PYTHONHASHSEED",
    "PYTHONUTF8",
    "PYTHONIOENCODING",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "NUMEXPR_MAX_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "BLIS_NUM_THREADS",
    "MKL_CBWR",
    "CUDA_VISIBLE_DEVICES",
    "CUBLAS_WORKSPACE_CONFIG",
    "TF_DETERMINISTIC_OPS",
    "TF_CUDNN_DETERMINISTIC",
    "TZ",
    "LANG",
    "LANGUAGE",
    "LC_ALL",
    "LC_CTYPE",
    "LC_NUMERIC",
    "LC_TIME",
    "LC_COLLATE",
)
#: Extra names to record, comma-separated (still subject to the secret rule).
ENV_ALLOWLIST_EXTRA = "NBREPRO_ENV_ALLOWLIST"

_lock = threading.Lock()
_installed: Installed | None = None


def installed_distributions(refresh: bool = False) -> tuple[dict[str, str], str]:
    """``({canonical name: version}, packages_digest)`` of every installed distribution (cached)."""
    inst = _get_installed(refresh)
    return dict(inst.versions), inst.digest


def _get_installed(refresh: bool = False) -> Installed:
    global _installed
    key = path_key()
    with _lock:
        if refresh or _installed is None or _installed.key != key:
            _installed = scan(key)
        return _installed


def distributions_for_modules(modules: Iterable[str]) -> dict[str, str]:
    """``{distribution: version}`` for the distributions providing the given modules.

    Submodules count for their top-level package; standard-library modules and modules that
    belong to no installed distribution (local ``.py`` files) are left out.
    """
    inst = _get_installed()
    stdlib: frozenset[str] = getattr(sys, "stdlib_module_names", frozenset())
    out: dict[str, str] = {}
    for module in {m.split(".", 1)[0] for m in modules}:
        if not module or module in stdlib or module in sys.builtin_module_names:
            continue
        for dist in inst.module_dists.get(module, ()):
            if dist in inst.versions:
                out[dist] = inst.versions[dist]
    return dict(sorted(out.items()))


def recorded_env_vars(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The allowlisted environment variables that are set, never a secret-named one, with any
    credentials inside a value (a URL's password) replaced (:func:`.secrets.scrub_value`)."""
    env = dict(os.environ) if environ is None else environ
    names = list(ENV_ALLOWLIST)
    names += [n.strip() for n in env.get(ENV_ALLOWLIST_EXTRA, "").split(",") if n.strip()]
    return {
        n: scrub_value(env[n]) for n in sorted(set(names)) if n in env and not is_secret_name(n)
    }


def snapshot(
    imported_modules: Iterable[str] | None = None,
    *,
    kernel: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``environment`` object of the provenance schema.

    ``imported_modules``: the modules a notebook imported; ``packages`` then holds the versions
    of the distributions providing them (``packages_scope: "imported"``). ``None`` records every
    installed distribution (``packages_scope: "all"``), as ``nbrepro env`` and run manifests do.
    ``packages_digest`` always covers the whole installed set. ``kernel`` describes the kernel
    (name, language, language_version); by default, this Python with no kernel name.
    """
    inst = _get_installed()
    if imported_modules is None:
        packages = dict(sorted(inst.versions.items()))
        scope = "all"
    else:
        packages = distributions_for_modules(imported_modules)
        scope = "imported"
    py = python_info()
    kernel_info = {"name": None, "language": "python", "language_version": py["version"]}
    if kernel:
        kernel_info.update(kernel)
    return {
        "python": py,
        "platform": platform_info(),
        "kernel": kernel_info,
        "packages": packages,
        "packages_scope": scope,
        "packages_digest": inst.digest,
        "env_vars": recorded_env_vars(),
    }


def format_snapshot(env: dict[str, Any]) -> str:
    """Plain-text rendering of a snapshot (used by ``nbrepro env`` and ``%nbrepro status``)."""
    py = env.get("python", {})
    plat = env.get("platform", {})
    kernel = env.get("kernel", {}) or {}
    lines = [
        f"Python:    {py.get('implementation', '?')} {py.get('version', '?')}",
        f"Platform:  {plat.get('system', '?')} {plat.get('release', '')} {plat.get('machine', '')}",
    ]
    if kernel.get("name"):
        lines.append(f"Kernel:    {kernel['name']} ({kernel.get('language', '?')})")
    packages = env.get("packages", {}) or {}
    scope = "imported" if env.get("packages_scope") == "imported" else "installed"
    lines.append(f"Packages ({scope}): {len(packages)}  digest {env.get('packages_digest', '?')}")
    width = max((len(n) for n in packages), default=0)
    lines += [f"  {name.ljust(width)}  {version}" for name, version in packages.items()]
    env_vars = env.get("env_vars", {}) or {}
    lines.append(f"Environment variables: {len(env_vars)}")
    lines += [f"  {name}={value}" for name, value in env_vars.items()]
    return "\n".join(lines)
