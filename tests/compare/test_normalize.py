"""Golden cases for every normaliser, on outputs of a real kernel run twice."""

from __future__ import annotations

import copy
import re

import pytest

from nbrepro.compare import CompareOptions, compare_outputs, normalize_outputs
from nbrepro.compare.normalize import (
    mask_memory_addresses,
    mask_timings,
    mask_traceback_paths,
    render_carriage_returns,
    strip_ansi,
)

pytestmark = pytest.mark.kernel

DEFAULT = CompareOptions()


def _texts(outputs):
    return [o.get("text") for o in outputs if o["output_type"] == "stream"]


def test_time_magic_lines_become_placeholders(kernel_runs):
    first, second = kernel_runs["time"]
    assert first[0]["text"].startswith("CPU times: user ")
    normalized = normalize_outputs(first, DEFAULT)
    assert normalized[0]["text"] == "CPU times: <timing>\nWall time: <timing>\n"
    assert normalized[1] == {"output_type": "execute_result", "data": {"text/plain": "45"}}
    assert compare_outputs(first, second, DEFAULT).equal


@pytest.mark.parametrize("name", ["timeit", "timeit_auto"])
def test_timeit_line_becomes_placeholder(kernel_runs, name):
    first, second = kernel_runs[name]
    assert " per loop (mean " in first[0]["text"]
    assert _texts(normalize_outputs(first, DEFAULT)) == [
        "<timing> per loop (mean \u00b1 std. dev. of <n> runs, <n> loops each)\n"
    ]
    assert compare_outputs(first, second, DEFAULT).equal


def test_timing_normaliser_golden_cases():
    text = (
        "CPU times: user 1.2 s, sys: 35 ms, total: 1.24 s\nWall time: 1.37 s\n"
        "Compiler : 101 ms\nParser   : 120 ms\nresult 3\n"
        "The slowest run took 5.23 times longer than the fastest. This could mean that an "
        "intermediate result is being cached.\n"
        "8.26 ns +- 0.12 ns per loop (mean +- std. dev. of 1 run, 1 loop each)\n"
        "1000 loops, best of 3: 1.2 ms per loop\n"
        "<TimeitResult : 1.1 \u00b5s \u00b1 5 ns per loop (mean \u00b1 std. dev. of 7 runs, "
        "1,000,000 loops each)>\n"
    )
    assert mask_timings(text) == (
        "CPU times: <timing>\nWall time: <timing>\nresult 3\n"
        "<timing> per loop (mean \u00b1 std. dev. of <n> runs, <n> loops each)\n"
        "<n> loops, best of <n>: <timing> per loop\n"
        "<TimeitResult : <timing> per loop (mean \u00b1 std. dev. of <n> runs, <n> loops each)>\n"
    )
    assert mask_timings("the time is 12:00\n") == "the time is 12:00\n"


def test_object_repr_addresses_are_masked(kernel_runs):
    first, second = kernel_runs["repr"]
    assert first[0]["data"]["text/plain"] != second[0]["data"]["text/plain"]  # both objects live
    assert normalize_outputs(first, DEFAULT)[0]["data"]["text/plain"] == (
        "<__main__.Thing at 0xADDRESS>"
    )
    assert compare_outputs(first, second, DEFAULT).equal
    printed = normalize_outputs(kernel_runs["print_repr"][0], DEFAULT)
    assert printed[0]["text"] == "<__main__.Thing object at 0xADDRESS>\n"


def test_memory_address_golden_cases():
    assert mask_memory_addresses("<function f at 0x7f3a2c1b5d90>") == "<function f at 0xADDRESS>"
    assert mask_memory_addresses("<Figure size 640x480 id=0x55d1c8a0b2c0>") == (
        "<Figure size 640x480 id=0xADDRESS>"
    )
    assert (
        mask_memory_addresses("&lt;Foo object at 0x10ab&gt;") == "&lt;Foo object at 0xADDRESS&gt;"
    )
    # Hex numbers that are data, not addresses, stay.
    assert mask_memory_addresses("flags = 0xff, mask 0x7f3a2c1b5d90") == (
        "flags = 0xff, mask 0x7f3a2c1b5d90"
    )


