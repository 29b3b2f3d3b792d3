"""Generate the labelled corpus of issue 18: notebooks without recorded provenance, made by real
kernel sessions, with hand-written truth in ``labels.json`` beside them.

    python tests/corpus/make_corpus.py [--old-python PATH] [CASE ...]

Every case below is a notebook: its cells (source and the hand label of the cell: ``None``
when it reproduces, else the cause a correct diagnosis names), the environment its stored
outputs were made in, and its truth: whether it runs top to bottom (``runs``), the verdict of
nbval's rules (``nbval``: ``pass``/``fail``, for the cases of nbval's rules), the verdict with
``--drift-tolerant`` (``drift_tolerant``), and the verify options to use.

* ``env="new"``: the stored outputs come from a kernel of this Python environment.
* ``env="old"``: from a kernel of a second virtual environment with older library releases
  (numpy 1.23.5, pandas 1.5.3, matplotlib 3.6.3, sympy 1.3, IPython 8.18 and ipykernel), made
  with ``uv``::

      pip install uv
      uv venv /tmp/nbrepro-old-env
      uv pip install --python /tmp/nbrepro-old-env/bin/python \\
          numpy==1.23.5 pandas==1.5.3 matplotlib==3.6.3 sympy==1.3 "ipython<8.20" ipykernel

  The notebooks' kernelspec says ``python3`` (it is one; only its libraries are older).

A case may execute its cells in another order than top to bottom, some more than once
(``order``: code-cell positions), as someone re-running cells before saving does; skip cells
(never executed: no count, no outputs); run with environment variables (``CORPUS_GEN=1``, the
hash seed); serve files over HTTP on 127.0.0.1 while it runs (``serve``); and apply one
documented edit after the session (``post``: ``clear-count`` removes a cell's execution count
and keeps its outputs, as tools that strip counts do). The generated notebooks are committed:
the test re-verifies them with real kernels and never regenerates the old environment.
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
NOTEBOOKS = HERE / "notebooks"
LABELS = HERE / "labels.json"
DEFAULT_OLD_PYTHON = "/tmp/nbrepro-old-env/bin/python"
#: The port the network case's server listened on while the outputs were made.
PORT = 47311


@dataclass
class Case:
    """One notebook of the corpus and its truth."""

    env: str
    cells: list[tuple[str, str | None]]
    runs: bool
    nbval: str | None = None
    drift_tolerant: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    order: list[int] | None = None
    skip: list[int] = field(default_factory=list)
    gen_env: dict[str, str] = field(default_factory=dict)
    serve: dict[str, str] = field(default_factory=dict)
    post: dict[int, str] = field(default_factory=dict)
    #: Cause labels count only in these modes (``default`` and/or ``nbval``).
    modes: tuple[str, ...] = ("default",)


DRIFT, API, UP = "library-drift", "api-removed", "upstream-failed"
MPL_AGG = 'import matplotlib\nmatplotlib.use("Agg")\nimport matplotlib.pyplot as plt'

CASES: dict[str, Case] = {
    "numpy_scalars": Case(
        "old",
        [
            ("import numpy as np", None),
            ("np.int64(9)", DRIFT),
            ("np.float64(0.5) * 2", DRIFT),
            ("[np.int32(1), np.int32(2)]", DRIFT),
            ("np.arange(3).sum()", DRIFT),
            ("print(np.arange(3).sum())", None),
            ("np.array([1, 2, 3])", None),
            ("np.bool_(True)", DRIFT),
            ("max(np.array([4, 7]))", DRIFT),
            ("{'mean': np.mean([1.0, 2.0]), 'n': 2}", DRIFT),
        ],
        runs=True,
        drift_tolerant="reproduced",
    ),
    "pandas_dtypes": Case(
        "old",
        [
            ("import pandas as pd", None),
            ('s = pd.Series(["a", "b"])\ns', DRIFT),
            ("pd.Index([1, 2, 3])", DRIFT),
            ('df = pd.DataFrame({"x": [1, 2], "name": ["a", "b"]})\ndf.dtypes', DRIFT),
            ('df["x"].sum()', DRIFT),
            ("len(df)", None),
            ("pd.Index([1.5, 2.5])", DRIFT),
            ("pd.Index(list(range(40)))", DRIFT),
            ('print(df["x"].tolist())', None),
            ('pd.Series(["x", "y", "z"], name="letters")', DRIFT),
        ],
        runs=True,
        drift_tolerant="reproduced",
    ),
    "matplotlib_reprs": Case(
        "old",
        [
            (MPL_AGG, None),
            ("fig, ax = plt.subplots()\nax", DRIFT),
            ('ax.set_title("t")', None),
            ("ax.plot([1, 2])", None),
            ("ax.bar([1, 2], [3, 4])", None),
            ("fig2, axes = plt.subplots(1, 2)\naxes", DRIFT),
            ("fig3 = plt.figure()\nfig3.add_subplot(111)", DRIFT),
            ('plt.style.use("seaborn-v0_8-whitegrid")', None),
            ("print(len(fig.axes))", None),
        ],
        runs=True,
        drift_tolerant="reproduced",
    ),
    "sympy_latex": Case(
        "old",
        [
            (
                "import warnings\nwarnings.simplefilter('ignore')\n"
                "from sympy import symbols, init_printing, Rational\n"
                'init_printing(use_latex="mathjax")',
                None,
            ),
            ('x, y = symbols("x y")\nx**2 + y', DRIFT),
            ("Rational(1, 3)", DRIFT),
            ("print(x**2)", None),
            ("(x + 1) ** 3", DRIFT),
        ],
        runs=True,
        drift_tolerant="reproduced",
    ),
    "removed_apis": Case(
        "old",
        [
            (
                "import warnings\nwarnings.simplefilter('ignore')\n"
                "import numpy as np\nimport pandas as pd",
                None,
            ),
            ('df = pd.DataFrame({"a": [1]}).append({"a": 2}, ignore_index=True)\nlen(df)', API),
            ("df.shape", UP),
            ("np.float(1.5)", API),
            ("for k, v in pd.Series([1, 2]).iteritems():\n    print(k, v)", API),
            ('pd.DataFrame({"a": [1.234]}).applymap(lambda v: round(v, 1))', API),
            ("pd.Int64Index([1, 2])", API),
            ("np.NaN", API),
            ("print(np.nan)", None),
            ("np.product([2, 3])", API),
            ("np.int(3)", API),
        ],
        runs=False,
    ),
    "removed_styles": Case(
        "old",
        [
            ("import warnings\nwarnings.simplefilter('ignore')\n" + MPL_AGG, None),
            ('plt.style.use("seaborn-whitegrid")', API),
            ('plt.style.use("seaborn-darkgrid")\nprint("styled")', API),
            ('print("after")', None),
            ('plt.style.use("ggplot")', None),
        ],
        runs=False,
    ),
    "network": Case(
        "new",
        [
            ("import urllib.request", None),
            (f'URL = "http://127.0.0.1:{PORT}/data.txt"', None),
            ("print(urllib.request.urlopen(URL, timeout=5).read().decode())", "external-resource"),
            (
                "data = urllib.request.urlopen(URL, timeout=5).read()\nlen(data)",
                "external-resource",
            ),
            ("len(data)", UP),
            ('print("offline part")', None),
            ("size = len(data) * 2\nprint(size)", UP),
        ],
        runs=False,
        serve={"data.txt": "hello from the corpus server\n"},
    ),
    "timing": Case(
        "new",
        [
            ("import time", None),
            ("%time sum(range(10**5))", None),
            (
                "t0 = time.perf_counter()\ntotal = sum(range(10**6))\n"
                'print(f"took {time.perf_counter() - t0:.6f} s")',
                "timing",
            ),
            ("%timeit -n 10 -r 2 sum(range(1000))", None),
            (
                "start = time.time()\nsquares = [i * i for i in range(10**5)]\n"
                'elapsed = time.time() - start\nprint(f"elapsed: {elapsed * 1000:.3f} ms")',
                "timing",
            ),
            (
                "r = %timeit -o -q -n 5 -r 2 sum(range(100))\n"
                'print(f"best {r.best * 1e9:.1f} ns per loop")',
                "timing",
            ),
            ('print("done", total)', None),
            (
                "import timeit\n"
                'print(f"{timeit.timeit(lambda: sum(range(500)), number=100):.6f} seconds")',
                "timing",
            ),
        ],
        runs=True,
    ),
    "ordering": Case(
        "new",
        [
            (
                'fruits = {"apple", "banana", "cherry", "damson", "elder", "fig", "grape", '
                '"honeydew", "kiwi", "lime", "mango", "nectarine"}',
                None,
            ),
            ("print(fruits)", "ordering"),
            ("for f in fruits:\n    print(f)", "ordering"),
            ("d = {f: len(f) for f in fruits}\nprint(d)", "ordering"),
            ('print(", ".join(fruits))', "ordering"),
            ("print(sorted(fruits))", None),
            ("len(fruits)", None),
            ("print(list(fruits)[:3])", "ordering"),
            ("fruits", None),
        ],
        runs=True,
        gen_env={"PYTHONHASHSEED": "1"},
        options={"env": {"PYTHONHASHSEED": "2"}},
    ),
    "reruns": Case(
        "new",
        [
            ("n = 0", None),
            ("n += 1\nn", "rerun-accumulation"),
            ("print(n)", "rerun-accumulation"),
            ("items = []", None),
            ("items.append(len(items))\nitems", "rerun-accumulation"),
            ("total = sum(items)\ntotal", "rerun-accumulation"),
            ('print("ok")', None),
            ("x = 10", None),
            ("x = x * 2\nx", "rerun-accumulation"),
            ("m = 5", None),
            ("m", None),
        ],
        runs=True,
        order=[0, 1, 1, 1, 2, 3, 4, 4, 5, 6, 7, 8, 8, 9, 9, 10],
    ),
    "deliberate_errors": Case(
        "new",
        [
            ("x = 1", None),
            ('raise ValueError("deliberate")', None),
            ("1 / 0", None),
            ("print(x)", None),
            ('{"a": 1}["b"]', None),
        ],
        runs=True,
        nbval="fail",
        modes=("default",),
    ),
    "history_in_memory": Case(
        "new",
        [
            ("from IPython import get_ipython", None),
            ('ip = get_ipython()\nassert ip.history_manager.hist_file == ":memory:"', None),
        ],
        runs=True,
    ),
    "changed_error": Case(
        "new",
        [
            ("import random", None),
            ("raise ValueError(random.random())", "nondeterminism"),
            ('print("after")', None),
        ],
        runs=False,
    ),
    "nbval_raises_marked": Case(
        "new",
        [
            ("# NBVAL_RAISES_EXCEPTION\nraise KeyError('k')", None),
            ("print(1 + 1)", None),
        ],
        runs=True,
        nbval="pass",
        modes=("default", "nbval"),
    ),
    "nbval_raises_other": Case(
        "new",
        [
            ("import os", None),
            (
                "# NBVAL_RAISES_EXCEPTION\n"
                'raise (RuntimeError if os.environ.get("CORPUS_GEN") else KeyError)("x")',
                "unknown",
            ),
        ],
        runs=True,
        nbval="fail",
        gen_env={"CORPUS_GEN": "1"},
        modes=(),
    ),
    "nbval_coalesce": Case(
        "new",
        [
            ("import os, sys", None),
            ('print("Foo!")\nprint("Bar!")', None),
            (
                'print("Bar!", file=sys.stderr)\n'
                'if os.environ.get("CORPUS_GEN"):\n    sys.stderr.flush()\n'
                'print("Combo!")\n'
                'if os.environ.get("CORPUS_GEN"):\n    sys.stdout.flush()\n'
                'print("Foo!", file=sys.stderr)',
                None,
            ),
        ],
        runs=True,
        nbval="pass",
        gen_env={"CORPUS_GEN": "1"},
        options={"nbval_compat": True},
        modes=("nbval",),
    ),
    "nbval_stderr": Case(
        "new",
        [
            ("import random, sys", None),
            ('print("seed", random.random(), file=sys.stderr)', "nondeterminism"),
            ('print("stdout is stable")', None),
        ],
        runs=True,
        nbval="fail",
        options={"nbval_compat": True},
        modes=("nbval",),
    ),
    "nbval_stderr_ignored": Case(
        "new",
        [
            ("import random, sys", None),
            ('print("seed", random.random(), file=sys.stderr)', None),
            ('print("stdout is stable")', None),
        ],
        runs=True,
        nbval="pass",
        options={"nbval_compat": True, "ignore_stderr": True},
        modes=("nbval",),
    ),
    "nbval_latex": Case(
        "new",
        [
            ("from sympy import symbols, init_printing\ninit_printing()", None),
            ('x = symbols("x")\nx**2', None),
            ("from IPython.display import Latex\nLatex(r'$\\alpha + \\beta$')", None),
        ],
        runs=True,
        nbval="pass",
        options={"nbval_compat": True},
        modes=("nbval",),
    ),
    "nbval_latex_random": Case(
        "new",
        [
            ("import random\nfrom IPython.display import Latex", None),
            ('Latex(f"$x_{{{random.randint(0, 10**9)}}}$")', "nondeterminism"),
        ],
        runs=True,
        nbval="fail",
        options={"nbval_compat": True},
        modes=("nbval",),
    ),
    "nbval_latex_ignored": Case(
        "new",
        [
            ("import random\nfrom IPython.display import Latex", None),
            ('# NBVAL_IGNORE_OUTPUT\nLatex(f"$x_{{{random.randint(0, 10**9)}}}$")', None),
        ],
        runs=True,
        nbval="pass",
        modes=("nbval",),
    ),
    "nbval_unrun": Case(
        "new",
        [
            ('print("test")', None),
            ("# never ran before saving\nprint('test')", None),
            ('print("test")', None),
        ],
        runs=True,
        nbval="pass",
        skip=[1],
        options={"nbval_compat": True},
        modes=("nbval",),
    ),
    "nbval_unrun_outputs": Case(
        "new",
        [
            ('print("test")', None),
            ('print("count stripped")', "unknown"),
        ],
        runs=True,
        nbval="fail",
        post={1: "clear-count"},
        options={"nbval_compat": True},
        modes=(),
    ),
    "nbval_images": Case(
        "new",
        [
            ("import numpy as np\nimport matplotlib.pyplot as plt", None),
            ("plt.imshow(np.random.rand(6, 6))\nplt.show()", None),
            ('print("shape", np.random.rand(6, 6).shape)', None),
        ],
        runs=True,
        nbval="pass",
        options={"nbval_compat": True},
        modes=("nbval",),
    ),
    "nbval_no_normalisation": Case(
        "new",
        [
            ("%time total = sum(range(10**5))", "timing"),
            ("print(total)", None),
        ],
        runs=True,
        nbval="fail",
        options={"nbval_compat": True},
        modes=("nbval",),
    ),
    "nbval_carriage_return": Case(
        "new",
        [
            ('print("10%\\r50%\\r100%")', None),
            ('import sys\nsys.stdout.write("a\\bb\\n")', None),
        ],
        runs=True,
        nbval="pass",
        options={"nbval_compat": True},
        modes=("nbval",),
    ),
}


def _kernel_dir(old_python: str) -> str:
    """A Jupyter data dir with a ``corpus-old`` kernelspec for the old environment's Python."""
    root = tempfile.mkdtemp(prefix="nbrepro-corpus-kernels-")
    spec = Path(root) / "kernels" / "corpus-old"
    spec.mkdir(parents=True)
    argv = [old_python, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    kernel = {"argv": argv, "display_name": "corpus old env", "language": "python"}
    (spec / "kernel.json").write_text(json.dumps(kernel))
    return root


class _Server:
    """Files served on 127.0.0.1:PORT while one case runs."""

    def __init__(self, files: dict[str, str]) -> None:
        self.folder = tempfile.mkdtemp(prefix="nbrepro-corpus-www-")
        for name, text in files.items():
            Path(self.folder, name).write_text(text)
        folder = self.folder

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, directory=folder, **kwargs)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> _Server:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _cell_id(name: str, position: int) -> str:
    return f"{name[:20]}-{position}"


