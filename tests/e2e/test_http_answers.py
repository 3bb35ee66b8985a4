"""Every answer of the local stack (`python -m devstack`) over real HTTP is the documented
`{"error": {"code", "message"}}` with the right status, including the ones no Pulse route makes:
an unknown path (404, not chalice local's 403 "Missing Authentication Token"), a method a path
does not take or no route knows (405 with Allow, not http.server's HTML 501), an oversized URL
(414, at API Gateway's limit), a malformed request (400), a throttled caller (429); and HEAD on
the static files answers as GET, without the body."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from chalicelib.auth import apikeys
from devstack.localhttp import MAX_URL

from .conftest import Stack, StartStack

pytestmark = pytest.mark.e2e

STATIC = [
    "/sdk/pulse.js",
    "/sdk/pulse-client.js",
    "/sdk/pulse-client.d.ts",
    "/admin",
    "/admin/assets/app.js",
    "/api/v1/openapi.json",
]


@pytest.fixture
def stack(shared_stack: Stack) -> Stack:
    return shared_stack


def shaped(response: requests.Response, status: int, code: str) -> dict[str, Any]:
    """The status, a JSON content type, and the one error shape; the inner error object."""
    assert response.status_code == status, (response.status_code, response.text[:300])
    assert response.headers["Content-Type"].startswith("application/json"), response.headers
    body = response.json()
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"], error
    return error


def raw_request(stack: Stack, data: bytes) -> tuple[int, dict[str, str], bytes]:
    """Bytes on a socket, for what an HTTP library will not send; (status, headers, body)."""
    address = urlsplit(stack.url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as conn:
        conn.sendall(data)
        received = b""
        while chunk := conn.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body


def test_an_unknown_path_is_404_never_403_whatever_the_credentials(stack: Stack) -> None:
    secret = "sk_" + "A" * 60
    for path in [
        "/nope",
        "/api/v2/rooms",
        "/api/v1",
        "/admin/api//environments",
        "/sdk/x.js",
        "/sdk/pulse-client.ts",
    ]:
        for headers in ({}, {"Authorization": f"Bearer {secret}"}):
            response = stack.session.get(stack.url + path, headers=headers, timeout=10)
            shaped(response, 404, "NOT_FOUND")
            assert secret not in response.text  # chalice local quoted the header back


def test_a_trailing_slash_is_404_and_disables_nothing(stack: Stack) -> None:
    token = stack.login()
    env = stack.create_environment(token, "Slash")["environment"]

    shaped(stack.call("DELETE", f"/admin/api/environments/{env['id']}/", token), 404, "NOT_FOUND")
    shaped(stack.call("GET", "/api/v1/rooms/", token), 404, "NOT_FOUND")
    after = stack.call("GET", f"/admin/api/environments/{env['id']}", token).json()
    assert after["status"] == "active"


def test_a_method_a_path_does_not_take_is_405_with_allow(stack: Stack) -> None:
    for method, path, allowed in [
        ("PUT", "/api/v1/rooms", {"GET", "POST"}),
        ("DELETE", "/auth/token", {"POST"}),
        ("OPTIONS", "/admin/api/me", {"GET"}),
        ("HEAD", "/admin/api/environments", {"GET", "POST"}),
        ("POST", "/sdk/pulse.js", {"GET", "HEAD"}),
    ]:
        response = stack.session.request(method, stack.url + path, timeout=10)
        assert response.status_code == 405, (method, path, response.status_code)
        assert {m.strip() for m in response.headers["Allow"].split(",")} == allowed
        if method != "HEAD":
            assert method in shaped(response, 405, "METHOD_NOT_ALLOWED")["message"]


def test_a_method_no_route_knows_is_405_in_the_error_shape(stack: Stack) -> None:
    for method in ("PROPFIND", "TRACE", "BREW"):
        response = stack.session.request(method, stack.url + "/api/v1/rooms", timeout=10)
        assert method in shaped(response, 405, "METHOD_NOT_ALLOWED")["message"]
        assert {m.strip() for m in response.headers["Allow"].split(",")} == {"GET", "POST"}
        shaped(stack.session.request(method, stack.url + "/nope", timeout=10), 404, "NOT_FOUND")


def test_a_url_longer_than_api_gateway_takes_is_414(stack: Stack) -> None:
    longest = "/nope?q=" + "x" * (MAX_URL - len("/nope?q="))
    assert len(longest) == MAX_URL

    shaped(stack.session.get(stack.url + longest, timeout=10), 404, "NOT_FOUND")
    error = shaped(stack.session.get(stack.url + longest + "x", timeout=10), 414, "URI_TOO_LONG")
    assert str(MAX_URL) in error["message"]
    # past http.server's own line limit (64 KB) too
    shaped(stack.session.get(stack.url + "/" + "x" * 70_000, timeout=10), 414, "URI_TOO_LONG")


def test_a_malformed_request_is_refused_in_the_error_shape(stack: Stack) -> None:
    for data, status, code in [
        (b"GET / HTTP/1.1 extra\r\n\r\n", 400, "BAD_REQUEST"),
        (b"GET / HTTP/x.y\r\n\r\n", 400, "BAD_REQUEST"),
        (b"GET / HTTP/2.0\r\n\r\n", 505, "HTTP_VERSION_NOT_SUPPORTED"),
    ]:
        answered, headers, body = raw_request(stack, data)
        assert answered == status, (data, answered, body)
        assert headers["Content-Type"] == "application/json"
        error = json.loads(body)["error"]
        assert set(error) == {"code", "message"} and error["code"] == code, error


def test_an_oversized_header_is_431_in_the_error_shape(stack: Stack) -> None:
    request = b"GET /admin HTTP/1.1\r\nHost: x\r\nX-Big: " + b"x" * 70_000 + b"\r\n\r\n"

    status, headers, body = raw_request(stack, request)

    assert status == 431, (status, body[:200])
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body)["error"]["code"] == "HEADERS_TOO_LARGE"


def test_head_on_a_static_file_answers_as_get_without_a_body(stack: Stack) -> None:
    for path in STATIC:
        got = stack.session.get(stack.url + path, timeout=10)
        head = stack.session.head(stack.url + path, timeout=10)
        assert got.status_code == head.status_code == 200, (path, head.status_code)
        assert head.content == b""
        for name in ("Content-Type", "Cache-Control", "X-Content-Type-Options"):
            assert head.headers[name] == got.headers[name], (path, name)
        # the connection is still in step: the next request on it gets its own answer
        assert stack.session.get(stack.url + path, timeout=10).content == got.content
    missing = stack.session.head(stack.url + "/admin/assets/nope.js", timeout=10)
    assert missing.status_code == 404
    assert missing.content == b""


def test_each_status_the_stack_refuses_with_is_in_the_error_shape(
    start_stack: StartStack, tmp_path: Path
) -> None:
    """404 (no route), 405 (wrong method), 414 (URL too long) and 429 (throttled: failed
    authentications per address, limited to 2 a minute here; a fixed window, so up to 8
    attempts make sure one window sees a third)."""
    stack = start_stack(
        tmp_path / "data", PULSE_EPHEMERAL="1", PULSE_RATE_AUTH_FAILURES_PER_SOURCE="2"
    )
    shaped(stack.session.get(stack.url + "/nope", timeout=10), 404, "NOT_FOUND")
    shaped(stack.session.put(stack.url + "/auth/token", timeout=10), 405, "METHOD_NOT_ALLOWED")
    too_long = stack.url + "/nope?q=" + "x" * MAX_URL
    shaped(stack.session.get(too_long, timeout=10), 414, "URI_TOO_LONG")

    token = stack.login()
    created = stack.create_environment(token, "Throttled")
    (key,) = [k for k in created["keys"] if k["kind"] == "secret"]
    # The key's environment and id with another secret: it passes the offline checks (format,
    # checksum), so each refusal is a counted failure.
    wrong = apikeys.generate("secret", created["environment"]["id"], key["id"])
    statuses = []
    for _ in range(8):
        response = stack.call("GET", "/api/v1/rooms", wrong)
        statuses.append(response.status_code)
        if response.status_code == 429:
            shaped(response, 429, "TOO_MANY_FAILURES")
            assert int(response.headers["Retry-After"]) >= 1
            break
    assert statuses[-1] == 429, statuses
