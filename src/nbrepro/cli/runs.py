"""``nbrepro runs list|show|diff|reproduce``: find, inspect, compare and reproduce stored runs.

Only argparse, the standard library and the option declarations are imported here; the core is
imported inside the command functions so that ``nbrepro --help`` stays fast. Every text line is
printed through :mod:`nbrepro.textsafe` (names, parameter values, paths and outputs may hold
control or bidi characters). Reference: ``docs/runs.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..cell_names import cell_label
from ..optionspec import OptionTable
from ..textsafe import printable, printable_lines
from ..verify.options import NOTEBOOK_TIMEOUT, TIMEOUT, VERIFY_OPTIONS
from .spec_args import add_spec_arguments

#: The options of ``runs reproduce``: the verification's own declarations (finite, positive).
REPRODUCE_OPTIONS = OptionTable([TIMEOUT, NOTEBOOK_TIMEOUT, VERIFY_OPTIONS["rebuild_env"]])

DESCRIPTION = """\
Work with the runs stored by `nbrepro run`. The store is the project's (the nearest folder up from
the current one with pyproject.toml or .git) unless --runs-dir names one. Run ids may be given as
a unique prefix or as a run's unique --name.

exit codes: 0 success (reproduce: the run reproduced); 1 reproduce: outputs differ or a cell
failed; 2 usage or input error (unknown run id, ...)."""


def register(subparsers: Any) -> None:
    """Add the ``runs`` subcommand and its own subcommands."""
    parser = subparsers.add_parser(
        "runs",
        help="list, show, diff and reproduce stored runs",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--runs-dir", type=Path, metavar="DIR", help="the runs directory (default: the project's)"
    )
    common.add_argument(
        "--format", choices=("text", "json"), default="text", help="output format (default: text)"
    )
    sub = parser.add_subparsers(dest="runs_command", metavar="ACTION", parser_class=type(parser))
    p_list = sub.add_parser("list", parents=[common], help="a table of stored runs")
    p_list.add_argument("--notebook", metavar="PATH", help="only the runs of this notebook")
    p_list.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="COND",
        help="only runs whose parameter or metric satisfies COND, e.g. 'threshold>18' "
        "(==, !=, <, <=, >, >=; repeat: all must hold)",
    )
    p_list.add_argument(
        "--sort",
        metavar="NAME",
        help="order by a parameter or metric (-NAME: descending; runs without it last)",
    )
    p_list.set_defaults(func=cmd_list)
    p_show = sub.add_parser("show", parents=[common], help="one run's manifest")
    p_show.add_argument("run_id", metavar="ID")
    p_show.set_defaults(func=cmd_show)
    p_diff = sub.add_parser(
        "diff",
        parents=[common],
        help="parameters, environment, inputs, metrics and cell outputs that differ",
    )
    p_diff.add_argument("run_a", metavar="ID_A")
    p_diff.add_argument("run_b", metavar="ID_B")
    p_diff.set_defaults(func=cmd_diff)
    p_rep = sub.add_parser(
        "reproduce",
        parents=[common],
        help="re-execute a run with its parameters and compare outputs (a verify verdict)",
    )
    p_rep.add_argument("run_id", metavar="ID")
    p_rep.add_argument(
        "--restore-inputs",
        action="store_true",
        help="execute on the run's recorded inputs (kept by --snapshot-inputs), not the files "
        "as they are now; the project's files are not touched",
    )
    add_spec_arguments(p_rep, REPRODUCE_OPTIONS)
    p_rep.set_defaults(func=cmd_reproduce)
    p_co = sub.add_parser(
        "checkout",
        parents=[common],
        help="materialise a run's notebook, inputs, artifacts and environment into a folder",
    )
    p_co.add_argument("run_id", metavar="ID")
    p_co.add_argument("dest", metavar="DIR", type=Path, help="a new or empty folder")
    p_co.set_defaults(func=cmd_checkout)
    p_gc = sub.add_parser(
        "gc", parents=[common], help="remove stored objects that no run refers to"
    )
    p_gc.add_argument("--dry-run", action="store_true", help="only tell what would be removed")
    p_gc.set_defaults(func=cmd_gc)
    parser.set_defaults(func=_no_action(parser))


def _no_action(parser: argparse.ArgumentParser) -> Any:
    def func(args: argparse.Namespace) -> int:
        parser.print_help(sys.stderr)
        return 2

    return func


def _store(args: argparse.Namespace) -> Any:
    from ..errors import InputError
    from ..runs.project import find_project_root, resolve_runs_dir
    from ..runs.store import RunStore
    from ..textsafe import shown_path

    try:
        return RunStore(resolve_runs_dir(find_project_root(Path.cwd()), args.runs_dir))
    except OSError as exc:  # a --runs-dir too long to name, or a folder that cannot be searched
        where = shown_path(args.runs_dir if args.runs_dir is not None else Path.cwd())
        raise InputError(f"runs directory {where}: cannot read: {exc.strerror or exc}") from None


def cmd_list(args: argparse.Namespace) -> int:
    """``runs list``."""
    from ..runs.query import select_runs
    from ..runs.table import runs_table

    store = _store(args)
    summaries = select_runs(
        [s.to_dict() for s in store.list(notebook=args.notebook)], args.where, args.sort
    )
    if args.format == "json":
        print(json.dumps({"runs_dir": str(store.runs_dir), "runs": summaries}, indent=1))
        return 0
    if not summaries:
        what = "no runs match" if args.where else "no runs"
        print(f"{what} in {printable(store.runs_dir)}")
        return 0
    by_notebook: dict[str, list[dict[str, Any]]] = {}
    for s in summaries:
        by_notebook.setdefault(s["notebook"], []).append(s)
    blocks = []
    for notebook, items in by_notebook.items():
        blocks.append(
            f"{printable(notebook)} ({len(items)} run{'s' if len(items) != 1 else ''})\n"
            + runs_table(items)
        )
    print("\n\n".join(blocks))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    """``runs show ID``."""
    from ..runs.table import format_value

    run = _store(args).get(args.run_id)
    data = run.to_dict()
    if args.format == "json":
        print(json.dumps(data, indent=1, sort_keys=True, default=str))
        return 0
    m = run.manifest
    nb = m.get("notebook") or {}
    timings = m.get("timings") or {}
    git = m.get("git") or {}
    lines = [
        f"run {m.get('run_id')}" + (f" ({m['name']})" if m.get("name") else ""),
        f"  verdict:        {m.get('verdict')}"
        + (f" - {m['failure']}" if m.get("failure") else ""),
        f"  notebook:       {nb.get('path')} ({nb.get('content_hash', '')[:19]}...)",
        f"  kernel:         {nb.get('kernel')}",
        f"  configuration:  {m.get('configuration_id')}",
        f"  started:        {timings.get('started')} ({_number(timings.get('duration')):.1f} s)",
        f"  git:            {git.get('commit') or '-'}" + (" (dirty)" if git.get("dirty") else ""),
        f"  environment:    {m.get('environment_digest', '')[:19]}...",
        f"  nbrepro:        {m.get('nbrepro_version')}",
        f"  bundle:         {run.path}",
    ]
    if data.get("mlflow"):
        ml = data["mlflow"]
        lines.append(f"  mlflow:         run {ml.get('run_id')} in {ml.get('experiment_name')!r}")
    sections = [
        ("parameters", m.get("parameters") or {}),
        ("metrics", m.get("metrics") or {}),
    ]
    for title, values in sections:
        lines.append(f"{title}:" + ("" if values else " none"))
        lines.extend(f"  {k} = {format_value(v)}" for k, v in _items(values))
    inputs = m.get("inputs") or {}
    lines.append("inputs:" + ("" if inputs else " none"))
    for path, info in _items(inputs):
        info = info if isinstance(info, dict) else {}
        lines.append(f"  {path} ({info.get('source')}) {str(info.get('hash'))[:19]}...")
    recording = m.get("recording") or {}
    if recording.get("mode") == "guessed":
        lines.append(f"  (inputs guessed, not recorded: {recording.get('reason')})")
    artifacts = m.get("artifacts") or {}
    lines.append("artifacts:" + ("" if artifacts else " none"))
    for path, info in _items(artifacts):
        info = info if isinstance(info, dict) else {}
        kept = "" if info.get("stored") else " (hash only)"
        lines.append(f"  {path} {str(info.get('hash'))[:19]}... {info.get('size')} bytes{kept}")
    lines.append("cells:")
    for cell in m.get("cells") or []:
        if not isinstance(cell, dict):
            continue
        err = cell.get("error") or {}
        err = err if isinstance(err, dict) else {"name": err}
        extra = f" {err.get('name')}: {err.get('value')}" if err else ""
        lines.append(
            f"  {cell_label(cell.get('index', 0), cell.get('id'))} {cell.get('status')} "
            f"{_number(cell.get('duration')):.2f} s{extra}"
        )
    print("\n".join(printable(line) for line in lines))
    return 0


def _number(value: Any) -> float:
    """A duration from a manifest (0 when it is not a number)."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def _items(values: Any) -> list[tuple[str, Any]]:
    """The entries of a manifest's mapping (none when it is not one)."""
    return list(values.items()) if isinstance(values, dict) else []


