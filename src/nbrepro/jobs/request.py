"""The typed request a job worker runs: one JSON file, written by the jobs manager.

A :class:`JobRequest` says everything a worker (:mod:`nbrepro.jobs.worker`) needs: what to do
(``verify`` or ``run``), the notebook, the working directory, the papermill parameters as JSON
values (never YAML, never source text), the verification options (values of
:data:`nbrepro.verify.options.VERIFY_OPTIONS`, already validated), the run's name, where the
executed copy goes, the events file and the wall-clock budget.

The file is strict JSON: non-finite floats (``NaN``, ``Infinity``, ``-Infinity``, which a REST
body may carry) are written as ``{"$float": "nan"}`` / ``"inf"`` / ``"-inf"`` and read back as
floats, so that they reach the kernel as floats (papermill renders them ``float('nan')``). A
parameter value that is itself an object with the single key ``$float`` or ``$dict`` is wrapped
as ``{"$dict": {...}}``, so no value is ever mistaken for an encoded float.

Standard library only.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError

#: Version of the request file.
REQUEST_SCHEMA_VERSION = 1
#: Kinds of job: a verification or a versioned run.
VERIFY, RUN = "verify", "run"
KINDS = (VERIFY, RUN)

#: Exit code of a worker whose wall-clock budget ran out (as ``timeout(1)``).
EXIT_BUDGET = 124
#: Exit code of a worker stopped by SIGTERM or because its parent went away (128 + SIGTERM).
EXIT_TERMINATED = 143
#: Exit code of a worker that failed unexpectedly (``EX_SOFTWARE``).
EXIT_INTERNAL = 70

_FLOAT, _DICT = "$float", "$dict"
_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def encode_value(value: Any) -> Any:
    """``value`` (a JSON value, possibly with non-finite floats) in the request file's strict
    JSON form; raises :class:`InputError` for anything that is not a JSON value."""
    if isinstance(value, float) and not math.isfinite(value):
        return {_FLOAT: "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, (list, tuple)):
        return [encode_value(v) for v in value]
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise InputError(f"object key {key!r} is not a string: not a JSON value")
            out[key] = encode_value(item)
        if len(out) == 1 and next(iter(out)) in (_FLOAT, _DICT):
            return {_DICT: out}
        return out
    raise InputError(f"a {type(value).__name__} is not a JSON value")


def decode_value(value: Any) -> Any:
    """The inverse of :func:`encode_value`."""
    if isinstance(value, list):
        return [decode_value(v) for v in value]
    if isinstance(value, dict):
        if len(value) == 1 and _FLOAT in value and value[_FLOAT] in _NON_FINITE:
            return _NON_FINITE[value[_FLOAT]]
        if len(value) == 1 and isinstance(value.get(_DICT), dict):
            return {k: decode_value(v) for k, v in value[_DICT].items()}
        return {k: decode_value(v) for k, v in value.items()}
    return value


@dataclass
class JobRequest:
    """What one job worker runs.

    ``notebook``: the notebook's path; ``cwd``: the worker's working directory (the kernel's
    defaults to the notebook's folder); ``events``: the events file the worker writes
    (:mod:`nbrepro.verify.events`), ending with one ``result`` or ``failed`` event;
    ``parameters``: papermill parameters (JSON values); ``options``: the verification's
    :data:`~nbrepro.verify.options.VERIFY_OPTIONS` values (``verify`` only); ``name``: the run's
    name (``run`` only); ``output_dir``: where a verification keeps its executed copy, or the
    runs folder of a run (``None``: none kept / the project's); ``budget``: wall-clock seconds
    the whole job may take (``None``: no limit); ``parent_pid``: the process whose death stops
    the worker; ``face``: whose words error messages use (``rest``, ``cli``, ...).
    """

    kind: str
    notebook: str
    cwd: str
    events: str
    parameters: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    name: str | None = None
    output_dir: str | None = None
    budget: float | None = None
    parent_pid: int | None = None
    face: str = "rest"

    def to_json(self) -> dict[str, Any]:
        """The request file's content (strict JSON: non-finite floats encoded)."""
        data = asdict(self)
        data["parameters"] = encode_value(self.parameters)
        data["options"] = encode_value(self.options)
        return {"schema_version": REQUEST_SCHEMA_VERSION, **data}

    @classmethod
    def from_json(cls, data: Any) -> JobRequest:
        """A request from a file's content; raises :class:`InputError` when it is malformed."""
        if not isinstance(data, dict):
            raise InputError("job request: not a JSON object")
        version = data.get("schema_version")
        if version != REQUEST_SCHEMA_VERSION:
            raise InputError(f"job request: unsupported schema_version {version!r}")
        if data.get("kind") not in KINDS:
            raise InputError(f"job request: unknown kind {data.get('kind')!r}")
        for key in ("notebook", "cwd", "events"):
            if not isinstance(data.get(key), str) or not data[key]:
                raise InputError(f"job request: {key!r} must be a non-empty string")
        for key in ("parameters", "options"):
            if not isinstance(data.get(key, {}), dict):
                raise InputError(f"job request: {key!r} must be an object")
        budget = data.get("budget")
        if budget is not None and (
            isinstance(budget, bool) or not isinstance(budget, (int, float)) or budget <= 0
        ):
            raise InputError("job request: 'budget' must be a positive number of seconds")
        parent = data.get("parent_pid")
        if parent is not None and (isinstance(parent, bool) or not isinstance(parent, int)):
            raise InputError("job request: 'parent_pid' must be a process id")
        for key in ("name", "output_dir"):
            if data.get(key) is not None and not isinstance(data[key], str):
                raise InputError(f"job request: {key!r} must be a string")
        return cls(
            kind=data["kind"],
            notebook=data["notebook"],
            cwd=data["cwd"],
            events=data["events"],
            parameters=decode_value(data.get("parameters") or {}),
            options=decode_value(data.get("options") or {}),
            name=data.get("name"),
            output_dir=data.get("output_dir"),
            budget=float(budget) if budget is not None else None,
            parent_pid=parent,
            face=str(data.get("face") or "rest"),
        )


def write_request(request: JobRequest, path: str | os.PathLike[str]) -> Path:
    """Write ``request`` to ``path`` atomically (a temporary file beside it, then
    :func:`os.replace`); returns the path."""
    target = Path(path)
    text = json.dumps(request.to_json(), indent=1, allow_nan=False, ensure_ascii=False)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def read_request(path: str | os.PathLike[str]) -> JobRequest:
    """Read a request file; raises :class:`InputError` (one line) when it is unreadable."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot read the job request: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InputError(f"{path}: the job request is not JSON: {exc}") from None
    return JobRequest.from_json(data)
