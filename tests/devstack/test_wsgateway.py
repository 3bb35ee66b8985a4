"""The local WebSocket gateway over real sockets: the `websockets` client on one side, a fake
handler trio recording the API Gateway events on the other, and boto3's
`apigatewaymanagementapi` client on the Management API. Every wait is bounded."""

from __future__ import annotations

import base64
import logging
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import boto3
import pytest
import requests
from botocore.config import Config
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from devstack.localenv import LocalEnvError
from devstack.stack import DevStack, prepare_environment, ws_lines
from devstack.wsgateway import Limits, WebSocketGateway, new_connection_id

WAIT = 10.0  # the most any single wait may take; a passing run takes a fraction of it
Event = dict[str, Any]


class FakeApp:
    """Stands in for app.py's ws_connect / ws_message / ws_disconnect: records every event (from
    the gateway's handler threads) and answers what the test set."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.contexts: list[Any] = []
        self._changed = threading.Condition()
        self.connect_response: Callable[[Event], Any] = lambda event: {"statusCode": 200}
        self.on_message: Callable[[Event], None] = lambda event: None
        self.on_disconnect: Callable[[Event], None] = lambda event: None
        self._in_flight: Counter[str] = Counter()
        self.most_in_flight = 0  # per connection, at any moment

    def _record(self, event: Event, context: Any) -> None:
        with self._changed:
            self.events.append(event)
            self.contexts.append(context)
            self._changed.notify_all()

    def ws_connect(self, event: Event, context: Any) -> Any:
        self._record(event, context)
        return self.connect_response(event)

    def ws_message(self, event: Event, context: Any) -> Any:
        connection_id = event["requestContext"]["connectionId"]
        with self._changed:
            self._in_flight[connection_id] += 1
            self.most_in_flight = max(self.most_in_flight, self._in_flight[connection_id])
        try:
            self.on_message(event)
        finally:
            with self._changed:
                self._in_flight[connection_id] -= 1
            self._record(event, context)
        # API Gateway does not send this back (no route response): neither may the gateway.
        return {"statusCode": 200, "body": "not for the client"}

    def ws_disconnect(self, event: Event, context: Any) -> Any:
        try:
            self.on_disconnect(event)
        finally:
            self._record(event, context)
        return {"statusCode": 200}

    def routed(self, route: str, connection_id: str | None = None) -> list[Event]:
        with self._changed:
            return [
                e
                for e in self.events
                if e["requestContext"]["routeKey"] == route
                and connection_id in (None, e["requestContext"]["connectionId"])
            ]

    def wait_for(self, route: str, count: int = 1, connection_id: str | None = None) -> list[Event]:
        with self._changed:
            done = self._changed.wait_for(
                lambda: len(self.routed(route, connection_id)) >= count, timeout=WAIT
            )
        found = self.routed(route, connection_id)
        assert done, f"{len(found)} {route} event(s) within {WAIT}s, expected {count}"
        return found

    def last_connection_id(self) -> str:
        connection_id: str = self.routed("$connect")[-1]["requestContext"]["connectionId"]
        return connection_id


Start = Callable[..., tuple[WebSocketGateway, FakeApp]]


@pytest.fixture
def start_gateway() -> Iterator[Start]:
    """Starts gateways on free ports; each is stopped at the end of the test."""
    started: list[WebSocketGateway] = []

    def start(**options: Any) -> tuple[WebSocketGateway, FakeApp]:
        app = FakeApp()
        gateway = WebSocketGateway(
            app.ws_connect, app.ws_message, app.ws_disconnect, port=0, management_port=0, **options
        )
        gateway.start()
        started.append(gateway)
        return gateway, app

    yield start
    for gateway in started:
        gateway.stop()


@pytest.fixture
def gateway(start_gateway: Start) -> tuple[WebSocketGateway, FakeApp]:
    return start_gateway()


def management(gateway: WebSocketGateway) -> Any:
    """boto3's client, configured the way the app builds it for a connection."""
    return boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=gateway.management_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=WAIT),
    )


