"""The Python SDK's rules on their own: webhook verification against the published
`standardwebhooks` library, the token cache, retries, the error shape and ids in paths. The HTTP
side is httpx's MockTransport here; tests/sdk/test_python_sdk.py runs the same against the stack."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pulse_sdk
import pytest
from pulse_sdk import _transport, webhooks
from standardwebhooks import Webhook as ReferenceWebhook
from standardwebhooks import WebhookVerificationError as ReferenceError

SECRET = "whsec_" + base64.b64encode(b"pulse-sdk-test-secret-32-bytes!!").decode()
OTHER = "whsec_" + base64.b64encode(b"another-secret-of-32-bytes......").decode()
NOW = 1_800_000_000
BODY = json.dumps({"type": "comment.created", "data": {"id": "cm_1", "seq": 3}}).encode()

Handler = Callable[[httpx.Request], httpx.Response]


def reference_headers(secret: str, body: bytes, at: int = NOW, msg_id: str = "msg_1") -> dict:
    signature = ReferenceWebhook(secret).sign(
        msg_id, datetime.fromtimestamp(at, tz=UTC), body.decode()
    )
    return {"webhook-id": msg_id, "webhook-timestamp": str(at), "webhook-signature": signature}


def verifier(secret: str = SECRET) -> pulse_sdk.Webhook:
    return pulse_sdk.Webhook(secret, clock=lambda: NOW)


# --- webhooks -------------------------------------------------------------------------------


def test_a_delivery_signed_by_the_reference_library_verifies() -> None:
    event = verifier().verify(BODY, reference_headers(SECRET, BODY))
    assert event == {"type": "comment.created", "data": {"id": "cm_1", "seq": 3}}


def test_the_sdk_signs_as_the_reference_library_verifies() -> None:
    at = int(time.time())  # the reference library checks its own clock
    headers = {
        "webhook-id": "msg_2",
        "webhook-timestamp": str(at),
        "webhook-signature": webhooks.sign(SECRET, "msg_2", at, BODY),
    }
    assert ReferenceWebhook(SECRET).verify(BODY, headers)["type"] == "comment.created"


def test_headers_are_read_whatever_their_case() -> None:
    headers = {k.title(): v for k, v in reference_headers(SECRET, BODY).items()}
    assert verifier().verify(BODY.decode(), headers)["data"]["seq"] == 3


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        ("body", "no signature matches"),
        ("secret", "no signature matches"),
        ("id", "no signature matches"),
        ("old", "too old"),
        ("future", "in the future"),
        ("missing", "missing header webhook-signature"),
        ("timestamp", "not Unix seconds"),
    ],
)
def test_a_tampered_delivery_is_refused_saying_why(tamper: str, message: str) -> None:
    body, headers = BODY, reference_headers(SECRET, BODY)
    secret = SECRET
    if tamper == "body":
        body = BODY.replace(b'"seq": 3', b'"seq": 4')
    elif tamper == "secret":
        secret = OTHER
    elif tamper == "id":
        headers["webhook-id"] = "msg_other"
    elif tamper == "old":
        headers = reference_headers(SECRET, BODY, at=NOW - 301)
    elif tamper == "future":
        headers = reference_headers(SECRET, BODY, at=NOW + 301)
    elif tamper == "missing":
        del headers["webhook-signature"]
    else:
        headers["webhook-timestamp"] = "yesterday"
    with pytest.raises(pulse_sdk.WebhookVerificationError, match=message):
        verifier(secret).verify(body, headers)
    if tamper in ("body", "secret", "id"):  # the reference library agrees
        with pytest.raises(ReferenceError):
            ReferenceWebhook(secret).verify(body, headers)


def test_within_the_tolerance_is_accepted() -> None:
    assert verifier().verify(BODY, reference_headers(SECRET, BODY, at=NOW - 299))


def test_a_rotated_secret_verifies_while_both_sign() -> None:
    old = reference_headers(OTHER, BODY)["webhook-signature"]
    new = reference_headers(SECRET, BODY)["webhook-signature"]
    headers = reference_headers(SECRET, BODY) | {"webhook-signature": f"{old} {new}"}
    assert verifier(SECRET).verify(BODY, headers)
    assert verifier(OTHER).verify(BODY, headers)


def test_a_secret_that_is_not_base64_is_refused_at_once() -> None:
    with pytest.raises(ValueError, match="whsec_"):
        pulse_sdk.Webhook("whsec_not base64!")


# --- a client over a scripted transport -------------------------------------------------------


class Script:
    """Answers requests in order (the last answer repeats) and records them."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def reply(status: int, body: Any = None, **headers: str) -> httpx.Response:
    content = b"" if body is None else json.dumps(body).encode()
    return httpx.Response(status, content=content, headers=headers)


def error(status: int, code: str, **headers: str) -> httpx.Response:
    return reply(status, {"error": {"code": code, "message": f"{code} happened"}}, **headers)


