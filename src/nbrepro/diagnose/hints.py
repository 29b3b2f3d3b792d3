"""Static hints: what in a cell's code can make its outputs change from run to run.

One cheap ``ast`` pass per code cell, top to bottom through the notebook, so that module aliases
(``import numpy as np`` in cell 1, ``np.random.rand()`` in cell 4) and seeds (``random.seed(0)``
above) carry from cell to cell. A hint is a fact about the code ("calls ``random.random()`` and
no cell above seeds ``random``"); the diagnosis decides what it is evidence of.

Kinds of hint: ``random``, ``numpy.random``, ``torch`` (unseeded generators), ``uuid``,
``entropy`` (``os.urandom``, ``secrets``), ``clock`` (wall-clock reads), ``hash-order``
(iterating or printing a set: its order follows the per-process string hash seed),
``network`` (a request over the network), ``env-read`` (reads an environment variable).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

#: Hint kinds that make outputs differ between fresh runs.
NONDETERMINISM_KINDS = frozenset(
    {"random", "numpy.random", "torch", "uuid", "entropy", "clock", "hash-order"}
)

_RANDOM_FUNCS = frozenset(
    {
        "random",
        "randint",
        "randrange",
        "choice",
        "choices",
        "shuffle",
        "sample",
        "uniform",
        "gauss",
        "normalvariate",
        "lognormvariate",
        "expovariate",
        "betavariate",
        "gammavariate",
        "triangular",
        "vonmisesvariate",
        "paretovariate",
        "weibullvariate",
        "getrandbits",
        "randbytes",
        "binomialvariate",
    }
)
_NUMPY_NOT_DRAWS = frozenset(
    {"seed", "get_state", "set_state", "SeedSequence", "Generator", "BitGenerator", "PCG64"}
)
_TORCH_DRAWS = frozenset(
    {
        "torch.rand",
        "torch.randn",
        "torch.randint",
        "torch.randperm",
        "torch.rand_like",
        "torch.randn_like",
        "torch.randint_like",
        "torch.normal",
        "torch.bernoulli",
        "torch.multinomial",
        "torch.poisson",
    }
)
_SEEDS = {
    "random.seed": "random",
    "numpy.random.seed": "numpy.random",
    "torch.manual_seed": "torch",
    "torch.random.manual_seed": "torch",
    "torch.cuda.manual_seed": "torch",
    "torch.cuda.manual_seed_all": "torch",
    "torch.use_deterministic_algorithms": "torch",
}
_CLOCK_NO_ARGS = frozenset(
    {"time.localtime", "time.gmtime", "time.ctime", "time.asctime", "time.strftime"}
)
_CLOCK = frozenset(
    {
        "time.time",
        "time.time_ns",
        "time.perf_counter",
        "time.perf_counter_ns",
        "time.monotonic",
        "time.monotonic_ns",
        "time.process_time",
        "datetime.datetime.now",
        "datetime.datetime.utcnow",
        "datetime.datetime.today",
        "datetime.date.today",
        "pandas.Timestamp.now",
        "pandas.Timestamp.today",
        "pandas.Timestamp.utcnow",
    }
)
_NETWORK_PREFIXES = (
    "requests.",
    "httpx.",
    "aiohttp.",
    "urllib3.",
    "urllib.request.urlopen",
    "urllib.request.urlretrieve",
    "urllib.request.Request",
    "http.client.",
    "socket.socket",
    "socket.create_connection",
    "socket.getaddrinfo",
    "socket.gethostbyname",
    "ftplib.",
    "smtplib.",
)
_URL = re.compile(r"^(https?|ftp)://", re.IGNORECASE)
_SHELL_NETWORK = re.compile(r"^\s*!\s*(curl|wget|git\s+clone|pip\s+download)\b", re.MULTILINE)
_SET_CONSUMERS = frozenset({"print", "list", "tuple", "str", "repr", "enumerate", "iter", "next"})


@dataclass(frozen=True)
class Hint:
    """One visible source of run-to-run variation or of outside dependence in a cell."""

    kind: str
    #: The call or construct, as written resolved through imports (``numpy.random.rand``).
    what: str
    #: 1-based line in the cell.
    line: int
    #: One line for people.
    message: str

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"kind": self.kind, "what": self.what, "line": self.line, "message": self.message}


@dataclass
class CellStatic:
    """What one pass over a cell found."""

    hints: list[Hint] = field(default_factory=list)
    #: Top-level modules the cell imports or reaches through an imported alias.
    modules: set[str] = field(default_factory=set)
    #: Environment variables the cell reads by a constant name.
    env_reads: set[str] = field(default_factory=set)

    def of_kind(self, kinds: Iterable[str]) -> list[Hint]:
        """The hints whose kind is in ``kinds``."""
        wanted = set(kinds)
        return [h for h in self.hints if h.kind in wanted]


def _parse(source: str) -> ast.Module | None:
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError):
        pass
    from ..analysis.ipython import to_python

    code = to_python(source)
    if code.python is None:
        return None
    try:
        return ast.parse(code.python)
    except (SyntaxError, ValueError):
        return None


class _State:
    """What carries from cell to cell: module aliases, seeded generators, names bound to sets."""

    def __init__(self) -> None:
        self.aliases: dict[str, str] = {}
        self.seeded: set[str] = set()
        self.set_names: set[str] = set()


def _dotted(node: ast.expr, aliases: dict[str, str]) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    base = aliases.get(node.id)
    if base is None:
        return None
    return ".".join([base, *reversed(parts)])


def _is_set_expr(node: ast.expr | None, set_names: set[str]) -> bool:
    if isinstance(node, ast.Set):
        return len(node.elts) > 1
    if isinstance(node, ast.SetComp):
        return True
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return node.func.id in ("set", "frozenset") and bool(node.args)
    if isinstance(node, ast.Name):
        return node.id in set_names
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.BitOr, ast.BitAnd, ast.Sub)):
        return _is_set_expr(node.left, set_names) or _is_set_expr(node.right, set_names)
    return False


def _cell_static(tree: ast.Module, source: str, state: _State) -> CellStatic:
    out = CellStatic()
    nodes = sorted(
        (n for n in ast.walk(tree) if isinstance(n, (ast.stmt, ast.expr))),
        key=lambda n: (n.lineno, n.col_offset),
    )
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.split(".")[0]
                out.modules.add(top)
                if alias.asname:
                    state.aliases[alias.asname] = alias.name
                else:
                    state.aliases[top] = top
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out.modules.add(node.module.split(".")[0])
            for alias in node.names:
                if alias.name != "*":
                    state.aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Name) and node.id in state.aliases:
            out.modules.add(state.aliases[node.id].split(".")[0])
        elif isinstance(node, ast.Assign):
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            if _is_set_expr(node.value, state.set_names):
                state.set_names.update(names)
            else:
                state.set_names.difference_update(names)
        elif isinstance(node, ast.Call):
            _call(node, state, out)
        elif isinstance(node, ast.For) and _is_set_expr(node.iter, state.set_names):
            _add(out, "hash-order", "for ... in <set>", node.lineno, "iterates over a set")
        elif isinstance(node, ast.Subscript):
            name = _dotted(node.value, state.aliases)
            key = node.slice
            if name == "os.environ" and isinstance(key, ast.Constant):
                var = str(key.value)
                out.env_reads.add(var)
                _add(out, "env-read", "os.environ", node.lineno, f"reads ${var}")
    body = tree.body
    if body and isinstance(body[-1], ast.Expr) and _is_set_expr(body[-1].value, state.set_names):
        _add(out, "hash-order", "<set>", body[-1].lineno, "shows a set as the cell's result")
    for match in _SHELL_NETWORK.finditer(source):
        line = source.count("\n", 0, match.start()) + 1
        _add(out, "network", f"!{match.group(1)}", line, f"runs `{match.group(1)}` (network)")
    return out


def _add(out: CellStatic, kind: str, what: str, line: int, message: str) -> None:
    hint = Hint(kind, what, line, message)
    if hint not in out.hints:
        out.hints.append(hint)


def _call(node: ast.Call, state: _State, out: CellStatic) -> None:
    name = _dotted(node.func, state.aliases)
    line = node.lineno
    has_args = bool(node.args or node.keywords)
    if isinstance(node.func, ast.Name) and node.func.id not in state.aliases:
        builtin = node.func.id
        if builtin in _SET_CONSUMERS and any(_is_set_expr(a, state.set_names) for a in node.args):
            _add(out, "hash-order", f"{builtin}(<set>)", line, f"passes a set to {builtin}()")
        elif builtin == "hash" and node.args:
            _add(out, "hash-order", "hash()", line, "calls hash() (salted per process for str)")
    is_join = isinstance(node.func, ast.Attribute) and node.func.attr == "join"
    if is_join and any(_is_set_expr(a, state.set_names) for a in node.args):
        _add(out, "hash-order", "str.join(<set>)", line, "joins the items of a set")
    for arg in node.args:
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and _URL.match(arg.value):
            _add(out, "network", arg.value, line, f"reads {arg.value} over the network")
    if name is None:
        return
    if name in _SEEDS:
        state.seeded.add(_SEEDS[name])
        return
    if name.startswith("random."):
        leaf = name.split(".", 1)[1]
        if leaf in _RANDOM_FUNCS and "random" not in state.seeded:
            _add(out, "random", name, line, f"calls {name}() and no cell above seeds `random`")
        elif leaf == "Random" and not node.args:
            _add(out, "random", name, line, "makes random.Random() without a seed")
    elif name.startswith("numpy.random."):
        leaf = name.split(".")[2]
        if leaf in ("default_rng", "RandomState"):
            if not has_args:
                _add(out, "numpy.random", name, line, f"calls {name}() without a seed")
        elif leaf not in _NUMPY_NOT_DRAWS and "numpy.random" not in state.seeded:
            _add(
                out,
                "numpy.random",
                name,
                line,
                f"calls {name}() and no cell above seeds numpy's global generator",
            )
    elif (name in _TORCH_DRAWS or name.startswith("torch.nn.init.")) and (
        "torch" not in state.seeded
    ):
        _add(out, "torch", name, line, f"calls {name}() and no cell above calls torch.manual_seed")
    elif name in ("uuid.uuid1", "uuid.uuid4"):
        _add(out, "uuid", name, line, f"makes a new uuid with {name}()")
    elif name == "os.urandom" or name.startswith("secrets."):
        _add(out, "entropy", name, line, f"draws from the system's entropy with {name}()")
    elif name in _CLOCK or (
        name in _CLOCK_NO_ARGS and len(node.args) < (2 if "strf" in name else 1)
    ):
        _add(out, "clock", name, line, f"reads the clock with {name}()")
    elif name == "numpy.datetime64" and any(
        isinstance(a, ast.Constant) and a.value in ("now", "today") for a in node.args
    ):
        _add(out, "clock", name, line, "reads the clock with numpy.datetime64('now')")
    elif name.startswith(_NETWORK_PREFIXES):
        _add(out, "network", name, line, f"calls {name}() (network)")
    elif name in ("os.getenv", "os.environ.get") and node.args:
        first = node.args[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            out.env_reads.add(first.value)
            _add(out, "env-read", name, line, f"reads ${first.value}")


def notebook_static(sources: Sequence[str]) -> list[CellStatic]:
    """The static facts of each code cell's source, in notebook order (one ast pass each)."""
    state = _State()
    state.aliases.update({"os": "os"})  # ``os`` is often used without a visible import
    results = []
    for source in sources:
        tree = _parse(source)
        results.append(CellStatic() if tree is None else _cell_static(tree, source, state))
    return results


def cell_hints(source: str) -> list[Hint]:
    """The hints of one cell taken alone (no cells above: nothing seeded, no aliases)."""
    return notebook_static([source])[0].hints
