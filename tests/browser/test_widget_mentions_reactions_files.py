"""`<pulse-widget>`'s mentions, reactions and attachments (issue 16), in real Chromium against the
real local stack: two users' widgets in one room, the composer's `@` suggestions from the
server's users.search, reactions toggled and seen live by the other user, and files uploaded
straight to the stack's S3 (the embedded moto server behind devstack/s3_policy.py, which refuses
what the presigned policy does not allow, as S3 does)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import Route, expect

from . import test_widget as widget_tests
from .conftest import Stack
from .test_admin_panel import solid_png
from .test_widget import WIDGET, Env, OpenWidget, WidgetPage, eventually, new_room

pytestmark = pytest.mark.e2e

# The widget tests' fixtures (their module's stack fixture is the package's: one per module).
env = widget_tests.env
site = widget_tests.site
contexts = widget_tests.contexts
open_widget = widget_tests.open_widget

THUMBS_UP = "\N{THUMBS UP SIGN}"


def v1(stack: Stack, env: Env, method: str, path: str, body: Any = None) -> Any:
    response = stack.call(method, f"/api/v1{path}", env.sk, json=body)
    assert response.status_code in (200, 201, 204), response.text
    return response.json() if response.content else None


def sent(page: WidgetPage, type_: str) -> list[dict[str, Any]]:
    return [m for _, m in page.sent if m["type"] == type_]


def comments_of(stack: Stack, env: Env, room: str) -> list[dict[str, Any]]:
    """The comments of the room's only thread, as the REST API reads them."""
    (thread,) = v1(stack, env, "GET", f"/rooms/{quote(room)}/threads")["data"]
    page = v1(stack, env, "GET", f"/rooms/{quote(room)}/threads/{thread['id']}/comments")
    comments: list[dict[str, Any]] = page["data"]
    return comments


def two_users(open_widget: OpenWidget) -> tuple[WidgetPage, WidgetPage, str]:
    room = new_room()
    ada = open_widget("ada", "Ada Lovelace", room)
    ada.wait_connected()
    grace = open_widget("grace", "Grace Hopper", room)
    grace.wait_connected()
    return ada, grace, room


def start_thread(page: WidgetPage, text: str) -> None:
    page.page.get_by_label("Start a new thread").fill(text)
    page.page.get_by_role("button", name="Comment", exact=True).click()


# --- mentions --------------------------------------------------------------------------------


def test_mention_picked_from_suggestions_is_a_chip_for_both_and_in_mentions(
    open_widget: OpenWidget, stack: Stack, env: Env, artifacts: Path
) -> None:
    ada, grace, room = two_users(open_widget)
    composer = ada.page.get_by_label("Start a new thread")
    composer.press_sequentially("Ask @Hop")

    # The server's users.search answers the typed word; the list is a listbox the textarea
    # points at.
    option = ada.page.get_by_role("option", name=re.compile("Grace Hopper"))
    expect(option).to_be_visible()
    ada.widget.screenshot(path=str(artifacts / "widget-mention-suggestions.png"))
    assert sent(ada, "users.search")[-1]["q"] == "Hop"
    expect(composer).to_have_attribute("aria-expanded", "true")
    expect(composer).to_have_attribute("aria-activedescendant", option.get_attribute("id") or "")
    expect(option).to_have_attribute("aria-selected", "true")
    composer.press("Enter")  # picks the active option (does not send)
    expect(composer).to_have_value("Ask @Grace Hopper ")
    expect(ada.page.get_by_role("listbox")).to_be_hidden()
    composer.press_sequentially("about it")
    ada.widget.screenshot(path=str(artifacts / "widget-mention-picked.png"))
    ada.page.get_by_role("button", name="Comment", exact=True).click()

    assert_eventually_sent_body(ada, "Ask <@grace> about it")
    for page in (ada, grace):
        chip = page.thread_with("about it").locator(".body .mention")
        expect(chip).to_have_text("@Grace Hopper")
        expect(chip).to_have_attribute("data-user-id", "grace")
        expect(page.thread_with("about it").locator(".body")).to_have_text(
            "Ask @Grace Hopper about it"
        )
    (comment,) = comments_of(stack, env, room)
    assert comment["mentions"] == ["grace"]
    assert comment["body"] == "Ask <@grace> about it"

    # Escape closes the list and keeps what was typed; a click picks too.
    reply = grace.thread_with("about it").get_by_label("Reply")
    reply.press_sequentially("@Lov")
    ada_option = grace.page.get_by_role("option", name=re.compile("Ada Lovelace"))
    expect(ada_option).to_be_visible()
    reply.press("Escape")
    expect(grace.page.get_by_role("listbox")).to_be_hidden()
    expect(reply).to_have_value("@Lov")
    reply.press_sequentially("e")
    grace.page.get_by_role("option", name=re.compile("Ada Lovelace")).click()
    expect(reply).to_have_value("@Ada Lovelace ")
    grace.thread_with("about it").get_by_role("button", name="Reply").click()
    expect(ada.thread_with("about it").locator(".comment").nth(1).locator(".mention")).to_have_text(
        "@Ada Lovelace"
    )