def open_socket(
    gateway: WebSocketGateway, query: str = "?apiKey=pk_a&token=t&room=r"
) -> ClientConnection:
    return connect(
        gateway.url + "/" + query,
        open_timeout=WAIT,
        close_timeout=WAIT,
        proxy=None,
        legacy=True,  # the connection itself (usable in `with`), opened now
    )


def closed_by(ws: ClientConnection, *sends: Any) -> ConnectionClosed:
    """Sends `sends`, then waits (bounded) until the server closes the socket; returns how it
    closed (a send may already fail: the server closes as soon as it sees too much)."""
    with pytest.raises(ConnectionClosed) as closed:
        for message in sends:
            ws.send(message)
        while True:
            ws.recv(timeout=WAIT)
    return closed.value


# -- $connect ------------------------------------------------------------------------------------


def test_connect_event_has_api_gateway_shape(gateway: tuple[WebSocketGateway, FakeApp]) -> None:
    gw, app = gateway
    before = int(time.time() * 1000)
    with open_socket(gw, "?apiKey=pk_live_1&token=a.b.c&room=doc-1&room=doc-2&flag="):
        (event,) = app.wait_for("$connect")
    after = int(time.time() * 1000)

    ctx = event["requestContext"]
    assert ctx["routeKey"] == "$connect"
    assert ctx["eventType"] == "CONNECT"
    assert re.fullmatch(r"[A-Za-z0-9+/]{15}=", ctx["connectionId"])
    assert ctx["domainName"] == f"127.0.0.1:{gw.management_port}"
    assert (ctx["stage"], ctx["apiId"]) == ("local", "local")
    assert ctx["requestId"] and ctx["messageDirection"] == "IN"
    assert before <= ctx["connectedAt"] <= ctx["requestTimeEpoch"] <= after
    assert ctx["identity"]["sourceIp"] == "127.0.0.1"
    assert ctx["identity"]["userAgent"].startswith("Python/")
    assert event["queryStringParameters"] == {
        "apiKey": "pk_live_1",
        "token": "a.b.c",
        "room": "doc-2",  # the last value, as API Gateway does
        "flag": "",
    }
    assert event["multiValueQueryStringParameters"]["room"] == ["doc-1", "doc-2"]
    assert event["headers"]["Host"] == f"127.0.0.1:{gw.port}"
    assert event["multiValueHeaders"]["Host"] == [f"127.0.0.1:{gw.port}"]
    assert event["headers"]["X-Forwarded-For"] == "127.0.0.1"
    assert event["isBase64Encoded"] is False
    # The Management API endpoint the app derives from the event is the gateway's.
    assert f"http://{ctx['domainName']}/{ctx['stage']}" == gw.management_url
    assert app.contexts[0].aws_request_id == ctx["requestId"]
    assert app.contexts[0].get_remaining_time_in_millis() > 0


def test_connect_without_query_string_has_null_parameters(
    gateway: tuple[WebSocketGateway, FakeApp],
) -> None:
    gw, app = gateway
    with open_socket(gw, ""):
        (event,) = app.wait_for("$connect")
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None


