"""Papermill parameters: parse them as ``papermill``'s command line does and inject them.

Parsing follows ``papermill/cli.py``: YAML files (``-f``) first, then YAML text (``-y``), then
typed values (``-p``, typed by :func:`resolve_type` exactly as papermill's ``_resolve_type``),
then raw strings (``-r``); a later source overrides an earlier one for the same name.

Injection follows ``papermill.parameterize.parameterize_notebook``: a new code cell tagged
``injected-parameters`` goes right after the first cell tagged ``parameters`` (or first in the
notebook, with a warning, when there is none), replacing a cell injected by an earlier run; its
source is produced by papermill's own translators, so it is exactly what papermill injects.
``papermill.translators`` is imported only when parameters are given (importing it imports
papermill, which costs about 0.4 s on top of nbformat).
"""

from __future__ import annotations

import copy
import json
import keyword
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..notebook_io import cell_source
from ..notebook_io import kernel_name as nb_kernel_name

#: Tag of the cell that declares a notebook's parameters and their defaults.
PARAMETERS_TAG = "parameters"
#: Tag of the cell papermill (and nbrepro) inject with the given values.
INJECTED_TAG = "injected-parameters"
#: The comment papermill writes at the top of the injected cell.
INJECTED_COMMENT = "Parameters"
#: The cell id given to an injected cell (notebooks of nbformat 4.5 and later only).
INJECTED_CELL_ID = "injected-parameters"


@dataclass
class InjectionResult:
    """The outcome of :func:`inject_parameters`."""

    #: A new notebook dict with the injected cell; the input notebook is untouched.
    nb: dict[str, Any]
    #: One-line warnings for the user (no parameters cell, unknown parameter names, ...).
    warnings: list[str] = field(default_factory=list)
    #: Index of the injected cell in :attr:`nb`.
    index: int = 0


def resolve_type(value: str) -> Any:
    """Type a ``-p`` value as papermill's command line does (bool, ``None``, int, float, str)."""
    if value == "True":
        return True
    if value == "False":
        return False
    if value == "None":
        return None
    try:
        return int(value)
    except ValueError:
        pass
    try:
        return float(value)
    except ValueError:
        return value


def _yaml_loader() -> Any:
    """A safe YAML loader that, like papermill's ``NoDatesSafeLoader``, keeps dates as strings."""
    import yaml

    class NoDatesSafeLoader(yaml.SafeLoader):
        yaml_implicit_resolvers = {
            key: [r for r in resolvers if r[0] != "tag:yaml.org,2002:timestamp"]
            for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
        }

        def compose_node(self, parent: Any, index: Any) -> Any:
            # Aliases can make a few bytes of YAML expand to billions of values ("billion
            # laughs"): parameters never need them.
            if self.check_event(yaml.AliasEvent):
                event = self.peek_event()
                raise yaml.composer.ComposerError(
                    None, None, "aliases (*name) are not allowed in parameters", event.start_mark
                )
            return super().compose_node(parent, index)

    return NoDatesSafeLoader


def _load_yaml(text: str, origin: str) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.load(text, Loader=_yaml_loader())
    except RecursionError:
        raise InputError(f"{origin}: invalid YAML: nested too deeply") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(f"{origin}: invalid YAML{where}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError(
            f"{origin}: parameters must be a YAML mapping of names to values, "
            f"not {type(data).__name__}"
        )
    for key in data:
        if not isinstance(key, str):
            raise InputError(f"{origin}: parameter name {key!r} is not a string")
    return data


def parse_parameters(
    p: Sequence[tuple[str, str]] = (),
    r: Sequence[tuple[str, str]] = (),
    files: Sequence[str] = (),
    yamls: Sequence[str] = (),
) -> dict[str, Any]:
    """Merge parameters with papermill's precedence: ``-f`` < ``-y`` < ``-p`` < ``-r``.

    A missing or unreadable file and invalid YAML raise :class:`InputError` (one line).
    """
    params: dict[str, Any] = {}
    for path in files:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise InputError(f"{path}: no such parameter file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: cannot read parameter file: {exc}") from None
        params.update(_load_yaml(text, str(path)))
    for text in yamls:
        params.update(_load_yaml(text, "-y"))
    for name, value in p:
        params[name] = resolve_type(value)
    for name, value in r:
        params[name] = value
    return params


