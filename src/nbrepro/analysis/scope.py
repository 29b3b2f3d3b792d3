"""What one code cell binds and reads at module level: a small scope analysis over ``ast``.

For each cell, :func:`cell_facts` answers the questions the notebook-level dataflow rules ask:
which module-level names the cell may bind, which names it reads before binding them itself
(immediately, while the cell runs, or later, inside a function body), which names it deletes for
sure, and whether it may bind names nobody can see (``from m import *``, ``exec``, ``%run``,
writes through ``globals()``). Everything uncertain errs towards "may bind" and "not a read",
because a false alarm costs more trust than a miss.
"""

from __future__ import annotations

import ast
import builtins
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: Names IPython and ipykernel put in every user namespace.
IPYTHON_NAMES = frozenset(
    {
        "_", "__", "___", "_i", "_ii", "_iii", "_ih", "_oh", "_dh", "In", "Out", "get_ipython",
        "display", "exit", "quit", "help", "copyright", "credits", "license", "_exit_code",
    }
)  # fmt: skip
#: Names that always exist in a notebook's namespace.
ALWAYS_DEFINED = frozenset(dir(builtins)) | IPYTHON_NAMES
_OUTPUT_HISTORY = re.compile(r"^_i{0,3}\d+$")

#: Exception names whose handler makes a ``try`` body a deliberate "is it defined?" test.
_NAME_ERROR_CATCHERS = frozenset({"NameError", "Exception", "BaseException"})
#: Calls that return the module namespace itself.
_NAMESPACE_CALLS = frozenset({"globals", "locals", "vars", "dir"})
#: Read-only methods of a namespace dict.
_NAMESPACE_READS = frozenset({"get", "keys", "items", "values", "copy", "__contains__"})
#: IPython shell attributes that run code in, or write to, the user namespace.
_SHELL_EXEC_ATTRS = frozenset(
    {
        "user_ns", "user_global_ns", "push", "run_cell", "run_line_magic", "run_cell_magic",
        "magic", "ex", "ev", "safe_execfile", "safe_run_module", "run_code", "runcode",
    }
)  # fmt: skip
_MODULE_OBJECTS = frozenset({"builtins", "__builtins__", "__main__"})


def is_always_defined(name: str) -> bool:
    """Whether ``name`` exists in every IPython namespace (builtins, ``_3``, dunders...)."""
    if name in ALWAYS_DEFINED:
        return True
    if name[0] != "_":
        return False
    return (name.startswith("__") and name.endswith("__")) or bool(_OUTPUT_HISTORY.match(name))


@dataclass(slots=True)
class Use:
    """A read of a module-level name that the cell has not bound before that point."""

    name: str
    line: int
    #: 0-based column in the cell as the user wrote it.
    column: int
    #: Inside a function or lambda body (or a generator): runs only when called.
    deferred: bool = False
    #: Inside a ``try`` whose handler catches ``NameError``: a deliberate test.
    guarded: bool = False
    #: The cell binds the name later on (so a second run of the cell would work).
    bound_later: bool = False


@dataclass
class CellFacts:
    """The module-level dataflow of one code cell."""

    #: The cell was understood (Python, after rewriting IPython syntax).
    parsed: bool = True
    #: Module-level names the cell may bind -> (line, 0-based column) of the first binding.
    defs: dict[str, tuple[int, int]] = field(default_factory=dict)
    #: Immediate reads of names not bound earlier in the cell, in source order.
    uses: list[Use] = field(default_factory=list)
    #: Reads inside function bodies that resolve to module-level names the cell does not bind.
    deferred_uses: list[Use] = field(default_factory=list)
    #: Names surely deleted (top-level ``del``) and not bound again -> position of the ``del``.
    kills: dict[str, tuple[int, int]] = field(default_factory=dict)
    #: The cell may bind names nobody can see statically.
    opaque: bool = False
    #: Why the cell is opaque (``from m import *``, ``exec``, ``%run``...).
    opaque_reason: str | None = None
    #: Names tested with ``'x' in globals()``: silence about them in this cell.
    guarded_names: set[str] = field(default_factory=set)


