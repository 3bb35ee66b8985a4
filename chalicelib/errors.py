"""The domain error tree: services raise these; api/errors.py alone turns them into HTTP."""

from __future__ import annotations

from typing import Any

from . import codes


class PulseError(Exception):
    """Base of every error a client may see. `code` is stable; `message` is for humans."""

    code = codes.ERROR

    def __init__(
        self, message: str, *, code: str | None = None, suggestion: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.suggestion = suggestion


class InvalidInput(PulseError):
    """A request field is missing, malformed or out of range (names the field)."""

    code = codes.INVALID_INPUT

    def __init__(self, field: str, message: str, *, code: str | None = None) -> None:
        super().__init__(f"{field}: {message}" if field else message, code=code)
        self.field = field


class MalformedJson(PulseError):
    code = codes.MALFORMED_JSON


class MethodNotAllowed(PulseError):
    """The path exists, but not with this method; `allowed` are the ones it takes."""

    code = codes.METHOD_NOT_ALLOWED

    def __init__(self, method: str, allowed: list[str]) -> None:
        super().__init__(
            f"{method} is not allowed here; this path takes {', '.join(allowed)}.",
            suggestion="See the Allow header for this path's methods.",
        )
        self.allowed = allowed


class PayloadTooLarge(PulseError):
    code = codes.PAYLOAD_TOO_LARGE


class Unauthenticated(PulseError):
    code = codes.UNAUTHENTICATED


class Forbidden(PulseError):
    code = codes.FORBIDDEN


class NotFound(PulseError):
    code = codes.NOT_FOUND


class Conflict(PulseError):
    code = codes.CONFLICT


class InUse(Conflict):
    """Another request holds what this one needs (an Idempotency-Key being answered): retry after
    `retry_after` seconds."""

    def __init__(self, message: str, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = max(1, retry_after)


class Gone(PulseError):
    """What was asked for is no longer kept (a room's events past their retention)."""

    code = codes.RESYNC_REQUIRED


class Unprocessable(PulseError):
    """Well-formed, but not applicable as sent (an Idempotency-Key reused for another request)."""

    code = codes.UNPROCESSABLE


class RateLimited(PulseError):
    code = codes.RATE_LIMITED

    def __init__(self, message: str, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = max(1, retry_after)


class Unavailable(PulseError):
    """A dependency (DynamoDB) is throttling or failing; safe to retry later."""

    code = codes.SERVICE_UNAVAILABLE

    def __init__(self, message: str, *, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def invalid_api_key() -> Unauthenticated:
    """One answer for malformed, unknown, revoked, or disabled-environment keys (no oracle)."""
    return Unauthenticated(
        "The API key is invalid or no longer active.",
        code=codes.INVALID_API_KEY,
        suggestion="Check the key in the Admin Panel; rotated and revoked keys stop at once.",
    )


def environment_suspended() -> Forbidden:
    """For a caller whose credentials are good, of an environment an operator suspended."""
    return Forbidden(
        "This environment is suspended by its operators.",
        code=codes.ENVIRONMENT_SUSPENDED,
        suggestion="Every request and connection of it is refused until an operator resumes it.",
    )


# The one status table, for every transport: HTTP answers (api/errors.py) and the WebSocket
# handshake's refusals (realtime/handlers.py). A subclass takes its nearest ancestor's status.
STATUS: dict[type[PulseError], int] = {
    InvalidInput: 400,
    MalformedJson: 400,
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    MethodNotAllowed: 405,
    Conflict: 409,
    PayloadTooLarge: 413,
    Unprocessable: 422,
    RateLimited: 429,
    Gone: 410,
    Unavailable: 503,
}


def status_of(exc: PulseError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


class Replayed(Exception):
    """Not an error: a socket write its client named (clientMutationId) was made before. The
    protocol sends `frame`, its acknowledgement then, again, marked as a replay."""

    def __init__(self, frame: dict[str, Any], seq: int) -> None:
        super().__init__("replayed")
        self.frame = frame
        self.seq = seq
