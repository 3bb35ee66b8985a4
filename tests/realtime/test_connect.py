"""$connect: who gets in (an active pk_, a token that verifies in the pk_'s environment and whose
minting sk_ is still active, a valid room), what is stored, the room cap, and that a refusal
writes nothing at all."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import jwt
import pytest
from integration.conftest import without_counters

from chalicelib import ids, runtime
from chalicelib.auth import apikeys
from chalicelib.auth import tokens as jwt_tokens
from chalicelib.realtime import handlers
from chalicelib.services.realtime import CONNECTION_TTL_SECONDS

from .conftest import (
    OWNER,
    Env,
    FakeApi,
    Gateway,
    active_user_ids,
    connection_rows,
    delete_rows,
    live_count,
    mint,
    new_env,
    rest,
    rest_ok,
    room_item,
    rooms_total,
    set_expiry,
)

ROOM = "room-1"


def all_items() -> list[Any]:
    """Every item of both tables, sorted (to prove that nothing at all was written)."""
    settings = runtime.services().settings
    client = boto3.client("dynamodb", region_name=settings.region)
    items = []
    for table in (settings.control_table, settings.data_table):
        items += client.scan(TableName=table, ConsistentRead=True)["Items"]
    return sorted(json.dumps(i, sort_keys=True) for i in items)


# --- accepted ------------------------------------------------------------------------------------


def test_connect_creates_the_room_once_and_stores_the_connection(
    gw: Gateway, env: Env, client: Any
) -> None:
    assert rooms_total(env.id) == 0
    assert room_item(env.id, ROOM) is None
    now = gw.clock.now()

    ids_ = [gw.connect(env, user, ROOM) for user in ("ada", "grace", "linus", "ada")]

    assert rooms_total(env.id) == 1  # created by the first connect only
    room = room_item(env.id, ROOM)
    assert room is not None and room["id"]["S"] == ROOM
    assert live_count(env.id, ROOM) == 4
    assert active_user_ids(client, env, ROOM) == sorted(ids_)
    # Three rows each: by id, in the room, in the environment.
    for cid in ids_:
        assert connection_rows(cid) == sorted(
            [
                (f"CONN#{cid}", "CONN"),
                (f"ENV#{env.id}#CONNS", f"CONN#{cid}"),
                (f"ENV#{env.id}#ROOM#{ROOM}", f"CONN#{cid}"),
            ]
        )
    # Another room is another room.
    gw.connect(env, "ada", "room-2")
    assert rooms_total(env.id) == 2
    assert live_count(env.id, ROOM) == 4 and live_count(env.id, "room-2") == 1

    # What a row holds: who, where to reach them, which keys let them in, when it expires.
    settings = runtime.services().settings
    item = boto3.client("dynamodb").get_item(
        TableName=settings.data_table, Key={"pk": {"S": f"CONN#{ids_[1]}"}, "sk": {"S": "CONN"}}
    )["Item"]
    assert item["env_id"]["S"] == env.id and item["room_id"]["S"] == ROOM
    assert item["user_id"]["S"] == "grace" and item["name"]["S"] == "Grace"
    assert item["domain_name"]["S"] == "abc123.execute-api.us-east-1.amazonaws.com"
    assert item["stage"]["S"] == "api"
    assert item["publishable_key_id"]["S"] == env.pk_id
    assert item["secret_key_id"]["S"] == env.sk_id
    expires = float(item["expires_at"]["N"])
    assert expires == pytest.approx(now + 2 * 3600 + 300)
    assert CONNECTION_TTL_SECONDS > 2 * 3600  # just past API Gateway's 2-hour cap
    assert int(item["ttl"]["N"]) == int(expires)


def test_connect_to_a_room_created_over_rest_keeps_it(gw: Gateway, env: Env, client: Any) -> None:
    body = {"id": ROOM, "metadata": {"title": "Budget"}}
    rest_ok(rest(client, "POST", "/api/v1/rooms", env.sk, body), 201)
    assert rooms_total(env.id) == 1

    gw.connect(env, "ada", ROOM)
    gw.connect(env, "grace", ROOM)

    assert rooms_total(env.id) == 1
    assert live_count(env.id, ROOM) == 2
    room = rest_ok(rest(client, "GET", f"/api/v1/rooms/{ROOM}", env.sk))
    assert room["metadata"] == {"title": "Budget"}


def test_connection_ids_and_query_come_from_the_event(gw: Gateway, env: Env, client: Any) -> None:
    """A connection id with API Gateway's '=' and a custom domain/stage are stored as given."""
    cid = gw.connect(
        env, "ada", "doc:42_v1.0-a", connection_id="L0SM9cOFvHcCIhw=", domain="rt.example.com"
    )
    assert cid == "L0SM9cOFvHcCIhw="
    assert active_user_ids(client, env, "doc:42_v1.0-a") == [cid]