class _Scope:
    """A Python scope: module, function (or lambda), class or comprehension.

    Reads in function and class scopes are resolved when the scope ends, since a name is local
    to a function wherever in the body it is bound; the module scope is read in flow order.
    """

    __slots__ = ("binds", "globals", "kind", "lazy", "loads", "locals", "nonlocals", "parent")

    def __init__(
        self,
        kind: str,
        parent: _Scope | None,
        local_names: set[str] | None = None,
        *,
        lazy: bool = False,
    ) -> None:
        self.kind = kind
        self.parent = parent
        #: Names known local up front (parameters, comprehension targets).
        self.locals = local_names or set()
        #: Names bound in the body (function and class scopes).
        self.binds: set[str] = set()
        #: Pending reads: (name, node, deferred).
        self.loads: list[tuple[str, ast.AST, bool]] = []
        self.globals: set[str] = set()
        self.nonlocals: set[str] = set()
        #: The body runs later, not when the cell runs (functions, lambdas, generators).
        self.lazy = lazy


def _constant_truth(test: ast.expr) -> object:
    """True/False for a constant test (``if False:``), else ``None``."""
    if isinstance(test, ast.Constant):
        return bool(test.value)
    return None


def _handler_catches_name_error(handler: ast.ExceptHandler) -> bool:
    kind = handler.type
    if kind is None:
        return True
    names = kind.elts if isinstance(kind, ast.Tuple) else [kind]
    return any(isinstance(n, ast.Name) and n.id in _NAME_ERROR_CATCHERS for n in names)


def _is_namespace_call(node: ast.expr) -> bool:
    return (
        type(node) is ast.Call
        and isinstance(node.func, ast.Name)
        and node.func.id in _NAMESPACE_CALLS
        and not node.args
        and not node.keywords
    )


def _is_module_object(node: ast.expr) -> bool:
    """``builtins``, ``__main__`` or ``sys.modules[...]``: writing to them binds global names."""
    if isinstance(node, ast.Name):
        return node.id in _MODULE_OBJECTS
    return (
        isinstance(node, ast.Subscript)
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "modules"
    )


