"""Jobs: ``nbrepro verify`` and ``nbrepro run`` in subprocesses, per-cell progress, cancel."""

from __future__ import annotations

from .manager import (
    CANCELLED,
    ERROR,
    FAILED,
    FINAL_STATES,
    QUEUED,
    RUN,
    RUNNING,
    SUCCEEDED,
    TIMEOUT,
    VERIFY,
    Job,
    JobManager,
    JobNotFound,
    run_command,
    validate_request,
    validate_run_name,
    verify_command,
)

__all__ = [
    "CANCELLED",
    "ERROR",
    "FAILED",
    "FINAL_STATES",
    "QUEUED",
    "RUN",
    "RUNNING",
    "SUCCEEDED",
    "TIMEOUT",
    "VERIFY",
    "Job",
    "JobManager",
    "JobNotFound",
    "run_command",
    "validate_request",
    "validate_run_name",
    "verify_command",
]
