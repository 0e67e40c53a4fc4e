"""The problem table: every domain error has a status, and every listed code is produced."""

from __future__ import annotations

import re
from pathlib import Path

from api.problems import _HTTP_CODES, PROBLEMS
from ranker.errors import ERRORS

API = Path(__file__).resolve().parent.parent / "api"
INTERNAL = {"stale_check"}  # caught and retried by the core; never reaches a client


def raised_in_api() -> set[str]:
    """Codes written literally as ``ApiError("code"`` or ``problem_response("code"`` in api/."""
    pattern = re.compile(r"\b(?:ApiError|problem_response)\(\s*\"([a-z_]+)\"")
    return {m for f in API.rglob("*.py") for m in pattern.findall(f.read_text(encoding="utf-8"))}


def test_every_domain_error_has_a_status() -> None:
    assert set(ERRORS) - INTERNAL <= set(PROBLEMS)


def test_every_listed_code_is_produced_somewhere() -> None:
    produced = set(ERRORS) | set(_HTTP_CODES.values()) | raised_in_api() | {"bad_request"}
    assert set(PROBLEMS) - produced == set()
