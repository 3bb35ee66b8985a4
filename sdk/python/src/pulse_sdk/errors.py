"""The exceptions the SDK raises: one per status class of the API's error shape, the transport's
failures, and webhook verification's refusals."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class PulseError(Exception):
    """Every exception of this SDK."""


class APIConnectionError(PulseError):
    """The request never got an answer (connection refused or reset, DNS, TLS), after retries."""


class APITimeoutError(APIConnectionError):
    """The request timed out, after retries."""


class APIError(PulseError):
    """The API answered with an error: its `{"error": {code, message, ...}}` shape.

    `code` is stable (for programs, e.g. `ROOM_NOT_FOUND`); `message` is for humans; `details`
    holds the shape's other fields (`field`, `suggestion`, ...); `request_id` is the
    `X-Request-Id` header (or the body's `requestId` on a 500) to quote to support."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        details: Mapping[str, Any] | None = None,
        request_id: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details: dict[str, Any] = dict(details or {})
        self.request_id = request_id
        self.headers: dict[str, str] = dict(headers or {})

    @property
    def field(self) -> str | None:
        """The request field at fault, when the API names one (`limit`, `comment.body`)."""
        value = self.details.get("field")
        return value if isinstance(value, str) else None

    @property
    def suggestion(self) -> str | None:
        value = self.details.get("suggestion")
        return value if isinstance(value, str) else None

    @property
    def retry_after(self) -> float | None:
        """Seconds the API asked to wait (`Retry-After`), when it said."""
        return parse_retry_after(self.headers.get("retry-after"))


class ClientError(APIError):
    """A 4xx: the request was refused; sending it again unchanged will not help (but 429)."""


class BadRequestError(ClientError):
    """400: invalid input (`field` names the culprit)."""


class AuthenticationError(ClientError):
    """401: the secret key is missing, unknown or revoked."""


class PermissionDeniedError(ClientError):
    """403: the key may not do this (scope, suspended environment, address)."""


class NotFoundError(ClientError):
    """404: the room, thread, comment or user does not exist."""


class ConflictError(ClientError):
    """409: the request conflicts with the current state (`ROOM_EXISTS`, ...)."""


class PayloadTooLargeError(ClientError):
    """413: the request or its result is too large."""


class RateLimitError(ClientError):
    """429: over a rate limit, still after the SDK's retries."""


class ServerError(APIError):
    """A 5xx: the failure is on Pulse's side."""


class ServiceUnavailableError(ServerError):
    """503: temporarily unavailable, still after the SDK's retries."""


class UploadError(PulseError):
    """Storage refused an attachment's upload (the presigned POST): `status` and S3's `body`."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"the upload was refused with {status}: {body[:300]}")
        self.status = status
        self.body = body


class WebhookVerificationError(PulseError):
    """A webhook whose headers or signature do not verify: answer it with a 400."""


_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    429: RateLimitError,
    503: ServiceUnavailableError,
}


def error_class(status: int) -> type[APIError]:
    """The most specific exception for an error status."""
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    return ServerError if status >= 500 else ClientError if status >= 400 else APIError


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a `Retry-After` of seconds; None when absent or not a number (an HTTP date
    is not something Pulse sends)."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 and seconds == seconds else None
