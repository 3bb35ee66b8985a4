"""Usage analytics (services/metering.py) against what was done: a concurrent load through
app.py's WebSocket handlers and the REST API, then every counter compared with the load's own
record (frames sent, posts the Management API fake received, refusals answered) and with a full
walk of the tables (users seen today, connection rows, the live count)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from botocore.client import BaseClient
from callers import operator
from integration.conftest import atomic_moto  # noqa: F401 (a fixture)
from races import race

from bench.calls import Call, is_meter_call
from chalicelib import runtime
from chalicelib.entities import Connection
from chalicelib.errors import InvalidInput
from chalicelib.services.metering import iso_week

from .conftest import (
    OWNER,
    DynamoCalls,
    Env,
    FakeApi,
    Gateway,
    connection_rows,
    data_items,
    mint,
    rest,
)

USERS = ["ada", "bob", "cy", "dee", "eve"]
ROOMS = ["alpha", "beta", "gamma"]
WORKERS = 10


def together(work: list[Callable[[], Any]]) -> list[Any]:
    """Run every callable at once (tests/races.py); their results, or the first exception."""
    results = race(work)
    for r in results:
        if isinstance(r, Exception):
            raise r
    return results


def today_of(env: Env, days: int = 1) -> dict[str, Any]:
    a = runtime.services().metering.analytics(operator(env.id), days)
    return {"analytics": a, "today": a.daily[-1]}


def walk_seen_today(env_id: str, day: str) -> set[str]:
    """The users whose item says they connected today (a full walk of the data table)."""
    return {
        i["id"]["S"]
        for i in data_items()
        if i["pk"]["S"] == f"ENV#{env_id}"
        and i["sk"]["S"].startswith("USER#")
        and i.get("seenDay", {}).get("S") == day
    }


@pytest.mark.usefixtures("atomic_moto")
def test_counters_after_a_concurrent_load_equal_what_was_done(
    gw: Gateway, env: Env, fake: FakeApi
) -> None:
    day = gw.clock.today()
    tokens = {u: mint(env.sk, u) for u in USERS}
    # Two users are refused: their tokens are revoked before they connect (refused after the
    # key verified: counted by code).
    doomed = {u: mint(env.sk, u) for u in ("zed", "yan")}
    for u in doomed:
        gw.graph.realtime.revoke_tokens(operator(env.id), u)
    fake.attempts.clear()

    # Phase 1: WORKERS connections at once (every user at least once, some twice).
    plan = [(USERS[n % len(USERS)], ROOMS[n % len(ROOMS)]) for n in range(WORKERS)]
    ids = together(
        [lambda u=u, r=r: gw.connect(env, u, r, token=tokens[u]) for u, r in plan]
        + [
            lambda u=u: gw.connect_raw(
                gw.new_id(), {"apiKey": env.pk, "token": doomed[u], "room": "alpha"}
            )
            for u in doomed
        ]
    )
    connections, refusals = ids[:WORKERS], ids[WORKERS:]
    assert all(r["statusCode"] == 401 for r in refusals)

    # Phase 2: every connection sends messages at once (presence fans out to its room).
    sent = Counter({cid: 1 + n % 4 for n, cid in enumerate(connections)})

    def chatter(cid: str) -> None:
        for k in range(sent[cid]):
            gw.send(cid, "presence.update", data={"k": k})

    together([lambda c=c: chatter(c) for c in connections])
    peak_before_leaving = today_of(env)["today"].peak_connections

    # Phase 3: all leave at once.
    together([lambda c=c: gw.disconnect(c) for c in connections])

    got = today_of(env)
    today, a = got["today"], got["analytics"]
    assert today.connections == WORKERS
    assert today.active_users == len(USERS) == len(walk_seen_today(env.id, day))
    assert a.active_users.day == a.active_users.week == a.active_users.month == len(USERS)
    assert peak_before_leaving == today.peak_connections == WORKERS
    assert today.messages_in == sum(sent.values())
    assert today.pushes_out == len(fake.attempts)  # every post the Management API took
    assert today.refused == {"TOKEN_REVOKED": 2}
    # Nothing live is left: no connection row, and the live count back at 0.
    assert connection_rows() == []
    items = data_items()
    (stats,) = [i for i in items if i["pk"]["S"] == f"ENV#{env.id}" and i["sk"]["S"] == "STATS"]
    assert int(stats["live_connections"]["N"]) == 0
    # The busiest rooms: connections per room as planned.
    per_room = Counter(r for _, r in plan)
    assert [(r.room_id, r.count) for r in a.busiest_by_connections] == sorted(
        per_room.items(), key=lambda kv: (-kv[1], kv[0])
    )


def test_messages_are_metered_per_32_kb_and_minutes_per_connection(
    gw: Gateway, env: Env, fake: FakeApi
) -> None:
    ada = gw.connect(env, "ada", "big")
    gw.clock.advance(90)
    # A 40 KB broadcast is two metered messages in (and two for each push out).
    gw.send(ada, "broadcast", event={"blob": "x" * 40_000})
    gw.disconnect(ada)
    a = runtime.services().metering
    used = a.usage.days(env.id, gw.clock.today(), gw.clock.today())[gw.clock.today()]
    assert used["messagesIn"] == 1 and used["messageUnitsIn"] == 2
    assert used["connectionSeconds"] == 90


def test_a_second_connection_of_the_day_is_not_a_new_active_user(gw: Gateway, env: Env) -> None:
    first = gw.connect(env, "ada")
    gw.disconnect(first)
    gw.connect(env, "ada", "room-2")
    today = today_of(env)["today"]
    assert (today.connections, today.active_users) == (2, 1)


def test_minting_is_not_activity(gw: Gateway, env: Env) -> None:
    for user in USERS:
        mint(env.sk, user)
    today = today_of(env)["today"]
    assert today.active_users == 0
    assert runtime.services().metering.analytics(operator(env.id), 30).users == len(USERS)


def told(services: runtime.Services, env: Env, user: str, connection_id: str) -> Connection:
    """A connection of `user` in room "r", as the meter is told of it (services called alone:
    tokens cannot be minted far from real time)."""
    return Connection(
        id=connection_id,
        env_id=env.id,
        room_id="r",
        user_id=user,
        name=user,
        avatar=None,
        color="#000000",
        presence=None,
        domain_name="d",
        stage="s",
        publishable_key_id=env.pk_id,
        secret_key_id=env.sk_id,
        connected_at=services.clock.now_iso(),
        expires_at=services.clock.now() + 60,
    )


def test_weekly_and_monthly_actives_count_each_user_once_per_period(
    services: runtime.Services, env: Env
) -> None:
    """Across days (the meter's own calls: tokens cannot be minted far from real time)."""
    clock = services.clock
    start = date.fromisoformat(clock.today())
    # Move to the next Monday that is not the 1st... of a month with 7 days after it in it.
    monday = start + timedelta(days=(7 - start.weekday()) % 7 or 7)
    while monday.day > 21 or monday.day == 1:
        monday += timedelta(days=7)
    clock.advance((monday - start).days * 86400)
    for u in USERS:
        mint(env.sk, u)  # the users exist (their items carry when they were seen)

    def connect(user: str) -> None:
        with runtime.metered():
            services.metering.connected(told(services, env, user, f"c-{user}-{clock.today()}"))

    for user in ("ada", "bob"):  # Monday
        connect(user)
    clock.advance(86400)  # Tuesday: ada again, cy new
    connect("ada")
    connect("cy")
    a = services.metering.analytics(operator(env.id), 7)
    assert [d.active_users for d in a.daily[-2:]] == [2, 2]
    assert (a.active_users.day, a.active_users.week, a.active_users.month) == (2, 3, 3)
    clock.advance(7 * 86400)  # next week, same month: only dee
    connect("dee")
    a = services.metering.analytics(operator(env.id), 30)
    assert iso_week(date.fromisoformat(clock.today())) != iso_week(monday)
    assert (a.active_users.day, a.active_users.week, a.active_users.month) == (1, 1, 4)
    assert sum(d.active_users for d in a.daily) == 5  # ada counted on each of her two days


def test_outside_an_invocation_arrivals_are_written_at_once_and_not_billed(
    services: runtime.Services, env: Env
) -> None:
    """A script calling the services (no runtime.metered around it): the seen mark, the live
    count and the peak are written when the connection is told, with no invocation counted."""
    mint(env.sk, "ada")
    c = told(services, env, "ada", "c-outside")

    def live() -> int:
        (stats,) = [
            i for i in data_items() if i["pk"]["S"] == f"ENV#{env.id}" and i["sk"]["S"] == "STATS"
        ]
        return int(stats.get("live_connections", {"N": "0"})["N"])

    services.metering.connected(c)
    assert live() == 1
    assert walk_seen_today(env.id, services.clock.today()) == {"ada"}
    today = services.metering.analytics(operator(env.id), 1).daily[-1]
    assert (today.active_users, today.peak_connections) == (1, 1)
    used = services.metering.usage.days(env.id, services.clock.today(), services.clock.today())
    assert "invocations" not in used[services.clock.today()]
    services.metering.disconnected([c])
    assert live() == 0


def test_429s_are_counted_per_key(gw: Gateway, env: Env, client: Any) -> None:
    gw.reconfigure(rate_rest_per_key=2)
    other = gw.graph.environments.create_key(OWNER, env.id, "secret", "second")
    assert other.key is not None
    answers: Counter[tuple[str, int]] = Counter()
    for key, key_id in ((env.sk, env.sk_id), (other.key, other.id)):
        for _ in range(5):
            status = rest(client, "GET", "/api/v1/rooms", key).status_code
            answers[(key_id, status)] += 1
    assert answers[(env.sk_id, 429)] == 3 and answers[(other.id, 429)] == 3
    today = today_of(env)["today"]
    assert today.rate_limited == {env.sk_id: 3, other.id: 3}
    used = runtime.services().metering.usage.days(env.id, gw.clock.today(), gw.clock.today())
    assert used[gw.clock.today()]["restRequests"] == 10


def test_the_period_must_be_one_the_panel_shows(env: Env) -> None:
    for days in (0, 14, 365):
        with pytest.raises(InvalidInput, match="days"):
            runtime.services().metering.analytics(operator(env.id), days)


def test_counting_never_fails_a_request(gw: Gateway, env: Env, monkeypatch: Any) -> None:
    def refuse(*_: Any, **__: Any) -> None:
        raise RuntimeError("DynamoDB said no")

    monkeypatch.setattr(runtime.services().metering.usage, "add", refuse)
    ada = gw.connect(env, "ada")
    gw.join(ada)
    gw.disconnect(ada)


# --- the cost estimate ---------------------------------------------------------------------------

US_EAST_1 = {  # AWS list prices, USD (services/pricing.py), written out by hand
    "ws message": 1.00 / 1e6,
    "ws minute": 0.25 / 1e6,
    "rest": 3.50 / 1e6,
    "lambda request": 0.20 / 1e6,
}


def test_the_cost_of_a_known_workload_matches_a_hand_computation(
    gw: Gateway, env: Env, fake: FakeApi, client: Any
) -> None:
    fake.attempts.clear()
    bobs_token = mint(env.sk, "bob")  # (minted near real time: PyJWT checks it)
    ada = gw.connect(env, "ada", "doc")  # 1 invocation
    gw.clock.advance(120)
    bob = gw.connect(env, "bob", "doc", token=bobs_token)  # 1
    for k in range(3):  # 3 invocations, 3 small messages in
        gw.send(ada, "presence.update", data={"k": k})
    gw.send(bob, "broadcast", event={"blob": "x" * 40_000})  # 1 invocation, 2 units in
    gw.clock.advance(60)
    gw.disconnect(ada)  # 2 invocations; ada stayed 180 s, bob 60 s: 4 minutes
    gw.disconnect(bob)
    for _ in range(4):  # 4 REST requests, 4 invocations
        assert rest(client, "GET", "/api/v1/rooms", env.sk).status_code == 200
    pushes = len(fake.attempts)
    big_pushes = 1  # the broadcast went to ada alone, 40 KB: two metered messages
    assert pushes > 0

    cost = runtime.services().metering.cost(operator(env.id), 1)
    lines = {line.name: line for line in cost.lines}
    messages = 3 + 2 + (pushes - big_pushes) + 2 * big_pushes
    by_hand = {
        "API Gateway WebSocket messages": (messages, messages * US_EAST_1["ws message"]),
        "API Gateway WebSocket connection minutes": (4, 4 * US_EAST_1["ws minute"]),
        "API Gateway REST requests": (4, 4 * US_EAST_1["rest"]),
        "Lambda requests": (2 + 4 + 2 + 4, 12 * US_EAST_1["lambda request"]),
    }
    for name, (q, dollars) in by_hand.items():
        assert lines[name].quantity == pytest.approx(q), name
        assert lines[name].cost == pytest.approx(dollars, abs=1e-9), name
    # The measured lines (compute time, DynamoDB capacity) are priced the same way.
    for line in cost.lines:
        assert line.cost == pytest.approx(line.quantity * line.unit_price, abs=1e-6)
    assert lines["DynamoDB writes"].quantity >= 12  # at least each invocation's own count
    assert cost.total == pytest.approx(sum(line.cost for line in cost.lines), abs=1e-5)
    assert cost.monthly == pytest.approx(cost.total * 30, abs=1e-5)
    assert (cost.region, cost.currency, cost.days) == ("us-east-1", "USD", 1)


# --- what the counting costs ---------------------------------------------------------------------


def described(call: Any) -> str:
    """A meter call as `Operation item`: the item's kind (sk prefix) or the attribute it moves."""
    sk = (call.params.get("Key") or {}).get("sk", {}).get("S", "")
    names = set((call.params.get("ExpressionAttributeNames") or {}).values())
    if "seenDay" in names:
        return f"{call.operation} user.seen"
    if "live_connections" in names:
        return f"{call.operation} STATS.live"
    return f"{call.operation} {sk.split('#')[0]}#"


def rounds(calls: list[Any], first: int) -> tuple[list[str], list[str]]:
    """The meter's calls as its two rounds (each made at once, so in any order within it)."""
    said = [described(c) for c in calls]
    return sorted(said[:first]), sorted(said[first:])


def test_the_meters_own_calls_per_invocation(
    gw: Gateway, env: Env, dynamo_calls: DynamoCalls
) -> None:
    """The calls the usage meter adds to each kind of invocation, in its two rounds (the budget
    tests list an operation's own calls and leave these out: bench/calls.py's is_meter_call)."""
    tokens = {u: mint(env.sk, u) for u in ("ada", "bob")}
    first = sorted(["UpdateItem user.seen", "UpdateItem STATS.live", "UpdateItem ROOMUSE#"])
    with dynamo_calls.record():
        ada = gw.connect(env, "ada", "doc", token=tokens["ada"])
    # The day's standing is read once per container, then written straight on.
    assert rounds(dynamo_calls.metered, 3) == (
        first,
        sorted(["UpdateItem USE#", "UpdateItem PEAK#", "GetItem TOP#", "UpdateItem TOP#"]),
    )
    with dynamo_calls.record():
        bob = gw.connect(env, "bob", "doc", token=tokens["bob"])
    assert rounds(dynamo_calls.metered, 3) == (
        first,
        sorted(["UpdateItem USE#", "UpdateItem PEAK#", "UpdateItem TOP#"]),
    )
    gw.disconnect(bob)
    with dynamo_calls.record():
        gw.connect(env, "bob", "doc", token=tokens["bob"])  # not a new peak: no PEAK# write
    assert rounds(dynamo_calls.metered, 3) == (
        first,
        sorted(["UpdateItem USE#", "UpdateItem TOP#"]),
    )

    with dynamo_calls.record():
        gw.send(ada, "presence.update", data={"x": 1})
    assert [described(c) for c in dynamo_calls.metered] == ["UpdateItem USE#"]
    with dynamo_calls.record():
        gw.disconnect(ada)
    # A fall of the live count needs no answer: one round.
    assert rounds(dynamo_calls.metered, 0) == ([], ["UpdateItem STATS.live", "UpdateItem USE#"])


def test_a_connects_meter_calls_wait_for_one_another_not_in_turn(
    gw: Gateway, env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first round's three calls of a `$connect` are in flight at once: each waits at a
    barrier for the other two (made one after the other, the first would wait in vain, and
    the barrier break)."""
    barrier = threading.Barrier(3, timeout=10)
    broken: list[str] = []
    original = BaseClient._make_api_call

    def meeting(client: Any, operation: str, params: dict[str, Any]) -> Any:
        call = Call(operation, params)
        if is_meter_call(call) and described(call) in FIRST_ROUND:
            try:
                barrier.wait()
            except threading.BrokenBarrierError:
                broken.append(described(call))
                raise
        return original(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", meeting)
    gw.connect(env, "ada", "doc")
    monkeypatch.setattr(BaseClient, "_make_api_call", original)
    assert broken == []
    today = today_of(env)
    assert (today["today"].connections, today["today"].active_users) == (1, 1)
    assert [(r.room_id, r.count) for r in today["analytics"].busiest_by_connections] == [("doc", 1)]


FIRST_ROUND = {"UpdateItem user.seen", "UpdateItem STATS.live", "UpdateItem ROOMUSE#"}
