"""The one exception hierarchy of nbrepro's core.

The command line and the server handlers translate these exceptions in one place each: the CLI
prints ``nbrepro: error: <message>`` and exits with :attr:`NbreproError.exit_code`; the server
answers JSON ``{"message": ...}`` with :attr:`NbreproError.http_status`. Messages are one line
and name the thing that is wrong (a path, a parameter, a kernel), never a traceback.
"""

from __future__ import annotations

#: Exit code: every notebook reproduced / the check found nothing.
EXIT_OK = 0
#: Exit code: at least one notebook did not reproduce / the check has findings.
EXIT_FAILED = 1
#: Exit code: usage or input error (bad arguments, unreadable notebook, unknown kernel, ...).
EXIT_USAGE = 2
#: Exit code: interrupted by the user (Ctrl-C), as shells report SIGINT.
EXIT_INTERRUPTED = 130
#: Exit code: the reader of the output went away (``nbrepro runs list | head``), as shells
#: report SIGPIPE.
EXIT_BROKEN_PIPE = 141


class NbreproError(Exception):
    """Base class of every error nbrepro reports to a user.

    A message may mention options with :func:`nbrepro.optionspec.mention`; each face renders
    them in its own words with :meth:`message_for` (``str(error)`` renders them plainly).
    """

    exit_code: int = EXIT_USAGE
    http_status: int = 400

    @property
    def raw(self) -> str:
        """The message with its option mentions unrendered (to wrap in another message)."""
        return str(self.args[0]) if self.args else type(self).__name__

    def message_for(self, face: str) -> str:
        """The one-line message as ``face`` (``cli``, ``pytest``, ``rest``, ``plain``) says it."""
        from .optionspec import render_mentions

        return render_mentions(self.raw, face)

    def __str__(self) -> str:
        return self.message_for("plain")


class UsageError(NbreproError):
    """The command was called with arguments that do not fit together."""


class InputError(NbreproError):
    """An input (notebook, parameter file, sanitizer file, configuration) is unreadable/invalid."""


class NotebookNotFound(InputError):
    """A notebook path does not exist."""

    http_status = 404


class KernelNotFound(InputError):
    """The requested kernel (by name or from the notebook's kernelspec) is not installed."""


class PathOutsideRoot(InputError):
    """A path escapes the root it must stay under (``..`` or a symlink)."""

    http_status = 403


class OptionalDependencyMissing(NbreproError):
    """An optional extra (e.g. ``nbrepro[mlflow]``) is needed but not installed."""
