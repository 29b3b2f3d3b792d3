"""The import contract: the core never imports a face, and the core's parts keep their places.

Faces (the command line, the server, the pytest plugin, the widgets) translate and render; the
core decides. Every ``import`` of every module of the installed package is read (including the
ones inside functions, relative ones resolved) and checked against the rules below.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import nbrepro

PACKAGE = Path(nbrepro.__file__).parent
#: The faces: modules that only translate and render what the core decides (``python -m
#: nbrepro`` and the ``%nbrepro`` magic included).
FACES = (
    "nbrepro.cli",
    "nbrepro.server",
    "nbrepro.pytest_plugin",
    "nbrepro.widgets",
    "nbrepro.magics",
    "nbrepro.__main__",
)
#: The package root is IPython's entry (``%load_ext nbrepro``): it hands over to the magic.
FACE_ENTRIES = ("nbrepro",)
#: Third-party packages only the server may import.
SERVER_ONLY = ("tornado", "jupyter_server")
#: (importer prefix, forbidden import prefix, why).
RULES = (
    ("nbrepro.diagnose", "nbrepro.verify", "diagnosis reads facts; verify calls diagnosis"),
    ("nbrepro.record", "nbrepro.widgets", "the recorder must not pull in ipywidgets"),
    ("nbrepro.jobs", "nbrepro.cli", "jobs call the core, not the command line"),
    ("nbrepro.analysis", "nbrepro.execute", "the static check never starts a kernel"),
    ("nbrepro.compare", "nbrepro.execute", "comparison is pure"),
)


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, as absolute dotted names."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def _modules() -> dict[str, set[str]]:
    return {
        _module_name(path): _imports(path)
        for path in PACKAGE.rglob("*.py")
        if "labextension" not in path.parts
    }


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def test_the_core_never_imports_a_face() -> None:
    offenders = {
        module: sorted(i for i in imports if any(_within(i, face) for face in FACES))
        for module, imports in _modules().items()
        if not any(_within(module, face) for face in FACES) and module not in FACE_ENTRIES
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_only_the_server_imports_tornado_or_jupyter_server() -> None:
    offenders = {
        module: sorted(i for i in imports if i.split(".")[0] in SERVER_ONLY)
        for module, imports in _modules().items()
        if not _within(module, "nbrepro.server")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_parts_of_the_core_keep_their_places() -> None:
    broken = []
    for module, imports in _modules().items():
        for importer, forbidden, why in RULES:
            if _within(module, importer):
                bad = sorted(i for i in imports if _within(i, forbidden))
                if bad:
                    broken.append(f"{module} imports {bad[0]}: {why}")
    assert broken == []


def test_the_contract_sees_relative_imports(tmp_path: Path) -> None:
    # The reader resolves ``from ..verify import x`` inside a function of nbrepro.diagnose.
    imports = _imports(PACKAGE / "verify" / "pipeline.py")
    assert "nbrepro.diagnose" in imports and "nbrepro.record.secrets" in imports


def test_help_and_check_import_no_kernel_or_server_machinery() -> None:
    code = (
        "import sys; from nbrepro.cli import build_parser; build_parser();"
        "import nbrepro.analysis, nbrepro.compare, nbrepro.notebook_io, nbrepro.provenance;"
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'tornado', 'jupyter_server', 'nbformat', 'nbclient', 'IPython', 'zmq'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
