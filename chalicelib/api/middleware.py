"""HTTP middleware: exact paths (api/paths.py), body-size limit, one error shape for Chalice's
own errors, every JSON body written by the one encoder (never NaN or Infinity; never past the
response size cap), security headers, and one access-log line per request (method, route,
status, time; never headers or bodies)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from chalice.app import Request, Response

from .. import jsontext
from ..errors import MethodNotAllowed, PayloadTooLarge, PulseError
from ..runtime import metered
from ..wire import sizing
from . import errors, paths
from .http import MAX_BODY_BYTES, request_id
from .routing import METHODS, declared_methods

log = logging.getLogger("pulse.access")

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def http_middleware(request: Request, get_response: Callable[[Request], Response]) -> Response:
    # What the request does for an environment is counted in its usage (services/metering.py).
    with metered():
        return _handle(request, get_response)


def _handle(request: Request, get_response: Callable[[Request], Response]) -> Response:
    started = time.perf_counter()
    rid = request_id(request)
    try:
        context = request.context or {}
        paths.check_shape(str(context.get("path") or ""), context.get("resourcePath"))
        if request.method not in METHODS:  # Chalice's own 405 would list every method as allowed
            raise MethodNotAllowed(request.method, declared_methods(context.get("resourcePath")))
        if len(request.raw_body or b"") > MAX_BODY_BYTES:
            raise PayloadTooLarge(f"Request bodies are limited to {MAX_BODY_BYTES // 1024} KB.")
        response = errors.reshape_chalice_error(get_response(request))
    except PulseError as exc:
        response = errors.to_response(exc)
    except Exception:
        response = errors.unexpected(rid)
    response = _encoded(response, rid)
    response.headers = {**SECURITY_HEADERS, **(response.headers or {}), "X-Request-Id": rid}
    log.info(
        "request",
        extra={
            "requestId": rid,
            "method": request.method,
            "route": (request.context or {}).get("resourcePath"),
            "status": response.status_code,
            "ms": round((time.perf_counter() - started) * 1000, 1),
        },
    )
    return response


def _encoded(response: Response, rid: str) -> Response:
    """The body as JSON text from the one encoder (Chalice's own would write NaN and Infinity).
    A body that is not JSON, or over the cap (Lambda refuses responses over 6 MB; lists are
    already fitted to a smaller budget), becomes a logged 500: never a half-written answer."""
    if isinstance(response.body, str | bytes):
        return response
    try:
        text = jsontext.dumps(response.body)
    except (ValueError, TypeError):
        response = errors.unexpected(rid)
        text = jsontext.dumps(response.body)
    else:
        if len(text) > sizing.RESPONSE_MAX_BYTES:
            log.error("response too large", extra={"requestId": rid, "bytes": len(text)})
            response = errors.unexpected(rid)
            text = jsontext.dumps(response.body)
    response.body = text
    return response
