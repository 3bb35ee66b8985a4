"""`POST /auth/token`: a customer backend mints a user token with its secret key; and the
verify function `$connect` uses (`services.tokens.verify_connection`) honours key lifecycle."""

from __future__ import annotations

import dataclasses
import json
import os
import time
from dataclasses import dataclass
from typing import Any

import jwt
import pytest
from callers import connect_gate

from chalicelib import ids, runtime
from chalicelib.auth import apikeys, tokens
from chalicelib.clock import FrozenClock, iso
from chalicelib.config import ConfigError, Settings
from chalicelib.entities import Actor, ApiKey, User
from chalicelib.errors import Unauthenticated
from chalicelib.repositories import users as users_repo
from chalicelib.services.tokens import PALETTE

ACTOR = Actor(id="op_0Q5cZkT8operator", email="owner@example.com", role="owner")
USER = {"userId": "user-1", "name": "Ada Lovelace"}


@dataclass(frozen=True)
class Env:
    id: str
    pk: str
    sk: str
    pk_id: str
    sk_id: str


def create_env(services: runtime.Services, name: str = "Acme") -> Env:
    env, (pk, sk) = services.environments.create(ACTOR, name)
    assert pk.key is not None and sk.key is not None
    return Env(env.id, pk.key, sk.key, pk.id, sk.id)


@pytest.fixture
def env(services: runtime.Services) -> Env:
    return create_env(services, "Acme")


@pytest.fixture
def other_env(services: runtime.Services) -> Env:
    return create_env(services, "Globex")


def post_token(
    client: Any,
    key: str | None,
    body: Any = None,
    *,
    raw: str | None = None,
    authorization: str | None = None,
) -> Any:
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    elif key is not None:
        headers["Authorization"] = f"Bearer {key}"
    data = raw if raw is not None else json.dumps(USER if body is None else body)
    return client.http.post("/auth/token", headers=headers, body=data)


def mint_ok(client: Any, key: str, body: Any = None) -> dict[str, Any]:
    resp = post_token(client, key, body)
    assert resp.status_code == 200, resp.body
    return resp.json_body  # type: ignore[no-any-return]


