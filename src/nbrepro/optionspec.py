"""Options declared once, for every face: the command line, pytest, the REST API and jobs.

An :class:`OptionSpec` says everything about one option: its type, default, bounds, help text and
its name on each face (``--timeout`` on the command line, ``--nbrepro-timeout`` / ini
``nbrepro_timeout`` in pytest, ``"timeout"`` in a REST request's ``options``). The faces generate
their options from the specs (argparse in :mod:`nbrepro.cli.spec_args`, pytest in
:mod:`nbrepro.pytest_plugin`, request validation here), so a value that one face refuses is
refused by all of them with the same words.

Core messages never name a face's flag: they write :func:`mention` (``mention("runs", 2)``) and
each face renders it with :func:`render_mentions` (``--runs 2``, ``--nbrepro-runs 2``,
``options.runs = 2``). A mention of an option a face does not offer is dropped, with the
parentheses around it.

Standard library only (``nbrepro --help`` imports it).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from .errors import InputError

#: The faces options are rendered for.
CLI, PYTEST, REST, PLAIN = "cli", "pytest", "rest", "plain"
FACES = (CLI, PYTEST, REST, PLAIN)

#: Option kinds: how a value is parsed from text and checked as JSON.
KINDS = ("int", "float", "str", "bool", "path", "paths", "choice")

_MENTION = re.compile(r"⟦([a-z_]+)(?:=([^⟧]*))?⟧")
_PAREN_MENTION = re.compile(r" ?\(⟦([a-z_]+)(?:=([^⟧]*))?⟧\)")


class OptionError(InputError):
    """An option's value is refused (one line, naming the option on the face that reads it)."""


