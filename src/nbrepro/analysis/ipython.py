"""IPython syntax in a code cell, turned into plain Python that ``ast`` can parse.

IPython accepts more than Python: line magics (``%matplotlib inline``), cell magics (``%%bash``),
shell escapes (``!pip list``), assignment from both (``files = !ls``), help (``obj?``, ``?obj``),
pasted prompts (``>>> ``) and a common leading indent. :func:`to_python` rewrites a cell line by
line so that line numbers stay the same and every column can be mapped back to the cell as the
user wrote it, and it says what the IPython parts do to the namespace: bind names
(``%%capture out``, ``%store -r x``) or possibly bind names nobody can see statically
(``%run script.py``, an unknown magic). The analysis stays silent about undefined names when
such an opaque construct is around.

Importing IPython itself would cost more than the whole check, so this is a small, careful
re-implementation of the transforms that matter for name binding.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

#: Cell magics whose body is Python run in the user's namespace.
_PYTHON_BODY_CELL_MAGICS = frozenset({"time", "prun", "debug", "capture", "timeit", "memit"})
#: Cell magics whose body is another language or plain text; ``--out``/``--err``/``--proc``
#: options of the script family bind names.
_FOREIGN_CELL_MAGICS = frozenset(
    {
        "bash", "sh", "script", "perl", "ruby", "python", "python2", "python3", "pypy",
        "html", "HTML", "javascript", "js", "latex", "markdown", "svg", "writefile", "file",
        "sx", "system", "!",
    }
)  # fmt: skip
#: Line magics that bind no name in the user's namespace (their arguments are not Python).
_INERT_LINE_MAGICS = frozenset(
    {
        "alias", "alias_magic", "autoawait", "autocall", "automagic", "autosave", "autoreload",
        "aimport", "bookmark", "cd", "clear", "cls", "colors", "conda", "config", "connect_info",
        "dhist", "dirs", "doctest_mode", "env", "gui", "hist", "history", "killbgscripts", "ldir",
        "less", "load_ext", "logoff", "logon", "logstart", "logstate", "logstop", "ls", "lsmagic",
        "magic", "mamba", "man", "matplotlib", "micromamba", "notebook", "page", "pastebin",
        "pdb", "pdef", "pdoc", "pfile", "pinfo", "pinfo2", "pip", "popd", "pprint", "precision",
        "psearch", "psource", "pushd", "pwd", "pycat", "qtconsole", "quickref", "reload_ext",
        "reset", "reset_selective", "rehashx", "save", "sc", "set_env", "sx", "system", "tb",
        "unalias", "unload_ext", "uv", "who", "who_ls", "whos", "xdel", "xmode", "watermark",
        "tensorboard", "dotenv", "black", "nbrepro",
    }
)  # fmt: skip
#: Line magics whose argument is a Python statement run in the user's namespace.
_PYTHON_ARG_LINE_MAGICS = frozenset({"time", "timeit", "prun", "debug", "memit", "lprun", "mprun"})
#: Extensions known not to push names into the user's namespace when loaded.
_INERT_EXTENSIONS = frozenset(
    {
        "autoreload", "nbrepro", "line_profiler", "memory_profiler", "watermark", "tensorboard",
        "dotenv", "lab_black", "nb_black", "jupyter_black", "pycodestyle_magic", "sql",
        "rpy2.ipython", "cython", "Cython", "jupyter_ai", "jupyter_ai_magics", "storemagic",
        "google.colab.data_table", "itables", "snakeviz", "heat", "ipython_autotime", "autotime",
        "wurlitzer", "jupyter_dash", "kedro.ipython", "ipytest",
    }
)  # fmt: skip
#: Options that take a value, per magic whose argument is a statement after options.
_VALUE_OPTIONS = {
    "timeit": frozenset({"-n", "-r", "-p"}),
    "prun": frozenset({"-s", "-T", "-D", "-l"}),
    "memit": frozenset({"-r", "-t", "-b"}),
}

_NAME = r"[A-Za-z_]\w*"
_ASSIGN_FROM_IPYTHON = re.compile(
    rf"^(?P<lhs>(?:{_NAME}(?:\.{_NAME})*|\*{_NAME})(?:\s*,\s*(?:{_NAME}(?:\.{_NAME})*|\*{_NAME}))*)"
    r"\s*=\s*(?P<kind>!|%)(?P<rest>.*)$"
)
_HELP_END = re.compile(r"^%{0,2}[\w.*\[\]'\"()]+\?{1,2}$")
_MAGIC_NAME = re.compile(r"^%{1,2}(?P<name>[\w.!]*)\s*(?P<args>.*)$")
_CLASSIC_PROMPT = re.compile(r"^(>>>|\.\.\.)( |$)")
_IPYTHON_PROMPT = re.compile(r"^(In \[\d+\]: |\s*\.\.\.+: )")
_LEADING_INDENT = re.compile(r"^[ \t]+")


@dataclass
class CellCode:
    """A cell's code as Python, with what its IPython parts do to the namespace."""

    #: The cell as parseable Python with the same number of lines, or ``None`` when the cell is
    #: not Python (``%%bash``) or not understood (an unknown cell magic).
    python: str | None
    #: 1-based line -> number of characters removed from the start of that line.
    col_shift: dict[int, int] = field(default_factory=dict)
    #: Names bound by IPython constructs (``%%capture out``), with 1-based line and 0-based column.
    binds: list[tuple[str, int, int]] = field(default_factory=list)
    #: The cell may bind names that cannot be seen statically (``%run``, an unknown magic).
    opaque: bool = False
    #: Why the cell is opaque, for messages and tests.
    opaque_reason: str | None = None


