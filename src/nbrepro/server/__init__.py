"""The jupyter-server extension: automatic recording for every notebook, and the REST API.

Loading the extension

* reads :class:`~.config.NbreproConfig` from the server's configuration;
* opens the journal (:class:`nbrepro.journal.JournalStore`) — a locked, corrupt or unwritable
  journal never keeps the extension from loading (:func:`_open_journal`);
* installs the :class:`~.recording.RecordingService` (kernel start/restart hooks, the relay
  observer as the kernel websocket connection class, the pre-save hook);
* starts the :class:`~nbrepro.jobs.JobManager` of verification and run jobs (verifications
  keep their executed notebooks under ``NbreproConfig.verified_dir``);
* adds the REST handlers under ``<base_url>/nbrepro/api/`` (:mod:`.routes`).
"""

from __future__ import annotations

import atexit
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import NbreproError
from ..jobs import LEDGER_FILENAME, JobManager
from ..journal import JournalStore
from .config import NbreproConfig
from .paths import resolve_in_root
from .recording import RecordingService
from .routes import setup_routes
from .status import StatusService


@dataclass
class NbreproExtension:
    """Everything the handlers share, kept in ``web_app.settings["nbrepro"]``."""

    config: NbreproConfig
    root_dir: str
    journal: JournalStore
    recording: RecordingService
    status: StatusService
    jobs: JobManager


def _verified_dir(root_dir: str, setting: str, log: Any) -> Path | None:
    """The folder of verification jobs' executed copies (``None``: keep none, also when the
    setting leaves the server root, which is logged)."""
    if not setting.strip():
        return None
    try:
        return resolve_in_root(root_dir, setting)[1]
    except NbreproError as exc:
        log.warning("nbrepro: NbreproConfig.verified_dir ignored: %s", exc)
        return None


def _open_journal(config: NbreproConfig, log: Any) -> JournalStore:
    """The journal: its writes never wait on the event loop, a corrupt file is moved aside, a
    locked or unwritable one is retried; one that cannot be used at all (written by a newer
    nbrepro) keeps this server's journal in memory. Never raises."""
    path = config.journal_path or None
    try:
        journal = JournalStore(path, log=log)
    except Exception as exc:  # the journal must never keep the extension from loading
        reason = exc.message_for("plain") if isinstance(exc, NbreproError) else str(exc)
        log.warning("nbrepro: the journal is unavailable (%s); it is kept in memory only", reason)
        journal = JournalStore.unavailable(path, reason, log=log)
    atexit.register(journal.close, 2.0)
    return journal


def _load_jupyter_server_extension(server_app: Any) -> None:
    """Register nbrepro's recording and handlers with a running jupyter server."""
    config = NbreproConfig(config=server_app.config, parent=server_app)
    root_dir = str(Path(server_app.root_dir).resolve())
    journal = _open_journal(config, server_app.log)
    recording = RecordingService(
        config,
        journal,
        kernel_manager=server_app.kernel_manager,
        session_manager=server_app.session_manager,
        root_dir=root_dir,
        log=server_app.log,
    )
    jobs = JobManager(
        max_jobs=max(1, config.max_jobs),
        max_queued=max(1, config.max_queued),
        timeout=config.verify_timeout or None,
        run_timeout=config.run_timeout or None,
        executed_dir=_verified_dir(root_dir, config.verified_dir, server_app.log),
        ledger=journal.path.parent / LEDGER_FILENAME,
    )
    ext = NbreproExtension(
        config=config,
        root_dir=root_dir,
        journal=journal,
        recording=recording,
        status=StatusService(journal, kernel_specs=server_app.kernel_spec_manager),
        jobs=jobs,
    )
    web_app = server_app.web_app
    web_app.settings["nbrepro"] = ext
    if config.record:
        recording.install(server_app)
        from .relay import recording_connection_class

        base = web_app.settings.get("kernel_websocket_connection_class")
        if base is not None:
            web_app.settings["kernel_websocket_connection_class"] = recording_connection_class(
                base, recording
            )
    setup_routes(web_app)
    atexit.register(jobs.kill_all)
    server_app.log.info(
        "nbrepro server extension loaded (recording %s, journal %s)",
        "on" if config.record else "off",
        journal.path,
    )


# Older jupyter_server / notebook versions look for this name.
load_jupyter_server_extension = _load_jupyter_server_extension
