"""Sockets and tokens across a roll (issue 17): a publishable key rolled with a grace keeps its
sockets until it ends, then a queued job closes them; a secret key rolled with a grace leaves its
tokens valid until their own `exp`; a roll `now` cuts at once, as a revoke."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from chalicelib import webhook_handlers
from chalicelib.errors import Unauthenticated
from chalicelib.services.environments import KEY_EXPIRY_JOB

from .conftest import OWNER, Env, FakeApi, Gateway, connection_rows, mint

ROOM = "room-1"


@dataclass
class FakeQueue:
    """The delivery queue: what was sent, with its delay."""

    sent: list[tuple[dict[str, Any], int]] = field(default_factory=list)

    def send(self, message: dict[str, Any], delay_seconds: int = 0) -> None:
        self.sent.append((json.loads(json.dumps(message)), delay_seconds))


@pytest.fixture
def queue(gw: Gateway) -> FakeQueue:
    q = FakeQueue()
    gw.graph.environments.queue = q
    return q


def alive(fake: FakeApi, *cids: str) -> None:
    for cid in cids:
        assert cid not in fake.closed, cid
        assert len(connection_rows(cid)) == 3, cid


def kicked(fake: FakeApi, *cids: str) -> None:
    for cid in cids:
        assert fake.closed.count(cid) == 1, (cid, fake.closed)
        assert connection_rows(cid) == [], cid


def fire(message: dict[str, Any]) -> None:
    """The queued message handed to the Lambda that consumes the queue, as SQS does."""
    webhook_handlers.attempts({"Records": [{"body": json.dumps(message)}]})


def test_a_pk_rolled_with_a_grace_keeps_its_sockets_until_it_ends_then_they_close(
    gw: Gateway, env: Env, queue: FakeQueue
) -> None:
    graph = gw.reconfigure(key_grace_seconds=60)
    graph.environments.queue = queue
    old = gw.connect(env, "ada", ROOM)
    new_pk = graph.environments.roll(OWNER, env.id, env.pk_id, "1h")
    assert new_pk.key is not None
    fresh = Env(env.id, new_pk.key, env.sk, new_pk.id, env.sk_id)

    # During the grace both keys connect, and the old socket stays.
    during = gw.connect(env, "grace", ROOM)
    with_new = gw.connect(fresh, "linus", ROOM)
    alive(gw.fake, old, during, with_new)
    ((message, delay),) = queue.sent
    assert message["job"] == KEY_EXPIRY_JOB and message["keyId"] == env.pk_id
    assert delay == 60

    # Fired early (a chained wait), it waits again and closes nothing.
    gw.clock.advance(30)
    fire(message)
    alive(gw.fake, old, during)
    assert queue.sent[-1] == (message, 30)

    gw.clock.advance(30)
    query = {"apiKey": env.pk, "token": mint(env.sk, "eve"), "room": ROOM}
    gw.refused(query, 401, "INVALID_API_KEY")  # no new socket with the ended key
    fire(message)
    kicked(gw.fake, old, during)
    alive(gw.fake, with_new)


def test_a_week_long_grace_is_chained_past_sqs_longest_delay(
    gw: Gateway, env: Env, queue: FakeQueue
) -> None:
    gw.graph.environments.roll(OWNER, env.id, env.pk_id, "7d")

    ((message, delay),) = queue.sent
    assert delay == 900
    fire(message)
    assert queue.sent[-1] == (message, 900)


def test_the_job_leaves_a_key_that_works_again_alone(
    gw: Gateway, env: Env, queue: FakeQueue
) -> None:
    """It reads the key again when it fires: a key that does not end then keeps its sockets."""
    old = gw.connect(env, "ada", ROOM)
    message = {"job": KEY_EXPIRY_JOB, "envId": env.id, "keyId": env.pk_id, "at": 0}

    fire(message)

    alive(gw.fake, old)


def test_a_pk_rolled_now_closes_its_sockets_at_once(
    gw: Gateway, env: Env, queue: FakeQueue
) -> None:
    old = gw.connect(env, "ada", ROOM)

    gw.graph.environments.roll(OWNER, env.id, env.pk_id, "now")

    kicked(gw.fake, old)
    assert queue.sent == []


def test_a_token_minted_before_a_grace_roll_stays_valid_after_its_key_ends(
    gw: Gateway, env: Env
) -> None:
    graph = gw.reconfigure(key_grace_seconds=60)
    token = mint(env.sk, "ada")
    graph.environments.roll(OWNER, env.id, env.sk_id, "24h")
    gw.clock.advance(61)  # the old sk has ended; the token's exp (15 minutes) has not

    with pytest.raises(Unauthenticated) as refused:
        mint(env.sk, "grace")
    assert refused.value.code == "INVALID_API_KEY"
    cid = gw.connect(env, "ada", ROOM, token=token)
    alive(gw.fake, cid)


def test_a_socket_opened_by_an_sk_rolled_with_a_grace_stays_open(
    gw: Gateway, env: Env, queue: FakeQueue
) -> None:
    cid = gw.connect(env, "ada", ROOM)

    gw.graph.environments.roll(OWNER, env.id, env.sk_id, "1h")

    alive(gw.fake, cid)
    assert queue.sent == []  # only a pk_'s sockets are closed at its end


def test_a_roll_now_of_an_sk_kills_its_tokens_and_sockets(gw: Gateway, env: Env) -> None:
    token = mint(env.sk, "grace")
    cid = gw.connect(env, "ada", ROOM)

    gw.graph.environments.roll(OWNER, env.id, env.sk_id, "now")

    kicked(gw.fake, cid)
    gw.refused({"apiKey": env.pk, "token": token, "room": ROOM}, 401, "INVALID_TOKEN")
