"""One answer, many faces: the decisions verify shares with every face are made once.

Each test here failed before the pipeline was one: parameter names ran code, a secret printed in
two chunks survived, core messages named command-line flags to pytest users, faces declared
their own option bounds.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from tests.kernel_session import new_notebook

from nbrepro.cli import main
from nbrepro.errors import EXIT_USAGE, InputError, KernelNotFound
from nbrepro.optionspec import CLI, PLAIN, PYTEST, REST, OptionError, mention, render_mentions
from nbrepro.verify.options import VERIFY_OPTIONS

SECRET = "s3cr3t-value-4242"


def _write(path: Path, sources: list[str]) -> Path:
    path.write_text(json.dumps(new_notebook(sources)), encoding="utf-8")
    return path


def verify(capsys, *args: str | os.PathLike[str]) -> tuple[int, str, str]:
    try:
        code = main(["verify", *map(str, args)])
    except SystemExit as exc:  # argparse's usage errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    "name",
    ["x=__import__('os').system('touch PWNED')#", "class", "None", "a b", "1x", ""],
)
def test_a_parameter_name_never_becomes_code(tmp_path, capsys, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    nb = _write(tmp_path / "p.ipynb", ["x = 1", "print(x)"])
    code, out, err = verify(capsys, nb, "--runs", "2", "-p", name, "1")
    assert code == EXIT_USAGE and out == ""
    assert err.count("\n") == 1 and "parameter name" in err, err
    assert not (tmp_path / "PWNED").exists()


def test_a_secret_printed_in_two_chunks_is_scrubbed_everywhere(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("NBREPRO_TEST_API_TOKEN", SECRET)
    nb = _write(
        tmp_path / "leak.ipynb",
        [
            "import os, sys\ns = os.environ['NBREPRO_TEST_API_TOKEN']\n"
            "sys.stdout.write(s[:7]); sys.stdout.flush()\n"
            "import time; time.sleep(0.2)\nsys.stdout.write(s[7:]); sys.stdout.flush()",
            "raise ValueError(os.environ['NBREPRO_TEST_API_TOKEN'])",
        ],
    )
    kept = tmp_path / "kept"
    code, out, _ = verify(capsys, nb, "--format", "json", "--output", kept)
    assert code == 1
    copies = list(kept.rglob("*.ipynb"))
    assert len(copies) == 1
    copy_text = copies[0].read_text(encoding="utf-8")
    assert SECRET not in out and SECRET not in copy_text
    assert SECRET[:7] not in copy_text or SECRET[7:] not in copy_text
    assert "<redacted>" in copy_text
    report = json.loads(out)["notebooks"][0]
    assert report["cells"][1]["status"] == "error"


def test_messages_name_the_option_as_each_face_spells_it() -> None:
    text = f"compare with a copy ({mention('against')}) or {mention('runs', 2)}"
    assert render_mentions(text, CLI) == "compare with a copy (--against) or --runs 2"
    # REST has no 'against' either; it names its own keys.
    assert render_mentions(text, REST) == "compare with a copy or options.runs = 2"
    # pytest has no --against: the parenthesised mention is dropped, --runs is pytest's own.
    pytest_text = render_mentions(text, PYTEST)
    assert "--against" not in pytest_text and "--nbrepro-runs 2" in pytest_text
    assert "--" not in render_mentions(text, PLAIN)


def test_a_kernel_error_names_the_kernel_option_of_the_face() -> None:
    from nbrepro.execute.kernels import resolve_kernel

    nb = new_notebook(["1"])
    with pytest.raises(KernelNotFound) as caught:
        resolve_kernel(nb, "no-such-kernel-xyz")
    assert caught.value.message_for(CLI).endswith("choose one with --kernel)")
    assert caught.value.message_for(PYTEST).endswith("choose one with --nbrepro-kernel)")
    assert caught.value.message_for(REST).endswith("choose one with options.kernel)")


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"timeout": 0}, "greater than 0"),
        ({"runs": 0}, "at least 1"),
        ({"runs": 1.5}, "whole number"),
        ({"kernel": "--help"}, "not a kernel name"),
        ({"rtol": float("nan")}, "finite"),
        ({"image_tolerance": 2}, "at most 1"),
        ({"ignore_stderr": "yes"}, "true or false"),
        ({"against": "x.ipynb"}, "unknown option"),
        ({"no_such": 1}, "unknown option"),
    ],
)
def test_rest_options_are_validated_by_the_declared_table(options, problem) -> None:
    with pytest.raises(OptionError) as caught:
        VERIFY_OPTIONS.validate_json(options, face=REST)
    message = caught.value.message_for(REST)
    assert problem in message and "\n" not in message
    assert not re.search(r"--[a-z]", message.replace("'--help'", ""))


def test_cli_and_rest_share_bounds(tmp_path, capsys) -> None:
    nb = _write(tmp_path / "b.ipynb", ["1"])
    for flag, value in (("--timeout", "0"), ("--runs", "0"), ("-k", "--help=x")):
        code, _, err = verify(capsys, nb, flag, value)
        assert code == EXIT_USAGE and err.strip().splitlines()[-1].startswith("nbrepro: error:")


def test_floats_from_json_keep_their_type() -> None:
    values = VERIFY_OPTIONS.validate_json({"rtol": 1e-5, "timeout": 2}, face=REST)
    assert values["rtol"] == 1e-5 and isinstance(values["timeout"], float)


def test_parameter_names_are_checked_per_language() -> None:
    from nbrepro.execute.parameters import check_parameter_names, parameter_name_problem

    assert parameter_name_problem("alpha") is None
    assert parameter_name_problem("match") is None  # a soft keyword is a valid name
    assert "keyword" in str(parameter_name_problem("None"))
    assert parameter_name_problem("my.var", "R") is None
    assert parameter_name_problem("my.var", "python") is not None
    assert parameter_name_problem("x;rm", "bash") is not None
    with pytest.raises(InputError):
        check_parameter_names({"ok": 1, "lambda": 2})
