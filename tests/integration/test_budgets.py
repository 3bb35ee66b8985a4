"""DynamoDB call budgets of the hot paths, counted at botocore (every client, every call).

A "read" is one BatchGetItem with ConsistentRead on every table in it (revocation must be seen
at once; GSIs and eventually consistent reads never are). A "write" is one UpdateItem or
TransactWriteItems. A budget is exact: no other call (GetItem, Query, Scan, DescribeTable...).

A mint is also counted against its rate limits (chalicelib/services/limits.py): one UpdateItem of
the environment's counters, right after the read, on top of the budget's writes; the caller's
failed-authentication counters ride in the read."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from callers import connect_gate

from chalicelib import runtime
from chalicelib.clock import FrozenClock
from chalicelib.db.models import env_pk, key_sk, user_sk
from chalicelib.errors import Unauthenticated
from chalicelib.services.limits import day_of

from .conftest import OWNER, READ_OPS, WRITE_OPS, Call, DynamoCalls, Env, is_rate_count

WRITE_CALLS = {"UpdateItem", "TransactWriteItems"}

# POST /auth/token, by the state the user and key are in.
#   scenario                                 reads  writes
MINT_BUDGETS: dict[str, tuple[int, int]] = {
    "first-time user": (1, 1),
    "returning user within 60 s": (1, 0),
    "returning user after 60 s": (1, 1),
    "returning user on a new day": (1, 1),
    "new user, key used within 60 s": (1, 1),
    "returning user, new name, within 60 s": (1, 1),
}

# Requests refused before any read: the key's format and checksum, no I/O.
#   scenario                                 Authorization header
NO_IO_MINTS: dict[str, Callable[[Env], str | None]] = {
    "missing key": lambda env: None,
    "empty bearer": lambda env: "Bearer ",
    "malformed key": lambda env: "Bearer sk_not-a-key",
    "mistyped key (checksum)": lambda env: "Bearer " + env.sk[:20] + "x" + env.sk[21:],
    "truncated key": lambda env: "Bearer " + env.sk[:-1],
    "publishable key": lambda env: f"Bearer {env.pk}",
}

#   operation                                reads  writes
OTHER_BUDGETS: dict[str, tuple[int, int]] = {
    "verify_connection ($connect)": (1, 0),
    "admin session authentication": (1, 0),
    "rotate keys": (1, 1),
}


# --- helpers --------------------------------------------------------------------------------


def post_token(
    client: Any, authorization: str | None, user: str = "user-1", name: str = "Ada"
) -> Any:
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    body = json.dumps({"userId": user, "name": name})
    return client.http.post("/auth/token", headers=headers, body=body)


def mint(client: Any, env: Env, user: str = "user-1", name: str = "Ada") -> str:
    resp = post_token(client, f"Bearer {env.sk}", user, name)
    assert resp.status_code == 200, resp.body
    return str(resp.json_body["token"])


def assert_budget(calls: list[Call], reads: int, writes: int, *, rate: bool = False) -> None:
    """Exactly `reads` consistent BatchGetItems first, then (`rate`) the one UpdateItem of the
    rate counters, then exactly `writes` write calls."""
    operations = [c.operation for c in calls]
    if rate:
        assert len(calls) > reads and is_rate_count(calls[reads]), operations
        calls = calls[:reads] + calls[reads + 1 :]
        assert not any(is_rate_count(c) for c in calls), operations
        operations = [c.operation for c in calls]
    assert all(op in READ_OPS | WRITE_OPS for op in operations), operations
    read_calls = [c for c in calls if c.operation in READ_OPS]
    write_calls = [c for c in calls if c.operation in WRITE_OPS]
    assert [c.operation for c in read_calls] == ["BatchGetItem"] * reads, operations
    assert len(write_calls) == writes, operations
    assert all(c.operation in WRITE_CALLS for c in write_calls), operations
    assert operations[:reads] == ["BatchGetItem"] * reads, operations  # reads come first
    for call in read_calls:
        tables = call.params["RequestItems"]
        assert tables and all(t.get("ConsistentRead") is True for t in tables.values()), tables


def batch_keys(call: Call) -> set[tuple[str, str, str]]:
    return {
        (table, key["pk"]["S"], key["sk"]["S"])
        for table, request in call.params["RequestItems"].items()
        for key in request["Keys"]
    }


def next_midnight(epoch: float) -> float:
    day = datetime.fromtimestamp(epoch, tz=UTC).date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()


# --- POST /auth/token -----------------------------------------------------------------------


def setup_mint(scenario: str, client: Any, env: Env, clock: FrozenClock) -> tuple[str, str]:
    """Bring user and key to the scenario's state; return the (userId, name) to mint for."""
    if scenario == "first-time user":
        return "user-1", "Ada"
    if scenario == "new user, key used within 60 s":
        mint(client, env, "someone-else")
        clock.advance(10)
        return "user-1", "Ada"
    if scenario == "returning user on a new day":
        clock.current = next_midnight(clock.now()) - 30
        mint(client, env)
        clock.advance(70)  # 00:00:40 the next day
        return "user-1", "Ada"
    mint(client, env)
    if scenario == "returning user within 60 s":
        clock.advance(30)
        return "user-1", "Ada"
    if scenario == "returning user after 60 s":
        clock.advance(61)
        return "user-1", "Ada"
    if scenario == "returning user, new name, within 60 s":
        clock.advance(30)
        return "user-1", "Ada Lovelace"
    raise AssertionError(scenario)