def build(name: str, case: Case, old_python: str) -> dict[str, Any]:
    """Execute one case in a real kernel session; the notebook with its stored outputs."""
    import contextlib

    import nbformat
    from jupyter_client.kernelspec import KernelSpecManager
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells.append(nbformat.v4.new_markdown_cell(f"# Corpus case `{name}`"))
    for position, (source, _label) in enumerate(case.cells):
        cell = nbformat.v4.new_code_cell(source)
        cell.id = _cell_id(name, position)
        nb.cells.append(cell)
    kernel = "python3"
    spec_manager = KernelSpecManager()
    if case.env == "old":
        kernel = "corpus-old"
        spec_manager = KernelSpecManager(
            kernel_dirs=[str(Path(_kernel_dir(old_python), "kernels"))]
        )
    env = {**os.environ, **case.gen_env}
    client = NotebookClient(
        nb, kernel_name=kernel, allow_errors=True, timeout=120, kernel_spec_manager=spec_manager
    )
    client.km = client.create_kernel_manager()
    client.km.kernel_spec_manager = spec_manager
    order = case.order if case.order is not None else list(range(len(case.cells)))
    server = _Server(case.serve) if case.serve else contextlib.nullcontext()
    with tempfile.TemporaryDirectory() as cwd, server, client.setup_kernel(cwd=cwd, env=env):
        for position in order:
            if position in case.skip:
                continue
            client.execute_cell(nb.cells[position + 1], position + 1)
    for position, edit in case.post.items():
        if edit == "clear-count":
            nb.cells[position + 1].execution_count = None
            for out in nb.cells[position + 1].outputs:
                out.pop("execution_count", None)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata.pop("language_info", None)
    return dict(nb)