def test_connection_ids_are_api_gateway_shaped_and_distinct() -> None:
    ids = {new_connection_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(re.fullmatch(r"[A-Za-z0-9+/]{15}=", i) for i in ids)


@pytest.mark.parametrize(
    ("response", "status", "body"),
    [
        ({"statusCode": 401, "body": '{"error": "bad token"}'}, 401, b'{"error": "bad token"}'),
        ({"statusCode": 400, "body": "bad room"}, 400, b"bad room"),
        ({"statusCode": 403}, 403, b""),
        ({"body": "no status"}, 500, b'{"message": "Internal server error"}'),
    ],
)
def test_refused_connect_answers_the_handlers_status_and_never_disconnects(
    gateway: tuple[WebSocketGateway, FakeApp], response: Event, status: int, body: bytes
) -> None:
    gw, app = gateway
    app.connect_response = lambda event: (
        response
        if event["queryStringParameters"]["apiKey"] == "pk_refused"
        else {"statusCode": 200}
    )
    with pytest.raises(InvalidStatus) as refused:
        open_socket(gw, "?apiKey=pk_refused")
    assert refused.value.response.status_code == status
    assert bytes(refused.value.response.body or b"") == body
    refused_id = app.last_connection_id()
    assert management_post_status(gw, refused_id) == 410  # it never existed

    # A barrier: an accepted connection opened and closed after the refusal.
    with open_socket(gw, "?apiKey=pk_ok"):
        accepted_id = app.last_connection_id()
    app.wait_for("$disconnect", connection_id=accepted_id)
    disconnected = [e["requestContext"]["connectionId"] for e in app.routed("$disconnect")]
    assert disconnected == [accepted_id]


def test_a_connect_handler_that_raises_refuses_with_500(
    gateway: tuple[WebSocketGateway, FakeApp], caplog: pytest.LogCaptureFixture
) -> None:
    gw, app = gateway

    def explode(event: Event) -> Any:
        raise RuntimeError("database down")

    app.connect_response = explode
    with (
        caplog.at_level(logging.ERROR, logger="devstack.wsgateway"),
        pytest.raises(InvalidStatus) as refused,
    ):
        open_socket(gw)
    assert refused.value.response.status_code == 500
    assert any("$connect" in r.getMessage() for r in caplog.records)


def test_a_client_gone_while_connect_ran_still_gets_its_disconnect(
    gateway: tuple[WebSocketGateway, FakeApp],
) -> None:
    """$connect accepted (the app stored the connection) but the client had left: API Gateway
    still runs $disconnect, so the app can forget it."""
    gw, app = gateway
    release = threading.Event()

    def slow_accept(event: Event) -> Any:
        release.wait(WAIT)
        return {"statusCode": 200}

    app.connect_response = slow_accept
    with pytest.raises(TimeoutError):
        connect(gw.url + "/", open_timeout=0.3, proxy=None, legacy=True)
    release.set()
    (event,) = app.wait_for("$disconnect")
    assert event["requestContext"]["connectionId"] == app.last_connection_id()
    assert event["requestContext"]["disconnectStatusCode"] == 1006


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("?token=" + "x" * 5000, 414),  # API Gateway's connect URL cap (~4096 characters)
        ("elsewhere?token=t", 403),  # not the stage
    ],
)
def test_bad_connect_urls_are_refused_before_connect_runs(
    gateway: tuple[WebSocketGateway, FakeApp], path: str, status: int
) -> None:
    gw, app = gateway
    with pytest.raises(InvalidStatus) as refused:
        open_socket(gw, path)
    assert refused.value.response.status_code == status
    assert app.routed("$connect") == []


def test_the_stage_path_is_accepted(gateway: tuple[WebSocketGateway, FakeApp]) -> None:
    gw, app = gateway
    with open_socket(gw, "local?room=r"):
        (event,) = app.wait_for("$connect")
    assert event["queryStringParameters"] == {"room": "r"}


# -- $default ------------------------------------------------------------------------------------


def test_messages_reach_default_in_order_one_at_a_time(
    gateway: tuple[WebSocketGateway, FakeApp],
) -> None:
    gw, app = gateway
    app.on_message = lambda event: time.sleep(0.005)  # room for overlap, were there any
    bodies = [f'{{"type": "ping", "n": {n}}}' for n in range(25)]
    with open_socket(gw) as ws:
        connection_id = app.last_connection_id()
        for body in bodies:
            ws.send(body)
        events = app.wait_for("$default", len(bodies))
        # The handlers' returned bodies were not sent: the first frame is this push.
        management(gw).post_to_connection(ConnectionId=connection_id, Data=b"marker")
        assert ws.recv(timeout=WAIT) == "marker"

    assert [e["body"] for e in events] == bodies
    assert app.most_in_flight == 1
    for event in events:
        ctx = event["requestContext"]
        assert (ctx["routeKey"], ctx["eventType"]) == ("$default", "MESSAGE")
        assert ctx["connectionId"] == connection_id
        assert ctx["domainName"] == gw.domain_name and ctx["stage"] == "local"
        assert event["isBase64Encoded"] is False
    assert len({e["requestContext"]["messageId"] for e in events}) == len(bodies)


def test_binary_frames_arrive_base64_encoded(gateway: tuple[WebSocketGateway, FakeApp]) -> None:
    gw, app = gateway
    with open_socket(gw) as ws:
        ws.send(b"\x00\xffbinary")
        (event,) = app.wait_for("$default")
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\x00\xffbinary"


