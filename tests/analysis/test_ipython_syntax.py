"""Rewriting IPython syntax to Python: same lines, mappable columns, what it binds."""

from __future__ import annotations

import pytest

from nbrepro.analysis.ipython import to_python
from nbrepro.analysis.scope import cell_facts


def uses(source):
    return [(u.name, u.line, u.column) for u in cell_facts(source).uses]


def test_line_count_is_kept():
    source = "%matplotlib inline\n!pip list \\\n  --outdated\nx = 1\nlen?\n"
    code = to_python(source)
    assert code.python is not None
    assert code.python.count("\n") == source.count("\n")


def test_continued_magic_lines_are_not_python():
    assert uses("!echo a \\\n  {undefined}\ny = 1") == []


@pytest.mark.parametrize("line", ["obj?", "obj??", "?obj", "??obj", "obj.attr?", "%timeit?"])
def test_help_is_not_a_read(line):
    assert uses(line) == []
    assert not cell_facts(line).opaque


def test_pasted_prompts_are_stripped():
    assert uses(">>> a = 1\n>>> print(a, b)") == [("b", 2, 13)]
    assert uses("In [1]: a = 1\n   ...: print(a, b)") == [("b", 2, 17)]


def test_magic_binding_names():
    facts = cell_facts("%store -r first second\n%macro my_macro 1-3")
    assert set(facts.defs) == {"first", "second", "my_macro"} and not facts.opaque
    facts = cell_facts("%%capture --no-stderr out\nprint(1)")
    assert facts.defs == {"out": (1, 22)}
    facts = cell_facts("%%script python3 --out result --err problems\nprint(1)")
    assert set(facts.defs) == {"result", "problems"}


def test_assignment_from_shell_and_magic_binds_the_targets():
    facts = cell_facts("a, b = !echo 1 2\nc = %who_ls\nd.attr = !ls")
    assert set(facts.defs) == {"a", "b", "c"}
    assert [(u.name, u.line) for u in facts.uses] == [("d", 3)]


def test_inert_and_unknown_extensions():
    assert not cell_facts("%load_ext autoreload\n%autoreload 2").opaque
    assert cell_facts("%load_ext my_magic_names").opaque_reason == "%load_ext my_magic_names"
    assert cell_facts("%unknown_magic arg").opaque


def test_indented_magic_inside_a_block_keeps_the_block_valid():
    facts = cell_facts("for f in files:\n    !echo {f}\n    %time total = f\nprint(total)")
    assert facts.parsed and not facts.opaque
    assert [u.name for u in facts.uses] == ["files"]
    assert "total" in facts.defs


def test_syntax_error_after_rewriting_is_opaque():
    facts = cell_facts("%matplotlib inline\ndef broken(:\n    pass")
    assert facts.opaque and not facts.parsed
