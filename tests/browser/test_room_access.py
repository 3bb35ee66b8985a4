"""Room access (issue 13) in real headless Chromium against the real local stack: the widget
follows its connection's level (read shows the room without a composer, a change applies live,
access removed or a session revoked ends it with a clear message and no reconnect), and the
Admin Panel shows and edits a room's access and the environment's room access settings.

Access changes are made the way a customer's backend or an operator makes them (the REST API
with the secret key, the panel), while the widget's page stays open. Every wait is bounded."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, WebSocketRoute, expect

from chalicelib.entities import ATTACHMENT_TYPES

from . import test_widget as widget_tests
from .conftest import Stack
from .test_admin_panel import PHONE, log_in, no_horizontal_scroll
from .test_widget import WIDGET, CustomerSite, Env, OpenWidget, WidgetPage, eventually, new_room

pytestmark = pytest.mark.e2e

# The widget tests' fixtures (each module gets its own stack from conftest).
env = widget_tests.env
site = widget_tests.site
contexts = widget_tests.contexts
open_widget = widget_tests.open_widget

REMOVED = "Your access to this room was removed."
REVOKED = "Your session was revoked."


# --- helpers -------------------------------------------------------------------------------------


def v1(stack: Stack, env: Env, method: str, path: str, body: Any = None) -> Any:
    response = stack.call(method, f"/api/v1{path}", env.sk, json=body)
    assert response.status_code in (200, 201), response.text
    return response.json()


def room_with(stack: Stack, env: Env, **access: Any) -> str:
    """A new room created by the customer's backend with this access."""
    room = new_room()
    v1(stack, env, "POST", "/rooms", {"id": room, **access})
    return room


def thread_by(stack: Stack, env: Env, room: str, user: str, body: str) -> dict[str, Any]:
    made: dict[str, Any] = v1(
        stack, env, "POST", f"/rooms/{room}/threads", {"comment": {"userId": user, "body": body}}
    )
    return made


def mint(stack: Stack, env: Env, user: str, name: str, **claims: Any) -> str:
    """A user token with extra claims (groupIds, permissions: an access token)."""
    body = {"userId": user, "name": name, **claims}
    response = stack.call("POST", "/auth/token", env.sk, json=body)
    assert response.status_code == 200, response.text
    token: str = response.json()["token"]
    return token


def watch_errors(page: WidgetPage) -> list[str]:
    """Uncaught errors of the page: a widget that crashes on a message shows up here."""
    problems: list[str] = []
    page.page.on("pageerror", lambda error: problems.append(str(error)))
    return problems


def notice_text(page: WidgetPage) -> Any:
    return page.page.locator(f"{WIDGET} .notice > span")


def composer(page: WidgetPage) -> Any:
    return page.page.get_by_label("Start a new thread")


def view_only(page: WidgetPage) -> Any:
    return page.page.locator(f"{WIDGET} .view-only")


def sent_of(page: WidgetPage, type_: str) -> list[dict[str, Any]]:
    return [m for _, m in page.sent if m["type"] == type_]


