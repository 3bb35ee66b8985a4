"""Suspending an environment (`POST /admin/api/environments/{envId}/suspend` and `.../resume`):
while suspended, token minting and every REST API v1 route answer 403 ENVIRONMENT_SUSPENDED to a
caller whose key is good (a bad key still gets its 401: suspension is never told to it), and
nothing is written; resuming makes the same keys work again. Admin-only, audited, 409 when it is
already in that state or disabled. The WebSocket side is in tests/realtime/test_suspension.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from security.conftest import table_items

from chalicelib import ids, runtime
from chalicelib.auth import apikeys
from chalicelib.clock import FrozenClock, iso

from .helpers import (
    API,
    Login,
    call,
    create_environment,
    each,
    enc,
    error,
    list_all,
    make_comment,
    make_room,
    make_thread,
    mint,
    ok,
    publishable_of,
    secret_of,
    v1,
)

ENVS = f"{API}/environments"
UNKNOWN_ENV = "env_0000000000000000"


def suspend(client: Any, token: str, env_id: str, body: Any = None) -> Any:
    return call(client, "POST", f"{ENVS}/{env_id}/suspend", token=token, body=body)


def resume(client: Any, token: str, env_id: str, body: Any = None) -> Any:
    return call(client, "POST", f"{ENVS}/{env_id}/resume", token=token, body=body)


def get_env(client: Any, token: str, env_id: str) -> dict[str, Any]:
    return ok(call(client, "GET", f"{ENVS}/{env_id}", token=token))  # type: ignore[no-any-return]


def audit(client: Any, token: str, env_id: str) -> list[dict[str, Any]]:
    return list_all(client, token, f"{ENVS}/{env_id}/audit")


class World:
    """An environment made by the admin with a room, a thread and a comment in it."""

    def __init__(self, client: Any, admin: Login) -> None:
        created = create_environment(client, admin.token, "Production")
        self.env_id: str = created["environment"]["id"]
        self.sk = secret_of(created)
        self.pk = publishable_of(created)
        self.sk_id = next(k["id"] for k in created["keys"] if k["kind"] == "secret")
        make_room(client, self.sk, "room-1")
        self.thread = make_thread(client, self.sk, "room-1")["id"]
        self.comment = make_comment(client, self.sk, "room-1", self.thread)["id"]


@pytest.fixture
def world(client: Any, admin: Login) -> World:
    return World(client, admin)


def v1_requests(w: World) -> list[tuple[str, str, Any]]:
    """Every REST API v1 route, on ids that exist (and some that do not)."""
    room = "/rooms/room-1"
    thread = f"{room}/threads/{w.thread}"
    comment = f"{thread}/comments/{w.comment}"
    return [
        ("GET", "/rooms", None),
        ("POST", "/rooms", {"id": "room-2"}),
        ("GET", room, None),
        ("PATCH", room, {"metadata": {"a": "b"}}),
        ("DELETE", room, None),
        ("GET", f"{room}/active_users", None),
        ("POST", f"{room}/broadcast", {"event": {"x": 1}}),
        ("GET", f"{room}/threads", None),
        ("POST", f"{room}/threads", {"comment": {"userId": "user-1", "body": "Hi"}}),
        ("GET", thread, None),
        ("PATCH", thread, {"resolved": True}),
        ("DELETE", thread, None),
        ("GET", f"{thread}/comments", None),
        ("POST", f"{thread}/comments", {"userId": "user-1", "body": "Hi"}),
        ("PATCH", comment, {"body": "Edited"}),
        ("DELETE", comment, None),
        ("GET", "/users", None),
        ("GET", "/users/user-1", None),
        # ids that name nothing: still the suspension, not a 404
        ("GET", "/rooms/no-such-room", None),
        ("GET", f"/rooms/{enc('bad id!')}", None),
        ("GET", "/users/nobody", None),
    ]


# --- suspend and resume --------------------------------------------------------------------------


def test_suspend_answers_the_environment_with_suspended_at(
    client: Any, admin: Login, world: World, clock: FrozenClock
) -> None:
    clock.advance(60)

    body = ok(suspend(client, admin.token, world.env_id))

    now = iso(clock.now())
    assert body["id"] == world.env_id
    assert body["status"] == "active"
    assert body["suspendedAt"] == body["updatedAt"] == now
    assert get_env(client, admin.token, world.env_id) == body
    listed = list_all(client, admin.token, ENVS)
    assert [e for e in listed if e["id"] == world.env_id] == [body]


def test_resume_clears_suspended_at(
    client: Any, admin: Login, world: World, clock: FrozenClock
) -> None:
    suspend(client, admin.token, world.env_id)
    clock.advance(60)

    body = ok(resume(client, admin.token, world.env_id))

    assert body["suspendedAt"] is None
    assert body["updatedAt"] == iso(clock.now())
    assert get_env(client, admin.token, world.env_id) == body


def test_a_new_environment_is_not_suspended(client: Any, admin: Login) -> None:
    created = create_environment(client, admin.token)

    assert created["environment"]["suspendedAt"] is None


def test_an_empty_body_or_an_empty_object_is_accepted_and_anything_else_is_400(
    client: Any, admin: Login, world: World
) -> None:
    ok(suspend(client, admin.token, world.env_id, body={}))
    ok(resume(client, admin.token, world.env_id))

    err = error(suspend(client, admin.token, world.env_id, body={"reason": "x"}), 400)
    assert err["code"] == "UNKNOWN_FIELD"
    error(call(client, "POST", f"{ENVS}/{world.env_id}/suspend", token=admin.token, raw="[1]"), 400)
    assert get_env(client, admin.token, world.env_id)["suspendedAt"] is None


# --- while suspended: every request of the environment is refused --------------------------------


def test_while_suspended_minting_is_403_environment_suspended(
    client: Any, admin: Login, world: World
) -> None:
    ok(suspend(client, admin.token, world.env_id))

    err = error(mint(client, world.sk), 403, "ENVIRONMENT_SUSPENDED")
    assert "suspended" in err["message"]
    assert "resume" in err["suggestion"]


def test_while_suspended_every_v1_route_is_403_and_nothing_changes(
    client: Any, admin: Login, world: World
) -> None:
    ok(suspend(client, admin.token, world.env_id))
    before = table_items()

    def check(case: tuple[str, str, Any]) -> None:
        method, path, body = case
        error(v1(client, method, path, world.sk, body), 403, "ENVIRONMENT_SUSPENDED")

    each(v1_requests(world), check)
    error(mint(client, world.sk, "someone-new"), 403, "ENVIRONMENT_SUSPENDED")
    # No data, no user, no key use, no rate or failure counter: nothing at all.
    assert table_items() == before


def test_while_suspended_a_bad_key_is_still_told_only_that_its_key_is_bad(
    client: Any, admin: Login, world: World
) -> None:
    """Suspension is news only to a caller that holds a good key of the environment."""
    extra = call(
        client, "POST", f"{ENVS}/{world.env_id}/keys", token=admin.token, body={"kind": "secret"}
    ).json_body
    ok(call(client, "POST", f"{ENVS}/{world.env_id}/keys/{extra['id']}/revoke", token=admin.token))
    ok(suspend(client, admin.token, world.env_id))
    unknown = apikeys.generate("secret", world.env_id, ids.new_id("key"))
    wrong_secret = apikeys.generate("secret", world.env_id, world.sk_id)  # the right key id

    def check(case: tuple[str, str, int, str]) -> None:
        _, key, status, code = case
        error(mint(client, key), status, code)
        error(v1(client, "GET", "/rooms", key), status, code)

    each(
        [
            ("unknown key id", unknown, 401, "INVALID_API_KEY"),
            ("right id, wrong secret", wrong_secret, 401, "INVALID_API_KEY"),
            ("revoked key", extra["key"], 401, "INVALID_API_KEY"),
            ("typo", world.sk[:-1] + ("a" if world.sk[-1] != "a" else "b"), 401, "INVALID_API_KEY"),
            ("publishable key", world.pk, 401, "SECRET_KEY_REQUIRED"),
            ("good key", world.sk, 403, "ENVIRONMENT_SUSPENDED"),
        ],
        check,
    )


def test_while_suspended_other_environments_keep_working(
    client: Any, admin: Login, world: World
) -> None:
    other = create_environment(client, admin.token, "Staging")

    ok(suspend(client, admin.token, world.env_id))

    ok(mint(client, secret_of(other)))
    ok(v1(client, "GET", "/rooms", secret_of(other)))
    ok(suspend(client, admin.token, other["environment"]["id"]))
    error(mint(client, secret_of(other)), 403, "ENVIRONMENT_SUSPENDED")


def test_operators_still_read_and_manage_a_suspended_environment(
    client: Any, admin: Login, world: World
) -> None:
    """Suspension stops the environment's customers, not its operators: they browse its data,
    rename it and change its keys (a leaked key is rotated while nothing can use it)."""
    ok(suspend(client, admin.token, world.env_id))
    base = f"{ENVS}/{world.env_id}"

    for suffix in ("/keys", "/audit", "/analytics", "/rooms", "/users", "/rooms/room-1/threads"):
        ok(call(client, "GET", base + suffix, token=admin.token))
    ok(call(client, "PATCH", base, token=admin.token, body={"name": "Renamed"}))
    rotated = call(client, "POST", f"{base}/keys/rotate", token=admin.token).json_body
    new_sk = secret_of(rotated)
    error(mint(client, world.sk), 401, "INVALID_API_KEY")  # rotated out
    error(mint(client, new_sk), 403, "ENVIRONMENT_SUSPENDED")  # the new one waits for resume
    assert get_env(client, admin.token, world.env_id)["suspendedAt"] is not None

    ok(resume(client, admin.token, world.env_id))
    ok(mint(client, new_sk))


# --- after resume: the same keys work again ------------------------------------------------------


def test_after_resume_the_same_keys_work_again(client: Any, admin: Login, world: World) -> None:
    ok(suspend(client, admin.token, world.env_id))
    error(mint(client, world.sk), 403, "ENVIRONMENT_SUSPENDED")

    ok(resume(client, admin.token, world.env_id))

    assert ok(mint(client, world.sk))["token"]
    assert [r["id"] for r in ok(v1(client, "GET", "/rooms", world.sk))["data"]] == ["room-1"]
    ok(v1(client, "POST", "/rooms", world.sk, {"id": "room-2"}), 201)
    thread = f"/rooms/room-1/threads/{world.thread}"
    ok(v1(client, "POST", f"{thread}/comments", world.sk, {"userId": "u", "body": "Back"}), 201)
    keys = list_all(client, admin.token, f"{ENVS}/{world.env_id}/keys")
    assert {k["status"] for k in keys} == {"active"}  # suspension never touched a key


def test_a_post_refused_while_suspended_runs_when_retried_after_resume(
    client: Any, admin: Login, world: World
) -> None:
    """The refusal is not kept as the Idempotency-Key's answer: the retry after resume runs."""
    headers = {"Idempotency-Key": "create-room-7"}
    body = {"id": "room-7"}
    ok(suspend(client, admin.token, world.env_id))

    refused = call(client, "POST", "/api/v1/rooms", token=world.sk, body=body, headers=headers)
    error(refused, 403, "ENVIRONMENT_SUSPENDED")
    ok(resume(client, admin.token, world.env_id))

    created = call(client, "POST", "/api/v1/rooms", token=world.sk, body=body, headers=headers)
    assert ok(created, 201)["id"] == "room-7"


