"""Answers that fit the platform's size limits. API Gateway refuses a WebSocket message over
128 KB and Lambda a response over 6 MB, so a page is cut to a byte budget as well as to its
count: the items that fit go, and the cursor continues after the last of them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from .. import codes, jsontext
from ..cursors import MAX_CURSOR_CHARS
from ..entities import Page
from ..errors import PayloadTooLarge

T = TypeVar("T")

# API Gateway: the largest message a connection may be sent (a larger post fails with 413).
FRAME_MAX_BYTES = 128 * 1024
# REST and admin lists: the items of a page stop at this many bytes of JSON. Lambda's cap is
# 6 MB for its whole answer, in which the body is a JSON string again (every `"` and `\` of the
# body escaped once more: up to twice the size), so a page of 1 MB plus one item stays far below.
PAGE_BUDGET_BYTES = 1024 * 1024
# The largest body any answer may have (api/middleware.py): past it, a logged 500, never a
# response Lambda would refuse after the fact.
RESPONSE_MAX_BYTES = 3 * 1024 * 1024
# Room kept for a cursor when an envelope is measured before the cursor is known.
CURSOR_PLACEHOLDER = "c" * MAX_CURSOR_CHARS


def size(value: Any) -> int:
    """Bytes of `value` as the one encoder writes it (ASCII: characters are bytes)."""
    return len(jsontext.dumps(value))


class ItemTooLarge(PayloadTooLarge):
    """One item of a list is too large to be sent by itself. `next_cursor` continues after it,
    so a client can go on with the rest of the list."""

    code = codes.ITEM_TOO_LARGE

    def __init__(
        self, item_id: str | None, item_bytes: int, limit: int, next_cursor: str | None
    ) -> None:
        name = f"Item {item_id}" if item_id else "An item"
        super().__init__(
            f"{name} is {item_bytes} bytes as JSON, more than one message can carry "
            f"({limit} bytes); it was skipped.",
            suggestion="Continue the list from nextCursor; read the item over the REST API.",
        )
        self.item_id = item_id
        self.next_cursor = next_cursor


def fit(
    page: Page[T],
    item: Callable[[T], dict[str, Any]],
    budget: int,
    *,
    strict: bool,
    shrink: Callable[[T, int], dict[str, Any] | None] | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """The page's items as JSON objects while they fit `budget` bytes (as a JSON array), and the
    cursor that continues after the last of them. An item that does not fit ends the page; if it
    is the first, `shrink(item, budget)` may make it fit (a thread cuts its embedded comments).
    If it cannot: `strict` raises ItemTooLarge (its cursor skips the item), else it goes alone."""
    data: list[dict[str, Any]] = []
    used = 2  # []
    for index, x in enumerate(page.data):
        value = item(x)
        cost = size(value) + (1 if data else 0)
        if used + cost <= budget:
            data.append(value)
            used += cost
            continue
        if data:
            return data, _after(page, index - 1)
        smaller = shrink(x, budget - 2) if shrink is not None else None
        if smaller is None:
            if strict:
                raise ItemTooLarge(getattr(x, "id", None), cost, budget - 2, _after(page, 0))
            smaller = value
        return [smaller], _after(page, 0)
    return data, page.next_cursor


def fitting(values: list[dict[str, Any]], budget: int) -> int:
    """How many of `values`, from the first, fit `budget` bytes as a JSON array."""
    used = 2
    for count, value in enumerate(values):
        used += size(value) + (1 if count else 0)
        if used > budget:
            return count
    return len(values)


def _after(page: Page[T], index: int) -> str | None:
    return page.first(index + 1).next_cursor


def chunks(items: list[dict[str, Any]], budget: int) -> list[list[dict[str, Any]]]:
    """`items` in order, in as few runs as fit `budget` bytes each (as JSON arrays); at least
    one run, empty when there are no items. Raises ItemTooLarge for an item over the budget."""
    runs: list[list[dict[str, Any]]] = [[]]
    used = 2
    for value in items:
        cost = size(value)
        if 2 + cost > budget:
            raise ItemTooLarge(value.get("connectionId") or value.get("id"), cost, budget - 2, None)
        extra = cost + (1 if runs[-1] else 0)
        if used + extra > budget:
            runs.append([])
            used, extra = 2, cost
        runs[-1].append(value)
        used += extra
    return runs
