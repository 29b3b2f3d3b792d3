"""Dataflow rules on small hand-built notebooks: every trap of the issue, both ways."""

from __future__ import annotations

import pytest

from nbrepro.analysis import analyze

from .conftest import notebook

DATAFLOW = ["NBR2"]


def found(sources, **kwargs):
    """(rule, cell index, line, column, the name in backticks) of the dataflow findings."""
    out = []
    for f in analyze(notebook(sources), select=DATAFLOW, **kwargs):
        name = f.message.split("`")[1]
        out.append((f.rule, f.cell_index, f.line, f.column, name))
    return out


def test_name_defined_only_in_a_cell_below():
    assert found(["y = x + 1", "x = 1"]) == [("NBR201", 0, 1, 5, "x")]


def test_name_defined_above_is_fine():
    assert found(["x = 1", "y = x + 1"]) == []


def test_name_defined_nowhere():
    assert found(["import os", "print(os.sep, model)"]) == [("NBR202", 1, 1, 15, "model")]


def test_each_name_is_reported_once_per_cell():
    assert found(["print(a)\nprint(a)", "print(a)"]) == [
        ("NBR202", 0, 1, 7, "a"),
        ("NBR202", 1, 1, 7, "a"),
    ]


def test_builtins_and_ipython_names_are_defined():
    sources = [
        "print(len([1]), sorted({}), Exception, __name__)",
        "_ + __ + ___\n_i + _ii + _iii\nIn[1], Out[2], _3, _i3, _oh, _ih, _dh",
        "get_ipython()\ndisplay(1)\nexit\nquit",
    ]
    assert found(sources) == []


def test_configured_known_names_are_defined():
    assert found(["spark.read.csv('x')"], known_names=["spark"]) == []


def test_databricks_notebooks_know_their_predefined_names():
    nb = notebook(["df = spark.read.table('t')\ndisplay(df)\ndbutils.fs.ls('/')"])
    assert analyze(nb, select=DATAFLOW) != []
    nb["metadata"]["application/vnd.databricks.v1+notebook"] = {"language": "python"}
    assert analyze(nb, select=DATAFLOW) == []


@pytest.mark.parametrize(
    "source",
    [
        "from numpy import *",
        "from .local import *",
        "%run helpers.py",
        "%pylab inline",
        "%store -r",
        "%load_ext some_unknown_extension",
        "exec(open('setup.py').read())",
        "globals()['model'] = 1",
        "globals().update(params)",
        "vars().update(params)",
        "import builtins\nbuiltins.model = 1",
        "get_ipython().push({'model': 1})",
        "get_ipython().user_ns['model'] = 1",
        "get_ipython().run_line_magic('run', 'helpers.py')",
        "%%R -o model\nmodel <- 1",
        "this is not python at all",
    ],
)
def test_cells_that_may_bind_unseen_names_silence_undefined_names(source):
    assert found([source, "print(model)"]) == []
    # ...everywhere: a star import below may still be what the user relied on.
    assert found(["print(model)", source]) == []


def test_an_opaque_cell_below_does_not_hide_a_name_defined_below_it():
    assert found(["print(x)", "from m import *", "x = 1"]) == [("NBR201", 0, 1, 7, "x")]


def test_star_import_above_silences_defined_below():
    assert found(["from m import *", "print(x)", "x = 1"]) == []


def test_imports_bind_their_names():
    sources = [
        "import os.path\nimport numpy as np\nfrom a.b import c, d as e\nfrom . import f",
        "os, np, c, e, f",
    ]
    assert found(sources) == []
    assert found(["import os.path", "path"]) == [("NBR202", 1, 1, 1, "path")]


def test_function_bodies_read_globals_when_called():
    # Top to bottom this works: f is only called after y exists.
    assert found(["def f():\n    return y", "y = 1", "f()"]) == []
    # Defaults and decorators run at definition time.
    assert found(["def f(a=y):\n    return a", "y = 1"]) == [("NBR201", 0, 1, 9, "y")]
    assert found(["@deco\ndef f():\n    pass", "deco = id"]) == [("NBR201", 0, 1, 2, "deco")]


