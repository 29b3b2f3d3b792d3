"""Real outputs from a real kernel, produced once per test session for the compare tests."""

from __future__ import annotations

import base64
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.compare.pngs import make_png
from tests.kernel_session import KernelSession, new_notebook

#: A small image (built here with zlib, no plotting library) that the kernel displays.
PNG_PIXELS = [
    [(x * 40 % 256, y * 60 % 256, (x + y) * 20 % 256) for x in range(6)] for y in range(4)
]
PNG_BYTES = make_png(PNG_PIXELS, color_type=2, filters=(0, 1, 2, 3, 4))

HELPER_MODULE = """\
def explode(value):
    return 1 / value


def caution():
    import warnings
    warnings.warn("caution")
"""

#: name -> cell source. Every cell runs twice in the same kernel (execution counts differ).
CELLS: dict[str, str] = {
    "time": "%time sum(range(10))",
    "timeit": "%%timeit -n 3 -r 2\nsum(range(10))",
    "timeit_auto": "%%timeit -r 1\npass",
    "repr": textwrap.dedent(
        """\
        class Thing:
            pass
        keep = globals().setdefault("keep", [])
        keep.append(Thing())
        keep[-1]"""
    ),
    "print_repr": "print(keep[-1])",
    "traceback": "def f(x):\n    return 1 / x\nf(0)",
    "stdlib_traceback": "import json\njson.loads('{')",
    "site_packages_traceback": "import yaml\nyaml.safe_load('a: [')",
    "module_traceback": "import helper_mod\nhelper_mod.explode(0)",
    "warning": "import warnings\nwarnings.simplefilter('always')\nwarnings.warn('careful')",
    "module_warning": (
        "import warnings\nwarnings.simplefilter('always')\nimport helper_mod\nhelper_mod.caution()"
    ),
    "widget": "import ipywidgets\nipywidgets.IntSlider()",
    "ansi": "print('\\x1b[31mred\\x1b[0m and \\x1b[1;32mbold green\\x1b[0m')",
    "progress": "for i in range(4):\n    print(f'step {i}', end='\\r', flush=True)\nprint('done')",
    "streams": (
        "import sys\nprint('out 1', flush=True)\nprint('err 1', file=sys.stderr, flush=True)\n"
        "print('out 2', flush=True)"
    ),
    "html": (
        "from IPython.display import HTML, display\n"
        "display(HTML('<table><tr><th>x</th><td>1.5</td></tr><tr><th>y</th><td>2</td></tr>"
        "</table><script>var t = Date.now();</script>'))"
    ),
    "png": (
        "import base64\nfrom IPython.display import Image\n"
        f"Image(data=base64.b64decode('{base64.b64encode(PNG_BYTES).decode()}'))"
    ),
    "raises": "raise ValueError('boom')",
}


@pytest.fixture(scope="session")
def kernel_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[list[dict[str, Any]]]]:
    """``name -> [outputs of run 1, outputs of run 2]`` from one real ipykernel."""
    cwd: Path = tmp_path_factory.mktemp("kernel")
    (cwd / "helper_mod.py").write_text(HELPER_MODULE)
    names = list(CELLS)
    nb = new_notebook([CELLS[name] for name in names])
    runs: dict[str, list[list[dict[str, Any]]]] = {name: [] for name in names}
    with KernelSession(nb, cwd=cwd) as session:
        for _ in range(2):
            for index, name in enumerate(names):
                session.run_cell(index)
                runs[name].append(session.nb["cells"][index]["outputs"])
    return runs
