"""Log stored runs to MLflow as tracked experiments.

mlflow is an optional extra (``pip install 'nbrepro[mlflow]'``) and slow to import: it is
imported only when a run is exported. Each nbrepro run becomes one MLflow run with

* **params** — the run's parameters (non-strings as JSON);
* **metrics** — every logged value (a series keeps its steps);
* **tags** — ``nbrepro.run_id``, ``nbrepro.configuration_id``, ``nbrepro.verdict``,
  ``nbrepro.environment_digest``, ``nbrepro.notebook``, ``nbrepro.git_commit``/``git_dirty``
  and MLflow's own ``mlflow.source.name``/``mlflow.source.git.commit``/``mlflow.runName``;
* **artifacts** — ``notebook.ipynb``, ``run.json`` and ``environment.json``.

The experiment is named after the notebook (its path relative to the project root) unless one
is given. User names and passwords in a tracking URI are never recorded, and every param, metric
name, tag and artifact passes through the run's :class:`~nbrepro.record.secrets.Scrubber` on its
way out.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError, NbreproError, OptionalDependencyMissing, UsageError
from ..optionspec import mention
from . import options as _options  # noqa: F401 - registers the run options for mentions
from .metrics import decode_value
from .project import redact_uri, run_settings
from .store import ENVIRONMENT_FILE, MANIFEST_FILE, NOTEBOOK_FILE, Run

if TYPE_CHECKING:
    from ..record.secrets import Scrubber

MLFLOW_MISSING = "MLflow export needs the mlflow package: pip install 'nbrepro[mlflow]'"
_INVALID_KEY_CHARS = re.compile(r"[^\w.\- /:]")
_MAX_PARAM_LENGTH = 6000
_MAX_TAG_LENGTH = 8000


class MlflowExportError(NbreproError):
    """The tracking server refused or could not be reached; the run itself is stored."""

    exit_code = 1
    http_status = 502


class MlflowUnreachable(InputError):
    """The tracking server does not answer (checked before anything runs)."""

    http_status = 502


def _client_class() -> Any:
    try:
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise OptionalDependencyMissing(MLFLOW_MISSING) from None
    return MlflowClient


def resolve_tracking_uri(cli_value: str | None, project_root: os.PathLike[str] | str) -> str:
    """The tracking URI for the ``mlflow`` option: the URI given, else ``MLFLOW_TRACKING_URI``,
    else ``[tool.nbrepro] mlflow_tracking_uri``. Raises :class:`UsageError` when none is set."""
    if cli_value:
        return cli_value
    env = os.environ.get("MLFLOW_TRACKING_URI")
    if env:
        return env
    configured = run_settings(Path(project_root))[0].get("mlflow_tracking_uri")
    if isinstance(configured, str) and configured:
        return configured
    raise UsageError(
        f"MLflow export needs a tracking URI: give one ({mention('mlflow', 'URI')}) or set "
        "MLFLOW_TRACKING_URI or [tool.nbrepro] mlflow_tracking_uri"
    )


def configured_tracking_uri(project_root: os.PathLike[str] | str) -> str | None:
    """``[tool.nbrepro] mlflow_tracking_uri`` of the project, if set (turns export on)."""
    value = run_settings(Path(project_root))[0].get("mlflow_tracking_uri")
    return value if isinstance(value, str) and value else None


def mlflow_key(name: str) -> str:
    """A param/metric name MLflow accepts (characters it refuses become ``_``)."""
    key = _INVALID_KEY_CHARS.sub("_", name).strip() or "_"
    return key[:250]


def _param_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= _MAX_PARAM_LENGTH else text[: _MAX_PARAM_LENGTH - 3] + "..."


def _ms(iso: str | None) -> int | None:
    if not iso:
        return None
    try:
        t = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return None
    return int(t.timestamp() * 1000)


@contextmanager
def _mlflow_settings() -> Iterator[None]:
    """Fail fast on an unreachable server unless the user tuned MLflow's retries themselves,
    and keep MLflow from printing run URLs on stdout (it would corrupt ``--format json``)."""
    defaults = {
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
        "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
        "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
    }
    saved = {n: os.environ.get(n) for n in defaults}
    for name, value in defaults.items():
        os.environ.setdefault(name, value)
    try:
        yield
    finally:
        for n, v in saved.items():
            if v is None:
                os.environ.pop(n, None)
            else:
                os.environ[n] = v


def check_tracking_uri(tracking_uri: str) -> None:
    """Reach the tracking server once before running anything.

    Raises :class:`OptionalDependencyMissing` without mlflow and :class:`MlflowUnreachable`
    (one line, exit code 2) when the server does not answer.
    """
    client_cls = _client_class()
    with _mlflow_settings():
        try:
            client_cls(tracking_uri=tracking_uri).search_experiments(max_results=1)
        except Exception as exc:
            raise MlflowUnreachable(
                f"cannot reach MLflow at {redact_uri(tracking_uri)}: {_one_line(exc)}"
            ) from None


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    if "Max retries exceeded" in text or "Connection" in text:
        return "no answer (is the tracking server running?)"
    lines = text.splitlines()
    return lines[0][:300] if lines else type(exc).__name__


def _experiment_id(client: Any, name: str) -> str:
    from mlflow.exceptions import MlflowException

    exp = client.get_experiment_by_name(name)
    if exp is not None:
        if exp.lifecycle_stage == "deleted":
            client.restore_experiment(exp.experiment_id)
        return str(exp.experiment_id)
    try:
        return str(client.create_experiment(name))
    except MlflowException:
        # Another process created it first (concurrent runs of one notebook).
        exp = client.get_experiment_by_name(name)
        if exp is None:
            raise
        return str(exp.experiment_id)


def default_experiment_name(manifest: Mapping[str, Any]) -> str:
    """The experiment a run goes to by default: its notebook's path in the project."""
    return str((manifest.get("notebook") or {}).get("path") or "nbrepro")


