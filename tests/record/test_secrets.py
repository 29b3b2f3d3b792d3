"""Secret-looking names are never recorded, and secret values are scrubbed from text."""

from __future__ import annotations

import pytest

from nbrepro.record.secrets import REDACTED, is_secret_name, redact, scrub_value


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


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("postgres://bob:hunter22@db:5432/x", f"postgres://bob:{REDACTED}@db:5432/x"),
        ("redis://:hunter22@cache:6379/0", f"redis://:{REDACTED}@cache:6379/0"),
        ("https://ghp_tok123@github.com/o/r.git", f"https://{REDACTED}@github.com/o/r.git"),
        (
            "mysql://h/db?user=u&password=hunter22&ssl=1",
            f"mysql://h/db?user=u&password={REDACTED}&ssl=1",
        ),
        ("Server=h;Uid=u;Pwd=hunter22;", f"Server=h;Uid=u;Pwd={REDACTED};"),
        ("host=db password=hunter22 dbname=x", f"host=db password={REDACTED} dbname=x"),
        ("https://h/api?access_token=hunter22", f"https://h/api?access_token={REDACTED}"),
        ("C.UTF-8", "C.UTF-8"),
        ("s3://bucket/year=2020/part.csv", "s3://bucket/year=2020/part.csv"),
    ],
)
def test_scrub_value_removes_credentials_carried_inside_a_value(value: str, expected: str) -> None:
    assert scrub_value(value) == expected


def test_passwords_inside_any_variables_url_are_scrubbed_from_text() -> None:
    env = {"DATABASE_URL": "postgres://bob:hunter22@db/x", "HOME": "/home/bob"}
    assert redact("/tmp/hunter22/out.csv", env) == f"/tmp/{REDACTED}/out.csv"
    assert redact("/home/bob/data.csv", env) == "/home/bob/data.csv"
    assert "hunter22" not in redact("redis://:hunter22@cache/0", {})
