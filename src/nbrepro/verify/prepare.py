"""Reading and checking notebooks before any executes: kernel, parameters, baseline, targets.

Every problem found here is bad input: a one-line :class:`~nbrepro.errors.NbreproError` whose
message names options through :func:`~nbrepro.optionspec.mention`, so each face renders its
own spelling (``--runs 2`` on the command line, ``runs: 2`` over REST).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError, NbreproError, UsageError
from ..notebook_io import iter_notebook_paths, read_notebook
from ..optionspec import mention
from .model import VerifyOptions, jsonable

if TYPE_CHECKING:
    from ..envbuild.rebuild import RebuildPlan
    from ..execute.kernels import ResolvedKernel


@dataclass
class PreparedNotebook:
    """A notebook read, checked and parameterised, ready to execute."""

    path: Path
    #: The notebook as read (never modified).
    original: dict[str, Any]
    #: The notebook to execute (parameters injected when given).
    nb: dict[str, Any]
    #: The notebook whose outputs are the baseline (``None``: determinism only).
    baseline: dict[str, Any] | None
    kernel: ResolvedKernel
    cwd: Path
    warnings: list[str] = field(default_factory=list)
    output_path: Path | None = None
    #: The rebuilt recorded environment to verify in (``rebuild_env``), else ``None``.
    rebuilt: RebuildPlan | None = None

    @property
    def kernel_name(self) -> str:
        """The name of the kernel the notebook runs in."""
        return self.kernel.name


def source_digest(nb: dict[str, Any]) -> str:
    """Content hash of a notebook's code cells (``sha256:``): a result older than an edit of
    the code is stale."""
    digest = hashlib.sha256()
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code" or is_injected(cell):
            continue
        source = cell.get("source", "")
        digest.update(("".join(source) if isinstance(source, list) else str(source)).encode())
        digest.update(b"\0")
    return "sha256:" + digest.hexdigest()


def is_injected(cell: dict[str, Any]) -> bool:
    """Whether ``cell`` holds parameters injected by nbrepro or papermill."""
    from ..execute.parameters import INJECTED_TAG

    return INJECTED_TAG in ((cell.get("metadata") or {}).get("tags") or [])


def code_cell_count(nb: dict[str, Any]) -> int:
    """Code cells other than injected parameters (a papermill copy has one more)."""
    return sum(
        1 for c in nb.get("cells", []) if c.get("cell_type") == "code" and not is_injected(c)
    )


def output_target(path: Path, output_dir: Path) -> Path:
    """Where the executed copy of ``path`` is kept under ``output_dir``: its path relative to
    the current folder when it is under it, else its name."""
    resolved = path.resolve()
    try:
        rel = resolved.relative_to(Path.cwd().resolve())
    except ValueError:
        rel = Path(path.name)
    return output_dir / rel


def _short(text: str, limit: int = 200) -> str:
    """``text`` cut to ``limit`` characters for a one-line message."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _prefixed(path: Path, exc: NbreproError) -> NbreproError:
    return type(exc)(f"{path}: {exc.raw}")


