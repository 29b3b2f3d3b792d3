"""The terminal progress bar follows the event stream (shown only on a TTY by the CLI)."""

from __future__ import annotations

import io

from nbrepro.cli.verify import ProgressBar


def test_progress_bar_counts_cells_across_runs_and_clears_at_the_end():
    stream = io.StringIO()
    bar = ProgressBar(stream, runs=2)
    bar({"event": "notebook-started", "notebook": "a.ipynb", "cells": 2})
    bar({"event": "cell-started", "notebook": "a.ipynb", "index": 0, "id": "x"})
    # The first cell of the notebook (event index 0) is "cell 1", as JupyterLab counts.
    assert stream.getvalue().endswith("] a.ipynb 0/4 cell 1")
    bar({"event": "cell-finished", "notebook": "a.ipynb", "index": 0, "status": "ok"})
    assert stream.getvalue().endswith("[######------------------] a.ipynb 1/4")
    bar({"event": "notebook-finished", "notebook": "a.ipynb"})
    assert stream.getvalue().endswith("\r\x1b[2K")


def test_one_bar_follows_every_notebook_of_a_batch_and_counts_those_not_reproduced():
    stream = io.StringIO()
    bar = ProgressBar(stream, runs=1)
    bar({"event": "batch-started", "notebooks": 4, "executor": "dask"})
    for name in ("a.ipynb", "b.ipynb"):
        bar({"event": "notebook-started", "notebook": name, "cells": 2})
    bar({"event": "cell-started", "notebook": "b.ipynb", "index": 1, "id": "x"})
    assert stream.getvalue().endswith("[------------------------] 0/4 notebooks cell 2 of b.ipynb")
    bar({"event": "cell-finished", "notebook": "b.ipynb", "index": 1, "status": "ok"})
    # Half of one notebook of four: an eighth of the bar.
    assert stream.getvalue().endswith("[###---------------------] 0/4 notebooks")
    bar({"event": "notebook-finished", "notebook": "a.ipynb", "reproducible": False})
    bar({"event": "notebook-finished", "notebook": "c.ipynb", "reproducible": True})
    assert stream.getvalue().endswith("] 2/4 notebooks, 1 not reproduced")
    bar({"event": "notebook-finished", "notebook": "b.ipynb", "reproducible": True})
    bar({"event": "notebook-finished", "notebook": "d.ipynb", "reproducible": True})
    assert stream.getvalue().endswith("\r\x1b[2K")