# --- refusals ------------------------------------------------------------------------------------


def test_suspending_twice_is_409_and_changes_nothing(
    client: Any, admin: Login, world: World, clock: FrozenClock
) -> None:
    first = ok(suspend(client, admin.token, world.env_id))
    clock.advance(60)

    error(suspend(client, admin.token, world.env_id), 409, "ENVIRONMENT_ALREADY_SUSPENDED")

    assert get_env(client, admin.token, world.env_id) == first
    assert [e["action"] for e in audit(client, admin.token, world.env_id)].count(
        "environment.suspended"
    ) == 1


def test_resuming_an_environment_that_is_not_suspended_is_409(
    client: Any, admin: Login, world: World
) -> None:
    before = get_env(client, admin.token, world.env_id)

    error(resume(client, admin.token, world.env_id), 409, "ENVIRONMENT_NOT_SUSPENDED")
    ok(suspend(client, admin.token, world.env_id))
    ok(resume(client, admin.token, world.env_id))
    error(resume(client, admin.token, world.env_id), 409, "ENVIRONMENT_NOT_SUSPENDED")

    assert get_env(client, admin.token, world.env_id)["suspendedAt"] is None
    actions = [e["action"] for e in audit(client, admin.token, world.env_id)]
    assert actions.count("environment.resumed") == 1
    assert before["suspendedAt"] is None


