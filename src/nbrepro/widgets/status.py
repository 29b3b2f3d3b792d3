"""The status view: findings, changed inputs, recorder state and a "Save provenance" button.

:func:`collect_status` gathers the facts without any widget (it is what the text fallback
prints); :class:`StatusView` renders them with ipywidgets and refreshes after a save.
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ipywidgets

from ..errors import NbreproError

#: Findings shown in the widget's table before "... and N more".
MAX_FINDINGS_SHOWN = 50


@dataclass
class StatusData:
    """What the view shows, gathered from the shell, its recorder and the notebook file."""

    #: The notebook file analysed (``None``: unknown).
    path: Path | None = None
    #: Why the notebook could not be analysed (unknown path, unreadable file), else ``None``.
    problem: str | None = None
    #: Whether the recorder is loaded in this kernel.
    recorder_loaded: bool = False
    #: ``%nbrepro status``'s lines (or one line saying the recorder is not loaded).
    recorder_lines: list[str] = field(default_factory=list)
    #: Findings of :func:`nbrepro.analysis.analyze` as dicts (``Finding.to_dict``).
    findings: list[dict[str, Any]] = field(default_factory=list)
    #: One line per input file changed or missing since the kernel read it.
    changed_inputs: list[str] = field(default_factory=list)

    def text_lines(self) -> list[str]:
        """The status as plain text (frontends that cannot show widgets)."""
        lines = [f"nbrepro status of {self.path}" if self.path else "nbrepro status"]
        if self.problem:
            lines.append(f"  {self.problem}")
        elif not self.findings:
            lines.append("  no findings")
        for finding in self.findings:
            lines.append(
                f"  {_cell_label(finding)}: {finding['rule']} {finding['message']}"
                f" (fix: {finding['fix']})"
            )
        lines += [f"  {line}" for line in self.changed_inputs]
        lines += self.recorder_lines
        return lines


def _cell_label(finding: dict[str, Any]) -> str:
    label = f"cell {finding['cell_index'] + 1}"
    if finding.get("line"):
        label += f":{finding['line']}"
    return label


def _shell(ip: Any) -> Any:
    if ip is not None:
        return ip
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


def resolve_notebook(ip: Any, path: str | os.PathLike[str] | None) -> Path | None:
    """The notebook to analyse: ``path`` if given, else the one this kernel runs (if known)."""
    if path is not None:
        return Path(path).expanduser()
    if ip is None:
        return None
    from ..record.extension import session_notebook_path

    return session_notebook_path(ip)


def collect_status(ip: Any = None, path: str | os.PathLike[str] | None = None) -> StatusData:
    """Gather the status of shell ``ip`` and notebook ``path`` (see :class:`StatusData`).

    The saved notebook is analysed with the live recorder's provenance merged in, so cells
    edited or deleted since they ran are flagged before anything is saved. Problems (no
    notebook known, unreadable file) are reported in :attr:`StatusData.problem`, never raised.
    """
    from ..record.extension import get_recorder

    shell = _shell(ip)
    recorder = get_recorder()
    if recorder is not None and shell is not None and recorder.shell is not shell:
        recorder = None
    data = StatusData(recorder_loaded=recorder is not None)
    if recorder is None:
        data.recorder_lines = ["nbrepro recorder: not loaded (run %load_ext nbrepro)"]
    else:
        data.recorder_lines = recorder.status_lines()
    data.path = resolve_notebook(shell, path)
    if data.path is None:
        data.problem = (
            "cannot tell which notebook this kernel runs: use status_widget(path='NOTEBOOK.ipynb')"
        )
        return data
    from ..analysis import analyze
    from ..notebook_io import read_notebook
    from ..provenance import merge_into_notebook

    try:
        nb = read_notebook(data.path)
    except NbreproError as exc:
        data.problem = str(exc)
        return data
    if recorder is not None:
        prov = recorder.provenance()
        nb = merge_into_notebook(nb, prov)
        data.changed_inputs = _changed_inputs(nb, data.path, prov)
    data.findings = [finding.to_dict() for finding in analyze(nb)]
    return data


def _changed_inputs(nb: dict[str, Any], path: Path, prov: dict[str, Any]) -> list[str]:
    """Input files changed or missing since the kernel read them (the environment is live)."""
    from ..record.drift import check_drift

    report = check_drift(nb, path.resolve().parent, current_env=prov.get("environment") or {})
    return [f"input {item.status}: {item.path}" for item in report.changed_inputs]


_SEVERITY_COLOURS = {"error": "#c62828", "warning": "#b26a00", "info": "#1565c0"}


def findings_html(data: StatusData) -> str:
    """The findings (and changed inputs) as an HTML table, or a line saying why there are none."""
    esc = html.escape
    if data.problem:
        return f"<p><b>Findings:</b> {esc(data.problem)}</p>"
    parts = []
    if not data.findings:
        parts.append("<p><b>Findings:</b> none: the notebook reads top to bottom.</p>")
    else:
        rows = []
        for finding in data.findings[:MAX_FINDINGS_SHOWN]:
            colour = _SEVERITY_COLOURS.get(finding["severity"], "inherit")
            rows.append(
                "<tr>"
                f"<td>{esc(_cell_label(finding))}</td>"
                f"<td style='color:{colour}'>{esc(finding['rule'])} {esc(finding['name'])}</td>"
                f"<td>{esc(finding['message'])}<br><i>fix: {esc(finding['fix'])}</i></td>"
                "</tr>"
            )
        more = len(data.findings) - MAX_FINDINGS_SHOWN
        if more > 0:
            rows.append(f"<tr><td colspan='3'>... and {more} more</td></tr>")
        parts.append(
            f"<p><b>Findings ({len(data.findings)}):</b></p>"
            "<table><tr><th>Cell</th><th>Rule</th><th>Problem</th></tr>"
            + "".join(rows)
            + "</table>"
        )
    if data.changed_inputs:
        items = "".join(f"<li>{esc(line)}</li>" for line in data.changed_inputs)
        parts.append(f"<p><b>Changed inputs:</b></p><ul>{items}</ul>")
    return "".join(parts)


def recorder_html(data: StatusData) -> str:
    """The recorder's state as preformatted text."""
    return "<pre>" + html.escape("\n".join(data.recorder_lines)) + "</pre>"