class OptionSpec:
    """One option, for every face.

    ``name`` is its canonical id: the REST key, the field of the options object and the base of
    the pytest name. ``cli`` lists its command-line flags (empty: not on the command line);
    ``pytest``/``rest`` say whether pytest and the REST API offer it. Numbers must be finite and
    lie within ``minimum``/``maximum`` (``exclusive_minimum``: strictly above ``minimum``).
    ``nullable``: ``None`` is a valid value (no limit, not set). ``check`` adds a rule of its own:
    it returns an error text (``None`` when the value is fine). ``const``: the value of the
    command-line flag given without one (``--rebuild-env`` means ``--rebuild-env=require``).

    A plain class rather than a dataclass: ``nbrepro --help`` builds the options, and
    ``dataclasses`` costs it ~15 ms of imports.
    """

    __slots__ = (
        "check",
        "choices",
        "cli",
        "const",
        "default",
        "exclusive_minimum",
        "group",
        "help",
        "kind",
        "maximum",
        "metavar",
        "minimum",
        "name",
        "nullable",
        "pytest",
        "rest",
    )

    def __init__(
        self,
        name: str,
        kind: str,
        help: str,
        default: Any = None,
        *,
        cli: tuple[str, ...] = (),
        metavar: str | None = None,
        group: str = "execution",
        pytest: bool = False,
        rest: bool = False,
        minimum: float | None = None,
        maximum: float | None = None,
        exclusive_minimum: bool = False,
        choices: tuple[str, ...] = (),
        nullable: bool = True,
        check: Callable[[Any], str | None] | None = None,
        const: Any = None,
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"option {name}: unknown kind {kind!r}")
        self.name = name
        self.kind = kind
        self.help = help
        self.default = default
        self.cli = tuple(cli)
        self.metavar = metavar
        self.group = group
        self.pytest = pytest
        self.rest = rest
        self.minimum = minimum
        self.maximum = maximum
        self.exclusive_minimum = exclusive_minimum
        self.choices = tuple(choices)
        self.nullable = nullable
        self.check = check
        self.const = const

    def __repr__(self) -> str:
        return f"OptionSpec({self.name!r}, {self.kind!r})"

    # -- names per face -------------------------------------------------------------------
    @property
    def flag(self) -> str | None:
        """The long command-line flag (``--timeout``), ``None`` when not on the command line."""
        longs = [f for f in self.cli if f.startswith("--")]
        return longs[0] if longs else (self.cli[0] if self.cli else None)

    @property
    def pytest_flag(self) -> str:
        """``--nbrepro-<name>`` with dashes."""
        return "--nbrepro-" + self.name.replace("_", "-")

    @property
    def ini_name(self) -> str:
        """The pytest ini setting: ``nbrepro_<name>``."""
        return "nbrepro_" + self.name

    def offered(self, face: str) -> bool:
        """Whether ``face`` offers this option."""
        if face == CLI:
            return bool(self.cli)
        if face == PYTEST:
            return self.pytest
        if face == REST:
            return self.rest
        return True

    def label(self, face: str) -> str:
        """How ``face`` names the option in a message."""
        if face == CLI and self.flag:
            return self.flag
        if face == PYTEST:
            return self.pytest_flag
        if face == REST:
            return f"option {self.name!r}"
        return f"the {self.name.replace('_', ' ')} option"

    # -- values ---------------------------------------------------------------------------
    def parse_text(self, text: str) -> Any:
        """Parse a value given as text (command line, pytest, ini); raise :class:`OptionError`."""
        raw = text.strip() if isinstance(text, str) else text
        if self.kind == "int":
            try:
                value: Any = int(raw)
            except (TypeError, ValueError):
                raise self.error(f"not an integer: {_shown(text)}") from None
        elif self.kind == "float":
            try:
                value = float(raw)
            except (TypeError, ValueError):
                raise self.error(f"not a number: {_shown(text)}") from None
        elif self.kind == "bool":
            lowered = str(raw).lower()
            if lowered in ("1", "true", "yes", "on"):
                value = True
            elif lowered in ("0", "false", "no", "off"):
                value = False
            else:
                raise self.error(f"not true or false: {_shown(text)}")
        elif self.kind == "paths":
            value = [str(raw)]
        else:
            value = str(text)
        return self.validate(value)

    def validate(self, value: Any) -> Any:
        """Check a value (already of a Python type: JSON, or parsed); return it or raise
        :class:`OptionError`."""
        if value is None:
            if self.nullable:
                return None
            raise self.error("a value is required")
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise self.error(f"must be true or false, not {_type_name(value)}")
            return value
        if self.kind in ("int", "float"):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise self.error(f"must be a number, not {_type_name(value)}")
            if self.kind == "int":
                if isinstance(value, float):
                    if not value.is_integer():
                        raise self.error(f"must be a whole number: {value!r}")
                    value = int(value)
            else:
                value = float(value)
                if not math.isfinite(value):
                    raise self.error(f"must be a finite number: {value!r}")
            self._check_bounds(value)
        elif self.kind in ("str", "path", "choice"):
            if not isinstance(value, str):
                raise self.error(f"must be a string, not {_type_name(value)}")
            if not value.strip() or "\x00" in value:
                raise self.error("must be a non-empty string")
            if self.kind == "choice" and value not in self.choices:
                raise self.error(f"must be one of {', '.join(self.choices)}: {value!r}")
        elif self.kind == "paths":
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, list) or not all(
                isinstance(v, str) and v.strip() and "\x00" not in v for v in value
            ):
                raise self.error("must be a list of paths")
        if self.check is not None:
            problem = self.check(value)
            if problem:
                raise self.error(problem)
        return value

    def _check_bounds(self, value: float) -> None:
        if self.minimum is not None:
            if self.exclusive_minimum and not value > self.minimum:
                raise self.error(f"must be greater than {self.minimum:g}: {value!r}")
            if not self.exclusive_minimum and not value >= self.minimum:
                raise self.error(f"must be at least {self.minimum:g}: {value!r}")
        if self.maximum is not None and not value <= self.maximum:
            raise self.error(f"must be at most {self.maximum:g}: {value!r}")

    def error(self, problem: str) -> OptionError:
        """An :class:`OptionError` about this option (the face renders its name)."""
        return OptionError(f"{mention(self.name)}: {problem}")

    def json_schema(self) -> dict[str, Any]:
        """The schema of the option's REST value, in OpenAPI 3.0's dialect (docs/openapi.yaml)."""
        schema: dict[str, Any]
        if self.kind == "int":
            schema = {"type": "integer"}
        elif self.kind == "float":
            schema = {"type": "number"}
        elif self.kind == "bool":
            schema = {"type": "boolean"}
        elif self.kind == "paths":
            schema = {"type": "array", "items": {"type": "string", "minLength": 1}}
        elif self.kind == "choice":
            schema = {"type": "string", "enum": list(self.choices)}
        else:
            schema = {"type": "string", "minLength": 1}
        if self.minimum is not None:
            schema["minimum"] = self.minimum
            if self.exclusive_minimum:
                schema["exclusiveMinimum"] = True
        if self.maximum is not None:
            schema["maximum"] = self.maximum
        if self.nullable:
            schema["nullable"] = True
        schema["description"] = self.help
        return schema


def _shown(text: Any) -> str:
    """A value as a message repeats it: its repr, cut to 60 characters."""
    shown = repr(text)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def _type_name(value: Any) -> str:
    return {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
    }.get(type(value), type(value).__name__)


