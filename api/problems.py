"""RFC 9457 problem details: the one table mapping error codes to HTTP statuses.

Domain errors (:class:`ranker.errors.RankerError`) carry a stable ``code`` and know nothing of
HTTP; API-level refusals raise :class:`ApiError`. Both become ``application/problem+json`` with
the same ``code``. Litestar's own exceptions (validation, 404, 405, 413...) are translated too, and
anything unexpected becomes a bare ``500 internal_error`` whose traceback is only logged.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec

from ranker.errors import RankerError

__all__ = [
    "PROBLEMS",
    "PROBLEM_MEDIA_TYPE",
    "ApiError",
    "FieldError",
    "Problem",
    "exception_handlers",
    "problem_response",
    "responses",
]

log = logging.getLogger("api")

PROBLEM_MEDIA_TYPE = "application/problem+json"

PROBLEMS: dict[str, tuple[int, str]] = {
    # 400 bad input
    "validation_error": (400, "Request failed validation"),
    "bad_request": (400, "Bad request"),
    "bad_token": (400, "Token is invalid"),
    "invalid_input": (400, "Invalid input"),
    "ranker_error": (400, "Request refused"),
    "csv_invalid": (400, "CSV could not be read"),
    "text_empty": (400, "Text is empty"),
    "text_too_long": (400, "Text is too long"),
    "proof_invalid": (400, "Proof of work does not verify"),
    # 401 / 403
    "unauthorized": (401, "Organiser key missing or wrong"),
    "voter_token_missing": (401, "Voter token missing"),
    "voter_token_invalid": (401, "Voter token invalid"),
    "site_token_invalid": (401, "Site token invalid"),
    "wrong_voter": (403, "Ballot belongs to another voter"),
    "ideas_not_allowed": (403, "This survey does not accept ideas"),
    "results_hidden": (403, "Results of this survey are not public"),
    "signup_disabled": (403, "Creating organisers is disabled"),
    "forbidden": (403, "Forbidden"),
    "voter_voided": (403, "Voter was voided by the organiser"),
    "proof_required": (403, "Proof of work required"),
    "site_token_required": (403, "Site token required"),
    # 404
    "not_found": (404, "Not found"),
    "survey_not_found": (404, "Survey not found"),
    "idea_not_found": (404, "Idea not found"),
    "voter_not_found": (404, "Voter not found"),
    "ballot_not_found": (404, "Ballot not found"),
    "nothing_to_undo": (404, "Nothing to undo"),
    "method_not_allowed": (405, "Method not allowed"),
    "not_acceptable": (406, "Not acceptable"),
    # 409 state conflicts
    "survey_closed": (409, "Survey is not open"),
    "survey_exists": (409, "Survey already exists"),
    "ballot_used": (409, "Ballot already answered"),
    "idea_inactive": (409, "Idea no longer shown"),
    "duplicate_idea": (409, "The survey already has this idea"),
    "not_enough_ideas": (409, "Not enough active ideas"),
    "no_pair_available": (409, "No pair available"),
    "undo_expired": (409, "Undo window has passed"),
    "conflict": (409, "Conflict"),
    "ballot_expired": (410, "Ballot expired"),
    "payload_too_large": (413, "Request body too large"),
    "unsupported_media_type": (415, "Unsupported media type"),
    "rate_limited": (429, "Too many answers"),
    "limit_reached": (429, "Quota used up"),
    "internal_error": (500, "Internal server error"),
    "not_ready": (503, "Service not ready"),
    "store_error": (503, "Storage unavailable"),
}
"""``code -> (HTTP status, title)``. Domain codes not listed map to 400 (and are logged).