# --- refused: 401/400, and nothing written -----------------------------------------------------

Query = Callable[[str], dict[str, str]]


def _forged_signature(token: str) -> str:
    header, payload, signature = token.split(".")
    middle = len(signature) // 2
    swapped = "A" if signature[middle] != "A" else "B"
    return f"{header}.{payload}.{signature[:middle]}{swapped}{signature[middle + 1 :]}"


def _forged_claims(token: str) -> str:
    """The original signature over a payload whose `sub` was changed."""
    header, _, signature = token.split(".")
    claims = jwt.decode(token, options={"verify_signature": False})
    claims["sub"] = "mallory"
    other = jwt.encode(
        claims, "x" * 32, "HS256", headers={"kid": jwt.get_unverified_header(token)["kid"]}
    )
    return f"{header}.{other.split('.')[1]}.{signature}"


def _resigned(token: str, key: bytes) -> str:
    claims = jwt.decode(token, options={"verify_signature": False})
    kid = jwt.get_unverified_header(token)["kid"]
    return jwt.encode(claims, key, "HS256", headers={"kid": kid})


def _alg_none(token: str) -> str:
    claims = jwt.decode(token, options={"verify_signature": False})
    kid = jwt.get_unverified_header(token)["kid"]
    return jwt.encode(claims, None, "none", headers={"kid": kid})


def _prepare(case: str, gw: Gateway, env: Env) -> Query:
    """Bring the world into the case's state; return a builder of the connect query."""
    graph = runtime.services()
    token = mint(env.sk, "eve")

    def q(api_key: str | None = env.pk, tok: str | None = token) -> Query:
        def build(room: str) -> dict[str, str]:
            query = {"room": room}
            if api_key is not None:
                query["apiKey"] = api_key
            if tok is not None:
                query["token"] = tok
            return query

        return build

    if case == "missing apiKey":
        return q(api_key=None)
    if case == "empty apiKey":
        return q(api_key="")
    if case == "sk_ as apiKey":
        return q(api_key=env.sk)
    if case == "malformed pk_":
        return q(api_key="pk_live_0123456789")
    if case == "mistyped pk_ (checksum)":
        typo = env.pk[:30] + ("a" if env.pk[30] != "a" else "b") + env.pk[31:]
        return q(api_key=typo)
    if case == "unknown pk_ (well-formed)":
        return q(api_key=apikeys.generate("publishable", env.id, ids.new_id("key")))
    if case == "pk_ of an unknown environment":
        return q(api_key=apikeys.generate("publishable", ids.new_id("env"), ids.new_id("key")))
    if case == "revoked pk_":
        graph.environments.revoke(OWNER, env.id, env.pk_id)
        return q()
    if case == "disabled environment":
        graph.environments.disable(OWNER, env.id, graph.environments.get(env.id).name)
        return q()
    if case == "missing token":
        return q(tok=None)
    if case == "empty token":
        return q(tok="")
    if case == "garbage token":
        return q(tok="not-a.jwt.at-all")
    if case == "expired token":
        gw.clock.advance(graph.settings.token_ttl_seconds + jwt_tokens.LEEWAY_SECONDS + 1)
        return q()
    if case == "forged token (signature changed)":
        return q(tok=_forged_signature(token))
    if case == "forged token (claims changed)":
        return q(tok=_forged_claims(token))
    if case == "forged token (signed with another secret)":
        return q(tok=_resigned(token, b"an attacker's guess at the key!!"))
    if case == "forged token (alg none)":
        return q(tok=_alg_none(token))
    if case == "token of another environment":
        other = new_env("Other")
        return q(tok=mint(other.sk, "eve"))
    if case == "token naming another environment's key":
        # Correctly signed for (this environment, the other's key id): the kid must be looked
        # up inside the pk_'s environment, where it does not exist.
        other = new_env("Other")
        claims = jwt.decode(token, options={"verify_signature": False})
        key = jwt_tokens.signing_key(graph.settings.signing_secret, env.id, other.sk_id)
        return q(tok=jwt.encode(claims, key, "HS256", headers={"kid": other.sk_id}))
    if case == "token whose sk_ was revoked":
        graph.environments.revoke(OWNER, env.id, env.sk_id)
        return q()
    if case == "old token after rotation (new pk_)":
        keys, _ = graph.environments.rotate(OWNER, env.id)
        (new_pk,) = [k.key for k in keys if k.kind == "publishable"]
        return q(api_key=new_pk)
    raise AssertionError(case)


