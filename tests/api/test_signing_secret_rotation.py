"""Rotating the token signing secret: tokens signed with the previous secret keep verifying at
`$connect` while it is configured, new tokens use the new one, and dropping it ends the old."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from callers import connect_gate

from chalicelib import runtime
from chalicelib.clock import FrozenClock
from chalicelib.config import Settings
from chalicelib.entities import Actor
from chalicelib.errors import Unauthenticated

ACTOR = Actor(id="op_0Q5cZkT8operator", email="owner@example.com", role="owner")
OLD = b"old-signing-secret-0123456789abcdef0123456789"
NEW = b"new-signing-secret-0123456789abcdef0123456789"


def rebuild(settings: Settings, clock: FrozenClock, **changes: Any) -> runtime.Services:
    """The services as a new container would build them after the secrets changed."""
    graph = runtime.build(dataclasses.replace(settings, **changes), clock)
    runtime.install(graph)
    return graph


def mint(client: Any, sk: str) -> str:
    resp = client.http.post(
        "/auth/token",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {sk}"},
        body=json.dumps({"userId": "user-1", "name": "Ada"}),
    )
    assert resp.status_code == 200, resp.body
    return str(resp.json_body["token"])


@pytest.fixture
def keys(services: runtime.Services, settings: Settings, clock: FrozenClock) -> tuple[str, str]:
    rebuild(settings, clock, signing_secret=OLD)
    _, (pk, sk) = runtime.services().environments.create(ACTOR, "Acme")
    assert pk.key is not None and sk.key is not None
    return pk.key, sk.key


def test_a_token_of_the_previous_secret_verifies_during_the_rotation(
    client: Any, keys: tuple[str, str], settings: Settings, clock: FrozenClock
) -> None:
    pk, sk = keys
    old_token = mint(client, sk)

    graph = rebuild(settings, clock, signing_secret=NEW, previous_signing_secret=OLD)

    assert graph.tokens.verify_connection(pk, old_token, connect_gate()).user.user_id == "user-1"
    new_token = mint(client, sk)
    assert new_token != old_token
    assert graph.tokens.verify_connection(pk, new_token, connect_gate()).user.user_id == "user-1"


def test_new_tokens_are_signed_with_the_new_secret_only(
    client: Any, keys: tuple[str, str], settings: Settings, clock: FrozenClock
) -> None:
    pk, sk = keys
    rebuild(settings, clock, signing_secret=NEW, previous_signing_secret=OLD)
    new_token = mint(client, sk)

    graph = rebuild(settings, clock, signing_secret=OLD)  # a container still on the old secret

    with pytest.raises(Unauthenticated):
        graph.tokens.verify_connection(pk, new_token, connect_gate())


def test_dropping_the_previous_secret_ends_its_tokens(
    client: Any, keys: tuple[str, str], settings: Settings, clock: FrozenClock
) -> None:
    pk, sk = keys
    old_token = mint(client, sk)

    graph = rebuild(settings, clock, signing_secret=NEW, previous_signing_secret=None)

    with pytest.raises(Unauthenticated) as caught:
        graph.tokens.verify_connection(pk, old_token, connect_gate())
    assert caught.value.code == "INVALID_TOKEN"


def test_the_previous_secret_does_not_extend_a_token_past_its_expiry(
    client: Any, keys: tuple[str, str], settings: Settings, clock: FrozenClock
) -> None:
    pk, sk = keys
    old_token = mint(client, sk)
    clock.advance(settings.token_ttl_seconds + 60)

    graph = rebuild(settings, clock, signing_secret=NEW, previous_signing_secret=OLD)

    with pytest.raises(Unauthenticated):
        graph.tokens.verify_connection(pk, old_token, connect_gate())
