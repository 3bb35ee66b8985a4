"""Real-browser fixtures: the real local stack (started as tests/e2e does) and headless Debian
Chromium driven by Playwright. A missing browser is a failure, never a skip."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# tests/ is on sys.path (its conftest.py is rootless), so this is the very module pytest loads
# as tests/e2e's conftest: one Stack class, one start-up logic.
from e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Stack, stacks
from playwright.sync_api import Browser, Playwright, sync_playwright

__all__ = ["ADMIN_EMAIL", "ADMIN_PASSWORD", "CHROMIUM", "Stack"]

CHROMIUM = Path(os.environ.get("PULSE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path("test-artifacts")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One ephemeral `python -m devstack` per test module (stopped when the module ends);
    PULSE_ADMIN_EMAIL / PULSE_ADMIN_PASSWORD are ADMIN_EMAIL / ADMIN_PASSWORD (an owner)."""
    tmp = tmp_path_factory.mktemp("browser-stack")
    with stacks(tmp) as start:
        yield start(tmp / "data", PULSE_EPHEMERAL="1")


@pytest.fixture(scope="package")
def playwright_driver() -> Iterator[Playwright]:
    """Package-scoped: Playwright's sync driver keeps an asyncio loop running on this thread
    while it lives, which would break every later `asyncio.run` (tests/e2e)."""
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    """Headless Chromium from the OS (/usr/bin/chromium): FAILS if it is missing."""
    if not CHROMIUM.is_file() or not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"Chromium is required for the browser tests but {CHROMIUM} is missing or not "
            "executable: install it (apt-get install chromium) or set PULSE_CHROMIUM.",
            pytrace=False,
        )
    chromium = playwright_driver.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
    try:
        yield chromium
    finally:
        chromium.close()


@pytest.fixture
def artifacts() -> Path:
    """test-artifacts/ (gitignored), created on demand: screenshots and traces go here."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
