"""Wrong API keys, one table, at every surface that takes a key: `POST /auth/token`,
`GET`/`POST /api/v1/rooms` (a `sk_`) and the WebSocket `$connect` (a `pk_`).

Every wrong key of the right kind gets the same answer on a surface (status and body, byte for
byte): a caller learns nothing about why, so keys cannot be probed. A malformed key (checksum,
length, alphabet) costs no DynamoDB call at all; a well-formed one exactly the one BatchGetItem,
then its failed attempt counted (chalicelib/services/limits.py): one UpdateItem of the source
address's counter and one of the key id's, and no other write. A key of the wrong kind gets the
kind's own answer (the prefix is public, so saying so leaks nothing), identical whether the key
is live, revoked or malformed, with no call.

Per-surface pieces of this live in tests/api/test_auth_token.py, tests/api/test_v1_rooms.py,
tests/realtime/test_connect.py and tests/integration/test_budgets.py; here the same table runs on
all surfaces, with the cases they lack (a key moved into another environment, a key of one kind
re-prefixed as the other, transpositions)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from api.helpers import each
from integration.conftest import READ_OPS, DynamoCalls, is_counter, without_counters
from realtime.conftest import OWNER, Env, Gateway, mint, new_env, rest

from chalicelib import ids, runtime
from chalicelib.auth import apikeys
from chalicelib.services.limits import day_of

from .conftest import table_items

RAW = ids.RAW_ID_CHARS


def parts(key: str) -> tuple[str, str, str, str]:
    """(prefix, environment raw id, key raw id, secret) of a key."""
    body = key[3 : -apikeys.CHECKSUM_CHARS]
    return key[:2], body[:RAW], body[RAW : 2 * RAW], body[2 * RAW :]


def assemble(prefix: str, env_raw: str, key_raw: str, secret: str) -> str:
    """A key with a valid checksum from any parts."""
    head = f"{prefix}_{env_raw}{key_raw}{secret}"
    return head + apikeys._checksum(head)


def flip(key: str, at: int) -> str:
    return key[:at] + ("A" if key[at] != "A" else "B") + key[at + 1 :]


def swap_env(key: str, env: Env) -> str:
    prefix, _, key_raw, secret = parts(key)
    return assemble(prefix, env.id.removeprefix("env_"), key_raw, secret)


def reprefix(key: str) -> str:
    prefix, env_raw, key_raw, secret = parts(key)
    return assemble("pk" if prefix == "sk" else "sk", env_raw, key_raw, secret)


@dataclass(frozen=True)
class World:
    """Environments in every state a key can be in, and tokens to pair with their pk_s."""

    live: Env
    other: Env
    revoked: Env  # its first pk_ and sk_ revoked; `spare_sk` still mints
    rotated: Env  # rotated: its first pair is dead
    disabled: Env
    tokens: dict[str, str]  # environment id -> a user token of that environment

    def key(self, env: Env, kind: str) -> str:
        return env.sk if kind == "secret" else env.pk

    def key_id(self, env: Env, kind: str) -> str:
        return env.sk_id if kind == "secret" else env.pk_id


def build_world() -> World:
    graph = runtime.services()
    live, other, revoked, rotated, disabled = (new_env(n) for n in ("L", "O", "R", "T", "D"))
    spare = graph.environments.create_key(OWNER, revoked.id, "secret", "spare")
    assert spare.key is not None
    tokens = {e.id: mint(e.sk) for e in (live, other, rotated, disabled)}
    tokens[revoked.id] = mint(spare.key)
    graph.environments.revoke(OWNER, revoked.id, revoked.sk_id)
    graph.environments.revoke(OWNER, revoked.id, revoked.pk_id)
    new_keys, _ = graph.environments.rotate(OWNER, rotated.id)
    (new_sk,) = [k.key for k in new_keys if k.kind == "secret"]
    assert new_sk is not None
    tokens[rotated.id] = mint(new_sk)  # a live token: only the old pk_ is wrong
    graph.environments.disable(OWNER, disabled.id, graph.environments.get(disabled.id).name)
    return World(live, other, revoked, rotated, disabled, tokens)


# name -> (the key of a kind, in a world; whether it is malformed, so refused with no I/O)
Case = Callable[[World, str], str]
MALFORMED: dict[str, Case] = {
    "flipped character in the environment id": lambda w, k: flip(w.key(w.live, k), 5),
    "flipped character in the key id": lambda w, k: flip(w.key(w.live, k), 3 + RAW + 4),
    "flipped character in the secret": lambda w, k: flip(w.key(w.live, k), 3 + 2 * RAW + 7),
    "flipped character in the checksum": lambda w, k: flip(w.key(w.live, k), -2),
    "two characters transposed": lambda w, k: (
        (lambda s: s[:40] + s[41] + s[40] + s[42:])(w.key(w.live, k))
        if w.key(w.live, k)[40] != w.key(w.live, k)[41]
        else flip(w.key(w.live, k), 40)
    ),
    "truncated": lambda w, k: w.key(w.live, k)[:-1],
    "a character appended": lambda w, k: w.key(w.live, k) + "x",
    "uppercased": lambda w, k: w.key(w.live, k)[:3] + w.key(w.live, k)[3:].upper(),
    "prefix and junk": lambda w, k: w.key(w.live, k)[:3] + "A" * 60,
    "not a key": lambda w, k: "hunter2",
}
WELL_FORMED: dict[str, Case] = {
    "unknown key id in a live environment": lambda w, k: apikeys.generate(
        k,  # type: ignore[arg-type]
        w.live.id,
        "key_0000000000000000",
    ),
    "the right ids with another secret": lambda w, k: apikeys.generate(
        k,  # type: ignore[arg-type]
        w.live.id,
        w.key_id(w.live, k),
    ),
    "revoked": lambda w, k: w.key(w.revoked, k),
    "rotated away": lambda w, k: w.key(w.rotated, k),
    "of a disabled environment": lambda w, k: w.key(w.disabled, k),
    "moved into another live environment (its key id and secret, that environment's id)": (
        lambda w, k: swap_env(w.key(w.live, k), w.other)
    ),
    "the other kind's key under this kind's prefix": lambda w, k: reprefix(
        w.key(w.live, "publishable" if k == "secret" else "secret")
    ),
}
CASES = {**MALFORMED, **WELL_FORMED}
# Real keys that stopped: what deployed widgets and backends send after a rotation. They are
# refused like the rest but not counted as failed attempts (no guess), so they cannot lock an
# office's shared address out.
STALE = frozenset({"revoked", "rotated away", "of a disabled environment"})


# --- the surfaces ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any


def via_auth_token(client: Any, gw: Gateway, w: World, key: str) -> Answer:
    resp = rest(client, "POST", "/auth/token", key, {"userId": "mallory", "name": "M"})
    return Answer(resp.status_code, resp.json_body)


def via_list_rooms(client: Any, gw: Gateway, w: World, key: str) -> Answer:
    resp = rest(client, "GET", "/api/v1/rooms", key)
    return Answer(resp.status_code, resp.json_body)


def via_create_room(client: Any, gw: Gateway, w: World, key: str) -> Answer:
    resp = rest(client, "POST", "/api/v1/rooms", key, {"id": "room-9"})
    return Answer(resp.status_code, resp.json_body)


def via_connect(client: Any, gw: Gateway, w: World, key: str) -> Answer:
    """The token of the environment the pk_ names (when it names one we have), so the refusal
    can only be about the key."""
    parsed = apikeys.parse(key)
    token = w.tokens.get(parsed.env_id if parsed else "", w.tokens[w.live.id])
    result = gw.connect_raw(gw.new_id(), {"apiKey": key, "token": token, "room": "room-9"})
    return Answer(result["statusCode"], json.loads(result.get("body") or "null"))


Surface = Callable[[Any, Gateway, World, str], Answer]
SURFACES: dict[str, tuple[str, Surface]] = {
    "POST /auth/token": ("secret", via_auth_token),
    "GET /api/v1/rooms": ("secret", via_list_rooms),
    "POST /api/v1/rooms": ("secret", via_create_room),
    "$connect": ("publishable", via_connect),
}
# The caller's address each surface sees: chalice's test client's, the gateway events'.
SOURCES = {"$connect": "203.0.113.9"}
REST_SOURCE = "127.0.0.1"
WRONG_KIND_CODE = {"secret": "SECRET_KEY_REQUIRED", "publishable": "PUBLISHABLE_KEY_REQUIRED"}


@pytest.fixture
def world(gw: Gateway) -> World:
    return build_world()


def test_the_live_keys_pass_every_surface(client: Any, gw: Gateway, world: World) -> None:
    """The positive control: the same calls with the right key succeed."""
    for name, (kind, via) in SURFACES.items():
        answer = via(client, gw, world, world.key(world.live, kind))
        assert answer.status in (200, 201), (name, answer)


def counter_id(pk: str, sk: str) -> str:
    """A counter item's name: its pk, and its sk when several share the pk (a key id's failures
    live in its environment's partition of the day, one item per key id and minute)."""
    return pk if sk == "RL" else f"{pk}|{sk}"


