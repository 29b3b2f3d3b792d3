"""Metrics of a notebook run: logged inside the kernel, read back from the executed notebook.

``nbrepro.log_metric(name, value)`` runs in the kernel. It emits a ``display_data`` output with
the dedicated MIME type :data:`METRIC_MIME` (``{"name": ..., "value": ...}``) and an empty
``text/plain`` so the notebook looks clean; the executed notebook therefore carries its metrics
and ``nbrepro run`` reads them back with :func:`extract_metrics`. The output holds nothing but the
name and value, so it is as deterministic as the value itself.

scrapbook's ``glue`` scraps (``application/scrapbook.scrap.json+json`` payloads
``{"name", "data", "encoder", "version"}``) and papermill's legacy ``record`` outputs are read too:
every numeric scrap becomes a metric.

Non-finite values (NaN, infinities) are valid metrics (a diverged loss); JSON has no literal for
them, so they travel as the strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

#: MIME type of the display output that ``log_metric`` emits.
METRIC_MIME = "application/vnd.nbrepro.metric+json"
#: MIME type prefix of scrapbook's glue payloads (``...scrap.<encoder>+json``).
SCRAPBOOK_PREFIX = "application/scrapbook.scrap."
#: Legacy papermill ``record`` payloads (``{name: value}``) that scrapbook also reads.
PAPERMILL_RECORD_MIME = "application/papermill.record+json"

_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}

MetricValue = float | str


def encode_value(value: float) -> MetricValue:
    """A metric value as JSON holds it: the float, or ``"NaN"``, ``"Infinity"``, ``"-Infinity"``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def decode_value(value: Any) -> float | None:
    """The float of an encoded metric value, or ``None`` when it is not a number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and value in _NON_FINITE:
        return _NON_FINITE[value]
    return None


def _coerce(name: Any, value: Any) -> tuple[str, float]:
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"metric name must be a non-empty string, not {name!r}")
    if isinstance(value, (str, bytes, bool)) or value is None:
        raise TypeError(f"metric {name!r} must be a number, not {type(value).__name__}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"metric {name!r} must be a number, not {type(value).__name__}") from None
    return name, number


#: Metrics logged in a process without an IPython kernel (plain ``python`` scripts, tests).
_local_metrics: list[tuple[str, float]] = []


def log_metric(name: str, value: float) -> None:
    """Record a metric of the current run; call it in a notebook cell.

    In a kernel the metric becomes an invisible display output that ``nbrepro run`` reads back
    from the executed notebook. Logging the same name several times records a series (the
    manifest keeps every value and reports the last one). Outside IPython the metric is kept in
    :func:`local_metrics`. Raises ``TypeError``/``ValueError`` for a non-numeric value or an
    empty name.
    """
    name, number = _coerce(name, value)
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:
        shell = None
    if shell is None:
        _local_metrics.append((name, number))
        return
    from IPython.display import display

    display(
        {METRIC_MIME: {"name": name, "value": encode_value(number)}, "text/plain": ""},
        metadata={"nbrepro": {"metric": name}},
        raw=True,
    )


def local_metrics() -> list[tuple[str, float]]:
    """Metrics logged in this process outside a kernel, in order."""
    return list(_local_metrics)


@dataclass
class Metrics:
    """Metrics read from an executed notebook.

    ``series`` keeps every logged value per name in order; ``last`` the final one (what tables
    and MLflow's run summary show). ``sources`` says where each name came from
    (``"nbrepro"``, ``"scrapbook"`` or ``"papermill"``).
    """

    series: dict[str, list[float]] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, value: float, source: str) -> None:
        """Append one value of a metric."""
        self.series.setdefault(name, []).append(value)
        self.sources.setdefault(name, source)

    @property
    def last(self) -> dict[str, float]:
        """The last value of each metric."""
        return {name: values[-1] for name, values in self.series.items()}

    def to_manifest(self) -> tuple[dict[str, MetricValue], dict[str, list[MetricValue]]]:
        """``(metrics, metric_series)`` as ``run.json`` stores them (series only for names
        logged more than once)."""
        last = {name: encode_value(v) for name, v in self.last.items()}
        series = {
            name: [encode_value(v) for v in values]
            for name, values in self.series.items()
            if len(values) > 1
        }
        return last, series


def _metrics_of_output(output: dict[str, Any]) -> Iterable[tuple[str, float, str]]:
    if output.get("output_type") not in ("display_data", "execute_result"):
        return
    data = output.get("data")
    if not isinstance(data, dict):
        return
    for mime, payload in data.items():
        if mime == METRIC_MIME and isinstance(payload, dict):
            name, number = payload.get("name"), decode_value(payload.get("value"))
            if isinstance(name, str) and number is not None:
                yield name, number, "nbrepro"
        elif mime.startswith(SCRAPBOOK_PREFIX) and isinstance(payload, dict):
            name, number = payload.get("name"), decode_value(payload.get("data"))
            if isinstance(name, str) and number is not None:
                yield name, number, "scrapbook"
        elif mime == PAPERMILL_RECORD_MIME and isinstance(payload, dict):
            for name, value in payload.items():
                number = decode_value(value)
                if number is not None:
                    yield str(name), number, "papermill"


def extract_metrics(nb: dict[str, Any]) -> Metrics:
    """Collect the metrics an executed notebook logged, in cell and output order."""
    metrics = Metrics()
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        for output in cell.get("outputs") or []:
            if isinstance(output, dict):
                for name, number, source in _metrics_of_output(output):
                    metrics.add(name, number, source)
    return metrics
