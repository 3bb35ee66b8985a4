"""Request parsing for REST handlers: JSON bodies, bearer credentials, list parameters."""

from __future__ import annotations

import uuid
from typing import Any

from chalice.app import Request

from .. import codes, jsontext
from ..errors import InvalidInput, MalformedJson, PayloadTooLarge
from ..validation import within_depth

MAX_BODY_BYTES = 64 * 1024
DEFAULT_LIMIT = 20
MAX_LIMIT = 100


def request_id(request: Request | None) -> str:
    """API Gateway's request id; without one (chalice local, tests) a new id, kept on the request
    so the X-Request-Id header, the 500 body and the log line all carry the same id."""
    context: Any = request.context if request is not None else None
    if not isinstance(context, dict):
        return str(uuid.uuid4())
    if not context.get("requestId"):
        context["requestId"] = str(uuid.uuid4())
    return str(context["requestId"])


def source_ip(request: Request) -> str | None:
    """The caller's address as API Gateway saw it (never X-Forwarded-For, which anyone can
    write); None when there is none."""
    context: Any = request.context if isinstance(request.context, dict) else {}
    identity = context.get("identity") or {}
    address = identity.get("sourceIp") if isinstance(identity, dict) else None
    return str(address) if address else None


def cookie(request: Request, name: str) -> str | None:
    """The value of one cookie of the request's Cookie header(s); None when absent. A malformed
    header is no error: cookies are hints here, never credentials."""
    headers: Any = request.headers or {}
    raw = str(headers.get("cookie") or "")
    for part in raw.split(";"):
        key, eq, value = part.strip().partition("=")
        if eq and key == name:
            return value.strip().strip('"') or None
    return None


def bearer(request: Request) -> str | None:
    headers: Any = request.headers or {}
    header = str(headers.get("authorization") or "")
    scheme, _, credential = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return credential.strip() or None


def json_object(request: Request, *, required: bool = True) -> dict[str, Any]:
    """The body as a JSON object. Empty bodies are `{}` unless `required`."""
    raw = request.raw_body or b""
    if isinstance(raw, str):
        raw = raw.encode()
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"Request bodies are limited to {MAX_BODY_BYTES // 1024} KB.")
    if not raw.strip():
        if required:
            raise MalformedJson("The request needs a JSON object body.", code=codes.MISSING_BODY)
        return {}
    malformed = "The body is not valid UTF-8 JSON."
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedJson(malformed) from exc
    # A number JSON cannot carry (NaN, 1e999, a 5000-digit integer) is a 400 naming its field.
    value = jsontext.loads(text, whole="body", malformed=malformed)
    if not isinstance(value, dict):
        raise InvalidInput("body", "must be a JSON object")
    within_depth(value)
    return value


def query(request: Request, name: str) -> str | None:
    params: Any = request.query_params or {}
    value = params.get(name)
    return value if value not in (None, "") else None


def limit(request: Request) -> int:
    raw = query(request, "limit")
    if raw is None:
        return DEFAULT_LIMIT
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_LIMIT:
        raise InvalidInput("limit", f"must be an integer from 1 to {MAX_LIMIT}")
    return int(raw)


def whole_number(request: Request, name: str) -> int | None:
    """A query parameter that is a whole number (0 or more), or None when absent or empty."""
    raw = query(request, name)
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 15:
        raise InvalidInput(name, "must be a whole number (0 or more)")
    return int(raw)


def search(request: Request) -> str | None:
    q = query(request, "q")
    if q is not None and len(q) > 200:
        raise InvalidInput("q", "must be at most 200 characters")
    return q


def flag(request: Request, name: str) -> bool | None:
    """An optional `true`/`false` query parameter."""
    raw = query(request, name)
    if raw is None:
        return None
    if raw not in ("true", "false"):
        raise InvalidInput(name, "must be true or false")
    return raw == "true"


def id_list(request: Request, name: str, *, max_items: int, max_len: int) -> tuple[str, ...]:
    """A comma-separated query parameter of ids (none when absent or empty)."""
    raw = query(request, name)
    if raw is None:
        return ()
    found = tuple(dict.fromkeys(raw.split(",")))
    if len(found) > max_items:
        raise InvalidInput(name, f"must name at most {max_items} ids")
    if any(not 0 < len(i) <= max_len for i in found):
        raise InvalidInput(name, f"must be ids of 1-{max_len} characters, comma-separated")
    return found


def short_text(request: Request, name: str, *, max_len: int) -> str | None:
    value = query(request, name)
    if value is not None and len(value) > max_len:
        raise InvalidInput(name, f"must be at most {max_len} characters")
    return value