def prepare_notebook(path: Path, options: VerifyOptions) -> PreparedNotebook:
    """Read and check one notebook for verification; raise NbreproError (exit 2) on bad input."""
    from ..execute.engine import check_executable
    from ..execute.kernels import resolve_kernel
    from ..execute.parameters import inject_parameters, parameters_differ, stored_parameters

    original = read_notebook(path)
    check_executable(original, str(path))
    warnings: list[str] = []
    try:
        kernel = resolve_kernel(original, options.kernel)
    except NbreproError as exc:
        raise _prefixed(path, exc) from None
    rebuilt = None
    if options.rebuild_env != "off":
        from ..envbuild.rebuild import plan_rebuild

        try:
            rebuilt, fallback = plan_rebuild(
                original, kernel, options.rebuild_env, options.provenance
            )
        except NbreproError as exc:
            raise _prefixed(path, exc) from None
        warnings.extend([fallback] if fallback else [])
    baseline: dict[str, Any] | None = original
    if options.against is not None:
        baseline = read_notebook(options.against)
        check_executable(baseline, str(options.against))
        ours, theirs = code_cell_count(original), code_cell_count(baseline)
        if ours != theirs:
            raise UsageError(
                f"{mention('against', options.against)} has {theirs} code cells and {path} has "
                f"{ours}: give an executed copy of the same notebook"
            )
    nb = original
    if options.parameters:
        if options.against is None and parameters_differ(original, options.parameters):
            stored = stored_parameters(original)
            made_with = (
                _short(json.dumps(stored, sort_keys=True)) if stored else "the notebook's defaults"
            )
            given = _short(json.dumps(jsonable(options.parameters), sort_keys=True))
            if options.runs < 2:
                raise UsageError(
                    f"{path}: the stored outputs were made with {made_with}, not with the given "
                    f"parameters {given}: compare with a copy executed with these parameters "
                    f"({mention('against')}) or check determinism only ({mention('runs', 2)})"
                )
            warnings.append(
                f"the stored outputs were made with {made_with}, not with the given parameters "
                f"{given}: checking determinism only (no baseline)"
            )
            baseline = None
        try:
            injected = inject_parameters(
                original, options.parameters, kernel_name=kernel.name, language=kernel.language
            )
        except NbreproError as exc:
            raise _prefixed(path, exc) from None
        nb = injected.nb
        warnings.extend(injected.warnings)
    cwd = options.cwd if options.cwd is not None else path.resolve().parent
    if not Path(cwd).is_dir():
        raise UsageError(f"{mention('cwd', cwd)}: not a directory")
    output_path = None
    if options.output_dir is not None:
        output_path = output_target(path, options.output_dir)
        if output_path.resolve() == path.resolve():
            raise UsageError(
                f"{mention('output', options.output_dir)} would overwrite the input {path}"
            )
    return PreparedNotebook(
        path=path,
        original=original,
        nb=nb,
        baseline=baseline,
        kernel=kernel,
        cwd=Path(cwd),
        warnings=warnings,
        output_path=output_path,
        rebuilt=rebuilt,
    )


def ensure_folder(folder: Path, where: str) -> None:
    """Create ``folder`` (and its parents) or raise a one-line InputError starting with
    ``where`` (the text naming it: an option mention, or a flag and the folder)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise InputError(f"{where}: not a folder") from None
    except OSError as exc:
        raise InputError(f"{where}: cannot create it: {exc.strerror or exc}") from None
    if not folder.is_dir():
        raise InputError(f"{where}: not a folder")


def collect_notebooks(paths: Sequence[str | os.PathLike[str]]) -> list[Path]:
    """The notebooks named by files and directories (recursive, skipping checkpoint folders)."""
    seen: set[Path] = set()
    unique = []
    for path in iter_notebook_paths(paths):
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(path)
    return unique


def prepare_all(
    paths: Sequence[str | os.PathLike[str]], options: VerifyOptions
) -> list[PreparedNotebook]:
    """Read and check every notebook named by ``paths`` before any executes."""
    notebooks = collect_notebooks(paths)
    if not notebooks:
        raise UsageError("no notebooks found in " + ", ".join(str(p) for p in paths))
    if options.against is not None and len(notebooks) > 1:
        raise UsageError(f"{mention('against')} compares one notebook; give exactly one notebook")
    if options.runs < 1:
        raise UsageError(f"{mention('runs')} must be at least 1")
    prepared = [prepare_notebook(path, options) for path in notebooks]
    targets = [p.output_path.resolve() for p in prepared if p.output_path is not None]
    if len(set(targets)) != len(targets):
        raise UsageError(f"{mention('output')}: two notebooks would be kept under the same name")
    if options.output_dir is not None:
        ensure_folder(options.output_dir, mention("output", options.output_dir))
    return prepared
