"""Handler tests for the WebSocket routes, driven with hand-built API Gateway events (no sockets).

`app.ws_connect` / `app.ws_message` / `app.ws_disconnect` are called exactly as Lambda would call
them, with events shaped like API Gateway's. The Management API is replaced by `FakeApi`, which
records every frame and answers "gone" or "failed" for the connection ids a test chooses (moto's
own apigatewaymanagementapi never raises GoneException). The real `ManagementApi` is tested
against a stub HTTP server in test_sender.py.

Time: tokens are checked against both the injected FrozenClock and (by PyJWT) the wall clock, so
a token can only be minted and used while the frozen clock is near real time. Tests that need an
expired connection next to a live one open the old one with the clock set back a little."""

from __future__ import annotations

import dataclasses
import itertools
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from callers import operator, secret_key
from integration.conftest import DynamoCalls, dynamo_calls, is_usage  # noqa: F401 (a fixture)

from chalicelib import runtime
from chalicelib.clock import FrozenClock
from chalicelib.entities import Actor, Connection
from chalicelib.services.tokens import MintRequest
from chalicelib.sockets.sender import Delivery

OWNER = Actor(id="op_0Q5cZkT8operator", email="owner@example.com", role="owner")
DOMAIN = "abc123.execute-api.us-east-1.amazonaws.com"
STAGE = "api"
API_ID = "abc123"
JSON_CT = {"Content-Type": "application/json"}


# --- the Management API fake --------------------------------------------------------------------

MAX_POST_BYTES = 128 * 1024  # API Gateway's limit on a message posted to a connection


def _not_json(name: str) -> Any:
    raise AssertionError(f"a frame holds {name}, which is not JSON")


def strict_json(data: bytes) -> Any:
    """The frame as a browser's JSON.parse reads it: NaN and Infinity fail."""
    return json.loads(data, parse_constant=_not_json)


@dataclass
class FakeApi:
    """Stands in for chalicelib.sockets.sender.ManagementApi (same four methods).

    Connection ids in `gone` answer 410 (and never receive), those in `failed` answer an error;
    a closed connection is gone from then on, as on API Gateway. As API Gateway, it refuses a
    post over 128 KB (recorded in `too_large`; the post fails), and a frame that is not JSON (a
    browser's JSON.parse would throw on it: NaN, Infinity) fails the test."""

    gone: set[str] = field(default_factory=set)
    failed: set[str] = field(default_factory=set)
    frames: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # delivered, unread
    attempts: list[str] = field(default_factory=list)  # every post, in order, by connection id
    endpoints: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (domain, stage)
    closed: list[str] = field(default_factory=list)
    probed: list[str] = field(default_factory=list)  # asked whether still open (GET)
    too_large: list[tuple[str, int]] = field(default_factory=list)  # (connection id, bytes)
    largest: int = 0  # the largest frame delivered

    def post(self, c: Connection, data: bytes) -> str:
        assert isinstance(data, bytes)
        self.attempts.append(c.id)
        self.endpoints[c.id] = (c.domain_name, c.stage)
        if c.id in self.gone:
            return "gone"
        if c.id in self.failed:
            return "failed"
        if len(data) > MAX_POST_BYTES:  # API Gateway: 413 PayloadTooLargeException
            self.too_large.append((c.id, len(data)))
            return "failed"
        self.largest = max(self.largest, len(data))
        self.frames.setdefault(c.id, []).append(strict_json(data))
        return "ok"

    def post_many(self, targets: Iterable[Connection], data: bytes) -> Delivery:
        by: dict[str, list[Connection]] = {"ok": [], "gone": [], "failed": []}
        for c in targets:
            by[self.post(c, data)].append(c)
        return Delivery(by["ok"], by["gone"], by["failed"])

    def close(self, c: Connection) -> None:
        self.closed.append(c.id)
        self.gone.add(c.id)

    def gone_of(self, targets: Iterable[Connection]) -> list[Connection]:
        """GET @connections for each: those in `gone` answer 410."""
        targets = list(targets)
        self.probed += [c.id for c in targets]
        return [c for c in targets if c.id in self.gone]

    def take(self, connection_id: str) -> list[dict[str, Any]]:
        """The frames delivered to a connection since the last take (and forget them)."""
        return self.frames.pop(connection_id, [])

    def take_one(self, connection_id: str) -> dict[str, Any]:
        frames = self.take(connection_id)
        assert len(frames) == 1, frames
        return frames[0]

    def clear(self) -> None:
        self.frames.clear()
        self.attempts.clear()


# --- environments, keys, tokens -----------------------------------------------------------------


@dataclass(frozen=True)
class Env:
    id: str
    pk: str
    sk: str
    pk_id: str
    sk_id: str


def new_env(name: str = "Acme") -> Env:
    env, (pk, sk) = runtime.services().environments.create(OWNER, name)
    assert pk.key is not None and sk.key is not None
    return Env(env.id, pk.key, sk.key, pk.id, sk.id)