def reroute(page: WidgetPage, to_page: Callable[[WebSocketRoute, str | bytes], None]) -> None:
    """Put the page's next sockets through `to_page` (server -> page frames; page -> server
    frames pass as they are), then reconnect the widget through it."""

    def route(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()
        server.on_message(lambda message: to_page(ws, message))
        ws.on_message(lambda message: server.send(message))

    page.page.route_web_socket(re.compile(r"^ws://"), route)
    page.call("w.reconnect();")
    page.wait_connected()


def keep_routes(page: WidgetPage) -> list[WebSocketRoute]:
    """Reconnect the widget through a route that passes everything and is kept, so a test can
    send the page a frame as the server would."""
    routes: list[WebSocketRoute] = []

    def through(ws: WebSocketRoute, message: str | bytes) -> None:
        if ws not in routes:
            routes.append(ws)
        ws.send(message)

    reroute(page, through)
    return routes


def expect_ended(page: WidgetPage, text: str, code: str) -> None:
    """Stopped for good with `text` on the notice line, nothing of the room left on screen."""
    expect(page.widget).to_have_attribute("data-status", "stopped")
    expect(notice_text(page)).to_have_text(text)
    expect(page.page.locator(f"{WIDGET} .notice")).to_be_visible()
    expect(page.page.get_by_role("button", name="Try again")).to_be_hidden()
    expect(page.page.locator(f"{WIDGET} li.thread")).to_have_count(0)
    expect(composer(page)).to_be_hidden()
    expect(page.page.locator(f"{WIDGET} .avatars li")).to_have_count(0)
    assert page.call("return w.lastError.code;") == code


# --- the widget follows its level -----------------------------------------------------------------


def test_a_read_only_user_sees_the_room_but_no_composer_or_actions(
    stack: Stack, env: Env, open_widget: OpenWidget, artifacts: Path
) -> None:
    room = room_with(stack, env, defaultAccess="read")
    thread_by(stack, env, room, "ada", "Ada's own note, from before")
    ada = open_widget("ada", "Ada Lovelace", room)
    problems = watch_errors(ada)
    ada.wait_connected()

    expect(ada.widget).to_have_attribute("data-access", "read")
    assert ada.call("return w.access;") == "read"
    connected = ada.events("pulse:connected")
    assert connected[-1]["detail"]["access"] == "read"
    expect(view_only(ada)).to_be_visible()
    expect(view_only(ada)).to_have_text("View only")
    expect(composer(ada)).to_be_hidden()

    # The room is shown, her own comment included, with nothing to act on it.
    thread = ada.thread_with("Ada's own note")
    expect(thread.locator(".comment .body")).to_have_text("Ada's own note, from before")
    expect(thread.locator(".comment .author")).to_have_text("Ada Lovelace (you)")
    for name in ("Reply", "Resolve thread", "Edit your comment", "Delete your comment"):
        expect(thread.get_by_role("button", name=name)).to_have_count(0)
    expect(thread.get_by_label("Reply")).to_be_hidden()
    expect(ada.page.locator(f"{WIDGET} .empty")).to_be_hidden()
    ada.widget.screenshot(path=str(artifacts / "widget-view-only.png"))

    # Presence is allowed at read; a broadcast is not: nothing is sent, the page is told.
    ada.call("w.updatePresence({page: 'intro'});")
    eventually(ada, lambda: bool(sent_of(ada, "presence.update")), "the presence frame")
    assert ada.call("return w.broadcast({hello: 1});") is False
    error = ada.events("pulse:error")[-1]["detail"]
    assert error["code"] == "ACCESS_DENIED" and error["needed"] == "write", error
    assert "write" in error["message"] and "read" in error["message"]
    assert sent_of(ada, "broadcast") == []
    assert problems == []


def test_access_raised_and_lowered_applies_live_without_a_reload(
    stack: Stack, env: Env, open_widget: OpenWidget
) -> None:
    room = room_with(stack, env, defaultAccess="read")
    thread_by(stack, env, room, "bob", "What do we ship first?")
    grace = open_widget("grace", "Grace Hopper", room)
    problems = watch_errors(grace)
    grace.wait_connected()
    expect(view_only(grace)).to_be_visible()
    expect(composer(grace)).to_be_hidden()

    # The customer's backend grants her comment: the composer appears on the open page.
    v1(stack, env, "PATCH", f"/rooms/{room}", {"usersAccess": {"grace": "comment"}})
    expect(grace.widget).to_have_attribute("data-access", "comment")
    expect(composer(grace)).to_be_visible()
    expect(view_only(grace)).to_be_hidden()
    thread = grace.thread_with("What do we ship first?")
    expect(thread.get_by_role("button", name="Resolve thread")).to_be_visible()
    changes = [e["detail"] for e in grace.events() if e["type"] == "pulse:status"]
    assert len(grace.sockets) == 1, grace.sockets  # the same connection: no reload, no redial
    assert [c["status"] for c in changes].count("connected") == 1, changes

    # She comments; the others in the room would see it (the server accepted it).
    thread.get_by_label("Reply").fill("The editor, then sharing.")
    thread.get_by_role("button", name="Reply").click()
    expect(thread.locator(".comment")).to_have_count(2)
    listed = v1(stack, env, "GET", f"/rooms/{room}/threads")["data"][0]
    assert listed["commentCount"] == 2
    # Comment is not write: a broadcast is still refused before it is sent.
    assert grace.call("return w.broadcast('ping');") is False
    assert sent_of(grace, "broadcast") == []

    # Lowered again: the actions go, the connection stays.
    v1(stack, env, "PATCH", f"/rooms/{room}", {"usersAccess": {"grace": None}})
    expect(grace.widget).to_have_attribute("data-access", "read")
    expect(composer(grace)).to_be_hidden()
    expect(view_only(grace)).to_be_visible()
    expect(thread.get_by_role("button", name="Edit your comment")).to_have_count(0)
    expect(grace.widget).to_have_attribute("data-status", "connected")
    assert len(grace.sockets) == 1
    levels = [e["detail"] for e in grace.events() if e["type"] == "pulse:status"]
    assert levels == changes  # no status change at all while the level moved
    assert problems == []


def test_a_user_whose_access_is_removed_is_disconnected_with_a_clear_message(
    stack: Stack, env: Env, open_widget: OpenWidget, artifacts: Path
) -> None:
    room = room_with(stack, env, defaultAccess="none", usersAccess={"ada": "comment"})
    thread_by(stack, env, room, "ada", "Only for the invited")
    ada = open_widget("ada", "Ada Lovelace", room)
    problems = watch_errors(ada)
    ada.wait_connected()
    expect(ada.widget).to_have_attribute("data-access", "comment")
    expect(ada.thread_with("Only for the invited")).to_have_count(1)
    active = v1(stack, env, "GET", f"/rooms/{room}/active_users")["data"]
    assert [u["userId"] for u in active] == ["ada"]

    # Her entry is removed while the page is open: she is told, and the room is gone from it.
    v1(stack, env, "PATCH", f"/rooms/{room}", {"usersAccess": {"ada": None}})
    expect_ended(ada, REMOVED, "ACCESS_REMOVED")
    expect(ada.widget).to_have_attribute("data-access", "none")
    expect(ada.page.locator(f"{WIDGET} .status")).to_have_text("Not connected")
    expect(ada.page.locator(f"{WIDGET} .empty")).to_be_hidden()
    dropped = ada.events("pulse:disconnected")
    assert [d["detail"]["reason"] for d in dropped] == ["ACCESS_REMOVED"], dropped
    ada.widget.screenshot(path=str(artifacts / "widget-access-removed.png"))
    assert v1(stack, env, "GET", f"/rooms/{room}/active_users")["data"] == []

    # It does not dial again on its own (its backoff would have retried within this time).
    ada.page.wait_for_timeout(2_500)
    assert len(ada.sockets) == 1, ada.sockets
    expect(ada.widget).to_have_attribute("data-status", "stopped")

    # Access given back, the page reconnects it: the room is back.
    v1(stack, env, "PATCH", f"/rooms/{room}", {"usersAccess": {"ada": "read"}})
    ada.call("w.reconnect();")
    ada.wait_connected()
    expect(ada.widget).to_have_attribute("data-access", "read")
    expect(ada.thread_with("Only for the invited")).to_have_count(1)
    expect(ada.page.locator(f"{WIDGET} .notice")).to_be_hidden()
    assert problems == []


def test_an_access_denied_reply_is_shown_and_the_widget_steps_down(
    stack: Stack, env: Env, open_widget: OpenWidget
) -> None:
    """A message sent above the level (here: the access.changed that lowered it is lost on the
    way, as a failed post would lose it) gets ACCESS_DENIED: the widget shows the server's
    message and acts below the level it needed from then on."""
    room = room_with(stack, env, defaultAccess="comment")
    ada = open_widget("ada", "Ada Lovelace", room)
    problems = watch_errors(ada)
    ada.wait_connected()
    lost: list[dict[str, Any]] = []

    def drop_access_changes(ws: WebSocketRoute, message: str | bytes) -> None:
        frame = json.loads(message)
        if frame.get("type") == "access.changed":
            lost.append(frame)
            return
        ws.send(message)

    reroute(ada, drop_access_changes)
    v1(stack, env, "PATCH", f"/rooms/{room}", {"defaultAccess": "read"})
    eventually(ada, lambda: bool(lost), "the lowered level to reach the page (and be dropped)")
    assert lost == [{"type": "access.changed", "access": "read"}]
    expect(composer(ada)).to_be_visible()  # the widget still believes it may comment

    composer(ada).fill("Sent after the level went down")
    ada.page.get_by_role("button", name="Comment", exact=True).click()
    eventually(ada, lambda: bool(ada.events("pulse:error")), "the refusal")
    denied = ada.events("pulse:error")[-1]["detail"]
    assert denied["code"] == "ACCESS_DENIED" and denied["needed"] == "comment", denied
    assert "comment" in denied["message"]
    expect(notice_text(ada)).to_have_text(denied["message"])
    expect(ada.widget).to_have_attribute("data-access", "read")
    expect(view_only(ada)).to_be_visible()
    expect(composer(ada)).to_be_hidden()
    expect(ada.widget).to_have_attribute("data-status", "connected")
    assert v1(stack, env, "GET", f"/rooms/{room}/threads")["data"] == []
    assert problems == []


def test_a_revoked_session_is_told_and_its_token_is_never_sent_again(
    stack: Stack, env: Env, open_widget: OpenWidget, artifacts: Path
) -> None:
    """POST /api/v1/users/{userId}/revoke-tokens from the customer's backend: the server sends
    TOKEN_REVOKED to each open socket of the user and closes it; the widget says so, and never
    sends that token (or another minted before the revocation) again."""
    room = room_with(stack, env)
    ada = open_widget("ada", "Ada Lovelace", room)
    problems = watch_errors(ada)
    ada.wait_connected()
    revoked_token = ada.widget.get_attribute("token") or ""
    dialled = len(ada.sockets)

    assert v1(stack, env, "POST", "/users/ada/revoke-tokens")["closedConnections"] == 1
    expect_ended(ada, REVOKED, "TOKEN_REVOKED")
    error = ada.call("return w.lastError;")
    assert error["message"].startswith("Your session was revoked")
    ada.widget.screenshot(path=str(artifacts / "widget-session-revoked.png"))
    ada.page.wait_for_timeout(2_500)
    assert len(ada.sockets) == dialled

    # reconnect() without token-url: it will not dial with the revoked token.
    ada.call("w.reconnect();")
    expect(ada.widget).to_have_attribute("data-status", "stopped")
    assert ada.call("return w.lastError.code;") == "TOKEN_REVOKED"
    assert len(ada.sockets) == dialled
    # Nor with the same token handed over again.
    ada.call(f"w.token = {json.dumps(revoked_token + ' ')}.trim(); w.reconnect();")
    assert len(ada.sockets) == dialled

    # A token minted afterwards connects the same element.
    fresh = mint(stack, env, "ada", "Ada Lovelace")
    ada.call(f"w.token = {json.dumps(fresh)};")
    ada.wait_connected()
    assert f"token={fresh}" in ada.sockets[-1]
    assert problems == []


def test_a_revoked_session_with_token_url_fetches_a_new_token_only_when_asked(
    stack: Stack, env: Env, site: CustomerSite, open_widget: OpenWidget
) -> None:
    ada = open_widget("ada", "Ada Lovelace", room_with(stack, env), token_url=True)
    ada.wait_connected()
    key = ada.page.url.rsplit("/", 1)[1]
    routes = keep_routes(ada)
    routes[-1].send(json.dumps({"type": "error", "code": "TOKEN_REVOKED", "message": "Revoked."}))
    expect(notice_text(ada)).to_have_text(REVOKED)
    ada.page.wait_for_timeout(1_500)
    calls = [c for c in site.token_calls if c["path"].endswith(key)]
    assert calls == []  # stopped: it does not go and sign in again by itself

    ada.call("w.reconnect();")  # the page asks: a new token from token-url, then connected
    ada.wait_connected()
    calls = [c for c in site.token_calls if c["path"].endswith(key)]
    assert len(calls) == 1
    assert f"token={calls[0]['token']}" in ada.sockets[-1]


def test_an_access_token_that_does_not_reach_the_room_is_not_dialled(
    stack: Stack, env: Env, open_widget: OpenWidget
) -> None:
    outside = mint(stack, env, "ada", "Ada", permissions={"acme:*": "write"})
    room = f"globex:{uuid.uuid4().hex[:8]}"
    ada = open_widget("ada", "Ada", room, token=outside)
    expect(ada.widget).to_have_attribute("data-status", "stopped")
    expect(notice_text(ada)).to_have_text("You do not have access to this room.")
    assert ada.call("return w.lastError.code;") == "ROOM_ACCESS_DENIED"
    expect(ada.widget).to_have_attribute("data-access", "none")
    ada.page.wait_for_timeout(500)
    assert ada.sockets == []

    # The same kind of token for a room its most specific entry grants read: View only.
    room = f"acme:{uuid.uuid4().hex[:8]}"
    reader = mint(stack, env, "ada", "Ada", permissions={"acme:*": "write", room: "read"})
    page = open_widget("ada", "Ada", room, token=reader)
    page.wait_connected()
    expect(page.widget).to_have_attribute("data-access", "read")
    expect(view_only(page)).to_be_visible()
    expect(composer(page)).to_be_hidden()


# --- the Admin Panel ----------------------------------------------------------------------------


@pytest.fixture
def panel(browser: Browser, stack: Stack) -> Iterator[Page]:
    """The owner, logged in to the Admin Panel; fails on any page or console error."""
    problems: list[str] = []
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=stack.url)
    context.set_default_timeout(8_000)
    page = context.new_page()
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on(
        "console",
        lambda m: (
            problems.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    log_in(page)
    try:
        yield page
    finally:
        context.close()
    assert problems == []


def env_id_of(env: Env) -> str:
    return "env_" + env.pk[3:19]  # pk_ + the environment id (16) + ...


def room_access(stack: Stack, env: Env, room: str) -> dict[str, Any]:
    got = v1(stack, env, "GET", f"/rooms/{room}")
    return {k: got[k] for k in ("defaultAccess", "usersAccess", "groupsAccess")}


def test_the_panel_edits_a_rooms_access_and_the_open_widget_follows(
    stack: Stack,
    env: Env,
    panel: Page,
    open_widget: OpenWidget,
    artifacts: Path,
) -> None:
    room = room_with(stack, env, defaultAccess="read")
    ada = open_widget("ada", "Ada Lovelace", room)
    ada.wait_connected()
    expect(view_only(ada)).to_be_visible()

    panel.goto(f"/admin#/environments/{env_id_of(env)}/browse")
    row = panel.get_by_role("table", name="Rooms").get_by_role("row", name=re.compile(room))
    expect(row).to_contain_text("read")
    row.get_by_role("link", name=room).click()
    access = panel.get_by_role("region", name="Access")
    default = access.get_by_label("Default access (every signed-in user)")
    expect(default).to_have_value("read")
    users = access.get_by_role("table", name=f"Users with access to {room}")
    expect(panel.get_by_text("No user has an entry of its own.")).to_be_visible()

    # Add a user: her open widget gets the composer at once.
    add_user = access.get_by_role("form", name="Add a user")
    add_user.get_by_label("User id").fill("ada")
    add_user.get_by_label("Level").select_option("comment")
    add_user.get_by_role("button", name="Add user").click()
    expect(panel.get_by_role("status").first).to_contain_text("Access of user ada set to comment.")
    expect(users.get_by_role("row", name=re.compile("ada"))).to_be_visible()
    assert room_access(stack, env, room)["usersAccess"] == {"ada": "comment"}
    expect(ada.widget).to_have_attribute("data-access", "comment")
    expect(composer(ada)).to_be_visible()

    # A group, then a level changed in place.
    add_group = access.get_by_role("form", name="Add a group")
    add_group.get_by_label("Group id").fill("editors")
    add_group.get_by_label("Level").select_option("write")
    add_group.get_by_role("button", name="Add group").click()
    groups = access.get_by_role("table", name=f"Groups with access to {room}")
    expect(groups.get_by_label("Access of group editors")).to_have_value("write")
    groups.get_by_label("Access of group editors").select_option("comment")
    expect(panel.get_by_role("status").first).to_contain_text("group editors set to comment")
    assert room_access(stack, env, room)["groupsAccess"] == {"editors": "comment"}
    default.select_option("none")
    expect(panel.get_by_role("status").first).to_contain_text(f"Default access of {room} set")
    shot = artifacts / "admin-laptop-room-access.png"
    panel.screenshot(path=str(shot), full_page=True)
    assert room_access(stack, env, room) == {
        "defaultAccess": "none",
        "usersAccess": {"ada": "comment"},
        "groupsAccess": {"editors": "comment"},
    }

    # A bad id (a tab pasted from a spreadsheet) is refused with the API's message in the
    # section, naming the entry; nothing changes.
    add_user.get_by_label("User id").fill("ada\tlovelace")
    add_user.get_by_role("button", name="Add user").click()
    expect(access.locator(".banner-error")).to_contain_text("usersAccess.ada")
    expect(access.locator(".banner-error")).to_contain_text("INVALID_INPUT")
    assert room_access(stack, env, room)["usersAccess"] == {"ada": "comment"}

    # Removing her entry (the default is none now) disconnects her open widget.
    users.get_by_role("button", name="Remove user ada").click()
    expect(panel.get_by_role("status").first).to_contain_text("entry of user ada was removed")
    expect(users.get_by_role("row", name=re.compile("ada"))).to_have_count(0)
    expect_ended(ada, REMOVED, "ACCESS_REMOVED")
    assert room_access(stack, env, room)["usersAccess"] == {}

    # The rooms list sums it up; the audit log has every change.
    panel.get_by_role("link", name="Rooms").click()
    row = panel.get_by_role("table", name="Rooms").get_by_role("row", name=re.compile(room))
    expect(row).to_contain_text("none")
    expect(row).to_contain_text("1 group")
    panel.get_by_role("link", name="Audit log").click()
    audit = panel.get_by_role("table", name="Audit log")
    expect(audit.get_by_text("room.updated", exact=True)).to_have_count(5)

    # At phone width the section reads without sideways scrolling.
    panel.set_viewport_size(PHONE)
    panel.goto(f"/admin#/environments/{env_id_of(env)}/browse/{room}")
    group = panel.get_by_role("region", name="Access").get_by_label("Access of group editors")
    expect(group).to_have_value("comment")
    no_horizontal_scroll(panel)
    panel.screenshot(path=str(artifacts / "admin-phone-room-access.png"), full_page=True)


def test_the_panel_shows_edits_and_warns_about_the_room_access_settings(
    stack: Stack, env: Env, panel: Page, artifacts: Path
) -> None:
    env_id = env_id_of(env)
    owner = stack.login()
    path = f"/admin/api/environments/{env_id}"

    def settings() -> tuple[str, bool]:
        got = stack.call("GET", path, owner).json()
        return got["defaultRoomAccess"], got["createRoomsOnJoin"]

    # The defaults (write, rooms made on join): the strongest warning, on every tab.
    assert stack.call("PATCH", path, owner, json={"defaultRoomAccess": "write"}).ok
    assert stack.call("PATCH", path, owner, json={"createRoomsOnJoin": True}).ok
    panel.goto(f"/admin#/environments/{env_id}/keys")
    warning = panel.locator("[data-warning=open-access]")
    expect(warning).to_contain_text("Any signed-in user can enter any room of this environment.")
    expect(warning).to_contain_text("read and write in it")

    panel.get_by_role("link", name="Settings").click()
    level = panel.get_by_label("Default room access")
    on_join = panel.get_by_label("Create rooms on join")
    expect(level).to_have_value("write")
    expect(on_join).to_be_checked()
    panel.screenshot(path=str(artifacts / "admin-laptop-room-access-settings.png"), full_page=True)

    # Rooms no longer made on join: a milder warning.
    on_join.uncheck()
    panel.get_by_role("button", name="Save room access").click()
    expect(panel.get_by_role("status").first).to_contain_text("Room access settings saved.")
    expect(warning).to_contain_text("every room created without its own access")
    assert settings() == ("write", False)

    # Default none: no warning.
    panel.get_by_label("Default room access").select_option("none")
    panel.get_by_role("button", name="Save room access").click()
    expect(panel.get_by_role("status").first).to_contain_text("Room access settings saved.")
    expect(warning).to_have_count(0)
    assert settings() == ("none", False)
    expect(panel.get_by_label("Default room access")).to_have_value("none")
    expect(panel.get_by_label("Create rooms on join")).not_to_be_checked()

    # Recorded in the environment's audit log.
    panel.get_by_role("link", name="Audit log").click()
    audit = panel.get_by_role("table", name="Audit log")
    expect(audit.get_by_text("environment.updated", exact=True).first).to_be_visible()

    # Back to the defaults, so the module's other tests keep the README's behaviour.
    assert stack.call("PATCH", path, owner, json={"defaultRoomAccess": "write"}).ok
    assert stack.call("PATCH", path, owner, json={"createRoomsOnJoin": True}).ok


def test_a_viewer_sees_the_access_but_cannot_change_it(
    stack: Stack, env: Env, contexts: Callable[[], BrowserContext]
) -> None:
    owner = stack.login()
    email = f"viewer-{uuid.uuid4().hex[:6]}@example.com"
    body = {"email": email, "password": "e2e-correct-horse-battery", "role": "viewer"}
    assert stack.call("POST", "/admin/api/operators", owner, json=body).status_code == 201
    room = room_with(stack, env, defaultAccess="comment", usersAccess={"ada": "write"})
    context = contexts()
    page = context.new_page()
    page.goto(f"{stack.url}/admin")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("e2e-correct-horse-battery")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1, name="Environments")).to_be_visible()
    page.goto(f"{stack.url}/admin#/environments/{env_id_of(env)}/browse/{room}")
    access = page.get_by_role("region", name="Access")
    expect(access.get_by_label("Default access (every signed-in user)")).to_be_disabled()
    expect(access.get_by_label("Access of user ada")).to_have_value("write")
    expect(access.get_by_label("Access of user ada")).to_be_disabled()
    expect(access.get_by_role("button", name=re.compile("^(Add|Remove)"))).to_have_count(0)
    expect(access).to_contain_text("Changing access needs the admin role.")
    page.get_by_role("link", name="Settings").click()
    expect(page.get_by_label("Default room access")).to_be_disabled()
    expect(page.get_by_role("button", name="Save room access")).to_be_disabled()


