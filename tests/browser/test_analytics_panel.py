"""The Admin Panel's usage analytics (issue 20) in real headless Chromium against the real local
stack: widgets connect over real WebSockets and a customer backend writes comments; the panel's
Analytics tab then shows the active users, connections and their peak, the busiest rooms, a
table beside each chart, the cost estimate, and switches between 1, 7, 30 and 90 days."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from . import test_widget as widget_tests
from .conftest import Stack
from .test_room_access import env_id_of, panel, v1  # noqa: F401 (panel: a fixture)
from .test_widget import Env, OpenWidget, new_room

pytestmark = pytest.mark.e2e

env = widget_tests.env
site = widget_tests.site
contexts = widget_tests.contexts
open_widget = widget_tests.open_widget


def last_bar(panel: Page, chart: str) -> str | None:  # noqa: F811
    return panel.locator(f"[data-chart={chart}] rect.bar").last.get_attribute("data-value")


def test_the_analytics_tab_shows_live_usage_over_each_period(
    stack: Stack,
    env: Env,
    panel: Page,  # noqa: F811
    open_widget: OpenWidget,
    artifacts: Path,
) -> None:
    busy, quiet = new_room(), new_room()
    for room in (busy, quiet):
        v1(stack, env, "POST", "/rooms", {"id": room})
    thread = v1(
        stack, env, "POST", f"/rooms/{busy}/threads", {"comment": {"userId": "bob", "body": "Hi"}}
    )
    v1(
        stack,
        env,
        "POST",
        f"/rooms/{busy}/threads/{thread['id']}/comments",
        {"userId": "ada", "body": "Yo"},
    )
    widgets = [
        open_widget("ada", "Ada Lovelace", busy),
        open_widget("grace", "Grace Hopper", busy),
        open_widget("linus", "Linus T", quiet),
    ]
    for w in widgets:
        w.wait_connected()

    panel.goto(f"/admin#/environments/{env_id_of(env)}/analytics")
    expect(panel.get_by_role("heading", level=2, name="Analytics")).to_be_visible()
    expect(panel.locator("[data-stat=dau] dd")).to_have_text("3")
    expect(panel.locator("[data-stat=wau] dd")).to_have_text("3")
    expect(panel.locator("[data-stat=mau] dd")).to_have_text("3")
    assert last_bar(panel, "connections") == "3"
    assert last_bar(panel, "peak") == "3"
    assert last_bar(panel, "comments") == "2"
    assert int(last_bar(panel, "pushes") or 0) > 0  # presence and joins went out

    # The busiest rooms, by connections and by comments.
    by_connections = panel.get_by_role("table", name="Busiest rooms by connections")
    expect(by_connections.locator("tbody tr")).to_have_count(2)
    expect(by_connections.locator("tbody tr").first).to_contain_text(busy)
    expect(by_connections.locator("tbody tr").first).to_contain_text("2")
    by_comments = panel.get_by_role("table", name="Busiest rooms by comments")
    expect(by_comments.locator("tbody tr")).to_have_count(1)
    expect(by_comments.locator("tbody tr").first).to_contain_text(busy)

    # Each chart has its table beside it: the day-by-day figures, today's last.
    beside = panel.get_by_role("region", name="Active users, day by day")
    expect(beside.locator("tbody tr")).to_have_count(30)
    expect(beside.locator("tbody tr").last).to_contain_text("3")

    # The cost: a total, and a line per service, each priced.
    cost = panel.locator("[data-cost]")
    expect(cost.locator("[data-cost-total]")).to_have_text(re.compile(r"^\$\d"))
    expect(cost.get_by_role("table", name="Cost by service").locator("tbody tr")).to_have_count(8)
    expect(cost).to_contain_text("API Gateway WebSocket messages")
    panel.screenshot(path=str(artifacts / "analytics-usage.png"), full_page=True)

    # The period: today only, then 7 and 90 days; the pressed button says which.
    for label, days in (("Today", 1), ("7 days", 7), ("90 days", 90)):
        panel.get_by_role("button", name=label, exact=True).click()
        expect(panel.get_by_role("button", name=label, exact=True)).to_have_attribute(
            "aria-pressed", "true"
        )
        expect(panel.locator("[data-chart=users] rect.bar")).to_have_count(days)
        expect(
            panel.get_by_role("region", name="Active users, day by day").locator("tbody tr")
        ).to_have_count(days)
        assert last_bar(panel, "users") == "3"

    # A widget that leaves: the peak of the day stays, a new connection counts.
    widgets[2].page.close()
    open_widget("linus", "Linus T", quiet).wait_connected()
    panel.get_by_role("button", name="Today", exact=True).click()
    panel.get_by_role("button", name="Refresh").click()
    expect(panel.locator("[data-chart=connections] rect.bar").last).to_have_attribute(
        "data-value", "4"
    )
    expect(panel.locator("[data-stat=dau] dd")).to_have_text("3")
    assert last_bar(panel, "peak") == "3"
    panel.set_viewport_size({"width": 390, "height": 844})
    panel.screenshot(path=str(artifacts / "analytics-narrow.png"), full_page=True)