def run_tags(manifest: Mapping[str, Any]) -> dict[str, str]:
    """The MLflow tags of a run."""
    nb = manifest.get("notebook") or {}
    git = manifest.get("git") or {}
    tags = {
        "nbrepro.run_id": manifest.get("run_id"),
        "nbrepro.configuration_id": manifest.get("configuration_id"),
        "nbrepro.verdict": manifest.get("verdict"),
        "nbrepro.environment_digest": manifest.get("environment_digest"),
        "nbrepro.notebook": nb.get("path"),
        "nbrepro.notebook_hash": nb.get("content_hash"),
        "nbrepro.version": manifest.get("nbrepro_version"),
        "nbrepro.git_commit": git.get("commit"),
        "nbrepro.git_dirty": None if git.get("dirty") is None else str(bool(git["dirty"])).lower(),
        "nbrepro.failure": manifest.get("failure"),
        "mlflow.source.name": nb.get("path"),
        "mlflow.source.type": "NOTEBOOK",
        "mlflow.source.git.commit": git.get("commit"),
        "mlflow.runName": manifest.get("name") or manifest.get("run_id"),
    }
    sweep = manifest.get("sweep")
    if isinstance(sweep, dict):
        tags["nbrepro.sweep_id"] = sweep.get("id")
    return {k: str(v)[:_MAX_TAG_LENGTH] for k, v in tags.items() if v is not None}


def _artifact(run: Run, filename: str, scrubber: Scrubber | None, scratch: Path) -> str:
    """The path of a bundle file to upload: the file itself, or a scrubbed copy of it when the
    scrubber finds a secret in it."""
    path = run.path / filename
    if scrubber is None or not scrubber.active:
        return str(path)
    text = path.read_text(encoding="utf-8")
    clean = scrubber.text(text)
    if clean == text:
        return str(path)
    copy = scratch / filename
    copy.write_text(clean, encoding="utf-8")
    return str(copy)


