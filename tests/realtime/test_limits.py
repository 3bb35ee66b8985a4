"""Abuse limits at the WebSocket API: failed `$connect` attempts per source address and per key id
(chalicelib/services/limits.py), and the size and depth of a client message.

`$connect` events carry API Gateway's `requestContext.identity.sourceIp`; `connect_from` sets it.
The FrozenClock is put 30.25 s into a minute (every failure window's Retry-After is then 30) and
behind the wall clock, since PyJWT checks a token's `iat` against the wall clock."""

from __future__ import annotations

import json
from typing import Any

import boto3
import jwt
import pytest
from integration.conftest import DynamoCalls, without_counters

from chalicelib import runtime
from chalicelib.auth import apikeys
from chalicelib.config import RATE_FIELDS
from chalicelib.realtime.handlers import MAX_FRAME_BYTES
from chalicelib.validation import MAX_JSON_DEPTH

from .conftest import LAMBDA_CONTEXT, Env, Gateway, connection_rows, live_count, mint, ws_event

ROOM = "room-1"
SOURCE = "203.0.113.50"
ELSEWHERE = "198.51.100.7"
OFF = {attribute: 0 for attribute in RATE_FIELDS.values()}


@pytest.fixture
def limited(gw: Gateway) -> Gateway:
    now = gw.clock.now()
    gw.clock.current = int(now) // 60 * 60 - 60 + 30.25  # :30.25 of the minute before
    return gw


def limits(gw: Gateway, **rates: int) -> None:
    """Rebuild the graph with these failure limits and every other limit off."""
    gw.reconfigure(**{**OFF, **rates})


def connect_from(
    gw: Gateway, source: str, api_key: str, token: str, room: str = ROOM
) -> dict[str, Any]:
    """A `$connect` from `source`; the handler's answer."""
    from app import ws_connect

    event = ws_event(
        "$connect", gw.new_id(), query={"apiKey": api_key, "token": token, "room": room}
    )
    event["requestContext"]["identity"]["sourceIp"] = source
    result: dict[str, Any] = ws_connect(event, LAMBDA_CONTEXT)
    return result


def status(result: dict[str, Any], expected: int, code: str | None = None) -> None:
    assert result["statusCode"] == expected, result
    if code is not None:
        assert json.loads(result["body"])["error"]["code"] == code, result


def forged(token: str) -> str:
    """The token's claims and kid, signed with a guess: it fails only its signature check."""
    claims = jwt.decode(token, options={"verify_signature": False})
    kid = jwt.get_unverified_header(token)["kid"]
    return jwt.encode(claims, b"an attacker's guess at the key!!", "HS256", headers={"kid": kid})


def wrong_pk(env: Env) -> str:
    """A well-formed pk_ (valid checksum) of the environment's pk_ key id, with the wrong secret:
    anyone can make one from the public pk_."""
    return apikeys.generate("publishable", env.id, env.pk_id)


def all_items() -> list[str]:
    settings = runtime.services().settings
    client = boto3.client("dynamodb", region_name=settings.region)
    items = []
    for table in (settings.control_table, settings.data_table):
        items += client.scan(TableName=table, ConsistentRead=True)["Items"]
    return sorted(json.dumps(i, sort_keys=True) for i in items)


def counters() -> list[str]:
    return [i for i in all_items() if json.loads(i)["pk"]["S"].startswith("RL#")]


# --- failed connects per source address ----------------------------------------------------------


@pytest.mark.parametrize("bad", ["forged token", "wrong pk_"])
def test_failed_connects_from_one_source_then_refuse_even_good_credentials_with_429(
    limited: Gateway, env: Env, bad: str
) -> None:
    gw = limited
    limits(gw, auth_failures_per_source=3)
    token = mint(env.sk, "ada")
    before = all_items()

    for _ in range(3):
        if bad == "forged token":
            status(connect_from(gw, SOURCE, env.pk, forged(token)), 401, "INVALID_TOKEN")
        else:
            status(connect_from(gw, SOURCE, wrong_pk(env), token), 401, "INVALID_API_KEY")
    refusal = connect_from(gw, SOURCE, env.pk, token)

    status(refusal, 429, "TOO_MANY_FAILURES")
    assert "address" in json.loads(refusal["body"])["error"]["message"]
    # Nothing was written but the failure counters: no connection, no room, no count.
    assert without_counters(all_items()) == without_counters(before)
    assert connection_rows() == [] and live_count(env.id, ROOM) is None
    assert counters()

    status(connect_from(gw, ELSEWHERE, env.pk, token), 200)  # another address connects
    gw.clock.advance(29.75)  # the next minute
    status(connect_from(gw, SOURCE, env.pk, token), 200)


