"""The environment snapshot: packages of imported modules, digest, allowlisted variables."""

from __future__ import annotations

import hashlib
from importlib import metadata

import pytest

from nbrepro.record.environment import (
    distributions_for_modules,
    installed_distributions,
    snapshot,
)
from nbrepro.record.interpreter import canonical_name


def test_imported_modules_map_to_their_distributions() -> None:
    env = snapshot(["yaml", "zmq.sugar", "json", "os.path"])
    assert env["packages_scope"] == "imported"
    assert env["packages"] == {
        "pyyaml": metadata.version("PyYAML"),
        "pyzmq": metadata.version("pyzmq"),
    }


def test_modules_of_no_distribution_are_left_out() -> None:
    assert distributions_for_modules(["no_such_local_module", "sys", "builtins"]) == {}


def test_snapshot_without_modules_lists_every_installed_distribution() -> None:
    env = snapshot()
    assert env["packages_scope"] == "all"
    assert env["packages"]["ipykernel"] == metadata.version("ipykernel")
    assert len(env["packages"]) >= 50


def test_packages_digest_covers_the_whole_installed_set() -> None:
    versions, digest = installed_distributions()
    lines = "".join(f"{n}=={versions[n]}\n" for n in sorted(versions))
    assert digest == "sha256:" + hashlib.sha256(lines.encode()).hexdigest()
    assert snapshot(["yaml"])["packages_digest"] == digest


def test_python_platform_and_kernel_are_described() -> None:
    env = snapshot([], kernel={"name": "python3"})
    assert env["python"]["implementation"] == "CPython"
    assert env["python"]["version"].count(".") == 2
    assert set(env["platform"]) == {"system", "release", "machine"}
    assert env["kernel"] == {
        "name": "python3",
        "language": "python",
        "language_version": env["python"]["version"],
    }


def test_only_allowlisted_variables_are_recorded_and_never_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PYTHONHASHSEED", "0")
    monkeypatch.setenv("OMP_NUM_THREADS", "4")
    monkeypatch.setenv("SOME_UNRELATED", "x")
    monkeypatch.setenv("MY_API_TOKEN", "s3cr3t")
    monkeypatch.setenv("NBREPRO_ENV_ALLOWLIST", "MY_API_TOKEN,EXTRA_SETTING")
    monkeypatch.setenv("EXTRA_SETTING", "on")
    env_vars = snapshot([])["env_vars"]
    assert env_vars["PYTHONHASHSEED"] == "0"
    assert env_vars["OMP_NUM_THREADS"] == "4"
    assert env_vars["EXTRA_SETTING"] == "on"
    assert "SOME_UNRELATED" not in env_vars
    assert "MY_API_TOKEN" not in env_vars
    assert "s3cr3t" not in str(snapshot())


def test_allowlisted_variables_lose_the_credentials_inside_their_values(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://bob:hunter22@db.example/prod")
    monkeypatch.setenv("NBREPRO_ENV_ALLOWLIST", "DATABASE_URL")
    env_vars = snapshot([])["env_vars"]
    assert env_vars["DATABASE_URL"] == "postgres://bob:<redacted>@db.example/prod"
    assert "hunter22" not in str(snapshot())


def test_canonical_names_follow_pep_503() -> None:
    assert canonical_name("Jupyter_Server") == "jupyter-server"
    assert canonical_name("zope.interface") == "zope-interface"
