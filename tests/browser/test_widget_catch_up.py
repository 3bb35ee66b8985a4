"""`<pulse-widget>` after a lost socket, in real Chromium against the real local stack (issue 15):
it rejoins with `join` `sinceSeq`, shows what was made meanwhile from `room.events` without
listing the threads again, lists them again on `resync.required`, and resends a write that was
not acknowledged with the same `clientMutationId`, which the server stores once.

Sockets are dropped by the server (the local Management API's DELETE @connections/{id}), kept
down by the browser going offline, or cut by a Playwright WebSocket route that relays every
frame between the page and the real stack and cuts the page's side at one chosen frame."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
from e2e.conftest import stacks
from playwright.sync_api import BrowserContext, WebSocketRoute, expect

from . import test_widget as widget_tests
from .conftest import Stack
from .test_widget import (
    CustomerSite,
    Env,
    OpenWidget,
    WidgetPage,
    banner_value,
    eventually,
    new_room,
    widget_html,
)

pytestmark = pytest.mark.e2e

# The widget tests' fixtures (their module's stack fixture is the package's: one per module).
env = widget_tests.env
site = widget_tests.site
contexts = widget_tests.contexts
open_widget = widget_tests.open_widget


def v1(stack: Stack, env: Env, method: str, path: str, body: Any = None) -> Any:
    response = stack.call(method, f"/api/v1{path}", env.sk, json=body)
    assert response.status_code in (200, 201, 204), response.text
    return response.json() if response.content else None


def sent(page: WidgetPage, type_: str) -> list[dict[str, Any]]:
    return [m for _, m in page.sent if m["type"] == type_]


def comment_bodies(stack: Stack, env: Env, room: str, thread_id: str) -> list[str]:
    page = v1(stack, env, "GET", f"/rooms/{room}/threads/{thread_id}/comments")
    return [c["body"] for c in page["data"]]


def shown_bodies(page: WidgetPage, thread_text: str) -> Any:
    return page.thread_with(thread_text).locator(".comment .body")


def last_seq(stack: Stack, env: Env, room: str) -> int:
    """The room's last seq, as a backend reads it (GET .../events)."""
    page = v1(stack, env, "GET", f"/rooms/{room}/events?since=0")
    assert page["nextCursor"] is None and page["data"], page
    seq: int = page["data"][-1]["seq"]
    return seq


def received(page: WidgetPage) -> list[dict[str, Any]]:
    """Every frame the page's sockets receive from now on (its next socket's included)."""
    frames: list[dict[str, Any]] = []
    page.page.on(
        "websocket", lambda ws: ws.on("framereceived", lambda data: frames.append(json.loads(data)))
    )
    return frames


def lose_socket(page: WidgetPage, management: str) -> None:
    """The server closes the page's socket, and the browser, offline, cannot open another."""
    page.page.context.set_offline(True)
    connection = page.call("return w.connectionId;")
    response = requests.delete(f"{management}/@connections/{quote(connection, safe='')}", timeout=5)
    assert response.status_code == 204, response.text
    # Chromium may hold the server's close while the page is emulated offline (a CI run waited
    # 30 s for it in vain), where a real browser would notice the loss by its unanswered ping:
    # the page drops its side too, as it would then.
    page.call("w.reconnect();")
    expect(page.widget).to_have_attribute("data-status", "offline")


def get_back(page: WidgetPage, connections: int) -> None:
    page.page.context.set_offline(False)
    eventually(
        page, lambda: len(page.events("pulse:connected")) == connections, "the widget to rejoin"
    )
    page.wait_connected()


class Relay:
    """A Playwright WebSocket route that relays the page's sockets to the real stack, recording
    every frame both ways; `cut` decides, for each frame from the server, whether to drop it and
    close the page's side of the socket instead (as a lost connection would)."""

    def __init__(self, page: WidgetPage) -> None:
        self.to_server: list[dict[str, Any]] = []
        self.to_page: list[dict[str, Any]] = []
        self.cut: Callable[[dict[str, Any]], bool] = lambda frame: False
        self.rewrite: Callable[[dict[str, Any]], dict[str, Any]] = lambda frame: frame
        self.sockets = 0
        page.page.route_web_socket(re.compile(r"^ws://"), self._route)

    def _route(self, ws: WebSocketRoute) -> None:
        self.sockets += 1
        server = ws.connect_to_server()

        def to_page(message: str | bytes) -> None:
            frame = json.loads(message)
            if self.cut(frame):
                ws.close(code=1011, reason="cut by the test")
                server.close()
                return
            self.to_page.append(frame)
            ws.send(message)

        def to_server(message: str | bytes) -> None:
            frame = self.rewrite(json.loads(message))
            self.to_server.append(frame)
            server.send(json.dumps(frame))

        server.on_message(to_page)
        ws.on_message(to_server)

    def received(self, type_: str) -> list[dict[str, Any]]:
        return [m for m in self.to_page if m.get("type") == type_]

    def sent(self, type_: str) -> list[dict[str, Any]]:
        return [m for m in self.to_server if m.get("type") == type_]