def assert_eventually_sent_body(page: WidgetPage, body: str) -> None:
    eventually(
        page,
        lambda: any(m["body"] == body for m in sent(page, "thread.create")),
        f"thread.create with body {body!r}",
    )


def test_mentions_of_absent_users_get_names_and_unknown_ones_stay_text(
    open_widget: OpenWidget, stack: Stack, env: Env
) -> None:
    ada, _grace, room = two_users(open_widget)
    env.mint("linus", "Linus Torvalds")  # can read the room, but has no widget open
    body = "Ping <@linus> and <@nobody-here>"
    v1(
        stack,
        env,
        "POST",
        f"/rooms/{quote(room)}/threads",
        {"comment": {"userId": "grace", "body": body}},
    )
    thread = ada.thread_with("Ping")
    # Linus is named (asked of the server by id); a user never minted for stays as typed.
    expect(thread.locator(".mention")).to_have_count(1)
    expect(thread.locator(".mention")).to_have_text("@Linus Torvalds")
    expect(thread.locator(".body")).to_have_text("Ping @Linus Torvalds and <@nobody-here>")
    assert {"type": "users.search", "q": "linus"}.items() <= sent(ada, "users.search")[-1].items()


# --- reactions -------------------------------------------------------------------------------


def test_reactions_toggle_and_update_the_other_widget_live(
    open_widget: OpenWidget, artifacts: Path
) -> None:
    ada, grace, _room = two_users(open_widget)
    start_thread(ada, "React to this")
    mine = ada.thread_with("React to this")
    theirs = grace.thread_with("React to this")
    expect(theirs).to_be_visible()

    mine.get_by_role("button", name="Add reaction").click()
    mine.get_by_role("button", name=f"React with {THUMBS_UP}").click()
    ada_button = mine.locator(f".reaction[data-emoji='{THUMBS_UP}']")
    grace_button = theirs.locator(f".reaction[data-emoji='{THUMBS_UP}']")
    expect(grace_button).to_have_text(f"{THUMBS_UP} 1")
    expect(grace_button).to_have_attribute("aria-pressed", "false")
    expect(ada_button).to_have_attribute("aria-pressed", "true")
    added = sent(ada, "reaction.add")[-1]
    assert added["emoji"] == THUMBS_UP and added["clientMutationId"]

    grace_button.click()  # Grace adds hers to the same emoji
    expect(ada_button).to_have_text(f"{THUMBS_UP} 2")
    expect(grace_button).to_have_attribute("aria-pressed", "true")

    ada_button.click()  # Ada takes hers back: Grace sees it at once
    expect(grace_button).to_have_text(f"{THUMBS_UP} 1")
    expect(ada_button).to_have_attribute("aria-pressed", "false")
    expect(grace_button).to_have_attribute("aria-pressed", "true")
    grace.widget.screenshot(path=str(artifacts / "widget-reactions.png"))
    assert sent(ada, "reaction.remove")[-1]["emoji"] == THUMBS_UP

    grace_button.click()  # the last one gone: no button left
    expect(ada_button).to_have_count(0)
    expect(grace_button).to_have_count(0)


