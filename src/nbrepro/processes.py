"""Process plumbing shared by the engine (kernels) and jobs (workers): a child dies with its
parent, and a job's processes are found and signalled as one family.

* :func:`parent_death_preexec` — a ``preexec_fn`` that makes the child receive SIGTERM when the
  parent dies (Linux ``prctl(PR_SET_PDEATHSIG)``), kill -9 included;
* :func:`descendants` — every live descendant of a process (kernels run in sessions of their
  own, so a process group is not enough);
* :func:`signal_family` — signal a process group and a list of processes.

Standard library only.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

#: ``prctl`` option: the signal the calling process gets when its parent dies.
PR_SET_PDEATHSIG = 1


def _prctl() -> Callable[..., int] | None:
    """libc's ``prctl`` (``None`` off Linux or when it cannot be loaded)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    return prctl  # type: ignore[no-any-return]


def parent_death_preexec(parent_pid: int | None = None) -> Callable[[], None] | None:
    """A ``preexec_fn`` for a child that must die with this process: SIGTERM on the parent's
    death (``None`` where the platform has no such thing; the worker's own watchdog of its
    parent id covers those). ``prctl`` is looked up here, in the parent, so that the child
    only calls it; a parent already gone by then is caught by comparing the parent id."""
    prctl = _prctl()
    if prctl is None:
        return None
    expected = os.getpid() if parent_pid is None else parent_pid

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != expected:
            os.kill(os.getpid(), signal.SIGTERM)

    return preexec


def descendants(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (from ``/proc``; empty where there is no ``/proc``)."""
    children: dict[int, list[int]] = {}
    proc = Path("/proc")
    if not proc.is_dir():
        return []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may contain spaces and parentheses: split after the last ')'.
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 1 and fields[0] != "Z":
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: list[int] = []
    stack = [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def signal_family(group: int | None, family: Sequence[int], sig: int) -> None:
    """Send ``sig`` to process group ``group`` (when given) and to every pid of ``family``;
    processes already gone are skipped."""
    if group is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, sig)
    for pid in family:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)
