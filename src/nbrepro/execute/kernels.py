"""Which kernel a notebook runs in: the one place kernel names are resolved to kernelspecs.

Verification, runs, the server's status (whose environment is compared) and ``nbrepro env`` all
ask :func:`resolve_kernel` (or :func:`find_kernelspec`, which answers instead of raising).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import InputError, KernelNotFound
from ..notebook_io import kernel_name as nb_kernel_name
from ..optionspec import mention

#: The kernel used when neither the caller nor the notebook names one.
DEFAULT_KERNEL = "python3"


@dataclass(frozen=True)
class ResolvedKernel:
    """A kernel name and its installed kernelspec."""

    name: str
    spec: Any
    #: The kernelspec's language (``python``, ``bash``, ...).
    language: str
    #: The kernelspec's command line.
    argv: tuple[str, ...]

    @property
    def is_ipykernel(self) -> bool:
        """Whether the kernel is ipykernel (IPython): it takes ``--HistoryManager`` flags."""
        return any("ipykernel" in str(arg) for arg in self.argv)


def kernel_name_for(nb: dict[str, Any], requested: str | None) -> str:
    """The kernel a notebook runs in: ``requested``, else its kernelspec's, else python3."""
    return requested or nb_kernel_name(nb) or DEFAULT_KERNEL


def lookup_kernelspec(name: str, spec_manager: Any = None) -> Any:
    """The installed kernelspec called ``name``; raises :class:`KernelNotFound` (not installed)
    or :class:`InputError` (unreadable kernelspec), one line each."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    manager = spec_manager if spec_manager is not None else KernelSpecManager()
    try:
        return manager.get_kernel_spec(name)
    except NoSuchKernel:
        raise KernelNotFound(
            f"kernel {name!r} is not installed (see `jupyter kernelspec list`; choose one with "
            f"{mention('kernel')})"
        ) from None
    except (OSError, ValueError) as exc:
        raise InputError(f"kernel {name!r}: unreadable kernelspec: {exc}") from None


def resolve_kernel(
    nb: dict[str, Any], requested: str | None, spec_manager: Any = None
) -> ResolvedKernel:
    """The kernel ``nb`` runs in (:func:`kernel_name_for`) with its kernelspec."""
    name = kernel_name_for(nb, requested)
    spec = lookup_kernelspec(name, spec_manager)
    return ResolvedKernel(
        name=name,
        spec=spec,
        language=str(getattr(spec, "language", "") or ""),
        argv=tuple(str(a) for a in getattr(spec, "argv", []) or []),
    )
