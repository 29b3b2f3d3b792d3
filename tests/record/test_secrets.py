"""Secret-looking names are never recorded, and secret values are scrubbed from text."""

from __future__ import annotations

import pytest

from nbrepro.record.secrets import REDACTED, is_secret_name, redact


@pytest.mark.parametrize(
    "name",
    [
        "MY_API_TOKEN",
        "GITHUB_TOKEN",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "OPENAI_API_KEY",
        "DB_PASSWORD",
        "PGPASSWORD",
        "MYSQL_PWD",
        "SMTP_PASS",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "SENTRY_DSN",
        "JUPYTER_TOKEN",
        "api_key",
        "Slack-Bearer",
        "SSH_PRIVATE_KEY_PATH",
        "HF_AUTH",
    ],
)
def test_secret_looking_names_are_detected(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "PWD",
        "OLDPWD",
        "PATH",
        "HOME",
        "LANG",
        "PYTHONHASHSEED",
        "OMP_NUM_THREADS",
        "CUDA_VISIBLE_DEVICES",
        "KEYBOARD_LAYOUT",
        "AUTHOR_NAME",
        "TZ",
    ],
)
def test_ordinary_names_are_not_secrets(name: str) -> None:
    assert not is_secret_name(name)


def test_redact_scrubs_secret_values_from_text() -> None:
    env = {"MY_API_TOKEN": "s3cr3t-value", "HOME": "/home/me"}
    assert redact("/data/s3cr3t-value/train.csv", env) == f"/data/{REDACTED}/train.csv"
    assert redact("/home/me/x", env) == "/home/me/x"


def test_redact_removes_passwords_from_urls() -> None:
    text = redact("postgresql://alice:hunter2@db:5432/x", {})
    assert "hunter2" not in text
    assert text.startswith("postgresql://")