ROOM = {
    "id": "doc:42",
    "metadata": {},
    "createdAt": "2026-11-25T04:48:22.123Z",
    "updatedAt": "2026-11-25T04:48:22.123Z",
    "defaultAccess": "write",
    "usersAccess": {},
    "groupsAccess": {},
}


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    waited: list[float] = []
    monkeypatch.setattr(_transport.time, "sleep", waited.append)
    return waited


def client(script: Script, **options: Any) -> pulse_sdk.Pulse:
    http = httpx.Client(transport=httpx.MockTransport(script))
    return pulse_sdk.Pulse("sk_test", base_url="http://pulse.test", http_client=http, **options)


def test_a_429_is_retried_after_its_retry_after_with_the_same_idempotency_key(
    sleeps: list[float],
) -> None:
    script = Script(error(429, "RATE_LIMITED", **{"Retry-After": "2"}), reply(201, ROOM))
    room = client(script).rooms.create("doc:42")
    assert room["id"] == "doc:42"
    assert len(script.requests) == 2
    keys = {r.headers["Idempotency-Key"] for r in script.requests}
    assert len(keys) == 1 and len(keys.pop()) == 36  # one uuid4, sent on both attempts
    assert 2 <= sleeps[0] <= 2.25


def test_a_503_without_retry_after_backs_off_with_jitter(sleeps: list[float]) -> None:
    script = Script(error(503, "UNAVAILABLE"), error(503, "UNAVAILABLE"), reply(200, ROOM))
    assert client(script).rooms.get("doc:42")["id"] == "doc:42"
    assert len(sleeps) == 2
    assert 0.25 <= sleeps[0] <= 0.5 and 0.5 <= sleeps[1] <= 1.0


def test_retries_are_bounded_then_the_error_carries_retry_after(sleeps: list[float]) -> None:
    script = Script(error(429, "RATE_LIMITED", **{"Retry-After": "1", "X-Request-Id": "req-9"}))
    with pytest.raises(pulse_sdk.RateLimitError) as raised:
        client(script, max_retries=2).rooms.get("doc:42")
    assert len(script.requests) == 3 and len(sleeps) == 2
    assert raised.value.retry_after == 1 and raised.value.request_id == "req-9"
    assert raised.value.code == "RATE_LIMITED" and raised.value.status == 429


def test_a_retry_after_beyond_the_cap_is_not_waited_for(sleeps: list[float]) -> None:
    script = Script(error(429, "RATE_LIMITED", **{"Retry-After": "3600"}), reply(200, ROOM))
    with pytest.raises(pulse_sdk.RateLimitError):
        client(script).rooms.get("doc:42")
    assert sleeps == [] and len(script.requests) == 1


def test_a_key_still_in_use_is_retried_after_its_retry_after(sleeps: list[float]) -> None:
    in_use = error(409, "IDEMPOTENCY_KEY_IN_USE", **{"Retry-After": "1"})
    script = Script(in_use, reply(201, ROOM))
    assert client(script).rooms.create("doc:42", idempotency_key="k-1")["id"] == "doc:42"
    assert [r.headers["Idempotency-Key"] for r in script.requests] == ["k-1", "k-1"]
    assert len(sleeps) == 1


def test_other_errors_are_not_retried(sleeps: list[float]) -> None:
    script = Script(error(409, "ROOM_EXISTS"), reply(201, ROOM))
    with pytest.raises(pulse_sdk.ConflictError, match="ROOM_EXISTS"):
        client(script).rooms.create("doc:42")
    assert len(script.requests) == 1


def test_no_answer_is_retried_only_when_repeating_is_safe(sleeps: list[float]) -> None:
    refused = httpx.ConnectError("refused")
    script = Script(refused, reply(201, ROOM))
    assert client(script).rooms.create("doc:42")["id"] == "doc:42"  # keyed POST: safe
    script = Script(refused, reply(200, ROOM))
    with pytest.raises(pulse_sdk.APIConnectionError, match="refused"):
        client(script).rooms.update("doc:42", metadata={"a": 1})  # PATCH: not repeated
    assert len(script.requests) == 1


def test_an_error_answer_is_an_exception_with_the_error_shape() -> None:
    body = {
        "error": {
            "code": "INVALID_INPUT",
            "message": "limit: must be an integer from 1 to 100",
            "field": "limit",
        }
    }
    script = Script(reply(400, body, **{"X-Request-Id": "req-1"}))
    with pytest.raises(pulse_sdk.BadRequestError) as raised:
        client(script).rooms.list(limit=1000)
    exc = raised.value
    assert isinstance(exc, pulse_sdk.ClientError) and isinstance(exc, pulse_sdk.APIError)
    assert (exc.status, exc.code, exc.field) == (400, "INVALID_INPUT", "limit")
    assert exc.details == {"field": "limit"} and exc.request_id == "req-1"
    assert exc.headers["x-request-id"] == "req-1"


