"""The core stays free of the server: only ``nbrepro.server`` imports tornado or jupyter_server."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import nbrepro

PACKAGE = Path(nbrepro.__file__).parent
SERVER_ONLY = ("tornado", "jupyter_server")


def _imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_only_the_server_package_imports_tornado_or_jupyter_server() -> None:
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(_imported_roots(path) & set(SERVER_ONLY))
        for path in PACKAGE.rglob("*.py")
        if "server" not in path.relative_to(PACKAGE).parts[:1] and "labextension" not in path.parts
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_help_and_check_import_no_kernel_or_server_machinery() -> None:
    code = (
        "import sys; from nbrepro.cli import build_parser; build_parser();"
        "import nbrepro.analysis, nbrepro.compare, nbrepro.notebook_io, nbrepro.provenance;"
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'tornado', 'jupyter_server', 'nbformat', 'nbclient', 'IPython', 'zmq'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