def error_of(resp: Any, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, (resp.status_code, resp.body)
    assert set(resp.json_body) == {"error"}
    err = resp.json_body["error"]
    assert err["code"] == code, err
    assert isinstance(err["message"], str) and err["message"]
    return err  # type: ignore[no-any-return]


def unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    return jwt.get_unverified_header(token), jwt.decode(token, options={"verify_signature": False})


def users_of(services: runtime.Services, env_id: str) -> list[User]:
    page = users_repo.list_users(
        env_id, limit=100, cursor=None, secret=services.settings.signing_secret
    )
    return page.data


def key_of(services: runtime.Services, env_id: str, key_id: str) -> ApiKey:
    page = services.environments.list_keys(env_id, None, 100, None)
    return next(k for k in page.data if k.id == key_id)


def refused_connection(
    services: runtime.Services, pk: str | None, token: str | None, code: str
) -> None:
    with pytest.raises(Unauthenticated) as caught:
        services.tokens.verify_connection(pk, token, connect_gate())
    assert caught.value.code == code


# --- success --------------------------------------------------------------------------------


def test_mint_returns_a_token_and_its_expiry(client: Any, env: Env, clock: FrozenClock) -> None:
    resp = post_token(client, env.sk)

    assert resp.status_code == 200
    assert set(resp.json_body) == {"token", "expiresAt"}
    assert resp.json_body["expiresAt"] == iso(int(clock.now()) + 900)
    assert resp.headers["Cache-Control"] == "no-store"


def test_token_header_and_claims(
    client: Any, env: Env, clock: FrozenClock, settings: Settings
) -> None:
    body = {**USER, "avatar": "https://example.com/ada.png"}
    token = mint_ok(client, env.sk, body)["token"]

    header, claims = unverified(token)

    assert header["alg"] == "HS256"
    assert header["kid"] == env.sk_id
    assert claims["iss"] == settings.token_issuer == "pulse:test"
    assert claims["aud"] == env.id
    assert claims["sub"] == "user-1"
    assert claims["name"] == "Ada Lovelace"
    assert claims["avatar"] == "https://example.com/ada.png"
    assert claims["color"] in PALETTE
    assert claims["iat"] == int(clock.now())
    assert claims["exp"] - claims["iat"] == 900
    assert isinstance(claims["jti"], str) and len(claims["jti"]) >= 16


def test_avatar_is_optional(client: Any, env: Env) -> None:
    _, claims = unverified(mint_ok(client, env.sk)["token"])

    assert claims["avatar"] is None


def test_color_is_the_same_for_a_user_across_mints_and_environments(
    client: Any, env: Env, other_env: Env
) -> None:
    colors = {
        unverified(mint_ok(client, key, {"userId": "user-42", "name": n})["token"])[1]["color"]
        for key, n in [(env.sk, "A"), (env.sk, "B"), (other_env.sk, "C")]
    }

    assert len(colors) == 1
    assert colors <= set(PALETTE)


def test_colors_spread_over_the_palette(client: Any, env: Env) -> None:
    colors = {
        unverified(mint_ok(client, env.sk, {"userId": f"u{i}", "name": "x"})["token"])[1]["color"]
        for i in range(40)
    }

    assert colors <= set(PALETTE)
    assert len(colors) >= 5


def test_every_token_has_a_unique_jti(client: Any, env: Env) -> None:
    jtis = [unverified(mint_ok(client, env.sk)["token"])[1]["jti"] for _ in range(10)]

    assert len(set(jtis)) == 10


def test_token_verifies_for_the_environments_publishable_key(
    client: Any, services: runtime.Services, env: Env
) -> None:
    token = mint_ok(client, env.sk, {**USER, "avatar": "https://example.com/a.png"})["token"]

    verified = services.tokens.verify_connection(env.pk, token, connect_gate())

    assert verified.env_id == env.id
    assert verified.publishable_key_id == env.pk_id
    assert verified.user.user_id == "user-1"
    assert verified.user.name == "Ada Lovelace"
    assert verified.user.avatar == "https://example.com/a.png"
    assert verified.user.key_id == env.sk_id


# --- token lifetime -------------------------------------------------------------------------


def test_token_ttl_is_configurable(
    client: Any, services: runtime.Services, settings: Settings, clock: FrozenClock, env: Env
) -> None:
    runtime.install(runtime.build(dataclasses.replace(settings, token_ttl_seconds=120), clock))

    resp = post_token(client, env.sk)

    _, claims = unverified(resp.json_body["token"])
    assert claims["exp"] - claims["iat"] == 120
    assert resp.json_body["expiresAt"] == iso(int(clock.now()) + 120)


@pytest.mark.parametrize(("raw", "ttl"), [(None, 900), ("60", 60), ("3600", 3600)])
def test_token_ttl_setting_accepts_one_minute_to_one_hour(raw: str | None, ttl: int) -> None:
    env = {k: val for k, val in os.environ.items() if k != "PULSE_TOKEN_TTL_SECONDS"}
    if raw is not None:
        env["PULSE_TOKEN_TTL_SECONDS"] = raw

    assert Settings.from_env(env).token_ttl_seconds == ttl


@pytest.mark.parametrize("raw", ["3601", "86400", "59", "0", "-900", "15m", "9e2"])
def test_token_ttl_setting_outside_one_minute_to_one_hour_is_a_config_error(raw: str) -> None:
    with pytest.raises(ConfigError):
        Settings.from_env({**os.environ, "PULSE_TOKEN_TTL_SECONDS": raw})


# --- the user is recorded -------------------------------------------------------------------


def test_the_user_is_recorded_in_the_environment(
    client: Any, services: runtime.Services, env: Env, other_env: Env, clock: FrozenClock
) -> None:
    body = {"userId": "user-1", "name": "Ada", "avatar": "https://example.com/ada.png"}
    token = mint_ok(client, env.sk, body)["token"]
    now = iso(clock.now())

    assert users_of(services, env.id) == [
        User(
            id="user-1",
            name="Ada",
            avatar="https://example.com/ada.png",
            color=unverified(token)[1]["color"],
            first_seen_at=now,
            last_seen_at=now,
        )
    ]
    assert users_of(services, other_env.id) == []


def test_first_seen_stays_while_last_seen_moves(
    client: Any, services: runtime.Services, env: Env, clock: FrozenClock
) -> None:
    first = iso(clock.now())
    mint_ok(client, env.sk)
    clock.advance(61)
    mint_ok(client, env.sk)

    (user,) = users_of(services, env.id)
    assert user.first_seen_at == first
    assert user.last_seen_at == iso(clock.now())
    assert user.last_seen_at > user.first_seen_at


def test_last_seen_is_not_rewritten_within_a_minute(
    client: Any, services: runtime.Services, env: Env, clock: FrozenClock
) -> None:
    first = iso(clock.now())
    mint_ok(client, env.sk)
    clock.advance(30)
    mint_ok(client, env.sk)

    (user,) = users_of(services, env.id)
    assert user.last_seen_at == first


def test_a_profile_change_is_recorded_at_once(
    client: Any, services: runtime.Services, env: Env, clock: FrozenClock
) -> None:
    mint_ok(client, env.sk, {"userId": "u", "name": "Ada", "avatar": "https://x.example/a.png"})
    clock.advance(5)
    mint_ok(client, env.sk, {"userId": "u", "name": "Ada L."})

    (user,) = users_of(services, env.id)
    assert (user.name, user.avatar) == ("Ada L.", None)


def test_the_same_user_id_in_two_environments_is_two_users(
    client: Any, services: runtime.Services, env: Env, other_env: Env
) -> None:
    mint_ok(client, env.sk, {"userId": "u", "name": "In A"})
    mint_ok(client, other_env.sk, {"userId": "u", "name": "In B"})

    assert [u.name for u in users_of(services, env.id)] == ["In A"]
    assert [u.name for u in users_of(services, other_env.id)] == ["In B"]


# --- the key's lastUsedAt -------------------------------------------------------------------


def test_last_used_at_is_set_on_first_mint_and_at_most_once_a_minute(
    client: Any, services: runtime.Services, env: Env, clock: FrozenClock
) -> None:
    assert key_of(services, env.id, env.sk_id).last_used_at is None
    first = iso(clock.now())

    mint_ok(client, env.sk)
    assert key_of(services, env.id, env.sk_id).last_used_at == first

    clock.advance(30)
    mint_ok(client, env.sk, {"userId": "someone-else", "name": "B"})
    assert key_of(services, env.id, env.sk_id).last_used_at == first

    clock.advance(31)
    mint_ok(client, env.sk)
    assert key_of(services, env.id, env.sk_id).last_used_at == iso(clock.now())
    assert key_of(services, env.id, env.pk_id).last_used_at is None


# --- key errors -----------------------------------------------------------------------------


def test_a_publishable_key_gets_secret_key_required(client: Any, env: Env) -> None:
    err = error_of(post_token(client, env.pk), 401, "SECRET_KEY_REQUIRED")

    assert "sk_" in err["suggestion"]


def test_a_malformed_publishable_key_also_gets_secret_key_required(client: Any) -> None:
    error_of(post_token(client, "pk_whatever"), 401, "SECRET_KEY_REQUIRED")


@pytest.mark.parametrize("authorization", [None, "", "Bearer", "Bearer    ", "Basic c2tfeA=="])
def test_missing_api_key(client: Any, authorization: str | None) -> None:
    resp = post_token(client, None, authorization=authorization)

    err = error_of(resp, 401, "MISSING_API_KEY")
    assert "suggestion" in err


@pytest.mark.parametrize(
    "mangle",
    [
        lambda k: k[:-1],
        lambda k: k + "x",
        lambda k: k[:10] + ("A" if k[10] != "A" else "B") + k[11:],
        lambda k: k[:40] + ("A" if k[40] != "A" else "B") + k[41:],
        lambda k: k[:-1] + ("A" if k[-1] != "A" else "B"),
        lambda k: k.upper(),
        lambda k: "sk_",
        lambda k: "sk_" + "A" * 60,
        lambda k: "hello",
        lambda k: k.replace("_", "-"),
    ],
    ids=[
        "truncated",
        "extended",
        "env-char",
        "secret-char",
        "checksum-char",
        "uppercased",
        "prefix-only",
        "bad-checksum",
        "junk",
        "wrong-separator",
    ],
)
def test_malformed_or_mistyped_secret_key_is_invalid(client: Any, env: Env, mangle: Any) -> None:
    err = error_of(post_token(client, mangle(env.sk)), 401, "INVALID_API_KEY")

    assert "suggestion" in err


def test_unknown_revoked_rotated_disabled_and_malformed_keys_get_one_identical_answer(
    client: Any, services: runtime.Services
) -> None:
    revoked, rotated, disabled, live = (create_env(services, n) for n in "ABCD")
    services.environments.revoke(ACTOR, revoked.id, revoked.sk_id)
    services.environments.rotate(ACTOR, rotated.id)
    services.environments.disable(ACTOR, disabled.id, services.environments.get(disabled.id).name)
    unknown = apikeys.generate("secret", ids.new_id("env"), ids.new_id("key"))
    # The live key's real env and key ids with another secret: the stored hash must not match.
    forged = apikeys.generate("secret", live.id, live.sk_id)
    assert forged != live.sk
    malformed = live.sk[:-1] + ("A" if live.sk[-1] != "A" else "B")

    responses = {
        name: post_token(client, key)
        for name, key in {
            "revoked": revoked.sk,
            "rotated": rotated.sk,
            "disabled": disabled.sk,
            "unknown": unknown,
            "forged": forged,
            "malformed": malformed,
        }.items()
    }

    bodies = {name: (r.status_code, r.json_body) for name, r in responses.items()}
    assert len({json.dumps(b, sort_keys=True) for b in bodies.values()}) == 1, bodies
    error_of(responses["unknown"], 401, "INVALID_API_KEY")
    mint_ok(client, live.sk)  # and the live key still works


def test_a_revoked_key_fails_on_the_very_next_call(
    client: Any, services: runtime.Services, env: Env
) -> None:
    mint_ok(client, env.sk)
    services.environments.revoke(ACTOR, env.id, env.sk_id)

    error_of(post_token(client, env.sk), 401, "INVALID_API_KEY")


def test_a_secret_key_of_a_disabled_environment_stops_at_once(
    client: Any, services: runtime.Services, env: Env
) -> None:
    mint_ok(client, env.sk)
    services.environments.disable(ACTOR, env.id, services.environments.get(env.id).name)

    error_of(post_token(client, env.sk), 401, "INVALID_API_KEY")


def test_lowercase_bearer_scheme_and_padding_are_accepted(client: Any, env: Env) -> None:
    resp = post_token(client, None, authorization=f"bearer   {env.sk}  ")

    assert resp.status_code == 200, resp.body


# --- body errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"name": "Ada"}, "userId", "MISSING_FIELD"),
        ({"userId": "u"}, "name", "MISSING_FIELD"),
        ({}, "userId", "MISSING_FIELD"),
        ({"userId": None, "name": "Ada"}, "userId", "MISSING_FIELD"),
        ({"userId": 42, "name": "Ada"}, "userId", "INVALID_INPUT"),
        ({"userId": ["u"], "name": "Ada"}, "userId", "INVALID_INPUT"),
        ({"userId": {"id": "u"}, "name": "Ada"}, "userId", "INVALID_INPUT"),
        ({"userId": True, "name": "Ada"}, "userId", "INVALID_INPUT"),
        ({"userId": "u", "name": 7}, "name", "INVALID_INPUT"),
        ({"userId": "", "name": "Ada"}, "userId", "INVALID_INPUT"),
        ({"userId": "u", "name": ""}, "name", "INVALID_INPUT"),
        ({"userId": "u" * 129, "name": "Ada"}, "userId", "INVALID_INPUT"),
        ({"userId": "u", "name": "n" * 129}, "name", "INVALID_INPUT"),
        ({"userId": "u\x00", "name": "Ada"}, "userId", "INVALID_INPUT"),
        ({"userId": "u", "name": "Ada\nLovelace"}, "name", "INVALID_INPUT"),
        ({**USER, "avatar": "javascript:alert(1)"}, "avatar", "INVALID_INPUT"),
        ({**USER, "avatar": "ftp://example.com/a.png"}, "avatar", "INVALID_INPUT"),
        ({**USER, "avatar": "data:image/png;base64,AAAA"}, "avatar", "INVALID_INPUT"),
        ({**USER, "avatar": "https://"}, "avatar", "INVALID_INPUT"),
        ({**USER, "avatar": "example.com/a.png"}, "avatar", "INVALID_INPUT"),
        ({**USER, "avatar": 1}, "avatar", "INVALID_INPUT"),
        ({**USER, "avatar": "https://example.com/" + "a" * 2029}, "avatar", "INVALID_INPUT"),
        ({**USER, "role": "admin"}, "role", "UNKNOWN_FIELD"),
        ({**USER, "exp": 9999999999}, "exp", "UNKNOWN_FIELD"),
    ],
)
def test_invalid_body_gets_400_naming_the_field(
    client: Any, services: runtime.Services, env: Env, body: dict[str, Any], field: str, code: str
) -> None:
    err = error_of(post_token(client, env.sk, body), 400, code)

    assert err["field"] == field
    assert users_of(services, env.id) == []


