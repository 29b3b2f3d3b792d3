"""Make ``binder/demo.ipynb``: a notebook that shows every kind of nbrepro flag.

The notebook comes from a REAL kernel session (``tests/kernel_session.py`` drives ipykernel as
JupyterLab does, sending each cell's id), with the recorder loaded silently and the provenance
saved by ``%nbrepro save``. What the session does, in this order:

* runs the cells top to bottom until ``scale``, then runs ``factor`` BEFORE ``scale``
  (out-of-order execution; ``scale`` uses a name defined below it);
* runs a ``threshold = ...`` cell, deletes it, and runs a cell using ``threshold`` (hidden state
  from a deleted cell; the kernel reports the deletion as JupyterLab does);
* edits the ``report`` cell after it ran (its output is stale);
* runs ``cleanup`` (``del rows``) after ``above``, which sits below it and uses ``rows`` (a
  name used after a cell above deleted it);
* never runs the last code cell;
* gives the ``pasted`` cell an output but no execution count, as a cell copied with its output
  from another notebook has (this kernel never ran it);
* draws a random number in ``random-draw`` (a nondeterministic cell: ``verify --runs 2``);
* after recording, changes ``data/measurements.csv`` (changed input data);
* records the environment with PyYAML's metadata saying 5.4.1: the kernel runs with a folder
  on ``PYTHONPATH`` holding only a ``PyYAML-5.4.1.dist-info`` (the module imported is the real
  one), so the recorded environment differs from any current one (environment drift).

Run from the repository root: ``python binder/make_demo.py`` (rewrites ``binder/demo.ipynb``
and ``binder/data/measurements.csv``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.kernel_session import KernelSession  # noqa: E402

#: The data as the notebook read it, and as it is now.
RECORDED_DATA = "site,value\nnorth,18.5\nnorth,21.0\nsouth,24.5\nsouth,26.0\n"
CURRENT_DATA = "site,value\nnorth,18.5\nnorth,21.0\nsouth,24.5\nsouth,27.5\n"
#: The PyYAML version the recorded environment names.
RECORDED_PYYAML = "5.4.1"

INTRO = """\
# nbrepro demo: every kind of flag

This notebook was made by a real kernel session that did what people do: ran cells out of order,
edited a cell after running it, deleted a cell whose variable is still used, never ran a cell...
Its provenance (`metadata.nbrepro`) was recorded by nbrepro's kernel recorder.

**See the flags**

* JupyterLab: open the **nbrepro** side panel (the cell markers show the same).
* Terminal (`File > New > Terminal`, then `cd binder`):
  * `nbrepro check demo.ipynb`: execution order, dataflow, stale outputs;
  * `nbrepro env diff demo.ipynb`: environment drift;
  * `nbrepro verify demo.ipynb --runs 2`: changed input data, the nondeterministic cell, and what
    fails when the notebook runs top to bottom.
* Any frontend: run `from nbrepro.widgets import status_widget; status_widget()` in a new cell.
"""

#: (cell id, markdown or code). Markdown cells have ids starting with "md-".
CELLS: list[tuple[str, str]] = [
    ("md-intro", INTRO),
    (
        "md-imports",
        "## Environment drift\n\nThe recorded environment had PyYAML "
        f"{RECORDED_PYYAML}; yours has another version (`nbrepro env diff demo.ipynb`).",
    ),
    ("imports", "import csv\nimport random\n\nimport yaml"),
    (
        "md-random",
        "## A nondeterministic cell\n\nNo seed: each run draws another number "
        "(`nbrepro verify demo.ipynb --runs 2` reports it as *nondeterministic*).",
    ),
    ("random-draw", "random.random()"),
    (
        "md-data",
        "## Changed input data\n\n`data/measurements.csv` changed after this cell read it: "
        "the recorded hash no longer matches the file.",
    ),
    (
        "load-data",
        'with open("data/measurements.csv", newline="") as fh:\n'
        "    rows = list(csv.DictReader(fh))\n"
        'total = sum(float(r["value"]) for r in rows)\n'
        "total",
    ),
    (
        "md-order",
        "## Use before definition, out-of-order execution\n\n`scale` uses `factor`, which "
        "the cell *below* defines; the session ran `factor` first, so the counts go down.",
    ),
    ("scale", "scaled = total * factor\nscaled"),
    ("factor", "factor = 2.5"),
    (
        "md-edited",
        "## Edited after it ran\n\nThe output below came from an older version of this cell.",
    ),
    ("report", 'print(f"scaled total: {scaled}")'),
    (
        "md-cleanup",
        "## Used after `del`\n\n`cleanup` frees `rows`, yet `above`, below it, still uses "
        "`rows`: it worked only because the session ran `cleanup` last.",
    ),
    ("cleanup", "del rows"),
    ("threshold", "threshold = 20.0"),
    (
        "md-hidden",
        "## Hidden state from a deleted cell\n\n`threshold` was defined by a cell that has "
        "since been deleted: it exists only in the kernel that ran it.",
    ),
    ("above", 'above = [r["site"] for r in rows if float(r["value"]) > threshold]\nabove'),
    (
        "md-pasted",
        "## Output without an execution count\n\nThe cell below was copied with its output "
        "from another notebook: no kernel of this notebook made that output.",
    ),
    ("pasted", 'print("north mean:", 19.75)'),
    ("md-never", "## Never run\n\nThe session never ran the cell below."),
    ("summary", 'print(yaml.safe_dump({"total": total, "scaled": scaled}))'),
]

#: Code cells in the order the session runs them (``threshold`` is deleted after it runs).
RUN_ORDER = ["imports", "random-draw", "load-data", "factor", "scale", "report", "threshold"]
EDITED_REPORT = 'print(f"scaled total: {scaled:.1f}")'
#: The output the ``pasted`` cell brought from another notebook (no execution count).
PASTED_OUTPUT = {"output_type": "stream", "name": "stdout", "text": "north mean: 19.75\n"}


def demo_notebook() -> dict[str, Any]:
    """The demo's cells, never executed."""
    cells: list[dict[str, Any]] = []
    for cell_id, source in CELLS:
        if cell_id.startswith("md-"):
            cells.append({"cell_type": "markdown", "id": cell_id, "metadata": {}, "source": source})
        else:
            cells.append(
                {
                    "cell_type": "code",
                    "id": cell_id,
                    "metadata": {},
                    "source": source,
                    "outputs": [],
                    "execution_count": None,
                }
            )
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        },
        "cells": cells,
    }