@pytest.mark.parametrize("scenario", list(MINT_BUDGETS))
def test_mint_budget(
    scenario: str,
    client: Any,
    services: runtime.Services,
    make_env: Callable[..., Env],
    clock: FrozenClock,
    dynamo_calls: DynamoCalls,
) -> None:
    env = make_env()
    user, name = setup_mint(scenario, client, env, clock)
    reads, writes = MINT_BUDGETS[scenario]

    with dynamo_calls.record() as calls:
        resp = post_token(client, f"Bearer {env.sk}", user, name)

    assert resp.status_code == 200, resp.body
    assert_budget(calls, reads, writes, rate=True)
    control, data = services.settings.control_table, services.settings.data_table
    minute = int(clock.now() // 60) * 60
    assert batch_keys(calls[0]) == {
        (control, env_pk(env.id), key_sk(env.sk_id)),
        (control, env_pk(env.id), "ENV"),
        (data, env_pk(env.id), f"USER#{user}"),
        # the caller's failed-authentication counters, checked before the key
        (control, f"RL#fail-ip:127.0.0.1#{minute}", "RL"),
        (control, f"RL#fail-key:{env.id}#{day_of(minute)}", f"RL#{env.sk_id}#{minute}"),
    }


@pytest.mark.parametrize("scenario", list(MINT_BUDGETS))
def test_a_restricted_keys_mint_costs_what_a_secret_keys_does(
    scenario: str,
    client: Any,
    services: runtime.Services,
    make_env: Callable[..., Env],
    clock: FrozenClock,
    dynamo_calls: DynamoCalls,
) -> None:
    """An rk_ key's scope is checked on the key item the one read already holds."""
    env = make_env()
    rk = services.environments.create_key(
        OWNER, env.id, "restricted", "minter", scopes=("tokens:mint",)
    )
    assert rk.key is not None
    env = dataclasses.replace(env, sk=rk.key, sk_id=rk.id)
    user, name = setup_mint(scenario, client, env, clock)
    reads, writes = MINT_BUDGETS[scenario]

    with dynamo_calls.record() as calls:
        resp = post_token(client, f"Bearer {env.sk}", user, name)

    assert resp.status_code == 200, resp.body
    assert_budget(calls, reads, writes, rate=True)


def test_the_first_mint_records_user_counters_and_key_use_in_one_transaction(
    client: Any, make_env: Callable[..., Env], dynamo_calls: DynamoCalls
) -> None:
    env = make_env()

    with dynamo_calls.record() as calls:
        mint(client, env)

    rate, write = calls[1:]
    assert is_rate_count(rate)
    assert write.operation == "TransactWriteItems"
    keys = [item["Update"]["Key"] for item in write.params["TransactItems"]]
    names = [k for k in keys if k["pk"]["S"].endswith("#UNAME")]  # found by name: users?q=
    touched = {k["sk"]["S"].split("#")[0] for k in keys if k not in names}
    assert touched == {"USER", "STATS", "KEY"}  # (a mint is not activity: no DAY count)
    assert names and all(k["sk"]["S"].endswith("#" + "user-1") for k in names), names


@pytest.mark.parametrize("scenario", list(NO_IO_MINTS))
def test_refused_keys_cost_no_dynamodb_call(
    scenario: str, client: Any, make_env: Callable[..., Env], dynamo_calls: DynamoCalls
) -> None:
    env = make_env()

    with dynamo_calls.record() as calls:
        resp = post_token(client, NO_IO_MINTS[scenario](env))

    assert resp.status_code == 401
    assert calls == []
    with dynamo_calls.record() as calls:  # the recorder does see a real mint
        mint(client, env)
    assert calls


def test_a_bad_body_with_a_valid_key_costs_no_dynamodb_call(
    client: Any, make_env: Callable[..., Env], dynamo_calls: DynamoCalls
) -> None:
    env = make_env()

    with dynamo_calls.record() as calls:
        resp = client.http.post(
            "/auth/token",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {env.sk}"},
            body=json.dumps({"userId": "", "name": "Ada"}),
        )

    assert resp.status_code == 400
    assert calls == []


# --- verify_connection, session auth, rotation ----------------------------------------------


def test_verify_connection_budget(
    client: Any,
    services: runtime.Services,
    make_env: Callable[..., Env],
    dynamo_calls: DynamoCalls,
) -> None:
    env = make_env()
    token = mint(client, env)

    with dynamo_calls.record() as calls:
        services.tokens.verify_connection(env.pk, token, connect_gate())

    assert_budget(calls, *OTHER_BUDGETS["verify_connection ($connect)"])
    control, data = services.settings.control_table, services.settings.data_table
    assert batch_keys(calls[0]) == {
        (control, env_pk(env.id), key_sk(env.pk_id)),
        (control, env_pk(env.id), "ENV"),
        (control, env_pk(env.id), key_sk(env.sk_id)),
        (data, env_pk(env.id), user_sk("user-1")),  # the user's token generation
    }


@pytest.mark.parametrize(
    "case",
    ["malformed pk", "sk as pk", "missing token", "junk token", "token of another environment"],
)
def test_verify_connection_refusals_before_the_read_cost_nothing(
    case: str,
    client: Any,
    services: runtime.Services,
    make_env: Callable[..., Env],
    dynamo_calls: DynamoCalls,
) -> None:
    env, other = make_env("A"), make_env("B")
    token = mint(client, env)
    pk, tok = {
        "malformed pk": (env.pk[:-1], token),
        "sk as pk": (env.sk, token),
        "missing token": (env.pk, None),
        "junk token": (env.pk, "a.b.c"),
        "token of another environment": (other.pk, token),
    }[case]

    with dynamo_calls.record() as calls, pytest.raises(Unauthenticated):
        services.tokens.verify_connection(pk, tok, connect_gate())

    assert calls == []


def test_admin_session_authentication_budget(
    client: Any, services: runtime.Services, dynamo_calls: DynamoCalls
) -> None:
    services.operators.create(None, "budget@example.com", "correct horse battery staple", "owner")
    session = services.operators.login("budget@example.com", "correct horse battery staple")

    with dynamo_calls.record() as calls:
        actor = services.operators.authenticate(session.token)

    assert actor.email == "budget@example.com"
    assert_budget(calls, *OTHER_BUDGETS["admin session authentication"])
    with dynamo_calls.record() as calls, pytest.raises(Unauthenticated):
        services.operators.authenticate("pso_malformed")
    assert calls == []


def test_rotation_is_one_read_and_one_transaction(
    services: runtime.Services, make_env: Callable[..., Env], dynamo_calls: DynamoCalls
) -> None:
    env = make_env()

    with dynamo_calls.record() as calls:
        (new_pk, new_sk), revoked = services.environments.rotate(OWNER, env.id)

    # After the commit, one consistent Query finds the environment's live WebSocket connections
    # (to close those opened with the revoked keys); with none live, nothing more happens.
    *rotation, lookup = calls
    assert lookup.operation == "Query", [c.operation for c in calls]
    assert lookup.params["KeyConditionExpression"] and lookup.params["ConsistentRead"] is True
    assert_budget(rotation, *OTHER_BUDGETS["rotate keys"])
    (transaction,) = rotation[1:]
    assert transaction.operation == "TransactWriteItems"
    items = transaction.params["TransactItems"]
    puts = {i["Put"]["Item"]["sk"]["S"] for i in items if "Put" in i}
    updates = {i["Update"]["Key"]["sk"]["S"] for i in items if "Update" in i}
    assert {key_sk(new_pk.id), key_sk(new_sk.id)} <= puts  # the new pair in ...
    assert {key_sk(env.pk_id), key_sk(env.sk_id), "ENV"} <= updates  # ... the old out, together
    assert sorted(revoked) == sorted([env.pk_id, env.sk_id])


def test_no_mint_budget_exceeds_one_read_and_one_write() -> None:
    # The budget for every mint; the table above must not quietly grow past it. (The
    # rate count, one UpdateItem of a counter item, came later with the abuse limits; it is
    # asserted on its own in test_mint_budget.)
    assert all(reads == 1 and writes <= 1 for reads, writes in MINT_BUDGETS.values())
