"""The pytest plugin: ``pytest --nbrepro [PATH...]`` verifies notebooks as test items.

Every ``*.ipynb`` file pytest collects (``.ipynb_checkpoints`` folders skipped) becomes ONE test
item, so pytest-xdist (``-n 4``) spreads notebooks over workers. The item re-executes the notebook
in a fresh kernel with :func:`nbrepro.verify.verify_notebook` and fails when it does not
reproduce its stored outputs; the failure shows each failing cell, its cause and its diff.

The options mirror ``nbrepro verify``'s (``--nbrepro-kernel``, ``--nbrepro-timeout``,
``--nbrepro-rtol``, ``--nbrepro-sanitize``, ``--nbrepro-runs``, ``--nbrepro-param NAME=VALUE``,
...); each has an ini setting of the same name with underscores (``nbrepro_timeout = 60``), and
the command line wins. See ``docs/ci.md``.

The plugin is loaded by every pytest run (entry point ``pytest11``), so this module imports only
pytest and the standard library; nbrepro's core is imported when the first notebook runs. Without
``--nbrepro`` it does nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pytest

if TYPE_CHECKING:
    from .verify import NotebookReport, VerifyOptions

#: The stash key under which the verify options built at configure time are kept.
_OPTIONS_KEY = pytest.StashKey["VerifyOptions"]()
#: A line ipykernel prints at every start; never shown to users.
_TCP_WARNING = "Kernel is running over TCP without encryption"
#: Name of the one item collected per notebook (its node id is ``path/to/nb.ipynb::verify``).
ITEM_NAME = "verify"


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--nbrepro`` and the verify options (command line and ini), generated from
    :data:`nbrepro.verify.options.VERIFY_OPTIONS` (the options pytest offers)."""
    from .optionspec import PYTEST
    from .verify.options import VERIFY_OPTIONS

    group = parser.getgroup("nbrepro", "notebook reproducibility (nbrepro)")
    group.addoption(
        "--nbrepro",
        action="store_true",
        default=False,
        help="collect *.ipynb files and verify that each reproduces its stored outputs",
    )
    for spec in VERIFY_OPTIONS.for_face(PYTEST):
        kwargs: dict[str, Any] = {"dest": spec.ini_name, "help": spec.help}
        ini_type: Literal["string", "bool", "paths"] = "string"
        if spec.kind == "bool":
            kwargs.update(action="store_const", const=True)
            ini_type = "bool"
        elif spec.kind == "paths":
            kwargs.update(action="append", metavar=spec.metavar)
            ini_type = "paths"
        else:
            kwargs["metavar"] = spec.metavar
        group.addoption(spec.pytest_flag, **kwargs)
        parser.addini(spec.ini_name, spec.help, type=ini_type)
    group.addoption(
        "--nbrepro-param",
        dest="nbrepro_param",
        action="append",
        metavar="NAME=VALUE",
        help="papermill parameter NAME=VALUE, typed as papermill types it; repeatable",
    )
    parser.addini("nbrepro_param", "papermill parameters NAME=VALUE, one per line", type="linelist")
    group.addoption(
        "--nbrepro-parameters-file",
        dest="nbrepro_parameters_file",
        metavar="FILE",
        help="YAML file of papermill parameters",
    )
    parser.addini("nbrepro_parameters_file", "YAML file of papermill parameters")


def _setting(config: pytest.Config, key: str) -> Any:
    """The command-line value of an option (``key``: its ini name), else the ini value
    (``None``: unset)."""
    value = config.getoption(key)
    if value is not None:
        return value
    ini = config.getini(key)
    if ini in ("", [], None):
        return None
    return ini