def notebook_language(nb: dict[str, Any]) -> str:
    """The language as papermill reads it (case kept: papermill registers ``R``, not ``r``)."""
    meta = nb.get("metadata") or {}
    info = meta.get("language_info") or {}
    spec = meta.get("kernelspec") or {}
    language = info.get("name") or spec.get("language")
    return str(language) if language else "python"


def _tagged_index(cells: list[dict[str, Any]], tag: str) -> int:
    for index, cell in enumerate(cells):
        tags = (cell.get("metadata") or {}).get("tags") or []
        if tag in tags:
            return index
    return -1


def _translator(kernel: str, language: str) -> Any:
    from papermill.exceptions import PapermillException
    from papermill.translators import papermill_translators

    try:
        return papermill_translators.find_translator(kernel, language)
    except PapermillException:
        raise InputError(
            f"cannot inject parameters: papermill has no translator for kernel {kernel!r} "
            f"or language {language!r}"
        ) from None


#: Parameter names other languages accept (R also allows dots).
_PLAIN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_R_NAME = re.compile(r"^(?:[A-Za-z]|\.(?![0-9]))[A-Za-z0-9._]*$")


def parameter_name_problem(name: Any, language: str = "python") -> str | None:
    """Why ``name`` cannot be a parameter of a ``language`` notebook (``None``: it can).

    The one check of parameter names for every face: a name becomes source code in the
    injected cell, so it must be a plain name of the language (Python: an identifier that is
    not a keyword, so neither ``class`` nor ``None``; other languages: letters, digits and
    underscores, R also dots).
    """
    if not isinstance(name, str):
        return f"parameter name {name!r} is not a string"
    lang = (language or "python").lower()
    if lang == "python":
        if not name.isidentifier():
            return f"parameter name {name!r} is not a Python identifier"
        if keyword.iskeyword(name):
            return f"parameter name {name!r} is a Python keyword"
        return None
    pattern = _R_NAME if lang == "r" else _PLAIN_NAME
    if not pattern.match(name):
        return f"parameter name {name!r} is not a valid {language} variable name"
    return None


def check_parameter_names(params: Mapping[str, Any], language: str = "python") -> None:
    """Raise a one-line :class:`InputError` for the first parameter name ``language`` cannot
    take (:func:`parameter_name_problem`)."""
    for name in params:
        problem = parameter_name_problem(name, language)
        if problem is not None:
            raise InputError(problem)


def translate_parameters(params: dict[str, Any], kernel: str, language: str) -> str:
    """The source papermill injects for ``params`` in a notebook of ``kernel``/``language``;
    names are checked first (:func:`check_parameter_names`)."""
    check_parameter_names(params, language)
    translator = _translator(kernel, language)
    for name, value in params.items():
        try:
            translator.translate(value)
        except NotImplementedError:
            raise InputError(
                f"cannot inject parameter {name!r}: papermill's {translator.__name__} cannot "
                f"translate a {type(value).__name__} value"
            ) from None
    return str(translator.codify(params, INJECTED_COMMENT))


def declared_parameters(
    nb: dict[str, Any], *, kernel_name: str | None = None, language: str | None = None
) -> list[str] | None:
    """Names assigned in the notebook's ``parameters`` cell (``None`` when they cannot be known).

    Uses papermill's translator introspection; ``None`` means the language's translator cannot
    inspect a cell (papermill supports Python only) or the notebook has no parameters cell.
    """
    cells = nb.get("cells", [])
    index = _tagged_index(cells, PARAMETERS_TAG)
    if index < 0:
        return None
    kernel = kernel_name or nb_kernel_name(nb) or "python3"
    lang = language or notebook_language(nb)
    translator = _translator(kernel, lang)
    try:
        found = translator.inspect({"source": cell_source(cells[index])})
    except NotImplementedError:
        return None
    return [param.name for param in found]


