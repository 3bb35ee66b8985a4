"""`<pulse-widget>` in real headless Chromium against the real local stack (`python -m devstack`).

The widget is loaded as a customer's page would load it: a page on another origin (a small HTTP
server of this module, on another loopback port: Chromium's Local Network Access refuses loopback
requests from pages that are not on loopback themselves) with `<script src="{API}/sdk/pulse.js">`,
a publishable key, a token minted with the environment's secret key, and optionally a
`token-url` (served by that site, minting through the real POST /auth/token). Then the dev
stack's own /demo page. Every wait is bounded (WAIT_MS)."""

from __future__ import annotations

import base64
import contextlib
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
from playwright.sync_api import Browser, BrowserContext, Page, WebSocket, expect

from .conftest import Stack

pytestmark = pytest.mark.e2e

WAIT_MS = 8_000
BANNER_SECONDS = 10
WIDGET = "pulse-widget"
EVENTS = [
    "pulse:connected",
    "pulse:disconnected",
    "pulse:error",
    "pulse:presence",
    "pulse:status",
    "pulse:members",
]


# --- fixtures and helpers ------------------------------------------------------------------------


def banner_value(stack: Stack, label: str) -> str:
    """A URL from the stack's start banner (e.g. the Management API's), bounded wait."""
    pattern = re.compile(rf"^\s*{label}:\s+(http://\S+)", re.MULTILINE)
    deadline = time.monotonic() + BANNER_SECONDS
    while True:
        found = pattern.search(stack.log())
        if found:
            return found.group(1)
        assert time.monotonic() < deadline, f"no {label} line in the banner:\n{stack.log()}"
        time.sleep(0.05)


class Env:
    """An environment of the stack, made for this module, and a minter of its user tokens."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        created = stack.create_environment(stack.login(), f"Widget tests {uuid.uuid4().hex[:6]}")
        keys = {k["kind"]: k["key"] for k in created["keys"]}
        self.pk: str = keys["publishable"]
        self.sk: str = keys["secret"]
        self.minted: list[str] = []

    def mint(self, user: str, name: str) -> str:
        response = self.stack.call(
            "POST", "/auth/token", self.sk, json={"userId": user, "name": name}
        )
        assert response.status_code == 200, response.text
        token: str = response.json()["token"]
        self.minted.append(token)
        return token


@pytest.fixture(scope="module")
def env(stack: Stack) -> Env:
    return Env(stack)


@pytest.fixture
def contexts(browser: Browser) -> Iterator[Callable[[], BrowserContext]]:
    """New browser contexts (each its own "browser": cookies, storage), all closed at the end."""
    made: list[BrowserContext] = []

    def new() -> BrowserContext:
        context = browser.new_context(viewport={"width": 480, "height": 900})
        context.set_default_timeout(WAIT_MS)
        made.append(context)
        return context

    try:
        yield new
    finally:
        for context in made:
            context.close()


def widget_html(stack: Stack, attrs: dict[str, str], width: int) -> str:
    attributes = " ".join(f'{k}="{v}"' for k, v in attrs.items())
    listen = json.dumps(EVENTS)
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<link rel="icon" href="data:,"><title>Customer page</title>
<script>
  window.__events = [];
  for (const name of {listen}) {{
    document.addEventListener(name, (e) => {{
      const w = e.target;
      const status = w.shadowRoot && w.shadowRoot.querySelector(".status");
      window.__events.push({{
        type: name, detail: e.detail, others: w.others.length,
        statusText: status ? status.textContent : null, at: Date.now(),
      }});
    }});
  }}
</script>
<script src="{stack.url}/sdk/pulse.js"></script>
</head><body style="margin:0;padding:8px;font-family:sans-serif">
<div style="width:{width}px"><pulse-widget {attributes}></pulse-widget></div>
</body></html>"""


