"""The extension's settings: traitlets from the server's configuration (``c.NbreproConfig``)."""

from __future__ import annotations

from traitlets import Bool, Float, Int, Unicode
from traitlets.config import Configurable

#: Notebook metadata key of per-notebook settings: ``{"record": false}`` switches recording off.
NOTEBOOK_SETTINGS_KEY = "nbrepro_settings"


class NbreproConfig(Configurable):
    """Settings of nbrepro's server extension (``c.NbreproConfig.<name>`` in jupyter_server_config).

    A notebook can also switch recording off for itself with the notebook metadata
    ``"nbrepro_settings": {"record": false}``.
    """

    record = Bool(
        True,
        help=(
            "Record every notebook's execution order in the journal and load the in-kernel "
            "recorder in Python kernels. False switches all recording off (the REST API stays "
            "available). A notebook can switch itself off with the metadata "
            '"nbrepro_settings": {"record": false}.'
        ),
    ).tag(config=True)

    load_recorder = Bool(
        True,
        help=(
            "Load the in-kernel recorder (%load_ext nbrepro) silently in Python kernels when "
            "they start and after every restart, before the user's first execution. False "
            "records the execution order only, from the messages the server relays (as for "
            "kernels of other languages)."
        ),
    ).tag(config=True)

    journal_path = Unicode(
        "",
        help=(
            "SQLite file of the execution journal. Empty: "
            "<jupyter data dir>/nbrepro/journal.sqlite3."
        ),
    ).tag(config=True)

    verify_timeout = Float(
        1800.0,
        help="Wall-time limit of one verification job, in seconds (0: no limit).",
    ).tag(config=True)

    max_jobs = Int(
        2,
        help=(
            "Jobs (verifications and experiment runs) run at the same time; further jobs "
            "wait in a queue."
        ),
    ).tag(config=True)

    max_queued = Int(
        32,
        help="Jobs that may wait in the queue; a request beyond it is answered 429.",
    ).tag(config=True)

    run_timeout = Float(
        0.0,
        help="Wall-time limit of one experiment run started from the panel, in seconds "
        "(0: no limit; a run can always be cancelled).",
    ).tag(config=True)

    verified_dir = Unicode(
        "nbrepro-verified",
        help=(
            "Folder, relative to the server root, where verification jobs keep the executed "
            "notebook: <verified_dir>/<job id>/<notebook name>, written atomically, never over "
            "the user's notebook; a job's folder is removed when the server forgets the job "
            "(after 100 newer jobs). It must stay under the root. A hidden folder (such as "
            ".nbrepro/verified) works only with ContentsManager.allow_hidden = True, since "
            "JupyterLab cannot open hidden files otherwise. Empty: keep no executed copies."
        ),
    ).tag(config=True)

    provenance_timeout = Float(
        2.0,
        help=(
            "How long a save waits for an idle kernel to answer with its provenance, in seconds. "
            "A busy kernel is not asked: the last provenance read from it is used."
        ),
    ).tag(config=True)

    bootstrap_timeout = Float(
        60.0,
        help=(
            "How long to wait for a starting kernel to load the recorder, in seconds; the "
            "user's first requests are held until then."
        ),
    ).tag(config=True)