def test_a_global_used_in_a_function_and_defined_nowhere():
    assert found(["def f():\n    return undefined_thing"]) == [
        ("NBR202", 0, 2, 12, "undefined_thing")
    ]


def test_function_locals_parameters_and_closures():
    source = (
        "def outer(a, *args, b=1, **kw):\n"
        "    c = a + b\n"
        "    def inner(d):\n"
        "        nonlocal c\n"
        "        c += d\n"
        "        return c, args, kw\n"
        "    for i in range(3):\n"
        "        e = i\n"
        "    return inner, e, lambda z: z + c"
    )
    assert found([source]) == []


def test_global_declaration_defines_a_module_name():
    assert found(["def setup():\n    global config\n    config = {}", "setup()", "config"]) == []


def test_class_bodies_run_at_once_and_methods_do_not_see_class_names():
    assert found(["class A(Base):\n    pass", "Base = object"]) == [("NBR201", 0, 1, 9, "Base")]
    source = "class A:\n    x = 1\n    y = x + 1\n    def m(self):\n        return self.x, A"
    assert found([source]) == []
    assert found(["class A:\n    x = 1\n    def m(self):\n        return x"]) == [
        ("NBR202", 0, 4, 16, "x")
    ]


def test_comprehension_variables_stay_inside():
    assert found(["squares = [i * i for i in range(3)]", "print(squares)"]) == []
    assert found(["squares = [i * i for i in range(3)]", "print(i)"]) == [("NBR202", 1, 1, 7, "i")]
    assert found(["{k: v for k, v in pairs}", "pairs = []"]) == [("NBR201", 0, 1, 19, "pairs")]


def test_walrus_binds_in_the_enclosing_scope_even_from_a_comprehension():
    assert found(["if (n := 10) > 5:\n    pass", "print(n)"]) == []
    assert found(["[last := v for v in range(3)]", "print(last)"]) == []


def test_augmented_assignment_is_a_use_then_a_definition():
    assert found(["total = 0", "total += 1"]) == []
    assert found(["total += 1", "total = 0"]) == [("NBR201", 0, 1, 1, "total")]
    # Alone, it works only when the cell is run twice: defined later in the same cell.
    [(rule, cell, line, column, name)] = found(["count += 1"])
    assert (rule, cell, line, column, name) == ("NBR201", 0, 1, 1, "count")


def test_del_is_a_use_and_later_uses_fail():
    assert found(["x = 1", "del x", "print(x)"]) == [("NBR203", 2, 1, 7, "x")]
    assert found(["x = 1", "del x", "x = 2", "print(x)"]) == []
    assert found(["del nothing"]) == [("NBR202", 0, 1, 5, "nothing")]
    # A conditional del may not happen: silent.
    assert found(["x = 1", "if flag:\n    del x", "print(x)"], known_names=["flag"]) == []


def test_try_except_name_error_is_a_deliberate_test():
    source = "try:\n    cache\nexcept NameError:\n    cache = {}"
    assert found([source, "cache['a'] = 1"]) == []
    bare = "try:\n    model\nexcept:\n    model = None"
    assert found([bare]) == []
    # A handler for another error does not make the read deliberate.
    other = "try:\n    value = compute()\nexcept ValueError as err:\n    print(err)"
    assert found([other]) == [("NBR202", 0, 2, 13, "compute")]


def test_except_as_and_with_as_bind():
    sources = [
        "try:\n    pass\nexcept Exception as err:\n    pass",
        "with open('f') as fh:\n    pass",
    ]
    assert found([*sources, "print(err, fh)"]) == []


def test_conditional_definitions_count_as_definitions():
    source = "if flag:\n    mode = 'a'\nelse:\n    other = 1\nwhile flag:\n    seen = 1\n    break"
    assert found(["flag = True", source, "print(mode, other, seen)"]) == []


def test_dead_branches_are_not_read():
    assert found(["if False:\n    print(nope)\nwhile 0:\n    print(nope2)"]) == []


def test_loops_see_what_earlier_iterations_bound():
    assert found(["for i in range(3):\n    if i:\n        print(prev)\n    prev = i"]) == []


