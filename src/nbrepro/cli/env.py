"""``nbrepro env``: print the environment snapshot; ``env diff NOTEBOOK``: recorded vs now;
``env export [NOTEBOOK]``: a pinned requirements file, a conda environment, a Dockerfile or
Binder's files; ``env lock NOTEBOOK``: the lock ``verify --rebuild-env`` builds from
(:mod:`nbrepro.envbuild`).

``env`` and ``env export`` describe this interpreter (the one running ``nbrepro``) unless
``--kernel NAME`` names a kernel; ``env diff NOTEBOOK`` compares with the interpreter of the
notebook's own kernel (or ``--kernel NAME``), as ``nbrepro verify``, the server and runs do
(:mod:`nbrepro.record.kernelenv`).

Exit codes of ``env diff``: 0 no drift, 1 drift, 2 bad input (unreadable or structurally invalid
notebook, no recorded environment, an output file that cannot be written). Text output passes
through :mod:`nbrepro.textsafe`: recorded package names and variables come from the notebook.
"""

from __future__ import annotations

import argparse
from typing import Any

_FORMATS = ("text", "json")
_KERNEL_HELP = (
    "the environment of kernel NAME's interpreter (see `jupyter kernelspec list`) instead of "
    "this interpreter's"
)


def register(subparsers: Any) -> None:
    """Add the ``env`` subcommand (and its ``diff`` subcommand)."""
    parser = subparsers.add_parser(
        "env",
        help="print the current environment snapshot; `env diff NOTEBOOK` compares it",
        description="Print the environment snapshot nbrepro records (Python, platform, "
        "installed packages, result-changing environment variables; never secrets): this "
        "interpreter's, or with --kernel NAME the environment of kernel NAME's interpreter.",
    )
    parser.add_argument("--format", choices=_FORMATS, default="text", help="output format")
    parser.add_argument("--kernel", metavar="NAME", help=_KERNEL_HELP)
    parser.set_defaults(func=run)
    sub = parser.add_subparsers(dest="env_command", metavar="COMMAND")
    diff = sub.add_parser(
        "diff",
        help="compare a notebook's recorded environment with the current one",
        description="Compare the environment recorded in NOTEBOOK's provenance with the "
        "environment of the notebook's kernel (its kernelspec, or --kernel NAME), as "
        "`nbrepro verify` does: added, removed and changed packages, Python, platform. "
        "Exit 0: no drift; 1: drift; 2: bad input.",
    )
    diff.add_argument("notebook", help="a notebook carrying nbrepro provenance")
    diff.add_argument("--format", choices=_FORMATS, default=argparse.SUPPRESS, help="output format")
    diff.add_argument(
        "--kernel",
        metavar="NAME",
        default=argparse.SUPPRESS,
        help="compare with kernel NAME's environment instead of the notebook's kernel's",
    )
    diff.set_defaults(func=run)
    export = sub.add_parser(
        "export",
        help="write the recorded (or current) environment as pinned requirements or conda YAML",
        description="Export the environment recorded in NOTEBOOK's provenance (the current one "
        "without NOTEBOOK) as a pinned requirements file or a conda environment, to recreate "
        "what produced the notebook's outputs.",
    )
    export.add_argument("notebook", nargs="?", help="a notebook carrying nbrepro provenance")
    export.add_argument(
        "--format",
        dest="export_format",
        choices=("requirements", "conda", "dockerfile", "binder"),
        default="requirements",
        help="requirements.txt (default), conda environment.yml, a Dockerfile, or Binder's "
        "requirements.txt + runtime.txt (into the folder -o DIR)",
    )
    export.add_argument(
        "-o", "--output", metavar="FILE", help="write to FILE (binder: DIR; default: stdout)"
    )
    export.set_defaults(func=run)
    lock = sub.add_parser(
        "lock",
        help="write the lock of a notebook's recorded environment (what --rebuild-env builds)",
        description="Write the lock of the environment recorded in NOTEBOOK: its Python "
        "version and the distributions it recorded, pinned; a requirements file pip and uv "
        "both install (default) or a PEP 751 pylock.toml. `nbrepro verify --rebuild-env` "
        "builds its environment from this lock.",
    )
    lock.add_argument("notebook", help="a notebook carrying nbrepro provenance")
    lock.add_argument(
        "--format",
        dest="lock_format",
        choices=("requirements", "pylock"),
        default="requirements",
        help="requirements with pins (default) or PEP 751 pylock.toml",
    )
    lock.add_argument("-o", "--output", metavar="FILE", help="write to FILE (default: stdout)")
    lock.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``nbrepro env`` / ``nbrepro env diff``."""
    import json

    from ..errors import EXIT_OK
    from ..record.environment import format_snapshot
    from ..textsafe import printable_lines

    if getattr(args, "env_command", None) == "diff":
        return _diff(args)
    if getattr(args, "env_command", None) == "export":
        return _export(args)
    if getattr(args, "env_command", None) == "lock":
        return _lock(args)
    env = _current_environment(args.kernel)
    if args.format == "json":
        print(json.dumps(env, indent=2, sort_keys=True))
    else:
        print(printable_lines(format_snapshot(env)))
    return EXIT_OK


def _diff(args: argparse.Namespace) -> int:
    import json

    from ..errors import EXIT_FAILED, EXIT_OK
    from ..notebook_io import kernel_name, read_notebook
    from ..record.drift import DEFAULT_KERNEL
    from ..record.envdiff import diff_environments
    from ..textsafe import printable, printable_lines

    nb = read_notebook(args.notebook)
    recorded = _recorded_environment(args.notebook, nb)
    kernel = args.kernel or kernel_name(nb) or DEFAULT_KERNEL
    diff = diff_environments(recorded, _current_environment(kernel))
    if args.format == "json":
        print(json.dumps({"notebook": args.notebook, **diff.to_dict()}, indent=2, sort_keys=True))
    else:
        py = recorded.get("python") or {}
        plat = recorded.get("platform") or {}
        print(
            printable(
                f"Recorded: {py.get('implementation', '?')} {py.get('version', '?')} on "
                f"{plat.get('system', '?')} {plat.get('machine', '?')}, "
                f"{len(recorded.get('packages') or {})} packages"
            )
        )
        print(printable_lines(diff.render_text()))
    return EXIT_OK if diff.is_empty else EXIT_FAILED


def _current_environment(kernel: str | None) -> dict[str, Any]:
    """This interpreter's snapshot, or kernel ``kernel``'s (exit 2 when it cannot be read)."""
    if not kernel:
        from ..record.environment import snapshot

        return snapshot()
    from ..errors import InputError, KernelNotFound
    from ..record.kernelenv import kernel_environment

    found = kernel_environment(kernel)
    if found.environment is not None:
        return found.environment
    if found.language is None:
        raise KernelNotFound(f"{found.reason} (see `jupyter kernelspec list`)")
    raise InputError(f"no environment to show: {found.reason}")


def _recorded_environment(path: str, nb: dict[str, Any] | None = None) -> dict[str, Any]:
    from ..errors import InputError
    from ..notebook_io import read_notebook
    from ..provenance import get_provenance

    prov = get_provenance(nb if nb is not None else read_notebook(path))
    recorded = prov.get("environment") if prov else None
    if not isinstance(recorded, dict) or not recorded:
        from ..textsafe import shown_path

        raise InputError(f"{shown_path(path)}: no recorded environment (metadata.nbrepro)")
    return recorded


def _export(args: argparse.Namespace) -> int:
    from ..diagnose.remedies import export_environment
    from ..errors import EXIT_OK
    from ..record.environment import snapshot

    env = _recorded_environment(args.notebook) if args.notebook else snapshot()
    if args.export_format in ("dockerfile", "binder"):
        return _export_container(args, env)
    text = export_environment(env, args.export_format)
    _write(args.output, text)
    return EXIT_OK


def _write(output: str | None, text: str) -> None:
    """``text`` into ``output`` (atomically; exit 2 when it cannot be written), else stdout."""
    from ..errors import InputError
    from ..notebook_io import atomic_write_text

    if output:
        try:
            atomic_write_text(output, text)
        except OSError as exc:
            raise InputError(f"cannot write {output}: {exc.strerror or exc}") from None
    else:
        print(text, end="" if text.endswith("\n") else "\n")


def _export_container(args: argparse.Namespace, env: dict[str, Any]) -> int:
    from pathlib import Path

    from ..envbuild.export import binder_files, dockerfile
    from ..envbuild.lock import lock_from_environment
    from ..errors import EXIT_OK, UsageError

    lock = lock_from_environment(env)
    if args.export_format == "dockerfile":
        _write(args.output, dockerfile(lock))
        return EXIT_OK
    if not args.output:
        raise UsageError("--format binder writes two files: give the folder with -o DIR")
    folder = Path(args.output)
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"-o {args.output}: not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in binder_files(lock).items():
        _write(str(folder / name), text)
    return EXIT_OK


def _lock(args: argparse.Namespace) -> int:
    from ..envbuild.lock import lock_from_environment
    from ..errors import EXIT_OK

    lock = lock_from_environment(_recorded_environment(args.notebook))
    if args.lock_format == "pylock":
        from ..envbuild.index import pip_index

        text = lock.pylock_text(pip_index().index_url)
    else:
        text = lock.requirements_text()
    _write(args.output, text)
    return EXIT_OK
