"""``nbrepro env``: print the environment snapshot; ``env diff NOTEBOOK``: recorded vs now;
``env export [NOTEBOOK]``: a pinned requirements file or conda environment.

Exit codes of ``env diff``: 0 no drift, 1 drift, 2 bad input (unreadable notebook, no recorded
environment).
"""

from __future__ import annotations

import argparse
from typing import Any

_FORMATS = ("text", "json")


def register(subparsers: Any) -> None:
    """Add the ``env`` subcommand (and its ``diff`` subcommand)."""
    parser = subparsers.add_parser(
        "env",
        help="print the current environment snapshot; `env diff NOTEBOOK` compares it",
        description="Print the environment snapshot nbrepro records (Python, platform, "
        "installed packages, result-changing environment variables; never secrets).",
    )
    parser.add_argument("--format", choices=_FORMATS, default="text", help="output format")
    parser.set_defaults(func=run)
    sub = parser.add_subparsers(dest="env_command", metavar="COMMAND")
    diff = sub.add_parser(
        "diff",
        help="compare a notebook's recorded environment with the current one",
        description="Compare the environment recorded in NOTEBOOK's provenance with this one: "
        "added, removed and changed packages, Python, platform. Exit 0: no drift; 1: drift; "
        "2: bad input.",
    )
    diff.add_argument("notebook", help="a notebook carrying nbrepro provenance")
    diff.add_argument("--format", choices=_FORMATS, default=argparse.SUPPRESS, help="output format")
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
        choices=("requirements", "conda"),
        default="requirements",
        help="requirements.txt (default) or conda environment.yml",
    )
    export.add_argument("-o", "--output", metavar="FILE", help="write to FILE (default: stdout)")
    export.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``nbrepro env`` / ``nbrepro env diff``."""
    import json

    from ..errors import EXIT_OK
    from ..record.environment import format_snapshot, snapshot

    if getattr(args, "env_command", None) == "diff":
        return _diff(args)
    if getattr(args, "env_command", None) == "export":
        return _export(args)
    env = snapshot()
    if args.format == "json":
        print(json.dumps(env, indent=2, sort_keys=True))
    else:
        print(format_snapshot(env))
    return EXIT_OK


def _diff(args: argparse.Namespace) -> int:
    import json

    from ..errors import EXIT_FAILED, EXIT_OK
    from ..record.envdiff import diff_environments
    from ..record.environment import snapshot

    recorded = _recorded_environment(args.notebook)
    diff = diff_environments(recorded, snapshot())
    if args.format == "json":
        print(json.dumps({"notebook": args.notebook, **diff.to_dict()}, indent=2, sort_keys=True))
    else:
        py = recorded.get("python") or {}
        plat = recorded.get("platform") or {}
        print(
            f"Recorded: {py.get('implementation', '?')} {py.get('version', '?')} on "
            f"{plat.get('system', '?')} {plat.get('machine', '?')}, "
            f"{len(recorded.get('packages') or {})} packages"
        )
        print(diff.render_text())
    return EXIT_OK if diff.is_empty else EXIT_FAILED


def _recorded_environment(path: str) -> dict[str, Any]:
    from ..errors import InputError
    from ..notebook_io import read_notebook
    from ..provenance import get_provenance

    prov = get_provenance(read_notebook(path))
    recorded = prov.get("environment") if prov else None
    if not isinstance(recorded, dict) or not recorded:
        raise InputError(f"{path}: no recorded environment (metadata.nbrepro)")
    return recorded


def _export(args: argparse.Namespace) -> int:
    from ..diagnose.remedies import export_environment
    from ..errors import EXIT_OK
    from ..notebook_io import atomic_write_text
    from ..record.environment import snapshot

    env = _recorded_environment(args.notebook) if args.notebook else snapshot()
    text = export_environment(env, args.export_format)
    if args.output:
        atomic_write_text(args.output, text)
    else:
        print(text, end="" if text.endswith("\n") else "\n")
    return EXIT_OK