# --- attachments: the panel's limits, and a page's upload straight to the stack's S3 ------------


def test_the_panel_shows_and_edits_the_attachment_limits(
    stack: Stack, env: Env, panel: Page
) -> None:
    env_id = env_id_of(env)
    owner = stack.login()
    path = f"/admin/api/environments/{env_id}"
    panel.goto(f"/admin#/environments/{env_id}/settings")
    size = panel.get_by_label("Largest attachment (MB)")
    types = panel.get_by_label("Allowed types (one MIME type a line)")
    expect(size).to_have_value("10")
    expect(types).to_have_value(re.compile(r"(^|\n)application/pdf(\n|$)"))

    size.fill("2")
    types.fill("image/png\ntext/plain\n")
    panel.get_by_role("button", name="Save attachment limits").click()

    expect(panel.get_by_role("status").first).to_contain_text("Attachment limits saved.")
    got = stack.call("GET", path, owner).json()
    assert got["attachmentMaxBytes"] == 2 * 1024 * 1024
    assert got["attachmentTypes"] == ["image/png", "text/plain"]
    types.fill("not-a-type")
    panel.get_by_role("button", name="Save attachment limits").click()
    expect(panel.get_by_role("alert").first).to_contain_text("attachmentTypes")
    defaults = {"attachmentMaxBytes": 10 * 1024 * 1024, "attachmentTypes": list(ATTACHMENT_TYPES)}
    assert stack.call("PATCH", path, owner, json=defaults).ok