def test_a_disabled_environment_is_neither_suspended_nor_resumed(client: Any, admin: Login) -> None:
    plain = create_environment(client, admin.token, "Plain")["environment"]["id"]
    held = create_environment(client, admin.token, "Held")["environment"]["id"]
    ok(suspend(client, admin.token, held))
    for env_id in (plain, held):  # a suspended environment can still be disabled
        named = {"confirmName": get_env(client, admin.token, env_id)["name"]}
        assert (
            call(client, "DELETE", f"{ENVS}/{env_id}", token=admin.token, body=named).status_code
            == 204
        )

    def check(case: tuple[str, Callable[..., Any]]) -> None:
        env_id, action = case
        before = get_env(client, admin.token, env_id)
        error(action(client, admin.token, env_id), 409, "ENVIRONMENT_DISABLED")
        assert get_env(client, admin.token, env_id) == before

    each([(e, a) for e in (plain, held) for a in (suspend, resume)], check)


def test_an_unknown_or_malformed_environment_is_404(client: Any, admin: Login) -> None:
    def check(case: tuple[str, Callable[..., Any]]) -> None:
        env_id, action = case
        error(action(client, admin.token, env_id), 404, "ENVIRONMENT_NOT_FOUND")

    env_ids = [UNKNOWN_ENV, "nope", "env_", "key_0000000000000000"]
    each([(e, a) for e in env_ids for a in (suspend, resume)], check)