def _fake_old_pyyaml(folder: Path) -> None:
    """A distribution record (no code) saying PyYAML 5.4.1 provides ``yaml``."""
    info = folder / f"PyYAML-{RECORDED_PYYAML}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: PyYAML\nVersion: {RECORDED_PYYAML}\n", encoding="utf-8"
    )
    (info / "top_level.txt").write_text("yaml\n", encoding="utf-8")


def _index(session: KernelSession, cell_id: str) -> int:
    return next(i for i, c in enumerate(session.nb["cells"]) if c.get("id") == cell_id)


def _check(reply: dict[str, Any], what: str) -> None:
    if reply.get("status") != "ok":
        raise SystemExit(f"make_demo: {what} failed: {reply.get('ename')}: {reply.get('evalue')}")


def make_demo(out_dir: Path) -> Path:
    """Run the session in a scratch folder; write ``demo.ipynb`` and ``data/`` to ``out_dir``."""
    with tempfile.TemporaryDirectory(prefix="nbrepro-demo-") as scratch:
        work = Path(scratch) / "binder"
        (work / "data").mkdir(parents=True)
        (work / "data" / "measurements.csv").write_text(RECORDED_DATA, encoding="utf-8")
        fake_site = Path(scratch) / "old-site"
        _fake_old_pyyaml(fake_site)
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(
                p for p in (str(fake_site), os.environ.get("PYTHONPATH", "")) if p
            ),
        }
        with KernelSession(demo_notebook(), cwd=work, env=env) as session:
            reply, _ = session.execute_code("%load_ext nbrepro", silent=True, store_history=False)
            _check(reply, "%load_ext nbrepro")
            # Wait for the recorder's background scan of installed distributions: while it
            # runs, its file reads would be recorded as inputs of the cell running meanwhile.
            reply, _ = session.execute_code(
                "__import__('nbrepro.record.environment', fromlist=['_'])"
                ".installed_distributions()",
                silent=True,
                store_history=False,
            )
            _check(reply, "waiting for the environment scan")
            for cell_id in RUN_ORDER:
                _check(session.run_cell(_index(session, cell_id)), f"cell {cell_id}")
            deleted = session.delete(_index(session, "threshold"))
            _check(
                session.run_cell(_index(session, "above"), deleted_cells=[deleted]), "cell above"
            )
            _check(session.run_cell(_index(session, "cleanup")), "cell cleanup")
            session.edit(_index(session, "report"), EDITED_REPORT)
            session.nb["cells"][_index(session, "pasted")]["outputs"] = [PASTED_OUTPUT]
            notebook = session.save(work / "demo.ipynb")
            reply, outputs = session.execute_code(
                "%nbrepro save demo.ipynb", silent=True, store_history=False
            )
            _check(reply, "%nbrepro save")
            if not any("saved to" in str(o.get("text", "")) for o in outputs):
                raise SystemExit(f"make_demo: %nbrepro save did not save: {outputs}")
        (work / "data" / "measurements.csv").write_text(CURRENT_DATA, encoding="utf-8")
        text = notebook.read_text(encoding="utf-8")
        if scratch in text:
            raise SystemExit("make_demo: the notebook names the scratch folder; not writing it")
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "data").mkdir(exist_ok=True)
        shutil.copyfile(work / "data" / "measurements.csv", out_dir / "data" / "measurements.csv")
        target = out_dir / "demo.ipynb"
        target.write_text(text, encoding="utf-8")
    return target


def main() -> None:
    """``python binder/make_demo.py [--out DIR]``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "binder", help="output folder")
    args = parser.parse_args()
    print(f"wrote {make_demo(args.out)}")


if __name__ == "__main__":
    main()