class WidgetPage:
    """One customer page with one widget, and what it sent over its sockets."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.sockets: list[str] = []  # the URLs of every WebSocket the page opened
        self.sent: list[tuple[float, dict[str, Any]]] = []
        self.received: list[dict[str, Any]] = []  # every frame the server sent the page
        self.requests: list[str] = []  # the URL of every HTTP request the page made
        page.on("websocket", self._on_socket)
        page.on("request", lambda request: self.requests.append(request.url))

    def _on_socket(self, ws: WebSocket) -> None:
        self.sockets.append(ws.url)

        def sent(payload: str | bytes) -> None:
            if isinstance(payload, str):
                self.sent.append((time.monotonic(), json.loads(payload)))

        def received(payload: str | bytes) -> None:
            if isinstance(payload, str):
                self.received.append(json.loads(payload))

        ws.on("framesent", sent)
        ws.on("framereceived", received)

    @property
    def widget(self) -> Any:
        return self.page.locator(WIDGET)

    def call(self, script: str) -> Any:
        """Evaluate `script` with `w` bound to the widget."""
        return self.page.evaluate(
            f"(() => {{ const w = document.querySelector('{WIDGET}'); {script} }})()"
        )

    def events(self, type_: str | None = None) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = self.page.evaluate("window.__events")
        return [e for e in events if type_ is None or e["type"] == type_]

    def wait_connected(self) -> None:
        expect(self.widget).to_have_attribute("data-status", "connected")

    def avatar(self, user: str) -> Any:
        return self.page.locator(f"{WIDGET} .avatars li[data-user-id='{user}']")

    def thread_with(self, text: str) -> Any:
        return self.page.locator(f"{WIDGET} li.thread").filter(has_text=text)


OpenWidget = Callable[..., WidgetPage]


Answer = tuple[int, str, str]  # status, content type, body


class CustomerSite:
    """The customer's website: pages with a widget (each sets a `visitor` cookie, as a login
    would), and the token endpoint their token-url names (it mints through the real POST
    /auth/token, as a customer backend would), or an endpoint that answers what a test says."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}  # path -> HTML
        self.minters: dict[str, Callable[[], str]] = {}  # path -> mint a fresh token
        self.answers: dict[str, Callable[[], Answer]] = {}  # path -> what to answer
        self.token_calls: list[dict[str, Any]] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                call = {"path": path, "method": self.command, "cookie": self.headers["Cookie"]}
                if path in site.pages:
                    cookie = f"visitor={path.strip('/')}; Path=/; SameSite=Lax"
                    self._send(200, "text/html; charset=utf-8", site.pages[path], cookie)
                elif path in site.minters:
                    token = site.minters[path]()
                    site.token_calls.append({**call, "token": token})
                    self._send(200, "application/json", json.dumps({"token": token}))
                elif path in site.answers:
                    site.token_calls.append(call)
                    self._send(*site.answers[path]())
                else:
                    self._send(404, "text/plain", "not found")

            do_POST = do_GET

            def _send(
                self, status: int, content_type: str, body: str, cookie: str | None = None
            ) -> None:
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "no-store")
                if cookie:
                    self.send_header("Set-Cookie", cookie)
                self.end_headers()
                # The page may have given up waiting (a token-url that hangs).
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        # The same server under another origin (another host name): no CORS headers there.
        self.other_origin = f"http://localhost:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture(scope="module")
def site() -> Iterator[CustomerSite]:
    customer = CustomerSite()
    try:
        yield customer
    finally:
        customer.close()


@pytest.fixture
def open_widget(
    stack: Stack, env: Env, site: CustomerSite, contexts: Callable[[], BrowserContext]
) -> OpenWidget:
    """A customer page (in its own browser context) with a widget. `token_url=True` adds a
    token-url that mints for `user` (a string: that token-url); its calls are in
    `site.token_calls`. `clock=True` gives the page Playwright's clock (`page.clock`)."""

    def open_(
        user: str,
        name: str,
        room: str,
        *,
        token: str | None = None,
        token_url: bool | str = False,
        width: int = 400,
        clock: bool = False,
    ) -> WidgetPage:
        key = uuid.uuid4().hex[:8]
        attrs = {
            "api-key": env.pk,
            "room": room,
            "endpoint": stack.ws_url,
            "token": token if token is not None else env.mint(user, name),
        }
        if isinstance(token_url, str):
            attrs["token-url"] = token_url
        elif token_url:
            attrs["token-url"] = f"/token/{key}"
            site.minters[f"/token/{key}"] = lambda: env.mint(user, name)
        site.pages[f"/{key}"] = widget_html(stack, attrs, width)
        page = contexts().new_page()
        if clock:
            page.clock.install()
        widget_page = WidgetPage(page)
        page.goto(f"{site.url}/{key}")
        return widget_page

    return open_


def eventually(page: WidgetPage, check: Callable[[], bool], what: str) -> None:
    """Poll `check` (bounded), letting Playwright deliver its events between tries."""
    deadline = time.monotonic() + WAIT_MS / 1000
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        page.page.wait_for_timeout(50)


def presence_sent(page: WidgetPage) -> list[Any]:
    return [m["data"] for _, m in page.sent if m["type"] == "presence.update"]


def new_room() -> str:
    return f"room-{uuid.uuid4().hex[:10]}"


