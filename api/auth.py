"""Who is calling: organiser keys, voter tokens, the admin token and SSE stream tickets.

- Organisers send ``Authorization: Bearer <key>``; the core keeps only the key's SHA-256 hash
  and every organiser route passes the organiser id down, so a key only reaches its own surveys
  (another organiser's survey answers ``404 survey_not_found``, as if it did not exist).
- Voters send ``X-Voter-Token`` (HMAC-signed by the core, names the survey; no cookies).
- Stream tickets are short-lived HMAC-signed capabilities for one survey's SSE stream, because
  ``EventSource`` cannot send an ``Authorization`` header and keys must not travel in URLs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable
from typing import Any

from litestar import Request
from litestar.openapi.spec import Components, SecurityScheme
from litestar.params import FromPath

from api.deps import Accounts, Voting
from api.problems import ApiError
from ranker.domain import Organiser, Voter
from ranker.errors import BadToken

__all__ = [
    "ORGANISER",
    "SECURITY_COMPONENTS",
    "VOTER",
    "StreamTickets",
    "bearer_token",
    "provide_organiser",
    "provide_voter",
    "require_admin",
]

ORGANISER: list[dict[str, list[str]]] = [{"organiserKey": []}]
VOTER: list[dict[str, list[str]]] = [{"voterToken": []}]
SECURITY_COMPONENTS = Components(
    security_schemes={
        "organiserKey": SecurityScheme(
            type="http", scheme="bearer", description="Organiser API key (`rk_...`)"
        ),
        "voterToken": SecurityScheme(
            type="apiKey",
            name="X-Voter-Token",
            security_scheme_in="header",
            description="Voter token from `POST /v1/public/surveys/{survey_id}/voters`",
        ),
        "adminToken": SecurityScheme(
            type="http", scheme="bearer", description="`RANKER_ADMIN_TOKEN`"
        ),
    }
)


def bearer_token(request: Request[Any, Any, Any]) -> str | None:
    """The token of an ``Authorization: Bearer`` header, or ``None``."""
    value = request.headers.get("authorization")
    if not value:
        return None
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def provide_organiser(request: Request[Any, Any, Any], accounts: Accounts) -> Organiser:
    """Dependency: the organiser owning the bearer key (``401 unauthorized`` otherwise)."""
    token = bearer_token(request)
    if token is None:
        raise ApiError("unauthorized", "send Authorization: Bearer <organiser key>")
    return accounts.authenticate(token)


def provide_voter(
    request: Request[Any, Any, Any], survey_id: FromPath[str], voting: Voting
) -> Voter:
    """Dependency: the voter named by ``X-Voter-Token`` for this survey."""
    token = request.headers.get("x-voter-token")
    if not token:
        raise ApiError(
            "voter_token_missing", "send X-Voter-Token (from POST .../voters) with this request"
        )
    try:
        return voting.voter(survey_id, token)
    except BadToken as exc:
        raise ApiError("voter_token_invalid", exc.message) from None


def require_admin(request: Request[Any, Any, Any], admin_token: str, open_signup: bool) -> None:
    """Allow creating organisers only with the admin token (or when signup is open)."""
    if open_signup:
        return
    if not admin_token:
        raise ApiError("signup_disabled", "set RANKER_ADMIN_TOKEN to create organisers over HTTP")
    token = bearer_token(request)
    if token is None or not hmac.compare_digest(token.encode(), admin_token.encode()):
        raise ApiError("unauthorized", "creating organisers needs the admin token")


class StreamTickets:
    """``<survey>.<organiser>.<expires>.<mac>`` capabilities for one survey's event stream."""

    def __init__(
        self, secret: bytes, ttl: float = 60.0, clock: Callable[[], float] = time.time
    ) -> None:
        self._key = hmac.new(secret, b"ranker/stream/v1", hashlib.sha256).digest()
        self.ttl = ttl
        self.clock = clock

    def _mac(self, body: str) -> str:
        mac = hmac.new(self._key, body.encode(), hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()

    def issue(self, survey_id: FromPath[str], organiser_id: str) -> tuple[str, float]:
        expires = self.clock() + self.ttl
        body = f"{survey_id}.{organiser_id}.{int(expires)}"
        return f"{body}.{self._mac(body)}", float(int(expires))

    def check(self, ticket: str, survey_id: FromPath[str]) -> str:
        """The organiser id of a valid, unexpired ticket for ``survey_id``."""
        parts = ticket.split(".")
        if len(parts) != 4 or len(ticket) > 400:
            raise ApiError("unauthorized", "malformed stream ticket")
        body = ".".join(parts[:3])
        if not hmac.compare_digest(parts[3], self._mac(body)):
            raise ApiError("unauthorized", "stream ticket signature does not verify")
        if parts[0] != survey_id:
            raise ApiError("unauthorized", "stream ticket is for another survey")
        if not parts[2].isdigit() or int(parts[2]) < self.clock():
            raise ApiError("unauthorized", "stream ticket expired; ask for a new one")
        return parts[1]
