"""A second real Python environment with a kernel of its own, for the kernel-environment tests.

The environment is a real virtual environment (``python -m venv``) into which a tiny wheel built
here (``nbrepro-probe``, a version this interpreter does not have) is installed with pip, so the
two environments differ in a known way. With ``system_site_packages`` it also sees this
interpreter's packages (ipykernel, so a kernel can start there, and nbrepro, so its recorder can
load), as a conda or venv kernel with ipykernel installed would; without, it sees only its own.
Building one takes about two seconds and needs no network.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

PROBE_DIST = "nbrepro-probe"
PROBE_MODULE = "nbrepro_probe"
PROBE_VERSION = "7.3.1"


def build_wheel(target: Path, version: str = PROBE_VERSION) -> Path:
    """A pure-Python wheel of ``nbrepro-probe`` at ``version`` (module ``nbrepro_probe``)."""
    dist_info = f"{PROBE_MODULE}-{version}.dist-info"
    files = {
        f"{PROBE_MODULE}/__init__.py": f'VERSION = "{version}"\n',
        f"{dist_info}/METADATA": (
            f"Metadata-Version: 2.1\nName: {PROBE_DIST}\nVersion: {version}\n"
        ),
        f"{dist_info}/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: nbrepro-tests\nRoot-Is-Purelib: true\n"
            "Tag: py3-none-any\n"
        ),
    }
    record = []
    for name, text in files.items():
        digest = hashlib.sha256(text.encode()).digest()
        b64 = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        record.append(f"{name},sha256={b64},{len(text.encode())}")
    record.append(f"{dist_info}/RECORD,,")
    files[f"{dist_info}/RECORD"] = "\n".join(record) + "\n"
    target.mkdir(parents=True, exist_ok=True)
    wheel = target / f"{PROBE_MODULE}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return wheel


def venv_python(root: Path) -> Path:
    """The interpreter of the virtual environment at ``root``."""
    return root / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def make_venv(root: Path, *, system_site_packages: bool) -> Path:
    """A new virtual environment (without pip) at ``root``; its interpreter."""
    cmd = [sys.executable, "-m", "venv", "--without-pip"]
    if system_site_packages:
        cmd.append("--system-site-packages")
    subprocess.run([*cmd, str(root)], check=True, capture_output=True)
    return venv_python(root)


def pip_install(python: Path, wheel: Path) -> None:
    """Install ``wheel`` into ``python``'s environment with this interpreter's pip."""
    subprocess.run(
        [
            sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
            "--no-index", "--no-deps", "--disable-pip-version-check", str(wheel),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip


def register_kernel(kernels_dir: Path, name: str, python: Path, **spec: object) -> Path:
    """Write the kernelspec of an ipykernel kernel running ``python`` (as ``python -m ipykernel
    install --name NAME`` writes it: the interpreter's absolute path as ``argv[0]``)."""
    folder = kernels_dir / name
    folder.mkdir(parents=True, exist_ok=True)
    body = {
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": f"Python ({name})",
        "language": "python",
        **spec,
    }
    (folder / "kernel.json").write_text(json.dumps(body, indent=1))
    return folder


@dataclass(frozen=True)
class KernelVenv:
    """A virtual environment with a registered kernel: ``data_dir`` holds ``kernels/NAME``
    (put it on ``JUPYTER_PATH``)."""

    root: Path
    python: Path
    kernel: str
    data_dir: Path

    @property
    def kernelspec_dir(self) -> Path:
        """The kernel's kernelspec folder."""
        return self.data_dir / "kernels" / self.kernel


def build_kernel_venv(base: Path, *, system_site_packages: bool = True) -> KernelVenv:
    """A virtual environment under ``base`` with ``nbrepro-probe`` installed and a kernel
    ``nbr-venv`` registered for it."""
    root = base / "venv"
    python = make_venv(root, system_site_packages=system_site_packages)
    pip_install(python, build_wheel(base / "wheels"))
    data_dir = base / "jupyter-data"
    register_kernel(data_dir / "kernels", "nbr-venv", python)
    return KernelVenv(root, python, "nbr-venv", data_dir)


def copy_kernelspec(venv: KernelVenv, data_dir: Path) -> None:
    """Make the venv's kernel visible in another Jupyter data folder (a test server's)."""
    shutil.copytree(venv.kernelspec_dir, data_dir / "kernels" / venv.kernel, dirs_exist_ok=True)


#: A notebook cell that imports the probe where it is installed and runs anywhere.
PROBE_CELL = (
    "try:\n    import nbrepro_probe\n    print(nbrepro_probe.VERSION)\n"
    "except ImportError:\n    print('no probe')"
)


def record_notebook(kernel: str, sources: list[str], path: Path) -> Path:
    """Execute ``sources`` top to bottom in a real ``kernel`` with nbrepro's recorder loaded, as
    a user would, and save the notebook with its recorded provenance at ``path``."""
    from nbrepro.notebook_io import write_notebook
    from nbrepro.provenance import merge_into_notebook
    from tests.kernel_session import KernelSession, new_notebook
    from tests.record.conftest import kernel_provenance, load_recorder

    nb = new_notebook(sources, kernel=kernel)
    nb["metadata"]["kernelspec"]["display_name"] = kernel
    with KernelSession(nb, cwd=path.parent, kernel_name=kernel) as session:
        load_recorder(session)
        for index in range(len(sources)):
            session.run_cell(index)
        prov = kernel_provenance(session)
        write_notebook(merge_into_notebook(session.nb, prov), path)
    return path
