"""`<pulse-widget>` in a busy room, in real Chromium against the real local stack (issue 11,
class 2). The first `threads.list` of a room of 20 threads with 30 comments each was over API
Gateway's 128 KB (the local gateway refuses such a post, as API Gateway does): the post failed
and the widget showed "Loading comments..." forever. Now every page fits and the widget follows
nextCursor until it has every thread; an answer that never comes, or a thread too large to send,
ends in a clear state instead of a hang."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from e2e.conftest import stacks
from playwright.sync_api import BrowserContext, WebSocketRoute, expect

from . import test_widget as widget_tests
from .conftest import Stack
from .test_widget import WIDGET, CustomerSite, Env, OpenWidget, WidgetPage, banner_value, new_room

pytestmark = pytest.mark.e2e

# The widget tests' fixtures, with this module's own stack.
env = widget_tests.env
site = widget_tests.site
contexts = widget_tests.contexts
open_widget = widget_tests.open_widget

MAX_MESSAGE = 128 * 1024  # API Gateway's limit on a message to a connection
THREADS, REPLIES = 20, 29


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The module's own stack, with REST rate limits out of the way of seeding a room."""
    tmp = tmp_path_factory.mktemp("busy-room-stack")
    with stacks(tmp) as start:
        yield start(
            tmp / "data",
            PULSE_EPHEMERAL="1",
            PULSE_RATE_REST_PER_ENV="100000",
            PULSE_RATE_REST_PER_KEY="100000",
        )


def v1(stack: Stack, env: Env, method: str, path: str, body: Any = None) -> Any:
    response = stack.call(method, f"/api/v1{path}", env.sk, json=body)
    assert response.status_code in (200, 201), response.text
    return response.json()


def busy_room(stack: Stack, env: Env) -> tuple[str, dict[str, list[str]]]:
    """A room of 20 threads of 30 comments of a few hundred bytes (about 290 KB as JSON),
    seeded through the REST API: each thread's comment bodies, by its first comment."""
    room = new_room()
    v1(stack, env, "POST", "/rooms", {"id": room})
    threads: dict[str, list[str]] = {}
    for t in range(THREADS):
        first = f"Topic {t:02d}: " + "the quarterly budget and its planning assumptions " * 6
        made = v1(
            stack,
            env,
            "POST",
            f"/rooms/{room}/threads",
            {"comment": {"userId": "bob", "body": first}},
        )
        replies = f"/rooms/{room}/threads/{made['id']}/comments"
        bodies = [first]
        for n in range(REPLIES):
            text = f"Reply {n} on topic {t:02d}: " + "we should revisit the numbers next week " * 6
            v1(stack, env, "POST", replies, {"userId": "bob", "body": text})
            bodies.append(text)
        threads[first] = bodies
    return room, threads


class Received:
    """The frames a page's sockets receive: (bytes, message) each."""

    def __init__(self, page: WidgetPage) -> None:
        self.frames: list[tuple[int, dict[str, Any]]] = []
        page.page.on("websocket", lambda ws: ws.on("framereceived", self._add))

    def _add(self, payload: str | bytes) -> None:
        data = payload if isinstance(payload, bytes) else payload.encode()
        self.frames.append((len(data), json.loads(data)))

    def of(self, type_: str) -> list[dict[str, Any]]:
        return [m for _, m in self.frames if m.get("type") == type_]


def open_recorded(
    stack: Stack, env: Env, site: CustomerSite, contexts: Callable[[], BrowserContext], room: str
) -> tuple[WidgetPage, Received]:
    """open_widget, with the page's received frames recorded from its first socket on."""
    key = uuid.uuid4().hex[:8]
    attrs = {
        "api-key": env.pk,
        "room": room,
        "endpoint": stack.ws_url,
        "token": env.mint("ada", "Ada Lovelace"),
    }
    site.pages[f"/{key}"] = widget_tests.widget_html(stack, attrs, 400)
    page = WidgetPage(contexts().new_page())
    received = Received(page)
    page.page.goto(f"{site.url}/{key}")
    return page, received


def test_a_busy_room_shows_every_thread_with_all_its_comments(
    stack: Stack, env: Env, site: CustomerSite, contexts: Callable[[], BrowserContext]
) -> None:
    room, threads = busy_room(stack, env)
    ada, received = open_recorded(stack, env, site, contexts, room)
    ada.wait_connected()
    expect(ada.page.locator(f"{WIDGET} li.thread")).to_have_count(THREADS)
    expect(ada.page.get_by_role("button", name=f"Open ({THREADS})")).to_be_visible()
    for first, bodies in threads.items():
        shown = ada.thread_with(first[:16]).locator(".comment .body")
        expect(shown).to_have_count(len(bodies))
        expect(shown).to_have_text(bodies)
    expect(ada.page.locator(f"{WIDGET} .empty")).to_be_hidden()

    # Several pages, each one message of at most 128 KB; the last says there is no more.
    pages = received.of("threads.listed")
    assert len(pages) >= 3 and pages[-1]["nextCursor"] is None
    assert sum(len(p["data"]) for p in pages) == THREADS
    assert max(size for size, _ in received.frames) <= MAX_MESSAGE
    assert received.of("error") == []
    sent = [m for _, m in ada.sent if m["type"] == "threads.list"]
    assert [m.get("cursor") for m in sent] == [None] + [p["nextCursor"] for p in pages[:-1]]