def mint(sk: str, user_id: str = "ada", name: str | None = None, avatar: str | None = None) -> str:
    """A user token, minted as POST /auth/token would (through the token service)."""
    graph = runtime.services()
    request = MintRequest(user_id=user_id, name=name or user_id.title(), avatar=avatar)
    return graph.tokens.mint(secret_key(sk, "mint"), request).token


# --- the gateway: API Gateway-shaped events into app.py's handlers -------------------------------


_request_ids = itertools.count(1)


def ws_event(
    route: str,
    connection_id: str,
    *,
    query: dict[str, str] | None = None,
    body: str | None = None,
    domain: str = DOMAIN,
    stage: str = STAGE,
) -> dict[str, Any]:
    event_type = {"$connect": "CONNECT", "$disconnect": "DISCONNECT"}.get(route, "MESSAGE")
    context: dict[str, Any] = {
        "routeKey": route,
        "eventType": event_type,
        "connectionId": connection_id,
        "domainName": domain,
        "stage": stage,
        "apiId": API_ID,
        "requestId": f"req-{next(_request_ids)}",
        "extendedRequestId": f"ext-{next(_request_ids)}",
        "messageDirection": "IN",
        "connectedAt": 1_700_000_000_000,
        "requestTimeEpoch": 1_700_000_000_000,
        "identity": {"sourceIp": "203.0.113.9", "userAgent": "pytest"},
    }
    event: dict[str, Any] = {"requestContext": context, "isBase64Encoded": False}
    if route == "$connect":
        event["headers"] = {"Host": domain, "Sec-WebSocket-Version": "13"}
        event["multiValueHeaders"] = {"Host": [domain], "Sec-WebSocket-Version": ["13"]}
        event["queryStringParameters"] = query
        event["multiValueQueryStringParameters"] = (
            {k: [v] for k, v in query.items()} if query is not None else None
        )
    elif route == "$disconnect":
        event["headers"] = {"Host": domain}
        context["disconnectStatusCode"] = 1001
        context["disconnectReason"] = "Going away"
    else:
        event["body"] = body
    return event


LAMBDA_CONTEXT = SimpleNamespace(
    aws_request_id="lambda-req", function_name="pulse-test-websocket_handler"
)


class Gateway:
    """Calls app.py's three WebSocket handlers as API Gateway would."""

    def __init__(self, fake: FakeApi) -> None:
        self.fake = fake
        self._ids = itertools.count(1)
        self.users: dict[str, str] = {}  # connection id -> user id (for expectations)

    @property
    def graph(self) -> runtime.Services:
        return runtime.services()

    @property
    def clock(self) -> FrozenClock:
        clock = self.graph.clock
        assert isinstance(clock, FrozenClock)
        return clock

    def new_id(self) -> str:
        return f"Conn{next(self._ids):04d}TestId="  # API Gateway ids look like L0SM9cOFvHcCIhw=

    def connect_raw(
        self, connection_id: str, query: dict[str, str] | None, **where: str
    ) -> dict[str, Any]:
        from app import ws_connect

        result: dict[str, Any] = ws_connect(
            ws_event("$connect", connection_id, query=query, **where), LAMBDA_CONTEXT
        )
        return result

    def connect(
        self,
        env: Env,
        user: str = "ada",
        room: str = "room-1",
        *,
        token: str | None = None,
        api_key: str | None = None,
        connection_id: str | None = None,
        **where: str,
    ) -> str:
        """Connect (asserting 200) and return the connection id."""
        connection_id = connection_id or self.new_id()
        query = {"apiKey": api_key or env.pk, "token": token or mint(env.sk, user), "room": room}
        result = self.connect_raw(connection_id, query, **where)
        assert result == {"statusCode": 200}, result
        self.users[connection_id] = user
        return connection_id

    def refused(
        self, query: dict[str, str] | None, status: int, code: str | None = None
    ) -> dict[str, Any]:
        """Connect expecting a refusal; return the error object of the body."""
        result = self.connect_raw(self.new_id(), query)
        assert result["statusCode"] == status, result
        err: dict[str, Any] = json.loads(result["body"])["error"]
        if code is not None:
            assert err["code"] == code, err
        return err

    def send_raw(self, connection_id: str, body: str | None, **where: str) -> None:
        from app import ws_message

        result = ws_message(ws_event("$default", connection_id, body=body, **where), LAMBDA_CONTEXT)
        assert result == {"statusCode": 200}, result

    def send(self, connection_id: str, type_: str, **fields: Any) -> None:
        self.send_raw(connection_id, json.dumps({"type": type_, **fields}))

    def ask(self, connection_id: str, type_: str, **fields: Any) -> dict[str, Any]:
        """Send and return the one frame the sender got back."""
        self.send(connection_id, type_, **fields)
        return self.fake.take_one(connection_id)

    def join(self, connection_id: str) -> dict[str, Any]:
        reply = self.ask(connection_id, "join")
        assert reply["type"] == "room.joined", reply
        return reply

    def disconnect(self, connection_id: str) -> None:
        from app import ws_disconnect

        result = ws_disconnect(ws_event("$disconnect", connection_id), LAMBDA_CONTEXT)
        assert result == {"statusCode": 200}, result

    def reconfigure(self, **changes: Any) -> runtime.Services:
        """Rebuild the runtime graph with changed settings (same clock, same fake)."""
        old = self.graph
        graph = runtime.build(dataclasses.replace(old.settings, **changes), old.clock)
        runtime.install(graph)
        graph.realtime.channel.api = self.fake  # type: ignore[assignment]
        return graph


