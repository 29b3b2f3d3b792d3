"""The package index pip is configured to use, for uv to use the same.

uv does not read pip's configuration and would go to pypi.org: :func:`pip_index` reads what pip
reads (its configuration files, global then user then site then ``$PIP_CONFIG_FILE``, section
``[global]`` then ``[install]``; then the ``PIP_*`` variables) and :meth:`PipIndex.uv_args`
passes it on. pip considers every index equally, so uv is told to as well
(``--index-strategy unsafe-best-match``).
"""

from __future__ import annotations

import configparser
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

#: pip's default index.
PYPI = "https://pypi.org/simple"
_KEYS = ("index-url", "extra-index-url", "find-links", "no-index", "constraint", "cert")


@dataclass(frozen=True)
class PipIndex:
    """Where pip installs from."""

    index_url: str = PYPI
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False
    constraints: tuple[str, ...] = ()
    cert: str | None = None
    #: Where each setting came from (for messages).
    sources: tuple[str, ...] = field(default=(), compare=False)

    def uv_args(self) -> list[str]:
        """The ``uv pip install`` options that install from the same places."""
        args = ["--index-strategy", "unsafe-best-match"]
        if self.no_index:
            args.append("--no-index")
        else:
            args += ["--index-url", self.index_url]
            for url in self.extra_index_urls:
                args += ["--extra-index-url", url]
        for link in self.find_links:
            args += ["--find-links", link]
        for constraint in self.constraints:
            if os.path.isfile(constraint):
                args += ["--constraint", constraint]
        return args

    def uv_environ(self) -> dict[str, str]:
        """Variables uv needs for pip's certificate bundle."""
        return {"SSL_CERT_FILE": self.cert} if self.cert and os.path.isfile(self.cert) else {}


def _config_files(environ: Mapping[str, str]) -> list[Path]:
    """pip's configuration files, lowest priority first (pip's own order on POSIX)."""
    xdg_dirs = environ.get("XDG_CONFIG_DIRS") or "/etc/xdg"
    files = [Path(d) / "pip" / "pip.conf" for d in xdg_dirs.split(os.pathsep) if d]
    files.append(Path("/etc/pip.conf"))
    home = Path(environ.get("HOME") or Path.home())
    files.append(home / ".pip" / "pip.conf")
    xdg_home = environ.get("XDG_CONFIG_HOME") or str(home / ".config")
    files.append(Path(xdg_home) / "pip" / "pip.conf")
    files.append(Path(sys.prefix) / "pip.conf")
    if environ.get("PIP_CONFIG_FILE") and environ["PIP_CONFIG_FILE"] != os.devnull:
        files.append(Path(environ["PIP_CONFIG_FILE"]))
    return files


def pip_index(environ: Mapping[str, str] | None = None) -> PipIndex:
    """pip's index settings as pip itself would read them."""
    env = os.environ if environ is None else environ
    values: dict[str, str] = {}
    sources: list[str] = []
    if env.get("PIP_CONFIG_FILE") != os.devnull:
        for path in _config_files(env):
            parser = configparser.RawConfigParser()
            try:
                if not parser.read(path, encoding="utf-8"):
                    continue
            except (configparser.Error, OSError, UnicodeDecodeError):
                continue
            for section in ("global", "install"):
                if parser.has_section(section):
                    for key in _KEYS:
                        if parser.has_option(section, key):
                            values[key] = parser.get(section, key)
                            sources.append(f"{path} [{section}] {key}")
    for key in _KEYS:
        var = "PIP_" + key.upper().replace("-", "_")
        if env.get(var):
            values[key] = env[var]
            sources.append(f"${var}")

    def many(key: str) -> tuple[str, ...]:
        return tuple(values.get(key, "").split())

    return PipIndex(
        index_url=values.get("index-url", "").strip() or PYPI,
        extra_index_urls=many("extra-index-url"),
        find_links=many("find-links"),
        no_index=values.get("no-index", "").strip().lower() in ("1", "true", "yes", "on"),
        constraints=many("constraint"),
        cert=values.get("cert", "").strip() or None,
        sources=tuple(sources),
    )
