"""Ids that are path segments, in real Chromium against the real local stack: rooms stored before
the rule with ids a URL parser resolves (`..`, `.`) and rooms with other tricky ids are browsed
and deleted from the Admin Panel's data browser. Each click addresses that room and nothing else:
the environment stays active (a `..` once made the Delete a disable of the environment)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from playwright.sync_api import Browser, Page, expect

from .conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Stack

pytestmark = pytest.mark.e2e

LEGACY = ["..", "."]  # refused as new ids now; stored ones stay
TRICKY = ["...", "a.b:c", "-_-", "x..y"]
DATA_TABLE = "pulse-dev-data"  # the dev stage's prefix, which `python -m devstack` runs


@pytest.fixture
def page(browser: Browser, stack: Stack) -> Iterator[Page]:
    context = browser.new_context(base_url=stack.url, viewport={"width": 1280, "height": 800})
    context.set_default_timeout(7_000)
    problems: list[str] = []
    new_page = context.new_page()
    new_page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    try:
        yield new_page
    finally:
        context.close()
    assert not problems, problems


def rest(stack: Stack, key: str, method: str, path: str, body: Any = None) -> Any:
    response = stack.call(method, "/api/v1" + path, key, json=body)
    assert response.status_code < 300, (method, path, response.text)
    return response.json() if response.content else None


def store_legacy_room(stack: Stack, env_id: str, model_room: str, room_id: str) -> None:
    """A room item as if written before the rule: a copy of a real one under another id."""
    dynamodb = boto3.client(
        "dynamodb",
        endpoint_url=stack.dynamodb_url,
        region_name="us-east-1",
        aws_access_key_id="pulse-local",
        aws_secret_access_key="pulse-local",
    )
    key = {"pk": {"S": f"ENV#{env_id}"}, "sk": {"S": f"ROOM#{model_room}"}}
    item = dynamodb.get_item(TableName=DATA_TABLE, Key=key, ConsistentRead=True)["Item"]
    item.update(sk={"S": f"ROOM#{room_id}"}, id={"S": room_id})
    dynamodb.put_item(TableName=DATA_TABLE, Item=item)


def room_ids(stack: Stack, sk: str) -> list[str]:
    return sorted(r["id"] for r in rest(stack, sk, "GET", "/rooms?limit=100")["data"])


def test_rooms_named_dot_dot_and_other_tricky_ids_are_deleted_one_by_one(
    page: Page, stack: Stack
) -> None:
    admin = stack.login()
    created = stack.create_environment(admin, "Tricky ids")
    env_id = created["environment"]["id"]
    (sk,) = [k["key"] for k in created["keys"] if k["kind"] == "secret"]
    for room_id in ["model", *TRICKY]:
        rest(stack, sk, "POST", "/rooms", {"id": room_id})
    for room_id in LEGACY:
        store_legacy_room(stack, env_id, "model", room_id)
    # Their threads, through the REST API's escape (`..` is `~Li4`, `.` is `~Lg`).
    for escaped, text in (("~Li4", "In the dot-dot room"), ("~Lg", "In the dot room")):
        first = {"comment": {"userId": "ada", "body": text}}
        assert rest(stack, sk, "POST", f"/rooms/{escaped}/threads", first)["roomId"] in LEGACY
    everything = sorted(["model", *TRICKY, *LEGACY])
    assert room_ids(stack, sk) == everything

    page.goto("/admin")
    page.get_by_label("Email").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"/admin#/environments/{env_id}/browse")
    rooms = page.get_by_role("table", name="Rooms")
    for room_id in everything:
        expect(rooms.get_by_role("link", name=room_id, exact=True)).to_be_visible()

    # The `..` room's own threads, not the environment's page one level up.
    rooms.get_by_role("link", name="..", exact=True).click()
    threads = page.get_by_role("list", name="Threads in room ..")
    expect(threads.get_by_role("listitem")).to_have_count(1)
    expect(threads).to_contain_text("In the dot-dot room")
    page.get_by_role("link", name="Rooms", exact=True).click()

    remaining = list(everything)
    for room_id in ["..", ".", "...", "x..y", "a.b:c"]:
        page.get_by_role("button", name=f"Delete room {room_id}", exact=True).click()
        confirm = page.get_by_role("dialog", name=f"Delete room “{room_id}”?")
        confirm.get_by_role("button", name="Delete").click()
        expect(page.get_by_role("status").first).to_contain_text(f"Room “{room_id}” deleted.")
        remaining.remove(room_id)
        expect(rooms.get_by_role("link", name=room_id, exact=True)).to_have_count(0)
        # that room and only that room: the environment, its keys and the other rooms stay
        assert room_ids(stack, sk) == remaining, room_id
        env = stack.call("GET", f"/admin/api/environments/{env_id}", admin).json()
        assert env["status"] == "active", (room_id, env)
        assert stack.mint(sk).status_code == 200

    assert remaining == ["-_-", "model"]
    audit = stack.call("GET", f"/admin/api/environments/{env_id}/audit", admin).json()["data"]
    deleted = [e["target"]["id"] for e in audit if e["action"] == "room.deleted"]
    assert sorted(deleted) == sorted(["..", ".", "...", "x..y", "a.b:c"])
    assert not [e for e in audit if e["action"] == "environment.disabled"]
    expect(page.get_by_role("heading", level=1, name=re.compile("Tricky ids"))).to_be_visible()
