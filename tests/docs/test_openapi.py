"""docs/openapi.yaml states what the server does: the generated parts match their source."""

from __future__ import annotations

from pathlib import Path

import yaml

from nbrepro.verify.options import VERIFY_OPTIONS
from nbrepro.verify.verdict import status_verdict

DOC = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"


def _schemas() -> dict:
    return yaml.safe_load(DOC.read_text(encoding="utf-8"))["components"]["schemas"]


def test_the_verify_request_options_are_the_declared_options() -> None:
    documented = _schemas()["VerifyRequest"]["properties"]["options"]
    assert documented == VERIFY_OPTIONS.json_schema("rest")


def test_the_documented_verdict_has_every_field_the_server_sends() -> None:
    schema = _schemas()["Verdict"]
    journal = {
        "current": {
            "order": {"out_of_order": [1]},
            "executions": [{"cell_id": "a", "status": "error"}],
        }
    }
    verdict = status_verdict(journal, [], None, None)
    assert set(verdict) == set(schema["properties"]) == set(schema["required"])
    assert verdict["level"] in schema["properties"]["level"]["enum"]
    assert verdict["label"] in schema["properties"]["label"]["enum"]
    reason_fields = schema["properties"]["reasons"]["items"]["required"]
    assert all(set(r) == set(reason_fields) for r in verdict["reasons"])
