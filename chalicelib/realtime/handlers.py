"""The three WebSocket routes as functions of API Gateway events: `$connect` authenticates and
registers, `$default` runs the protocol, `$disconnect` cleans up. app.py wires them to Chalice."""

from __future__ import annotations

import logging
import time
from typing import Any

from .. import codes, jsontext
from ..entities import Connection, Endpoint
from ..errors import PayloadTooLarge, PulseError, Unauthenticated, status_of
from ..runtime import metered, services
from ..services.realtime import ConnectRequest
from . import protocol

log = logging.getLogger("pulse.ws")

# A client message (what API Gateway hands over, up to its own 128 KB) is limited like a REST
# body; it is refused before it is parsed or counted, with no DynamoDB call.
MAX_FRAME_BYTES = 64 * 1024


def _check_size(body: str | None) -> None:
    # UTF-8 takes at most 4 bytes a character: shorter text needs no encoding to be let through.
    if (
        body
        and len(body) * 4 > MAX_FRAME_BYTES
        and len(body.encode("utf-8", "surrogatepass")) > MAX_FRAME_BYTES
    ):
        raise PayloadTooLarge(
            f"Messages are limited to {MAX_FRAME_BYTES // 1024} KB.", code=codes.FRAME_TOO_LARGE
        )


def _context(event: dict[str, Any]) -> dict[str, Any]:
    return event.get("requestContext") or {}


def connect(event: dict[str, Any]) -> dict[str, Any]:
    with metered():
        return _connect(event)


def message(event: dict[str, Any]) -> dict[str, Any]:
    with metered():
        return _message(event)


def disconnect(event: dict[str, Any]) -> dict[str, Any]:
    with metered():
        return _disconnect(event)


def _connect(event: dict[str, Any]) -> dict[str, Any]:
    ctx = _context(event)
    params = event.get("queryStringParameters") or {}
    request = ConnectRequest(
        connection_id=str(ctx.get("connectionId")),
        domain_name=str(ctx.get("domainName")),
        stage=str(ctx.get("stage")),
        api_key=params.get("apiKey"),
        token=params.get("token"),
        room_id=params.get("room"),
        source_ip=(ctx.get("identity") or {}).get("sourceIp"),
    )
    try:
        services().realtime.connect(request)
    except PulseError as exc:
        # API Gateway shows the client only the status; the body helps local and log readers.
        log.info("connect refused", extra={"code": exc.code, "status": status_of(exc)})
        body = {"error": {"code": exc.code, "message": exc.message}}
        return {"statusCode": status_of(exc), "body": jsontext.dumps(body)}
    except Exception:
        log.exception("connect failed", extra={"requestId": ctx.get("requestId")})
        return {"statusCode": 500}
    return {"statusCode": 200}


def _message(event: dict[str, Any]) -> dict[str, Any]:
    ctx = _context(event)
    graph = services()
    connection_id = str(ctx.get("connectionId"))
    # Until the connection row is read, replies go to the endpoint this event came through.
    reply_to: Connection | Endpoint = Endpoint(
        connection_id, str(ctx.get("domainName")), str(ctx.get("stage"))
    )
    request_id = None
    try:
        _check_size(event.get("body"))
        message, problem = protocol.decode(event.get("body"))
        request_id = message.get("requestId")  # echoed by the errors below too
        protocol.check(message, problem)
        size = len((event.get("body") or "").encode("utf-8", "surrogatepass"))
        received = graph.realtime.receive(connection_id, size)
        connection = received.connection
        if connection is None:
            raise Unauthenticated(
                "This connection is not registered; reconnect.", code=codes.NOT_CONNECTED
            )
        reply_to = connection
        if received.refusal is not None:
            raise received.refusal
        protocol.dispatch(
            protocol.Context.of(connection, message, graph.realtime, graph.collab, graph.inbox)
        )
    except PulseError as exc:
        graph.realtime.reply(reply_to, protocol.error_message(exc, request_id))
    except Exception:
        rid = str(ctx.get("requestId") or time.time())
        log.exception("message failed", extra={"requestId": rid})
        internal = PulseError("Something went wrong on our side.", code=codes.INTERNAL_ERROR)
        graph.realtime.reply(reply_to, protocol.error_message(internal, request_id))
    return {"statusCode": 200}


def _disconnect(event: dict[str, Any]) -> dict[str, Any]:
    try:
        services().realtime.disconnect(str(_context(event).get("connectionId")))
    except Exception:
        log.exception("disconnect cleanup failed")
    return {"statusCode": 200}