# --- attachments -----------------------------------------------------------------------------


def file_input(page: WidgetPage, composer: str = "new-thread") -> Any:
    return page.page.locator(f"{WIDGET} form.{composer} input[type=file]")


def test_an_attached_image_is_a_loaded_thumbnail_in_the_other_widget(
    open_widget: OpenWidget, stack: Stack, env: Env, artifacts: Path
) -> None:
    ada, grace, room = two_users(open_widget)
    png = solid_png((9, 105, 218), size=12)
    file_input(ada).set_input_files(
        [
            {"name": "chart.png", "mimeType": "image/png", "buffer": png},
            {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"remember the milk\n"},
        ]
    )
    uploads = ada.page.locator(f"{WIDGET} form.new-thread .upload")
    expect(uploads).to_have_count(2)
    expect(uploads.nth(0)).to_have_attribute("data-state", "done")
    expect(uploads.nth(1)).to_have_attribute("data-state", "done")
    start_thread(ada, "Here is the chart")
    expect(uploads).to_have_count(0)  # the composer is cleared once sent
    created = sent(ada, "thread.create")[-1]
    assert len(created["attachmentIds"]) == 2

    thread = grace.thread_with("Here is the chart")
    image = thread.locator("img[alt='chart.png']")
    expect(image).to_be_visible()
    eventually(
        grace,
        lambda: image.evaluate("img => img.complete && img.naturalWidth") == 12,
        "the thumbnail to load",
    )
    link = thread.locator("a.thumb")
    assert link.get_attribute("href") == image.get_attribute("src")
    assert link.get_attribute("target") == "_blank"
    text_file = thread.locator("a.file")
    expect(text_file).to_contain_text("notes.txt")
    expect(text_file).to_contain_text("18 B")
    # The REST API has the same files on the comment.
    (comment,) = comments_of(stack, env, room)
    assert [a["name"] for a in comment["attachments"]] == ["chart.png", "notes.txt"]
    grace.widget.screenshot(path=str(artifacts / "widget-attachments.png"))


def test_refused_files_say_why_and_are_not_sent(open_widget: OpenWidget, artifacts: Path) -> None:
    ada, _grace, _room = two_users(open_widget)
    file_input(ada).set_input_files(
        [
            {"name": "tool.exe", "mimeType": "application/x-msdownload", "buffer": b"MZ" * 8},
            {"name": "huge.png", "mimeType": "image/png", "buffer": b"\0" * (10 * 1024 * 1024 + 1)},
        ]
    )
    uploads = ada.page.locator(f"{WIDGET} form.new-thread .upload")
    expect(uploads.nth(0)).to_have_attribute("data-state", "failed")
    expect(uploads.nth(0)).to_contain_text("mimeType")
    expect(uploads.nth(1)).to_have_attribute("data-state", "failed")
    expect(uploads.nth(1)).to_contain_text("size")
    ada.widget.screenshot(path=str(artifacts / "widget-refused-files.png"))

    # The file store's own refusal (its XML error) is readable too: the upload is made one
    # byte longer than announced on its way, and the stack's S3 refuses it by the policy.
    def lengthen(route: Route) -> None:
        body = route.request.post_data_buffer or b""
        route.continue_(post_data=body.replace(b"exact-bytes", b"exact-bytes!"))

    ada.page.route(re.compile(r".*/pulse-dev-attachments/?$"), lengthen)
    file_input(ada).set_input_files(
        [{"name": "a.txt", "mimeType": "text/plain", "buffer": b"exact-bytes"}]
    )
    refused = uploads.filter(has_text="a.txt")
    expect(refused).to_have_attribute("data-state", "failed")
    expect(refused).to_contain_text(re.compile("The file store refused it: .+"))

    # Removing the failed files leaves nothing to send with the thread.
    for name in ("tool.exe", "huge.png", "a.txt"):
        ada.page.get_by_role("button", name=f"Remove {name}").click()
    expect(uploads).to_have_count(0)
    start_thread(ada, "No files")
    eventually(ada, lambda: bool(sent(ada, "thread.create")), "thread.create")
    assert "attachmentIds" not in sent(ada, "thread.create")[-1]