def expired_copy(token: str) -> str:
    """The token with its exp moved into the past (so its signature no longer verifies either:
    the widget must notice the expiry itself and never send it)."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["exp"] = int(time.time()) - 60
    raw = json.dumps(claims, separators=(",", ":")).encode()
    return ".".join([header, base64.urlsafe_b64encode(raw).rstrip(b"=").decode(), signature])


# --- the SDK script ----------------------------------------------------------------------------


def test_sdk_is_served_as_public_cacheable_javascript(stack: Stack) -> None:
    response = requests.get(stack.url + "/sdk/pulse.js", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert 'customElements.define("pulse-widget"' in response.text
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write"):
        assert sink not in response.text  # user text only ever goes through textContent


# --- two users in one room ---------------------------------------------------------------------


def test_two_widgets_see_each_other_presence_and_comments(
    open_widget: OpenWidget, artifacts: Path
) -> None:
    room = new_room()
    ada = open_widget("ada", "Ada Lovelace", room, width=320)
    ada.wait_connected()
    grace = open_widget("grace", "Grace Hopper", room)
    grace.wait_connected()

    # Each sees the other appear in the avatar stack (name on hover), and themselves.
    expect(ada.avatar("grace")).to_have_attribute("title", "Grace Hopper")
    expect(grace.avatar("ada")).to_have_attribute("title", "Ada Lovelace")
    expect(ada.avatar("ada")).to_have_attribute("title", "Ada Lovelace (you)")
    expect(ada.avatar("grace")).to_contain_text("GH")
    expect(ada.page.locator(f"{WIDGET} .status")).to_have_text("Connected")
    connected = ada.events("pulse:connected")
    assert len(connected) == 1 and connected[0]["detail"]["self"]["userId"] == "ada"

    # Presence: throttled to one send per 100 ms, the latest data wins, the other side sees it.
    ada.call("for (let n = 0; n < 20; n++) w.updatePresence({cursor: [n, 2 * n]});")
    expect(grace.avatar("ada")).to_have_attribute("data-presence", '{"cursor":[19,38]}')
    eventually(ada, lambda: len(presence_sent(ada)) >= 2, "Ada's presence frames")
    ada.page.wait_for_timeout(150)  # nothing else is coming
    assert presence_sent(ada) == [{"cursor": [0, 0]}, {"cursor": [19, 38]}]
    seen = grace.events("pulse:presence")
    assert seen[-1]["detail"] == {
        "connectionId": ada.call("return w.connectionId;"),
        "userId": "ada",
        "data": {"cursor": [19, 38]},
    }

    # A thread typed in one appears in the other; a reply comes back; only own comments are
    # editable; user text is text, never markup.
    hostile = '<img src=x onerror="window.__xss=1">Budget final?'
    ada.page.get_by_label("Start a new thread").fill(hostile)
    ada.page.get_by_role("button", name="Comment", exact=True).click()
    thread = grace.thread_with("Budget final?")
    expect(thread.locator(".comment .body")).to_have_text(hostile)
    expect(thread.locator(".comment .author")).to_have_text("Ada Lovelace")
    expect(ada.page.get_by_label("Start a new thread")).to_have_value("")  # cleared once sent
    assert grace.page.evaluate("window.__xss") is None
    assert thread.locator("img").count() == 0

    thread.get_by_label("Reply").fill("Not yet, Tuesday.")
    thread.get_by_role("button", name="Reply").click()
    mine = ada.thread_with("Budget final?")
    expect(mine.locator(".comment")).to_have_count(2)
    expect(mine.locator(".comment").nth(1).locator(".body")).to_have_text("Not yet, Tuesday.")
    expect(mine.locator(".comment").nth(1).locator(".author")).to_have_text("Grace Hopper")
    expect(
        mine.locator(".comment").nth(0).get_by_role("button", name="Edit your comment")
    ).to_be_visible()
    expect(
        mine.locator(".comment").nth(1).get_by_role("button", name="Edit your comment")
    ).to_be_hidden()

    # Edit own comment: the other side sees the new text, marked edited.
    mine.locator(".comment").nth(0).get_by_role("button", name="Edit your comment").click()
    editor = mine.get_by_label("Edit comment")
    editor.fill("Is the budget final?")
    mine.get_by_role("button", name="Save").click()
    theirs = grace.thread_with("budget final")
    expect(theirs.locator(".comment").nth(0).locator(".body")).to_have_text("Is the budget final?")
    expect(theirs.locator(".comment").nth(0).locator(".edited")).to_be_visible()

    # Delete own comment (with an inline confirmation): gone on both sides.
    theirs.locator(".comment").nth(1).get_by_role("button", name="Delete your comment").click()
    theirs.get_by_role("button", name="Delete", exact=True).click()
    expect(mine.locator(".comment")).to_have_count(1)
    expect(theirs.locator(".comment")).to_have_count(1)

    # The 320 px widget lays out without horizontal overflow.
    overflow = ada.call(
        "return [...w.shadowRoot.querySelectorAll('*')].filter(e => e.clientWidth > 0"
        " && e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX !== 'hidden')"
        ".map(e => e.className || e.tagName);"
    )
    assert overflow == [], overflow
    assert ada.call("return w.getBoundingClientRect().width;") == 320
    ada.widget.screenshot(path=str(artifacts / "widget-320.png"))

    # Resolve in one: the other moves it to Resolved; reopen brings it back.
    theirs.get_by_role("button", name="Resolve thread").click()
    expect(ada.page.get_by_role("button", name="Resolved (1)")).to_be_visible()
    expect(ada.thread_with("budget final")).to_have_count(0)
    ada.page.get_by_role("button", name="Resolved (1)").click()
    expect(ada.thread_with("budget final")).to_have_attribute("data-resolved", "true")
    ada.thread_with("budget final").get_by_role("button", name="Reopen thread").click()
    expect(grace.page.get_by_role("button", name="Open (1)")).to_be_visible()
    expect(grace.thread_with("budget final")).to_have_attribute("data-resolved", "false")

    # A page opened later lists the discussion so far (threads with their comments).
    grace.page.reload()
    grace.wait_connected()
    expect(grace.thread_with("Is the budget final?").locator(".comment")).to_have_count(1)

    # Leaving: the other's avatar goes away.
    grace.page.context.close()
    expect(ada.avatar("grace")).to_have_count(0)
    expect(ada.widget).to_have_attribute("data-members", "0")


def test_several_departures_in_one_frame_remove_every_avatar(
    open_widget: OpenWidget, stack: Stack, env: Env
) -> None:
    room = new_room()
    ada = open_widget("ada", "Ada Lovelace", room)
    ada.wait_connected()
    bob = f"bob-{uuid.uuid4().hex[:6]}"  # two tabs of one user, closed together below
    tabs = [open_widget(bob, "Bob Two Tabs", room) for _ in range(2)]
    for tab in tabs:
        tab.wait_connected()
    eventually(ada, lambda: len(ada.call("return w.others;")) == 2, "both of Bob's tabs")
    expect(ada.avatar(bob)).to_have_count(1)
    expect(ada.widget).to_have_attribute("data-members", "1")
    tab_ids = sorted(tab.call("return w.connectionId;") for tab in tabs)

    revoked = stack.call("POST", f"/api/v1/users/{bob}/revoke-tokens", env.sk)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["closedConnections"] == 2

    # One frame names both tabs; the widget drops both (one left behind would keep the avatar).
    eventually(
        ada,
        lambda: any(m["type"] == "users.left" for m in ada.received),
        "users.left",
    )
    (frame,) = [m for m in ada.received if m["type"] in ("user.left", "users.left")]
    assert sorted(x["connectionId"] for x in frame["left"]) == tab_ids
    expect(ada.avatar(bob)).to_have_count(0)
    expect(ada.widget).to_have_attribute("data-members", "0")
    assert ada.call("return w.others;") == []
    assert ada.events("pulse:members")[-1]["detail"]["members"] == []


# --- rooms ------------------------------------------------------------------------------------


def test_a_room_a_url_cannot_carry_is_refused_before_dialling(
    open_widget: OpenWidget, site: CustomerSite
) -> None:
    """`.` and `..` are refused as new room ids (at $connect too): the widget says so at once
    instead of dialling a refused connection again and again, and fetches no token for it. A
    room of dots that is no dot segment travels as the socket URL's query value, as any room."""
    for room in ("..", "."):
        page = open_widget("ada", "Ada Lovelace", room, token_url=True)
        eventually(page, lambda p=page: bool(p.events("pulse:error")), "pulse:error")
        (error,) = page.events("pulse:error")
        assert error["detail"]["code"] == "INVALID_ROOM", error
        assert '"."' in error["detail"]["message"]
        expect(page.widget).to_have_attribute(
            "data-status", "stopped"
        )  # it will not retry on its own
        page.page.wait_for_timeout(300)  # time enough for a dial or a token fetch to show
        assert page.sockets == []
        key = page.page.url.rsplit("/", 1)[1]
        assert [c for c in site.token_calls if c["path"].endswith(key)] == []

    room = f"...{uuid.uuid4().hex[:6]}.."
    dots = open_widget("ada", "Ada Lovelace", room)
    dots.wait_connected()
    (url,) = dots.sockets
    assert url.startswith(dots.widget.get_attribute("endpoint") or "?")
    assert f"&room={quote(room, safe='')}" in url
    assert dots.events("pulse:error") == []


