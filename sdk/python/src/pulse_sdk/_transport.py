"""Sending one API call over httpx: authentication, the Idempotency-Key, retries of 429/503 (and of
calls that never got an answer, when repeating them is safe), and errors as exceptions."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from . import errors

VERSION = "0.1.0"
DEFAULT_BASE_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_RETRIES = 3
# A Retry-After beyond this is not waited for: the error is raised for the caller to decide.
MAX_RETRY_AFTER = 60.0
# Backoff when the answer names no Retry-After (or no answer came): 0.5 s, 1 s, 2 s ... up to 8 s,
# each with "equal jitter" (half fixed, half random) so that clients throttled together do not
# retry together.
BACKOFF_INITIAL = 0.5
BACKOFF_MAX = 8.0
RETRY_STATUSES = frozenset({429, 503})
SAFE_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})

Query = Mapping[str, str | int | bool | None]


@dataclass(frozen=True)
class Call:
    """One API call, before it is sent (the same on every attempt)."""

    method: str
    path: str
    params: dict[str, str]
    json: Any
    headers: dict[str, str]

    @property
    def repeatable(self) -> bool:
        """Whether sending it again after no answer cannot do it twice: a safe or idempotent
        method, or a POST carrying an Idempotency-Key (the server answers a repeat from its
        record of the first)."""
        return self.method in SAFE_METHODS or "Idempotency-Key" in self.headers


def build_call(
    method: str,
    path: str,
    *,
    params: Query | None = None,
    json: Any = None,
    idempotency_key: str | None = None,
    idempotent: bool = False,
) -> Call:
    """`idempotent`: the operation takes an Idempotency-Key (a fresh uuid4 unless given)."""
    query: dict[str, str] = {}
    for name, value in (params or {}).items():
        if value is None:
            continue
        query[name] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    headers: dict[str, str] = {}
    if idempotent:
        headers["Idempotency-Key"] = idempotency_key or str(uuid.uuid4())
    elif idempotency_key is not None:
        raise ValueError(f"{method} {path} takes no Idempotency-Key")
    return Call(method, path, query, json, headers)


def backoff(attempt: int) -> float:
    """Seconds before retry `attempt` (0-based) when the server named none."""
    ceiling = min(BACKOFF_MAX, BACKOFF_INITIAL * 2.0**attempt)
    return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 (jitter, not a secret)


def retry_delay(response: httpx.Response | None, attempt: int) -> float | None:
    """Seconds to wait before retrying, or None when this outcome is not retried."""
    if response is None:
        return backoff(attempt)
    after = errors.parse_retry_after(response.headers.get("retry-after"))
    # A 409 with Retry-After is IDEMPOTENCY_KEY_IN_USE: this key's first request still runs
    # (an earlier attempt that timed out); once it answers, a retry gets its answer.
    in_use = response.status_code == 409 and after is not None
    if response.status_code not in RETRY_STATUSES and not in_use:
        return None
    if after is None:
        return backoff(attempt)
    if after > MAX_RETRY_AFTER:
        return None
    # Retry-After is in whole seconds, rounded up by the server: wait it, plus a little jitter
    # so that a burst of callers does not all come back in the same millisecond.
    return after + random.uniform(0, 0.25)  # noqa: S311


def api_error(response: httpx.Response) -> errors.APIError:
    """The exception for an error answer, from its `{"error": {...}}` body when it has one."""
    status = response.status_code
    code, message, details = f"HTTP_{status}", response.reason_phrase or "error", {}
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        code = str(error.get("code") or code)
        message = str(error.get("message") or message)
        details = {k: v for k, v in error.items() if k not in ("code", "message")}
    elif isinstance(body, dict) and isinstance(body.get("message"), str):
        message = body["message"]  # API Gateway's own answers: {"message": ...}
    request_id = response.headers.get("x-request-id") or details.get("requestId")
    return errors.error_class(status)(
        status,
        code,
        message,
        details=details,
        request_id=request_id,
        headers=dict(response.headers),
    )


def result(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        raise api_error(response)
    if response.status_code == 204 or not response.content:
        return None
    return response.json()


def client_options(
    secret_key: str, base_url: str, timeout: float | httpx.Timeout | None
) -> dict[str, Any]:
    if not secret_key or not secret_key.startswith(("sk_", "rk_")):
        raise ValueError("secret_key must be the environment's secret key (sk_...) or a rk_ key")
    return {
        "base_url": base_url.rstrip("/"),
        "timeout": timeout,
        "headers": {
            "Authorization": f"Bearer {secret_key}",
            "User-Agent": f"pulse-sdk-python/{VERSION}",
            "Accept": "application/json",
        },
        "follow_redirects": False,
    }


def _transport_error(exc: httpx.TransportError) -> errors.APIConnectionError:
    if isinstance(exc, httpx.TimeoutException):
        return errors.APITimeoutError(f"the request timed out: {exc}")
    return errors.APIConnectionError(f"the request got no answer: {exc}")


def multipart(fields: Mapping[str, str], data: bytes, name: str, mime_type: str) -> dict[str, Any]:
    """A presigned POST's form: its fields, then the file as `file` (S3 reads it last)."""
    return {"data": dict(fields), "files": {"file": (name, data, mime_type)}}


def uploaded(response: httpx.Response) -> None:
    if response.status_code >= 300:
        raise errors.UploadError(response.status_code, response.text)


class SyncTransport:
    """Sends calls with an httpx.Client, retrying as the module says."""

    def __init__(self, http: httpx.Client, max_retries: int) -> None:
        self.http = http
        self.max_retries = max(0, max_retries)

    def request(self, call: Call) -> Any:
        attempt = 0
        while True:
            try:
                response: httpx.Response | None = self.http.request(
                    call.method, call.path, params=call.params, json=call.json, headers=call.headers
                )
            except httpx.TransportError as exc:
                if not call.repeatable or attempt >= self.max_retries:
                    raise _transport_error(exc) from exc
                response = None
            delay = retry_delay(response, attempt) if attempt < self.max_retries else None
            if delay is None and response is not None:
                return result(response)
            if response is not None:
                response.close()
            time.sleep(delay or 0)
            attempt += 1

    def upload(self, url: str, form: dict[str, Any]) -> None:
        """POSTs a presigned form to storage with a client of its own: the secret key that this
        client's headers carry must never reach another host."""
        with httpx.Client(timeout=self.http.timeout, follow_redirects=False) as plain:
            uploaded(plain.post(url, **form))


class AsyncTransport:
    """Sends calls with an httpx.AsyncClient, retrying as the module says."""

    def __init__(self, http: httpx.AsyncClient, max_retries: int) -> None:
        self.http = http
        self.max_retries = max(0, max_retries)

    async def request(self, call: Call) -> Any:
        attempt = 0
        while True:
            try:
                response: httpx.Response | None = await self.http.request(
                    call.method, call.path, params=call.params, json=call.json, headers=call.headers
                )
            except httpx.TransportError as exc:
                if not call.repeatable or attempt >= self.max_retries:
                    raise _transport_error(exc) from exc
                response = None
            delay = retry_delay(response, attempt) if attempt < self.max_retries else None
            if delay is None and response is not None:
                return result(response)
            if response is not None:
                await response.aclose()
            await asyncio.sleep(delay or 0)
            attempt += 1

    async def upload(self, url: str, form: dict[str, Any]) -> None:
        """As SyncTransport.upload."""
        async with httpx.AsyncClient(timeout=self.http.timeout, follow_redirects=False) as plain:
            uploaded(await plain.post(url, **form))