# --- unread state and subscriptions ----------------------------------------------------------


def received(page: WidgetPage, type_: str) -> list[dict[str, Any]]:
    return [m for m in page.received if m["type"] == type_]


def test_unread_badge_cleared_on_open_and_the_subscribe_toggle(
    open_widget: OpenWidget, stack: Stack, env: Env, artifacts: Path
) -> None:
    ada, grace, room = two_users(open_widget)
    # Ada mentions Grace: Grace is subscribed and has one unread comment, told live.
    first = {"comment": {"userId": "ada", "body": "Can you check this, <@grace>?"}}
    v1(stack, env, "POST", f"/rooms/{quote(room)}/threads", first)
    theirs = grace.thread_with("Can you check this")
    badge = theirs.locator(".unread")
    expect(badge).to_have_text("1 new")
    expect(badge).to_have_attribute("aria-label", "1 unread comment")
    expect(ada.thread_with("Can you check this").locator(".unread")).to_be_hidden()
    assert any(m["type"] == "inbox.updated" for m in grace.received)
    grace.widget.screenshot(path=str(artifacts / "widget-unread.png"))

    theirs.locator(".comment .body").click()  # opening the thread reads it
    expect(badge).to_be_hidden()
    assert [m["threadId"] for m in sent(grace, "thread.markRead")] == [
        theirs.get_attribute("data-thread-id")
    ]
    # The badge hides at once; the server's answer (and the stored read) comes after it.
    eventually(grace, lambda: bool(received(grace, "thread.read")), "thread.read")
    assert received(grace, "thread.read")[-1]["unreadCount"] == 0
    assert v1(stack, env, "GET", "/users/grace/inbox/count")["count"] == 0
    assert v1(stack, env, "GET", "/users/grace/inbox")["data"] == []
    (thread,) = v1(stack, env, "GET", f"/rooms/{quote(room)}/threads")["data"]

    # The toggle: subscribed by the mention; unsubscribe, then subscribe again.
    toggle = theirs.locator("button.subscribe")
    expect(toggle).to_have_text("Unsubscribe")
    answers = len(received(grace, "thread.subscription"))
    toggle.click()
    expect(toggle).to_have_text("Subscribe")
    assert sent(grace, "thread.unsubscribe")[-1]["threadId"] == thread["id"]
    eventually(
        grace, lambda: len(received(grace, "thread.subscription")) == answers + 1, "unsubscribed"
    )
    assert received(grace, "thread.subscription")[-1]["subscribed"] is False
    toggle.click()
    expect(toggle).to_have_text("Unsubscribe")
    eventually(
        grace, lambda: len(received(grace, "thread.subscription")) == answers + 2, "subscribed"
    )
    assert received(grace, "thread.subscription")[-1]["subscribed"] is True

    # A reply by Ada while Grace is in the thread (focus in its reply box) is read at once.
    theirs.get_by_label("Reply").focus()
    v1(
        stack,
        env,
        "POST",
        f"/rooms/{quote(room)}/threads/{thread['id']}/comments",
        {"userId": "ada", "body": "Any news?"},
    )
    expect(theirs.locator(".comment")).to_have_count(2)
    eventually(grace, lambda: len(sent(grace, "thread.markRead")) == 2, "a second markRead")
    expect(badge).to_be_hidden()

    # Away from the thread, the next reply is unread; a widget opened now lists it so
    # (threads.list's unreadCount and subscribed).
    grace.page.locator(f"{WIDGET} h2").click()
    v1(
        stack,
        env,
        "POST",
        f"/rooms/{quote(room)}/threads/{thread['id']}/comments",
        {"userId": "ada", "body": "Still there?"},
    )
    expect(badge).to_have_text("1 new")
    later = open_widget("grace", "Grace Hopper", room)
    later.wait_connected()
    listed = later.thread_with("Can you check this")
    expect(listed.locator(".unread")).to_have_text("1 new")
    expect(listed.locator("button.subscribe")).to_have_text("Unsubscribe")
    assert sent(grace, "thread.markRead")[2:] == []