class _CellVisitor:
    """Walks one cell's module body in execution order, recording :class:`CellFacts`."""

    def __init__(self, lines: list[str] | None, col_shift: dict[int, int]) -> None:
        self.facts = CellFacts()
        self.bound: set[str] = set()
        self.lines = lines  # only for non-ASCII cells: AST columns count UTF-8 bytes
        self.col_shift = col_shift
        self.guard_depth = 0
        self.cond_depth = 0
        self.module = _Scope("module", None)

    # -- positions and namespace events ------------------------------------------------------

    def position(self, node: ast.AST) -> tuple[int, int]:
        line: int = getattr(node, "lineno", 1)
        col: int = getattr(node, "col_offset", 0)
        if self.lines is not None and 0 < line <= len(self.lines):
            col = len(self.lines[line - 1].encode("utf-8")[:col].decode("utf-8", "ignore"))
        return line, col + self.col_shift.get(line, 0)

    def mark_opaque(self, reason: str) -> None:
        if not self.facts.opaque:
            self.facts.opaque = True
            self.facts.opaque_reason = reason

    def read(self, name: str, node: ast.AST, scope: _Scope, deferred: bool = False) -> None:
        """A read of ``name`` in ``scope``; ``deferred`` when it comes from a lazy inner scope."""
        if is_always_defined(name):
            return
        skip_class = False
        while True:
            kind = scope.kind
            if kind == "comprehension":
                if name in scope.locals:
                    return
                deferred = deferred or scope.lazy
                skip_class = True
            elif kind == "module":
                self.module_read(name, node, deferred)
                return
            elif kind == "function" or not skip_class:
                scope.loads.append((name, node, deferred))
                return
            scope = scope.parent  # type: ignore[assignment]

    def module_read(self, name: str, node: ast.AST, deferred: bool) -> None:
        if deferred:
            line, col = self.position(node)
            self.facts.deferred_uses.append(Use(name, line, col, deferred=True))
        elif name not in self.bound:
            line, col = self.position(node)
            self.facts.uses.append(Use(name, line, col, guarded=self.guard_depth > 0))

    def close_scope(self, scope: _Scope) -> None:
        """Resolve a function or class scope's pending reads; pass the free ones outwards."""
        parent = scope.parent
        assert parent is not None
        local_names = (scope.locals | scope.binds | scope.nonlocals) - scope.globals
        function = scope.kind == "function"
        while function and parent.kind == "class" and parent.parent is not None:
            parent = parent.parent  # class names are not visible inside functions
        for name, node, deferred in scope.loads:
            if name in local_names:
                continue
            if name in scope.globals:
                self.module_read(name, node, deferred or scope.lazy)
            else:
                self.read(name, node, parent, deferred or scope.lazy)

    def bind(self, name: str, node: ast.AST, scope: _Scope) -> None:
        while scope.kind == "comprehension":
            if name in scope.locals:
                return
            scope = scope.parent  # type: ignore[assignment]  # a walrus binds outside
        if scope.kind == "module" or name in scope.globals:
            self.bound.add(name)
            if name not in self.facts.defs:
                self.facts.defs[name] = self.position(node)
            self.facts.kills.pop(name, None)
        else:
            scope.binds.add(name)

    def bind_position(self, name: str, position: tuple[int, int]) -> None:
        """A module-level binding made by IPython syntax (``%%capture out``)."""
        self.bound.add(name)
        self.facts.defs.setdefault(name, position)

    # -- statements --------------------------------------------------------------------------

    def block(self, body: list[ast.stmt], scope: _Scope) -> None:
        for stmt in body:
            self.stmt(stmt, scope)

    def conditional_block(self, body: list[ast.stmt], scope: _Scope) -> None:
        self.cond_depth += 1
        self.block(body, scope)
        self.cond_depth -= 1

    def stmt(self, node: ast.stmt, scope: _Scope) -> None:
        handler = _STATEMENTS.get(type(node))
        if handler is not None:
            handler(self, node, scope)
        else:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.stmt):
                    self.stmt(child, scope)
                elif isinstance(child, ast.expr):
                    self.expr(child, scope)

    def s_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef, scope: _Scope) -> None:
        for decorator in node.decorator_list:
            self.expr(decorator, scope)
        self.arguments_defaults(node.args, scope)
        self.bind(node.name, node, scope)
        self.function_body(node, scope)

    def arguments_defaults(self, args: ast.arguments, scope: _Scope) -> None:
        for default in args.defaults:
            self.expr(default, scope)
        for kw_default in args.kw_defaults:
            if kw_default is not None:
                self.expr(kw_default, scope)

    @staticmethod
    def argument_names(args: ast.arguments) -> set[str]:
        names = {a.arg for a in args.posonlyargs}
        names.update(a.arg for a in args.args)
        names.update(a.arg for a in args.kwonlyargs)
        if args.vararg:
            names.add(args.vararg.arg)
        if args.kwarg:
            names.add(args.kwarg.arg)
        return names

    def function_body(self, node: ast.FunctionDef | ast.AsyncFunctionDef, scope: _Scope) -> None:
        inner = _Scope("function", scope, self.argument_names(node.args), lazy=True)
        self.cond_depth += 1
        self.block(node.body, inner)
        self.cond_depth -= 1
        self.close_scope(inner)

    def s_class(self, node: ast.ClassDef, scope: _Scope) -> None:
        for decorator in node.decorator_list:
            self.expr(decorator, scope)
        for base in node.bases:
            self.expr(base, scope)
        for keyword in node.keywords:
            self.expr(keyword.value, scope)
        inner = _Scope("class", scope)
        self.conditional_block(node.body, inner)
        self.close_scope(inner)
        self.bind(node.name, node, scope)

    def s_delete(self, node: ast.Delete, scope: _Scope) -> None:
        for target in node.targets:
            if isinstance(target, ast.Name):
                self.read(target.id, target, scope)
                if scope.kind == "module" and self.cond_depth == 0:
                    self.bound.discard(target.id)
                    self.facts.kills[target.id] = self.position(target)
            else:
                self.target(target, scope)

    def s_assign(self, node: ast.Assign, scope: _Scope) -> None:
        self.expr(node.value, scope)
        for target in node.targets:
            self.target(target, scope)

    def s_augassign(self, node: ast.AugAssign, scope: _Scope) -> None:
        self.expr(node.value, scope)
        target = node.target
        if isinstance(target, ast.Name):
            self.read(target.id, target, scope)
            self.bind(target.id, target, scope)
        else:
            self.target(target, scope)

    def s_annassign(self, node: ast.AnnAssign, scope: _Scope) -> None:
        # Annotations are not reads here: ``from __future__ import annotations`` in any earlier
        # cell turns them into strings for the rest of the session.
        if node.value is not None:
            self.expr(node.value, scope)
            self.target(node.target, scope)
        elif not isinstance(node.target, ast.Name):
            self.target(node.target, scope)

    def loop(self, scope: _Scope) -> tuple[int, set[str]] | None:
        """Start a module-level loop: remember where its reads begin and what was bound."""
        if scope.kind != "module":
            return None
        return len(self.facts.uses), set(self.bound)

    def end_loop(self, mark: tuple[int, set[str]] | None) -> None:
        """A later iteration sees what earlier ones bound: drop reads of names the loop binds."""
        if mark is None:
            return
        start, before = mark
        new = self.bound - before
        if new:
            uses = self.facts.uses
            uses[start:] = [u for u in uses[start:] if u.name not in new]

    def s_for(self, node: ast.For | ast.AsyncFor, scope: _Scope) -> None:
        self.expr(node.iter, scope)
        self.cond_depth += 1
        mark = self.loop(scope)
        self.target(node.target, scope)
        self.block(node.body, scope)
        self.end_loop(mark)
        self.block(node.orelse, scope)
        self.cond_depth -= 1

    def s_while(self, node: ast.While, scope: _Scope) -> None:
        truth = _constant_truth(node.test)
        self.cond_depth += 1
        if truth is not False:
            mark = self.loop(scope)
            self.expr(node.test, scope)
            self.block(node.body, scope)
            self.end_loop(mark)
        self.block(node.orelse, scope)
        self.cond_depth -= 1

    def s_if(self, node: ast.If, scope: _Scope) -> None:
        truth = _constant_truth(node.test)
        if truth is None:
            self.expr(node.test, scope)
        self.cond_depth += 1
        if truth is not False:
            self.block(node.body, scope)
        if truth is not True:
            self.block(node.orelse, scope)
        self.cond_depth -= 1

    def s_with(self, node: ast.With | ast.AsyncWith, scope: _Scope) -> None:
        for item in node.items:
            self.expr(item.context_expr, scope)
            if item.optional_vars is not None:
                self.target(item.optional_vars, scope)
        self.conditional_block(node.body, scope)

    def s_try(self, node: ast.Try, scope: _Scope) -> None:
        guarded = any(_handler_catches_name_error(h) for h in node.handlers)
        self.cond_depth += 1
        self.guard_depth += guarded
        self.block(node.body, scope)
        self.guard_depth -= guarded
        for handler in node.handlers:
            if handler.type is not None:
                self.expr(handler.type, scope)
            if handler.name:
                self.bind(handler.name, handler, scope)
            self.block(handler.body, scope)
        self.block(node.orelse, scope)
        self.block(node.finalbody, scope)
        self.cond_depth -= 1

    def s_match(self, node: ast.Match, scope: _Scope) -> None:
        self.expr(node.subject, scope)
        self.cond_depth += 1
        for case in node.cases:
            self.pattern(case.pattern, scope)
            if case.guard is not None:
                self.expr(case.guard, scope)
            self.block(case.body, scope)
        self.cond_depth -= 1

    def pattern(self, node: ast.pattern, scope: _Scope) -> None:
        if isinstance(node, ast.MatchValue):
            self.expr(node.value, scope)
        elif isinstance(node, (ast.MatchSequence, ast.MatchOr)):
            for sub in node.patterns:
                self.pattern(sub, scope)
        elif isinstance(node, ast.MatchMapping):
            for key in node.keys:
                self.expr(key, scope)
            for sub in node.patterns:
                self.pattern(sub, scope)
            if node.rest:
                self.bind(node.rest, node, scope)
        elif isinstance(node, ast.MatchClass):
            self.expr(node.cls, scope)
            for sub in (*node.patterns, *node.kwd_patterns):
                self.pattern(sub, scope)
        elif isinstance(node, ast.MatchAs):
            if node.pattern is not None:
                self.pattern(node.pattern, scope)
            if node.name:
                self.bind(node.name, node, scope)
        elif isinstance(node, ast.MatchStar) and node.name:
            self.bind(node.name, node, scope)

    def s_import(self, node: ast.Import, scope: _Scope) -> None:
        for alias in node.names:
            self.bind(alias.asname or alias.name.split(".")[0], node, scope)

    def s_importfrom(self, node: ast.ImportFrom, scope: _Scope) -> None:
        for alias in node.names:
            if alias.name == "*":
                self.mark_opaque(f"from {'.' * node.level}{node.module or ''} import *")
            else:
                self.bind(alias.asname or alias.name, node, scope)

    def s_nothing(self, node: ast.stmt, scope: _Scope) -> None:
        """``pass``, ``break``, ``continue``: no reads, no bindings."""

    def s_global(self, node: ast.Global, scope: _Scope) -> None:
        if scope.kind != "module":
            scope.globals.update(node.names)

    def s_nonlocal(self, node: ast.Nonlocal, scope: _Scope) -> None:
        scope.nonlocals.update(node.names)

    def s_expr(self, node: ast.Expr | ast.Return, scope: _Scope) -> None:
        if node.value is not None:
            self.expr(node.value, scope)

    def s_raise(self, node: ast.Raise, scope: _Scope) -> None:
        if node.exc is not None:
            self.expr(node.exc, scope)
        if node.cause is not None:
            self.expr(node.cause, scope)

    def s_assert(self, node: ast.Assert, scope: _Scope) -> None:
        self.expr(node.test, scope)
        if node.msg is not None:
            self.expr(node.msg, scope)

    # -- assignment targets and expressions ----------------------------------------------------

    def target(self, node: ast.expr, scope: _Scope) -> None:
        if isinstance(node, ast.Name):
            self.bind(node.id, node, scope)
        elif isinstance(node, (ast.Tuple, ast.List)):
            for element in node.elts:
                self.target(element, scope)
        elif isinstance(node, ast.Starred):
            self.target(node.value, scope)
        elif isinstance(node, ast.Attribute):
            if _is_module_object(node.value):
                self.mark_opaque("attribute written on a module object")
            self.expr(node.value, scope)
        elif isinstance(node, ast.Subscript):
            if _is_namespace_call(node.value):
                self.mark_opaque("write through globals()")
            else:
                self.expr(node.value, scope)
            self.expr(node.slice, scope)
        else:
            self.expr(node, scope)

    def expr(self, node: ast.AST, scope: _Scope) -> None:
        kind = type(node)
        if kind is ast.Name:
            if isinstance(node.ctx, ast.Load):  # type: ignore[attr-defined]
                self.read(node.id, node, scope)  # type: ignore[attr-defined]
            return
        if kind is ast.Constant:
            return
        _EXPRESSIONS.get(kind, _CellVisitor.e_children)(self, node, scope)

    def e_children(self, node: ast.AST, scope: _Scope) -> None:
        """Walk the sub-expressions of a node with no scoping of its own (fast paths below)."""
        for child in ast.iter_child_nodes(node):
            self.expr(child, scope)

    def e_binop(self, node: ast.BinOp, scope: _Scope) -> None:
        self.expr(node.left, scope)
        self.expr(node.right, scope)

    def e_values(self, node: ast.BoolOp | ast.JoinedStr, scope: _Scope) -> None:
        for value in node.values:
            self.expr(value, scope)

    def e_elements(self, node: ast.Tuple | ast.List | ast.Set, scope: _Scope) -> None:
        for element in node.elts:
            self.expr(element, scope)

    def e_dict(self, node: ast.Dict, scope: _Scope) -> None:
        for key in node.keys:
            if key is not None:
                self.expr(key, scope)
        for value in node.values:
            self.expr(value, scope)

    def e_value(self, node: ast.Starred | ast.keyword | ast.Await, scope: _Scope) -> None:
        if node.value is not None:
            self.expr(node.value, scope)

    def e_formatted(self, node: ast.FormattedValue, scope: _Scope) -> None:
        self.expr(node.value, scope)
        if node.format_spec is not None:
            self.expr(node.format_spec, scope)

    def e_unary(self, node: ast.UnaryOp, scope: _Scope) -> None:
        self.expr(node.operand, scope)

    def e_ifexp(self, node: ast.IfExp, scope: _Scope) -> None:
        self.expr(node.test, scope)
        self.expr(node.body, scope)
        self.expr(node.orelse, scope)

    def e_namedexpr(self, node: ast.NamedExpr, scope: _Scope) -> None:
        self.expr(node.value, scope)
        if isinstance(node.target, ast.Name):
            self.bind(node.target.id, node.target, scope)

    def e_lambda(self, node: ast.Lambda, scope: _Scope) -> None:
        self.arguments_defaults(node.args, scope)
        inner = _Scope("function", scope, self.argument_names(node.args), lazy=True)
        self.expr(node.body, inner)
        self.close_scope(inner)

    def e_comprehension(
        self, node: ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp, scope: _Scope
    ) -> None:
        generators = node.generators
        self.expr(generators[0].iter, scope)
        targets: set[str] = set()
        for generator in generators:
            _target_names(generator.target, targets)
        lazy = isinstance(node, ast.GeneratorExp)
        inner = _Scope("comprehension", scope, targets, lazy=lazy)
        for index, generator in enumerate(generators):
            if index:
                self.expr(generator.iter, inner)
            self.target(generator.target, inner)
            for condition in generator.ifs:
                self.expr(condition, inner)
        if isinstance(node, ast.DictComp):
            self.expr(node.key, inner)
            self.expr(node.value, inner)
        else:
            self.expr(node.elt, inner)

    def e_call(self, node: ast.Call, scope: _Scope) -> None:
        func = node.func
        if isinstance(func, ast.Name):
            if func.id in ("exec", "execfile", "runfile"):
                self.mark_opaque(f"{func.id}()")
            elif func.id == "setattr" and node.args and _is_module_object(node.args[0]):
                self.mark_opaque("setattr() on a module object")
            elif _is_namespace_call(node):
                self.mark_opaque(f"{func.id}() passed on")
        elif isinstance(func, ast.Attribute) and func.attr in _SHELL_EXEC_ATTRS:
            self.shell_call(node, func)
        self.expr(func, scope)
        for arg in node.args:
            self.expr(arg, scope)
        for keyword in node.keywords:
            self.expr(keyword.value, scope)

    def shell_call(self, node: ast.Call, func: ast.Attribute) -> None:
        if func.attr == "push" and not (
            isinstance(func.value, ast.Call)
            and isinstance(func.value.func, ast.Name)
            and func.value.func.id == "get_ipython"
        ):
            return
        if func.attr in ("run_line_magic", "magic") and node.args:
            words = [
                a.value
                for a in node.args[:2]
                if isinstance(a, ast.Constant) and isinstance(a.value, str)
            ]
            if len(words) == min(2, len(node.args)):
                from .ipython import to_python

                code = to_python("%" + words[0].lstrip("%") + " " + " ".join(words[1:]))
                if not code.opaque:
                    return
        self.mark_opaque(f"get_ipython().{func.attr}")

    def e_attribute(self, node: ast.Attribute, scope: _Scope) -> None:
        if node.attr in ("user_ns", "user_global_ns"):
            self.mark_opaque(f".{node.attr}")
        if _is_namespace_call(node.value) and node.attr in _NAMESPACE_READS:
            return
        self.expr(node.value, scope)

    def e_subscript(self, node: ast.Subscript, scope: _Scope) -> None:
        if not (_is_namespace_call(node.value) and isinstance(node.ctx, ast.Load)):
            self.expr(node.value, scope)
        self.expr(node.slice, scope)

    def e_compare(self, node: ast.Compare, scope: _Scope) -> None:
        left = node.left
        if (
            isinstance(left, ast.Constant)
            and isinstance(left.value, str)
            and len(node.ops) == 1
            and isinstance(node.ops[0], (ast.In, ast.NotIn))
            and _is_namespace_call(node.comparators[0])
        ):
            self.facts.guarded_names.add(left.value)
            return
        self.expr(left, scope)
        for comparator in node.comparators:
            self.expr(comparator, scope)