Every code here is produced somewhere: by a domain error of :mod:`ranker.errors` (``ranker_error``
is their base class's code), by an :class:`ApiError` or ``problem_response`` in ``api/``, or by
translating a Litestar exception (``_HTTP_CODES``; ``bad_request`` for any other 4xx status).
"""


class FieldError(msgspec.Struct, omit_defaults=True):
    """One failed field of a ``validation_error``."""

    message: str
    field: str | None = None
    source: str | None = None


class Problem(msgspec.Struct, omit_defaults=True):
    """RFC 9457 problem details with the stable ``code`` extension member."""

    type: str
    title: str
    status: int
    code: str
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldError] | None = None


class ApiError(Exception):
    """An HTTP-level refusal with a stable ``code`` from :data:`PROBLEMS`."""

    def __init__(
        self, code: str, detail: str | None = None, headers: Mapping[str, str] | None = None
    ) -> None:
        if code not in PROBLEMS:
            raise ValueError(f"unknown problem code {code!r}")
        super().__init__(detail or PROBLEMS[code][1])
        self.code = code
        self.detail = detail
        self.headers = dict(headers or {})

    @property
    def status(self) -> int:
        return PROBLEMS[self.code][0]


def status_of(code: str) -> int:
    """HTTP status for an error code (400 for a code the table does not know)."""
    return PROBLEMS.get(code, (400, ""))[0]


def problem_response(
    code: str,
    detail: str | None = None,
    *,
    instance: str | None = None,
    headers: Mapping[str, str] | None = None,
    errors: list[FieldError] | None = None,
    status: int | None = None,
) -> Response[Problem]:
    """A ready ``application/problem+json`` response."""
    st, title = PROBLEMS.get(code, (status or 400, code.replace("_", " ").capitalize()))
    st = status or st
    body = Problem(
        type=f"urn:ranker:problem:{code}",
        title=title,
        status=st,
        code=code,
        detail=detail,
        instance=instance,
        errors=errors,
    )
    hdrs = dict(headers or {})
    hdrs.setdefault("Cache-Control", "no-store")
    if code == "unauthorized":
        hdrs.setdefault("WWW-Authenticate", 'Bearer realm="ranker"')
    return Response(content=body, status_code=st, media_type=PROBLEM_MEDIA_TYPE, headers=hdrs)


def _ranker_error(request: Request[Any, Any, Any], exc: RankerError) -> Response[Problem]:
    code = exc.code
    if code == "forbidden":  # another organiser's survey looks exactly like a missing one
        return problem_response("survey_not_found", None, instance=request.url.path)
    if code not in PROBLEMS:
        log.warning("domain error code %r has no HTTP mapping; answering 400", code)
    if status_of(code) >= 500:
        log.error("store failure on %s: %s", request.url.path, exc.message)
        return problem_response(code, None, instance=request.url.path)
    headers: dict[str, str] = {}
    if code == "rate_limited":  # a used-up quota (limit_reached) does not come back later
        retry = exc.detail.get("retry_after", 60)
        try:
            headers["Retry-After"] = str(max(1, math.ceil(float(retry))))
        except (TypeError, ValueError):
            headers["Retry-After"] = "60"
    field = exc.detail.get("field")
    errors = [FieldError(message=exc.message, field=str(field))] if field else None
    return problem_response(
        code, exc.message, instance=request.url.path, headers=headers, errors=errors
    )


def _api_error(request: Request[Any, Any, Any], exc: ApiError) -> Response[Problem]:
    return problem_response(exc.code, exc.detail, instance=request.url.path, headers=exc.headers)


_HTTP_CODES = {
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    503: "not_ready",
}


def _http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Problem]:
    status = exc.status_code
    if isinstance(exc, ValidationException) or status in (400, 422):
        errors = None
        if isinstance(exc.extra, list):
            errors = [
                FieldError(
                    message=str(e.get("message", "")),
                    field=(str(e["key"]) if e.get("key") is not None else None),
                    source=(str(e["source"]) if e.get("source") is not None else None),
                )
                for e in exc.extra
                if isinstance(e, dict)
            ]
        return problem_response(
            "validation_error", exc.detail, instance=request.url.path, errors=errors or None
        )
    if status >= 500:
        log.error("HTTP %s on %s: %s", status, request.url.path, exc.detail)
        return problem_response("internal_error", instance=request.url.path)
    code = _HTTP_CODES.get(status, "bad_request")
    detail = exc.detail if status not in (404, 405) else None
    headers = {k: v for k, v in (exc.headers or {}).items() if k.lower() == "allow"}
    return problem_response(code, detail, instance=request.url.path, headers=headers, status=status)


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response("internal_error", instance=request.url.path)


def _too_deep(request: Request[Any, Any, Any], exc: RecursionError) -> Response[Problem]:
    """msgspec gives up on JSON nested deeper than the interpreter's recursion limit (a 2 KB
    body of ``[[[[...`` does it): that is the client's malformed body, not a server error.
    Any other recursion error is a bug and answers 500."""
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_name == "decode_json":
            return problem_response(
                "validation_error",
                "the JSON body is nested too deeply",
                instance=request.url.path,
            )
        tb = tb.tb_next
    return _unexpected(request, exc)


exception_handlers: dict[type[Exception], Any] = {
    RankerError: _ranker_error,
    ApiError: _api_error,
    HTTPException: _http_error,
    RecursionError: _too_deep,
    Exception: _unexpected,
}


def responses(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI ``responses``: problem bodies for ``statuses`` (plus 400, 413 and 500)."""
    out: dict[int, ResponseSpec] = {}
    for st in sorted({400, 413, 500, *statuses}):
        if st == 304:
            out[st] = ResponseSpec(
                data_container=None, description="Not modified: `If-None-Match` matched the ETag"
            )
            continue
        codes = sorted(c for c, (s, _) in PROBLEMS.items() if s == st)
        out[st] = ResponseSpec(
            data_container=Problem,
            media_type=PROBLEM_MEDIA_TYPE,
            description="Problem details; `code` is one of: " + ", ".join(codes),
            generate_examples=False,
        )
    return out