def test_limits_are_inclusive(client: Any, env: Env) -> None:
    avatar = "https://example.com/" + "a" * (2048 - len("https://example.com/"))
    body = {"userId": "u" * 128, "name": "n" * 128, "avatar": avatar}

    _, claims = unverified(mint_ok(client, env.sk, body)["token"])

    assert (len(claims["sub"]), len(claims["name"]), len(claims["avatar"])) == (128, 128, 2048)


@pytest.mark.parametrize(
    ("raw", "code"),
    [("{not json", "MALFORMED_JSON"), ("", "MISSING_BODY"), ("[1, 2]", "INVALID_INPUT")],
)
def test_a_body_that_is_not_a_json_object_gets_400(
    client: Any, env: Env, raw: str, code: str
) -> None:
    error_of(post_token(client, env.sk, raw=raw), 400, code)


def test_key_errors_come_before_body_errors(client: Any, env: Env) -> None:
    error_of(post_token(client, env.pk, {"bogus": 1}), 401, "SECRET_KEY_REQUIRED")
    error_of(post_token(client, None, raw="{not json"), 401, "MISSING_API_KEY")


# --- verify_connection: key lifecycle ends tokens -------------------------------------------


def test_revoking_the_minting_key_ends_its_tokens_but_not_another_keys(
    client: Any, services: runtime.Services, env: Env
) -> None:
    second = services.environments.create_key(ACTOR, env.id, "secret", "Second")
    assert second.key is not None
    old_token = mint_ok(client, env.sk)["token"]
    new_token = mint_ok(client, second.key)["token"]
    services.tokens.verify_connection(env.pk, old_token, connect_gate())

    services.environments.revoke(ACTOR, env.id, env.sk_id)

    refused_connection(services, env.pk, old_token, "INVALID_TOKEN")
    assert (
        services.tokens.verify_connection(env.pk, new_token, connect_gate()).user.key_id
        == second.id
    )