def labels_of(cases: dict[str, Case]) -> dict[str, Any]:
    """The truth of every case, as ``labels.json`` stores it."""
    out: dict[str, Any] = {}
    for name, case in cases.items():
        out[f"{name}.ipynb"] = {
            "env": case.env,
            "runs": case.runs,
            "nbval": case.nbval,
            "drift_tolerant": case.drift_tolerant,
            "options": case.options,
            "modes": list(case.modes),
            "cells": {
                _cell_id(name, position): label
                for position, (_source, label) in enumerate(case.cells)
            },
        }
    return {"notebooks": out}


def main(argv: list[str] | None = None) -> int:
    """Generate the cases named (default: all) and rewrite ``labels.json``."""
    import nbformat

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", help="case names (default: all)")
    parser.add_argument("--old-python", default=DEFAULT_OLD_PYTHON)
    args = parser.parse_args(argv)
    names = args.cases or list(CASES)
    unknown = [n for n in names if n not in CASES]
    if unknown:
        parser.error(f"unknown cases: {', '.join(unknown)}")
    if any(CASES[n].env == "old" for n in names) and not Path(args.old_python).exists():
        parser.error(f"{args.old_python}: no such Python (make the old environment first)")
    NOTEBOOKS.mkdir(exist_ok=True)
    for name in names:
        print(f"generating {name} ({CASES[name].env})", file=sys.stderr)
        nb = build(name, CASES[name], args.old_python)
        nbformat.write(nbformat.from_dict(nb), str(NOTEBOOKS / f"{name}.ipynb"))
    LABELS.write_text(json.dumps(labels_of(CASES), indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