def test_an_answer_that_never_comes_ends_in_an_error_and_try_again_loads_the_room(
    stack: Stack, env: Env, site: CustomerSite, contexts: Callable[[], BrowserContext]
) -> None:
    """What the refused post did: the answer to threads.list never arrives. The widget says so
    (after its 10 s request timeout) and offers to try again, instead of loading forever. (The
    first load's answer is the one lost: a reconnect catches up without listing again.)"""
    room = new_room()
    v1(stack, env, "POST", "/rooms", {"id": room})
    v1(
        stack,
        env,
        "POST",
        f"/rooms/{room}/threads",
        {"comment": {"userId": "bob", "body": "Still here?"}},
    )
    key = uuid.uuid4().hex[:8]
    attrs = {
        "api-key": env.pk,
        "room": room,
        "endpoint": stack.ws_url,
        "token": env.mint("ada", "Ada Lovelace"),
    }
    site.pages[f"/{key}"] = widget_tests.widget_html(stack, attrs, 400)
    ada = WidgetPage(contexts().new_page())

    dropped: list[str] = []

    def route(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()

        def to_page(message: str | bytes) -> None:
            frame = json.loads(message)
            if frame.get("type") == "threads.listed" and not dropped:
                dropped.append(frame["requestId"])  # as API Gateway refusing the post
                return
            ws.send(message)

        server.on_message(to_page)
        ws.on_message(lambda message: server.send(message))

    ada.page.route_web_socket(re.compile(r"^ws://"), route)
    ada.page.goto(f"{site.url}/{key}")
    ada.wait_connected()
    message = ada.page.locator(f"{WIDGET} .empty")
    expect(message).to_have_text(
        re.compile(r"^Comments could not be loaded: No answer"), timeout=20_000
    )
    assert dropped
    expect(ada.thread_with("Still here?")).to_have_count(0)
    retry = ada.page.get_by_role("button", name="Try again")
    expect(retry).to_be_visible()
    retry.click()
    expect(ada.thread_with("Still here?")).to_have_count(1)
    expect(message).to_be_hidden()
    expect(retry).to_be_hidden()


def test_a_thread_too_large_to_send_is_skipped_with_a_notice(
    stack: Stack, env: Env, open_widget: OpenWidget
) -> None:
    """A thread stored larger than any message (data from before today's limits): the widget
    says it skipped it and shows the rest of the room."""
    room = new_room()
    v1(stack, env, "POST", "/rooms", {"id": room})
    made = [
        v1(
            stack,
            env,
            "POST",
            f"/rooms/{room}/threads",
            {"comment": {"userId": "bob", "body": f"Thread {n}"}},
        )
        for n in range(3)
    ]
    endpoint = banner_value(stack, "DynamoDB")
    log = stack.log()
    region = re.search(r"\(region (\S+);", log)
    tables = re.search(r"tables ([^)]+)\)", log)
    assert region and tables, log
    data_table = next(t.strip() for t in tables.group(1).split(",") if t.strip().endswith("data"))
    env_id = "env_" + env.pk[3:19]  # pk_ + the environment id (16) + ...
    dynamodb = boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name=region.group(1),
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    dynamodb.update_item(
        TableName=data_table,
        Key={"pk": {"S": f"ENV#{env_id}#ROOM#{room}"}, "sk": {"S": f"THREAD#{made[1]['id']}"}},
        UpdateExpression="SET metadata = :m",
        ExpressionAttributeValues={
            ":m": {"S": json.dumps({"huge": "\U0001f600" * 50_000}, ensure_ascii=False)}
        },
    )
    assert urlsplit(endpoint).hostname == "127.0.0.1"

    ada = open_widget("ada", "Ada Lovelace", room)
    ada.wait_connected()
    expect(ada.page.locator(f"{WIDGET} li.thread")).to_have_count(2)
    expect(ada.thread_with("Thread 0")).to_have_count(1)
    expect(ada.thread_with("Thread 2")).to_have_count(1)
    # Shown to the visitor (the notice line, its "Try again" button hidden: nothing to retry).
    expect(ada.page.locator(f"{WIDGET} .notice")).to_be_visible()
    expect(ada.page.locator(f"{WIDGET} .notice > span")).to_have_text(
        "A thread is too large to show here; it was skipped."
    )
    expect(ada.page.get_by_role("button", name="Try again")).to_be_hidden()
    errors = ada.events("pulse:error")
    assert [e["detail"]["code"] for e in errors] == ["ITEM_TOO_LARGE"], errors