def test_the_panel_shows_and_edits_the_notification_delay(
    stack: Stack, env: Env, panel: Page
) -> None:
    env_id = env_id_of(env)
    owner = stack.login()
    path = f"/admin/api/environments/{env_id}"
    panel.goto(f"/admin#/environments/{env_id}/settings")
    delay = panel.get_by_label("Notification delay (minutes)")
    expect(delay).to_have_value("5")  # 300 s until changed

    delay.fill("0.5")
    panel.get_by_role("button", name="Save notification delay").click()
    expect(panel.get_by_role("status").first).to_contain_text("Notification delay saved.")
    assert stack.call("GET", path, owner).json()["notificationDelaySeconds"] == 30
    delay.fill("20000")  # over 7 days: the form refuses it before anything is sent
    panel.get_by_role("button", name="Save notification delay").click()
    assert delay.evaluate("e => e.validity.rangeOverflow") is True
    assert stack.call("GET", path, owner).json()["notificationDelaySeconds"] == 30
    assert stack.call("PATCH", path, owner, json={"notificationDelaySeconds": 300}).ok


def test_the_panel_shows_and_edits_the_retention(stack: Stack, env: Env, panel: Page) -> None:
    env_id = env_id_of(env)
    owner = stack.login()
    path = f"/admin/api/environments/{env_id}"
    panel.goto(f"/admin#/environments/{env_id}/settings")
    days = panel.get_by_label("Delete resolved threads after (days)")
    expect(days).to_have_value("")  # kept for ever until changed

    def stored() -> Any:
        return stack.call("GET", path, owner).json()["retentionDays"]

    def saved_as(value: Any) -> None:
        """The save reached the API (the status line may still say the previous save's words,
        so the stored value is what is waited for), bounded."""
        deadline = time.monotonic() + 8
        while stored() != value:
            assert time.monotonic() < deadline, f"retentionDays never became {value!r}"
            panel.wait_for_timeout(100)
        expect(panel.get_by_role("status").first).to_contain_text("Retention saved.")

    days.fill("30")
    panel.get_by_role("button", name="Save retention").click()
    saved_as(30)
    days.fill("5000")  # over 10 years: the form refuses it before anything is sent
    panel.get_by_role("button", name="Save retention").click()
    assert days.evaluate("e => e.validity.rangeOverflow") is True
    assert stored() == 30
    days.fill("")
    panel.get_by_role("button", name="Save retention").click()
    saved_as(None)