def test_a_gateway_answer_without_the_shape_is_still_an_api_error() -> None:
    script = Script(reply(403, {"message": "Missing Authentication Token"}))
    with pytest.raises(pulse_sdk.PermissionDeniedError) as raised:
        client(script).rooms.get("doc:42")
    assert raised.value.code == "HTTP_403"
    assert raised.value.message == "Missing Authentication Token"


def test_a_500_is_a_server_error_with_its_request_id() -> None:
    body = {"error": {"code": "INTERNAL_ERROR", "message": "oops", "requestId": "req-5"}}
    with pytest.raises(pulse_sdk.ServerError) as raised:
        client(Script(reply(500, body))).rooms.get("doc:42")
    assert raised.value.request_id == "req-5"


def test_ids_go_into_paths_as_the_api_reads_them() -> None:
    script = Script(reply(200, {"userId": "~x", "roomId": "..", "setting": "all"}))
    client(script).notification_settings.get("..", "~x")
    assert script.requests[0].url.raw_path == (
        b"/api/v1/rooms/~Li4/users/~fng/notification-settings"
    )
    client(script).rooms.get("doc:42")
    assert script.requests[1].url.raw_path == b"/api/v1/rooms/doc%3A42"
    client(script).reactions.remove("r", "th_1", "cm_1", "👍", user_id="u 1")
    assert script.requests[2].url.raw_path == (
        b"/api/v1/rooms/r/threads/th_1/comments/cm_1/reactions/%F0%9F%91%8D?userId=u+1"
    )


def test_requests_carry_the_secret_key_and_no_key_on_reads() -> None:
    script = Script(reply(200, ROOM))
    client(script).rooms.get("doc:42")
    request = script.requests[0]
    assert request.headers["Authorization"] == "Bearer sk_test"
    assert "Idempotency-Key" not in request.headers


def test_an_idempotency_key_can_be_given() -> None:
    script = Script(reply(201, ROOM))
    client(script).rooms.create("doc:42", idempotency_key="order-7")
    assert script.requests[0].headers["Idempotency-Key"] == "order-7"


def test_list_all_follows_the_cursor_to_the_last_page() -> None:
    pages = [
        reply(200, {"data": [ROOM | {"id": "a"}, ROOM | {"id": "b"}], "nextCursor": "c1"}),
        reply(200, {"data": [ROOM | {"id": "c"}], "nextCursor": None}),
    ]
    script = Script(*pages)
    assert [r["id"] for r in client(script).rooms.list_all(limit=2)] == ["a", "b", "c"]
    assert [r.url.params.get("cursor") for r in script.requests] == [None, "c1"]
    assert {r.url.params["limit"] for r in script.requests} == {"2"}


# --- the token cache --------------------------------------------------------------------------


def minted(expires: str) -> httpx.Response:
    return reply(200, {"token": f"jwt-{expires}", "expiresAt": expires})


def test_a_token_is_reused_per_parameters_until_shortly_before_it_expires() -> None:
    expires = "2027-01-15T08:00:00.000Z"
    at = datetime(2027, 1, 15, 8, tzinfo=UTC).timestamp()
    script = Script(minted(expires))
    pulse = client(script)
    now = [at - 15 * 60]
    pulse.token_cache.clock = lambda: now[0]
    first = pulse.tokens.mint("u1", name="Ada")
    assert pulse.tokens.mint("u1", name="Ada") == first
    assert len(script.requests) == 1
    pulse.tokens.mint("u1", name="Ada", group_ids=["g"])  # other parameters: another token
    pulse.tokens.mint("u2", name="Ada")
    assert len(script.requests) == 3
    now[0] = at - 61  # still more than the margin (60 s) to live
    pulse.tokens.mint("u1", name="Ada")
    assert len(script.requests) == 3
    now[0] = at - 59
    pulse.tokens.mint("u1", name="Ada")
    assert len(script.requests) == 4
    pulse.tokens.mint("u1", name="Ada", cache=False)
    assert len(script.requests) == 5


def test_the_async_client_retries_and_pages_alike() -> None:
    script = Script(
        error(429, "RATE_LIMITED", **{"Retry-After": "0"}),
        reply(200, {"data": [ROOM], "nextCursor": None}),
    )

    async def run() -> list[str]:
        http = httpx.AsyncClient(transport=httpx.MockTransport(script))
        async with pulse_sdk.AsyncPulse("sk_test", http_client=http) as pulse:
            return [room["id"] async for room in pulse.rooms.list_all()]

    assert asyncio.run(run()) == ["doc:42"]
    assert len(script.requests) == 2


def test_a_key_that_is_not_a_secret_key_is_refused_at_once() -> None:
    with pytest.raises(ValueError, match="sk_"):
        pulse_sdk.Pulse("pk_public")
