"""Rolling one key with a grace period (POST .../keys/{keyId}/roll), keys that expire, keys held
to source addresses, and publishable keys shown in full (issue 17)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.auth import apikeys
from chalicelib.clock import FrozenClock, iso

from .helpers import API, Login, call, create_environment, error, list_all, mint, secret_of

ENVS = f"{API}/environments"
GRACES = {"1h": 3600, "24h": 86400, "3d": 3 * 86400, "7d": 7 * 86400}


@pytest.fixture
def env(client: Any, owner: Login) -> dict[str, Any]:
    return create_environment(client, owner.token)


def env_path(env: dict[str, Any]) -> str:
    return f"{ENVS}/{env['environment']['id']}"


def key_of(env: dict[str, Any], kind: str) -> dict[str, Any]:
    (key,) = [k for k in env["keys"] if k["kind"] == kind]
    return key


def roll(client: Any, token: str, env: dict[str, Any], key_id: str, expires_in: Any) -> Any:
    body = {"expiresIn": expires_in}
    return call(client, "POST", f"{env_path(env)}/keys/{key_id}/roll", token=token, body=body)


def keys_by_id(client: Any, token: str, env: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k["id"]: k for k in list_all(client, token, f"{env_path(env)}/keys")}


def create_key(client: Any, token: str, env: dict[str, Any], **body: Any) -> Any:
    return call(client, "POST", f"{env_path(env)}/keys", token=token, body=body)


@pytest.fixture
def source(client: Any) -> Iterator[Any]:
    """Set the source address API Gateway would report (requestContext.identity.sourceIp)."""
    converter = client.http._local_gateway.event_converter
    before = converter.LOCAL_SOURCE_IP

    def use(address: str) -> None:
        converter.LOCAL_SOURCE_IP = address

    yield use
    converter.LOCAL_SOURCE_IP = before


# --- roll ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["publishable", "secret"])
@pytest.mark.parametrize("grace", list(GRACES))
def test_a_roll_with_a_grace_makes_a_successor_and_marks_the_old_key_expiring(
    client: Any, owner: Login, env: dict[str, Any], clock: FrozenClock, kind: str, grace: str
) -> None:
    old = key_of(env, kind)

    resp = roll(client, owner.token, env, old["id"], grace)

    assert resp.status_code == 201, resp.body
    new = resp.json_body
    assert new["kind"] == kind and new["name"] == old["name"] and new["status"] == "active"
    assert new["id"] != old["id"] and new["key"].startswith(old["key"][:3])
    assert new["expiresAt"] is None
    keys = keys_by_id(client, owner.token, env)
    assert keys[old["id"]]["status"] == "expiring"
    assert keys[old["id"]]["expiresAt"] == iso(clock.now() + GRACES[grace])
    assert keys[new["id"]]["status"] == "active"


@pytest.mark.parametrize("kind", ["publishable", "secret"])
def test_a_roll_now_revokes_the_old_key_at_once(
    client: Any, owner: Login, env: dict[str, Any], clock: FrozenClock, kind: str
) -> None:
    old = key_of(env, kind)

    new = roll(client, owner.token, env, old["id"], "now").json_body

    keys = keys_by_id(client, owner.token, env)
    assert keys[old["id"]]["status"] == "revoked"
    assert keys[old["id"]]["revokedAt"] == iso(clock.now())
    assert keys[new["id"]]["status"] == "active"


@pytest.mark.parametrize("grace", list(GRACES))
def test_a_secret_key_rolled_with_a_grace_works_until_its_end_then_is_refused_as_revoked(
    client: Any, owner: Login, env: dict[str, Any], clock: FrozenClock, grace: str
) -> None:
    old_sk = secret_of(env)
    new = roll(client, owner.token, env, key_of(env, "secret")["id"], grace).json_body

    clock.advance(GRACES[grace] - 1)
    assert mint(client, old_sk).status_code == 200
    assert mint(client, new["key"]).status_code == 200

    clock.advance(1)
    error(mint(client, old_sk), 401, "INVALID_API_KEY")
    assert mint(client, new["key"]).status_code == 200
    resp = call(client, "GET", "/api/v1/rooms", token=old_sk)
    error(resp, 401, "INVALID_API_KEY")


def test_a_secret_key_rolled_now_is_refused_on_the_next_call(
    client: Any, owner: Login, env: dict[str, Any]
) -> None:
    old_sk = secret_of(env)
    new = roll(client, owner.token, env, key_of(env, "secret")["id"], "now").json_body

    error(mint(client, old_sk), 401, "INVALID_API_KEY")
    assert mint(client, new["key"]).status_code == 200


def test_the_roll_is_audited(client: Any, owner: Login, env: dict[str, Any]) -> None:
    old = key_of(env, "secret")
    new = roll(client, owner.token, env, old["id"], "24h").json_body

    events = call(client, "GET", f"{env_path(env)}/audit", token=owner.token).json_body["data"]

    event = events[0]
    assert event["action"] == "key.rolled"
    assert event["target"] == {"type": "key", "id": old["id"]}
    assert event["details"]["newKeyId"] == new["id"]
    assert event["details"]["expiresIn"] == "24h"
    assert new["key"] not in str(events)


def test_the_rolled_secret_is_shown_once(client: Any, owner: Login, env: dict[str, Any]) -> None:
    new = roll(client, owner.token, env, key_of(env, "secret")["id"], "1h").json_body

    listed = keys_by_id(client, owner.token, env)[new["id"]]

    assert "key" not in listed
    assert new["key"] not in str(keys_by_id(client, owner.token, env))


def test_a_rolled_secret_key_keeps_its_allowed_addresses(
    client: Any, owner: Login, env: dict[str, Any]
) -> None:
    made = create_key(client, owner.token, env, kind="secret", allowedIps=["10.1.0.0/16"])
    new = roll(client, owner.token, env, made.json_body["id"], "1h").json_body

    assert new["allowedIps"] == ["10.1.0.0/16"]


def test_a_second_roll_never_lengthens_the_old_keys_life(
    client: Any, owner: Login, env: dict[str, Any], clock: FrozenClock
) -> None:
    old = key_of(env, "secret")
    roll(client, owner.token, env, old["id"], "1h")

    assert roll(client, owner.token, env, old["id"], "7d").status_code == 201

    assert keys_by_id(client, owner.token, env)[old["id"]]["expiresAt"] == iso(clock.now() + 3600)


@pytest.mark.parametrize(
    ("body", "field"),
    [({"expiresIn": "2h"}, "expiresIn"), ({}, "expiresIn"), ({"expiresIn": 3600}, "expiresIn")],
)
def test_a_roll_needs_one_of_the_graces(
    client: Any, owner: Login, env: dict[str, Any], body: dict[str, Any], field: str
) -> None:
    key_id = key_of(env, "secret")["id"]
    resp = call(client, "POST", f"{env_path(env)}/keys/{key_id}/roll", token=owner.token, body=body)

    err = error(resp, 400)
    assert err["field"] == field
    assert len(keys_by_id(client, owner.token, env)) == 2  # nothing written


def test_a_roll_of_an_unknown_key_is_a_404(client: Any, owner: Login, env: dict[str, Any]) -> None:
    error(roll(client, owner.token, env, "key_0000000000000000", "1h"), 404, "KEY_NOT_FOUND")


def test_a_revoked_key_cannot_be_rolled(client: Any, owner: Login, env: dict[str, Any]) -> None:
    key_id = key_of(env, "secret")["id"]
    call(client, "POST", f"{env_path(env)}/keys/{key_id}/revoke", token=owner.token)

    error(roll(client, owner.token, env, key_id, "1h"), 409, "KEY_ALREADY_REVOKED")


def test_an_expired_key_cannot_be_rolled(
    client: Any, owner: Login, env: dict[str, Any], clock: FrozenClock
) -> None:
    key_id = key_of(env, "secret")["id"]
    roll(client, owner.token, env, key_id, "1h")
    clock.advance(3600)

    error(roll(client, owner.token, env, key_id, "1h"), 409, "KEY_EXPIRED")


def test_a_viewer_cannot_roll(client: Any, viewer: Login, env: dict[str, Any]) -> None:
    error(roll(client, viewer.token, env, key_of(env, "secret")["id"], "1h"), 403, "ROLE_REQUIRED")


def test_rotate_still_replaces_the_pair_at_once(
    client: Any, owner: Login, env: dict[str, Any]
) -> None:
    old_sk = secret_of(env)
    rotated = call(client, "POST", f"{env_path(env)}/keys/rotate", token=owner.token).json_body

    error(mint(client, old_sk), 401, "INVALID_API_KEY")
    assert mint(client, secret_of(rotated)).status_code == 200


# --- publishable keys are public ---------------------------------------------------------------


def test_the_key_list_shows_a_pk_in_full_at_any_time(
    client: Any, owner: Login, env: dict[str, Any]
) -> None:
    pk = key_of(env, "publishable")
    made = create_key(client, owner.token, env, kind="publishable", name="web").json_body
    rolled = roll(client, owner.token, env, pk["id"], "1h").json_body

    keys = keys_by_id(client, owner.token, env)

    assert keys[pk["id"]]["key"] == pk["key"]
    assert keys[made["id"]]["key"] == made["key"]
    assert keys[rolled["id"]]["key"] == rolled["key"]
    assert all("key" not in k for k in keys.values() if k["kind"] == "secret")


# --- expiry --------------------------------------------------------------------------------------


def test_a_secret_key_with_an_end_works_until_it_then_is_refused_as_revoked(
    client: Any, owner: Login, env: dict[str, Any], clock: FrozenClock
) -> None:
    ends = iso(clock.now() + 600)
    made = create_key(client, owner.token, env, kind="secret", expiresAt=ends)
    assert made.status_code == 201, made.body
    assert made.json_body["expiresAt"] == ends
    assert keys_by_id(client, owner.token, env)[made.json_body["id"]]["status"] == "expiring"

    clock.advance(599)
    assert mint(client, made.json_body["key"]).status_code == 200
    clock.advance(1)
    error(mint(client, made.json_body["key"]), 401, "INVALID_API_KEY")
    assert keys_by_id(client, owner.token, env)[made.json_body["id"]]["status"] == "expired"


def test_an_end_with_an_offset_is_kept_in_utc(
    client: Any, owner: Login, env: dict[str, Any], clock: FrozenClock
) -> None:
    made = create_key(
        client, owner.token, env, kind="secret", expiresAt="2099-01-01T02:00:00+02:00"
    )

    # More than a year ahead: refused (the sane maximum); the same instant a month ahead is kept.
    error(made, 400, "INVALID_INPUT")
    soon = iso(clock.now() + 30 * 86400)
    body = create_key(client, owner.token, env, kind="secret", expiresAt=soon[:-5] + "+00:00")
    assert body.json_body["expiresAt"] == soon[:-5] + ".000Z"


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("tomorrow", "ISO 8601"),
        ("2026-13-01T00:00:00Z", "ISO 8601"),
        ("2030-01-01T00:00:00", "offset"),
        (12345, "string"),
        ("2020-01-01T00:00:00Z", "future"),
    ],
)
def test_a_bad_end_is_a_400_naming_expires_at(
    client: Any, owner: Login, env: dict[str, Any], value: Any, says: str
) -> None:
    err = error(create_key(client, owner.token, env, kind="secret", expiresAt=value), 400)

    assert err["field"] == "expiresAt" and says in err["message"], err
    assert len(keys_by_id(client, owner.token, env)) == 2


@pytest.mark.parametrize("field", ["expiresAt", "allowedIps"])
def test_a_publishable_key_takes_no_end_or_addresses(
    client: Any, owner: Login, env: dict[str, Any], clock: FrozenClock, field: str
) -> None:
    value = iso(clock.now() + 60) if field == "expiresAt" else ["10.0.0.0/8"]
    err = error(create_key(client, owner.token, env, kind="publishable", **{field: value}), 400)

    assert err["field"] == field


# --- addresses -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("networks", "address"),
    [
        (["203.0.113.0/24"], "203.0.113.77"),
        (["198.51.100.7"], "198.51.100.7"),
        (["2001:db8::/32"], "2001:db8:abcd::1"),
        (["10.0.0.0/8", "2001:db8::1/128"], "2001:db8::1"),
    ],
)
def test_a_key_is_accepted_from_its_networks(
    client: Any, owner: Login, env: dict[str, Any], source: Any, networks: list[str], address: str
) -> None:
    made = create_key(client, owner.token, env, kind="secret", allowedIps=networks).json_body
    source(address)

    assert mint(client, made["key"]).status_code == 200
    assert call(client, "GET", "/api/v1/rooms", token=made["key"]).status_code == 200


@pytest.mark.parametrize(
    ("networks", "address"),
    [
        (["203.0.113.0/24"], "203.0.114.1"),
        (["2001:db8::/32"], "2001:db9::1"),
        (["203.0.113.0/24"], "2001:db8::1"),
        (["2001:db8::/32"], "203.0.113.1"),
    ],
)
def test_a_key_is_refused_from_elsewhere_with_403_ip_not_allowed(
    client: Any, owner: Login, env: dict[str, Any], source: Any, networks: list[str], address: str
) -> None:
    made = create_key(client, owner.token, env, kind="secret", allowedIps=networks).json_body
    source(address)

    error(mint(client, made["key"]), 403, "IP_NOT_ALLOWED")
    error(call(client, "GET", "/api/v1/rooms", token=made["key"]), 403, "IP_NOT_ALLOWED")
    assert mint(client, secret_of(env)).status_code == 200  # a key without addresses: anywhere


def test_a_forged_forwarded_for_header_is_ignored(
    client: Any, owner: Login, env: dict[str, Any], source: Any
) -> None:
    made = create_key(client, owner.token, env, kind="secret", allowedIps=["203.0.113.0/24"])
    source("192.0.2.1")
    forged = {"X-Forwarded-For": "203.0.113.5", "X-Real-IP": "203.0.113.5"}

    resp = call(client, "GET", "/api/v1/rooms", token=made.json_body["key"], headers=forged)

    error(resp, 403, "IP_NOT_ALLOWED")


def test_a_wrong_key_from_elsewhere_is_still_a_401(
    client: Any, owner: Login, env: dict[str, Any], source: Any
) -> None:
    """The address is checked only for a genuine key: it tells a guesser nothing."""
    made = create_key(client, owner.token, env, kind="secret", allowedIps=["203.0.113.0/24"])
    key = made.json_body["key"]
    source("192.0.2.1")
    other = secret_of(create_environment(client, owner.token, "Other"))

    error(mint(client, key[:-10] + other[-10:]), 401, "INVALID_API_KEY")


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ([], "1-20"),
        (["10.0.0.0/33"], "CIDR"),
        (["not an address"], "CIDR"),
        ([42], "CIDR"),
        ("10.0.0.0/8", "list"),
        ([f"10.0.{i}.0/24" for i in range(21)], "1-20"),
        (["10.0.0.0/8", "10.0.0.0/8"], "repeat"),
    ],
)
def test_bad_allowed_ips_are_a_400_naming_the_field(
    client: Any, owner: Login, env: dict[str, Any], value: Any, says: str
) -> None:
    err = error(create_key(client, owner.token, env, kind="secret", allowedIps=value), 400)

    assert err["code"] == "INVALID_INPUT" and err["field"] == "allowedIps", err
    assert says in err["message"], err
    assert len(keys_by_id(client, owner.token, env)) == 2


def test_twenty_networks_are_accepted_in_their_normal_form(
    client: Any, owner: Login, env: dict[str, Any]
) -> None:
    networks = [f"10.0.{i}.1/24" for i in range(19)] + ["2001:DB8::1/32"]
    made = create_key(client, owner.token, env, kind="secret", allowedIps=networks)

    assert made.status_code == 201, made.body
    assert made.json_body["allowedIps"][0] == "10.0.0.0/24"
    assert made.json_body["allowedIps"][-1] == "2001:db8::/32"


# --- the environment tells its keys' ends --------------------------------------------------------


def test_the_environment_lists_its_active_keys_ends_soonest_first(
    client: Any, owner: Login, env: dict[str, Any], clock: FrozenClock
) -> None:
    sk, pk = key_of(env, "secret"), key_of(env, "publishable")
    later = iso(clock.now() + 10 * 86400)
    made = create_key(client, owner.token, env, kind="secret", expiresAt=later).json_body
    roll(client, owner.token, env, pk["id"], "3d")
    roll(client, owner.token, env, sk["id"], "1h")

    def ends() -> list[dict[str, str]]:
        got = call(client, "GET", env_path(env), token=owner.token).json_body
        listed = call(client, "GET", ENVS, token=owner.token).json_body["data"]
        assert [e["keyEnds"] for e in listed if e["id"] == got["id"]] == [got["keyEnds"]]
        return list(got["keyEnds"])

    assert ends() == [
        {"keyId": sk["id"], "expiresAt": iso(clock.now() + 3600)},
        {"keyId": pk["id"], "expiresAt": iso(clock.now() + 3 * 86400)},
        {"keyId": made["id"], "expiresAt": later},
    ]
    call(client, "POST", f"{env_path(env)}/keys/{made['id']}/revoke", token=owner.token)
    assert [e["keyId"] for e in ends()] == [sk["id"], pk["id"]]
    roll(client, owner.token, env, pk["id"], "now")
    assert [e["keyId"] for e in ends()] == [sk["id"]]
    call(client, "POST", f"{env_path(env)}/keys/rotate", token=owner.token)
    assert ends() == []


# --- usage per key -------------------------------------------------------------------------------


def relogin(client: Any, owner: Login) -> str:
    """A fresh session (the clock moved past the last one's end)."""
    body = {"email": owner.email, "password": owner.password}
    resp = call(client, "POST", f"{API}/login", body=body)
    assert resp.status_code == 200, resp.body
    return str(resp.json_body["token"])


def usage(client: Any, token: str, env: dict[str, Any]) -> dict[str, Any]:
    resp = call(client, "GET", f"{env_path(env)}/keys/usage", token=token)
    assert resp.status_code == 200, resp.body
    body: dict[str, Any] = resp.json_body
    return body


def test_usage_counts_each_keys_requests_mints_and_refusals_per_day_exactly(
    client: Any, owner: Login, env: dict[str, Any], clock: FrozenClock
) -> None:
    sk = secret_of(env)
    sk_id = key_of(env, "secret")["id"]
    other = create_key(client, owner.token, env, kind="secret", name="other").json_body
    # The right ids and checksum, another secret: a wrong key, counted against sk's key id.
    wrong = apikeys.generate("secret", env["environment"]["id"], sk_id)
    # Yesterday: 2 REST calls and 1 mint with sk, 1 mint with the other key.
    for _ in range(2):
        assert call(client, "GET", "/api/v1/rooms", token=sk).status_code == 200
    assert mint(client, sk).status_code == 200
    assert mint(client, other["key"]).status_code == 200
    clock.advance(86400)
    # Today: 3 REST calls, 2 mints, 2 refusals (a wrong secret carrying sk's ids).
    for _ in range(3):
        assert call(client, "GET", "/api/v1/rooms", token=sk).status_code == 200
        clock.advance(1)  # across seconds: each second is its own counter item
    for _ in range(2):
        assert mint(client, sk).status_code == 200
    for _ in range(2):
        error(call(client, "GET", "/api/v1/rooms", token=wrong), 401, "INVALID_API_KEY")
    body = usage(client, relogin(client, owner), env)

    assert len(body["days"]) == 30 and body["days"][-1] == iso(clock.now())[:10]
    by_key = {k["keyId"]: k for k in body["keys"]}
    assert set(by_key) == {sk_id, other["id"]}
    mine = by_key[sk_id]
    assert (mine["requests"][-2:], mine["mints"][-2:], mine["refusals"][-2:]) == (
        [2, 3],
        [1, 2],
        [0, 2],
    )
    assert sum(mine["requests"]) == 5 and sum(mine["mints"]) == 3
    assert by_key[other["id"]]["mints"][-2:] == [1, 0]


def test_usage_keeps_thirty_days(
    client: Any, owner: Login, env: dict[str, Any], clock: FrozenClock
) -> None:
    assert call(client, "GET", "/api/v1/rooms", token=secret_of(env)).status_code == 200
    clock.advance(29 * 86400)

    assert [k["requests"][0] for k in usage(client, relogin(client, owner), env)["keys"]] == [1]
    clock.advance(86400)
    assert usage(client, relogin(client, owner), env)["keys"] == []


def test_usage_of_an_unknown_environment_is_a_404(client: Any, owner: Login) -> None:
    resp = call(client, "GET", f"{ENVS}/env_0000000000000000/keys/usage", token=owner.token)

    error(resp, 404, "ENVIRONMENT_NOT_FOUND")
