"""The Admin Panel's room inspector (issue 20) in real headless Chromium against the real local
stack: a room's page shows who is connected now (user, access, since when) and its last events,
both kept live while the page is open, and an admin closes one connection: its widget is told,
connects again as a new connection, and the other stays."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from . import test_widget as widget_tests
from .conftest import Stack
from .test_admin_panel import dialog
from .test_room_access import env_id_of, panel, v1  # noqa: F401 (panel: a fixture)
from .test_widget import Env, OpenWidget, eventually, new_room

pytestmark = pytest.mark.e2e

env = widget_tests.env
site = widget_tests.site
contexts = widget_tests.contexts
open_widget = widget_tests.open_widget


def live_rows(panel: Page, room: str) -> Any:  # noqa: F811
    return panel.get_by_role("table", name=f"Connected now to room {room}").locator("tbody tr")


def test_a_room_s_page_shows_it_live_and_closes_a_connection(
    stack: Stack,
    env: Env,
    panel: Page,  # noqa: F811
    open_widget: OpenWidget,
    artifacts: Path,
) -> None:
    room = new_room()
    v1(stack, env, "POST", "/rooms", {"id": room})
    thread = v1(
        stack, env, "POST", f"/rooms/{room}/threads", {"comment": {"userId": "bob", "body": "Hi"}}
    )
    ada = open_widget("ada", "Ada Lovelace", room)
    grace = open_widget("grace", "Grace Hopper", room)
    ada.wait_connected()
    grace.wait_connected()
    ada_id = ada.call("return w.connectionId;")
    grace_id = grace.call("return w.connectionId;")

    panel.goto(f"/admin#/environments/{env_id_of(env)}/browse/{room}")
    expect(panel.get_by_role("region", name="Live")).to_be_visible()
    rows = live_rows(panel, room)
    expect(rows).to_have_count(2)
    ada_row = panel.locator(f"tr[data-connection-id='{ada_id}']")
    expect(ada_row).to_contain_text("Ada Lovelace")
    expect(ada_row).to_contain_text("write")
    expect(ada_row.locator("time")).to_have_count(1)
    events = panel.get_by_role("list", name=f"Last events of room {room}")
    expect(events.locator("li")).to_have_count(1)  # the thread's creation
    expect(events.locator("li").first).to_contain_text("thread.created")

    # A reply made while the page is open shows up without reloading it.
    v1(
        stack,
        env,
        "POST",
        f"/rooms/{room}/threads/{thread['id']}/comments",
        {"userId": "bob", "body": "Anyone there?"},
    )
    expect(events.locator("li").first).to_contain_text("comment.created", timeout=10_000)
    expect(events.locator("li").first).to_contain_text("Anyone there?")
    panel.screenshot(path=str(artifacts / "admin-room-inspector.png"), full_page=True)

    # Close Ada's connection: she is told, her widget connects again as a new connection.
    ada_row.get_by_role("button", name=f"Close connection {ada_id} of ada").click()
    confirm = dialog(panel, "Close this connection?")
    confirm.get_by_role("button", name="Close connection").click()
    expect(panel.locator(f"tr[data-connection-id='{ada_id}']")).to_have_count(0)
    eventually(
        ada,
        lambda: any(
            e["detail"].get("code") == "CONNECTION_CLOSED" for e in ada.events("pulse:error")
        ),
        "the widget to be told",
    )
    eventually(
        ada,
        lambda: ada.call("return w.connectionId;") not in (None, ada_id),
        "the widget to connect again",
    )
    ada.wait_connected()
    expect(rows).to_have_count(2, timeout=10_000)
    expect(panel.locator(f"tr[data-connection-id='{grace_id}']")).to_have_count(1)
    assert grace.call("return w.connectionId;") == grace_id
    owner = stack.login()
    audit = stack.call("GET", f"/admin/api/environments/{env_id_of(env)}/audit", owner).json()
    assert [e["target"]["id"] for e in audit["data"] if e["action"] == "connection.closed"] == [
        ada_id
    ]