def test_rotation_ends_old_tokens_and_keys_and_new_ones_work(
    client: Any, services: runtime.Services, env: Env
) -> None:
    old_token = mint_ok(client, env.sk)["token"]

    (new_pk, new_sk), _ = services.environments.rotate(ACTOR, env.id)
    assert new_pk.key is not None and new_sk.key is not None
    new_token = mint_ok(client, new_sk.key)["token"]

    refused_connection(services, new_pk.key, old_token, "INVALID_TOKEN")
    refused_connection(services, env.pk, new_token, "INVALID_API_KEY")
    assert (
        services.tokens.verify_connection(new_pk.key, new_token, connect_gate()).user.key_id
        == new_sk.id
    )


def test_disabling_the_environment_ends_its_tokens(
    client: Any, services: runtime.Services, env: Env
) -> None:
    token = mint_ok(client, env.sk)["token"]
    services.environments.disable(ACTOR, env.id, services.environments.get(env.id).name)

    refused_connection(services, env.pk, token, "INVALID_API_KEY")


def test_a_token_of_one_environment_is_refused_with_anothers_publishable_key(
    client: Any, services: runtime.Services, env: Env, other_env: Env
) -> None:
    token = mint_ok(client, env.sk)["token"]

    refused_connection(services, other_env.pk, token, "INVALID_TOKEN")


