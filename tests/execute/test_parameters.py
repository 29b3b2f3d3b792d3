"""Papermill parameters: parsing as papermill's CLI does, injection exactly as papermill injects."""

from __future__ import annotations

import copy
import json
import math

import pytest
from papermill.cli import _resolve_type as papermill_resolve_type
from papermill.translators import translate_parameters as papermill_translate
from tests.kernel_session import new_notebook

from nbrepro.errors import InputError
from nbrepro.execute.parameters import (
    INJECTED_TAG,
    inject_parameters,
    parameters_differ,
    parse_parameters,
    resolve_type,
)


@pytest.mark.parametrize(
    "value",
    [
        "True",
        "False",
        "None",
        "true",
        "3",
        "-7",
        "1_000",
        " 4 ",
        "2.5",
        "1e3",
        "nan",
        "-inf",
        "0x10",
        "abc",
        "",
        "3.0.1",
        "'quoted'",
    ],
)
def test_p_values_are_typed_like_papermill_cli(value):
    ours, theirs = resolve_type(value), papermill_resolve_type(value)
    assert type(ours) is type(theirs)
    if isinstance(ours, float) and math.isnan(ours):
        assert math.isnan(theirs)
    else:
        assert ours == theirs


def test_precedence_is_file_then_yaml_then_typed_then_raw(tmp_path):
    params_file = tmp_path / "params.yaml"
    params_file.write_text(
        "a: from-file\nb: from-file\nc: from-file\nd: from-file\nday: 2024-01-02\n"
    )
    params = parse_parameters(
        p=[("c", "3"), ("d", "4.5")],
        r=[("d", "4.5")],
        files=[str(params_file)],
        yamls=["b: from-yaml\nc: from-yaml"],
    )
    assert params == {"a": "from-file", "b": "from-yaml", "c": 3, "d": "4.5", "day": "2024-01-02"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"yamls": ["a: [1, 2"]}, "invalid YAML"),
        ({"yamls": ["- 1\n- 2"]}, "must be a YAML mapping"),
        ({"files": ["/nonexistent/params.yaml"]}, "no such parameter file"),
    ],
)
def test_bad_parameter_input_is_a_one_line_input_error(kwargs, message):
    with pytest.raises(InputError) as info:
        parse_parameters(**kwargs)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def _params_nb():
    nb = new_notebook(["import os", "alpha = 0.1\nname = 'x'", "print(alpha)"])
    nb["cells"][1]["metadata"]["tags"] = ["parameters"]
    return nb


VALUES = {
    "alpha": 0.5,
    "name": 'say "hi"\n',
    "flag": True,
    "nothing": None,
    "items": [1, "two", 3.0],
    "mapping": {"k": [1, 2], "z": False},
    "big": float("inf"),
}


def test_injected_cell_follows_parameters_cell_and_input_is_untouched():
    nb = _params_nb()
    before = copy.deepcopy(nb)
    result = inject_parameters(nb, {"alpha": 0.5})
    assert nb == before
    cells = result.nb["cells"]
    assert [c["metadata"].get("tags") for c in cells[:3]] == [None, ["parameters"], [INJECTED_TAG]]
    assert cells[2]["source"] == "# Parameters\nalpha = 0.5\n"
    assert cells[2]["id"] == "injected-parameters"
    assert result.index == 2
    assert result.warnings == []
    assert result.nb["metadata"]["papermill"]["parameters"] == {"alpha": 0.5}


def test_unknown_names_and_missing_parameters_cell_are_warned():
    nb = _params_nb()
    warnings = inject_parameters(nb, {"alpha": 1, "beta": 2}).warnings
    assert warnings == ["unknown parameter 'beta': not assigned in the parameters cell"]
    plain = new_notebook(["print(1)"])
    result = inject_parameters(plain, {"a": 1})
    assert result.nb["cells"][0]["metadata"]["tags"] == [INJECTED_TAG]
    assert any("no cell tagged 'parameters'" in w for w in result.warnings)


def test_a_previous_injected_cell_is_replaced_not_duplicated():
    once = inject_parameters(_params_nb(), {"alpha": 1}).nb
    twice = inject_parameters(once, {"alpha": 2}).nb
    injected = [c for c in twice["cells"] if INJECTED_TAG in c["metadata"].get("tags", [])]
    assert len(injected) == 1
    assert injected[0]["source"] == "# Parameters\nalpha = 2\n"
    assert len(twice["cells"]) == len(once["cells"])


def test_old_notebooks_get_no_cell_ids():
    nb = _params_nb()
    nb["nbformat_minor"] = 4
    for cell in nb["cells"]:
        del cell["id"]
    out = inject_parameters(nb, {"alpha": 1}).nb
    assert all("id" not in cell for cell in out["cells"])


@pytest.mark.parametrize(
    ("kernel", "language"),
    [("ir", "R"), ("julia-1.9", "julia"), ("bash", "bash"), ("scala", "scala")],
)
def test_other_languages_use_papermills_translators(kernel, language):
    values = {"n": 3, "label": "a b", "ok": False}
    nb = new_notebook(["n = 1"], kernel=kernel)
    nb["metadata"]["kernelspec"]["language"] = language
    nb["metadata"]["language_info"] = {"name": language}
    nb["cells"][0]["metadata"]["tags"] = ["parameters"]
    result = inject_parameters(nb, values)
    injected = result.nb["cells"][1]["source"]
    assert injected == papermill_translate(kernel, language, values, "Parameters")
    assert result.warnings == [
        f"cannot check parameter names: papermill cannot inspect {language} parameters cells"
    ]


def test_unsupported_language_is_an_input_error():
    nb = new_notebook(["x"], kernel="nonesuch")
    nb["metadata"]["language_info"] = {"name": "cobol"}
    with pytest.raises(InputError, match="no translator"):
        inject_parameters(nb, {"a": 1})


def test_parameters_differ_from_papermill_metadata():
    nb = _params_nb()
    assert not parameters_differ(nb, {})
    assert parameters_differ(nb, {"alpha": 0.1})
    nb["metadata"]["papermill"] = {"parameters": {"alpha": 0.5}}
    assert not parameters_differ(nb, {"alpha": 0.5})
    assert parameters_differ(nb, {"alpha": 0.6})


@pytest.mark.kernel
def test_injected_source_equals_what_papermill_execute_injects(tmp_path):
    import papermill

    from nbrepro.notebook_io import read_notebook, write_notebook

    source = tmp_path / "in.ipynb"
    write_notebook(_params_nb(), source)
    papermill.execute_notebook(
        str(source), str(tmp_path / "out.ipynb"), parameters=VALUES, progress_bar=False
    )
    executed = read_notebook(tmp_path / "out.ipynb")
    theirs = next(c for c in executed["cells"] if INJECTED_TAG in c["metadata"]["tags"])
    ours = inject_parameters(read_notebook(source), VALUES)
    ours_cell = ours.nb["cells"][ours.index]
    assert ours_cell["source"] == "".join(theirs["source"])
    assert json.loads(json.dumps(ours.nb["metadata"]["papermill"]["parameters"])) == json.loads(
        json.dumps(executed["metadata"]["papermill"]["parameters"])
    )
    # papermill places its cell at the same position
    assert executed["cells"].index(theirs) == ours.index
