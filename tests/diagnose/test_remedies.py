"""Pinned environments from recorded provenance (``nbrepro env export``)."""

from __future__ import annotations

import pytest
import yaml

from nbrepro.diagnose import export_environment
from nbrepro.errors import InputError, UsageError

ENV = {
    "python": {"version": "3.11.7", "implementation": "CPython"},
    "platform": {"system": "Linux", "machine": "x86_64", "release": "6.1"},
    "packages": {"pandas": "2.2.1", "numpy": "1.26.4"},
    "packages_scope": "imported",
}


def test_requirements_pin_every_recorded_package_sorted():
    text = export_environment(ENV, "requirements")
    pins = [line for line in text.splitlines() if not line.startswith("#")]
    assert pins == ["numpy==1.26.4", "pandas==2.2.1"]
    assert "# python 3.11.7 CPython" in text


def test_conda_environment_is_valid_yaml_pinning_python_and_pip_packages():
    env = yaml.safe_load(export_environment(ENV, "conda"))
    assert env["dependencies"][0] == "python=3.11.7"
    assert env["dependencies"][-1] == {"pip": ["numpy==1.26.4", "pandas==2.2.1"]}


def test_bad_format_and_environment_without_packages_are_one_line_errors():
    with pytest.raises(UsageError, match="unknown export format 'pipfile'"):
        export_environment(ENV, "pipfile")
    with pytest.raises(InputError, match="no packages"):
        export_environment({"python": {}}, "requirements")
    with pytest.raises(InputError, match="invalid package"):
        export_environment({"packages": {"x; rm -rf /": "1"}}, "requirements")