@pytest.fixture
def fake(services: runtime.Services) -> FakeApi:
    api = FakeApi()
    services.realtime.channel.api = api  # type: ignore[assignment]
    return api


@pytest.fixture
def gw(services: runtime.Services, fake: FakeApi) -> Gateway:
    return Gateway(fake)


@pytest.fixture
def env(services: runtime.Services) -> Env:
    return new_env()


# --- reading the tables as they are --------------------------------------------------------------


def data_items() -> list[dict[str, Any]]:
    settings = runtime.services().settings
    client = boto3.client("dynamodb", region_name=settings.region)
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": settings.data_table, "ConsistentRead": True}
    while True:
        page = client.scan(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def stored_items() -> list[dict[str, Any]]:
    """The data table without the usage meter's counters (services/metering.py), which every
    invocation adds to, refusals included: what a refusal must leave as it was."""
    return [i for i in data_items() if not is_usage(i["sk"]["S"])]


def refusals_counted(env_id: str) -> dict[str, int]:
    """Today's refused connections of the environment, by code (the usage analytics)."""
    analytics = runtime.services().metering.analytics(operator(env_id), 1)
    return analytics.daily[-1].refused


def connection_rows(connection_id: str | None = None) -> list[tuple[str, str]]:
    """(pk, sk) of every connection row (by id, in a room, in an environment)."""
    rows = [
        (i["pk"]["S"], i["sk"]["S"])
        for i in data_items()
        if i["pk"]["S"].startswith("CONN#") or i["sk"]["S"].startswith("CONN#")
    ]
    if connection_id is not None:
        rows = [r for r in rows if connection_id in r[0] or r[1] == f"CONN#{connection_id}"]
    return sorted(rows)


def room_item(env_id: str, room_id: str) -> dict[str, Any] | None:
    settings = runtime.services().settings
    client = boto3.client("dynamodb", region_name=settings.region)
    key = {"pk": {"S": f"ENV#{env_id}"}, "sk": {"S": f"ROOM#{room_id}"}}
    item = client.get_item(TableName=settings.data_table, Key=key, ConsistentRead=True).get("Item")
    return item  # type: ignore[no-any-return]


def live_count(env_id: str, room_id: str) -> int | None:
    """The room's stored live-connection count (None: no room, or never counted)."""
    item = room_item(env_id, room_id)
    if item is None or "connections" not in item:
        return None
    return int(item["connections"]["N"])


def rooms_total(env_id: str) -> int:
    return runtime.services().metering.analytics(operator(env_id), 30).rooms


def set_expiry(connection_id: str, expires_at: float) -> None:
    """Rewrite a connection's expiry on its three rows (as if opened long ago)."""
    settings = runtime.services().settings
    client = boto3.client("dynamodb", region_name=settings.region)
    for pk, sk in connection_rows(connection_id):
        client.update_item(
            TableName=settings.data_table,
            Key={"pk": {"S": pk}, "sk": {"S": sk}},
            UpdateExpression="SET expires_at = :e",
            ExpressionAttributeValues={":e": {"N": str(expires_at)}},
        )


def delete_rows(connection_id: str) -> None:
    """Delete a connection's rows behind the service's back (DynamoDB TTL reaping them)."""
    settings = runtime.services().settings
    client = boto3.client("dynamodb", region_name=settings.region)
    for pk, sk in connection_rows(connection_id):
        client.delete_item(TableName=settings.data_table, Key={"pk": {"S": pk}, "sk": {"S": sk}})


# --- REST -----------------------------------------------------------------------------------------


def rest(client: Any, method: str, path: str, key: str | None, body: Any = None) -> Any:
    headers = dict(JSON_CT)
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    data = json.dumps(body).encode() if body is not None else b""
    return client.http.request(method, path, headers=headers, body=data)


def rest_ok(resp: Any, status: int = 200) -> Any:
    assert resp.status_code == status, (resp.status_code, resp.body)
    return resp.json_body


def rest_error(resp: Any, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, (resp.status_code, resp.body)
    err: dict[str, Any] = resp.json_body["error"]
    assert err["code"] == code, err
    return err


def active_user_ids(client: Any, env: Env, room: str) -> list[str]:
    body = rest_ok(rest(client, "GET", f"/api/v1/rooms/{room}/active_users", env.sk))
    return sorted(u["connectionId"] for u in body["data"])