def failure_counts(items: list[str]) -> dict[str, int]:
    """The abuse-limit counter items of a table snapshot: counter -> failed attempts counted
    (`n`). Only failure counters may exist here (a refused request counts no request rate)."""
    out = {}
    for item in map(json.loads, items):
        if is_counter(item["pk"]["S"]):
            assert set(item) == {"pk", "sk", "n", "ttl"}, item
            out[counter_id(item["pk"]["S"], item["sk"]["S"])] = int(item["n"]["N"])
    return out


@pytest.mark.parametrize("surface", list(SURFACES))
def test_every_wrong_key_gets_one_identical_401_and_malformed_ones_cost_no_call(
    surface: str, client: Any, gw: Gateway, world: World, dynamo_calls: DynamoCalls
) -> None:
    kind, via = SURFACES[surface]
    before = table_items()
    assert failure_counts(before) == {}
    minute = int(runtime.services().clock.now() // 60) * 60
    day = day_of(minute)
    source = f"RL#fail-ip:{SOURCES.get(surface, REST_SOURCE)}#{minute}"
    answers: dict[str, Answer] = {}
    expected: dict[str, int] = {}  # counter -> failed attempts, after every case

    def check(name: str) -> None:
        key = CASES[name](world, kind)
        assert key != world.key(world.live, kind)
        ahead = failure_counts(table_items())
        with dynamo_calls.record() as calls:
            answers[name] = via(client, gw, world, key)
        operations = [c.operation for c in calls]
        parsed = apikeys.parse(key)
        counted: list[str] = []
        if name in MALFORMED:
            assert parsed is None
            assert operations == [], operations
        elif name in STALE:
            assert parsed is not None
            assert operations == ["BatchGetItem"], operations
        else:
            assert parsed is not None
            # the key check, then the failure counted against the source and against the key id
            assert operations == ["BatchGetItem", "UpdateItem", "UpdateItem"], operations
            assert [c.operation in READ_OPS for c in calls] == [True, False, False]
            counted = [source, f"RL#fail-key:{parsed.env_id}#{day}|RL#{parsed.key_id}#{minute}"]
            keys = [c.params["Key"] for c in calls[1:]]
            assert [counter_id(k["pk"]["S"], k["sk"]["S"]) for k in keys] == counted, calls
        after = table_items()
        assert without_counters(after) == without_counters(before)
        now = failure_counts(after)
        grown = {pk: n - ahead.get(pk, 0) for pk, n in now.items() if n != ahead.get(pk)}
        assert grown == dict.fromkeys(counted, 1), grown
        for pk in counted:
            expected[pk] = expected.get(pk, 0) + 1

    each(sorted(CASES), check)

    distinct = {json.dumps([a.status, a.body], sort_keys=True) for a in answers.values()}
    assert len(distinct) == 1, {n: a for n, a in answers.items()}
    (one,) = {a.status for a in answers.values()}
    assert one == 401
    assert next(iter(answers.values())).body["error"]["code"] == "INVALID_API_KEY"
    # Nothing written but the failed attempts: the source's, and each key id's once.
    guesses = len(WELL_FORMED) - len(STALE)
    assert expected[source] == guesses
    assert len(expected) == 1 + guesses  # every guess tried its own key id
    assert failure_counts(table_items()) == expected
    assert without_counters(table_items()) == without_counters(before)


@pytest.mark.parametrize("surface", list(SURFACES))
def test_a_key_of_the_wrong_kind_gets_the_same_answer_live_revoked_or_malformed(
    surface: str, client: Any, gw: Gateway, world: World, dynamo_calls: DynamoCalls
) -> None:
    kind, via = SURFACES[surface]
    wrong = "publishable" if kind == "secret" else "secret"
    keys = {
        "live": world.key(world.live, wrong),
        "revoked": world.key(world.revoked, wrong),
        "of a disabled environment": world.key(world.disabled, wrong),
        "malformed": flip(world.key(world.live, wrong), 20),
    }
    before = table_items()

    with dynamo_calls.record() as calls:
        answers = {name: via(client, gw, world, key) for name, key in keys.items()}

    assert calls == []
    distinct = {json.dumps([a.status, a.body], sort_keys=True) for a in answers.values()}
    assert len(distinct) == 1, answers
    answer = answers["live"]
    assert answer.status == 401
    assert answer.body["error"]["code"] == WRONG_KIND_CODE[kind]
    assert table_items() == before
