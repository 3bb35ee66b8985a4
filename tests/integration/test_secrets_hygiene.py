"""Secrets never leak: after the response that creates a key (or a session), no response, no
log line and no stored item contains it. One full flow through the HTTP API, every response
body and every log record captured, then both tables scanned (Scan is fine in a test)."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import jwt
import pytest
from callers import connect_gate

from chalicelib import runtime
from chalicelib.auth import apikeys, sessions, tokens
from chalicelib.logs import JsonFormatter

EMAIL = "hygiene@example.com"
PASSWORD = "correct horse battery staple"
SECRET_SLICE = slice(35, 57)  # the 22 random chars of a 63-char key


@dataclass
class Exchange:
    label: str
    status: int
    body: str
    headers: str = ""

    @property
    def text(self) -> str:
        """Body and headers: everything a client sees."""
        return self.body + self.headers


@dataclass
class Flow:
    """Every response of the flow, and for each secret the index of the response that made it."""

    exchanges: list[Exchange] = field(default_factory=list)
    created_at: dict[str, int] = field(default_factory=dict)  # secret -> exchange index
    jwts: list[str] = field(default_factory=list)

    def call(
        self, client: Any, label: str, method: str, path: str, token: str, body: Any = None
    ) -> Any:
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        data = json.dumps(body) if body is not None else ""
        resp = client.http.request(method, path, headers=headers, body=data)
        headers_text = json.dumps(dict(resp.headers))
        self.exchanges.append(Exchange(label, resp.status_code, resp.body.decode(), headers_text))
        return resp

    def created(self, secret: str) -> None:
        assert secret in self.exchanges[-1].text
        self.created_at[secret] = len(self.exchanges) - 1


class Keep(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def pulse_log() -> Iterator[Keep]:
    """The `pulse` loggers do not propagate: caplog alone would miss them."""
    logger = logging.getLogger("pulse")
    keep, level = Keep(), logger.level
    logger.addHandler(keep)
    logger.setLevel(logging.DEBUG)
    try:
        yield keep
    finally:
        logger.removeHandler(keep)
        logger.setLevel(level)


def log_lines(records: list[logging.LogRecord]) -> list[str]:
    json_format, plain = JsonFormatter(), logging.Formatter()
    lines = []
    for record in records:
        lines.append(json_format.format(record))
        lines.append(plain.format(record))
    return lines


def run_flow(client: Any, services: runtime.Services) -> tuple[Flow, dict[str, Any]]:
    """Log in, create an environment and keys, mint, rotate, revoke, list, read, audit, log out.
    Returns the flow and the secrets it produced by name."""
    flow = Flow()
    services.operators.create(None, EMAIL, PASSWORD, "owner")
    resp = client.http.post(
        "/admin/api/login",
        headers={"Content-Type": "application/json"},
        body=json.dumps({"email": EMAIL, "password": PASSWORD}),
    )
    assert resp.status_code == 200
    flow.exchanges.append(Exchange("login", 200, resp.body.decode()))
    session = resp.json_body["token"]
    flow.created(session)

    resp = flow.call(
        client, "create env", "POST", "/admin/api/environments", session, {"name": "Acme"}
    )
    assert resp.status_code == 201
    env_id = resp.json_body["environment"]["id"]
    pk0, sk0 = (k["key"] for k in resp.json_body["keys"])
    flow.created(pk0)
    flow.created(sk0)
    base = f"/admin/api/environments/{env_id}"

    resp = flow.call(
        client,
        "create sk",
        "POST",
        f"{base}/keys",
        session,
        {"kind": "secret", "name": "Backend 2"},
    )
    assert resp.status_code == 201
    sk1 = resp.json_body["key"]
    flow.created(sk1)
    resp = flow.call(
        client,
        "create pk",
        "POST",
        f"{base}/keys",
        session,
        {"kind": "publishable", "name": "Web 2"},
    )
    assert resp.status_code == 201
    pk1, pk1_id = resp.json_body["key"], resp.json_body["id"]
    flow.created(pk1)

    for key in (sk0, sk1):
        resp = flow.call(
            client, "mint", "POST", "/auth/token", key, {"userId": "u1", "name": "Ada"}
        )
        assert resp.status_code == 200
        flow.jwts.append(resp.json_body["token"])
    services.tokens.verify_connection(pk0, flow.jwts[0], connect_gate())

    resp = flow.call(client, "rotate", "POST", f"{base}/keys/rotate", session)
    assert resp.status_code == 201
    pk2, sk2 = (k["key"] for k in resp.json_body["keys"])
    flow.created(pk2)
    flow.created(sk2)

    resp = flow.call(client, "old sk", "POST", "/auth/token", sk0, {"userId": "u1", "name": "Ada"})
    assert resp.status_code == 401
    resp = flow.call(client, "pk as sk", "POST", "/auth/token", pk2, {"userId": "u1", "name": "A"})
    assert resp.status_code == 401
    resp = flow.call(client, "mint", "POST", "/auth/token", sk2, {"userId": "u2", "name": "Bo"})
    assert resp.status_code == 200
    flow.jwts.append(resp.json_body["token"])
    services.tokens.verify_connection(pk2, flow.jwts[-1], connect_gate())

    resp = flow.call(client, "create pk", "POST", f"{base}/keys", session, {"kind": "publishable"})
    assert resp.status_code == 201
    pk3, pk3_id = resp.json_body["key"], resp.json_body["id"]
    flow.created(pk3)
    resp = flow.call(client, "revoke", "POST", f"{base}/keys/{pk3_id}/revoke", session)
    assert resp.status_code == 200
    resp = flow.call(client, "revoke again", "POST", f"{base}/keys/{pk1_id}/revoke", session)
    assert resp.status_code == 409  # already revoked by the rotation

    for label, path in [
        ("list keys", f"{base}/keys"),
        ("search keys", f"{base}/keys?q=sk_"),
        ("get env", base),
        ("list envs", "/admin/api/environments"),
        ("audit", f"{base}/audit"),
        ("me", "/admin/api/me"),
    ]:
        assert flow.call(client, label, "GET", path, session).status_code == 200
    resp = flow.call(client, "rename", "PATCH", base, session, {"name": "Acme 2"})
    assert resp.status_code == 200
    logged_in = scan(services.settings.control_table) + scan(services.settings.data_table)
    resp = flow.call(client, "logout", "POST", "/admin/api/logout", session)
    assert resp.status_code == 204

    keys = {"pk0": pk0, "sk0": sk0, "sk1": sk1, "pk1": pk1, "pk2": pk2, "sk2": sk2, "pk3": pk3}
    return flow, {"session": session, "keys": keys, "env_id": env_id, "logged_in": logged_in}


def forbidden_strings(services: runtime.Services, secrets: dict[str, Any]) -> dict[str, str]:
    """Everything that must never be logged or stored, by a name to report. A publishable key
    is public (issue 17: stored and listed in full, so it shows in DynamoDB's request logs);
    every secret key stays forbidden."""
    keys: dict[str, str] = secret_keys(secrets)
    session: str = secrets["session"]
    found = {name: key for name, key in keys.items()}
    found.update({f"{name} secret part": key[SECRET_SLICE] for name, key in keys.items()})
    found["session token"] = session
    found["session secret part"] = session[len(sessions.PREFIX) + 16 :]
    found["operator password"] = PASSWORD
    found["key pepper"] = services.settings.key_pepper.decode()
    found["signing secret"] = services.settings.signing_secret.decode()
    signing = tokens.signing_key(services.settings.signing_secret, secrets["env_id"], "key_x")
    found["a derived signing key (hex)"] = signing.hex()
    return found


def secret_keys(secrets: dict[str, Any]) -> dict[str, str]:
    """The flow's secret keys by name (its publishable keys are public)."""
    return {name: key for name, key in secrets["keys"].items() if not key.startswith("pk_")}


def scan(table: str) -> list[dict[str, Any]]:
    client = boto3.client("dynamodb")
    items: list[dict[str, Any]] = []
    for page in client.get_paginator("scan").paginate(TableName=table):
        items.extend(page["Items"])
    return items


def flatten(value: Any) -> Iterator[str]:
    """Every string inside a DynamoDB attribute value (S, N, SS, NS, L, M, B...)."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from flatten(v)
    elif isinstance(value, list | tuple | set):
        for v in value:
            yield from flatten(v)
    elif isinstance(value, bytes):
        yield value.decode("latin-1")
    else:
        yield str(value)


# --- the tests ------------------------------------------------------------------------------


@pytest.fixture
def flow(
    client: Any,
    services: runtime.Services,
    caplog: pytest.LogCaptureFixture,
    pulse_log: Keep,
) -> tuple[Flow, dict[str, Any], list[str]]:
    caplog.set_level(logging.DEBUG)  # every logger: botocore, moto, chalice, ...
    flow, secrets = run_flow(client, services)
    lines = log_lines(pulse_log.records) + log_lines(caplog.records)
    # The capture works: one access line per request, and other libraries' debug lines.
    access = [r for r in pulse_log.records if r.name == "pulse.access"]
    assert len(access) >= len(flow.exchanges)
    assert any(r.name.startswith("botocore") for r in caplog.records)
    return flow, secrets, lines


def test_no_response_after_the_creating_one_contains_a_key_or_session(
    flow: tuple[Flow, dict[str, Any], list[str]],
) -> None:
    recorded, secrets, _ = flow
    assert len(recorded.created_at) == 1 + len(secrets["keys"])

    leaks = [
        (recorded.exchanges[i].label, i)
        for secret, made in recorded.created_at.items()
        if not secret.startswith("pk_")  # public: listed in full (issue 17)
        for i in range(made + 1, len(recorded.exchanges))
        if secret in recorded.exchanges[i].text
        or secret[SECRET_SLICE] in recorded.exchanges[i].text
    ]

    assert leaks == []


def test_no_sk_ever_appears_after_its_creation_by_pattern(
    flow: tuple[Flow, dict[str, Any], list[str]],
) -> None:
    recorded, _, _ = flow
    last_creation = max(
        made for secret, made in recorded.created_at.items() if secret.startswith("sk_")
    )
    full_key = re.compile(r"sk_[0-9A-Za-z]{60}")

    for exchange in recorded.exchanges[last_creation + 1 :]:
        assert not full_key.search(exchange.text), exchange.label


def test_key_listings_show_only_previews(
    flow: tuple[Flow, dict[str, Any], list[str]],
) -> None:
    recorded, secrets, _ = flow
    listing = next(e for e in recorded.exchanges if e.label == "list keys")
    data = json.loads(listing.body)["data"]

    assert len(data) == len(secrets["keys"])
    # A secret key never again; a publishable key in full (it is public: issue 17).
    assert all("key" not in item for item in data if item["kind"] == "secret")
    assert {item["key"] for item in data if item["kind"] == "publishable"} == {
        k for k in secrets["keys"].values() if k.startswith("pk_")
    }
    assert {item["preview"] for item in data} == {
        apikeys.preview(k) for k in secrets["keys"].values()
    }


def test_minted_tokens_carry_no_key_material(
    flow: tuple[Flow, dict[str, Any], list[str]], services: runtime.Services
) -> None:
    recorded, secrets, _ = flow
    forbidden = forbidden_strings(services, secrets)

    for token in recorded.jwts:
        header_payload = ".".join(
            json.dumps(part, sort_keys=True)
            for part in (
                jwt.get_unverified_header(token),
                jwt.decode(token, options={"verify_signature": False}),
            )
        )
        assert [name for name, s in forbidden.items() if s in header_payload] == []


def test_no_log_line_contains_a_key_session_token_password_or_server_secret(
    flow: tuple[Flow, dict[str, Any], list[str]], services: runtime.Services
) -> None:
    recorded, secrets, lines = flow
    forbidden = forbidden_strings(services, secrets)
    forbidden.update({f"user token {i}": t for i, t in enumerate(recorded.jwts)})

    leaks = sorted({name for line in lines for name, s in forbidden.items() if s in line})

    assert leaks == []
    assert not any(re.search(r"sk_[0-9A-Za-z]{60}", line) for line in lines)


def test_no_stored_item_contains_a_key_in_clear(
    flow: tuple[Flow, dict[str, Any], list[str]], services: runtime.Services
) -> None:
    _, secrets, _ = flow
    forbidden = forbidden_strings(services, secrets)
    # Before logout (the session item exists) and at the end.
    items = secrets["logged_in"] + scan(services.settings.control_table)
    items += scan(services.settings.data_table)
    assert len(items) > 20  # the flow wrote environments, keys, sessions, audit, users

    leaks = sorted(
        {
            (name, item["sk"]["S"])
            for item in items
            for text in flatten(item)
            for name, secret in forbidden.items()
            if secret in text
        }
    )

    assert leaks == []


def test_key_items_store_only_the_hmac_of_the_key(
    flow: tuple[Flow, dict[str, Any], list[str]], services: runtime.Services
) -> None:
    _, secrets, _ = flow
    pepper = services.settings.key_pepper
    key_items = [
        i for i in scan(services.settings.control_table) if i["sk"]["S"].startswith("KEY#")
    ]
    by_id = {apikeys.parse(k).key_id: k for k in secrets["keys"].values()}  # type: ignore[union-attr]

    assert len(key_items) == len(by_id)
    for item in key_items:
        digest = item["secret_hash"]["S"]
        assert re.fullmatch(r"[0-9a-f]{64}", digest)
        assert digest == apikeys.digest(pepper, by_id[item["id"]["S"]])
        assert not {"key", "secret", "token", "raw"} & set(item)


def test_sessions_are_stored_by_hmac_only(
    flow: tuple[Flow, dict[str, Any], list[str]], services: runtime.Services
) -> None:
    _, secrets, _ = flow
    expected = f"SESSION#{sessions.digest(services.settings.key_pepper, secrets['session'])}"

    def session_items(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [i for i in items if i["sk"]["S"].startswith("SESSION#")]

    (stored,) = session_items(secrets["logged_in"])
    assert stored["sk"]["S"] == expected
    assert re.fullmatch(r"SESSION#[0-9a-f]{64}", stored["sk"]["S"])
    assert session_items(scan(services.settings.control_table)) == []  # logout deleted it