def _target_names(node: ast.expr, out: set[str]) -> None:
    """Names bound by an assignment target (``a``, ``(a, *b)``)."""
    if isinstance(node, ast.Name):
        out.add(node.id)
    elif isinstance(node, (ast.Tuple, ast.List)):
        for element in node.elts:
            _target_names(element, out)
    elif isinstance(node, ast.Starred):
        _target_names(node.value, out)


_Handler = Callable[[_CellVisitor, Any, _Scope], None]
_STATEMENTS: dict[type[ast.AST], _Handler] = {
    ast.FunctionDef: _CellVisitor.s_function,
    ast.AsyncFunctionDef: _CellVisitor.s_function,
    ast.ClassDef: _CellVisitor.s_class,
    ast.Delete: _CellVisitor.s_delete,
    ast.Assign: _CellVisitor.s_assign,
    ast.AugAssign: _CellVisitor.s_augassign,
    ast.AnnAssign: _CellVisitor.s_annassign,
    ast.For: _CellVisitor.s_for,
    ast.AsyncFor: _CellVisitor.s_for,
    ast.While: _CellVisitor.s_while,
    ast.If: _CellVisitor.s_if,
    ast.With: _CellVisitor.s_with,
    ast.AsyncWith: _CellVisitor.s_with,
    ast.Try: _CellVisitor.s_try,
    ast.Match: _CellVisitor.s_match,
    ast.Import: _CellVisitor.s_import,
    ast.ImportFrom: _CellVisitor.s_importfrom,
    ast.Pass: _CellVisitor.s_nothing,
    ast.Break: _CellVisitor.s_nothing,
    ast.Continue: _CellVisitor.s_nothing,
    ast.Global: _CellVisitor.s_global,
    ast.Nonlocal: _CellVisitor.s_nonlocal,
    ast.Expr: _CellVisitor.s_expr,
    ast.Return: _CellVisitor.s_expr,
    ast.Raise: _CellVisitor.s_raise,
    ast.Assert: _CellVisitor.s_assert,
}
if hasattr(ast, "TryStar"):  # Python 3.11+
    _STATEMENTS[ast.TryStar] = _CellVisitor.s_try
