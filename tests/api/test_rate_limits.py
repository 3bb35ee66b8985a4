"""The abuse limits of the REST API v1 and of token minting (chalicelib/services/limits.py):
requests per second per environment and per key, failed authentications per minute per source
address and per key id, all counted in DynamoDB so every container shares them.

Each test builds the runtime graph with its own limits (tests/conftest.py puts every limit out of
reach for the rest of the suite) and sets the FrozenClock to a known point: 0.25 s into a second,
30.25 s into a minute, so every `Retry-After` is known exactly. chalice's test Client sends every
request from 127.0.0.1 (`requestContext.identity.sourceIp`); `from_source` changes that."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
from botocore.client import BaseClient
from faults.injector import THROTTLE, installed
from integration.conftest import DynamoCalls

from chalicelib import runtime
from chalicelib.auth import apikeys
from chalicelib.clock import FrozenClock
from chalicelib.config import RATE_FIELDS
from chalicelib.entities import Actor

from .helpers import Tenant, error, mint, new_tenant, ok, totals, v1

SYSTEM = Actor(id="op_0Q5cZkT8operator", email="owner@example.com", role="owner")
OFF = {attribute: 0 for attribute in RATE_FIELDS.values()}  # every limit off
LOCAL = "127.0.0.1"  # where chalice's test Client says every request comes from
ELSEWHERE = "198.51.100.7"


@pytest.fixture
def limits(services: runtime.Services, clock: FrozenClock) -> Callable[..., runtime.Services]:
    """Install a graph with these limits (every other one off) on the same tables and clock."""
    clock.current = int(clock.now()) // 60 * 60 + 30.25

    def install(**rates: int) -> runtime.Services:
        return with_limits(services, **rates)

    return install


def with_limits(services: runtime.Services, **rates: int) -> runtime.Services:
    """A new graph (as a new Lambda container builds one), installed."""
    settings = dataclasses.replace(services.settings, **{**OFF, **rates})
    graph = runtime.build(settings, services.clock)
    runtime.install(graph)
    return graph


@pytest.fixture
def dynamo_calls(monkeypatch: pytest.MonkeyPatch) -> DynamoCalls:
    """Every DynamoDB call while `record()` is open (tests/integration's recorder)."""
    recorder = DynamoCalls()
    monkeypatch.setattr(BaseClient, "_make_api_call", recorder.wrap(BaseClient._make_api_call))
    return recorder


@pytest.fixture
def tenant(services: runtime.Services) -> Tenant:
    return new_tenant(services, "Acme")


@pytest.fixture
def other(services: runtime.Services) -> Tenant:
    return new_tenant(services, "Globex")


def second_secret_key(services: runtime.Services, tenant: Tenant) -> str:
    key = services.environments.create_key(SYSTEM, tenant.id, "secret", "second backend")
    assert key.key is not None
    return key.key


def wrong_key(key_id: str, env_id: str, kind: apikeys.KeyKind = "secret") -> str:
    """A well-formed key (valid checksum) for an existing key id, with the wrong secret part:
    it passes every offline check and fails only against the stored digest."""
    return apikeys.generate(kind, env_id, key_id)


@contextmanager
def from_source(client: Any, address: str) -> Iterator[None]:
    """Requests inside come from `address` (API Gateway's requestContext.identity.sourceIp)."""
    converter = client.http._local_gateway.event_converter
    converter.LOCAL_SOURCE_IP = address
    try:
        yield
    finally:
        del converter.LOCAL_SOURCE_IP  # back to the class's 127.0.0.1


def rooms(client: Any, key: str) -> Any:
    return v1(client, "GET", "/rooms", key)


def refused(resp: Any, code: str, retry_after: int) -> str:
    """A 429 in the one error shape, with its Retry-After; the message."""
    err = error(resp, 429, code)
    assert resp.headers["Retry-After"] == str(retry_after), resp.headers
    return str(err["message"])


def counter_items() -> list[dict[str, Any]]:
    """Every abuse-limit counter in the control table."""
    settings = runtime.services().settings
    items = boto3.client("dynamodb").scan(TableName=settings.control_table, ConsistentRead=True)
    return [i for i in items["Items"] if i["pk"]["S"].startswith("RL#")]


def control_items_without_counters() -> list[str]:
    settings = runtime.services().settings
    items = boto3.client("dynamodb").scan(TableName=settings.control_table, ConsistentRead=True)
    return sorted(
        json.dumps(i, sort_keys=True) for i in items["Items"] if not i["pk"]["S"].startswith("RL#")
    )


# --- request rates: the REST API v1 ------------------------------------------------------------


def test_the_per_environment_rest_limit_answers_429_rate_limited_with_retry_after(
    client: Any, services: runtime.Services, tenant: Tenant, limits: Callable[..., Any]
) -> None:
    second = second_secret_key(services, tenant)
    limits(rate_rest_per_env=3)

    for key in (tenant.sk, second, tenant.sk):  # both keys spend the environment's budget
        ok(rooms(client, key))
    message = refused(rooms(client, second), "RATE_LIMITED", retry_after=1)

    assert "environment" in message and "3 API requests per second" in message
    # Refused, then refused again at once: the container remembers the counter is over.
    refused(v1(client, "POST", "/rooms", tenant.sk, {"id": "doc-1"}), "RATE_LIMITED", 1)
    assert totals(services, tenant.id)["rooms"] == 0  # a refused write wrote nothing


def test_the_per_key_limit_refuses_one_key_and_not_another_of_the_same_environment(
    client: Any, services: runtime.Services, tenant: Tenant, limits: Callable[..., Any]
) -> None:
    second = second_secret_key(services, tenant)
    limits(rate_rest_per_key=2)

    ok(rooms(client, tenant.sk))
    ok(rooms(client, tenant.sk))
    message = refused(rooms(client, tenant.sk), "RATE_LIMITED", retry_after=1)

    assert "key" in message and "2 API requests per second" in message
    ok(rooms(client, second))  # its own budget
    ok(rooms(client, second))
    refused(rooms(client, second), "RATE_LIMITED", retry_after=1)


def test_a_new_window_is_allowed_again(
    client: Any, tenant: Tenant, clock: FrozenClock, limits: Callable[..., Any]
) -> None:
    limits(rate_rest_per_env=2, rate_rest_per_key=2)
    ok(rooms(client, tenant.sk))
    ok(rooms(client, tenant.sk))
    refused(rooms(client, tenant.sk), "RATE_LIMITED", retry_after=1)

    clock.advance(0.5)  # still the same second
    refused(rooms(client, tenant.sk), "RATE_LIMITED", retry_after=1)
    clock.advance(0.25)  # the next second: a new window, counted from zero

    ok(rooms(client, tenant.sk))
    ok(rooms(client, tenant.sk))
    refused(rooms(client, tenant.sk), "RATE_LIMITED", retry_after=1)


def test_another_environment_is_unaffected(
    client: Any, tenant: Tenant, other: Tenant, limits: Callable[..., Any]
) -> None:
    limits(rate_rest_per_env=1)
    ok(rooms(client, tenant.sk))
    refused(rooms(client, tenant.sk), "RATE_LIMITED", retry_after=1)

    ok(rooms(client, other.sk))
    refused(rooms(client, other.sk), "RATE_LIMITED", retry_after=1)


def test_the_limit_is_shared_across_containers(
    client: Any, services: runtime.Services, tenant: Tenant, limits: Callable[..., Any]
) -> None:
    first = limits(rate_rest_per_env=3)
    ok(rooms(client, tenant.sk))
    ok(rooms(client, tenant.sk))
    second = with_limits(services, rate_rest_per_env=3)  # another container, same tables
    assert second.limits is not first.limits

    ok(rooms(client, tenant.sk))  # the third of the second, counted where the first counted
    refused(rooms(client, tenant.sk), "RATE_LIMITED", retry_after=1)
    runtime.install(first)
    refused(rooms(client, tenant.sk), "RATE_LIMITED", retry_after=1)
    (counter,) = [i for i in counter_items() if i["pk"]["S"].startswith(f"RL#env:{tenant.id}#")]
    assert int(counter["rest"]["N"]) == 5  # one counter: 3 allowed, then both refusals


def test_a_container_that_knows_the_limit_is_reached_refuses_without_counting(
    client: Any, tenant: Tenant, limits: Callable[..., Any], dynamo_calls: DynamoCalls
) -> None:
    limits(rate_rest_per_env=1)
    ok(rooms(client, tenant.sk))
    refused(rooms(client, tenant.sk), "RATE_LIMITED", retry_after=1)

    with dynamo_calls.record() as calls:
        refused(rooms(client, tenant.sk), "RATE_LIMITED", retry_after=1)

    assert [c.operation for c in calls] == ["BatchGetItem"]  # the key check, no count


# --- request rates: minting ---------------------------------------------------------------------


def test_the_mint_limits_per_environment_and_per_key(
    client: Any, services: runtime.Services, tenant: Tenant, limits: Callable[..., Any]
) -> None:
    second = second_secret_key(services, tenant)
    third = second_secret_key(services, tenant)
    limits(rate_mint_per_env=3, rate_mint_per_key=2)

    ok(mint(client, tenant.sk, "user-1"))
    ok(mint(client, tenant.sk, "user-2"))
    message = refused(mint(client, tenant.sk, "user-3"), "RATE_LIMITED", retry_after=1)
    assert "key" in message and "2 token mints per second" in message

    ok(mint(client, second, "user-4"))  # the environment's third
    message = refused(mint(client, third, "user-5"), "RATE_LIMITED", retry_after=1)
    assert "environment" in message and "3 token mints per second" in message

    assert totals(services, tenant.id)["users"] == 3  # refused mints record no user
    ok(rooms(client, tenant.sk))  # minting and the REST API are counted apart


def test_a_mint_in_a_new_window_and_in_another_environment_is_allowed(
    client: Any, tenant: Tenant, other: Tenant, clock: FrozenClock, limits: Callable[..., Any]
) -> None:
    limits(rate_mint_per_env=1)
    ok(mint(client, tenant.sk))
    refused(mint(client, tenant.sk), "RATE_LIMITED", retry_after=1)

    ok(mint(client, other.sk))
    clock.advance(1)
    ok(mint(client, tenant.sk))


# --- failed authentications ---------------------------------------------------------------------


def test_failed_authentications_from_one_source_refuse_even_a_good_key_from_it(
    client: Any,
    tenant: Tenant,
    other: Tenant,
    clock: FrozenClock,
    limits: Callable[..., Any],
    dynamo_calls: DynamoCalls,
) -> None:
    limits(auth_failures_per_source=3)
    for key in (wrong_key(tenant.sk_id, tenant.id), wrong_key(other.sk_id, other.id)):
        error(rooms(client, key), 401, "INVALID_API_KEY")
    error(mint(client, wrong_key(tenant.sk_id, tenant.id)), 401, "INVALID_API_KEY")  # counts too

    message = refused(rooms(client, tenant.sk), "TOO_MANY_FAILURES", retry_after=30)
    assert "address" in message
    refused(mint(client, other.sk), "TOO_MANY_FAILURES", retry_after=30)  # every key, every route
    with dynamo_calls.record() as calls:  # known here: refused before any read
        refused(rooms(client, tenant.sk), "TOO_MANY_FAILURES", retry_after=30)
    assert calls == []

    with from_source(client, ELSEWHERE):  # another address is not affected
        ok(rooms(client, tenant.sk))
        error(rooms(client, wrong_key(tenant.sk_id, tenant.id)), 401, "INVALID_API_KEY")
        ok(mint(client, other.sk))

    clock.advance(29.75)  # the next minute
    ok(rooms(client, tenant.sk))


def test_the_failure_limit_is_shared_across_containers(
    client: Any, services: runtime.Services, tenant: Tenant, limits: Callable[..., Any]
) -> None:
    first = limits(auth_failures_per_source=2)
    error(rooms(client, wrong_key(tenant.sk_id, tenant.id)), 401, "INVALID_API_KEY")
    with_limits(services, auth_failures_per_source=2)  # another container
    error(rooms(client, wrong_key(tenant.sk_id, tenant.id)), 401, "INVALID_API_KEY")

    runtime.install(first)  # it counted one failure only, and reads the shared count: two
    refused(rooms(client, tenant.sk), "TOO_MANY_FAILURES", retry_after=30)


def test_an_ipv6_source_is_counted_by_its_64(
    client: Any, tenant: Tenant, limits: Callable[..., Any]
) -> None:
    limits(auth_failures_per_source=2)
    for address in ("2001:db8:1:2::1", "2001:db8:1:2:ffff::9"):  # one /64, two hosts
        with from_source(client, address):
            error(rooms(client, wrong_key(tenant.sk_id, tenant.id)), 401, "INVALID_API_KEY")

    with from_source(client, "2001:db8:1:2::abcd"):
        refused(rooms(client, tenant.sk), "TOO_MANY_FAILURES", retry_after=30)
    with from_source(client, "2001:db8:1:3::1"):  # the next /64
        ok(rooms(client, tenant.sk))


def test_failures_per_key_id_refuse_its_wrong_keys_but_never_the_right_one(
    client: Any, services: runtime.Services, tenant: Tenant, limits: Callable[..., Any]
) -> None:
    """Key ids are public (every pk_, every token's kid): a limit that refused the right key too
    would let anyone lock a customer out with forged keys sent from many addresses."""
    second = second_secret_key(services, tenant)
    second_id = apikeys.parse(second)
    assert second_id is not None
    limits(auth_failures_per_key=3)
    for n in range(3):
        with from_source(client, f"198.51.100.{n + 1}"):  # spread over addresses
            error(rooms(client, wrong_key(tenant.sk_id, tenant.id)), 401, "INVALID_API_KEY")

    with from_source(client, "198.51.100.99"):
        message = refused(
            rooms(client, wrong_key(tenant.sk_id, tenant.id)), "TOO_MANY_FAILURES", 30
        )
        assert "key" in message
        refused(mint(client, wrong_key(tenant.sk_id, tenant.id)), "TOO_MANY_FAILURES", 30)
        ok(rooms(client, tenant.sk))  # the key's owner is not locked out
        ok(mint(client, tenant.sk))
        # Another key id of the same environment has its own count.
        wrong_second = wrong_key(second_id.key_id, tenant.id)
        error(rooms(client, wrong_second), 401, "INVALID_API_KEY")
        ok(rooms(client, second))


def test_a_malformed_key_costs_no_dynamodb_call_and_is_not_counted(
    client: Any, tenant: Tenant, limits: Callable[..., Any], dynamo_calls: DynamoCalls
) -> None:
    limits(auth_failures_per_source=1, auth_failures_per_key=1)
    sk = tenant.sk
    typo = sk[:30] + ("a" if sk[30] != "a" else "b") + sk[31:]  # the checksum catches it
    offline = {
        "sk_not-a-key": "INVALID_API_KEY",
        typo: "INVALID_API_KEY",
        sk + "x": "INVALID_API_KEY",
        tenant.pk: "SECRET_KEY_REQUIRED",
        # a well-formed key of an environment that does not exist is still read: not here
    }

    with dynamo_calls.record() as calls:
        for _ in range(3):
            for key, code in offline.items():
                error(rooms(client, key), 401, code)
                error(mint(client, key), 401, code)
            error(v1(client, "GET", "/rooms", None), 401, "MISSING_API_KEY")

    assert calls == []
    assert counter_items() == []
    ok(rooms(client, tenant.sk))  # none of them counted against this address or the key


def test_a_limit_of_zero_turns_it_off(
    client: Any, services: runtime.Services, tenant: Tenant, dynamo_calls: DynamoCalls
) -> None:
    ok(rooms(client, tenant.sk))  # lastUsedAt recorded now, not in the calls below
    with_limits(services)  # every limit 0
    before = counter_items()

    with dynamo_calls.record() as calls:
        for _ in range(5):
            ok(rooms(client, tenant.sk))
            ok(mint(client, tenant.sk))
            error(rooms(client, wrong_key(tenant.sk_id, tenant.id)), 401, "INVALID_API_KEY")
    ok(rooms(client, tenant.sk))

    assert counter_items() == before  # nothing counted
    for call in calls:  # and nothing read or written for the limits
        assert "RL#" not in json.dumps(call.params), call


@pytest.mark.parametrize("limit", ["rate", "failures"])
def test_counting_never_fails_a_request(
    client: Any, services: runtime.Services, tenant: Tenant, limits: Callable[..., Any], limit: str
) -> None:
    ok(rooms(client, tenant.sk))  # warm: lastUsedAt and the user are recorded now
    ok(mint(client, tenant.sk, "user-1"))
    limits(**{name: 1 for name in RATE_FIELDS.values()})  # every limit at 1
    before = counter_items()

    with installed() as faults:
        faults.fail("UpdateItem", THROTTLE)  # every count throttled, as DynamoDB does
        if limit == "rate":
            for _ in range(3):  # over the limit of 1, had it been counted
                ok(rooms(client, tenant.sk))
                ok(mint(client, tenant.sk, "user-1"))
        else:
            for _ in range(3):
                error(rooms(client, wrong_key(tenant.sk_id, tenant.id)), 401, "INVALID_API_KEY")
            ok(rooms(client, tenant.sk))

    assert faults.failed and all(op == "UpdateItem" for _, op, _ in faults.failed)
    assert counter_items() == before  # no count was taken, and no request failed for it
    assert "UpdateItem" in faults.calls and "TransactWriteItems" not in faults.calls


def test_a_refusal_for_failures_writes_nothing_but_counters(
    client: Any, tenant: Tenant, limits: Callable[..., Any]
) -> None:
    limits(auth_failures_per_source=1, rate_rest_per_env=10)
    before = control_items_without_counters()
    error(rooms(client, wrong_key(tenant.sk_id, tenant.id)), 401, "INVALID_API_KEY")
    refused(v1(client, "POST", "/rooms", tenant.sk, {"id": "doc-1"}), "TOO_MANY_FAILURES", 30)

    assert control_items_without_counters() == before
    kinds = sorted(i["pk"]["S"].split("#")[1].split(":")[0] for i in counter_items())
    assert kinds == ["fail-ip"]  # the refused request was not counted as a request