UNAUTHORIZED = {
    "missing apiKey": "MISSING_API_KEY",
    "empty apiKey": "MISSING_API_KEY",
    "sk_ as apiKey": "PUBLISHABLE_KEY_REQUIRED",
    "malformed pk_": "INVALID_API_KEY",
    "mistyped pk_ (checksum)": "INVALID_API_KEY",
    "unknown pk_ (well-formed)": "INVALID_API_KEY",
    # The token's environment is checked against the pk_'s before any read.
    "pk_ of an unknown environment": "INVALID_TOKEN",
    "revoked pk_": "INVALID_API_KEY",
    "disabled environment": "INVALID_API_KEY",
    "missing token": "INVALID_TOKEN",
    "empty token": "INVALID_TOKEN",
    "garbage token": "INVALID_TOKEN",
    "expired token": "INVALID_TOKEN",
    "forged token (signature changed)": "INVALID_TOKEN",
    "forged token (claims changed)": "INVALID_TOKEN",
    "forged token (signed with another secret)": "INVALID_TOKEN",
    "forged token (alg none)": "INVALID_TOKEN",
    "token of another environment": "INVALID_TOKEN",
    "token naming another environment's key": "INVALID_TOKEN",
    "token whose sk_ was revoked": "INVALID_TOKEN",
    "old token after rotation (new pk_)": "INVALID_TOKEN",
}


@pytest.mark.parametrize("case", sorted(UNAUTHORIZED))
def test_refused_with_401_and_nothing_written(
    case: str, gw: Gateway, env: Env, fake: FakeApi
) -> None:
    keeper = gw.connect(env, "ada", ROOM)  # the room exists, with one live connection
    build = _prepare(case, gw, env)
    before = all_items()
    count_before = live_count(env.id, ROOM)

    for room in (ROOM, "room-new"):
        gw.refused(build(room), 401, UNAUTHORIZED[case])

    # No connection row, no room, no room count, nothing: only the failed attempts are counted
    # (chalicelib/services/limits.py), for those refused after the read.
    assert without_counters(all_items(), "fail-") == without_counters(before, "fail-")
    assert live_count(env.id, ROOM) == count_before
    assert room_item(env.id, "room-new") is None
    assert not [r for r in connection_rows() if keeper not in r[0] + r[1]]


