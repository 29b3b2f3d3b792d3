"""The options of a versioned run (and a sweep), declared once (:mod:`nbrepro.optionspec`).

``nbrepro run``'s argparse options are generated from :data:`RUN_OPTIONS` (kernel, working
directory and timeouts are the verification's own declarations); the core's messages about
runs name options with :func:`~nbrepro.optionspec.mention`, which each face renders in its own
words (``--grid 'a'`` on the command line, ``options.grid`` over REST).

Standard library only: ``nbrepro --help`` imports it.
"""

from __future__ import annotations

from ..optionspec import OptionSpec, OptionTable, register_table
from ..textsafe import unsafe_character
from ..verify.options import (
    CWD,
    EXECUTOR,
    INCLUDE,
    KERNEL,
    MAX_JOBS,
    NOTEBOOK_TIMEOUT,
    SCHEDULER,
    SHIP_INPUTS,
    TIMEOUT,
)

#: The longest run name (characters).
MAX_NAME_LENGTH = 200


def run_name_problem(name: str) -> str | None:
    """The one rule for run names, on every face (``--name``, a run job's ``name``): at most
    :data:`MAX_NAME_LENGTH` characters on one line, with no control, bidi or line-separator
    character (:func:`nbrepro.textsafe.unsafe_character`), since names are shown in tables and
    lists. Returns what is wrong (``None``: the name is fine)."""
    if len(name) > MAX_NAME_LENGTH:
        return f"is longer than {MAX_NAME_LENGTH} characters"
    bad = unsafe_character(name)
    if bad is not None:
        what = "a line break" if bad in ("\\n", "\\r", "\\u2028", "\\u2029") else bad
        return f"must be a single line without control or bidi characters (it holds {what})"
    return None


#: The option table of ``nbrepro run``.
RUN_OPTIONS = register_table(
    OptionTable(
        [
            OptionSpec(
                "grid",
                "paths",
                "sweep NAME over the values (typed like -p); several --grid: their cartesian "
                "product",
                default=(),
                cli=("--grid",),
                metavar="NAME=V1,V2",
                group="sweeps",
                nullable=False,
            ),
            OptionSpec(
                "sweep",
                "path",
                "a YAML list of parameter sets, one run each",
                cli=("--sweep",),
                metavar="FILE.yaml",
                group="sweeps",
            ),
            OptionSpec(
                "jobs",
                "int",
                "run N parameter sets at a time (each in its own kernel)",
                default=1,
                cli=("-j", "--jobs"),
                metavar="N",
                group="sweeps",
                minimum=1,
                maximum=MAX_JOBS,
                nullable=False,
            ),
            EXECUTOR,
            SCHEDULER,
            SHIP_INPUTS,
            INCLUDE,
            OptionSpec(
                "name",
                "str",
                "a name for the run (shown in lists and MLflow; one line, at most "
                f"{MAX_NAME_LENGTH} characters)",
                cli=("--name",),
                metavar="NAME",
                check=run_name_problem,
            ),
            KERNEL,
            CWD,
            TIMEOUT,
            NOTEBOOK_TIMEOUT,
            OptionSpec(
                "input",
                "paths",
                "declare an input file to hash into the run (files the notebook names in its "
                "code or parameters are found without it)",
                default=(),
                cli=("--input",),
                metavar="PATH",
                nullable=False,
            ),
            OptionSpec(
                "snapshot_inputs",
                "bool",
                "also keep the run's input files in the object store, so `runs reproduce "
                "--restore-inputs` and `runs checkout` give them back (default: [tool.nbrepro] "
                "snapshot_inputs)",
                default=None,
                cli=("--snapshot-inputs",),
                group="storage and tracking",
            ),
            OptionSpec(
                "runs_dir",
                "path",
                "where run bundles go (default: [tool.nbrepro] runs_dir, else .nbrepro/runs "
                "under the project root)",
                cli=("--runs-dir",),
                metavar="DIR",
                group="storage and tracking",
            ),
            # --mlflow takes an optional value: the command line declares it by hand.
            OptionSpec(
                "mlflow",
                "str",
                "log each run to MLflow (URI default: $MLFLOW_TRACKING_URI, else "
                "[tool.nbrepro] mlflow_tracking_uri, which also turns this on)",
                cli=("--mlflow",),
                metavar="TRACKING_URI",
                group="storage and tracking",
            ),
            OptionSpec(
                "no_mlflow",
                "bool",
                "do not log to MLflow even when the project configures it",
                default=False,
                cli=("--no-mlflow",),
                group="storage and tracking",
                nullable=False,
            ),
            OptionSpec(
                "experiment",
                "str",
                "MLflow experiment (default: the notebook's path in the project)",
                cli=("--experiment",),
                metavar="NAME",
                group="storage and tracking",
            ),
            OptionSpec(
                "register_model",
                "paths",
                "register the artifact PATH (a file the run wrote, relative to its working "
                "directory) as a new version of the MLflow registered model NAME, tagged with "
                "what produced it (needs --mlflow)",
                default=(),
                cli=("--register-model",),
                metavar="PATH=NAME",
                group="storage and tracking",
                nullable=False,
            ),
            OptionSpec(
                "events",
                "path",
                "write progress events as JSON lines (the event schema of docs/verify.md; a "
                "single run only)",
                cli=("--events",),
                metavar="FILE",
                group="output",
            ),
        ]
    )
)

#: Options the command line declares by hand (an optional value) or in its own groups.
HAND_MADE = ("mlflow",)


def parse_register_models(items: object) -> tuple[tuple[str, str], ...]:
    """``--register-model PATH=NAME`` values as ``(path, name)`` pairs; raises a one-line
    :class:`~nbrepro.errors.UsageError` for one without both parts."""
    from ..errors import UsageError
    from ..optionspec import mention

    out = []
    for item in items or ():  # type: ignore[attr-defined]
        path, sep, name = str(item).rpartition("=")
        if not sep or not path.strip() or not name.strip():
            raise UsageError(f"{mention('register_model', item)}: expected PATH=NAME")
        out.append((path.strip(), name.strip()))
    return tuple(out)
