"""The Admin Panel's keys tab creates restricted keys (kind, name, scopes checkboxes, rooms
pattern) and shows their scopes, in real headless Chromium against the real local stack; the
key it shows once works within its scopes and rooms."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .conftest import Stack
from .test_admin_panel import OpenPage, dialog, log_in, mint, open_page, shot

__all__ = ["open_page"]  # the fixture, shared with test_admin_panel

pytestmark = pytest.mark.e2e


def test_operator_creates_a_restricted_key_and_sees_its_scopes(
    open_page: OpenPage, stack: Stack, artifacts: Path
) -> None:
    page = open_page(clipboard=True)
    log_in(page)
    page.get_by_role("button", name="Create environment").click()
    form = dialog(page, "Create environment")
    form.get_by_label("Name").fill("Scoped")
    form.get_by_role("button", name="Create environment").click()
    keys = dialog(page, "Environment “Scoped” created")
    secret = keys.get_by_role("textbox", name=re.compile("^Secret key")).input_value()
    keys.get_by_role("button", name="I have saved the secret key").click()
    expect(page.get_by_role("heading", level=1, name="Scoped")).to_be_visible()

    # Scopes and rooms are asked only for a restricted key.
    page.get_by_role("button", name="Create key").click()
    form = dialog(page, "Create API key")
    scopes = form.get_by_role("group", name="Scopes")
    expect(scopes).to_be_hidden()
    expect(form.get_by_role("textbox", name=re.compile("^Rooms"))).to_be_hidden()
    form.get_by_label("Kind").select_option("restricted")
    expect(scopes).to_be_visible()
    form.get_by_label("Name").fill("Support bot")
    form.get_by_role("textbox", name=re.compile("^Rooms")).fill("acme:*")

    # No scope checked: the API's 400 names the field, and the dialog stays open.
    form.get_by_role("button", name="Create key").click()
    expect(form.get_by_role("alert")).to_contain_text("scopes")
    expect(form).to_be_visible()

    scopes.get_by_role("checkbox", name=re.compile("^tokens:mint")).check()
    scopes.get_by_role("checkbox", name=re.compile("^comments:read")).check()
    shot(page, artifacts, "restricted-key-form", full_page=False)
    form.get_by_role("button", name="Create key").click()
    once = dialog(page, "Key “Support bot” created")
    expect(once).to_contain_text("shown only this once")
    box = once.get_by_role("textbox", name=re.compile("^Restricted key"))
    restricted = box.input_value()
    assert restricted.startswith("rk_") and len(restricted) == 63
    once.get_by_role("button", name="Copy restricted key").click()
    assert page.evaluate("navigator.clipboard.readText()") == restricted
    once.get_by_role("button", name="I have saved the secret key").click()

    # The table shows its scopes and rooms, never the key.
    table = page.get_by_role("table", name="API keys")
    row = table.get_by_role("row", name=re.compile("Support bot"))
    expect(row).to_contain_text("restricted")
    expect(row).to_contain_text("comments:read")
    expect(row).to_contain_text("tokens:mint")
    expect(row).to_contain_text("acme:*")
    expect(row).to_contain_text(f"rk_...{restricted[-4:]}")
    expect(row).not_to_contain_text(restricted)
    expect(row).to_contain_text("scopes comments:read, tokens:mint · rooms acme:*")
    shot(page, artifacts, "restricted-key-row")

    # The key shown works within its scopes and rooms, and only there.
    minted = mint(stack, restricted, permissions={"*": "write"})  # type: ignore[arg-type]
    assert minted.status_code == 200, minted.text
    refused = stack.call("GET", "/api/v1/users", restricted)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "INSUFFICIENT_SCOPE"
    outside = stack.call("GET", "/api/v1/rooms/beta%3A1/threads", restricted)
    assert outside.status_code == 403, outside.text
    assert stack.call("GET", "/api/v1/users", secret).status_code == 200


def test_a_reported_leak_shows_a_banner_until_an_admin_dismisses_it(
    open_page: OpenPage, stack: Stack, artifacts: Path
) -> None:
    admin = stack.login()
    created = stack.call("POST", "/admin/api/environments", admin, json={"name": "Leaky"}).json()
    env_id = created["environment"]["id"]
    (secret,) = [k["key"] for k in created["keys"] if k["kind"] == "secret"]
    reported = stack.call("POST", "/admin/api/keys/report-leak", admin, json={"key": secret})
    assert (reported.status_code, reported.json()) == (202, {"received": True}), reported.text

    page = open_page()
    log_in(page)
    page.goto(f"/admin#/environments/{env_id}/keys")
    expect(page.get_by_role("heading", level=1, name="Leaky")).to_be_visible()
    banner = page.get_by_role("note", name="Leaked key")
    expect(banner).to_contain_text("reported leaked")
    expect(banner).to_contain_text(f"sk_...{secret[-4:]}")
    shot(page, artifacts, "leak-banner")
    revoked = page.get_by_role("table", name="API keys").get_by_role(
        "row", name=re.compile("Secret key")
    )
    expect(revoked).to_contain_text("revoked")

    banner.get_by_role("button", name="Dismiss").click()

    expect(page.get_by_role("status").first).to_contain_text("dismissed")
    expect(page.get_by_role("note", name="Leaked key")).to_have_count(0)
    env = stack.call("GET", f"/admin/api/environments/{env_id}", admin).json()
    assert "leakReportedAt" not in env