# --- tokens ------------------------------------------------------------------------------------


def test_expired_token_is_refreshed_through_token_url_before_connecting(
    open_widget: OpenWidget, env: Env, site: CustomerSite
) -> None:
    stale = expired_copy(env.mint("ada", "Ada Lovelace"))
    ada = open_widget("ada", "Ada Lovelace", new_room(), token=stale, token_url=True)
    ada.wait_connected()
    calls = [c for c in site.token_calls if ada.page.url.endswith(c["path"].split("/")[-1])]
    assert [c["method"] for c in calls] == ["GET"]
    assert len(ada.sockets) == 1, ada.sockets  # no doomed attempt with the expired token
    assert f"token={calls[0]['token']}" in ada.sockets[0]
    assert len(ada.events("pulse:connected")) == 1
    assert ada.events("pulse:error") == []


def test_refused_token_is_replaced_through_token_url(
    open_widget: OpenWidget, site: CustomerSite
) -> None:
    ada = open_widget("ada", "Ada Lovelace", new_room(), token="not-a-token", token_url=True)
    ada.wait_connected()
    calls = [c for c in site.token_calls if ada.page.url.endswith(c["path"].split("/")[-1])]
    errors = [e["detail"]["code"] for e in ada.events("pulse:error")]
    assert errors == ["CONNECT_REFUSED"], errors
    assert len(calls) == 1 and len(ada.sockets) == 2
    assert "token=not-a-token" in ada.sockets[0]
    assert len(ada.events("pulse:connected")) == 1