def test_names_checked_in_globals_are_not_alarms():
    assert found(["if 'model' in globals():\n    model.fit()"]) == []
    assert found(["model = globals().get('model')", "model"]) == []


def test_match_statement_captures_and_reads():
    source = (
        "match command:\n"
        "    case Point(x=0, y=yy):\n        found = yy\n"
        "    case {'k': v, **rest}:\n        found = rest\n"
        "    case [first, *others] if first > limit:\n        found = others\n"
        "    case Color.RED | None:\n        found = None"
    )
    result = found(["command = None", source, "print(found, yy, v, first)"])
    assert result == [
        ("NBR202", 1, 2, 10, "Point"),
        ("NBR202", 1, 6, 38, "limit"),
        ("NBR202", 1, 8, 10, "Color"),
    ]


def test_lambdas_and_generators_run_later():
    assert found(["f = lambda q: q + r", "r = 1", "f(1)"]) == []
    assert found(["g = (x * k for x in range(3))", "k = 2", "list(g)"]) == []
    assert found(["g = (x for x in items)", "items = []"]) == [("NBR201", 0, 1, 17, "items")]


def test_annotations_are_not_reads():
    assert found(["x: SomeType = 1", "def f(a: Other) -> Third:\n    return a"]) == []
    # A bare annotation binds nothing.
    assert found(["y: int", "print(y)"]) == [("NBR202", 1, 1, 7, "y")]


def test_ipython_syntax_binds_and_hides_nothing_else():
    sources = [
        "%matplotlib inline\n%config InlineBackend.figure_format = 'svg'",
        "files = !ls {folder}\n!echo $HOME",
        "here = %pwd",
        "%%capture cap\nprint('x')",
        "%%bash --out listing\nls",
        "%time result = sum(range(3))",
        "%timeit -n 3 -r 2 sum(range(3))",
        "%store -r saved",
        "len?\n?len\nfiles??",
        "print(files, here, cap, listing, result, saved)",
    ]
    assert found(sources) == []


def test_ipython_syntax_keeps_reads_and_positions():
    assert found(["%time y = compute(a)"]) == [
        ("NBR202", 0, 1, 11, "compute"),
        ("NBR202", 0, 1, 19, "a"),
    ]
    assert found(["%%time\nz = w + 1"]) == [("NBR202", 0, 2, 5, "w")]
    assert found(["    a = 1\n    b = a + c"]) == [("NBR202", 0, 2, 13, "c")]
    assert found(["%%timeit data = make()\nsum(data)"]) == [("NBR202", 0, 1, 17, "make")]


def test_magic_like_text_inside_strings_is_not_magic():
    source = "s = '''\n%run evil.py\n!rm x\n'''\n%ls"
    assert found([source, "print(undefined)"]) == [("NBR202", 1, 1, 7, "undefined")]


def test_columns_count_characters_not_bytes():
    assert found(["é = 'ü'; print(é, ünknown)"]) == [("NBR202", 0, 1, 19, "ünknown")]


def test_foreign_cell_magics_are_not_python():
    assert found(["%%html\n<b>{undefined}</b>", "%%writefile x.py\nprint(y)"]) == []


def test_markdown_and_raw_cells_are_ignored():
    nb = notebook(["#md print(x)", "x = 1"])
    nb["cells"].append({"cell_type": "raw", "id": "r", "metadata": {}, "source": "print(y)"})
    assert analyze(nb, select=DATAFLOW) == []


def test_provider_that_ran_first_is_named_in_the_message():
    nb = notebook(["y = x + 1", "x = 1"])
    nb["cells"][0]["execution_count"], nb["cells"][1]["execution_count"] = 2, 1
    [finding] = analyze(nb, select=["NBR201"])
    assert "ran first (In [1] before In [2])" in finding.message
    assert "Move cell 2 above cell 1" in finding.fix


def test_top_level_await_is_python_in_a_notebook():
    sources = [
        "import asyncio\nasync def fetch():\n    return 1",
        "result = await fetch()\nasync with lock:\n    pass\nasync for item in stream():\n    pass",
        "print(result, item, missing)",
    ]
    assert found(sources, known_names=["lock", "stream"]) == [("NBR202", 2, 1, 21, "missing")]