def test_the_failures_of_rest_and_connect_count_together(
    limited: Gateway, env: Env, client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One address, one count: a wrong key on the REST API and a forged token at $connect."""
    gw = limited
    limits(gw, auth_failures_per_source=2)
    token = mint(env.sk, "ada")
    converter = client.http._local_gateway.event_converter
    monkeypatch.setattr(converter, "LOCAL_SOURCE_IP", SOURCE)
    wrong_sk = apikeys.generate("secret", env.id, env.sk_id)
    resp = client.http.request(
        "GET", "/api/v1/rooms", headers={"Authorization": f"Bearer {wrong_sk}"}
    )
    assert resp.status_code == 401
    status(connect_from(gw, SOURCE, env.pk, forged(token)), 401, "INVALID_TOKEN")

    status(connect_from(gw, SOURCE, env.pk, token), 429, "TOO_MANY_FAILURES")


def test_refused_offline_is_not_counted_and_costs_no_dynamodb_call(
    limited: Gateway, env: Env, dynamo_calls: DynamoCalls
) -> None:
    """Malformed keys and tokens, and a token of another environment than the pk_'s, are
    refused before any read: counting them would cost a write where refusing costs nothing."""
    gw = limited
    limits(gw, auth_failures_per_source=1, auth_failures_per_key=1)
    token = mint(env.sk, "ada")
    typo = env.pk[:30] + ("a" if env.pk[30] != "a" else "b") + env.pk[31:]
    other_env = apikeys.generate("publishable", "env_0000000000000000", env.pk_id)

    with dynamo_calls.record() as calls:
        for _ in range(3):
            status(connect_from(gw, SOURCE, "pk_not-a-key", token), 401, "INVALID_API_KEY")
            status(connect_from(gw, SOURCE, typo, token), 401, "INVALID_API_KEY")
            status(connect_from(gw, SOURCE, env.sk, token), 401, "PUBLISHABLE_KEY_REQUIRED")
            status(connect_from(gw, SOURCE, env.pk, "not-a.jwt.at-all"), 401, "INVALID_TOKEN")
            status(connect_from(gw, SOURCE, other_env, token), 401, "INVALID_TOKEN")
            status(connect_from(gw, SOURCE, env.pk, token, room="bad room"), 400)

    assert calls == []
    assert counters() == []
    status(connect_from(gw, SOURCE, env.pk, token), 200)


# --- failed connects per key id ------------------------------------------------------------------


def test_forged_publishable_keys_cannot_lock_the_widget_out(limited: Gateway, env: Env) -> None:
    """The pk_ is public: anyone can forge keys of its key id from many addresses. Past the
    key id's limit those forgeries get 429, and the real pk_ still connects."""
    gw = limited
    limits(gw, auth_failures_per_key=3)
    token = mint(env.sk, "ada")
    for n in range(3):
        status(connect_from(gw, f"192.0.2.{n + 1}", wrong_pk(env), token), 401, "INVALID_API_KEY")

    status(connect_from(gw, "192.0.2.99", wrong_pk(env), token), 429, "TOO_MANY_FAILURES")
    status(connect_from(gw, "192.0.2.99", env.pk, token), 200)
    status(connect_from(gw, "192.0.2.1", env.pk, mint(env.sk, "grace")), 200)


def test_a_forged_token_counts_against_the_source_not_the_key(limited: Gateway, env: Env) -> None:
    """A bad token with a good pk_ is the token's fault: the pk_'s own count does not move."""
    gw = limited
    limits(gw, auth_failures_per_key=1)
    token = mint(env.sk, "ada")
    for n in range(3):
        status(connect_from(gw, f"192.0.2.{n + 1}", env.pk, forged(token)), 401, "INVALID_TOKEN")

    status(connect_from(gw, "192.0.2.1", env.pk, token), 200)
    assert counters() == []


# --- the size and depth of a message -------------------------------------------------------------


def two_in_a_room(gw: Gateway, env: Env) -> tuple[str, str]:
    ada = gw.connect(env, "ada", ROOM)
    gw.join(ada)
    grace = gw.connect(env, "grace", ROOM)
    gw.join(grace)
    gw.fake.clear()
    return ada, grace


def broadcast_of(size: int, request_id: str) -> str:
    """A broadcast message of exactly `size` bytes."""
    empty = json.dumps({"type": "broadcast", "event": "", "requestId": request_id})
    body = json.dumps(
        {"type": "broadcast", "event": "x" * (size - len(empty)), "requestId": request_id}
    )
    assert len(body.encode()) == size
    return body


def test_a_message_over_64_kb_is_refused_with_frame_too_large_before_anything_else(
    gw: Gateway, env: Env, dynamo_calls: DynamoCalls
) -> None:
    ada, grace = two_in_a_room(gw, env)
    over = broadcast_of(MAX_FRAME_BYTES + 1, "r1")
    # Bytes, not characters: 2-byte characters make a message of fewer characters too large.
    wide = json.dumps(
        {"type": "broadcast", "event": "é" * (MAX_FRAME_BYTES // 2)}, ensure_ascii=False
    )
    assert len(wide) < MAX_FRAME_BYTES < len(wide.encode())

    for body in (over, wide):
        with dynamo_calls.record() as calls:
            gw.send_raw(ada, body)
        error = gw.fake.take_one(ada)
        assert error["type"] == "error" and error["code"] == "FRAME_TOO_LARGE", error
        assert "64 KB" in error["message"]
        assert calls == []  # refused before it is parsed, counted or read
        assert gw.fake.take(grace) == []

    gw.send_raw(ada, broadcast_of(MAX_FRAME_BYTES, "r2"))  # exactly at the limit: sent
    assert len(gw.fake.take_one(grace)["event"]) > MAX_FRAME_BYTES - 100
    assert gw.fake.take(ada) == []


def test_a_message_nested_too_deep_is_too_deep_naming_the_field(gw: Gateway, env: Env) -> None:
    ada, grace = two_in_a_room(gw, env)
    deep: Any = 1
    for _ in range(MAX_JSON_DEPTH + 1):
        deep = [deep]

    gw.send(ada, "broadcast", event=deep, requestId="d1")

    error = gw.fake.take_one(ada)
    assert error["code"] == "TOO_DEEP" and error["field"] == "event", error
    assert error["requestId"] == "d1"  # echoed, as by every other refusal
    assert gw.fake.take(grace) == []
    shallow: Any = 1
    for _ in range(MAX_JSON_DEPTH - 2):
        shallow = [shallow]
    gw.send(ada, "broadcast", event=shallow, requestId="d2")
    assert gw.fake.take_one(grace)["event"] == shallow


def expired(token: str) -> str:
    """The token's claims, expired an hour ago, signed with the real key: a genuine stale token,
    as a tab left open overnight holds."""
    from chalicelib.auth.tokens import signing_key

    graph = runtime.services()
    claims = jwt.decode(token, options={"verify_signature": False})
    header = jwt.get_unverified_header(token)
    claims.update(iat=claims["iat"] - 7200, exp=claims["iat"] - 3600)
    key = signing_key(graph.settings.signing_secret, claims["aud"], header["kid"])
    return jwt.encode(claims, key, "HS256", headers={"kid": header["kid"]})


def test_stale_credentials_are_refused_but_never_lock_an_address_out(
    limited: Gateway, env: Env
) -> None:
    """After a rotation or a night's sleep, every widget behind an office's one address sends a
    dead token or key: those are no guesses, so they are refused (401) without being counted."""
    from .conftest import OWNER

    gw = limited
    limits(gw, auth_failures_per_source=2, auth_failures_per_key=2)
    graph = runtime.services()
    old_token = mint(env.sk, "ada")
    spare = graph.environments.create_key(OWNER, env.id, "secret", "spare")
    assert spare.key is not None
    graph.environments.revoke(OWNER, env.id, env.sk_id)  # old_token's key is now revoked

    for _ in range(3):
        status(connect_from(gw, SOURCE, env.pk, old_token), 401, "INVALID_TOKEN")
        status(connect_from(gw, SOURCE, env.pk, expired(mint(spare.key, "ada"))), 401)
    assert counters() == []

    status(connect_from(gw, SOURCE, env.pk, mint(spare.key, "ada")), 200)