#: MLflow keeps a dataset digest in at most 36 characters.
_MAX_DIGEST_LENGTH = 36
#: Bytes of the input digests tag of a model version (MLflow's limit on tag values is 5000).
_MAX_VERSION_TAG_LENGTH = 5000


def input_datasets(manifest: Mapping[str, Any]) -> list[Any]:
    """The run's inputs as MLflow ``DatasetInput`` entities (``mlflow.log_input``'s form)."""
    from mlflow.entities import Dataset, DatasetInput, InputTag

    out = []
    for path, info in sorted((manifest.get("inputs") or {}).items()):
        if not isinstance(info, dict):
            continue
        digest = str(info.get("hash") or "")
        hexpart = digest.split(":", 1)[-1]
        source = json.dumps({"path": path, "hash": digest or None, "size": info.get("size")})
        dataset = Dataset(
            name=path,
            digest=(hexpart or "unhashed")[:_MAX_DIGEST_LENGTH],
            source_type="local",
            source=source,
        )
        tags = [
            InputTag("mlflow.data.context", "input"),
            InputTag("nbrepro.source", str(info.get("source"))),
        ]
        out.append(DatasetInput(dataset, tags))
    return out


def _log_run_artifacts(client: Any, run: Run, mlflow_run_id: str, scratch: Path) -> list[str]:
    """Log the run's artifacts kept in the object store under ``artifacts/<path>``; return
    their paths."""
    from .checkout import run_objects

    objects = run_objects(run)
    logged = []
    for path, info in sorted((run.manifest.get("artifacts") or {}).items()):
        if not isinstance(info, dict) or not info.get("stored") or Path(path).is_absolute():
            continue
        digest = str(info.get("hash"))
        if not objects.has(digest):
            continue
        rel = Path(path)
        local = scratch / "artifacts" / rel
        objects.restore(digest, local)
        folder = "/".join(("artifacts", *rel.parent.parts))
        client.log_artifact(mlflow_run_id, str(local), artifact_path=folder)
        logged.append(rel.as_posix())
    return logged


def model_version_tags(manifest: Mapping[str, Any]) -> dict[str, str]:
    """The tags of a registered model version: what produced it."""
    digests = {
        path: info.get("hash")
        for path, info in sorted((manifest.get("inputs") or {}).items())
        if isinstance(info, dict)
    }
    text = json.dumps(digests, sort_keys=True, separators=(",", ":"))
    if len(text) > _MAX_VERSION_TAG_LENGTH:
        text = text[: _MAX_VERSION_TAG_LENGTH - 3] + "..."
    return {
        "nbrepro.run_id": str(manifest.get("run_id")),
        "nbrepro.configuration_id": str(manifest.get("configuration_id")),
        "nbrepro.environment_digest": str(manifest.get("environment_digest")),
        "nbrepro.input_digests": text,
        "nbrepro.notebook": str((manifest.get("notebook") or {}).get("path")),
    }


def register_models(
    client: Any,
    run: Run,
    manifest: Mapping[str, Any],
    mlflow_run_id: str,
    logged: Sequence[str],
    register: Sequence[tuple[str, str]],
) -> list[dict[str, Any]]:
    """Register each ``(artifact path, model name)`` as a new model version whose source is
    the logged artifact; raises :class:`MlflowExportError` for a path that is not one of the
    run's stored artifacts."""
    if not register:
        return []
    from mlflow.exceptions import MlflowException

    artifact_uri = client.get_run(mlflow_run_id).info.artifact_uri.rstrip("/")
    out = []
    for path, name in register:
        rel = Path(path).as_posix()
        if rel not in logged:
            raise MlflowExportError(
                f"{mention('register_model', f'{path}={name}')}: {path} is not an artifact "
                f"of run {run.run_id} kept in the object store"
            )
        try:
            client.create_registered_model(name)
        except MlflowException as exc:
            if "RESOURCE_ALREADY_EXISTS" not in str(getattr(exc, "error_code", "")):
                raise
        version = client.create_model_version(
            name,
            source=f"{artifact_uri}/artifacts/{rel}",
            run_id=mlflow_run_id,
            tags=model_version_tags(manifest),
            description=f"nbrepro run {run.run_id}: {rel}",
        )
        out.append({"path": rel, "name": name, "version": int(version.version)})
    return out


