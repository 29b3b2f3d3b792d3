"""Keeping secrets out of everything the recorder writes.

Three rules: (1) no environment variable whose *name* looks like a token, key, secret, password or
credential is ever recorded, even if it is on the allowlist; (2) the value of a variable that *is*
recorded loses any credentials it carries on its face (``postgres://user:PASSWORD@host``,
``redis://:PASSWORD@host``, ``...?password=PASSWORD``, ``...;Pwd=PASSWORD;``), see
:func:`scrub_value`; (3) the *values* of secret-named variables, and the passwords inside any
variable's URL, are scrubbed from any free text the recorder stores (file paths, error messages),
so that ``open(f"/data/{os.environ['API_TOKEN']}.csv")`` does not leak the token through the path.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

#: What a redacted value is replaced with.
REDACTED = "<redacted>"

# Substrings that make a name secret wherever they appear (names are upper-cased first).
_SECRET_SUBSTRINGS = (
    "TOKEN",
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "PASSPHRASE",
    "CREDENTIAL",
    "APIKEY",
    "PRIVATE",
    "COOKIE",
    "SIGNATURE",
    "CONNECTION_STRING",
    "CONN_STR",
)
# Words that make a name secret when they are one of its ``_``/``-``/``.``-separated parts
# (``API_KEY``, ``DB_PASS``, ``AWS_ACCESS_KEY_ID``) but not inside other words (``KEYBOARD``).
_SECRET_WORDS = frozenset(
    {"KEY", "KEYS", "PASS", "PWD", "AUTH", "DSN", "SALT", "OTP", "BEARER", "SESSIONID"}
)
# Names that contain a secret word but are known to hold no secret.
_NOT_SECRET = frozenset({"PWD", "OLDPWD", "KEYMAP"})
_SPLIT = re.compile(r"[^A-Z0-9]+")
# A URL with credentials in it: scheme://user:password@host (the user may be empty, as in
# redis://:password@host; group 1 is the password) or scheme://token@host (a token as the user
# name, as git hosts accept; group 2).
_URL_CREDENTIALS = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://(?:[^/\s:@]*:([^/\s@]+)|([^/\s:@]+))@")
# ``key=value`` in a query string or a semicolon-separated connection string; group 2 is the key.
_PARAMETER = re.compile(r"(^|[?&;\s])([A-Za-z][A-Za-z0-9_.-]*)=([^&;\s]*)")
# Parameter keys that hold a password in connection strings though they are not secret as
# variable names (``PWD`` is the working directory as a variable, the password in ODBC).
_SECRET_PARAMETERS = frozenset({"PWD"})
# Values shorter than this are not scrubbed from text (they would mangle ordinary words).
_MIN_SCRUB_LENGTH = 4


@lru_cache(maxsize=4096)  # asked for every variable of the environment on every redaction
def is_secret_name(name: str) -> bool:
    """Whether an environment variable called ``name`` may hold a secret.

    Matches tokens, keys, secrets, passwords and credentials by name, case-insensitively:
    ``MY_API_TOKEN``, ``AWS_SECRET_ACCESS_KEY``, ``DB_PASSWORD``, ``GITHUB_AUTH``, ``SENTRY_DSN``.
    ``PWD``/``OLDPWD`` (the working directory) are not secrets.
    """
    upper = name.upper()
    if upper in _NOT_SECRET:
        return False
    if any(sub in upper for sub in _SECRET_SUBSTRINGS):
        return True
    return any(part in _SECRET_WORDS for part in _SPLIT.split(upper))


def _is_secret_parameter(key: str) -> bool:
    return key.upper() in _SECRET_PARAMETERS or is_secret_name(key)


def scrub_value(value: str) -> str:
    """``value`` without the credentials it carries on its face.

    The password of a URL (``scheme://user:PASSWORD@host``, also with an empty user; a lone
    ``scheme://TOKEN@host`` user name is taken for a token) and the
    value of every secret-named ``key=value`` parameter (``?password=…``, ``;Pwd=…;``,
    ``&access_token=…``) become :data:`REDACTED`; the rest (host, database, options) stays, since
    it may be what changes a result. Used on every environment variable value that is recorded.
    """
    if "://" in value and "@" in value:
        value = _URL_CREDENTIALS.sub(_redact_url_password, value)
    if "=" in value:
        value = _PARAMETER.sub(
            lambda m: (
                f"{m.group(1)}{m.group(2)}={REDACTED}"
                if _is_secret_parameter(m.group(2))
                else m.group(0)
            ),
            value,
        )
    return value


def _redact_url_password(match: re.Match[str]) -> str:
    group = 1 if match.group(1) is not None else 2
    start, end = match.start(group) - match.start(0), match.end(group) - match.start(0)
    whole = match.group(0)
    return whole[:start] + REDACTED + whole[end:]


def secret_values(environ: Mapping[str, str] | None = None) -> list[str]:
    """Values of secret-named variables in ``environ`` (default ``os.environ``), and the
    passwords inside the URLs of any variable, longest first."""
    env = os.environ if environ is None else environ
    values: set[str] = set()
    for name, value in env.items():
        if is_secret_name(name):
            values.add(value)
        if "://" in value and "@" in value:
            values.update(m.group(1) for m in _URL_CREDENTIALS.finditer(value) if m.group(1))
    return sorted((v for v in values if len(v) >= _MIN_SCRUB_LENGTH), key=len, reverse=True)


def redactor(environ: Mapping[str, str] | None = None) -> Callable[[str], str]:
    """:func:`redact` with the secrets of ``environ`` (default ``os.environ``) read once, for
    many texts (every path of a cell, every string of a notebook): reading the environment
    costs tens of microseconds, replacing in a short text a few."""
    values = secret_values(environ)

    def apply(text: str) -> str:
        for value in values:
            if value in text:
                text = text.replace(value, REDACTED)
        if "@" in text and "://" in text:
            text = _URL_CREDENTIALS.sub(_redact_url_password, text)
        return text

    return apply


def redact(text: str, environ: Mapping[str, str] | None = None) -> str:
    """``text`` with every secret value of ``environ`` and every URL password replaced.

    Used on file paths and error messages before the recorder stores or prints them.
    """
    return redactor(environ)(text)


class Scrubber:
    """The one scrubber at the pipeline's boundary: everything a verification or a run writes or
    returns (executed copies, reports, job results, run bundles, MLflow) passes through it.

    Built once per notebook from the kernel's environment (``environ``, default
    ``os.environ``): the values of secret-named variables and URL passwords become
    :data:`REDACTED` in every string of a JSON value (keys included). A notebook's stream outputs
    are joined per cell and stream name before scrubbing, so that a secret printed in two chunks
    (``write(s[:7]); flush(); write(s[7:])``) is found as well.
    """

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self.values = secret_values(environ)
        self._redact = redactor(environ)

    @property
    def active(self) -> bool:
        """Whether there is any secret to scrub (URL passwords aside)."""
        return bool(self.values)

    def text(self, text: str) -> str:
        """``text`` with every secret redacted."""
        return self._redact(text)

    def json(self, value: Any) -> Any:
        """A copy of a JSON value with every secret redacted in its strings."""
        if isinstance(value, str):
            return self._redact(value)
        if isinstance(value, dict):
            return {
                (self._redact(k) if isinstance(k, str) else k): self.json(v)
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [self.json(v) for v in value]
        return value

    def execution(self, result: Any) -> None:
        """Scrub an engine result (:class:`nbrepro.execute.engine.ExecutionResult`) in place:
        its executed notebook and the exception names and messages of its cells. Always, not
        only when the environment holds secrets: URL passwords in outputs are redacted too."""
        result.nb = self.notebook(result.nb)
        for entry in result.cells:
            if entry.error_value is not None:
                entry.error_value = self._redact(entry.error_value)
            if entry.error_name is not None:
                entry.error_name = self._redact(entry.error_name)

    def notebook(self, nb: Mapping[str, Any]) -> dict[str, Any]:
        """A scrubbed copy of a notebook dict (stream outputs joined per cell and name first)."""
        cells = []
        for cell in nb.get("cells", []) or []:
            if isinstance(cell, dict) and isinstance(cell.get("outputs"), list):
                cell = {**cell, "outputs": self._join_streams(cell["outputs"])}
            cells.append(cell)
        return self.json({**nb, "cells": cells})  # type: ignore[no-any-return]

    def _join_streams(self, outputs: list[Any]) -> list[Any]:
        """Consecutive stream outputs of one name joined into one; when a secret shows only in
        the whole text of a stream name, every output of that name is joined into its first, as
        nbclient's ``coalesce_streams`` does."""
        joined: list[Any] = []
        for output in outputs:
            if not (isinstance(output, dict) and output.get("output_type") == "stream"):
                joined.append(output)
                continue
            text = _stream_text(output)
            previous = joined[-1] if joined else None
            if (
                isinstance(previous, dict)
                and previous.get("output_type") == "stream"
                and previous.get("name") == output.get("name")
            ):
                joined[-1] = {**previous, "text": _stream_text(previous) + text}
            else:
                joined.append({**output, "text": text})
        if not self.values:
            return joined
        streams = [o for o in joined if isinstance(o, dict) and o.get("output_type") == "stream"]
        split = set()
        for name in {str(o.get("name")) for o in streams}:
            chunks = [_stream_text(o) for o in streams if str(o.get("name")) == name]
            whole = "".join(chunks)
            if any(v in whole and not any(v in chunk for chunk in chunks) for v in self.values):
                split.add(name)
        if not split:
            return joined
        merged: list[Any] = []
        first: dict[str, int] = {}
        for output in joined:
            stream = str(output.get("name")) if isinstance(output, dict) else ""
            if (
                isinstance(output, dict)
                and output.get("output_type") == "stream"
                and stream in split
            ):
                if stream in first:
                    target = merged[first[stream]]
                    merged[first[stream]] = {**target, "text": target["text"] + output["text"]}
                    continue
                first[stream] = len(merged)
            merged.append(output)
        return merged


def _stream_text(output: Mapping[str, Any]) -> str:
    text = output.get("text", "")
    if isinstance(text, list):
        return "".join(str(t) for t in text)
    return str(text)