# --- when the token fails -------------------------------------------------------------------------


def notice(page: WidgetPage) -> Any:
    """The line under the header that tells the visitor what is wrong (and its button)."""
    return page.page.locator(f"{WIDGET} .notice")


def notice_text(page: WidgetPage) -> Any:
    return page.page.locator(f"{WIDGET} .notice > span")


def token_requests(page: WidgetPage, url_part: str) -> list[str]:
    """The requests the page made to its token-url (whatever became of them: CORS included)."""
    return [url for url in page.requests if url_part in url]


def test_an_expired_token_without_token_url_says_so_and_takes_a_new_token_in_place(
    open_widget: OpenWidget, stack: Stack, env: Env, artifacts: Path
) -> None:
    management = banner_value(stack, "Mgmt API")
    ada = open_widget("ada", "Ada Lovelace", new_room())
    ada.wait_connected()
    ada.call("window.__w = w;")
    # The page's token expires while the widget is connected; then the connection ends (the
    # 2-hour cap, a kick, a network change): the widget must not dial with the expired token.
    ada.call(f"w.setAttribute('token', {json.dumps(expired_copy(env.mint('ada', 'Ada')))});")
    old = ada.call("return w.connectionId;")
    response = requests.delete(f"{management}/@connections/{quote(old, safe='')}", timeout=5)
    assert response.status_code == 204, response.text

    expect(ada.widget).to_have_attribute("data-status", "stopped")
    expect(notice_text(ada)).to_have_text("Your session has expired. Reload the page to continue.")
    expect(ada.page.locator(f"{WIDGET} .status")).to_have_text("Not connected")
    expect(ada.page.get_by_role("button", name="Try again")).to_be_hidden()
    error = ada.call("return w.lastError;")
    assert error["code"] == "TOKEN_EXPIRED"
    assert "token attribute or property" in error["message"] and "token-url" in error["message"]
    assert [e["detail"] for e in ada.events("pulse:error")] == [error]
    assert len(ada.sockets) == 1  # the expired token was never sent
    ada.widget.screenshot(path=str(artifacts / "widget-token-expired.png"))

    # The page hands over a new token through the property: the same element connects with it.
    fresh = env.mint("ada", "Ada Lovelace")
    ada.call(f"w.token = {json.dumps(fresh)};")
    ada.wait_connected()
    assert ada.call("return w === window.__w && w.token === w.getAttribute('token');")
    assert f"token={fresh}" in ada.sockets[-1]
    assert ada.call("return w.lastError;") is None
    expect(notice(ada)).to_be_hidden()


def test_errors_raised_while_starting_reach_a_page_that_listens_late(
    stack: Stack,
    env: Env,
    site: CustomerSite,
    contexts: Callable[[], BrowserContext],
    artifacts: Path,
) -> None:
    expired = expired_copy(env.mint("ada", "Ada Lovelace"))
    common = f'api-key="{env.pk}" room="{new_room()}"'
    # The README's order: the script, the elements, then the page's own script.
    html = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<link rel="icon" href="data:,"><title>Late listener</title>
<script src="{stack.url}/sdk/pulse.js"></script></head>
<body style="margin:0;padding:8px;font-family:sans-serif;width:400px">
<pulse-widget id="expired" {common} endpoint="{stack.ws_url}" token="{expired}"></pulse-widget>
<pulse-widget id="tokenless" {common} endpoint="{stack.ws_url}"></pulse-widget>
<pulse-widget id="no-endpoint" {common} token="{expired}"></pulse-widget>
<script>
  window.__late = {{}};
  for (const w of document.querySelectorAll("pulse-widget")) {{
    window.__late[w.id] = {{status: w.status, lastError: w.lastError, heard: []}};
    w.addEventListener("pulse:error", (e) => window.__late[w.id].heard.push(e.detail.code));
  }}
