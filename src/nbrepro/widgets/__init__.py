"""An ipywidgets view of nbrepro's status, for frontends without the JupyterLab panel.

In VS Code, Colab or Notebook 7 without the extension, ``status_widget()`` shows the findings of
the notebook this kernel runs (its saved file analysed together with the live recorder's
journal), changed input files, the recorder's state, and a button that saves the provenance into
the notebook::

    from nbrepro.widgets import status_widget
    status_widget()

ipywidgets is imported only when a widget is made.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .status import StatusView

__all__ = ["display_status", "status_widget"]


def status_widget(ip: Any = None, path: Any = None) -> StatusView:
    """The status view of shell ``ip`` (default: the running IPython) and its notebook ``path``."""
    from .status import status_widget as make

    return make(ip, path)


def display_status(ip: Any = None, path: Any = None) -> StatusView:
    """Display the status view in the current output area and return it."""
    from .status import display_status as show

    return show(ip, path)
