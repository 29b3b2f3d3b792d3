"""Verification jobs: ``nbrepro verify`` run in subprocesses, with per-cell progress and cancel."""

from __future__ import annotations

from .manager import (
    CANCELLED,
    ERROR,
    FAILED,
    FINAL_STATES,
    QUEUED,
    RUNNING,
    SUCCEEDED,
    TIMEOUT,
    Job,
    JobManager,
    JobNotFound,
    validate_request,
    verify_command,
)

__all__ = [
    "CANCELLED",
    "ERROR",
    "FAILED",
    "FINAL_STATES",
    "QUEUED",
    "RUNNING",
    "SUCCEEDED",
    "TIMEOUT",
    "Job",
    "JobManager",
    "JobNotFound",
    "validate_request",
    "verify_command",
]
