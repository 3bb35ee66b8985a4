"""The Admin Panel's login against a lockout attempt, in real Chromium on the real local stack:
the browser an operator logged in with keeps a `pulse_device` cookie (HttpOnly: the page's
scripts never see it), and logs in again while a guesser behind the same address has that
address locked. A fresh browser at that address is refused, as the guesser is.

Its own module, so its own stack: the locked address (127.0.0.1) must not leak into the other
browser tests."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests
from playwright.sync_api import Browser, BrowserContext, Page, expect

from .conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Stack

GUESSES = 10  # PULSE_RATE_LOGIN_FAILURES_PER_SOURCE of the dev stage


@pytest.fixture
def contexts(browser: Browser, stack: Stack) -> Iterator[list[BrowserContext]]:
    opened: list[BrowserContext] = []
    yield opened
    for context in opened:
        context.close()


def new_browser(browser: Browser, stack: Stack, opened: list[BrowserContext]) -> Page:
    context = browser.new_context(base_url=stack.url)
    context.set_default_timeout(7_000)
    opened.append(context)
    return context.new_page()


def submit_login(page: Page) -> None:
    page.goto("/admin")
    page.get_by_label("Email").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_a_browser_that_logged_in_before_is_not_locked_out_by_a_guesser(
    browser: Browser, stack: Stack, contexts: list[BrowserContext]
) -> None:
    usual = new_browser(browser, stack, contexts)
    submit_login(usual)
    expect(usual.get_by_role("heading", level=1, name="Environments")).to_be_visible()
    (cookie,) = [c for c in usual.context.cookies() if c["name"] == "pulse_device"]
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict"
    assert "pulse_device" not in usual.evaluate("document.cookie")
    usual.get_by_role("button", name="Log out").click()
    expect(usual.get_by_role("button", name="Log in")).to_be_visible()

    # A guesser behind the same address (127.0.0.1) tries passwords until it is locked out.
    guesses = iter(range(10_000))

    def guess() -> requests.Response:
        password = f"guess number {next(guesses):04d}"
        return requests.post(
            stack.url + "/admin/api/login",
            json={"email": ADMIN_EMAIL, "password": password},
            timeout=10,
        )

    statuses = [guess().status_code for _ in range(GUESSES + 2)]
    assert statuses == [401] * GUESSES + [429, 429]
    # The lock doubles with each failure after the free ones (1, 2, 4, 8 s ...): the guesser
    # waits each one out and fails again until the address is locked for 16 s, so the fresh
    # browser below meets the lock however slowly the machine runs it.
    lock = 1
    while lock < 16:
        time.sleep(lock + 0.2)
        assert guess().status_code == 401
        refused = guess()
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) >= lock * 2 - 1
        lock *= 2

    fresh = new_browser(browser, stack, contexts)
    submit_login(fresh)
    alert = fresh.get_by_role("alert")
    expect(alert).to_contain_text("TOO_MANY_FAILURES")

    submit_login(usual)  # the right password, from the browser that logged in before
    expect(usual.get_by_role("heading", level=1, name="Environments")).to_be_visible()
    expect(usual.get_by_role("banner")).to_contain_text(ADMIN_EMAIL)