def test_cell_traceback_loses_colours_and_execution_count(kernel_runs):
    first, second = kernel_runs["traceback"]
    assert first[0]["traceback"] != second[0]["traceback"]  # In[n] and colours
    assert "\x1b[" in "".join(first[0]["traceback"])
    tb = normalize_outputs(first, DEFAULT)[0]["traceback"]
    assert (
        tb[2] == "Cell In[_], line 3\n      1 def f(x):\n      2     return 1 / x\n----> 3 f(0)\n"
    )
    assert tb[-1] == "ZeroDivisionError: division by zero"
    assert compare_outputs(first, second, DEFAULT).equal


def test_stdlib_and_site_packages_paths_in_tracebacks(kernel_runs):
    stdlib = "".join(normalize_outputs(kernel_runs["stdlib_traceback"][0], DEFAULT)[0]["traceback"])
    assert "File <stdlib>/json/__init__.py:" in stdlib
    assert "python3." not in stdlib
    site = "".join(
        normalize_outputs(kernel_runs["site_packages_traceback"][0], DEFAULT)[0]["traceback"]
    )
    assert "File <site-packages>/yaml/__init__.py:" in site
    assert "site-packages" not in site.replace("<site-packages>", "")


def test_user_module_path_in_traceback_keeps_file_name(kernel_runs):
    first, second = kernel_runs["module_traceback"]
    raw = "".join(first[0]["traceback"])
    assert "helper_mod.py" in raw and "<path>" not in raw
    tb = "".join(normalize_outputs(first, DEFAULT)[0]["traceback"])
    assert "File <path>/helper_mod.py:2, in explode(value)" in tb
    assert compare_outputs(first, second, DEFAULT).equal


def test_warning_from_cell_loses_kernel_temp_path(kernel_runs):
    first, _second = kernel_runs["warning"]
    assert re.search(r"ipykernel_\d+[/\\]\d+\.py", first[0]["text"])
    assert normalize_outputs(first, DEFAULT)[0]["text"] == (
        "<ipykernel-cell>.py:3: UserWarning: careful\n  warnings.warn('careful')\n"
    )


def test_warning_from_a_local_module_loses_its_folder(kernel_runs, tmp_path):
    first, second = kernel_runs["module_warning"]
    raw = first[0]["text"]
    assert re.match(r"/\S+/helper_mod\.py:7: UserWarning: caution\n", raw)
    assert normalize_outputs(first, DEFAULT)[0]["text"] == (
        '<path>/helper_mod.py:7: UserWarning: caution\n  warnings.warn("caution")\n'
    )
    moved = [{**first[0], "text": raw.replace(raw.split("helper_mod.py")[0], "/elsewhere/")}]
    assert compare_outputs(moved, second, DEFAULT).equal


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (
            "/home/ada/proj/util.py:3: FutureWarning: soon\n  warn()",
            "<path>/util.py:3: FutureWarning: soon\n  warn()",
        ),
        (
            r"C:\Users\ada\proj\util.py:3: UserWarning: careful",
            "<path>/util.py:3: UserWarning: careful",
        ),
        ("see /home/ada/util.py:3: UserWarning", "see /home/ada/util.py:3: UserWarning"),
        ("/home/ada/notes.txt:3: not a warning", "/home/ada/notes.txt:3: not a warning"),
        ('  File "/home/ada/proj/util.py", line 3, in f', '  File "<path>/util.py", line 3, in f'),
        (
            '  File "/usr/lib/python3.11/json/decoder.py", line 337, in decode',
            '  File "<stdlib>/json/decoder.py", line 337, in decode',
        ),
        (
            r"File C:\Users\ada\venv\Lib\site-packages\numpy\core\x.py:12, in f()",
            r"File <site-packages>/numpy\core\x.py:12, in f()",
        ),
        ("File /tmp/ipykernel_4242/1234567.py:2, in g()", "File <ipykernel-cell>.py:2, in g()"),
        (
            "/var/folders/x/T/ipykernel_77/99.py:1: DeprecationWarning: old",
            "<ipykernel-cell>.py:1: DeprecationWarning: old",
        ),
        ("Input In [12], in <cell line: 2>()", "Input In [_], in <cell line: 2>()"),
        ('File "<ipython-input-3-5d2a3ef7b2c1>", line 1', 'File "<ipython-input>", line 1'),
        ("Cell In[123], line 4", "Cell In[_], line 4"),
        ("no paths here: ratio 3/4", "no paths here: ratio 3/4"),
    ],
)
def test_traceback_path_golden_cases(before, after):
    assert mask_traceback_paths(before) == after


