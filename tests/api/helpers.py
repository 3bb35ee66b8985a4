"""Shared helpers for the Admin API tests: requests with JSON bodies, operator sessions, and
the one error shape every failure must have."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")

PASSWORD = "correct horse battery staple"
API = "/admin/api"
JSON_CT = {"Content-Type": "application/json"}


@dataclass(frozen=True)
class Login:
    """An operator with a live session."""

    id: str
    email: str
    role: str
    password: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return auth(self.token)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def call(
    client: Any,
    method: str,
    path: str,
    *,
    token: str | None = None,
    body: Any = None,
    raw: bytes | str | None = None,
    headers: dict[str, str] | None = None,
) -> Any:
    """One request: `body` is sent as JSON, `raw` as is (both with a JSON content type)."""
    sent: dict[str, str] = dict(JSON_CT)
    if token is not None:
        sent.update(auth(token))
    sent.update(headers or {})
    data = b""
    if body is not None:
        data = json.dumps(body).encode()
    elif raw is not None:
        data = raw.encode() if isinstance(raw, str) else raw
    return client.http.request(method, path, headers=sent, body=data)


def login(client: Any, email: str, password: str = PASSWORD) -> Any:
    return call(client, "POST", f"{API}/login", body={"email": email, "password": password})


def login_from(
    client: Any,
    email: str,
    password: str = PASSWORD,
    *,
    source: str,
    device: str | None = None,
) -> Any:
    """A login from `source` (API Gateway's sourceIp), with a device cookie if given."""
    converter = client.http._local_gateway.event_converter
    before = converter.LOCAL_SOURCE_IP
    converter.LOCAL_SOURCE_IP = source
    try:
        headers = {"Cookie": f"other=1; pulse_device={device}"} if device else None
        body = {"email": email, "password": password}
        return call(client, "POST", f"{API}/login", body=body, headers=headers)
    finally:
        converter.LOCAL_SOURCE_IP = before


def device_of(resp: Any) -> str:
    """The device cookie a successful login set."""
    assert resp.status_code == 200, resp.body
    name, _, rest = resp.headers["Set-Cookie"].partition("=")
    assert name == "pulse_device"
    return rest.split(";")[0]


def login_as(client: Any, email: str, password: str = PASSWORD) -> Login:
    resp = login(client, email, password)
    assert resp.status_code == 200, resp.body
    body = resp.json_body
    op = body["operator"]
    return Login(op["id"], op["email"], op["role"], password, body["token"])


def error(resp: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """Assert the status and the one error shape; return the inner error object."""
    assert resp.status_code == status, (resp.status_code, resp.body)
    body = resp.json_body
    assert isinstance(body, dict) and set(body) == {"error"}, body
    err = body["error"]
    assert isinstance(err["code"], str) and err["code"]
    assert isinstance(err["message"], str) and err["message"]
    assert set(err) <= {"code", "message", "suggestion", "field", "requestId"}, err
    if "suggestion" in err:
        assert isinstance(err["suggestion"], str) and err["suggestion"]
    if code is not None:
        assert err["code"] == code, err
    return err


def names_field(err: dict[str, Any], field: str) -> None:
    """An invalid-field error says which field, both in `field` and in the message."""
    assert err.get("field") == field, err
    assert field in err["message"], err


def create_environment(client: Any, token: str, name: str = "Production") -> dict[str, Any]:
    resp = call(client, "POST", f"{API}/environments", token=token, body={"name": name})
    assert resp.status_code == 201, resp.body
    body: dict[str, Any] = resp.json_body
    return body


def secret_of(created: dict[str, Any]) -> str:
    """The full sk_ of a create-environment or rotate response."""
    (sk,) = [k["key"] for k in created["keys"] if k["kind"] == "secret"]
    return str(sk)


def publishable_of(created: dict[str, Any]) -> str:
    (pk,) = [k["key"] for k in created["keys"] if k["kind"] == "publishable"]
    return str(pk)


def mint(client: Any, key: str, user_id: str = "user-1") -> Any:
    return call(
        client, "POST", "/auth/token", token=key, body={"userId": user_id, "name": "Ada Lovelace"}
    )


def list_all(client: Any, token: str, path: str) -> list[dict[str, Any]]:
    """Every item of a list endpoint, following nextCursor."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(100):
        url = f"{path}{'&' if '?' in path else '?'}limit=100"
        if cursor:
            url += f"&cursor={cursor}"
        resp = call(client, "GET", url, token=token)
        assert resp.status_code == 200, resp.body
        items += resp.json_body["data"]
        cursor = resp.json_body["nextCursor"]
        if cursor is None:
            return items
    raise AssertionError("list did not end")


def audit_actions(client: Any, token: str, path: str) -> list[str]:
    return [e["action"] for e in list_all(client, token, path)]


def each(cases: Iterable[T], check: Callable[[T], None]) -> None:
    """Run `check` on every case and report every failing case together, not just the first
    (a table of inputs in one test, without a fresh app and login per input)."""
    failures = []
    for case in cases:
        try:
            check(case)
        except AssertionError as exc:
            failures.append(f"{repr(case)[:200]}: {exc}")
    assert not failures, "\n".join(failures)


# --- REST API v1 (customer backends with Bearer sk_) ---------------------------------------------

V1 = "/api/v1"


@dataclass(frozen=True)
class Tenant:
    """An environment and its first key pair, as a customer's backend holds them."""

    id: str
    sk: str
    pk: str
    sk_id: str
    pk_id: str


def new_tenant(services: Any, name: str = "Acme") -> Tenant:
    """An environment made through the service (no operator login needed)."""
    from chalicelib.entities import Actor

    system = Actor(id="op_0Q5cZkT8operator", email="owner@example.com", role="owner")
    env, (pk, sk) = services.environments.create(system, name)
    assert pk.key is not None and sk.key is not None
    return Tenant(env.id, sk.key, pk.key, sk.id, pk.id)


def enc(value: str) -> str:
    """A path segment, percent-encoded as a client must send it."""
    from urllib.parse import quote

    return quote(value, safe="")


def v1(client: Any, method: str, path: str, key: str | None, body: Any = None) -> Any:
    return call(client, method, V1 + path, token=key, body=body)


def ok(resp: Any, status: int = 200) -> Any:
    assert resp.status_code == status, (resp.status_code, resp.body)
    return resp.json_body if status != 204 else None


def make_room(client: Any, key: str, room_id: str, metadata: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"id": room_id}
    if metadata is not None:
        body["metadata"] = metadata
    return ok(v1(client, "POST", "/rooms", key, body), 201)  # type: ignore[no-any-return]


def make_thread(
    client: Any, key: str, room_id: str, text: str = "First!", user: str = "user-1"
) -> dict[str, Any]:
    body = {"comment": {"userId": user, "body": text}}
    resp = v1(client, "POST", f"/rooms/{enc(room_id)}/threads", key, body)
    return ok(resp, 201)  # type: ignore[no-any-return]


def make_comment(
    client: Any, key: str, room_id: str, thread_id: str, text: str = "Reply", user: str = "user-2"
) -> dict[str, Any]:
    path = f"/rooms/{enc(room_id)}/threads/{thread_id}/comments"
    return ok(v1(client, "POST", path, key, {"userId": user, "body": text}), 201)  # type: ignore[no-any-return]


def totals(services: Any, env_id: str) -> dict[str, int]:
    """The environment's analytics counters, read through the service."""
    from callers import operator

    a = services.metering.analytics(operator(env_id), 30)
    return {"rooms": a.rooms, "threads": a.threads, "comments": a.comments, "users": a.users}