def build_options(config: pytest.Config) -> VerifyOptions:
    """The :class:`~nbrepro.verify.VerifyOptions` for pytest's command line and ini settings.

    Raises :class:`pytest.UsageError` (one line) on a bad value, an unreadable sanitize or
    parameter file, or a malformed ``--nbrepro-param``.
    """
    from .errors import NbreproError
    from .execute.parameters import parse_parameters
    from .optionspec import PYTEST
    from .verify.options import VERIFY_OPTIONS, verify_options_from_values

    pairs = []
    for item in _setting(config, "nbrepro_param") or []:
        name, sep, value = str(item).partition("=")
        if not sep or not name.strip():
            raise pytest.UsageError(f"--nbrepro-param expects NAME=VALUE, got {item!r}")
        pairs.append((name.strip(), value))
    params_file = _setting(config, "nbrepro_parameters_file")
    try:
        values = VERIFY_OPTIONS.defaults()
        for spec in VERIFY_OPTIONS.for_face(PYTEST):
            raw = _setting(config, spec.ini_name)
            if raw is None:
                continue
            if spec.kind == "paths":
                values[spec.name] = spec.validate([str(p) for p in raw])
            elif isinstance(raw, str):
                values[spec.name] = spec.parse_text(raw)
            else:
                values[spec.name] = spec.validate(raw)
        parameters = parse_parameters(p=pairs, files=[str(params_file)] if params_file else [])
        return verify_options_from_values(values, parameters)
    except NbreproError as exc:
        raise pytest.UsageError(f"nbrepro: {exc.message_for(PYTEST)}") from None


def pytest_configure(config: pytest.Config) -> None:
    """With ``--nbrepro``, check the options once, before anything is collected."""
    if config.getoption("nbrepro"):
        config.stash[_OPTIONS_KEY] = build_options(config)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """Collect each ``*.ipynb`` file (outside ``.ipynb_checkpoints``) when ``--nbrepro`` is on."""
    if file_path.suffix != ".ipynb" or not parent.config.getoption("nbrepro"):
        return None
    if ".ipynb_checkpoints" in file_path.parts:
        return None
    notebook: NotebookFile = NotebookFile.from_parent(parent, path=file_path)
    return notebook


class NotebookFile(pytest.File):
    """A notebook file: it yields one :class:`NotebookItem`."""

    def collect(self) -> Iterator[pytest.Item]:
        """The notebook's single item."""
        yield NotebookItem.from_parent(self, name=ITEM_NAME)


class NotReproduced(Exception):
    """Raised by :meth:`NotebookItem.runtest` when the notebook did not reproduce."""

    def __init__(self, report: NotebookReport) -> None:
        super().__init__(report.reason)
        self.report = report


class CannotVerify(Exception):
    """Raised when nbrepro rejects the notebook or an option before executing (one line)."""


class NotebookItem(pytest.Item):
    """Verify one notebook: pass when it reproduces, fail with per-cell causes and diffs."""

    report: NotebookReport | None = None

    def runtest(self) -> None:
        """Execute and compare the notebook (imports nbrepro's core only now)."""
        from .errors import NbreproError
        from .verify import verify_notebook

        options = self.config.stash[_OPTIONS_KEY]
        try:
            report = verify_notebook(self.path, options)
        except NbreproError as exc:
            raise CannotVerify(exc.message_for("pytest")) from None
        report.path = self._display_path()
        self.report = report
        self.user_properties.append(("nbrepro_status", report.status))
        if not report.reproducible:
            raise NotReproduced(report)

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: Any = None,
    ) -> str | Any:
        """The verify report of the notebook: the verdict, then each failing cell and its diff."""
        if isinstance(excinfo.value, NotReproduced):
            return failure_text(excinfo.value.report)
        if isinstance(excinfo.value, CannotVerify):
            return f"nbrepro: error: {excinfo.value}"
        return super().repr_failure(excinfo, style=style)

    def _display_path(self) -> str:
        """The notebook's path from pytest's rootdir (absolute when outside it)."""
        try:
            return self.path.relative_to(self.config.rootpath).as_posix()
        except ValueError:
            return str(self.path)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        """Where pytest says the item lives: the notebook."""
        return self.path, None, self.name


def failure_text(report: NotebookReport) -> str:
    """The text pytest shows for a notebook that did not reproduce (kernel TCP noise removed)."""
    from .report.text import render_notebook

    lines = [line for line in render_notebook(report, face="pytest") if _TCP_WARNING not in line]
    return "\n".join(lines)