_EXPRESSIONS: dict[type[ast.AST], _Handler] = {
    ast.NamedExpr: _CellVisitor.e_namedexpr,
    ast.Lambda: _CellVisitor.e_lambda,
    ast.ListComp: _CellVisitor.e_comprehension,
    ast.SetComp: _CellVisitor.e_comprehension,
    ast.DictComp: _CellVisitor.e_comprehension,
    ast.GeneratorExp: _CellVisitor.e_comprehension,
    ast.Call: _CellVisitor.e_call,
    ast.Attribute: _CellVisitor.e_attribute,
    ast.Subscript: _CellVisitor.e_subscript,
    ast.Compare: _CellVisitor.e_compare,
    ast.BinOp: _CellVisitor.e_binop,
    ast.BoolOp: _CellVisitor.e_values,
    ast.JoinedStr: _CellVisitor.e_values,
    ast.Tuple: _CellVisitor.e_elements,
    ast.List: _CellVisitor.e_elements,
    ast.Set: _CellVisitor.e_elements,
    ast.Dict: _CellVisitor.e_dict,
    ast.Starred: _CellVisitor.e_value,
    ast.keyword: _CellVisitor.e_value,
    ast.Await: _CellVisitor.e_value,
    ast.Yield: _CellVisitor.e_value,
    ast.YieldFrom: _CellVisitor.e_value,
    ast.FormattedValue: _CellVisitor.e_formatted,
    ast.UnaryOp: _CellVisitor.e_unary,
    ast.IfExp: _CellVisitor.e_ifexp,
}


