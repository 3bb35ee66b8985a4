"""Secrets in logs: the run-wide scanner (logscan.py) works, and the refusal paths, where a
server is most tempted to log what it refused, log no secret even at DEBUG.

The success paths (login, create, mint, rotate, revoke, list, logout) are run with every logger
at DEBUG in tests/integration/test_secrets_hygiene.py; the whole suite runs under the scanner."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from api.helpers import API, Login, call, login
from realtime.conftest import Env, Gateway, mint, rest

from chalicelib import ids
from chalicelib.auth import apikeys, sessions

from .logscan import LogScanner, scanner


@pytest.fixture
def scan(pytestconfig: pytest.Config) -> Iterator[LogScanner]:
    """The run-wide scanner; what a test plants on purpose is taken back out."""
    found = scanner(pytestconfig)
    before = len(found.leaks)
    yield found
    del found.leaks[before:]


def test_the_scanner_sees_every_logger_and_flags_every_kind_of_secret(scan: LogScanner) -> None:
    key = apikeys.generate("secret", ids.new_id("env"), ids.new_id("key"))
    session = sessions.generate(ids.new_id("op"))
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZGEifQ.c2lnbmF0dXJlLW9mLWEtdG9rZW4"
    before = len(scan.leaks)

    logging.getLogger("pulse.selftest").warning("a key %s", key)  # pulse does not propagate
    logging.getLogger("pulse.selftest").warning("a session", extra={"session": session})
    logging.getLogger("botocore.selftest").warning("a token %s", token)  # through the root
    try:
        raise ValueError(f"the pepper {scan.literals['the value of PULSE_KEY_PEPPER']}")
    except ValueError:
        logging.getLogger("pulse.selftest").exception("failed")  # found in the traceback
    logging.getLogger("chalice.selftest").error("password: correct horse battery staple")

    found = {leak.what for leak in scan.leaks[before:]}
    assert found == {
        "an API key",
        "an operator session",
        "a user token (JWT)",
        "the value of PULSE_KEY_PEPPER",
        "the password 'correct horse battery staple'",
    }
    assert all(key not in str(leak) for leak in scan.leaks[before:])  # reported redacted


def test_refused_credentials_and_bad_bodies_log_no_secret_even_at_debug(
    client: Any,
    gw: Gateway,
    env: Env,
    owner: Login,
    scan: LogScanner,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="pulse")
    before, records = len(scan.leaks), scan.records
    token = mint(env.sk, "ada")
    typo = env.sk[:-1] + ("A" if env.sk[-1] != "A" else "B")

    # keys refused at every surface, and a body that carries a key in a bad field
    for key in (typo, env.pk, env.sk + "x"):
        rest(client, "POST", "/auth/token", key, {"userId": "u", "name": "N", "avatar": env.sk})
        rest(client, "GET", "/api/v1/rooms", key)
    rest(client, "POST", "/api/v1/rooms", env.sk, {"id": env.sk, "key": env.sk})
    raw = ('{"id": "' + env.sk + '"').encode()  # malformed JSON holding a key
    call(client, "POST", "/api/v1/rooms", token=env.sk, raw=raw)
    # tokens and keys refused at $connect, and a token where a key belongs
    for query in (
        {"apiKey": env.sk, "token": token, "room": "r"},
        {"apiKey": typo.replace("sk_", "pk_"), "token": token, "room": "r"},
        {"apiKey": env.pk, "token": token[:-3], "room": "r"},
        {"apiKey": env.pk, "token": token, "room": env.sk + "/"},
    ):
        gw.connect_raw(gw.new_id(), query)
    rest(client, "GET", "/api/v1/rooms", token)
    # a socket message carrying secrets in refused fields
    me = gw.connect(env, "ada", "room-1")
    gw.send_raw(me, json.dumps({"type": env.sk, "token": token}))
    gw.send_raw(me, json.dumps({"type": "comment.create", "threadId": env.sk, "body": token}))
    # operators: wrong passwords, a session used after logout, a session in a bad header
    login(client, owner.email, owner.password + "x")
    login(client, "nobody@example.com", owner.password)
    call(client, "POST", f"{API}/logout", token=owner.token)
    call(client, "GET", f"{API}/me", token=owner.token)
    client.http.request("GET", f"{API}/me", headers={"Authorization": f"Basic {owner.token}"})

    assert scan.records > records + 20  # the scanner saw this test's lines, DEBUG ones included
    assert [str(leak) for leak in scan.leaks[before:]] == []