class StatusView(ipywidgets.VBox):
    """The status widget; its parts are attributes so code (and tests) can read and press them.

    ``header``, ``findings``, ``recorder`` (HTML), ``save_button``, ``refresh_button`` and
    ``message`` (HTML: the outcome of the last save).
    """

    def __init__(self, ip: Any = None, path: str | os.PathLike[str] | None = None) -> None:
        self.shell = _shell(ip)
        self.path = path
        self.data = StatusData()
        self.header = ipywidgets.HTML()
        self.findings = ipywidgets.HTML()
        self.recorder = ipywidgets.HTML()
        self.save_button = ipywidgets.Button(
            description="Save provenance",
            icon="save",
            tooltip="Write the recorded provenance into the notebook file",
        )
        self.refresh_button = ipywidgets.Button(description="Refresh", icon="refresh")
        self.message = ipywidgets.HTML()
        self.save_button.on_click(self._on_save)
        self.refresh_button.on_click(lambda _button: self.refresh())
        super().__init__(
            children=[
                self.header,
                self.findings,
                self.recorder,
                ipywidgets.HBox([self.save_button, self.refresh_button]),
                self.message,
            ]
        )
        self.refresh()

    def refresh(self) -> None:
        """Gather the status again and redraw."""
        self.data = collect_status(self.shell, self.path)
        name = html.escape(self.data.path.name) if self.data.path else "this notebook"
        self.header.value = f"<h4>nbrepro: {name}</h4>"
        self.findings.value = findings_html(self.data)
        self.recorder.value = recorder_html(self.data)
        self.save_button.disabled = not self.data.recorder_loaded or self.data.path is None

    def save(self) -> None:
        """Save the live provenance into the notebook file, report the outcome, refresh."""
        from ..record.extension import save_provenance

        path = self.data.path
        try:
            target, changed = save_provenance(self.shell, str(path) if path else None)
        except NbreproError as exc:
            self.message.value = f"<span style='color:#c62828'>{html.escape(str(exc))}</span>"
            return
        state = "saved to" if changed else "already up to date in"
        self.message.value = html.escape(f"provenance {state} {target}")
        self.refresh()

    def _on_save(self, _button: Any) -> None:
        self.save()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """The widget, with the status as text for frontends that cannot show widgets."""
        bundle = super()._repr_mimebundle_(**kwargs)
        if isinstance(bundle, dict):
            bundle["text/plain"] = "\n".join(self.data.text_lines())
        return bundle


def status_widget(ip: Any = None, path: str | os.PathLike[str] | None = None) -> StatusView:
    """The status view of shell ``ip`` (default: the running IPython) and notebook ``path``
    (default: the notebook this kernel runs, as Jupyter or VS Code tell it)."""
    return StatusView(ip, path)


def display_status(ip: Any = None, path: str | os.PathLike[str] | None = None) -> StatusView:
    """Display :func:`status_widget` in the current output area (``%nbrepro status``)."""
    from IPython.display import display

    view = status_widget(ip, path)
    display(view)
    return view