UPLOAD_JS = """async ([post, text]) => {
  const form = new FormData();
  for (const [name, value] of Object.entries(post.fields)) form.append(name, value);
  form.append("file", new Blob([text]), "notes.txt");
  const response = await fetch(post.url, { method: "POST", body: form });
  return [response.status, await response.text()];
}"""


def test_a_page_uploads_straight_to_the_stacks_s3_and_meets_its_refusals(
    stack: Stack,
    env: Env,
    site: CustomerSite,
    contexts: Callable[[], BrowserContext],
    panel: Page,
) -> None:
    """A customer page (another origin) posts the form itself, as the widget does: the bucket's
    CORS lets it read the answers, and the policy refuses another size."""
    room = room_with(stack, env)
    site.pages["/upload"] = "<!doctype html><title>upload</title>"
    page = contexts().new_page()
    page.goto(site.url + "/upload")

    def created(size: int) -> dict[str, Any]:
        body = {"name": "notes.txt", "mimeType": "text/plain", "size": size}
        answer: dict[str, Any] = v1(stack, env, "POST", f"/rooms/{room}/attachments", body)
        return answer

    good = created(5)
    status, _ = page.evaluate(UPLOAD_JS, [good["upload"], "hello"])
    assert status == 204
    status, text = page.evaluate(UPLOAD_JS, [created(5)["upload"], "hello, world"])
    assert status == 400 and "<Code>EntityTooLarge</Code>" in text

    thread = v1(
        stack,
        env,
        "POST",
        f"/rooms/{room}/threads",
        {
            "comment": {
                "userId": "ada",
                "body": "notes",
                "attachmentIds": [good["attachment"]["id"]],
            }
        },
    )
    url = thread["comments"][0]["attachments"][0]["url"]
    fetched = page.evaluate("async (url) => (await fetch(url)).text()", url)
    assert fetched == "hello"

    # The panel's data browser links the file (its own freshly signed URL).
    panel.goto(f"/admin#/environments/{env_id_of(env)}/browse/{room}/{thread['id']}")
    link = panel.get_by_role("list", name="Attachments").get_by_role("link", name="notes.txt")
    expect(link).to_have_attribute("href", re.compile(r"X-Amz-Signature="))
    expect(panel.get_by_role("list", name="Attachments")).to_contain_text("text/plain")