</script></body></html>"""
    key = uuid.uuid4().hex[:8]
    site.pages[f"/{key}"] = html
    page = contexts().new_page()
    page.goto(f"{site.url}/{key}")

    late = page.evaluate("window.__late")
    expected = {
        "expired": ("TOKEN_EXPIRED", "Your session has expired. Reload the page to continue."),
        "tokenless": (
            "MISSING_TOKEN",
            "Comments are unavailable: this page has not signed you in.",
        ),
        "no-endpoint": (
            "MISSING_ATTRIBUTE",
            "Comments are unavailable: this page has not set up the widget fully.",
        ),
    }
    for widget_id, (code, text) in expected.items():
        seen = late[widget_id]
        # The error fired before this script ran: the listener heard nothing, the state tells.
        assert seen["heard"] == [], (widget_id, seen)
        assert seen["status"] == "stopped", (widget_id, seen)
        assert seen["lastError"]["code"] == code, (widget_id, seen)
        assert seen["lastError"]["message"], (widget_id, seen)
        widget = page.locator(f"#{widget_id}")
        expect(widget).to_have_attribute("data-status", "stopped")
        expect(widget.locator(".notice > span")).to_have_text(text)
    assert "endpoint" in late["no-endpoint"]["lastError"]["message"]
    page.screenshot(path=str(artifacts / "widget-late-listener.png"), full_page=True)

    # A token set later on the tokenless one connects it.
    fresh = json.dumps(env.mint("grace", "Grace Hopper"))
    page.evaluate(f"document.querySelector('#tokenless').setAttribute('token', {fresh})")
    expect(page.locator("#tokenless")).to_have_attribute("data-status", "connected")
    assert page.evaluate("document.querySelector('#tokenless').lastError") is None


def test_a_failing_token_url_backs_off_stops_and_offers_to_try_again(
    open_widget: OpenWidget, env: Env, site: CustomerSite, artifacts: Path
) -> None:
    def good() -> Answer:
        return 200, "application/json", json.dumps({"token": env.mint("ada", "Ada")})

    stale = expired_copy(env.mint("ada", "Ada"))
    kinds: dict[str, tuple[Callable[[], Answer], str, str]] = {
        # name: (what the token-url answers, where it is, what the visitor reads)
        "http-500": (
            lambda: (500, "application/json", '{"error": "down"}'),
            site.url,
            "the sign-in service answered with error 500",
        ),
        "not-json": (
            lambda: (200, "text/html", "<html>Please log in</html>"),
            site.url,
            "the sign-in service sent an unexpected answer",
        ),
        "expired": (
            lambda: (200, "application/json", json.dumps({"token": stale})),
            site.url,
            "the sign-in service sent an expired token",
        ),
        "cors": (good, site.other_origin, "the sign-in service could not be reached"),
    }
    pages: dict[str, tuple[WidgetPage, str]] = {}
    for kind, (answer, origin, _) in kinds.items():
        path = f"/fail/{kind}-{uuid.uuid4().hex[:6]}"
        site.answers[path] = answer
        pages[kind] = (
            open_widget("ada", "Ada", new_room(), token="", token_url=origin + path),
            path,
        )

    for kind, (page, _path) in pages.items():
        expect(page.widget).to_have_attribute("data-status", "stopped", timeout=15_000)
        errors = [e["detail"] for e in page.events("pulse:error")]
        assert [e["code"] for e in errors] == ["TOKEN_REFRESH_FAILED"] * 4, (kind, errors)
        assert [e["attempt"] for e in errors] == [1, 2, 3, 4], (kind, errors)
        waits = [e["retryInMs"] for e in errors]
        # Exponential with jitter: 0.5-1 s, 1-2 s, 2-4 s; then it stops.
        assert 500 <= waits[0] <= 1000 <= waits[1] <= 2000 <= waits[2] <= 4000, (kind, waits)
        assert waits[3] is None, (kind, waits)
        assert page.call("return w.lastError;") == errors[-1]
        assert "Stopped after 4 failures" in errors[-1]["message"], errors[-1]
        text = kinds[kind][2]
        expect(notice_text(page)).to_have_text(f"Could not sign you in to comments: {text}.")
        expect(page.page.get_by_role("button", name="Try again")).to_be_visible()
        assert page.sockets == [], (kind, page.sockets)
    pages["http-500"][0].widget.screenshot(path=str(artifacts / "widget-token-url-failed.png"))
    pages["cors"][0].widget.screenshot(path=str(artifacts / "widget-token-url-cors.png"))

    # Stopped means stopped: no more calls (4 each), each sent with the page's cookies.
    pages["http-500"][0].page.wait_for_timeout(1_500)
    for kind, (page, path) in pages.items():
        calls = [c for c in site.token_calls if c["path"] == path]
        assert len(calls) == 4, (kind, calls)
        assert len(token_requests(page, path)) == 4, kind
        if kind != "cors":  # another origin: the page's cookie is not its cookie
            visitor = page.page.url.rsplit("/", 1)[-1]
            assert all(c["cookie"] == f"visitor={visitor}" for c in calls), (kind, calls)

    # The visitor tries again once the backend is fixed: one call, connected.
    page, path = pages["http-500"]
    site.answers[path] = good
    page.page.get_by_role("button", name="Try again").click()
    page.wait_connected()
    assert len([c for c in site.token_calls if c["path"] == path]) == 5
    assert page.call("return w.lastError;") is None
    expect(notice(page)).to_be_hidden()

    # Or the page hands over a token itself: connected, token-url not called again.
    page, path = pages["not-json"]
    page.call(f"w.token = {json.dumps(env.mint('ada', 'Ada'))};")
    page.wait_connected()
    assert len([c for c in site.token_calls if c["path"] == path]) == 4


def test_a_token_url_that_never_answers_is_given_up_on_after_10_seconds(
    open_widget: OpenWidget, site: CustomerSite, contexts: Callable[[], BrowserContext]
) -> None:
    release = threading.Event()

    def hang() -> Answer:
        release.wait(30)
        return 200, "application/json", "{}"

    path = f"/hang/{uuid.uuid4().hex[:6]}"
    site.answers[path] = hang
    try:
        # The page's clock is Playwright's: ten seconds pass when the test says so.
        ada = open_widget("ada", "Ada", new_room(), token="", token_url=path, clock=True)
        for attempt in range(1, 5):
            eventually(ada, lambda n=attempt: len(token_requests(ada, path)) == n, f"try {attempt}")
            expect(ada.widget).to_have_attribute("data-status", "connecting")
            ada.page.clock.run_for(10_000 + 4_000)  # the fetch's timeout, then the backoff
        expect(ada.widget).to_have_attribute("data-status", "stopped")
        errors = [e["detail"] for e in ada.events("pulse:error")]
        assert [e["attempt"] for e in errors] == [1, 2, 3, 4]
        assert all("did not answer within 10 s" in e["message"] for e in errors), errors
        expect(notice_text(ada)).to_have_text(
            "Could not sign you in to comments: the sign-in service did not answer."
        )
        assert len(token_requests(ada, path)) == 4
    finally:
        release.set()


def test_a_token_from_token_url_that_is_refused_is_not_minted_again_at_every_retry(
    open_widget: OpenWidget, stack: Stack, site: CustomerSite
) -> None:
    other = Env(stack)  # the backend mints with another environment's key: always refused
    path = f"/token/other-{uuid.uuid4().hex[:6]}"
    site.minters[path] = lambda: other.mint("ada", "Ada Lovelace")
    ada = open_widget("ada", "Ada Lovelace", new_room(), token="not-a-token", token_url=path)

    eventually(ada, lambda: len(ada.sockets) >= 4, "three dials with the fetched token")
    calls = [c for c in site.token_calls if c["path"] == path]
    assert len(calls) == 1, calls  # fetched once, after "not-a-token" was refused
    assert "token=not-a-token" in ada.sockets[0]
    assert all(f"token={calls[0]['token']}" in url for url in ada.sockets[1:4])
    expect(ada.widget).to_have_attribute("data-status", "reconnecting")
    expect(notice_text(ada)).to_have_text("Could not connect. Trying again…")
    codes = {e["detail"]["code"] for e in ada.events("pulse:error")}
    assert codes == {"CONNECT_REFUSED"}, codes


# --- drops -------------------------------------------------------------------------------------


def test_reconnects_and_rejoins_after_the_server_closes_the_socket(
    open_widget: OpenWidget, stack: Stack, artifacts: Path
) -> None:
    management = banner_value(stack, "Mgmt API")
    room = new_room()
    ada = open_widget("ada", "Ada Lovelace", room)
    ada.wait_connected()
    grace = open_widget("grace", "Grace Hopper", room)
    grace.wait_connected()
    expect(ada.avatar("grace")).to_have_count(1)
    ada.call("w.updatePresence({page: 'intro'});")
    expect(grace.avatar("ada")).to_have_attribute("data-presence", '{"page":"intro"}')
    old = ada.call("return w.connectionId;")

    # The server ends Ada's connection (as a kick or the 2-hour cap would).
    response = requests.delete(f"{management}/@connections/{quote(old, safe='')}", timeout=5)
    assert response.status_code == 204, response.text

    eventually(ada, lambda: len(ada.events("pulse:connected")) == 2, "Ada to reconnect")
    ada.wait_connected()
    new = ada.call("return w.connectionId;")
    assert new and new != old
    statuses = [e["detail"]["status"] for e in ada.events("pulse:status")]
    assert statuses[-2:] == ["reconnecting", "connected"], statuses
    dropped = ada.events("pulse:disconnected")
    assert len(dropped) == 1 and dropped[0]["detail"]["code"] == 1000
    # While down, the widget showed no one and said so; it never kept a stale list.
    down = [e for e in ada.events("pulse:status") if e["detail"]["status"] == "reconnecting"]
    assert down[-1]["others"] == 0 and down[-1]["statusText"] == "Reconnecting…"
    assert len(ada.events("pulse:connected")) == 2

    # Rejoined with a fresh presence list, and the presence is shared again on the new socket.
    expect(ada.avatar("grace")).to_have_count(1)
    expect(grace.avatar("ada")).to_have_attribute("data-connection-id", new)
    expect(grace.avatar("ada")).to_have_attribute("data-presence", '{"page":"intro"}')
    expect(grace.widget).to_have_attribute("data-members", "1")
    assert [m["connectionId"] for m in grace.call("return w.others;")] == [new]
    joins = [m for _, m in ada.sent if m["type"] == "join"]
    assert len(joins) == 2

    # The browser goes offline: the widget says so, and comes back when the network does.
    context = ada.page.context
    context.set_offline(True)
    ada.call("w.reconnect();")
    expect(ada.widget).to_have_attribute("data-status", "offline")
    expect(ada.page.locator(f"{WIDGET} .status")).to_have_text("Offline")
    expect(ada.avatar("grace")).to_have_count(0)  # no stale list while offline
    ada.widget.screenshot(path=str(artifacts / "widget-offline.png"))
    context.set_offline(False)
    ada.wait_connected()
    expect(ada.avatar("grace")).to_have_count(1)


# --- the dev demo page -------------------------------------------------------------------------


def test_demo_page_two_widgets_see_each_other(
    stack: Stack, browser: Browser, artifacts: Path
) -> None:
    token = requests.get(stack.url + "/demo/token?user=grace", timeout=10)
    assert token.status_code == 200 and token.json()["token"].count(".") == 2
    assert token.headers["Cache-Control"] == "no-store"
    assert requests.get(stack.url + "/demo/token?user=mallory", timeout=10).status_code == 404

    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(WAIT_MS)
    try:
        page = context.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        page.goto(stack.url + "/demo")
        ada, grace = page.locator("#widget-ada"), page.locator("#widget-grace")
        expect(ada).to_have_attribute("data-status", "connected")
        expect(grace).to_have_attribute("data-status", "connected")
        expect(ada.locator(".avatars li[data-user-id='grace']")).to_have_attribute(
            "title", "Grace Hopper"
        )
        expect(grace.locator(".avatars li[data-user-id='ada']")).to_have_attribute(
            "title", "Ada Lovelace"
        )

        # Something to look at: a thread with a reply, and Ada's cursor on Grace's pad.
        body = f"Welcome to the demo room ({uuid.uuid4().hex[:4]}). Is the launch still Friday?"
        ada.get_by_label("Start a new thread").fill(body)
        ada.get_by_role("button", name="Comment", exact=True).click()
        thread = grace.locator("li.thread").filter(has_text=body)
        expect(thread).to_have_count(1)
        thread.get_by_label("Reply").fill("Yes, if QA signs off on Thursday.")
        thread.get_by_role("button", name="Reply").click()
        expect(ada.locator("li.thread").filter(has_text=body).locator(".comment")).to_have_count(2)
        pad = page.locator(".pad[data-user='ada']").bounding_box()
        assert pad is not None
        page.mouse.move(pad["x"] + pad["width"] * 0.3, pad["y"] + pad["height"] * 0.4)
        page.mouse.move(pad["x"] + pad["width"] * 0.35, pad["y"] + pad["height"] * 0.5, steps=3)
        expect(page.locator(".pad[data-user='grace'] .cursor")).to_have_count(1)
        page.wait_for_timeout(200)  # the cursor's 80 ms transition
        page.screenshot(path=str(artifacts / "demo-1280x800.png"))

        page.set_viewport_size({"width": 375, "height": 812})
        expect(ada).to_have_attribute("data-status", "connected")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"the demo page scrolls sideways at 375 px ({width} px)"
        page.screenshot(path=str(artifacts / "demo-375x812.png"))
        page.screenshot(path=str(artifacts / "demo-375x812-full.png"), full_page=True)
        assert problems == []
    finally:
        context.close()
