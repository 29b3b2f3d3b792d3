"""The ``[tool.nbrepro]`` loader and the pre-commit hook definitions."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from nbrepro.config import check_config, find_config, load_config, section
from nbrepro.errors import InputError

ROOT = Path(__file__).resolve().parents[2]


def test_nearest_pyproject_with_a_nbrepro_table_wins(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.nbrepro]\nexclude = ["a"]\n')
    inner = tmp_path / "pkg" / "deep"
    inner.mkdir(parents=True)
    (tmp_path / "pkg" / "pyproject.toml").write_text("[tool.ruff]\nline-length = 80\n")
    config = find_config(inner)
    assert config.path == tmp_path / "pyproject.toml"
    assert config.root == tmp_path and config.data == {"exclude": ["a"]}
    assert load_config(inner) == {"exclude": ["a"]}


def test_no_configuration_is_an_empty_table(tmp_path):
    config = find_config(tmp_path)
    if config.path is not None:  # a pyproject.toml with [tool.nbrepro] above the temp dir
        assert tmp_path not in config.path.parents
    else:
        assert config.data == {} and config.section("check") == {}


def test_sub_table_overrides_shared_keys():
    table = {
        "exclude": ["a"],
        "ignore": ["NBR104"],
        "check": {"ignore": ["NBR1"]},
        "verify": {"timeout": 5},
    }
    assert check_config(table) == {"exclude": ["a"], "ignore": ["NBR1"]}
    assert section(table, "verify") == {"exclude": ["a"], "ignore": ["NBR104"], "timeout": 5}


def test_invalid_toml_names_the_file(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.nbrepro\n")
    with pytest.raises(InputError, match=re.escape(str(tmp_path / "pyproject.toml"))):
        find_config(tmp_path)


def test_pre_commit_hooks():
    hooks = {
        hook["id"]: hook for hook in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    }
    check = hooks["nbrepro-check"]
    assert (check["entry"], check["language"]) == ("nbrepro check", "python")
    assert re.search(check["files"], "analysis/notebook.ipynb")
    assert not re.search(check["files"], "analysis/notebook.py")
    assert "stages" not in check
    verify = hooks["nbrepro-verify"]
    assert (verify["entry"], verify["language"], verify["stages"]) == (
        "nbrepro verify",
        "python",
        ["manual"],
    )
