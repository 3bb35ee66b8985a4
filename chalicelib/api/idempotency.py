"""The `Idempotency-Key` request header of POSTs (IETF draft-ietf-httpapi-idempotency-key-header):
its syntax, the request's fingerprint, and running a route at most once per key
(services/idempotency.py). Routes opt in with `Router.route(..., idempotent=True)`.

Without the header nothing here runs: a request costs what it did. With it: one BatchGetItem
(the secret key and the key's record), a conditional PutItem (the claim) before the route runs,
and an UpdateItem (its answer) or a DeleteItem (the claim, when the answer is not kept) after.
A replay costs the BatchGetItem alone, and carries `Idempotent-Replayed: true`."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from chalice.app import Request, Response

from .. import codes, jsontext
from ..config import Settings
from ..errors import InvalidInput, PulseError
from ..runtime import services
from ..services.callers import SecretKeyCaller
from ..services.grants import Need
from ..services.idempotency import REPLAY_SECONDS, Replay
from . import errors
from .http import bearer, request_id, source_ip

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
MAX_LENGTH = 255
# Answers that say "try again" are not kept: the next request with the key runs (401, 403: the
# credentials or the environment changed while the request ran, as a revoked key or a suspended
# environment, which the next request's own check answers; 409: it conflicted with something
# that may have moved on; 429: too fast; 5xx: failed on our side).
NOT_KEPT = frozenset({401, 403, 409, 429})

ReplayFor = Callable[[Settings], int]


def key_of(request: Request) -> str | None:
    """The header's value, or None without one. 1-255 printable ASCII characters."""
    headers: Any = request.headers or {}
    value = headers.get(HEADER.lower())
    if value is None:
        return None
    if not 0 < len(value) <= MAX_LENGTH or not all(" " <= c <= "~" for c in value):
        raise InvalidInput(
            HEADER,
            f"must be 1-{MAX_LENGTH} printable ASCII characters (a UUID is a good key)",
            code=codes.INVALID_IDEMPOTENCY_KEY,
        )
    return str(value)


def fingerprint(request: Request, path: str) -> str:
    """What makes two requests the same: method, path, query and body. A JSON body counts by its
    content, so a client that re-encodes it (key order, spacing) still matches."""
    raw = request.raw_body or b""
    if isinstance(raw, str):
        raw = raw.encode()
    try:
        body = jsontext.dumps(jsontext.loads(raw.decode("utf-8")), sort_keys=True).encode()
    except (UnicodeDecodeError, PulseError):
        body = raw  # not JSON the route accepts (it answers 400): byte for byte
    query = sorted((request.query_params or {}).items())
    digest = hashlib.sha256(f"{request.method} {path}\n{json.dumps(query)}\n".encode())
    digest.update(body)
    return digest.hexdigest()


def once(
    request: Request,
    path: str,
    replay_for: ReplayFor | None,
    respond: Callable[[], Response],
    need: Need | None = None,
) -> Response:
    """`respond()` (the route, which answers every error itself), at most once per key: a retry
    with the same key and request gets the first answer; with another request, 422. `need`: the
    route's scope (and room), which a restricted key must hold for a replay too."""
    if HEADER.lower() not in (request.headers or {}):
        return respond()
    try:
        gate = services().limits.gate(source_ip(request), None)  # the route counts its own rate
        caller = SecretKeyCaller.of(bearer(request), gate, need)  # credentials first, as ever
        key = key_of(request)
        assert key is not None
        graph = services()
        seconds = replay_for(graph.settings) if replay_for else REPLAY_SECONDS
        # The abuse limits' failure counters ride in the key check's read, as on every route: a
        # refused key is counted, and a caller over a failure limit gets 429, replay or not.
        service = graph.idempotency
        started = service.begin(caller, key, fingerprint(request, path), seconds)
    except PulseError as exc:
        return errors.to_response(exc)
    except Exception:
        return errors.unexpected(request_id(request))
    if isinstance(started, Replay):
        return replayed(started)
    response = respond()
    status = response.status_code
    if status >= 500 or status in NOT_KEPT:
        service.release(started)
    else:
        body = response.body
        text = "" if body in ("", None) else jsontext.dumps(body)
        service.answer(started, status, text)
    return response


def replayed(replay: Replay) -> Response:
    headers: dict[str, str | list[str]] = (
        dict(errors.JSON_HEADERS) if replay.body else {"Cache-Control": "no-store"}
    )
    headers[REPLAYED] = "true"
    body = jsontext.loads(replay.body) if replay.body else ""
    return Response(body=body, status_code=replay.status, headers=headers)
