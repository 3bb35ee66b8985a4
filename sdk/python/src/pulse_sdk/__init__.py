"""Pulse's server SDK: `Pulse` (sync) and `AsyncPulse` over the REST API v1, token minting with a
cache, and webhook verification (`Webhook`)."""

from ._client import AsyncPulse, Pulse
from ._transport import VERSION as __version__
from .errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ClientError,
    ConflictError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    PulseError,
    RateLimitError,
    ServerError,
    ServiceUnavailableError,
    WebhookVerificationError,
)
from .webhooks import Webhook

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AsyncPulse",
    "AuthenticationError",
    "BadRequestError",
    "ClientError",
    "ConflictError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "Pulse",
    "PulseError",
    "RateLimitError",
    "ServerError",
    "ServiceUnavailableError",
    "Webhook",
    "WebhookVerificationError",
    "__version__",
]