def _identity(value: Any) -> Any:
    return value


def export_run(
    run: Run,
    tracking_uri: str,
    *,
    experiment: str | None = None,
    scrubber: Scrubber | None = None,
    register: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """Log a stored run to MLflow; return where it went (for the bundle's ``mlflow.json``).

    Params, metric names, tags and artifacts pass through ``scrubber`` (default: one built
    from this process's environment). Raises :class:`OptionalDependencyMissing` without mlflow
    and :class:`MlflowExportError` when the server refuses.

    The run's inputs are logged as datasets (name: the path; digest; source: the path and full
    hash), its artifacts kept in the object store are logged under ``artifacts/``, and each
    ``(path, name)`` of ``register`` registers the artifact ``path`` as a new version of the
    registered model ``name``, tagged with the run id, configuration id, input digests and
    environment digest (:func:`register_models`).
    """
    client_cls = _client_class()
    from mlflow.entities import Metric, Param

    from ..record.secrets import Scrubber

    scrub = scrubber if scrubber is not None else Scrubber()
    clean = scrub.json if scrub.active else _identity
    manifest = clean(run.manifest)
    name = clean(experiment or default_experiment_name(manifest))
    with _mlflow_settings(), tempfile.TemporaryDirectory(prefix="nbrepro-mlflow-") as scratch:
        try:
            client = client_cls(tracking_uri=tracking_uri)
            exp_id = _experiment_id(client, name)
            tags = run_tags(manifest)
            timings = manifest.get("timings") or {}
            ml_run = client.create_run(
                exp_id,
                start_time=_ms(timings.get("started")),
                tags=tags,
                run_name=tags["mlflow.runName"],
            )
            mlflow_run_id = ml_run.info.run_id
            stamp = _ms(timings.get("finished")) or int(
                datetime.now(timezone.utc).timestamp() * 1000
            )
            params = [
                Param(mlflow_key(k), _param_value(v))
                for k, v in sorted((manifest.get("parameters") or {}).items())
            ]
            metrics = []
            series = manifest.get("metric_series") or {}
            for key, value in sorted((manifest.get("metrics") or {}).items()):
                values = series.get(key) or [value]
                for step, raw in enumerate(values):
                    number = decode_value(raw)
                    if number is not None:
                        metrics.append(Metric(mlflow_key(key), number, stamp, step))
            for i in range(0, len(params), 100):
                client.log_batch(mlflow_run_id, params=params[i : i + 100])
            for i in range(0, len(metrics), 1000):
                client.log_batch(mlflow_run_id, metrics=metrics[i : i + 1000])
            for filename in (NOTEBOOK_FILE, MANIFEST_FILE, ENVIRONMENT_FILE):
                artifact = _artifact(run, filename, scrub, Path(scratch))
                client.log_artifact(mlflow_run_id, artifact)
            datasets = input_datasets(manifest)
            if datasets:
                client.log_inputs(mlflow_run_id, datasets=datasets)
            logged = _log_run_artifacts(client, run, mlflow_run_id, Path(scratch))
            registered = register_models(client, run, manifest, mlflow_run_id, logged, register)
            status = "FINISHED" if manifest.get("verdict") == "succeeded" else "FAILED"
            client.set_terminated(mlflow_run_id, status=status, end_time=stamp)
        except NbreproError:
            raise
        except Exception as exc:
            raise MlflowExportError(
                f"run {run.run_id} stored, but the MLflow export to "
                f"{redact_uri(tracking_uri)} failed: {scrub.text(_one_line(exc))}"
            ) from None
    return {
        "tracking_uri": redact_uri(tracking_uri),
        "experiment_id": exp_id,
        "experiment_name": name,
        "run_id": mlflow_run_id,
        "artifacts": sorted(logged),
        "registered": registered,
        "exported": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