def cmd_diff(args: argparse.Namespace) -> int:
    """``runs diff A B``."""
    from ..runs.diff import diff_runs

    store = _store(args)
    diff = diff_runs(store.get(args.run_a), store.get(args.run_b))
    if args.format == "json":
        print(json.dumps(diff.to_dict(), indent=1, default=str))
    else:
        print(printable_lines(diff.render_text()))
    return 0


def cmd_reproduce(args: argparse.Namespace) -> int:
    """``runs reproduce ID``."""
    from ..runs.project import find_project_root
    from ..runs.reproduce import reproduce_run

    run = _store(args).get(args.run_id)
    result = reproduce_run(
        run,
        fallback_root=find_project_root(Path.cwd()),
        timeout=args.timeout,
        notebook_timeout=args.notebook_timeout,
        restore_inputs=args.restore_inputs,
        rebuild_env=args.rebuild_env or "off",
    )
    if args.format == "json":
        print(json.dumps(result.to_dict(), indent=1, default=str))
    else:
        sys.stdout.write(printable_lines(result.render_text()))
    return 0 if result.reproduced else 1


def cmd_checkout(args: argparse.Namespace) -> int:
    """``runs checkout ID DIR``."""
    from ..runs.checkout import checkout_run

    result = checkout_run(_store(args).get(args.run_id), args.dest)
    if args.format == "json":
        print(json.dumps(result.to_dict(), indent=1))
        return 0
    print(f"checked out {len(result.files)} files into {printable(result.path)}")
    for path, why in result.missing.items():
        print(printable(f"  not checked out: {path} ({why})"))
    return 0


def cmd_gc(args: argparse.Namespace) -> int:
    """``runs gc``."""
    from ..runs.gc import collect_garbage

    result = collect_garbage(_store(args), dry_run=args.dry_run)
    if args.format == "json":
        print(json.dumps(result.to_dict(), indent=1))
        return 0
    verb = "would remove" if args.dry_run else "removed"
    print(
        f"{verb} {len(result.removed)} objects ({result.freed} bytes); "
        f"{result.kept} objects kept for {result.runs} runs"
    )
    return 0
