"""The options of a verification, declared once (:mod:`nbrepro.optionspec`).

``nbrepro verify``'s argparse options, ``pytest --nbrepro``'s ``--nbrepro-*`` and ini options,
the REST API's ``options`` (and its OpenAPI schema) are all generated from :data:`VERIFY_OPTIONS`;
:func:`verify_options_from_values` turns validated values into the pipeline's
:class:`~nbrepro.verify.model.VerifyOptions`. Shared execution options (kernel, timeouts) are
declared here once and reused by the run options (:mod:`nbrepro.runs.options`).

Standard library only: ``nbrepro --help`` imports it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..optionspec import OptionSpec, OptionTable, register_table

if TYPE_CHECKING:
    from .model import VerifyOptions

#: What a kernel name may look like (jupyter_client's kernelspec names, never a flag).
_KERNEL_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._+-]*$")
#: Most runs a verification makes, and most notebooks it verifies at once.
MAX_RUNS = 100
MAX_JOBS = 256


def _kernel_name_problem(value: Any) -> str | None:
    if not _KERNEL_NAME.match(value) or len(value) > 255:
        return f"not a kernel name: {value[:80]!r} (see `jupyter kernelspec list`)"
    return None


KERNEL = OptionSpec(
    "kernel",
    "str",
    "kernel to execute with (default: the notebook's kernelspec)",
    cli=("-k", "--kernel"),
    metavar="NAME",
    pytest=True,
    rest=True,
    check=_kernel_name_problem,
)
CWD = OptionSpec(
    "cwd",
    "path",
    "working directory of the kernel (default: the notebook's folder)",
    cli=("--cwd",),
    metavar="DIR",
)
TIMEOUT = OptionSpec(
    "timeout",
    "float",
    "per-cell timeout in seconds",
    cli=("--timeout",),
    metavar="SECONDS",
    pytest=True,
    rest=True,
    minimum=0,
    exclusive_minimum=True,
)
NOTEBOOK_TIMEOUT = OptionSpec(
    "notebook_timeout",
    "float",
    "timeout in seconds for a whole notebook",
    cli=("--notebook-timeout",),
    metavar="SECONDS",
    pytest=True,
    rest=True,
    minimum=0,
    exclusive_minimum=True,
)

#: Where executions run (``verify -j N`` and ``run --grid/--sweep -j N``): command line only.
EXECUTOR = OptionSpec(
    "executor",
    "choice",
    "where notebooks execute: local (kernels of this machine) or dask (a dask.distributed "
    "cluster; needs nbrepro[dask])",
    default="local",
    cli=("--executor",),
    choices=("local", "dask"),
    nullable=False,
)
SCHEDULER = OptionSpec(
    "scheduler",
    "str",
    "Dask scheduler address tcp://HOST:PORT (default: $DASK_SCHEDULER_ADDRESS, else "
    "[tool.nbrepro] scheduler, else a local cluster nbrepro starts and stops)",
    cli=("--scheduler",),
    metavar="ADDRESS",
)
SHIP_INPUTS = OptionSpec(
    "ship_inputs",
    "bool",
    "send each Dask task the notebook's input files (recorded ones and --include globs); the "
    "worker runs in a scratch folder and sends back the files the notebook produced (for "
    "workers without a shared filesystem)",
    default=False,
    cli=("--ship-inputs",),
    nullable=False,
)
INCLUDE = OptionSpec(
    "include",
    "paths",
    "with --ship-inputs: also send the files matching GLOB (relative to the notebook's "
    "folder); repeatable",
    default=(),
    cli=("--include",),
    metavar="GLOB",
    nullable=False,
)

VERIFY_OPTIONS = register_table(
    OptionTable(
        [
            KERNEL,
            CWD,
            TIMEOUT,
            NOTEBOOK_TIMEOUT,
            OptionSpec(
                "runs",
                "int",
                "execute N times; cells whose outputs differ between runs are reported as "
                "nondeterministic",
                default=1,
                cli=("--runs",),
                metavar="N",
                pytest=True,
                rest=True,
                minimum=1,
                maximum=MAX_RUNS,
                nullable=False,
            ),
            OptionSpec(
                "jobs",
                "int",
                "verify N notebooks in parallel (separate kernels)",
                default=1,
                cli=("-j", "--jobs"),
                metavar="N",
                minimum=1,
                maximum=MAX_JOBS,
                nullable=False,
            ),
            EXECUTOR,
            SCHEDULER,
            OptionSpec(
                "rebuild_env",
                "choice",
                "verify in a rebuilt copy of the recorded environment (built with uv, cached): "
                "require (fail when it cannot be rebuilt), prefer (fall back to the current "
                "environment), off",
                default="off",
                cli=("--rebuild-env",),
                metavar="MODE",
                rest=True,
                choices=("off", "require", "prefer"),
                nullable=False,
                const="require",
            ),
            SHIP_INPUTS,
            INCLUDE,
            OptionSpec(
                "against",
                "path",
                "compare with another executed copy instead of the stored outputs",
                cli=("--against",),
                metavar="NOTEBOOK",
                group="comparison",
            ),
            OptionSpec(
                "sanitize",
                "paths",
                "nbval-style sanitize file (regex:/replace: pairs); repeatable",
                default=(),
                cli=("--sanitize",),
                metavar="FILE",
                group="comparison",
                pytest=True,
                nullable=False,
            ),
            OptionSpec(
                "rtol",
                "float",
                "relative tolerance for numbers in text outputs",
                default=0.0,
                cli=("--rtol",),
                metavar="RTOL",
                group="comparison",
                pytest=True,
                rest=True,
                minimum=0,
                nullable=False,
            ),
            OptionSpec(
                "atol",
                "float",
                "absolute tolerance for numbers in text outputs",
                default=0.0,
                cli=("--atol",),
                metavar="ATOL",
                group="comparison",
                pytest=True,
                rest=True,
                minimum=0,
                nullable=False,
            ),
            OptionSpec(
                "image_tolerance",
                "float",
                "allowed fraction of differing pixels in images (default: exact)",
                default=0.0,
                cli=("--image-tolerance",),
                metavar="FRACTION",
                group="comparison",
                pytest=True,
                rest=True,
                minimum=0,
                maximum=1,
                nullable=False,
            ),
            OptionSpec(
                "ignore_stderr",
                "bool",
                "do not compare stderr",
                default=False,
                cli=("--ignore-stderr",),
                group="comparison",
                pytest=True,
                rest=True,
                nullable=False,
            ),
            OptionSpec(
                "lax",
                "bool",
                "compare only cells marked NBVAL_CHECK_OUTPUT (nbval's lax mode); other cells "
                "must still run without error",
                default=False,
                cli=("--lax",),
                group="comparison",
                pytest=True,
                rest=True,
                nullable=False,
            ),
            OptionSpec(
                "nbval_compat",
                "bool",
                "compare outputs with nbval's rules (also automatic for notebooks that use "
                "nbval's markers): streams merged per name, images and tracebacks not compared, "
                "no built-in normalisation, a raised error fails even when stored",
                default=False,
                cli=("--nbval-compat",),
                group="comparison",
                pytest=True,
                rest=True,
                nullable=False,
            ),
            OptionSpec(
                "drift_tolerant",
                "bool",
                "treat output differences that are a recognised library drift (numpy 2 scalar "
                "reprs, pandas 3 str dtype, ...) as equal, and say so per cell",
                default=False,
                cli=("--drift-tolerant",),
                group="comparison",
                pytest=True,
                rest=True,
                nullable=False,
            ),
            OptionSpec(
                "output",
                "path",
                "keep the executed notebooks in DIR",
                cli=("--output",),
                metavar="DIR",
                group="output",
                pytest=True,
            ),
            OptionSpec(
                "suggest",
                "bool",
                "add mechanical remedies for the causes found: a cell order, a seed line, a "
                "pinned requirements file or conda environment from the recorded environment",
                default=False,
                cli=("--suggest",),
                group="output",
                rest=True,
                nullable=False,
            ),
        ]
    )
)


def verify_options_from_values(
    values: dict[str, Any], parameters: dict[str, Any] | None = None
) -> VerifyOptions:
    """The pipeline's options for validated ``values`` (every name of :data:`VERIFY_OPTIONS`)
    and papermill ``parameters``. Sanitize files are read here (one-line error if unreadable)."""
    from ..compare import CompareOptions, load_sanitizers
    from .model import VerifyOptions

    sanitizers: tuple[Any, ...] = ()
    for sanitize_file in values.get("sanitize") or ():
        sanitizers += tuple(load_sanitizers(sanitize_file))
    compare = CompareOptions(
        rtol=values.get("rtol") or 0.0,
        atol=values.get("atol") or 0.0,
        image_tolerance=values.get("image_tolerance") or 0.0,
        ignore_stderr=bool(values.get("ignore_stderr")),
        sanitizers=sanitizers,
        nbval_compat=bool(values.get("nbval_compat")),
        drift_tolerant=bool(values.get("drift_tolerant")),
    )

    def path(name: str) -> Path | None:
        value = values.get(name)
        return Path(value) if value else None

    return VerifyOptions(
        parameters=dict(parameters or {}),
        kernel=values.get("kernel"),
        cwd=path("cwd"),
        against=path("against"),
        runs=int(values.get("runs") or 1),
        timeout=values.get("timeout"),
        notebook_timeout=values.get("notebook_timeout"),
        compare=compare,
        output_dir=path("output"),
        lax=bool(values.get("lax")),
        suggest=bool(values.get("suggest")),
        jobs=int(values.get("jobs") or 1),
        executor=values.get("executor") or "local",
        scheduler=values.get("scheduler"),
        rebuild_env=values.get("rebuild_env") or "off",
        ship_inputs=bool(values.get("ship_inputs")),
        include=tuple(values.get("include") or ()),
    )