def _logical_line_starts(lines: list[str]) -> list[bool]:
    """Which physical lines start a logical line (not inside a string, bracket or continuation)."""
    starts: list[bool] = []
    depth = 0
    triple: str | None = None
    continued = False
    for line in lines:
        starts.append(triple is None and depth == 0 and not continued)
        continued = False
        i, n = 0, len(line)
        while i < n:
            ch = line[i]
            if triple is not None:
                if ch == "\\":
                    i += 2
                    continue
                if line.startswith(triple, i):
                    i += 3
                    triple = None
                    continue
                i += 1
                continue
            if ch == "#":
                break
            if ch in "\"'":
                if line.startswith(ch * 3, i):
                    triple = ch * 3
                    i += 3
                    continue
                j = i + 1
                while j < n and line[j] != ch:
                    j += 2 if line[j] == "\\" else 1
                i = j + 1
                continue
            if ch in "([{":
                depth += 1
            elif ch in ")]}":
                depth = max(0, depth - 1)
            i += 1
        if triple is None and line.endswith("\\"):
            continued = True
    return starts


def _statement_after_options(magic: str, args: str) -> tuple[str, int]:
    """The Python statement after a magic's ``-x`` options, and its offset in ``args``."""
    value_options = _VALUE_OPTIONS.get(magic, frozenset())
    pos = 0
    expect_value = False
    while True:
        rest = args[pos:]
        stripped = rest.lstrip()
        pos += len(rest) - len(stripped)
        if not stripped or (not expect_value and not stripped.startswith("-")):
            return stripped.rstrip(), pos
        word = stripped.split(None, 1)[0]
        pos += len(word)
        expect_value = not expect_value and word in value_options


def _option_values(args: str, options: tuple[str, ...]) -> list[str]:
    """Values of ``--opt VALUE`` options in a magic's argument string."""
    words = args.split()
    return [
        words[k + 1]
        for k, word in enumerate(words[:-1])
        if word in options and re.fullmatch(_NAME, words[k + 1])
    ]


def _word_column(line: str, word: str, start: int) -> int:
    """Column of ``word`` as a whole word in ``line`` at or after ``start``."""
    match = re.compile(rf"(?<![\w-]){re.escape(word)}(?!\w)").search(line, start)
    return match.start() if match else start


def _cell_magic(
    name: str, args: str, first: int, lines: list[str], code: CellCode
) -> list[str] | None:
    """Handle a cell magic on line index ``first``; return the lines to parse as Python or None."""
    line_no = first + 1
    magic_col = lines[first].index("%%")
    if name in _FOREIGN_CELL_MAGICS:
        for value in _option_values(args, ("--out", "--err", "--proc")):
            code.binds.append((value, line_no, _word_column(lines[first], value, magic_col + 2)))
        return None
    if name not in _PYTHON_BODY_CELL_MAGICS:
        code.opaque = True
        code.opaque_reason = f"cell magic %%{name}"
        return None
    out = list(lines)
    out[first] = ""
    if name == "capture":
        words = [w for w in args.split() if not w.startswith("-")]
        if words and re.fullmatch(_NAME, words[0]):
            column = _word_column(lines[first], words[0], magic_col + 2 + len(name))
            code.binds.append((words[0], line_no, column))
    elif name == "timeit":
        statement, offset = _statement_after_options(name, args)
        if statement:
            out[first] = statement
            args_col = len(lines[first]) - len(args)
            code.col_shift[line_no] = code.col_shift.get(line_no, 0) + args_col + offset
    return out