def test_a_widget_that_lost_its_socket_shows_the_comments_made_meanwhile(
    stack: Stack, env: Env, open_widget: OpenWidget
) -> None:
    management = banner_value(stack, "Mgmt API")
    room = new_room()
    v1(stack, env, "POST", "/rooms", {"id": room})
    budget = v1(
        stack,
        env,
        "POST",
        f"/rooms/{room}/threads",
        {"comment": {"userId": "bob", "body": "Budget?"}},
    )
    v1(
        stack,
        env,
        "POST",
        f"/rooms/{room}/threads/{budget['id']}/comments",
        {"userId": "bob", "body": "Typo here"},
    )
    doomed = v1(
        stack,
        env,
        "POST",
        f"/rooms/{room}/threads/{budget['id']}/comments",
        {"userId": "bob", "body": "Delete me"},
    )
    ada = open_widget("ada", "Ada Lovelace", room)
    ada.wait_connected()
    expect(shown_bodies(ada, "Budget?")).to_have_text(["Budget?", "Typo here", "Delete me"])
    position = last_seq(stack, env, room)
    frames = received(ada)

    # The socket is lost, and the widget kept from reconnecting, while Bob works over REST.
    lose_socket(ada, management)

    typo = v1(stack, env, "GET", f"/rooms/{room}/threads/{budget['id']}/comments")["data"][1]
    v1(
        stack,
        env,
        "PATCH",
        f"/rooms/{room}/threads/{budget['id']}/comments/{typo['id']}",
        {"body": "Fixed"},
    )
    v1(stack, env, "DELETE", f"/rooms/{room}/threads/{budget['id']}/comments/{doomed['id']}")
    v1(
        stack,
        env,
        "POST",
        f"/rooms/{room}/threads/{budget['id']}/comments",
        {"userId": "bob", "body": "Final."},
    )
    v1(stack, env, "PATCH", f"/rooms/{room}/threads/{budget['id']}", {"resolved": True})
    v1(
        stack,
        env,
        "POST",
        f"/rooms/{room}/threads",
        {"comment": {"userId": "bob", "body": "New topic"}},
    )
    # Nothing reached the widget while it was down.
    expect(ada.thread_with("New topic")).to_have_count(0)

    get_back(ada, 2)

    # Shown without a reload: the new thread, the resolved one with its edited, deleted and new
    # comments, in the order they were made.
    expect(ada.thread_with("New topic")).to_have_count(1)
    ada.page.get_by_role("button", name=re.compile(r"^Resolved")).click()
    expect(shown_bodies(ada, "Budget?")).to_have_text(["Budget?", "Fixed", "Final."])
    expect(ada.thread_with("Budget?")).to_have_attribute("data-resolved", "true")
    expect(ada.thread_with("Budget?").locator(".edited")).to_have_count(3)
    expect(ada.thread_with("Budget?").locator(".edited:visible")).to_have_count(1)

    # It asked only for what it missed: one threads.list ever, the rejoin with its position.
    assert len(sent(ada, "threads.list")) == 1, sent(ada, "threads.list")
    joins = sent(ada, "join")
    assert len(joins) == 2
    assert "sinceSeq" not in joins[0]
    assert joins[1]["sinceSeq"] == position
    events = [e for m in frames if m["type"] == "room.events" for e in m["events"]]
    assert [e["seq"] for e in events] == list(range(position + 1, position + 6))
    assert [m["seq"] for m in frames if m["type"] == "room.caughtUp"] == [position + 5]

    # And it goes on live on the new socket, counting changes it does not show (a reaction).
    v1(
        stack,
        env,
        "POST",
        f"/rooms/{room}/threads/{budget['id']}/comments/{typo['id']}/reactions",
        {"userId": "bob", "emoji": "\U0001f44d"},
    )
    v1(
        stack,
        env,
        "POST",
        f"/rooms/{room}/threads",
        {"comment": {"userId": "bob", "body": "Live again"}},
    )
    ada.page.get_by_role("button", name=re.compile(r"^Open")).click()
    expect(ada.thread_with("Live again")).to_have_count(1)

    # Its position moved with what it applied: the next rejoin starts after all of it.
    lose_socket(ada, management)
    get_back(ada, 3)
    assert sent(ada, "join")[-1]["sinceSeq"] == last_seq(stack, env, room) == position + 7
    assert len(sent(ada, "threads.list")) == 1
    assert ada.events("pulse:error") == []


