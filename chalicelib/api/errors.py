"""The one place that turns errors into HTTP answers: domain errors (with their status from the
one table in chalicelib/errors.py) in the single JSON error shape `{"error": {"code", "message",
"suggestion"?}}`; anything else to a logged 500."""

from __future__ import annotations

import logging
from typing import Any

from chalice.app import Response

from .. import codes, errors

log = logging.getLogger("pulse.api")

# Chalice answers some requests itself (405, 415, ...) in its own shape; we reshape them.
CHALICE_CODES = {
    "MethodNotAllowedError": codes.METHOD_NOT_ALLOWED,
    "UnsupportedMediaType": codes.UNSUPPORTED_MEDIA_TYPE,
    "BadRequestError": codes.BAD_REQUEST,
    "BadRequest": codes.BAD_REQUEST,
    "NotFoundError": codes.NOT_FOUND,
    "InternalServerError": codes.INTERNAL_ERROR,
}

SUGGESTIONS = {
    codes.UNSUPPORTED_MEDIA_TYPE: "Send a JSON body with `Content-Type: application/json`.",
    codes.METHOD_NOT_ALLOWED: "See the Allow header for this path's methods.",
}

JSON_HEADERS: dict[str, str | list[str]] = {
    "Content-Type": "application/json",
    "Cache-Control": "no-store",
}


def body(code: str, message: str, suggestion: str | None = None, **extra: Any) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if suggestion:
        error["suggestion"] = suggestion
    error.update(extra)
    return {"error": error}


def to_response(exc: errors.PulseError) -> Response:
    headers: dict[str, str | list[str]] = dict(JSON_HEADERS)
    if isinstance(exc, (errors.RateLimited, errors.Unavailable, errors.InUse)):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, errors.MethodNotAllowed):
        headers["Allow"] = ", ".join(exc.allowed)
    extra: dict[str, Any] = {}
    if isinstance(exc, errors.InvalidInput) and exc.field:
        extra["field"] = exc.field
    return Response(
        body=body(exc.code, exc.message, exc.suggestion, **extra),
        status_code=errors.status_of(exc),
        headers=headers,
    )


def unexpected(request_id: str) -> Response:
    """Never a stack trace to the client: a request id that the log line also carries."""
    log.exception("unhandled error", extra={"requestId": request_id})
    return Response(
        body=body(
            codes.INTERNAL_ERROR,
            "Something went wrong on our side.",
            f"Retry later; if it persists, report request id {request_id}.",
            requestId=request_id,
        ),
        status_code=500,
        headers=dict(JSON_HEADERS),
    )


def reshape_chalice_error(response: Response) -> Response:
    """Give Chalice's own error responses our shape."""
    raw = response.body
    if response.status_code >= 400 and isinstance(raw, dict) and set(raw) == {"Code", "Message"}:
        code = CHALICE_CODES.get(str(raw["Code"]), codes.ERROR)
        response.body = body(code, str(raw["Message"]), SUGGESTIONS.get(code))
        response.headers = {**JSON_HEADERS, **(response.headers or {})}
    return response