def test_a_secret_key_is_refused_as_the_publishable_key(
    client: Any, services: runtime.Services, env: Env
) -> None:
    token = mint_ok(client, env.sk)["token"]

    refused_connection(services, env.sk, token, "PUBLISHABLE_KEY_REQUIRED")


@pytest.mark.parametrize("token", [None, "", "not-a-jwt", "a.b.c"])
def test_a_missing_or_junk_token_is_invalid(
    services: runtime.Services, env: Env, token: str | None
) -> None:
    refused_connection(services, env.pk, token, "INVALID_TOKEN")


def test_a_missing_publishable_key_is_refused(
    client: Any, services: runtime.Services, env: Env
) -> None:
    refused_connection(services, None, mint_ok(client, env.sk)["token"], "MISSING_API_KEY")


def test_an_expired_token_is_refused_by_the_injected_clock(
    client: Any, services: runtime.Services, env: Env, clock: FrozenClock
) -> None:
    token = mint_ok(client, env.sk)["token"]
    clock.advance(899)
    services.tokens.verify_connection(env.pk, token, connect_gate())

    clock.advance(1 + tokens.LEEWAY_SECONDS)

    refused_connection(services, env.pk, token, "INVALID_TOKEN")


def _sign(settings: Settings, *, aud: str, kid: str, signer: tuple[str, str]) -> str:
    """A token with a valid signature for `signer` (env, key): what a server-secret holder could
    forge. Used to show that a kid is resolved only inside the token's own environment."""
    now = int(time.time())
    claims = {
        "iss": settings.token_issuer,
        "aud": aud,
        "sub": "mallory",
        "name": "Mallory",
        "avatar": None,
        "color": PALETTE[0],
        "iat": now,
        "exp": now + 300,
        "jti": "f" * 32,
    }
    key = tokens.signing_key(settings.signing_secret, *signer)
    return jwt.encode(claims, key, "HS256", headers={"kid": kid})


def test_the_sign_helper_makes_tokens_that_verify(
    services: runtime.Services, settings: Settings, env: Env
) -> None:
    token = _sign(settings, aud=env.id, kid=env.sk_id, signer=(env.id, env.sk_id))

    assert (
        services.tokens.verify_connection(env.pk, token, connect_gate()).user.user_id == "mallory"
    )


def test_a_kid_of_another_environment_is_not_resolved(
    services: runtime.Services, settings: Settings, env: Env, other_env: Env
) -> None:
    # aud = env, kid = other_env's live secret key, signed as (env, that kid) and as its owner.
    for signer in ((env.id, other_env.sk_id), (other_env.id, other_env.sk_id)):
        token = _sign(settings, aud=env.id, kid=other_env.sk_id, signer=signer)
        refused_connection(services, env.pk, token, "INVALID_TOKEN")


def test_a_publishable_key_cannot_be_a_minting_key(
    services: runtime.Services, settings: Settings, env: Env
) -> None:
    token = _sign(settings, aud=env.id, kid=env.pk_id, signer=(env.id, env.pk_id))

    refused_connection(services, env.pk, token, "INVALID_TOKEN")
