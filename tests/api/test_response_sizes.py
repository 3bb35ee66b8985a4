"""Every HTTP answer stays well under Lambda's 6 MB (issue 11, class 2): REST and admin lists are
bounded by bytes as well as by count, the cursor continuing after the last item sent, and a
thread's embedded comments shrink the same way (commentsNextCursor goes on with them). The lists
of this file reached several MB in one answer before."""

from __future__ import annotations

import json
from typing import Any

from chalicelib import runtime

from .helpers import API, Login, Tenant, call, new_tenant, ok

PAGE_BUDGET_BYTES = 1024 * 1024  # a page's items (docs/architecture.md, "Pagination")
EMOJI = "\U0001f600"  # 4 bytes of UTF-8, 12 as JSON
ONE_ITEM = 200 * 1024  # more than any item of these lists
COMMENT = EMOJI * 10_000  # the longest comment body: 40 KB sent, 120 KB as JSON


def send(client: Any, method: str, path: str, token: str, body: Any) -> Any:
    """The body as raw UTF-8, as a client may send it (64 KB at most)."""
    return client.http.request(
        method,
        path,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        body=json.dumps(body, ensure_ascii=False).encode(),
    )


def pages(client: Any, token: str, path: str) -> tuple[list[dict[str, Any]], list[int]]:
    """Every item of a list at limit=100, following nextCursor; and each answer's size."""
    items: list[dict[str, Any]] = []
    sizes: list[int] = []
    cursor = None
    while True:
        url = f"{path}{'&' if '?' in path else '?'}limit=100" + (
            f"&cursor={cursor}" if cursor else ""
        )
        resp = call(client, "GET", url, token=token)
        body = ok(resp)
        sizes.append(len(resp.body))
        items += body["data"]
        cursor = body["nextCursor"]
        if cursor is None:
            return items, sizes


def a_thread_of_big_comments(client: Any, tenant: Tenant, count: int) -> tuple[str, list[str]]:
    ok(send(client, "POST", "/api/v1/rooms", tenant.sk, {"id": "big"}), 201)
    bodies = [f"{n:02d}" + COMMENT[2:] for n in range(count)]
    path = "/api/v1/rooms/big/threads"
    thread = ok(
        send(client, "POST", path, tenant.sk, {"comment": {"userId": "u", "body": bodies[0]}}), 201
    )
    for text in bodies[1:]:
        ok(
            send(
                client,
                "POST",
                f"{path}/{thread['id']}/comments",
                tenant.sk,
                {"userId": "u", "body": text},
            ),
            201,
        )
    return thread["id"], bodies


def test_rooms_with_big_metadata_come_in_pages_of_at_most_the_budget(
    client: Any, services: runtime.Services
) -> None:
    tenant = new_tenant(services)
    metadata = {f"key{k}": EMOJI * 250 for k in range(20)}  # 20 KB sent, 60 KB as JSON
    made = [f"room-{n:02d}" for n in range(30)]  # 1.8 MB of rooms
    for room in made:
        ok(
            send(client, "POST", "/api/v1/rooms", tenant.sk, {"id": room, "metadata": metadata}),
            201,
        )

    rooms, sizes = pages(client, tenant.sk, "/api/v1/rooms")
    assert [r["id"] for r in rooms] == made and all(r["metadata"] == metadata for r in rooms)
    assert len(sizes) >= 2 and max(sizes) <= PAGE_BUDGET_BYTES + 1024


def test_big_comments_come_in_pages_and_a_thread_embeds_what_fits(
    client: Any, services: runtime.Services
) -> None:
    tenant = new_tenant(services)
    thread_id, bodies = a_thread_of_big_comments(client, tenant, 20)  # 2.4 MB of comments

    comments, sizes = pages(client, tenant.sk, f"/api/v1/rooms/big/threads/{thread_id}/comments")
    assert [c["body"] for c in comments] == bodies
    assert len(sizes) >= 3 and max(sizes) <= PAGE_BUDGET_BYTES + 1024

    # GET of the thread embeds the first comments that fit; its cursor lists the rest.
    resp = call(client, "GET", f"/api/v1/rooms/big/threads/{thread_id}", token=tenant.sk)
    thread = ok(resp)
    assert len(resp.body) <= PAGE_BUDGET_BYTES + 1024
    shown = [c["body"] for c in thread["comments"]]
    assert 0 < len(shown) < 20 and thread["commentCount"] == 20
    path = f"/api/v1/rooms/big/threads/{thread_id}/comments?cursor={thread['commentsNextCursor']}"
    rest, _ = pages(client, tenant.sk, path)
    assert shown + [c["body"] for c in rest] == bodies


def test_the_admin_data_browser_is_bounded_too(
    client: Any, services: runtime.Services, owner: Login
) -> None:
    tenant = new_tenant(services)
    thread_id, bodies = a_thread_of_big_comments(client, tenant, 12)
    ok(
        send(
            client,
            "POST",
            "/api/v1/rooms/big/threads",
            tenant.sk,
            {"comment": {"userId": "u", "body": "newer"}},
        ),
        201,
    )
    base = f"{API}/environments/{tenant.id}/rooms/big/threads"

    threads, sizes = pages(client, owner.token, base)
    assert max(sizes) <= PAGE_BUDGET_BYTES + ONE_ITEM and len(sizes) == 2
    newer, big = threads
    assert [c["body"] for c in newer["comments"]] == ["newer"]
    shown = [c["body"] for c in big["comments"]]
    assert 0 < len(shown) < 12 and big["commentsNextCursor"]
    rest, _ = pages(
        client, owner.token, f"{base}/{thread_id}/comments?cursor={big['commentsNextCursor']}"
    )
    assert shown + [c["body"] for c in rest] == bodies

    resp = call(client, "GET", f"{base}/{thread_id}", token=owner.token)
    assert (
        len(resp.body) <= PAGE_BUDGET_BYTES + 1024 and ok(resp)["comments"][0]["body"] == bodies[0]
    )
