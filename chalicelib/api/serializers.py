"""Compatibility: the JSON of each resource is declared in chalicelib/wire/ (one shape per
resource, from which the contract is generated); these names call those shapes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from ..entities import Page
from ..wire import environments, operators, rooms, sizing, threads, users

T = TypeVar("T")

environment = environments.ENVIRONMENT.dump
api_key = environments.API_KEY.dump
audit_event = environments.AUDIT_EVENT.dump
analytics = environments.ANALYTICS.dump
operator = operators.OPERATOR.dump
user = users.USER.dump
room = rooms.ROOM.dump
comment = threads.COMMENT.dump
thread = threads.THREAD.dump
thread_within = threads.thread_within
thread_fitting = threads.thread_fitting


def page(
    p: Page[T],
    item: Callable[[T], dict[str, Any]],
    *,
    shrink: Callable[[T, int], dict[str, Any] | None] | None = None,
) -> dict[str, Any]:
    """A list answer: the page's items that fit the REST budget, and the cursor after them."""
    data, next_cursor = sizing.fit(p, item, sizing.PAGE_BUDGET_BYTES, strict=False, shrink=shrink)
    return {"data": data, "nextCursor": next_cursor}