def _line_magic(name: str, args: str, line: str, line_no: int, code: CellCode) -> str:
    """Rewrite a line holding one line magic (``%name args``); return the replacement line."""
    indent = line[: len(line) - len(line.lstrip())]
    col = len(indent)
    if name in _PYTHON_ARG_LINE_MAGICS:
        statement, offset = _statement_after_options(name, args)
        if statement and name not in ("lprun", "mprun"):
            args_col = len(line) - len(args)
            code.col_shift[line_no] = code.col_shift.get(line_no, 0) + args_col + offset - col
            return indent + statement
        return indent + "pass"
    if name == "store":
        words = args.split()
        if words and words[0] == "-r":
            names = [w for w in words[1:] if re.fullmatch(_NAME, w)]
            if not names or len(names) != len(words) - 1:
                code.opaque = True
                code.opaque_reason = "%store -r"
            for value in names:
                code.binds.append((value, line_no, col))
        return indent + "pass"
    if name == "macro":
        words = [w for w in args.split() if not w.startswith("-")]
        if words and re.fullmatch(_NAME, words[0]):
            code.binds.append((words[0], line_no, col))
        return indent + "pass"
    if name == "load_ext":
        for ext in args.split():
            if ext not in _INERT_EXTENSIONS:
                code.opaque = True
                code.opaque_reason = f"%load_ext {ext}"
        return indent + "pass"
    if name not in _INERT_LINE_MAGICS:
        code.opaque = True
        code.opaque_reason = f"%{name}"
    return indent + "pass"


def _strip_prompts(lines: list[str], code: CellCode) -> list[str]:
    """Remove ``>>> `` / ``In [1]: `` prompts of pasted sessions, as IPython does."""
    first = next((ln for ln in lines if ln.strip()), "")
    for pattern in (_CLASSIC_PROMPT, _IPYTHON_PROMPT):
        if pattern.match(first):
            out = []
            for number, line in enumerate(lines, start=1):
                match = pattern.match(line)
                if match:
                    code.col_shift[number] = code.col_shift.get(number, 0) + match.end()
                    line = line[match.end() :]
                out.append(line)
            return out
    return lines


def _strip_leading_indent(lines: list[str], code: CellCode) -> list[str]:
    """Remove the first line's indent from every line that has it, as IPython does."""
    first = next((ln for ln in lines if ln.strip()), "")
    match = _LEADING_INDENT.match(first)
    if not match:
        return lines
    prefix = match.group(0)
    out = []
    for number, line in enumerate(lines, start=1):
        if line.startswith(prefix):
            code.col_shift[number] = code.col_shift.get(number, 0) + len(prefix)
            line = line[len(prefix) :]
        out.append(line)
    return out


def to_python(source: str) -> CellCode:
    """Rewrite a cell's IPython syntax as Python with the same line numbers.

    Use it only when the cell does not parse as Python already (IPython syntax never does).
    """
    code = CellCode(python=None)
    lines = source.replace("\r\n", "\n").split("\n")
    lines = _strip_prompts(lines, code)
    lines = _strip_leading_indent(lines, code)
    first = next((k for k, ln in enumerate(lines) if ln.strip()), None)
    if first is None:
        code.python = "\n".join(lines)
        return code
    if lines[first].startswith("%%"):
        match = _MAGIC_NAME.match(lines[first])
        name = match.group("name") if match else ""
        args = match.group("args") if match else ""
        body = _cell_magic(name, args, first, lines, code)
        if body is None:
            return code
        lines = body
    starts = _logical_line_starts(lines)
    out: list[str] = []
    continuation = False
    for index, line in enumerate(lines):
        line_no = index + 1
        if continuation:
            out.append("")
            continuation = line.endswith("\\")
            continue
        stripped = line.lstrip()
        if not starts[index] or not stripped:
            out.append(line)
            continue
        indent = line[: len(line) - len(stripped)]
        head = stripped[0]
        if head == "!":
            out.append(indent + "pass")
            continuation = line.endswith("\\")
        elif head == "%":
            match = _MAGIC_NAME.match(stripped)
            name = match.group("name") if match else ""
            args = match.group("args") if match else ""
            if stripped.endswith("?"):
                out.append(indent + "pass")
            else:
                out.append(_line_magic(name, args, line, line_no, code))
            continuation = line.endswith("\\")
        elif head == "?" or (stripped.endswith("?") and _HELP_END.match(stripped.rstrip())):
            out.append(indent + "pass")
        else:
            match = _ASSIGN_FROM_IPYTHON.match(stripped)
            if match:
                out.append(indent + match.group("lhs") + " = None")
                continuation = line.endswith("\\")
            else:
                out.append(line)
    code.python = "\n".join(out)
    return code