def _jsonable(params: dict[str, Any]) -> dict[str, Any]:
    """``params`` as stored in JSON metadata (papermill stores them the same way)."""
    return json.loads(json.dumps(params, default=str))  # type: ignore[no-any-return]


def inject_parameters(
    nb: dict[str, Any],
    params: dict[str, Any],
    *,
    kernel_name: str | None = None,
    language: str | None = None,
) -> InjectionResult:
    """Return a copy of ``nb`` with ``params`` injected as papermill injects them.

    ``kernel_name``/``language`` override the notebook's kernelspec and language for choosing
    papermill's translator (as papermill's ``-k``/``-l`` do). The copy's
    ``metadata.papermill.parameters`` holds ``params``, as papermill records them.
    """
    kernel = kernel_name or nb_kernel_name(nb) or "python3"
    lang = language or notebook_language(nb)
    source = translate_parameters(params, kernel, lang)
    out = copy.deepcopy(nb)
    cells: list[dict[str, Any]] = out.setdefault("cells", [])
    warnings: list[str] = []

    new_cell: dict[str, Any] = {
        "cell_type": "code",
        "execution_count": None,
        "metadata": {"tags": [INJECTED_TAG]},
        "outputs": [],
        "source": source,
    }
    if (out.get("nbformat"), out.get("nbformat_minor", 0)) >= (4, 5):
        used = {cell.get("id") for cell in cells}
        cell_id, n = INJECTED_CELL_ID, 1
        while cell_id in used:
            n += 1
            cell_id = f"{INJECTED_CELL_ID}-{n}"
        new_cell["id"] = cell_id

    param_index = _tagged_index(cells, PARAMETERS_TAG)
    injected_index = _tagged_index(cells, INJECTED_TAG)
    if injected_index >= 0:
        old_id = cells[injected_index].get("id")
        if old_id is not None:
            new_cell["id"] = old_id
        cells[injected_index] = new_cell
        index = injected_index
    elif param_index >= 0:
        index = param_index + 1
        cells.insert(index, new_cell)
    else:
        warnings.append(
            "the notebook has no cell tagged 'parameters': parameters injected at the top"
        )
        index = 0
        cells.insert(0, new_cell)

    if param_index >= 0:
        declared = declared_parameters(nb, kernel_name=kernel, language=lang)
        if declared is None:
            warnings.append(
                f"cannot check parameter names: papermill cannot inspect {lang} parameters cells"
            )
        else:
            for name in params:
                if name not in declared:
                    warnings.append(
                        f"unknown parameter {name!r}: not assigned in the parameters cell"
                    )

    meta = out.setdefault("metadata", {})
    papermill_meta = meta.get("papermill")
    if not isinstance(papermill_meta, dict):
        papermill_meta = {}
        meta["papermill"] = papermill_meta
    papermill_meta["parameters"] = _jsonable(params)
    return InjectionResult(nb=out, warnings=warnings, index=index)


def stored_parameters(nb: dict[str, Any]) -> dict[str, Any]:
    """The parameters the stored outputs were made with, per papermill's metadata (``{}``: none)."""
    papermill_meta = (nb.get("metadata") or {}).get("papermill")
    if isinstance(papermill_meta, dict) and isinstance(papermill_meta.get("parameters"), dict):
        return dict(papermill_meta["parameters"])
    return {}


def parameters_differ(nb: dict[str, Any], params: dict[str, Any]) -> bool:
    """Whether ``params`` differ from those recorded in the notebook's papermill metadata.

    No parameters never differ (the notebook runs as stored, with any injected cell it has). A
    notebook without papermill metadata ran with its defaults: any given parameter differs.
    """
    if not params:
        return False
    return _jsonable(params) != _jsonable(stored_parameters(nb))
