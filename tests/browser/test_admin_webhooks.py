"""The Admin Panel's Webhooks tab in real headless Chromium against the real local stack and a
real HTTP listener: add an endpoint with an event filter (its secret shown once), send a test
event and see the delivery with its status and response, an endpoint disabled by a 410, retry,
replay, and a viewer who can only look."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from standardwebhooks import Webhook as Verifier
from webhook_listener import Listener, listening

from .conftest import Stack
from .test_admin_panel import OpenPage, dialog, log_in, open_page, owner, rest, secret_of

__all__ = ["open_page", "owner"]  # fixtures, used by name

pytestmark = pytest.mark.e2e


@pytest.fixture
def listener() -> Iterator[Listener]:
    with listening() as server:
        yield server


def webhooks_tab(page: Page, env_id: str) -> None:
    page.goto(f"/admin#/environments/{env_id}/webhooks")
    expect(page.get_by_role("heading", name="Webhooks", exact=True)).to_be_visible()


def add_endpoint(page: Page, url: str, events: str = "") -> str:
    page.get_by_role("button", name="Add endpoint").click()
    form = dialog(page, "Add webhook endpoint")
    form.get_by_label("URL").fill(url)
    if events:
        form.get_by_label("Events").fill(events)
    form.get_by_role("button", name="Add endpoint").click()
    shown = dialog(page, "Endpoint added")
    expect(shown.get_by_text("The signing secret is shown only this once.")).to_be_visible()
    secret = shown.locator("textarea").input_value()
    shown.get_by_role("button", name="I have saved the secret").click()
    return secret


def test_endpoints_secret_test_deliveries_and_disabling(
    open_page: OpenPage, stack: Stack, owner: str, listener: Listener
) -> None:
    created = stack.create_environment(owner, "Webhooks panel")
    env_id, sk = created["environment"]["id"], secret_of(created)
    page = open_page()
    log_in(page)
    webhooks_tab(page, env_id)
    expect(page.get_by_text("No endpoints yet.")).to_be_visible()

    # a bad URL: the API's answer shown in the dialog, nothing added
    page.get_by_role("button", name="Add endpoint").click()
    form = dialog(page, "Add webhook endpoint")
    form.get_by_label("URL").fill(listener.url + "/x")
    form.get_by_label("Events").fill("comment.created, nope")
    form.get_by_role("button", name="Add endpoint").click()
    expect(form.get_by_text(re.compile("nope"))).to_be_visible()
    form.get_by_role("button", name="Cancel").click()

    secret = add_endpoint(page, listener.url + "/panel", "room.updated, room.deleted")
    assert secret.startswith("whsec_")
    row = page.get_by_role("row").filter(has_text=listener.url + "/panel")
    expect(row).to_contain_text("room.deleted, room.updated")  # kept sorted
    expect(row).to_contain_text("enabled")
    page.reload()
    expect(page.locator("textarea")).to_have_count(0)  # the secret is never shown again

    # the test button: a signed webhook.test reaches the listener, verified with the secret
    row.get_by_role("button", name="Send a test event").click()
    (got,) = listener.wait_for("/panel", 1)
    payload: dict[str, Any] = Verifier(secret).verify(got.body, got.headers)
    assert payload["type"] == "webhook.test"

    # deliveries: status and response
    page.get_by_role("link", name=listener.url + "/panel").click()
    expect(page.get_by_role("heading", name="Deliveries")).to_be_visible()
    delivery = page.get_by_role("row").filter(has_text="webhook.test")
    for _ in range(50):
        if "succeeded" in (delivery.text_content() or ""):
            break
        page.wait_for_timeout(200)
        page.reload()
    expect(delivery).to_contain_text("succeeded")
    expect(delivery).to_contain_text("200")

    # a real change, filtered in; the endpoint answers 410 and is disabled
    listener.script["/panel"] = [410]
    rest(stack, sk, "POST", "/rooms", {"id": "doc-7"})
    rest(stack, sk, "PATCH", "/rooms/doc-7", {"metadata": {"v": 1}})
    listener.wait_for("/panel", 2)
    webhooks_tab(page, env_id)
    row = page.get_by_role("row").filter(has_text=listener.url + "/panel")
    for _ in range(50):
        if "disabled" in (row.text_content() or ""):
            break
        page.wait_for_timeout(200)
        webhooks_tab(page, env_id)
    expect(row).to_contain_text("disabled: the endpoint answered 410 Gone")

    # its failed delivery: retried by hand (the endpoint is back), then the replay of failures
    listener.script["/panel"] = [200]
    page.get_by_role("link", name=listener.url + "/panel").click()
    failed = page.get_by_role("row").filter(has_text="room.updated")
    expect(failed).to_contain_text("failed")
    expect(failed).to_contain_text("410")
    failed.get_by_role("button", name=re.compile("Retry delivery")).click()
    assert len(listener.wait_for("/panel", 3)) == 3
    page.get_by_role("button", name="Replay failed").click()
    replay = dialog(page, "Replay failed deliveries")
    replay.get_by_role("button", name="Replay").click()
    banners = page.locator("#banners")
    expect(banners.get_by_text(re.compile(r"failed deliver(y|ies) queued again"))).to_be_visible()

    # enable it again
    page.get_by_role("button", name="Enable").click()
    expect(banners.get_by_text(listener.url + "/panel enabled.")).to_be_visible()
    expect(page.get_by_role("button", name="Enable")).to_have_count(0)


def test_a_viewer_sees_endpoints_but_no_actions(
    open_page: OpenPage, stack: Stack, owner: str
) -> None:
    created = stack.create_environment(owner, "Viewer hooks")
    env_id = created["environment"]["id"]
    made = stack.call(
        "POST",
        f"/admin/api/environments/{env_id}/webhooks",
        owner,
        json={"url": "https://hooks.example.com/in"},
    )
    assert made.status_code == 201
    response = stack.call(
        "POST",
        "/admin/api/operators",
        owner,
        json={
            "email": "hooks-viewer@example.com",
            "password": "viewer-password-123",
            "role": "viewer",
        },
    )
    assert response.status_code == 201, response.text
    page = open_page()
    log_in(page, "hooks-viewer@example.com", "viewer-password-123")
    webhooks_tab(page, env_id)
    expect(page.get_by_text("https://hooks.example.com/in")).to_be_visible()
    expect(page.get_by_text("You have read-only access (viewer)")).to_be_visible()
    expect(page.get_by_role("button", name="Add endpoint")).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("^Delete"))).to_have_count(0)