def test_a_failing_default_handler_is_logged_and_the_gateway_goes_on(
    gateway: tuple[WebSocketGateway, FakeApp], caplog: pytest.LogCaptureFixture
) -> None:
    gw, app = gateway

    def on_message(event: Event) -> None:
        if event["body"] == "boom":
            raise RuntimeError("handler bug")

    app.on_message = on_message
    with caplog.at_level(logging.ERROR, logger="devstack.wsgateway"):
        with open_socket(gw) as ws:
            ws.send("boom")
            ws.send("after")
            app.wait_for("$default", 2)
            connection_id = app.last_connection_id()
            management(gw).post_to_connection(ConnectionId=connection_id, Data=b"still here")
            assert ws.recv(timeout=WAIT) == "still here"
        with open_socket(gw) as again:  # and it still accepts connections
            again.send("hello")
            app.wait_for("$default", 3)
    failures = [r for r in caplog.records if "$default" in r.getMessage()]
    assert len(failures) == 1 and failures[0].exc_info is not None


def test_a_handler_replies_through_the_endpoint_its_event_names(
    gateway: tuple[WebSocketGateway, FakeApp],
) -> None:
    """The production path: the app builds endpoint_url from domainName and stage, then posts
    from inside the $default handler (on the gateway's handler thread)."""
    gw, app = gateway

    def echo(event: Event) -> None:
        ctx = event["requestContext"]
        client = boto3.client(
            "apigatewaymanagementapi",
            endpoint_url=f"http://{ctx['domainName']}/{ctx['stage']}",
            region_name="us-east-1",
        )
        client.post_to_connection(
            ConnectionId=ctx["connectionId"], Data=b"echo:" + event["body"].encode()
        )

    app.on_message = echo
    with open_socket(gw) as ws:
        ws.send('{"type": "ping"}')
        assert ws.recv(timeout=WAIT) == 'echo:{"type": "ping"}'


def test_a_handler_may_delete_its_own_connection(
    gateway: tuple[WebSocketGateway, FakeApp],
) -> None:
    """DELETE answers at once: the handler is not left waiting for its own $disconnect (which
    runs after it, as the connection's events are sequential)."""
    gw, app = gateway
    api = management(gw)

    def kick(event: Event) -> None:
        api.delete_connection(ConnectionId=event["requestContext"]["connectionId"])

    app.on_message = kick
    with open_socket(gw) as ws:
        connection_id = app.last_connection_id()
        closed = closed_by(ws, '{"type": "leave"}')
    assert closed.rcvd is not None and closed.rcvd.code == 1000
    app.wait_for("$disconnect", connection_id=connection_id)
    assert [e["requestContext"]["routeKey"] for e in app.events] == [
        "$connect",
        "$default",
        "$disconnect",
    ]


def test_in_disconnect_the_closed_connection_is_gone_and_the_others_reachable(
    gateway: tuple[WebSocketGateway, FakeApp],
) -> None:
    gw, app = gateway
    api = management(gw)
    outcomes: list[str] = []
    with open_socket(gw) as stays:
        stays_id = app.last_connection_id()

        def tell_the_room(event: Event) -> None:
            leaving = event["requestContext"]["connectionId"]
            try:
                api.post_to_connection(ConnectionId=leaving, Data=b"to the leaver")
                outcomes.append("delivered")
            except api.exceptions.GoneException:
                outcomes.append("gone")
            api.post_to_connection(ConnectionId=stays_id, Data=f"left:{leaving}".encode())

        app.on_disconnect = tell_the_room
        with open_socket(gw):
            leaves_id = app.last_connection_id()
        assert stays.recv(timeout=WAIT) == f"left:{leaves_id}"
        app.on_disconnect = lambda event: None
    assert outcomes == ["gone"]


# -- the Management API --------------------------------------------------------------------------


