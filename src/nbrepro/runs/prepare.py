"""Reading and checking a run before anything executes: notebook, kernel, store, parameters.

Every problem found here is bad input, raised as a one-line
:class:`~nbrepro.errors.NbreproError` (exit code 2) before any kernel starts. A sweep checks
every parameter set with :func:`check_points` before its first run, so a bad name in the fifth
set runs nothing. Parameter names are checked by the core's one check
(:func:`nbrepro.execute.parameters.check_parameter_names`, through papermill's translation), in
the language of the kernel the notebook runs in.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError, NbreproError, NotebookNotFound
from ..notebook_io import read_notebook
from ..optionspec import mention
from . import options as _options  # noqa: F401 - registers the run options for mentions
from .project import find_project_root
from .store import RunStore

if TYPE_CHECKING:
    from ..execute.kernels import ResolvedKernel
    from ..execute.parameters import InjectionResult


@dataclass
class RunTarget:
    """A notebook checked for runs: where it runs, in which kernel, where its runs go."""

    path: Path
    #: The notebook as read (never modified).
    nb: dict[str, Any]
    kernel: ResolvedKernel
    project_root: Path
    store: RunStore
    work_dir: Path


def resolve_run_kernel(nb: dict[str, Any], kernel: str | ResolvedKernel | None) -> ResolvedKernel:
    """The kernel a run of ``nb`` uses (``kernel``: a name, one already resolved, or ``None``
    for the notebook's); raises :class:`~nbrepro.errors.KernelNotFound` (one line)."""
    from ..execute.kernels import ResolvedKernel, resolve_kernel

    if isinstance(kernel, ResolvedKernel):
        return kernel
    return resolve_kernel(nb, kernel)


def prepare_target(
    notebook: str | os.PathLike[str],
    *,
    kernel: str | ResolvedKernel | None = None,
    runs_dir: str | os.PathLike[str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    inputs: Iterable[str | os.PathLike[str]] = (),
) -> RunTarget:
    """Read and check ``notebook`` for a run (or a sweep of runs)."""
    from ..execute.engine import check_executable

    nb_path = Path(notebook).resolve()
    if nb_path.is_dir():
        raise InputError(f"{notebook}: is a directory, not a notebook")
    nb = read_notebook(nb_path)
    check_executable(nb, str(notebook))
    resolved = resolve_run_kernel(nb, kernel)
    project_root = find_project_root(nb_path)
    store = RunStore.for_notebook(nb_path, runs_dir)
    store.ensure_writable()
    try:
        work_dir = Path(cwd).resolve() if cwd is not None else nb_path.parent
        is_dir = work_dir.is_dir()
    except (OSError, RuntimeError):  # a name too long, a symbolic link loop
        is_dir = False
    if not is_dir:
        raise NotebookNotFound(f"{mention('cwd', cwd)}: no such working directory")
    for item in inputs:
        if not Path(item).exists():
            raise InputError(f"{mention('input', item)}: no such file")
    return RunTarget(nb_path, nb, resolved, project_root, store, work_dir)


def inject(target: RunTarget, params: Mapping[str, Any]) -> InjectionResult | None:
    """``params`` injected into the target notebook as papermill injects them (``None``: no
    parameters); names and values are checked first (one-line :class:`InputError`)."""
    from ..execute.parameters import inject_parameters

    if not params:
        return None
    return inject_parameters(
        target.nb,
        dict(params),
        kernel_name=target.kernel.name,
        language=target.kernel.language or None,
    )


def check_points(target: RunTarget, points: Sequence[Mapping[str, Any]]) -> None:
    """Check every parameter set of a sweep before any runs: a name the kernel's language
    cannot take, or a value papermill cannot write, raises a one-line :class:`InputError`
    naming the set (``parameter set 5 of 5: ...``)."""
    for index, params in enumerate(points):
        try:
            inject(target, params)
        except NbreproError as exc:
            if len(points) == 1:
                raise
            raise type(exc)(f"parameter set {index + 1} of {len(points)}: {exc.raw}") from None