def test_a_widget_moved_to_another_room_lists_it_instead_of_catching_up(
    stack: Stack, env: Env, open_widget: OpenWidget
) -> None:
    """A position belongs to one room: the same element given another room starts afresh."""
    first, second = new_room(), new_room()
    for room, body in ((first, "In the first"), (second, "In the second")):
        v1(stack, env, "POST", "/rooms", {"id": room})
        v1(
            stack,
            env,
            "POST",
            f"/rooms/{room}/threads",
            {"comment": {"userId": "bob", "body": body}},
        )
    v1(
        stack,
        env,
        "POST",
        f"/rooms/{second}/threads",
        {"comment": {"userId": "bob", "body": "Also there"}},
    )
    ada = open_widget("ada", "Ada Lovelace", first)
    ada.wait_connected()
    expect(ada.thread_with("In the first")).to_have_count(1)

    ada.call(f"w.setAttribute('room', '{second}');")
    expect(ada.thread_with("In the second")).to_have_count(1)
    expect(ada.thread_with("Also there")).to_have_count(1)
    expect(ada.thread_with("In the first")).to_have_count(0)
    joins = sent(ada, "join")
    assert len(joins) == 2 and "sinceSeq" not in joins[1], joins
    assert len(sent(ada, "threads.list")) == 2
    assert ada.events("pulse:error") == []


def test_a_reply_whose_acknowledgement_was_lost_is_resent_and_stored_once(
    stack: Stack, env: Env, open_widget: OpenWidget
) -> None:
    room = new_room()
    v1(stack, env, "POST", "/rooms", {"id": room})
    thread = v1(
        stack,
        env,
        "POST",
        f"/rooms/{room}/threads",
        {"comment": {"userId": "bob", "body": "Lunch?"}},
    )
    ada = open_widget("ada", "Ada Lovelace", room)
    ada.wait_connected()
    expect(shown_bodies(ada, "Lunch?")).to_have_text(["Lunch?"])
    relay = Relay(ada)
    ada.call("w.reconnect();")  # from now on through the relay
    eventually(ada, lambda: bool(relay.received("room.caughtUp")), "the relayed rejoin")
    ada.wait_connected()

    # The reply reaches the server, which stores it, but the socket is lost before its
    # acknowledgement reaches the widget.
    def lost_ack(frame: dict[str, Any]) -> bool:
        writes = relay.sent("comment.create")
        return bool(writes) and frame.get("requestId") == writes[0]["requestId"]

    relay.cut = lost_ack
    reply = ada.thread_with("Lunch?").get_by_role("textbox", name="Reply")
    reply.fill("Yes, at noon")
    ada.thread_with("Lunch?").get_by_role("button", name="Reply").click()
    eventually(ada, lambda: relay.sockets == 2, "the widget to reconnect after the cut")
    relay.cut = lambda frame: False
    ada.wait_connected()

    # Resent once with the same clientMutationId; the server answered it as a replay. (Waited
    # for as frames: on a loaded machine the rejoin may list the threads again, and the
    # composer's box can be empty before the resend's answer has come.)
    def answered_again() -> bool:
        writes = relay.sent("comment.create")
        return len(writes) >= 2 and any(
            m.get("requestId") == writes[1]["requestId"] for m in relay.received("comment.created")
        )

    eventually(ada, answered_again, "the resend and its answer")
    expect(reply).to_have_value("")
    writes = relay.sent("comment.create")
    assert len(writes) == 2, writes
    first, again = writes
    assert first["clientMutationId"] == again["clientMutationId"]
    assert 1 <= len(first["clientMutationId"]) <= 64
    assert first["requestId"] != again["requestId"]
    acks = [
        m for m in relay.received("comment.created") if m.get("requestId") == again["requestId"]
    ]
    assert len(acks) == 1 and acks[0]["replay"] is True, relay.to_page
    # Stored once; shown once (from the catch-up, which came before the resend).
    assert comment_bodies(stack, env, room, thread["id"]) == ["Lunch?", "Yes, at noon"]
    expect(shown_bodies(ada, "Lunch?")).to_have_text(["Lunch?", "Yes, at noon"])
    assert relay.to_server.index(again) > relay.to_server.index(relay.sent("join")[-1])
    assert [e["detail"]["code"] for e in ada.events("pulse:error")] == []