def test_post_delivers_a_text_frame_and_get_describes_the_connection(
    gateway: tuple[WebSocketGateway, FakeApp],
) -> None:
    gw, app = gateway
    api = management(gw)
    with open_socket(gw) as ws:
        connection_id = app.last_connection_id()
        info_before = api.get_connection(ConnectionId=connection_id)
        ws.send("activity")
        app.wait_for("$default")
        api.post_to_connection(ConnectionId=connection_id, Data='{"type": "pong", "é": 1}'.encode())
        frame = ws.recv(timeout=WAIT)
        info = api.get_connection(ConnectionId=connection_id)

    assert frame == '{"type": "pong", "é": 1}'  # str: a text frame
    connected_ms = app.routed("$connect")[0]["requestContext"]["connectedAt"]
    assert abs(info["ConnectedAt"].timestamp() * 1000 - connected_ms) < 2
    assert info["LastActiveAt"] > info_before["LastActiveAt"]
    assert info["Identity"]["SourceIp"] == "127.0.0.1"
    assert info["Identity"]["UserAgent"].startswith("Python/")


def test_connection_ids_are_url_decoded_from_the_path(start_gateway: Start) -> None:
    gw, app = start_gateway(connection_ids=lambda: "a+b/c=d+e/f+gh=")
    with open_socket(gw) as ws:
        assert app.last_connection_id() == "a+b/c=d+e/f+gh="
        management(gw).post_to_connection(ConnectionId="a+b/c=d+e/f+gh=", Data=b"hi")
        assert ws.recv(timeout=WAIT) == "hi"


def test_delete_closes_the_socket_and_fires_disconnect(
    gateway: tuple[WebSocketGateway, FakeApp],
) -> None:
    gw, app = gateway
    api = management(gw)
    with open_socket(gw) as ws:
        connection_id = app.last_connection_id()
        response = api.delete_connection(ConnectionId=connection_id)
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 204
        closed = closed_by(ws)
    assert closed.rcvd is not None and closed.rcvd.code == 1000
    (event,) = app.wait_for("$disconnect", connection_id=connection_id)
    ctx = event["requestContext"]
    assert (ctx["routeKey"], ctx["eventType"]) == ("$disconnect", "DISCONNECT")
    assert ctx["disconnectStatusCode"] == 1000
    assert ctx["disconnectReason"] == "Connection deleted"
    with pytest.raises(api.exceptions.GoneException):
        api.post_to_connection(ConnectionId=connection_id, Data=b"late")
    with pytest.raises(api.exceptions.GoneException):
        api.delete_connection(ConnectionId=connection_id)


def test_a_client_close_fires_disconnect_with_its_code(
    gateway: tuple[WebSocketGateway, FakeApp],
) -> None:
    gw, app = gateway
    with open_socket(gw) as ws:
        connection_id = app.last_connection_id()
        ws.close(4000, "bye")
    (event,) = app.wait_for("$disconnect", connection_id=connection_id)
    assert event["requestContext"]["disconnectStatusCode"] == 4000
    assert event["requestContext"]["disconnectReason"] == "bye"
    assert (
        event["requestContext"]["connectedAt"]
        == app.routed("$connect")[0]["requestContext"]["connectedAt"]
    )
    with pytest.raises(management(gw).exceptions.GoneException):
        management(gw).get_connection(ConnectionId=connection_id)


@pytest.mark.parametrize("operation", ["post_to_connection", "get_connection", "delete_connection"])
def test_unknown_connections_raise_gone_exception_through_boto3(
    gateway: tuple[WebSocketGateway, FakeApp], operation: str
) -> None:
    gw, _ = gateway
    api = management(gw)
    params: dict[str, Any] = {"ConnectionId": "Zm9vYmFyYmF6cXU="}
    if operation == "post_to_connection":
        params["Data"] = b"x"
    with pytest.raises(api.exceptions.GoneException) as gone:
        getattr(api, operation)(**params)
    assert gone.value.response["ResponseMetadata"]["HTTPStatusCode"] == 410


def management_post_status(gw: WebSocketGateway, connection_id: str) -> int:
    url = f"{gw.management_url}/@connections/{quote(connection_id, safe='')}"
    return requests.post(url, data=b"x", timeout=WAIT).status_code


