"""Comparing two environment snapshots: packages, Python, platform, result-changing variables.

When the recorded snapshot lists only the packages a notebook imported (``packages_scope:
"imported"``) and the current one lists everything installed, the comparison is restricted to
the recorded packages: a package the notebook never imported is not drift. A different
``packages_digest`` (something else in the installed set changed) is reported as information,
not as drift.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Change:
    """One value that differs: ``recorded`` → ``current`` (``None`` when absent on one side)."""

    name: str
    recorded: str | None
    current: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"name": self.name, "recorded": self.recorded, "current": self.current}


@dataclass
class EnvDiff:
    """Differences between a recorded environment and the current one."""

    added: dict[str, str] = field(default_factory=dict)
    removed: dict[str, str] = field(default_factory=dict)
    changed: list[Change] = field(default_factory=list)
    python: list[Change] = field(default_factory=list)
    platform: list[Change] = field(default_factory=list)
    env_vars: list[Change] = field(default_factory=list)
    installed_set_changed: bool = False

    @property
    def is_empty(self) -> bool:
        """True when nothing that can change results differs (the installed-set digest aside)."""
        return not (
            self.added
            or self.removed
            or self.changed
            or self.python
            or self.platform
            or self.env_vars
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON form (in ``nbrepro verify``'s report and ``nbrepro env diff --format json``)."""
        return {
            "drift": not self.is_empty,
            "packages": {
                "added": dict(self.added),
                "removed": dict(self.removed),
                "changed": [c.to_dict() for c in self.changed],
            },
            "python": [c.to_dict() for c in self.python],
            "platform": [c.to_dict() for c in self.platform],
            "env_vars": [c.to_dict() for c in self.env_vars],
            "installed_set_changed": self.installed_set_changed,
        }

    def summary_lines(self) -> list[str]:
        """One line per difference, for text reports."""
        lines = [f"Python {c.name}: {c.recorded} -> {c.current}" for c in self.python]
        lines += [f"platform {c.name}: {c.recorded} -> {c.current}" for c in self.platform]
        lines += [f"package changed: {c.name} {c.recorded} -> {c.current}" for c in self.changed]
        lines += [f"package removed: {n} {v}" for n, v in self.removed.items()]
        lines += [f"package added: {n} {v}" for n, v in self.added.items()]
        lines += [
            f"environment variable {c.name}: {_show(c.recorded)} -> {_show(c.current)}"
            for c in self.env_vars
        ]
        return lines

    def render_text(self) -> str:
        """The text ``nbrepro env diff`` prints."""
        if self.is_empty:
            text = "No environment drift."
        else:
            text = "Environment drift:\n" + "\n".join(f"  {line}" for line in self.summary_lines())
        if self.installed_set_changed:
            text += "\n(other installed distributions differ; the notebook does not import them)"
        return text


def _show(value: str | None) -> str:
    return "(unset)" if value is None else repr(value)


def _str_map(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k): str(v) for k, v in value.items() if v is not None}


def _changes(recorded: dict[str, str], current: dict[str, str], keys: list[str]) -> list[Change]:
    return [
        Change(k, recorded.get(k), current.get(k))
        for k in keys
        if k in recorded and recorded.get(k) != current.get(k)
    ]


def diff_environments(recorded: dict[str, Any], current: dict[str, Any]) -> EnvDiff:
    """Compare a recorded ``environment`` object with the current one (both per the schema;
    a part of the wrong type reads as absent, never as an exception)."""
    recorded = recorded if isinstance(recorded, dict) else {}
    current = current if isinstance(current, dict) else {}
    rec_pkgs = _str_map(recorded.get("packages"))
    cur_pkgs = _str_map(current.get("packages"))
    rec_scope = recorded.get("packages_scope", "imported")
    cur_scope = current.get("packages_scope", "imported")
    if rec_scope != cur_scope:
        # Compare only what both sides describe: the narrower (imported) set.
        if rec_scope == "imported":
            cur_pkgs = {n: v for n, v in cur_pkgs.items() if n in rec_pkgs}
        else:
            rec_pkgs = {n: v for n, v in rec_pkgs.items() if n in cur_pkgs}
    diff = EnvDiff()
    diff.added = {n: cur_pkgs[n] for n in sorted(set(cur_pkgs) - set(rec_pkgs))}
    diff.removed = {n: rec_pkgs[n] for n in sorted(set(rec_pkgs) - set(cur_pkgs))}
    diff.changed = [
        Change(n, rec_pkgs[n], cur_pkgs[n])
        for n in sorted(set(rec_pkgs) & set(cur_pkgs))
        if rec_pkgs[n] != cur_pkgs[n]
    ]
    rec_py, cur_py = _str_map(recorded.get("python")), _str_map(current.get("python"))
    diff.python = _changes(rec_py, cur_py, ["implementation", "version"])
    rec_plat, cur_plat = _str_map(recorded.get("platform")), _str_map(current.get("platform"))
    diff.platform = _changes(rec_plat, cur_plat, ["system", "machine", "release"])
    rec_vars, cur_vars = _str_map(recorded.get("env_vars")), _str_map(current.get("env_vars"))
    diff.env_vars = [
        Change(n, rec_vars.get(n), cur_vars.get(n))
        for n in sorted(set(rec_vars) | set(cur_vars))
        if rec_vars.get(n) != cur_vars.get(n)
    ]
    rec_digest, cur_digest = recorded.get("packages_digest"), current.get("packages_digest")
    diff.installed_set_changed = bool(rec_digest and cur_digest and rec_digest != cur_digest)
    return diff
