"""Departures in one frame: when several connections of a room leave at once (found gone by a
fan-out, or closed together), each remaining member gets one `users.left` naming all of them,
so G departures in a room of N cost N - G posts, not G x (N - G). One departure is still the
`user.left` {connectionId, userId} it always was."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from chalicelib import runtime
from chalicelib.entities import Connection
from chalicelib.services.channel import departures
from chalicelib.wire import sizing

from .conftest import Env, Gateway, connection_rows, live_count, rest, rest_ok

ROOM = "room-1"


def named(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"connectionId": c, "userId": u} for c, u in pairs]


def fill(gw: Gateway, env: Env, count: int, prefix: str, room: str = ROOM) -> list[str]:
    return [gw.connect(env, f"{prefix}{i}", room) for i in range(count)]


def test_a_burst_of_departures_found_by_a_fan_out_costs_one_post_per_survivor(
    gw: Gateway, env: Env, client: Any
) -> None:
    n, g = 20, 5
    ids = fill(gw, env, n, "u")
    user_of = {cid: f"u{i}" for i, cid in enumerate(ids)}
    stale = set(ids[3 : 3 + g])  # their sockets are gone; no $disconnect ran
    survivors = [cid for cid in ids if cid not in stale]
    gw.fake.gone.update(stale)
    gw.fake.clear()

    event = {"hello": "room"}
    rest_ok(rest(client, "POST", f"/api/v1/rooms/{ROOM}/broadcast", env.sk, {"event": event}), 202)

    # N posts of the broadcast, then one per survivor: N + (N - G), not N + G x (N - G)
    assert len(gw.fake.attempts) == n + (n - g)
    per_connection = Counter(gw.fake.attempts)
    assert all(per_connection[cid] == 1 for cid in stale)
    assert all(per_connection[cid] == 2 for cid in survivors)
    found = [cid for cid in gw.fake.attempts if cid in stale]  # in the order the 410s came
    told = {"type": "users.left", "left": named(*((cid, user_of[cid]) for cid in found))}
    broadcast = {"type": "broadcast", "connectionId": None, "userId": None, "event": event}
    for cid in survivors:
        assert gw.fake.take(cid) == [broadcast, told], cid
    for cid in stale:
        assert connection_rows(cid) == []
    assert live_count(env.id, ROOM) == n - g


def test_closing_several_of_a_users_sockets_tells_each_room_once(
    gw: Gateway, env: Env, client: Any
) -> None:
    bob = [gw.connect(env, "bob", ROOM) for _ in range(3)]
    bob_elsewhere = gw.connect(env, "bob", "room-2")
    ada, grace = gw.connect(env, "ada", ROOM), gw.connect(env, "grace", ROOM)
    linus = gw.connect(env, "linus", "room-2")
    gw.fake.clear()

    body = rest_ok(rest(client, "POST", "/api/v1/users/bob/revoke-tokens", env.sk))

    assert body["closedConnections"] == 4
    # the four told why, then one post per survivor: 4 + 2 + 1
    assert len(gw.fake.attempts) == 4 + 2 + 1
    told = {"type": "users.left", "left": named(*((cid, "bob") for cid in bob))}
    assert gw.fake.take(ada) == [told]
    assert gw.fake.take(grace) == [told]
    # alone in its room: the one frame it always was
    assert gw.fake.take(linus) == [
        {"type": "user.left", "connectionId": bob_elsewhere, "userId": "bob"}
    ]
    for cid in [*bob, bob_elsewhere]:
        assert [f["type"] for f in gw.fake.take(cid)] == ["error"]  # nothing about the others
        assert gw.fake.closed.count(cid) == 1
        assert connection_rows(cid) == []
    assert live_count(env.id, ROOM) == 2 and live_count(env.id, "room-2") == 1


def test_a_survivor_found_gone_while_announcing_a_burst_is_announced_in_turn(
    gw: Gateway, env: Env
) -> None:
    ids = fill(gw, env, 8, "u")
    burst, late, rest_of_room = ids[:3], ids[3], ids[4:]
    gw.fake.gone.update([*burst, late])  # `late` is found gone when told of the burst
    channel = runtime.services().realtime.channel
    leaving = [c for c in channel.members(env.id, ROOM) if c.id in burst]
    gw.fake.clear()

    channel.drop(leaving)

    # the burst to the 5 others (late's post answers 410), then late to the 4 left: 5 + 4
    assert len(gw.fake.attempts) == 5 + 4
    assert gw.fake.attempts.count(late) == 1
    for cid in rest_of_room:
        assert gw.fake.take(cid) == [
            {"type": "users.left", "left": named(*((c, f"u{ids.index(c)}") for c in burst))},
            {"type": "user.left", "connectionId": late, "userId": "u3"},
        ]
    for cid in [*burst, late]:
        assert connection_rows(cid) == []
    assert live_count(env.id, ROOM) == 4


def test_departures_that_cannot_fit_one_frame_go_in_several_in_order(
    gw: Gateway, env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = fill(gw, env, 9, "user-with-a-long-id-")
    channel = runtime.services().realtime.channel
    leaving = [c for c in channel.members(env.id, ROOM) if c.id in ids[:6]]
    monkeypatch.setattr(sizing, "FRAME_MAX_BYTES", 300)  # about three names a frame
    gw.fake.clear()

    channel.drop(leaving)

    for cid in ids[6:]:
        frames = gw.fake.take(cid)
        assert 1 < len(frames) < 6
        assert all(f["type"] == "users.left" for f in frames)
        assert all(len(json.dumps(f, separators=(",", ":"))) <= 300 for f in frames)
        got = [x for f in frames for x in f["left"]]
        assert got == named(*((c.id, c.user_id) for c in leaving))
    assert len(gw.fake.attempts) == 3 * len(frames)


def connection(i: int, user_id: str) -> Connection:
    return Connection(
        id=f"C{i:015d}=",
        env_id="env_1",
        room_id=ROOM,
        user_id=user_id,
        name="Someone",
        avatar=None,
        color="#000000",
        presence=None,
        domain_name="example.execute-api.us-east-1.amazonaws.com",
        stage="api",
        publishable_key_id="key_1",
        secret_key_id="key_2",
        connected_at="2026-01-01T00:00:00Z",
        expires_at=0,
    )


def test_one_departure_is_the_user_left_frame_clients_know() -> None:
    (frame,) = departures([connection(1, "ada")])
    assert json.loads(frame) == {
        "type": "user.left",
        "connectionId": "C000000000000001=",
        "userId": "ada",
    }


def test_departures_frames_stay_within_api_gateways_limit_at_real_sizes() -> None:
    # 2,000 connections of users with 128-character ids: about 360 KB of names
    left = [connection(i, f"{i:04d}" + "u" * 124) for i in range(2000)]

    frames = departures(left)

    assert len(frames) > 2
    assert all(len(f) <= sizing.FRAME_MAX_BYTES for f in frames)
    decoded = [json.loads(f) for f in frames]
    assert {d["type"] for d in decoded} == {"users.left"}
    assert [x for d in decoded for x in d["left"]] == named(*((c.id, c.user_id) for c in left))
