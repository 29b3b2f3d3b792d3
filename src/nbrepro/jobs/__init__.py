"""Jobs: verifications and versioned runs in worker processes that call the core; per-cell
progress from their events, results, cancel.

* :mod:`.request` — the typed JSON request a worker runs;
* :mod:`.worker` — ``python -m nbrepro.jobs.worker REQUEST.json``;
* :mod:`.job` — one job: progress, answer, final state, JSON form;
* :mod:`.manager` — checks requests, queues, starts, watches and cancels the workers;
* :mod:`.processes` — dying with the parent, process families;
* :mod:`.ledger` — the jobs a server killed mid-job left unfinished (``interrupted``);
* :mod:`.retention` — what finished jobs keep, bounded; the list endpoint's summaries.
"""

from __future__ import annotations

from .job import (
    CANCELLED,
    ERROR,
    FAILED,
    FINAL_STATES,
    INTERRUPTED,
    QUEUED,
    RUNNING,
    SUCCEEDED,
    TIMEOUT,
    Job,
)
from .ledger import LEDGER_FILENAME, JobLedger
from .manager import (
    JobManager,
    JobNotFound,
    JobQueueFull,
    JobStartFailed,
    validate_options,
    validate_parameters,
    validate_run_name,
)
from .request import RUN, VERIFY, JobRequest, read_request, write_request

__all__ = [
    "CANCELLED",
    "ERROR",
    "FAILED",
    "FINAL_STATES",
    "INTERRUPTED",
    "LEDGER_FILENAME",
    "QUEUED",
    "RUN",
    "RUNNING",
    "SUCCEEDED",
    "TIMEOUT",
    "VERIFY",
    "Job",
    "JobLedger",
    "JobManager",
    "JobNotFound",
    "JobQueueFull",
    "JobRequest",
    "JobStartFailed",
    "read_request",
    "validate_options",
    "validate_parameters",
    "validate_run_name",
    "write_request",
]
