"""Keeping secrets out of everything the recorder writes.

Two rules: (1) no environment variable whose *name* looks like a token, key, secret, password or
credential is ever recorded, even if it is on the allowlist; (2) the *values* of such variables are
scrubbed from any free text the recorder stores (file paths, error messages), so that
``open(f"/data/{os.environ['API_TOKEN']}.csv")`` does not leak the token through the path.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

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
# A URL with credentials in it: scheme://user:password@host
_URL_CREDENTIALS = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]+:[^/\s@]+@")
# Values shorter than this are not scrubbed from text (they would mangle ordinary words).
_MIN_SCRUB_LENGTH = 4


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


def looks_like_secret_value(value: str) -> bool:
    """Whether a value carries credentials on its face (a URL with ``user:password@``)."""
    return bool(_URL_CREDENTIALS.search(value))


def secret_values(environ: Mapping[str, str] | None = None) -> list[str]:
    """Values of secret-named variables in ``environ`` (default ``os.environ``), longest first."""
    env = os.environ if environ is None else environ
    values = {
        value
        for name, value in env.items()
        if len(value) >= _MIN_SCRUB_LENGTH and is_secret_name(name)
    }
    return sorted(values, key=len, reverse=True)


def redact(text: str, environ: Mapping[str, str] | None = None) -> str:
    """``text`` with every secret value of ``environ`` and every URL password replaced.

    Used on file paths and error messages before the recorder stores or prints them.
    """
    for value in secret_values(environ):
        if value in text:
            text = text.replace(value, REDACTED)
    if "@" in text and "://" in text:
        text = _URL_CREDENTIALS.sub(lambda m: m.group(0).split("://")[0] + f"://{REDACTED}@", text)
    return text
