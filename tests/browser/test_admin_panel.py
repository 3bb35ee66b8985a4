"""The Admin Panel (`GET /admin`) in real headless Chromium against the real local stack: an
operator's walkthrough (create, copy, rotate, revoke, browse, analytics), roles, keyboard use,
headers, and screenshots at laptop and phone widths (test-artifacts/)."""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, Locator, Page, expect

from .conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Stack

pytestmark = pytest.mark.e2e

LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 812}
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
AVATARS_CSP = CSP.replace("img-src 'self' data:;", "img-src 'self' data: https:;")
# Avatar hosts, answered by the browser context (no network).
AVATAR = "https://avatars.pulse.test/ada.png"
TRACKER = "https://tracker.pulse.test/grace.png?who=grace"
AVATAR_HOSTS = ("https://avatars.pulse.test/", "https://tracker.pulse.test/")


def solid_png(rgb: tuple[int, int, int], size: int = 8) -> bytes:
    """A valid PNG of one color (built here: no binary fixture files)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + bytes(rgb) * size for _ in range(size))
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


AVATAR_PNG = solid_png((245, 158, 11))
OpenPage = Callable[..., Page]


@pytest.fixture
def open_page(browser: Browser, stack: Stack) -> Iterator[OpenPage]:
    """New isolated browser contexts (own sessionStorage) on the stack; fails the test on any
    page error or console error (a CSP violation is one) other than an HTTP error status."""
    contexts = []
    problems: list[str] = []

    def on_console(message: Any) -> None:
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            problems.append(message.text)

    def open_page(viewport: dict[str, int] = LAPTOP, clipboard: bool = False) -> Page:
        context = browser.new_context(
            viewport=viewport,
            base_url=stack.url,
            permissions=["clipboard-read", "clipboard-write"] if clipboard else [],
        )
        context.set_default_timeout(7_000)
        for host in AVATAR_HOSTS:
            context.route(
                f"{host}**",
                lambda route: route.fulfill(body=AVATAR_PNG, content_type="image/png"),
            )
        contexts.append(context)
        page = context.new_page()
        page.on("console", on_console)
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert not problems, problems


@pytest.fixture(scope="module")
def owner(stack: Stack) -> str:
    return stack.login()


def shot(page: Page, artifacts: Path, name: str, *, full_page: bool = True) -> None:
    """test-artifacts/admin-{laptop|phone}-{name}.png (a modal dialog: the viewport only)."""
    width = page.viewport_size["width"] if page.viewport_size else 0
    device = "phone" if width < 600 else "laptop"
    page.screenshot(path=str(artifacts / f"admin-{device}-{name}.png"), full_page=full_page)


def log_in(page: Page, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD) -> None:
    page.goto("/admin")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1, name="Environments")).to_be_visible()


def dialog(page: Page, name: str | re.Pattern[str]) -> Locator:
    found = page.get_by_role("dialog", name=name)
    expect(found).to_be_visible()
    return found


def mint(stack: Stack, key: str, user_id: str = "ada", **extra: str) -> requests.Response:
    body = {"userId": user_id, "name": extra.pop("name", "Ada Lovelace"), **extra}
    response: requests.Response = stack.call("POST", "/auth/token", key, json=body)
    return response


def rest(stack: Stack, key: str, method: str, path: str, body: Any = None) -> Any:
    response = stack.call(method, "/api/v1" + path, key, json=body)
    assert response.status_code < 300, response.text
    return response.json()


def secret_of(created: dict[str, Any]) -> str:
    (key,) = [k["key"] for k in created["keys"] if k["kind"] == "secret"]
    return str(key)


def no_horizontal_scroll(page: Page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px"


# --- headers and assets ---------------------------------------------------------------------


def test_the_panel_is_served_with_a_strict_csp_and_never_framed(stack: Stack) -> None:
    page = requests.get(stack.url + "/admin", timeout=10)
    assert page.status_code == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert page.headers["Content-Security-Policy"] == CSP
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Cache-Control"] == "no-cache"

    versions = dict(re.findall(r'admin/assets/(app\.(?:js|css))\?v=([0-9a-f]{16})"', page.text))
    assert set(versions) == {"app.js", "app.css"}
    for name, content_type in (("app.js", "text/javascript"), ("app.css", "text/css")):
        current = requests.get(f"{stack.url}/admin/assets/{name}?v={versions[name]}", timeout=10)
        assert current.status_code == 200
        assert current.headers["Content-Type"].startswith(content_type)
        assert current.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert current.headers["Content-Security-Policy"] == CSP
        unversioned = requests.get(f"{stack.url}/admin/assets/{name}", timeout=10)
        assert unversioned.headers["Cache-Control"] == "public, max-age=300"

    for name in ("index.html", "..%2F..%2Fapp.py", "app.py", "nope.js"):
        missing = requests.get(f"{stack.url}/admin/assets/{name}", timeout=10)
        assert missing.status_code == 404, name
        assert missing.json()["error"]["code"] == "ASSET_NOT_FOUND"

    # The page as an operator who opted in to avatars loads it: https: images allowed.
    opted = requests.get(stack.url + "/admin?avatars=on", timeout=10)
    assert opted.status_code == 200 and opted.text == page.text
    assert opted.headers["Content-Security-Policy"] == AVATARS_CSP
    for other in ("?avatars=1", "?avatars=ON", "?x=on"):
        strict = requests.get(f"{stack.url}/admin{other}", timeout=10)
        assert strict.headers["Content-Security-Policy"] == CSP, other

    slash = requests.get(stack.url + "/admin/", timeout=10, allow_redirects=False)
    assert slash.status_code == 308
    assert slash.headers["Location"] == "../admin"


# --- keyboard and errors --------------------------------------------------------------------


def test_login_is_keyboard_operable_and_errors_are_readable(
    open_page: OpenPage, artifacts: Path
) -> None:
    page = open_page()
    page.goto("/admin")
    email, password = page.get_by_label("Email"), page.get_by_label("Password")
    submit = page.get_by_role("button", name="Log in")
    expect(email).to_be_focused()  # the login view puts the cursor in its first field
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    expect(email).to_be_focused()
    page.keyboard.type(ADMIN_EMAIL)
    page.keyboard.press("Tab")
    expect(password).to_be_focused()
    page.keyboard.type("not-the-password")
    page.keyboard.press("Tab")
    expect(submit).to_be_focused()
    shot(page, artifacts, "login")

    page.keyboard.press("Shift+Tab")
    expect(password).to_be_focused()
    page.keyboard.press("Enter")  # Enter in a field submits
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Email or password is incorrect.")
    expect(alert).to_contain_text("INVALID_CREDENTIALS")
    expect(password).to_be_focused()

    page.keyboard.type(ADMIN_PASSWORD)  # the wrong password was selected: typing replaces it
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1, name="Environments")).to_be_visible()
    expect(page.get_by_role("banner")).to_contain_text(ADMIN_EMAIL)
    token = page.evaluate("JSON.parse(sessionStorage.getItem('pulse.admin.session')).token")
    assert token.startswith("pso_")
    assert page.evaluate("localStorage.length") == 0

    # An API error on a page: message and suggestion in a readable banner.
    page.goto("/admin#/environments/env_0000000000000000")
    expect(page.get_by_role("heading", name="Could not load this page")).to_be_visible()
    expect(page.get_by_text("Could not load this page")).to_be_visible()
    expect(page.locator(".banner-error")).to_contain_text("deleted")
    shot(page, artifacts, "error")

    # Dialogs close with Escape and give focus back to what opened them.
    page.goto("/admin#/environments")
    create = page.get_by_role("button", name="Create environment")
    create.focus()
    page.keyboard.press("Enter")
    form = dialog(page, "Create environment")
    expect(form.get_by_label("Name")).to_be_focused()
    page.keyboard.press("Escape")
    expect(form).to_be_hidden()
    expect(create).to_be_focused()

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in to Pulse Admin")).to_be_visible()
    expect(page.get_by_role("status").first).to_contain_text("logged out")
    assert page.evaluate("sessionStorage.getItem('pulse.admin.session')") is None
    assert stack_me(page, token) == 401  # the session really ended server-side


def stack_me(page: Page, token: str) -> int:
    status: int = page.evaluate(
        """async (token) => (await fetch('admin/api/me',
               {headers: {Authorization: 'Bearer ' + token}})).status""",
        token,
    )
    return status


# --- the operator's walkthrough ---------------------------------------------------------------


def test_operator_creates_copies_rotates_revokes_browses_and_sees_analytics(
    open_page: OpenPage, stack: Stack, artifacts: Path
) -> None:
    page = open_page(clipboard=True)
    log_in(page)

    # Create an environment: both keys shown once, with copy buttons.
    page.get_by_role("button", name="Create environment").click()
    form = dialog(page, "Create environment")
    form.get_by_label("Name").fill("Production")
    form.get_by_role("button", name="Create environment").click()
    keys = dialog(page, "Environment “Production” created")
    expect(keys).to_contain_text("The secret key is shown only this once.")
    publishable = keys.get_by_role("textbox", name=re.compile("^Publishable key")).input_value()
    secret = keys.get_by_role("textbox", name=re.compile("^Secret key")).input_value()
    assert publishable.startswith("pk_")
    assert secret.startswith("sk_")
    keys.get_by_role("button", name="Copy secret key").click()
    expect(keys.get_by_role("status")).to_contain_text("Secret key copied to the clipboard.")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == secret
    shot(page, artifacts, "key-created-dialog", full_page=False)
    assert mint(stack, copied).status_code == 200  # the copied text is the real key

    keys.get_by_role("button", name="I have saved the secret key").click()
    expect(page.get_by_role("heading", level=1, name="Production")).to_be_visible()
    env_id = page.url.split("#/environments/")[1].split("/")[0]
    table = page.get_by_role("table", name="API keys")
    expect(table.get_by_role("row")).to_have_count(3)  # header + 2 keys
    secret_row = table.get_by_role("row").filter(has_text="Secret key")
    expect(secret_row).to_contain_text(f"sk_...{secret[-4:]}")
    expect(secret_row).not_to_contain_text(secret)
    shot(page, artifacts, "environment-detail")

    # Rotate, behind a confirmation that says what stops working.
    page.get_by_role("button", name="Rotate keys").click()
    confirm = dialog(page, "Rotate the keys of “Production”?")
    expect(confirm).to_contain_text("What stops working")
    expect(confirm).to_contain_text("401")
    expect(confirm.get_by_role("button", name="Cancel")).to_be_focused()  # the safe default
    shot(page, artifacts, "rotate-confirm", full_page=False)
    confirm.get_by_role("button", name="Rotate keys").click()
    rotated = dialog(page, "Keys rotated")
    expect(rotated).to_contain_text("2 keys were revoked")
    new_secret = rotated.get_by_role("textbox", name=re.compile("^Secret key")).input_value()
    assert new_secret.startswith("sk_") and new_secret != secret
    rotated.get_by_role("button", name="I have saved the secret key").click()
    old = mint(stack, secret)
    assert old.status_code == 401, old.text
    assert old.json()["error"]["code"] == "INVALID_API_KEY"
    assert mint(stack, new_secret).status_code == 200
    expect(table.get_by_text("revoked", exact=True)).to_have_count(2)

    # A named key, then revoked behind a confirmation.
    page.get_by_role("button", name="Create key").click()
    form = dialog(page, "Create API key")
    form.get_by_label("Kind").select_option("secret")
    form.get_by_label("Name").fill("Nightly export")
    form.get_by_role("button", name="Create key").click()
    once = dialog(page, "Key “Nightly export” created")
    expect(once).to_contain_text("shown only this once")
    export_key = once.get_by_role("textbox", name=re.compile("^Secret key")).input_value()
    once.get_by_role("button", name="I have saved the secret key").click()
    assert mint(stack, export_key).status_code == 200
    expect(table.get_by_role("row", name=re.compile("Nightly export"))).to_be_visible()

    search = page.get_by_label("Search keys")
    search.fill("Nightly")
    search.press("Enter")
    expect(page.locator(".results[data-query='Nightly']:not([aria-busy])")).to_be_visible()
    expect(table.get_by_role("row")).to_have_count(2)
    page.get_by_role("button", name=re.compile(r"^Revoke Nightly export")).click()
    confirm = dialog(page, "Revoke “Nightly export”?")
    expect(confirm).to_contain_text("get 401 INVALID_API_KEY on their very next request")
    confirm.get_by_role("button", name="Revoke key").click()
    expect(page.get_by_role("status").first).to_contain_text("revoked")
    row = page.get_by_role("table", name="API keys").get_by_role("row", name=re.compile("Nightly"))
    expect(row).to_contain_text("revoked")
    assert mint(stack, export_key).status_code == 401

    # Data created through the REST API with the new sk_, browsed in the panel.
    assert mint(stack, new_secret, "ada", avatar=AVATAR).status_code == 200
    assert mint(stack, new_secret, "grace", name="Grace Hopper").status_code == 200
    rest(stack, new_secret, "POST", "/rooms", {"id": "design-review", "metadata": {"doc": "Q3"}})
    thread = rest(
        stack,
        new_secret,
        "POST",
        "/rooms/design-review/threads",
        {"comment": {"userId": "ada", "body": "Can we move the launch to Tuesday?"}},
    )
    comments = f"/rooms/design-review/threads/{thread['id']}/comments"
    rest(stack, new_secret, "POST", comments, {"userId": "grace", "body": "Tuesday works."})

    page.get_by_role("link", name="Browse data").click()
    page.get_by_role("link", name="design-review").click()
    threads = page.get_by_role("list", name="Threads in room design-review")
    expect(threads.get_by_role("listitem")).to_have_count(1)
    expect(threads).to_contain_text("2 comments")
    shot(page, artifacts, "browse-room")
    threads.get_by_role("link", name="View comments").click()
    listed = page.get_by_role("list", name="Comments")
    expect(listed.get_by_role("listitem")).to_have_count(2)
    expect(listed).to_contain_text("Can we move the launch to Tuesday?")
    expect(listed).to_contain_text("Tuesday works.")
    shot(page, artifacts, "browse")

    page.get_by_role("link", name="Users").click()
    users = page.get_by_role("table", name="Users")
    expect(users.get_by_role("row")).to_have_count(3)
    ada_row = users.get_by_role("row", name=re.compile("Ada Lovelace"))
    expect(ada_row.locator(".avatar-initials")).to_have_text("AL")  # not her avatar's host
    expect(ada_row.locator("img")).to_have_count(0)

    # Analytics: the counts move after more comments (reload the view).
    page.get_by_role("link", name="Analytics").click()
    comments_stat = page.locator("[data-stat=comments] dd")
    expect(comments_stat).to_have_text("2")
    expect(page.locator("[data-stat=rooms] dd")).to_have_text("1")
    expect(page.locator("[data-stat=threads] dd")).to_have_text("1")
    expect(page.locator("[data-stat=users] dd")).to_have_text("2")
    for n in range(3):
        rest(stack, new_secret, "POST", comments, {"userId": "ada", "body": f"More {n}"})
    page.get_by_role("button", name="Refresh").click()
    expect(comments_stat).to_have_text("5")
    today = page.locator("[data-chart=comments] rect.bar").last
    expect(today).to_have_attribute("data-value", "5")
    # Tokens were minted, but nobody connected: no active user (tests/browser/test_analytics_panel).
    expect(page.locator("[data-chart=users] rect.bar").last).to_have_attribute("data-value", "0")
    expect(page.locator("[data-stat=dau] dd")).to_have_text("0")
    shot(page, artifacts, "analytics")

    page.get_by_role("link", name="Audit log").click()
    audit = page.get_by_role("table", name="Audit log")
    for action in ("environment.created", "keys.rotated", "key.created", "key.revoked"):
        expect(audit.get_by_text(action, exact=True).first).to_be_visible()
    shot(page, artifacts, "audit")

    # Rename, then disable (confirmation with the name typed): every key stops.
    page.get_by_role("link", name="Settings").click()
    page.get_by_label("Environment name").fill("Production EU")
    page.get_by_role("button", name="Save name").click()
    expect(page.get_by_role("heading", level=1, name="Production EU")).to_be_visible()
    page.get_by_role("button", name="Disable environment").click()
    confirm = dialog(page, "Disable “Production EU”?")
    expect(confirm.get_by_role("button", name="Disable environment")).to_be_disabled()
    confirm.get_by_label("Type “Production EU” to confirm").fill("Production EU")
    confirm.get_by_role("button", name="Disable environment").click()
    expect(page.get_by_text("This environment is disabled.")).to_be_visible()
    assert mint(stack, new_secret).status_code == 401

    page.goto("/admin#/environments")
    envs = page.get_by_role("table", name="Environments")
    expect(envs.get_by_role("link", name="Production EU")).to_be_visible()
    shot(page, artifacts, "environments")
    search = page.get_by_label("Search environments")
    search.fill("Production EU")
    search.press("Enter")
    expect(envs.get_by_role("row")).to_have_count(2)
    expect(envs.get_by_role("row", name=re.compile("Production EU"))).to_contain_text("disabled")
    assert env_id in envs.inner_text()


def test_operator_suspends_and_resumes_an_environment(
    open_page: OpenPage, stack: Stack, owner: str, artifacts: Path
) -> None:
    created = stack.create_environment(owner, "Suspend check")
    env_id, sk = created["environment"]["id"], secret_of(created)
    assert mint(stack, sk).status_code == 200
    page = open_page()
    log_in(page)
    page.goto(f"/admin#/environments/{env_id}/settings")
    header = page.locator(".page-head")
    expect(header.get_by_text("active", exact=True)).to_be_visible()

    # Escape leaves it as it was.
    page.get_by_role("button", name="Suspend environment").click()
    confirm = dialog(page, "Suspend “Suspend check”?")
    expect(confirm.get_by_role("button", name="Cancel")).to_be_focused()  # the safe default
    page.keyboard.press("Escape")
    expect(confirm).to_be_hidden()
    expect(page.get_by_role("button", name="Suspend environment")).to_be_focused()
    assert mint(stack, sk).status_code == 200

    # Suspend, behind a confirmation that says what stops.
    page.get_by_role("button", name="Suspend environment").click()
    confirm = dialog(page, "Suspend “Suspend check”?")
    expect(confirm).to_contain_text("What stops working")
    for stops in ("/auth/token", "/api/v1", "403 ENVIRONMENT_SUSPENDED", "live connection"):
        expect(confirm).to_contain_text(stops)
    expect(confirm).to_contain_text("until an admin resumes it")
    shot(page, artifacts, "suspend-confirm", full_page=False)
    confirm.get_by_role("button", name="Suspend environment").click()
    expect(page.get_by_role("status").first).to_contain_text("suspended")
    expect(header.get_by_text("suspended", exact=True)).to_be_visible()
    expect(page.get_by_text("This environment is suspended.")).to_be_visible()
    refused = mint(stack, sk)
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "ENVIRONMENT_SUSPENDED"
    shot(page, artifacts, "environment-suspended")

    page.goto("/admin#/environments")
    envs = page.get_by_role("table", name="Environments")
    row = envs.get_by_role("row", name=re.compile("Suspend check"))
    expect(row.get_by_text("suspended", exact=True)).to_be_visible()
    shot(page, artifacts, "environments-suspended")

    # Resume: the same secret key mints again.
    row.get_by_role("link", name="Suspend check").click()
    page.get_by_role("link", name="Settings").click()
    page.get_by_role("button", name="Resume environment").click()
    confirm = dialog(page, "Resume “Suspend check”?")
    expect(confirm.get_by_role("button", name="Cancel")).to_be_focused()
    confirm.get_by_role("button", name="Resume environment").click()
    expect(header.get_by_text("active", exact=True)).to_be_visible()
    expect(page.get_by_text("This environment is suspended.")).to_have_count(0)
    expect(page.get_by_role("button", name="Suspend environment")).to_be_visible()
    assert mint(stack, sk).status_code == 200

    page.get_by_role("link", name="Audit log").click()
    audit = page.get_by_role("table", name="Audit log")
    for action in ("environment.suspended", "environment.resumed"):
        expect(audit.get_by_text(action, exact=True)).to_be_visible()


# --- roles ------------------------------------------------------------------------------------


def test_roles_decide_what_is_shown_and_operators_are_owner_only(
    open_page: OpenPage, stack: Stack, owner: str, artifacts: Path
) -> None:
    created = stack.create_environment(owner, "Roles check")
    env, sk = created["environment"], secret_of(created)
    assert mint(stack, sk, "ada").status_code == 200
    rest(stack, sk, "POST", "/rooms", {"id": "lobby"})
    first = {"comment": {"userId": "ada", "body": "Keep me"}}
    thread = rest(stack, sk, "POST", "/rooms/lobby/threads", first)
    comments = f"/rooms/lobby/threads/{thread['id']}/comments"
    doomed = rest(stack, sk, "POST", comments, {"userId": "ada", "body": "Delete me"})
    thread_route = f"/admin#/environments/{env['id']}/browse/lobby/{thread['id']}"
    for email, role in (("viewer@example.com", "viewer"), ("admin2@example.com", "admin")):
        body = {"email": email, "password": ADMIN_PASSWORD, "role": role}
        created = stack.call("POST", "/admin/api/operators", owner, json=body)
        assert created.status_code == 201, created.text

    viewer = open_page()
    log_in(viewer, "viewer@example.com")
    expect(viewer.get_by_role("banner")).to_contain_text("viewer")
    expect(viewer.get_by_role("link", name="Roles check")).to_be_visible()
    expect(viewer.get_by_role("button", name="Create environment")).to_have_count(0)
    expect(viewer.get_by_role("link", name="Operators")).to_be_hidden()
    viewer.get_by_role("link", name="Roles check").click()
    expect(viewer.get_by_role("table", name="API keys")).to_be_visible()
    for name in ("Create key", "Rotate keys", re.compile("^Revoke")):
        expect(viewer.get_by_role("button", name=name)).to_have_count(0)
    shot(viewer, artifacts, "viewer-keys")
    viewer.goto(thread_route)
    expect(viewer.get_by_role("list", name="Comments").get_by_role("listitem")).to_have_count(2)
    expect(viewer.get_by_role("button", name=re.compile("^Delete"))).to_have_count(0)
    viewer.get_by_role("link", name="Settings").click()
    expect(viewer.get_by_label("Environment name")).to_be_disabled()
    expect(viewer.get_by_role("button", name="Disable environment")).to_have_count(0)
    expect(viewer.get_by_role("button", name="Suspend environment")).to_have_count(0)
    viewer.goto("/admin#/operators")
    expect(viewer.get_by_text("Only owners can manage operators.")).to_be_visible()
    expect(viewer.get_by_role("table", name="Operators")).to_have_count(0)

    admin = open_page()
    log_in(admin, "admin2@example.com")
    expect(admin.get_by_role("button", name="Create environment")).to_be_visible()
    expect(admin.get_by_role("link", name="Operators")).to_be_hidden()
    admin.goto(f"/admin#/environments/{env['id']}/keys")
    expect(admin.get_by_role("button", name="Rotate keys")).to_be_visible()
    # An admin deletes a comment from the data browser (behind a confirmation).
    admin.goto(thread_route)
    listed = admin.get_by_role("list", name="Comments")
    listed.get_by_role("listitem").filter(has_text="Delete me").get_by_role("button").click()
    confirm = dialog(admin, "Delete this comment?")
    confirm.get_by_role("button", name="Delete").click()
    expect(listed.get_by_role("listitem")).to_have_count(1)
    expect(listed).to_contain_text("Keep me")
    gone = stack.call("GET", f"/api/v1{comments}", sk).json()["data"]
    assert [c["id"] for c in gone] == [thread["comments"][0]["id"]] != [doomed["id"]]

    # The owner: list, create, change role, delete; and the operators' audit log.
    page = open_page()
    log_in(page)
    page.get_by_role("link", name="Operators").click()
    operators = page.get_by_role("table", name="Operators")
    expect(operators.get_by_role("row", name=re.compile("viewer@example.com"))).to_be_visible()
    page.get_by_role("button", name="Add operator").click()
    form = dialog(page, "Add operator")
    form.get_by_label("Email").fill("new.op@example.com")
    form.get_by_label("Initial password").fill("short")
    form.get_by_role("button", name="Add operator").click()
    expect(form.get_by_label("Initial password")).to_have_js_property("validity.valid", False)
    form.get_by_label("Initial password").fill("a-long-enough-password")
    form.get_by_label("Role").select_option("viewer")
    form.get_by_role("button", name="Add operator").click()
    row = operators.get_by_role("row", name=re.compile("new.op@example.com"))
    expect(row).to_be_visible()
    page.get_by_label("Role of new.op@example.com").select_option("admin")
    expect(page.get_by_role("status").first).to_contain_text("new.op@example.com is now admin")
    listed = stack.call("GET", "/admin/api/operators", owner).json()["data"]
    assert {o["email"]: o["role"] for o in listed}["new.op@example.com"] == "admin"
    shot(page, artifacts, "operators")
    page.get_by_role("button", name="Delete operator new.op@example.com").click()
    confirm = dialog(page, "Delete operator new.op@example.com?")
    confirm.get_by_role("button", name="Delete operator").click()
    expect(row).to_have_count(0)
    page.get_by_role("link", name="Audit log").click()
    audit = page.get_by_role("table", name="Operators audit log")
    expect(audit.get_by_text("operator.deleted", exact=True).first).to_be_visible()
    expect(audit.get_by_text("operator.updated", exact=True).first).to_be_visible()


def test_environments_search_and_load_more(open_page: OpenPage, stack: Stack, owner: str) -> None:
    for n in range(23):
        stack.create_environment(owner, f"Bulk {n:02d}")
    page = open_page()
    log_in(page)
    search = page.get_by_label("Search environments")
    search.fill("Bulk")  # searches as one types
    expect(page.locator(".results[data-query='Bulk']:not([aria-busy])")).to_be_visible()
    envs = page.get_by_role("table", name="Environments")
    expect(envs.get_by_role("row")).to_have_count(21)  # header + the first page of 20
    expect(page.get_by_text("Showing 20; more are available.")).to_be_visible()
    page.get_by_role("button", name="Load more").click()
    expect(envs.get_by_role("row")).to_have_count(24)
    expect(page.get_by_role("button", name="Load more")).to_be_hidden()
    names = envs.locator("tbody th").all_inner_texts()
    assert names == [f"Bulk {n:02d}" for n in reversed(range(23))]  # newest first, no repeats
    assert "#/environments?q=Bulk" in page.url

    search.fill("Bulk 07")
    search.press("Enter")
    expect(envs.get_by_role("row")).to_have_count(2)
    expect(envs).to_contain_text("Bulk 07")
    search.fill("no such environment")
    search.press("Enter")
    expect(page.get_by_text("No environment matches “no such environment”.")).to_be_visible()


# --- privacy: end users' avatar hosts -------------------------------------------------------


def test_avatars_are_never_loaded_from_their_hosts_unless_the_operator_opts_in(
    open_page: OpenPage, stack: Stack, owner: str, artifacts: Path
) -> None:
    created = stack.create_environment(owner, "Avatar privacy")
    sk, env_id = secret_of(created), created["environment"]["id"]
    assert mint(stack, sk, "ada", avatar=AVATAR).status_code == 200
    assert mint(stack, sk, "grace", name="Grace Hopper", avatar=TRACKER).status_code == 200
    body = {"email": "looker@example.com", "password": ADMIN_PASSWORD, "role": "viewer"}
    assert stack.call("POST", "/admin/api/operators", owner, json=body).status_code == 201
    users_route = f"/admin#/environments/{env_id}/users"

    page = open_page()
    fetched: list[str] = []  # every request of the page (routed ones included)
    page.on("request", lambda request: fetched.append(request.url))

    def to_hosts() -> list[str]:
        return [url for url in fetched if url.startswith(AVATAR_HOSTS)]

    def shows_initials() -> None:
        users = page.get_by_role("table", name="Users")
        expect(users.get_by_role("row")).to_have_count(3)
        for name, letters in (("Ada Lovelace", "AL"), ("Grace Hopper", "GH")):
            row = users.get_by_role("row", name=re.compile(name))
            expect(row.locator(".avatar-initials")).to_have_text(letters)
        expect(users.locator("img")).to_have_count(0)

    # By default: initials, and not one request to either host.
    log_in(page)
    page.goto(users_route)
    shows_initials()
    expect(page.get_by_role("note").filter(has_text="Avatars are not loaded")).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert to_hosts() == []
    shot(page, artifacts, "users-initials")

    # The operator opts in: the page comes back with https: images allowed, and loads them.
    page.get_by_role("button", name="Load avatars").click()
    expect(page).to_have_url(re.compile(r"/admin\?avatars=on#/environments/"))
    users = page.get_by_role("table", name="Users")
    expect(users.locator("img")).to_have_count(2)
    for img in users.locator("img").all():
        expect(img).to_have_js_property("complete", True)
    assert sorted(set(to_hosts())) == sorted([AVATAR, TRACKER])
    shot(page, artifacts, "users-avatars")

    # The choice is this operator's: another one in the same browser sees initials.
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_label("Email")).to_be_visible()
    expect(page).not_to_have_url(re.compile("avatars"))
    loaded = len(to_hosts())
    log_in(page, "looker@example.com")
    page.goto(users_route)
    shows_initials()
    page.wait_for_load_state("networkidle")
    assert len(to_hosts()) == loaded

    # Back as the owner (remembered), then opting out again: initials, nothing more loaded.
    page.get_by_role("button", name="Log out").click()
    log_in(page)
    expect(page).to_have_url(re.compile(r"/admin\?avatars=on"))
    page.goto(users_route.replace("/admin#", "/admin?avatars=on#"))
    page.get_by_role("button", name="Stop loading avatars").click()
    expect(page).not_to_have_url(re.compile("avatars"))
    shows_initials()
    page.wait_for_load_state("networkidle")
    loaded = len(to_hosts())
    page.reload()
    shows_initials()
    page.wait_for_load_state("networkidle")
    assert len(to_hosts()) == loaded


# --- phone width ------------------------------------------------------------------------------


def test_the_panel_is_usable_at_phone_width(
    open_page: OpenPage, stack: Stack, owner: str, artifacts: Path
) -> None:
    created = stack.create_environment(owner, "Mobile app")
    sk = secret_of(created)
    env_id = created["environment"]["id"]
    assert mint(stack, sk, "ada", avatar=AVATAR).status_code == 200
    assert mint(stack, sk, "grace", name="Grace Hopper").status_code == 200
    rest(stack, sk, "POST", "/rooms", {"id": "checkout-flow"})
    thread = rest(
        stack,
        sk,
        "POST",
        "/rooms/checkout-flow/threads",
        {"comment": {"userId": "ada", "body": "The pay button is below the fold on iPhone SE."}},
    )
    path = f"/rooms/checkout-flow/threads/{thread['id']}/comments"
    rest(stack, sk, "POST", path, {"userId": "grace", "body": "Moving it up."})

    page = open_page(PHONE)
    page.goto("/admin")
    expect(page.get_by_label("Email")).to_be_visible()
    no_horizontal_scroll(page)
    shot(page, artifacts, "login")
    log_in(page)
    no_horizontal_scroll(page)
    shot(page, artifacts, "environments")

    page.get_by_role("button", name="Create environment").click()
    form = dialog(page, "Create environment")
    form.get_by_label("Name").fill("Phone-made")
    form.get_by_role("button", name="Create environment").click()
    keys = dialog(page, "Environment “Phone-made” created")
    expect(keys.get_by_role("button", name="Copy secret key")).to_be_in_viewport()
    shot(page, artifacts, "key-created-dialog", full_page=False)
    keys.get_by_role("button", name="I have saved the secret key").click()
    expect(page.get_by_role("heading", level=1, name="Phone-made")).to_be_visible()

    views = (
        ("environment-detail", f"#/environments/{env_id}/keys", "API keys"),
        ("browse", f"#/environments/{env_id}/browse/checkout-flow/{thread['id']}", "Comments"),
        ("users", f"#/environments/{env_id}/users", "Users"),
        ("analytics", f"#/environments/{env_id}/analytics", "Analytics"),
    )
    for name, route, heading in views:
        page.goto(f"/admin{route}")
        expect(page.get_by_role("heading", level=2, name=heading)).to_be_visible()
        no_horizontal_scroll(page)
        shot(page, artifacts, name)
    expect(page.locator("[data-stat=comments] dd")).to_have_text("2")


def test_a_session_that_ends_sends_the_operator_back_to_log_in(
    open_page: OpenPage, stack: Stack
) -> None:
    page = open_page()
    log_in(page)
    token = page.evaluate("JSON.parse(sessionStorage.getItem('pulse.admin.session')).token")
    assert stack.call("POST", "/admin/api/logout", token).status_code == 204
    page.reload()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Your session has ended.")
    expect(alert).to_contain_text("Log in again")
    expect(page.get_by_label("Email")).to_be_focused()


def test_dialogs_keep_tab_inside_and_tabs_keep_focus(
    open_page: OpenPage, stack: Stack, owner: str
) -> None:
    env = stack.create_environment(owner, "Focus trap")["environment"]
    page = open_page()
    log_in(page)
    page.goto(f"/admin#/environments/{env['id']}/keys")
    page.get_by_role("button", name="Rotate keys").click()
    confirm = dialog(page, "Rotate the keys of “Focus trap”?")
    inside = []
    for _ in range(6):
        page.keyboard.press("Tab")
        inside.append(page.evaluate("!!document.activeElement.closest('dialog')"))
    assert all(inside)
    page.keyboard.press("Escape")
    expect(confirm).to_be_hidden()
    keys = stack.call("GET", f"/admin/api/environments/{env['id']}/keys", owner).json()["data"]
    assert all(k["status"] == "active" for k in keys)  # Escape cancelled: nothing rotated

    # Tabs are links: Enter opens one and the keyboard focus stays on the tab bar.
    tab = page.get_by_role("navigation", name="Environment sections").get_by_role("link")
    tab.filter(has_text="Analytics").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=2, name="Analytics")).to_be_visible()
    expect(tab.filter(has_text="Analytics")).to_be_focused()
    expect(tab.filter(has_text="Analytics")).to_have_attribute("aria-current", "page")


def test_the_data_browser_names_authors_and_mentions_and_shows_reactions(
    open_page: OpenPage, stack: Stack, owner: str, artifacts: Path
) -> None:
    created = stack.create_environment(owner, "Names and reactions")
    env, sk = created["environment"], secret_of(created)
    for user, name in (("ada", "Ada Lovelace"), ("grace", "Grace Hopper")):
        assert mint(stack, sk, user, name=name).status_code == 200
    rest(stack, sk, "POST", "/rooms", {"id": "lobby"})
    first = {"comment": {"userId": "ada", "body": "Thoughts, <@grace>?"}}
    thread = rest(stack, sk, "POST", "/rooms/lobby/threads", first)
    comment = thread["comments"][0]
    path = f"/rooms/lobby/threads/{thread['id']}/comments/{comment['id']}/reactions"
    thumbs = "\N{THUMBS UP SIGN}"
    for user in ("grace", "ada"):
        rest(stack, sk, "POST", path, {"emoji": thumbs, "userId": user})
    # A comment by a user id no token was minted for keeps its id.
    rest(
        stack,
        sk,
        "POST",
        f"/rooms/lobby/threads/{thread['id']}/comments",
        {"userId": "bot-7", "body": "ok"},
    )

    page = open_page()
    log_in(page)
    page.goto(f"/admin#/environments/{env['id']}/browse/lobby")
    card = page.locator(".thread-card")
    expect(card).to_contain_text("started by Ada Lovelace (ada)")
    page.goto(f"/admin#/environments/{env['id']}/browse/lobby/{thread['id']}")
    comments = page.get_by_role("list", name="Comments").locator(":scope > li")
    expect(comments).to_have_count(2)
    expect(comments.nth(0).locator(".comment-head")).to_contain_text("Ada Lovelace (ada)")
    expect(comments.nth(0).locator(".comment-body")).to_have_text("Thoughts, @Grace Hopper?")
    reaction = comments.nth(0).get_by_role("list", name="Reactions").locator("li")
    expect(reaction).to_have_text(f"{thumbs} 2")
    expect(reaction).to_have_attribute("title", "Grace Hopper, Ada Lovelace")
    expect(comments.nth(1).locator(".comment-head .user-label")).to_have_text("bot-7")
    expect(comments.nth(1).get_by_role("list", name="Reactions")).to_have_count(0)
    shot(page, artifacts, "browse-names-reactions")