#: IPython runs top-level ``await``/``async for``/``async with`` (autoawait).
_PARSE_FLAGS = ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT


def _parse(text: str) -> ast.Module | None:
    try:
        tree = compile(text, "<cell>", "exec", flags=_PARSE_FLAGS, dont_inherit=True)
    except (SyntaxError, ValueError):
        return None
    return tree if isinstance(tree, ast.Module) else None


#: Why a cell whose code nests too deeply for the parser (or the walk over its tree) is opaque.
TOO_DEEP = "nested too deeply to analyse"


def cell_facts(source: str) -> CellFacts:
    """Analyse one code cell's source (IPython syntax allowed).

    Code nested too deeply for Python's parser (which raises MemoryError or RecursionError for
    it) or for the walk over its tree (``x = 1 + 1 + ...`` a thousand times) is not analysed:
    the cell is opaque, as a cell that binds names nobody can see, so no rule guesses about it.
    """
    try:
        return _cell_facts(source)
    except (RecursionError, MemoryError):
        facts = CellFacts(parsed=False, opaque=True)
        facts.opaque_reason = TOO_DEEP
        return facts


def _cell_facts(source: str) -> CellFacts:
    col_shift: dict[int, int] = {}
    binds: list[tuple[str, int, int]] = []
    opaque_reason: str | None = None
    text = source
    tree = _parse(text)
    if tree is None:  # IPython syntax never parses as Python: rewrite it, then parse again
        from .ipython import to_python

        code = to_python(source)
        opaque_reason = code.opaque_reason if code.opaque else None
        binds, col_shift = code.binds, code.col_shift
        if code.python is not None:
            text = code.python
            tree = _parse(text)
            if tree is None:
                opaque_reason = opaque_reason or "not understood as Python"
        if tree is None:
            facts = CellFacts(parsed=False, opaque=opaque_reason is not None)
            facts.opaque_reason = opaque_reason
            for name, line, col in binds:
                facts.defs.setdefault(name, (line, col + col_shift.get(line, 0)))
            return facts
    lines = None if text.isascii() else text.split("\n")
    visitor = _CellVisitor(lines, col_shift)
    for name, line, col in binds:
        visitor.bind_position(name, (line, col + col_shift.get(line, 0)))
    visitor.block(tree.body, visitor.module)
    facts = visitor.facts
    if opaque_reason is not None:
        visitor.mark_opaque(opaque_reason)
    defs = facts.defs
    for use in facts.uses:
        if use.name in defs:
            use.bound_later = True
    facts.deferred_uses = [u for u in facts.deferred_uses if u.name not in defs]
    return facts
