"""The one error shape and request hygiene across the Admin API: malformed bodies, field
validation, size limit, wrong method and media type, unexpected failures, response headers,
and that a refused write leaves nothing half-written."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable
from typing import Any

import pytest

from chalicelib.services.login_throttle import LoginThrottle

from .helpers import (
    API,
    PASSWORD,
    Login,
    call,
    create_environment,
    each,
    error,
    list_all,
    login,
    names_field,
)

ENVS = f"{API}/environments"
MAX_BODY = 64 * 1024


# --- the body: JSON object or nothing -----------------------------------------------------------


MALFORMED = [
    "{",
    '{"name": "x",}',
    "{'name': 'x'}",
    "name=x",
    '{"name": "x"} trailing',
    b"\xff\xfe{}",
]


def test_malformed_json_is_400_malformed_json(client: Any, owner: Login) -> None:
    def check(raw: Any) -> None:
        error(call(client, "POST", ENVS, token=owner.token, raw=raw), 400, "MALFORMED_JSON")

    each(MALFORMED, check)


def test_a_json_body_that_is_not_an_object_is_400(client: Any, owner: Login) -> None:
    def check(raw: str) -> None:
        names_field(error(call(client, "POST", ENVS, token=owner.token, raw=raw), 400), "body")

    each(["[]", '[{"name": "x"}]', '"x"', "5", "null", "true"], check)


def test_a_missing_body_is_400(client: Any, owner: Login) -> None:
    def check(raw: bytes) -> None:
        error(call(client, "POST", ENVS, token=owner.token, raw=raw), 400, "MISSING_BODY")

    each([b"", b"   "], check)


def test_a_deeply_nested_body_is_400(client: Any, owner: Login) -> None:
    raw = '{"name": "x", "deep": ' + "[" * 40 + "]" * 40 + "}"

    resp = call(client, "POST", ENVS, token=owner.token, raw=raw)

    error(resp, 400, "TOO_DEEP")


def test_an_unknown_field_is_400_unknown_field_naming_it(client: Any, owner: Login) -> None:
    env_id = create_environment(client, owner.token)["environment"]["id"]

    def check(case: tuple[str, str, dict[str, Any], str]) -> None:
        method, path, body, field = case
        resp = call(client, method, path, token=owner.token, body=body)
        names_field(error(resp, 400, "UNKNOWN_FIELD"), field)

    each(
        [
            ("POST", ENVS, {"name": "x", "colour": "red"}, "colour"),
            ("PATCH", f"{ENVS}/{env_id}", {"name": "x", "id": "env_1"}, "id"),
            ("POST", f"{ENVS}/{env_id}/keys", {"kind": "secret", "permissions": []}, "permissions"),
            ("POST", f"{API}/operators", {"email": "a@b.co", "admin": True}, "admin"),
            ("POST", f"{API}/login", {"email": "a@b.co", "password": "p", "otp": 1}, "otp"),
        ],
        check,
    )


BAD_NAMES: list[tuple[Any, str]] = [
    (5, "INVALID_INPUT"),
    (True, "INVALID_INPUT"),
    (["x"], "INVALID_INPUT"),
    ({"x": 1}, "INVALID_INPUT"),
    (None, "MISSING_FIELD"),
    ("", "INVALID_INPUT"),
    ("   ", "INVALID_INPUT"),
    ("x" * 101, "INVALID_INPUT"),
    ("bad\x00name", "INVALID_INPUT"),
    ("bell\x07", "INVALID_INPUT"),
    ("new\nline", "INVALID_INPUT"),
    ("esc\x1b[31m", "INVALID_INPUT"),
    ("del\x7f", "INVALID_INPUT"),
    ("\ud800", "INVALID_INPUT"),  # a lone surrogate
]


def test_create_environment_with_a_bad_name_is_400_naming_name(client: Any, owner: Login) -> None:
    def check(case: tuple[Any, str]) -> None:
        name, code = case
        resp = call(client, "POST", ENVS, token=owner.token, body={"name": name})
        names_field(error(resp, 400, code), "name")

    each(BAD_NAMES, check)
    assert list_all(client, owner.token, ENVS) == []


def test_rename_environment_with_a_bad_name_is_400_naming_name(client: Any, owner: Login) -> None:
    env = create_environment(client, owner.token, "Keep")["environment"]

    def check(case: tuple[Any, str]) -> None:
        name, code = case
        resp = call(client, "PATCH", f"{ENVS}/{env['id']}", token=owner.token, body={"name": name})
        names_field(error(resp, 400, code), "name")

    each(BAD_NAMES, check)
    assert call(client, "GET", f"{ENVS}/{env['id']}", token=owner.token).json_body == env


def test_a_missing_name_is_400_missing_field(client: Any, owner: Login) -> None:
    resp = call(client, "POST", ENVS, token=owner.token, body={})

    names_field(error(resp, 400, "MISSING_FIELD"), "name")


# --- size, method, media type ---------------------------------------------------------------------


def body_of_size(size: int) -> bytes:
    """A JSON object of exactly `size` bytes."""
    frame = b'{"name": ""}'
    return b'{"name": "' + b"x" * (size - len(frame)) + b'"}'


def test_a_body_over_64_kb_is_413(client: Any, owner: Login) -> None:
    resp = call(client, "POST", ENVS, token=owner.token, raw=body_of_size(MAX_BODY + 1))

    error(resp, 413, "PAYLOAD_TOO_LARGE")
    assert list_all(client, owner.token, ENVS) == []


def test_a_body_of_exactly_64_kb_is_read(client: Any, owner: Login) -> None:
    raw = body_of_size(MAX_BODY)
    assert len(raw) == MAX_BODY

    resp = call(client, "POST", ENVS, token=owner.token, raw=raw)

    names_field(error(resp, 400), "name")  # read and validated, not refused for size


def test_an_oversized_login_is_413_before_any_password_check(client: Any, owner: Login) -> None:
    raw = json.dumps({"email": owner.email, "password": "x" * (MAX_BODY + 1)})

    resp = call(client, "POST", f"{API}/login", raw=raw)

    error(resp, 413, "PAYLOAD_TOO_LARGE")
    assert login(client, owner.email).status_code == 200


WRONG_METHODS = [
    ("PUT", ENVS, {"GET", "POST"}),
    ("DELETE", ENVS, {"GET", "POST"}),
    ("PUT", f"{ENVS}/env_0000000000000000", {"GET", "PATCH", "DELETE"}),
    ("GET", f"{API}/login", {"POST"}),
    ("DELETE", f"{API}/me", {"GET"}),
    ("GET", f"{ENVS}/env_0000000000000000/keys/rotate", {"POST"}),
]


def test_a_wrong_method_is_405_in_our_shape(client: Any, owner: Login) -> None:
    def check(case: tuple[str, str, set[str]]) -> None:
        method, path, allowed = case
        resp = call(client, method, path, token=owner.token)
        err = error(resp, 405, "METHOD_NOT_ALLOWED")
        assert method in err["message"]
        assert {m.strip() for m in resp.headers["Allow"].split(",")} == allowed

    each(WRONG_METHODS, check)


def test_a_non_json_content_type_is_415_in_our_shape(client: Any, owner: Login) -> None:
    def check(content_type: str) -> None:
        resp = call(
            client,
            "POST",
            ENVS,
            token=owner.token,
            raw='{"name": "x"}',
            headers={"Content-Type": content_type},
        )
        err = error(resp, 415, "UNSUPPORTED_MEDIA_TYPE")
        assert "application/json" in err["suggestion"], err

    each(["text/plain", "application/x-www-form-urlencoded", "application/xml"], check)
    assert list_all(client, owner.token, ENVS) == []


def test_json_with_a_charset_is_accepted(client: Any, owner: Login) -> None:
    resp = call(
        client,
        "POST",
        ENVS,
        token=owner.token,
        body={"name": "x"},
        headers={"Content-Type": "application/json; charset=utf-8"},
    )

    assert resp.status_code == 201


# --- unexpected failures -------------------------------------------------------------------------


def explode(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("boom: secret internal detail at /srv/pulse/db.py")


@pytest.mark.parametrize(
    ("service", "method", "http_method", "path", "body"),
    [
        ("environments", "list_environments", "GET", ENVS, None),
        ("environments", "create", "POST", ENVS, {"name": "x"}),
        ("operators", "login", "POST", f"{API}/login", {"email": "a@b.co", "password": "p"}),
    ],
    ids=["read", "write", "public"],
)
def test_an_unexpected_exception_is_500_with_a_logged_request_id(
    client: Any,
    owner: Login,
    services: Any,
    monkeypatch: pytest.MonkeyPatch,
    pulse_records: list[logging.LogRecord],
    service: str,
    method: str,
    http_method: str,
    path: str,
    body: Any,
) -> None:
    monkeypatch.setattr(getattr(services, service), method, explode)

    resp = call(client, http_method, path, token=owner.token, body=body)

    err = error(resp, 500, "INTERNAL_ERROR")
    request_id = err["requestId"]
    assert request_id
    assert resp.headers["X-Request-Id"] == request_id
    assert request_id in err["suggestion"]
    failures = [r for r in pulse_records if r.levelno >= logging.ERROR]
    assert [getattr(r, "requestId", None) for r in failures] == [request_id]
    assert failures[0].exc_info is not None
    assert failures[0].exc_info[0] is RuntimeError


def test_a_500_response_reveals_nothing_of_the_failure(
    client: Any, owner: Login, services: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services.environments, "list_environments", explode)

    text = call(client, "GET", ENVS, token=owner.token).body.decode()

    for leak in ("Traceback", "RuntimeError", "boom", "/srv/pulse", 'File "', ".py"):
        assert leak not in text


def test_the_access_log_carries_the_same_request_id(
    client: Any, owner: Login, pulse_records: list[logging.LogRecord]
) -> None:
    resp = call(client, "GET", ENVS, token=owner.token)

    access = [r for r in pulse_records if r.name == "pulse.access"]
    assert [getattr(r, "requestId", None) for r in access] == [resp.headers["X-Request-Id"]]
    assert getattr(access[0], "status", None) == 200


def test_the_access_log_never_holds_credentials_or_bodies(
    client: Any, owner: Login, pulse_records: list[logging.LogRecord]
) -> None:
    created = create_environment(client, owner.token)
    login(client, owner.email)

    logged = " ".join(json.dumps(r.__dict__, default=str) for r in pulse_records)

    assert owner.token not in logged
    assert PASSWORD not in logged
    for key in created["keys"]:
        assert key["key"] not in logged


# --- headers on every response -------------------------------------------------------------


def test_every_response_carries_a_request_id_and_security_headers(
    client: Any,
    owner: Login,
    viewer: Login,
    services: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = create_environment(client, owner.token)
    env_id = env["environment"]["id"]
    named = {"confirmName": env["environment"]["name"]}
    requests: list[tuple[int, Callable[[], Any]]] = [
        (200, lambda: call(client, "GET", ENVS, token=owner.token)),
        (201, lambda: call(client, "POST", ENVS, token=owner.token, body={"name": "y"})),
        (204, lambda: call(client, "DELETE", f"{ENVS}/{env_id}", token=owner.token, body=named)),
        (400, lambda: call(client, "POST", ENVS, token=owner.token, raw="{")),
        (401, lambda: call(client, "GET", ENVS)),
        (403, lambda: call(client, "POST", ENVS, token=viewer.token, body={"name": "z"})),
        (404, lambda: call(client, "GET", f"{ENVS}/env_0000000000000000", token=owner.token)),
        (405, lambda: call(client, "PUT", ENVS, token=owner.token)),
        (409, lambda: call(client, "DELETE", f"{ENVS}/{env_id}", token=owner.token, body=named)),
        (413, lambda: call(client, "POST", ENVS, token=owner.token, raw=b"x" * (MAX_BODY + 1))),
        (
            415,
            lambda: call(
                client,
                "POST",
                ENVS,
                token=owner.token,
                raw="{}",
                headers={"Content-Type": "text/plain"},
            ),
        ),
    ]

    seen_ids = set()
    for status, send in requests:
        resp = send()
        assert resp.status_code == status, (status, resp.body)
        assert resp.headers.get("X-Content-Type-Options") == "nosniff", status
        assert resp.headers.get("Cache-Control") == "no-store", status
        assert resp.headers.get("X-Request-Id"), status
        seen_ids.add(resp.headers["X-Request-Id"])
    assert len(seen_ids) == len(requests)


def test_429_and_500_carry_the_headers_too(
    client: Any, owner: Login, services: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The suite runs with every limit out of reach: 5 failed logins per address here.
    limited_settings = dataclasses.replace(services.settings, login_failures_per_source=5)
    throttle = LoginThrottle(limited_settings, services.clock, services.operators.throttle.store)
    monkeypatch.setattr(services.operators, "throttle", throttle)
    for _ in range(5):
        login(client, owner.email, "wrong password!!")
    limited = login(client, owner.email, "wrong password!!")
    monkeypatch.setattr(services.environments, "list_environments", explode)
    failed = call(client, "GET", ENVS, token=owner.token)

    for resp, status in ((limited, 429), (failed, 500)):
        assert resp.status_code == status
        assert resp.headers.get("X-Content-Type-Options") == "nosniff"
        assert resp.headers.get("X-Request-Id")
        assert resp.headers.get("Content-Type") == "application/json"


def test_error_responses_are_json(client: Any, owner: Login) -> None:
    resp = call(client, "GET", f"{ENVS}/nope", token=owner.token)

    assert resp.headers["Content-Type"] == "application/json"
    assert json.loads(resp.body) == resp.json_body


# --- nothing half-written ------------------------------------------------------------------------


class World:
    """An owner, two environments, and a snapshot of everything the Admin API can read."""

    def __init__(self, client: Any, owner: Login) -> None:
        self.client = client
        self.owner = owner
        self.env = create_environment(client, owner.token, "Main")
        self.other = create_environment(client, owner.token, "Other")
        self.env_id = self.env["environment"]["id"]
        self.key_id = self.env["keys"][1]["id"]
        self.other_key_id = self.other["keys"][1]["id"]

    def snapshot(self) -> dict[str, Any]:
        token = self.owner.token
        envs = list_all(self.client, token, ENVS)
        return {
            "environments": envs,
            "keys": {e["id"]: list_all(self.client, token, f"{ENVS}/{e['id']}/keys") for e in envs},
            "audit": {
                e["id"]: list_all(self.client, token, f"{ENVS}/{e['id']}/audit") for e in envs
            },
            "operators": list_all(self.client, token, f"{API}/operators"),
            "operators_audit": list_all(self.client, token, f"{API}/audit"),
        }


def refused_writes(w: World) -> list[tuple[str, str, str, Any, int]]:
    """(what, method, path, body, status): writes that must be refused; a str/bytes body is sent
    as is."""
    env, other_key = f"{ENVS}/{w.env_id}", w.other_key_id
    me = f"{API}/operators/{w.owner.id}"
    taken = {"email": w.owner.email, "password": PASSWORD, "role": "admin"}
    weak = {"email": "n@example.com", "password": "short", "role": "admin"}
    return [
        ("create-env-empty-name", "POST", ENVS, {"name": ""}, 400),
        ("create-env-unknown-field", "POST", ENVS, {"name": "x", "x": 1}, 400),
        ("create-env-malformed", "POST", ENVS, "{", 400),
        ("create-env-too-large", "POST", ENVS, b"x" * (MAX_BODY + 1), 413),
        ("rename-wrong-type", "PATCH", env, {"name": 5}, 400),
        ("rename-unknown-env", "PATCH", f"{ENVS}/env_0000000000000000", {"name": "x"}, 404),
        (
            "disable-unknown-env",
            "DELETE",
            f"{ENVS}/env_0000000000000000",
            {"confirmName": "x"},
            404,
        ),
        ("key-bad-kind", "POST", f"{env}/keys", {"kind": "root"}, 400),
        ("key-long-name", "POST", f"{env}/keys", {"kind": "secret", "name": "x" * 101}, 400),
        ("rotate-unknown-field", "POST", f"{env}/keys/rotate", {"a": 1}, 400),
        ("revoke-unknown-key", "POST", f"{env}/keys/key_0000000000000000/revoke", None, 404),
        ("revoke-other-envs-key", "POST", f"{env}/keys/{other_key}/revoke", None, 404),
        ("operator-email-taken", "POST", f"{API}/operators", taken, 409),
        ("operator-weak-password", "POST", f"{API}/operators", weak, 400),
        ("operator-nothing-to-update", "PATCH", me, {}, 400),
        ("operator-last-owner", "PATCH", me, {"role": "admin"}, 409),
        ("operator-delete-self", "DELETE", me, None, 403),
    ]


def test_a_refused_write_changes_nothing(client: Any, owner: Login) -> None:
    world = World(client, owner)

    def check(case: tuple[str, str, str, Any, int]) -> None:
        _, method, path, body, status = case
        before = world.snapshot()
        raw = body if isinstance(body, (str, bytes)) else None
        resp = call(client, method, path, token=owner.token, body=None if raw else body, raw=raw)
        error(resp, status)
        assert world.snapshot() == before
        assert call(client, "GET", f"{API}/me", token=owner.token).status_code == 200

    each(refused_writes(world), check)


def test_a_write_refused_for_role_changes_nothing(client: Any, owner: Login, viewer: Login) -> None:
    world = World(client, owner)
    before = world.snapshot()

    resp = call(client, "POST", f"{ENVS}/{world.env_id}/keys/rotate", token=viewer.token)

    error(resp, 403, "ROLE_REQUIRED")
    assert world.snapshot() == before


def test_a_write_that_fails_unexpectedly_changes_nothing(
    client: Any, owner: Login, services: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = World(client, owner)
    before = world.snapshot()
    monkeypatch.setattr(services.environments, "rotate", explode)

    resp = call(client, "POST", f"{ENVS}/{world.env_id}/keys/rotate", token=owner.token)

    error(resp, 500, "INTERNAL_ERROR")
    monkeypatch.undo()
    assert world.snapshot() == before
