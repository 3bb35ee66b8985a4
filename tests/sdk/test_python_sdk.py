"""The Python SDK against the real local stack (`python -m devstack`, as `make dev` runs it): mint
(and the cache), rooms, threads, comments, pagination, every other operation once, a 429 retried,
errors as exceptions, and a webhook the stack delivered verified; sync and async.

The stack runs with a low per-key REST rate (RATE_PER_KEY a second), so bursts meet real 429s
with `Retry-After`; the SDK's retries carry every test through them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pulse_sdk
import pytest
from e2e.conftest import Stack, stacks
from webhook_listener import Listener, listening

pytestmark = pytest.mark.e2e

RATE_PER_KEY = 8


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("stack")
    with stacks(tmp) as start:
        yield start(tmp / "data", PULSE_EPHEMERAL="1", PULSE_RATE_REST_PER_KEY=str(RATE_PER_KEY))


@pytest.fixture(scope="module")
def admin(stack: Stack) -> str:
    return stack.login()


@dataclass
class Env:
    """An environment made through the Admin API, as the e2e tests do."""

    stack: Stack
    admin: str
    id: str
    secret_key: str

    def register_webhook(self, url: str) -> dict[str, Any]:
        response = self.stack.call(
            "POST", f"/admin/api/environments/{self.id}/webhooks", self.admin, json={"url": url}
        )
        assert response.status_code == 201, response.text
        hook: dict[str, Any] = response.json()
        return hook


@pytest.fixture
def env(stack: Stack, admin: str) -> Env:
    created = stack.create_environment(admin, "SDK")
    (secret,) = [k["key"] for k in created["keys"] if k["kind"] == "secret"]
    return Env(stack, admin, created["environment"]["id"], secret)


@dataclass
class Seen:
    """What went over the wire: (method, path, status) of every answer."""

    answers: list[tuple[str, str, int]] = field(default_factory=list)

    def record(self, response: httpx.Response) -> None:
        request = response.request
        self.answers.append((request.method, request.url.path, response.status_code))

    async def arecord(self, response: httpx.Response) -> None:
        self.record(response)

    def count(self, method: str, path: str, status: int | None = None) -> int:
        return sum(
            1
            for m, p, s in self.answers
            if m == method and p == path and (status is None or s == status)
        )


def sync_client(env: Env, seen: Seen, **options: Any) -> pulse_sdk.Pulse:
    http = httpx.Client(event_hooks={"response": [seen.record]})
    return pulse_sdk.Pulse(env.secret_key, base_url=env.stack.url, http_client=http, **options)


def async_client(env: Env, seen: Seen, **options: Any) -> pulse_sdk.AsyncPulse:
    http = httpx.AsyncClient(event_hooks={"response": [seen.arecord]})
    return pulse_sdk.AsyncPulse(env.secret_key, base_url=env.stack.url, http_client=http, **options)


# --- mint, rooms, threads, comments, pages ------------------------------------------------------


def test_sync_mint_is_cached_per_user_and_parameters(env: Env) -> None:
    seen = Seen()
    pulse = sync_client(env, seen)
    first = pulse.tokens.mint("ada", name="Ada")
    assert first["token"].count(".") == 2 and first["expiresAt"].endswith("Z")
    assert pulse.tokens.mint("ada", name="Ada") == first
    assert seen.count("POST", "/auth/token") == 1
    other = pulse.tokens.mint("ada", name="Ada", group_ids=["eng"])
    assert other["token"] != first["token"]
    assert seen.count("POST", "/auth/token") == 2
    assert pulse.users.get("ada")["name"] == "Ada"  # the mint recorded the user


def test_sync_room_thread_comment_and_pagination(env: Env) -> None:
    seen = Seen()
    with sync_client(env, seen) as pulse:
        room = pulse.rooms.create("doc:42", metadata={"title": "Plan"}, default_access="write")
        assert room["id"] == "doc:42" and room["metadata"] == {"title": "Plan"}
        thread = pulse.threads.create("doc:42", user_id="ada", body="Tuesday?")
        assert thread["comments"][0]["body"] == "Tuesday?" and thread["commentCount"] == 1
        comment = pulse.comments.create("doc:42", thread["id"], user_id="bob", body="Yes")
        assert comment["threadId"] == thread["id"] and comment["userId"] == "bob"
        more = [
            pulse.threads.create("doc:42", user_id="ada", body=f"thread {n}")["id"]
            for n in range(4)
        ]
        page = pulse.threads.list("doc:42", limit=2)
        assert len(page["data"]) == 2 and page["nextCursor"]
        before = seen.count("GET", "/api/v1/rooms/doc:42/threads")
        listed = [t["id"] for t in pulse.threads.list_all("doc:42", limit=2)]
        assert listed == [*reversed(more), thread["id"]]  # newest first, every page
        assert seen.count("GET", "/api/v1/rooms/doc:42/threads", 200) - before == 3
        bodies = [c["body"] for c in pulse.comments.list_all("doc:42", thread["id"], limit=1)]
        assert bodies == ["Tuesday?", "Yes"]
        for n in range(3):
            pulse.rooms.create(f"room-{n}")
        assert len(list(pulse.rooms.list_all(limit=2))) == 4


def test_async_mint_room_thread_comment_and_pagination(env: Env) -> None:
    seen = Seen()

    async def scenario() -> None:
        async with async_client(env, seen) as pulse:
            token = await pulse.tokens.mint("ada", name="Ada")
            assert await pulse.tokens.mint("ada", name="Ada") == token
            assert seen.count("POST", "/auth/token") == 1
            await pulse.rooms.create("doc:7")
            thread = await pulse.threads.create("doc:7", user_id="ada", body="first")
            await pulse.comments.create("doc:7", thread["id"], user_id="bob", body="second")
            for n in range(4):
                await pulse.threads.create("doc:7", user_id="ada", body=f"t{n}")
            ids = [t["id"] async for t in pulse.threads.list_all("doc:7", limit=2)]
            assert len(ids) == len(set(ids)) == 5 and ids[-1] == thread["id"]
            assert seen.count("GET", "/api/v1/rooms/doc:7/threads", 200) == 3
            got = await pulse.threads.get("doc:7", thread["id"])
            assert [c["body"] for c in got["comments"]] == ["first", "second"]

    asyncio.run(scenario())


def test_every_other_operation_against_the_stack(env: Env) -> None:
    seen, R = Seen(), "ops:1"
    with sync_client(env, seen) as pulse:
        pulse.tokens.mint("ada", name="Ada")
        pulse.tokens.mint("bob", name="Bob")
        room = pulse.rooms.create(R, users_access={"ada": "write"})
        assert room["id"] == R
        assert pulse.rooms.get(R)["usersAccess"] == {"ada": "write"}
        updated = pulse.rooms.update(R, users_access={"ada": None}, metadata={"v": 2})
        assert updated["usersAccess"] == {} and updated["metadata"] == {"v": 2}
        thread = pulse.threads.create(R, user_id="ada", body="hi <@bob>", metadata={"x": 1})
        t, c = thread["id"], thread["comments"][0]["id"]
        assert pulse.threads.update(R, t, resolved=True)["resolved"] is True
        assert pulse.threads.list(R, resolved=True)["data"][0]["id"] == t
        assert pulse.comments.update(R, t, c, body="edited")["editedAt"]
        reacted = pulse.reactions.add(R, t, c, emoji="👍", user_id="bob")
        assert reacted["reactions"] == [{"emoji": "👍", "count": 1, "userIds": ["bob"]}]
        assert pulse.reactions.remove(R, t, c, "👍", user_id="bob")["reactions"] == []
        created = pulse.attachments.create(R, name="a.txt", mime_type="text/plain", size=3)
        assert created["attachment"]["id"].startswith("att_") and created["upload"]["url"]
        events = list(pulse.events.list_all(R, limit=2))
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
        assert next(e["seq"] for e in pulse.events.list_all(R, since=2)) == 3
        assert pulse.threads.subscribe(R, t, user_id="bob")["subscribed"] is True
        assert pulse.threads.unsubscribe(R, t, user_id="bob")["subscribed"] is False
        settings = pulse.notification_settings.set(R, "bob", setting="mentions")
        assert settings == {"userId": "bob", "roomId": R, "setting": "mentions"}
        assert pulse.notification_settings.get(R, "bob")["setting"] == "mentions"
        pulse.comments.create(R, t, user_id="ada", body="ping <@bob>")
        assert pulse.inbox.count("bob")["count"] >= 0
        entries = list(pulse.inbox.list_all("bob"))
        assert all(e["roomId"] == R for e in entries)
        assert pulse.inbox.mark_read("bob", t)["unreadCount"] == 0
        assert "ada" in [u["id"] for u in pulse.users.list_all(q="ad")]
        assert pulse.users.list(limit=1)["data"]
        assert pulse.broadcast.send(R, {"kind": "ping"}) == {"status": "accepted"}
        assert pulse.active_users.list(R) == {"data": [], "nextCursor": None}
        assert list(pulse.active_users.list_all(R)) == []
        assert pulse.users.revoke_tokens("ada")["closedConnections"] == 0
        assert pulse.openapi.get()["openapi"].startswith("3.1")
        pulse.comments.delete(R, t, c)
        pulse.threads.delete(R, t)
        with pytest.raises(pulse_sdk.NotFoundError):
            pulse.threads.get(R, t)
        pulse.rooms.delete(R)
    # The SDK's own answer check: no operation answered outside its success statuses.
    assert {s for _, _, s in seen.answers} <= {200, 201, 202, 204, 404, 429}


def test_an_idempotency_key_replays_the_first_answer(env: Env) -> None:
    with sync_client(env, Seen()) as pulse:
        first = pulse.rooms.create("once", idempotency_key="create-once-1")
        again = pulse.rooms.create("once", idempotency_key="create-once-1")
        assert again == first  # not ROOM_EXISTS: the server answered from its record
        with pytest.raises(pulse_sdk.ConflictError) as raised:
            pulse.rooms.create("once")  # a fresh key: a second create
        assert raised.value.code == "ROOM_EXISTS"


def test_an_attachment_uploads_to_storage_and_downloads_from_its_comment(env: Env) -> None:
    content = b"pulse sdk attachment"
    with sync_client(env, Seen()) as pulse:
        pulse.rooms.create("files")
        attachment = pulse.attachments.upload(
            "files", content, name="notes.txt", mime_type="text/plain"
        )
        thread = pulse.threads.create(
            "files", user_id="ada", body="see file", attachment_ids=[attachment["id"]]
        )
    (attached,) = thread["comments"][0]["attachments"]
    assert attached["id"] == attachment["id"] and attached["size"] == len(content)
    assert attached["url"] and httpx.get(attached["url"], timeout=10).content == content


def test_an_upload_storage_refuses_is_an_upload_error(env: Env) -> None:
    async def scenario() -> None:
        async with async_client(env, Seen()) as pulse:
            await pulse.rooms.create("files-async")
            created = await pulse.attachments.create(
                "files-async", name="a.txt", mime_type="text/plain", size=3
            )
            form = {"data": created["upload"]["fields"], "files": {"file": ("a.txt", b"toolong")}}
            await pulse.attachments._client.upload(created["upload"]["url"], form)

    with pytest.raises(pulse_sdk.errors.UploadError) as raised:
        asyncio.run(scenario())
    assert raised.value.status == 400 and "EntityTooLarge" in raised.value.body


def test_an_upload_never_carries_the_secret_key(env: Env, listener: Listener) -> None:
    with sync_client(env, Seen()) as pulse:
        pulse.attachments._client.upload(
            listener.url + "/storage", {"data": {"key": "k"}, "files": {"file": ("f", b"x")}}
        )
    (received,) = listener.wait_for("/storage", 1)
    assert "authorization" not in received.headers
    assert env.secret_key.encode() not in received.body


# --- 429 and errors ---------------------------------------------------------------------------


def burst_until_throttled(call: Any, seen: Seen, path: str, most: int = 60) -> int:
    """Calls `call` until a 429 went over the wire (bounded); returns the calls made."""
    for made in range(1, most + 1):
        call()
        if seen.count("GET", path, 429):
            return made
    raise AssertionError(f"no 429 in {most} calls at {RATE_PER_KEY}/s")


def test_sync_a_429_is_retried_and_succeeds(env: Env) -> None:
    seen = Seen()
    with sync_client(env, seen) as pulse:
        pulse.rooms.create("busy")
        results: list[str] = []
        burst_until_throttled(
            lambda: results.append(pulse.rooms.get("busy")["id"]), seen, "/api/v1/rooms/busy"
        )
    # Every call answered the room: the 429 was retried (after its Retry-After) and succeeded.
    assert set(results) == {"busy"}
    statuses = [s for m, p, s in seen.answers if p == "/api/v1/rooms/busy" and m == "GET"]
    throttled = statuses.index(429)
    assert 200 in statuses[throttled:]
    assert len(statuses) == len(results) + statuses.count(429)


def test_a_429_past_the_retries_is_a_rate_limit_error(env: Env) -> None:
    seen = Seen()
    with sync_client(env, seen, max_retries=0) as pulse:
        pulse.rooms.create("hot")
        with pytest.raises(pulse_sdk.RateLimitError) as raised:
            for _ in range(60):
                pulse.rooms.get("hot")
    error = raised.value
    assert error.status == 429 and error.code == "RATE_LIMITED"
    assert error.retry_after is not None and error.retry_after >= 1
    assert error.request_id and "limit" in error.message


def test_async_a_429_is_retried_and_succeeds(env: Env) -> None:
    seen = Seen()

    async def scenario() -> list[str]:
        async with async_client(env, seen) as pulse:
            await pulse.rooms.create("busy-async")
            results = []
            for _ in range(60):
                results.append((await pulse.rooms.get("busy-async"))["id"])
                if seen.count("GET", "/api/v1/rooms/busy-async", 429):
                    break
            return results

    results = asyncio.run(scenario())
    assert set(results) == {"busy-async"}
    assert seen.count("GET", "/api/v1/rooms/busy-async", 429) >= 1


def test_errors_are_exceptions_with_the_error_shape(env: Env) -> None:
    with sync_client(env, Seen()) as pulse:
        with pytest.raises(pulse_sdk.NotFoundError) as raised:
            pulse.rooms.get("nowhere")
        error = raised.value
        assert (error.status, error.code) == (404, "ROOM_NOT_FOUND")
        assert error.message and error.request_id == error.headers["x-request-id"]
        assert isinstance(error, pulse_sdk.ClientError)
        with pytest.raises(pulse_sdk.BadRequestError) as bad:
            pulse.rooms.list(limit=1000)
        assert bad.value.code == "INVALID_INPUT" and bad.value.field == "limit"
    wrong = pulse_sdk.Pulse("sk_" + "x" * 40, base_url=env.stack.url)
    with pytest.raises(pulse_sdk.AuthenticationError) as unauthenticated:
        wrong.rooms.list()
    assert unauthenticated.value.status == 401
    wrong.close()


def test_async_errors_are_exceptions_with_the_error_shape(env: Env) -> None:
    async def scenario() -> pulse_sdk.NotFoundError:
        async with async_client(env, Seen()) as pulse:
            await pulse.rooms.create("here")
            try:
                await pulse.threads.get("here", "th_0000000000000000")
            except pulse_sdk.NotFoundError as exc:
                return exc
        raise AssertionError("no error")

    error = asyncio.run(scenario())
    assert (error.status, error.code) == (404, "THREAD_NOT_FOUND")


# --- webhooks ----------------------------------------------------------------------------------


@pytest.fixture
def listener() -> Iterator[Listener]:
    with listening() as server:
        yield server


def test_a_webhook_the_stack_delivered_verifies_and_a_tampered_one_is_refused(
    env: Env, listener: Listener
) -> None:
    hook = env.register_webhook(listener.url + "/pulse")
    with sync_client(env, Seen()) as pulse:
        pulse.rooms.create("hooked")
        thread = pulse.threads.create("hooked", user_id="ada", body="signed")
    (received, *_) = listener.wait_for("/pulse", 1)
    verifier = pulse_sdk.Webhook(hook["secret"])
    event = verifier.verify(received.body, received.headers)
    assert event["type"] == "thread.created" and event["data"]["id"] == thread["id"]
    tampered = received.body.replace(b"signed", b"forged")
    with pytest.raises(pulse_sdk.WebhookVerificationError, match="no signature matches"):
        verifier.verify(tampered, received.headers)
    resent = dict(received.headers, **{"webhook-timestamp": "1000000000"})
    with pytest.raises(pulse_sdk.WebhookVerificationError, match="too old"):
        verifier.verify(received.body, resent)
    assert json.loads(received.body)["data"]["roomId"] == "hooked"


def test_the_quick_start_in_the_readme_runs(env: Env, tmp_path: Path) -> None:
    """The README's quick start, pasted as a new user would, against the stack."""
    readme = (Path(__file__).resolve().parents[2] / "sdk" / "python" / "README.md").read_text()
    code = readme.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {}
    hook = env.register_webhook("http://127.0.0.1:9/unused")
    environ = {
        "PULSE_SECRET_KEY": env.secret_key,
        "PULSE_URL": env.stack.url,
        "PULSE_WEBHOOK_SECRET": hook["secret"],
    }
    with pytest.MonkeyPatch.context() as patch:
        for name, value in environ.items():
            patch.setenv(name, value)
        exec(compile(code, "README.md", "exec"), namespace)
    assert namespace["thread"]["comments"][0]["body"]