def test_a_viewer_can_neither_suspend_nor_resume(
    client: Any, admin: Login, viewer: Login, world: World
) -> None:
    error(suspend(client, viewer.token, world.env_id), 403, "ROLE_REQUIRED")
    ok(suspend(client, admin.token, world.env_id))
    error(resume(client, viewer.token, world.env_id), 403, "ROLE_REQUIRED")

    assert get_env(client, viewer.token, world.env_id)["suspendedAt"] is not None
    error(mint(client, world.sk), 403, "ENVIRONMENT_SUSPENDED")
    newest = audit(client, admin.token, world.env_id)[0]
    assert newest["action"] == "environment.suspended"


def test_without_a_session_it_is_401(client: Any, world: World) -> None:
    for action in (suspend, resume):
        error(action(client, None, world.env_id), 401, "INVALID_SESSION")  # type: ignore[arg-type]


def test_a_suspend_that_loses_a_race_is_409_and_writes_nothing(
    client: Any,
    admin: Login,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    services: runtime.Services,
) -> None:
    """Two suspends read the environment before either commits: the transaction's condition
    lets exactly one through; the other is told what the environment is now."""
    store = services.environments.repo
    stale = store.get(world.env_id)
    ok(suspend(client, admin.token, world.env_id))
    real_get = store.get
    reads = iter([stale])  # the first read is the stale one; the one after the refusal is not

    def get(env_id: str) -> Any:
        return next(reads, None) or real_get(env_id)

    monkeypatch.setattr(store, "get", get)

    error(suspend(client, admin.token, world.env_id), 409, "ENVIRONMENT_ALREADY_SUSPENDED")

    actions = [e["action"] for e in audit(client, admin.token, world.env_id)]
    assert actions.count("environment.suspended") == 1


# --- audit ---------------------------------------------------------------------------------------


def test_suspend_and_resume_are_audited_with_their_operator(
    client: Any, owner: Login, admin: Login, world: World, clock: FrozenClock
) -> None:
    clock.advance(1)
    ok(suspend(client, admin.token, world.env_id))
    suspended_at = iso(clock.now())
    clock.advance(1)
    ok(resume(client, owner.token, world.env_id))

    events = audit(client, owner.token, world.env_id)

    assert [e["action"] for e in events[:2]] == ["environment.resumed", "environment.suspended"]
    resumed, suspended = events[:2]
    assert resumed["actor"] == {"id": owner.id, "email": owner.email}
    assert suspended["actor"] == {"id": admin.id, "email": admin.email}
    assert suspended["createdAt"] == suspended_at
    assert resumed["createdAt"] == iso(clock.now())
    for event in (resumed, suspended):
        assert event["target"] == {"type": "environment", "id": world.env_id}
        assert event["environmentId"] == world.env_id