def test_widget_model_id_is_masked(kernel_runs):
    first, second = kernel_runs["widget"]
    mime = "application/vnd.jupyter.widget-view+json"
    assert first[0]["data"][mime]["model_id"] != second[0]["data"][mime]["model_id"]
    normalized = normalize_outputs(first, DEFAULT)[0]
    assert normalized["data"][mime]["model_id"] == "<model-id>"
    assert normalized["data"]["text/plain"] == "IntSlider(value=0)"
    assert "execution_count" not in normalized and "metadata" not in normalized
    assert compare_outputs(first, second, DEFAULT).equal


def test_widget_value_change_is_still_a_difference(kernel_runs):
    first = kernel_runs["widget"][0]
    changed = copy.deepcopy(first)
    changed[0]["data"]["text/plain"] = "IntSlider(value=3)"
    result = compare_outputs(first, changed, DEFAULT)
    assert not result.equal
    assert result.summary == "text/plain differs (1 line)"


def test_ansi_colours_are_stripped(kernel_runs):
    first, _ = kernel_runs["ansi"]
    assert "\x1b[31m" in first[0]["text"]
    assert normalize_outputs(first, DEFAULT)[0]["text"] == "red and bold green\n"
    assert strip_ansi("\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\ \x1b[2K\x1b[1A") == "link "


def test_carriage_returns_keep_the_final_line(kernel_runs):
    first, _ = kernel_runs["progress"]
    assert "\r" in first[0]["text"]
    assert normalize_outputs(first, DEFAULT)[0]["text"] == "done\n"
    assert render_carriage_returns("a\r\nb\n 50%\r100%\nok\b\bno\n") == "a\nb\n100%\nno\n"


def test_consecutive_streams_merge_and_stderr_can_be_ignored(kernel_runs):
    first, _ = kernel_runs["streams"]
    assert [o["name"] for o in first] == ["stdout", "stderr", "stdout"]
    kept = normalize_outputs(first, DEFAULT)
    assert [(o["name"], o["text"]) for o in kept] == [
        ("stdout", "out 1\n"),
        ("stderr", "err 1\n"),
        ("stdout", "out 2\n"),
    ]
    merged = normalize_outputs(first, CompareOptions(ignore_stderr=True))
    assert merged == [{"output_type": "stream", "name": "stdout", "text": "out 1\nout 2\n"}]


def test_split_stream_chunks_and_lists_of_lines_are_joined():
    outputs = [
        {"output_type": "stream", "name": "stdout", "text": ["CPU times: user 1 s, ", "sys"]},
        {"output_type": "stream", "name": "stdout", "text": ": 0 ns, total: 1 s\n"},
        {"output_type": "stream", "name": "stdout", "text": ""},
    ]
    assert normalize_outputs(outputs, DEFAULT) == [
        {"output_type": "stream", "name": "stdout", "text": "CPU times: <timing>\n"}
    ]


def test_execution_count_transient_and_metadata_are_dropped():
    output = {
        "output_type": "execute_result",
        "execution_count": 7,
        "data": {"text/plain": ["a\n", "b"], "image/png": "iVBO\nRw0K\n"},
        "metadata": {"image/png": {"width": 30}},
        "transient": {"display_id": "abc"},
    }
    assert normalize_outputs([output], DEFAULT) == [
        {"output_type": "execute_result", "data": {"text/plain": "a\nb", "image/png": "iVBORw0K"}}
    ]
    assert output["execution_count"] == 7  # the input is not modified


def test_user_sanitizers_run_after_builtin_normalisers():
    from nbrepro.compare import parse_sanitizers

    sanitizers = parse_sanitizers("regex: <__main__\\.(\\w+) at 0xADDRESS>\nreplace: <\\1>\n")
    options = CompareOptions(sanitizers=sanitizers)
    out = [{"output_type": "stream", "name": "stdout", "text": "<__main__.T at 0x7f00aa11bb22>"}]
    assert normalize_outputs(out, options)[0]["text"] == "<T>"