def test_gone_on_the_wire_is_what_aws_sends(gateway: tuple[WebSocketGateway, FakeApp]) -> None:
    gw, _ = gateway
    url = f"{gw.management_url}/@connections/{quote('nope+/=', safe='')}"
    response = requests.post(url, data=b"x", timeout=WAIT)
    assert response.status_code == 410
    assert response.headers["x-amzn-ErrorType"] == "GoneException"
    assert response.json()["message"]
    wrong = requests.post(
        f"http://{gw.domain_name}/@connections/abc%3D", data=b"x", timeout=WAIT
    )  # no stage in the endpoint: a bug in the app's endpoint_url
    assert wrong.status_code == 403
    assert wrong.headers["x-amzn-ErrorType"] == "ForbiddenException"


def test_posts_over_128kb_are_payload_too_large(gateway: tuple[WebSocketGateway, FakeApp]) -> None:
    gw, app = gateway
    api = management(gw)
    with open_socket(gw) as ws:
        connection_id = app.last_connection_id()
        with pytest.raises(api.exceptions.PayloadTooLargeException):
            api.post_to_connection(ConnectionId=connection_id, Data=b"x" * (128 * 1024 + 1))
        api.post_to_connection(ConnectionId=connection_id, Data=b"y" * (128 * 1024))
        assert ws.recv(timeout=WAIT) == "y" * (128 * 1024)


# -- limits ----------------------------------------------------------------------------------------


def test_a_frame_over_32kb_closes_the_socket_with_1009(
    gateway: tuple[WebSocketGateway, FakeApp],
) -> None:
    gw, app = gateway
    with open_socket(gw) as ws:
        connection_id = app.last_connection_id()
        closed = closed_by(ws, "x" * (32 * 1024 + 1))
    assert closed.rcvd is not None and closed.rcvd.code == 1009
    (event,) = app.wait_for("$disconnect", connection_id=connection_id)
    assert event["requestContext"]["disconnectStatusCode"] == 1009
    assert app.routed("$default") == []


def test_a_message_in_32kb_frames_may_reach_128kb_and_no_more(
    gateway: tuple[WebSocketGateway, FakeApp],
) -> None:
    gw, app = gateway
    fragments = ["a" * 30_000, "b" * 30_000, "c" * 30_000]
    with open_socket(gw) as ws:
        ws.send(iter(fragments))
        (event,) = app.wait_for("$default")
        assert event["body"] == "".join(fragments)
        closed = closed_by(ws, iter([*fragments, "d" * 30_000, "e" * 30_000]))  # 150,000 bytes
    assert closed.rcvd is not None and closed.rcvd.code == 1009


def test_an_idle_connection_is_closed_with_1001_and_disconnected(start_gateway: Start) -> None:
    gw, app = start_gateway(limits=Limits(idle_seconds=0.3))
    with open_socket(gw) as ws:
        connection_id = app.last_connection_id()
        closed = closed_by(ws)
    assert closed.rcvd is not None and closed.rcvd.code == 1001
    assert "Idle" in closed.rcvd.reason
    (event,) = app.wait_for("$disconnect", connection_id=connection_id)
    assert event["requestContext"]["disconnectStatusCode"] == 1001


@pytest.mark.parametrize("activity", ["client messages", "pushes"])
def test_data_frames_either_way_keep_a_connection_alive(
    start_gateway: Start, activity: str
) -> None:
    idle = 0.8
    gw, app = start_gateway(limits=Limits(idle_seconds=idle))
    api = management(gw)
    with open_socket(gw) as ws:
        connection_id = app.last_connection_id()
        started = time.monotonic()
        while time.monotonic() - started < 2 * idle:  # pacing, not an assertion
            if activity == "pushes":
                api.post_to_connection(ConnectionId=connection_id, Data=b"keep-alive")
                assert ws.recv(timeout=WAIT) == "keep-alive"
            else:
                ws.send("keep-alive")
            time.sleep(0.1)
        # Alive past twice the idle timeout: a push still reaches it.
        api.post_to_connection(ConnectionId=connection_id, Data=b"still open")
        while ws.recv(timeout=WAIT) != "still open":
            pass
        closed = closed_by(ws)  # then, left alone, it idles out
    assert closed.rcvd is not None and closed.rcvd.code == 1001


