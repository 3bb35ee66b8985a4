"""The keys tab in real headless Chromium (issue 17): a publishable key shown in full with a copy
button; a key rolled with a grace shown as expiring, its successor's secret shown once; keys
ending within 7 days flagged on the environment list and the keys tab."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .conftest import Stack
from .test_admin_panel import OpenPage, dialog, log_in, mint, secret_of, shot
from .test_admin_panel import open_page as open_page  # the fixture: a page that fails on errors

pytestmark = pytest.mark.e2e


def test_a_pk_is_shown_in_full_with_copy_and_a_grace_roll_shows_the_old_key_expiring(
    open_page: OpenPage, stack: Stack, artifacts: Path
) -> None:
    admin = stack.login()
    created = stack.create_environment(admin, "Rolling")
    env_id = created["environment"]["id"]
    (pk,) = [k["key"] for k in created["keys"] if k["kind"] == "publishable"]
    old_secret = secret_of(created)
    page = open_page(clipboard=True)
    log_in(page)
    page.goto(f"/admin#/environments/{env_id}/keys")
    table = page.get_by_role("table", name="API keys")

    # The pk_ in full, with a copy button that copies it.
    pk_row = table.get_by_role("row").filter(has_text="Publishable key")
    expect(pk_row.get_by_role("textbox")).to_have_value(pk)
    pk_row.get_by_role("button", name="Copy publishable key").click()
    assert page.evaluate("navigator.clipboard.readText()") == pk
    secret_row = table.get_by_role("row").filter(has_text="Secret key")
    expect(secret_row).to_contain_text(f"sk_...{old_secret[-4:]}")
    expect(secret_row).not_to_contain_text(old_secret)

    # Roll the secret key with a 24 hour grace: the new secret is shown once.
    secret_row.get_by_role("button", name=re.compile("^Roll Secret key")).click()
    form = dialog(page, "Roll “Secret key”?")
    form.get_by_label("The old key stops").select_option("24h")
    form.get_by_role("button", name="Roll key").click()
    once = dialog(page, "Key “Secret key” rolled")
    expect(once).to_contain_text("The secret key is shown only this once.")
    expect(once).to_contain_text(f"The old one (sk_...{old_secret[-4:]}) keeps working for 24h")
    new_secret = once.get_by_role("textbox", name=re.compile("^Secret key")).input_value()
    assert new_secret.startswith("sk_") and new_secret != old_secret
    shot(page, artifacts, "key-rolled-dialog", full_page=False)
    once.get_by_role("button", name="I have saved the secret key").click()

    # The old key: expiring, still working; the new one works too and is never shown again.
    old_row = table.get_by_role("row").filter(has_text=f"sk_...{old_secret[-4:]}")
    expect(old_row).to_contain_text("expiring")
    expect(old_row).to_contain_text("until")
    expect(table).not_to_contain_text(new_secret)
    assert mint(stack, old_secret).status_code == 200
    assert mint(stack, new_secret).status_code == 200
    # Usage: a sparkline per key, its totals in words.
    page.reload()
    old_row = table.get_by_role("row").filter(has_text=f"sk_...{old_secret[-4:]}")
    expect(old_row.get_by_role("img")).to_have_attribute(
        "aria-label", "0 requests, 1 mints, 0 refusals in 30 days"
    )
    callout = page.locator(".key-ending-callout")
    expect(callout).to_contain_text("Keys ending within 7 days")
    shot(page, artifacts, "keys-tab-expiring")

    # The environment list flags it too.
    page.goto("/admin#/environments")
    env_row = page.get_by_role("table", name="Environments").get_by_role(
        "row", name=re.compile("Rolling")
    )
    expect(env_row).to_contain_text("1 key ending within 7 days")


def test_rolling_a_pk_now_shows_the_new_pk_which_stays_visible(
    open_page: OpenPage, stack: Stack
) -> None:
    admin = stack.login()
    created = stack.create_environment(admin, "Roll now")
    env_id = created["environment"]["id"]
    page = open_page()
    log_in(page)
    page.goto(f"/admin#/environments/{env_id}/keys")
    table = page.get_by_role("table", name="API keys")

    table.get_by_role("button", name=re.compile("^Roll Publishable key")).click()
    form = dialog(page, "Roll “Publishable key”?")
    form.get_by_label("The old key stops").select_option("now")
    form.get_by_role("button", name="Roll key").click()
    once = dialog(page, "Key “Publishable key” rolled")
    expect(once).not_to_contain_text("shown only this once")
    new_pk = once.get_by_role("textbox", name=re.compile("^Publishable key")).input_value()
    once.get_by_role("button", name="Done").click()

    expect(table.get_by_text("revoked", exact=True)).to_have_count(1)
    expect(table.get_by_role("textbox")).to_have_value(new_pk)  # the only pk_ still shown
