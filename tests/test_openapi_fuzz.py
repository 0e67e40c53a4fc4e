"""Property-based fuzzing of the whole OpenAPI document with schemathesis.

Every operation gets generated requests (valid and invalid by the schema), sent in-process to
the ASGI app; each response must not be a 5xx, its status must be declared, its content type and
body must match the declared schema. Half the cases use a real survey id and valid credentials so
the fuzzing reaches the handlers, not only the 401/404 paths.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from litestar.testing import TestClient
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from api.settings import Settings
from ranker.service import RankerService
from ranker.storage import open_store
from tests.api_client import ADMIN, SECRET

EXAMPLES = 60  # per operation (at most): 2,876 requests over the 32 operations when counted

_service = RankerService(open_store("memory://"), secret=SECRET.encode())
# the fuzzing checks what responses look like, not the forecast: a short simulation budget
# (the settle forecast runs whenever the fuzzed answers moved the survey on; 2 s by default)
_service.settling.budget_s = 0.1
_app = create_app(
    Settings(
        store="memory://",
        secret=SECRET,
        admin_token=ADMIN,
        sse_interval_s=0.01,
        sse_max_s=0.02,
        voters_per_ip_per_minute=0,
    ),
    service=_service,
)


def _fixture_ids() -> dict[str, str]:
    with TestClient(_app) as client:
        key = client.post(
            "/v1/organisers", json={"name": "fuzz"}, headers={"Authorization": f"Bearer {ADMIN}"}
        ).json()["api_key"]
        org = {"Authorization": f"Bearer {key}"}
        sid = client.post(
            "/v1/surveys",
            json={
                "question": "Fuzz?",
                "ideas": ["a", "b", "c"],
                "open": True,
                "groups": ["g"],
                "show_results_to_voters": True,
            },
            headers=org,
        ).json()["id"]
        voter = client.post(f"/v1/public/surveys/{sid}/voters").json()
    return {"key": key, "survey": sid, "voter": voter["token"], "voter_id": voter["voter_id"]}


IDS = _fixture_ids()
schema = schemathesis.openapi.from_asgi("/schema/openapi.json", _app)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _coin(case: Any) -> bool:
    """A deterministic coin from the generated case, so shrinking stays stable."""
    digest = hashlib.blake2b(repr(case.path_parameters).encode(), digest_size=1).digest()
    return digest[0] % 2 == 0


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_openapi_conformance(case: Any) -> None:
    headers: dict[str, str] = {}
    if _coin(case):
        params = case.path_parameters or {}
        if "survey_id" in params:
            params["survey_id"] = IDS["survey"]
        if "voter_id" in params:
            params["voter_id"] = IDS["voter_id"]
        if case.operation.path == "/v1/organisers":
            headers["Authorization"] = f"Bearer {ADMIN}"
        else:
            headers["Authorization"] = f"Bearer {IDS['key']}"
        headers["X-Voter-Token"] = IDS["voter"]
    case.call_and_validate(headers=headers, checks=CHECKS)


def test_the_document_covers_every_route() -> None:
    paths = set(schema.raw_schema["paths"])
    assert {
        "/v1/public/surveys/{survey_id}/answers",
        "/v1/surveys/{survey_id}/results",
        "/v1/surveys/{survey_id}/exports/{kind}",
        "/v1/surveys/{survey_id}/stream",
        "/ready",
    } <= paths
    assert len(paths) >= 25


@pytest.mark.parametrize("path", ["/v1/public/surveys/{survey_id}/answers"])
def test_problem_schema_is_referenced(path: str) -> None:
    op = schema.raw_schema["paths"][path]["post"]
    ref = op["responses"]["409"]["content"]["application/problem+json"]["schema"]["$ref"]
    assert ref.endswith("/Problem")