class OptionTable:
    """The specs of one command (``verify``, ``run``), by name."""

    def __init__(self, specs: Iterable[OptionSpec]) -> None:
        self.specs: dict[str, OptionSpec] = {}
        for spec in specs:
            if spec.name in self.specs:
                raise ValueError(f"option {spec.name} declared twice")
            self.specs[spec.name] = spec

    def __iter__(self) -> Any:
        return iter(self.specs.values())

    def names(self) -> list[str]:
        """Every option's name, in declaration order."""
        return list(self.specs)

    def __getitem__(self, name: str) -> OptionSpec:
        return self.specs[name]

    def __contains__(self, name: object) -> bool:
        return name in self.specs

    def for_face(self, face: str) -> list[OptionSpec]:
        """The options ``face`` offers, in declaration order."""
        return [s for s in self.specs.values() if s.offered(face)]

    def defaults(self) -> dict[str, Any]:
        """Every option's default value."""
        return {name: spec.default for name, spec in self.specs.items()}

    def validate_json(self, options: Any, face: str = REST) -> dict[str, Any]:
        """Check a JSON object of options as ``face`` receives it (unknown keys, types, bounds);
        return the full set of values (defaults filled in). Raises :class:`OptionError`."""
        if options is None:
            options = {}
        if not isinstance(options, dict):
            raise OptionError("'options' must be an object")
        offered = {s.name: s for s in self.for_face(face)}
        values = self.defaults()
        for key, value in options.items():
            spec = offered.get(key) if isinstance(key, str) else None
            if spec is None:
                known = ", ".join(sorted(offered))
                raise OptionError(f"unknown option {str(key)[:80]!r} (known options: {known})")
            values[key] = spec.validate(value)
        return values

    def validate_values(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Check a full set of values (a job request, an embedding caller) against every spec."""
        out = self.defaults()
        for key, value in values.items():
            if key not in self.specs:
                raise OptionError(f"unknown option {str(key)[:80]!r}")
            out[key] = self.specs[key].validate(value)
        return out

    def json_schema(self, face: str = REST) -> dict[str, Any]:
        """The JSON Schema of ``face``'s options object."""
        return {
            "type": "object",
            "additionalProperties": False,
            "properties": {s.name: s.json_schema() for s in self.for_face(face)},
        }


# -- mentions ------------------------------------------------------------------------------
#: Every table whose names mentions may use (filled by the modules that declare tables).
_TABLES: list[OptionTable] = []


def register_table(table: OptionTable) -> OptionTable:
    """Make ``table``'s options known to :func:`render_mentions`; returns it."""
    _TABLES.append(table)
    return table


def mention(name: str, value: Any = None) -> str:
    """A reference to option ``name`` (with an example ``value``) in a core message; each face
    renders it in its own words (:func:`render_mentions`)."""
    return f"⟦{name}={value}⟧" if value is not None else f"⟦{name}⟧"


def _find(name: str) -> OptionSpec | None:
    for table in _TABLES:
        if name in table:
            return table[name]
    return None


def _render_one(name: str, value: str | None, face: str) -> str | None:
    spec = _find(name)
    if spec is None:
        return name if value is None else f"{name} {value}"
    if not spec.offered(face):
        return None
    if face == CLI:
        flag = spec.flag or name
        return flag if value is None or spec.kind == "bool" else f"{flag} {value}"
    if face == PYTEST:
        return spec.pytest_flag if value is None else f"{spec.pytest_flag} {value}"
    if face == REST:
        return f"options.{name}" if value is None else f"options.{name} = {value}"
    return spec.label(face) if value is None else f"{spec.label(face)} set to {value}"


def render_mentions(text: str, face: str) -> str:
    """``text`` with every :func:`mention` rendered for ``face``; a mention of an option the face
    does not offer is dropped (with the parentheses around it)."""
    if "⟦" not in text:
        return text

    def paren(match: re.Match[str]) -> str:
        rendered = _render_one(match.group(1), match.group(2), face)
        return "" if rendered is None else f" ({rendered})"

    def bare(match: re.Match[str]) -> str:
        rendered = _render_one(match.group(1), match.group(2), face)
        return match.group(1).replace("_", " ") if rendered is None else rendered

    return _MENTION.sub(bare, _PAREN_MENTION.sub(paren, text))


def render_json(value: Any, face: str) -> Any:
    """A JSON value with :func:`render_mentions` applied to every string in it."""
    if isinstance(value, str):
        return render_mentions(value, face) if "⟦" in value else value
    if isinstance(value, dict):
        return {k: render_json(v, face) for k, v in value.items()}
    if isinstance(value, list):
        return [render_json(v, face) for v in value]
    return value


def parse_face_values(
    table: OptionTable, raw: Mapping[str, Any], face: str, *, skip: Sequence[str] = ()
) -> dict[str, Any]:
    """Values for ``table`` from ``raw`` (name -> already parsed value or ``None`` for unset),
    validated; unset names keep their defaults."""
    values = table.defaults()
    for name, value in raw.items():
        if name in skip or name not in table or value is None:
            continue
        values[name] = table[name].validate(value)
    return values
