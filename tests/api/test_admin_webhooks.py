"""The webhooks Admin API: admin writes, viewer reads, every change audited, the secret shown
only when it is made, and every bad input a 4xx naming what was wrong (nothing written)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from chalicelib import runtime

from .helpers import API, Login, Tenant, audit_actions, call, error, names_field, new_tenant, ok

URL = "https://hooks.example.com/pulse"
W = "/admin/api/environments/{envId}/webhooks"
# The least role of each webhook route (tests/security/test_operator_attacks.py holds every
# admin route to its row): viewers read, admins write.
ROUTE_ROLES: dict[tuple[str, str], str] = {
    ("GET", W): "viewer",
    ("POST", W): "admin",
    ("GET", W + "/{webhookId}"): "viewer",
    ("PATCH", W + "/{webhookId}"): "admin",
    ("DELETE", W + "/{webhookId}"): "admin",
    ("POST", W + "/{webhookId}/rotate-secret"): "admin",
    ("POST", W + "/{webhookId}/test"): "admin",
    ("GET", W + "/{webhookId}/deliveries"): "viewer",
    ("POST", W + "/{webhookId}/deliveries/{deliveryId}/retry"): "admin",
    ("POST", W + "/{webhookId}/replay"): "admin",
}
NO_WEBHOOK = "wh_0000000000000000"
NO_DELIVERY = "msg_0000000000000000"


@pytest.fixture
def tenant(services: runtime.Services) -> Tenant:
    return new_tenant(services)


def hooks(tenant: Tenant) -> str:
    return f"{API}/environments/{tenant.id}/webhooks"


def register(client: Any, who: Login, tenant: Tenant, **body: Any) -> Any:
    return call(client, "POST", hooks(tenant), token=who.token, body={"url": URL, **body})


def test_register_shows_the_secret_once(client: Any, admin: Login, tenant: Tenant) -> None:
    made = ok(register(client, admin, tenant, description="digests"), 201)
    assert made["secret"].startswith("whsec_") and len(made["secret"]) > 40
    assert made["url"] == URL and made["events"] is None and made["enabled"] is True
    assert made["description"] == "digests" and made["environmentId"] == tenant.id
    shown = ok(call(client, "GET", f"{hooks(tenant)}/{made['id']}", token=admin.token))
    assert "secret" not in shown
    listed = ok(call(client, "GET", hooks(tenant), token=admin.token))
    assert [h["id"] for h in listed["data"]] == [made["id"]]
    assert "secret" not in listed["data"][0]


def test_a_viewer_reads_but_cannot_write(
    client: Any, admin: Login, viewer: Login, tenant: Tenant
) -> None:
    made = ok(register(client, admin, tenant), 201)
    ok(call(client, "GET", hooks(tenant), token=viewer.token))
    ok(call(client, "GET", f"{hooks(tenant)}/{made['id']}/deliveries", token=viewer.token))
    error(register(client, viewer, tenant), 403, "ROLE_REQUIRED")
    one = f"{hooks(tenant)}/{made['id']}"
    for method, path, body in [
        ("PATCH", one, {"enabled": False}),
        ("DELETE", one, None),
        ("POST", one + "/rotate-secret", None),
        ("POST", one + "/test", None),
        ("POST", one + "/replay", {"since": "2026-01-01T00:00:00Z"}),
    ]:
        error(call(client, method, path, token=viewer.token, body=body), 403, "ROLE_REQUIRED")
    assert len(ok(call(client, "GET", hooks(tenant), token=admin.token))["data"]) == 1


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({}, "url", "MISSING_FIELD"),
        ({"url": "ftp://x.example.com"}, "url", "INVALID_INPUT"),
        ({"url": "http://hooks.example.com/in"}, "url", "WEBHOOK_URL_REFUSED"),
        ({"url": "https://169.254.169.254/latest"}, "url", "WEBHOOK_URL_REFUSED"),
        ({"url": "https://10.0.0.1/in"}, "url", "WEBHOOK_URL_REFUSED"),
        ({"url": URL, "events": []}, "events", "INVALID_INPUT"),
        ({"url": URL, "events": ["comment.created", "nope"]}, "events", "INVALID_INPUT"),
        ({"url": URL, "events": ["room.deleted", "room.deleted"]}, "events", "INVALID_INPUT"),
        ({"url": URL, "events": "comment.created"}, "events", "INVALID_INPUT"),
        ({"url": URL, "description": "x" * 201}, "description", "INVALID_INPUT"),
        ({"url": URL, "secret": "whsec_mine"}, "secret", "UNKNOWN_FIELD"),
    ],
)
def test_a_bad_registration_names_its_field_and_writes_nothing(
    client: Any, admin: Login, tenant: Tenant, body: dict[str, Any], field: str, code: str
) -> None:
    err = error(call(client, "POST", hooks(tenant), token=admin.token, body=body), 400, code)
    names_field(err, field)
    assert ok(call(client, "GET", hooks(tenant), token=admin.token))["data"] == []


def test_a_description_is_changed_and_removed_with_null(
    client: Any, admin: Login, tenant: Tenant
) -> None:
    made = ok(register(client, admin, tenant, description="digests"), 201)
    one = f"{hooks(tenant)}/{made['id']}"
    changed = ok(call(client, "PATCH", one, token=admin.token, body={"description": " bots "}))
    assert changed["description"] == "bots"
    removed = ok(call(client, "PATCH", one, token=admin.token, body={"description": None}))
    assert removed["description"] is None
    assert ok(call(client, "GET", one, token=admin.token))["description"] is None
    error(
        call(client, "PATCH", one, token=admin.token, body={"description": 5}), 400, "INVALID_INPUT"
    )


def test_change_filter_disable_and_enable(client: Any, admin: Login, tenant: Tenant) -> None:
    made = ok(register(client, admin, tenant), 201)
    one = f"{hooks(tenant)}/{made['id']}"
    changed = ok(
        call(client, "PATCH", one, token=admin.token, body={"events": ["thread.resolved"]})
    )
    assert changed["events"] == ["thread.resolved"]
    off = ok(call(client, "PATCH", one, token=admin.token, body={"enabled": False}))
    assert off["enabled"] is False and off["disabledReason"] == "operator" and off["disabledAt"]
    on = ok(call(client, "PATCH", one, token=admin.token, body={"enabled": True, "events": None}))
    assert on["enabled"] is True and on["disabledReason"] is None and on["events"] is None
    assert ok(call(client, "GET", one, token=admin.token)) == on
    error(call(client, "PATCH", one, token=admin.token, body={}), 400, "NOTHING_TO_UPDATE")
    err = error(
        call(client, "PATCH", one, token=admin.token, body={"url": "http://x.example.com"}),
        400,
        "WEBHOOK_URL_REFUSED",
    )
    names_field(err, "url")
    assert ok(call(client, "GET", one, token=admin.token))["url"] == URL


def test_rotate_delete_and_the_audit_trail(client: Any, admin: Login, tenant: Tenant) -> None:
    made = ok(register(client, admin, tenant), 201)
    one = f"{hooks(tenant)}/{made['id']}"
    rotated = ok(call(client, "POST", one + "/rotate-secret", token=admin.token), 201)
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != made["secret"]
    ok(call(client, "PATCH", one, token=admin.token, body={"enabled": False}))
    assert call(client, "DELETE", one, token=admin.token).status_code == 204
    error(call(client, "GET", one, token=admin.token), 404, "WEBHOOK_NOT_FOUND")
    error(call(client, "DELETE", one, token=admin.token), 404, "WEBHOOK_NOT_FOUND")
    actions = audit_actions(client, admin.token, f"{API}/environments/{tenant.id}/audit")
    assert actions[:4] == [
        "webhook.deleted",
        "webhook.updated",
        "webhook.secret_rotated",
        "webhook.created",
    ]


def test_test_retry_and_deliveries(client: Any, admin: Login, tenant: Tenant) -> None:
    made = ok(register(client, admin, tenant), 201)
    one = f"{hooks(tenant)}/{made['id']}"
    sent = ok(call(client, "POST", one + "/test", token=admin.token), 202)
    assert sent["eventType"] == "webhook.test" and sent["status"] == "pending"
    assert sent["id"].startswith("msg_") and sent["attempt"] == 0
    (listed,) = ok(call(client, "GET", one + "/deliveries", token=admin.token))["data"]
    assert listed == sent
    # still pending (no queue consumer here): a retry would send it twice at once
    error(
        call(client, "POST", f"{one}/deliveries/{sent['id']}/retry", token=admin.token),
        409,
        "CONFLICT",
    )
    error(
        call(client, "POST", f"{one}/deliveries/msg_0000000000000000/retry", token=admin.token),
        404,
        "DELIVERY_NOT_FOUND",
    )
    replayed = ok(
        call(
            client,
            "POST",
            one + "/replay",
            token=admin.token,
            body={"since": "2020-01-01T00:00:00Z"},
        ),
        202,
    )
    assert replayed == {"replayed": 0}  # nothing failed
    err = error(
        call(client, "POST", one + "/replay", token=admin.token, body={"since": "yesterday"}),
        400,
        "INVALID_INPUT",
    )
    names_field(err, "since")


def test_unknown_ids_are_404s(client: Any, admin: Login, tenant: Tenant) -> None:
    error(
        call(client, "GET", f"{hooks(tenant)}/wh_0000000000000000", token=admin.token),
        404,
        "WEBHOOK_NOT_FOUND",
    )
    error(
        call(client, "GET", f"{API}/environments/env_0000000000000000/webhooks", token=admin.token),
        404,
        "ENVIRONMENT_NOT_FOUND",
    )


def test_no_more_than_20_endpoints(client: Any, admin: Login, tenant: Tenant) -> None:
    for _ in range(20):
        ok(register(client, admin, tenant), 201)
    error(register(client, admin, tenant), 409, "TOO_MANY_WEBHOOKS")


def test_secrets_never_reach_the_logs(
    client: Any, admin: Login, tenant: Tenant, pulse_records: list[logging.LogRecord]
) -> None:
    made = ok(register(client, admin, tenant), 201)
    rotated = ok(
        call(client, "POST", f"{hooks(tenant)}/{made['id']}/rotate-secret", token=admin.token), 201
    )
    for secret in (made["secret"], rotated["secret"]):
        raw = secret.removeprefix("whsec_")
        for record in pulse_records:
            text = record.getMessage() + repr(record.__dict__)
            assert raw not in text