def test_missing_query_string_is_401(gw: Gateway, env: Env) -> None:
    before = all_items()
    gw.refused(None, 401, "MISSING_API_KEY")
    assert all_items() == before


@pytest.mark.parametrize(
    "room",
    [None, "", "bad room", "room/1", "x" * 129, "rööm", "room\n", ".", ".."],
    ids=["missing", "empty", "space", "slash", "too long", "non-ascii", "newline", "dot", "dots"],
)
def test_bad_room_is_400_and_nothing_written(gw: Gateway, env: Env, room: str | None) -> None:
    query = {"apiKey": env.pk, "token": mint(env.sk, "eve")}
    if room is not None:
        query["room"] = room
    before = all_items()

    err = gw.refused(query, 400, "INVALID_INPUT")

    assert "room" in err["message"]
    assert all_items() == before
    assert rooms_total(env.id) == 0


def test_bad_credentials_win_over_a_bad_room(gw: Gateway, env: Env) -> None:
    gw.refused({"apiKey": "pk_nope", "token": "x", "room": "bad room"}, 401, "INVALID_API_KEY")
    gw.refused({"token": "x", "room": ""}, 401, "MISSING_API_KEY")


def test_the_longest_valid_room_id_is_accepted(gw: Gateway, env: Env, client: Any) -> None:
    room = "r" * 128
    cid = gw.connect(env, "ada", room)
    assert active_user_ids(client, env, room) == [cid]


def test_an_unexpected_failure_is_a_bare_500(
    gw: Gateway, env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(handlers.services().realtime.tokens, "verify_connection", broken)
    result = gw.connect_raw(gw.new_id(), {"apiKey": env.pk, "token": "t", "room": ROOM})
    assert result == {"statusCode": 500}


# --- the room cap ------------------------------------------------------------------------------


def test_room_cap_refuses_then_admits_after_a_disconnect(gw: Gateway, env: Env) -> None:
    gw.reconfigure(room_connection_cap=2)
    first = gw.connect(env, "ada", ROOM)
    gw.connect(env, "grace", ROOM)
    other_room = gw.connect(env, "linus", "room-2")  # the cap is per room
    assert other_room

    before = connection_rows()
    query = {"apiKey": env.pk, "token": mint(env.sk, "eve"), "room": ROOM}
    err = gw.refused(query, 403, "ROOM_FULL")
    assert "2" in err["message"]
    assert connection_rows() == before
    assert live_count(env.id, ROOM) == 2

    gw.disconnect(first)
    assert live_count(env.id, ROOM) == 1
    third = gw.connect(env, "eve", ROOM)
    assert live_count(env.id, ROOM) == 2
    assert len(connection_rows(third)) == 3
    # Full again.
    gw.refused({**query, "token": mint(env.sk, "zoe")}, 403, "ROOM_FULL")


@pytest.mark.parametrize("how", ["expired row", "row reaped by TTL"])
def test_a_stale_count_heals_by_recount(gw: Gateway, env: Env, client: Any, how: str) -> None:
    """A connection whose $disconnect never ran still counts until the cap check recounts."""
    gw.reconfigure(room_connection_cap=2)
    stale = gw.connect(env, "ada", ROOM)
    live = gw.connect(env, "grace", ROOM)
    if how == "expired row":
        set_expiry(stale, gw.clock.now() - 1)
    else:
        delete_rows(stale)
    assert live_count(env.id, ROOM) == 2  # the stored count still includes it

    newcomer = gw.connect(env, "eve", ROOM)

    assert live_count(env.id, ROOM) == 2  # recounted to 1, then +1
    assert active_user_ids(client, env, ROOM) == sorted([live, newcomer])
    # The cap still holds after healing.
    query = {"apiKey": env.pk, "token": mint(env.sk, "zoe"), "room": ROOM}
    gw.refused(query, 403, "ROOM_FULL")
    assert live_count(env.id, ROOM) == 2