def test_a_widget_told_to_resync_lists_the_threads_again(
    stack: Stack, env: Env, open_widget: OpenWidget
) -> None:
    """The server no longer has what the widget asks for (here: a position the room never
    reached, as the relay rewrites the rejoin's sinceSeq): `resync.required`, and the widget
    lists the threads again, as on its first load, then catches up from the position given."""
    room = new_room()
    v1(stack, env, "POST", "/rooms", {"id": room})
    v1(
        stack,
        env,
        "POST",
        f"/rooms/{room}/threads",
        {"comment": {"userId": "bob", "body": "Before"}},
    )
    ada = open_widget("ada", "Ada Lovelace", room)
    ada.wait_connected()
    expect(ada.thread_with("Before")).to_have_count(1)
    relay = Relay(ada)

    def beyond(frame: dict[str, Any]) -> dict[str, Any]:
        if frame.get("type") == "join" and "sinceSeq" in frame:
            return {**frame, "sinceSeq": frame["sinceSeq"] + 1000}
        return frame

    relay.rewrite = beyond
    context = ada.page.context
    context.set_offline(True)
    ada.call("w.reconnect();")
    expect(ada.widget).to_have_attribute("data-status", "offline")
    v1(
        stack,
        env,
        "POST",
        f"/rooms/{room}/threads",
        {"comment": {"userId": "bob", "body": "Meanwhile"}},
    )
    context.set_offline(False)
    ada.wait_connected()
    expect(ada.thread_with("Meanwhile")).to_have_count(1)
    expect(ada.thread_with("Before")).to_have_count(1)
    resync = relay.received("resync.required")
    assert len(resync) == 1 and relay.received("room.events") == []
    assert len(relay.sent("threads.list")) == 1  # and the first load's, before the relay
    assert resync[0]["seq"] == last_seq(stack, env, room)

    # The position it was given is where the next catch-up starts.
    relay.rewrite = lambda frame: frame
    context.set_offline(True)
    ada.call("w.reconnect();")
    expect(ada.widget).to_have_attribute("data-status", "offline")
    v1(
        stack,
        env,
        "POST",
        f"/rooms/{room}/threads",
        {"comment": {"userId": "bob", "body": "Later"}},
    )
    context.set_offline(False)
    ada.wait_connected()
    expect(ada.thread_with("Later")).to_have_count(1)
    assert relay.sent("join")[-1]["sinceSeq"] == resync[0]["seq"]
    assert len(relay.sent("threads.list")) == 1
    assert [e["type"] for e in relay.received("room.events")[-1]["events"]] == ["thread.created"]


def test_a_widget_away_longer_than_events_are_kept_lists_the_threads_again(
    site: CustomerSite, contexts: Callable[[], BrowserContext], tmp_path: Path
) -> None:
    """A stage that keeps events one second (PULSE_EVENTS_TTL_SECONDS): what the widget missed
    is gone by the time it is back, so the server answers resync.required on its own."""
    with stacks(tmp_path) as start:
        short = start(tmp_path / "data", PULSE_EPHEMERAL="1", PULSE_EVENTS_TTL_SECONDS="1")
        env = Env(short)
        room = new_room()
        v1(short, env, "POST", "/rooms", {"id": room})
        v1(
            short,
            env,
            "POST",
            f"/rooms/{room}/threads",
            {"comment": {"userId": "bob", "body": "Before"}},
        )
        key = uuid.uuid4().hex[:8]
        attrs = {
            "api-key": env.pk,
            "room": room,
            "endpoint": short.ws_url,
            "token": env.mint("ada", "Ada Lovelace"),
        }
        site.pages[f"/{key}"] = widget_html(short, attrs, 400)
        ada = WidgetPage(contexts().new_page())
        ada.page.goto(f"{site.url}/{key}")
        ada.wait_connected()
        expect(ada.thread_with("Before")).to_have_count(1)
        frames = received(ada)

        lose_socket(ada, banner_value(short, "Mgmt API"))
        v1(
            short,
            env,
            "POST",
            f"/rooms/{room}/threads",
            {"comment": {"userId": "bob", "body": "Meanwhile"}},
        )
        # Until the room keeps none of its events (a backend would get 410 RESYNC_REQUIRED).
        eventually(
            ada, lambda: v1(short, env, "GET", f"/rooms/{room}/events")["data"] == [], "expiry"
        )
        get_back(ada, 2)

        expect(ada.thread_with("Meanwhile")).to_have_count(1)
        expect(ada.thread_with("Before")).to_have_count(1)
        since = sent(ada, "join")[-1]["sinceSeq"]
        assert [m["seq"] for m in frames if m["type"] == "resync.required"] == [since + 1]
        assert [m for m in frames if m["type"] in ("room.events", "room.caughtUp")] == []
        assert len(sent(ada, "threads.list")) == 2
        assert ada.events("pulse:error") == []