def test_the_connection_cap_closes_even_a_busy_connection(start_gateway: Start) -> None:
    gw, app = start_gateway(limits=Limits(idle_seconds=60, max_seconds=0.5))
    with open_socket(gw) as ws:
        connection_id = app.last_connection_id()
        with pytest.raises(ConnectionClosed) as closed:
            for _ in range(int(WAIT / 0.05)):
                ws.send("busy")
                time.sleep(0.05)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
    assert "duration" in closed.value.rcvd.reason
    (event,) = app.wait_for("$disconnect", connection_id=connection_id)
    assert event["requestContext"]["disconnectStatusCode"] == 1001


def test_limits_come_from_the_environment() -> None:
    limits = Limits.from_env({"PULSE_WS_IDLE_SECONDS": "2.5", "PULSE_WS_MAX_SECONDS": "30"})
    assert (limits.idle_seconds, limits.max_seconds) == (2.5, 30.0)
    assert Limits.from_env({}) == Limits()
    assert (Limits().idle_seconds, Limits().max_seconds) == (600, 7200)
    assert (Limits().frame_bytes, Limits().message_bytes) == (32 * 1024, 128 * 1024)
    for bad in ("soon", "0", "-1", "nan"):
        with pytest.raises(LocalEnvError):
            Limits.from_env({"PULSE_WS_IDLE_SECONDS": bad})


# -- lifecycle and the dev stack -------------------------------------------------------------------


def test_stop_closes_sockets_and_runs_disconnect_before_returning() -> None:
    app = FakeApp()
    gw = WebSocketGateway(
        app.ws_connect, app.ws_message, app.ws_disconnect, port=0, management_port=0
    )
    gw.start()
    try:
        ws = open_socket(gw)
        connection_id = app.last_connection_id()
    finally:
        gw.stop()
    # No waiting: stop() returned only once $disconnect had run (the dev stack saves after it).
    (event,) = app.routed("$disconnect", connection_id)
    assert event["requestContext"]["disconnectStatusCode"] == 1001
    closed = closed_by(ws)
    assert closed.rcvd is not None and closed.rcvd.code == 1001
    with pytest.raises(OSError):
        open_socket(gw)
    gw.stop()  # twice is harmless


def test_a_busy_port_fails_start_and_leaves_nothing_running() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        app = FakeApp()
        threads_before = set(threading.enumerate())
        for ports in ({"port": port, "management_port": 0}, {"port": 0, "management_port": port}):
            gw = WebSocketGateway(app.ws_connect, app.ws_message, app.ws_disconnect, **ports)
            with pytest.raises(OSError, match=str(port)):
                gw.start()
            gw.stop()
    leftover = [
        t for t in set(threading.enumerate()) - threads_before if t.name.startswith("pulse-ws")
    ]
    assert leftover == []


def test_the_dev_stack_points_the_app_at_the_gateway(tmp_path: Path) -> None:
    env = {"PULSE_DATA_DIR": str(tmp_path), "PULSE_WS_MANAGEMENT_SCHEME": "https"}
    plan = prepare_environment(env)
    assert env["PULSE_WS_MANAGEMENT_SCHEME"] == "http"  # the local Management API is http
    assert (plan.ws_port, plan.ws_management_port) == (8001, 8002)
    assert plan.ws_limits == Limits()

    custom = prepare_environment(
        {
            "PULSE_DATA_DIR": str(tmp_path),
            "PULSE_WS_PORT": "18001",
            "PULSE_WS_MANAGEMENT_PORT": "18002",
            "PULSE_WS_IDLE_SECONDS": "5",
        }
    )
    assert (custom.ws_port, custom.ws_management_port) == (18001, 18002)
    assert custom.ws_limits.idle_seconds == 5
    with pytest.raises(LocalEnvError):
        prepare_environment({"PULSE_DATA_DIR": str(tmp_path), "PULSE_WS_PORT": "socket"})

    stack = DevStack(plan)
    stack.ws = WebSocketGateway(lambda e, c: None, lambda e, c: None, lambda e, c: None)
    lines = "\n".join(ws_lines(stack))
    assert "WebSocket: ws://127.0.0.1:8001" in lines
    assert "http://127.0.0.1:8002/local" in lines
